/**
 * The shared live-test fixture (test/support/live.ts) without any real process: what it prints on
 * failure, the order it stops things in, and that the work folder goes and the error stays.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import { live } from '../support/live';

function recorder() {
  const events: string[] = [];
  const t = { diagnostic: (m: string) => events.push(`log ${m}`) };
  const proc = (name: string, fail = false) => ({
    stop: () => { events.push(`stop ${name}`); if (fail) throw new Error(`${name} would not stop`); },
    logs: () => `${name} tail`,
  });
  return { events, t, proc };
}

test('live fixture: on failure, the kept logs in order, then stops in reverse, the folder removed, the error rethrown', async () => {
  const { events, t, proc } = recorder();
  let work = '';
  await assert.rejects(live(t, 'unit', async (run) => {
    work = run.work;
    assert.ok(fs.existsSync(work));
    run.keep(proc('kafka'));
    run.keep(proc('flink'), () => 'custom flink tail');
    throw new Error('boom');
  }), /boom/);
  assert.deepEqual(events, ['log kafka tail', 'log custom flink tail', 'stop flink', 'stop kafka']);
  assert.ok(!fs.existsSync(work), 'the work folder is removed');
});

test('live fixture: on success, no logs, stops in reverse, the folder removed, the value returned', async () => {
  const { events, t, proc } = recorder();
  let work = '';
  const value = await live(t, 'unit', async (run) => {
    work = run.work;
    run.keep(proc('a'));
    run.keep(proc('b'));
    return 42;
  });
  assert.equal(value, 42);
  assert.deepEqual(events, ['stop b', 'stop a']);
  assert.ok(!fs.existsSync(work));
});

test('live fixture: a stop that throws still stops the rest and removes the folder; its error is reported', async () => {
  const { events, t, proc } = recorder();
  let work = '';
  await assert.rejects(live(t, 'unit', async (run) => {
    work = run.work;
    run.keep(proc('a'));
    run.keep(proc('b', true));
    run.keep(proc('c'));
  }), /b would not stop/);
  assert.deepEqual(events, ['stop c', 'stop b', 'stop a']);
  assert.ok(!fs.existsSync(work));
});

test('live fixture: when the test failed and a stop fails too, the test\'s own error is the one reported', async () => {
  const { events, t, proc } = recorder();
  await assert.rejects(live(t, 'unit', async (run) => {
    run.keep(proc('a', true));
    run.keep(proc('b'));
    throw new Error('the real failure');
  }), /the real failure/);
  assert.deepEqual(events, ['log a tail', 'log b tail', 'stop b', 'stop a']);
});
