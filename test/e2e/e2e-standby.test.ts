/**
 * Spare capacity takes over: the runtime benchmark's job (Kafka -> per-service count -> Kafka,
 * exactly-once, Flink 2.2.1) runs as local processes; a busy TaskManager is SIGKILLed and no
 * replacement is started until the job is RUNNING again, so it can only have run on in the spare
 * capacity:
 * - `standbyTaskManagers: 1`: in the idle standby TaskManager's slot; the replacement then
 *   registers as the new spare;
 * - `spareSlotsPerTaskManager: 1`: the job spread over both TaskManagers, each keeping a slot
 *   free; the survivor runs the lost TaskManager's task in its spare slot (its own JVM); the
 *   replacement's slots are then the free ones.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { DeliveryGuarantee } from '../../lib';
import { benchObjects, BenchJobOptions, FLINK_LINE, FLINK_VERSION, JOB_NAME } from '../../bench/runtime/job';
import { restGet, waitFor } from '../support/flink-proc';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { RunningCluster, runCluster } from '../support/local-flink';

interface Subtask { status: string; attempt: number }
interface TaskManager { id: string; slotsNumber: number; freeSlots: number }

interface SpareRun {
  readonly c: RunningCluster;
  /** every subtask RUNNING in attempt >= minAttempt */
  runningAt(minAttempt: number): Promise<boolean>;
  taskManagers(): Promise<TaskManager[]>;
}

/** The benchmark job with `spare` options on Kafka and local Flink processes (`taskManagers` started first), on the shared live fixture (logs on failure, cleanup after fn). */
async function withSpareCapacity(t: { diagnostic(m: string): void; todo(m?: string): void }, tag: string, spare: Pick<BenchJobOptions, 'standbyTaskManagers' | 'spareSlotsPerTaskManager'>, taskManagers: number | undefined, fn: (r: SpareRun) => Promise<void>): Promise<void> {
  await live(t, tag, async (run) => {
    const work = run.work;
    const home = await run.flinkHome(FLINK_VERSION, FLINK_LINE);
    const kafka = run.keep(await startKafka({ dataDir: path.join(work, 'kafka') }), () => '');
    await kafka.createTopic(`${tag}.in`, 2);
    await kafka.createTopic(`${tag}.out`, 2);
    const objects = benchObjects({
      bootstrap: kafka.bootstrap, sourceTopic: `${tag}.in`, sinkTopic: `${tag}.out`, groupId: tag, transactionalIdPrefix: tag,
      delivery: DeliveryGuarantee.EXACTLY_ONCE, stateBase: `file://${work}/state`, ...spare,
    });
    const c: RunningCluster = run.keep(await runCluster(objects, JOB_NAME, work, home, taskManagers ? { taskManagers } : {}), () => c.logs().slice(-4000));
    const jobId = c.local.jobManager.args[c.local.jobManager.args.indexOf('--job-id') + 1];
    const subtasks = async (): Promise<Subtask[]> => {
      const out: Subtask[] = [];
      for (const v of (await restGet<{ vertices: Array<{ id: string }> }>(`${c.rest}/jobs/${jobId}`)).vertices) {
        out.push(...(await restGet<{ subtasks: Subtask[] }>(`${c.rest}/jobs/${jobId}/vertices/${v.id}`)).subtasks);
      }
      return out;
    };
    const runningAt = async (minAttempt: number) => {
      const xs = await subtasks().catch(() => []);
      return xs.length > 0 && xs.every((x) => x.status === 'RUNNING' && x.attempt >= minAttempt);
    };
    const tms = async () => (await restGet<{ taskmanagers: TaskManager[] }>(`${c.rest}/taskmanagers`)).taskmanagers;
    await waitFor(() => runningAt(0), { timeoutMs: 240_000, intervalMs: 500, what: `job ${jobId} RUNNING`, abortIf: c.died });
    await fn({ c, runningAt, taskManagers: tms });
  });
}

test(`standby: a killed TaskManager's tasks run on in the standby's slot before any replacement, Flink ${FLINK_VERSION}`, { timeout: 10 * 60_000 }, async (t) => {
  // Two TaskManagers first, so the job's two slots are theirs; the standby starts after.
  await withSpareCapacity(t, 'standby', { standbyTaskManagers: 1 }, 2, async ({ c, runningAt, taskManagers }) => {
    assert.equal(c.local.taskManager.replicas, 3, 'the Deployment runs 2 + 1 standby');
    await c.replaceTaskManager(2);
    // registered, and its slot reported free (the slot report follows the registration)
    await waitFor(async () => {
      const tms = await taskManagers().catch(() => []);
      return tms.length === 3 && tms.filter((tm) => tm.freeSlots > 0).length === 1;
    }, { timeoutMs: 180_000, intervalMs: 500, what: 'the standby TaskManager registered, one TaskManager (the standby) idle', abortIf: c.died });
    const before = await taskManagers();
    assert.equal(before.filter((tm) => tm.freeSlots > 0).length, 1, 'one TaskManager (the standby) idle');

    const tKill = Date.now();
    await c.killTaskManager(1);
    // No replacement yet: the job can only come back in the standby's slot.
    await waitFor(() => runningAt(1), { timeoutMs: 180_000, intervalMs: 250, what: 'the job RUNNING again without a replacement', abortIf: c.died });
    const runningMs = Date.now() - tKill;
    const after = await taskManagers();
    assert.equal(after.length, 2, 'the killed TaskManager is released');
    assert.ok(after.every((tm) => before.some((b) => b.id === tm.id)), 'the survivor and the standby, no new TaskManager');
    assert.ok(after.every((tm) => tm.freeSlots === 0), 'both remaining TaskManagers run the job');
    t.diagnostic(`RUNNING again ${runningMs} ms after the kill, on the survivor and the standby`);

    // The Deployment's replacement registers and becomes the new spare.
    await c.replaceTaskManager(1);
    await waitFor(async () => {
      const tms = await taskManagers().catch(() => []);
      return tms.length === 3 && tms.filter((tm) => tm.freeSlots > 0).length === 1;
    }, { timeoutMs: 180_000, intervalMs: 500, what: 'the replacement registered as the new spare', abortIf: c.died });
    assert.ok(await runningAt(1), 'the job keeps running while the replacement joins');
  });
});

test(`spare slots: the job spread over both TaskManagers; a killed one's task runs on in the survivor's spare slot before any replacement, Flink ${FLINK_VERSION}`, { timeout: 10 * 60_000 }, async (t) => {
  await withSpareCapacity(t, 'spare', { spareSlotsPerTaskManager: 1 }, undefined, async ({ c, runningAt, taskManagers }) => {
    assert.equal(c.local.taskManager.replicas, 2, 'no TaskManager added');
    await waitFor(async () => (await taskManagers().catch(() => [])).length === 2, { timeoutMs: 180_000, intervalMs: 500, what: 'both TaskManagers registered', abortIf: c.died });
    // Flink spreads the job's slots over the TaskManagers registered when it allocates them: when
    // one registers after the job's slots were taken, both run on the first (a known limitation,
    // README "Not yet"), reported as this test's TODO rather than a pass.
    await waitFor(async () => (await taskManagers().catch(() => [])).every((tm) => tm.freeSlots < tm.slotsNumber), { timeoutMs: 30_000, intervalMs: 500, what: 'the job on both TaskManagers', abortIf: c.died }).catch(() => undefined);
    const before = await taskManagers();
    if (before.some((tm) => tm.freeSlots === tm.slotsNumber)) t.todo('the job\'s slots were not spread: one TaskManager registered after they were allocated');
    assert.deepEqual(before.map((tm) => [tm.slotsNumber, tm.freeSlots]), [[2, 1], [2, 1]], 'each TaskManager runs one of the job\'s two slots and keeps one free');

    const tKill = Date.now();
    await c.killTaskManager(1);
    await waitFor(() => runningAt(1), { timeoutMs: 180_000, intervalMs: 250, what: 'the job RUNNING again without a replacement', abortIf: c.died });
    const runningMs = Date.now() - tKill;
    const after = await taskManagers();
    assert.equal(after.length, 1, 'the killed TaskManager is released, no new one');
    assert.ok(before.some((b) => b.id === after[0].id), 'the survivor');
    assert.equal(after[0].freeSlots, 0, 'the survivor runs both tasks: its own and the lost one\'s in its spare slot');
    t.diagnostic(`RUNNING again ${runningMs} ms after the kill, on the survivor alone`);

    // The Deployment's replacement registers; its slots are the spare capacity now.
    await c.replaceTaskManager(1);
    await waitFor(async () => {
      const tms = await taskManagers().catch(() => []);
      return tms.length === 2 && tms.reduce((n, tm) => n + tm.freeSlots, 0) === 2;
    }, { timeoutMs: 180_000, intervalMs: 500, what: 'the replacement registered with its slots free', abortIf: c.died });
    assert.ok(await runningAt(1), 'the job keeps running while the replacement joins');
  });
});
