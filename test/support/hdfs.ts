/**
 * A real single-node HDFS for tests: Hadoop's own NameNode and DataNode main classes, run from
 * Maven Central jars (org.apache.hadoop:hadoop-hdfs, hadoop-hdfs-client, hadoop-common and
 * their runtime dependencies, resolved with mvn into cacheDir('hadoop', version)). Everything
 * listens on 127.0.0.1, on free ports. Simple authentication with permissions on: the daemons
 * run as HADOOP_USER_NAME=`superuser`, the HDFS superuser, and files keep their writer's name.
 *
 * The test reads and prepares the file system over WebHDFS (the NameNode's HTTP API), so
 * checking what Flink wrote needs no Hadoop client in the test process.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import { ensureMavenLibs, run } from './flink-dist';
import { freePorts, ManagedProcess, spawnManaged, waitFor, why } from './flink-proc';

/** Hadoop 3.3.6: the release of the runtime images' Hadoop client (runtime/artifacts.json). */
export const HADOOP_VERSION = '3.3.6';
/** The daemons' jars (a classpath directory), downloaded on first use. */
export function ensureHadoopJars(version = HADOOP_VERSION): Promise<string> {
  return ensureMavenLibs('hadoop', version, ['hadoop-hdfs', 'hadoop-hdfs-client', 'hadoop-common'].map((a) => `org.apache.hadoop:${a}:${version}`));
}

export interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY';
  length: number;
  owner: string;
  group: string;
  permission: string;
}

export interface Hdfs {
  /** `hdfs://127.0.0.1:<port>` */
  readonly uri: string;
  /** The HDFS superuser (the daemons' user). */
  readonly superuser: string;
  /** mkdir -p, then chown and chmod, as the superuser. */
  mkdirs(p: string, owner?: string, permission?: string): Promise<void>;
  /** The entries of a directory, or undefined when it does not exist. */
  list(p: string): Promise<HdfsFileStatus[] | undefined>;
  /** Every file under a directory, recursively: [path, status]. */
  listFiles(p: string): Promise<Array<[string, HdfsFileStatus]>>;
  read(p: string): Promise<string>;
  /** Creates a file as `user`; resolves to the HTTP status and the NameNode's answer. */
  create(p: string, user: string, data: string): Promise<{ status: number; body: string }>;
  logs(): string;
  stop(): Promise<void>;
}

function xml(props: Record<string, string | number | boolean>): string {
  return `<?xml version="1.0"?>\n<configuration>\n${Object.entries(props).map(([k, v]) => `  <property><name>${k}</name><value>${v}</value></property>`).join('\n')}\n</configuration>\n`;
}

export interface StartHdfsOptions {
  /** The HDFS superuser, the daemons' HADOOP_USER_NAME. @default 'hdfs' */
  readonly superuser?: string;
  /** @default '256m' per daemon */
  readonly heap?: string;
}

/** Formats and starts a NameNode and a DataNode; resolves when the DataNode is registered and safe mode is off. */
export async function startHdfs(opts: StartHdfsOptions = {}): Promise<Hdfs> {
  const libs = await ensureHadoopJars();
  const superuser = opts.superuser ?? 'hdfs';
  const [rpc, http, dnData, dnHttp, dnIpc] = await freePorts(5);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-hdfs-'));
  const conf = path.join(root, 'conf');
  fs.mkdirSync(conf);
  const uri = `hdfs://127.0.0.1:${rpc}`;
  fs.writeFileSync(path.join(conf, 'core-site.xml'), xml({ 'fs.defaultFS': uri, 'hadoop.tmp.dir': path.join(root, 'tmp') }));
  fs.writeFileSync(path.join(conf, 'hdfs-site.xml'), xml({
    'dfs.namenode.name.dir': path.join(root, 'name'),
    'dfs.datanode.data.dir': path.join(root, 'data'),
    'dfs.replication': 1,
    'dfs.permissions.enabled': true,
    'dfs.namenode.rpc-address': `127.0.0.1:${rpc}`,
    'dfs.namenode.http-address': `127.0.0.1:${http}`,
    'dfs.datanode.address': `127.0.0.1:${dnData}`,
    'dfs.datanode.http.address': `127.0.0.1:${dnHttp}`,
    'dfs.datanode.ipc.address': `127.0.0.1:${dnIpc}`,
    'dfs.datanode.hostname': '127.0.0.1',
    'dfs.namenode.datanode.registration.ip-hostname-check': false,
    'dfs.namenode.safemode.extension': 0,
    'dfs.heartbeat.interval': 1,
    'dfs.webhdfs.enabled': true,
  }));
  fs.writeFileSync(path.join(conf, 'log4j.properties'), [
    'log4j.rootLogger=INFO, console',
    'log4j.appender.console=org.apache.log4j.ConsoleAppender',
    'log4j.appender.console.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.console.layout.ConversionPattern=%d %p %c{1}: %m%n',
    '',
  ].join('\n'));
  // The daemons' HTTP servers look their web apps up on the classpath (the binary distribution
  // ships them beside the jars, the Maven jars do not); empty ones serve WebHDFS and JMX.
  for (const app of ['hdfs', 'datanode', 'static']) fs.mkdirSync(path.join(conf, 'webapps', app), { recursive: true });
  const env = { ...process.env, HADOOP_USER_NAME: superuser };
  const jvm = [`-Xmx${opts.heap ?? '256m'}`, '-XX:+UseSerialGC', '-Djava.net.preferIPv4Stack=true',
    // WebHDFS (Jersey 1, JAXB) reflects into java.lang on Java 17, as Hadoop's own scripts allow.
    '--add-opens=java.base/java.lang=ALL-UNNAMED', `-Dhadoop.log.dir=${path.join(root, 'log')}`, '-cp', `${conf}${path.delimiter}${path.join(libs, '*')}`];
  await run('java', [...jvm, 'org.apache.hadoop.hdfs.server.namenode.NameNode', '-format', '-nonInteractive', '-force'], { timeoutMs: 120_000, env });

  const procs: ManagedProcess[] = [];
  const logs = () => procs.map((p, i) => `---- ${i ? 'datanode' : 'namenode'} (tail) ----\n${p.logs().split('\n').slice(-80).join('\n')}`).join('\n');
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop(15_000)));
    fs.rmSync(root, { recursive: true, force: true });
  };
  const web = `http://127.0.0.1:${http}/webhdfs/v1`;
  const call = async (method: string, p: string, op: string, user: string, query: Record<string, string> = {}, body?: string) => {
    const q = new URLSearchParams({ op, 'user.name': user, ...query });
    // The NameNode answers data operations with a redirect to the DataNode (also on 127.0.0.1).
    let res = await httpRequest(method, `${web}${p}?${q}`);
    if (res.status === 307 && res.location) res = await httpRequest(method, res.location, body);
    return res;
  };
  const ok = async (method: string, p: string, op: string, user: string, query: Record<string, string> = {}) => {
    const r = await call(method, p, op, user, query);
    if (r.status >= 300) throw new Error(`WebHDFS ${op} ${p}: HTTP ${r.status} ${r.body.slice(0, 400)}`);
    return r.body;
  };
  try {
    procs.push(spawnManaged(`namenode-${rpc}`, 'java', [...jvm, 'org.apache.hadoop.hdfs.server.namenode.NameNode'], { env, cwd: root, logFile: path.join(root, 'namenode.log') }));
    procs.push(spawnManaged(`datanode-${rpc}`, 'java', [...jvm, 'org.apache.hadoop.hdfs.server.datanode.DataNode'], { env, cwd: root, logFile: path.join(root, 'datanode.log') }));
    const died = () => procs.map((p, i) => (p.exitCode() !== undefined ? `the ${i ? 'DataNode' : 'NameNode'} exited with ${p.exitCode()}${why(p.logs(), 20)}` : '')).find(Boolean);
    await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${http}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState`).catch(() => undefined);
      if (!r?.ok) return false;
      const bean = ((await r.json()) as { beans: Array<{ NumLiveDataNodes: number; FSState: string }> }).beans[0];
      return bean && bean.NumLiveDataNodes >= 1 && bean.FSState === 'Operational';
    }, { timeoutMs: 120_000, intervalMs: 500, what: `HDFS ${HADOOP_VERSION} at ${uri} (a live DataNode, out of safe mode)`, abortIf: died });
    // Writable: a first file goes through the DataNode.
    let last = '';
    await waitFor(async () => {
      const r = await call('PUT', '/.ready', 'CREATE', superuser, { overwrite: 'true' }, 'ready').catch((e: Error) => ({ status: 0, body: e.message }));
      last = `HTTP ${r.status} ${r.body.slice(0, 300)}`;
      return r.status === 201;
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'a first HDFS write', abortIf: died }).catch((e: Error) => {
      throw new Error(`${e.message} (last answer: ${last})`);
    });
  } catch (e) {
    await stop();
    throw e;
  }

  const list = async (p: string) => {
    const r = await call('GET', p, 'LISTSTATUS', superuser);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`WebHDFS LISTSTATUS ${p}: HTTP ${r.status} ${r.body.slice(0, 400)}`);
    return (JSON.parse(r.body) as { FileStatuses: { FileStatus: HdfsFileStatus[] } }).FileStatuses.FileStatus;
  };
  const listFiles = async (p: string): Promise<Array<[string, HdfsFileStatus]>> => {
    const out: Array<[string, HdfsFileStatus]> = [];
    for (const s of (await list(p)) ?? []) {
      const child = `${p.replace(/\/$/, '')}/${s.pathSuffix}`;
      if (s.type === 'DIRECTORY') out.push(...await listFiles(child));
      else out.push([child, s]);
    }
    return out;
  };
  return {
    uri,
    superuser,
    async mkdirs(p, owner, permission) {
      await ok('PUT', p, 'MKDIRS', superuser);
      if (owner) await ok('PUT', p, 'SETOWNER', superuser, { owner, group: owner });
      if (permission) await ok('PUT', p, 'SETPERMISSION', superuser, { permission });
    },
    list,
    listFiles,
    read: (p) => ok('GET', p, 'OPEN', superuser),
    create: (p, user, data) => call('PUT', p, 'CREATE', user, { overwrite: 'false' }, data),
    logs,
    stop,
  };
}

/** One HTTP request (Node's http client: the DataNode's answers are not all to fetch's liking). */
function httpRequest(method: string, url: string, body?: string): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: 30_000, headers: body !== undefined ? { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks as unknown as Uint8Array[]).toString('utf8'), location: res.headers.location }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
