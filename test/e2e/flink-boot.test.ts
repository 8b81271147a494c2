/**
 * The real Flink boot check: an application-mode example of examples/platform.ts, synthesized
 * exactly as for Kubernetes, runs on a real Flink distribution (1.20 and 2.2) as local
 * processes, with a real KRaft Kafka broker, all on 127.0.0.1.
 *
 * What is the generated artifact, unchanged: the config file and log4j-console.properties from
 * the ConfigMap, the job's SQL file, the JobManager's and TaskManagers' container args (with
 * `$(VAR)` expanded from the container env and mount paths mapped, as the kubelet would).
 * What the harness changes, and only through `-D` dynamic properties (which override the
 * config file, as the image's entrypoint does with JOB_MANAGER_RPC_ADDRESS): addresses
 * (127.0.0.1 instead of Service names and 0.0.0.0) and ports (free ports instead of the fixed
 * container ports, so tests can run side by side). The example's endpoints (Kafka, storage)
 * are its options, pointed at the local broker and file:// folders.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../../examples/platform';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { restGet, waitFor } from '../support/flink-proc';
import { runCluster } from '../support/local-flink';
import { live, sharedKafka } from '../support/live';

const kafka = sharedKafka();

interface Case {
  readonly job: string;
  readonly dist: string;
  readonly line: string;
  readonly source: string;
  readonly kafkaSink?: string;
}

const CASES: Case[] = [
  { job: 'audit-logs', dist: '1.20.5', line: '1.20', source: 'logs.audit', kafkaSink: 'logs.audit.counted' },
  { job: 'access-logs', dist: '2.2.1', line: '2.2', source: 'logs.access' },
];

const SERVICES = ['checkout', 'search', 'login'];

function auditRecord(i: number) {
  return { id: `e-${i}`, ts: `2026-11-22T10:00:${String(i % 60).padStart(2, '0')}.000`, service: SERVICES[i % 3], level: 'INFO', message: `event ${i}` };
}

function accessRecord(i: number) {
  return { ts: '2026-11-22T10:00:00.000', service: SERVICES[i % 3], host: 'h1', method: 'GET', path: `/p/${i}`, status: 200, bytes: 100 + i, latency_ms: 1.5 };
}

for (const c of CASES) {
  test(`boot: example "${c.job}" runs on real Flink ${c.dist} with its generated config, log4j file and container args`, { timeout: 8 * 60_000 }, async (t) => {
    const t0 = Date.now();
    await live(t, `boot-${c.job}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const k = await kafka();
      await k.createTopic(c.source, 2);
      if (c.kafkaSink) await k.createTopic(c.kafkaSink, 1);

      const platform = buildLogPlatform({
        kafkaBootstrap: k.bootstrap,
        stateBase: `file://${work}/state`,
        archiveBase: `file://${work}/archive`,
        elasticsearch: 'http://127.0.0.1:9',
        imageRegistry: 'localhost/cdk8s-flink-test',
      });
      const unit = synthesizeUnit(platform.unit(c.job)!);
      const app = platform.unit(c.job)!.construct as any;
      const cluster = run.keep(await runCluster(unit.objects, c.job, work, home));
      const { local, rest } = cluster;
      const died = cluster.died;
      assert.equal(local.configFile, 'config.yaml');

      // The REST API answers and every TaskManager registered with the declared slots.
      const overview = await waitFor(async () => {
        const o = await restGet<{ taskmanagers: number; 'slots-total': number; 'flink-version': string }>(`${rest}/overview`).catch(() => undefined);
        // Slots are reported a moment after a TaskManager registers: wait for both.
        const slots = local.taskManager.replicas * app.taskManagerSlots;
        return o && o.taskmanagers === local.taskManager.replicas && o['slots-total'] === slots ? o : undefined;
      }, { timeoutMs: 180_000, intervalMs: 1000, what: `${local.taskManager.replicas} TaskManagers registered with ${local.taskManager.replicas} x ${app.taskManagerSlots} slots`, abortIf: died });
      assert.equal(overview['flink-version'], c.dist);
      t.diagnostic(`REST up, ${overview.taskmanagers} TaskManager(s), ${overview['slots-total']} slots after ${Date.now() - t0} ms`);

      // The generated configuration is the one in effect.
      const conf = await restGet<Array<{ key: string; value: string }>>(`${rest}/jobmanager/config`);
      const value = (key: string) => conf.find((e) => e.key === key)?.value;
      assert.equal(value('execution.checkpointing.dir'), `file://${work}/state/${c.job}/checkpoints`);
      assert.equal(value('taskmanager.numberOfTaskSlots'), String(app.taskManagerSlots));
      assert.equal(value('parallelism.default'), String(app.parallelism));

      const producer = k.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const make = c.job === 'audit-logs' ? auditRecord : accessRecord;
      await producer.send({ topic: c.source, messages: Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify(make(i)) })) });
      await producer.disconnect();

      // The job runs under the job id of the container args (from the hand-off), every task RUNNING.
      const jobId = local.jobManager.args[local.jobManager.args.indexOf('--job-id') + 1];
      assert.match(jobId, /^[0-9a-f]{32}$/);
      const job = await cluster.waitRunning(jobId);
      assert.equal(job.name, c.job);
      const vertices = (await restGet<{ vertices: Array<{ parallelism: number }> }>(`${rest}/jobs/${jobId}`)).vertices;
      assert.ok(vertices.some((v) => v.parallelism === app.parallelism), `a vertex runs at parallelism ${app.parallelism}`);
      t.diagnostic(`job RUNNING after ${Date.now() - t0} ms`);

      // A checkpoint completes into the generated checkpoint directory (the example's interval is 1 min).
      const cp = await waitFor(async () => {
        const s = await restGet<{ counts: { completed: number }; latest: { completed?: { external_path: string } } }>(`${rest}/jobs/${jobId}/checkpoints`);
        return s.counts.completed >= 1 ? s : undefined;
      }, { timeoutMs: 150_000, intervalMs: 2000, what: 'a completed checkpoint', abortIf: died });
      assert.match(cp.latest.completed!.external_path, new RegExp(`^file:${work}/state/${c.job}/checkpoints/${jobId}/chk-\\d+$`));
      t.diagnostic(`checkpoint completed after ${Date.now() - t0} ms`);

      if (c.kafkaSink) {
        // Exactly-once sink: records are visible to read_committed readers once the checkpoint commits them,
        // with the keyed running count per service.
        const got: any[] = [];
        const consumer = k.client().consumer({ groupId: `boot-${c.job}`, readUncommitted: false });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic: c.kafkaSink, fromBeginning: true });
          await consumer.run({ eachMessage: async ({ message }) => { got.push(JSON.parse(message.value!.toString())); } });
          await waitFor(() => got.length >= 30, { timeoutMs: 150_000, intervalMs: 1000, what: `30 committed records in ${c.kafkaSink} (have ${got.length})`, abortIf: died });
        } finally {
          await consumer.disconnect();
        }
        assert.deepEqual(got.map((r) => r.id).sort(), Array.from({ length: 30 }, (_, i) => `e-${i}`).sort());
        for (const s of SERVICES) {
          const counts = got.filter((r) => r.service === s).map((r) => r.service_count).sort((a, b) => a - b);
          assert.deepEqual(counts, Array.from({ length: 10 }, (_, i) => i + 1), `running count of ${s}`);
        }
      }
      t.diagnostic(`all checks passed after ${Date.now() - t0} ms`);
    });
  });
}
