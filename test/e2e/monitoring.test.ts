import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { FlinkApplication, FlinkPlatform, FlinkSessionCluster, FlinkVersion, JobSource, ValidationError } from '../../lib';
import {
  allMetrics, ClusterMode, Dashboard, FlinkAlert, flinkAlertRules, flinkDashboard, FlinkMetric, flinkLabelValue, FlinkMonitoring,
  FlinkMonitoringProps, IMonitoringTarget, metricInfo, MonitoringTarget, prometheusScrapeAnnotations, ScrapeMode,
} from '../../lib/monitoring';
import { loadValidator } from '../support/k8s-schema';
import { matchSnapshot } from '../support/snapshot';
import { container, find, synth } from '../support/synth';

const JAR = JobSource.jar({ entryClass: 'com.example.audit.AuditJob' });
const CP = { checkpointDirectory: 's3://state/cp' };

function appWith(props: Omit<FlinkMonitoringProps, 'cluster'> = {}, version = FlinkVersion.V1_20) {
  let monitoring!: FlinkMonitoring;
  let app!: FlinkApplication;
  const objects = synth((s) => {
    app = new FlinkApplication(s, 'audit-logs', { namespace: 'logs', job: JAR, parallelism: 4, taskManagerSlots: 2, flinkVersion: version, ...CP });
    monitoring = new FlinkMonitoring(s, 'monitoring', { cluster: app, ...props });
  });
  return { objects, monitoring, app };
}

function monitoringObjects(objects: any[]): any[] {
  return objects.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1' || o.metadata?.labels?.['app.kubernetes.io/component'] === 'monitoring' || o.metadata?.name?.endsWith('-metrics'));
}

test('monitoring: by default a PodMonitor on port "metrics" of both components, a PrometheusRule and a dashboard ConfigMap', () => {
  const { objects } = appWith({ releaseLabel: 'kube-prometheus-stack' });
  const pm = find(objects, 'PodMonitor', 'audit-logs-metrics');
  assert.equal(pm.metadata.namespace, 'logs');
  assert.equal(pm.metadata.labels.release, 'kube-prometheus-stack');
  assert.deepEqual(pm.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'audit-logs', 'app.kubernetes.io/instance': 'audit-logs' } });
  const ep = pm.spec.podMetricsEndpoints;
  assert.equal(ep.length, 1);
  assert.equal(ep[0].port, 'metrics');
  assert.deepEqual(ep[0].relabelings.map((r: any) => [r.sourceLabels?.[0] ?? r.replacement, r.targetLabel]), [
    ['__meta_kubernetes_namespace', 'namespace'],
    ['__meta_kubernetes_pod_name', 'pod'],
    ['__meta_kubernetes_pod_label_app_kubernetes_io_component', 'component'],
    ['__meta_kubernetes_pod_label_app_kubernetes_io_instance', 'flink_cluster'],
  ]);
  // the selector picks exactly the JobManager and TaskManager pods, which both name port 9249 "metrics"
  for (const component of ['jobmanager', 'taskmanager']) {
    const d = find(objects, 'Deployment', `audit-logs-${component}`);
    const labels = d.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) assert.equal(labels[k], v, `${component} pod label ${k}`);
    assert.deepEqual(container(d, component).ports.find((p: any) => p.name === 'metrics'), { name: 'metrics', containerPort: 9249 });
  }
  const rule = find(objects, 'PrometheusRule', 'audit-logs-alerts');
  assert.equal(rule.metadata.labels.release, 'kube-prometheus-stack');
  assert.equal(rule.spec.groups[0].name, 'flink.logs.audit-logs');
  const cm = find(objects, 'ConfigMap', 'audit-logs-dashboard');
  assert.equal(cm.metadata.labels.grafana_dashboard, '1');
  assert.equal(cm.metadata.annotations.grafana_folder, 'Flink');
  assert.ok(JSON.parse(cm.data['flink-logs-audit-logs.json']).panels.length > 10);
  assert.equal(objects.filter((o) => o.kind === 'ServiceMonitor').length, 0);
});

test('monitoring: every rule is scoped to the cluster\'s namespace and name, and every alert has severity, summary, description and a runbook', () => {
  const { monitoring } = appWith();
  const rules = monitoring.ruleFile().groups.flatMap((g) => g.rules);
  assert.deepEqual(rules.map((r) => r.alert), [
    'FlinkJobNotRunning', 'FlinkJobRestarting', 'FlinkCheckpointsFailing', 'FlinkCheckpointStale', 'FlinkTaskBackPressured', 'FlinkTaskBusy',
    'FlinkKafkaLagGrowing', 'FlinkTaskManagersMissing', 'FlinkJobManagerHeapHigh', 'FlinkTaskManagerHeapHigh', 'FlinkGcTimeHigh',
    'FlinkMetricsTargetDown', 'FlinkMetricsAbsent',
  ]);
  for (const r of rules) {
    const selectors = r.expr.match(/\{[^}]*\}/g) ?? [];
    assert.ok(selectors.length > 0, `${r.alert} selects series`);
    for (const sel of selectors) assert.match(sel, /^\{namespace="logs",flink_cluster="audit-logs"/, `${r.alert}: ${sel}`);
    assert.ok(['critical', 'warning'].includes(r.labels.severity), r.alert);
    for (const k of ['summary', 'description', 'runbook'] as const) {
      assert.ok(r.annotations[k].length > 20 && !r.annotations[k].includes('\n'), `${r.alert}.${k} is one line`);
    }
    assert.ok(!r.annotations.runbook.includes('{{'), `${r.alert}: the runbook is plain text`);
  }
  // expected TaskManagers come from the application: 4 / 2 slots
  assert.match(rules.find((r) => r.alert === 'FlinkTaskManagersMissing')!.expr, /< 2$/);
});

test('monitoring: the rules read only metrics of the catalog, gated by version (2.2: checkpoint timestamp; 1.19: G1 collectors)', () => {
  const names = new Set(allMetrics().map((m) => m.name));
  assert.equal(names.size, allMetrics().length, 'catalog names are unique');
  for (const m of allMetrics()) {
    assert.ok(m.name === 'up' || m.name === `flink_${m.scope}_${m.name.slice(`flink_${m.scope}_`.length)}`, `${m.name} starts with flink_${m.scope}_`);
    assert.ok(m.meaning.length > 10 && m.labels.every((l) => /^[a-z_]+$/.test(l)), m.name);
  }
  assert.equal(FlinkMetric.JOB_NUM_RESTARTS, 'flink_jobmanager_job_numRestarts');
  assert.equal(metricInfo(FlinkMetric.OPERATOR_PENDING_RECORDS).labels.includes('operator_name'), true);
  const used = (text: string) => [...new Set(text.match(/\b(flink_[A-Za-z0-9_]+|up)(?=\{)/g) ?? [])];
  const target = (version: FlinkVersion, mode = ClusterMode.APPLICATION): IMonitoringTarget => ({
    name: 'j', namespace: 'n', version, mode, expectedTaskManagers: 1, selectorLabels: { 'app.kubernetes.io/instance': 'j' },
  });
  for (const v of [FlinkVersion.V1_18, FlinkVersion.V1_19, FlinkVersion.V1_20, FlinkVersion.V2_0, FlinkVersion.V2_2]) {
    const exprs = [
      ...flinkAlertRules(target(v)).groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...flinkAlertRules(target(v, ClusterMode.SESSION)).groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...flinkDashboard(target(v)).panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ].join('\n');
    for (const n of used(exprs)) assert.ok(names.has(n), `${n} (Flink ${v.line}) is in the catalog`);
    assert.equal(exprs.includes(FlinkMetric.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP), v.atLeast(2, 2), `timestamp metric on ${v.line}`);
    assert.equal(exprs.includes(FlinkMetric.TM_GC_G1_YOUNG_TIME), !v.atLeast(1, 20), `G1 collector names on ${v.line}`);
    assert.equal(exprs.includes(FlinkMetric.TM_GC_TIME), v.atLeast(1, 20), `All collectors on ${v.line}`);
  }
});

test('monitoring: a job named "audit-logs" is matched as "audit_logs", as Flink\'s reporter writes label values', () => {
  assert.equal(flinkLabelValue('audit-logs'), 'audit_logs');
  assert.equal(flinkLabelValue('Source: Kafka -> Sink.v2'), 'Source:_Kafka____Sink_v2');
  const target: IMonitoringTarget = {
    name: 'shared', namespace: 'analytics', version: FlinkVersion.V1_20, mode: ClusterMode.SESSION, jobName: 'audit-logs',
    selectorLabels: { 'app.kubernetes.io/instance': 'shared' }, expectedTaskManagers: 2,
  };
  const rules = flinkAlertRules(target).groups[0].rules;
  for (const alert of [FlinkAlert.JOB_RESTARTING, FlinkAlert.CHECKPOINT_STALE, FlinkAlert.BACK_PRESSURE, FlinkAlert.KAFKA_LAG_GROWING]) {
    assert.match(rules.find((r) => r.alert === alert)!.expr, /job_name="audit_logs"/, alert);
  }
  assert.doesNotMatch(rules.find((r) => r.alert === FlinkAlert.TASK_MANAGERS_MISSING)!.expr, /job_name/, 'cluster rules cover every job');
  // the application's dashboard preselects its job under the reporter's name
  const { monitoring } = appWith();
  const job = monitoring.dashboard!.templating.list.find((v) => v.name === 'job') as any;
  assert.deepEqual(job.current.value, ['audit_logs']);
});

test('monitoring: a target whose pods do not carry its name in app.kubernetes.io/instance gets a fixed flink_cluster label', () => {
  const objects = synth((s) => new FlinkMonitoring(s, 'm', {
    cluster: { name: 'legacy', namespace: 'ops', version: FlinkVersion.V1_20, mode: ClusterMode.SESSION, expectedTaskManagers: 1, selectorLabels: { app: 'flink', release: 'legacy-1' } },
    dashboard: false,
  }));
  const pm = find(objects, 'PodMonitor', 'legacy-metrics');
  assert.deepEqual(pm.spec.selector.matchLabels, { app: 'flink', release: 'legacy-1' });
  assert.deepEqual(pm.spec.podMetricsEndpoints[0].relabelings[3], { action: 'replace', replacement: 'legacy', targetLabel: 'flink_cluster' });
});

test('monitoring: ServiceMonitor mode adds a headless <name>-metrics Service over both components and a ServiceMonitor that selects only it', () => {
  const { objects } = appWith({ scrape: ScrapeMode.SERVICE_MONITOR, releaseLabel: 'prom', scrapeInterval: Duration.seconds(15) });
  const svc = find(objects, 'Service', 'audit-logs-metrics');
  assert.equal(svc.spec.clusterIP, 'None');
  assert.deepEqual(svc.spec.selector, { 'app.kubernetes.io/name': 'audit-logs', 'app.kubernetes.io/instance': 'audit-logs' });
  assert.deepEqual(svc.spec.ports, [{ name: 'metrics', port: 9249, targetPort: 'metrics' }]);
  const sm = find(objects, 'ServiceMonitor', 'audit-logs-metrics');
  assert.equal(sm.spec.endpoints[0].port, 'metrics');
  assert.equal(sm.spec.endpoints[0].interval, '15s');
  const matches = (o: any) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v);
  assert.deepEqual(objects.filter((o) => o.kind === 'Service' && matches(o)).map((o) => o.metadata.name), ['audit-logs-metrics']);
  assert.equal(objects.filter((o) => o.kind === 'PodMonitor').length, 0);
});

test('monitoring: annotation mode patches prometheus.io annotations into both pod templates and ships the rules as a plain rule file', () => {
  const { objects, monitoring } = appWith({ scrape: ScrapeMode.ANNOTATIONS });
  assert.deepEqual(monitoring.podAnnotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9249', 'prometheus.io/path': '/metrics' });
  assert.deepEqual(prometheusScrapeAnnotations(), monitoring.podAnnotations);
  for (const component of ['jobmanager', 'taskmanager']) {
    const ann = find(objects, 'Deployment', `audit-logs-${component}`).spec.template.metadata.annotations;
    for (const [k, v] of Object.entries(monitoring.podAnnotations)) assert.equal(ann[k], v, `${component} ${k}`);
    assert.match(ann['checksum/config'], /^[0-9a-f]{64}$/, 'the config checksum stays');
  }
  assert.equal(objects.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1').length, 0, 'no Operator objects');
  assert.ok(find(objects, 'ConfigMap', 'audit-logs-prometheus-rules').data['flink-logs-audit-logs.rules.yaml'].startsWith('groups:'));
});

test('monitoring: a session cluster gets no "job not running" alert but a "no free slot" one, and expects its declared TaskManagers', () => {
  let m!: FlinkMonitoring;
  synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { namespace: 'analytics', taskManagerReplicas: 3, ...CP });
    m = new FlinkMonitoring(s, 'monitoring', { cluster: c });
  });
  const rules = m.ruleFile().groups[0].rules;
  assert.ok(!rules.some((r) => r.alert === FlinkAlert.JOB_NOT_RUNNING));
  assert.ok(rules.some((r) => r.alert === FlinkAlert.NO_FREE_SLOTS));
  assert.match(rules.find((r) => r.alert === FlinkAlert.TASK_MANAGERS_MISSING)!.expr, /< 3$/);
  assert.equal(m.target.mode, ClusterMode.SESSION);
  assert.equal(m.target.jobName, undefined);
});

test('monitoring: without checkpointing the checkpoint alerts are left out; disabledAlerts and thresholds apply', () => {
  let m!: FlinkMonitoring;
  synth((s) => {
    const app = new FlinkApplication(s, 'stateless', { job: JAR, checkpointing: false });
    m = new FlinkMonitoring(s, 'monitoring', {
      cluster: app, disabledAlerts: [FlinkAlert.GC_TIME], kafkaLagThreshold: 500, kafkaLagFor: Duration.minutes(30), heapFraction: 0.8,
    });
  });
  const rules = m.ruleFile().groups[0].rules;
  const names = rules.map((r) => r.alert);
  for (const a of [FlinkAlert.CHECKPOINTS_FAILING, FlinkAlert.CHECKPOINT_STALE, FlinkAlert.GC_TIME]) assert.ok(!names.includes(a), a);
  const lag = rules.find((r) => r.alert === FlinkAlert.KAFKA_LAG_GROWING)!;
  assert.match(lag.expr, /> 500 and /);
  assert.equal(lag.for, '30m');
  assert.match(rules.find((r) => r.alert === FlinkAlert.TASK_MANAGER_HEAP)!.expr, /> 0.8$/);
  // rules without a namespace match the cluster name only
  assert.match(rules[0].expr, /\{flink_cluster="stateless"\}/);
});

test('monitoring: the checkpoint staleness limit follows the checkpoint interval (3 intervals, at least 10 minutes)', () => {
  let m!: FlinkMonitoring;
  synth((s) => {
    const app = new FlinkApplication(s, 'slow', { job: JAR, checkpointInterval: Duration.minutes(5), ...CP });
    m = new FlinkMonitoring(s, 'monitoring', { cluster: app });
  });
  const stale = m.ruleFile().groups[0].rules.find((r) => r.alert === FlinkAlert.CHECKPOINT_STALE)!;
  assert.match(stale.expr, /\[15m\]\)\) < 1 and on .* > 900000$/);
  assert.equal(MonitoringTarget.fromCluster(m.node.scope!.node.findChild('slow') as FlinkApplication).checkpointInterval!.toMinutes(), 5);
});

test('dashboard: unique ids, current panel types, a query and a unit on every panel, $__rate_interval in rates, datasource/namespace/job variables', () => {
  for (const version of [FlinkVersion.V1_20, FlinkVersion.V2_2]) {
    const d: Dashboard = appWith({}, version).monitoring.dashboard!;
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'ids unique');
    assert.ok(d.uid.length <= 40 && /^[a-zA-Z0-9_-]+$/.test(d.uid));
    assert.deepEqual(d.templating.list.map((v) => v.name), ['datasource', 'namespace', 'job']);
    const cells = new Set<string>();
    for (const p of d.panels) {
      assert.ok(['timeseries', 'stat', 'table'].includes(p.type), `${p.title}: ${p.type}`);
      assert.ok(p.targets.length > 0 && p.targets.every((t) => t.expr.trim().length > 0), `${p.title} has a query`);
      assert.ok(typeof p.fieldConfig.defaults.unit === 'string' && p.fieldConfig.defaults.unit.length > 0, `${p.title} has a unit`);
      assert.equal(p.datasource.uid, '${datasource}');
      for (const t of p.targets) {
        assert.equal(t.datasource && (t.datasource as any).uid, '${datasource}');
        for (const r of t.expr.match(/\brate\([^[]*\[[^\]]*\]/g) ?? []) assert.match(r, /\[\$__rate_interval\]$/, `${p.title}: ${r}`);
        if (!t.expr.startsWith('vector(')) assert.match(t.expr, /namespace="\$namespace"/, `${p.title} filters by namespace`);
      }
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title} fits the 24-column grid`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
    const titles = d.panels.map((p) => p.title).join(' | ');
    for (const want of ['Uptime', 'Restarts', 'Checkpoint duration', 'Checkpoint size', 'Records in', 'Back-pressured', 'Busy', 'Idle', 'Kafka lag', 'Watermark lag', 'Heap', 'GC', 'TaskManagers and slots']) {
      assert.ok(titles.includes(want), `a panel about ${want}`);
    }
    assert.equal(titles.includes('Last checkpoint age'), version.atLeast(2, 2));
  }
});

test('schema: every monitoring object (PodMonitor, ServiceMonitor, PrometheusRule, Service, ConfigMaps) passes the strict validator', async () => {
  const validate = await loadValidator();
  const all: any[] = [];
  for (const scrape of [ScrapeMode.POD_MONITOR, ScrapeMode.SERVICE_MONITOR, ScrapeMode.ANNOTATIONS]) {
    for (const version of [FlinkVersion.V1_20, FlinkVersion.V2_2]) {
      const { objects } = appWith({ scrape, ...(scrape !== ScrapeMode.ANNOTATIONS ? { releaseLabel: 'kube-prometheus-stack' } : {}), scrapeInterval: Duration.seconds(30) }, version);
      all.push(...objects);
    }
  }
  all.push(...synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { namespace: 'analytics', ...CP });
    const m = new FlinkMonitoring(s, 'monitoring', { cluster: c, scrape: ScrapeMode.SERVICE_MONITOR });
    m.addMetricAlert({ alert: 'FlinkLowUptime', metric: FlinkMetric.JOB_RUNNING_TIME, below: 60_000, summary: 'x {{ $labels.job_name }}', runbook: 'y' });
  }));
  const kinds = new Set(monitoringObjects(all).map((o) => o.kind));
  assert.deepEqual([...kinds].sort(), ['ConfigMap', 'PodMonitor', 'PrometheusRule', 'Service', 'ServiceMonitor']);
  const errors = monitoringObjects(all).flatMap((o) => validate(o));
  assert.deepEqual(errors, []);
});

test('a FlinkPlatform wires monitoring into every application and session cluster unit; monitoring: false and metrics: false opt out', () => {
  const platform = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state', monitoring: { releaseLabel: 'kps' } });
  platform.addApplication('audit-logs', { job: JAR });
  platform.addSessionCluster('shared', { taskManagerReplicas: 2 });
  platform.addApplication('quiet', { job: JAR, metrics: false });
  const objs = platform.releaseUnits.flatMap((u) => u.chart.toJson());
  const names = objs.filter((o: any) => o.apiVersion === 'monitoring.coreos.com/v1').map((o: any) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
  assert.deepEqual(names.sort(), [
    'PodMonitor/logs/audit-logs-metrics', 'PodMonitor/logs/shared-metrics', 'PrometheusRule/logs/audit-logs-alerts', 'PrometheusRule/logs/shared-alerts',
  ]);
  assert.ok(objs.filter((o: any) => o.apiVersion === 'monitoring.coreos.com/v1').every((o: any) => o.metadata.labels.release === 'kps'));
  const off = new FlinkPlatform({ storageBaseDirectory: 's3://state', monitoring: false });
  off.addApplication('audit-logs', { job: JAR });
  assert.ok(!off.releaseUnits[0].chart.toJson().some((o: any) => o.apiVersion === 'monitoring.coreos.com/v1' || /dashboard/.test(o.metadata.name)));
});

test('bad input: one-line ValidationErrors naming the field, the value and what is expected', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['a window that is a negative number, not a Duration', () => appWith({ restartWindow: -300 as any }), /^restartWindow: -300 is not a duration; expected a cdk8s Duration/],
    ['a zero window', () => appWith({ checkpointMaxAge: Duration.seconds(0) }), /^checkpointMaxAge: "0s" is invalid; expected a positive duration/],
    ['a "for" that is not a duration', () => appWith({ backPressureFor: '15m' as any }), /^backPressureFor: "15m" is not a duration/],
    ['a fractional restart count', () => appWith({ restartThreshold: 1.5 }), /^restartThreshold: 1.5 is invalid; expected a whole number greater than 0/],
    ['a Kafka lag threshold of zero', () => appWith({ kafkaLagThreshold: 0 }), /^kafkaLagThreshold: 0 is invalid; expected a whole number greater than 0/],
    ['a fraction given as a percentage', () => appWith({ busyFraction: 90 }), /^busyFraction: 90 is invalid; expected a fraction greater than 0 and at most 1/],
    ['an unknown metric name', () => appWith().monitoring.addMetricAlert({ alert: 'FlinkX', metric: 'flink_jobmanager_job_numRestart', above: 1, summary: 's', runbook: 'r' }),
      /^metric: "flink_jobmanager_job_numRestart" is not a metric of the catalog; expected a FlinkMetric constant/],
    ['a metric the version does not export', () => appWith().monitoring.addMetricAlert({ alert: 'FlinkX', metric: FlinkMetric.JOB_LAST_CHECKPOINT_COMPLETED_TIMESTAMP, above: 1, summary: 's', runbook: 'r' }),
      /^metric: "flink_jobmanager_job_lastCheckpointCompletedTimestamp" is exported from Flink 2.2 on; the cluster runs 1.20/],
    ['a release label with a space', () => appWith({ releaseLabel: 'kube prometheus' }), /^releaseLabel.release: "kube prometheus" is not a valid label value/],
    ['a release label of 64 characters', () => appWith({ releaseLabel: 'r'.repeat(64) }), /^releaseLabel.release: "r{64}" is not a valid label value/],
    ['a release label with annotation scraping', () => appWith({ scrape: ScrapeMode.ANNOTATIONS, releaseLabel: 'kps' }), /^releaseLabel: "kps" is set with ScrapeMode.ANNOTATIONS/],
    ['an unknown scrape mode', () => appWith({ scrape: 'prometheus' as any }), /^scrape: "prometheus" is unknown; expected one of ScrapeMode.POD_MONITOR/],
    ['an unknown disabled alert', () => appWith({ disabledAlerts: ['FlinkFoo' as any] }), /^disabledAlerts\[\]: "FlinkFoo" is not an alert of this package/],
    ['an alert label that overrides severity', () => appWith({ alertLabels: { severity: 'page' } }), /^alertLabels key: "severity" is not usable/],
    ['a folder with a slash', () => appWith({ dashboardFolder: 'Flink/Prod' }), /^dashboardFolder: "Flink\/Prod" is invalid/],
    ['a custom alert with both bounds', () => appWith().monitoring.addMetricAlert({ alert: 'FlinkX', metric: FlinkMetric.JOB_NUM_RESTARTS, above: 1, below: 2, summary: 's', runbook: 'r' }),
      /^above\/below: \{"above":1,"below":2\} is invalid; expected exactly one of above and below/],
    ['a custom alert named like a built-in one', () => appWith().monitoring.addMetricAlert({ alert: 'FlinkTaskBusy', metric: FlinkMetric.JOB_NUM_RESTARTS, above: 1, summary: 's', runbook: 'r' }),
      /^alert: "FlinkTaskBusy" is the name of a built-in alert/],
    ['a cluster without metrics', () => synth((s) => new FlinkMonitoring(s, 'm', { cluster: new FlinkApplication(s, 'quiet', { job: JAR, metrics: false, ...CP }) })),
      /^cluster: "quiet" has metrics turned off/],
    ['a target without selector labels', () => flinkAlertRules({ name: 'x', version: FlinkVersion.V1_20, mode: ClusterMode.APPLICATION, expectedTaskManagers: 1, selectorLabels: {} }),
      /^cluster.selectorLabels: \{\} is empty/],
    ['a target expecting no TaskManager', () => flinkAlertRules({ name: 'x', version: FlinkVersion.V1_20, mode: ClusterMode.APPLICATION, expectedTaskManagers: 0, selectorLabels: { a: 'b' } }),
      /^cluster.expectedTaskManagers: 0 is invalid; expected an integer between 1 and 10000/],
  ];
  // cdk8s itself refuses negative Durations (a plain Error, before any of our code runs)
  assert.throws(() => Duration.minutes(-5), /cannot be negative/);
  for (const [what, fn, message] of cases) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof ValidationError, `${what}: a ValidationError, got ${String(e)}`);
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes('\n'), `${what}: one line`);
      return true;
    }, what);
  }
});

test('snapshots: monitoring objects of an application (PodMonitor) and a session cluster (ServiceMonitor)', () => {
  matchSnapshot('monitoring-application', monitoringObjects(appWith({ releaseLabel: 'kube-prometheus-stack' }).objects).filter((o) => o.kind !== 'ConfigMap'));
  matchSnapshot('monitoring-session-service-monitor', monitoringObjects(synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { namespace: 'analytics', flinkVersion: FlinkVersion.V2_2, ...CP });
    new FlinkMonitoring(s, 'monitoring', { cluster: c, scrape: ScrapeMode.SERVICE_MONITOR, dashboard: false });
  })));
  matchSnapshot('monitoring-dashboard', appWith().monitoring.dashboard);
});
