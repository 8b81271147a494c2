import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkPlatform, FlinkVersion, JobSource, ValidationError } from '../../lib';
import {
  ClusterMode, Dashboard, DashboardPanel, flinkDashboard, flinkLabelValue, IMonitoringTarget, platformDashboard, PLATFORM_DASHBOARD_VARIABLES,
} from '../../lib/monitoring';
import { synthesizeDashboard, synthesizePlatform } from '../../lib/synth/synthesize';

const JAR = JobSource.jar({ entryClass: 'com.example.audit.AuditJob' });
const VERSIONS = [FlinkVersion.V1_18, FlinkVersion.V1_19, FlinkVersion.V1_20, FlinkVersion.V2_0, FlinkVersion.V2_1, FlinkVersion.V2_2];

function target(version: FlinkVersion, mode: ClusterMode, name = 'audit-logs'): IMonitoringTarget {
  return {
    name, namespace: 'logs', version, mode, expectedTaskManagers: 3, selectorLabels: { 'app.kubernetes.io/instance': name },
    ...(mode === ClusterMode.APPLICATION ? { jobName: name } : {}),
  };
}

/** `rate(...)` terms of a query (the parts that read one metric of one cluster). */
function rates(expr: string): string[] {
  return expr.match(/rate\([^()]*\[\$__rate_interval\]\)/g) ?? [];
}

/**
 * The platform panel's query that stands for a per-cluster query: the same text with the
 * cluster's name replaced by `$cluster`, or (a version-specific metric) the same aggregation
 * over a portable expression containing the per-cluster one's rates.
 */
function covers(platformExprs: string[], clusterExpr: string, name: string): boolean {
  const want = clusterExpr.split(`flink_cluster="${name}"`).join('flink_cluster="$cluster"');
  if (platformExprs.includes(want)) return true;
  const head = want.slice(0, want.indexOf('('));
  const terms = rates(want);
  return terms.length > 0 && platformExprs.some((e) => e.startsWith(head) && terms.every((r) => e.includes(r)) && e.endsWith(want.slice(want.lastIndexOf(')'))));
}

/** The per-cluster query that only a cluster can know: its expected TaskManager count. */
const clusterOnly = (expr: string) => /^vector\(\d+\)$/.test(expr);

test('platform dashboard: every panel of every per-cluster dashboard (each Flink version, application and session) is there, same type, unit and legends, the same queries with the cluster a variable', () => {
  const p = platformDashboard();
  const byTitle = new Map(p.panels.map((x) => [x.title, x]));
  let compared = 0;
  for (const version of VERSIONS) {
    for (const mode of [ClusterMode.APPLICATION, ClusterMode.SESSION]) {
      const old = flinkDashboard(target(version, mode));
      for (const panel of old.panels) {
        const now = byTitle.get(panel.title);
        assert.ok(now, `${version} ${mode}: panel "${panel.title}" is on the platform dashboard`);
        assert.equal(now.type, panel.type, panel.title);
        assert.equal(now.fieldConfig.defaults.unit, panel.fieldConfig.defaults.unit, panel.title);
        const exprs = now.targets.map((t) => t.expr);
        for (const t of panel.targets.filter((x) => !clusterOnly(x.expr))) {
          assert.ok(covers(exprs, t.expr, 'audit-logs'), `${version} ${mode} "${panel.title}" [${t.refId}]: ${t.expr} has its platform form in ${JSON.stringify(exprs)}`);
          assert.ok(now.targets.some((x) => x.legendFormat === t.legendFormat), `${panel.title}: legend ${t.legendFormat}`);
          compared++;
        }
      }
    }
  }
  assert.ok(compared >= 12 * 30, `${compared} queries compared`);
  // The one per-cluster query left out is the expected TaskManager count (a literal per cluster).
  const left = flinkDashboard(target(FlinkVersion.V1_20, ClusterMode.APPLICATION)).panels.flatMap((x) => x.targets.filter((t) => clusterOnly(t.expr)).map((t) => `${x.title}: ${t.expr}`));
  assert.deepEqual(left, ['TaskManagers and slots: vector(3)']);
});

test('platform dashboard: the coverage check fails on a dropped panel or a query left with a literal cluster', () => {
  const p = platformDashboard();
  const old = flinkDashboard(target(FlinkVersion.V2_2, ClusterMode.APPLICATION));
  const restarts = old.panels.find((x) => x.title === 'Restarts (total)')!.targets[0].expr;
  assert.ok(covers(p.panels.flatMap((x) => x.targets.map((t) => t.expr)), restarts, 'audit-logs'));
  assert.ok(!covers([restarts], restarts, 'audit-logs'), 'a literal cluster is not the variable');
  assert.ok(!covers(p.panels.filter((x) => x.title !== 'Restarts (total)').flatMap((x) => x.targets.map((t) => t.expr)), restarts, 'audit-logs'));
});

/** Every query of a dashboard: panels' and variables'. */
function queries(d: Dashboard): string[] {
  return [...d.panels.flatMap((x: DashboardPanel) => x.targets.map((t) => t.expr)), ...d.templating.list.filter((v) => v.type === 'query').map((v) => String(v.definition))];
}

test('platform dashboard: queries select by the namespace, cluster and job variables and name no job or cluster of the platform', () => {
  const platform = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform', storageBaseDirectory: 's3://state' });
  const names = ['audit-logs', 'access-logs', 'shared-logs', 'error-logs'];
  platform.addApplication('audit-logs', { job: JAR });
  platform.addApplication('access-logs', { job: JAR, flinkVersion: FlinkVersion.V2_2 });
  const shared = platform.addSessionCluster('shared-logs', { taskManagerReplicas: 2 });
  platform.addSessionJob('error-logs', { cluster: shared, job: JobSource.jar({ entryClass: 'com.example.E', jarFile: 'https://example.com/e.jar' }), opsImage: 'ops:1.0.0' });
  const d = platform.dashboardUnit!.construct.dashboard;
  assert.deepEqual(d.templating.list.map((v) => v.name), [...PLATFORM_DASHBOARD_VARIABLES]);
  const json = JSON.stringify(d);
  for (const n of names) {
    assert.ok(!json.includes(n) && !json.includes(flinkLabelValue(n)), `no "${n}" in the dashboard`);
  }
  for (const x of d.panels) {
    for (const t of x.targets) {
      assert.match(t.expr, /namespace="\$namespace",flink_cluster="\$cluster"/, `${x.title}: ${t.expr}`);
      if (/flink_(jobmanager_job|taskmanager_job)_/.test(t.expr)) assert.match(t.expr, /job_name=~"\$job"/, `${x.title}: ${t.expr}`);
      // every series selector names the cluster by the variable, none by a literal
      for (const sel of t.expr.match(/\{[^}]*\}/g) ?? []) assert.match(sel, /flink_cluster="\$cluster"/, `${x.title}: ${sel}`);
    }
  }
  const v = Object.fromEntries(d.templating.list.map((x) => [x.name, x]));
  assert.match(String(v.cluster.definition), /namespace="\$namespace"/, 'clusters of the chosen namespace');
  assert.match(String(v.job.definition), /flink_cluster="\$cluster"/, 'jobs of the chosen cluster');
  assert.equal(v.job.multi, true);
  assert.equal(v.cluster.multi, undefined, 'one cluster at a time: the panels aggregate over one cluster');
  assert.deepEqual(v.namespace.current, { text: 'logs', value: 'logs' }, 'starts on the platform namespace');
  assert.ok(queries(d).every((q) => !/\{[^}]*flink_cluster="(?!\$cluster")/.test(q)));
  // the same dashboard whatever the jobs: adding one leaves it unchanged
  const before = JSON.stringify(synthesizeDashboard(platform.dashboardUnit!).objects);
  const more = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform', storageBaseDirectory: 's3://state' });
  more.addApplication('other', { job: JAR });
  assert.equal(JSON.stringify(synthesizeDashboard(more.dashboardUnit!).objects), before);
});

test('platform: one dashboard unit named <partOf>-dashboards with the Grafana sidecar label; job units carry scrape and alerts but no dashboard unless opted in', () => {
  const p = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform', storageBaseDirectory: 's3://state' });
  p.addApplication('audit-logs', { job: JAR });
  p.addSessionCluster('shared', {});
  const [cm] = synthesizeDashboard(p.dashboardUnit!).objects;
  assert.equal(p.dashboardUnit!.name, 'log-platform-dashboards');
  assert.equal(cm.kind, 'ConfigMap');
  assert.equal(cm.metadata.name, 'log-platform-dashboards');
  assert.equal(cm.metadata.namespace, 'logs');
  assert.equal(cm.metadata.labels.grafana_dashboard, '1');
  assert.equal(cm.metadata.labels['app.kubernetes.io/part-of'], 'log-platform');
  assert.equal(cm.metadata.annotations.grafana_folder, 'Flink');
  assert.deepEqual(Object.keys(cm.data), ['log-platform-dashboards.json']);
  assert.equal(JSON.parse(cm.data['log-platform-dashboards.json']).uid, 'flink-log-platform-dashboards');
  const kinds = (pl: FlinkPlatform) => synthesizePlatform(pl).flatMap((u) => u.objects).map((o) => `${o.kind}/${o.metadata.name}`);
  assert.deepEqual(kinds(p).filter((k) => /^(PodMonitor|PrometheusRule|ConfigMap\/.*dashboard)/.test(k)).sort(),
    ['PodMonitor/audit-logs-metrics', 'PodMonitor/shared-metrics', 'PrometheusRule/audit-logs-alerts', 'PrometheusRule/shared-alerts']);
  // opt-in: each cluster's own dashboard as well
  const opted = new FlinkPlatform({ storageBaseDirectory: 's3://state', monitoring: { dashboard: true } });
  opted.addApplication('audit-logs', { job: JAR });
  assert.ok(kinds(opted).includes('ConfigMap/audit-logs-dashboard'));
  assert.equal(opted.dashboardUnit!.name, 'flink-dashboards', 'partOf defaults to flink');
  // settings, and off
  const named = new FlinkPlatform({ storageBaseDirectory: 's3://state', dashboard: { name: 'grafana-flink', folder: 'Streaming', title: 'Streaming jobs', labels: { team: 'data' } } });
  const [n] = synthesizeDashboard(named.dashboardUnit!).objects;
  assert.equal(n.metadata.name, 'grafana-flink');
  assert.equal(n.metadata.annotations.grafana_folder, 'Streaming');
  assert.equal(n.metadata.labels.team, 'data');
  assert.equal(JSON.parse(n.data['grafana-flink.json']).title, 'Streaming jobs');
  assert.equal(new FlinkPlatform({ dashboard: false }).dashboardUnit, undefined);
  assert.equal(new FlinkPlatform({ monitoring: false }).dashboardUnit, undefined);
});

test('platform dashboard: bad settings are one-line errors naming the field', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['a job named like the dashboard unit', () => new FlinkPlatform({ storageBaseDirectory: 's3://s' }).addApplication('flink-dashboards', { job: JAR }),
      /^job name: "flink-dashboards" is the name of the platform dashboard's unit; expected another name/],
    ['a folder with a slash', () => new FlinkPlatform({ dashboard: { folder: 'a/b' } }), /^dashboard folder: "a\/b" is invalid/],
    ['a name too long for a release', () => new FlinkPlatform({ dashboard: { name: 'd'.repeat(54) } }), /^dashboard.name: "d{54}" /],
    ['an empty tag', () => new FlinkPlatform({ dashboard: { tags: [''] } }), /^dashboardTags: \[""\] is invalid/],
  ];
  for (const [what, fn, message] of cases) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof ValidationError, `${what}: ${String(e)}`);
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes('\n'), what);
      return true;
    }, what);
  }
});

test('platform dashboard: unique panel ids, panels inside the 24-column grid without overlap, $__rate_interval in every rate', () => {
  const d = platformDashboard();
  assert.equal(new Set(d.panels.map((x) => x.id)).size, d.panels.length);
  const cells = new Set<string>();
  for (const x of d.panels) {
    const g = x.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${x.title} fits the grid`);
    for (let cx = g.x; cx < g.x + g.w; cx++) {
      for (let cy = g.y; cy < g.y + g.h; cy++) {
        assert.ok(!cells.has(`${cx},${cy}`), `${x.title} overlaps another panel at ${cx},${cy}`);
        cells.add(`${cx},${cy}`);
      }
    }
    for (const t of x.targets) for (const r of t.expr.match(/\brate\([^[]*\[[^\]]*\]/g) ?? []) assert.match(r, /\[\$__rate_interval\]$/, `${x.title}: ${r}`);
  }
  assert.ok(d.uid.length <= 40 && /^[a-zA-Z0-9_-]+$/.test(d.uid));
});
