import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { failureCount, numRestarts } from '../support/flink-rest';

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
