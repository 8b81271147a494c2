/**
 * The job autoscaler against real Flink 2.2.1 and 1.20.5 JobManagers and TaskManagers (local processes,
 * started with the generated configuration of an application with `jobAutoscaler`): the
 * operations tool's `autoscale` command, run as its own process with the arguments of the
 * `<name>-autoscaler` Deployment (without a TaskManager Deployment to size: the one
 * TaskManager's 4 slots), reads the job's vertices and metrics from the REST API and declares a
 * new parallelism per vertex, and the adaptive scheduler rescales the running job in place.
 *
 * The job: a datagen source with no rate limit (a legacy SourceFunction: its task reports no busy
 * time) into a keyed count over 1000 keys, which cannot keep up: the count's vertex is busy all
 * the time and the source backpressured. Started at parallelism 2 with target 70% +/- 20% and
 * maxParallelism 3, the autoscaler must raise the count to 3 (ceil(2 x ~1.0 / 0.7), capped) and
 * keep the source at 2 (nothing to size it by); the job then runs at 2 and 3 under the same job
 * id, restored from a checkpoint of before the change. (The scale-down of idle vertices and the
 * TaskManager count are the real node's test, test/e2e/e2e-node-storage.test.ts.)
 *
 * The Kafka lag test (Flink 2.2.1, a real KRaft broker): a backlog waits in a 4-partition topic
 * before a job at parallelism 1 starts reading it; each record costs a SHA-512 over 18 KB, so the
 * job's one chained vertex (Kafka source -> hash -> blackhole) is busy all the time and behind.
 * Busy time alone would ask for ceil(1 x 1.0 / 0.7) = 2; the autoscaler must add the catch-up
 * factor of the source's pending records (read from the Kafka reader's `pendingRecords`), size
 * the vertex above 2, and give it the 4 partitions it counts from the reader's per-partition
 * metrics (3 aligned up to 4, a divisor; 5 or 6 capped at 4, no more subtasks than partitions, while
 * maxParallelism is 6); the job then runs at 4 in place and reads the backlog to its end.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { FlinkPlatform, FlinkVersion, JobSource } from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { produce, waitConsumed } from '../support/e2e-stream';
import { restGet, waitFor } from '../support/flink-proc';
import { latestRestored } from '../support/flink-rest';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { RunningCluster, runCluster } from '../support/local-flink';

const SQL = `CREATE TABLE gen (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000', 'fields.k.min' = '0', 'fields.k.max' = '999');
CREATE TABLE sink (k INT, c BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*) FROM gen GROUP BY k;
`;

interface Vertex { id: string; name: string; parallelism: number; status: string }

/**
 * Runs the `autoscale` command as its own process with the synthesized Deployment's arguments
 * (the local REST address, without the TaskManager Deployment to size), waits for its first
 * declaration and runs `fn` with its log lines and the time of that declaration; stops it after,
 * also on failure, and reports its log.
 */
async function withAutoscaler(t: { diagnostic(m: string): void }, args: readonly string[], c: RunningCluster, timeout: string,
  fn: (log: readonly string[], declaredAt: number) => Promise<void>): Promise<void> {
  const cut = (xs: string[], flag: string) => { const i = xs.indexOf(flag); return [...xs.slice(0, i), ...xs.slice(i + 2)]; };
  let cliArgs = args.map((a, i) => (args[i - 1] === '--rest-url' ? c.rest : a));
  for (const f of ['--deployment', '--selector', '--slots-per-task-manager', '--min-task-managers', '--max-task-managers']) cliArgs = cut(cliArgs, f);
  const log: string[] = [];
  const cli = spawn(process.execPath, [path.join(__dirname, '../../lib/ops/main.js'), ...cliArgs, '--timeout', timeout], { stdio: ['ignore', 'ignore', 'pipe'] });
  cli.stderr.on('data', (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
  try {
    await waitFor(() => log.some((l) => / declared parallelism /.test(l)), { timeoutMs: 120_000, intervalMs: 500, what: 'the autoscaler\'s declaration', abortIf: c.died });
    const declaredAt = Date.now();
    t.diagnostic(log.filter((l) => / load | declared /.test(l)).join('\n'));
    await fn(log, declaredAt);
  } finally {
    cli.kill('SIGTERM');
    const code = await exited;
    t.diagnostic(`autoscaler exited ${code}; its log:\n${log.slice(-30).join('\n')}`);
  }
}

for (const [dist, line, version] of [['2.2.1', '2.2', FlinkVersion.V2_2], ['1.20.5', '1.20', FlinkVersion.V1_20]] as const) {
  test(`job autoscaler: the busy keyed vertex scales up in place (same job id, restored from a checkpoint), the source without busy time keeps its parallelism, Flink ${dist}`, { timeout: 10 * 60_000 }, async (t) => {
    await live(t, `job-autoscaler-${line}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(dist, line);
      const p = new FlinkPlatform({ storageBaseDirectory: `file://${work}/state`, namespace: 'logs' });
      p.addApplication('hot-path', {
        flinkVersion: version,
        job: JobSource.sql(SQL),
        parallelism: 2,
        taskManagerSlots: 4,
        checkpointing: true,
        checkpointInterval: Duration.seconds(3),
        jobAutoscaler: {
          minParallelism: 1, maxParallelism: 3, targetUtilization: 70, utilizationBoundary: 20,
          metricsWindow: Duration.seconds(10), stabilization: Duration.seconds(5), interval: Duration.seconds(2),
        },
      });
      const unit = synthesizeUnit(p.unit('hot-path')!);
      const dep = unit.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'hot-path-autoscaler');
      const args: string[] = dep.spec.template.spec.containers[0].args;
      const c: RunningCluster = run.keep(await runCluster(unit.objects, 'hot-path', work, home, { taskManagers: 1 }), () => c.logs().slice(-4000));
      const jobId = c.local.jobManager.args[c.local.jobManager.args.indexOf('--job-id') + 1];
      const vertices = async () => (await restGet<{ state: string; vertices: Vertex[] }>(`${c.rest}/jobs/${jobId}`));
      const allRunning = (v?: { state: string; vertices: Vertex[] }) => v?.state === 'RUNNING' && v.vertices.length > 0 && v.vertices.every((x) => x.status === 'RUNNING');
      await waitFor(async () => allRunning(await vertices().catch(() => undefined)),
        { timeoutMs: 240_000, intervalMs: 500, what: `job ${jobId} RUNNING`, abortIf: c.died });
      const before = (await vertices()).vertices;
      assert.deepEqual(before.map((v) => v.parallelism), [2, 2], 'started at parallelism 2');
      const [source, count] = before;
      assert.match(source.name, /Source/);

      await withAutoscaler(t, args, c, '240s', async (log, declaredAt) => {
        try {
          const lastBefore = (await restGet<any>(`${c.rest}/jobs/${jobId}/checkpoints`)).latest?.completed?.id ?? 0;
          const requirements = await restGet<Record<string, { parallelism: { upperBound: number } }>>(`${c.rest}/jobs/${jobId}/resource-requirements`);
          assert.equal(requirements[source.id].parallelism.upperBound, 2, 'the source (no busy time) kept at 2');
          assert.equal(requirements[count.id].parallelism.upperBound, 3, 'the busy keyed count declared at 3');
          assert.ok(log.some((l) => /Source: gen.*no busy time reported .* at parallelism 2: kept/.test(l)), log.join('\n'));
          assert.ok(log.some((l) => /GroupAggregate.*: load 0\.9\d|GroupAggregate.*: load 1\.00/.test(l)), `the count busy nearly all the time:\n${log.join('\n')}`);

          await waitFor(async () => {
            const v = await vertices().catch(() => undefined);
            return allRunning(v) && v!.vertices.map((x) => x.parallelism).join() === '2,3';
          }, { timeoutMs: 180_000, intervalMs: 500, what: 'the job RUNNING at 2 and 3', abortIf: c.died });
          t.diagnostic(`rescaled in ${Date.now() - declaredAt} ms after the declaration`);
          const restored = await latestRestored((r) => restGet(`${c.rest}${r}`), jobId, { atLeast: lastBefore });
          assert.ok(restored, 'restored from a checkpoint');
          assert.ok(restored.id >= lastBefore && !restored.is_savepoint, `restored checkpoint ${restored.id}, the last one before the change was ${lastBefore}`);
          const jobs = await restGet<{ jobs: Array<{ jid: string; state: string }> }>(`${c.rest}/jobs/overview`);
          assert.deepEqual(jobs.jobs.map((j) => j.jid), [jobId], 'one job, the same job id');

          // The loop goes on measuring the job at its new parallelism.
          await waitFor(() => log.some((l) => /runs at the declared parallelism \(2, 3\)/.test(l)), { timeoutMs: 60_000, intervalMs: 500, what: 'the autoscaler seeing the new parallelism' });
        } catch (e) {
          for (const x of before) {
            t.diagnostic(`${x.name}: ${JSON.stringify(await restGet(`${c.rest}/jobs/${jobId}/vertices/${x.id}/subtasks/metrics?get=busyTimeMsPerSecond,backPressuredTimeMsPerSecond,idleTimeMsPerSecond&agg=avg`).catch((err) => String(err)))}`);
          }
          throw e;
        }
      });
    });
  });
}

const LAG_TOPIC = 'lag.in';
const LAG_SQL = (bootstrap: string) => `CREATE TABLE src (line STRING) WITH ('connector' = 'kafka', 'topic' = '${LAG_TOPIC}', 'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = 'lag', 'scan.startup.mode' = 'earliest-offset', 'format' = 'raw');
CREATE TABLE sink (h STRING) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT SHA512(REPEAT(line, 400)) FROM src;
`;

test('job autoscaler: a Kafka backlog scales the source beyond what its busy time asks, aligned to the topic\'s partitions, and the job reads the backlog to its end, Flink 2.2.1', { timeout: 10 * 60_000 }, async (t) => {
  await live(t, 'job-autoscaler-lag', async (run) => {
    const work = run.work;
    const home = await run.flinkHome('2.2.1', '2.2');
    const kafka = run.keep(await startKafka({ dataDir: path.join(work, 'kafka') }), () => '');
    await kafka.createTopic(LAG_TOPIC, 4);
    const BACKLOG = 500_000;
    const producedFrom = Date.now();
    const production = await produce(kafka, { topic: LAG_TOPIC, total: BACKLOG, chunk: 10_000, rate: 1_000_000, record: (i) => ({ i, message: `record ${i} of the backlog` }) });
    await production.done;
    t.diagnostic(`${BACKLOG} records produced in ${Date.now() - producedFrom} ms`);
    const p = new FlinkPlatform({ storageBaseDirectory: `file://${work}/state`, namespace: 'logs' });
    p.addApplication('lagging', {
      flinkVersion: FlinkVersion.V2_2,
      job: JobSource.sql(LAG_SQL(kafka.bootstrap)),
      parallelism: 1,
      taskManagerSlots: 6,
      checkpointing: true,
      checkpointInterval: Duration.seconds(3),
      jobAutoscaler: {
        minParallelism: 1, maxParallelism: 6, targetUtilization: 70, utilizationBoundary: 20, catchUp: Duration.seconds(40),
        metricsWindow: Duration.seconds(10), stabilization: Duration.seconds(5), interval: Duration.seconds(2),
      },
    });
    const unit = synthesizeUnit(p.unit('lagging')!);
    const args: string[] = unit.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'lagging-autoscaler').spec.template.spec.containers[0].args;
    const c: RunningCluster = run.keep(await runCluster(unit.objects, 'lagging', work, home, { taskManagers: 1 }), () => c.logs().slice(-4000));
    const jobId = c.local.jobManager.args[c.local.jobManager.args.indexOf('--job-id') + 1];
    const job = async () => restGet<{ state: string; vertices: Vertex[] }>(`${c.rest}/jobs/${jobId}`);
    const runningAt = async (ps: string) => {
      const j = await job().catch(() => undefined);
      return j?.state === 'RUNNING' && j.vertices.every((x) => x.status === 'RUNNING') && j.vertices.map((x) => x.parallelism).join() === ps;
    };
    await waitFor(() => runningAt('1'), { timeoutMs: 240_000, intervalMs: 500, what: `job ${jobId} RUNNING at parallelism 1`, abortIf: c.died });
    const [vertex] = (await job()).vertices;

    await withAutoscaler(t, args, c, '300s', async (log, declaredAt) => {
      const decision = log.find((l) => /: load .*catch-up x/.test(l))!;
      const m = /load ([\d.]+) \(busy ([\d.]+), catch-up x([\d.]+); \d+ records\/s, \d+ pending\) at parallelism 1, 4 partitions: to (\d+)/.exec(decision);
      assert.ok(m, `a decision for the source vertex reading 4 partitions: ${decision}`);
      const [busy, factor, to] = [Number(m[2]), Number(m[3]), Number(m[4])];
      assert.ok(busy > 0, `the hashing vertex reports busy time: ${busy}`);
      assert.ok(factor >= 1.5, `the backlog raises the load: catch-up x${factor}`);
      // busy time alone: ceil(1 x busy / 0.7) (2 on an idle machine, where the hash keeps the vertex
      // busy 0.95 of the time; less on a loaded one); with the backlog more, and then 3 -> 4 (a
      // divisor of the 4 partitions), 5 or 6 -> 4 (no more subtasks than partitions)
      const busyAlone = Math.ceil(busy / 0.7);
      const wanted = Math.min(6, Math.ceil(Number(m[1]) / 0.7));
      assert.ok(wanted > busyAlone && wanted > 2, `more than busy time alone asks (${busyAlone}): ${wanted}`);
      assert.equal(to, 4, `the 4 partitions' parallelism: ${decision}`);
      if (wanted === 3) assert.match(decision, /to 4 \(3 aligned to 4 partitions\)/);
      const requirements = await restGet<Record<string, { parallelism: { upperBound: number } }>>(`${c.rest}/jobs/${jobId}/resource-requirements`);
      assert.equal(requirements[vertex.id].parallelism.upperBound, to, 'declared to Flink');

      await waitFor(() => runningAt(String(to)), { timeoutMs: 180_000, intervalMs: 500, what: `the job RUNNING at ${to}`, abortIf: c.died });
      t.diagnostic(`rescaled to ${to} in ${Date.now() - declaredAt} ms after the declaration`);
      const restored = await latestRestored((r) => restGet(`${c.rest}${r}`), jobId);
      assert.ok(restored && !restored.is_savepoint, 'restored from a checkpoint');
      const jobs = await restGet<{ jobs: Array<{ jid: string }> }>(`${c.rest}/jobs/overview`);
      assert.deepEqual(jobs.jobs.map((j) => j.jid), [jobId], 'one job, the same job id');
      // the backlog is read to its end: the group's offsets, committed on checkpoints, reach the end of the topic
      await waitConsumed(kafka, 'lag', LAG_TOPIC, BACKLOG, c.died);
      t.diagnostic(`backlog of ${BACKLOG} read to its end ${Date.now() - declaredAt} ms after the declaration`);
    });
  });
});
