/**
 * End-to-end check of the real test infrastructure: for Flink 1.20 and 2.2, lay out a Flink home
 * exactly as the runtime image (runtime/artifacts.json), start a real KRaft Kafka broker, run the
 * SQL runner in a standalone-job JobManager plus one TaskManager (all on 127.0.0.1), and check:
 * job RUNNING, a completed checkpoint, filtered records in the sink topic when read with
 * read_committed (exactly-once Kafka sink), committed files of the filesystem sink, and both
 * processes' Prometheus endpoints.
 *
 * Versions: CDK8S_FLINK_INFRA_VERSIONS="1.20.5:1.20,2.2.1:2.2" (version:line, comma separated).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Partitioners } from 'kafkajs';
import { log4jConsoleProperties } from '../../lib/config/log4j';
import { distJavaOpts, readArtifacts } from '../support/flink-dist';
import { FlinkProcess, freePorts, restGet, startJobManager, startTaskManager, waitFor } from '../support/flink-proc';
import { firstDied } from '../support/local-flink';
import { live, sharedKafka as liveKafka } from '../support/live';

const VERSIONS: Array<{ version: string; line: string }> = (process.env.CDK8S_FLINK_INFRA_VERSIONS ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => {
    const [version, line] = s.split(':');
    return { version, line };
  });
if (VERSIONS.length === 0) {
  for (const [line, l] of Object.entries(readArtifacts().lines)) VERSIONS.push({ version: l.flinkVersion, line });
}

const sharedKafka = liveKafka();

const LOG4J = log4jConsoleProperties();

function configYaml(work: string, javaOpts: string): string {
  // Flat keys, valid for 1.20 and 2.x. Ports here are deliberately the defaults: the test
  // overrides them with -D dynamic properties and checks that the override wins.
  // env.java.default-opts.all: the distribution's --add-opens list, needed on Java 17.
  return `env.java.default-opts.all: ${JSON.stringify(javaOpts)}
jobmanager.rpc.address: 127.0.0.1
jobmanager.bind-host: 127.0.0.1
jobmanager.rpc.port: 6123
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: 8081
taskmanager.host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
taskmanager.numberOfTaskSlots: 2
parallelism.default: 1
jobmanager.memory.process.size: 1024m
taskmanager.memory.process.size: 1280m
execution.checkpointing.dir: file://${work}/checkpoints
execution.shutdown-on-application-finish: false
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 2
restart-strategy.fixed-delay.delay: 1 s
metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
metrics.reporter.prom.port: 9249
`;
}

function pipelineSql(o: { tag: string; bootstrap: string; inTopic: string; outTopic: string; filesDir: string }): string {
  return `-- cdk8s-flink infra test; a comment with a semicolon; that must not split
SET 'execution.checkpointing.interval' = '2 s';
SET 'pipeline.name' = 'infra-${o.tag}';

CREATE TABLE orders_in (
  id BIGINT,
  kind STRING,
  note STRING
) WITH (
  'connector' = 'kafka',
  'topic' = '${o.inTopic}',
  'properties.bootstrap.servers' = '${o.bootstrap}',
  'properties.group.id' = 'flink-${o.tag}',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

/* exactly-once: records become visible to read_committed consumers when a checkpoint completes;
   the broker's transaction.max.timeout.ms (15 min) caps the transaction timeout; */
CREATE TABLE orders_out (
  id BIGINT,
  kind STRING,
  note STRING
) WITH (
  'connector' = 'kafka',
  'topic' = '${o.outTopic}',
  'properties.bootstrap.servers' = '${o.bootstrap}',
  'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'cdk8s-flink-${o.tag}',
  'properties.transaction.timeout.ms' = '600000'
);

CREATE TABLE orders_files (
  id BIGINT,
  kind STRING,
  note STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'file://${o.filesDir}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '2 s',
  'sink.rolling-policy.inactivity-interval' = '2 s',
  'sink.rolling-policy.check-interval' = '1 s'
);

EXECUTE STATEMENT SET BEGIN
  INSERT INTO orders_out SELECT id, kind, note FROM orders_in WHERE kind = 'keep' AND note <> 'x;--y';
  INSERT INTO orders_files SELECT id, kind, note FROM orders_in WHERE kind = 'keep';
END;
`;
}

function records(from: number, to: number): Array<{ id: number; kind: string; note: string }> {
  const out = [];
  for (let id = from; id <= to; id++) out.push({ id, kind: id % 2 === 0 ? 'keep' : 'drop', note: `n;${id}` });
  return out;
}

function tail(s: string, lines = 80): string {
  return s.split('\n').slice(-lines).join('\n');
}

for (const { version, line } of VERSIONS) {
  test(`Flink ${version} (line ${line}): SQL runner job Kafka -> filter -> Kafka exactly-once + filesystem`, { timeout: 9 * 60_000 }, async (t) => {
    const tag = `v${version.replace(/\./g, '_')}`;
    await live(t, `infra-${tag}`, async (run) => {
      const work = run.work;
      const procs: FlinkProcess[] = [];
      /** keeps a process until the end of the test; its log's tail printed if the test fails */
      const keep = (p: FlinkProcess) => procs.push(run.keep(p, () => `---- ${p.name} log (tail) ----\n${tail(p.logFile() || p.logs())}`));
      let jobId: string | undefined;
      let rest = '';
      try {
        const t0 = Date.now();
        const home = await run.flinkHome(version, line);
        t.diagnostic(`layout ready in ${Date.now() - t0} ms: ${home}`);
        assert.ok(fs.existsSync(path.join(home, 'usrlib', 'cdk8s-flink-sql-runner.jar')));
        assert.ok(fs.readdirSync(path.join(home, 'lib')).some((f) => f.startsWith('flink-connector-kafka-')));

        const confDir = path.join(work, 'conf');
        fs.mkdirSync(confDir);
        fs.writeFileSync(path.join(confDir, 'config.yaml'), configYaml(work, distJavaOpts(home)));
        fs.writeFileSync(path.join(confDir, 'log4j-console.properties'), LOG4J);

        const k = await sharedKafka();
        const inTopic = `in-${tag}`;
        const outTopic = `out-${tag}`;
        await k.createTopic(inTopic, 2);
        await k.createTopic(outTopic, 1);
        const producer = k.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        const send = async (rs: Array<{ id: number; kind: string; note: string }>) =>
          producer.send({ topic: inTopic, messages: rs.map((r) => ({ key: String(r.id), value: JSON.stringify(r) })) });
        await send(records(1, 12));
        await producer.send({ topic: inTopic, messages: [{ value: 'not json; ignored' }] });

        const filesDir = path.join(work, 'files-out');
        const sqlFile = path.join(work, 'pipeline.sql');
        fs.writeFileSync(sqlFile, pipelineSql({ tag, bootstrap: k.bootstrap, inTopic, outTopic, filesDir }));

        const [restPort, rpcPort, blobPort, jmProm, tmProm, tmRpc] = await freePorts(6);
        rest = `http://127.0.0.1:${restPort}`;
        const jm = await startJobManager({
          flinkHome: home,
          confDir,
          logDir: path.join(work, 'log-jm'),
          args: ['standalone-job', '--job-classname', 'org.cdk8sflink.runner.SqlRunner', '--script', sqlFile],
          dynamicProperties: {
            'rest.port': restPort,
            'jobmanager.rpc.port': rpcPort,
            'blob.server.port': blobPort,
            'metrics.reporter.prom.port': jmProm,
          },
        });
        keep(jm);
        const tm = await startTaskManager({
          flinkHome: home,
          confDir,
          logDir: path.join(work, 'log-tm'),
          // the `-Dkey=value` form appended to the container args works for taskmanager and
          // standalone-job; for `jobmanager` the first argument after the mode word must be a
          // separate "-D" (jobmanager.sh takes anything else as the legacy <host> [<webui-port>])
          args: ['taskmanager', `-Djobmanager.rpc.port=${rpcPort}`, `-Dtaskmanager.rpc.port=${tmRpc}`, `-Dmetrics.reporter.prom.port=${tmProm}`],
        });
        keep(tm);
        const died = () => firstDied(procs, new Set());

        // job RUNNING with all its tasks running (bounded generously: on a machine busy with a node
        // test beside it, the SQL planning alone has taken minutes)
        const job = await waitFor(
          async () => {
            const o = await restGet<{ jobs: Array<{ jid: string; name: string; state: string }> }>(`${rest}/jobs/overview`);
            const j = o.jobs[0];
            if (j && ['FAILED', 'CANCELED', 'FINISHED'].includes(j.state)) {
              throw Object.assign(new Error(`job ${j.jid} is ${j.state}`), { fatal: true });
            }
            if (!j || j.state !== 'RUNNING') return undefined;
            const d = await restGet<{ vertices: Array<{ status: string }> }>(`${rest}/jobs/${j.jid}`);
            return d.vertices.every((v) => v.status === 'RUNNING') ? j : undefined;
          },
          { timeoutMs: 300_000, intervalMs: 1000, what: `the job to be RUNNING on Flink ${version}`, abortIf: died },
        );
        jobId = job.jid;
        t.diagnostic(`job ${job.jid} '${job.name}' RUNNING after ${Date.now() - t0} ms`);
        assert.equal(job.name, `infra-${tag}`);

        // -D dynamic properties override config.yaml
        const jmConf = await restGet<Array<{ key: string; value: string }>>(`${rest}/jobmanager/config`);
        const confValue = (key: string) => jmConf.find((e) => e.key === key)?.value;
        assert.equal(confValue('jobmanager.rpc.port'), String(rpcPort));
        assert.equal(confValue('rest.port'), String(restPort));
        const tms = await restGet<{ taskmanagers: Array<{ id: string }> }>(`${rest}/taskmanagers`);
        assert.equal(tms.taskmanagers.length, 1);

        await send(records(13, 20));

        // a completed checkpoint
        const cp = await waitFor(
          async () => {
            const c = await restGet<{ counts: { completed: number; failed: number } }>(`${rest}/jobs/${job.jid}/checkpoints`);
            return c.counts.completed >= 1 ? c.counts : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: 'a completed checkpoint', abortIf: died },
        );
        t.diagnostic(`checkpoints: ${JSON.stringify(cp)}`);

        // the filtered records, read_committed
        const expected = records(1, 20)
          .filter((r) => r.kind === 'keep')
          .map((r) => r.id);
        const got: Array<{ id: number; kind: string; note: string }> = [];
        const consumer = k.client().consumer({ groupId: `check-${tag}`, readUncommitted: false });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic: outTopic, fromBeginning: true });
          await consumer.run({
            eachMessage: async ({ message }) => {
              got.push(JSON.parse(message.value!.toString('utf8')));
            },
          });
          await waitFor(() => got.length >= expected.length, {
            timeoutMs: 60_000,
            intervalMs: 500,
            what: `${expected.length} committed records in ${outTopic} (have ${got.length})`,
            abortIf: died,
          });
          await new Promise((r) => setTimeout(r, 3000)); // duplicates would show up now
        } finally {
          await consumer.disconnect();
        }
        assert.deepEqual(
          got.map((r) => r.id).sort((a, b) => a - b),
          expected,
        );
        assert.ok(got.every((r) => r.kind === 'keep' && r.note === `n;${r.id}`));

        // committed files of the filesystem sink (hidden files are in-progress / pending)
        const fileIds = await waitFor(
          () => {
            if (!fs.existsSync(filesDir)) return undefined;
            const ids: number[] = [];
            for (const f of fs.readdirSync(filesDir)) {
              if (f.startsWith('.') || f.startsWith('_')) continue;
              for (const l of fs.readFileSync(path.join(filesDir, f), 'utf8').split('\n')) if (l.trim()) ids.push(JSON.parse(l).id);
            }
            return ids.length >= expected.length ? ids.sort((a, b) => a - b) : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: `committed files in ${filesDir}`, abortIf: died },
        );
        assert.deepEqual(fileIds, expected);

        // the prometheus reporter plugin is on, in both processes
        const jmMetrics = await restGet<string>(`http://127.0.0.1:${jmProm}/metrics`);
        assert.match(jmMetrics, /flink_jobmanager_numRegisteredTaskManagers/);
        assert.match(jmMetrics, /flink_jobmanager_job_numberOfCompletedCheckpoints/);
        const tmMetrics = await restGet<string>(`http://127.0.0.1:${tmProm}/metrics`);
        assert.match(tmMetrics, /flink_taskmanager_Status_JVM_Memory_Heap_Used/);
        t.diagnostic(`all checks passed after ${Date.now() - t0} ms`);
      } catch (e) {
        // the job's exceptions, while the processes still run (live() prints their logs and stops them)
        if (jobId && rest) {
          const ex = await restGet(`${rest}/jobs/${jobId}/exceptions`).catch(() => undefined);
          if (ex) t.diagnostic(`job exceptions: ${JSON.stringify(ex).slice(0, 3000)}`);
        }
        throw e;
      }
    });
  });
}
