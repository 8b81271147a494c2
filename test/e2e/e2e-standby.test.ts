/**
 * A standby TaskManager takes over: the runtime benchmark's job (Kafka -> per-service count ->
 * Kafka, exactly-once, Flink 2.2.1) synthesized with `standbyTaskManagers: 1` runs as local
 * processes; a busy TaskManager is SIGKILLed and no replacement is started until the job is
 * RUNNING again, so it can only have run on in the standby's slot. Then the replacement starts
 * (as the Deployment would) and registers as the new spare.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeliveryGuarantee } from '../../lib';
import { benchObjects, FLINK_LINE, FLINK_VERSION, JOB_NAME } from '../../bench/runtime/job';
import { layoutFlinkHome } from '../support/flink-dist';
import { restGet, waitFor } from '../support/flink-proc';
import { KafkaBroker, startKafka } from '../support/kafka';
import { RunningCluster, runCluster } from '../support/local-flink';

interface Subtask { status: string; attempt: number }

test(`standby: a killed TaskManager's tasks run on in the standby's slot before any replacement, Flink ${FLINK_VERSION}`, { timeout: 10 * 60_000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-standby-'));
  let kafka: KafkaBroker | undefined;
  let cluster: RunningCluster | undefined;
  try {
    const home = await layoutFlinkHome(FLINK_VERSION, FLINK_LINE, path.join(work, 'flink'));
    kafka = await startKafka({ dataDir: path.join(work, 'kafka') });
    await kafka.createTopic('standby.in', 2);
    await kafka.createTopic('standby.out', 2);
    const objects = benchObjects({
      bootstrap: kafka.bootstrap, sourceTopic: 'standby.in', sinkTopic: 'standby.out', groupId: 'standby', transactionalIdPrefix: 'standby',
      delivery: DeliveryGuarantee.EXACTLY_ONCE, stateBase: `file://${work}/state`, standbyTaskManagers: 1,
    });
    // Two TaskManagers first, so the job's two slots are theirs; the standby starts after.
    cluster = await runCluster(objects, JOB_NAME, work, home, { taskManagers: 2 });
    const c = cluster;
    assert.equal(c.local.taskManager.replicas, 3, 'the Deployment runs 2 + 1 standby');
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
      return xs.length > 0 && xs.every((s) => s.status === 'RUNNING' && s.attempt >= minAttempt);
    };
    const taskManagers = async () => (await restGet<{ taskmanagers: Array<{ id: string; freeSlots: number }> }>(`${c.rest}/taskmanagers`)).taskmanagers;
    await waitFor(() => runningAt(0), { timeoutMs: 240_000, intervalMs: 500, what: `job ${jobId} RUNNING`, abortIf: c.died });
    await c.replaceTaskManager(2);
    await waitFor(async () => (await taskManagers().catch(() => [])).length === 3, { timeoutMs: 180_000, intervalMs: 500, what: 'the standby TaskManager registered', abortIf: c.died });
    const before = await taskManagers();
    assert.equal(before.filter((tm) => tm.freeSlots > 0).length, 1, 'one TaskManager (the standby) idle');

    const tKill = Date.now();
    await c.killTaskManager(1);
    // No replacement yet: the job can only come back in the standby's slot.
    await waitFor(() => runningAt(1), { timeoutMs: 180_000, intervalMs: 250, what: `job ${jobId} RUNNING again without a replacement`, abortIf: c.died });
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
  } catch (e) {
    if (cluster) t.diagnostic(cluster.logs().slice(-4000));
    throw e;
  } finally {
    await cluster?.stop();
    await kafka?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
