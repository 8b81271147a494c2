/**
 * The upgrade hook's hand-off against a real Flink 1.20 JobManager (the audit-logs example, its
 * generated config and args): a savepoint that cannot be written fails the hook and changes
 * nothing; a real stop-with-savepoint hands over a new job id and the savepoint; the restarted
 * JobManager (the init container's own script appending the restore keys) restores it, and the
 * keyed per-service counts continue where they stopped, every record exactly once.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../examples/platform';
import { synthesizeUnit } from '../lib/synth/synthesize';
import { layoutFlinkHome } from './support/flink-dist';
import { restGet, waitFor } from './support/flink-proc';
import { KafkaBroker, startKafka } from './support/kafka';
import { runCluster } from './support/local-flink';

const OPS = path.join(__dirname, '..', 'lib', 'ops', 'main.js');
let kafka: KafkaBroker | undefined;
after(async () => { await kafka?.stop(); });

function ops(args: string[]) {
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stderr: r.stderr };
}

const SERVICES = ['checkout', 'search', 'login'];
const record = (i: number) => ({ id: `e-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % 3], level: 'INFO', message: `event ${i}` });

test('upgrade with state on Flink 1.20: hand-off, restart, restore; counts continue exactly once; a failed savepoint changes nothing', { timeout: 10 * 60_000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-upgrade-'));
  const home = await layoutFlinkHome('1.20.5', '1.20', path.join(work, 'flink'));
  kafka = await startKafka();
  await kafka.createTopic('logs.audit', 2);
  await kafka.createTopic('logs.audit.counted', 1);
  const platform = buildLogPlatform({
    kafkaBootstrap: kafka.bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`,
    elasticsearch: 'http://127.0.0.1:9', image: (v) => `flink:${v}-java17`, opsImage: 'cdk8s-flink-ops:0.1.0',
  });
  const unit = synthesizeUnit(platform.unit('audit-logs')!);
  const cluster = await runCluster(unit.objects, 'audit-logs', work, home);
  const got: any[] = [];
  const consumer = kafka.client().consumer({ groupId: 'upgrade-check', readUncommitted: false });
  try {
    const producer = kafka.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const send = (from: number, to: number) => producer.send({ topic: 'logs.audit', messages: Array.from({ length: to - from }, (_, i) => ({ value: JSON.stringify(record(from + i)) })) });
    const handoffDir = cluster.local.handoffDir;
    const read = (k: string) => fs.readFileSync(path.join(handoffDir, k), 'utf8');
    const firstId = read('jobId');
    await cluster.waitRunning(firstId);
    await send(0, 30);
    await consumer.connect();
    await consumer.subscribe({ topic: 'logs.audit.counted', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { got.push(JSON.parse(message.value!.toString())); } });
    await waitFor(() => got.length >= 30, { timeoutMs: 180_000, intervalMs: 1000, what: '30 committed records before the upgrade', abortIf: cluster.died });
    t.diagnostic(`first run: 30 records committed`);

    const base = ['handoff', '--event', 'upgrade', '--rest-url', cluster.rest, '--handoff-dir', handoffDir, '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '2', '--release', 'audit-logs', '--namespace', 'logs', '--timeout', '120s'];
    // A savepoint that cannot be written: the hook fails with the reason and hands nothing over.
    const before = { jobId: read('jobId'), savepointPath: read('savepointPath') };
    const failed = ops([...base, '--savepoint-dir', 'file:///proc/cdk8s-flink-not-writable']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: savepoint of job [0-9a-f]{32} failed: /);
    assert.deepEqual({ jobId: read('jobId'), savepointPath: read('savepointPath') }, before, 'hand-off unchanged');
    await cluster.waitRunning(firstId, 60_000);

    const t0 = Date.now();
    const ok = ops([...base, '--savepoint-dir', `file://${work}/state/audit-logs/savepoints`]);
    assert.equal(ok.code, 0, ok.stderr);
    const savepoint = read('savepointPath');
    const secondId = read('jobId');
    assert.match(savepoint, new RegExp(`^file:${work}/state/audit-logs/savepoints/savepoint-`));
    assert.notEqual(secondId, firstId, 'the job id rotates');
    assert.equal(read('savepoint.r2'), savepoint, 'recorded for a later rollback');
    t.diagnostic(`stop-with-savepoint took ${Date.now() - t0} ms: ${savepoint}`);

    await cluster.restartJobManager();
    await cluster.waitRunning(secondId);
    const cps = await restGet<any>(`${cluster.rest}/jobs/${secondId}/checkpoints`);
    assert.equal(cps.latest.restored?.external_path, savepoint, 'the new job restored the handed-over savepoint');
    await send(30, 60);
    await waitFor(() => got.length >= 60, { timeoutMs: 180_000, intervalMs: 1000, what: `60 committed records after the upgrade (have ${got.length})`, abortIf: cluster.died });
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(got.map((r) => r.id).filter((id) => !id.startsWith('cdk8s-flink-smoke')).sort(), Array.from({ length: 60 }, (_, i) => `e-${i}`).sort(), 'every record exactly once');
    for (const s of SERVICES) {
      assert.deepEqual(got.filter((r) => r.service === s && r.id.startsWith('e-')).map((r) => r.service_count).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), `${s}: counts continue from the savepoint`);
    }
    await producer.disconnect();

    // helm test's program against the same job: REST, RUNNING, checkpoints, a marker through Kafka.
    const smokeRun = ops(['smoke', '--rest-url', cluster.rest, '--job-name', 'audit-logs', '--require-checkpoint',
      '--kafka-bootstrap', kafka.bootstrap, '--source-topic', 'logs.audit', '--sink-topic', 'logs.audit.counted',
      '--marker', JSON.stringify({ service: 'smoke', level: 'INFO', message: 'marker' }), '--timeout', '180s']);
    assert.equal(smokeRun.code, 0, smokeRun.stderr);
    assert.match(smokeRun.stderr, /marker arrived: records flow end to end/);
    const wrongName = ops(['smoke', '--rest-url', cluster.rest, '--job-name', 'other-job', '--timeout', '10s']);
    assert.equal(wrongName.code, 1);
    assert.match(wrongName.stderr, /error: job "other-job" is not RUNNING \(jobs: audit-logs=/);
  } catch (e) {
    t.diagnostic(cluster.logs());
    throw e;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await cluster.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
