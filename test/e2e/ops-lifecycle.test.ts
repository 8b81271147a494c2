/**
 * The operations tool against a real Flink 1.20 application cluster (the audit-logs example,
 * its generated config and args) and a real Kafka broker: jobs, checkpoints, savepoint, stop
 * and cancel do what they say; bad runtime input (an unreachable or silent JobManager, a
 * savepoint that fails, a job that does not exist, a missing topic, an unreachable broker)
 * exits 1 with a one-line reason and changes nothing: the job keeps running with its id, and
 * the broker's topics stay as they were.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { buildLogPlatform } from '../../examples/platform';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { freePorts, restGet, waitFor } from '../support/flink-proc';
import { KafkaBroker } from '../support/kafka';
import { live, sharedKafka } from '../support/live';
import { runCluster } from '../support/local-flink';
import { ensureHelm } from '../support/tools';
import * as YAML from 'yaml';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');

interface Run { code: number | null; stdout: string; stderr: string; lines: string[]; ms: number }
function ops(args: string[], timeoutMs = 240_000): Run {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const stderr = r.stderr ?? '';
  return { code: r.status, stdout: r.stdout ?? '', stderr, lines: stderr.split('\n').filter((l) => l !== ''), ms: Date.now() - t0 };
}
/** A failure the way the tool promises it: exit 1, exactly one line on stderr, nothing on stdout. */
function assertOneLineFailure(r: Run, pattern: RegExp, what: string): string {
  assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.lines.length, 1, `${what}: one stderr line, got:\n${r.stderr}`);
  assert.match(r.lines[0], pattern, what);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  return r.lines[0];
}
const fsPath = (uri: string) => uri.replace(/^file:(\/\/)?/, '');

/** A TCP server that accepts connections and never answers (a hung JobManager or broker). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/**
 * Creates a topic and waits until every partition has a leader. (Right after creation the
 * broker can answer metadata with UNKNOWN_TOPIC_OR_PARTITION, which kafkajs' own wait for
 * leaders does not retry; this waits through it.)
 */
async function createTopic(k: KafkaBroker, name: string, partitions: number): Promise<void> {
  const admin = k.client('ops-lifecycle-topics').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false, timeout: 30_000 });
    await waitFor(async () => {
      const t = (await admin.fetchTopicMetadata({ topics: [name] })).topics[0];
      return t && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
    }, { timeoutMs: 60_000, intervalMs: 250, what: `leaders for topic ${name}` });
  } finally {
    await admin.disconnect();
  }
}

const kafka = sharedKafka();

test('ops lifecycle on Flink 1.20: jobs, checkpoints, savepoint, stop, cancel; an unreachable JobManager, a failed savepoint or an unknown job change nothing', { timeout: 12 * 60_000 }, async (t) => {
  const k = await kafka();
  await live(t, 'ops-lifecycle', async (run) => {
    const work = run.work;
    const home = await run.flinkHome('1.20.5', '1.20');
    await createTopic(k, 'logs.audit', 2);
    await createTopic(k, 'logs.audit.counted', 1);
    const platform = buildLogPlatform({
      kafkaBootstrap: k.bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`,
      elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost/cdk8s-flink-test',
    });
    const unit = synthesizeUnit(platform.unit('audit-logs')!);
    // Checkpoints every 2 s instead of the example's minute, so the test sees some quickly.
    const cluster = run.keep(await runCluster(unit.objects, 'audit-logs', work, home, {
      properties: { 'execution.checkpointing.interval': '2s', 'execution.checkpointing.min-pause': '1s' },
    }));
    const silent = await silentServer();
    run.keep({ stop: () => silent.close() });
    const measured: Record<string, unknown> = {};
    const rest = cluster.rest;
    const R = ['--rest-url', rest];
    const handoff = cluster.local.handoffDir;
    const firstId = fs.readFileSync(path.join(handoff, 'jobId'), 'utf8');
    await cluster.waitRunning(firstId);
    const overview = async () => (await restGet<{ jobs: Array<{ jid: string; name: string; state: string }> }>(`${rest}/jobs/overview`)).jobs;
    const assertStillRunning = async (what: string) => {
      await cluster.waitRunning(firstId, 60_000);
      assert.deepEqual((await overview()).map((j) => [j.jid, j.state]), [[firstId, 'RUNNING']], `${what}: the job keeps running with its id`);
    };

    // jobs: a table and JSON.
    const table = ops(['jobs', ...R]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, '');
    const [head, row, ...more] = table.stdout.trim().split('\n');
    assert.match(head, /^JOB ID\s+NAME\s+STATE\s+STARTED$/);
    assert.match(row, new RegExp(`^${firstId}\\s+audit-logs\\s+RUNNING\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$`));
    assert.deepEqual(more, []);
    const listed = JSON.parse(ops(['jobs', ...R, '--json']).stdout);
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0]).sort(), ['durationMs', 'id', 'name', 'startTime', 'state'], 'no end time while running');
    assert.deepEqual([listed[0].id, listed[0].name, listed[0].state], [firstId, 'audit-logs', 'RUNNING']);
    assert.ok(Math.abs(Date.parse(listed[0].startTime) - Date.now()) < 10 * 60_000, 'start time is recent');

    // checkpoints: completed ones appear, with a path on disk.
    const cps = await waitFor(() => {
      const r = ops(['checkpoints', ...R, '--job-name', 'audit-logs', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      return j.counts.completed >= 2 ? j : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2000, what: 'two completed checkpoints', abortIf: cluster.died });
    assert.equal(cps.jobId, firstId);
    assert.equal(cps.state, 'RUNNING');
    // The latest failure is Flink's own (a trigger refused before every task runs counts as failed but has no entry).
    const raw = await restGet<any>(`${rest}/jobs/${firstId}/checkpoints`);
    assert.equal(cps.latestFailed?.id, raw.latest.failed?.id);
    if (cps.latestFailed) assert.match(cps.latestFailed.message, /\S/);
    assert.equal(cps.restored, null);
    assert.match(cps.latestCompleted.path, new RegExp(`^file:${work}/state/audit-logs/checkpoints/${firstId}/chk-\\d+$`));
    // Only the newest checkpoint is retained and one completes every 2 s: the one reported, or a newer one, is on disk
    // with its _metadata (a checkpoint in progress has a folder without one).
    const cpDir = path.dirname(fsPath(cps.latestCompleted.path));
    const complete = fs.readdirSync(cpDir).filter((d) => /^chk-\d+$/.test(d) && fs.existsSync(path.join(cpDir, d, '_metadata'))).map((d) => Number(d.slice(4)));
    assert.ok(complete.some((n) => n >= cps.latestCompleted.id), `chk-${cps.latestCompleted.id} or newer with _metadata in ${cpDir}: ${complete}`);
    const cpText = ops(['checkpoints', ...R]);
    assert.equal(cpText.code, 0, cpText.stderr);
    assert.match(cpText.stdout, new RegExp(`^job ${firstId} "audit-logs" RUNNING\ncheckpoints: \\d+ completed, \\d+ failed, \\d in progress, 0 restored\nlatest completed: #\\d+ at \\S+, [\\d.]+ (B|KiB|MiB), file:${work}/state/audit-logs/checkpoints/`));
    t.diagnostic(`checkpoints: ${cps.counts.completed} completed; latest ${cps.latestCompleted.path}`);

    // An unreachable JobManager: a port nobody listens on. Fast, one line, the job untouched.
    const [deadPort] = await freePorts(1);
    const dead = `http://127.0.0.1:${deadPort}`;
    const unreachable = /^cdk8s-flink-ops: error: Flink REST at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\) after 4 attempts$/;
    const deadStop = ops(['stop', '--rest-url', dead, '--savepoint-dir', `file://${work}/sp-dead`]);
    measured.unreachableStop = { ms: deadStop.ms, stderr: assertOneLineFailure(deadStop, unreachable, 'stop against an unreachable JobManager') };
    assert.ok(deadStop.ms < 15_000, `unreachable JobManager took ${deadStop.ms} ms`);
    const deadJobs = ops(['jobs', '--rest-url', dead]);
    assertOneLineFailure(deadJobs, unreachable, 'jobs against an unreachable JobManager');
    assert.ok(!fs.existsSync(path.join(work, 'sp-dead')));
    // A JobManager that accepts connections and never answers: bounded by --timeout.
    const hung = ops(['savepoint', '--rest-url', `http://127.0.0.1:${silent.port}`, '--timeout', '3s']);
    measured.silentSavepoint = { ms: hung.ms, stderr: assertOneLineFailure(hung, /^cdk8s-flink-ops: error: Flink REST at http:\/\/127\.0\.0\.1:\d+ is unreachable \(no answer within [\d.]+s\) after 1 attempt$/, 'savepoint against a silent JobManager') };
    assert.ok(hung.ms < 3000 + 5000, `a silent JobManager with --timeout 3s took ${hung.ms} ms`);
    await assertStillRunning('after the unreachable JobManager');

    // A savepoint that fails (a directory under /proc cannot be created): exit 1, one line, the job keeps running.
    const notWritable = 'file:///proc/cdk8s-flink-not-writable';
    const failedSp = ops(['savepoint', ...R, '--job-id', firstId, '--savepoint-dir', notWritable, '--timeout', '120s']);
    measured.failedSavepoint = { ms: failedSp.ms, stderr: assertOneLineFailure(failedSp, new RegExp(`^cdk8s-flink-ops: error: savepoint of job ${firstId} failed: .*\\S`), 'a savepoint that fails') };
    await assertStillRunning('after a failed savepoint');
    const failedStop = ops(['stop', ...R, '--job-name', 'audit-logs', '--savepoint-dir', notWritable, '--timeout', '120s']);
    measured.failedStop = { ms: failedStop.ms, stderr: assertOneLineFailure(failedStop, new RegExp(`^cdk8s-flink-ops: error: savepoint of job ${firstId} failed: .*\\S`), 'a stop whose savepoint fails') };
    await assertStillRunning('after a failed stop-with-savepoint');
    t.diagnostic(`failed savepoint (${failedSp.ms} ms): ${failedSp.lines[0]}`);
    t.diagnostic(`failed stop (${failedStop.ms} ms): ${failedStop.lines[0]}`);

    // Jobs that do not exist: one line naming the selector, nothing cancelled.
    const otherId = crypto.randomBytes(16).toString('hex');
    const noId = ops(['cancel', ...R, '--job-id', otherId]);
    measured.unknownJobId = assertOneLineFailure(noId, new RegExp(`^cdk8s-flink-ops: error: --job-id: no job ${otherId} on http://127\\.0\\.0\\.1:\\d+ \\(jobs: audit-logs ${firstId} RUNNING\\)$`), 'cancel of an unknown job id');
    const noName = ops(['savepoint', ...R, '--job-name', 'error-logs']);
    measured.unknownJobName = assertOneLineFailure(noName, /^cdk8s-flink-ops: error: --job-name: no job named "error-logs" is active on http:\/\/127\.0\.0\.1:\d+ \(jobs: audit-logs [0-9a-f]{32} RUNNING\)$/, 'savepoint of an unknown job name');
    await assertStillRunning('after unknown jobs');

    // savepoint: into the cluster's savepoint directory; the job keeps running.
    let t0 = Date.now();
    const sp = ops(['savepoint', ...R, '--job-name', 'audit-logs']);
    measured.savepointMs = Date.now() - t0;
    assert.equal(sp.code, 0, sp.stderr);
    assert.equal(sp.stderr, '');
    const spPath = sp.stdout.trim();
    assert.match(spPath, new RegExp(`^file:${work}/state/audit-logs/savepoints/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$`));
    assert.ok(fs.existsSync(path.join(fsPath(spPath), '_metadata')), `${spPath}/_metadata exists`);
    await assertStillRunning('after a savepoint');
    const afterSp = JSON.parse(ops(['checkpoints', ...R, '--json']).stdout);
    assert.equal(afterSp.latestSavepoint.path, spPath, 'checkpoints reports the savepoint');
    t.diagnostic(`savepoint in ${measured.savepointMs} ms: ${spPath}`);

    // stop: with a savepoint into a given directory; the job FINISHED.
    t0 = Date.now();
    const stop = ops(['stop', ...R, '--job-id', firstId, '--savepoint-dir', `file://${work}/stopped`, '--verbose']);
    measured.stopMs = Date.now() - t0;
    assert.equal(stop.code, 0, stop.stderr);
    const stopPath = stop.stdout.trim();
    assert.match(stopPath, new RegExp(`^file:${work}/stopped/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$`));
    assert.ok(fs.existsSync(path.join(fsPath(stopPath), '_metadata')), `${stopPath}/_metadata exists`);
    assert.match(stop.stderr, new RegExp(`job ${firstId} "audit-logs" is FINISHED`));
    assert.deepEqual((await overview()).map((j) => [j.jid, j.state]), [[firstId, 'FINISHED']]);
    const again = ops(['stop', ...R, '--savepoint-dir', `file://${work}/stopped`]);
    assertOneLineFailure(again, new RegExp(`^cdk8s-flink-ops: error: no active job on http://127\\.0\\.0\\.1:\\d+ \\(jobs: audit-logs ${firstId} FINISHED\\)$`), 'stop with nothing running');
    t.diagnostic(`stop in ${measured.stopMs} ms: ${stopPath}`);

    // The stop savepoint restores: hand it over (as the hook does) and restart the JobManager.
    const secondId = crypto.randomBytes(16).toString('hex');
    fs.writeFileSync(path.join(handoff, 'jobId'), secondId);
    fs.writeFileSync(path.join(handoff, 'savepointPath'), stopPath);
    await cluster.restartJobManager();
    await cluster.waitRunning(secondId);
    const restored = JSON.parse(ops(['checkpoints', ...R, '--job-id', secondId, '--json']).stdout);
    assert.equal(restored.restored?.path, stopPath, 'the new job restored the stop savepoint');
    assert.equal(restored.restored?.savepoint, true);

    // cancel: by name; the job CANCELED, and a second cancel finds nothing active.
    t0 = Date.now();
    const cancel = ops(['cancel', ...R, '--job-name', 'audit-logs']);
    measured.cancelMs = Date.now() - t0;
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancel.stdout, `job ${secondId} "audit-logs" CANCELED\n`);
    const states = JSON.parse(ops(['jobs', ...R, '--json']).stdout).map((j: any) => [j.id, j.state]);
    assert.deepEqual(states, [[secondId, 'CANCELED']]);
    const twice = ops(['cancel', ...R, '--job-id', secondId]);
    assertOneLineFailure(twice, new RegExp(`^cdk8s-flink-ops: error: job ${secondId} "audit-logs" is already CANCELED: nothing to cancel$`), 'cancel of a cancelled job');
    recordE2E('ops-lifecycle/flink-1.20.5', measured);
  });
});

test('ops preflight against a real Kafka: partitions and a recommendation; a missing topic or an unreachable broker exit 1 with one line and create nothing', { timeout: 5 * 60_000 }, async (t) => {
  const k = await kafka();
  const B = ['--kafka-bootstrap', k.bootstrap];
  await createTopic(k, 'pf.in', 4);
  await createTopic(k, 'pf.out', 2);
  const admin = k.client('preflight-check').admin();
  await admin.connect();
  const measured: Record<string, unknown> = {};
  try {
    const topics = async () => (await admin.listTopics()).filter((x) => !x.startsWith('__')).sort();
    const partitions = async (topic: string) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length;

    // All good: partitions per topic and the recommendation on stdout, nothing on stderr.
    const ok = ops(['preflight', ...B, '--source-topic', 'pf.in', '--sink-topic', 'pf.out', '--parallelism', '4']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');
    assert.equal(ok.stdout, [
      `kafka ${k.bootstrap}: 1 broker(s)`,
      'source pf.in: 4 partition(s)',
      'sink pf.out: 2 partition(s)',
      'recommended parallelism: min 1, max 4 (one source subtask per partition at most; 4 source partition(s)); even spread at 1, 2, 4',
      'parallelism 4: source subtasks read 1, 1, 1, 1 partition(s)',
      '',
    ].join('\n'));
    const json = JSON.parse(ops(['preflight', ...B, '--source-topic', 'pf.in', '--json']).stdout);
    assert.deepEqual(json.sources, [{ topic: 'pf.in', partitions: 4, leaderless: 0 }]);
    assert.deepEqual(json.recommendation, { min: 1, max: 4, even: [1, 2, 4] });

    // A parallelism above the source partitions: a warning line, still exit 0.
    const over = ops(['preflight', ...B, '--source-topic', 'pf.in', '--parallelism', '6']);
    assert.equal(over.code, 0, over.stderr);
    assert.deepEqual(over.lines, ['cdk8s-flink-ops: warning: parallelism 6 exceeds the 4 partition(s) of pf.in: 2 source subtask(s) stay idle (no partition to read); use at most 4, or add partitions']);
    assert.match(over.stdout, /^parallelism 6: source subtasks read (\d, ){5}\d partition\(s\); 2 idle$/m);
    measured.overParallelismWarning = over.lines[0];

    // A missing source topic: one line naming it; nothing created, even with --create-sink-topics.
    const before = await topics();
    const missing = ops(['preflight', ...B, '--source-topic', 'pf.in', '--source-topic', 'pf.missing', '--sink-topic', 'pf.new', '--create-sink-topics', '--sink-partitions', '3']);
    measured.missingSource = { ms: missing.ms, stderr: assertOneLineFailure(missing, new RegExp(`^cdk8s-flink-ops: error: source topic "pf\\.missing" does not exist on ${k.bootstrap}; create it before the job starts \\(nothing was created\\)$`), 'a missing source topic') };
    assert.deepEqual(await topics(), before, 'the topics are unchanged');

    // A missing sink topic without --create-sink-topics: one line, nothing created.
    const noSink = ops(['preflight', ...B, '--source-topic', 'pf.in', '--sink-topic', 'pf.out', '--sink-topic', 'pf.new']);
    measured.missingSink = assertOneLineFailure(noSink, new RegExp(`^cdk8s-flink-ops: error: sink topic "pf\\.new" does not exist on ${k.bootstrap}; create it or pass --create-sink-topics \\(nothing was created\\)$`), 'a missing sink topic');
    assert.deepEqual(await topics(), before);

    // A replication factor the cluster cannot give: refused before anything is created.
    const rf = ops(['preflight', ...B, '--source-topic', 'pf.in', '--sink-topic', 'pf.new', '--create-sink-topics', '--replication-factor', '3']);
    measured.replicationFactor = assertOneLineFailure(rf, new RegExp(`^cdk8s-flink-ops: error: --replication-factor: 3 exceeds the 1 broker\\(s\\) of ${k.bootstrap}; expected at most 1 \\(nothing was created\\)$`), 'an impossible replication factor');
    assert.deepEqual(await topics(), before);

    // With --create-sink-topics: created with the partitions asked for; a second run finds it.
    const create = ops(['preflight', ...B, '--source-topic', 'pf.in', '--sink-topic', 'pf.out', '--sink-topic', 'pf.new', '--create-sink-topics', '--sink-partitions', '3', '--replication-factor', '1']);
    assert.equal(create.code, 0, create.stderr);
    assert.match(create.stdout, /^sink pf\.out: 2 partition\(s\)\nsink pf\.new: 3 partition\(s\) \(created\)$/m);
    assert.deepEqual(await topics(), [...before, 'pf.new'].sort());
    assert.equal(await partitions('pf.new'), 3);
    const rerun = ops(['preflight', ...B, '--source-topic', 'pf.in', '--sink-topic', 'pf.new', '--create-sink-topics', '--sink-partitions', '5']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /^sink pf\.new: 3 partition\(s\)$/m, 'an existing sink topic is left as it is');

    // An unreachable broker (nobody listens) and a silent one (accepts, never answers): exit 1 within --timeout.
    const [deadPort] = await freePorts(1);
    const dead = ops(['preflight', '--kafka-bootstrap', `127.0.0.1:${deadPort}`, '--source-topic', 'pf.in', '--timeout', '10s']);
    measured.unreachableBroker = { ms: dead.ms, stderr: assertOneLineFailure(dead, new RegExp(`^cdk8s-flink-ops: error: Kafka at 127\\.0\\.0\\.1:${deadPort} is unreachable while connecting \\(Connection error: connect ECONNREFUSED 127\\.0\\.0\\.1:${deadPort}\\)$`), 'an unreachable broker') };
    assert.ok(dead.ms < 10_000 + 3000, `an unreachable broker with --timeout 10s took ${dead.ms} ms`);
    const silent = await silentServer();
    try {
      const hung = ops(['preflight', '--kafka-bootstrap', `127.0.0.1:${silent.port}`, '--source-topic', 'pf.in', '--timeout', '5s']);
      measured.silentBroker = { ms: hung.ms, stderr: assertOneLineFailure(hung, new RegExp(`^cdk8s-flink-ops: error: Kafka at 127\\.0\\.0\\.1:${silent.port} (is unreachable while|did not answer within 5s)`), 'a silent broker') };
      assert.ok(hung.ms < 5000 + 3000, `a silent broker with --timeout 5s took ${hung.ms} ms`);
      // A --timeout shorter than the client's own connection timeout: the overall bound ends it, and the process exits.
      const short = ops(['preflight', '--kafka-bootstrap', `127.0.0.1:${silent.port}`, '--source-topic', 'pf.in', '--timeout', '1s']);
      measured.silentBrokerShortTimeout = { ms: short.ms, stderr: assertOneLineFailure(short, new RegExp(`^cdk8s-flink-ops: error: Kafka at 127\\.0\\.0\\.1:${silent.port} did not answer within 1s \\(--timeout\\) while connecting$`), 'a silent broker and --timeout 1s') };
      assert.ok(short.ms < 1000 + 3000, `a silent broker with --timeout 1s took ${short.ms} ms`);
    } finally {
      await silent.close();
    }
    for (const [k2, v] of Object.entries(measured)) t.diagnostic(`${k2}: ${JSON.stringify(v)}`);
    recordE2E('ops-preflight/kafka', measured);
  } finally {
    await admin.disconnect();
  }
});

test('the charts\' preflight hook, as helm renders it, runs the operations tool against a real Kafka: a missing sink topic fails the release, createSinkTopics creates it, enabled=false drops the hook', { timeout: 5 * 60_000 }, async () => {
  const k = await kafka();
  const helm = await ensureHelm(3);
  const chart = path.join(__dirname, '..', '..', '..', 'charts', 'audit-logs');
  // The chart's objects are templates/resources.yaml; the preflight is the Job named audit-logs-preflight.
  const render = (sets: string[]) => spawnSync(helm, ['template', 'audit-logs', chart, '-n', 'logs', '--show-only', 'templates/resources.yaml', ...sets.flatMap((x) => ['--set', x])], { encoding: 'utf8' });
  const jobs = (out: string) => YAML.parseAllDocuments(out).map((d) => d.toJS()).filter((x) => x?.kind === 'Job');
  const hookArgs = (sets: string[]) => {
    const r = render(sets);
    assert.equal(r.status, 0, r.stderr);
    const job = jobs(r.stdout).find((j) => j.metadata.name === 'audit-logs-preflight');
    assert.ok(job, r.stdout);
    assert.equal(job.metadata.annotations['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.ok(Number(job.metadata.annotations['helm.sh/hook-weight']) < 0, 'before the hand-off hooks (weight 0)');
    const pod = job.spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, false, 'no API access: at pre-install the release\'s ServiceAccount does not exist yet');
    assert.deepEqual(pod.containers[0].env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef?.name]), [['KAFKA_SOURCE_USERNAME', 'logs-kafka-flink'], ['KAFKA_SOURCE_PASSWORD', 'logs-kafka-flink']], 'credentials from the Secret');
    const args = pod.containers[0].args as string[];
    const value = (flag: string) => args.indexOf(flag) + 1;
    assert.deepEqual([args[value('--source-topic')], args[value('--sink-topic')]], ['logs.audit', 'logs.audit.counted'], 'the pipeline\'s topics');
    // Mapped: the brokers (a Service there, SASL over TLS; a local plaintext broker here) and the
    // topic names (fresh ones: other tests of this file run the pipeline on the same broker).
    args[value('--kafka-bootstrap')] = k.bootstrap;
    args[value('--source-topic')] = 'pfh.audit';
    args[value('--sink-topic')] = 'pfh.audit.counted';
    return args;
  };
  await createTopic(k, 'pfh.audit', 2);
  const plain = hookArgs([]);
  assert.deepEqual(plain.filter((a) => a.startsWith('--')), ['--kafka-bootstrap', '--source-topic', '--sink-topic', '--parallelism', '--timeout']);
  const missing = ops(plain);
  assertOneLineFailure(missing, /^cdk8s-flink-ops: error: sink topic "pfh\.audit\.counted" does not exist on .*; create it or pass --create-sink-topics \(nothing was created\)$/, 'the hook with a missing sink topic');
  const creating = hookArgs(['hooks.preflight.createSinkTopics=true', 'job.parallelism=3', 'taskManager.replicas=2']);
  assert.equal(creating[creating.indexOf('--parallelism') + 1], '3', 'the release\'s parallelism');
  const created = ops(creating);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^source pfh\.audit: 2 partition\(s\)$/m);
  assert.match(created.stdout, /^sink pfh\.audit\.counted: \d+ partition\(s\) \(created\)$/m);
  assert.match(created.stderr, /parallelism 3 exceeds the 2 partition\(s\) of pfh\.audit/, 'the warning reaches the hook\'s log');
  const off = render(['hooks.preflight.enabled=false']);
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual(jobs(off.stdout).map((j) => j.metadata.name), ['audit-logs-pre-rollback', 'audit-logs-pre-upgrade', 'audit-logs-cleanup'].sort(), 'disabled: no preflight hook, the others stay');
});
