/**
 * A real single-node Elasticsearch 7.10.2 for tests (the last Apache-2.0 release, the version
 * of the REST client inside flink-sql-connector-elasticsearch7): the server's Node class and its
 * Netty 4 transport, run from Maven Central jars (org.elasticsearch:elasticsearch,
 * org.elasticsearch.plugin:transport-netty4-client and log4j-core, with their runtime
 * dependencies, resolved with mvn into cacheDir('elasticsearch', version)) by
 * test/support/java/ElasticsearchNode.java. Listens on 127.0.0.1 only, on free ports;
 * single-node discovery, no security (plain HTTP, no authentication), a small heap.
 *
 * Not OpenSearch 2.x: its bulk responses carry no `_type`, and the Elasticsearch 7.10 client of
 * the connector fails on them ("Unable to parse response body", a NullPointerException).
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { ensureMavenLibs } from './flink-dist';
import { freePorts, ManagedProcess, spawnManaged, waitFor, why } from './flink-proc';

export const ELASTICSEARCH_VERSION = '7.10.2';
/**
 * log4j-core is not a dependency of the server jar; api and core are both raised from 2.11.1 to
 * the 2.17 line (no message lookups), as Elasticsearch's own 7.16 releases did.
 */
const LOG4J_VERSION = '2.17.2';
export const ELASTICSEARCH_LAUNCHER = path.join(__dirname, '..', '..', '..', 'test', 'support', 'java', 'ElasticsearchNode.java');

/** The node's jars (a classpath directory), downloaded on first use. */
export function ensureElasticsearchJars(version = ELASTICSEARCH_VERSION): Promise<string> {
  return ensureMavenLibs('elasticsearch', version, [
    `org.elasticsearch:elasticsearch:${version}`,
    `org.elasticsearch.plugin:transport-netty4-client:${version}`,
    `org.apache.logging.log4j:log4j-api:${LOG4J_VERSION}`,
    `org.apache.logging.log4j:log4j-core:${LOG4J_VERSION}`,
  ]);
}

export interface ElasticsearchResponse {
  status: number;
  body: any;
}

export interface Elasticsearch {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly version: string;
  /** A REST call; a JSON body is sent as JSON, the answer parsed when it is JSON. */
  request(method: string, p: string, body?: unknown): Promise<ElasticsearchResponse>;
  logs(): string;
  stop(): Promise<void>;
}

export interface StartElasticsearchOptions {
  /** @default '384m' */
  readonly heap?: string;
  /** @default 120 s */
  readonly readyTimeoutMs?: number;
}

/** Starts a node; resolves when the cluster is at least yellow. */
export async function startElasticsearch(opts: StartElasticsearchOptions = {}): Promise<Elasticsearch> {
  const libs = await ensureElasticsearchJars();
  const [httpPort, transportPort] = await freePorts(2);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-elasticsearch-'));
  const conf = path.join(home, 'config');
  for (const d of [conf, path.join(home, 'tmp')]) fs.mkdirSync(d, { recursive: true });
  const settings: Record<string, string | number | boolean> = {
    'cluster.name': 'cdk8s-flink-test',
    'node.name': 'node-1',
    'network.host': '127.0.0.1',
    'http.port': httpPort,
    'transport.port': transportPort,
    'discovery.type': 'single-node',
    'path.data': path.join(home, 'data'),
    'path.logs': path.join(home, 'logs'),
    // A busy shared disk must not turn the test's index read-only.
    'cluster.routing.allocation.disk.threshold_enabled': false,
  };
  fs.writeFileSync(path.join(conf, 'elasticsearch.yml'), Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  fs.writeFileSync(path.join(conf, 'log4j2.properties'), [
    'status = error',
    'appender.console.type = Console',
    'appender.console.name = console',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1}] %m%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.console.ref = console',
    '',
  ].join('\n'));
  const heap = opts.heap ?? '384m';
  const proc: ManagedProcess = spawnManaged(`elasticsearch-${httpPort}`, 'java', [
    `-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseSerialGC', '-Dlog4j2.disable.jmx=true', `-Djava.io.tmpdir=${path.join(home, 'tmp')}`,
    '-Dio.netty.noUnsafe=true', '-Djna.nosys=true', '-Dlog4j2.formatMsgNoLookups=true', '-cp', path.join(libs, '*'), ELASTICSEARCH_LAUNCHER, home,
  ], { cwd: home, logFile: path.join(home, 'node.log') });
  const url = `http://127.0.0.1:${httpPort}`;
  const logs = () => proc.logs();
  const stop = async () => {
    await proc.stop(20_000);
    fs.rmSync(home, { recursive: true, force: true });
  };
  const request = async (method: string, p: string, body?: unknown): Promise<ElasticsearchResponse> => {
    const r = await fetch(`${url}${p}`, {
      method,
      signal: AbortSignal.timeout(30_000),
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body: parsed };
  };
  try {
    await waitFor(async () => {
      const r = await request('GET', '/_cluster/health?wait_for_status=yellow&timeout=1s').catch(() => undefined);
      return r?.status === 200 && ['yellow', 'green'].includes(r.body.status);
    }, {
      timeoutMs: opts.readyTimeoutMs ?? 120_000,
      intervalMs: 500,
      what: `Elasticsearch ${ELASTICSEARCH_VERSION} at ${url}`,
      abortIf: () => (proc.exitCode() !== undefined ? `the node exited with code ${proc.exitCode()}${why(logs(), 20)}` : undefined),
    });
    const main = await request('GET', '/');
    if (main.body?.version?.number !== ELASTICSEARCH_VERSION) throw new Error(`the node at ${url} answers GET / with version ${JSON.stringify(main.body?.version)}; expected ${ELASTICSEARCH_VERSION}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, version: ELASTICSEARCH_VERSION, request, logs, stop };
}

export interface BulkCounter {
  /** `http://127.0.0.1:<port>`: give this to the client instead of the node's address. */
  readonly url: string;
  /** Bulk actions passed on, per document `_id` (actions without an id under ''). */
  readonly writes: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of a node that counts the bulk actions
 * (index, create, update, delete) it passes on, per document id: how often each document was
 * written, which the node's own statistics cannot tell (an update that changes nothing is a
 * "noop" counted nowhere). Requests and answers are passed on unchanged.
 */
export async function countBulkWrites(target: string): Promise<BulkCounter> {
  const writes = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks as unknown as Uint8Array[]);
      if (req.url?.split('?')[0].endsWith('/_bulk')) {
        for (const line of body.toString('utf8').split('\n')) {
          const action = /^\{"(index|create|update|delete)":(\{.*\})\}$/.exec(line.trim());
          if (!action) continue;
          const id = String((JSON.parse(action[2]) as { _id?: string })._id ?? '');
          writes.set(id, (writes.get(id) ?? 0) + 1);
        }
      }
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'accept', 'authorization']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
      fetch(`${target}${req.url}`, { method: req.method, headers, body: body.length ? (body as unknown as Uint8Array) : undefined, signal: AbortSignal.timeout(120_000) })
        .then(async (r) => {
          const answer = Buffer.from(await r.arrayBuffer());
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json', 'content-length': answer.length });
          res.end(answer);
        })
        .catch((e: Error) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(e.message);
        });
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    writes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
