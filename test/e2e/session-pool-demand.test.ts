/**
 * What a session cluster's TaskManager pool reads of each job (`jobDemand` in lib/ops/pool.ts),
 * against real Flink 2.2.1 JobManagers and TaskManagers: local processes started with the
 * generated configuration of a session cluster (one TaskManager of 2 slots), and a job (datagen
 * to blackhole, parallelism 2) submitted the way its chart's submitter Job does it.
 *
 * - The default scheduler answers GET /jobs/<id>/resource-requirements with an error (it cannot
 *   rescale a running job): the pool counts the job's vertices (2), and does not ask again.
 * - With the adaptive scheduler (`jobmanager.scheduler: adaptive` in the cluster's
 *   flinkConfiguration) the pool counts the declared parallelism: 2 at submission; after a PUT
 *   declaring 4 for every vertex, 4, while the job still runs at 2 on the 2 slots there are (the
 *   TaskManagers the pool would add are what it waits for).
 *
 * - A session job's job autoscaler (`jobAutoscaler` of FlinkSessionJob): the arguments of its
 *   `<name>-autoscaler` Deployment, run as the operations tool, find the job by name beside a
 *   neighbour in the same session, declare the idle job from 2 to 1 (the adaptive scheduler
 *   rescales it in place, same job id), leave the neighbour alone, and the pool's demand for the
 *   job follows to 1.
 *
 * The pool's loop with pods (the TaskManager Deployment's scale) is in test/e2e/e2e-node-ha.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { FlinkPlatform, FlinkVersion, JobSource } from '../../lib';
import { resourceRequirements } from '../../lib/ops/autoscale';
import { sleep } from '../../lib/ops/errors';
import { FlinkRest, RestAnswerError } from '../../lib/ops/flink-rest';
import { jobDemand, KnownJob } from '../../lib/ops/pool';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { restGet, waitFor } from '../support/flink-proc';
import { live, LiveRun } from '../support/live';
import { runCluster } from '../support/local-flink';
import { allRunning, runOps, runSubmitter } from '../support/session-submit';

const SQL = `CREATE TABLE gen (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '100');
CREATE TABLE sink (k INT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k FROM gen;
`;

function platform(work: string, adaptive: boolean): FlinkPlatform {
  const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: `file://${work}/state` });
  const cluster = p.addSessionCluster('elastic', {
    flinkVersion: FlinkVersion.V2_2,
    taskManagerReplicas: 1,
    taskManagerSlots: 2,
    ...(adaptive ? { flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' } } : {}),
  });
  p.addSessionJob('gen', { cluster, parallelism: 2, job: JobSource.sql(SQL) });
  return p;
}

/** The platform's session cluster `elastic` as local processes, once its TaskManagers have registered their slots. */
async function startSession(run: LiveRun, p: FlinkPlatform, home: string, taskManagers: number, slots: number) {
  const cluster = run.keep(await runCluster(synthesizeUnit(p.unit('elastic')!).objects, 'elastic', path.join(run.work, 'cluster'), home));
  await waitFor(async () => {
    const o = await restGet<any>(`${cluster.rest}/overview`).catch(() => undefined);
    return o && o.taskmanagers === taskManagers && o['slots-total'] === slots ? o : undefined;
  }, { timeoutMs: 180_000, intervalMs: 1000, what: `${taskManagers} TaskManager(s) with ${slots} slots`, abortIf: cluster.died });
  return cluster;
}

for (const adaptive of [false, true]) {
  const scheduler = adaptive ? 'adaptive' : 'default';
  test(`session pool demand against real Flink 2.2.1, the ${scheduler} scheduler: ${adaptive ? 'the declared parallelism, read every round (2, then 4 after a PUT while the job runs at 2)' : 'the vertices\' parallelism (the requirements call refused once)'}`, { timeout: 6 * 60_000 }, async (t) => {
    await live(t, `pool-demand-${scheduler}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome('2.2.1', '2.2');
      const p = platform(work, adaptive);
      const { rest, died } = await startSession(run, p, home, 1, 2);
      const submitted = await runSubmitter(synthesizeUnit(p.unit('gen')!).objects, 'gen', work, rest, home);
      assert.equal(submitted.code, 0, `submit failed: ${submitted.stderr}`);
      const jid = /submitted job ([0-9a-f]{32}) "gen"/.exec(submitted.stderr)?.[1];
      assert.ok(jid, `submit names the job: ${submitted.stderr}`);
      await waitFor(() => allRunning(rest, jid), { timeoutMs: 180_000, intervalMs: 1000, what: 'gen RUNNING', abortIf: died });

      const flink = new FlinkRest(rest);
      const known = new Map<string, KnownJob>();
      const running = { jid, state: 'RUNNING' };
      const answer = await flink.declaredParallelism(jid).then((m) => Object.fromEntries(m), (e: unknown) => e);
      if (!adaptive) {
        // Flink's own answer: an error status, not a missing server
        assert.ok(answer instanceof RestAnswerError, `the default scheduler refuses the call: ${String(answer)}`);
        assert.equal(await jobDemand(flink, running, known), 2, 'the vertices\' parallelism');
        assert.deepEqual(known.get(jid), { refusesRequirements: true, vertexSlots: 2 });
        assert.equal(await jobDemand(flink, running, known), 2, 'the same from what the pool remembers');
        recordE2E(`session-pool-demand/${scheduler}`, { flinkVersion: '2.2.1', requirementsAnswer: { status: answer.status, message: answer.message.slice(0, 200) }, demand: 2 });
        return;
      }
      assert.ok(!(answer instanceof Error), `the adaptive scheduler answers the call: ${String(answer)}`);
      const vertices = Object.keys(answer as Record<string, number>);
      assert.ok(vertices.length >= 1 && Object.values(answer as Record<string, number>).every((n) => n === 2), `declared 2 for every vertex at submission: ${JSON.stringify(answer)}`);
      assert.equal(await jobDemand(flink, running, known), 2);
      assert.equal(known.get(jid)?.refusesRequirements, undefined, 'the adaptive scheduler answered: nothing remembered against asking again');
      // declared 4 for every vertex (what the job autoscaler or a user sends): the pool follows at
      // once, while the job runs on at 2 for want of slots
      await flink.request('PUT', `/jobs/${jid}/resource-requirements`, resourceRequirements(new Map(vertices.map((v) => [v, 4]))));
      const demand = await waitFor(async () => ((await jobDemand(flink, running, known)) === 4 ? 4 : undefined), { timeoutMs: 30_000, intervalMs: 500, what: 'the declared 4 read as the demand', abortIf: died });
      await sleep(3000);
      const job = await restGet<any>(`${rest}/jobs/${jid}`);
      assert.deepEqual([job.state, ...job.vertices.map((v: any) => v.parallelism)], ['RUNNING', ...vertices.map(() => 2)], 'the job runs on at 2 on the 2 slots there are');
      recordE2E(`session-pool-demand/${scheduler}`, { flinkVersion: '2.2.1', declaredAtSubmission: answer, demandAfterPut: demand, runningAt: job.vertices.map((v: any) => v.parallelism) });
    });
  });
}

test('a session job\'s job autoscaler against real Flink 2.2.1 (adaptive scheduler): its Deployment\'s arguments find the job by name beside a neighbour, declare the idle job from 2 to 1, the job rescales in place, the neighbour keeps its parallelism, and the pool\'s demand follows', { timeout: 6 * 60_000 }, async (t) => {
  await live(t, 'session-job-autoscaler', async (run) => {
    const work = run.work;
    const home = await run.flinkHome('2.2.1', '2.2');
    const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: `file://${work}/state` });
    const cluster = p.addSessionCluster('elastic', {
      flinkVersion: FlinkVersion.V2_2, taskManagerReplicas: 2, taskManagerSlots: 2,
      checkpointInterval: Duration.seconds(2), flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' },
    });
    // an idle source that reports busy time (a FLIP-27 file source watching an empty folder; the
    // rate-limited datagen source reports none, and the autoscaler keeps such a vertex as it is)
    fs.mkdirSync(path.join(work, 'in'));
    const TAIL = `CREATE TABLE src (line STRING) WITH ('connector' = 'filesystem', 'path' = 'file://${work}/in', 'format' = 'raw', 'source.monitor-interval' = '1s');
CREATE TABLE sink (line STRING) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT line FROM src;
`;
    p.addSessionJob('gen', {
      cluster, parallelism: 2, job: JobSource.sql(TAIL),
      jobAutoscaler: { minParallelism: 1, maxParallelism: 2, maxScaleDown: 50, stabilization: Duration.seconds(5), metricsWindow: Duration.seconds(10), interval: Duration.seconds(2) },
    });
    p.addSessionJob('neighbour', { cluster, parallelism: 2, job: JobSource.sql(SQL) });
    const { rest, died } = await startSession(run, p, home, 2, 4);
    const jids: Record<string, string> = {};
    for (const name of ['gen', 'neighbour']) {
      const submitted = await runSubmitter(synthesizeUnit(p.unit(name)!).objects, name, work, rest, home);
      assert.equal(submitted.code, 0, `submit ${name} failed: ${submitted.stderr}`);
      jids[name] = /submitted job ([0-9a-f]{32}) /.exec(submitted.stderr)![1];
      await waitFor(() => allRunning(rest, jids[name]), { timeoutMs: 180_000, intervalMs: 1000, what: `${name} RUNNING`, abortIf: died });
    }
    // the Deployment's arguments, as its pod runs them; the REST URL (a Service on Kubernetes) mapped
    const dep = synthesizeUnit(p.unit('gen')!).objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'gen-autoscaler');
    const args: string[] = dep.spec.template.spec.containers[0].args;
    assert.deepEqual(args.slice(0, 5), ['autoscale', '--rest-url', 'http://elastic-rest.logs.svc:8081', '--job-name', 'gen']);
    const t0 = Date.now();
    const stop = new AbortController();
    const autoscaler = runOps([...args.map((a, i) => (args[i - 1] === '--rest-url' ? rest : a)), '--timeout', '150s'], {}, stop.signal);
    const flink = new FlinkRest(rest);
    const parallelismOf = async (jid: string) => (await restGet<any>(`${rest}/jobs/${jid}`)).vertices.map((v: any) => v.parallelism);
    await waitFor(async () => {
      const d = await allRunning(rest, jids.gen);
      return d && d.vertices.every((v: any) => v.parallelism === 1) ? d : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1000, what: 'gen RUNNING at 1', abortIf: died })
      .catch(async (e: Error) => { stop.abort(); throw new Error(`${e.message}; the autoscaler's log:\n${(await autoscaler).stderr}`); });
    const rescaledMs = Date.now() - t0;
    const known = new Map<string, KnownJob>();
    assert.equal(await jobDemand(flink, { jid: jids.gen, state: 'RUNNING' }, known), 1, 'the pool counts gen at its declared 1');
    assert.deepEqual(await parallelismOf(jids.neighbour), (await parallelismOf(jids.neighbour)).map(() => 2), 'the neighbour runs on at 2');
    assert.equal(await jobDemand(flink, { jid: jids.neighbour, state: 'RUNNING' }, known), 2, 'and is counted at its 2');
    const jobs = (await restGet<any>(`${rest}/jobs/overview`)).jobs.filter((j: any) => j.state === 'RUNNING').map((j: any) => j.jid).sort();
    assert.deepEqual(jobs, [jids.gen, jids.neighbour].sort(), 'the same two job ids run: gen rescaled in place');
    stop.abort();
    const ran = await autoscaler;
    assert.equal(ran.code, 0, `the autoscaler stops cleanly on SIGTERM:\n${ran.stderr}`);
    assert.match(ran.stderr, /declared parallelism 1(, 1)* \(was 2(, 2)*\)/, ran.stderr);
    assert.doesNotMatch(ran.stderr, /active jobs/, 'the name selects one job of the two');
    recordE2E('session-job-autoscaler', { flinkVersion: '2.2.1', rescaledMs, declared: /declared parallelism [^\n]*/.exec(ran.stderr)?.[0] });
    t.diagnostic(`gen at 1 ${rescaledMs} ms after the autoscaler started`);
  });
});
