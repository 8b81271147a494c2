import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const OPS = path.join(__dirname, '..', 'lib', 'ops', 'main.js');
function ops(args: string[]) {
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}
function handoffDir(data: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-handoff-'));
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
  assert.equal(ops([]).code, 2);
  const mode = ops(['handoff', '--event', 'upgrade', '--rest-url', DEAD, '--handoff-dir', '/tmp', '--upgrade-mode', 'rolling', '--state', 'running', '--revision', '1']);
  assert.equal(mode.code, 1);
  assert.equal(mode.stderr.trim().split('\n').pop(), 'cdk8s-flink-ops: error: --upgrade-mode: "rolling" is invalid; expected one of stateless, savepoint, last-state');
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
