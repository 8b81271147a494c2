/**
 * The example charts as running pods on a real Kubernetes node (test/support/node.ts:
 * containerd, kubelet, kube-proxy and CoreDNS beside the tests' control plane), from images built
 * with buildah from the project's own runtime/images/*\/Dockerfile (test/support/images.ts: the
 * official base images are local stand-ins), installed with helm 4 (helm 3 where said) and their
 * hooks into a namespace that enforces the restricted Pod Security Standard.
 *
 * Values change only where the images are, the CPU requests and the number of TaskManagers (2 CPUs
 * here); the charts are not edited. First without a broker: the pre-install preflight hook runs in the ops image, fails on
 * the unreachable broker and so fails the install (its pod ran as uid 10001, read-only root).
 * Then with the example's servers as pods (test/support/node-services.ts): Kafka (KRaft) as
 * `logs-kafka-bootstrap.kafka.svc:9093`, SASL_SSL with a SCRAM-SHA-512 user and a certificate of
 * a test authority, and HDFS as `namenode.hadoop.svc:8020`; the chart installs as released (the
 * preflight passes against the broker, checkpoints and the archive on HDFS): the hand-off hook,
 * JobManager and TaskManagers Ready (probes, read-only root, uid 9999; the TaskManagers find the
 * JobManager through CoreDNS), the job RUNNING (read from the REST API through the API server's
 * service proxy); `helm test` passes while the job runs. State across releases: records in three
 * batches from a pod; `helm upgrade` with a new parallelism (the pre-upgrade hook stops the job
 * with a savepoint, the new job restores it), then `helm rollback` (the pre-rollback hook hands
 * over the state revision 1's code wrote, which its job restores); the HDFS archive, read back
 * after stop-with-savepoint --drain, holds every record once, and the batch the rollback undid
 * exactly twice. `helm test` fails once the JobManager is scaled to 0.
 *
 * Session mode: the shared-logs session cluster (the Flink 1.20 image, Kubernetes HA against the
 * API server with its generated Role, one TaskManager) and its slow-requests job, submitted by the
 * job chart's post-install hook; `helm uninstall` of the job runs its pre-delete `-stop` hook (a
 * restricted pod without an API token) which stops the job with a savepoint on HDFS, while the
 * session cluster runs on. Then helm 3 installs the job again from that savepoint, upgrades it
 * (the submitter stops the run with a savepoint, the new run restores it) and uninstalls it.
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
import * as path from 'path';
import { recordE2E } from '../support/e2e-report';
import { RealNode } from '../support/node';
import { BOOTSTRAP, ChartNode, ChartImages, KAFKA_SECRET, splitImage } from '../support/node-charts';
import { kafkaClientPod } from '../support/node-services';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'access-logs');
const NS = 'logs';
const SOURCE = 'logs.access';
const RECORDS = 2_000;
let h: ChartNode;
let node: RealNode;
let images: ChartImages;
/** the images of the run against the broker: the project's, trusting the test authority */
let trusting: ChartImages['trusting'];
let report: Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  h = await ChartNode.start({ namespace: NS, reportName: 'report.json', reportEnv: 'CDK8S_FLINK_NODE_REPORT' });
  ({ node, images, report } = h);
  trusting = images.trusting;
}, { timeout: 80 * 60_000 });

after(async () => {
  await h?.stop();
});

const kubectl = (args: string[], input?: string) => h.kubectl(args, input);
const helm = (bin: string, args: string[], timeoutMs?: number) => h.helm(bin, args, timeoutMs);
const withDiagnostics = <T>(fn: () => Promise<T>) => h.withDiagnostics(fn);
const values = (extra: string[] = [], imgs?: { flink: string; ops: string }) => h.values(extra, imgs);
const podsOf = (selector: string) => h.podsOf(selector);
const runPod = (pod: any, timeoutMs: number) => h.runPod(pod, timeoutMs);
const client = (name: string, args: string[], ms?: number) => h.client(name, args, ms);
const jobStates = (svc: string) => h.jobStates(svc);
const rest = (svc: string, resource: string) => h.rest(svc, resource);
const untilRunning = (svc: string, job: { jid?: string; name?: string } = {}, timeoutMs?: number) => h.untilRunning(svc, job, timeoutMs);
const restoreOf = (svc: string, jid: string) => h.restoreOf(svc, jid);
const handoffData = () => h.handoffData('access-logs');
/** Kafka and HDFS as pods, and the source topic (4 partitions). */
const ensureServers = async (steps: Record<string, number>) => {
  await h.ensureServers(steps);
  await h.topic(SOURCE, 4);
};
/** How often each record path (`/r/<i>`) is in the HDFS archive's finished files. */
const archiveCounts = () => h.hdfsCounts('/logs/access/dt=*/hr=*/part-*', 'path');

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
    await kubectl(['-n', NS, 'create', 'secret', 'generic', KAFKA_SECRET, '--from-literal=username=flink', '--from-literal=password=not-used']);
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
    await kubectl(['-n', NS, 'delete', 'secret', KAFKA_SECRET]);
  });
});

test('access-logs as released against Kafka and HDFS pods: preflight passes, records reach the archive exactly once across a savepoint upgrade, a rollback restores the rolled-back revision\'s state, helm test passes, and fails once the JobManager is gone', { timeout: 75 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const steps: Record<string, number> = {};
  let installed = false;
  try {
    await withDiagnostics(async () => {
      await ensureServers(steps);
      let t = Date.now();
      /** records [from, from + RECORDS) into the source, then wait until the job's offsets committed `total` */
      const batch = async (n: number, total: number) => {
        let b = Date.now();
        assert.match(await client(`kafka-produce-${n}`, ['produce', SOURCE, String(RECORDS), String(n * RECORDS)]), new RegExp(`produced ${RECORDS}`));
        steps[`produce${n}Ms`] = Date.now() - b;
        b = Date.now();
        assert.match(await client(`kafka-committed-${n}`, ['committed', SOURCE, 'flink-access-logs', String(total)], 420_000), new RegExp(`committed ${total}`));
        steps[`committed${n}Ms`] = Date.now() - b;
      };

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
      const restSvc: string = svc.metadata.name;
      // (on a loaded 2-core machine the job has taken from 1 to 5 minutes to be scheduled)
      const firstJob = await untilRunning(restSvc);
      steps.installToRunningMs = Date.now() - t;
      assert.equal(firstJob, (await handoffData()).jobId, 'the job runs under the hand-off\'s job id');

      // 3. records into the source topic, from a pod; helm test while the job runs (REST,
      //    RUNNING, a completed checkpoint); the first batch consumed and checkpointed
      await batch(0, RECORDS);
      t = Date.now();
      const passing = await helm(h4, ['test', 'access-logs', '-n', NS, '--timeout', '360s', '--logs']);
      steps.helmTestPassMs = Date.now() - t;
      assert.equal(passing.code, 0, `helm test while the job runs:\n${passing.out}`);

      // 4. helm upgrade with a new parallelism (4 -> 2): the pre-upgrade hook (the ops image, the
      //    release's hooks ServiceAccount token) stops the job with a savepoint and writes the
      //    hand-off; the new JobManager restores from that savepoint under a new job id
      t = Date.now();
      const upgrade = await helm(h4, ['upgrade', 'access-logs', CHART, '-n', NS, ...values(['job.parallelism=2'], trusting), '--wait', '--timeout', '480s']);
      steps.upgradeMs = Date.now() - t;
      assert.equal(upgrade.code, 0, `helm upgrade:\n${upgrade.out}`);
      const afterUpgrade = await handoffData();
      const upgradeSavepoint = afterUpgrade['savepoint.r2'];
      assert.match(upgradeSavepoint ?? '', /^hdfs:\/\/namenode\.hadoop\.svc:8020\/flink\/access-logs\/savepoints\/savepoint-/, `the hook's savepoint in the hand-off: ${JSON.stringify(afterUpgrade)}`);
      assert.equal(afterUpgrade.savepointPath, upgradeSavepoint);
      assert.equal(afterUpgrade['state.r1'], upgradeSavepoint, 'recorded as the state revision 1\'s code wrote');
      assert.equal(afterUpgrade.revision, '2');
      assert.notEqual(afterUpgrade.jobId, firstJob, 'a new job id');
      assert.equal((await jobStates(restSvc)).jobs.some((j) => j.jid === firstJob && j.state === 'RUNNING'), false, 'the first job no longer runs');
      const secondJob = await untilRunning(restSvc, { jid: afterUpgrade.jobId });
      steps.upgradeToRunningMs = Date.now() - t;
      const upgraded = await restoreOf(restSvc, secondJob);
      assert.deepEqual({ from: upgraded.restoredFrom, savepoint: upgraded.isSavepoint }, { from: upgradeSavepoint, savepoint: true }, 'the new job restored from the upgrade\'s savepoint');
      assert.equal(Math.max(...upgraded.parallelism), 2, `the new parallelism: ${upgraded.parallelism}`);
      await batch(1, 2 * RECORDS);

      // 5. helm rollback to revision 1: its pre-rollback hook stops revision 2's job with a
      //    savepoint, and revision 1's JobManager restores the state revision 1's code wrote (the
      //    upgrade's savepoint), so the second batch is read again by revision 1's code
      t = Date.now();
      const rollback = await helm(h4, ['rollback', 'access-logs', '1', '-n', NS, '--wait', '--timeout', '480s']);
      steps.rollbackMs = Date.now() - t;
      assert.equal(rollback.code, 0, `helm rollback:\n${rollback.out}`);
      const afterRollback = await handoffData();
      assert.equal(afterRollback.savepointPath, upgradeSavepoint, `the rollback restores revision 1's state: ${JSON.stringify(afterRollback)}`);
      assert.match(afterRollback['state.r2'] ?? '', /^hdfs:\/\/.*\/savepoint-/, 'the rollback hook took a savepoint of revision 2\'s job');
      assert.notEqual(afterRollback['state.r2'], upgradeSavepoint);
      assert.equal(afterRollback.revision, '1');
      const thirdJob = await untilRunning(restSvc, { jid: afterRollback.jobId });
      steps.rollbackToRunningMs = Date.now() - t;
      const rolledBack = await restoreOf(restSvc, thirdJob);
      assert.deepEqual({ from: rolledBack.restoredFrom, savepoint: rolledBack.isSavepoint }, { from: upgradeSavepoint, savepoint: true }, 'the rolled-back job restored from revision 1\'s state');
      assert.equal(Math.max(...rolledBack.parallelism), 4, `revision 1's parallelism: ${rolledBack.parallelism}`);
      // revision 1's state has offsets up to the first batch's end: it reads the second batch
      // again, then the third (the group's committed offsets reach 3 batches only after both)
      await batch(2, 3 * RECORDS);

      // 6. stop with a drain (the archive's files are finished), then read the archive back:
      //    the first and third batches exactly once; the second once by revision 2 and once more
      //    by revision 1's code restored from before it (what a rollback to older state means)
      t = Date.now();
      // the ops tool's stop, from a pod with the hooks' labels (the chart opens REST to them)
      const stop = kafkaClientPod(NS, 'flink-stop', trusting.ops, BOOTSTRAP, KAFKA_SECRET, []) as any;
      stop.metadata.labels = { 'app.kubernetes.io/name': 'access-logs', 'app.kubernetes.io/instance': 'access-logs', 'app.kubernetes.io/component': 'hooks' };
      stop.spec.containers[0].command = ['cdk8s-flink-ops', 'stop', '--rest-url', `http://${restSvc}.${NS}.svc:8081`, '--job-id', thirdJob, '--drain', '--timeout', '300s'];
      const stopped = await runPod(stop, 360_000);
      const savepoint = /^hdfs:\/\/\S+$/m.exec(stopped)?.[0];
      assert.match(savepoint ?? '', /^hdfs:\/\/namenode\.hadoop\.svc:8020\/flink\/access-logs\/savepoints\//, `stop-with-savepoint --drain:\n${stopped}`);
      const counts = await archiveCounts();
      const expected = (i: number) => (i >= RECORDS && i < 2 * RECORDS ? 2 : 1);
      const wrong = { lost: 0, duplicated: 0, second: 0 };
      for (let i = 0; i < 3 * RECORDS; i++) {
        const n = counts.get(`/r/${i}`) ?? 0;
        if (n === 0) wrong.lost++;
        else if (n > expected(i)) wrong.duplicated++;
        else if (n < expected(i)) wrong.second++;
      }
      steps.drainAndReadMs = Date.now() - t;
      const records = {
        written: 3 * RECORDS, batches: 3, readBack: [...counts.values()].reduce((a, b) => a + b, 0), distinct: counts.size,
        ...wrong, unexpected: [...counts.keys()].filter((k) => !/^\/r\/\d+$/.test(k) || Number(k.slice(3)) >= 3 * RECORDS).length,
        savepoints: { upgrade: upgradeSavepoint, rollback: afterRollback['state.r2'], drain: savepoint },
      };
      report.records = records;
      // lost: never written; duplicated: more often than the states explain; second: the second
      // batch not read again after the rollback (the rollback did not restore revision 1's state)
      assert.deepEqual({ ...wrong, distinct: counts.size, readBack: records.readBack }, { lost: 0, duplicated: 0, second: 0, distinct: 3 * RECORDS, readBack: 4 * RECORDS }, JSON.stringify(records));

      // 7. helm test without a JobManager fails
      await kubectl(['-n', NS, 'scale', 'deployment', '-l', 'app.kubernetes.io/component=jobmanager', '--replicas=0']);
      await node.cluster.kubectl(['-n', NS, 'wait', '--for=delete', 'pod', '-l', 'app.kubernetes.io/component=jobmanager', '--timeout=120s'], { timeoutMs: 130_000 });
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
    // (helm keeps the last test pod after an uninstall)
    await node.cluster.kubectl(['-n', NS, 'delete', 'pod', 'access-logs-test', '--ignore-not-found'], { timeoutMs: 60_000 });
  }
});

test('session mode on the node: shared-logs (Flink 1.20, Kubernetes HA) runs slow-requests, submitted by its chart\'s hook; helm uninstall of the job runs its pre-delete stop hook as a pod without an API token, which stops it with a savepoint on HDFS, and the session cluster keeps running; with helm 3 the job installs again from that savepoint, upgrades through a savepoint and uninstalls', { timeout: 40 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const steps: Record<string, number> = {};
  const installed: string[] = [];
  const [flinkRepo, flinkTag] = splitImage(trusting.flink120);
  const [opsRepo, opsTag] = splitImage(trusting.ops);
  const REST = 'shared-logs-rest';
  const JOB_CHART = path.join(ROOT, 'charts', 'slow-requests');
  try {
    await withDiagnostics(async () => {
      await ensureServers(steps);
      /**
       * The pre-delete hook's pod, which stays with its Job (ttlSecondsAfterFinished): succeeded,
       * restricted, no API token; the savepoint its log names, with its _metadata on HDFS.
       */
      const stopHookSavepoint = async (): Promise<{ savepoint: string; log: string }> => {
        const stopPods = await podsOf('job-name=slow-requests-stop');
        assert.equal(stopPods.length, 1, `one stop hook pod: ${stopPods.map((p) => p.metadata.name).join(', ')}`);
        const pod = stopPods[0];
        assert.equal(pod.status.phase, 'Succeeded');
        assert.equal(pod.spec.automountServiceAccountToken, false);
        assert.ok(!(pod.spec.volumes ?? []).some((v: any) => v.projected), 'no projected ServiceAccount token volume');
        assert.equal(pod.spec.containers[0].image.replace(/^docker\.io\//, ''), trusting.ops);
        assert.deepEqual([pod.spec.securityContext.runAsNonRoot, pod.spec.containers[0].securityContext.readOnlyRootFilesystem], [true, true]);
        const log = await kubectl(['-n', NS, 'logs', pod.metadata.name]);
        const savepoint = /\bsavepoint (hdfs:\/\/\S+)/.exec(log)?.[1] ?? '';
        assert.match(savepoint, /^hdfs:\/\/namenode\.hadoop\.svc:8020\/flink\/shared-logs\/savepoints\/savepoint-/, `the stop hook's log:\n${log}`);
        const ls = await node.cluster.kubectl(['-n', 'hadoop', 'exec', 'hdfs-0', '--', '/opt/hdfs/fs', '-ls', `${savepoint.replace(/^hdfs:\/\/[^/]+/, '')}/_metadata`], { timeoutMs: 60_000 });
        assert.equal(ls.code, 0, `the savepoint's _metadata on HDFS: ${ls.stdout}${ls.stderr}`);
        return { savepoint, log };
      };
      // 1. the session cluster, scaled to the node: one TaskManager of 4 slots, CPU requests lowered
      let t = Date.now();
      const cluster = await helm(h4, ['install', 'shared-logs', path.join(ROOT, 'charts', 'shared-logs'), '-n', NS, ...[
        `image.repository=${flinkRepo}`, `image.tag=${flinkTag}`, 'image.pullPolicy=Never',
        'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m', 'taskManager.replicas=1',
      ].flatMap((v) => ['--set', v]), '--wait', '--timeout', '480s']);
      assert.equal(cluster.code, 0, `helm install shared-logs:\n${cluster.out}`);
      installed.push('shared-logs');
      steps.clusterReadyMs = Date.now() - t;
      const jmBefore = (await podsOf('app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=jobmanager')).map((p) => p.metadata.uid);
      // (high availability: a leader and a standby)
      assert.equal(jmBefore.length, 2, 'two session JobManagers');

      // 2. the session job: its post-install hook (the ops image) submits it through the REST API
      t = Date.now();
      const job = await helm(h4, ['install', 'slow-requests', JOB_CHART, '-n', NS,
        '--set', `image.repository=${opsRepo}`, '--set', `image.tag=${opsTag}`, '--wait', '--timeout', '480s']);
      assert.equal(job.code, 0, `helm install slow-requests:\n${job.out}`);
      installed.push('slow-requests');
      steps.submitMs = Date.now() - t;
      const jid = await untilRunning(REST, { name: 'slow-requests' });
      steps.submitToRunningMs = Date.now() - t;
      // the submitter Job's attempts (backoffLimit 3) and what the failed ones said
      const submitters = await podsOf('job-name=slow-requests-submit');
      const failedSubmits: string[] = [];
      for (const p of submitters.filter((x) => x.status.phase === 'Failed')) failedSubmits.push((await kubectl(['-n', NS, 'logs', p.metadata.name])).trim().split('\n').slice(-1)[0]);
      report.sessionSubmitAttempts = { attempts: submitters.length, failed: failedSubmits };
      // the jar upload and its run reach the same JobManager (the REST Service's ClientIP
      // affinity): without it, half the attempts fail with "Jar file ... does not exist"
      assert.deepEqual(failedSubmits, [], 'the submitter succeeded at its first attempt');
      const tms = await rest(REST, '/taskmanagers');
      assert.equal(tms.taskmanagers.length, 1, 'the session TaskManager registered');

      // 3. helm uninstall of the job: the pre-delete hook stops it with a savepoint
      t = Date.now();
      const un = await helm(h4, ['uninstall', 'slow-requests', '-n', NS, '--wait', '--timeout', '300s']);
      steps.uninstallMs = Date.now() - t;
      assert.equal(un.code, 0, `helm uninstall slow-requests:\n${un.out}`);
      installed.pop();
      const { savepoint, log } = await stopHookSavepoint();
      // Flink: the job ended with the savepoint (FINISHED); the cluster keeps running
      const after = (await jobStates(REST)).jobs.find((j) => j.jid === jid);
      assert.equal(after?.state, 'FINISHED', `the job after the uninstall: ${JSON.stringify(after)}`);
      const checkpoints = await rest(REST, `/jobs/${jid}/checkpoints`);
      assert.equal(checkpoints.latest?.savepoint?.external_path, savepoint, 'Flink records the hook\'s savepoint as the job\'s last');
      const jmAfter = await podsOf('app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=jobmanager');
      assert.deepEqual(jmAfter.map((p) => p.metadata.uid).sort(), [...jmBefore].sort(), 'the same session JobManager pods');
      for (const p of jmAfter) assert.ok(p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'), `${p.metadata.name} Ready`);
      assert.equal((await rest(REST, '/taskmanagers')).taskmanagers.length, 1, 'the session TaskManager still registered');
      assert.match((await helm(h4, ['status', 'shared-logs', '-n', NS])).out, /STATUS: deployed/);

      // 4. the same job chart with helm 3: installed again from the hook's savepoint (as its log
      //    says: job.initialSavepointPath), upgraded (parallelism 1: the post-upgrade submitter
      //    stops the run with a savepoint and the new run restores it), uninstalled (the hook again)
      const h3 = await ensureHelm(3);
      await kubectl(['-n', NS, 'delete', 'job', 'slow-requests-stop', '--wait=true', '--timeout=60s']);
      const jobValues = (extra: string[]) => [`image.repository=${opsRepo}`, `image.tag=${opsTag}`, `job.initialSavepointPath=${savepoint}`, ...extra].flatMap((v) => ['--set', v]);
      t = Date.now();
      const again = await helm(h3, ['install', 'slow-requests', JOB_CHART, '-n', NS, ...jobValues([]), '--wait', '--timeout', '480s']);
      assert.equal(again.code, 0, `helm 3 install slow-requests:\n${again.out}`);
      installed.push('slow-requests');
      const second = await untilRunning(REST, { name: 'slow-requests' });
      steps.helm3InstallToRunningMs = Date.now() - t;
      assert.notEqual(second, jid);
      assert.equal((await restoreOf(REST, second)).restoredFrom, savepoint, 'installed again from the stop hook\'s savepoint');
      t = Date.now();
      const up = await helm(h3, ['upgrade', 'slow-requests', JOB_CHART, '-n', NS, ...jobValues(['job.parallelism=1']), '--wait', '--timeout', '480s']);
      assert.equal(up.code, 0, `helm 3 upgrade slow-requests:\n${up.out}`);
      const third = await untilRunning(REST, { name: 'slow-requests' });
      steps.helm3UpgradeToRunningMs = Date.now() - t;
      assert.notEqual(third, second);
      assert.equal((await jobStates(REST)).jobs.find((j) => j.jid === second)?.state, 'FINISHED', 'the upgrade stopped the previous run');
      const upgradeSavepoint = (await rest(REST, `/jobs/${second}/checkpoints`)).latest?.savepoint?.external_path;
      assert.match(upgradeSavepoint ?? '', /\/flink\/shared-logs\/savepoints\/savepoint-/);
      const upgraded = await restoreOf(REST, third);
      assert.deepEqual({ from: upgraded.restoredFrom, parallelism: Math.max(...upgraded.parallelism) }, { from: upgradeSavepoint, parallelism: 1 }, 'the upgraded run restored the previous run\'s savepoint');
      t = Date.now();
      const un3 = await helm(h3, ['uninstall', 'slow-requests', '-n', NS, '--wait', '--timeout', '300s']);
      steps.helm3UninstallMs = Date.now() - t;
      assert.equal(un3.code, 0, `helm 3 uninstall slow-requests:\n${un3.out}`);
      installed.pop();
      const last = await stopHookSavepoint();
      assert.equal((await jobStates(REST)).jobs.find((j) => j.jid === third)?.state, 'FINISHED', 'the helm 3 uninstall stopped the upgraded run');
      assert.deepEqual((await podsOf('app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=jobmanager')).map((p) => p.metadata.uid).sort(), [...jmBefore].sort(), 'the same session JobManager pods');
      const savepoints = { uninstall: savepoint, helm3Upgrade: upgradeSavepoint, helm3Uninstall: last.savepoint };
      recordE2E('node/session-shared-logs', { steps, savepoints, submitAttempts: report.sessionSubmitAttempts, stopHookLog: log.trim().split('\n').slice(-4) });
      report.session = { steps, savepoints };
    });
  } finally {
    // (cleanup of a failed run: without hooks, so that nothing waits on a broken cluster)
    for (const r of installed.reverse()) await helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    await node.cluster.kubectl(['-n', NS, 'delete', 'job', 'slow-requests-stop', '--ignore-not-found'], { timeoutMs: 60_000 });
    // what stays after a session cluster's uninstall: its HA ConfigMaps
    await node.cluster.kubectl(['-n', NS, 'delete', 'configmap', '-l', 'app=shared-logs,configmap-type=high-availability'], { timeoutMs: 60_000 });
  }
});
