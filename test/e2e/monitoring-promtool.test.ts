/**
 * The monitoring rules and dashboard queries, proven with a real promtool (Debian's
 * `prometheus` package): `promtool check rules` on every generated rule file, and
 * `promtool test rules` unit tests that feed series shaped like a scraped Flink cluster's
 * and check, for every alert, that it fires at the expected minute with the expected labels
 * and rendered annotations, stays silent on healthy series, and never fires for another
 * cluster's or another job's series.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { App, Chart, Duration } from 'cdk8s';
import { FlinkApplication, FlinkSessionCluster, FlinkVersion, JobSource } from '../../lib';
import {
  Aggregation, AlertRule, ClusterMode, FlinkAlert, FlinkMetric, FlinkMonitoring, IMonitoringTarget, platformDashboard, RuleFile,
} from '../../lib/monitoring';
import { checkRules, ExprTest, failure, PromtoolTestGroup, testRules } from '../promtool/promtool';
import {
  healthyCluster, InputSeries, jmJobLabels, jmLabels, Labels, operatorLabels, s, SeriesCluster, SOURCE_OPERATOR, SOURCE_TASK,
  taskLabels, tmLabels,
} from '../promtool/series';

const JAR = JobSource.jar({ entryClass: 'com.example.audit.AuditJob' });

interface Variant {
  readonly key: string;
  readonly c: SeriesCluster;
  readonly monitoring: FlinkMonitoring;
  readonly session: boolean;
  readonly expectedTms: number;
  readonly precise: boolean;
  readonly g1: boolean;
}

function variants(): Variant[] {
  const chart = new Chart(new App(), 'monitoring', { disableResourceNameHashes: true });
  const app120 = new FlinkApplication(chart, 'audit-logs', {
    namespace: 'logs', job: JAR, parallelism: 4, taskManagerSlots: 2, checkpointDirectory: 's3://state/audit-logs/cp',
  });
  const app22 = new FlinkApplication(chart, 'access-logs', {
    namespace: 'logs', job: JAR, parallelism: 4, taskManagerSlots: 2, checkpointDirectory: 's3://state/access-logs/cp', flinkVersion: FlinkVersion.V2_2,
  });
  const session = new FlinkSessionCluster(chart, 'shared', {
    namespace: 'analytics', taskManagerReplicas: 3, checkpointDirectory: 's3://state/shared/cp', flinkVersion: FlinkVersion.V1_19,
  });
  return [
    { key: 'application 1.20', c: { ns: 'logs', name: 'audit-logs', job: 'audit-logs' }, monitoring: new FlinkMonitoring(chart, 'audit-mon', { cluster: app120 }), session: false, expectedTms: 2, precise: false, g1: false },
    { key: 'application 2.2', c: { ns: 'logs', name: 'access-logs', job: 'access-logs' }, monitoring: new FlinkMonitoring(chart, 'access-mon', { cluster: app22 }), session: false, expectedTms: 2, precise: true, g1: false },
    // A session cluster on 1.19: its series carry each job's name; GC time comes from the G1 collectors.
    { key: 'session 1.19', c: { ns: 'analytics', name: 'shared', job: 'click-stream' }, monitoring: new FlinkMonitoring(chart, 'shared-mon', { cluster: session }), session: true, expectedTms: 3, precise: false, g1: true },
  ];
}

interface Case {
  readonly alert: string;
  /** Series that make it fire. */
  readonly unhealthy: InputSeries[];
  /** The minute it first fires (it is silent the minute before). */
  readonly firesAt: number;
  readonly labels: Labels;
  readonly summary: string;
  readonly description: string;
  /** The same metrics, healthy: it stays silent. */
  readonly healthy: InputSeries[];
}

function cases(v: Variant): Case[] {
  const { c } = v;
  const where = `${c.ns}/${c.name}`;
  const jobLabel = c.job.replace(/-/g, '_');
  const jobRef = `job ${jobLabel} (${where})`;
  const cl = { namespace: c.ns, flink_cluster: c.name };
  const jl = { ...cl, job_name: jobLabel };
  const jm = jmLabels(c);
  const jj = jmJobLabels(c);
  const tm0 = tmLabels(c, 0);
  const out: Case[] = [];
  if (!v.session) {
    out.push({
      alert: FlinkAlert.JOB_NOT_RUNNING, firesAt: 8,
      unhealthy: [s('flink_jobmanager_numRunningJobs', jm, '1x2 0x40')],
      healthy: [s('flink_jobmanager_numRunningJobs', jm, '1x40')],
      labels: { ...cl, severity: 'critical' },
      summary: `Flink application ${where} runs no job`,
      description: `The JobManager of ${where} has reported no running job for 5m: the job finished, failed or was cancelled.`,
    });
  }
  out.push({
    alert: FlinkAlert.JOB_RESTARTING, firesAt: 6,
    unhealthy: [s('flink_jobmanager_job_numRestarts', jj, '0x5 1x40')],
    healthy: [s('flink_jobmanager_job_numRestarts', jj, '0x40')],
    labels: { ...jl, severity: 'warning' },
    summary: `Flink ${jobRef} is restarting`,
    description: `1 restart(s) of ${jobRef} in the last 15m (threshold 1).`,
  });
  out.push({
    alert: FlinkAlert.CHECKPOINTS_FAILING, firesAt: 6,
    unhealthy: [s('flink_jobmanager_job_numberOfFailedCheckpoints', jj, '0x5 1x40')],
    healthy: [s('flink_jobmanager_job_numberOfFailedCheckpoints', jj, '0x40')],
    labels: { ...jl, severity: 'warning' },
    summary: `Checkpoints of Flink ${jobRef} are failing`,
    description: `1 checkpoint(s) of ${jobRef} failed in the last 15m (threshold 1).`,
  });
  const running = s('flink_jobmanager_job_runningTime', jj, '0+60000x40');
  if (v.precise) {
    out.push({
      alert: FlinkAlert.CHECKPOINT_STALE, firesAt: 13,
      // the last checkpoint completed at minute 2 (120000 ms after the epoch promtool starts at)
      unhealthy: [s('flink_jobmanager_job_lastCheckpointCompletedTimestamp', jj, '120000x40'), running],
      healthy: [s('flink_jobmanager_job_lastCheckpointCompletedTimestamp', jj, '0+60000x40'), running],
      labels: { ...jl, severity: 'critical' },
      summary: `Flink ${jobRef} has not completed a checkpoint for 10m`,
      description: `The latest checkpoint of ${jobRef} completed 11m 0s ago (limit 10m); a failure now replays everything since then.`,
    });
  } else {
    out.push({
      alert: FlinkAlert.CHECKPOINT_STALE, firesAt: 11,
      unhealthy: [s('flink_jobmanager_job_numberOfCompletedCheckpoints', jj, '3x40'), running],
      healthy: [s('flink_jobmanager_job_numberOfCompletedCheckpoints', jj, '0+1x40'), running],
      labels: { ...jl, severity: 'critical' },
      summary: `Flink ${jobRef} has not completed a checkpoint for 10m`,
      description: `No checkpoint of ${jobRef} completed in the last 10m while the job was running; a failure now replays everything since the last one.`,
    });
  }
  const t0 = taskLabels(c, 0, SOURCE_TASK, 0);
  const t1 = taskLabels(c, 1, SOURCE_TASK, 1);
  out.push({
    alert: FlinkAlert.BACK_PRESSURE, firesAt: 15,
    unhealthy: [s('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', t0, '800x40'), s('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', t1, '100x40')],
    healthy: [s('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', t0, '200x40'), s('flink_taskmanager_job_task_backPressuredTimeMsPerSecond', t1, '200x40')],
    labels: { ...jl, task_name: SOURCE_TASK, severity: 'warning' },
    summary: `Task ${SOURCE_TASK} of Flink ${jobRef} is back-pressured`,
    description: 'Its most back-pressured subtask waits on its output 80% of the time (limit 50%) for 15m.',
  });
  out.push({
    alert: FlinkAlert.TASK_BUSY, firesAt: 15,
    unhealthy: [s('flink_taskmanager_job_task_busyTimeMsPerSecond', t0, '950x40'), s('flink_taskmanager_job_task_busyTimeMsPerSecond', t1, '500x40')],
    healthy: [s('flink_taskmanager_job_task_busyTimeMsPerSecond', t0, '400x40'), s('flink_taskmanager_job_task_busyTimeMsPerSecond', t1, '400x40')],
    labels: { ...jl, task_name: SOURCE_TASK, severity: 'warning' },
    summary: `Task ${SOURCE_TASK} of Flink ${jobRef} is saturated`,
    description: 'Its busiest subtask is busy 95% of the time (limit 90%) for 15m.',
  });
  const o0 = operatorLabels(c, 0, SOURCE_TASK, 0, SOURCE_OPERATOR);
  const o1 = operatorLabels(c, 1, SOURCE_TASK, 1, SOURCE_OPERATOR);
  out.push({
    alert: FlinkAlert.KAFKA_LAG_GROWING, firesAt: 16,
    unhealthy: [s('flink_taskmanager_job_task_operator_pendingRecords', o0, '20000+1000x60'), s('flink_taskmanager_job_task_operator_pendingRecords', o1, '5000+500x60')],
    // a large lag that shrinks, and a growing lag below the threshold
    healthy: [s('flink_taskmanager_job_task_operator_pendingRecords', o0, '50000-1000x40'), s('flink_taskmanager_job_task_operator_pendingRecords', o1, '100+10x40')],
    labels: { ...jl, task_name: SOURCE_TASK, operator_name: SOURCE_OPERATOR, severity: 'warning' },
    summary: `Source ${SOURCE_OPERATOR} of Flink ${jobRef} is falling behind`,
    description: '49k records are waiting to be read (threshold 10000) and the lag has grown for 15m.',
  });
  const e = v.expectedTms;
  out.push({
    alert: FlinkAlert.TASK_MANAGERS_MISSING, firesAt: 9,
    unhealthy: [s('flink_jobmanager_numRegisteredTaskManagers', jm, `${e}x3 ${e - 1}x40`)],
    healthy: [s('flink_jobmanager_numRegisteredTaskManagers', jm, `${e}x40`)],
    labels: { ...cl, severity: 'critical' },
    summary: `Flink cluster ${where} is missing TaskManagers`,
    description: `${e - 1} of ${e} TaskManager(s) registered for 5m.`,
  });
  if (v.session) {
    out.push({
      alert: FlinkAlert.NO_FREE_SLOTS, firesAt: 19,
      unhealthy: [s('flink_jobmanager_taskSlotsAvailable', jm, '2x3 0x40')],
      healthy: [s('flink_jobmanager_taskSlotsAvailable', jm, '2x40')],
      labels: { ...cl, severity: 'warning' },
      summary: `Flink session cluster ${where} has no free task slot`,
      description: `Every task slot of ${where} has been taken for 15m: a new or restarting job cannot be scheduled.`,
    });
  }
  out.push({
    alert: FlinkAlert.JOB_MANAGER_HEAP, firesAt: 15,
    unhealthy: [s('flink_jobmanager_Status_JVM_Memory_Heap_Used', jm, '950x40'), s('flink_jobmanager_Status_JVM_Memory_Heap_Max', jm, '1000x40')],
    healthy: [s('flink_jobmanager_Status_JVM_Memory_Heap_Used', jm, '500x40'), s('flink_jobmanager_Status_JVM_Memory_Heap_Max', jm, '1000x40')],
    labels: { ...cl, pod: jm.pod, severity: 'warning' },
    summary: `JobManager heap of Flink cluster ${where} is nearly full`,
    description: `JobManager ${jm.pod} uses 95% of its heap (limit 90%) for 15m.`,
  });
  out.push({
    alert: FlinkAlert.TASK_MANAGER_HEAP, firesAt: 15,
    unhealthy: [s('flink_taskmanager_Status_JVM_Memory_Heap_Used', tm0, '950x40'), s('flink_taskmanager_Status_JVM_Memory_Heap_Max', tm0, '1000x40')],
    healthy: [s('flink_taskmanager_Status_JVM_Memory_Heap_Used', tm0, '500x40'), s('flink_taskmanager_Status_JVM_Memory_Heap_Max', tm0, '1000x40')],
    labels: { ...cl, pod: tm0.pod, severity: 'warning' },
    summary: `TaskManager heap of Flink cluster ${where} is nearly full`,
    description: `TaskManager ${tm0.pod} uses 95% of its heap (limit 90%) for 15m.`,
  });
  // 12 s of GC per minute = 20% of the time; rate over 5m passes 10% at minute 3, so it fires at 13.
  const gc = v.g1
    ? [s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', tm0, '0+9000x40'), s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', tm0, '0+3000x40')]
    : [s('flink_taskmanager_Status_JVM_GarbageCollector_All_Time', tm0, '0+12000x40')];
  const gcOk = v.g1
    ? [s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time', tm0, '0+1000x40'), s('flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time', tm0, '0x40')]
    : [s('flink_taskmanager_Status_JVM_GarbageCollector_All_Time', tm0, '0+1000x40')];
  out.push({
    alert: FlinkAlert.GC_TIME, firesAt: 13,
    unhealthy: gc, healthy: gcOk,
    labels: { ...cl, pod: tm0.pod, component: 'taskmanager', severity: 'warning' },
    summary: `Flink taskmanager ${tm0.pod} spends too much time in garbage collection`,
    description: `${tm0.pod} in ${where} spent 20% of its time in GC over 5m (limit 10%) for 10m.`,
  });
  out.push({
    alert: FlinkAlert.TARGET_DOWN, firesAt: 9,
    unhealthy: [s('up', jm, '1x3 0x40')],
    healthy: [s('up', jm, '1x40')],
    labels: { ...cl, pod: jm.pod, component: 'jobmanager', severity: 'warning' },
    summary: `Prometheus cannot scrape Flink jobmanager ${jm.pod}`,
    description: `The metrics endpoint (port metrics, 9249) of ${jm.pod} in ${where} has failed its scrapes for 5m.`,
  });
  out.push({
    alert: FlinkAlert.METRICS_ABSENT, firesAt: 15,
    // only another cluster is scraped
    unhealthy: [s('up', { ...jm, flink_cluster: 'other-cluster' }, '1x40')],
    healthy: [s('up', tmLabels(c, 1), '1x40')],
    labels: { ...cl, severity: 'warning' },
    summary: `No metrics from Flink cluster ${where}`,
    description: `Prometheus has had no scrape target of Flink cluster ${where} for 15m: every other alert of this cluster is blind.`,
  });
  return out;
}

/** A description 3 minutes after it first fired: the lag grew by 3 x 1500 records, the checkpoint aged 3 minutes. */
function later(description: string): string {
  return description.replace('49k records', '53.5k records').replace('completed 11m 0s ago', 'completed 14m 0s ago');
}

function ruleOf(file: RuleFile, alert: string): AlertRule {
  const r = file.groups.flatMap((g) => g.rules).find((x) => x.alert === alert);
  assert.ok(r, `rule ${alert} exists`);
  return r;
}

function min(n: number): string {
  return `${n}m`;
}

const VARIANTS = variants();

for (const v of VARIANTS) {
  test(`promtool check rules accepts the rules of the ${v.key} cluster`, async () => {
    const r = await checkRules({ 'rules.yaml': v.monitoring.ruleFile() });
    assert.ok(r.ok, failure(r));
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  test(`promtool test rules: every alert of the ${v.key} cluster fires on time with its labels and rendered annotations, and is silent on healthy series`, async (t) => {
    const file = v.monitoring.ruleFile();
    const all = cases(v);
    const alertNames = file.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    assert.deepEqual([...new Set(all.map((x) => x.alert))].sort(), alertNames, 'one case per alert of the rule file');
    const groups: PromtoolTestGroup[] = [];
    for (const k of all) {
      const rule = ruleOf(file, k.alert);
      const exp = [{ exp_labels: k.labels, exp_annotations: { summary: k.summary, description: k.description, runbook: rule.annotations.runbook } }];
      groups.push({
        name: `${k.alert} fires`,
        series: k.unhealthy,
        alerts: [
          { eval_time: min(k.firesAt - 1), alertname: k.alert, exp_alerts: [] },
          { eval_time: min(k.firesAt), alertname: k.alert, exp_alerts: exp },
          // still firing 3 minutes later; the values in the descriptions moved on
          { eval_time: min(k.firesAt + 3), alertname: k.alert, exp_alerts: exp.map((x) => ({ ...x, exp_annotations: { ...x.exp_annotations, description: later(x.exp_annotations.description) } })) },
        ],
      });
      groups.push({
        name: `${k.alert} stays silent on healthy series`,
        series: k.healthy,
        alerts: [5, k.firesAt, k.firesAt + 10, 39].map((m) => ({ eval_time: min(m), alertname: k.alert, exp_alerts: [] })),
      });
    }
    // A whole healthy cluster raises nothing.
    const healthy = healthyCluster(v.c, { taskManagers: v.expectedTms, timestampMetric: v.precise, g1: v.g1, slotsFree: v.session ? 2 : 0 });
    groups.push({
      name: 'a healthy cluster raises no alert',
      series: healthy,
      alerts: alertNames.flatMap((a) => [12, 30, 59].map((m) => ({ eval_time: min(m), alertname: a, exp_alerts: [] }))),
    });
    const r = await testRules({ 'rules.yaml': file }, groups);
    assert.ok(r.ok, failure(r));
    assert.match(r.stdout, /SUCCESS/);
    t.diagnostic(`${alertNames.length} alerts: ${groups.length} promtool test groups, ${groups.reduce((n, g) => n + (g.alerts?.length ?? 0), 0)} alert_rule_test evaluations passed`);
  });

  test(`promtool test rules: the ${v.key} cluster's rules never fire for another cluster's or another namespace's series`, async () => {
    const file = v.monitoring.ruleFile();
    const all = cases(v);
    const foreign = all.flatMap((k) => k.unhealthy).flatMap((x) => [
      s(x.metric, { ...x.labels, flink_cluster: x.labels.flink_cluster === v.c.name ? 'neighbour' : x.labels.flink_cluster }, x.values),
      s(x.metric, { ...x.labels, namespace: 'elsewhere' }, x.values),
    ]);
    const own = healthyCluster(v.c, { taskManagers: v.expectedTms, timestampMetric: v.precise, g1: v.g1, slotsFree: v.session ? 2 : 0 });
    const names = file.groups.flatMap((g) => g.rules.map((r) => r.alert));
    const r = await testRules({ 'rules.yaml': file }, [{
      name: 'unhealthy neighbours, healthy own cluster',
      series: [...own, ...foreign],
      alerts: names.flatMap((a) => [10, 20, 30].map((m) => ({ eval_time: min(m), alertname: a, exp_alerts: [] }))),
    }, {
      // The same unhealthy series do fire for this cluster: the scoping, not the data, keeps them silent above.
      name: 'the same series under this cluster\'s labels fire',
      series: all.filter((k) => k.alert === FlinkAlert.JOB_RESTARTING).flatMap((k) => k.unhealthy),
      alerts: [{ eval_time: '6m', alertname: FlinkAlert.JOB_RESTARTING, exp_alerts: [restartExp(all, file)] }],
    }]);
    assert.ok(r.ok, failure(r));
  });
}

test('promtool test rules: a session job named "audit-logs" is matched as job_name="audit_logs", and no other job of the cluster raises its alerts', async () => {
  const chart = new Chart(new App(), 'session-job', { disableResourceNameHashes: true });
  const target: IMonitoringTarget = {
    name: 'shared', namespace: 'analytics', version: FlinkVersion.V1_20, mode: ClusterMode.SESSION, jobName: 'audit-logs',
    selectorLabels: { 'app.kubernetes.io/name': 'shared', 'app.kubernetes.io/instance': 'shared' }, expectedTaskManagers: 2,
  };
  const m = new FlinkMonitoring(chart, 'audit-logs-monitoring', { cluster: target, dashboard: false });
  const file = m.ruleFile();
  const restarts = ruleOf(file, FlinkAlert.JOB_RESTARTING);
  assert.match(restarts.expr, /job_name="audit_logs"/);
  const c: SeriesCluster = { ns: 'analytics', name: 'shared', job: 'audit-logs' };
  const r = await testRules({ 'rules.yaml': file }, [{
    name: 'only audit_logs restarts count',
    series: [
      s('flink_jobmanager_job_numRestarts', jmJobLabels(c, 'audit-logs'), '0x5 1x20'),
      s('flink_jobmanager_job_numRestarts', jmJobLabels(c, 'access-logs'), '0x2 1x3 2x20'),
      s('flink_taskmanager_job_task_busyTimeMsPerSecond', taskLabels(c, 0, SOURCE_TASK, 0, 'access-logs'), '1000x30'),
    ],
    alerts: [
      { eval_time: '4m', alertname: FlinkAlert.JOB_RESTARTING, exp_alerts: [] },
      {
        eval_time: '6m', alertname: FlinkAlert.JOB_RESTARTING,
        exp_alerts: [{
          exp_labels: { namespace: 'analytics', flink_cluster: 'shared', job_name: 'audit_logs', severity: 'warning' },
          exp_annotations: {
            summary: 'Flink job audit_logs (analytics/shared) is restarting',
            description: '1 restart(s) of job audit_logs (analytics/shared) in the last 15m (threshold 1).',
            runbook: restarts.annotations.runbook,
          },
        }],
      },
      { eval_time: '25m', alertname: FlinkAlert.TASK_BUSY, exp_alerts: [] },
    ],
  }]);
  assert.ok(r.ok, failure(r));
});

test('promtool test rules: a custom metric alert and changed thresholds take effect', async () => {
  const chart = new Chart(new App(), 'custom', { disableResourceNameHashes: true });
  const app = new FlinkApplication(chart, 'audit-logs', { namespace: 'logs', job: JAR, parallelism: 2, checkpointDirectory: 's3://state/cp' });
  const m = new FlinkMonitoring(chart, 'mon', {
    cluster: app, restartThreshold: 3, restartWindow: Duration.minutes(30), busyFraction: 0.75, busyFor: Duration.minutes(5),
    alertLabels: { team: 'logs' },
  });
  const rule = m.addMetricAlert({
    alert: 'FlinkNoOutput', metric: FlinkMetric.TASK_RECORDS_OUT_RATE, aggregation: Aggregation.SUM, by: ['namespace', 'flink_cluster', 'job_name'],
    below: 1, for: Duration.minutes(10), summary: 'Job {{ $labels.job_name }} emits nothing', runbook: 'Check the sources.',
  });
  assert.equal(rule.expr, 'sum by (namespace, flink_cluster, job_name) (flink_taskmanager_job_task_numRecordsOutPerSecond{namespace="logs",flink_cluster="audit-logs"}) < 1');
  const c: SeriesCluster = { ns: 'logs', name: 'audit-logs', job: 'audit-logs' };
  const file = m.ruleFile();
  const runbook = (a: string) => ruleOf(file, a).annotations.runbook;
  const r = await testRules({ 'rules.yaml': file }, [{
    name: 'custom and changed thresholds',
    series: [
      s('flink_taskmanager_job_task_numRecordsOutPerSecond', taskLabels(c, 0, SOURCE_TASK, 0), '5x2 0x30'),
      s('flink_jobmanager_job_numRestarts', jmJobLabels(c), '0x1 1x1 2x1 3x30'),
      s('flink_taskmanager_job_task_busyTimeMsPerSecond', taskLabels(c, 0, SOURCE_TASK, 0), '800x30'),
    ],
    alerts: [
      { eval_time: '12m', alertname: 'FlinkNoOutput', exp_alerts: [] },
      {
        eval_time: '13m', alertname: 'FlinkNoOutput',
        exp_alerts: [{ exp_labels: { namespace: 'logs', flink_cluster: 'audit-logs', job_name: 'audit_logs', severity: 'warning', team: 'logs' }, exp_annotations: { summary: 'Job audit_logs emits nothing', description: 'Job audit_logs emits nothing', runbook: 'Check the sources.' } }],
      },
      { eval_time: '5m', alertname: FlinkAlert.JOB_RESTARTING, exp_alerts: [] }, // 2 restarts: below the threshold of 3
      {
        eval_time: '6m', alertname: FlinkAlert.JOB_RESTARTING,
        exp_alerts: [{
          exp_labels: { namespace: 'logs', flink_cluster: 'audit-logs', job_name: 'audit_logs', severity: 'warning', team: 'logs' },
          exp_annotations: {
            summary: 'Flink job audit_logs (logs/audit-logs) is restarting',
            description: '3 restart(s) of job audit_logs (logs/audit-logs) in the last 30m (threshold 3).',
            runbook: runbook(FlinkAlert.JOB_RESTARTING),
          },
        }],
      },
      { eval_time: '4m', alertname: FlinkAlert.TASK_BUSY, exp_alerts: [] },
      {
        eval_time: '5m', alertname: FlinkAlert.TASK_BUSY,
        exp_alerts: [{
          exp_labels: { namespace: 'logs', flink_cluster: 'audit-logs', job_name: 'audit_logs', task_name: SOURCE_TASK, severity: 'warning', team: 'logs' },
          exp_annotations: {
            summary: `Task ${SOURCE_TASK} of Flink job audit_logs (logs/audit-logs) is saturated`,
            description: 'Its busiest subtask is busy 80% of the time (limit 75%) for 5m.',
            runbook: runbook(FlinkAlert.TASK_BUSY),
          },
        }],
      },
    ],
  }]);
  assert.ok(r.ok, failure(r));
});

/** Grafana's variables replaced by values a query would get. */
function concrete(expr: string, ns: string, cluster: string): string {
  return expr.replace(/\$__rate_interval/g, '4m').replace(/\$namespace/g, ns).replace(/\$cluster/g, cluster).replace(/\$job/g, '.*').replace(/\$\{datasource\}/g, 'prometheus');
}

const PLATFORM_DASHBOARD = platformDashboard({ namespace: 'logs' });

for (const v of VARIANTS) for (const platform of [false, true]) {
  test(`${platform ? 'platform dashboard, cluster variable on' : 'dashboard of'} the ${v.key} cluster: every query parses (promtool check rules) and returns data from a scraped cluster's series (promtool test rules)`, async (t) => {
    const d = platform ? PLATFORM_DASHBOARD : v.monitoring.dashboard!;
    // Flink before 2.2 exports no checkpoint completion time: the platform dashboard's panel for it stays empty there.
    const empty = (title: string) => platform && !v.precise && title === 'Last checkpoint age';
    const queries = d.panels.flatMap((p) => p.targets.map((t) => ({ id: `${p.id}${t.refId}`, title: p.title, expr: concrete(t.expr, v.c.ns, v.c.name) })));
    const varQueries = d.templating.list.filter((x) => x.type === 'query').map((x) => {
      const m = /^label_values\((.*), *([a-z_]+)\)$/.exec(String(x.definition));
      assert.ok(m, `variable ${x.name} uses label_values(selector, label)`);
      return { id: `var_${x.name}`, title: `variable ${x.name}`, expr: concrete(m[1], v.c.ns, v.c.name), label: m[2] };
    });
    const recording = { groups: [{ name: 'dashboard', rules: [...queries, ...varQueries].map((q) => ({ record: `dashboard:q${q.id}`, expr: q.expr })) }] };
    const check = await checkRules({ 'dashboard.yaml': recording });
    assert.ok(check.ok, failure(check));
    assert.match(check.stdout, new RegExp(`SUCCESS: ${queries.length + varQueries.length} rules found`));

    const series = healthyCluster(v.c, { taskManagers: v.expectedTms, timestampMetric: v.precise, g1: v.g1, slotsFree: 2 });
    const exprs: ExprTest[] = [...queries, ...varQueries].map((q) => (empty(q.title)
      ? { expr: `count(${q.expr})`, eval_time: '30m', exp_samples: [] }
      : { expr: `count(${q.expr}) > bool 0`, eval_time: '30m', exp_samples: [{ labels: '{}', value: 1 }] }));
    // the variables offer the cluster's namespace, its name and the job's name as Flink writes it
    for (const q of varQueries) {
      const value = q.label === 'namespace' ? v.c.ns : q.label === 'flink_cluster' ? v.c.name : v.c.job.replace(/-/g, '_');
      exprs.push({
        expr: `count by (${q.label}) (${q.expr})`, eval_time: '30m',
        exp_samples: [{ labels: `{${q.label}="${value}"}`, value: q.label === 'job_name' ? 1 : 1 + v.expectedTms }],
      });
    }
    const r = await testRules({ 'empty.yaml': { groups: [] } }, [{ name: 'dashboard queries return data', series, exprs }]);
    assert.ok(r.ok, failure(r));
    t.diagnostic(`${queries.length} panel queries and ${varQueries.length} variable queries parsed; ${exprs.length} promql_expr_test cases passed`);
  });
}

test('promtool test rules: the annotation-mode rule file (ConfigMap) is the same rule file, valid for a plain Prometheus', async () => {
  const chart = new Chart(new App(), 'annotations', { disableResourceNameHashes: true });
  const app = new FlinkApplication(chart, 'audit-logs', { namespace: 'logs', job: JAR, checkpointDirectory: 's3://state/cp' });
  const { ScrapeMode } = await import('../../lib/monitoring');
  const m = new FlinkMonitoring(chart, 'mon', { cluster: app, scrape: ScrapeMode.ANNOTATIONS });
  const cm = chart.toJson().find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === 'audit-logs-prometheus-rules');
  assert.ok(cm, 'rules ConfigMap');
  const { parse } = await import('yaml');
  const text = cm.data['flink-logs-audit-logs.rules.yaml'];
  assert.deepEqual(parse(text), JSON.parse(JSON.stringify(m.ruleFile())));
  const r = await checkRules({ 'flink.rules.yaml': parse(text) });
  assert.ok(r.ok, failure(r));
});

function restartExp(all: Case[], file: RuleFile) {
  const k = all.find((x) => x.alert === FlinkAlert.JOB_RESTARTING)!;
  return { exp_labels: k.labels, exp_annotations: { summary: k.summary, description: k.description, runbook: ruleOf(file, k.alert).annotations.runbook } };
}

test('promtool check config accepts the annotation-mode scrape config (with the rule file) for a Prometheus without the Operator', async () => {
  const { prometheusScrapeConfig } = await import('../../lib/monitoring');
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { stringify } = await import('yaml');
  const { ensurePromtool, run } = await import('../support/tools');
  const chart = new Chart(new App(), 'cfg', { disableResourceNameHashes: true });
  const app = new FlinkApplication(chart, 'audit-logs', { namespace: 'logs', job: JAR, checkpointDirectory: 's3://state/cp' });
  const m = new FlinkMonitoring(chart, 'mon', { cluster: app, scrape: (await import('../../lib/monitoring')).ScrapeMode.ANNOTATIONS });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-promcfg-'));
  try {
    fs.writeFileSync(path.join(dir, 'flink.rules.yaml'), stringify(m.ruleFile(), { lineWidth: 0 }));
    // Debian's Prometheus is built without Kubernetes service discovery ("field kubernetes_sd_configs not
    // found"): the relabelings and the rest of the job are checked with a static target in its place.
    const { kubernetes_sd_configs: sd, ...job } = prometheusScrapeConfig() as Record<string, unknown>;
    assert.deepEqual(sd, [{ role: 'pod' }]);
    const scrape = { ...job, static_configs: [{ targets: ['127.0.0.1:9249'] }] };
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '30s' }, rule_files: ['flink.rules.yaml'], scrape_configs: [scrape] }));
    const r = await run(await ensurePromtool(), ['check', 'config', 'prometheus.yml'], { cwd: dir, timeoutMs: 60_000 });
    assert.match(r.stdout + r.stderr, /SUCCESS: prometheus.yml is valid prometheus config file syntax/);
    assert.match(r.stdout + r.stderr, /SUCCESS: \d+ rules found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
