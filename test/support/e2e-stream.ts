/**
 * The Kafka side of the storage proofs (test/e2e/e2e-hdfs.test.ts, e2e-s3.test.ts): numbered
 * records produced at a bounded rate with pauses where the test fails or upgrades the job, the
 * wait until the job's committed source offsets cover them, and what an exactly-once Kafka sink
 * holds of them for read_committed readers, with its per-key running counts.
 */
import * as assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { readTopic } from './e2e-topic-reader';
import { Tally, tally } from './e2e-report';
import { waitFor } from './flink-proc';
import { KafkaBroker } from './kafka';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export interface ProductionOptions {
  readonly topic: string;
  /** Records 0 .. total-1. */
  readonly total: number;
  readonly chunk: number;
  /** Records per second, at most. */
  readonly rate: number;
  readonly record: (i: number) => Record<string, unknown>;
  /** Before record i is produced, production waits for pauses[i] (i a multiple of chunk). */
  readonly pauses?: Record<number, Promise<void>>;
}

export interface Production {
  /** How many records are in the topic so far. */
  produced(): number;
  /** Resolves with the time the last record was sent; the producer is disconnected by then. */
  readonly done: Promise<number>;
}

/** Produces the records in chunks at the rate, pausing where asked; the producer disconnects when done or failed. */
export async function produce(kafka: KafkaBroker, o: ProductionOptions): Promise<Production> {
  for (const at of Object.keys(o.pauses ?? {}).map(Number)) if (at % o.chunk !== 0) throw new Error(`pause at ${at} is not a multiple of the chunk ${o.chunk}`);
  const producer = kafka.client(`producer-${o.topic}`).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  const done = (async () => {
    try {
      let last = Date.now();
      for (let from = 0; from < o.total; from += o.chunk) {
        await o.pauses?.[from];
        await sleep(last + (o.chunk / o.rate) * 1000 - Date.now());
        last = Date.now();
        const messages = [];
        for (let i = from; i < Math.min(o.total, from + o.chunk); i++) messages.push({ value: JSON.stringify(o.record(i)) });
        await producer.send({ topic: o.topic, messages });
        produced = Math.min(o.total, from + o.chunk);
      }
      return Date.now();
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  })();
  done.catch(() => undefined);
  return { produced: () => produced, done };
}

/**
 * Waits until the group's committed offsets (committed on checkpoint completion) reach the end of
 * the topic, which holds exactly `total` records: every record is then in a completed checkpoint.
 */
export async function waitConsumed(kafka: KafkaBroker, group: string, topic: string, total: number, abortIf?: () => string | undefined): Promise<void> {
  const admin = kafka.client(`admin-${group}`).admin();
  await admin.connect();
  try {
    const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    assert.equal(end, total, `${topic} holds the records produced`);
    await waitFor(async () => {
      const o = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return o[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= total;
    }, { timeoutMs: 180_000, intervalMs: 500, what: `the committed offsets of ${group} at the end of ${topic}`, abortIf });
  } finally {
    await admin.disconnect();
  }
}

/**
 * What an exactly-once Kafka sink holds for read_committed readers, by `key(row)`; asserts that
 * `countKey`'s running counts (`<countKey>_count`) are exactly 1..n for each of `values`, as a job
 * whose state survived every restore writes them.
 */
export async function kafkaSinkTally(kafka: KafkaBroker, topic: string, work: string, written: number, key: (row: Record<string, unknown>) => string,
  counts?: { readonly countKey: string; readonly values: string[] }): Promise<Tally> {
  const committed = await readTopic(kafka.bootstrap, topic, 'read_committed', work);
  const rows = committed.records.map((r) => JSON.parse(r.value) as Record<string, unknown>);
  for (const v of counts?.values ?? []) {
    const seen = rows.filter((r) => r[counts!.countKey] === v).map((r) => Number(r[`${counts!.countKey}_count`])).sort((x, y) => x - y);
    assert.equal(seen.findIndex((c, i) => c !== i + 1), -1, `${v}: running counts are exactly 1..${seen.length}`);
  }
  return tally(rows.map(key), written);
}
