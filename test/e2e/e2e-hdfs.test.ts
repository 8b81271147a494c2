/**
 * Two jobs of examples/platform.ts with their real `hdfs://` paths, as local processes laid out
 * like the runtime image (Hadoop's shaded client in lib/), against a real HDFS (NameNode +
 * DataNode, test/support/hdfs.ts) and a real KRaft broker: access-logs on Flink 2.2.1 (archive
 * partitioned by day and hour) and audit-logs on Flink 1.20.5 (archive by day, and its
 * exactly-once Kafka sink with per-service counts):
 * - checkpoints and the savepoint go to hdfs://.../flink/<job>/, the archive to
 *   hdfs://.../logs/<access|audit>/dt=.../, as the example declares (the runtime image serves
 *   both: the definition passes the synth check of RuntimeImage.cdk8sFlink);
 * - simple authentication: the directories belong to `flink` (755) and the job writes as
 *   HADOOP_USER_NAME=flink from StorageCredentials.hdfsUser; another user is refused;
 * - a TaskManager is SIGKILLed mid-stream and replaced; the job restores from its latest HDFS
 *   checkpoint;
 * - once the source's committed offsets cover the input, stop-with-savepoint --drain finishes
 *   the files; the finished files, read back over WebHDFS, hold every record exactly once, and
 *   so does audit-logs' Kafka sink for read_committed readers, with exact running counts.
 * Counts (written, read back, duplicates, lost), restore and drain times go to the e2e report.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { buildLogPlatform } from '../../examples/platform';
import { FlinkApplication, FlinkPlatform, FlinkVersion, RuntimeImage, StorageCredentials } from '../../lib';
import { FlinkRest } from '../../lib/ops/flink-rest';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordStorageE2E, Tally, tally } from '../support/e2e-report';
import { kafkaSinkTally, produce, waitConsumed } from '../support/e2e-stream';
import { restGet, waitFor } from '../support/flink-proc';
import { Hdfs, startHdfs } from '../support/hdfs';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';

const RECORDS = 20_000;
const CHUNK = 1_000;
const PRODUCE_RATE = 2_000;
const TM_DOWN_MS = 4_000;
const SERVICES = ['checkout', 'search', 'login'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Case {
  dist: string; line: string; version: FlinkVersion;
  job: 'access-logs' | 'audit-logs'; source: string; group: string; archive: string; partitions: RegExp;
  /** input record i */
  record(i: number): Record<string, unknown>;
  /** the identity of an output row (input record i gives `${i}`) */
  key(row: Record<string, unknown>): string;
  /** the job's exactly-once Kafka sink, if any */
  kafkaSink?: string;
}

const CASES: Case[] = [{
  dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2, job: 'access-logs', source: 'logs.access', group: 'flink-access-logs',
  archive: '/logs/access', partitions: /^\/logs\/access\/dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/[^/]+$/,
  // an access log; its path is its identity
  record: (i) => ({ ts: '2026-11-22T10:00:00.000', service: SERVICES[i % SERVICES.length], host: `web-${i % 4}`, method: 'GET', path: `/r/${i}`, status: 200, bytes: 100 + (i % 50), latency_ms: (i % 900) / 3 }),
  key: (r) => String(r.path).replace(/^\/r\//, ''),
}, {
  dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20, job: 'audit-logs', source: 'logs.audit', group: 'flink-audit-logs',
  archive: '/logs/audit', partitions: /^\/logs\/audit\/dt=\d{4}-\d{2}-\d{2}\/[^/]+$/,
  record: (i) => ({ id: `e-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % SERVICES.length], level: 'INFO', message: `user u${i % 97} did ${i}` }),
  key: (r) => String(r.id).replace(/^e-/, ''),
  kafkaSink: 'logs.audit.counted',
}];

for (const CASE of CASES) {
  test(`${CASE.job} on Flink ${CASE.dist} with hdfs:// checkpoints, savepoint and archive: ${RECORDS} records exactly once through a TaskManager kill`, { timeout: 10 * 60_000 }, async (t) => {
    const log = (s: string) => t.diagnostic(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
    await live(t, 'e2e-hdfs', async (run) => {
      const work = run.work;
      const home = await run.flinkHome(CASE.dist, CASE.line);
      const tHdfs = Date.now();
      const hdfs: Hdfs = run.keep(await startHdfs(), () => hdfs.logs().slice(-6000));
      log(`HDFS at ${hdfs.uri} in ${Date.now() - tHdfs} ms`);
      await hdfs.mkdirs('/flink', 'flink', '755');
      await hdfs.mkdirs('/logs', 'flink', '755');
      const kafka = run.keep(await startKafka({ heap: '512m' }), () => '');
      await kafka.createTopic(CASE.source, 2);
      if (CASE.kafkaSink) await kafka.createTopic(CASE.kafkaSink, 2);

      // The example's own definition, with this HDFS and broker as its addresses.
      const image = (v: FlinkVersion) => RuntimeImage.cdk8sFlink(`flink-runtime:${v}`, v);
      const example = buildLogPlatform({
        kafkaBootstrap: kafka.bootstrap, stateBase: `${hdfs.uri}/flink`, archiveBase: `${hdfs.uri}/logs`,
        elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost',
      });
      const declared = example.unit(CASE.job)!.construct as FlinkApplication;
      assert.match(declared.boundJob.sqlScript!, new RegExp(`'path' = '${hdfs.uri}${CASE.archive}'`), 'the archive is the example\'s hdfs:// path');
      const platform = new FlinkPlatform({ partOf: 'log-platform', storageBaseDirectory: `${hdfs.uri}/flink` });
      platform.addApplication(CASE.job, {
        flinkVersion: CASE.version,
        image: image(CASE.version),
        job: declared.job,
        upgradeMode: declared.upgradeMode,
        parallelism: 2,
        taskManagerSlots: 1,
        checkpointInterval: Duration.seconds(5),
        storageCredentials: [StorageCredentials.hdfsUser('flink')],
        // This HDFS has one DataNode; the HDFS client's default replication is 3, and a pipeline of
        // an under-replicated block that breaks under load then asks for a replacement DataNode
        // that does not exist ("Failed to replace a bad datanode"), failing the job until the bound.
        flinkConfiguration: { 'flink.hadoop.dfs.replication': '1' },
      });
      const app = platform.unit(CASE.job)!.construct as FlinkApplication;
      assert.equal(app.checkpointDirectory, `${hdfs.uri}/flink/${CASE.job}/checkpoints`);
      const unit = synthesizeUnit(platform.unit(CASE.job)!);

      const tStart = Date.now();
      const cluster = run.keep(await runCluster(unit.objects, CASE.job, work, home));
      const { rest } = cluster;
      const died = () => cluster.died();
      const jobId = cluster.local.jobManager.args[cluster.local.jobManager.args.indexOf('--job-id') + 1];
      await cluster.waitRunning(jobId, 240_000);
      log(`job RUNNING ${Date.now() - tStart} ms after the processes started`);
      const checkpoints = () => restGet<{ counts: { restored: number; completed: number; failed: number }; latest?: { completed?: { external_path?: string } } }>(`${rest}/jobs/${jobId}/checkpoints`);

      let releaseKill!: () => void;
      const killed = new Promise<void>((r) => { releaseKill = r; });
      const tProduce = Date.now();
      const production = await produce(kafka, { topic: CASE.source, total: RECORDS, chunk: CHUNK, rate: PRODUCE_RATE, record: CASE.record, pauses: { [RECORDS / 2]: killed } });

      // Half the input and an HDFS checkpoint, then a TaskManager dies and is replaced.
      await waitFor(async () => production.produced() >= RECORDS / 2 && (await checkpoints()).counts.completed >= 1, { timeoutMs: 120_000, intervalMs: 250, what: 'half the input and a completed checkpoint', abortIf: died });
      const cpBefore = (await checkpoints()).latest?.completed?.external_path ?? '';
      assert.ok(cpBefore.startsWith(`${hdfs.uri}/flink/${CASE.job}/checkpoints/${jobId}/chk-`), `the checkpoint is on HDFS: ${cpBefore}`);
      const restoredBefore = (await checkpoints()).counts.restored;
      const tKill = Date.now();
      await cluster.killTaskManager(0);
      releaseKill();
      await sleep(tKill + TM_DOWN_MS - Date.now());
      await cluster.replaceTaskManager(0);
      await waitFor(async () => (await checkpoints()).counts.restored > restoredBefore, { timeoutMs: 180_000, intervalMs: 250, what: 'a restore from the latest checkpoint', abortIf: died });
      await cluster.waitRunning(jobId, 180_000);
      const restoreMs = Date.now() - tKill;
      log(`TaskManager 0 killed at ${RECORDS / 2} records produced; RUNNING again from the HDFS checkpoint ${restoreMs} ms later`);

      const tProduced = await production.done;
      log(`produced ${RECORDS} records in ${tProduced - tProduce} ms`);

      // Every record is in a completed checkpoint once the group's committed offsets reach the end of the topic.
      await waitConsumed(kafka, CASE.group, CASE.source, RECORDS, died);
      const cpCounts = (await checkpoints()).counts;
      // Why checkpoints failed, among those the history still holds (Flink keeps the latest 10).
      const history = (await restGet<{ history: Array<{ status: string; failure_message?: string }> }>(`${rest}/jobs/${jobId}/checkpoints`)).history;
      const failureReasons: Record<string, number> = {};
      for (const h of history.filter((x) => x.status === 'FAILED')) {
        const why = (h.failure_message ?? 'unknown').split('\n')[0].slice(0, 160);
        failureReasons[why] = (failureReasons[why] ?? 0) + 1;
      }

      const tDrain = Date.now();
      const savepoint = await new FlinkRest(rest, 30_000).stopWithSavepoint(jobId, undefined, 120_000, true);
      await waitFor(async () => (await restGet<{ state: string }>(`${rest}/jobs/${jobId}`)).state === 'FINISHED', { timeoutMs: 60_000, intervalMs: 250, what: `job ${jobId} FINISHED after the drain` });
      const drainMs = Date.now() - tDrain;
      assert.ok(savepoint.startsWith(`${hdfs.uri}/flink/${CASE.job}/savepoints/`), `the savepoint is on HDFS: ${savepoint}`);
      const savepointFiles = await hdfs.listFiles(new URL(savepoint).pathname);
      assert.ok(savepointFiles.some(([p]) => p.endsWith('/_metadata')), 'the savepoint has its _metadata on HDFS');

      // Read back the finished files (in-progress and pending files are hidden, names starting with ".").
      const all = await hdfs.listFiles(CASE.archive);
      const finished = all.filter(([p]) => !path.posix.basename(p).startsWith('.') && path.posix.basename(p) !== '_SUCCESS');
      const keys: string[] = [];
      for (const [p, s] of finished) {
        assert.match(p, CASE.partitions, `partitioned as declared: ${p}`);
        assert.equal(s.owner, 'flink', `${p} is written as HADOOP_USER_NAME=flink`);
        for (const line of (await hdfs.read(p)).split('\n').filter(Boolean)) keys.push(CASE.key(JSON.parse(line)));
      }
      const archive = tally(keys, RECORDS);
      log(`archive on HDFS: ${finished.length} finished files, ${JSON.stringify(archive)}; checkpoints ${JSON.stringify(cpCounts)}, failures ${JSON.stringify(failureReasons)}`);
      assert.deepEqual(archive, { written: RECORDS, readBack: RECORDS, distinct: RECORDS, duplicates: 0, lost: 0 }, 'the archive holds every record exactly once');

      const records: Record<string, Tally> = { archive };
      if (CASE.kafkaSink) {
        const sink = await kafkaSinkTally(kafka, CASE.kafkaSink, work, RECORDS, CASE.key, { countKey: 'service', values: SERVICES });
        log(`Kafka sink ${CASE.kafkaSink} (read_committed): ${JSON.stringify(sink)}`);
        assert.deepEqual(sink, { written: RECORDS, readBack: RECORDS, distinct: RECORDS, duplicates: 0, lost: 0 }, 'the Kafka sink holds every record exactly once');
        records[`kafka:${CASE.kafkaSink}`] = sink;
      }
      assert.ok(cpCounts.restored > restoredBefore, 'the job restored from a checkpoint after the kill');

      // Simple authentication is real: another user may not write where the job writes.
      const intruder = await hdfs.create(`${CASE.archive}/intruder.json`, 'mallory', '{}\n');
      assert.equal(intruder.status, 403, intruder.body.slice(0, 200));
      assert.match(intruder.body, /AccessControlException.*user=mallory/);

      // No restore from a savepoint here: the savepoint is the drain's (upgrades are proven on S3 and file://).
      const file = recordStorageE2E('hdfs', CASE.job, {
        flinkVersion: CASE.dist,
        checkpoints: `${hdfs.uri}/flink/${CASE.job}/checkpoints`,
        savepoints: `${hdfs.uri}/flink/${CASE.job}/savepoints`,
        records,
        restoreMs: { fromCheckpoint: restoreMs, fromSavepoint: null },
      }, {
        archive: `${hdfs.uri}${CASE.archive}`,
        finishedFiles: finished.length,
        hadoopUser: 'flink',
        taskManagerKill: { atProduced: RECORDS / 2, restoredFromCheckpoint: cpBefore },
        drainSavepoint: savepoint,
        checkpointCounts: cpCounts,
        recentCheckpointFailures: failureReasons,
        drainWithSavepointMs: drainMs,
      });
      log(`report: ${file}`);
    });
  });
}
