/**
 * Object storage and search as pods on the tests' real node (test/support/node.ts), from images
 * built here with buildah (nothing pulled from a registry):
 *
 * - S3: moto's server (the version and the signature-checking start of test/support/s3.ts) on a
 *   Debian bookworm root filesystem with python3 (test/support/images.ts `python`), moto and its
 *   dependencies copied from the folder pip filled for the local tests (built offline; the host's
 *   and the image's Python are both 3.11). In namespace `storage` behind the Service `s3` port
 *   5000. `s3Setup()` creates an IAM user with s3:* on the buckets, its access key pair and the
 *   buckets, then switches moto's authentication on: every later request must carry a valid AWS
 *   Signature V4 of that key pair. The bucket is read from inside the pod with boto3, signed with
 *   the same keys.
 *
 * Every pod meets the restricted Pod Security Standard.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir } from './cache';
import { mustExec } from './control-plane';
import { ELASTICSEARCH_LAUNCHER, ELASTICSEARCH_VERSION, ensureElasticsearchJars } from './elasticsearch';
import { commitStandIn, ensureRootfs, ImageBuild, LOCAL_REGISTRY } from './images';
import { buildah } from './node';
import { ChartNode } from './node-charts';
import { KafkaTls, RESTRICTED_CONTAINER, RESTRICTED_POD, SERVICE_UID, sha } from './node-services';
import { ensureMoto, MOTO_CLIENT_PY, MOTO_SERVER_PY, MOTO_VERSION, S3Keys, S3Object } from './s3';

export const MOTO_IMAGE = `${LOCAL_REGISTRY}/moto:${MOTO_VERSION}`;
/** moto's port in its pod and on its Service. */
export const S3_PORT = 5000;

/** Writes `files` into a temporary folder under the image cache, runs fn with it, removes it. */
async function withFiles<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(cacheDir('images'), 'storage-'));
  try {
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(tmp, file), text, { mode: 0o755 });
    return await fn(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The user SERVICE_UID (`svc`, home `home`) in a working container. */
const addServiceUser = (ctr: string, home: string) =>
  buildah(['run', ctr, '--', 'sh', '-c', `groupadd --gid ${SERVICE_UID} svc && useradd --uid ${SERVICE_UID} --gid svc --home-dir ${home} svc && mkdir -p ${home}`]);

// ---------------------------------------------------------------------------------------------
// S3 (moto)

/** moto's server and the boto3 client of test/support/s3.ts, under /opt/moto, run as SERVICE_UID. */
export async function ensureMotoImage(): Promise<ImageBuild> {
  const [rootfs, site] = await Promise.all([ensureRootfs('python'), ensureMoto()]);
  const dists = fs.readdirSync(site).filter((f) => f.endsWith('.dist-info')).sort();
  const inputs = sha(rootfs, MOTO_SERVER_PY, MOTO_CLIENT_PY, ...dists);
  return commitStandIn(MOTO_IMAGE, inputs, async (ctr) => {
    await addServiceUser(ctr, '/opt/moto');
    await buildah(['copy', '--chmod', '0755', ctr, site, '/opt/moto/site'], { timeoutMs: 10 * 60_000 });
    await withFiles({ 'server.py': MOTO_SERVER_PY, 'client.py': MOTO_CLIENT_PY }, async (dir) => {
      for (const f of ['server.py', 'client.py']) await buildah(['copy', '--chmod', '0644', ctr, path.join(dir, f), `/opt/moto/${f}`]);
    });
    await buildah(['config', '--env', 'PYTHONPATH=/opt/moto/site', '--env', 'PYTHONDONTWRITEBYTECODE=1', '--env', 'HOME=/tmp',
      // no AWS settings other than the request's
      '--env', 'AWS_CONFIG_FILE=/nonexistent', '--env', 'AWS_SHARED_CREDENTIALS_FILE=/nonexistent',
      '--user', `${SERVICE_UID}:${SERVICE_UID}`, '--workingdir', '/opt/moto',
      '--entrypoint', JSON.stringify(['python3', '/opt/moto/server.py', '-H', '0.0.0.0', '-p', String(S3_PORT)]), '--cmd', '', ctr]);
  }, rootfs);
}

/** moto's pod `s3-0` and its Service `<service>` (port S3_PORT), as one List. */
export function s3Manifests(namespace: string, service: string): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 's3', 'app.kubernetes.io/instance': service };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1', kind: 'Service', metadata: { name: service, namespace, labels },
        spec: { selector: labels, ports: [{ name: 'http', port: S3_PORT, targetPort: S3_PORT }] },
      },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 's3-0', namespace, labels },
        spec: {
          securityContext: RESTRICTED_POD,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 's3', image: MOTO_IMAGE, imagePullPolicy: 'Never',
            // path-style only: otherwise moto takes the first label of the Service's name (`s3.storage.svc`) for a bucket
            env: [{ name: 'S3_IGNORE_SUBDOMAIN_BUCKETNAME', value: 'true' }],
            ports: [{ name: 'http', containerPort: S3_PORT }],
            readinessProbe: { tcpSocket: { port: S3_PORT }, periodSeconds: 2, failureThreshold: 60 },
            securityContext: RESTRICTED_CONTAINER,
            resources: { requests: { cpu: '50m', memory: '384Mi' }, limits: { memory: '512Mi' } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    ],
  };
}

/** moto's pod, reached with kubectl exec: its boto3 client against 127.0.0.1 inside the pod. */
export class S3Pod {
  /** Starts the pod in `namespace` (created, restricted), sets up user, keys and buckets, switches authentication on. */
  static async start(h: ChartNode, namespace: string, service: string, buckets: string[]): Promise<S3Pod> {
    await h.node.cluster.createNamespace(namespace, { podSecurity: 'restricted' });
    await h.kubectl(['apply', '-f', '-'], JSON.stringify(s3Manifests(namespace, service)));
    const w = await h.node.cluster.kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'pod/s3-0', '--timeout=180s'], { timeoutMs: 200_000 });
    if (w.code !== 0) throw new Error(`${namespace}/s3-0 not Ready: ${w.stderr}\n${await h.node.diagnostics(namespace)}`);
    const pod = new S3Pod(h, namespace, service, { accessKeyId: 'setup', secretAccessKey: 'setup' });
    // before authentication is on any key pair is accepted: the setup's is a throwaway
    const keys = (await pod.client('setup', pod.keys, 'flink', ...buckets)) as S3Keys;
    await pod.exec(['python3', '-c', `import urllib.request as u; print(u.urlopen(u.Request('http://127.0.0.1:${S3_PORT}/moto-api/reset-auth', data=b'0', method='POST', headers={'Content-Type': 'text/plain'})).status)`]);
    return new S3Pod(h, namespace, service, keys);
  }

  private constructor(private readonly h: ChartNode, readonly namespace: string, readonly service: string, readonly keys: S3Keys) {}

  /** The endpoint the cluster's pods use. */
  get endpoint(): string {
    return `http://${this.service}.${this.namespace}.svc:${S3_PORT}`;
  }

  private async exec(args: string[]): Promise<string> {
    const r = await this.h.node.cluster.kubectl(['-n', this.namespace, 'exec', 's3-0', '--', ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`in ${this.namespace}/s3-0: ${args.slice(0, 1).join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  private async client(op: string, keys: S3Keys, ...args: string[]): Promise<unknown> {
    return JSON.parse(await this.exec(['python3', '/opt/moto/client.py', op, `http://127.0.0.1:${S3_PORT}`, keys.accessKeyId, keys.secretAccessKey, ...args]));
  }

  /** The objects under a prefix (ListObjectsV2 with the keys, every page). */
  async list(bucket: string, prefix = ''): Promise<S3Object[]> {
    return (await this.client('list', this.keys, bucket, prefix)) as S3Object[];
  }

  /** Puts a local file as object `key` (its bytes through kubectl exec's stdin into the pod's /tmp, then the client's upload). */
  async put(bucket: string, key: string, file: string): Promise<void> {
    const tmp = `/tmp/put-${process.pid}-${path.basename(file)}`;
    await this.h.kubectl(['-n', this.namespace, 'exec', '-i', 's3-0', '--', 'python3', '-c', 'import base64, sys; open(sys.argv[1], "wb").write(base64.b64decode(sys.stdin.read()))', tmp],
      fs.readFileSync(file).toString('base64'));
    try {
      const r = await this.client('put', this.keys, bucket, key, tmp);
      if (r !== 'ok') throw new Error(`put s3://${bucket}/${key}: ${JSON.stringify(r)}`);
    } finally {
      await this.exec(['rm', '-f', tmp]);
    }
  }

  /** The error code moto answers a ListObjectsV2 signed with `keys` with, or 'ok'. */
  async probe(bucket: string, keys: S3Keys): Promise<string> {
    return (await this.client('probe', keys, bucket, '')) as string;
  }

  logs(): Promise<string> {
    return this.h.kubectl(['-n', this.namespace, 'logs', 's3-0', '--tail=60']).catch((e: Error) => e.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch 7.10.2 behind a TLS proxy

export const ELASTICSEARCH_IMAGE = `${LOCAL_REGISTRY}/elasticsearch:${ELASTICSEARCH_VERSION}`;
/** Elasticsearch's own HTTP port, on the pod's loopback only (plain HTTP, no authentication). */
export const ELASTICSEARCH_LOCAL_PORT = 9201;
/** The TLS port of the proxy beside it, and of the Service. */
export const ELASTICSEARCH_TLS_PORT = 9200;

/** /opt/elasticsearch/start.sh: the node's settings and logging under /var/lib/elasticsearch, then the node. */
const ELASTICSEARCH_START = `#!/usr/bin/env bash
# The tests' Elasticsearch pod (test/support/node-storage.ts): one node, HTTP on 127.0.0.1:${ELASTICSEARCH_LOCAL_PORT}
# only (the TLS proxy beside it is the way in), single-node discovery, data in /var/lib/elasticsearch.
set -euo pipefail
d=/var/lib/elasticsearch
mkdir -p "$d/config" "$d/tmp"
printf '%s\\n' 'cluster.name: cdk8s-flink-test' 'node.name: node-1' 'network.host: 127.0.0.1' 'http.port: ${ELASTICSEARCH_LOCAL_PORT}' 'transport.port: 9300' \\
  'discovery.type: single-node' "path.data: $d/data" "path.logs: $d/logs" 'cluster.routing.allocation.disk.threshold_enabled: false' > "$d/config/elasticsearch.yml"
printf '%s\\n' 'status = error' 'appender.console.type = Console' 'appender.console.name = console' 'appender.console.layout.type = PatternLayout' \\
  'appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1}] %m%n' 'rootLogger.level = info' 'rootLogger.appenderRef.console.ref = console' > "$d/config/log4j2.properties"
exec java -Xms384m -Xmx384m -XX:+UseSerialGC -Dlog4j2.disable.jmx=true "-Djava.io.tmpdir=$d/tmp" -Dio.netty.noUnsafe=true -Djna.nosys=true \\
  -Dlog4j2.formatMsgNoLookups=true -cp "/opt/elasticsearch/classes:/opt/elasticsearch/libs/*" ElasticsearchNode "$d"
`;

/**
 * The TLS proxy (a container of the ops image, its Node): HTTPS on the first argument's port with
 * the key and certificate of /etc/es-tls/server.p12 (its password in ES_TLS_PASSWORD), each request
 * passed on to the node's plain HTTP on the pod's loopback (the second argument's port), the answer
 * passed back unchanged.
 */
export const TLS_PROXY_JS = String.raw`
const fs = require('fs'), http = require('http'), https = require('https');
const [listen, target] = process.argv.slice(1).map(Number);
const server = https.createServer({ pfx: fs.readFileSync('/etc/es-tls/server.p12'), passphrase: process.env.ES_TLS_PASSWORD }, (req, res) => {
  const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502, { 'content-type': 'text/plain' }); res.end(e.message); });
  req.pipe(up);
});
server.listen(listen, '0.0.0.0', () => console.log('TLS proxy on', listen, 'to 127.0.0.1:' + target));
`;

/** The node's jars and its launcher, compiled here (the image's JRE has no compiler); run as SERVICE_UID. */
export async function ensureElasticsearchImage(): Promise<ImageBuild> {
  const [rootfs, libs] = await Promise.all([ensureRootfs('jre'), ensureElasticsearchJars()]);
  const jars = fs.readdirSync(libs).filter((f) => f.endsWith('.jar')).sort();
  const launcher = fs.readFileSync(ELASTICSEARCH_LAUNCHER, 'utf8');
  const inputs = sha(rootfs, ELASTICSEARCH_START, launcher, ...jars.map((f) => `${f} ${fs.statSync(path.join(libs, f)).size}`));
  return commitStandIn(ELASTICSEARCH_IMAGE, inputs, async (ctr) => {
    await addServiceUser(ctr, '/opt/elasticsearch');
    await buildah(['copy', '--chmod', '0644', ctr, libs, '/opt/elasticsearch/libs'], { timeoutMs: 10 * 60_000 });
    await withFiles({ 'start.sh': ELASTICSEARCH_START }, async (dir) => {
      await mustExec('javac', ['--release', '17', '-cp', path.join(libs, '*'), '-d', path.join(dir, 'classes'), ELASTICSEARCH_LAUNCHER], { timeoutMs: 120_000 });
      await buildah(['copy', '--chmod', '0644', ctr, path.join(dir, 'classes'), '/opt/elasticsearch/classes']);
      await buildah(['copy', '--chmod', '0755', ctr, path.join(dir, 'start.sh'), '/opt/elasticsearch/start.sh']);
    });
    await buildah(['config', '--env', 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', '--user', `${SERVICE_UID}:${SERVICE_UID}`, '--workingdir', '/opt/elasticsearch',
      '--entrypoint', JSON.stringify(['/opt/elasticsearch/start.sh']), '--cmd', '', ctr]);
  }, rootfs);
}

export interface ElasticsearchPodOptions {
  namespace: string;
  /** the Service name; the certificate is for <service>.<namespace>.svc */
  service: string;
  /** the proxy's key and certificate (PKCS12, a certificate of the test authority) */
  tls: KafkaTls;
  /** the image of the proxy (the ops image: Node) */
  proxyImage: string;
}

/** A server's key and certificate (PKCS12, `server.p12`) and its password (`password`), as a Secret. */
function tlsSecret(namespace: string, name: string, tls: KafkaTls): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque',
    data: { 'server.p12': fs.readFileSync(tls.keystoreFile).toString('base64'), password: Buffer.from(tls.keystorePassword).toString('base64') },
  };
}

/** The Elasticsearch pod (the node and its TLS proxy), its Service (ELASTICSEARCH_TLS_PORT) and the proxy's Secret, as one List. */
export function elasticsearchManifests(o: ElasticsearchPodOptions): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'elasticsearch', 'app.kubernetes.io/instance': o.service };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      tlsSecret(o.namespace, `${o.service}-tls`, o.tls),
      {
        apiVersion: 'v1', kind: 'Service', metadata: { name: o.service, namespace: o.namespace, labels },
        spec: { selector: labels, ports: [{ name: 'https', port: ELASTICSEARCH_TLS_PORT, targetPort: ELASTICSEARCH_TLS_PORT }] },
      },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'elasticsearch-0', namespace: o.namespace, labels },
        spec: {
          securityContext: RESTRICTED_POD,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: 'elasticsearch', image: ELASTICSEARCH_IMAGE, imagePullPolicy: 'Never',
              // (it listens on the loopback only, where a tcpSocket probe does not reach)
              readinessProbe: { exec: { command: ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${ELASTICSEARCH_LOCAL_PORT}`] }, periodSeconds: 2, failureThreshold: 120 },
              securityContext: RESTRICTED_CONTAINER,
              resources: { requests: { cpu: '100m', memory: '768Mi' }, limits: { memory: '768Mi' } },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/elasticsearch' }],
            },
            {
              name: 'tls', image: o.proxyImage, imagePullPolicy: 'Never',
              command: ['node', '-e', TLS_PROXY_JS, String(ELASTICSEARCH_TLS_PORT), String(ELASTICSEARCH_LOCAL_PORT)],
              env: [{ name: 'ES_TLS_PASSWORD', valueFrom: { secretKeyRef: { name: `${o.service}-tls`, key: 'password' } } }],
              ports: [{ name: 'https', containerPort: ELASTICSEARCH_TLS_PORT }],
              readinessProbe: { tcpSocket: { port: ELASTICSEARCH_TLS_PORT }, periodSeconds: 2, failureThreshold: 60 },
              securityContext: RESTRICTED_CONTAINER,
              resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '128Mi' } },
              volumeMounts: [{ name: 'tls', mountPath: '/etc/es-tls', readOnly: true }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }, { name: 'tls', secret: { secretName: `${o.service}-tls`, items: [{ key: 'server.p12', path: 'server.p12' }] } }],
        },
      },
    ],
  };
}

/** A REST call to the node from inside its pod (the proxy container's Node, plain HTTP on the loopback); the answer parsed as JSON. */
export async function elasticsearchRequest(h: ChartNode, namespace: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const js = `fetch('http://127.0.0.1:${ELASTICSEARCH_LOCAL_PORT}' + process.argv[1], { method: process.argv[2], ...(process.argv[3] ? { headers: { 'content-type': 'application/json' }, body: process.argv[3] } : {}) })`
    + '.then(async (r) => console.log(JSON.stringify({ status: r.status, body: JSON.parse(await r.text()) })), (e) => { console.error(e.message); process.exit(1); })';
  const r = await h.node.cluster.kubectl(['-n', namespace, 'exec', 'elasticsearch-0', '-c', 'tls', '--', 'node', '-e', js, p, method, ...(body === undefined ? [] : [JSON.stringify(body)])], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`Elasticsearch ${method} ${p}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// An artifact server over https, with a certificate of the tests' authority

/** The https port of the artifact server and its Service. */
export const JAR_SERVER_PORT = 8443;

/**
 * The artifact server (a container of the ops image, its Node): HTTPS on the first argument's port
 * with the key and certificate of /etc/jars-tls/server.p12 (its password in TLS_PASSWORD); a GET
 * of any path answers the file of that base name under the second argument's folder, else 404.
 */
export const JAR_SERVER_JS = String.raw`
const fs = require('fs'), https = require('https'), path = require('path');
const [port, root] = [Number(process.argv[1]), process.argv[2]];
https.createServer({ pfx: fs.readFileSync('/etc/jars-tls/server.p12'), passphrase: process.env.TLS_PASSWORD }, (req, res) => {
  const file = path.join(root, path.basename(decodeURIComponent(req.url.split('?')[0])));
  if (req.method !== 'GET' || !fs.existsSync(file)) { res.writeHead(404); res.end(); console.log('404', req.method, req.url); return; }
  const data = fs.readFileSync(file);
  res.writeHead(200, { 'content-type': 'application/java-archive', 'content-length': data.length });
  res.end(data);
  console.log('200', req.method, req.url, data.length, 'bytes');
}).listen(port, '0.0.0.0', () => console.log('serving', root, 'over https on', port));
`;

export interface JarServerOptions {
  namespace: string;
  /** the Service name; the certificate is for <service>.<namespace>.svc */
  service: string;
  /** the server's key and certificate (PKCS12, a certificate of the test authority) */
  tls: KafkaTls;
  /** the ops image (Node) */
  image: string;
  /** files it serves, by name (a ConfigMap's binaryData: each under 1 MiB) */
  files: Record<string, Buffer>;
}

/** The artifact server's pod `<service>-0`, its Service, its files' ConfigMap and its key's Secret, as one List. */
export function jarServerManifests(o: JarServerOptions): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'artifact-server', 'app.kubernetes.io/instance': o.service };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      tlsSecret(o.namespace, `${o.service}-tls`, o.tls),
      {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${o.service}-files`, namespace: o.namespace },
        binaryData: Object.fromEntries(Object.entries(o.files).map(([k, v]) => [k, v.toString('base64')])),
      },
      {
        apiVersion: 'v1', kind: 'Service', metadata: { name: o.service, namespace: o.namespace, labels },
        spec: { selector: labels, ports: [{ name: 'https', port: JAR_SERVER_PORT, targetPort: JAR_SERVER_PORT }] },
      },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `${o.service}-0`, namespace: o.namespace, labels },
        spec: {
          securityContext: RESTRICTED_POD,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 'https', image: o.image, imagePullPolicy: 'Never',
            command: ['node', '-e', JAR_SERVER_JS, String(JAR_SERVER_PORT), '/srv/files'],
            env: [{ name: 'TLS_PASSWORD', valueFrom: { secretKeyRef: { name: `${o.service}-tls`, key: 'password' } } }],
            ports: [{ name: 'https', containerPort: JAR_SERVER_PORT }],
            readinessProbe: { tcpSocket: { port: JAR_SERVER_PORT }, periodSeconds: 2, failureThreshold: 60 },
            securityContext: RESTRICTED_CONTAINER,
            resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            volumeMounts: [{ name: 'tls', mountPath: '/etc/jars-tls', readOnly: true }, { name: 'files', mountPath: '/srv/files', readOnly: true }],
          }],
          volumes: [
            { name: 'tls', secret: { secretName: `${o.service}-tls`, items: [{ key: 'server.p12', path: 'server.p12' }] } },
            { name: 'files', configMap: { name: `${o.service}-files` } },
          ],
        },
      },
    ],
  };
}
