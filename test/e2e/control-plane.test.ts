/**
 * Proves the tests' control plane (test/support/control-plane.ts): real etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler at KUBERNETES_VERSION, with kwok's simulated nodes.
 *
 * The first run builds the binaries from the Go module proxy (tens of minutes on 2 cores; cached
 * afterwards under cacheDir('k8s', ...) and cacheDir('kwok', ...)).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ControlPlane, ensureControlPlaneBinaries, lastBuildReport, startControlPlane } from '../support/control-plane';
import { ensureHelm, run } from '../support/tools';
import { KUBERNETES_VERSION } from '../support/versions';

const NS = 'cp-test';

/** Pod spec parts that satisfy Pod Security "restricted". */
const restrictedPod = (name: string, extra: Record<string, unknown> = {}) => ({
  securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [
    {
      name,
      image: 'registry.invalid/app:1.0',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      ...extra,
    },
  ],
});

const deployment = (name: string, selector: Record<string, string>, podExtra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 2,
    selector: { matchLabels: selector },
    template: { metadata: { labels: selector }, spec: restrictedPod('app', podExtra) },
  },
});

test('control plane: real apiserver/controllers/scheduler, kwok nodes, CRDs, helm', { timeout: 100 * 60_000 }, async (t) => {
  // the (cold: long) build first, outside the start-up measurement
  const tb = Date.now();
  await ensureControlPlaneBinaries();
  const build = lastBuildReport();
  t.diagnostic(`binaries ready in ${Math.round((Date.now() - tb) / 1000)} s (build ${Math.round((build?.buildMs ?? 0) / 1000)} s: ${Object.entries(build?.steps ?? {}).map(([k, v]) => `${k} ${Math.round(v / 1000)} s`).join(', ')}); sizes MiB: ${Object.entries(build?.sizes ?? {}).map(([k, v]) => `${k}=${(v / 2 ** 20).toFixed(1)}`).join(' ')}`);

  const t0 = Date.now();
  const cp: ControlPlane = await startControlPlane();
  const startMs = Date.now() - t0;
  t.diagnostic(`start-up ${startMs} ms (${Object.entries(cp.timings).map(([k, v]) => `${k}=${v}`).join(' ')}); ${cp.server}`);
  const pids = cp.pids();
  const kubectl = async (args: string[], input?: string) => cp.kubectl(args, { input });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n${cp.logs(15)}`);
    return r.stdout;
  };
  const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--validate=strict', '--field-manager=cp-test', '-f', '-'], JSON.stringify(obj));

  try {
    await t.test('server version is the built release', async () => {
      const v = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
      assert.equal(v.serverVersion.gitVersion, KUBERNETES_VERSION);
      const nodes = JSON.parse(await ok(['get', 'nodes', '-o', 'json'])) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
      assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), cp.nodes);
      for (const n of nodes.items) assert.ok(n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata.name} not Ready`);
    });

    await t.test('namespace enforcing Pod Security restricted', async () => {
      await cp.createNamespace(NS, { podSecurity: 'restricted' });
      const ns = JSON.parse(await ok(['get', 'namespace', NS, '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
      assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    });

    await t.test('a compliant Deployment gets Ready pods (scheduled to kwok nodes)', async () => {
      const r = await apply(deployment('web', { app: 'web' }));
      assert.equal(r.code, 0, r.stderr);
      await ok(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=90s']);
      await ok(['-n', NS, 'wait', '--for=condition=Ready', 'pod', '-l', 'app=web', '--timeout=60s']);
      const pods = JSON.parse(await ok(['-n', NS, 'get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: { spec: { nodeName: string }; status: { phase: string; podIP?: string } }[] };
      assert.equal(pods.items.length, 2);
      for (const p of pods.items) {
        assert.ok(cp.nodes.includes(p.spec.nodeName), `scheduled to ${p.spec.nodeName}`);
        assert.equal(p.status.phase, 'Running');
        assert.ok(p.status.podIP, 'kwok assigns a pod IP');
      }
    });

    await t.test('a non-compliant pod is rejected by PodSecurity', async () => {
      const r = await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'root', namespace: NS },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/app:1.0', securityContext: { privileged: true } }] },
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /violates PodSecurity "restricted:latest"/);
      assert.match(r.stderr, /privileged/);
    });

    await t.test('a Job completes (kwok completes its pod)', async () => {
      const r = await apply({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'once', namespace: NS },
        spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', ...restrictedPod('once') } } },
      });
      assert.equal(r.code, 0, r.stderr);
      await ok(['-n', NS, 'wait', '--for=condition=Complete', 'job/once', '--timeout=90s']);
      const pods = JSON.parse(await ok(['-n', NS, 'get', 'pods', '-l', 'job-name=once', '-o', 'json'])) as { items: { status: { phase: string } }[] };
      assert.deepEqual(pods.items.map((p) => p.status.phase), ['Succeeded']);
    });

    await t.test("a Deployment's selector is immutable", async () => {
      const r = await apply(deployment('web', { app: 'web', tier: 'front' }));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /spec\.selector: Invalid value: .*field is immutable/);
    });

    await t.test('an unknown field is rejected with --validate=strict (fieldValidation=Strict)', async () => {
      const bad = deployment('web2', { app: 'web2' }, { imagePullPolicyy: 'Always' });
      // server-side apply: the structured-merge-diff schema check
      const r = await apply(bad);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /\.imagePullPolicyy: field not declared in schema/);
      // create/update with fieldValidation=Strict: the strict decoder
      const c = await kubectl(['create', '--validate=strict', '-f', '-'], JSON.stringify(bad));
      assert.notEqual(c.code, 0);
      assert.match(c.stderr, /strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolicyy"/);
      // the same for a custom resource (structural schema of the CRD)
      const pm = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'bad', namespace: NS }, spec: { selector: {}, podMetricsEndpointz: [] } };
      const cr = await apply(pm);
      assert.notEqual(cr.code, 0);
      assert.match(cr.stderr, /podMetricsEndpointz: field not declared in schema/);
      const cc = await kubectl(['create', '--validate=strict', '-f', '-'], JSON.stringify(pm));
      assert.notEqual(cc.code, 0);
      assert.match(cc.stderr, /strict decoding error: unknown field "spec\.podMetricsEndpointz"/);
    });

    await t.test('a PodMonitor (CRD) is accepted', async () => {
      const r = await apply({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: 'web', namespace: NS },
        spec: { selector: { matchLabels: { app: 'web' } }, podMetricsEndpoints: [{ port: 'metrics', interval: '15s' }] },
      });
      assert.equal(r.code, 0, r.stderr);
      const pm = JSON.parse(await ok(['-n', NS, 'get', 'podmonitor', 'web', '-o', 'json'])) as { spec: { podMetricsEndpoints: { port: string }[] } };
      assert.equal(pm.spec.podMetricsEndpoints[0].port, 'metrics');
      const crds = await ok(['get', 'crd', '-o', 'name']);
      for (const c of ['podmonitors.monitoring.coreos.com', 'servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com', 'flinkdeployments.flink.apache.org', 'flinksessionjobs.flink.apache.org']) {
        assert.ok(crds.includes(`customresourcedefinition.apiextensions.k8s.io/${c}`), `${c} installed`);
      }
    });

    for (const major of [3, 4] as const) {
      await t.test(`helm ${major}: version, install, uninstall`, async () => {
        const helm = await ensureHelm(major);
        const home = fs.mkdtempSync(path.join(os.tmpdir(), `cp-helm${major}-`));
        try {
          const env = {
            ...process.env,
            KUBECONFIG: cp.kubeconfig,
            HELM_CACHE_HOME: path.join(home, 'cache'),
            HELM_CONFIG_HOME: path.join(home, 'config'),
            HELM_DATA_HOME: path.join(home, 'data'),
          };
          const v = await run(helm, ['version', '--template', '{{.Version}}'], { env, timeoutMs: 60_000 });
          assert.match(v.stdout, new RegExp(`^v${major}\\.`));
          const chart = path.join(home, 'tiny');
          fs.mkdirSync(path.join(chart, 'templates'), { recursive: true });
          fs.writeFileSync(path.join(chart, 'Chart.yaml'), `apiVersion: v2\nname: tiny\nversion: 0.1.0\nkubeVersion: ">=1.34.0-0"\n`);
          fs.writeFileSync(path.join(chart, 'values.yaml'), 'replicas: 1\n');
          const dep = deployment('{{ .Release.Name }}', { app: '{{ .Release.Name }}' });
          dep.metadata.namespace = '{{ .Release.Namespace }}';
          (dep.spec as { replicas: unknown }).replicas = '{{ .Values.replicas }}';
          fs.writeFileSync(
            path.join(chart, 'templates', 'all.yaml'),
            `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n---\n` +
              JSON.stringify(dep).replace('"{{ .Values.replicas }}"', '{{ .Values.replicas }}') +
              '\n',
          );
          const rel = `tiny${major}`;
          await run(helm, ['install', rel, chart, '--namespace', NS, '--kubeconfig', cp.kubeconfig, '--wait', '--timeout', '90s'], { env, timeoutMs: 120_000 });
          const cm = JSON.parse(await ok(['-n', NS, 'get', 'configmap', rel, '-o', 'json'])) as { data: { kube: string } };
          assert.equal(cm.data.kube, KUBERNETES_VERSION);
          await ok(['-n', NS, 'wait', '--for=condition=Available', `deployment/${rel}`, '--timeout=30s']);
          const list = await run(helm, ['list', '--namespace', NS, '--kubeconfig', cp.kubeconfig, '-o', 'json'], { env, timeoutMs: 60_000 });
          assert.ok((JSON.parse(list.stdout) as { name: string; status: string }[]).some((r) => r.name === rel && r.status === 'deployed'));
          await run(helm, ['uninstall', rel, '--namespace', NS, '--kubeconfig', cp.kubeconfig, '--wait', '--timeout', '60s'], { env, timeoutMs: 120_000 });
        } finally {
          fs.rmSync(home, { recursive: true, force: true });
        }
      });
    }

    await t.test('deleting a Deployment garbage-collects its ReplicaSet and Pods', async () => {
      const before = JSON.parse(await ok(['-n', NS, 'get', 'replicasets,pods', '-l', 'app=web', '-o', 'json'])) as { items: unknown[] };
      assert.ok(before.items.length >= 3, 'a ReplicaSet and 2 Pods');
      await ok(['-n', NS, 'delete', 'deployment', 'web', '--wait=true', '--timeout=60s']);
      const until = Date.now() + 60_000;
      for (;;) {
        const left = JSON.parse(await ok(['-n', NS, 'get', 'replicasets,pods', '-l', 'app=web', '-o', 'json'])) as { items: { kind: string; metadata: { name: string } }[] };
        if (left.items.length === 0) break;
        assert.ok(Date.now() < until, `still there after 60 s: ${left.items.map((i) => `${i.kind}/${i.metadata.name}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });

    const mem = cp.memory();
    t.diagnostic(`memory (RSS MiB): ${Object.entries(mem).map(([k, v]) => `${k}=${v}`).join(' ')} total=${Object.values(mem).reduce((a, b) => a + b, 0)}`);
  } catch (e) {
    t.diagnostic(cp.logs(30));
    throw e;
  } finally {
    const ts = Date.now();
    await cp.stop();
    t.diagnostic(`stop ${Date.now() - ts} ms`);
  }

  await t.test('stop() leaves no process behind', () => {
    assert.deepEqual(Object.keys(pids).sort(), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
    for (const [name, pid] of Object.entries(pids)) assert.ok(!fs.existsSync(`/proc/${pid}`), `${name} (pid ${pid}) still exists`);
    assert.ok(!fs.existsSync(cp.workDir), 'work dir removed');
  });
});
