/**
 * Elasticsearch as a pod on the real node (test/support/node.ts), beside the
 * Kafka and HDFS pods of test/support/node-services.ts (images and manifests:
 * test/support/node-storage.ts); everything runs in pods, under the restricted Pod Security
 * Standard, installed with helm 4.
 *
 * Elasticsearch: 7.10.2 (the jars of test/support/elasticsearch.ts) as a pod in namespace
 * `elastic`, listening on the pod's loopback only. 7.10.2 OSS has no TLS, and the example's sink
 * is `https://logs-es-http.elastic.svc:9200`: a proxy container in the pod (the ops image's Node)
 * terminates TLS with a certificate of the tests' authority for that name, which the trusting
 * Flink image already trusts. The example charts shared-logs (session cluster, Flink 1.20) and
 * error-logs install unedited (values only for images, CPU and the number of TaskManagers):
 * application logs (every 5th an ERROR) from a client pod, the session TaskManager pod deleted
 * while the second batch is indexed; the index holds exactly one document per ERROR id (counted,
 * listed, some fetched by id): writes are at-least-once, upserts by id make replays harmless.
 *
 * Records written, read back, duplicates, lost and restore times go to the e2e report
 * (`node/elasticsearch`).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { recordE2E } from '../support/e2e-report';
import { ChartNode, splitImage } from '../support/node-charts';
import { elasticsearchManifests, elasticsearchRequest, ensureElasticsearchImage } from '../support/node-storage';
import { kafkaTls } from '../support/node-services';
import { ELASTICSEARCH_VERSION } from '../support/elasticsearch';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const NS = 'logs';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let h: ChartNode;
/** the namespaces of the servers this file adds */
const serverNamespaces: string[] = [];

before(async () => {
  h = await ChartNode.start({ namespace: NS, reportName: 'report-storage.json', extraImages: async () => [await ensureElasticsearchImage()] });
}, { timeout: 60 * 60_000 });

after(async () => {
  for (const ns of serverNamespaces) await h?.node.cluster.kubectl(['delete', 'namespace', ns, '--wait=false'], { timeoutMs: 60_000 }).catch(() => undefined);
  await h?.stop();
});

test(`Elasticsearch ${ELASTICSEARCH_VERSION} as a pod behind TLS: the example charts shared-logs (session cluster, Flink 1.20) and error-logs, unedited, index one document per error log by id, through a TaskManager pod deleted mid-stream`, { timeout: 30 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const ES_NS = 'elastic';
  const ES_SERVICE = 'logs-es-http';
  const SOURCE = 'logs.app';
  const INDEX = 'logs-errors';
  const REST = 'shared-logs-rest';
  const BATCH = 2_000;
  const steps: Record<string, number> = {};
  const installed: string[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-es-'));
  const es = (method: string, p: string, body?: unknown) => elasticsearchRequest(h, ES_NS, method, p, body);
  /** the ids the example's filter and document id let into the index: `a-<i>` for the ERRORs (every 5th) of [0, n) */
  const expectedIds = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 0).map((i) => `a-${i}`);
  /** the index's document count, after a refresh */
  const docCount = async () => {
    await es('POST', `/${INDEX}/_refresh`);
    const r = await es('GET', `/${INDEX}/_count`);
    return r.status === 200 ? Number(r.body.count) : 0;
  };
  const untilCount = async (n: number, timeoutMs: number) => {
    let seen = -1;
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(2000)) {
      seen = await docCount().catch(() => -1);
      if (seen >= n) return seen;
    }
    assert.fail(`${n} documents in ${INDEX} within ${timeoutMs / 1000} s (last count ${seen})`);
  };
  try {
    await h.withDiagnostics(async () => {
      let t = Date.now();
      await h.ensureServers(steps);
      // the node and a TLS proxy with a certificate of the tests' authority (which the trusting images trust)
      serverNamespaces.push(ES_NS);
      await h.node.cluster.createNamespace(ES_NS, { podSecurity: 'restricted' });
      const tls = await kafkaTls(path.join(work, 'tls'), [`${ES_SERVICE}.${ES_NS}.svc`, `${ES_SERVICE}.${ES_NS}.svc.cluster.local`]);
      await h.kubectl(['apply', '-f', '-'], JSON.stringify(elasticsearchManifests({ namespace: ES_NS, service: ES_SERVICE, tls, proxyImage: h.images.ops })));
      const w = await h.node.cluster.kubectl(['-n', ES_NS, 'wait', '--for=condition=Ready', 'pod/elasticsearch-0', '--timeout=300s'], { timeoutMs: 320_000 });
      assert.equal(w.code, 0, `${ES_NS}/elasticsearch-0 not Ready: ${w.stderr}`);
      const main = await es('GET', '/');
      assert.equal(main.body?.version?.number, ELASTICSEARCH_VERSION);
      steps.elasticsearchReadyMs = Date.now() - t;
      await h.topic(SOURCE, 2);

      // the session cluster and the session job as released; values only for images, CPU and the number of TaskManagers
      const [flinkRepo, flinkTag] = splitImage(h.images.trusting.flink120);
      const [opsRepo, opsTag] = splitImage(h.images.trusting.ops);
      t = Date.now();
      const cluster = await h.helm(h4, ['install', 'shared-logs', path.join(ROOT, 'charts', 'shared-logs'), '-n', NS, ...[
        `image.repository=${flinkRepo}`, `image.tag=${flinkTag}`, 'image.pullPolicy=Never',
        'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m', 'taskManager.replicas=1',
      ].flatMap((v) => ['--set', v]), '--wait', '--timeout', '480s']);
      assert.equal(cluster.code, 0, `helm install shared-logs:\n${cluster.out}`);
      installed.push('shared-logs');
      const job = await h.helm(h4, ['install', 'error-logs', path.join(ROOT, 'charts', 'error-logs'), '-n', NS,
        '--set', `image.repository=${opsRepo}`, '--set', `image.tag=${opsTag}`, '--wait', '--timeout', '480s']);
      assert.equal(job.code, 0, `helm install error-logs:\n${job.out}`);
      installed.push('error-logs');
      const jid = await h.untilRunning(REST, { name: 'error-logs' });
      steps.installToRunningMs = Date.now() - t;

      // application logs (every 5th an ERROR): one document per ERROR
      t = Date.now();
      assert.match(await h.client('kafka-produce-app-0', ['produce-app', SOURCE, String(BATCH), '0']), new RegExp(`produced ${BATCH}`));
      await untilCount(expectedIds(BATCH).length, 300_000);
      steps.firstBatchIndexedMs = Date.now() - t;

      // a second batch; the session TaskManager pod deleted while the job indexes it; the job restarts on its replacement
      const restarts = async () => Number((await h.rest(REST, `/jobs/${jid}/metrics?get=numRestarts`))[0]?.value ?? 0);
      const restartsBefore = await restarts();
      assert.match(await h.client('kafka-produce-app-1', ['produce-app', SOURCE, String(BATCH), String(BATCH)]), new RegExp(`produced ${BATCH}`));
      const [tm] = (await h.podsOf('app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=taskmanager')).filter((p) => !p.metadata.deletionTimestamp);
      const atKill = await docCount();
      const tKill = Date.now();
      await h.kubectl(['-n', NS, 'delete', 'pod', tm.metadata.name, '--wait=false']);
      let restartsAfter = restartsBefore;
      for (const until = Date.now() + 300_000; Date.now() < until && restartsAfter <= restartsBefore; await sleep(1000)) restartsAfter = await restarts().catch(() => restartsBefore);
      assert.ok(restartsAfter > restartsBefore, `the job restarted after the TaskManager's deletion (numRestarts ${restartsBefore} -> ${restartsAfter})`);
      await h.untilRunning(REST, { jid });
      const restoreMs = Date.now() - tKill;
      const restored = (await h.rest(REST, `/jobs/${jid}/checkpoints`)).latest?.restored;

      // the index: exactly the expected documents, each once, fetched by id
      const expected = expectedIds(2 * BATCH);
      await untilCount(expected.length, 300_000);
      await sleep(5_000);
      const count = await docCount();
      const hits = (await es('POST', `/${INDEX}/_search`, { size: 10_000, _source: false, query: { match_all: {} } })).body.hits.hits as { _id: string }[];
      const ids = hits.map((x) => x._id);
      const idSet = new Set(ids);
      const records = {
        written: 2 * BATCH, errors: expected.length, documents: count, readBack: ids.length, distinct: idSet.size,
        duplicates: ids.length - idSet.size, lost: expected.filter((id) => !idSet.has(id)).length, unexpected: ids.filter((id) => !expected.includes(id)).length,
      };
      assert.deepEqual(records, { ...records, documents: expected.length, readBack: expected.length, distinct: expected.length, duplicates: 0, lost: 0, unexpected: 0 }, JSON.stringify(records));
      for (const i of [0, 5, BATCH, 2 * BATCH - 5]) {
        const doc = await es('GET', `/${INDEX}/_doc/a-${i}`);
        assert.equal(doc.status, 200, `a-${i} by id`);
        assert.deepEqual({ id: doc.body._source.id, service: doc.body._source.service, level: doc.body._source.level, message: doc.body._source.message },
          { id: `a-${i}`, service: ['checkout', 'search', 'login'][i % 3], level: 'ERROR', message: `event ${i}` }, `document a-${i}`);
      }
      assert.equal((await es('GET', `/${INDEX}/_doc/a-1`)).status, 404, 'an INFO record is not indexed');
      const stats = (await es('GET', `/${INDEX}/_stats/indexing`)).body._all.primaries.indexing;
      recordE2E('node/elasticsearch', {
        server: `Elasticsearch ${ELASTICSEARCH_VERSION} (pod), TLS terminated by a proxy in the pod`,
        flinkVersion: '1.20',
        job: 'error-logs (example chart, session cluster shared-logs)',
        delivery: 'at-least-once writes; upserts by the log id make replays harmless: each document exactly once',
        records,
        indexing: { indexTotal: stats.index_total },
        taskManagerKill: { documentsAtKill: atKill, restarts: restartsAfter - restartsBefore, restoredFrom: restored?.external_path ?? null, restoreMs },
        steps,
      });
    }, [NS, ES_NS]);
  } finally {
    h.report.elasticsearch = steps;
    for (const r of installed.reverse()) await h.helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    await h.node.cluster.kubectl(['-n', NS, 'delete', 'configmap', '-l', 'app=shared-logs,configmap-type=high-availability'], { timeoutMs: 60_000 });
    fs.rmSync(work, { recursive: true, force: true });
  }
});
