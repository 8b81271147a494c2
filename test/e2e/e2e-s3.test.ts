/**
 * Checkpoints and savepoints on S3 for real: the audit-logs job of examples/platform.ts (Kafka
 * -> per-service running count -> an exactly-once Kafka sink and an archive by day) on Flink
 * 1.20.5 and 2.2.1, as local processes laid out like the runtime image (the S3 file system in
 * plugins/s3-fs-hadoop/), against moto's S3-compatible server (test/support/s3.ts) and a real
 * KRaft broker:
 * - the example's state and archive bases are `s3://flink-state/...`, so checkpoints, savepoints
 *   and the archive go to the bucket; the endpoint and path-style access come from
 *   `StorageCredentials.s3`, the access keys from a Secret as AWS_ACCESS_KEY_ID and
 *   AWS_SECRET_ACCESS_KEY (the local runner resolves the Secret as the kubelet would), and moto
 *   checks every request's signature against them;
 * - (b) the whole cluster (JobManager and both TaskManagers) is SIGKILLed mid-stream; the latest
 *   checkpoint is found by listing the bucket, and a new cluster restores it through
 *   `initialSavepointPath`;
 * - (a) an upgrade: the pre-upgrade hook (`cdk8s-flink-ops handoff`) stops the job with a
 *   savepoint on S3, and revision 2 (another checkpoint interval) starts from the hand-off;
 * - once the source's committed offsets cover the input, stop-with-savepoint --drain finishes
 *   the archive's files; the Kafka sink (read_committed) and the archive objects, read back
 *   through moto's S3 API, hold every record exactly once, with exact running counts.
 * Records written, read back, duplicates, lost and both restore times go to the e2e report.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { buildLogPlatform } from '../../examples/platform';
import { FlinkApplication, FlinkPlatform, FlinkVersion, RuntimeImage, StorageCredentials } from '../../lib';
import { FlinkRest } from '../../lib/ops/flink-rest';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordStorageE2E, tally } from '../support/e2e-report';
import { kafkaSinkTally, produce, waitConsumed } from '../support/e2e-stream';
import { finished, handoffHook, readHandoff, release, restoredFrom } from '../support/e2e-upgrade';
import { flinkConfig } from '../support/synth';
import { restGet, waitFor } from '../support/flink-proc';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { RunningCluster, runCluster } from '../support/local-flink';
import { MOTO_VERSION, S3Server, startS3, wrongSecret } from '../support/s3';

const BUCKET = 'flink-state';
const JOB = 'audit-logs';
const SOURCE = 'logs.audit';
const SINK = 'logs.audit.counted';
const RECORDS = 12_000;
const CHUNK = 500;
const PRODUCE_RATE = 1_500;
const SERVICES = ['checkout', 'search', 'login'];
/** Bound on a start or restore to RUNNING: a JobManager and two TaskManagers on a loaded machine. */
const RUNNING_MS = 420_000;
const record = (i: number) => ({ id: `e-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % SERVICES.length], level: 'INFO', message: `user u${i % 97} did ${i}` });
const key = (r: Record<string, unknown>) => String(r.id).replace(/^e-/, '');

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
];

for (const CASE of CASES) {
  test(`${JOB} on Flink ${CASE.dist} with s3:// checkpoints, savepoints and archive on moto's server: a restore from the latest checkpoint after the cluster is killed, an upgrade with a savepoint, ${RECORDS} records exactly once`, { timeout: 20 * 60_000 }, async (t) => {
    const log = (s: string) => t.diagnostic(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
    await live(t, `e2e-s3-${CASE.line}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(CASE.dist, CASE.line);
      assert.ok(fs.readdirSync(path.join(home, 'plugins', 's3-fs-hadoop')).some((f) => /^flink-s3-fs-hadoop-.*\.jar$/.test(f)), 'the S3 plugin is where the image puts it');
      const tS3 = Date.now();
      const s3: S3Server = run.keep(await startS3({ buckets: [BUCKET] }), () => s3.logs().slice(-6000));
      log(`moto ${MOTO_VERSION} at ${s3.endpoint} in ${Date.now() - tS3} ms`);
      const kafka = run.keep(await startKafka({ heap: '512m' }), () => '');
      // the current revision's cluster (each revision replaces it)
      let cluster: RunningCluster | undefined;
      run.keep({ stop: async () => { await cluster?.stop(); } }, () => cluster?.logs() ?? '');
      await kafka.createTopic(SOURCE, 2);
      await kafka.createTopic(SINK, 2);

      // The example's own job, with the bucket as its state and archive base.
      const stateBase = `s3://${BUCKET}/flink`;
      const example = buildLogPlatform({ kafkaBootstrap: kafka.bootstrap, stateBase, archiveBase: `s3://${BUCKET}/logs`, elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost' });
      const declared = example.unit(JOB)!.construct as FlinkApplication;
      assert.match(declared.boundJob.sqlScript!, new RegExp(`'path' = 's3://${BUCKET}/logs/audit'`), 'the archive is in the bucket');
      const keys = s3.keys;
      const secret = {
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 'flink-s3' }, type: 'Opaque',
        data: { 'access-key': Buffer.from(keys.accessKeyId).toString('base64'), 'secret-key': Buffer.from(keys.secretAccessKey).toString('base64') },
      };
      const objects = (revision: { checkpointSeconds: number; initialSavepointPath?: string }) => {
        const platform = new FlinkPlatform({ partOf: 'log-platform', storageBaseDirectory: stateBase });
        platform.addApplication(JOB, {
          flinkVersion: CASE.version,
          image: RuntimeImage.cdk8sFlink(`flink-runtime:${CASE.version}`, CASE.version),
          job: declared.job,
          upgradeMode: declared.upgradeMode,
          parallelism: 2,
          taskManagerSlots: 1,
          checkpointInterval: Duration.seconds(revision.checkpointSeconds),
          initialSavepointPath: revision.initialSavepointPath,
          storageCredentials: [StorageCredentials.s3({ secretName: 'flink-s3', endpoint: s3.endpoint, pathStyleAccess: true })],
        });
        // The Secret, as `kubectl apply` would have created it beside the release.
        return [...synthesizeUnit(platform.unit(JOB)!).objects, secret];
      };
      const rev1 = objects({ checkpointSeconds: 5 });
      const configMaps = JSON.stringify(rev1.filter((o) => o.kind === 'ConfigMap'));
      assert.ok(!configMaps.includes(keys.secretAccessKey) && !configMaps.includes(keys.accessKeyId), 'no access key in a ConfigMap');
      const config = flinkConfig(rev1, JOB);
      assert.deepEqual([config['s3.endpoint'], config['s3.path.style.access']], [s3.endpoint, true], 'the endpoint and path-style access are in the configuration');
      const checkpointDir = `${stateBase}/${JOB}/checkpoints`;
      const savepointDir = `${stateBase}/${JOB}/savepoints`;

      let tStart = Date.now();
      cluster = await runCluster(rev1, JOB, path.join(work, 'r1'), home);
      assert.equal(cluster.local.taskManager.env.AWS_SECRET_ACCESS_KEY, keys.secretAccessKey, 'the TaskManagers get the key from the Secret');
      const jobId = readHandoff(cluster.local.handoffDir).jobId;
      await cluster.waitRunning(jobId, RUNNING_MS);
      log(`revision 1 RUNNING ${Date.now() - tStart} ms after the processes started`);
      const completed = async (c: RunningCluster, id: string) => (await restGet<{ counts: { completed: number } }>(`${c.rest}/jobs/${id}/checkpoints`)).counts.completed;

      let releaseKill!: () => void;
      let releaseUpgrade!: () => void;
      const killed = new Promise<void>((r) => { releaseKill = r; });
      const upgrading = new Promise<void>((r) => { releaseUpgrade = r; });
      const production = await produce(kafka, { topic: SOURCE, total: RECORDS, chunk: CHUNK, rate: PRODUCE_RATE, record, pauses: { [RECORDS / 3]: killed, [(2 * RECORDS) / 3]: upgrading } });

      // (b) A third of the input and a checkpoint on S3, then the whole cluster dies.
      let c1 = cluster;
      await waitFor(async () => production.produced() >= RECORDS / 3 && (await completed(c1, jobId)) >= 2, { timeoutMs: 180_000, intervalMs: 250, what: 'a third of the input and two completed checkpoints', abortIf: c1.died });
      const tKill = Date.now();
      for (const p of c1.procs) p.kill();
      await Promise.all(c1.procs.map((p) => p.exited));
      releaseKill();
      // The latest checkpoint is the highest chk-N with its _metadata in the bucket.
      const inBucket = await s3.list(BUCKET, `flink/${JOB}/checkpoints/${jobId}/`);
      const latest = Math.max(...inBucket.map((o) => /\/chk-(\d+)\/_metadata$/.exec(o.key)?.[1]).filter(Boolean).map(Number));
      assert.ok(latest >= 2, `checkpoints in the bucket: ${inBucket.map((o) => o.key).join(', ')}`);
      const latestCheckpoint = `${checkpointDir}/${jobId}/chk-${latest}`;
      tStart = Date.now();
      cluster = await runCluster(objects({ checkpointSeconds: 5, initialSavepointPath: latestCheckpoint }), JOB, path.join(work, 'r2'), home);
      await cluster.waitRunning(jobId, RUNNING_MS);
      const fromCheckpointMs = Date.now() - tKill;
      const restored = await restoredFrom(cluster.rest, jobId);
      assert.equal(restored.path, latestCheckpoint, 'the new cluster restored the latest checkpoint');
      log(`cluster killed at ${RECORDS / 3} records; RUNNING from ${latestCheckpoint} ${fromCheckpointMs} ms later (${Date.now() - tStart} ms after the new processes started)`);

      // (a) Two thirds of the input, then an upgrade with a savepoint on S3.
      c1 = cluster;
      await waitFor(async () => production.produced() >= (2 * RECORDS) / 3 && (await completed(c1, jobId)) >= 1, { timeoutMs: 180_000, intervalMs: 250, what: 'two thirds of the input and a checkpoint of the restored job', abortIf: c1.died });
      const tUpgrade = Date.now();
      const up = handoffHook(cluster, { event: 'upgrade', revision: 2, release: JOB, savepointDir });
      releaseUpgrade();
      assert.equal(up.code, 0, up.stderr);
      const handoff = readHandoff(cluster.local.handoffDir);
      assert.ok(handoff.savepointPath.startsWith(`${savepointDir}/savepoint-${jobId.slice(0, 6)}-`), `the savepoint is in the bucket: ${handoff.savepointPath}`);
      await finished(cluster.rest, jobId);
      cluster = await release(cluster, objects({ checkpointSeconds: 4 }), JOB, path.join(work, 'r3'), home);
      await cluster.waitRunning(handoff.jobId, RUNNING_MS);
      const fromSavepointMs = Date.now() - tUpgrade;
      const restored2 = await restoredFrom(cluster.rest, handoff.jobId);
      assert.deepEqual([restored2.path, restored2.isSavepoint], [handoff.savepointPath, true], 'revision 2 restored the upgrade\'s savepoint');
      log(`upgrade hook ${up.ms} ms; revision 2 RUNNING from ${handoff.savepointPath} ${fromSavepointMs} ms after the hook started`);

      await production.done;
      c1 = cluster;
      await waitConsumed(kafka, 'flink-audit-logs', SOURCE, RECORDS, c1.died);
      const drain = await new FlinkRest(cluster.rest, 30_000).stopWithSavepoint(handoff.jobId, undefined, 120_000, true);
      await finished(cluster.rest, handoff.jobId);
      assert.ok(drain.startsWith(`${savepointDir}/`), `the drain's savepoint is in the bucket: ${drain}`);

      // What is in the bucket, through moto's S3 API.
      const all = await s3.list(BUCKET);
      const count = (re: RegExp) => all.filter((o) => re.test(o.key)).length;
      const bucket = {
        objects: all.length,
        checkpointMetadata: count(new RegExp(`^flink/${JOB}/checkpoints/[0-9a-f]{32}/chk-\\d+/_metadata$`)),
        savepointMetadata: count(new RegExp(`^flink/${JOB}/savepoints/savepoint-[0-9a-f]{6}-[0-9a-f]+/_metadata$`)),
        archiveFiles: count(/^logs\/audit\/dt=\d{4}-\d{2}-\d{2}\/part-[^/]+$/),
      };
      for (const sp of [handoff.savepointPath, drain]) assert.ok(all.some((o) => o.key === `${new URL(sp).pathname.slice(1)}/_metadata`), `${sp}/_metadata is in the bucket`);
      assert.ok(bucket.checkpointMetadata >= 1 && bucket.archiveFiles >= 1, JSON.stringify(bucket));

      // Read back: the archive's finished files and the Kafka sink, every record exactly once.
      const files = await s3.read(BUCKET, 'logs/audit/');
      const finishedFiles = Object.entries(files).filter(([k]) => path.posix.basename(k).startsWith('part-'));
      const others = Object.keys(files).filter((k) => !path.posix.basename(k).startsWith('part-'));
      const archive = tally(finishedFiles.flatMap(([, text]) => text.split('\n').filter(Boolean).map((l) => key(JSON.parse(l)))), RECORDS);
      const sink = await kafkaSinkTally(kafka, SINK, work, RECORDS, key, { countKey: 'service', values: SERVICES });
      log(`bucket ${JSON.stringify(bucket)}, other archive objects ${JSON.stringify(others)}; archive ${JSON.stringify(archive)}; Kafka sink ${JSON.stringify(sink)}`);
      const exact = { written: RECORDS, readBack: RECORDS, distinct: RECORDS, duplicates: 0, lost: 0 };
      assert.deepEqual(archive, exact, 'the archive in the bucket holds every record exactly once');
      assert.deepEqual(sink, exact, 'the Kafka sink holds every record exactly once');

      // The keys are what let Flink in: moto refuses another secret.
      assert.equal(await s3.probe(BUCKET, wrongSecret(keys)), 'SignatureDoesNotMatch');

      const file = recordStorageE2E('s3', JOB, {
        flinkVersion: CASE.dist,
        checkpoints: checkpointDir,
        savepoints: savepointDir,
        records: { archive, [`kafka:${SINK}`]: sink },
        restoreMs: { fromCheckpoint: fromCheckpointMs, fromSavepoint: fromSavepointMs },
      }, {
        server: `moto ${MOTO_VERSION}`,
        clusterKill: { atProduced: RECORDS / 3, restoredCheckpoint: latestCheckpoint },
        upgrade: { hookMs: up.ms, savepoint: handoff.savepointPath },
        drainSavepoint: drain,
        bucket,
      });
      log(`report: ${file}`);
    });
  });
}
