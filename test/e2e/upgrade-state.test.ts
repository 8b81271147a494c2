/**
 * Upgrade with state, then rollback, against real Flink 1.20.5 and 2.2.1 JobManagers: the
 * audit-logs job of examples/platform.ts (Kafka -> per-service running count -> Kafka,
 * exactly-once), its generated config and args, and the operations tool the chart's hooks run.
 *
 * - revision 1 (parallelism 2) counts 30 records; a savepoint that cannot be written fails the
 *   hook and changes nothing;
 * - `handoff --event upgrade --revision 2` stops it with a savepoint S2 (recorded as
 *   savepoint.r2); revision 2 (parallelism 3: new config, new TaskManager count) starts from
 *   the hand-off, restores S2 and counts 30 more records from where revision 1 stopped;
 * - `handoff --event rollback --revision 1` (the pre-rollback hook of revision 1: Helm runs the
 *   hooks of the revision it rolls back to) stops revision 2 with a savepoint it does not use
 *   and hands over S2, the savepoint the undone upgrade took from revision 1; revision 1 starts
 *   again from S2.
 *
 * What a consistent rollback means here: the rolled-back job's state is S2 and nothing of what
 * revision 2 did after S2. Its per-service counts continue from S2 (10 each), not from where
 * revision 2 stopped (20 each); its Kafka offsets are S2's, so the 30 records revision 2 had
 * counted are read and counted again (the sink topic holds them twice: revision 2's commits
 * stay, exactly-once does not reach across a rollback), then new records continue the counts.
 * Every record is in the topic exactly once per run that processed it.
 *
 * For 2.2 the same job is declared on FlinkVersion.V2_2; the declaration used here is checked
 * to synthesize exactly the example's objects on 1.20.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { Consumer, Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../../examples/platform';
import { DeliveryGuarantee, FieldType, FlinkPlatform, FlinkVersion, JobSource, LogPipeline, Sink, UpgradeMode } from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { finished, handoffHook, maxParallelism, ops, readHandoff, release, restoredFrom } from '../support/e2e-upgrade';
import { restGet, waitFor } from '../support/flink-proc';
import { latestSavepoint, numRestarts } from '../support/flink-rest';
import { KafkaBroker, startKafka } from '../support/kafka';
import { RunningCluster, runCluster } from '../support/local-flink';
import { live } from '../support/live';

const SERVICES = ['checkout', 'search', 'login'];
const record = (i: number) => ({ id: `e-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % 3], level: 'INFO', message: `event ${i}` });
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `e-${from + i}`).sort();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Env { kafka: string; work: string }
const options = (e: Env) => ({
  kafkaBootstrap: e.kafka, stateBase: `file://${e.work}/state`, archiveBase: `file://${e.work}/archive`,
  elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost/cdk8s-flink-test',
});

/** audit-logs exactly as examples/platform.ts declares it, on any Flink version and parallelism. */
function auditLogs(e: Env, version: FlinkVersion, parallelism: number): any[] {
  const o = options(e);
  const platform = new FlinkPlatform({ partOf: 'log-platform', storageBaseDirectory: o.stateBase, imageRegistry: o.imageRegistry });
  const kafka = { bootstrapServers: o.kafkaBootstrap };
  platform.addApplication('audit-logs', {
    flinkVersion: version,
    job: JobSource.pipeline(new LogPipeline({
      source: {
        ...kafka, topic: 'logs.audit', groupId: 'flink-audit-logs',
        fields: { id: FieldType.STRING, ts: FieldType.TIMESTAMP, service: FieldType.STRING, level: FieldType.STRING, message: FieldType.STRING },
      },
      filters: ['id IS NOT NULL'],
      countPerKey: { key: 'service' },
      sinks: [
        Sink.kafka({ ...kafka, topic: 'logs.audit.counted', deliveryGuarantee: DeliveryGuarantee.EXACTLY_ONCE }),
        Sink.fileSystem({ path: `${o.archiveBase}/audit`, partitionBy: ['dt'] }),
      ],
    })),
    parallelism,
    taskManagerSlots: 2,
    upgradeMode: UpgradeMode.SAVEPOINT,
  });
  return synthesizeUnit(platform.unit('audit-logs')!).objects;
}

test('the declaration used for 2.2 is the example\'s audit-logs: on 1.20 it synthesizes the same objects', () => {
  const e = { kafka: '127.0.0.1:9092', work: '/tmp/w' };
  const example = synthesizeUnit(buildLogPlatform(options(e)).unit('audit-logs')!).objects;
  assert.deepEqual(auditLogs(e, FlinkVersion.V1_20, 2), example);
  assert.notDeepEqual(auditLogs(e, FlinkVersion.V1_20, 3), example);
});

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
];

for (const c of CASES) {
  test(`upgrade with state, then rollback, on Flink ${c.dist}: savepoint hand-off, a changed job restores it, a rollback restores the savepoint of the undone upgrade`, { timeout: 10 * 60_000 }, async (t) => {
    await live(t, `upgrade-${c.line}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const kafka: KafkaBroker = run.keep(await startKafka(), () => `---- Kafka (tail) ----\n${kafka.logs().split('\n').slice(-40).join('\n')}`);
      // the current release's cluster (each release replaces it)
      let cluster: RunningCluster | undefined;
      run.keep({ stop: async () => { await cluster?.stop(); } }, () => cluster?.logs() ?? '');
      const committed: any[] = [];
      const uncommitted: any[] = [];
      const consumers: Consumer[] = [];
      const producer = kafka.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      run.keep({
        stop: async () => {
          for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
          await producer.disconnect().catch(() => undefined);
        },
      });
      await kafka.createTopic('logs.audit', 2);
      await kafka.createTopic('logs.audit.counted', 1);
      const e = { kafka: kafka.bootstrap, work };
      // Revision 1 on 1.20 is the example itself.
      const rev1 = c.version === FlinkVersion.V1_20 ? synthesizeUnit(buildLogPlatform(options(e)).unit('audit-logs')!).objects : auditLogs(e, c.version, 2);
      const rev2 = auditLogs(e, c.version, 3);
      const savepointDir = `file://${work}/state/audit-logs/savepoints`;
      const numbers: Record<string, unknown> = { flinkVersion: c.dist };

      let t0 = Date.now();
      cluster = await runCluster(rev1, 'audit-logs', path.join(work, 'r1'), home);
      await producer.connect();
      const send = (from: number, to: number) => producer.send({ topic: 'logs.audit', messages: Array.from({ length: to - from }, (_, i) => ({ value: JSON.stringify(record(from + i)) })) });
      const handoff = () => readHandoff(cluster!.local.handoffDir);
      const firstId = handoff().jobId;
      await cluster.waitRunning(firstId);
      numbers.timeToRunningMs = Date.now() - t0;
      assert.equal(await maxParallelism(cluster.rest, firstId), 2, 'revision 1 runs at parallelism 2');

      for (const [group, readUncommitted, into] of [['upgrade-committed', false, committed], ['upgrade-uncommitted', true, uncommitted]] as const) {
        const consumer = kafka.client().consumer({ groupId: group, readUncommitted });
        consumers.push(consumer);
        await consumer.connect();
        await consumer.subscribe({ topic: 'logs.audit.counted', fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => { into.push(JSON.parse(message.value!.toString())); } });
      }
      t0 = Date.now();
      await send(0, 30);
      await waitFor(() => committed.length >= 30, { timeoutMs: 180_000, intervalMs: 1000, what: `30 committed records from revision 1 (have ${committed.length})`, abortIf: cluster.died });
      numbers.firstCommitMs = Date.now() - t0;
      t.diagnostic(`revision 1: RUNNING after ${numbers.timeToRunningMs} ms, 30 records committed after ${numbers.firstCommitMs} ms`);

      const hook = (event: 'upgrade' | 'rollback', revision: number, dir = savepointDir) => handoffHook(cluster!, { event, revision, release: 'audit-logs', savepointDir: dir });

      // A savepoint that cannot be written: the hook fails with the reason and hands nothing over.
      const before = handoff();
      const failed = hook('upgrade', 2, 'file:///proc/cdk8s-flink-not-writable');
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: savepoint of job [0-9a-f]{32} failed: /);
      assert.deepEqual(handoff(), before, 'hand-off unchanged');
      await cluster.waitRunning(firstId, 60_000);
      numbers.restartsAfterFailedSavepoint = await numRestarts((r) => restGet(`${cluster!.rest}${r}`), firstId);
      assert.equal(numbers.restartsAfterFailedSavepoint, 0, 'the failed savepoint did not restart the job');

      // Upgrade: stop with a savepoint, hand it over, record it for a rollback.
      const up = hook('upgrade', 2);
      assert.equal(up.code, 0, up.stderr);
      const afterUpgrade = handoff();
      const s2 = afterUpgrade.savepointPath;
      const secondId = afterUpgrade.jobId;
      assert.match(s2, new RegExp(`^file:${work}/state/audit-logs/savepoints/savepoint-${firstId.slice(0, 6)}-`));
      assert.notEqual(secondId, firstId, 'the job id rotates');
      assert.equal(afterUpgrade['savepoint.r2'], s2, 'recorded for a rollback to revision 1');
      await finished(cluster.rest, firstId);
      const sp = await latestSavepoint((r) => restGet(`${cluster!.rest}${r}`), firstId, { path: s2 });
      assert.equal(sp?.external_path, s2, 'Flink records the upgrade\'s savepoint as the first run\'s last');
      numbers.upgradeHookMs = up.ms;
      numbers.upgradeSavepointMs = sp!.end_to_end_duration;
      numbers.upgradeSavepointBytes = sp!.state_size ?? sp!.checkpointed_size;
      t.diagnostic(`upgrade hook ${up.ms} ms (savepoint ${sp!.end_to_end_duration} ms): ${s2}`);

      // Revision 2: parallelism 3 (its config and TaskManager count change), started from the hand-off.
      t0 = Date.now();
      cluster = await release(cluster, rev2, 'audit-logs', path.join(work, 'r2'), home);
      assert.equal(cluster.local.taskManager.replicas, 2, 'revision 2 has two TaskManagers');
      await cluster.waitRunning(secondId);
      numbers.upgradeRestoreToRunningMs = Date.now() - t0;
      const restored2 = await restoredFrom(cluster.rest, secondId);
      assert.deepEqual([restored2.path, restored2.isSavepoint], [s2, true], 'revision 2 restored S2');
      assert.equal(await maxParallelism(cluster.rest, secondId), 3, 'revision 2 runs at parallelism 3');
      t.diagnostic(`revision 2 RUNNING from S2 after ${numbers.upgradeRestoreToRunningMs} ms`);

      // Revision 2 counts 30 more; its transactions are committed by the rollback's stop-with-savepoint.
      await send(30, 60);
      const seen = () => new Set(uncommitted.map((r) => r.id)).size;
      await waitFor(() => seen() >= 60, { timeoutMs: 120_000, intervalMs: 500, what: `revision 2 processed 30 records (written, uncommitted: ${seen()} ids)`, abortIf: cluster.died });

      // Rollback to revision 1: revision 1's pre-rollback hook (--revision 1) restores savepoint.r2.
      const back = hook('rollback', 1);
      assert.equal(back.code, 0, back.stderr);
      const taken = /^savepoint (\S+)$/m.exec(back.stderr)?.[1];
      assert.ok(taken && taken !== s2, `the rollback stopped revision 2 with its own savepoint (${taken})`);
      assert.match(back.stderr, new RegExp(`rollback restores ${s2.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, taken by the upgrade it undoes \\(revision 2\\)`));
      const afterRollback = handoff();
      const thirdId = afterRollback.jobId;
      assert.deepEqual({ savepointPath: afterRollback.savepointPath, r2: afterRollback['savepoint.r2'] }, { savepointPath: s2, r2: s2 }, 'the hand-off names S2, not the savepoint of revision 2');
      assert.ok(![firstId, secondId].includes(thirdId), 'a new job id');
      await finished(cluster.rest, secondId);
      numbers.rollbackHookMs = back.ms;
      const rollbackSavepoint = await latestSavepoint((r) => restGet(`${cluster!.rest}${r}`), secondId, { path: taken });
      assert.equal(rollbackSavepoint?.external_path, taken, 'Flink records the rollback\'s savepoint as the second run\'s last');
      numbers.rollbackSavepointMs = rollbackSavepoint!.end_to_end_duration;

      await waitFor(() => committed.length >= 60, { timeoutMs: 60_000, intervalMs: 500, what: `revision 2's 30 records committed (have ${committed.length - 30})` });
      const phase1 = committed.slice(0, 30);
      const phase2 = committed.slice(30, 60);
      assert.deepEqual(phase1.map((r) => r.id).sort(), ids(0, 30), 'revision 1: every record once');
      assert.deepEqual(phase2.map((r) => r.id).sort(), ids(30, 60), 'revision 2: every record once');
      for (const s of SERVICES) {
        assert.deepEqual(phase1.filter((r) => r.service === s).map((r) => r.service_count).sort((a, b) => a - b), range(1, 10), `${s}: revision 1 counts`);
        assert.deepEqual(phase2.filter((r) => r.service === s).map((r) => r.service_count).sort((a, b) => a - b), range(11, 20), `${s}: revision 2 continues from S2`);
      }

      // Revision 1 again, from S2.
      t0 = Date.now();
      cluster = await release(cluster, rev1, 'audit-logs', path.join(work, 'r3'), home);
      await cluster.waitRunning(thirdId);
      numbers.rollbackRestoreToRunningMs = Date.now() - t0;
      const restored3 = await restoredFrom(cluster.rest, thirdId);
      assert.deepEqual([restored3.path, restored3.isSavepoint], [s2, true], 'the rolled-back job restored S2');
      assert.equal(await maxParallelism(cluster.rest, thirdId), 2, 'back at parallelism 2');
      t.diagnostic(`rollback: hook ${back.ms} ms, revision 1 RUNNING from S2 after ${numbers.rollbackRestoreToRunningMs} ms`);
      await send(60, 90);
      t0 = Date.now();
      await waitFor(() => committed.length >= 120, { timeoutMs: 180_000, intervalMs: 1000, what: `60 committed records after the rollback (have ${committed.length - 60})`, abortIf: cluster.died });
      numbers.rollbackCommitMs = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 3000));
      const phase3 = committed.slice(60);
      assert.deepEqual(phase3.map((r) => r.id).sort(), ids(30, 90), 'after the rollback: S2\'s offsets, so revision 2\'s 30 records again and the 30 new ones, each once');
      for (const s of SERVICES) {
        assert.deepEqual(phase3.filter((r) => r.service === s).map((r) => r.service_count).sort((a, b) => a - b), range(11, 30),
          `${s}: counts continue from S2 (10), not from revision 2's end (20)`);
      }
      const byRevision2 = new Set(phase2.map((r) => r.id));
      numbers.records = { revision1: phase1.length, revision2: phase2.length, afterRollback: phase3.length, countedAgainAfterRollback: phase3.filter((r) => byRevision2.has(r.id)).length };
      numbers.parallelism = { revision1: 2, revision2: 3 };
      numbers.savepoints = { upgrade: path.basename(s2), rollbackTaken: path.basename(taken!) };

      // helm test's program against the rolled-back job: REST, RUNNING, checkpoints, a marker through Kafka.
      const smokeRun = ops(['smoke', '--rest-url', cluster.rest, '--job-name', 'audit-logs', '--require-checkpoint',
        '--kafka-bootstrap', kafka.bootstrap, '--source-topic', 'logs.audit', '--sink-topic', 'logs.audit.counted',
        '--marker', JSON.stringify({ service: 'smoke', level: 'INFO', message: 'marker' }), '--timeout', '180s']);
      assert.equal(smokeRun.code, 0, smokeRun.stderr);
      assert.match(smokeRun.stderr, /marker arrived: records flow end to end/);
      numbers.smokeMs = smokeRun.ms;
      const wrongName = ops(['smoke', '--rest-url', cluster.rest, '--job-name', 'other-job', '--timeout', '10s']);
      assert.equal(wrongName.code, 1);
      assert.match(wrongName.stderr, /error: job "other-job" is not RUNNING \(jobs: audit-logs=/);
      const report = recordE2E(`upgrade/flink-${c.dist}`, numbers);
      t.diagnostic(`${JSON.stringify(numbers)} -> ${report}`);
    });
  });
}
