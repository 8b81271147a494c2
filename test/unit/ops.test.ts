import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scratchDir } from '../support/scratch';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');
function ops(args: string[]) {
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}
function handoffDir(data: Record<string, string>): string {
  const d = scratchDir('cdk8s-flink-handoff-');
  for (const [k, v] of Object.entries(data)) fs.writeFileSync(path.join(d, k), v);
  return d;
}
const DEAD = 'http://127.0.0.1:65533';

test('ops handoff: with no JobManager and no savepoint handed over, a savepoint upgrade refuses to start without state', () => {
  const d = handoffDir({ jobId: 'a'.repeat(32), savepointPath: '' });
  const r = ops(['handoff', '--event', 'upgrade', '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '3', '--savepoint-dir', 'file:///sp', '--timeout', '10s']);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: no running job to stop with a savepoint and no savepoint handed over before: refusing to start without state/);
  assert.equal(fs.readFileSync(path.join(d, 'jobId'), 'utf8'), 'a'.repeat(32), 'nothing changed');
});

test('ops handoff: a suspended release resumes from the savepoint handed over; stateless starts fresh with a new id', () => {
  const d = handoffDir({ jobId: 'a'.repeat(32), savepointPath: 'file:///sp/savepoint-1' });
  const r = ops(['handoff', '--event', 'upgrade', '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '4', '--savepoint-dir', 'file:///sp', '--release', 'j', '--namespace', 'logs']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(d, 'savepointPath'), 'utf8'), 'file:///sp/savepoint-1');
  assert.notEqual(fs.readFileSync(path.join(d, 'jobId'), 'utf8'), 'a'.repeat(32));
  const s = ops(['handoff', '--event', 'upgrade', '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', 'stateless', '--state', 'running', '--revision', '5', '--savepoint-dir', '']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(fs.readFileSync(path.join(d, 'savepointPath'), 'utf8'), '');
});

test('ops handoff: a rollback restores the savepoint the undone upgrade recorded', () => {
  const d = handoffDir({ jobId: 'b'.repeat(32), savepointPath: 'file:///sp/savepoint-3', 'savepoint.r3': 'file:///sp/savepoint-3', 'savepoint.r2': 'file:///sp/savepoint-2' });
  const r = ops(['handoff', '--event', 'rollback', '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '1', '--savepoint-dir', 'file:///sp']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(d, 'savepointPath'), 'utf8'), 'file:///sp/savepoint-2', 'rolling back to revision 1 undoes the upgrade to 2');
});

test('ops: bad input is one line and a non-zero exit', () => {
  assert.equal(ops([]).code, 64);
  const mode = ops(['handoff', '--event', 'upgrade', '--rest-url', DEAD, '--handoff-dir', '/tmp', '--upgrade-mode', 'rolling', '--state', 'running', '--revision', '1']);
  assert.equal(mode.code, 64);
  assert.equal(mode.stderr.trim().split('\n')[0], 'cdk8s-flink-ops: error: --upgrade-mode: "rolling" is invalid; expected one of stateless, savepoint, last-state');
  const url = ops(['smoke', '--rest-url', 'not-a-url', '--job-name', 'x']);
  assert.equal(url.stderr.trim(), 'cdk8s-flink-ops: error: --rest-url: "not-a-url" is not an http(s) URL');
  const down = ops(['smoke', '--rest-url', DEAD, '--job-name', 'x']);
  assert.equal(down.code, 1);
  assert.match(down.stderr.trim(), /^cdk8s-flink-ops: error: Flink REST at http:\/\/127.0.0.1:65533 is unreachable \(ECONNREFUSED\) after 4 attempts$/);
  const missing = ops(['submit', '--spec', '/nonexistent.json']);
  assert.equal(missing.stderr.trim(), 'cdk8s-flink-ops: error: --spec: /nonexistent.json does not exist');
  const noKube = ops(['cleanup', '--namespace', 'x', '--configmap', 'y']);
  assert.equal(noKube.code, 1);
  assert.match(noKube.stderr.trim(), /^cdk8s-flink-ops: error: no Kubernetes API access/);
});

/**
 * A stand-in JobManager for the hand-off's bookkeeping over many releases: it answers the four
 * REST calls the hook makes (config, jobs overview, stop with savepoint, savepoint status) for
 * one running job whose id is the hand-off's. The savepoint protocol itself is proven against
 * real Flink in upgrade-state.test.ts.
 */
async function standInJobManager(d: string) {
  const http = await import('http');
  let n = 0;
  let running = true;
  const taken: string[] = [];
  const server = http.createServer((req, res) => {
    const jobId = fs.readFileSync(path.join(d, 'jobId'), 'utf8');
    const send = (body: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
    if (req.url === '/config') return send({});
    if (req.url === '/jobs/overview') return send({ jobs: running ? [{ jid: jobId, name: 'j', state: 'RUNNING' }] : [] });
    if (req.method === 'POST' && req.url === `/jobs/${jobId}/stop`) { n++; return send({ 'request-id': `t${n}` }); }
    const m = /^\/jobs\/([0-9a-f]{32})\/savepoints\/(t\d+)$/.exec(req.url ?? '');
    if (m) {
      const location = `file:/sp/savepoint-${m[2]}`;
      if (!taken.includes(location)) { taken.push(location); running = false; }
      return send({ status: { id: 'COMPLETED' }, operation: { location } });
    }
    res.statusCode = 404;
    send({ errors: [`no ${req.method} ${req.url}`] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}`,
    /** The new JobManager starts the job the hand-off names. */
    start: () => { running = true; },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function opsAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [OPS, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (x: Buffer) => { stderr += x; });
    p.on('close', (code: number | null) => resolve({ code, stderr }));
  });
}

test('ops handoff: upgrades and repeated rollbacks restore the latest state the target revision\'s code wrote, each run with a new job id', async () => {
  const d = handoffDir({ jobId: 'c'.repeat(32), revision: '1', savepointPath: '' });
  const jm = await standInJobManager(d);
  const read = () => Object.fromEntries(fs.readdirSync(d).map((f) => [f, fs.readFileSync(path.join(d, f), 'utf8')]));
  const ids = new Set<string>(['c'.repeat(32)]);
  const hook = async (event: string, revision: number) => {
    const r = await opsAsync(['handoff', '--event', event, '--rest-url', jm.url, '--handoff-dir', d, '--upgrade-mode', 'savepoint', '--state', 'running',
      '--revision', String(revision), '--savepoint-dir', 'file:///sp', '--release', 'j', '--namespace', 'logs', '--timeout', '20s']);
    assert.equal(r.code, 0, r.stderr);
    const h = read();
    assert.ok(!ids.has(h.jobId), `${event} ${revision}: a job id not used before (${h.jobId})`);
    ids.add(h.jobId);
    jm.start();
    return { h, log: r.stderr };
  };
  try {
    // r1 runs; upgrade to r2 takes t1 from r1's code.
    let { h } = await hook('upgrade', 2);
    assert.deepEqual([h.savepointPath, h.revision, h['state.r1'], h['savepoint.r2']], ['file:/sp/savepoint-t1', '2', 'file:/sp/savepoint-t1', 'file:/sp/savepoint-t1']);
    // helm rollback to 1 (Helm runs revision 1's pre-rollback hook): t2 is taken from r2's code, t1 restored.
    let log: string;
    ({ h, log } = await hook('rollback', 1));
    assert.deepEqual([h.savepointPath, h.revision, h['state.r2']], ['file:/sp/savepoint-t1', '1', 'file:/sp/savepoint-t2']);
    assert.match(log, /rollback restores file:\/sp\/savepoint-t1, taken by the upgrade it undoes \(revision 2\)/);
    // Upgrade to r4 from r1's code (running since the rollback): t3 is the latest state of r1's code.
    ({ h } = await hook('upgrade', 4));
    assert.deepEqual([h.savepointPath, h.revision, h['state.r1'], h['state.r1.by']], ['file:/sp/savepoint-t3', '4', 'file:/sp/savepoint-t3', '4']);
    // A second rollback to 1 (undoing r4): t3, not the stale t1 of the first rollback, and a new job id.
    ({ h, log } = await hook('rollback', 1));
    assert.equal(h.savepointPath, 'file:/sp/savepoint-t3', 'the state revision 1\'s code left when revision 4 replaced it');
    assert.match(log, /taken by the upgrade it undoes \(revision 4\)/);
    // Two upgrades on top (r6 from r1's code: t5; r7 from r6's: t6), then back past both to r4:
    // the state r4's code left when the second rollback replaced it (t4), not the newest (t7).
    await hook('upgrade', 6);
    await hook('upgrade', 7);
    ({ h } = await hook('rollback', 4));
    assert.deepEqual([h['state.r1'], h['state.r6'], h['state.r7']], ['file:/sp/savepoint-t5', 'file:/sp/savepoint-t6', 'file:/sp/savepoint-t7']);
    assert.equal(h.savepointPath, 'file:/sp/savepoint-t4');
  } finally {
    await jm.close();
  }
});

test('ops handoff: a stateless job rolls back stateless, with no savepoint directory', () => {
  const d = handoffDir({ jobId: 'd'.repeat(32), revision: '2', savepointPath: '' });
  const r = ops(['handoff', '--event', 'rollback', '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', 'stateless', '--state', 'running', '--revision', '1', '--savepoint-dir', '', '--timeout', '10s']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(d, 'savepointPath'), 'utf8'), '');
  assert.equal(fs.readFileSync(path.join(d, 'revision'), 'utf8'), '1');
  assert.notEqual(fs.readFileSync(path.join(d, 'jobId'), 'utf8'), 'd'.repeat(32));
});

test('ops handoff: a savepoint upgrade or a last-state rollback without a savepoint directory fails in one line and writes nothing', () => {
  for (const [event, mode] of [['upgrade', 'savepoint'], ['rollback', 'last-state']]) {
    const before = { jobId: 'e'.repeat(32), revision: '2', savepointPath: 'file:/sp/savepoint-old' };
    const d = handoffDir(before);
    const r = ops(['handoff', '--event', event, '--rest-url', DEAD, '--handoff-dir', d, '--upgrade-mode', mode, '--state', 'running', '--revision', '3', '--savepoint-dir', '', '--timeout', '10s']);
    assert.notEqual(r.code, 0, `${event} ${mode}`);
    assert.match(r.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: no savepoint directory \(job\.savepointDirectory\)/, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    for (const [k, v] of Object.entries(before)) assert.equal(fs.readFileSync(path.join(d, k), 'utf8'), v, `${k} unchanged`);
  }
});

/**
 * A stand-in session cluster for the uninstall hook's failure paths (real Flink runs the
 * savepoint, the no-op and the cancel in e2e-session.test.ts): one job "j" in `state`, whose
 * savepoints fail with Flink's failure-cause; it records the cancel requests.
 */
async function failingSavepoints(state: string) {
  const http = await import('http');
  const jid = 'ab'.repeat(16);
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const send = (body: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
    if (req.url === '/jobs/overview') return send({ jobs: [{ jid, name: 'j', state }, { jid: 'cd'.repeat(16), name: 'other', state: 'RUNNING' }] });
    if (req.method === 'POST' && req.url === `/jobs/${jid}/stop`) return send({ 'request-id': 't1' });
    if (req.url === `/jobs/${jid}/savepoints/t1`) {
      return send({ status: { id: 'COMPLETED' }, operation: { 'failure-cause': { 'stack-trace': 'org.apache.flink.util.FlinkException: Triggering a savepoint failed.\n\tat x\nCaused by: java.io.IOException: Permission denied: /sp' } } });
    }
    if (req.method === 'PATCH' && req.url === `/jobs/${jid}?mode=cancel`) { state = 'CANCELED'; return send({}); }
    if (req.url === `/jobs/${jid}`) return send({ jid, state });
    res.statusCode = 404;
    send({ errors: [`no ${req.method} ${req.url}`] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}`, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('ops uninstall: a failed savepoint fails the hook in one line and leaves the job; on-savepoint-failure cancel cancels it; a job that is not RUNNING is not stopped', async () => {
  const args = (url: string, more: string[] = []) => ['uninstall', '--rest-url', url, '--job-name', 'j', '--stop', 'savepoint', '--savepoint-dir', 'file:///sp', '--timeout', '20s', ...more];
  let s = await failingSavepoints('RUNNING');
  try {
    const r = await opsAsync(args(s.url));
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split('\n').slice(-1), ['cdk8s-flink-ops: error: savepoint of job ' + 'ab'.repeat(16) + ' failed: java.io.IOException: Permission denied: /sp; the job is left as it is and the uninstall stops here (set uninstall.onSavepointFailure=cancel to cancel it anyway)']);
    assert.ok(!s.calls.some((c) => c.startsWith('PATCH')), 'nothing cancelled');
  } finally { await s.close(); }
  s = await failingSavepoints('RUNNING');
  try {
    const r = await opsAsync(args(s.url, ['--on-savepoint-failure', 'cancel']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cancelling job (ab){16} "j" \(RUNNING\) after a failed savepoint .*Permission denied/);
    assert.deepEqual(s.calls.filter((c) => c.startsWith('PATCH')), [`PATCH /jobs/${'ab'.repeat(16)}?mode=cancel`], 'that job only');
  } finally { await s.close(); }
  s = await failingSavepoints('RESTARTING');
  try {
    const r = await opsAsync(args(s.url));
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^cdk8s-flink-ops: error: job (ab){16} "j" is RESTARTING, not RUNNING: stop with a savepoint needs a running job; retry when it runs; the job is left as it is/);
    assert.ok(!s.calls.some((c) => c.startsWith('POST') || c.startsWith('PATCH')), 'no stop, no cancel');
  } finally { await s.close(); }
});

test('ops fetch-artifact and submit: a bad S3 endpoint or region (option or AWS_REGION) is one line naming it, before any request', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', ...env } });
  const fetch = ['fetch-artifact', '--url', 's3://jobs/a/job.jar', '--dest', '/nonexistent/job.jar'];
  const spec = path.join(scratchDir('cdk8s-flink-s3-spec-'), 'job.json');
  fs.writeFileSync(spec, JSON.stringify({ name: 'j', kind: 'jar', jarFile: 's3://jobs/a/job.jar', restUrl: DEAD }));
  for (const [args, env, line] of [
    [[...fetch, '--s3-endpoint', 'ftp://store:21'], {}, 'cdk8s-flink-ops: error: --s3-endpoint: "ftp://store:21" is not an http(s) URL without user or password; expected e.g. http://minio.storage.svc:9000'],
    [[...fetch, '--s3-endpoint', 'http://user:pw@store:9000'], {}, 'cdk8s-flink-ops: error: --s3-endpoint: "http://user:pw@store:9000" is not an http(s) URL without user or password; expected e.g. http://minio.storage.svc:9000'],
    [[...fetch, '--s3-region', 'EU West'], {}, 'cdk8s-flink-ops: error: --s3-region: "EU West" is not a region; expected e.g. eu-west-1'],
    [fetch, { AWS_REGION: 'Mars_1' }, 'cdk8s-flink-ops: error: --s3-region: "Mars_1" is not a region; expected e.g. eu-west-1'],
    [['submit', '--spec', spec, '--s3-endpoint', 'store:9000'], {}, 'cdk8s-flink-ops: error: --s3-endpoint: "store:9000" is not an http(s) URL without user or password; expected e.g. http://minio.storage.svc:9000'],
  ] as [string[], Record<string, string>, string][]) {
    const r = run(args, env);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr, `${line}\n`, args.join(' '));
  }
});

/**
 * A stand-in session cluster for the submitter's retry after a stop (real Flink runs the stop,
 * the savepoint and the restore in e2e-session.test.ts): job "j" has two finished runs, the
 * newest (ended `endedAgoMs` ago) stopped with savepoint S2 after an earlier savepoint S1b of
 * the same run, an older run with S1. Its checkpoint statistics answer as Flink's REST cache
 * does when it was filled just before the stop: S1b until `cacheMs` after the end
 * (`/jobmanager/config` says `web.refresh-interval: <cacheMs> ms`), then S2.
 */
async function finishedRuns(o: { endedAgoMs: number; newestHasSavepoint: boolean; newestFails?: boolean; cacheMs?: number }) {
  const cacheMs = o.cacheMs ?? 300;
  const http = await import('http');
  const [newest, older] = ['a1'.repeat(16), 'b2'.repeat(16)];
  const calls: Array<{ at: number; call: string }> = [];
  const runs: any[] = [];
  const t0 = Date.now();
  const server = http.createServer((req, res) => {
    calls.push({ at: Date.now(), call: `${req.method} ${req.url}` });
    const send = (body: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
    let body = '';
    req.on('data', (x: Buffer) => { body += x; });
    req.on('end', () => {
      if (req.url === '/jobs/overview') return send({ jobs: [{ jid: older, name: 'j', state: 'FINISHED', 'end-time': t0 - 3_600_000 }, { jid: newest, name: 'j', state: 'FINISHED', 'end-time': t0 - o.endedAgoMs }] });
      if (req.url === '/jobmanager/config') return send([{ key: 'web.refresh-interval', value: `${cacheMs} ms` }]);
      const stats = (savepoint: string | null) => send({ counts: { completed: 1, failed: 0, in_progress: 0, restored: 0, total: 1 }, latest: { savepoint: savepoint ? { id: 1, external_path: savepoint } : null } });
      if (req.url === `/jobs/${newest}/checkpoints` && o.newestFails) { res.statusCode = 500; return send({ errors: ['Internal server error.'] }); }
      if (req.url === `/jobs/${newest}/checkpoints`) return stats(Date.now() < t0 - o.endedAgoMs + cacheMs ? 'file:/sp/savepoint-1b' : o.newestHasSavepoint ? 'file:/sp/savepoint-2' : null);
      if (req.url === `/jobs/${older}/checkpoints`) return stats('file:/sp/savepoint-1');
      if (req.method === 'POST' && req.url === '/jars/upload') return send({ filename: '/tmp/flink-web/upload/x_job.jar' });
      if (req.method === 'POST' && req.url === '/jars/x_job.jar/run') { runs.push(JSON.parse(body)); return send({ jobid: 'c3'.repeat(16) }); }
      res.statusCode = 404;
      send({ errors: [`no ${req.method} ${req.url}`] });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}`;
  const dir = scratchDir('cdk8s-flink-retry-');
  fs.writeFileSync(path.join(dir, 'job.jar'), 'PK');
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ name: 'j', jobId: 'j', restUrl: url, kind: 'jar', entryClass: 'com.example.Job', jarFile: path.join(dir, 'job.jar'), parallelism: 1, upgradeMode: 'savepoint', savepointDirectory: 'file:///sp' }));
  return { spec: path.join(dir, 'job.json'), newest, older, calls, runs, t0, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('ops submit: a retry right after a stop restores the savepoint of the stop, read past the REST cache, never an older one', async () => {
  // The run ended just now: its statistics are read once the cache's 300 ms (+ 500 ms) have passed.
  let s = await finishedRuns({ endedAgoMs: 0, newestHasSavepoint: true });
  try {
    const r = await opsAsync(['submit', '--spec', s.spec, '--timeout', '20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.runs.length, 1);
    assert.equal(s.runs[0].savepointPath, 'file:/sp/savepoint-2', 'the stop\'s savepoint, not the cached older one of that run nor the older run\'s');
    assert.match(r.stderr, new RegExp(`job ${s.newest} ended [0-9.]+ s ago: its savepoint is read after the REST cache's 300 ms`));
    assert.match(r.stderr, new RegExp(`no active run; restoring the savepoint of the finished run ${s.newest}: file:/sp/savepoint-2`));
    const reads = s.calls.filter((c) => c.call === `GET /jobs/${s.newest}/checkpoints`);
    assert.equal(reads.length, 1, 'read once');
    assert.ok(!s.calls.some((c) => c.call === `GET /jobs/${s.older}/checkpoints`), 'the older run is not asked');
  } finally { await s.close(); }
  // It ended a minute ago, longer than the cache (5 s) and 10 s for clocks apart: read at once, no wait.
  s = await finishedRuns({ endedAgoMs: 60_000, newestHasSavepoint: true, cacheMs: 5000 });
  try {
    const r = await opsAsync(['submit', '--spec', s.spec, '--timeout', '20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.runs[0].savepointPath, 'file:/sp/savepoint-2');
    assert.doesNotMatch(r.stderr, /is read after the REST cache/);
    const overview = s.calls.find((c) => c.call === 'GET /jobs/overview')!;
    const read = s.calls.find((c) => c.call === `GET /jobs/${s.newest}/checkpoints`)!;
    assert.ok(read.at - overview.at < 2000, `read without waiting the cache's 5 s (${read.at - overview.at} ms after the jobs overview)`);
  } finally { await s.close(); }
  // The newest run recorded no savepoint at all (it finished on its own): the older run's, as before, said in the log.
  s = await finishedRuns({ endedAgoMs: 0, newestHasSavepoint: false });
  try {
    const r = await opsAsync(['submit', '--spec', s.spec, '--timeout', '20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.runs[0].savepointPath, 'file:/sp/savepoint-1');
    assert.match(r.stderr, new RegExp(`the newest finished run ${s.newest} recorded no savepoint`));
  } finally { await s.close(); }
  // The newest run's statistics cannot be read: the submission fails (its Job retries), never falls back to an older run's savepoint.
  s = await finishedRuns({ endedAgoMs: 60_000, newestHasSavepoint: true, newestFails: true });
  try {
    const r = await opsAsync(['submit', '--spec', s.spec, '--timeout', '20s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').pop()!, /^cdk8s-flink-ops: error: .*500/);
    assert.deepEqual(s.runs, [], 'nothing submitted');
    assert.ok(!s.calls.some((c) => c.call === `GET /jobs/${s.older}/checkpoints`), 'the older run is not asked');
  } finally { await s.close(); }
});
