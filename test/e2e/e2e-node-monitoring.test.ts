/**
 * Monitoring on the real node (test/support/node.ts): the Prometheus Operator and a Prometheus it
 * runs as a pod, with Kubernetes service discovery, on the access-logs chart as released.
 *
 * The Prometheus Operator (built from the Go module proxy, test/support/node-monitoring.ts) runs
 * as a process of this machine against the node's API server, not as a pod. Prometheus runs as a
 * pod of the node, created by the operator from a Prometheus CR in the namespace `monitoring`
 * (Pod Security `restricted`), from a stand-in image of Prometheus built from the Go module proxy; it discovers the
 * chart's pods with a namespaced Role in `logs` only. The CR selects monitors and rules by the
 * `release` label, as kube-prometheus-stack does; the chart gets that label through its
 * `monitoring.releaseLabel` value. The chart's NetworkPolicy opens the metrics port to it by its
 * default `metricsScrapers` (pods `app.kubernetes.io/name: prometheus` in `monitoring`).
 *
 * access-logs is installed with the values of e2e-node.test.ts (local images, lowered CPU) against
 * the Kafka and HDFS pods. It proves: the generated PodMonitor, turned into a scrape
 * configuration by the operator, finds the chart's JobManager and TaskManager pods (every target
 * up; the labels its relabelings produce are the pods' namespace, name, component and release);
 * the generated PrometheusRule is loaded with every rule and each evaluates without error; every
 * query of the platform dashboard (charts/log-platform-dashboards) returns data with this cluster
 * picked; deleting a TaskManager pod makes the job restart and fires FlinkJobRestarting for this
 * cluster. No example chart has a ServiceMonitor: the ServiceMonitor and headless metrics Service
 * that a ServiceMonitor-mode synthesis of the same example (examples/platform.ts, `scrape:
 * SERVICE_MONITOR`) generates are applied beside the release, and its targets, through the
 * Service's endpoints, are the release's pods with the same relabeled labels. The committed charts
 * are not edited.
 *
 * Writes build and step times to $CDK8S_FLINK_NODE_MONITORING_REPORT (default
 * <cache>/node/report-monitoring.json) and the e2e report section `node/monitoring`.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { buildLogPlatform } from '../../examples/platform';
import { ScrapeMode } from '../../lib/monitoring';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { panelQueries, variableQueries } from '../support/dashboard-queries';
import { ChartNode } from '../support/node-charts';
import { ensureMonitoringImages, ensureOperatorBinaries, OperatorBinaries, OperatorProcess, prometheusManifests } from '../support/node-monitoring';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'access-logs');
const DASHBOARDS = path.join(ROOT, 'charts', 'log-platform-dashboards', 'dashboards');
const CRDS = path.join(ROOT, 'test', 'support', 'crds', 'prometheus-operator');
const NS = 'logs';
const MON = 'monitoring';
const RELEASE = 'access-logs';
const RELEASE_LABEL = 'node-prometheus';
const PROM = 'node';
const SOURCE = 'logs.access';

let h: ChartNode;
let bins: OperatorBinaries;
let operator: OperatorProcess | undefined;
let report: Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  h = await ChartNode.start({
    namespace: NS, reportName: 'report-monitoring.json', reportEnv: 'CDK8S_FLINK_NODE_MONITORING_REPORT',
    extraImages: async () => {
      bins = await ensureOperatorBinaries();
      return ensureMonitoringImages(bins);
    },
  });
  report = h.report;
  report.operatorBuildMs = bins.buildMs;
}, { timeout: 80 * 60_000 });

after(async () => {
  await operator?.stop();
  if (h) {
    await h.node.cluster.kubectl(['delete', 'namespace', MON, '--wait=false', '--ignore-not-found'], { timeoutMs: 60_000 }).catch(() => undefined);
    await h.stop();
  }
});

/** A Prometheus HTTP API call through the API server's service proxy. */
async function api(p: string): Promise<any> {
  const r = await h.node.cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${MON}/services/prometheus-operated:web/proxy${p}`], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`Prometheus ${p}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout).data;
}
const query = async (expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> =>
  (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;

/** Polls fn (bounded) until it returns a value other than undefined; fails with what it last saw. */
async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, seen: () => unknown): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(2000)) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
  }
  assert.fail(`${what} within ${timeoutMs / 1000} s; last seen: ${JSON.stringify(seen())}`);
}

test('the Prometheus Operator\'s Prometheus discovers access-logs through its PodMonitor, loads its PrometheusRule, answers every dashboard query, fires FlinkJobRestarting when a TaskManager pod is deleted, and discovers the pods through a generated ServiceMonitor', { timeout: 45 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const steps: Record<string, number> = {};
  let installed = false;
  let smObjects: any[] = [];
  try {
    await h.withDiagnostics(async () => {
      // 1. the operator's CRDs, the operator (a local process), the Kafka and HDFS pods
      let t = Date.now();
      const crds = fs.readdirSync(CRDS).filter((f) => f.endsWith('.yaml')).map((f) => path.join(CRDS, f));
      await h.kubectl(['apply', '--server-side', '--field-manager=cdk8s-flink-test', ...crds.flatMap((f) => ['-f', f])]);
      // (kubectl wait fails at once on a CRD that has no conditions yet)
      for (const crd of ['prometheuses', 'probes']) {
        await until(`CRD ${crd} Established`, 60_000, async () => (await h.kubectl(['get', 'crd', `${crd}.monitoring.coreos.com`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).trim() === 'True' || undefined, () => crd);
      }
      await h.node.cluster.createNamespace(MON, { podSecurity: 'restricted' });
      operator = await OperatorProcess.start(bins.operator, h.node.cluster.kubeconfig, [MON, NS], path.join(h.node.workDir, 'prometheus-operator.log'));
      steps.operatorReadyMs = Date.now() - t;
      await h.ensureServers(steps);
      await h.topic(SOURCE, 4);

      // 2. access-logs as released, its monitors labelled for this Prometheus
      t = Date.now();
      const install = await h.helm(h4, ['install', RELEASE, CHART, '-n', NS, ...h.values([`monitoring.releaseLabel=${RELEASE_LABEL}`], h.images.trusting), '--wait', '--timeout', '480s']);
      installed = install.code === 0;
      assert.equal(install.code, 0, `helm install:\n${install.out}`);
      const restSvc = `${RELEASE}-rest`;
      await h.untilRunning(restSvc);
      steps.installToRunningMs = Date.now() - t;
      const flinkPods = [...await h.podsOf('app.kubernetes.io/component=jobmanager'), ...await h.podsOf('app.kubernetes.io/component=taskmanager')]
        .map((p) => ({ pod: p.metadata.name as string, component: p.metadata.labels['app.kubernetes.io/component'] as string }))
        .sort((a, b) => a.pod.localeCompare(b.pod));
      assert.equal(flinkPods.length, 3, `1 JobManager and 2 TaskManagers: ${JSON.stringify(flinkPods)}`);
      assert.match(await h.client('kafka-produce-0', ['produce', SOURCE, '2000', '0']), /produced 2000/);

      // 3. Prometheus from its CR: the operator's StatefulSet, a pod of the node in a restricted namespace
      t = Date.now();
      await h.kubectl(['apply', '-f', '-'], JSON.stringify(prometheusManifests({ namespace: MON, name: PROM, targetNamespaces: [NS], releaseLabel: RELEASE_LABEL })));
      const promPod = `prometheus-${PROM}-0`;
      await until(`pod ${MON}/${promPod}`, 240_000, async () => (await h.kubectl(['-n', MON, 'get', 'pod', promPod, '-o', 'name'])).trim() || undefined, () => operator?.logs(10));
      const ready = await h.node.cluster.kubectl(['-n', MON, 'wait', '--for=condition=Ready', `pod/${promPod}`, '--timeout=300s'], { timeoutMs: 320_000 });
      assert.equal(ready.code, 0, `${promPod} not Ready: ${ready.stderr}\noperator:\n${operator?.logs(20)}`);
      steps.prometheusReadyMs = Date.now() - t;
      const pod = JSON.parse(await h.kubectl(['-n', MON, 'get', 'pod', promPod, '-o', 'json']));
      assert.deepEqual(pod.spec.containers.map((c: any) => c.image).sort(), ['localhost/cdk8s-flink/prometheus-config-reloader:v0.93.0', 'localhost/cdk8s-flink/prometheus:v3.13.1']);

      // 4. the PodMonitor's targets are the chart's pods, every one up, labelled by its relabelings
      t = Date.now();
      let targets: any[] = [];
      const pool = `podMonitor/${NS}/${RELEASE}-metrics/0`;
      const mine = () => targets.filter((x) => x.scrapePool === pool);
      await until('every Flink pod a healthy target of the PodMonitor', 300_000, async () => {
        targets = (await api('/api/v1/targets?state=active')).activeTargets;
        const up = mine().filter((x) => x.health === 'up');
        return up.length === flinkPods.length ? up : undefined;
      }, () => targets.map((x) => `${x.scrapePool} ${x.labels?.pod} ${x.health} ${x.lastError}`));
      steps.targetsUpMs = Date.now() - t;
      assert.deepEqual(mine().map((x) => ({ pod: x.labels.pod, component: x.labels.component })).sort((a, b) => a.pod.localeCompare(b.pod)), flinkPods);
      for (const x of mine()) {
        assert.equal(x.labels.namespace, NS);
        assert.equal(x.labels.flink_cluster, RELEASE);
        assert.match(x.scrapeUrl, /^http:\/\/10\.244\.0\.\d+:9249\/metrics$/, 'scraped at the pod IP, port metrics');
      }
      const ups = await query(`up{namespace="${NS}",flink_cluster="${RELEASE}"}`);
      assert.deepEqual(ups.map((x) => x.value[1]), flinkPods.map(() => '1'));
      report.targets = mine().map((x) => ({ scrapeUrl: x.scrapeUrl, labels: x.labels }));

      // 5. the PrometheusRule: loaded with all its rules, each evaluated without error
      const ruleSpec = JSON.parse(await h.kubectl(['-n', NS, 'get', 'prometheusrule', `${RELEASE}-alerts`, '-o', 'json'])).spec.groups[0];
      let groups: any[] = [];
      await until('the PrometheusRule\'s group evaluated', 120_000, async () => {
        groups = (await api('/api/v1/rules')).groups;
        const g = groups.find((x) => x.name === ruleSpec.name);
        return g && g.rules.every((r: any) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) ? g : undefined;
      }, () => groups.map((g) => `${g.file} ${g.name} ${g.rules.length}`));
      const group = groups.find((x) => x.name === ruleSpec.name);
      assert.match(group.file, new RegExp(`${NS}-${RELEASE}-alerts`), 'the rule file the operator wrote from the PrometheusRule');
      assert.deepEqual(group.rules.map((r: any) => r.name).sort(), ruleSpec.rules.map((r: any) => r.alert).sort());
      assert.deepEqual(group.rules.filter((r: any) => r.health !== 'ok').map((r: any) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);

      // 6. every dashboard query returns data for this cluster (rates need two scrapes, the
      //    checkpoint panels a completed checkpoint: polled)
      t = Date.now();
      const file = fs.readdirSync(DASHBOARDS).find((f) => f.endsWith('.json'))!;
      const board = JSON.parse(fs.readFileSync(path.join(DASHBOARDS, file), 'utf8'));
      const choice = { namespace: NS, cluster: RELEASE };
      let empty: string[] = [];
      const wm = async () => Number((await query(`max(flink_taskmanager_job_task_operator_currentOutputWatermark{namespace="${NS}",flink_cluster="${RELEASE}"})`))[0]?.value[1]);
      await until('every dashboard query with data', 300_000, async () => {
        // a job without event-time watermarks has none to lag (the reporter exports Long.MIN_VALUE)
        const allowed = (await wm()) > 0 ? [] : ['Watermark lag per task'];
        empty = [];
        for (const q of panelQueries(board, choice)) if ((await query(q.expr)).length === 0) empty.push(`${q.panel} [${q.refId}]: ${q.expr}`);
        empty = empty.filter((e) => !allowed.some((a) => e.startsWith(a)));
        return empty.length === 0 ? true : undefined;
      }, () => empty);
      steps.dashboardDataMs = Date.now() - t;
      const listed: Record<string, string[]> = {};
      for (const v of variableQueries(board, choice)) listed[v.name] = (await query(v.expr)).map((x) => x.metric[v.label]);
      assert.ok(listed.namespace.includes(NS), `namespace lists ${NS}: ${listed.namespace}`);
      assert.deepEqual(listed.cluster, [RELEASE], 'cluster lists the release');
      report.dashboard = { panels: board.panels.length, queries: panelQueries(board, choice).length, variables: listed, watermark: await wm() };

      // 7. a TaskManager pod deleted: the job restarts, FlinkJobRestarting (no `for:`) fires
      const firing = async (alert: string) => (await query(`ALERTS{alertname="${alert}",alertstate="firing",namespace="${NS}",flink_cluster="${RELEASE}"}`));
      assert.deepEqual(await firing('FlinkJobRestarting'), [], 'no restart alert before');
      t = Date.now();
      const victim = flinkPods.find((p) => p.component === 'taskmanager')!.pod;
      await h.kubectl(['-n', NS, 'delete', 'pod', victim, '--wait=false']);
      const fired = await until('FlinkJobRestarting firing', 240_000, async () => {
        const f = await firing('FlinkJobRestarting');
        return f.length > 0 ? f : undefined;
      }, () => victim);
      steps.deleteToAlertMs = Date.now() - t;
      assert.equal(fired.length, 1);
      assert.equal(fired[0].metric.severity, 'warning');
      report.alert = fired[0].metric;

      // 8. the ServiceMonitor a ServiceMonitor-mode synthesis of the same example generates (no
      //    example chart has one) and its headless metrics Service, applied beside the release:
      //    its targets are the release's pods as they are now (the deleted TaskManager replaced)
      t = Date.now();
      const platform = buildLogPlatform({
        kafkaBootstrap: 'unused:9093', stateBase: 'hdfs://unused:8020/flink', archiveBase: 'hdfs://unused:8020/logs', namespace: NS,
        elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost/unused', monitoring: { scrape: ScrapeMode.SERVICE_MONITOR, releaseLabel: RELEASE_LABEL },
      });
      smObjects = synthesizeUnit(platform.unit(RELEASE)!).objects.filter((o: any) => ['Service', 'ServiceMonitor'].includes(o.kind) && o.metadata.name === `${RELEASE}-metrics`);
      assert.deepEqual(smObjects.map((o: any) => o.kind).sort(), ['Service', 'ServiceMonitor']);
      await h.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: smObjects }));
      const smPool = `serviceMonitor/${NS}/${RELEASE}-metrics/0`;
      let nowPods: Array<{ pod: string; component: string }> = [];
      const smTargets = await until('every Flink pod a healthy target of the ServiceMonitor', 180_000, async () => {
        nowPods = [...await h.podsOf('app.kubernetes.io/component=jobmanager'), ...await h.podsOf('app.kubernetes.io/component=taskmanager')]
          .filter((p) => !p.metadata.deletionTimestamp)
          .map((p) => ({ pod: p.metadata.name as string, component: p.metadata.labels['app.kubernetes.io/component'] as string }))
          .sort((a, b) => a.pod.localeCompare(b.pod));
        targets = (await api('/api/v1/targets?state=active')).activeTargets;
        const up = targets.filter((x) => x.scrapePool === smPool && x.health === 'up');
        const got = up.map((x) => ({ pod: x.labels.pod, component: x.labels.component })).sort((a, b) => a.pod.localeCompare(b.pod));
        return up.length === targets.filter((x) => x.scrapePool === smPool).length && JSON.stringify(got) === JSON.stringify(nowPods) ? up : undefined;
      }, () => ({ pods: nowPods, targets: targets.filter((x) => x.scrapePool === smPool).map((x) => `${x.labels?.pod} ${x.health} ${x.lastError}`) }));
      steps.serviceMonitorTargetsMs = Date.now() - t;
      assert.equal(nowPods.length, 3);
      assert.ok(!nowPods.some((p) => p.pod === victim), 'the deleted TaskManager is no target');
      for (const x of smTargets) {
        assert.equal(x.labels.namespace, NS);
        assert.equal(x.labels.flink_cluster, RELEASE);
      }
      report.serviceMonitorTargets = smTargets.map((x) => ({ scrapeUrl: x.scrapeUrl, labels: x.labels }));
      recordE2E('node/monitoring', { steps, operator: 'process', prometheus: 'pod', targets: flinkPods.length, serviceMonitorTargets: smTargets.length, rules: group.rules.length, dashboardQueries: panelQueries(board, choice).length, alert: fired[0].metric });
    }, [NS, MON]);
  } catch (e) {
    (e as Error).message = `${(e as Error).message}\n--- operator ---\n${operator?.logs(40) ?? '(not started)'}`;
    throw e;
  } finally {
    report.steps = steps;
    if (smObjects.length) await h.node.cluster.kubectl(['delete', '-f', '-', '--ignore-not-found'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: smObjects }), timeoutMs: 60_000 }).catch(() => undefined);
    if (installed) await h.helm(h4, ['uninstall', RELEASE, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    await h.node.cluster.kubectl(['-n', MON, 'delete', 'prometheus', PROM, '--ignore-not-found', '--wait=true', '--timeout=60s'], { timeoutMs: 90_000 }).catch(() => undefined);
  }
});
