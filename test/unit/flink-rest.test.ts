import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { failureCount, latestRestored, latestSavepoint, numRestarts } from '../support/flink-rest';

test('numRestarts: a read without the value is read again, not taken for 0', async () => {
  const answers: unknown[] = [[], [{ id: 'other', value: '7' }], [{ id: 'numRestarts', value: '2' }]];
  const asked: string[] = [];
  let gaps = 0;
  const n = await numRestarts(async (r) => { asked.push(r); return answers.shift(); }, 'abc', { onGap: () => gaps++ });
  assert.equal(n, 2);
  assert.equal(gaps, 2);
  assert.deepEqual(asked, Array(3).fill('/jobs/abc/metrics?get=numRestarts'));
});

test('numRestarts: a value that never comes is an error naming the job, not 0', async () => {
  await assert.rejects(numRestarts(async () => [], 'abc', { timeoutMs: 0 }), /numRestarts of job abc not served for 0 s/);
  assert.equal(await numRestarts(async () => [{ id: 'numRestarts', value: '0' }], 'abc'), 0);
});

test('failureCount: the entries of the exception history; a missing or truncated history is an error', async () => {
  const asked: string[] = [];
  assert.equal(await failureCount(async (r) => { asked.push(r); return { exceptionHistory: { entries: [{}, {}], truncated: false } }; }, 'abc'), 2);
  assert.deepEqual(asked, ['/jobs/abc/exceptions?maxExceptions=1000']);
  assert.equal(await failureCount(async () => ({ exceptionHistory: { entries: [] } }), 'abc'), 0);
  await assert.rejects(failureCount(async () => ({ errors: ['x'] }), 'abc'), /job abc: no exception history/);
  await assert.rejects(failureCount(async () => ({ exceptionHistory: { entries: [{}], truncated: true } }), 'abc'), /job abc: exception history truncated at 1 entries/);
});

test('latestSavepoint: a cached read without the savepoint (or with an older one) is read again', async () => {
  const sp = (p: string) => ({ latest: { savepoint: { external_path: p, end_to_end_duration: 5 } } });
  const asked: string[] = [];
  const answers: unknown[] = [{ latest: { savepoint: null } }, {}, sp('file:/old'), sp('file:/new')];
  assert.deepEqual(await latestSavepoint(async (r) => { asked.push(r); return answers.shift(); }, 'abc', { path: 'file:/new', intervalMs: 1 }), { external_path: 'file:/new', end_to_end_duration: 5 });
  assert.deepEqual(asked, Array(4).fill('/jobs/abc/checkpoints'));
  const any: unknown[] = [{ latest: {} }, sp('file:/first')];
  assert.equal((await latestSavepoint(async () => any.shift(), 'abc', { intervalMs: 1 }))?.external_path, 'file:/first', 'without a path, the first savepoint read');
});

test('latestSavepoint: after the timeout, the last read is returned for the caller to assert on (null when none)', async () => {
  let reads = 0;
  assert.equal(await latestSavepoint(async () => { reads++; return { latest: { savepoint: null } }; }, 'abc', { timeoutMs: 0 }), null);
  assert.equal(reads, 1);
  assert.equal((await latestSavepoint(async () => ({ latest: { savepoint: { external_path: 'file:/other' } } }), 'abc', { path: 'file:/want', timeoutMs: 0 }))?.external_path, 'file:/other');
});

test('latestRestored: a cached read without the restore, or with an earlier one, is read again; the last read is returned at the timeout', async () => {
  const r = (id: number | null) => ({ latest: { restored: id === null ? null : { id, is_savepoint: false } } });
  const answers: unknown[] = [r(null), r(4), r(9)];
  const asked: string[] = [];
  assert.deepEqual(await latestRestored(async (x) => { asked.push(x); return answers.shift(); }, 'abc', { atLeast: 7, intervalMs: 1 }), { id: 9, is_savepoint: false });
  assert.deepEqual(asked, Array(3).fill('/jobs/abc/checkpoints'));
  const any: unknown[] = [{}, r(2)];
  assert.equal((await latestRestored(async () => any.shift(), 'abc', { intervalMs: 1 }))?.id, 2, 'without atLeast, the first restore read');
  assert.equal((await latestRestored(async () => r(3), 'abc', { atLeast: 5, timeoutMs: 0 }))?.id, 3, 'at the timeout, the last read');
  assert.equal(await latestRestored(async () => r(null), 'abc', { timeoutMs: 0 }), null);
});
