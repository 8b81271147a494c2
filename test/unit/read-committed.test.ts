/**
 * lib/ops/read-committed: kafkajs's consumers skip the records of aborted transactions as Kafka's
 * Java consumer does, through kafkajs's own Batch class (what its consumers build from each fetch
 * response), where kafkajs's filter hands some of them over as committed. Every module of the
 * package that uses kafkajs installs the filter before kafkajs loads.
 * (test/e2e/kafka-read-committed.test.ts shows the same against a real broker.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { compareWithStockFilter, FetchedRecord, readCommittedFilter } from '../../lib/ops/read-committed';
// kafkajs's Batch (loaded after the import above, so with the package's filter)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Batch = require('kafkajs/src/consumer/batch') as new (topic: string, fetchedOffset: string, partitionData: unknown) => { messages: FetchedRecord[] };

const A = '1000', B = '1001', NONE = '-1';
const record = (offset: number, producerId: string, inTransaction = true): FetchedRecord & { value: Buffer } =>
  ({ offset: String(offset), key: Buffer.from(`k${offset}`), value: Buffer.from(`v${offset}`), isControlRecord: false, batchContext: { producerId, inTransaction } });
const marker = (offset: number, producerId: string, type: 'abort' | 'commit'): FetchedRecord =>
  ({ offset: String(offset), key: Buffer.from([0, 0, 0, type === 'abort' ? 0 : 1]), isControlRecord: true, batchContext: { producerId, inTransaction: true } });

/**
 * One partition: A's transaction starts at 0, B's at 3, they interleave, B is aborted first and
 * then A (as a restored job fences its writers' open transactions); then A's producer (the same
 * transactional id, fenced and reused) commits a new transaction, and a producer without
 * transactions writes two records.
 */
const PARTITION: FetchedRecord[] = [
  record(0, A), record(1, A), record(2, A),
  record(3, B), record(4, B), record(5, B),
  record(6, A), record(7, A), record(8, A),
  marker(9, B, 'abort'), marker(10, A, 'abort'),
  record(11, A), record(12, A), record(13, A), marker(14, A, 'commit'),
  record(15, NONE, false), record(16, NONE, false),
];
/** as a broker lists them: in the order the transactions ended (its transaction index), not by first offset */
const ABORTED = [{ producerId: B, firstOffset: '3' }, { producerId: A, firstOffset: '0' }];
const offsets = (rs: FetchedRecord[]) => rs.map((r) => Number(r.offset));
const batch = (fetchedOffset: number) => new Batch('t', String(fetchedOffset), {
  partition: 0, highWatermark: '17', abortedTransactions: ABORTED,
  messages: PARTITION.filter((r) => Number(r.offset) >= fetchedOffset),
});

test('the filter keeps committed and non-transactional records and the markers, and drops every record of an aborted transaction, whatever the order of the aborted list', () => {
  const kept = [9, 10, 11, 12, 13, 14, 15, 16];
  assert.deepEqual(offsets(readCommittedFilter({ messages: PARTITION, abortedTransactions: ABORTED })), kept);
  assert.deepEqual(offsets(readCommittedFilter({ messages: PARTITION, abortedTransactions: [...ABORTED].reverse() })), kept);
  // a fetch from offset 10, after three transactions began (at 0, 1 and 2): all three are
  // entered before the first record, whose producer began last
  const C = '1002';
  const late = [record(10, C), record(11, B), record(12, A), marker(13, C, 'abort'), marker(14, B, 'abort'), marker(15, A, 'abort'), record(16, C)];
  assert.deepEqual(offsets(readCommittedFilter({ messages: late, abortedTransactions: [{ producerId: C, firstOffset: '2' }, { producerId: B, firstOffset: '1' }, { producerId: A, firstOffset: '0' }] })), [13, 14, 15, 16]);
  // no aborted transaction listed: everything stays (a committed-only fetch)
  assert.deepEqual(offsets(readCommittedFilter({ messages: PARTITION.slice(11), abortedTransactions: [] })), [11, 12, 13, 14, 15, 16]);
  // offsets beyond 2^53 compare as int64
  const big = (o: bigint, p: string) => ({ ...record(0, p), offset: o.toString() });
  const far = 2n ** 60n;
  assert.deepEqual(readCommittedFilter({ messages: [big(far, A), big(far + 1n, B)], abortedTransactions: [{ producerId: B, firstOffset: (far + 1n).toString() }, { producerId: A, firstOffset: far.toString() }] })
    .map((r) => r.offset), [], 'both aborted');
});

test('kafkajs\'s Batch, as its consumers build it, uses the package\'s filter: what its own filter would hand over from aborted transactions is counted and not delivered', () => {
  const stats = compareWithStockFilter();
  const before = { ...stats };
  // a fetch from the partition's start: kafkajs's own filter would deliver A's first three
  // records (it enters A only when it reaches A's entry, listed second)
  assert.deepEqual(offsets(batch(0).messages), [11, 12, 13, 15, 16]);
  assert.equal(stats.stockDelivered - before.stockDelivered, 3, 'kafkajs\'s own filter would have delivered offsets 0-2');
  // a fetch from offset 6 (both transactions began before it): its own filter would deliver 6
  assert.deepEqual(offsets(batch(6).messages), [11, 12, 13, 15, 16]);
  assert.equal(stats.stockDelivered - before.stockDelivered, 4);
  assert.equal(stats.stockDropped, before.stockDropped, 'no committed record dropped by either');
});

const BUILD_LIB = path.join(__dirname, '..', '..', 'lib', 'ops');
const REPO = path.join(__dirname, '..', '..', '..');
const node = (script: string) => spawnSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' });

test('every module of the package that uses kafkajs installs the filter before kafkajs loads; installing it after kafkajs loaded is refused', () => {
  for (const m of ['kafka', 'smoke', 'preflight']) {
    const r = node(`require(${JSON.stringify(path.join(BUILD_LIB, m))});
      const f = require.cache[require.resolve('kafkajs/src/consumer/filterAbortedMessages')];
      const b = require('kafkajs/src/consumer/batch');
      process.exit(f && f.exports.readCommitted ? 0 : 3);`);
    assert.equal(r.status, 0, `lib/ops/${m}: ${r.stderr}`);
  }
  const late = node(`require('kafkajs'); require(${JSON.stringify(path.join(BUILD_LIB, 'read-committed'))});`);
  assert.notEqual(late.status, 0);
  assert.match(late.stderr, /kafkajs was loaded before lib\/ops\/read-committed/);
});
