/**
 * Synthetic series for promtool unit tests of the monitoring rules and dashboard queries:
 * the label sets a Flink cluster's series have after a PodMonitor scrape (Flink's scope
 * variables, sanitized as the PrometheusReporter writes them, plus the target labels the
 * monitors' relabelings add).
 */
import { flinkLabelValue } from '../../lib/monitoring';

export interface SeriesCluster {
  readonly ns: string;
  readonly name: string;
  /** The Flink job name as submitted (`audit-logs`); series carry flinkLabelValue(job). */
  readonly job: string;
}

export type Labels = Record<string, string>;

/** One input series of a promtool test: `metric{labels}` and its values notation. */
export interface InputSeries {
  readonly metric: string;
  readonly labels: Labels;
  readonly values: string;
}

export function s(metric: string, labels: Labels, values: string): InputSeries {
  return { metric, labels, values };
}

export function seriesText(x: InputSeries): string {
  const l = Object.entries(x.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
  return `${x.metric}{${l}}`;
}

const JOB_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export function jmLabels(c: SeriesCluster): Labels {
  return {
    namespace: c.ns, flink_cluster: c.name, pod: `${c.name}-jobmanager-5d8c7-x2x9q`, component: 'jobmanager',
    container: 'jobmanager', endpoint: 'metrics', job: `${c.ns}/${c.name}-metrics`, instance: '10.0.0.10:9249', host: '10_0_0_10',
  };
}

export function jmJobLabels(c: SeriesCluster, job = c.job): Labels {
  return { ...jmLabels(c), job_id: JOB_ID, job_name: flinkLabelValue(job) };
}

export function tmLabels(c: SeriesCluster, i: number): Labels {
  return {
    namespace: c.ns, flink_cluster: c.name, pod: `${c.name}-taskmanager-6f9b4-k${i}`, component: 'taskmanager',
    container: 'taskmanager', endpoint: 'metrics', job: `${c.ns}/${c.name}-metrics`, instance: `10.0.0.2${i}:9249`,
    host: `10_0_0_2${i}`, tm_id: `10_0_0_2${i}:6122-${i}a7f3c`,
  };
}

export const SOURCE_TASK = 'Source:_audit_source____Calc';
export const SOURCE_OPERATOR = 'Source:_audit_source';
export const SINK_TASK = 'GroupAggregate____Sink:_counted';

export function taskLabels(c: SeriesCluster, tm: number, task: string, subtask: number, job = c.job): Labels {
  return {
    ...tmLabels(c, tm), job_id: JOB_ID, job_name: flinkLabelValue(job), task_id: `t${task.length}`, task_attempt_id: `att${subtask}`,
    task_name: task, task_attempt_num: '0', subtask_index: String(subtask),
  };
}

export function operatorLabels(c: SeriesCluster, tm: number, task: string, subtask: number, operator: string, job = c.job): Labels {
  return { ...taskLabels(c, tm, task, subtask, job), operator_id: `op${operator.length}`, operator_name: operator };
}

/** Every series a healthy running cluster exports (two TaskManagers, two tasks of parallelism 2), for 60 minutes at 1m. */
export function healthyCluster(c: SeriesCluster, opts: { taskManagers: number; timestampMetric?: boolean; g1?: boolean; slotsFree?: number }): InputSeries[] {
  const out: InputSeries[] = [];
  const jm = jmLabels(c);
  const jj = jmJobLabels(c);
  out.push(s('up', jm, '1x60'));
  out.push(s('flink_jobmanager_numRunningJobs', jm, '1x60'));
  out.push(s('flink_jobmanager_numRegisteredTaskManagers', jm, `${opts.taskManagers}x60`));
  out.push(s('flink_jobmanager_taskSlotsTotal', jm, `${opts.taskManagers * 2}x60`));
  out.push(s('flink_jobmanager_taskSlotsAvailable', jm, `${opts.slotsFree ?? 0}x60`));
  out.push(s('flink_jobmanager_Status_JVM_Memory_Heap_Used', jm, '300000000+1000x60'));
  out.push(s('flink_jobmanager_Status_JVM_Memory_Heap_Max', jm, '1000000000x60'));
  if (opts.g1) {
    out.push(s('flink_jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', jm, '0+500x60'));
    out.push(s('flink_jobmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', jm, '0x60'));
  } else {
    out.push(s('flink_jobmanager_Status_JVM_GarbageCollector_All_Time', jm, '0+500x60'));
  }
  out.push(s('flink_jobmanager_job_numRestarts', jj, '0x60'));
  out.push(s('flink_jobmanager_job_runningTime', jj, '0+60000x60'));
  out.push(s('flink_jobmanager_job_uptime', jj, '0+60000x60'));
  out.push(s('flink_jobmanager_job_numberOfCompletedCheckpoints', jj, '0+1x60'));
  out.push(s('flink_jobmanager_job_numberOfFailedCheckpoints', jj, '0x60'));
  out.push(s('flink_jobmanager_job_lastCheckpointDuration', jj, '850x60'));
  out.push(s('flink_jobmanager_job_lastCheckpointSize', jj, '5242880x60'));
  if (opts.timestampMetric) out.push(s('flink_jobmanager_job_lastCheckpointCompletedTimestamp', jj, '0+60000x60'));
  for (let i = 0; i < opts.taskManagers; i++) {
    const tm = tmLabels(c, i);
    out.push(s('up', tm, '1x60'));
    out.push(s('flink_taskmanager_Status_JVM_Memory_Heap_Used', tm, '400000000x60'));
    out.push(s('flink_taskmanager_Status_JVM_Memory_Heap_Max', tm, '1000000000x60'));
    if (opts.g1) {
      out.push(s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', tm, '0+600x60'));
      out.push(s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', tm, '0x60'));
    } else {
      out.push(s('flink_taskmanager_Status_JVM_GarbageCollector_All_Time', tm, '0+600x60'));
    }
  }
  const tms = Math.max(1, Math.min(2, opts.taskManagers));
  for (const [task, subtasks] of [[SOURCE_TASK, 2], [SINK_TASK, 2]] as const) {
    for (let st = 0; st < subtasks; st++) {
      const l = taskLabels(c, st % tms, task, st);
      out.push(s('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', l, '50x60'));
      out.push(s('flink_taskmanager_job_task_busyTimeMsPerSecond', l, '300x60'));
      out.push(s('flink_taskmanager_job_task_idleTimeMsPerSecond', l, '650x60'));
      out.push(s('flink_taskmanager_job_task_numRecordsInPerSecond', l, '1200x60'));
      out.push(s('flink_taskmanager_job_task_numRecordsOutPerSecond', l, '1100x60'));
      if (task === SOURCE_TASK) {
        const o = operatorLabels(c, st % tms, task, st, SOURCE_OPERATOR);
        out.push(s('flink_taskmanager_job_task_operator_pendingRecords', o, '120x60'));
        out.push(s('flink_taskmanager_job_task_operator_currentOutputWatermark', o, '0+60000x60'));
      }
    }
  }
  return out;
}
