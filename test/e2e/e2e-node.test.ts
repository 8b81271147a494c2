/**
 * The access-logs example chart as running pods on a real Kubernetes node (test/support/node.ts:
 * containerd, kubelet, kube-proxy and CoreDNS beside the tests' control plane), from images built
 * with buildah from the project's own runtime/images/*\/Dockerfile (test/support/images.ts: the
 * official base images are local stand-ins), installed with helm 4 and its hooks into a namespace
 * that enforces the restricted Pod Security Standard.
 *
 * Values change only where the images are and the CPU requests (2 CPUs here); the chart is not
 * edited. No Kafka broker runs (the chart's source is a SASL_SSL cluster), so:
 * - the first install runs the pre-install preflight hook in the ops image, which must fail on the
 *   unreachable broker and so fail the install (its pod ran as uid 10001, read-only root);
 * - the second install switches the preflight off and points checkpoints at the pods' /tmp (the
 *   example's HDFS is not reachable: the image has no Hadoop file system): the hand-off hook, then JobManager and
 *   TaskManagers Ready (probes, read-only root, uid 9999; the TaskManagers find the JobManager
 *   through CoreDNS) and the job RUNNING, read from the REST API through the API server's service
 *   proxy. (Without a broker the job then fails over; its RUNNING state is what is checked.)
 *
 * The first run builds everything (Kubernetes binaries, root filesystems, images); later runs use
 * the cache. Writes build and start-up times to $CDK8S_FLINK_NODE_REPORT (default
 * <cache>/node/report.json). A failure prints the pods' states, events and logs.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheDir } from '../support/cache';
import { buildTimes, ensureProjectImages } from '../support/images';
import { ensureNodeBinaries, ociArchive, RealNode, startRealNode } from '../support/node';
import { ensureHelm, run } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'access-logs');
const NS = 'logs';
const report: Record<string, unknown> = { started: new Date().toISOString() };
let node: RealNode | undefined;
let images: Awaited<ReturnType<typeof ensureProjectImages>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  // the Go builds (CPU) and the image builds (mostly downloads at first) side by side
  const t0 = Date.now();
  const [bins, built] = await Promise.all([
    ensureNodeBinaries().then((b) => ((report.nodeBinariesMs = Date.now() - t0), b)),
    ensureProjectImages(['2.2']).then((i) => ((report.imagesMs = Date.now() - t0), i)),
  ]);
  images = built;
  report.nodeBinariesBuildMs = bins.buildMs;
  report.imageBuilds = images.builds;
  report.buildTimes = buildTimes;
  let t = Date.now();
  node = await startRealNode();
  report.nodeStartMs = Date.now() - t;
  report.nodeTimings = node.timings;
  t = Date.now();
  for (const name of [images.flink['2.2'], images.ops]) await node.importImage(await ociArchive(name));
  report.importMs = Date.now() - t;
  await node.cluster.createNamespace(NS, { podSecurity: 'restricted' });
}, { timeout: 80 * 60_000 });

after(async () => {
  await node?.stop();
  const file = process.env.CDK8S_FLINK_NODE_REPORT ?? path.join(cacheDir('node'), 'report.json');
  fs.writeFileSync(file, `${JSON.stringify({ ...report, finished: new Date().toISOString() }, null, 2)}\n`);
});

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await node!.cluster.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function helm(bin: string, args: string[], timeoutMs = 600_000): Promise<{ code: number; out: string }> {
  const home = path.join(os.tmpdir(), `cdk8s-flink-helm-${process.pid}`);
  const env = { ...process.env, HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
  return run(bin, [...args, '--kubeconfig', node!.cluster.kubeconfig], { env, timeoutMs }).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
    (e: Error & { stdout?: string; stderr?: string }) => ({ code: 1, out: `${e.stdout ?? ''}${e.stderr ?? e.message}` }),
  );
}

/** Runs fn; on failure adds the namespace's pods, events and logs to the error. */
async function withDiagnostics<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const diag = await node!.diagnostics(NS).catch((d: Error) => `(diagnostics failed: ${d.message})`);
    (e as Error).message = `${(e as Error).message}\n--- ${NS} ---\n${diag}\n--- node ---\n${node!.logs(30)}`;
    throw e;
  }
}

/** Values that point the chart at the local images and fit its requests on 2 CPUs. */
function values(extra: string[] = []): string[] {
  const [repo, tag] = splitImage(images.flink['2.2']);
  return [
    `image.repository=${repo}`,
    `image.tag=${tag}`,
    'image.pullPolicy=Never',
    `hooks.image=${images.ops}`,
    'jobManager.resources.cpu=100m',
    'taskManager.resources.cpu=100m',
    ...extra,
  ].flatMap((s) => ['--set', s]);
}

function splitImage(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return [name.slice(0, i), name.slice(i + 1)];
}

async function podsOf(selector: string): Promise<any[]> {
  return JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', selector, '-o', 'json'])).items;
}

test('pods on the node reach the API server through the kubernetes Service, by its CoreDNS name', { timeout: 5 * 60_000 }, async () => {
  await withDiagnostics(async () => {
    // the ops image's Node: resolve the Service name, then a TLS request that any answer proves
    const script = [
      "const dns=require('dns'),https=require('https');",
      "dns.lookup('kubernetes.default.svc.cluster.local',(e,a)=>{if(e){console.error('dns',e.code);process.exit(2)}console.log('resolved',a);",
      "https.get({host:a,port:443,path:'/version',rejectUnauthorized:false,timeout:5000},r=>{console.log('status',r.statusCode);process.exit(0)}).on('error',x=>{console.error('https',x.message);process.exit(3)})})",
    ].join('');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-probe', namespace: NS },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'probe',
            image: images.ops,
            imagePullPolicy: 'Never',
            command: ['node', '-e', script],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
          },
        ],
      },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    const until = Date.now() + 180_000;
    let phase = '';
    while (Date.now() < until) {
      phase = (await kubectl(['-n', NS, 'get', 'pod', 'api-probe', '-o', 'jsonpath={.status.phase}'])).trim();
      if (phase === 'Succeeded' || phase === 'Failed') break;
      await sleep(1000);
    }
    const log = await kubectl(['-n', NS, 'logs', 'api-probe']);
    assert.equal(phase, 'Succeeded', `the probe pod: ${phase}\n${log}`);
    assert.match(log, /^resolved 10\.96\.0\.1$/m);
    // anonymous requests are refused (401/403): the API server answered through the Service
    assert.match(log, /^status (200|401|403)$/m);
    await kubectl(['-n', NS, 'delete', 'pod', 'api-probe', '--wait=false']);
  });
});

test('access-logs on the node (helm 4, restricted): the preflight hook runs in the ops image and fails the install without a broker; without it the job runs', { timeout: 20 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  await withDiagnostics(async () => {
    // the Kafka credentials the chart reads from a Secret it does not create
    await kubectl(['-n', NS, 'create', 'secret', 'generic', 'logs-kafka-flink', '--from-literal=username=flink', '--from-literal=password=not-used']);

    // 1. with hooks: the pre-install preflight runs in the ops image and fails on the missing broker
    let t = Date.now();
    const first = await helm(h4, ['install', 'access-logs', CHART, '-n', NS, ...values(), '--wait', '--timeout', '240s']);
    report.preflightHookMs = Date.now() - t;
    assert.notEqual(first.code, 0, `install without a broker must fail at the preflight hook:\n${first.out}`);
    assert.match(first.out, /pre-install|preflight/i, first.out);
    const hookPods = await podsOf('job-name');
    const preflight = hookPods.find((p) => p.metadata.name.includes('preflight'));
    assert.ok(preflight, `no preflight hook pod: ${hookPods.map((p) => p.metadata.name).join(', ')}`);
    const status = preflight.status.containerStatuses?.[0];
    assert.equal(status?.image?.replace(/^docker\.io\//, ''), images.ops, 'the hook ran in the ops image');
    assert.ok(status?.state?.terminated, `the hook container ran to its end: ${JSON.stringify(status?.state)}`);
    assert.notEqual(status.state.terminated.exitCode, 0);
    const hookLog = await kubectl(['-n', NS, 'logs', preflight.metadata.name]);
    assert.match(hookLog, /logs-kafka-bootstrap\.kafka\.svc/, `the preflight names the broker it could not reach:\n${hookLog}`);
    report.preflightHookLog = hookLog.trim().split('\n').slice(-5);
    await helm(h4, ['uninstall', 'access-logs', '-n', NS, '--wait', '--timeout', '120s']);
    await kubectl(['-n', NS, 'delete', 'jobs', '--all', '--wait=true', '--timeout=60s']);

    // 2. without the preflight: hand-off hook, JobManager and TaskManagers Ready, job RUNNING
    t = Date.now();
    // The example keeps checkpoints on HDFS, which the runtime image cannot reach (no Hadoop
    // file system in it: the JobMaster fails "Could not find a file system implementation for
    // scheme 'hdfs'" and the JobManager restarts forever). A value points them at the pods' /tmp.
    const second = await helm(h4, ['install', 'access-logs', CHART, '-n', NS, ...values(['hooks.preflight.enabled=false', 'flinkConfiguration.execution\\.checkpointing\\.dir=file:///tmp/checkpoints']), '--wait', '--timeout', '300s']);
    report.installReadyMs = Date.now() - t;
    assert.equal(second.code, 0, `helm install:\n${second.out}`);
    const jm = await podsOf('app.kubernetes.io/component=jobmanager');
    const tms = await podsOf('app.kubernetes.io/component=taskmanager');
    assert.ok(jm.length === 1 && tms.length === 2, `1 JobManager and 2 TaskManagers: ${jm.length}, ${tms.length}`);
    for (const p of [...jm, ...tms]) {
      assert.ok(p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'), `${p.metadata.name} Ready`);
      assert.equal(p.spec.securityContext.runAsUser ?? p.spec.containers[0].securityContext?.runAsUser, 9999);
      assert.equal(p.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    }
    const svc = JSON.parse(await kubectl(['-n', NS, 'get', 'services', '-o', 'json'])).items.find((s: any) => s.metadata.name.endsWith('-rest'));
    assert.ok(svc, 'the REST Service');
    // (on a loaded 2-core machine the job has taken from 1 to 5 minutes to be scheduled)
    const until = Date.now() + 600_000;
    let seen = '';
    while (Date.now() < until) {
      const r = await node!.cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/services/${svc.metadata.name}:rest/proxy/jobs/overview`], { timeoutMs: 20_000 });
      if (r.code === 0) {
        const jobs = (JSON.parse(r.stdout) as { jobs: { state: string; tasks?: { running?: number } }[] }).jobs;
        seen = jobs.map((j) => j.state).join(',');
        if (jobs.some((j) => j.state === 'RUNNING')) break;
      } else {
        seen = r.stderr.trim();
      }
      await sleep(1000);
    }
    report.installToRunningMs = Date.now() - t;
    assert.match(seen, /RUNNING/, `the job reached RUNNING (last seen: ${seen})`);
    const uninstall = await helm(h4, ['uninstall', 'access-logs', '-n', NS, '--wait', '--timeout', '180s']);
    assert.equal(uninstall.code, 0, uninstall.out);
  });
});
