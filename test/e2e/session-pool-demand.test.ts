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
 * The pool's loop with pods (the TaskManager Deployment's scale) is in test/e2e/e2e-node-ha.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { FlinkPlatform, FlinkVersion, JobSource } from '../../lib';
import { resourceRequirements } from '../../lib/ops/autoscale';
import { sleep } from '../../lib/ops/errors';
import { FlinkRest, RestAnswerError } from '../../lib/ops/flink-rest';
import { jobDemand, KnownJob } from '../../lib/ops/pool';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { restGet, waitFor } from '../support/flink-proc';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';
import { allRunning, runSubmitter } from '../support/session-submit';

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

for (const adaptive of [false, true]) {
  const scheduler = adaptive ? 'adaptive' : 'default';
  test(`session pool demand against real Flink 2.2.1, the ${scheduler} scheduler: ${adaptive ? 'the declared parallelism, read every round (2, then 4 after a PUT while the job runs at 2)' : 'the vertices\' parallelism (the requirements call refused once)'}`, { timeout: 6 * 60_000 }, async (t) => {
    await live(t, `pool-demand-${scheduler}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome('2.2.1', '2.2');
      const p = platform(work, adaptive);
      const cluster = run.keep(await runCluster(synthesizeUnit(p.unit('elastic')!).objects, 'elastic', path.join(work, 'cluster'), home));
      const { rest, died } = cluster;
      await waitFor(async () => {
        const o = await restGet<any>(`${rest}/overview`).catch(() => undefined);
        return o && o.taskmanagers === 1 && o['slots-total'] === 2 ? o : undefined;
      }, { timeoutMs: 180_000, intervalMs: 1000, what: '1 TaskManager with 2 slots', abortIf: died });
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
