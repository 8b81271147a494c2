/**
 * `cdk8s-flink local up|down|status`, the local runner for users, driven through the CLI as a
 * user would: the example's audit-logs application and its shared-logs session cluster with the
 * slow-requests session job, pointed at a real local Kafka, on real Flink 1.20.5. The processes
 * outlive the `local up` command and `local down` stops them. Bad input fails with one line.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Partitioners } from 'kafkajs';
import { layoutFlinkHome } from '../support/flink-dist';
import { processAlive, restGet, waitFor } from '../support/flink-proc';
import { KafkaBroker, startKafka } from '../support/kafka';

const CLI = path.join(__dirname, '..', '..', 'lib', 'cli', 'main.js');
const PLATFORM = path.join(__dirname, '..', '..', 'examples', 'platform.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function appModule(dir: string, kafka: string): string {
  const file = path.join(dir, 'local-app.js');
  const options = JSON.stringify({
    kafkaBootstrap: kafka, stateBase: `file://${dir}/state`, archiveBase: `file://${dir}/archive`,
    elasticsearch: 'http://127.0.0.1:9', opsImage: 'cdk8s-flink-ops:0.1.0',
  });
  fs.writeFileSync(file, `module.exports = require(${JSON.stringify(PLATFORM)}).buildLogPlatform({ ...${options}, image: (v) => 'flink:' + v + '-java17' });\n`);
  return file;
}

let kafka: KafkaBroker | undefined;
after(async () => { await kafka?.stop(); });

test('local: bad input fails with one line and starts nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-local-bad-'));
  try {
    const app = appModule(dir, '127.0.0.1:9');
    const usage: Array<[string[], string]> = [
      [['local'], '<action> is missing; expected up, down or status'],
      [['local', 'start', 'x'], '<action>: "start" is invalid; expected one of up, down, status'],
      [['local', 'up'], 'local up needs a job, session cluster or session job name'],
      [['local', 'up', 'audit-logs', '--app', app, '--taskmanagers', '0'], '--taskmanagers: "0" is invalid; expected an integer from 1 to 16'],
      [['local', 'up', 'audit-logs', '--app', app, '--timeout', '0s'], '--timeout: "0s" is too short; expected at least 1s'],
    ];
    for (const [args, line] of usage) {
      const r = cli(args);
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.deepEqual(r.stderr.trim().split('\n'), [`cdk8s-flink: error: ${line}`, 'Usage: cdk8s-flink local <up|down|status> [name] [options]   ("cdk8s-flink local --help" for more)']);
    }
    const cases: Array<[string[], RegExp]> = [
      [['local', 'up', 'nope', '--app', app], /^cdk8s-flink: error: job: "nope" is not defined; expected one of access-logs, audit-logs, /],
      [['local', 'up', 'audit-logs', '--app', app, '-D', 'parallelism.default'], /^cdk8s-flink: error: -D: "parallelism.default" is invalid; expected key=value/],
      [['local', 'up', 'audit-logs', '--app', app, '--flink-home', '/nonexistent/flink'], /^cdk8s-flink: error: --flink-home: "\/nonexistent\/flink" has no bin\/jobmanager.sh; expected a Flink 1.20.5 distribution/],
      [['local', 'up', 'slow-requests', '--app', app, '--dir', dir], /^cdk8s-flink: error: job: "slow-requests" runs on session cluster shared-logs, which is not up locally; run "cdk8s-flink local up shared-logs" first$/],
      [['local', 'down', 'audit-logs', '--dir', dir], /^cdk8s-flink: error: job: "audit-logs" is not up locally/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, got ${r.stderr}`);
      assert.match(lines[0], re);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['local-app.js'], 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('local up/down: an application and a session job on real Flink 1.20 outlive the command and stop on down', { timeout: 12 * 60_000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-local-'));
  const dir = path.join(work, 'local');
  const started: number[] = [];
  try {
    // A Flink home as --flink-home takes it (what the tool would otherwise fetch into its cache).
    const home = await layoutFlinkHome('1.20.5', '1.20', path.join(work, 'flink'));
    kafka = await startKafka();
    for (const topic of ['logs.audit', 'logs.audit.counted', 'logs.access', 'logs.slow-requests']) await kafka.createTopic(topic, 1);
    const app = appModule(work, kafka.bootstrap);
    const base = ['--app', app, '--dir', dir, '--flink-home', home];

    const t0 = Date.now();
    const up = cli(['local', 'up', 'audit-logs', ...base, '--json']);
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(up.stdout);
    started.push(...state.processes.map((p: any) => p.pid));
    t.diagnostic(`local up audit-logs returned after ${Date.now() - t0} ms: ${state.rest}, job ${state.jobId}`);
    assert.match(up.stderr, /job [0-9a-f]{32} "audit-logs" is RUNNING/);
    assert.deepEqual(state.processes.map((p: any) => p.name), ['jobmanager', 'taskmanager-0']);
    // The command has exited; the job keeps running in the processes it left behind.
    const jobs = await restGet<{ jobs: Array<{ jid: string; state: string; name: string }> }>(`${state.rest}/jobs/overview`);
    assert.deepEqual(jobs.jobs.map((j) => [j.jid, j.name, j.state]), [[state.jobId, 'audit-logs', 'RUNNING']]);
    const conf = await restGet<Array<{ key: string; value: string }>>(`${state.rest}/jobmanager/config`);
    assert.equal(conf.find((e) => e.key === 'execution.checkpointing.dir')?.value, `file://${work}/state/audit-logs/checkpoints`, 'the generated config is in effect');

    // Records flow through the locally running job.
    const producer = kafka.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'logs.audit', messages: [{ value: JSON.stringify({ id: 'l-1', ts: '2026-11-22T10:00:00.000', service: 'checkout', level: 'INFO', message: 'm' }) }] });
    await producer.disconnect();
    await waitFor(async () => {
      const d = await restGet<{ vertices: Array<{ metrics: { 'write-records': number } }> }>(`${state.rest}/jobs/${state.jobId}`);
      return d.vertices[0].metrics['write-records'] >= 1;
    }, { timeoutMs: 90_000, intervalMs: 1000, what: 'the record read by the local job' });

    const again = cli(['local', 'up', 'audit-logs', ...base]);
    assert.equal(again.code, 1);
    assert.match(again.stderr.trim(), /^cdk8s-flink: error: job: "audit-logs" is already up locally \(REST http:\/\/127\.0\.0\.1:\d+\); run "cdk8s-flink local down audit-logs" first$/);

    // A session cluster (Kubernetes HA switched off locally) and a session job submitted to it.
    const session = cli(['local', 'up', 'shared-logs', ...base, '--taskmanagers', '1', '--json']);
    assert.equal(session.code, 0, session.stderr);
    assert.match(session.stderr, /Kubernetes high availability is off locally/);
    const sessionState = JSON.parse(session.stdout);
    started.push(...sessionState.processes.map((p: any) => p.pid));
    const job = cli(['local', 'up', 'slow-requests', ...base, '--json']);
    assert.equal(job.code, 0, job.stderr);
    const jobState = JSON.parse(job.stdout);
    assert.equal(jobState.cluster, 'shared-logs');
    assert.equal(jobState.rest, sessionState.rest);
    const sessionJobs = await restGet<{ jobs: Array<{ jid: string; state: string; name: string }> }>(`${sessionState.rest}/jobs/overview`);
    assert.deepEqual(sessionJobs.jobs.map((j) => [j.jid, j.state]), [[jobState.jobId, 'RUNNING']]);

    const status = cli(['local', 'status', '--dir', dir, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const listed = JSON.parse(status.stdout);
    assert.deepEqual(listed.map((s: any) => [s.name, s.alive.every(Boolean)]).sort(), [['audit-logs', true], ['shared-logs', true], ['slow-requests', true]]);
    const text = cli(['local', 'status', '--dir', dir]);
    assert.match(text.stdout, /^audit-logs\s+application\s+1\.20\.5\s+http:\/\/127\.0\.0\.1:\d+\s+2\/2 alive\s+[0-9a-f]{32}$/m);

    // down: the session job is cancelled, then every process is stopped.
    const downJob = cli(['local', 'down', 'slow-requests', '--dir', dir]);
    assert.equal(downJob.code, 0, downJob.stderr);
    assert.match(downJob.stderr, new RegExp(`cancelled job ${jobState.jobId} "slow-requests"`));
    await waitFor(async () => (await restGet<{ jobs: Array<{ state: string }> }>(`${sessionState.rest}/jobs/overview`)).jobs.every((j) => j.state === 'CANCELED'),
      { timeoutMs: 30_000, intervalMs: 500, what: 'the session job CANCELED' });
    for (const name of ['shared-logs', 'audit-logs']) {
      const down = cli(['local', 'down', name, '--dir', dir]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, /stopped jobmanager \(pid \d+\)/);
    }
    for (const pid of started) assert.equal(processAlive(pid), false, `process ${pid} stopped`);
    await assert.rejects(restGet(`${state.rest}/overview`, 2000));
    const empty = cli(['local', 'status', '--dir', dir]);
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /nothing is up locally/);
  } finally {
    for (const pid of started) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
});
