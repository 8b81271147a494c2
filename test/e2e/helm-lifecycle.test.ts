/**
 * Every example chart through its life on a real Kubernetes control plane (kube-apiserver,
 * controller-manager, scheduler and etcd built from source; kwok nodes, see
 * test/support/control-plane), with the real helm 3 and helm 4 binaries, in a namespace that
 * enforces the restricted Pod Security Standard: install, test-object acceptance, upgrades of
 * image, configuration, parallelism and TaskManagers, suspend and resume, rollback, uninstall,
 * two releases side by side, and `cdk8s-flink deploy` with a value the API server rejects.
 *
 * Simulated by kwok: containers never run, pods of Jobs (the hooks) succeed at once. So this
 * proves what the API server enforces and the order Helm applies things in; what the hooks'
 * program does is proven against real Flink in upgrade-state.test.ts.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ControlPlane, startControlPlane } from '../support/control-plane';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHARTS = path.join(ROOT, 'charts');
const CLI = path.join(ROOT, 'build', 'lib', 'cli', 'main.js');
let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane();
  for (const ns of ['logs', 'team-b', 'dry-run', 'ops']) await cp.createNamespace(ns, { podSecurity: 'restricted' });
});
after(async () => { await cp?.stop(); });

function helmRun(bin: string, args: string[]) {
  const r = spawnSync(bin, [...args, '--kubeconfig', cp.kubeconfig], {
    encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'helm-cache'), HELM_CONFIG_HOME: path.join(os.tmpdir(), 'helm-config'), HELM_DATA_HOME: path.join(os.tmpdir(), 'helm-data') },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function helmOk(bin: string, args: string[]): string {
  const r = helmRun(bin, args);
  assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.out}\n${cp.logs(10)}`);
  assert.doesNotMatch(r.out, /^(W\d{4}|Warning:)/m, `no API server warnings in: ${r.out}`);
  return r.out;
}

/** A kubeconfig that authenticates with a short-lived token of the ServiceAccount `sa`. */
async function serviceAccountKubeconfig(sa: string, ns: string): Promise<string> {
  const admin = YAML.parse(fs.readFileSync(cp.kubeconfig, 'utf8'));
  const tok = await cp.kubectl(['create', 'token', sa, '-n', ns, '--duration', '10m']);
  assert.equal(tok.code, 0, tok.stderr);
  const file = path.join(os.tmpdir(), `kubeconfig-${ns}-${sa}`);
  fs.writeFileSync(file, YAML.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'c', cluster: admin.clusters[0].cluster }],
    users: [{ name: 'sa', user: { token: tok.stdout.trim() } }],
    contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa' } }],
  }));
  return file;
}

async function get(kind: string, name: string, ns = 'logs'): Promise<any | undefined> {
  const r = await cp.kubectl(['get', kind, name, '-n', ns, '-o', 'json']);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

async function list(kind: string, selector: string, ns = 'logs'): Promise<any[]> {
  const r = await cp.kubectl(['get', kind, '-n', ns, '-l', selector, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).items;
}

/** When each run of a hook Job started (its events), oldest first. */
async function hookTimes(job: string, ns = 'logs'): Promise<string[]> {
  const r = await cp.kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=Job,involvedObject.name=${job}`, '-o', 'json']);
  const items = JSON.parse(r.stdout).items as any[];
  return items.map((e) => e.firstTimestamp ?? e.eventTime).filter(Boolean).sort();
}

async function hookRan(job: string, ns = 'logs'): Promise<string | undefined> {
  return (await hookTimes(job, ns))[0];
}

/** Objects the release owns, by the instance label (hooks and the hand-off excluded). */
async function releaseObjects(release: string, ns = 'logs'): Promise<string[]> {
  const kinds = 'deployments,services,configmaps,serviceaccounts,roles,rolebindings,poddisruptionbudgets,horizontalpodautoscalers,podmonitors,prometheusrules';
  const r = await cp.kubectl(['get', kinds, '-n', ns, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json']);
  return (JSON.parse(r.stdout).items as any[]).map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

async function testObjectsAccepted(bin: string, chart: string, release: string): Promise<void> {
  const t = helmRun(bin, ['template', release, path.join(CHARTS, chart), '-n', 'logs', '--show-only', 'templates/tests/pod-test.yaml']);
  assert.equal(t.code, 0, t.out);
  const r = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-n', 'logs', '-f', '-'], { input: t.out });
  assert.equal(r.code, 0, `the helm test pod is admitted under restricted: ${r.stderr}`);
}

const config = async (release: string) => YAML.parse((await get('configmap', `${release}-config`)).data['config.yaml']);

for (const [chart, major] of [['audit-logs', 3], ['log-enricher', 4]] as const) {
  test(`lifecycle (helm ${major}): ${chart} installs, upgrades image/config/parallelism/TaskManagers, suspends, resumes, rolls back and uninstalls`, { timeout: 10 * 60_000 }, async () => {
    const helm = await ensureHelm(major);
    const dir = path.join(CHARTS, chart);
    // install
    helmOk(helm, ['upgrade', '--install', chart, dir, '-n', 'logs', '--wait', '--timeout', '180s']);
    const jm = await get('deployment', `${chart}-jobmanager`);
    assert.equal(jm.status.availableReplicas, 1, 'JobManager available (kwok pod Ready)');
    const pods = await list('pods', `app.kubernetes.io/instance=${chart}`);
    assert.ok(pods.length >= 2 && pods.every((p) => p.status.phase === 'Running'), 'pods admitted under restricted and running');
    const handoff = await get('configmap', `${chart}-handoff`);
    assert.equal(handoff.data.jobId, createHash('sha256').update(`cdk8s-flink/logs/${chart}`).digest('hex').slice(0, 32), 'the pre-install hook created the hand-off');
    assert.ok(await hookRan(`${chart}-preflight`), 'the Kafka preflight hook ran before install');
    assert.ok(await get('podmonitor', `${chart}-metrics`), 'PodMonitor accepted by its CRD');
    assert.ok(await get('prometheusrule', `${chart}-alerts`), 'PrometheusRule accepted by its CRD');
    await testObjectsAccepted(helm, chart, chart);
    const firstImage = jm.spec.template.spec.containers[0].image;

    // upgrade image, configuration, parallelism and TaskManagers
    const reactive = chart === 'log-enricher';
    const sets = reactive
      ? ['image.tag=2.2.1-0.2.0', 'flinkConfiguration.pipeline\\.object-reuse=true', 'taskManager.autoscaling.maxReplicas=8']
      : ['image.tag=1.20.5-0.2.0', 'flinkConfiguration.pipeline\\.object-reuse=true', 'job.parallelism=4', 'taskManager.replicas=2'];
    const before = Date.now();
    helmOk(helm, ['upgrade', chart, dir, '-n', 'logs', '--reuse-values', ...sets.flatMap((s) => ['--set', s]), '--wait', '--timeout', '180s']);
    const jm2 = await get('deployment', `${chart}-jobmanager`);
    assert.match(jm2.spec.template.spec.containers[0].image, /-0\.2\.0$/);
    assert.equal(jm2.spec.template.metadata.annotations['cdk8s-flink/revision'], '2', 'the JobManager restarts on every release');
    assert.equal((await config(chart))['pipeline.object-reuse'], true);
    if (reactive) assert.equal((await get('hpa', `${chart}-taskmanager`)).spec.maxReplicas, 8);
    else {
      assert.equal((await config(chart))['parallelism.default'], 4);
      assert.equal((await get('deployment', `${chart}-taskmanager`)).spec.replicas, 2);
    }
    const hookAt = await hookRan(`${chart}-pre-upgrade`);
    assert.ok(hookAt, 'the pre-upgrade hook ran');
    const preflights = await hookTimes(`${chart}-preflight`);
    assert.ok(preflights.some((x) => Date.parse(x) >= before - 2000 && Date.parse(x) <= Date.parse(hookAt!) + 1000), `the preflight hook ran again, before the hand-off hook: ${preflights.join(', ')} / ${hookAt}`);
    assert.ok(Date.parse(hookAt!) >= before - 2000, 'during this upgrade');
    assert.equal(await get('job', `${chart}-pre-upgrade`), undefined, 'and was deleted after success');
    const rs = (await list('replicasets', `app.kubernetes.io/instance=${chart},app.kubernetes.io/component=jobmanager`))
      .filter((x) => x.metadata.annotations['deployment.kubernetes.io/revision'] === '2')[0];
    assert.ok(Date.parse(rs.metadata.creationTimestamp) >= Date.parse(hookAt!), 'the new JobManager came after the hook');

    // suspend and resume
    helmOk(helm, ['upgrade', chart, dir, '-n', 'logs', '--reuse-values', '--set', 'job.state=suspended', '--wait', '--timeout', '180s']);
    assert.equal((await get('deployment', `${chart}-jobmanager`)).spec.replicas, 0);
    assert.equal((await get('deployment', `${chart}-taskmanager`)).spec.replicas, 0);
    assert.equal(await get('pdb', `${chart}-taskmanager`), undefined, 'no budget while suspended');
    if (reactive) assert.equal(await get('hpa', `${chart}-taskmanager`), undefined, 'no HPA while suspended');
    helmOk(helm, ['upgrade', chart, dir, '-n', 'logs', '--reuse-values', '--set', 'job.state=running', '--wait', '--timeout', '180s']);
    assert.equal((await get('deployment', `${chart}-jobmanager`)).status.availableReplicas, 1);

    // rollback to the first release
    helmOk(helm, ['rollback', chart, '1', '-n', 'logs', '--wait', '--timeout', '180s']);
    assert.equal((await get('deployment', `${chart}-jobmanager`)).spec.template.spec.containers[0].image, firstImage);
    assert.ok(await hookRan(`${chart}-pre-rollback`), 'the pre-rollback hook ran');
    assert.equal((await config(chart))['pipeline.object-reuse'], undefined);

    // uninstall: the release's objects go; the hand-off (a hook resource) is left to the post-delete hook
    helmOk(helm, ['uninstall', chart, '-n', 'logs', '--wait', '--timeout', '180s']);
    assert.deepEqual(await releaseObjects(chart), ['ConfigMap/' + `${chart}-handoff`]);
    assert.ok(await hookRan(`${chart}-cleanup`), 'the post-delete hook ran');
    await cp.kubectl(['delete', 'configmap', `${chart}-handoff`, '-n', 'logs']);
  });
}

test('lifecycle (helm 4 and 3): the session cluster, its two session jobs and access-logs install, upgrade and uninstall cleanly', { timeout: 10 * 60_000 }, async () => {
  const h3 = await ensureHelm(3);
  const h4 = await ensureHelm(4);
  helmOk(h4, ['upgrade', '--install', 'shared-logs', path.join(CHARTS, 'shared-logs'), '-n', 'logs', '--wait', '--timeout', '180s']);
  assert.equal((await get('deployment', 'shared-logs-jobmanager')).status.availableReplicas, 2, 'two JobManagers with HA');
  for (const job of ['error-logs', 'slow-requests']) {
    helmOk(h3, ['upgrade', '--install', job, path.join(CHARTS, job), '-n', 'logs', '--wait', '--wait-for-jobs', '--timeout', '180s']);
    assert.ok(await hookRan(`${job}-submit`), `${job}: the submitter ran after install`);
    const spec = JSON.parse((await get('configmap', `${job}-job`)).data['job.json']);
    assert.equal(spec.restUrl, 'http://shared-logs-rest.logs.svc:8081');
    helmOk(h3, ['upgrade', job, path.join(CHARTS, job), '-n', 'logs', '--reuse-values', '--set', 'job.parallelism=1', '--wait', '--timeout', '180s']);
    assert.equal(JSON.parse((await get('configmap', `${job}-job`)).data['job.json']).parallelism, 1);
  }
  helmOk(h4, ['upgrade', 'shared-logs', path.join(CHARTS, 'shared-logs'), '-n', 'logs', '--reuse-values', '--set', 'taskManager.replicas=4', '--wait', '--timeout', '180s']);
  assert.equal((await get('deployment', 'shared-logs-taskmanager')).spec.replicas, 4);
  helmOk(h3, ['upgrade', '--install', 'access-logs', path.join(CHARTS, 'access-logs'), '-n', 'logs', '--wait', '--timeout', '180s']);
  for (const [rel, h] of [['error-logs', h3], ['slow-requests', h3], ['shared-logs', h4], ['access-logs', h3]] as const) {
    helmOk(h, ['uninstall', rel, '-n', 'logs', '--wait', '--timeout', '180s']);
    assert.deepEqual((await releaseObjects(rel)).filter((o) => !o.endsWith('-handoff')), [], `${rel}: nothing left`);
    if (rel === 'error-logs' || rel === 'slow-requests') {
      // The pre-delete hook that stops the job ran (what it does to Flink: e2e-session.test.ts); its Job stays for its log.
      assert.ok(await hookRan(`${rel}-stop`), `${rel}: the stop hook ran on uninstall`);
      assert.equal((await get('job', `${rel}-stop`)).spec.ttlSecondsAfterFinished, 86400);
      await cp.kubectl(['delete', 'job', `${rel}-stop`, '-n', 'logs']);
    }
  }
  await cp.kubectl(['delete', 'configmap', 'access-logs-handoff', '-n', 'logs']);
});

test('two releases of one chart side by side (helm 4): separate objects, and removing one leaves the other untouched', { timeout: 10 * 60_000 }, async () => {
  const helm = await ensureHelm(4);
  const dir = path.join(CHARTS, 'audit-logs');
  for (const r of ['audit-a', 'audit-b']) helmOk(helm, ['upgrade', '--install', r, dir, '-n', 'team-b', '--wait', '--timeout', '180s']);
  const a = await releaseObjects('audit-a', 'team-b');
  const b = await releaseObjects('audit-b', 'team-b');
  assert.ok(a.length > 8 && b.length === a.length);
  assert.equal(a.filter((x) => b.includes(x)).length, 0, 'no shared object');
  const bBefore = JSON.stringify((await get('deployment', 'audit-b-taskmanager', 'team-b')).spec);
  const podsB = (await list('pods', 'app.kubernetes.io/instance=audit-b', 'team-b')).map((p) => p.metadata.uid).sort();
  helmOk(helm, ['uninstall', 'audit-a', '-n', 'team-b', '--wait', '--timeout', '180s']);
  assert.deepEqual(await releaseObjects('audit-a', 'team-b'), ['ConfigMap/audit-a-handoff']);
  assert.equal(JSON.stringify((await get('deployment', 'audit-b-taskmanager', 'team-b')).spec), bBefore);
  assert.deepEqual((await list('pods', 'app.kubernetes.io/instance=audit-b', 'team-b')).map((p) => p.metadata.uid).sort(), podsB, 'audit-b pods untouched');
  helmOk(helm, ['uninstall', 'audit-b', '-n', 'team-b', '--wait', '--timeout', '180s']);
});

test('cdk8s-flink deploy against the API server: installs; a value the server rejects fails in one line naming the object and field, and the release stays as it was', { timeout: 10 * 60_000 }, async () => {
  const helm = await ensureHelm(4);
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KUBECONFIG: cp.kubeconfig } });
  const ok = cli(['deploy', 'audit-logs', '-n', 'logs', '--helm', helm, '--set', 'image.tag=1.20.5-0.3.0', '--timeout', '180s']);
  assert.equal(ok.status, 0, ok.stderr);
  const spec = JSON.stringify((await get('deployment', 'audit-logs-taskmanager')).spec.template);
  // A label value the chart's schema lets through (it checks label keys) and the API server refuses.
  const bad = cli(['deploy', 'audit-logs', '-n', 'logs', '--helm', helm, '--set', 'podLabels.team=-bad-', '--timeout', '60s']);
  assert.equal(bad.status, 1);
  const last = bad.stderr.trim().split('\n').pop()!;
  assert.match(last, /^cdk8s-flink: error: Deployment\.apps "audit-logs-(jobmanager|taskmanager)" is invalid: spec\.template\.(metadata\.)?labels: Invalid value: "-bad-"/);
  assert.equal(JSON.stringify((await get('deployment', 'audit-logs-taskmanager')).spec.template), spec, 'the release was left as it was');
  const status = cli(['status', 'audit-logs', '-n', 'logs', '--helm', helm, '--json']);
  assert.equal(JSON.parse(status.stdout).info.status, 'deployed');
  helmOk(helm, ['uninstall', 'audit-logs', '-n', 'logs', '--wait', '--timeout', '180s']);
  fs.rmSync(path.join(os.tmpdir(), 'helm-data'), { recursive: true, force: true });
});

test('every object of every example chart, hooks and tests included, passes the API server\'s strict validation and restricted admission (dry run)', { timeout: 5 * 60_000 }, async () => {
  const helm = await ensureHelm(3);
  for (const chart of fs.readdirSync(CHARTS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    const t = helmRun(helm, ['template', chart, path.join(CHARTS, chart), '-n', 'dry-run']);
    assert.equal(t.code, 0, t.out);
    const r = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-n', 'dry-run', '-f', '-'], { input: t.out });
    assert.equal(r.code, 0, `${chart}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Warning/, `${chart}: no API server warnings`);
    const created = r.stdout.trim().split('\n').filter(Boolean);
    const rendered = (t.out.match(/^kind: /gm) ?? []).length;
    assert.ok(rendered >= 1 && created.length === rendered, `${chart}: ${created.length} of ${rendered} objects accepted`);
  }
});

test('the hook program with the hook\'s own ServiceAccount token: rewrites exactly its hand-off, is refused everything else, and reports missing HA metadata', { timeout: 8 * 60_000 }, async () => {
  const helm = await ensureHelm(3);
  const OPS = path.join(ROOT, 'build', 'lib', 'ops', 'main.js');
  const tokenKubeconfig = (sa: string) => serviceAccountKubeconfig(sa, 'ops');
  const ops = (args: string[]) => spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 60_000 });
  for (const chart of ['audit-logs', 'log-enricher']) {
    helmOk(helm, ['upgrade', '--install', chart, path.join(CHARTS, chart), '-n', 'ops', '--wait', '--timeout', '180s']);
  }
  // savepoint mode, no JobManager reachable, a savepoint handed over before: the hook keeps it and rotates the id
  const patch = await cp.kubectl(['patch', 'configmap', 'audit-logs-handoff', '-n', 'ops', '--type', 'merge', '-p', JSON.stringify({ data: { savepointPath: 'file:///sp/savepoint-1' } })]);
  assert.equal(patch.code, 0, patch.stderr);
  const kc = await tokenKubeconfig('audit-logs-hooks');
  const before = (await get('configmap', 'audit-logs-handoff', 'ops')).data.jobId;
  const r = ops(['handoff', '--event', 'upgrade', '--rest-url', 'http://127.0.0.1:65533', '--namespace', 'ops', '--configmap', 'audit-logs-handoff',
    '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '2', '--savepoint-dir', 'file:///sp', '--kubeconfig', kc]);
  assert.equal(r.status, 0, r.stderr);
  const after = (await get('configmap', 'audit-logs-handoff', 'ops')).data;
  assert.notEqual(after.jobId, before);
  assert.equal(after.savepointPath, 'file:///sp/savepoint-1');
  // least privilege: the same token reads no other ConfigMap and writes nothing else
  const other = await cp.kubectl(['--kubeconfig', kc, 'get', 'configmap', 'audit-logs-config', '-n', 'ops']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /forbidden/i);
  const write = await cp.kubectl(['--kubeconfig', kc, 'create', 'configmap', 'x', '-n', 'ops']);
  assert.match(write.stderr, /forbidden/i);
  // last-state with no HA metadata yet: a clear refusal (the HA Role lets the hook read exactly that ConfigMap)
  const kcHa = await tokenKubeconfig('log-enricher-hooks');
  const ls = ops(['handoff', '--event', 'upgrade', '--rest-url', 'http://127.0.0.1:65533', '--namespace', 'ops', '--configmap', 'log-enricher-handoff',
    '--upgrade-mode', 'last-state', '--state', 'running', '--revision', '2', '--savepoint-dir', '', '--ha-configmap', 'log-enricher-cluster-config-map', '--kubeconfig', kcHa]);
  assert.equal(ls.status, 1);
  assert.match(ls.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: upgradeMode last-state: the HA metadata of this job is missing/);
  // and with HA metadata present it keeps the job id
  await cp.kubectl(['create', 'configmap', 'log-enricher-cluster-config-map', '-n', 'ops', '--from-literal=checkpointID-0000000000000000001=x']);
  const ok2 = ops(['handoff', '--event', 'upgrade', '--rest-url', 'http://127.0.0.1:65533', '--namespace', 'ops', '--configmap', 'log-enricher-handoff',
    '--upgrade-mode', 'last-state', '--state', 'running', '--revision', '2', '--savepoint-dir', '', '--ha-configmap', 'log-enricher-cluster-config-map', '--kubeconfig', kcHa]);
  assert.equal(ok2.status, 0, ok2.stderr);
  // cleanup (as the post-delete hook would, here with the admin credentials)
  for (const chart of ['audit-logs', 'log-enricher']) {
    helmOk(helm, ['uninstall', chart, '-n', 'ops', '--wait', '--timeout', '180s']);
    const c = ops(['cleanup', '--namespace', 'ops', '--configmap', `${chart}-handoff`, '--kubeconfig', cp.kubeconfig]);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(await get('configmap', `${chart}-handoff`, 'ops'), undefined);
  }
});

test('the cleanup hook\'s own token deletes the HA ConfigMaps by label only with hooks.cleanupHaConfigMaps, and nothing else', { timeout: 5 * 60_000 }, async () => {
  const helm = await ensureHelm(3);
  const OPS = path.join(ROOT, 'build', 'lib', 'ops', 'main.js');
  const ns = 'cleanup';
  await cp.createNamespace(ns, { podSecurity: 'restricted' });
  try {
    // The post-delete hook's ServiceAccount, Role and RoleBinding as the chart renders them.
    const installRbac = async (set: string[]) => {
      const t = helmRun(helm, ['template', 'log-enricher', path.join(CHARTS, 'log-enricher'), '-n', ns, ...set.flatMap((s) => ['--set', s]),
        '--show-only', 'templates/resources.yaml']);
      assert.equal(t.code, 0, t.out);
      // Only the cleanup hook's account and its grant (the chart's objects template holds all the others too, its Job as well).
      const docs = t.out.split(/^---\n/m).filter((d) => /^ {2}name: log-enricher-cleanup$/m.test(d) && /^kind: (ServiceAccount|Role|RoleBinding)$/m.test(d));
      assert.deepEqual(docs.map((d) => /^kind: (\S+)$/m.exec(d)?.[1]).sort(), ['Role', 'RoleBinding', 'ServiceAccount'], t.out);
      const r = await cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: docs.join('---\n') });
      assert.equal(r.code, 0, r.stderr);
      return serviceAccountKubeconfig('log-enricher-cleanup', ns);
    };
    const seed = async () => {
      for (const [name, labels] of [['log-enricher-handoff', ''], ['log-enricher-cluster-config-map', 'app=log-enricher,type=flink-native-kubernetes'], ['unrelated', '']] as const) {
        if (await get('configmap', name, ns)) continue;
        assert.equal((await cp.kubectl(['create', 'configmap', name, '-n', ns])).code, 0);
        if (labels) assert.equal((await cp.kubectl(['label', 'configmap', name, '-n', ns, ...labels.split(',')])).code, 0);
      }
    };
    const cleanup = (kc: string) => spawnSync(process.execPath, [OPS, 'cleanup', '--namespace', ns, '--configmap', 'log-enricher-handoff', '--ha-cluster-id', 'log-enricher', '--kubeconfig', kc], { encoding: 'utf8', timeout: 60_000 });
    // Default values: the token deletes the hand-off by name and is refused the HA ConfigMaps.
    await seed();
    const off = cleanup(await installRbac([]));
    assert.equal(off.status, 1, off.stderr);
    assert.match(off.stderr, /forbidden|403/i);
    assert.equal(await get('configmap', 'log-enricher-handoff', ns), undefined, 'hand-off deleted by name');
    assert.ok(await get('configmap', 'log-enricher-cluster-config-map', ns), 'HA metadata kept');
    // Asked to drop the HA metadata: the deletecollection rule alone is enough, and only labelled ConfigMaps go.
    await seed();
    const on = cleanup(await installRbac(['hooks.cleanupHaConfigMaps=true']));
    assert.equal(on.status, 0, on.stderr);
    assert.equal(await get('configmap', 'log-enricher-cluster-config-map', ns), undefined);
    assert.ok(await get('configmap', 'unrelated', ns), 'an unlabelled ConfigMap stays');
  } finally {
    await cp.kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
});
