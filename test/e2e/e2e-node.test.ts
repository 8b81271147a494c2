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
 * audit-logs (the Flink 1.20 image; Kafka source to an exactly-once Kafka sink and an HDFS archive,
 * with a per-service running count in keyed state), installed with helm 3 as released: the
 * preflight and hand-off hooks, JobManager and TaskManager Ready, the job RUNNING. Application
 * logs produced from a pod in four batches, each consumed and checkpointed before the next step:
 * a TaskManager pod deleted while half a batch is read but not checkpointed (the job restores its
 * latest checkpoint); `helm upgrade` to the same image under a new tag, parallelism 2 -> 1 and a
 * Flink configuration value (read back from the running JobManager), through the pre-upgrade
 * hook's savepoint; an upgrade whose savepoint cannot be written (the savepoint directory made
 * read-only on HDFS) fails at the pre-upgrade hook while the same job runs on under the same
 * JobManager pod; `job.state=suspended` scales to zero after a savepoint in the hand-off, and
 * `job.state=running` restores it. After stop-with-savepoint --drain, the Kafka sink read
 * read_committed and the archive hold every record once, and each service's running counts are
 * 1..n without gaps or repeats.
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
import { haConfigMapSelector } from '../../lib/ops/kube';
import { recordE2E } from '../support/e2e-report';
import { latestSavepoint } from '../support/flink-rest';
import { buildah, ociArchive, RealNode } from '../support/node';
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
/**
 * The ops tool's stop-with-savepoint --drain of a release's job (its files finished), from a pod
 * with the hooks' labels (the chart's NetworkPolicy opens REST to them); the savepoint it printed.
 */
const drain = async (release: string, restSvc: string, jid: string): Promise<{ savepoint?: string; log: string }> => {
  const stop = kafkaClientPod(NS, `${release}-drain`, trusting.ops, BOOTSTRAP, KAFKA_SECRET, []) as any;
  stop.metadata.labels = { 'app.kubernetes.io/name': release, 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'hooks' };
  stop.spec.containers[0].command = ['cdk8s-flink-ops', 'stop', '--rest-url', `http://${restSvc}.${NS}.svc:8081`, '--job-id', jid, '--drain', '--timeout', '300s'];
  const log = await runPod(stop, 360_000);
  return { savepoint: /^hdfs:\/\/\S+$/m.exec(log)?.[0], log };
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
      const { savepoint, log: stopped } = await drain('access-logs', restSvc, thirdJob);
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
      assert.equal((await latestSavepoint((r) => rest(REST, r), jid, { path: savepoint }))?.external_path, savepoint, 'Flink records the hook\'s savepoint as the job\'s last');
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
      const upgradeSavepoint = (await latestSavepoint((r) => rest(REST, r), second))?.external_path;
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
    await node.cluster.kubectl(['-n', NS, 'delete', 'configmap', '-l', haConfigMapSelector('shared-logs')], { timeoutMs: 60_000 });
  }
});

test('audit-logs as released with helm 3 (Flink 1.20): application logs reach the exactly-once Kafka sink and the HDFS archive once each with per-service counts that go on exactly across a TaskManager lost mid-stream, a savepoint upgrade (new image tag, parallelism and Flink configuration), a failed savepoint that fails the upgrade and leaves the job running, and a suspend and resume', { timeout: 40 * 60_000 }, async () => {
  const h3 = await ensureHelm(3);
  const RELEASE = 'audit-logs';
  const AUDIT_CHART = path.join(ROOT, 'charts', 'audit-logs');
  const AUDIT_SOURCE = 'logs.audit';
  const AUDIT_SINK = 'logs.audit.counted';
  const GROUP = 'flink-audit-logs';
  const N = 1_000;
  const REST = `${RELEASE}-rest`;
  const SAVEPOINTS = '/flink/audit-logs/savepoints';
  const steps: Record<string, number> = {};
  const timings: Record<string, number> = {};
  let installed = false;
  let locked = false;
  // the same Flink image under a second tag, for the upgrade (tagged and imported beside the install)
  const [flinkRepo, flinkTag] = splitImage(trusting.flink120);
  const retagged = `${flinkRepo}:${flinkTag}-retag`;
  const retag = (async () => {
    const t = Date.now();
    await buildah(['tag', trusting.flink120, retagged]);
    await node.importImage(await ociArchive(retagged));
    timings.retagImportMs = Date.now() - t;
  })();
  retag.catch(() => undefined);
  const hdfs = (args: string[]) => node.cluster.kubectl(['-n', 'hadoop', 'exec', 'hdfs-0', '--', '/opt/hdfs/fs', ...args], { timeoutMs: 90_000 });
  /** the release's JobManager or TaskManager pods, not those being deleted (a rolling update's old ones) */
  const live = async (component: string) => (await podsOf(`app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=${component}`)).filter((p) => !p.metadata.deletionTimestamp);
  const jobManagers = () => live('jobmanager');
  const taskManagers = () => live('taskmanager');
  try {
    await withDiagnostics(async () => {
      await ensureServers(steps);
      await Promise.all([h.topic(AUDIT_SOURCE, 4), h.topic(AUDIT_SINK, 2)]);
      /** application logs [from, from + n) into the source, from a pod */
      const produce = async (name: string, n: number, from: number) => {
        const t = Date.now();
        assert.match(await client(`audit-produce-${name}`, ['produce-app', AUDIT_SOURCE, String(n), String(from)]), new RegExp(`produced ${n}`));
        steps[`produce${name}Ms`] = Date.now() - t;
      };
      /** waits until the job's committed offsets (committed on a completed checkpoint) reach `total` */
      const committed = async (name: string, total: number) => {
        const t = Date.now();
        assert.match(await client(`audit-committed-${name}`, ['committed', AUDIT_SOURCE, GROUP, String(total)], 420_000), new RegExp(`committed ${total}`));
        steps[`committed${name}Ms`] = Date.now() - t;
      };
      const latestCheckpoint = async (jid: string) => (await rest(REST, `/jobs/${jid}/checkpoints`)).latest?.completed as { id: number; trigger_timestamp: number; external_path: string } | undefined;
      const sourceOut = async (jid: string): Promise<number> => {
        const v = ((await rest(REST, `/jobs/${jid}`)).vertices as { name: string; metrics: Record<string, number> }[]).find((x) => /Source/.test(x.name));
        return v?.metrics['write-records'] ?? 0;
      };
      const images120 = { flink: trusting.flink120, ops: trusting.ops };
      const upgradeValues = (extra: string[]) => values([
        `image.tag=${flinkTag}-retag`, 'job.parallelism=1', 'flinkConfiguration.web\\.checkpoints\\.history=17', ...extra,
      ], images120);

      // 1. install with helm 3 as released: the preflight and hand-off hooks, JobManager and
      //    TaskManager Ready, the job RUNNING under the hand-off's id
      let t = Date.now();
      const install = await helm(h3, ['install', RELEASE, AUDIT_CHART, '-n', NS, ...values([], images120), '--wait', '--timeout', '480s']);
      installed = true;
      steps.installReadyMs = Date.now() - t;
      assert.equal(install.code, 0, `helm 3 install audit-logs:\n${install.out}`);
      const jms = await jobManagers();
      const tms = await taskManagers();
      assert.ok(jms.length === 1 && tms.length === 1, `1 JobManager and 1 TaskManager: ${jms.length}, ${tms.length}`);
      for (const p of [...jms, ...tms]) {
        assert.ok(p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'), `${p.metadata.name} Ready`);
        assert.equal(p.spec.securityContext.runAsUser, 9999);
        assert.equal(p.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
      }
      const first = await untilRunning(REST);
      steps.installToRunningMs = Date.now() - t;
      assert.equal(first, (await h.handoffData(RELEASE)).jobId, 'the job runs under the hand-off\'s job id');
      await produce('0', N, 0);
      await committed('0', N);

      // 2. a TaskManager lost mid-stream: half a batch read and checkpointed, the other half read
      //    but not yet checkpointed when the TaskManager pod is deleted; the job restores its
      //    latest checkpoint and reads the second half again
      await produce('1a', N / 2, N);
      await committed('1a', N + N / 2);
      const before = await latestCheckpoint(first);
      assert.ok(before, 'a completed checkpoint');
      const tB = Date.now();
      await produce('1b', N / 2, N + N / 2);
      let readAtKill = 0;
      for (const until = Date.now() + 120_000; Date.now() < until && readAtKill < 2 * N; await sleep(1000)) readAtKill = await sourceOut(first);
      assert.ok(readAtKill >= 2 * N, `the job read the second half before the kill: ${readAtKill}`);
      const atKill = await latestCheckpoint(first);
      const tm = (await taskManagers())[0];
      t = Date.now();
      await kubectl(['-n', NS, 'delete', 'pod', tm.metadata.name, '--wait=false']);
      // the second half had been read and no checkpoint taken after it was produced
      const uncheckpointedAtKill = (atKill?.trigger_timestamp ?? 0) < tB;
      let restored: { external_path?: string; is_savepoint?: boolean } | undefined;
      for (const until = Date.now() + 420_000; Date.now() < until && !restored?.external_path; await sleep(2000)) {
        restored = (await rest(REST, `/jobs/${first}/checkpoints`).catch(() => ({}))).latest?.restored ?? undefined;
      }
      assert.match(restored?.external_path ?? '', /^hdfs:\/\/namenode\.hadoop\.svc:8020\/flink\/audit-logs\/checkpoints\/[0-9a-f]{32}\/chk-\d+$/, `the job restored a checkpoint: ${JSON.stringify(restored)}`);
      assert.equal(restored?.is_savepoint, false);
      await untilRunning(REST, { jid: first });
      steps.taskManagerLossToRunningMs = Date.now() - t;
      assert.ok(!(await taskManagers()).some((p) => p.metadata.uid === tm.metadata.uid), 'a new TaskManager pod');
      await committed('1', 2 * N);
      const tmLoss = { readAtKill, checkpointAtKill: atKill?.id, checkpointBefore: before.id, uncheckpointedAtKill, restoredFrom: restored?.external_path };

      // 3. helm upgrade: the same image under a new tag, parallelism 2 -> 1, a Flink configuration
      //    value; the pre-upgrade hook stops the job with a savepoint, the new JobManager restores it
      await retag;
      const jmBefore = (await jobManagers())[0];
      t = Date.now();
      const upgrade = await helm(h3, ['upgrade', RELEASE, AUDIT_CHART, '-n', NS, ...upgradeValues([]), '--wait', '--timeout', '480s']);
      steps.upgradeMs = Date.now() - t;
      assert.equal(upgrade.code, 0, `helm 3 upgrade audit-logs:\n${upgrade.out}`);
      const afterUpgrade = await h.handoffData(RELEASE);
      const upgradeSavepoint = afterUpgrade['savepoint.r2'] ?? '';
      assert.match(upgradeSavepoint, new RegExp(`^hdfs://namenode\\.hadoop\\.svc:8020${SAVEPOINTS}/savepoint-`), `the hook's savepoint in the hand-off: ${JSON.stringify(afterUpgrade)}`);
      const second = await untilRunning(REST, { jid: afterUpgrade.jobId });
      steps.upgradeToRunningMs = Date.now() - t;
      const upgraded = await restoreOf(REST, second);
      assert.deepEqual({ from: upgraded.restoredFrom, savepoint: upgraded.isSavepoint, parallelism: Math.max(...upgraded.parallelism) }, { from: upgradeSavepoint, savepoint: true, parallelism: 1 }, 'the new job restored the upgrade\'s savepoint at parallelism 1');
      const jm = (await jobManagers())[0];
      assert.notEqual(jm.metadata.uid, jmBefore.metadata.uid, 'a new JobManager pod');
      // (the spec: a container status may name another tag of the same image)
      for (const p of [jm, ...(await taskManagers())]) assert.equal(p.spec.containers[0].image, retagged, `${p.metadata.name} runs the new tag`);
      const config = (await rest(REST, '/jobmanager/config')) as { key: string; value: string }[];
      assert.equal(config.find((c) => c.key === 'web.checkpoints.history')?.value, '17', 'the changed Flink configuration reached the JobManager');
      await produce('2', N, 2 * N);
      await committed('2', 3 * N);

      // 4. a savepoint that cannot be written (the savepoint directory read-only for the flink
      //    user on HDFS): the pre-upgrade hook fails the upgrade; the same job runs on, its
      //    JobManager untouched
      const chmod = await hdfs(['-chmod', '555', SAVEPOINTS]);
      assert.equal(chmod.code, 0, `chmod ${SAVEPOINTS}: ${chmod.stderr}`);
      locked = true;
      t = Date.now();
      const refused = await helm(h3, ['upgrade', RELEASE, AUDIT_CHART, '-n', NS, ...upgradeValues([]), '--wait', '--timeout', '480s']);
      steps.failedUpgradeMs = Date.now() - t;
      assert.notEqual(refused.code, 0, `the upgrade must fail when the savepoint fails:\n${refused.out}`);
      assert.match(refused.out, /pre-upgrade/, refused.out);
      const hookPod = (await podsOf(`job-name=${RELEASE}-pre-upgrade`))[0];
      const hookLog = hookPod ? await kubectl(['-n', NS, 'logs', hookPod.metadata.name]) : '';
      assert.match(hookLog, /savepoint of job [0-9a-f]{32} failed/, `the hook's log names the failed savepoint:\n${hookLog}`);
      assert.equal((await jobStates(REST)).jobs.find((j) => j.jid === second)?.state, 'RUNNING', 'the same job still runs');
      await untilRunning(REST, { jid: second }, 60_000);
      const jmAfterFailure = await jobManagers();
      assert.deepEqual(jmAfterFailure.map((p) => [p.metadata.uid, p.status.containerStatuses[0].restartCount]), [[jm.metadata.uid, jm.status.containerStatuses[0].restartCount]], 'the JobManager pod untouched');
      assert.equal((await h.handoffData(RELEASE)).jobId, second, 'the hand-off unchanged');
      assert.equal((await hdfs(['-chmod', '755', SAVEPOINTS])).code, 0);
      locked = false;
      const failedUpgrade = { helm: refused.out.trim().split('\n').slice(-3), hook: hookLog.trim().split('\n').slice(-2) };

      // 5. suspend: the hook stops the job with a savepoint, JobManager and TaskManagers scale to
      //    zero; resume: the new job restores that savepoint
      t = Date.now();
      const suspend = await helm(h3, ['upgrade', RELEASE, AUDIT_CHART, '-n', NS, ...upgradeValues(['job.state=suspended']), '--wait', '--timeout', '480s']);
      assert.equal(suspend.code, 0, `helm 3 upgrade job.state=suspended:\n${suspend.out}`);
      await node.cluster.kubectl(['-n', NS, 'wait', '--for=delete', 'pod', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component in (jobmanager,taskmanager)`, '--timeout=180s'], { timeoutMs: 190_000 });
      steps.suspendMs = Date.now() - t;
      assert.deepEqual([(await jobManagers()).length, (await taskManagers()).length], [0, 0], 'scaled to zero');
      const suspended = await h.handoffData(RELEASE);
      const suspendSavepoint = suspended.savepointPath;
      assert.match(suspendSavepoint ?? '', new RegExp(`${SAVEPOINTS}/savepoint-`), `the suspend's savepoint in the hand-off: ${JSON.stringify(suspended)}`);
      assert.notEqual(suspendSavepoint, upgradeSavepoint);
      await produce('3', N, 3 * N);
      t = Date.now();
      const resume = await helm(h3, ['upgrade', RELEASE, AUDIT_CHART, '-n', NS, ...upgradeValues(['job.state=running']), '--wait', '--timeout', '480s']);
      assert.equal(resume.code, 0, `helm 3 upgrade job.state=running:\n${resume.out}`);
      const resumedHandoff = await h.handoffData(RELEASE);
      const third = await untilRunning(REST, { jid: resumedHandoff.jobId });
      steps.resumeToRunningMs = Date.now() - t;
      const resumed = await restoreOf(REST, third);
      assert.deepEqual({ from: resumed.restoredFrom, savepoint: resumed.isSavepoint }, { from: suspendSavepoint, savepoint: true }, 'the resumed job restored the suspend\'s savepoint');
      await committed('3', 4 * N);

      // 6. stop with a drain (the archive's files finished, the last transaction committed); then
      //    both sinks read back: every id once, each service's counts 1..n without gaps or repeats
      t = Date.now();
      const { savepoint: drained, log: drainLog } = await drain(RELEASE, REST, third);
      assert.match(drained ?? '', new RegExp(`${SAVEPOINTS}/savepoint-`), `stop-with-savepoint --drain:\n${drainLog}`);
      steps.drainMs = Date.now() - t;
      t = Date.now();
      // read_committed, asking for more than was written with a short bound, so duplicates would show
      const consumed = await client('audit-consume', ['consume', AUDIT_SINK, String(4 * N + 200), '45'], 300_000);
      steps.consumeMs = Date.now() - t;
      const sunk = consumed.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id: string; service: string; service_count: number });
      const kafkaIds = new Map<string, number>();
      for (const r of sunk) kafkaIds.set(r.id, (kafkaIds.get(r.id) ?? 0) + 1);
      const archiveIds = await h.hdfsCounts('/logs/audit/dt=*/part-*', 'id');
      const exactness = (counts: Map<string, number>) => {
        const batches = [[0, N], [N, 2 * N], [2 * N, 3 * N], [3 * N, 4 * N]].map(([from, to]) => {
          let lost = 0, duplicated = 0;
          for (let i = from; i < to; i++) {
            const n = counts.get(`a-${i}`) ?? 0;
            if (n === 0) lost++;
            else if (n > 1) duplicated++;
          }
          return { lost, duplicated };
        });
        const readBack = [...counts.values()].reduce((a, b) => a + b, 0);
        const unexpected = [...counts.keys()].filter((k) => !/^a-\d+$/.test(k) || Number(k.slice(2)) >= 4 * N).length;
        return { written: 4 * N, readBack, distinct: counts.size, lost: batches.reduce((a, b) => a + b.lost, 0), duplicated: batches.reduce((a, b) => a + b.duplicated, 0), unexpected, batches };
      };
      const kafka = exactness(kafkaIds);
      const archive = exactness(archiveIds);
      // the running count per service: 1..n, once each, n the service's records
      const services = ['checkout', 'search', 'login'];
      const countGaps: Record<string, { records: number; counts: number; max: number; wrong: number }> = {};
      for (const [k, service] of services.entries()) {
        const counts = sunk.filter((r) => r.service === service).map((r) => r.service_count).sort((a, b) => a - b);
        const records = Array.from({ length: 4 * N }, (_, i) => i).filter((i) => i % 3 === k).length;
        countGaps[service] = { records, counts: counts.length, max: counts[counts.length - 1] ?? 0, wrong: counts.filter((c, i) => c !== i + 1).length };
      }
      const records = { kafka, archive, serviceCounts: countGaps, restores: { taskManagerLoss: tmLoss, upgrade: upgradeSavepoint, resume: suspendSavepoint, drain: drained } };
      report.auditLogs = { steps, timings, records, failedUpgrade };
      const summary = (x: ReturnType<typeof exactness>) => ({ lost: x.lost, duplicated: x.duplicated, unexpected: x.unexpected, distinct: x.distinct, readBack: x.readBack });
      const exact = { lost: 0, duplicated: 0, unexpected: 0, distinct: 4 * N, readBack: 4 * N };
      assert.deepEqual(summary(kafka), exact, `the Kafka sink (read_committed): ${JSON.stringify(kafka)}`);
      assert.deepEqual(summary(archive), exact, `the HDFS archive: ${JSON.stringify(archive)}`);
      for (const s of services) assert.deepEqual(countGaps[s], { records: countGaps[s].records, counts: countGaps[s].records, max: countGaps[s].records, wrong: 0 }, `${s}'s running counts: ${JSON.stringify(countGaps)}`);
      recordE2E('node/audit-logs', { helm: 3, flink: '1.20', steps, timings, records, failedUpgrade });
    });
  } finally {
    report.auditLogsSteps = steps;
    if (locked) await hdfs(['-chmod', '755', SAVEPOINTS]);
    if (installed) await helm(h3, ['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '180s']);
    // (what a failed run can leave: the failed hook's Job, the hand-off if the cleanup hook did not run)
    await node.cluster.kubectl(['-n', NS, 'delete', 'job', `${RELEASE}-pre-upgrade`, '--ignore-not-found'], { timeoutMs: 60_000 });
    await node.cluster.kubectl(['-n', NS, 'delete', 'configmap', `${RELEASE}-handoff`, '--ignore-not-found'], { timeoutMs: 60_000 });
    await retag.catch(() => undefined);
  }
});
