/**
 * read_committed against a real Kafka broker (a local KRaft process, test/support/kafka.ts): two
 * transactional producers interleave in one partition and their transactions are aborted in the
 * other order than they began (as a restored Flink job fences the open transactions of all its
 * Kafka writers); then a third producer commits a transaction and a plain producer writes. A
 * transaction's end returns once the coordinator has decided it and its markers are written
 * after that, so each abort waits for the previous marker in the log (read_uncommitted end offset).
 *
 * - Kafka's Java consumer (the reference, test/support/e2e-topic-reader) reads exactly the
 *   committed and the plain records; read_uncommitted shows the aborted ones are in the log.
 * - A kafkajs consumer with the package's filter (lib/ops/read-committed, what `helm test` and
 *   the node tests' Kafka client use) reads the same records.
 * - kafkajs's own filter would have delivered records of the aborted transaction that began
 *   first: the broker lists aborted transactions in the order they ended, and kafkajs enters them
 *   in list order (counted beside the package's filter).
 */
// the package's read_committed filter, before kafkajs loads (test/support/kafka imports it)
import { compareWithStockFilter } from '../../lib/ops/read-committed';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readTopic } from '../support/e2e-topic-reader';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';

const TOPIC = 'rc.out';
const values = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ value: `${prefix}${from + i}` }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('read_committed on a real broker: interleaved transactions aborted out of order, then a committed one; Kafka\'s Java consumer and kafkajs with the package\'s filter read the same committed records; kafkajs\'s own filter would deliver aborted ones', { timeout: 5 * 60_000 }, async (t) => {
  await live(t, 'read-committed', async (run) => {
    const work = run.work;
    const kafka = run.keep(await startKafka({ dataDir: work }), () => '');
    const client = kafka.client('read-committed');
    const producers = ['rc-a', 'rc-b', 'rc-c'].map((transactionalId) => client.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }));
    const plain = client.producer();
    const consumer = client.consumer({ groupId: `rc-${Date.now()}`, readUncommitted: false });
    run.keep({ stop: async () => { await Promise.allSettled([consumer.disconnect(), plain.disconnect(), ...producers.map((p) => p.disconnect())]); } });
    /** Waits (at most 60 s) until the partition's log ends at `offset`, transaction markers included (Kafka's Java consumer, read_uncommitted). */
    const untilEnd = async (offset: number) => {
      let end = -1;
      for (const until = Date.now() + 60_000; end < offset && Date.now() < until; await sleep(end < offset ? 200 : 0)) {
        end = (await readTopic(kafka.bootstrap, TOPIC, 'read_uncommitted', work)).end[0] ?? -1;
      }
      assert.equal(end, offset, `the log of ${TOPIC} ends at offset ${offset}`);
    };
    await kafka.createTopic(TOPIC, 1);
    const [a, b, c] = producers;
    for (const p of [...producers, plain]) await p.connect();
    // offsets 0-2 A, 3-5 B, 6-8 A; B aborted (9), then A (10); C commits 11-13 (14); plain 15-16
    const ta = await a.transaction();
    await ta.send({ topic: TOPIC, messages: values('a', 0, 3) });
    const tb = await b.transaction();
    await tb.send({ topic: TOPIC, messages: values('b', 0, 3) });
    await ta.send({ topic: TOPIC, messages: values('a', 3, 6) });
    // A transaction's end returns once its coordinator decided it; the coordinator writes the
    // abort markers afterwards. Each marker in the log before the next abort: B's ends first.
    await tb.abort();
    await untilEnd(10);
    await ta.abort();
    await untilEnd(11);
    const tc = await c.transaction();
    await tc.send({ topic: TOPIC, messages: values('c', 0, 3) });
    await tc.commit();
    await plain.send({ topic: TOPIC, messages: values('p', 0, 2) });
    const committed = ['c0', 'c1', 'c2', 'p0', 'p1'];

    const java = (await readTopic(kafka.bootstrap, TOPIC, 'read_committed', work)).records.map((r) => r.value);
    assert.deepEqual(java, committed, 'Kafka\'s Java consumer, read_committed');
    const all = (await readTopic(kafka.bootstrap, TOPIC, 'read_uncommitted', work)).records.map((r) => r.value);
    assert.deepEqual(all, ['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'a3', 'a4', 'a5', 'c0', 'c1', 'c2', 'p0', 'p1'], 'read_uncommitted: the aborted records are in the log');

    const stats = compareWithStockFilter();
    const before = { ...stats };
    const seen: string[] = [];
    let lastOffset = -1;
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const batches: string[] = [];
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => {
      batches.push(`${batch.firstOffset()}..${batch.lastOffset()} (${batch.messages.length} delivered)`);
      for (const m of batch.messages) seen.push(m.value!.toString());
      lastOffset = Math.max(lastOffset, Number(batch.lastOffset()));
    } });
    // until the consumer has fetched to the partition's end (offset 16), at most 60 s
    for (const until = Date.now() + 60_000; lastOffset < 16 && Date.now() < until;) await sleep(200);
    assert.equal(lastOffset, 16, 'the kafkajs consumer fetched to the end of the partition');
    assert.deepEqual(seen, committed, 'kafkajs with the package\'s filter, read_committed');
    assert.equal(stats.stockDelivered - before.stockDelivered, 3, `kafkajs's own filter would have delivered a0-a2 (A's transaction began first but ended last); the consumer's batches: ${batches.join(', ')}`);
    assert.equal(stats.stockDropped - before.stockDropped, 0);
  });
});
