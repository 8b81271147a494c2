import { FlinkVersion } from '../config/flink-version';
import { ValidationError } from '../errors';

/**
 * The Flink metrics that the alert rules and dashboard panels of this package read, as
 * Flink's PrometheusReporter exports them: `flink_<scope>_<metric>`, with the scope
 * variables as labels. Every rule and panel takes its metric names from here, so a name is
 * written once.
 *
 * Facts checked against the Flink 1.20.5 and 2.2.1 distributions (`flink-dist` classes
 * `MetricNames`, `MetricUtils`, `JobStatusMetrics`, `(Default)CheckpointStatsTracker`):
 * - `lastCheckpointCompletedTimestamp` exists in 2.2.1 and not in 1.20.5 (modelled as
 *   available from 2.2; 2.0 and 2.1 were not checked and get the portable rules);
 * - `GarbageCollector.All.{Count,Time,TimeMsPerSecond}` (a sum over every collector) exist
 *   in both (modelled from 1.20; 1.18 and 1.19 were not checked);
 * - `runningTime` (job status metrics, on by default since 1.16) and the deprecated
 *   `uptime` exist in both.
 */

/** How the PrometheusReporter exports a metric. Flink counters become Prometheus gauges. */
export enum PromType {
  /** A value that goes up and down. */
  GAUGE = 'gauge',
  /**
   * A Flink Counter, exported as a Prometheus gauge: monotonic while the process lives,
   * reset by a restart of the process; `increase()` and `rate()` handle it like a counter.
   */
  COUNTER_AS_GAUGE = 'counter (exported as gauge)',
  /** A Flink Meter, exported as a gauge of its per-second rate (averaged over 60 s). */
  METER_AS_GAUGE = 'meter rate (exported as gauge)',
}

/** The metric scopes of Flink's system metrics. */
export enum MetricScope {
  JOB_MANAGER = 'jobmanager',
  JOB_MANAGER_JOB = 'jobmanager_job',
  TASK_MANAGER = 'taskmanager',
  TASK = 'taskmanager_job_task',
  OPERATOR = 'taskmanager_job_task_operator',
  /** Prometheus' own per-target series. */
  PROMETHEUS = 'prometheus',
}

/** Labels Flink attaches (scope variables); the scrape adds namespace, pod, component, flink_cluster. */
const JM = ['host'] as const;
const JM_JOB = ['host', 'job_id', 'job_name'] as const;
const TM = ['host', 'tm_id'] as const;
const TASK = ['host', 'tm_id', 'job_id', 'job_name', 'task_id', 'task_attempt_id', 'task_name', 'task_attempt_num', 'subtask_index'] as const;
const OPERATOR = [...TASK, 'operator_id', 'operator_name'] as const;

/** One exported metric. */
export interface MetricInfo {
  /** The Prometheus metric name. */
  readonly name: string;
  readonly type: PromType;
  readonly scope: MetricScope;
  /** The labels Flink puts on it (before the scrape adds target labels). */
  readonly labels: readonly string[];
  /** What it measures, with its unit. */
  readonly meaning: string;
  /** The first release line that exports it. @default - every supported line */
  readonly since?: readonly [number, number];
}

function m(name: string, type: PromType, scope: MetricScope, labels: readonly string[], meaning: string, since?: [number, number]): MetricInfo {
  return { name, type, scope, labels, meaning, ...(since ? { since } : {}) };
}

const { GAUGE, COUNTER_AS_GAUGE: COUNTER, METER_AS_GAUGE: METER } = PromType;
const S = MetricScope;

/** Every metric of the catalog, by a stable constant name. */
export const FLINK_METRICS = {
  UP: m('up', GAUGE, S.PROMETHEUS, [], 'Prometheus: 1 when the last scrape of the target succeeded, 0 when it failed'),

  JM_NUM_RUNNING_JOBS: m('flink_jobmanager_numRunningJobs', GAUGE, S.JOB_MANAGER, JM, 'Jobs the JobManager runs that are not terminal (RESTARTING counts)'),
  JM_NUM_REGISTERED_TASK_MANAGERS: m('flink_jobmanager_numRegisteredTaskManagers', GAUGE, S.JOB_MANAGER, JM, 'TaskManagers registered with the resource manager'),
  JM_TASK_SLOTS_AVAILABLE: m('flink_jobmanager_taskSlotsAvailable', GAUGE, S.JOB_MANAGER, JM, 'Free task slots'),
  JM_TASK_SLOTS_TOTAL: m('flink_jobmanager_taskSlotsTotal', GAUGE, S.JOB_MANAGER, JM, 'All task slots of the registered TaskManagers'),
  JM_HEAP_USED: m('flink_jobmanager_Status_JVM_Memory_Heap_Used', GAUGE, S.JOB_MANAGER, JM, 'JobManager JVM heap in use, bytes'),
  JM_HEAP_MAX: m('flink_jobmanager_Status_JVM_Memory_Heap_Max', GAUGE, S.JOB_MANAGER, JM, 'JobManager JVM heap limit, bytes'),
  JM_GC_TIME: m('flink_jobmanager_Status_JVM_GarbageCollector_All_Time', GAUGE, S.JOB_MANAGER, JM, 'JobManager: total time spent in garbage collection by every collector, ms', [1, 20]),
  JM_GC_G1_YOUNG_TIME: m('flink_jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', GAUGE, S.JOB_MANAGER, JM,
    'JobManager: total time of G1 young collections, ms (G1 is the JVM default with >= 2 CPUs and >= 1792 MiB; smaller containers get Serial: Copy / MarkSweepCompact)'),
  JM_GC_G1_OLD_TIME: m('flink_jobmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', GAUGE, S.JOB_MANAGER, JM, 'JobManager: total time of G1 full collections, ms'),

  JOB_NUM_RESTARTS: m('flink_jobmanager_job_numRestarts', COUNTER, S.JOB_MANAGER_JOB, JM_JOB, 'Restarts of the job since it was submitted to this JobManager'),
  JOB_RUNNING_TIME: m('flink_jobmanager_job_runningTime', GAUGE, S.JOB_MANAGER_JOB, JM_JOB, 'Time since the job last switched to RUNNING, ms; 0 while it is not running'),
  JOB_UPTIME: m('flink_jobmanager_job_uptime', GAUGE, S.JOB_MANAGER_JOB, JM_JOB, 'Deprecated alias of runningTime, ms'),
  JOB_COMPLETED_CHECKPOINTS: m('flink_jobmanager_job_numberOfCompletedCheckpoints', COUNTER, S.JOB_MANAGER_JOB, JM_JOB, 'Checkpoints completed'),
  JOB_FAILED_CHECKPOINTS: m('flink_jobmanager_job_numberOfFailedCheckpoints', COUNTER, S.JOB_MANAGER_JOB, JM_JOB, 'Checkpoints failed'),
  JOB_LAST_CHECKPOINT_DURATION: m('flink_jobmanager_job_lastCheckpointDuration', GAUGE, S.JOB_MANAGER_JOB, JM_JOB, 'Duration of the latest completed checkpoint, ms'),
  JOB_LAST_CHECKPOINT_SIZE: m('flink_jobmanager_job_lastCheckpointSize', GAUGE, S.JOB_MANAGER_JOB, JM_JOB, 'Checkpointed size of the latest completed checkpoint (incremental: the new part), bytes'),
  JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP: m('flink_jobmanager_job_lastCheckpointCompletedTimestamp', GAUGE, S.JOB_MANAGER_JOB, JM_JOB,
    'When the latest checkpoint completed, ms since the epoch', [2, 2]),

  TM_HEAP_USED: m('flink_taskmanager_Status_JVM_Memory_Heap_Used', GAUGE, S.TASK_MANAGER, TM, 'TaskManager JVM heap in use, bytes'),
  TM_HEAP_MAX: m('flink_taskmanager_Status_JVM_Memory_Heap_Max', GAUGE, S.TASK_MANAGER, TM, 'TaskManager JVM heap limit, bytes'),
  TM_GC_TIME: m('flink_taskmanager_Status_JVM_GarbageCollector_All_Time', GAUGE, S.TASK_MANAGER, TM, 'TaskManager: total time spent in garbage collection by every collector, ms', [1, 20]),
  TM_GC_G1_YOUNG_TIME: m('flink_taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', GAUGE, S.TASK_MANAGER, TM, 'TaskManager: total time of G1 young collections, ms'),
  TM_GC_G1_OLD_TIME: m('flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', GAUGE, S.TASK_MANAGER, TM, 'TaskManager: total time of G1 full collections, ms'),

  TASK_BACK_PRESSURED_TIME: m('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', GAUGE, S.TASK, TASK, 'Time the subtask was back-pressured (waiting on output buffers), ms per second (0-1000)'),
  TASK_BUSY_TIME: m('flink_taskmanager_job_task_busyTimeMsPerSecond', GAUGE, S.TASK, TASK, 'Time the subtask was busy processing, ms per second (0-1000; NaN when unknown)'),
  TASK_IDLE_TIME: m('flink_taskmanager_job_task_idleTimeMsPerSecond', GAUGE, S.TASK, TASK, 'Time the subtask waited for input, ms per second (0-1000)'),
  TASK_RECORDS_IN_RATE: m('flink_taskmanager_job_task_numRecordsInPerSecond', METER, S.TASK, TASK, 'Records the subtask received, per second'),
  TASK_RECORDS_OUT_RATE: m('flink_taskmanager_job_task_numRecordsOutPerSecond', METER, S.TASK, TASK, 'Records the subtask emitted, per second'),

  OPERATOR_PENDING_RECORDS: m('flink_taskmanager_job_task_operator_pendingRecords', GAUGE, S.OPERATOR, OPERATOR,
    'Source operators (Kafka source: per subtask, its partitions): records not yet fetched, i.e. consumer lag'),
  OPERATOR_CURRENT_OUTPUT_WATERMARK: m('flink_taskmanager_job_task_operator_currentOutputWatermark', GAUGE, S.OPERATOR, OPERATOR,
    'The operator\'s last emitted watermark, ms since the epoch (Long.MIN_VALUE before the first)'),
} as const;

/** The constant names of the catalog (`'JOB_NUM_RESTARTS'`, ...). */
export type FlinkMetricKey = keyof typeof FLINK_METRICS;

type NameOf<K extends FlinkMetricKey> = (typeof FLINK_METRICS)[K]['name'];

/** The metric names as constants: `FlinkMetric.JOB_NUM_RESTARTS === 'flink_jobmanager_job_numRestarts'`. */
export const FlinkMetric: { readonly [K in FlinkMetricKey]: NameOf<K> } = Object.freeze(
  Object.fromEntries(Object.entries(FLINK_METRICS).map(([k, v]) => [k, v.name])) as any,
);

/** A metric name of the catalog. */
export type FlinkMetricName = NameOf<FlinkMetricKey>;

const BY_NAME = new Map<string, MetricInfo>(Object.values(FLINK_METRICS).map((v) => [v.name, v]));

/** Every metric of the catalog. */
export function allMetrics(): MetricInfo[] {
  return [...BY_NAME.values()];
}

/** The catalog entry of a metric name; a ValidationError for a name the catalog does not have. */
export function metricInfo(name: string, field = 'metric'): MetricInfo {
  const info = typeof name === 'string' ? BY_NAME.get(name) : undefined;
  if (!info) {
    const near = typeof name === 'string' ? [...BY_NAME.keys()].filter((n) => n.toLowerCase().includes(name.toLowerCase().replace(/^flink_/, '').split('_').pop() ?? '')).slice(0, 3) : [];
    throw new ValidationError(field, name,
      `is not a metric of the catalog; expected a FlinkMetric constant such as FlinkMetric.JOB_NUM_RESTARTS${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
  }
  return info;
}

/** True when the release line exports the metric. */
export function metricAvailable(name: string, version: FlinkVersion): boolean {
  const info = metricInfo(name);
  return !info.since || version.atLeast(info.since[0], info.since[1]);
}

/** The metric name, after checking that the version exports it. */
export function metricFor(name: string, version: FlinkVersion, field = 'metric'): string {
  const info = metricInfo(name, field);
  if (!metricAvailable(name, version)) {
    throw new ValidationError(field, name, `is exported from Flink ${info.since!.join('.')} on; the cluster runs ${version.line}`);
  }
  return info.name;
}

/**
 * A label value as Flink's PrometheusReporter writes it: every character outside
 * `[a-zA-Z0-9:_]` becomes `_` (unless the reporter sets `filterLabelValueCharacters: false`).
 * A job named `audit-logs` is exported as `job_name="audit_logs"`.
 */
export function flinkLabelValue(value: string): string {
  return value.replace(/[^a-zA-Z0-9:_]/g, '_');
}
