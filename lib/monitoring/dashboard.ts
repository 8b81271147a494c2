import { createHash } from 'crypto';
import { checkName, ValidationError } from '../errors';
import { FlinkMetric, flinkLabelValue, metricAvailable, metricFor, metricInfo } from './metrics';
import { Matcher, series } from './promql';
import { ClusterMode, IMonitoringTarget, ResolvedTarget, resolveTarget } from './target';

/** The Grafana variables the dashboard's queries use. */
export const DASHBOARD_VARIABLES = ['datasource', 'namespace', 'job'] as const;

/** A panel of the generated dashboard (the subset of Grafana's panel model it uses). */
export interface DashboardPanel {
  readonly id: number;
  readonly type: 'timeseries' | 'stat' | 'table';
  readonly title: string;
  readonly description?: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource: { readonly type: 'prometheus'; readonly uid: string };
  readonly targets: ReadonlyArray<{ readonly refId: string; readonly expr: string; readonly legendFormat?: string; readonly [k: string]: unknown }>;
  readonly fieldConfig: { readonly defaults: { readonly unit: string; readonly [k: string]: unknown }; readonly overrides: unknown[] };
  readonly options: Record<string, unknown>;
  readonly [k: string]: unknown;
}

/** A Grafana dashboard model. */
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: DashboardPanel[];
  readonly templating: { readonly list: Array<Record<string, unknown>> };
  readonly [k: string]: unknown;
}

export interface DashboardOptions {
  /** The dashboard's title. @default - `Flink / <namespace>/<name>` */
  readonly title?: string;
  /** Tags shown in Grafana's dashboard list. @default ['flink'] */
  readonly tags?: string[];
}

const DS = { type: 'prometheus' as const, uid: '${datasource}' };

/**
 * The Grafana dashboard of one Flink cluster: job state, checkpoints, throughput, back-pressure,
 * Kafka lag, watermarks, JVM and slots. Variables: `datasource`, `namespace` and `job` (a
 * multi-value Flink job name, as the reporter writes it).
 */
export function flinkDashboard(cluster: IMonitoringTarget, options: DashboardOptions = {}): Dashboard {
  const t = resolveTarget(cluster);
  return resolvedDashboard(t, options, dashboardUid(t));
}

/**
 * What the panels of a dashboard select and which version-dependent panels it has: one cluster
 * of one Flink version (the per-cluster dashboard) or any cluster picked by a variable (the
 * platform dashboard).
 */
interface PanelScope {
  /** The matchers of the cluster's series: namespace and flink_cluster. */
  readonly clusterSel: Matcher[];
  /** The metric name to query (checked against the version when there is one). */
  readonly metric: (name: string) => string;
  /** The per-second GC time of one component, from its all-collector metric or its G1 ones. */
  readonly gc: (all: string, young: string, old: string) => string;
  /** "Last checkpoint age" (Flink 2.2 on) and/or "Checkpoints completed (1h)" (every version). */
  readonly checkpointAge: boolean;
  readonly checkpointCount: boolean;
  /** The TaskManagers the cluster should have; unknown to a dashboard of many clusters. */
  readonly expectedTaskManagers?: number;
  /** The description of the free slots panel. */
  readonly freeSlots: string;
}

/** The panels every Flink dashboard of the toolkit has, for one scope. */
function dashboardPanels(scope: PanelScope): DashboardPanel[] {
  const M = FlinkMetric;
  const v = scope.metric;
  const clusterSel = scope.clusterSel;
  const jobSel: Matcher[] = [...clusterSel, { label: 'job_name', op: '=~', value: '$job' }];
  const c = (name: string) => series(v(name), clusterSel);
  const j = (name: string) => series(v(name), jobSel);

  const panels: DashboardPanel[] = [];
  let id = 0;
  const add = (type: DashboardPanel['type'], title: string, gridPos: DashboardPanel['gridPos'], unit: string,
    queries: Array<[string, string?]>, extra: { description?: string; options?: Record<string, unknown>; defaults?: Record<string, unknown>; overrides?: unknown[]; table?: boolean } = {}) => {
    id += 1;
    const targets = queries.map(([expr, legend], i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      editorMode: 'code',
      expr,
      ...(legend !== undefined ? { legendFormat: legend } : {}),
      ...(extra.table ? { format: 'table', instant: true, range: false } : { range: true, instant: false }),
    }));
    panels.push({
      id,
      type,
      title,
      ...(extra.description ? { description: extra.description } : {}),
      gridPos,
      datasource: DS,
      targets,
      fieldConfig: { defaults: { unit, ...(extra.defaults ?? {}) }, overrides: extra.overrides ?? [] },
      options: extra.options ?? (type === 'stat' ? STAT_OPTIONS : type === 'timeseries' ? SERIES_OPTIONS : {}),
      ...(type === 'table' ? { transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true } } }] } : {}),
    });
  };
  const thresholds = (steps: Array<[string, number | null]>) => ({ thresholds: { mode: 'absolute', steps: steps.map(([color, value]) => ({ color, value })) } });

  // --- job state (y 0)
  add('stat', 'Running jobs', { x: 0, y: 0, w: 4, h: 4 }, 'none', [[`max(${c(M.JM_NUM_RUNNING_JOBS)})`]],
    { description: 'Jobs that are not terminal (restarting counts).', defaults: thresholds([['red', null], ['green', 1]]) });
  add('stat', 'Uptime', { x: 4, y: 0, w: 4, h: 4 }, 'ms', [[`max by (job_name) (${j(M.JOB_RUNNING_TIME)})`, '{{job_name}}']],
    { description: 'Time since the job last switched to RUNNING; 0 while restarting.' });
  add('stat', 'Restarts (total)', { x: 8, y: 0, w: 4, h: 4 }, 'none', [[`max by (job_name) (${j(M.JOB_NUM_RESTARTS)})`, '{{job_name}}']]);
  add('stat', 'Restarts (1h)', { x: 12, y: 0, w: 4, h: 4 }, 'none', [[`sum by (job_name) (increase(${j(M.JOB_NUM_RESTARTS)}[1h]))`, '{{job_name}}']],
    { defaults: thresholds([['green', null], ['orange', 1], ['red', 3]]) });
  const expected = scope.expectedTaskManagers;
  add('stat', 'TaskManagers', { x: 16, y: 0, w: 4, h: 4 }, 'none', [[`max(${c(M.JM_NUM_REGISTERED_TASK_MANAGERS)})`]], expected !== undefined
    ? { description: `Registered TaskManagers; ${expected} expected.`, defaults: thresholds([['red', null], ['green', expected]]) }
    : { description: 'Registered TaskManagers (the FlinkTaskManagersMissing alert compares them with the cluster\'s expected count).', defaults: thresholds([['red', null], ['green', 1]]) });
  add('stat', 'Free slots', { x: 20, y: 0, w: 4, h: 4 }, 'none', [[`max(${c(M.JM_TASK_SLOTS_AVAILABLE)})`]], { description: scope.freeSlots });

  // --- checkpoints (y 4)
  add('timeseries', 'Checkpoints completed / failed', { x: 0, y: 4, w: 6, h: 8 }, 'none', [
    [`sum by (job_name) (increase(${j(M.JOB_COMPLETED_CHECKPOINTS)}[$__rate_interval]))`, 'completed {{job_name}}'],
    [`sum by (job_name) (increase(${j(M.JOB_FAILED_CHECKPOINTS)}[$__rate_interval]))`, 'failed {{job_name}}'],
  ]);
  add('timeseries', 'Checkpoint duration', { x: 6, y: 4, w: 6, h: 8 }, 'ms', [[`max by (job_name) (${j(M.JOB_LAST_CHECKPOINT_DURATION)})`, '{{job_name}}']]);
  add('timeseries', 'Checkpoint size', { x: 12, y: 4, w: 6, h: 8 }, 'bytes', [[`max by (job_name) (${j(M.JOB_LAST_CHECKPOINT_SIZE)})`, '{{job_name}}']],
    { description: 'Checkpointed size of the latest checkpoint (with incremental checkpoints: the new part).' });
  // Both (a dashboard of clusters of any version) share the column.
  const both = scope.checkpointAge && scope.checkpointCount;
  if (scope.checkpointAge) {
    add('stat', 'Last checkpoint age', { x: 18, y: 4, w: 6, h: both ? 4 : 8 }, 's', [[`max by (job_name) (time() - ${j(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP)} / 1000)`, '{{job_name}}']],
      { description: `Time since the latest checkpoint completed${both ? ' (Flink 2.2 and later export it)' : ''}.` });
  }
  if (scope.checkpointCount) {
    add('stat', 'Checkpoints completed (1h)', { x: 18, y: both ? 8 : 4, w: 6, h: both ? 4 : 8 }, 'none', [[`sum by (job_name) (increase(${j(M.JOB_COMPLETED_CHECKPOINTS)}[1h]))`, '{{job_name}}']],
      { description: `Checkpoints completed in the last hour (${both ? 'every Flink version' : 'this Flink version exports no completion timestamp'}).`, defaults: thresholds([['red', null], ['green', 1]]) });
  }

  // --- throughput (y 12)
  add('timeseries', 'Records in per task', { x: 0, y: 12, w: 12, h: 8 }, 'cps', [[`sum by (job_name, task_name) (${j(M.TASK_RECORDS_IN_RATE)})`, '{{task_name}}']]);
  add('timeseries', 'Records out per task', { x: 12, y: 12, w: 12, h: 8 }, 'cps', [[`sum by (job_name, task_name) (${j(M.TASK_RECORDS_OUT_RATE)})`, '{{task_name}}']]);

  // --- where time goes (y 20)
  const timeOpts = { defaults: { min: 0, max: 1 } };
  add('timeseries', 'Back-pressured time per task (max subtask)', { x: 0, y: 20, w: 8, h: 8 }, 'percentunit',
    [[`max by (job_name, task_name) (${j(M.TASK_BACK_PRESSURED_TIME)}) / 1000`, '{{task_name}}']], timeOpts);
  add('timeseries', 'Busy time per task (max subtask)', { x: 8, y: 20, w: 8, h: 8 }, 'percentunit',
    [[`max by (job_name, task_name) (${j(M.TASK_BUSY_TIME)}) / 1000`, '{{task_name}}']], timeOpts);
  add('timeseries', 'Idle time per task (min subtask)', { x: 16, y: 20, w: 8, h: 8 }, 'percentunit',
    [[`min by (job_name, task_name) (${j(M.TASK_IDLE_TIME)}) / 1000`, '{{task_name}}']], timeOpts);

  // --- sources and event time (y 28)
  add('timeseries', 'Kafka lag per source', { x: 0, y: 28, w: 12, h: 8 }, 'short',
    [[`sum by (job_name, task_name, operator_name) (${j(M.OPERATOR_PENDING_RECORDS)})`, '{{operator_name}}']],
    { description: 'Records not yet read by each source operator (pendingRecords), summed over its subtasks.' });
  add('timeseries', 'Watermark lag per task', { x: 12, y: 28, w: 12, h: 8 }, 'ms',
    [[`time() * 1000 - min by (job_name, task_name) (${j(M.OPERATOR_CURRENT_OUTPUT_WATERMARK)} > 0)`, '{{task_name}}']],
    { description: 'Wall clock minus the lowest output watermark of the task\'s operators (tasks without watermarks are left out).' });

  // --- JVM (y 36)
  const gc = scope.gc;
  add('timeseries', 'Heap used per process', { x: 0, y: 36, w: 8, h: 8 }, 'bytes', [
    [`max by (pod) (${c(M.JM_HEAP_USED)})`, 'JM {{pod}}'],
    [`max by (pod) (${c(M.TM_HEAP_USED)})`, 'TM {{pod}}'],
  ]);
  add('timeseries', 'Heap used / max per process', { x: 8, y: 36, w: 8, h: 8 }, 'percentunit', [
    [`max by (pod) (${c(M.JM_HEAP_USED)} / ${c(M.JM_HEAP_MAX)})`, 'JM {{pod}}'],
    [`max by (pod) (${c(M.TM_HEAP_USED)} / ${c(M.TM_HEAP_MAX)})`, 'TM {{pod}}'],
  ], { defaults: { min: 0, max: 1 } });
  add('timeseries', 'GC time per process', { x: 16, y: 36, w: 8, h: 8 }, 'percentunit', [
    [`max by (pod) (${gc(M.JM_GC_TIME, M.JM_GC_G1_YOUNG_TIME, M.JM_GC_G1_OLD_TIME)}) / 1000`, 'JM {{pod}}'],
    [`max by (pod) (${gc(M.TM_GC_TIME, M.TM_GC_G1_YOUNG_TIME, M.TM_GC_G1_OLD_TIME)}) / 1000`, 'TM {{pod}}'],
  ], { description: 'Fraction of wall time spent in garbage collection.' });

  // --- capacity and tasks (y 44)
  add('timeseries', 'TaskManagers and slots', { x: 0, y: 44, w: 12, h: 8 }, 'none', [
    [`max(${c(M.JM_NUM_REGISTERED_TASK_MANAGERS)})`, 'TaskManagers'],
    ...(expected !== undefined ? [[`vector(${expected})`, 'expected TaskManagers'] as [string, string]] : []),
    [`max(${c(M.JM_TASK_SLOTS_TOTAL)})`, 'slots'],
    [`max(${c(M.JM_TASK_SLOTS_AVAILABLE)})`, 'free slots'],
  ]);
  add('table', 'Tasks now', { x: 12, y: 44, w: 12, h: 8 }, 'none', [
    [`sum by (job_name, task_name) (${j(M.TASK_RECORDS_IN_RATE)})`],
    [`sum by (job_name, task_name) (${j(M.TASK_RECORDS_OUT_RATE)})`],
    [`max by (job_name, task_name) (${j(M.TASK_BUSY_TIME)}) / 1000`],
    [`max by (job_name, task_name) (${j(M.TASK_BACK_PRESSURED_TIME)}) / 1000`],
  ], {
    table: true,
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false } },
    overrides: [
      { matcher: { id: 'byName', options: 'Value #A' }, properties: [{ id: 'displayName', value: 'records in/s' }, { id: 'unit', value: 'cps' }] },
      { matcher: { id: 'byName', options: 'Value #B' }, properties: [{ id: 'displayName', value: 'records out/s' }, { id: 'unit', value: 'cps' }] },
      { matcher: { id: 'byName', options: 'Value #C' }, properties: [{ id: 'displayName', value: 'busy' }, { id: 'unit', value: 'percentunit' }] },
      { matcher: { id: 'byName', options: 'Value #D' }, properties: [{ id: 'displayName', value: 'back-pressured' }, { id: 'unit', value: 'percentunit' }] },
    ],
  });

  return panels;
}

/** The dashboard of a checked target, with its uid. @internal */
export function resolvedDashboard(t: ResolvedTarget, options: DashboardOptions, uid: string): Dashboard {
  const M = FlinkMetric;
  const v = (name: string) => metricFor(name, t.version);
  const clusterSel: Matcher[] = [{ label: 'namespace', op: '=', value: '$namespace' }, { label: 'flink_cluster', op: '=', value: t.name }];
  const panels = dashboardPanels({
    clusterSel,
    metric: v,
    gc: (all, young, old) => (metricAvailable(all, t.version) ? `rate(${series(all, clusterSel)}[$__rate_interval])`
      : `(rate(${series(young, clusterSel)}[$__rate_interval]) + rate(${series(old, clusterSel)}[$__rate_interval]))`),
    checkpointAge: metricAvailable(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP, t.version),
    checkpointCount: !metricAvailable(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP, t.version),
    expectedTaskManagers: t.expectedTaskManagers,
    freeSlots: t.mode === ClusterMode.SESSION ? 'Slots new jobs can take.' : 'Unused slots (an application normally uses all of them).',
  });
  const where = t.namespace ? `${t.namespace}/${t.name}` : t.name;
  const upSel = series(FlinkMetric.UP, [{ label: 'flink_cluster', op: '=', value: t.name }]);
  const defaultJob = t.jobName ? flinkLabelValue(t.jobName) : undefined;
  return dashboardModel({
    uid,
    title: options.title ?? `Flink / ${where}`,
    description: `Flink ${t.mode} cluster ${where} (Flink ${t.version.line}), generated by cdk8s-flink.`,
    tags: checkTags('dashboardTags', options.tags ?? ['flink']),
    variables: [
      queryVariable('namespace', 'Namespace', `label_values(${upSel}, namespace)`, t.namespace ? 2 : 0, t.namespace ? { text: t.namespace, value: t.namespace } : {}),
      queryVariable('job', 'Job', `label_values(${series(v(M.JOB_NUM_RESTARTS), clusterSel)}, job_name)`, 0,
        defaultJob ? { text: [defaultJob], value: [defaultJob] } : { text: ['All'], value: ['$__all'] }, true),
    ],
    panels,
  });
}

/** The Grafana variables of the platform dashboard's queries. */
export const PLATFORM_DASHBOARD_VARIABLES = ['datasource', 'namespace', 'cluster', 'job'] as const;

export interface PlatformDashboardOptions extends DashboardOptions {
  /**
   * The namespace the `namespace` variable starts on (it lists every namespace with a scraped
   * Flink cluster).
   * @default - the first namespace Grafana lists
   */
  readonly namespace?: string;
  /** The dashboard's uid. @default - `flink-<title words>`, at most 40 characters */
  readonly uid?: string;
}

/**
 * One Grafana dashboard for every Flink cluster of a platform: the panels of the per-cluster
 * dashboard (flinkDashboard), whose cluster and job are picked by variables instead of being
 * written into the queries. Variables: `datasource`, `namespace` (the namespaces with a scraped
 * Flink cluster), `cluster` (the `flink_cluster` label of the scrape: the cluster's name) and
 * `job` (multi-value Flink job names, as the reporter writes them). The queries work for every
 * Flink version the toolkit supports: the garbage-collection panel reads the all-collector
 * metric or, where a version lacks it, the G1 ones, and the checkpoint column has both "Last
 * checkpoint age" (Flink 2.2 on) and "Checkpoints completed (1h)". What one cluster alone knows
 * (its expected TaskManager count) is left to its alert FlinkTaskManagersMissing.
 */
export function platformDashboard(options: PlatformDashboardOptions = {}): Dashboard {
  if (options === null || typeof options !== 'object') throw new ValidationError('dashboard', options, 'is invalid; expected dashboard options');
  if (options.namespace !== undefined) checkName('dashboard namespace', options.namespace, 63);
  const title = options.title ?? 'Flink';
  if (typeof title !== 'string' || title.trim() === '') throw new ValidationError('dashboardTitle', title, 'is invalid; expected a non-empty title');
  const uid = options.uid ?? stableUid(`flink-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`.replace(/-$/, ''));
  if (typeof uid !== 'string' || !/^[a-zA-Z0-9_-]{1,40}$/.test(uid)) {
    throw new ValidationError('dashboard uid', uid, 'is invalid; expected at most 40 letters, digits, "-" or "_"');
  }
  const clusterSel: Matcher[] = [{ label: 'namespace', op: '=', value: '$namespace' }, { label: 'flink_cluster', op: '=', value: '$cluster' }];
  // A rate of the metric where the cluster's version exports it, else of its replacement (same labels).
  const rate = (name: string) => `rate(${series(name, clusterSel)}[$__rate_interval])`;
  const panels = dashboardPanels({
    clusterSel,
    metric: (name) => metricInfo(name).name,
    gc: (all, young, old) => `(${rate(all)} or (${rate(young)} + ${rate(old)}))`,
    checkpointAge: true,
    checkpointCount: true,
    freeSlots: 'Unused slots: an application cluster normally uses all of them; a session cluster\'s are what new jobs can take.',
  });
  const flinkUp = series(FlinkMetric.UP, [{ label: 'flink_cluster', op: '!=', value: '' }]);
  const clusterUp = series(FlinkMetric.UP, [{ label: 'namespace', op: '=', value: '$namespace' }, { label: 'flink_cluster', op: '!=', value: '' }]);
  return dashboardModel({
    uid,
    title,
    description: 'Flink clusters and their jobs, picked by the namespace, cluster and job variables; generated by cdk8s-flink.',
    tags: checkTags('dashboardTags', options.tags ?? ['flink']),
    variables: [
      queryVariable('namespace', 'Namespace', `label_values(${flinkUp}, namespace)`, 0, options.namespace ? { text: options.namespace, value: options.namespace } : {}),
      queryVariable('cluster', 'Flink cluster', `label_values(${clusterUp}, flink_cluster)`, 0, {}),
      queryVariable('job', 'Job', `label_values(${series(FlinkMetric.JOB_NUM_RESTARTS, clusterSel)}, job_name)`, 0, { text: ['All'], value: ['$__all'] }, true),
    ],
    panels,
  });
}

function checkTags(field: string, tags: unknown): string[] {
  if (!Array.isArray(tags) || tags.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw new ValidationError(field, tags, 'is invalid; expected a list of non-empty strings');
  }
  return tags;
}

/** A Grafana query variable over Prometheus label values; `multi` adds "All" (any value). */
function queryVariable(name: string, label: string, query: string, hide: number, current: Record<string, unknown>, multi = false): Record<string, unknown> {
  return {
    name, label, type: 'query', datasource: DS, hide, refresh: 2, sort: 1,
    ...(multi ? { multi: true, includeAll: true, allValue: '.*' } : {}),
    definition: query,
    query: { query, refId: name },
    current,
  };
}

/** The dashboard model around panels and variables (after the data source variable). */
function dashboardModel(d: { uid: string; title: string; description: string; tags: string[]; variables: Array<Record<string, unknown>>; panels: DashboardPanel[] }): Dashboard {
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: d.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', hide: 0, refresh: 1, current: {} },
        ...d.variables,
      ],
    },
    panels: d.panels,
  };
}

/** `base` if it is a valid Grafana uid length, else shortened with a hash of it. @internal */
export function stableUid(base: string): string {
  if (base.length <= 40) return base;
  return `${base.slice(0, 31)}-${createHash('sha256').update(base).digest('hex').slice(0, 8)}`;
}

/** A stable Grafana uid (at most 40 characters of [a-zA-Z0-9-_]). */
export function dashboardUid(t: IMonitoringTarget): string {
  return stableUid(`flink-${t.namespace ? `${t.namespace}-` : ''}${t.name}`);
}

/** The name of a Grafana folder, as the sidecar's `grafana_folder` annotation takes it. */
export function checkFolder(field: string, folder: unknown): string {
  if (typeof folder !== 'string' || folder.trim() === '' || folder.length > 100 || /[\/\\\n]/.test(folder)) {
    throw new ValidationError(field, folder, 'is invalid; expected a folder name of at most 100 characters without slashes');
  }
  return folder;
}

/** @internal */
export function dashboardFileName(t: ResolvedTarget): string {
  checkName('cluster.name', t.name, 63);
  return `flink-${t.namespace ? `${t.namespace}-` : ''}${t.name}.json`;
}

const STAT_OPTIONS = {
  reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
  colorMode: 'value',
  graphMode: 'area',
  justifyMode: 'auto',
  orientation: 'auto',
  textMode: 'auto',
};

const SERIES_OPTIONS = {
  legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
  tooltip: { mode: 'multi', sort: 'desc' },
};
