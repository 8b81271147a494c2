/**
 * The access-logs example chart as running pods on a real Kubernetes node (test/support/node.ts:
 * containerd, kubelet, kube-proxy and CoreDNS beside the tests' control plane), from images built
 * with buildah from the project's own runtime/images/*\/Dockerfile (test/support/images.ts: the
 * official base images are local stand-ins), installed with helm 4 and its hooks into a namespace
 * that enforces the restricted Pod Security Standard.
 *
 * Values change only where the images are and the CPU requests (2 CPUs here); the chart is not
 * edited. First without a broker: the pre-install preflight hook runs in the ops image, fails on
 * the unreachable broker and so fails the install (its pod ran as uid 10001, read-only root).
 * Then with the example's servers as pods (test/support/node-services.ts): Kafka (KRaft) as
 * `logs-kafka-bootstrap.kafka.svc:9093`, SASL_SSL with a SCRAM-SHA-512 user and a certificate of
 * a test authority, and HDFS as `namenode.hadoop.svc:8020`; the chart installs as released (the
 * preflight passes against the broker, checkpoints and the archive on HDFS): the hand-off hook,
 * JobManager and TaskManagers Ready (probes, read-only root, uid 9999; the TaskManagers find the
 * JobManager through CoreDNS), the job RUNNING (read from the REST API through the API server's
 * service proxy); records produced into the source topic from a pod reach the HDFS archive exactly
 * once (read back after stop-with-savepoint --drain); `helm test` passes while the job runs and
 * fails once the JobManager is scaled to 0.
 *
 * The example's Kafka source names no truststore, and the chart has no value that could give it
 * one: the Flink and ops images are run as images derived with the test authority in their system
 * trust store (trustingImage), the smallest change that lets the chart run unedited.
 *
 * The first run builds everything (Kubernetes binaries, root filesystems, images); later runs use
 * the cache. Writes build and start-up times to $CDK8S_FLINK_NODE_REPORT (default
 * <cache>/node/report.json). A failure prints the pods' states, events and logs.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheDir } from '../support/cache';
import { recordE2E } from '../support/e2e-report';
import { buildTimes, ensureProjectImages, ImageBuild } from '../support/images';
import { ensureNodeBinaries, ociArchive, RealNode, startRealNode } from '../support/node';
import { ensureHdfsImage, ensureKafkaImage, hdfsManifests, kafkaClientPod, kafkaManifests, kafkaTls, KafkaTls, trustingImage } from '../support/node-services';
import { ensureHelm, run } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'access-logs');
const NS = 'logs';
const KAFKA_SERVICE = 'logs-kafka-bootstrap';
const BOOTSTRAP = `${KAFKA_SERVICE}.kafka.svc:9093`;
const SOURCE = 'logs.access';
const RECORDS = 2_000;
const report: Record<string, unknown> = { started: new Date().toISOString() };
let node: RealNode | undefined;
let images: Awaited<ReturnType<typeof ensureProjectImages>>;
/** the images of the run against the broker: the project's, trusting the test authority */
let trusting: { flink: string; ops: string };
let tls: KafkaTls;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-e2e-node-'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  // the Go builds (CPU) and the image builds (mostly downloads at first) side by side
  const t0 = Date.now();
  const [bins, built, services] = await Promise.all([
    ensureNodeBinaries().then((b) => ((report.nodeBinariesMs = Date.now() - t0), b)),
    ensureProjectImages(['2.2']).then((i) => ((report.imagesMs = Date.now() - t0), i)),
    Promise.all([ensureKafkaImage(), ensureHdfsImage()]).then((i) => ((report.serviceImagesMs = Date.now() - t0), i)),
  ]);
  images = built;
  tls = await kafkaTls(path.join(work, 'tls'), [`${KAFKA_SERVICE}.kafka.svc`, `${KAFKA_SERVICE}.kafka.svc.cluster.local`]);
  const derived: ImageBuild[] = [];
  for (const name of [images.flink['2.2'], images.ops]) derived.push(await trustingImage(name, tls.caFile));
  trusting = { flink: derived[0].name, ops: derived[1].name };
  report.nodeBinariesBuildMs = bins.buildMs;
  report.imageBuilds = [...images.builds, ...services, ...derived];
  report.buildTimes = buildTimes;
  let t = Date.now();
  node = await startRealNode();
  report.nodeStartMs = Date.now() - t;
  report.nodeTimings = node.timings;
  t = Date.now();
  for (const name of [images.flink['2.2'], images.ops, trusting.flink, trusting.ops, ...services.map((i) => i.name)]) await node.importImage(await ociArchive(name));
  report.importMs = Date.now() - t;
  await node.cluster.createNamespace(NS, { podSecurity: 'restricted' });
}, { timeout: 80 * 60_000 });

after(async () => {
  await node?.stop();
  fs.rmSync(work, { recursive: true, force: true });
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
function values(extra: string[] = [], imgs: { flink: string; ops: string } = { flink: images.flink['2.2'], ops: images.ops }): string[] {
  const [repo, tag] = splitImage(imgs.flink);
  return [
    `image.repository=${repo}`,
    `image.tag=${tag}`,
    'image.pullPolicy=Never',
    `hooks.image=${imgs.ops}`,
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

test('access-logs on the node (helm 4, restricted): without a broker the preflight hook runs in the ops image and fails the install', { timeout: 20 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  await withDiagnostics(async () => {
    // the Kafka credentials the chart reads from a Secret it does not create
    await kubectl(['-n', NS, 'create', 'secret', 'generic', 'logs-kafka-flink', '--from-literal=username=flink', '--from-literal=password=not-used']);
    const t = Date.now();
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
    await kubectl(['-n', NS, 'delete', 'secret', 'logs-kafka-flink']);
  });
});

/** Applies a pod, waits (bounded) for it to end, returns its log; rejects unless it succeeded. */
async function runPod(pod: any, timeoutMs: number): Promise<string> {
  const { name, namespace } = pod.metadata;
  await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  const until = Date.now() + timeoutMs;
  let phase = '';
  while (Date.now() < until) {
    phase = (await kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}'])).trim();
    if (phase === 'Succeeded' || phase === 'Failed') break;
    await sleep(1000);
  }
  const log = await kubectl(['-n', namespace, 'logs', name]).catch((e: Error) => e.message);
  assert.equal(phase, 'Succeeded', `pod ${namespace}/${name}: ${phase}\n${log}`);
  await kubectl(['-n', namespace, 'delete', 'pod', name, '--wait=false']);
  return log;
}

/** The job states the REST API reports through the API server's service proxy, or its error. */
async function jobStates(svc: string): Promise<{ states: string; jobs: { jid: string; state: string }[] }> {
  const r = await node!.cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/services/${svc}:rest/proxy/jobs/overview`], { timeoutMs: 20_000 });
  if (r.code !== 0) return { states: r.stderr.trim(), jobs: [] };
  const jobs = (JSON.parse(r.stdout) as { jobs: { jid: string; state: string }[] }).jobs;
  return { states: jobs.map((j) => j.state).join(','), jobs };
}

test('access-logs as released against Kafka and HDFS pods: preflight passes, records reach the archive exactly once, helm test passes, and fails once the JobManager is gone', { timeout: 45 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const steps: Record<string, number> = {};
  let installed = false;
  try {
    await withDiagnostics(async () => {
      // 1. the servers the example talks to
      let t = Date.now();
      await node!.cluster.createNamespace('kafka', { podSecurity: 'restricted' });
      await node!.cluster.createNamespace('hadoop', { podSecurity: 'restricted' });
      const password = crypto.randomBytes(12).toString('hex');
      await kubectl(['apply', '-f', '-'], JSON.stringify(kafkaManifests({ namespace: 'kafka', service: KAFKA_SERVICE, tls, username: 'flink', password })));
      // the archive and Flink's state belong to the Flink image's user
      await kubectl(['apply', '-f', '-'], JSON.stringify(hdfsManifests('hadoop', 'namenode', 'flink:/logs,/flink')));
      for (const [ns, pod] of [['kafka', 'kafka-0'], ['hadoop', 'hdfs-0']]) {
        const w = await node!.cluster.kubectl(['-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=300s'], { timeoutMs: 320_000 });
        if (w.code !== 0) throw new Error(`${ns}/${pod} not Ready: ${w.stderr}\n${await node!.diagnostics(ns)}`);
      }
      steps.serversReadyMs = Date.now() - t;
      await kubectl(['-n', NS, 'create', 'secret', 'generic', 'logs-kafka-flink', '--from-literal=username=flink', `--from-literal=password=${password}`]);
      const client = (name: string, args: string[], ms = 360_000) => runPod(kafkaClientPod(NS, name, trusting.ops, BOOTSTRAP, 'logs-kafka-flink', args), ms);
      assert.match(await client('kafka-topic', ['topic', SOURCE, '4']), /partitions 4/);

      // 2. install as released: the preflight hook runs against the broker and passes
      t = Date.now();
      let preflightLog = '';
      let installing = true;
      const watch = (async () => {
        while (installing && !preflightLog) {
          const p = (await podsOf('job-name').catch(() => [])).find((x) => x.metadata.name.includes('preflight') && x.status?.phase === 'Succeeded');
          if (p) preflightLog = await kubectl(['-n', NS, 'logs', p.metadata.name]).catch(() => '');
          await sleep(250);
        }
      })();
      const install = await helm(h4, ['install', 'access-logs', CHART, '-n', NS, ...values([], trusting), '--wait', '--timeout', '480s']);
      installing = false;
      await watch;
      installed = true;
      steps.installReadyMs = Date.now() - t;
      // helm fails the install when a pre-install hook fails, so a success is the preflight's pass;
      // its log is checked when the poll caught the pod before Helm deleted the succeeded hook.
      assert.equal(install.code, 0, `helm install:\n${install.out}`);
      if (preflightLog) assert.match(preflightLog, /^source logs\.access: 4 partition\(s\)$/m, `the preflight hook passed and found the source topic:\n${preflightLog}`);
      report.preflightPassLog = preflightLog ? preflightLog.trim().split('\n').slice(-5) : ['(not captured: the succeeded hook pod was deleted before the poll read it)'];
      const jm = await podsOf('app.kubernetes.io/component=jobmanager');
      const tms = await podsOf('app.kubernetes.io/component=taskmanager');
      assert.ok(jm.length === 1 && tms.length === 2, `1 JobManager and 2 TaskManagers: ${jm.length}, ${tms.length}`);
      for (const p of [...jm, ...tms]) {
        assert.ok(p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'), `${p.metadata.name} Ready`);
        assert.equal(p.spec.securityContext.runAsUser ?? p.spec.containers[0].securityContext?.runAsUser, 9999);
        assert.equal(p.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
      }
      const svc = JSON.parse(await kubectl(['-n', NS, 'get', 'services', '-o', 'json'])).items.find((x: any) => x.metadata.name.endsWith('-rest'));
      assert.ok(svc, 'the REST Service');
      // (on a loaded 2-core machine the job has taken from 1 to 5 minutes to be scheduled)
      let seen = { states: '', jobs: [] as { jid: string; state: string }[] };
      for (const until = Date.now() + 600_000; Date.now() < until; await sleep(1000)) {
        seen = await jobStates(svc.metadata.name);
        if (seen.jobs.some((j) => j.state === 'RUNNING')) break;
      }
      steps.installToRunningMs = Date.now() - t;
      assert.match(seen.states, /RUNNING/, `the job reached RUNNING (last seen: ${seen.states})`);
      const jid = seen.jobs.find((j) => j.state === 'RUNNING')!.jid;

      // 3. records into the source topic, from a pod
      t = Date.now();
      assert.match(await client('kafka-produce', ['produce', SOURCE, String(RECORDS)]), new RegExp(`produced ${RECORDS}`));
      steps.produceMs = Date.now() - t;

      // 4. helm test while the job runs: REST, RUNNING, a completed checkpoint
      t = Date.now();
      const passing = await helm(h4, ['test', 'access-logs', '-n', NS, '--timeout', '360s', '--logs']);
      steps.helmTestPassMs = Date.now() - t;
      assert.equal(passing.code, 0, `helm test while the job runs:\n${passing.out}`);

      // 5. once checkpoints committed the whole input, stop with a drain (the archive's files are
      //    finished), then read the archive back from HDFS
      t = Date.now();
      assert.match(await client('kafka-committed', ['committed', SOURCE, 'flink-access-logs', String(RECORDS)], 420_000), new RegExp(`committed ${RECORDS}`));
      // the ops tool's stop, from a pod with the hooks' labels (the chart opens REST to them)
      const stop = kafkaClientPod(NS, 'flink-stop', trusting.ops, BOOTSTRAP, 'logs-kafka-flink', []) as any;
      stop.metadata.labels = { 'app.kubernetes.io/name': 'access-logs', 'app.kubernetes.io/instance': 'access-logs', 'app.kubernetes.io/component': 'hooks' };
      stop.spec.containers[0].command = ['cdk8s-flink-ops', 'stop', '--rest-url', `http://${svc.metadata.name}.${NS}.svc:8081`, '--job-id', jid, '--drain', '--timeout', '300s'];
      const stopped = await runPod(stop, 360_000);
      const savepoint = /^hdfs:\/\/\S+$/m.exec(stopped)?.[0];
      assert.match(savepoint ?? '', /^hdfs:\/\/namenode\.hadoop\.svc:8020\/flink\/access-logs\/savepoints\//, `stop-with-savepoint --drain:\n${stopped}`);
      const cat = await node!.cluster.kubectl(['-n', 'hadoop', 'exec', 'hdfs-0', '--', '/opt/hdfs/fs', '-cat', '/logs/access/dt=*/hr=*/part-*'], { timeoutMs: 180_000 });
      assert.equal(cat.code, 0, `reading the archive: ${cat.stderr}`);
      const counts = new Map<string, number>();
      for (const line of cat.stdout.split('\n').filter((l) => l.trim())) {
        const p = (JSON.parse(line) as { path: string }).path;
        counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      let lost = 0;
      for (let i = 0; i < RECORDS; i++) if (!counts.has(`/r/${i}`)) lost++;
      steps.recordsThroughMs = steps.produceMs + (Date.now() - t);
      const records = { written: RECORDS, readBack: [...counts.values()].reduce((a, b) => a + b, 0), distinct: counts.size, duplicates, lost, savepoint };
      report.records = records;
      assert.deepEqual({ duplicates, lost, distinct: counts.size }, { duplicates: 0, lost: 0, distinct: RECORDS }, JSON.stringify(records));

      // 6. helm test without a JobManager fails
      await kubectl(['-n', NS, 'scale', 'deployment', '-l', 'app.kubernetes.io/component=jobmanager', '--replicas=0']);
      await node!.cluster.kubectl(['-n', NS, 'wait', '--for=delete', 'pod', '-l', 'app.kubernetes.io/component=jobmanager', '--timeout=120s'], { timeoutMs: 130_000 });
      t = Date.now();
      const failing = await helm(h4, ['test', 'access-logs', '-n', NS, '--timeout', '360s', '--logs']);
      steps.helmTestFailMs = Date.now() - t;
      assert.notEqual(failing.code, 0, `helm test without a JobManager must fail:\n${failing.out}`);
      report.helmTestFailure = failing.out.trim().split('\n').slice(-6);
      recordE2E('node/access-logs', { images: report.imageBuilds, importMs: report.importMs, steps, records });
    });
  } finally {
    report.steps = steps;
    if (installed) await helm(h4, ['uninstall', 'access-logs', '-n', NS, '--wait', '--timeout', '180s']);
    for (const ns of ['kafka', 'hadoop']) await node!.cluster.kubectl(['delete', 'namespace', ns, '--wait=false'], { timeoutMs: 60_000 });
  }
});
