import { createHash } from 'crypto';
import { checkName, ValidationError } from '../errors';
import { FlinkMetric, flinkLabelValue, metricAvailable, metricFor } from './metrics';
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

/** The dashboard of a checked target, with its uid. @internal */
export function resolvedDashboard(t: ResolvedTarget, options: DashboardOptions, uid: string): Dashboard {
  const M = FlinkMetric;
  const v = (name: string) => metricFor(name, t.version);
  const clusterSel: Matcher[] = [{ label: 'namespace', op: '=', value: '$namespace' }, { label: 'flink_cluster', op: '=', value: t.name }];
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
  add('stat', 'TaskManagers', { x: 16, y: 0, w: 4, h: 4 }, 'none', [[`max(${c(M.JM_NUM_REGISTERED_TASK_MANAGERS)})`]],
    { description: `Registered TaskManagers; ${t.expectedTaskManagers} expected.`, defaults: thresholds([['red', null], ['green', t.expectedTaskManagers]]) });
  add('stat', 'Free slots', { x: 20, y: 0, w: 4, h: 4 }, 'none', [[`max(${c(M.JM_TASK_SLOTS_AVAILABLE)})`]],
    { description: t.mode === ClusterMode.SESSION ? 'Slots new jobs can take.' : 'Unused slots (an application normally uses all of them).' });

  // --- checkpoints (y 4)
  add('timeseries', 'Checkpoints completed / failed', { x: 0, y: 4, w: 6, h: 8 }, 'none', [
    [`sum by (job_name) (increase(${j(M.JOB_COMPLETED_CHECKPOINTS)}[$__rate_interval]))`, 'completed {{job_name}}'],
    [`sum by (job_name) (increase(${j(M.JOB_FAILED_CHECKPOINTS)}[$__rate_interval]))`, 'failed {{job_name}}'],
  ]);
  add('timeseries', 'Checkpoint duration', { x: 6, y: 4, w: 6, h: 8 }, 'ms', [[`max by (job_name) (${j(M.JOB_LAST_CHECKPOINT_DURATION)})`, '{{job_name}}']]);
  add('timeseries', 'Checkpoint size', { x: 12, y: 4, w: 6, h: 8 }, 'bytes', [[`max by (job_name) (${j(M.JOB_LAST_CHECKPOINT_SIZE)})`, '{{job_name}}']],
    { description: 'Checkpointed size of the latest checkpoint (with incremental checkpoints: the new part).' });
  if (metricAvailable(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP, t.version)) {
    add('stat', 'Last checkpoint age', { x: 18, y: 4, w: 6, h: 8 }, 's', [[`max by (job_name) (time() - ${j(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP)} / 1000)`, '{{job_name}}']],
      { description: 'Time since the latest checkpoint completed.' });
  } else {
    add('stat', 'Checkpoints completed (1h)', { x: 18, y: 4, w: 6, h: 8 }, 'none', [[`sum by (job_name) (increase(${j(M.JOB_COMPLETED_CHECKPOINTS)}[1h]))`, '{{job_name}}']],
      { description: 'Checkpoints completed in the last hour (this Flink version exports no completion timestamp).', defaults: thresholds([['red', null], ['green', 1]]) });
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
  const gc = (all: string, young: string, old: string) => (metricAvailable(all, t.version)
    ? `rate(${c(all)}[$__rate_interval])`
    : `(rate(${c(young)}[$__rate_interval]) + rate(${c(old)}[$__rate_interval]))`);
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
    [`vector(${t.expectedTaskManagers})`, 'expected TaskManagers'],
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

  const where = t.namespace ? `${t.namespace}/${t.name}` : t.name;
  const upSel = series(FlinkMetric.UP, [{ label: 'flink_cluster', op: '=', value: t.name }]);
  const jobQuery = `label_values(${series(v(M.JOB_NUM_RESTARTS), clusterSel)}, job_name)`;
  const defaultJob = t.jobName ? flinkLabelValue(t.jobName) : undefined;
  const tags = options.tags ?? ['flink'];
  if (!Array.isArray(tags) || tags.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw new ValidationError('dashboardTags', tags, 'is invalid; expected a list of non-empty strings');
  }
  return {
    uid,
    title: options.title ?? `Flink / ${where}`,
    description: `Flink ${t.mode} cluster ${where} (Flink ${t.version.line}), generated by cdk8s-flink.`,
    tags,
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
        {
          name: 'namespace', label: 'Namespace', type: 'query', datasource: DS, hide: t.namespace ? 2 : 0, refresh: 2, sort: 1,
          definition: `label_values(${upSel}, namespace)`,
          query: { query: `label_values(${upSel}, namespace)`, refId: 'namespace' },
          ...(t.namespace ? { current: { text: t.namespace, value: t.namespace } } : { current: {} }),
        },
        {
          name: 'job', label: 'Job', type: 'query', datasource: DS, hide: 0, refresh: 2, sort: 1, multi: true, includeAll: true, allValue: '.*',
          definition: jobQuery,
          query: { query: jobQuery, refId: 'job' },
          current: defaultJob ? { text: [defaultJob], value: [defaultJob] } : { text: ['All'], value: ['$__all'] },
        },
      ],
    },
    panels,
  };
}

/** A stable Grafana uid (at most 40 characters of [a-zA-Z0-9-_]). */
export function dashboardUid(t: IMonitoringTarget): string {
  const base = `flink-${t.namespace ? `${t.namespace}-` : ''}${t.name}`;
  if (base.length <= 40) return base;
  return `${base.slice(0, 31)}-${createHash('sha256').update(base).digest('hex').slice(0, 8)}`;
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
