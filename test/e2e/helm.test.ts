/**
 * The charts under real helm binaries (3.x and 4.x): lint, package, default rendering equal to
 * dist/, schema and template checks, escaping, two releases side by side, upgrade modes and
 * hooks, and that the committed charts/ are what synthesis produces now.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FlinkPlatform, JobSource, restrictedViolations, ServiceAccountRef } from '../../lib';
import { synthesizeDashboard, synthesizePlatform } from '../../lib/synth/synthesize';
import { readTree } from '../../lib/synth/write';
import { loadValidator } from '../support/k8s-schema';
import { ingressAllowed } from '../support/network-policy';
import { ensureHelm } from '../support/tools';
import { assertRendersDist, find, helm, normalize, render, renderError, writeChart } from '../support/helm-chart';
import { scratchDir } from '../support/scratch';

const ROOT = path.join(__dirname, '..', '..', '..');
const EXAMPLE = buildLogPlatform(PRODUCTION);
const UNITS = synthesizePlatform(EXAMPLE);
/** The platform dashboard's unit. */
const DASHBOARD = synthesizeDashboard(EXAMPLE.dashboardUnit!);
/** Every chart synthesis writes: the jobs' and the platform dashboard's. */
const CHARTS: Array<{ name: string; objects: any[]; chart: Record<string, string> }> = [...UNITS, DASHBOARD];
const HELMS: (3 | 4)[] = [3, 4];

for (const major of HELMS) {
  test(`helm ${major}: every example chart (the platform dashboard's too) passes lint --strict, packages, and renders with default values exactly the objects of dist/<unit>/`, async () => {
    const bin = await ensureHelm(major);
    const out = scratchDir('cdk8s-flink-pkg-');
    for (const u of CHARTS) {
      const chart = writeChart(u);
      const lint = helm(bin, ['lint', '--strict', chart]);
      assert.equal(lint.code, 0, `${u.name}: ${lint.stdout}${lint.stderr}`);
      assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/, u.name);
      const pkg = helm(bin, ['package', chart, '--destination', out]);
      assert.equal(pkg.code, 0, pkg.stderr);
      assert.ok(fs.existsSync(path.join(out, `${u.name}-0.1.0.tgz`)));
      const rendered = render(bin, chart, u.name, [], 'logs').map(normalize);
      const byKey = new Map(rendered.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
      for (const d of u.objects.map(normalize)) {
        // The session submitter is a hook in the chart (its pod template is immutable), named per release.
        const name = d.kind === 'Job' ? d.metadata.name.replace(/-[0-9a-f]{8}$/, '') : d.metadata.name;
        const r = byKey.get(`${d.kind}/${name}`);
        assert.ok(r, `${u.name}: ${d.kind}/${name} rendered`);
        if (d.kind === 'Job') d.metadata.name = name;
        assert.deepEqual(r, d, `${u.name}: ${d.kind}/${name} equals dist`);
      }
    }
  });
}

test('charts: the committed charts/ are what synthesis produces now', () => {
  const committed = readTree(path.join(ROOT, 'charts'));
  const now: Record<string, string> = {};
  for (const u of CHARTS) for (const [f, t] of Object.entries(u.chart)) now[`${u.name}/${f}`] = t;
  assert.deepEqual(Object.keys(committed).sort(), Object.keys(now).sort(), 'run "npm run synth" and commit charts/');
  for (const f of Object.keys(now)) assert.equal(committed[f], now[f], `charts/${f} is stale: run "npm run synth" and commit it`);
});

test('charts: objects switched off leave no empty document in their kind\'s file (no stray "---" in what helm renders)', async () => {
  const bin = await ensureHelm(3);
  const switches = ['serviceAccount.create=false', 'serviceAccount.name=existing', 'networkPolicy.enabled=false', 'monitoring.scrape=false', 'monitoring.alerts=false'];
  let checked = 0;
  for (const u of UNITS.filter((x) => x.kind !== 'session-job')) {
    const app = u.kind === 'application';
    for (const set of [switches, [...switches, ...(app ? ['job.state=suspended', 'hooks.preflight.enabled=false'] : [])]]) {
      const r = helm(bin, ['template', u.name, writeChart(u), '-n', 'logs', ...set.flatMap((s) => ['--set', s])]);
      assert.equal(r.code, 0, r.stderr);
      // Each document helm prints starts at its Source comment; none may start with another separator.
      assert.doesNotMatch(r.stdout, /^# Source: [^\n]+\n---$/m, `${u.name} [${set.join(' ')}]`);
      assert.doesNotMatch(r.stdout, /^---\n---$/m, `${u.name} [${set.join(' ')}]`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `renders checked: ${checked}`);
});

test('charts: every object a chart renders (hooks and tests too) is schema-valid, restricted, with namespaced least-privilege RBAC', async () => {
  const bin = await ensureHelm(3);
  const validate = await loadValidator();
  for (const u of CHARTS) {
    const objs = render(bin, writeChart(u), u.name);
    assert.deepEqual(objs.flatMap((o) => validate(o)), [], u.name);
    assert.deepEqual(restrictedViolations(objs), [], u.name);
    assert.ok(!objs.some((o) => /^Cluster/.test(o.kind)), `${u.name}: no cluster-scoped RBAC`);
    for (const role of objs.filter((o) => o.kind === 'Role' && /-(hooks|cleanup)$/.test(o.metadata.name))) {
      for (const rule of role.rules) {
        if (rule.verbs.some((v: string) => ['list', 'deletecollection'].includes(v))) continue;
        assert.ok(rule.resourceNames?.length, `${role.metadata.name}: rule ${JSON.stringify(rule)} limited by resourceNames`);
      }
    }
    for (const hook of objs.filter((o) => o.metadata.annotations?.['helm.sh/hook'])) {
      const a = hook.metadata.annotations;
      if (hook.kind === 'Job' || hook.kind === 'Pod') {
        assert.ok(a['helm.sh/hook-delete-policy'], `${hook.kind}/${hook.metadata.name} has a delete policy`);
      }
      if (a['helm.sh/hook-weight'] !== undefined) assert.equal(typeof a['helm.sh/hook-weight'], 'string');
      if (hook.kind === 'Job') assert.ok(hook.spec.activeDeadlineSeconds > 0, `${hook.metadata.name} bounded`);
    }
  }
});

test('charts: the schema rejects wrong types, unknown keys, unknown modes, non-URI paths and moving tags, naming the value', async () => {
  const bin = await ensureHelm(3);
  const chart = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  const cases: [string[], RegExp][] = [
    [['job.parallelism=four'], /job\.parallelism|parallelism: Invalid type|got string/i],
    [['bogus=1'], /Additional property bogus is not allowed|additional properties 'bogus' not allowed/],
    [['image.bogus=1'], /bogus/],
    [['job.upgradeMode=rolling'], /upgradeMode.*(must be one of|value must be one of)|rolling/],
    [['job.initialSavepointPath=savepoint-1'], /initialSavepointPath.*(Does not match pattern|does not match pattern)/],
    [['image.tag=latest'], /tag/],
    [['taskManager.resources.memory=2GB'], /memory/],
    [['flinkConfiguration.parallelism\\.default=8'], /parallelism\.default|propertyNames|not/i],
  ];
  for (const [set, re] of cases) {
    const err = renderError(bin, chart, set);
    assert.match(err, re, `${set.join(' ')} -> ${err}`);
  }
});

test('charts: template checks fail the release with one line naming the value', async () => {
  const bin = await ensureHelm(3);
  const audit = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  assert.match(renderError(bin, audit, ['job.parallelism=9']), /job\.parallelism: 9 exceeds the 2 slots of 1 TaskManagers x 2 slots; raise taskManager.replicas/);
  assert.match(renderError(bin, audit, ['taskManager.resources.memory=512Mi']), /taskManager\.resources\.memory: 512Mi is below Flink's minimum; expected at least \d+Mi/);
  assert.match(renderError(bin, audit, ['job.upgradeMode=last-state']), /job\.upgradeMode: "last-state" needs high availability/);
  const access = writeChart(UNITS.find((u) => u.name === 'access-logs')!);
  assert.match(renderError(bin, access, ['job.state=suspended', 'job.savepointDirectory=']), /job\.state: "suspended" needs job\.savepointDirectory/);
  assert.match(renderError(bin, audit, ['x']), /./);
  const longName = helm(bin, ['template', 'a'.repeat(51), audit]);
  assert.notEqual(longName.code, 0);
  assert.match(longName.stderr, /release name "a{51}" cannot prefix this chart's object names; expected a DNS label .* of at most 50 characters/);
});

test('charts: values change the objects they name; the config checksum rolls only the pods whose config changed', async () => {
  const bin = await ensureHelm(3);
  const chart = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  const base = render(bin, chart, 'audit-logs');
  const changed = render(bin, chart, 'audit-logs', [
    'image.tag=1.20.5-0.2.0', 'job.parallelism=4', 'taskManager.replicas=2', 'taskManager.resources.memory=3Gi',
    'flinkConfiguration.pipeline\\.object-reuse=true', 'nodeSelector.pool=flink', 'podLabels.team=logs', 'job.args[0]=--verbose',
  ]);
  const jm = find(changed, 'Deployment', 'audit-logs-jobmanager');
  const tm = find(changed, 'Deployment', 'audit-logs-taskmanager');
  assert.equal(jm.spec.template.spec.containers[0].image, 'registry.example.com/logs/flink-runtime:1.20.5-0.2.0');
  assert.equal(tm.spec.replicas, 2);
  assert.deepEqual(tm.spec.template.spec.containers[0].resources, { requests: { cpu: '1', memory: '3Gi' }, limits: { memory: '3Gi' } });
  assert.deepEqual(tm.spec.template.spec.nodeSelector, { pool: 'flink' });
  assert.equal(tm.spec.template.metadata.labels.team, 'logs');
  assert.deepEqual(jm.spec.template.spec.containers[0].args.slice(-3), ['--script', '/opt/flink/job/pipeline.sql', '--verbose']);
  const conf = YAML.parse(find(changed, 'ConfigMap', 'audit-logs-config').data['config.yaml']);
  assert.equal(conf['parallelism.default'], 4);
  assert.equal(conf['taskmanager.memory.process.size'], '3072m');
  assert.equal(conf['pipeline.object-reuse'], true, 'flinkConfiguration merged over the generated keys');
  const sum = (objs: any[], d: string) => find(objs, 'Deployment', d).spec.template.metadata.annotations['checksum/config'];
  assert.notEqual(sum(base, 'audit-logs-taskmanager'), sum(changed, 'audit-logs-taskmanager'));
  const sameConfig = render(bin, chart, 'audit-logs', ['image.tag=1.20.5-0.2.0']);
  assert.equal(sum(base, 'audit-logs-taskmanager'), sum(sameConfig, 'audit-logs-taskmanager'), 'an image change alone keeps the checksum');
  // A digest pins the image; the tag stays in the reference as a label (as the definition would write it).
  const digest = render(bin, chart, 'audit-logs', [`image.digest=sha256:${'a'.repeat(64)}`, 'image.tag=']);
  assert.equal(find(digest, 'Deployment', 'audit-logs-jobmanager').spec.template.spec.containers[0].image, `registry.example.com/logs/flink-runtime@sha256:${'a'.repeat(64)}`);
  const both = render(bin, chart, 'audit-logs', [`image.digest=sha256:${'a'.repeat(64)}`, 'image.tag=1.20.5-0.2.0']);
  assert.equal(find(both, 'Deployment', 'audit-logs-jobmanager').spec.template.spec.containers[0].image, `registry.example.com/logs/flink-runtime:1.20.5-0.2.0@sha256:${'a'.repeat(64)}`);
});

test('charts: upgrade modes and suspend render the intended hooks and replicas', async () => {
  const bin = await ensureHelm(3);
  const enricher = writeChart(UNITS.find((u) => u.name === 'log-enricher')!);
  const running = render(bin, enricher, 'log-enricher');
  const pre = find(running, 'Job', 'log-enricher-pre-upgrade');
  assert.equal(pre.metadata.annotations['helm.sh/hook'], 'pre-upgrade');
  const args: string[] = pre.spec.template.spec.containers[0].args;
  const arg = (n: string) => args[args.indexOf(n) + 1];
  assert.equal(arg('--event'), 'upgrade');
  assert.equal(arg('--upgrade-mode'), 'last-state');
  assert.equal(arg('--configmap'), 'log-enricher-handoff');
  assert.equal(arg('--ha-configmap'), 'log-enricher-cluster-config-map');
  assert.equal(arg('--rest-url'), 'http://log-enricher-rest.logs.svc:8081');
  assert.equal(find(running, 'Job', 'log-enricher-pre-rollback').metadata.annotations['helm.sh/hook'], 'pre-rollback');
  find(running, 'HorizontalPodAutoscaler', 'log-enricher-taskmanager');
  assert.equal(find(running, 'ConfigMap', 'log-enricher-handoff').metadata.annotations['helm.sh/hook'], 'pre-install');

  const audit = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  const suspended = render(bin, audit, 'audit-logs', ['job.state=suspended']);
  assert.equal(find(suspended, 'Deployment', 'audit-logs-jobmanager').spec.replicas, 0);
  assert.equal(find(suspended, 'Deployment', 'audit-logs-taskmanager').spec.replicas, 0);
  assert.ok(!suspended.some((o) => o.kind === 'PodDisruptionBudget'), 'no budget for zero pods');
  const sargs: string[] = find(suspended, 'Job', 'audit-logs-pre-upgrade').spec.template.spec.containers[0].args;
  assert.equal(sargs[sargs.indexOf('--state') + 1], 'suspended');
  assert.equal(sargs[sargs.indexOf('--savepoint-dir') + 1], 'hdfs://namenode.hadoop.svc:8020/flink/audit-logs/savepoints');
  const stateless = render(bin, audit, 'audit-logs', ['job.upgradeMode=stateless']);
  const targs: string[] = find(stateless, 'Job', 'audit-logs-pre-upgrade').spec.template.spec.containers[0].args;
  assert.equal(targs[targs.indexOf('--upgrade-mode') + 1], 'stateless');
  const enricherSuspended = render(bin, enricher, 'log-enricher', ['job.state=suspended']);
  assert.ok(!enricherSuspended.some((o) => o.kind === 'HorizontalPodAutoscaler'), 'no HPA while suspended');
  assert.equal(find(enricherSuspended, 'Deployment', 'log-enricher-taskmanager').spec.replicas, 0);
  // Every release revision restarts the JobManager, which then reads the hand-off.
  const r2 = helm(bin, ['template', 'audit-logs', audit, '--namespace', 'logs', '--set', 'job.parallelism=2']);
  assert.match(r2.stdout, /cdk8s-flink\/revision: "1"/);
});

test('charts: two releases of one chart in one namespace share no name, selector, cluster id or job id', async () => {
  const bin = await ensureHelm(3);
  const chart = writeChart(UNITS.find((u) => u.name === 'log-enricher')!);
  const a = render(bin, chart, 'enricher-a');
  const b = render(bin, chart, 'enricher-b');
  const names = (objs: any[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`);
  assert.equal(names(a).filter((n) => names(b).includes(n)).length, 0, 'no shared object names');
  for (const o of a.filter((x) => x.kind === 'Deployment')) assert.equal(o.spec.selector.matchLabels['app.kubernetes.io/instance'], 'enricher-a');
  for (const o of a.filter((x) => x.kind === 'Service')) assert.equal(o.spec.selector['app.kubernetes.io/instance'], 'enricher-a');
  const conf = (objs: any[], r: string) => YAML.parse(find(objs, 'ConfigMap', `${r}-config`).data['config.yaml']);
  assert.equal(conf(a, 'enricher-a')['kubernetes.cluster-id'], 'enricher-a');
  assert.equal(conf(b, 'enricher-b')['kubernetes.cluster-id'], 'enricher-b');
  assert.equal(conf(a, 'enricher-a')['jobmanager.rpc.address'], 'enricher-a-jobmanager');
  assert.notEqual(find(a, 'ConfigMap', 'enricher-a-handoff').data.jobId, find(b, 'ConfigMap', 'enricher-b-handoff').data.jobId);
  const env = (objs: any[], r: string) => find(objs, 'Deployment', `${r}-taskmanager`).spec.template.spec.containers[0].env.find((e: any) => e.name === 'JOB_MANAGER_RPC_ADDRESS').value;
  assert.equal(env(b, 'enricher-b'), 'enricher-b-jobmanager');
});

test('charts: two releases of one session-job chart on one session submit two jobs of their own names, which their stop hooks and autoscalers find; a pipeline.name set in the values is taken', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://b/f' });
  const cluster = p.addSessionCluster('elastic', { flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' } });
  const sql = JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n");
  p.addSessionJob('tail', { cluster, parallelism: 2, opsImage: 'registry.example.com/ops:1.0.0', job: sql, jobAutoscaler: { maxParallelism: 4 } });
  const units = synthesizePlatform(p);
  const spec = (objs: any[], r: string) => JSON.parse(find(objs, 'ConfigMap', `${r}-job`).data['job.json']);
  const arg = (o: any, flag: string) => { const a = o.spec.template.spec.containers[0].args as string[]; return a[a.indexOf(flag) + 1]; };
  const names = (objs: any[], r: string) => [spec(objs, r).flinkConfiguration['pipeline.name'], arg(find(objs, 'Job', `${r}-stop`), '--job-name'),
    arg(find(objs, 'Deployment', `${r}-autoscaler`), '--job-name')];
  const tail = writeChart(units.find((u) => u.name === 'tail')!);
  const dist = units.find((u) => u.name === 'tail')!.objects;
  assert.equal(spec(dist, 'tail').flinkConfiguration['pipeline.name'], 'tail', 'dist/: the definition\'s name');
  assert.deepEqual(names(render(bin, tail, 'tail'), 'tail'), ['tail', 'tail', 'tail'], 'the release named after the job: as dist/');
  assert.deepEqual(names(render(bin, tail, 'tail-canary'), 'tail-canary'), ['tail-canary', 'tail-canary', 'tail-canary'], 'another release: a job of its own name');
  assert.notEqual(spec(render(bin, tail, 'tail'), 'tail').jobId, spec(render(bin, tail, 'tail-canary'), 'tail-canary').jobId, 'and its own job id');
  assert.deepEqual(names(render(bin, tail, 'tail-canary', ['flinkConfiguration.pipeline\\.name=chosen']), 'tail-canary'), ['chosen', 'chosen', 'chosen'], 'set in the values: that name');
});

test('charts: literal {{ and }} in job text and labels survive helm template unchanged', async () => {
  const bin = await ensureHelm(4);
  const sql = "CREATE TABLE t (x STRING) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT '{{ $labels.job }} and }}' FROM (VALUES (1));\n";
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  p.addApplication('braces', { job: JobSource.sql(sql), podAnnotations: { note: '{{ not a template }}' } });
  const [u] = synthesizePlatform(p);
  const objs = render(bin, writeChart(u), 'braces');
  assert.equal(find(objs, 'ConfigMap', 'braces-config').data['pipeline.sql'], sql);
  assert.equal(find(objs, 'Deployment', 'braces-jobmanager').spec.template.metadata.annotations.note, '{{ not a template }}');
});

test('charts: monitoring objects follow the release, keep {{ $labels }} in alert text, and switch on and off by values', async () => {
  const bin = await ensureHelm(3);
  const chart = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  const objs = render(bin, chart, 'audit-b', ['monitoring.releaseLabel=kube-prometheus-stack'], 'team-x');
  const pm = find(objs, 'PodMonitor', 'audit-b-metrics');
  assert.equal(pm.metadata.labels.release, 'kube-prometheus-stack');
  assert.equal(pm.spec.selector.matchLabels['app.kubernetes.io/instance'], 'audit-b');
  const rule = find(objs, 'PrometheusRule', 'audit-b-alerts');
  const rules = rule.spec.groups.flatMap((g: any) => g.rules);
  assert.ok(rules.every((r: any) => r.expr.includes('flink_cluster="audit-b"') && !r.expr.includes('audit-logs')), 'queries select this release');
  assert.ok(rules.every((r: any) => !/namespace="logs"/.test(r.expr)), 'and this namespace');
  assert.ok(rules.some((r: any) => r.annotations.summary.includes('{{ $labels.namespace }}')), 'alert templates survive helm');
  assert.ok(!objs.some((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard), 'the dashboard is the platform\'s, not the job\'s');
  const off = render(bin, chart, 'audit-logs', ['monitoring.alerts=false', 'monitoring.scrape=false']);
  assert.ok(!off.some((o) => ['PodMonitor', 'PrometheusRule'].includes(o.kind)));
  // A per-job dashboard (opt-in) follows the release too, and switches off.
  const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://b/f', monitoring: { dashboard: true } });
  p.addApplication('audit-logs', { job: JobSource.jar({ entryClass: 'com.example.A' }) });
  const own = writeChart(synthesizePlatform(p)[0]);
  const dash = find(render(bin, own, 'audit-b', [], 'team-x'), 'ConfigMap', 'audit-b-dashboard');
  assert.equal(dash.metadata.labels.grafana_dashboard, '1');
  assert.match(Object.values(dash.data)[0] as string, /flink_cluster=\\"audit-b\\"/);
  assert.ok(!render(bin, own, 'audit-b', ['monitoring.dashboard=false']).some((o) => /dashboard$/.test(o.metadata.name)));
});

test('charts: the platform dashboard chart follows the release, keeps Grafana\'s {{ }} legends, takes folder, sidecar label and labels from values, and refuses bad values', async () => {
  const bin = await ensureHelm(4);
  const chart = writeChart(DASHBOARD);
  const dist = DASHBOARD.objects[0];
  const [cm] = render(bin, chart, 'grafana-flink', ['folder=Streaming', 'sidecar.label=my_dashboards', 'sidecar.labelValue=yes', 'labels.team=data', 'labels.grafana_dashboard=off'], 'monitoring');
  assert.equal(cm.metadata.name, 'grafana-flink');
  assert.equal(cm.metadata.namespace, 'monitoring');
  assert.equal(cm.metadata.annotations.grafana_folder, 'Streaming');
  assert.equal(cm.metadata.labels.my_dashboards, 'yes');
  assert.equal(cm.metadata.labels.team, 'data');
  assert.equal(cm.metadata.labels.grafana_dashboard, 'off', 'an extra label the sidecar label no longer claims');
  assert.equal(cm.metadata.labels['app.kubernetes.io/instance'], 'grafana-flink');
  assert.deepEqual(cm.data, dist.data, 'the dashboard JSON as synthesized');
  assert.match(Object.values(cm.data)[0] as string, /"legendFormat": "\{\{job_name\}\}"/);
  const [own] = render(bin, chart, 'x', ['labels.app\\.kubernetes\\.io/instance=y']);
  assert.equal(own.metadata.labels['app.kubernetes.io/instance'], 'x', 'the chart\'s own labels win');
  assert.match(renderError(bin, chart, ['folder=a/b']), /folder/);
  assert.match(renderError(bin, chart, ['sidecar.labelValue=not ok']), /labelValue/);
  assert.match(renderError(bin, chart, ['extra=1']), /additional properties|extra/i);
});

test('charts: the NetworkPolicy follows the release (own pods, hooks, test pod, submitters), switches and adjusts by values', async () => {
  const bin = await ensureHelm(3);
  const shared = writeChart(UNITS.find((u) => u.name === 'shared-logs')!);
  const pods = (objs: any[], release: string, c: string) => ({ namespace: 'logs', labels: find(objs, 'Deployment', `${release}-${c}`).spec.template.metadata.labels });
  // A second release of the session cluster: its policy selects its own pods, not the first release's.
  const b = render(bin, shared, 'shared-b');
  const a = render(bin, shared, 'shared-logs');
  const podOf = (objs: any[], release: string, c: string) => ({ namespace: 'logs', podLabels: pods(objs, release, c).labels });
  assert.equal(ingressAllowed(b, pods(b, 'shared-b', 'jobmanager'), podOf(b, 'shared-b', 'taskmanager'), 6123), true, 'own TaskManager -> JobManager RPC');
  assert.equal(ingressAllowed(b, pods(b, 'shared-b', 'taskmanager'), podOf(b, 'shared-b', 'jobmanager'), 6122), true, 'own JobManager -> TaskManager RPC');
  assert.equal(ingressAllowed(b, pods(b, 'shared-b', 'jobmanager'), podOf(a, 'shared-logs', 'taskmanager'), 6123), false, 'the other release\'s TaskManager');
  // The session jobs' charts label their submitters for the cluster they submit to.
  const submit = find(render(bin, writeChart(UNITS.find((u) => u.name === 'error-logs')!), 'error-logs'), 'Job', 'error-logs-submit');
  const submitter = { namespace: 'logs', podLabels: submit.spec.template.metadata.labels };
  assert.equal(ingressAllowed(a, pods(a, 'shared-logs', 'jobmanager'), submitter, 8081), true, 'submitter -> REST');
  assert.equal(ingressAllowed(a, pods(a, 'shared-logs', 'jobmanager'), submitter, 6123), false, 'submitter -> RPC');
  assert.equal(ingressAllowed(b, pods(b, 'shared-b', 'jobmanager'), submitter, 8081), false, 'submitter of another cluster');
  // The standby JobManager's anti-affinity follows the release too.
  const term = find(b, 'Deployment', 'shared-b-jobmanager').spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.deepEqual(term.labelSelector.matchLabels, { 'app.kubernetes.io/name': 'shared-logs', 'app.kubernetes.io/instance': 'shared-b', 'app.kubernetes.io/component': 'jobmanager' });
  // An application chart's hooks and test pod, as rendered, may call REST and nothing else.
  const enricher = writeChart(UNITS.find((u) => u.name === 'log-enricher')!);
  const e = render(bin, enricher, 'log-enricher');
  const jm = pods(e, 'log-enricher', 'jobmanager');
  for (const [kind, name] of [['Job', 'log-enricher-pre-upgrade'], ['Job', 'log-enricher-cleanup'], ['Pod', 'log-enricher-test']]) {
    const o = find(e, kind, name);
    const source = { namespace: 'logs', podLabels: kind === 'Pod' ? o.metadata.labels : o.spec.template.metadata.labels };
    assert.equal(ingressAllowed(e, jm, source, 8081), true, `${name} -> REST`);
    assert.equal(ingressAllowed(e, jm, source, 6124), false, `${name} -> blob`);
  }
  const prometheus = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
  assert.equal(ingressAllowed(e, jm, prometheus, 9249), true, 'kube-prometheus-stack scrapes by default');
  const json = (set: string[]) => helm(bin, ['template', 'log-enricher', enricher, '--namespace', 'logs', ...set.flatMap((s) => ['--set-json', s])]);
  const adjusted = json(['networkPolicy.metricsScrapers=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"observability"}}}]',
    'networkPolicy.restClients=[{"podSelector":{"matchLabels":{"app":"gateway"}}}]']);
  assert.equal(adjusted.code, 0, adjusted.stderr);
  const adj = YAML.parseAllDocuments(adjusted.stdout).map((d) => d.toJSON()).filter(Boolean);
  assert.equal(ingressAllowed(adj, jm, prometheus, 9249), false, 'scrapers replaced');
  assert.equal(ingressAllowed(adj, jm, { namespace: 'observability', podLabels: { app: 'vmagent' } }, 9249), true);
  assert.equal(ingressAllowed(adj, jm, { namespace: 'logs', podLabels: { app: 'gateway' } }, 8081), true, 'declared REST client');
  assert.equal(ingressAllowed(adj, jm, { namespace: 'logs', podLabels: { app: 'gateway' } }, 6123), false);
  const closed = json(['networkPolicy.metricsScrapers=[]']);
  assert.equal(closed.code, 0, closed.stderr);
  const cl = YAML.parseAllDocuments(closed.stdout).map((d) => d.toJSON()).filter(Boolean);
  assert.equal(ingressAllowed(cl, jm, prometheus, 9249), false, 'no scrapers: metrics closed');
  assert.ok(!render(bin, enricher, 'log-enricher', ['networkPolicy.enabled=false']).some((o) => o.kind === 'NetworkPolicy'), 'switched off');
  assert.match(renderError(bin, enricher, ['networkPolicy.restClients[0].podSelector.bogus=x']), /bogus/);
  const emptyPeer = helm(bin, ['template', 'x', enricher, '--set-json', 'networkPolicy.restClients=[{"podSelector":{}}]']);
  assert.notEqual(emptyPeer.code, 0, 'an empty selector (every pod) is refused');
  // A session cluster's REST API to addresses outside the cluster: only with the opt-in.
  assert.match(renderError(bin, shared, ['networkPolicy.restClients[0].ipBlock.cidr=10.0.0.0/8']),
    /networkPolicy\.restClients\[0\]\.ipBlock: 10\.0\.0\.0\/8 opens the session cluster's REST API \(jar upload and run: code execution\)/);
  const opened = render(bin, shared, 'shared-logs', ['networkPolicy.restClients[0].ipBlock.cidr=10.0.0.0/8', 'networkPolicy.allowRemoteCodeExecutionViaRestApi=true']);
  assert.equal(ingressAllowed(opened, pods(opened, 'shared-logs', 'jobmanager'), { ip: '10.1.2.3' }, 8081), true);
});

test('charts: the cleanup hook may delete ConfigMaps by label only when asked to drop the HA metadata', async () => {
  const bin = await ensureHelm(3);
  const enricher = writeChart(UNITS.find((u) => u.name === 'log-enricher')!);
  const role = (set: string[]) => find(render(bin, enricher, 'log-enricher', set), 'Role', 'log-enricher-cleanup');
  assert.deepEqual(role([]).rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['log-enricher-handoff'], verbs: ['get', 'delete'] }]);
  assert.deepEqual(role(['hooks.cleanupHaConfigMaps=true']).rules.map((r: any) => r.verbs), [['get', 'delete'], ['deletecollection']]);
});


test('charts: serviceAccount.create/name/annotations; an existing ServiceAccount or an Ingress in the definition renders as dist/', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  p.addApplication('edge', {
    job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"),
    namespace: 'logs', serviceAccount: ServiceAccountRef.generated({ 'iam.gke.io/gcp-service-account': 'flink@p.iam.gserviceaccount.com' }),
    ingress: { className: 'nginx', host: 'flink.example.com', tlsSecretName: 'flink-tls', annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic' } },
  });
  p.addSessionCluster('pool', { namespace: 'logs', highAvailability: true, serviceAccount: ServiceAccountRef.existing('flink-irsa'), allowRemoteCodeExecutionViaRestApi: true, ingress: { path: '/flink' } });
  const units = synthesizePlatform(p);
  const validate = await loadValidator();
  for (const u of units.filter((x) => x.name === 'edge' || x.name === 'pool')) {
    const objs = assertRendersDist(bin, u);
    assert.deepEqual(objs.flatMap((o) => validate(o)), [], u.name);
  }
  const pool = render(bin, writeChart(units.find((u) => u.name === 'pool')!), 'pool');
  assert.ok(!pool.some((o) => o.kind === 'ServiceAccount'), 'an existing ServiceAccount is not created');
  assert.equal(find(pool, 'RoleBinding', 'pool-flink-ha').subjects[0].name, 'flink-irsa');
  assert.equal(find(pool, 'Ingress', 'pool-rest').spec.rules[0].http.paths[0].path, '/flink');

  // The example charts create <release>-flink; values switch to an existing one or annotate it.
  const audit = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  const existing = render(bin, audit, 'audit-logs', ['serviceAccount.create=false', 'serviceAccount.name=team-flink']);
  assert.ok(!existing.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'audit-logs-flink'));
  for (const c of ['jobmanager', 'taskmanager']) assert.equal(find(existing, 'Deployment', `audit-logs-${c}`).spec.template.spec.serviceAccountName, 'team-flink');
  const annotated = render(bin, audit, 'audit-logs', ['serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/f']);
  assert.deepEqual(find(annotated, 'ServiceAccount', 'audit-logs-flink').metadata.annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/f' });
  const renamed = render(bin, audit, 'audit-logs', ['serviceAccount.name=custom']);
  find(renamed, 'ServiceAccount', 'custom');
  assert.equal(find(renamed, 'Deployment', 'audit-logs-taskmanager').spec.template.spec.serviceAccountName, 'custom');
  const shared = writeChart(UNITS.find((u) => u.name === 'shared-logs')!);
  const sharedExisting = render(bin, shared, 'shared-logs', ['serviceAccount.create=false', 'serviceAccount.name=team-flink']);
  assert.equal(find(sharedExisting, 'RoleBinding', 'shared-logs-flink-ha').subjects[0].name, 'team-flink', 'the HA Role is bound to the existing account');
  assert.match(renderError(bin, audit, ['serviceAccount.create=false']), /serviceAccount\.name: "" is empty while serviceAccount\.create is false; expected the name of an existing ServiceAccount/);
  assert.match(renderError(bin, audit, ['serviceAccount.name=Team_Flink']), /serviceAccount\.name|pattern/);
});

test('charts: a session job\'s jobAutoscaler renders its Deployment as dist/, per release, restricted; values set its arguments; bounds are checked in one line', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://b/f' });
  const cluster = p.addSessionCluster('elastic', { taskManagerPool: { max: 4 }, flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' } });
  p.addSessionJob('tail', {
    cluster, parallelism: 2, opsImage: 'registry.example.com/ops:1.0.0',
    job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"),
    jobAutoscaler: { maxParallelism: 6, minParallelism: 2 },
  });
  const units = synthesizePlatform(p);
  const u = units.find((x) => x.name === 'tail')!;
  const chart = writeChart(u);
  const lint = helm(bin, ['lint', '--strict', chart]);
  assert.equal(lint.code, 0, `${lint.stdout}${lint.stderr}`);
  const dist = normalize(u.objects.find((o) => o.kind === 'Deployment'));
  const rendered = render(bin, chart, 'tail');
  assert.deepEqual(normalize(find(rendered, 'Deployment', 'tail-autoscaler')), dist, 'the Deployment equals dist/');
  const validate = await loadValidator();
  assert.deepEqual(rendered.flatMap((o) => validate(o)), []);
  assert.deepEqual(restrictedViolations(rendered), []);
  // the session cluster's NetworkPolicy lets it call the REST API (its pods carry the REST-client label)
  const session = render(bin, writeChart(units.find((x) => x.name === 'elastic')!), 'elastic');
  const jm = { namespace: 'logs', labels: find(session, 'Deployment', 'elastic-jobmanager').spec.template.metadata.labels };
  const pod = { namespace: 'logs', podLabels: find(rendered, 'Deployment', 'tail-autoscaler').spec.template.metadata.labels };
  assert.equal(ingressAllowed(session, jm, pod, 8081), true, `the autoscaler's pod reaches REST: ${JSON.stringify(pod.podLabels)}`);
  assert.equal(ingressAllowed(session, jm, pod, 6123), false, 'and not RPC');
  assert.equal(pod.podLabels['app.kubernetes.io/component'], 'autoscaler', 'its own component: its selector matches no submitter pod');
  // a second release: its own name and selector, the job found by the release's name
  const other = find(render(bin, chart, 'tail-b'), 'Deployment', 'tail-b-autoscaler');
  assert.equal(other.spec.selector.matchLabels['app.kubernetes.io/instance'], 'tail-b');
  const args = (o: any) => o.spec.template.spec.containers[0].args as string[];
  assert.equal(args(other)[args(other).indexOf('--job-name') + 1], 'tail-b', 'pipeline.name: the release\'s name');
  const set = find(render(bin, chart, 'tail', ['jobAutoscaler.maxParallelism=4', 'jobAutoscaler.metricsWindow=60s', 'flinkConfiguration.pipeline\\.name=tail-v2']), 'Deployment', 'tail-autoscaler');
  const a = args(set);
  assert.deepEqual([a[a.indexOf('--max-parallelism') + 1], a[a.indexOf('--window') + 1], a[a.indexOf('--job-name') + 1]], ['4', '60s', 'tail-v2']);
  assert.match(renderError(bin, chart, ['job.parallelism=7']), /job\.parallelism: 7 is outside jobAutoscaler's 2-6; expected a starting parallelism within it/);
  assert.match(renderError(bin, chart, ['jobAutoscaler.minParallelism=7']), /jobAutoscaler\.minParallelism: 7 is above jobAutoscaler\.maxParallelism \(6\)/);
  assert.match(renderError(bin, chart, ['jobAutoscaler.metricsWindow=5m']), /metricsWindow/);
});

test('charts: ingress.* renders the Ingress and opens REST to the controller; a session cluster needs the opt-in; the schema refuses bad fields', async () => {
  const bin = await ensureHelm(3);
  const audit = writeChart(UNITS.find((u) => u.name === 'audit-logs')!);
  assert.ok(!render(bin, audit, 'audit-logs').some((o) => o.kind === 'Ingress'), 'off by default');
  const on = render(bin, audit, 'audit-logs', ['ingress.enabled=true', 'ingress.className=nginx', 'ingress.host=flink.example.com', 'ingress.path=/ui',
    'ingress.pathType=Exact', 'ingress.tls.secretName=flink-tls', 'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-type=basic']);
  const ing = find(on, 'Ingress', 'audit-logs-rest');
  assert.deepEqual(ing.metadata.annotations, { 'nginx.ingress.kubernetes.io/auth-type': 'basic' });
  assert.deepEqual(ing.spec, {
    ingressClassName: 'nginx', tls: [{ secretName: 'flink-tls', hosts: ['flink.example.com'] }],
    rules: [{ host: 'flink.example.com', http: { paths: [{ path: '/ui', pathType: 'Exact', backend: { service: { name: 'audit-logs-rest', port: { name: 'rest' } } } }] } }],
  });
  const validate = await loadValidator();
  assert.deepEqual(validate(ing), []);
  const jm = { namespace: 'logs', labels: find(on, 'Deployment', 'audit-logs-jobmanager').spec.template.metadata.labels };
  const controller = { namespace: 'ingress-nginx', podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
  assert.equal(ingressAllowed(on, jm, controller, 8081), true, 'controller -> REST');
  assert.equal(ingressAllowed(on, jm, controller, 6123), false, 'controller -> RPC');
  assert.equal(ingressAllowed(render(bin, audit, 'audit-logs'), jm, controller, 8081), false, 'no Ingress: no controller rule');
  const traefik = helm(bin, ['template', 'audit-logs', audit, '--namespace', 'logs', '--set', 'ingress.enabled=true', '--set-json', 'ingress.controller={"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"traefik"}}}']);
  assert.equal(traefik.code, 0, traefik.stderr);
  const tr = YAML.parseAllDocuments(traefik.stdout).map((d) => d.toJSON()).filter(Boolean);
  assert.equal(ingressAllowed(tr, jm, { namespace: 'traefik', podLabels: {} }, 8081), true);
  assert.equal(ingressAllowed(tr, jm, controller, 8081), false);

  const shared = writeChart(UNITS.find((u) => u.name === 'shared-logs')!);
  assert.match(renderError(bin, shared, ['ingress.enabled=true']),
    /ingress\.enabled: true exposes the session cluster's REST API \(jar upload and run: code execution\) through an ingress controller; expected networkPolicy\.allowRemoteCodeExecutionViaRestApi: true/);
  find(render(bin, shared, 'shared-logs', ['ingress.enabled=true', 'networkPolicy.allowRemoteCodeExecutionViaRestApi=true']), 'Ingress', 'shared-logs-rest');
  for (const [set, re] of [['ingress.pathType=Regex', /pathType/], ['ingress.path=ui', /path/], ['ingress.host=https://x', /host/], ['ingress.bogus=1', /bogus/]] as const) {
    assert.match(renderError(bin, audit, [set]), re, set);
  }
});

for (const major of HELMS) {
  test(`helm ${major}: a session job's pre-delete hook stops the job on uninstall: savepoint by default when stateful, cancel when stateless, none by value`, async () => {
    const bin = await ensureHelm(major);
    const chart = writeChart(UNITS.find((u) => u.name === 'error-logs')!);
    const objs = render(bin, chart, 'error-logs');
    const stop = find(objs, 'Job', 'error-logs-stop');
    const submit = find(objs, 'Job', 'error-logs-submit');
    assert.deepEqual(stop.metadata.annotations, { 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-weight': '0', 'helm.sh/hook-delete-policy': 'before-hook-creation' },
      'runs before the release\'s objects go; stays after success so its log (the savepoint path) can be read');
    assert.equal(stop.spec.activeDeadlineSeconds, 240);
    assert.equal(stop.spec.backoffLimit, 0);
    assert.equal(stop.spec.ttlSecondsAfterFinished, 86400);
    const pod = stop.spec.template.spec;
    const ct = pod.containers[0];
    assert.deepEqual(ct.args, ['uninstall', '--rest-url', 'http://shared-logs-rest.logs.svc:8081', '--job-name', 'error-logs', '--stop', 'savepoint',
      '--savepoint-dir', 'hdfs://namenode.hadoop.svc:8020/flink/shared-logs/savepoints', '--on-savepoint-failure', 'fail', '--timeout', '210s']);
    // The submitter's image, account, pod security and REST-client label; no API token, no spec mounted.
    assert.equal(ct.image, submit.spec.template.spec.containers[0].image);
    assert.equal(pod.serviceAccountName, 'error-logs-submitter');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(pod.securityContext, submit.spec.template.spec.securityContext);
    assert.deepEqual(ct.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
    assert.deepEqual(pod.volumes, [{ name: 'tmp', emptyDir: {} }]);
    assert.deepEqual(restrictedViolations([stop]), []);
    assert.deepEqual((await loadValidator())(stop), []);
    // The session cluster's NetworkPolicy admits it to REST, and to nothing else.
    const shared = render(bin, writeChart(UNITS.find((u) => u.name === 'shared-logs')!), 'shared-logs');
    const jm = { namespace: 'logs', labels: find(shared, 'Deployment', 'shared-logs-jobmanager').spec.template.metadata.labels };
    assert.equal(ingressAllowed(shared, jm, { namespace: 'logs', podLabels: stop.spec.template.metadata.labels }, 8081), true, 'stop hook -> REST');
    assert.equal(ingressAllowed(shared, jm, { namespace: 'logs', podLabels: stop.spec.template.metadata.labels }, 6123), false, 'stop hook -> RPC');
    // Values: another release name and job name, cancel, cancel after a failed savepoint, a longer bound, or no hook at all.
    const other = find(render(bin, chart, 'errors-b', ['uninstall.stop=cancel', 'uninstall.onSavepointFailure=cancel', 'uninstall.timeoutSeconds=600', 'flinkConfiguration.pipeline\\.name=errors-b']), 'Job', 'errors-b-stop');
    assert.equal(other.spec.activeDeadlineSeconds, 600);
    const args = other.spec.template.spec.containers[0].args;
    const arg = (n: string) => args[args.indexOf(n) + 1];
    assert.deepEqual([arg('--job-name'), arg('--stop'), arg('--on-savepoint-failure'), arg('--timeout')], ['errors-b', 'cancel', 'cancel', '570s']);
    assert.ok(!render(bin, chart, 'error-logs', ['uninstall.stop=none']).some((o) => /-stop$/.test(o.metadata.name)), 'uninstall.stop none: no hook');
    assert.match(renderError(bin, chart, ['uninstall.stop=drain']), /uninstall.stop.*(must be one of|value must be one of)/);
    assert.match(renderError(bin, chart, ['uninstall.timeoutSeconds=5']), /timeoutSeconds/);
    // A stateless job on a cluster without a savepoint directory: cancel by default; savepoint refused with one line.
    const p = new FlinkPlatform({});
    const pool = p.addSessionCluster('pool', { namespace: 'logs', checkpointDirectory: 's3://b/pool/checkpoints' });
    p.addSessionJob('counts', { cluster: pool, job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n") });
    const stateless = writeChart(synthesizePlatform(p).find((u) => u.name === 'counts')!);
    const cancel = find(render(bin, stateless, 'counts'), 'Job', 'counts-stop').spec.template.spec.containers[0].args;
    assert.deepEqual(cancel.slice(0, 9), ['uninstall', '--rest-url', 'http://pool-rest.logs.svc:8081', '--job-name', 'counts', '--stop', 'cancel', '--savepoint-dir', '']);
    assert.match(renderError(bin, stateless, ['uninstall.stop=savepoint']),
      /uninstall\.stop: "savepoint" needs a savepoint directory, and session cluster "pool" has none; expected cancel or none/);
  });
}
