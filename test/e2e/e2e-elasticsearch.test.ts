/**
 * The error-logs job of examples/platform.ts with its real Elasticsearch sink, on Flink 1.20.5
 * as local processes laid out like the runtime image (flink-sql-connector-elasticsearch7 in
 * lib/), against a real Elasticsearch 7.10.2 node (test/support/elasticsearch.ts, from Maven
 * Central's jars) and a real KRaft broker:
 * - the job is the example's own (its SQL as generated, the sink pointed at the node's address,
 *   the source at the broker), run as an application with two one-slot TaskManagers and 20 s
 *   checkpoints (the example runs it on the shared-logs session cluster);
 * - records at every level, and some ERRORs without an id, are produced at a steady rate; a
 *   TaskManager is SIGKILLed mid-stream once at least 100 documents were written after the latest
 *   completed checkpoint, and replaced: the restore reads and writes those records again;
 * - once the source's committed offsets cover the input (and so every write is flushed), the
 *   index holds exactly one document per ERROR/FATAL record with an id: counted, listed, created
 *   once each (the index's indexing stats), and some fetched by id and compared with what was
 *   produced; meanwhile a pass-through proxy between the job and the node counted more bulk
 *   writes than documents: the replayed ones, updates that found their document unchanged.
 * Delivery: the writes are at-least-once; by the deterministic document id (the log id, the sink
 * table's primary key) the index holds each record exactly once. Counts and the restore time go
 * to the e2e report.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../../examples/platform';
import { FlinkPlatform, FlinkSessionJob, FlinkVersion, RuntimeImage } from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { restGet, waitFor } from '../support/flink-proc';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';
import { BulkCounter, countBulkWrites, Elasticsearch, startElasticsearch } from '../support/elasticsearch';

const DIST = '1.20.5';
const RECORDS = 20_000;
const CHUNK = 500;
/** Records/s: the input keeps arriving for about 40 s, through checkpoints, before the kill. */
const PRODUCE_RATE = 400;
const TM_DOWN_MS = 4_000;
/** Long enough that the kill lands well before the next checkpoint on a busy machine. */
const CHECKPOINT_INTERVAL_S = 20;
const SOURCE = 'logs.app';
const GROUP = 'flink-error-logs';
const INDEX = 'logs-errors';
const SERVICES = ['checkout', 'search', 'login'];
/** The filter passes ERROR and FATAL only (case matters). */
const LEVELS = ['INFO', 'ERROR', 'WARN', 'FATAL', 'DEBUG', 'error', 'INFO'];
/** Every this many records one is an ERROR without an id: it passes the filter but cannot be a document. */
const WITHOUT_ID_EVERY = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface AppLog { id?: string; ts: string; service: string; level: string; message: string }
function record(i: number): AppLog {
  const ts = `2026-11-22T10:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}:${String(Math.floor(i / 10) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}`;
  if (i % WITHOUT_ID_EVERY === WITHOUT_ID_EVERY - 1) return { ts, service: SERVICES[i % SERVICES.length], level: 'ERROR', message: `no id ${i}` };
  return { id: `e-${i}`, ts, service: SERVICES[i % SERVICES.length], level: LEVELS[i % LEVELS.length], message: `request ${i} failed on ${SERVICES[i % SERVICES.length]}` };
}
/** What the example's filter and document id let into the index: id -> record. */
function expectedDocuments(): Map<string, AppLog> {
  const out = new Map<string, AppLog>();
  for (let i = 0; i < RECORDS; i++) {
    const r = record(i);
    if (r.id !== undefined && (r.level === 'ERROR' || r.level === 'FATAL')) out.set(r.id, r);
  }
  return out;
}

test(`error-logs on Flink ${DIST} into Elasticsearch 7.10.2: one document per error log, through a TaskManager kill`, { timeout: 18 * 60_000 }, async (t) => {
  const log = (s: string) => t.diagnostic(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
  await live(t, 'e2e-es', async (run) => {
    const work = run.work;
    const home = await run.flinkHome(DIST, '1.20');
    const tSearch = Date.now();
    const search: Elasticsearch = run.keep(await startElasticsearch(), () => search.logs().slice(-6000));
    log(`Elasticsearch ${search.version} at ${search.url} in ${Date.now() - tSearch} ms`);
    // The job writes through a counting pass-through proxy: how often each document was written.
    const counter: BulkCounter = await countBulkWrites(search.url);
    run.keep({ stop: () => counter.close() });
    const kafka = run.keep(await startKafka({ heap: '512m' }), () => '');
    await kafka.createTopic(SOURCE, 2);

    // The example's own definition, with this node and broker as its addresses.
    const example = buildLogPlatform({
      kafkaBootstrap: kafka.bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`,
      elasticsearch: counter.url, imageRegistry: 'localhost',
    });
    const declared = example.unit('error-logs')!.construct as FlinkSessionJob;
    const script = declared.boundJob.sqlScript!;
    assert.match(script, new RegExp(`'connector' = 'elasticsearch-7',\\n  'hosts' = '${counter.url}',\\n  'index' = '${INDEX}'`), 'the sink is the example\'s, at this node');
    assert.match(script, /PRIMARY KEY \(`id`\) NOT ENFORCED/, 'the example keys its documents by the log id');
    const platform = new FlinkPlatform({ partOf: 'log-platform', storageBaseDirectory: `file://${work}/state` });
    platform.addApplication('error-logs', {
      flinkVersion: FlinkVersion.V1_20,
      // The runtime image serves the elasticsearch-7 connector on this line (synth refuses it otherwise).
      image: RuntimeImage.cdk8sFlink(`flink-runtime:${FlinkVersion.V1_20}`, FlinkVersion.V1_20),
      job: declared.job,
      parallelism: 2,
      taskManagerSlots: 1,
      checkpointInterval: Duration.seconds(CHECKPOINT_INTERVAL_S),
    });
    const unit = synthesizeUnit(platform.unit('error-logs')!);

    const tStart = Date.now();
    const cluster = run.keep(await runCluster(unit.objects, 'error-logs', work, home));
    const { rest } = cluster;
    const died = () => cluster.died();
    const jobId = cluster.local.jobManager.args[cluster.local.jobManager.args.indexOf('--job-id') + 1];
    await cluster.waitRunning(jobId, 420_000);
    log(`job RUNNING ${Date.now() - tStart} ms after the processes started`);
    type Checkpoints = { counts: { restored: number; completed: number; failed: number }; latest?: { completed?: { id: number; latest_ack_timestamp: number }; restored?: { id: number } } };
    const checkpoints = () => restGet<Checkpoints>(`${rest}/jobs/${jobId}/checkpoints`);
    // Documents visible now (after a refresh: everything the node acknowledged).
    const documents = async () => {
      await search.request('POST', `/${INDEX}/_refresh`);
      const r = await search.request('GET', `/${INDEX}/_count`);
      return r.status === 200 ? Number(r.body.count) : 0;
    };

    const producer = kafka.client('e2e-es-producer').producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    let produced = 0;
    let releaseKill!: () => void;
    const killed = new Promise<void>((r) => { releaseKill = r; });
    const tProduce = Date.now();
    const production = (async () => {
      let last = Date.now();
      for (let from = 0; from < RECORDS; from += CHUNK) {
        // The last quarter comes after the kill, however slow the job is to get there.
        if (from === (RECORDS * 3) / 4) await killed;
        await sleep(last + (CHUNK / PRODUCE_RATE) * 1000 - Date.now());
        last = Date.now();
        const messages = [];
        for (let i = from; i < Math.min(RECORDS, from + CHUNK); i++) messages.push({ value: JSON.stringify(record(i)) });
        await producer.send({ topic: SOURCE, messages });
        produced = Math.min(RECORDS, from + CHUNK);
      }
      return Date.now();
    })();
    production.catch(() => undefined);

    // While the input arrives: once at least 100 documents were written after the latest
    // completed checkpoint (which the restore will write again), and well before the next one, a
    // TaskManager dies and is replaced. The documents counted when a checkpoint is first seen
    // completed include all it covers: the sink flushes and waits for its bulk requests before
    // the checkpoint completes.
    let first: { id: number; docs: number } | undefined;
    const before = await waitFor(async () => {
      const id = (await checkpoints()).latest?.completed?.id;
      if (id === undefined) return undefined;
      const docs = await documents();
      if (first?.id !== id) {
        first = { id, docs };
        return undefined;
      }
      const c = await checkpoints();
      const young = Date.now() - (c.latest?.completed?.latest_ack_timestamp ?? 0) < (CHECKPOINT_INTERVAL_S - 8) * 1000;
      return c.latest?.completed?.id === id && young && docs - first.docs >= 100 ? { c, writtenAfter: docs - first.docs, docs } : undefined;
    }, { timeoutMs: 300_000, intervalMs: 100, what: 'a completed checkpoint and 100 documents written after it', abortIf: died });
    const tKill = Date.now();
    const producedAtKill = produced;
    await cluster.killTaskManager(0);
    releaseKill();
    await sleep(tKill + TM_DOWN_MS - Date.now());
    await cluster.replaceTaskManager(0);
    await waitFor(async () => (await checkpoints()).counts.restored > before.c.counts.restored, { timeoutMs: 180_000, intervalMs: 250, what: 'a restore from the latest checkpoint', abortIf: died });
    await cluster.waitRunning(jobId, 180_000);
    const restoreMs = Date.now() - tKill;
    const restoredFrom = (await checkpoints()).latest?.restored?.id;
    log(`TaskManager 0 killed at ${producedAtKill} records produced, ${before.docs} documents indexed, ${before.writtenAfter} of them after checkpoint ${before.c.latest?.completed?.id}; restored from checkpoint ${restoredFrom}, RUNNING again ${restoreMs} ms later`);

    const tProduced = await production;
    await producer.disconnect();
    log(`produced ${RECORDS} records in ${tProduced - tProduce} ms`);

    // The source commits its offsets when a checkpoint completes, and the sink flushes its bulk
    // requests before every checkpoint: committed offsets at the end of the topic mean every
    // record's write is acknowledged by the node.
    const admin = kafka.client('e2e-es-admin').admin();
    await admin.connect();
    try {
      const end = (await admin.fetchTopicOffsets(SOURCE)).reduce((n, p) => n + Number(p.high), 0);
      assert.equal(end, RECORDS);
      await waitFor(async () => {
        const o = await admin.fetchOffsets({ groupId: GROUP, topics: [SOURCE] });
        return o[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= RECORDS;
      }, { timeoutMs: 180_000, intervalMs: 500, what: 'the source\'s committed offsets at the end of the topic', abortIf: died });
    } finally {
      await admin.disconnect();
    }
    const cpCounts = (await checkpoints()).counts;

    // Read the index back: every document, its id and its log id.
    assert.equal((await search.request('POST', `/${INDEX}/_refresh`)).status, 200);
    const expected = expectedDocuments();
    assert.ok(expected.size < 10_000, 'one search page holds every expected document');
    const count = await documents();
    const page = await search.request('POST', `/${INDEX}/_search`, { size: 10_000, _source: ['id'], query: { match_all: {} } });
    assert.equal(page.status, 200, JSON.stringify(page.body).slice(0, 400));
    const hits = page.body.hits.hits as Array<{ _id: string; _source: { id?: string } }>;
    // The sink upserts by id: a first write creates the document (index_total counts it), a
    // replayed one finds the same document and changes nothing (a noop, counted by the proxy only).
    const stats = await search.request('GET', `/${INDEX}/_stats/indexing`);
    const created = Number(stats.body._all.primaries.indexing.index_total);
    const bulkWrites = [...counter.writes.values()].reduce((n, k) => n + k, 0);
    const byLogId = new Map<string, number>();
    for (const h of hits) byLogId.set(String(h._source.id), (byLogId.get(String(h._source.id)) ?? 0) + 1);
    const tally = {
      produced: RECORDS,
      expected: expected.size,
      documents: count,
      distinct: byLogId.size,
      duplicates: [...byLogId.values()].reduce((n, k) => n + k - 1, 0),
      lost: [...expected.keys()].filter((id) => !byLogId.has(id)).length,
      unexpected: [...byLogId.keys()].filter((id) => !expected.has(id)).length,
      idIsLogId: hits.filter((h) => h._id === h._source.id).length,
      created,
      bulkWrites,
      replayedWrites: bulkWrites - counter.writes.size,
    };
    log(`index ${INDEX}: ${JSON.stringify(tally)}; checkpoints ${JSON.stringify(cpCounts)}`);
    assert.deepEqual(
      { documents: tally.documents, distinct: tally.distinct, duplicates: tally.duplicates, lost: tally.lost, unexpected: tally.unexpected, idIsLogId: tally.idIsLogId, created: tally.created },
      { documents: expected.size, distinct: expected.size, duplicates: 0, lost: 0, unexpected: 0, idIsLogId: expected.size, created: expected.size },
      'one document per ERROR/FATAL log with an id, its _id the log id',
    );
    // Restored from that checkpoint, the restarted tasks wrote again what they had written after it.
    // Only the failed task's pipeline restarts (region failover: source to sink with no shuffle, one
    // region per subtask), so the replays are the killed TaskManager's share of those writes, not all.
    assert.ok(tally.replayedWrites > 0, 'the kill replayed writes (records written again after the restore), which the upsert absorbed');
    assert.deepEqual([...counter.writes.keys()].filter((id) => !expected.has(id)), [], 'every write names an expected document id');
    assert.ok(cpCounts.restored > before.c.counts.restored, 'the job restored from a checkpoint after the kill');

    // Fetched by id: the document is the record the filter passed; what it dropped is absent.
    const ids = [...expected.keys()];
    const sample = [ids[0], ids[Math.floor(ids.length / 2)], ids[ids.length - 1]];
    for (const id of sample) {
      const doc = await search.request('GET', `/${INDEX}/_doc/${id}`);
      assert.equal(doc.status, 200, `${id}: ${JSON.stringify(doc.body).slice(0, 300)}`);
      const want = expected.get(id)!;
      const got = doc.body._source as Record<string, unknown>;
      assert.deepEqual({ id: got.id, service: got.service, level: got.level, message: got.message }, { id: want.id, service: want.service, level: want.level, message: want.message }, id);
      assert.equal(String(got.ts).replace(' ', 'T'), want.ts, `${id}: ts`);
    }
    for (const i of [0, 2, 5]) {
      const r = record(i);
      assert.ok(!['ERROR', 'FATAL'].includes(r.level), `record ${i} is filtered out`);
      assert.equal((await search.request('GET', `/${INDEX}/_doc/${r.id}`)).status, 404, `${r.id} (${r.level}) is not indexed`);
    }

    const file = recordE2E(`elasticsearch/error-logs/flink-${DIST}`, {
      flinkVersion: DIST,
      server: `Elasticsearch ${search.version}, local process`,
      connector: 'flink-sql-connector-elasticsearch7 3.0.1-1.17',
      index: INDEX,
      deliveryGuarantee: 'at-least-once writes; exactly one document per log id (upsert by the document id)',
      ...tally,
      withoutIdDropped: Math.floor(RECORDS / WITHOUT_ID_EVERY),
      taskManagerKill: { producedAtKill, documentsAtKill: before.docs, writtenAfterCheckpoint: before.writtenAfter, restoredFromCheckpoint: restoredFrom, restoreMs },
      checkpoints: cpCounts,
    });
    log(`report: ${file}`);
  });
});
