import { Duration } from 'cdk8s';
import { checkLabels, checkNumber, ValidationError } from '../errors';
import { FlinkMetric, flinkLabelValue, metricAvailable, metricFor, metricInfo, MetricScope } from './metrics';
import { durationMillis, humanDuration, Matcher, promDuration, series } from './promql';
import { ClusterMode, IMonitoringTarget, ResolvedTarget, resolveTarget } from './target';

/** How urgent an alert is: its `severity` label, which Alertmanager routes on. */
export enum AlertSeverity {
  /** Someone should act now: the job is down or losing its recovery point. */
  CRITICAL = 'critical',
  /** Something degrades; act within working hours. */
  WARNING = 'warning',
  INFO = 'info',
}

/** The alerts this package defines (their `alertname`). */
export enum FlinkAlert {
  JOB_NOT_RUNNING = 'FlinkJobNotRunning',
  JOB_RESTARTING = 'FlinkJobRestarting',
  CHECKPOINTS_FAILING = 'FlinkCheckpointsFailing',
  CHECKPOINT_STALE = 'FlinkCheckpointStale',
  BACK_PRESSURE = 'FlinkTaskBackPressured',
  TASK_BUSY = 'FlinkTaskBusy',
  KAFKA_LAG_GROWING = 'FlinkKafkaLagGrowing',
  TASK_MANAGERS_MISSING = 'FlinkTaskManagersMissing',
  NO_FREE_SLOTS = 'FlinkNoFreeSlots',
  JOB_MANAGER_HEAP = 'FlinkJobManagerHeapHigh',
  TASK_MANAGER_HEAP = 'FlinkTaskManagerHeapHigh',
  GC_TIME = 'FlinkGcTimeHigh',
  TARGET_DOWN = 'FlinkMetricsTargetDown',
  METRICS_ABSENT = 'FlinkMetricsAbsent',
}

/** Thresholds and windows of the alerts. Every prop has a default. */
export interface FlinkAlertProps {
  /** Restarts within `restartWindow` that raise FlinkJobRestarting. @default 1 */
  readonly restartThreshold?: number;
  /** @default Duration.minutes(15) */
  readonly restartWindow?: Duration;
  /** Failed checkpoints within `checkpointFailureWindow` that raise FlinkCheckpointsFailing. @default 1 */
  readonly checkpointFailureThreshold?: number;
  /** @default Duration.minutes(15) */
  readonly checkpointFailureWindow?: Duration;
  /** FlinkCheckpointStale: no checkpoint completed for this long while the job runs. @default - 3 checkpoint intervals, at least 10 minutes */
  readonly checkpointMaxAge?: Duration;
  /** FlinkTaskBackPressured: fraction of time (0-1] the most back-pressured subtask of a task waits on output. @default 0.5 */
  readonly backPressureFraction?: number;
  /** @default Duration.minutes(15) */
  readonly backPressureFor?: Duration;
  /** FlinkTaskBusy: fraction of time (0-1] the busiest subtask of a task is busy. @default 0.9 */
  readonly busyFraction?: number;
  /** @default Duration.minutes(15) */
  readonly busyFor?: Duration;
  /** FlinkKafkaLagGrowing: records not yet read by a source operator (all its subtasks), above which growth alerts. Must be > 0. @default 10000 */
  readonly kafkaLagThreshold?: number;
  /** The window over which the lag's growth (`deriv`) is measured. @default Duration.minutes(10) */
  readonly kafkaLagWindow?: Duration;
  /** @default Duration.minutes(15) */
  readonly kafkaLagFor?: Duration;
  /** FlinkTaskManagersMissing: fewer registered than the cluster's expected TaskManagers for this long. @default Duration.minutes(5) */
  readonly taskManagersMissingFor?: Duration;
  /** FlinkNoFreeSlots (session clusters): no free slot for this long. @default Duration.minutes(15) */
  readonly noFreeSlotsFor?: Duration;
  /** FlinkJobManagerHeapHigh / FlinkTaskManagerHeapHigh: heap used / heap max above this (0-1]. @default 0.9 */
  readonly heapFraction?: number;
  /** @default Duration.minutes(15) */
  readonly heapFor?: Duration;
  /** FlinkGcTimeHigh: fraction of wall time (0-1] a process spends in garbage collection. @default 0.1 */
  readonly gcTimeFraction?: number;
  /** @default Duration.minutes(10) */
  readonly gcFor?: Duration;
  /** FlinkMetricsTargetDown: a pod's metrics endpoint failing its scrapes for this long. @default Duration.minutes(5) */
  readonly targetDownFor?: Duration;
  /** FlinkJobNotRunning (application clusters): no running job for this long. @default Duration.minutes(5) */
  readonly jobNotRunningFor?: Duration;
  /** FlinkMetricsAbsent: no scrape target of the cluster at all for this long. @default Duration.minutes(15) */
  readonly metricsAbsentFor?: Duration;
  /** Alerts to leave out. @default - none */
  readonly disabledAlerts?: FlinkAlert[];
  /** Extra labels on every alert (for Alertmanager routing, e.g. `team`). @default - none */
  readonly alertLabels?: Record<string, string>;
}

/** One Prometheus alerting rule, as written in a rule file. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** Omitted when the alert fires on the first evaluation that matches. */
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook: string };
}

/** A rule group of a Prometheus rule file. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

/** A plain Prometheus rule file (what `promtool check rules` reads). */
export interface RuleFile {
  readonly groups: RuleGroup[];
}

/** How a custom alert aggregates the series of its metric. */
export enum Aggregation {
  MAX = 'max',
  MIN = 'min',
  SUM = 'sum',
  AVG = 'avg',
}

/** A threshold alert on a metric of the catalog, added with `FlinkMonitoring.addMetricAlert()`. */
export interface MetricAlertOptions {
  /** The alert's name, PascalCase, e.g. `FlinkSourceIdle`. */
  readonly alert: string;
  /** A metric of the catalog: a `FlinkMetric` constant. */
  readonly metric: string;
  /** Fires when the aggregate is above this. Exactly one of `above` and `below`. */
  readonly above?: number;
  /** Fires when the aggregate is below this. */
  readonly below?: number;
  /** @default Aggregation.MAX */
  readonly aggregation?: Aggregation;
  /** @default - the metric's scope: cluster; job_name; task_name; operator_name; pod for process metrics */
  readonly by?: string[];
  /** @default Duration.minutes(5) */
  readonly for?: Duration;
  /** @default AlertSeverity.WARNING */
  readonly severity?: AlertSeverity;
  /** One line; may use `{{ $labels.x }}` and `{{ $value }}`. */
  readonly summary: string;
  /** @default - the summary */
  readonly description?: string;
  /** What to do when it fires. */
  readonly runbook: string;
}

const CLUSTER = ['namespace', 'flink_cluster'];
const JOB = [...CLUSTER, 'job_name'];
const TASK = [...JOB, 'task_name'];
const OPERATOR = [...TASK, 'operator_name'];
const PROCESS = [...CLUSTER, 'pod'];

const WHERE = '{{ $labels.namespace }}/{{ $labels.flink_cluster }}';
const JOB_REF = 'job {{ $labels.job_name }} ({{ $labels.namespace }}/{{ $labels.flink_cluster }})';

/** The alert props with defaults applied and checked. @internal */
interface Thresholds {
  restartThreshold: number; restartWindowMs: number;
  checkpointFailureThreshold: number; checkpointFailureWindowMs: number;
  checkpointMaxAgeMs: number;
  backPressureFraction: number; backPressureForMs: number;
  busyFraction: number; busyForMs: number;
  kafkaLagThreshold: number; kafkaLagWindowMs: number; kafkaLagForMs: number;
  taskManagersMissingForMs: number; noFreeSlotsForMs: number;
  heapFraction: number; heapForMs: number;
  gcTimeFraction: number; gcForMs: number;
  targetDownForMs: number; jobNotRunningForMs: number; metricsAbsentForMs: number;
  disabled: Set<string>;
  labels: Record<string, string>;
}

function positive(field: string, v: unknown, dflt: number, integer = false): number {
  const n = v === undefined ? dflt : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ValidationError(field, n, `is invalid; expected a ${integer ? 'whole number' : 'number'} greater than 0`);
  }
  return n;
}

function fraction(field: string, v: unknown, dflt: number): number {
  const n = v === undefined ? dflt : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new ValidationError(field, n, 'is invalid; expected a fraction greater than 0 and at most 1 (0.5 = 50%)');
  }
  return n;
}

function window(field: string, v: unknown, dflt: Duration): number {
  return durationMillis(field, v === undefined ? dflt : v);
}

function forDuration(field: string, v: unknown, dflt: Duration): number {
  return durationMillis(field, v === undefined ? dflt : v, true);
}

/** @internal */
export function resolveThresholds(p: FlinkAlertProps, t: ResolvedTarget): Thresholds {
  if (p === null || typeof p !== 'object') throw new ValidationError('alert props', p, 'is invalid; expected an object');
  const disabled = new Set<string>();
  for (const a of p.disabledAlerts ?? []) {
    if (!Object.values(FlinkAlert).includes(a)) {
      throw new ValidationError('disabledAlerts[]', a, `is not an alert of this package; expected one of ${Object.values(FlinkAlert).join(', ')}`);
    }
    disabled.add(a);
  }
  const labels = checkLabels('alertLabels', p.alertLabels);
  for (const k of Object.keys(labels)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith('__') || k === 'severity' || CLUSTER.includes(k) || k === 'alertname') {
      throw new ValidationError('alertLabels key', k, 'is not usable; expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*) other than alertname, severity, namespace and flink_cluster');
    }
  }
  return {
    restartThreshold: positive('restartThreshold', p.restartThreshold, 1, true),
    restartWindowMs: window('restartWindow', p.restartWindow, Duration.minutes(15)),
    checkpointFailureThreshold: positive('checkpointFailureThreshold', p.checkpointFailureThreshold, 1, true),
    checkpointFailureWindowMs: window('checkpointFailureWindow', p.checkpointFailureWindow, Duration.minutes(15)),
    checkpointMaxAgeMs: window('checkpointMaxAge', p.checkpointMaxAge, Duration.millis(Math.max(600_000, 3 * t.checkpointIntervalMs))),
    backPressureFraction: fraction('backPressureFraction', p.backPressureFraction, 0.5),
    backPressureForMs: forDuration('backPressureFor', p.backPressureFor, Duration.minutes(15)),
    busyFraction: fraction('busyFraction', p.busyFraction, 0.9),
    busyForMs: forDuration('busyFor', p.busyFor, Duration.minutes(15)),
    kafkaLagThreshold: positive('kafkaLagThreshold', p.kafkaLagThreshold, 10_000, true),
    kafkaLagWindowMs: window('kafkaLagWindow', p.kafkaLagWindow, Duration.minutes(10)),
    kafkaLagForMs: forDuration('kafkaLagFor', p.kafkaLagFor, Duration.minutes(15)),
    taskManagersMissingForMs: forDuration('taskManagersMissingFor', p.taskManagersMissingFor, Duration.minutes(5)),
    noFreeSlotsForMs: forDuration('noFreeSlotsFor', p.noFreeSlotsFor, Duration.minutes(15)),
    heapFraction: fraction('heapFraction', p.heapFraction, 0.9),
    heapForMs: forDuration('heapFor', p.heapFor, Duration.minutes(15)),
    gcTimeFraction: fraction('gcTimeFraction', p.gcTimeFraction, 0.1),
    gcForMs: forDuration('gcFor', p.gcFor, Duration.minutes(10)),
    targetDownForMs: forDuration('targetDownFor', p.targetDownFor, Duration.minutes(5)),
    jobNotRunningForMs: forDuration('jobNotRunningFor', p.jobNotRunningFor, Duration.minutes(5)),
    metricsAbsentForMs: forDuration('metricsAbsentFor', p.metricsAbsentFor, Duration.minutes(15)),
    disabled,
    labels,
  };
}

/** Matchers that limit a rule to one cluster's series (and, in session mode with a job name, to that job). */
export function clusterMatchers(t: IMonitoringTarget): Matcher[] {
  return [
    ...(t.namespace ? [{ label: 'namespace', op: '=' as const, value: t.namespace }] : []),
    { label: 'flink_cluster', op: '=', value: t.name },
  ];
}

/** Matchers for job, task and operator metrics. */
export function jobMatchers(t: IMonitoringTarget): Matcher[] {
  return [
    ...clusterMatchers(t),
    ...(t.mode === ClusterMode.SESSION && t.jobName ? [{ label: 'job_name', op: '=' as const, value: flinkLabelValue(t.jobName) }] : []),
  ];
}

function by(labels: string[]): string {
  return `by (${labels.join(', ')})`;
}

/** A metric of the catalog for this cluster: job scopes get the job matchers. */
function sel(t: ResolvedTarget, name: string): string {
  const scope = metricInfo(name).scope;
  const job = scope === MetricScope.JOB_MANAGER_JOB || scope === MetricScope.TASK || scope === MetricScope.OPERATOR;
  return series(metricFor(name, t.version), job ? jobMatchers(t) : clusterMatchers(t));
}

function pct(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}

/**
 * The alerting rules of one cluster as a plain rule file (`groups:`), the format
 * `promtool check rules` and a Prometheus `rule_files` entry read.
 */
export function flinkAlertRules(cluster: IMonitoringTarget, props: FlinkAlertProps = {}): RuleFile {
  const t = resolveTarget(cluster);
  const th = resolveThresholds(props, t);
  return { groups: [{ name: ruleGroupName(t), rules: buildRules(t, th) }] };
}

/** `flink.<namespace>.<cluster>`, or `flink.<cluster>` without a namespace. */
export function ruleGroupName(t: IMonitoringTarget): string {
  return ['flink', ...(t.namespace ? [t.namespace] : []), t.name].join('.');
}

/** @internal */
export function buildRules(t: ResolvedTarget, th: Thresholds): AlertRule[] {
  const rules: AlertRule[] = [];
  const add = (alert: FlinkAlert, severity: AlertSeverity, expr: string, forMs: number, summary: string, description: string, runbook: string) => {
    if (th.disabled.has(alert)) return;
    rules.push({
      alert,
      expr,
      ...(forMs > 0 ? { for: humanDuration(forMs) } : {}),
      labels: { ...th.labels, severity },
      annotations: { summary, description, runbook },
    });
  };
  const M = FlinkMetric;
  const d = humanDuration;
  const session = t.mode === ClusterMode.SESSION;

  // --- job state
  if (!session) {
    add(FlinkAlert.JOB_NOT_RUNNING, AlertSeverity.CRITICAL,
      `max ${by(CLUSTER)} (${sel(t, M.JM_NUM_RUNNING_JOBS)}) < 1`,
      th.jobNotRunningForMs,
      `Flink application ${WHERE} runs no job`,
      `The JobManager of ${WHERE} has reported no running job for ${d(th.jobNotRunningForMs)}: the job finished, failed or was cancelled.`,
      'Open the web UI (Completed Jobs) or GET /jobs/overview for the final state, and GET /jobs/<job-id>/exceptions for the cause. Fix it, then redeploy (helm upgrade) so the job restores from its latest savepoint or retained checkpoint.');
  }
  add(FlinkAlert.JOB_RESTARTING, AlertSeverity.WARNING,
    `sum ${by(JOB)} (increase(${sel(t, M.JOB_NUM_RESTARTS)}[${promDuration('restartWindow', Duration.millis(th.restartWindowMs))}])) >= ${th.restartThreshold}`,
    0,
    `Flink ${JOB_REF} is restarting`,
    `{{ $value | printf "%.0f" }} restart(s) of ${JOB_REF} in the last ${d(th.restartWindowMs)} (threshold ${th.restartThreshold}).`,
    'GET /jobs/<job-id>/exceptions (web UI: Exceptions) names the failing task and the root cause; the log of the TaskManager that ran it has the stack trace. Usual causes: a TaskManager lost (kubectl describe pod: OOMKilled, evicted), an unreachable source or sink, a record the job cannot process.');

  // --- checkpoints
  if (t.checkpointing) {
    add(FlinkAlert.CHECKPOINTS_FAILING, AlertSeverity.WARNING,
      `sum ${by(JOB)} (increase(${sel(t, M.JOB_FAILED_CHECKPOINTS)}[${promDuration('checkpointFailureWindow', Duration.millis(th.checkpointFailureWindowMs))}])) >= ${th.checkpointFailureThreshold}`,
      0,
      `Checkpoints of Flink ${JOB_REF} are failing`,
      `{{ $value | printf "%.0f" }} checkpoint(s) of ${JOB_REF} failed in the last ${d(th.checkpointFailureWindowMs)} (threshold ${th.checkpointFailureThreshold}).`,
      'Web UI: Checkpoints > History shows the failure cause of each checkpoint. Timeouts point at back-pressure or slow state uploads (raise checkpointTimeout, enable unaligned checkpoints); errors writing to the checkpoint directory point at storage credentials or quota. After tolerableCheckpointFailures consecutive failures the job restarts. Failures right after a start or restart that are missing from the history are triggers refused while tasks were still deploying (JobManager log: "Not all required tasks are currently running"): Flink counts them as failed; they stop once every task runs.');

    const maxAge = th.checkpointMaxAgeMs;
    const running = `max ${by(JOB)} (${sel(t, M.JOB_RUNNING_TIME)}) > ${maxAge}`;
    const precise = metricAvailable(M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP, t.version);
    add(FlinkAlert.CHECKPOINT_STALE, AlertSeverity.CRITICAL,
      precise
        ? `max ${by(JOB)} (time() - ${sel(t, M.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP)} / 1000) > ${maxAge / 1000} and on (${JOB.join(', ')}) ${running}`
        : `sum ${by(JOB)} (increase(${sel(t, M.JOB_COMPLETED_CHECKPOINTS)}[${promDuration('checkpointMaxAge', Duration.millis(maxAge))}])) < 1 and on (${JOB.join(', ')}) ${running}`,
      0,
      `Flink ${JOB_REF} has not completed a checkpoint for ${d(maxAge)}`,
      precise
        ? `The latest checkpoint of ${JOB_REF} completed {{ $value | humanizeDuration }} ago (limit ${d(maxAge)}); a failure now replays everything since then.`
        : `No checkpoint of ${JOB_REF} completed in the last ${d(maxAge)} while the job was running; a failure now replays everything since the last one.`,
      'Web UI: Checkpoints shows whether checkpoints are in progress, failing or not triggered. A checkpoint stuck in progress means back-pressure or a slow sink (see FlinkTaskBackPressured); failures show their cause in the history. Take no savepoint-based upgrade until checkpoints complete again.');
  }

  // --- tasks
  add(FlinkAlert.BACK_PRESSURE, AlertSeverity.WARNING,
    `max ${by(TASK)} (${sel(t, M.TASK_BACK_PRESSURED_TIME)}) / 1000 > ${th.backPressureFraction}`,
    th.backPressureForMs,
    `Task {{ $labels.task_name }} of Flink ${JOB_REF} is back-pressured`,
    `Its most back-pressured subtask waits on its output {{ $value | humanizePercentage }} of the time (limit ${pct(th.backPressureFraction)}) for ${d(th.backPressureForMs)}.`,
    'The bottleneck is downstream: the first task after this one that is busy, not back-pressured (dashboard: Busy / Back-pressured per task). Scale it (parallelism, TaskManager CPU), fix a slow sink, or spread a hot key. Back-pressure also slows aligned checkpoints.');
  add(FlinkAlert.TASK_BUSY, AlertSeverity.WARNING,
    `max ${by(TASK)} (${sel(t, M.TASK_BUSY_TIME)}) / 1000 > ${th.busyFraction}`,
    th.busyForMs,
    `Task {{ $labels.task_name }} of Flink ${JOB_REF} is saturated`,
    `Its busiest subtask is busy {{ $value | humanizePercentage }} of the time (limit ${pct(th.busyFraction)}) for ${d(th.busyForMs)}.`,
    'This task is the bottleneck: raise the job\'s parallelism (more TaskManagers or slots), give TaskManagers more CPU, or look for one hot subtask (data skew: dashboard, per-subtask busy time).');

  add(FlinkAlert.KAFKA_LAG_GROWING, AlertSeverity.WARNING,
    `sum ${by(OPERATOR)} (${sel(t, M.OPERATOR_PENDING_RECORDS)}) > ${th.kafkaLagThreshold} and sum ${by(OPERATOR)} (deriv(${sel(t, M.OPERATOR_PENDING_RECORDS)}[${promDuration('kafkaLagWindow', Duration.millis(th.kafkaLagWindowMs))}])) > 0`,
    th.kafkaLagForMs,
    `Source {{ $labels.operator_name }} of Flink ${JOB_REF} is falling behind`,
    `{{ $value | humanize }} records are waiting to be read (threshold ${th.kafkaLagThreshold}) and the lag has grown for ${d(th.kafkaLagForMs)}.`,
    'The job reads slower than producers write. If tasks are back-pressured, fix the bottleneck downstream; if the source is busy, raise its parallelism (at most one subtask per partition is useful). Check that the job is not restarting in a loop.');

  // --- cluster resources
  add(FlinkAlert.TASK_MANAGERS_MISSING, AlertSeverity.CRITICAL,
    `max ${by(CLUSTER)} (${sel(t, M.JM_NUM_REGISTERED_TASK_MANAGERS)}) < ${t.expectedTaskManagers}`,
    th.taskManagersMissingForMs,
    `Flink cluster ${WHERE} is missing TaskManagers`,
    `{{ $value }} of ${t.expectedTaskManagers} TaskManager(s) registered for ${d(th.taskManagersMissingForMs)}.`,
    'kubectl get pods -l app.kubernetes.io/component=taskmanager: look for Pending (no node fits the requests; check quotas and node capacity), CrashLoopBackOff (kubectl logs --previous) or OOMKilled (raise taskManagerMemory). Jobs without enough slots cannot run at full parallelism.');
  if (session) {
    add(FlinkAlert.NO_FREE_SLOTS, AlertSeverity.WARNING,
      `max ${by(CLUSTER)} (${sel(t, M.JM_TASK_SLOTS_AVAILABLE)}) < 1`,
      th.noFreeSlotsForMs,
      `Flink session cluster ${WHERE} has no free task slot`,
      `Every task slot of ${WHERE} has been taken for ${d(th.noFreeSlotsForMs)}: a new or restarting job cannot be scheduled.`,
      'Add TaskManagers (taskManagerReplicas) or slots, or lower the parallelism of the session\'s jobs; `cdk8s-flink validate` compares the jobs\' parallelism with the cluster\'s slots.');
  }
  add(FlinkAlert.JOB_MANAGER_HEAP, AlertSeverity.WARNING,
    `max ${by(PROCESS)} (${sel(t, M.JM_HEAP_USED)} / ${sel(t, M.JM_HEAP_MAX)}) > ${th.heapFraction}`,
    th.heapForMs,
    `JobManager heap of Flink cluster ${WHERE} is nearly full`,
    `JobManager {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its heap (limit ${pct(th.heapFraction)}) for ${d(th.heapForMs)}.`,
    'Large checkpoint metadata, many jobs or a big execution history fill the JobManager heap. Raise jobManagerMemory, lower web.history / jobstore settings, or move jobs off a crowded session cluster.');
  add(FlinkAlert.TASK_MANAGER_HEAP, AlertSeverity.WARNING,
    `max ${by(PROCESS)} (${sel(t, M.TM_HEAP_USED)} / ${sel(t, M.TM_HEAP_MAX)}) > ${th.heapFraction}`,
    th.heapForMs,
    `TaskManager heap of Flink cluster ${WHERE} is nearly full`,
    `TaskManager {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its heap (limit ${pct(th.heapFraction)}) for ${d(th.heapForMs)}.`,
    'Heap state (hashmap backend), large windows or big records fill the TaskManager heap. Raise taskManagerMemory, lower managedMemoryFraction if RocksDB is not used, or switch to the RocksDB state backend.');

  const gcRate = (all: string, young: string, old: string) => (metricAvailable(all, t.version)
    ? `rate(${sel(t, all)}[5m])`
    : `(rate(${sel(t, young)}[5m]) + rate(${sel(t, old)}[5m]))`);
  add(FlinkAlert.GC_TIME, AlertSeverity.WARNING,
    `max ${by([...PROCESS, 'component'])} (${gcRate(M.JM_GC_TIME, M.JM_GC_G1_YOUNG_TIME, M.JM_GC_G1_OLD_TIME)} or ${gcRate(M.TM_GC_TIME, M.TM_GC_G1_YOUNG_TIME, M.TM_GC_G1_OLD_TIME)}) / 1000 > ${th.gcTimeFraction}`,
    th.gcForMs,
    `Flink {{ $labels.component }} {{ $labels.pod }} spends too much time in garbage collection`,
    `{{ $labels.pod }} in ${WHERE} spent {{ $value | humanizePercentage }} of its time in GC over 5m (limit ${pct(th.gcTimeFraction)}) for ${d(th.gcForMs)}.`,
    'The heap is too small for the live data: see the heap panels. Raise the process memory (jobManagerMemory / taskManagerMemory) or reduce heap state; long GC pauses cause heartbeat timeouts and restarts.');

  // --- scraping
  add(FlinkAlert.TARGET_DOWN, AlertSeverity.WARNING,
    `min ${by([...PROCESS, 'component'])} (${series(FlinkMetric.UP, clusterMatchers(t))}) < 1`,
    th.targetDownForMs,
    `Prometheus cannot scrape Flink {{ $labels.component }} {{ $labels.pod }}`,
    `The metrics endpoint (port metrics, ${t.metricsPort}) of {{ $labels.pod }} in ${WHERE} has failed its scrapes for ${d(th.targetDownForMs)}.`,
    'kubectl get pod: a restarting or not-ready pod explains it. Otherwise check that metrics are on (metrics.reporter.prom.* in the ConfigMap), that the port is reachable (NetworkPolicy) and the reporter started (Flink log: PrometheusReporter).');
  add(FlinkAlert.METRICS_ABSENT, AlertSeverity.WARNING,
    `absent(${series(FlinkMetric.UP, clusterMatchers(t))})`,
    th.metricsAbsentForMs,
    `No metrics from Flink cluster ${t.namespace ? `${t.namespace}/` : ''}${t.name}`,
    `Prometheus has had no scrape target of Flink cluster ${t.namespace ? `${t.namespace}/` : ''}${t.name} for ${d(th.metricsAbsentForMs)}: every other alert of this cluster is blind.`,
    'Check that the cluster\'s pods run, and that Prometheus selects the PodMonitor or ServiceMonitor (its release label must match the Prometheus serviceMonitorSelector / podMonitorSelector) or, with pod annotations, that the scrape config is installed.');
  return rules;
}

const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** Builds a custom threshold alert on a catalog metric. @internal */
export function metricAlertRule(t: ResolvedTarget, o: MetricAlertOptions, extraLabels: Record<string, string>): AlertRule {
  if (o === null || typeof o !== 'object') throw new ValidationError('metric alert', o, 'is invalid; expected options');
  if (typeof o.alert !== 'string' || !ALERT_NAME.test(o.alert)) {
    throw new ValidationError('alert', o.alert, 'is not a valid alert name; expected PascalCase letters and digits, e.g. "FlinkSourceIdle"');
  }
  if ((Object.values(FlinkAlert) as string[]).includes(o.alert)) {
    throw new ValidationError('alert', o.alert, 'is the name of a built-in alert; choose another name or change the built-in one\'s thresholds');
  }
  const name = metricFor(o.metric, t.version, 'metric');
  const info = metricInfo(name);
  if ((o.above === undefined) === (o.below === undefined)) {
    throw new ValidationError('above/below', { above: o.above, below: o.below }, 'is invalid; expected exactly one of above and below');
  }
  const limit = o.above ?? o.below;
  checkNumber(o.above !== undefined ? 'above' : 'below', limit, -Number.MAX_VALUE, Number.MAX_VALUE);
  const agg = o.aggregation ?? Aggregation.MAX;
  if (!Object.values(Aggregation).includes(agg)) {
    throw new ValidationError('aggregation', agg, `is unknown; expected one of ${Object.values(Aggregation).join(', ')}`);
  }
  const defaultBy = info.scope === MetricScope.OPERATOR ? OPERATOR
    : info.scope === MetricScope.TASK ? TASK
      : info.scope === MetricScope.JOB_MANAGER_JOB ? JOB
        : info.scope === MetricScope.PROMETHEUS || info.scope === MetricScope.JOB_MANAGER && !/_Status_/.test(name) ? CLUSTER
          : PROCESS;
  const labels = o.by ?? defaultBy;
  for (const l of labels) {
    if (typeof l !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)) throw new ValidationError('by[]', l, 'is not a Prometheus label name');
  }
  for (const [f, v] of [['summary', o.summary], ['runbook', o.runbook]] as const) {
    if (typeof v !== 'string' || v.trim() === '') throw new ValidationError(f, v, 'is required; expected one line of text');
  }
  const forMs = durationMillis('for', o.for ?? Duration.minutes(5), true);
  const severity = o.severity ?? AlertSeverity.WARNING;
  if (!Object.values(AlertSeverity).includes(severity)) {
    throw new ValidationError('severity', severity, `is unknown; expected one of ${Object.values(AlertSeverity).join(', ')}`);
  }
  return {
    alert: o.alert,
    expr: `${agg} ${by(labels)} (${sel(t, name)}) ${o.above !== undefined ? '>' : '<'} ${limit}`,
    ...(forMs > 0 ? { for: humanDuration(forMs) } : {}),
    labels: { ...extraLabels, severity },
    annotations: { summary: o.summary, description: o.description ?? o.summary, runbook: o.runbook },
  };
}
