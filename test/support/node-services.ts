/**
 * The servers the examples' pipelines talk to, as pods on the tests' real node
 * (test/support/node.ts), from images built here with buildah on the JRE root filesystem of
 * test/support/images.ts (nothing pulled from a registry):
 *
 * - Kafka (KRaft, broker and controller in one process; the jars of test/support/kafka.ts) in
 *   namespace `kafka` behind the Service `logs-kafka-bootstrap` port 9093: a SASL_SSL listener
 *   (SCRAM-SHA-512, a user created at format time) with a certificate for
 *   logs-kafka-bootstrap.kafka.svc signed by a test certificate authority (openssl), as the
 *   examples' sources expect; inter-broker and controller traffic stay on the pod's loopback.
 * - HDFS (NameNode and DataNode in one pod; the jars of test/support/hdfs.ts) in namespace
 *   `hadoop` behind the Service `namenode` port 8020, simple authentication with permissions on:
 *   the daemons are the superuser `hdfs`, and the directories the pod is told of belong to the
 *   user the Flink image runs as (`flink`). The DataNode registers with the pod's IP, which the
 *   Flink pods reach directly.
 *
 * The examples' Kafka clients name no truststore (the chart has no value for one), so they trust
 * what their image's system store trusts: trustingImage() derives an image from a project image
 * with the test authority added to that store (Java's cacerts through update-ca-certificates;
 * Node through NODE_EXTRA_CA_CERTS). The project images themselves stay as built.
 *
 * Every pod meets the restricted Pod Security Standard.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir, withLock } from './cache';
import { exec, isFile, listFiles, mustExec } from './control-plane';
import { ensureHadoopJars, HADOOP_VERSION } from './hdfs';
import { commitStandIn, ensureRootfs, ImageBuild, LOCAL_REGISTRY } from './images';
import { ensureKafkaJars, KAFKA_VERSION, clusterId } from './kafka';
import { buildah, buildahArgs, imageInputs, INPUTS_LABEL } from './node';

export const KAFKA_IMAGE = `${LOCAL_REGISTRY}/kafka:${KAFKA_VERSION}`;
export const HDFS_IMAGE = `${LOCAL_REGISTRY}/hdfs:${HADOOP_VERSION}`;
/** The uid of the Kafka and HDFS processes in their images. */
export const SERVICE_UID = 1001;

/** A short hash of the parts (an image's inputs). */
export const sha = (...parts: string[]) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};

// ---------------------------------------------------------------------------------------------
// images

/** /opt/kafka/start.sh: server.properties from the environment, format with the SCRAM user, run. */
export const KAFKA_START = `#!/usr/bin/env bash
# The tests' Kafka pod (test/support/node-services.ts): one KRaft broker and controller.
# KAFKA_ADVERTISED_HOST, KAFKA_KEYSTORE_PASSWORD (keystore /etc/kafka/tls/broker.p12),
# KAFKA_SCRAM_USERNAME, KAFKA_SCRAM_PASSWORD (a SCRAM-SHA-512 user); data in /var/lib/kafka.
set -euo pipefail
d=/var/lib/kafka
mkdir -p "$d/data"
cat > "$d/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9094
listeners=INTERNAL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9094,SASL_SSL://0.0.0.0:9093
advertised.listeners=INTERNAL://127.0.0.1:9092,SASL_SSL://\${KAFKA_ADVERTISED_HOST}:9093
listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=/etc/kafka/tls/broker.p12
ssl.keystore.password=\${KAFKA_KEYSTORE_PASSWORD}
log.dirs=$d/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
EOF
cat > "$d/log4j.properties" <<EOF
log4j.rootLogger=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
EOF
jvm=(-Xmx384m -Xms128m -XX:+UseSerialGC -Djava.awt.headless=true "-Dlog4j.configuration=file:$d/log4j.properties" -cp '/opt/kafka/libs/*')
java "\${jvm[@]}" kafka.tools.StorageTool format -t "\${KAFKA_CLUSTER_ID}" -c "$d/server.properties" --ignore-formatted \\
  --add-scram "SCRAM-SHA-512=[name=\${KAFKA_SCRAM_USERNAME},password=\${KAFKA_SCRAM_PASSWORD}]"
exec java "\${jvm[@]}" kafka.Kafka "$d/server.properties"
`;

/** /opt/hdfs/start.sh: format, NameNode and DataNode, the directories of HDFS_DIRS, then wait. */
export const HDFS_START = `#!/usr/bin/env bash
# The tests' HDFS pod (test/support/node-services.ts): a NameNode and a DataNode. POD_IP (the
# DataNode registers with it); HDFS_DIRS: "owner:/dir,/dir ..." made once both are up; then
# /var/lib/hdfs/ready exists (the readiness probe). Data in /var/lib/hdfs.
set -euo pipefail
d=/var/lib/hdfs
mkdir -p "$d/conf/webapps/hdfs" "$d/conf/webapps/datanode" "$d/conf/webapps/static" "$d/log"
prop() { printf '  <property><name>%s</name><value>%s</value></property>\\n' "$1" "$2"; }
{ echo '<configuration>'; prop fs.defaultFS "hdfs://\${POD_IP}:8020"; prop hadoop.tmp.dir "$d/tmp"; echo '</configuration>'; } > "$d/conf/core-site.xml"
{
  echo '<configuration>'
  prop dfs.namenode.name.dir "$d/name"; prop dfs.datanode.data.dir "$d/data"; prop dfs.replication 1
  prop dfs.permissions.enabled true
  prop dfs.namenode.rpc-address "\${POD_IP}:8020"; prop dfs.namenode.rpc-bind-host 0.0.0.0
  prop dfs.namenode.http-address "\${POD_IP}:9870"; prop dfs.namenode.http-bind-host 0.0.0.0
  prop dfs.datanode.address 0.0.0.0:9866; prop dfs.datanode.http.address 0.0.0.0:9864; prop dfs.datanode.ipc.address 0.0.0.0:9867
  prop dfs.datanode.hostname "\${POD_IP}"
  prop dfs.namenode.datanode.registration.ip-hostname-check false
  prop dfs.namenode.safemode.extension 0; prop dfs.heartbeat.interval 1
  echo '</configuration>'
} > "$d/conf/hdfs-site.xml"
printf '%s\\n' 'log4j.rootLogger=INFO, console' 'log4j.appender.console=org.apache.log4j.ConsoleAppender' \\
  'log4j.appender.console.Target=System.err' 'log4j.appender.console.layout=org.apache.log4j.PatternLayout' \\
  'log4j.appender.console.layout.ConversionPattern=%d %p %c{1}: %m%n' > "$d/conf/log4j.properties"
export HADOOP_USER_NAME=hdfs
jvm=(-Xmx256m -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true --add-opens=java.base/java.lang=ALL-UNNAMED "-Dhadoop.log.dir=$d/log" -cp "$d/conf:/opt/hdfs/libs/*")
java "\${jvm[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive -force
java "\${jvm[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode & nn=$!
java "\${jvm[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode & dn=$!
alive() { kill -0 "$nn" 2>/dev/null && kill -0 "$dn" 2>/dev/null || { echo "a daemon exited before HDFS was ready" >&2; exit 1; }; }
fs() { java -Xmx128m -XX:+UseSerialGC -cp "$d/conf:/opt/hdfs/libs/*" org.apache.hadoop.fs.FsShell "$@"; }
until java -Xmx128m -XX:+UseSerialGC -cp "$d/conf:/opt/hdfs/libs/*" org.apache.hadoop.hdfs.tools.DFSAdmin -safemode get 2>/dev/null | grep -q OFF; do alive; sleep 2; done
until printf ready | fs -put -f - /.ready 2>/dev/null; do alive; sleep 1; done
for spec in $(printf '%s' "\${HDFS_DIRS:-}" | tr ' ' '\\n'); do
  owner="\${spec%%:*}"; dirs="\${spec#*:}"
  for dir in $(printf '%s' "$dirs" | tr ',' ' '); do fs -mkdir -p "$dir"; fs -chown "$owner:$owner" "$dir"; done
done
touch "$d/ready"
echo "HDFS ready"
wait -n "$nn" "$dn"
echo "a daemon exited" >&2
exit 1
`;

/** /opt/hdfs/fs: Hadoop's FsShell against the pod's HDFS, as the superuser (logs on stderr, so stdout is the files'). */
export const HDFS_SHELL = `#!/usr/bin/env bash
export HADOOP_USER_NAME=hdfs
exec java -Xmx128m -XX:+UseSerialGC -cp "/var/lib/hdfs/conf:/opt/hdfs/libs/*" org.apache.hadoop.fs.FsShell "$@"
`;

/** An image of the JRE root filesystem with a classpath directory and scripts, run as SERVICE_UID. */
async function ensureJvmServiceImage(name: string, dir: string, libs: string, scripts: Record<string, string>): Promise<ImageBuild> {
  const rootfs = await ensureRootfs('jre');
  const jars = listFiles(libs).filter((f) => f.endsWith('.jar'));
  const inputs = sha(rootfs, dir, JSON.stringify(scripts), ...jars.map((f) => `${path.basename(f)} ${fs.statSync(f).size}`));
  return commitStandIn(
    name,
    inputs,
    async (ctr) => {
      const tmp = fs.mkdtempSync(path.join(cacheDir('images'), 'service-'));
      try {
        for (const [file, text] of Object.entries(scripts)) fs.writeFileSync(path.join(tmp, file), text, { mode: 0o755 });
        await buildah(['run', ctr, '--', 'sh', '-c', `groupadd --gid ${SERVICE_UID} svc && useradd --uid ${SERVICE_UID} --gid svc --home-dir /opt/${dir} svc && mkdir -p /opt/${dir}/libs`]);
        for (const jar of jars) await buildah(['copy', '--chmod', '0644', ctr, jar, `/opt/${dir}/libs/`]);
        for (const file of Object.keys(scripts)) await buildah(['copy', '--chmod', '0755', ctr, path.join(tmp, file), `/opt/${dir}/${file}`]);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      await buildah(['config', '--env', 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', '--user', `${SERVICE_UID}:${SERVICE_UID}`, '--workingdir', `/opt/${dir}`, '--entrypoint', JSON.stringify([`/opt/${dir}/start.sh`]), '--cmd', '', ctr]);
    },
    rootfs,
  );
}

export async function ensureKafkaImage(): Promise<ImageBuild> {
  return ensureJvmServiceImage(KAFKA_IMAGE, 'kafka', await ensureKafkaJars(), { 'start.sh': KAFKA_START });
}

export async function ensureHdfsImage(): Promise<ImageBuild> {
  return ensureJvmServiceImage(HDFS_IMAGE, 'hdfs', await ensureHadoopJars(), { 'start.sh': HDFS_START, fs: HDFS_SHELL });
}

/**
 * An image derived from `base` whose system trust store also holds the certificate authority
 * `caFile` (update-ca-certificates, which also rebuilds Java's cacerts; NODE_EXTRA_CA_CERTS for
 * Node), tagged `<base>-trust-<hash>`, same user and entrypoint. Cached by base and authority.
 */
export async function trustingImage(base: string, caFile: string): Promise<ImageBuild> {
  const baseId = (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', base])).stdout.trim();
  const inputs = sha(baseId, fs.readFileSync(caFile, 'utf8'));
  const name = `${base}-trust-${inputs.slice(0, 8)}`;
  if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
  return withLock(`image-${name}`, 20 * 60_000, async () => {
    if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
    const t = Date.now();
    const ctr = (await buildah(['from', '--pull=never', base])).stdout.trim();
    try {
      await buildah(['copy', '--chmod', '0644', ctr, caFile, '/usr/local/share/ca-certificates/cdk8s-flink-test-ca.crt']);
      await buildah(['run', '--user', '0:0', ctr, '--', 'update-ca-certificates']);
      await buildah(['config', '--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', '--label', `${INPUTS_LABEL}=${inputs}`, ctr]);
      await buildah(['commit', '--rm', ctr, name], { timeoutMs: 10 * 60_000 });
    } catch (e) {
      await exec('buildah', buildahArgs(['rm', ctr]));
      throw e;
    }
    return { name, ms: Date.now() - t };
  });
}

// ---------------------------------------------------------------------------------------------
// certificates

export interface KafkaTls {
  /** the authority's certificate (PEM) */
  caFile: string;
  /** the broker's key and certificate chain (PKCS12) */
  keystoreFile: string;
  keystorePassword: string;
}

/**
 * The test certificate authority (made once with openssl, kept in cacheDir('node', 'test-ca')
 * so that the images trusting it stay cached) and a broker certificate for `hosts`, made anew
 * in `dir`.
 */
export async function kafkaTls(dir: string, hosts: string[]): Promise<KafkaTls> {
  const caDir = cacheDir('node', 'test-ca');
  const caKey = path.join(caDir, 'ca.key');
  const caFile = path.join(caDir, 'ca.crt');
  if (!isFile(caFile)) {
    await withLock('node-test-ca', 60_000, async () => {
      if (isFile(caFile)) return;
      const tmp = fs.mkdtempSync(path.join(caDir, '.tmp-'));
      try {
        await mustExec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'ca.key'), '-out', path.join(tmp, 'ca.crt'), '-days', '3650',
          '-subj', '/CN=cdk8s-flink test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
        fs.chmodSync(path.join(tmp, 'ca.key'), 0o600);
        fs.renameSync(path.join(tmp, 'ca.key'), caKey);
        fs.renameSync(path.join(tmp, 'ca.crt'), caFile);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'broker.key');
  const csr = path.join(dir, 'broker.csr');
  const crt = path.join(dir, 'broker.crt');
  const ext = path.join(dir, 'broker.ext');
  fs.writeFileSync(ext, `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  await mustExec('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${hosts[0]}`]);
  await mustExec('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-CAserial', path.join(dir, 'ca.srl'), '-out', crt, '-days', '2', '-extfile', ext]);
  const keystorePassword = crypto.randomBytes(12).toString('hex');
  const keystoreFile = path.join(dir, 'broker.p12');
  await mustExec('openssl', ['pkcs12', '-export', '-in', crt, '-inkey', key, '-certfile', caFile, '-name', 'broker', '-out', keystoreFile, '-passout', `pass:${keystorePassword}`]);
  return { caFile, keystoreFile, keystorePassword };
}

// ---------------------------------------------------------------------------------------------
// manifests

export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};
export const RESTRICTED_POD = { runAsNonRoot: true, runAsUser: SERVICE_UID, runAsGroup: SERVICE_UID, fsGroup: SERVICE_UID, seccompProfile: { type: 'RuntimeDefault' } };

export interface KafkaPodOptions {
  namespace: string;
  /** the Service name; the advertised host is <service>.<namespace>.svc */
  service: string;
  tls: KafkaTls;
  /** the SCRAM-SHA-512 user */
  username: string;
  password: string;
}

/** The Kafka pod, its Service (port 9093) and Secrets, as one List. */
export function kafkaManifests(o: KafkaPodOptions): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': o.service };
  const secret = (name: string, data: Record<string, Buffer | string>) => ({
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: o.namespace }, type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v as string).toString('base64')])),
  });
  const fromSecret = (name: string, secretName: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      secret('kafka-tls', { 'broker.p12': fs.readFileSync(o.tls.keystoreFile), password: o.tls.keystorePassword }),
      secret('kafka-scram-user', { username: o.username, password: o.password }),
      {
        apiVersion: 'v1', kind: 'Service', metadata: { name: o.service, namespace: o.namespace, labels },
        spec: { selector: labels, ports: [{ name: 'sasl-ssl', port: 9093, targetPort: 9093 }] },
      },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kafka-0', namespace: o.namespace, labels },
        spec: {
          securityContext: RESTRICTED_POD,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 'kafka', image: KAFKA_IMAGE, imagePullPolicy: 'Never',
            env: [
              { name: 'KAFKA_ADVERTISED_HOST', value: `${o.service}.${o.namespace}.svc` },
              { name: 'KAFKA_CLUSTER_ID', value: clusterId() },
              fromSecret('KAFKA_KEYSTORE_PASSWORD', 'kafka-tls', 'password'),
              fromSecret('KAFKA_SCRAM_USERNAME', 'kafka-scram-user', 'username'),
              fromSecret('KAFKA_SCRAM_PASSWORD', 'kafka-scram-user', 'password'),
            ],
            ports: [{ name: 'sasl-ssl', containerPort: 9093 }],
            readinessProbe: { tcpSocket: { port: 9093 }, periodSeconds: 2, failureThreshold: 120 },
            securityContext: RESTRICTED_CONTAINER,
            resources: { requests: { cpu: '100m', memory: '640Mi' }, limits: { memory: '640Mi' } },
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/kafka' }, { name: 'tmp', mountPath: '/tmp' }, { name: 'tls', mountPath: '/etc/kafka/tls', readOnly: true }],
          }],
          volumes: [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: {} }, { name: 'tls', secret: { secretName: 'kafka-tls', items: [{ key: 'broker.p12', path: 'broker.p12' }] } }],
        },
      },
    ],
  };
}

/** The HDFS pod and its Service `<service>` (8020, and 9870 for WebHDFS), as one List. */
export function hdfsManifests(namespace: string, service: string, dirs: string): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'hdfs', 'app.kubernetes.io/instance': service };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1', kind: 'Service', metadata: { name: service, namespace, labels },
        spec: { selector: labels, ports: [{ name: 'rpc', port: 8020, targetPort: 8020 }, { name: 'http', port: 9870, targetPort: 9870 }] },
      },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hdfs-0', namespace, labels },
        spec: {
          securityContext: RESTRICTED_POD,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 'hdfs', image: HDFS_IMAGE, imagePullPolicy: 'Never',
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'HDFS_DIRS', value: dirs }],
            ports: [{ name: 'rpc', containerPort: 8020 }, { name: 'http', containerPort: 9870 }, { name: 'data', containerPort: 9866 }],
            readinessProbe: { exec: { command: ['test', '-f', '/var/lib/hdfs/ready'] }, periodSeconds: 2, failureThreshold: 150 },
            securityContext: RESTRICTED_CONTAINER,
            resources: { requests: { cpu: '100m', memory: '1200Mi' }, limits: { memory: '1200Mi' } },
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/hdfs' }, { name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// a Kafka client pod

/**
 * A Kafka client for a pod of the ops image (its kafkajs), over SASL_SSL/SCRAM-SHA-512 as the
 * examples' sources: `node -e CLIENT_JS MODE TOPIC ARG [ARG2]` with KAFKA_BOOTSTRAP,
 * KAFKA_SOURCE_USERNAME and KAFKA_SOURCE_PASSWORD in the environment.
 * - topic TOPIC PARTITIONS: creates the topic;
 * - produce TOPIC N [FROM]: access logs FROM..FROM+N-1 (FROM 0 unless given; record i has path
 *   /r/i and key i), idempotent, acks=all;
 * - produce-app TOPIC N [FROM]: application logs FROM..FROM+N-1 (the examples' APP_LOG fields:
 *   record i has id `a-<i>`, key i, service of three, level ERROR when i % 5 == 0, else INFO);
 * - committed TOPIC GROUP N: waits (at most 300 s) until GROUP's committed offsets on TOPIC
 *   add up to N;
 * - consume TOPIC N [SECONDS]: reads TOPIC from its start with isolation read_committed (a
 *   transaction's records only once it committed, with the package's filter of aborted
 *   transactions, lib/ops/read-committed) until N records or SECONDS (default 120) passed, and
 *   prints each record's value on its own line after `records <count>`; before that,
 *   `stock-filter delivered <a> dropped <b>`: the records kafkajs's own filter would have
 *   delivered from aborted transactions, and dropped from committed ones.
 */
export const KAFKA_CLIENT_JS = String.raw`
// the package's read_committed filter (Kafka's Java consumer's), installed before kafkajs loads
const readCommitted = require('/opt/cdk8s-flink/package/build/lib/ops/read-committed');
const { Kafka, logLevel, Partitioners } = require('/opt/cdk8s-flink/package/node_modules/kafkajs');
const [mode, topic, arg, arg2] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'e2e-client', brokers: [process.env.KAFKA_BOOTSTRAP], ssl: true, logLevel: logLevel.WARN,
  sasl: { mechanism: 'scram-sha-512', username: process.env.KAFKA_SOURCE_USERNAME, password: process.env.KAFKA_SOURCE_PASSWORD } });
const SERVICES = ['checkout', 'search', 'login'];
const record = (i) => ({ ts: '2026-11-22T10:00:00.000', service: SERVICES[i % 3], host: 'web-' + (i % 4), method: 'GET', path: '/r/' + i, status: 200, bytes: 100 + (i % 50), latency_ms: (i % 900) / 3 });
const appRecord = (i) => ({ id: 'a-' + i, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % 3], level: i % 5 === 0 ? 'ERROR' : 'INFO', message: 'event ' + i });
(async () => {
  if (mode === 'topic') {
    const a = kafka.admin(); await a.connect();
    // While a new topic's metadata spreads (the broker just started), creating it or reading its
    // metadata may be refused with "does not host this topic-partition": retried every 2 s, at
    // most 30 times; creating a topic that exists is a no-op
    let parts, lastError;
    for (let i = 0; i < 30 && parts === undefined; i++) {
      try {
        await a.createTopics({ topics: [{ topic, numPartitions: Number(arg), replicationFactor: 1 }], waitForLeaders: true });
        parts = (await a.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length;
      } catch (e) {
        lastError = e;
        console.error('topic ' + topic + ': ' + e.message + ' (attempt ' + (i + 1) + ')');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    if (parts === undefined) throw lastError;
    console.log('topic', topic, 'partitions', parts);
    await a.disconnect();
  } else if (mode === 'produce' || mode === 'produce-app') {
    const n = Number(arg), from = Number(arg2 || 0), make = mode === 'produce' ? record : appRecord;
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner }); await p.connect();
    for (let i = from; i < from + n; i += 500) {
      const messages = [];
      for (let j = i; j < Math.min(from + n, i + 500); j++) messages.push({ key: String(j), value: JSON.stringify(make(j)) });
      await p.send({ topic, acks: -1, messages });
    }
    await p.disconnect(); console.log('produced', n);
  } else if (mode === 'committed') {
    const a = kafka.admin(); await a.connect();
    const until = Date.now() + 300000; let sum = -1;
    while (Date.now() < until) {
      const offs = await a.fetchOffsets({ groupId: arg, topics: [topic] });
      sum = offs.flatMap((t) => t.partitions).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      if (sum >= Number(arg2)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    console.log('committed', sum); await a.disconnect();
    if (sum < Number(arg2)) process.exit(2);
  } else if (mode === 'consume') {
    const n = Number(arg), until = Date.now() + 1000 * Number(arg2 || 120), values = [];
    const stock = readCommitted.compareWithStockFilter();
    const c = kafka.consumer({ groupId: 'e2e-reader-' + Date.now(), readUncommitted: false }); await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ autoCommit: false, eachMessage: async ({ message }) => { values.push(message.value.toString()); } });
    while (values.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 500));
    await c.disconnect();
    console.log('stock-filter delivered', stock.stockDelivered, 'dropped', stock.stockDropped);
    console.log('records', values.length); for (const v of values) console.log(v);
  } else { throw new Error('unknown mode ' + mode); }
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
`;

/** A pod of `image` running KAFKA_CLIENT_JS with the credentials of Secret `secret` (restricted). */
export function kafkaClientPod(namespace: string, name: string, image: string, bootstrap: string, secret: string, args: string[]): Record<string, unknown> {
  const fromSecret = (env: string, key: string) => ({ name: env, valueFrom: { secretKeyRef: { name: secret, key } } });
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'kafka-client' } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'client', image, imagePullPolicy: 'Never',
        command: ['node', '-e', KAFKA_CLIENT_JS, ...args],
        env: [{ name: 'KAFKA_BOOTSTRAP', value: bootstrap }, fromSecret('KAFKA_SOURCE_USERNAME', 'username'), fromSecret('KAFKA_SOURCE_PASSWORD', 'password')],
        securityContext: RESTRICTED_CONTAINER,
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      }],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}
