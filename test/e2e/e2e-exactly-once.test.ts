/**
 * Exactly-once under failure, on real Flink 1.20.5 and 2.2.1: the audit-logs pipeline of
 * examples/platform.ts (Kafka JSON logs -> filter -> keyed per-service running count -> Kafka
 * sink with exactly-once delivery + filesystem archive), synthesized by the toolkit for each
 * version with a 5 s checkpoint interval and two one-slot TaskManagers, runs as local processes
 * with its generated config and container args against a real KRaft broker.
 *
 * 200,000 records (and 2,000 without an id, which the filter drops) are produced in chunks at a
 * steady rate while a TaskManager is SIGKILLed twice, after about a third and two thirds of the
 * input, and replaced a few seconds later (as a Deployment starts a new pod); the second kill
 * waits for a checkpoint of the recovered job. Then:
 * - Kafka's own Java consumer, read_committed, reads the sink topic to its last stable offset:
 *   every id exactly once, and per service the running counts are exactly 1..n;
 * - read_uncommitted sees more records than that (the aborted transactions of the kills): the
 *   kills hit records in flight;
 * - after a stop-with-savepoint --drain, the archive's finished files hold every id exactly once.
 * Recovery times, time to first RUNNING, rates and checkpoint counts go to the e2e report.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../../examples/platform';
import { FlinkApplication, FlinkPlatform, FlinkVersion } from '../../lib';
import { FlinkRest } from '../../lib/ops/flink-rest';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { followTopic, readTopic } from '../support/e2e-topic-reader';
import { restGet, waitFor } from '../support/flink-proc';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';

const RECORDS = 200_000;
/** One record without an id after every this many (the pipeline's filter drops it). */
const WITHOUT_ID_EVERY = 100;
const CHUNK = 5_000;
/** Target production rate, records/s: the input keeps arriving through both kills. */
const PRODUCE_RATE = 4_000;
/** How long a killed TaskManager stays down before its replacement starts. */
const TM_DOWN_MS = 4_000;
const SERVICES = ['checkout', 'search', 'login', 'payments', 'profile'];
const SOURCE = 'logs.audit';
const SINK = 'logs.audit.counted';

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Input record i (i < RECORDS) and its service. */
function record(i: number): Record<string, unknown> {
  return { id: `e-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % SERVICES.length], level: i % 7 ? 'INFO' : 'WARN', message: `user u${i % 997} did action ${i}` };
}
function recordWithoutId(k: number): Record<string, unknown> {
  return { ts: '2026-11-22T10:00:00.000', service: SERVICES[k % SERVICES.length], level: 'INFO', message: `no id ${k}` };
}

/**
 * The example's audit-logs job (its pipeline, unchanged) as an application of `version`: two
 * one-slot TaskManagers at parallelism 2, so a killed TaskManager takes half the job with it and
 * the job cannot run again until its replacement registers; checkpoints every 5 s.
 */
function auditLogs(version: FlinkVersion, bootstrap: string, work: string): FlinkPlatform {
  const example = buildLogPlatform({
    kafkaBootstrap: bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`,
    elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost/cdk8s-flink-test',
  });
  const audit = example.unit('audit-logs')!.construct as FlinkApplication;
  const platform = new FlinkPlatform({ partOf: 'log-platform', storageBaseDirectory: `file://${work}/state` });
  platform.addApplication('audit-logs', {
    flinkVersion: version,
    image: `flink:${version}-java17`,
    job: audit.job,
    upgradeMode: audit.upgradeMode,
    parallelism: 2,
    taskManagerSlots: 1,
    checkpointInterval: Duration.seconds(5),
  });
  return platform;
}

interface KillReport {
  taskManager: number;
  /** input records acknowledged by Kafka when the kill came / visible to read_committed readers */
  producedAtKill: number;
  committedAtKill: number;
  /** kill -> the JobManager recorded the failure, and what it was */
  failureRecordedMs: number;
  failure: string;
  /** kill -> the replacement TaskManager started */
  replacementStartedMs: number;
  /** kill -> the replacement registered (polled every 250 ms): its slot is available */
  replacementRegisteredMs: number;
  /** kill -> the last task of the new attempt DEPLOYING */
  redeployedMs: number;
  /** kill -> job RUNNING with every task RUNNING (the last task's RUNNING timestamp) */
  recoveredMs: number;
  /** the same, as seen by polling REST (up to web.refresh-interval late) */
  recoveredPolledMs: number;
  /** every failure the JobManager recorded until RUNNING again (ms after the kill, exception); each one is a restart */
  failures: string[];
  /** kill -> every record produced before the kill visible to read_committed readers */
  caughtUpMs?: number;
}

for (const c of CASES) {
  test(`exactly-once under failure on Flink ${c.dist}: ${RECORDS} records, a TaskManager killed twice mid-stream`, { timeout: 9 * 60_000 }, async (t) => {
    const log = (s: string) => t.diagnostic(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
    await live(t, `e2e-eo-${c.line}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const kafka = run.keep(await startKafka({ heap: '768m' }), () => '');
      await kafka.createTopic(SOURCE, 2);
      await kafka.createTopic(SINK, 2);

      const platform = auditLogs(c.version, kafka.bootstrap, work);
      const app = platform.unit('audit-logs')!.construct as FlinkApplication;
      assert.equal(app.taskManagerReplicas, 2);
      const unit = synthesizeUnit(platform.unit('audit-logs')!);

      // Every record that read_committed readers see, as it becomes visible (for catch-up times).
      const seen = new Set<string>();
      let delivered = 0;
      const watchers: Array<{ n: number; resolve: (at: number) => void }> = [];
      const follower = run.keep(await followTopic(kafka.bootstrap, SINK, 'read_committed', work, (r) => {
        delivered++;
        seen.add((JSON.parse(r.value) as { id: string }).id);
        for (let i = watchers.length - 1; i >= 0; i--) if (seen.size >= watchers[i].n) watchers.splice(i, 1)[0].resolve(Date.now());
      }), () => '');
      const visibleAt = (n: number) => new Promise<number>((resolve) => (seen.size >= n ? resolve(Date.now()) : watchers.push({ n, resolve })));

      const tStart = Date.now();
      const cluster = run.keep(await runCluster(unit.objects, 'audit-logs', work, home));
      const { rest } = cluster;
      const died = () => cluster.died() ?? (follower.exited() ? `the sink reader exited: ${follower.errors().slice(-2000)}` : undefined);
      const jobId = cluster.local.jobManager.args[cluster.local.jobManager.args.indexOf('--job-id') + 1];
      const conf = await waitFor(() => restGet<Array<{ key: string; value: string }>>(`${rest}/jobmanager/config`), { timeoutMs: 120_000, intervalMs: 1000, what: 'the REST API', abortIf: died });
      const confValue = (k: string) => conf.find((e) => e.key === k)?.value;
      assert.match(confValue('execution.checkpointing.interval') ?? '', /^5 ?s$/, 'the 5 s checkpoint interval is in effect');

      const vertexStates = async () => (await restGet<{ state: string; vertices: Array<{ status: string }> }>(`${rest}/jobs/${jobId}`));
      const allRunning = async () => {
        const d = await vertexStates().catch(() => undefined);
        return !!d && d.state === 'RUNNING' && d.vertices.every((v) => v.status === 'RUNNING');
      };
      await waitFor(allRunning, { timeoutMs: 240_000, intervalMs: 250, what: `job ${jobId} RUNNING`, abortIf: died });
      const firstRunningMs = Date.now() - tStart;
      log(`job RUNNING ${firstRunningMs} ms after the processes started`);
      const checkpoints = () => restGet<{ counts: { restored: number; total: number; in_progress: number; completed: number; failed: number } }>(`${rest}/jobs/${jobId}/checkpoints`);
      const taskManagerIds = async () => (await restGet<{ taskmanagers: Array<{ id: string }> }>(`${rest}/taskmanagers`)).taskmanagers.map((x) => x.id);

      // Input: RECORDS records with ids (plus some without), in chunks at a steady rate. The chunk
      // after a third (two thirds) of the input waits for the first (second) kill, so input keeps
      // arriving while a TaskManager is down and the job recovers, however fast this machine is.
      const producer = kafka.client('e2e-producer').producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      let produced = 0;
      let producedWithoutId = 0;
      const killed: Array<() => void> = [];
      const gates = [1, 2].map((k) => ({ at: Math.ceil((k * RECORDS) / 3 / CHUNK) * CHUNK, open: new Promise<void>((r) => killed.push(r)) }));
      const tProduce = Date.now();
      const production = (async () => {
        let last = Date.now();
        for (let from = 0; from < RECORDS; from += CHUNK) {
          for (const g of gates) if (from === g.at) await g.open;
          await sleep(last + (CHUNK / PRODUCE_RATE) * 1000 - Date.now());
          last = Date.now();
          const messages: Array<{ value: string }> = [];
          let withoutId = 0;
          for (let i = from; i < Math.min(RECORDS, from + CHUNK); i++) {
            messages.push({ value: JSON.stringify(record(i)) });
            if ((i + 1) % WITHOUT_ID_EVERY === 0) {
              messages.push({ value: JSON.stringify(recordWithoutId(i)) });
              withoutId++;
            }
          }
          await producer.send({ topic: SOURCE, messages });
          produced = Math.min(RECORDS, from + CHUNK);
          producedWithoutId += withoutId;
        }
        return Date.now();
      })();
      production.catch(() => undefined);

      /** The latest time a subtask of the job (current attempts) entered `state`, by the JobManager's clock (this machine's). */
      const lastEntered = async (state: string) => {
        const d = await restGet<{ vertices: Array<{ id: string }> }>(`${rest}/jobs/${jobId}`);
        let max = 0;
        for (const v of d.vertices) {
          const st = await restGet<{ subtasks: Array<{ timestamps: Record<string, number> }> }>(`${rest}/jobs/${jobId}/vertices/${v.id}/subtasktimes`);
          for (const x of st.subtasks) max = Math.max(max, x.timestamps[state] ?? 0);
        }
        return max;
      };
      /** The failures the job recorded at or after `since`, oldest first. */
      const failuresSince = async (since: number) => {
        const e = await restGet<{ exceptionHistory?: { entries: Array<{ timestamp: number; exceptionName: string }> } }>(`${rest}/jobs/${jobId}/exceptions?maxExceptions=50`);
        return (e.exceptionHistory?.entries ?? []).filter((x) => x.timestamp >= since).sort((x, y) => x.timestamp - y.timestamp);
      };

      const kills: KillReport[] = [];
      const killAndReplace = async (tm: number): Promise<KillReport> => {
        const producedAtKill = produced;
        const committedAtKill = seen.size;
        const before = new Set(await taskManagerIds());
        const caughtUp = visibleAt(producedAtKill);
        const tKill = Date.now();
        await cluster.killTaskManager(tm);
        killed[kills.length]();
        // The pod is down for TM_DOWN_MS; meanwhile the JobManager notices the failure.
        let failure: { timestamp: number; exceptionName: string } | Error | undefined;
        const noticed = waitFor(async () => (await failuresSince(tKill))[0], { timeoutMs: 90_000, intervalMs: 250, what: `a failure recorded after TaskManager ${tm} was killed`, abortIf: died })
          .then((f) => { failure = f; }, (e: Error) => { failure = e; });
        await sleep(tKill + TM_DOWN_MS - Date.now());
        const tReplaced = Date.now();
        await cluster.replaceTaskManager(tm);
        // The replacement registers with the ResourceManager: its slot is there from then on.
        const tRegistered = await waitFor(async () => ((await taskManagerIds()).some((id) => !before.has(id)) ? Date.now() : undefined), { timeoutMs: 120_000, intervalMs: 250, what: `the replacement of TaskManager ${tm} registered`, abortIf: died });
        await noticed;
        if (failure instanceof Error || failure === undefined) throw failure ?? new Error('no failure recorded');
        const failedAt = failure.timestamp;
        // RUNNING again: every task of a new attempt RUNNING (REST answers may be up to
        // web.refresh-interval old; the subtask timestamps are exact).
        await waitFor(async () => (await allRunning()) && (await lastEntered('RUNNING')) > failedAt, { timeoutMs: 180_000, intervalMs: 250, what: `job ${jobId} RUNNING again after TaskManager ${tm} was killed`, abortIf: died });
        const tPolled = Date.now();
        const report: KillReport = {
          taskManager: tm, producedAtKill, committedAtKill,
          failureRecordedMs: failedAt - tKill, failure: failure.exceptionName,
          replacementStartedMs: tReplaced - tKill,
          replacementRegisteredMs: tRegistered - tKill,
          redeployedMs: (await lastEntered('DEPLOYING')) - tKill,
          recoveredMs: (await lastEntered('RUNNING')) - tKill,
          recoveredPolledMs: tPolled - tKill,
          failures: (await failuresSince(tKill)).map((f) => `+${f.timestamp - tKill}ms ${f.exceptionName.replace(/^.*\./, '')}`),
        };
        caughtUp.then((at) => { report.caughtUpMs = at - tKill; }, () => undefined);
        log(`TaskManager ${tm} killed with ${producedAtKill} records produced, ${committedAtKill} committed: ${JSON.stringify(report)}`);
        kills.push(report);
        return report;
      };

      // Kill 1: after about a third of the input.
      await waitFor(() => produced >= gates[0].at, { timeoutMs: 120_000, intervalMs: 100, what: 'a third of the input produced', abortIf: died });
      await killAndReplace(0);
      // Kill 2: after two thirds, and once the recovered job has completed a checkpoint of its own.
      const completedAfterFirst = (await checkpoints()).counts.completed;
      await waitFor(async () => produced >= gates[1].at && (await checkpoints()).counts.completed > completedAfterFirst, { timeoutMs: 120_000, intervalMs: 250, what: 'two thirds of the input and a checkpoint after the first recovery', abortIf: died });
      // Records in flight at the kill: when that checkpoint already committed all the input held at
      // the gate (a fast machine), the input goes on first, and the kill comes once some is not yet
      // committed.
      if (produced <= seen.size) {
        killed[1]();
        await waitFor(() => (produced > seen.size ? true : undefined), { timeoutMs: 60_000, intervalMs: 20, what: 'records in flight before the second kill', abortIf: died });
      }
      await killAndReplace(1);

      const tProduced = await production;
      await producer.disconnect();
      const produceRate = Math.round(RECORDS / ((tProduced - tProduce) / 1000));
      log(`produced ${RECORDS} records (+${producedWithoutId} without id) at ${produceRate}/s`);
      const tAllVisible = await waitFor(() => (seen.size >= RECORDS ? Date.now() : undefined), { timeoutMs: 240_000, intervalMs: 100, what: `all ${RECORDS} records visible to read_committed readers`, abortIf: died })
        .catch((e: Error) => { throw new Error(`${e.message} (have ${seen.size})`); });
      const endToEndRate = Math.round(RECORDS / ((tAllVisible - tProduce) / 1000));
      log(`all ${RECORDS} records committed ${tAllVisible - tProduced} ms after the last was produced (${endToEndRate} records/s end to end)`);
      const cpBeforeDrain = (await checkpoints()).counts;

      // Drain: the archive's in-progress files are finished and committed by the final savepoint.
      const tDrain = Date.now();
      const savepoint = await new FlinkRest(rest, 30_000).stopWithSavepoint(jobId, undefined, 120_000, true);
      await waitFor(async () => (await vertexStates()).state === 'FINISHED', { timeoutMs: 60_000, intervalMs: 250, what: `job ${jobId} FINISHED after the drain` });
      const drainMs = Date.now() - tDrain;

      // The sink topic as read_committed readers see it, read to its last stable offset.
      const committed = await readTopic(kafka.bootstrap, SINK, 'read_committed', work);
      const rows = committed.records.map((r) => JSON.parse(r.value) as { id?: string; service: string; service_count: number });
      const ids = new Set(rows.map((r) => r.id));
      log(`read_committed: ${rows.length} records, ${ids.size} distinct ids (read in ${committed.ms} ms)`);
      assert.equal(rows.filter((r) => r.id == null).length, 0, 'records without an id are filtered out');
      assert.equal(ids.size, RECORDS, 'every id is in the sink');
      assert.equal(rows.length, RECORDS, 'and none twice');
      for (let i = 0; i < RECORDS; i++) if (!ids.has(`e-${i}`)) assert.fail(`e-${i} is missing from the sink`);
      for (const [k, s] of SERVICES.entries()) {
        const n = Math.floor(RECORDS / SERVICES.length) + (k < RECORDS % SERVICES.length ? 1 : 0);
        const counts = rows.filter((r) => r.service === s).map((r) => r.service_count).sort((x, y) => x - y);
        assert.equal(counts.length, n, `${s}: ${n} records`);
        const wrong = counts.findIndex((v, i) => v !== i + 1);
        assert.equal(wrong, -1, `${s}: running counts are exactly 1..${n} (sorted position ${wrong} holds ${counts[wrong]})`);
      }
      // The live reader saw the same, no record twice.
      await follower.stop();
      assert.equal(seen.size, RECORDS, 'the live read_committed reader saw every id');
      assert.equal(delivered, RECORDS, 'and none twice');

      // The kills hit open transactions: their records are in the log, aborted.
      const uncommitted = await readTopic(kafka.bootstrap, SINK, 'read_uncommitted', work);
      const aborted = uncommitted.records.length - RECORDS;
      log(`read_uncommitted: ${uncommitted.records.length} records: ${aborted} in aborted transactions`);
      assert.ok(aborted > 0, 'the kills aborted transactions that held records (records were in flight)');

      // The archive: finished files (no leading dot) hold every id exactly once.
      const archive = path.join(work, 'archive', 'audit');
      const files: string[] = [];
      const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (!e.name.startsWith('.')) files.push(p); } };
      walk(archive);
      const archived = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));
      const archivedIds = new Set(archived);
      log(`archive: ${files.length} finished files, ${archived.length} records, ${archivedIds.size} distinct ids`);
      assert.equal(archivedIds.size, RECORDS, 'every id is in the archive');
      assert.equal(archived.length, RECORDS, 'and none twice');

      const cp = cpBeforeDrain;
      assert.ok(cp.restored >= 2, `the job restored from a checkpoint after each kill (restored: ${cp.restored})`);
      assert.equal(kills.length, 2);
      for (const k of kills) assert.ok(k.producedAtKill > k.committedAtKill, `kill of TaskManager ${k.taskManager}: records were in flight (${k.producedAtKill} produced, ${k.committedAtKill} committed)`);
      for (const k of kills) assert.match(k.failures[0] ?? '', /RemoteTransportException|TaskManager|Heartbeat|Unreachable|Connect/i, `kill of TaskManager ${k.taskManager}: the failure is the lost TaskManager (${k.failures.join(', ')})`);

      const file = recordE2E(`exactly-once/flink-${c.dist}`, {
        flinkVersion: c.dist,
        records: RECORDS,
        recordsWithoutId: producedWithoutId,
        parallelism: app.parallelism,
        taskManagers: app.taskManagerReplicas,
        taskManagerSlots: app.taskManagerSlots,
        checkpointInterval: confValue('execution.checkpointing.interval'),
        restartStrategy: Object.fromEntries(conf.filter((e) => e.key.startsWith('restart-strategy')).map((e) => [e.key, e.value])),
        heartbeat: { interval: confValue('heartbeat.interval'), timeout: confValue('heartbeat.timeout') },
        taskManagerDownMs: TM_DOWN_MS,
        timeToFirstRunningMs: firstRunningMs,
        produceRate,
        endToEndRecordsPerSecond: endToEndRate,
        lastProducedToAllCommittedMs: tAllVisible - tProduced,
        kills,
        checkpoints: cp,
        drainWithSavepointMs: drainMs,
        savepoint: path.basename(savepoint),
        sink: { readCommitted: rows.length, distinctIds: ids.size, readUncommitted: uncommitted.records.length, abortedRecords: aborted, javaReadMs: committed.ms },
        archive: { files: files.length, records: archived.length, distinctIds: archivedIds.size },
      });
      log(`report: ${file}`);
    });
  });
}
