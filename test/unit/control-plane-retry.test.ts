/**
 * A control plane start that lost a port race is tried once more, and the failed attempt's
 * folder goes (a folder a run leaves in the temporary directory fails it in CI); any other
 * failed start keeps its folder for its logs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { retryOnPortRace } from '../support/control-plane';

function failedStart(message: string): { dir: string; error: Error } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-cp-retry-'));
  fs.writeFileSync(path.join(dir, 'kwok.log'), 'bind: address already in use');
  return { dir, error: Object.assign(new Error(message), { workDir: dir }) };
}

test('control plane start: a port race is retried once and the failed attempt\'s folder removed', async () => {
  const first = failedStart('kwok exited (1) during start-up\nlisten tcp 127.0.0.1:43019: bind: address already in use');
  let calls = 0;
  const r = await retryOnPortRace(async () => {
    calls++;
    if (calls === 1) throw first.error;
    return 'started';
  });
  assert.equal(r, 'started');
  assert.equal(calls, 2);
  assert.equal(fs.existsSync(first.dir), false);
});

test('control plane start: any other failure is not retried and keeps its folder with the logs', async () => {
  const other = failedStart('timed out waiting for the API server');
  let calls = 0;
  await assert.rejects(retryOnPortRace(async () => { calls++; throw other.error; }), /timed out waiting/);
  assert.equal(calls, 1);
  assert.equal(fs.existsSync(other.dir), true);
  fs.rmSync(other.dir, { recursive: true, force: true });
});
