/**
 * A private certificate authority, live, as local processes: a real Kafka broker (KRaft, 127.0.0.1)
 * with an SSL listener whose certificate a throwaway CA signed (openssl). The operations tool's
 * preflight, given the CA file the way the chart gives it (KAFKA_SOURCE_CA_FILE), succeeds; with
 * another CA it fails on the certificate in one line (without any CA file and without SASL the
 * tool speaks plaintext, which the listener closes: one line too). The Java Kafka clients the
 * runtime images ship with their Kafka connector (kafka-clients 3.4.0 for Flink 1.20, 4.2.0 for
 * Flink 2.2) accept the generated `properties.ssl.truststore.*` of a pipeline's SQL (the mounted
 * file's path mapped to the local CA file) and reach the broker; without them they fail the handshake.
 * A Flink 1.20 pipeline job, as local processes, reads from and writes to the SSL listener with
 * those properties, its SQL naming the local CA file where the pod mounts the Secret. The chart
 * renders the volume from its values under helm 3 and 4.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { FieldType, FlinkPlatform, FlinkVersion, JobSource, KafkaCredentials, KafkaTls, LogPipeline, Sink } from '../../lib';
import { ensureRuntimeArtifacts } from '../../lib/local/flink-dist';
import { Duration } from 'cdk8s';
import { Partitioners } from 'kafkajs';
import { synthesizePlatform, synthesizeUnit } from '../../lib/synth/synthesize';
import { readTopic } from '../support/e2e-topic-reader';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';
import { ensureKafkaJars, KafkaBroker, startKafka } from '../support/kafka';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');
const CHECK = path.join(ROOT, 'test', 'support', 'java', 'KafkaClientCheck.java');

let work: string;
let broker: KafkaBroker | undefined;
let caFile: string;
let otherCaFile: string;

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: work });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}:\n${r.stderr}`);
}

/** A throwaway CA (key and certificate) named `name` in the work folder. */
function makeCa(name: string): string {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return path.join(work, `${name}.crt`);
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-kafka-tls-'));
  caFile = makeCa('private-ca');
  otherCaFile = makeCa('other-ca');
  fs.writeFileSync(path.join(work, 'broker.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'private-ca.crt', '-CAkey', 'private-ca.key', '-CAcreateserial', '-out', 'broker.crt', '-days', '1', '-extfile', 'broker.ext']);
  const keystorePassword = crypto.randomBytes(12).toString('hex');
  openssl(['pkcs12', '-export', '-in', 'broker.crt', '-inkey', 'broker.key', '-certfile', 'private-ca.crt', '-name', 'broker', '-out', 'broker.p12', '-passout', `pass:${keystorePassword}`]);
  broker = await startKafka({ dataDir: work, ssl: { keystoreFile: path.join(work, 'broker.p12'), keystorePassword } });
  await broker.createTopic('logs.in', 2);
  await broker.createTopic('logs.out', 1);
});

after(async () => {
  await broker?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string; lines: string[] }
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KAFKA_SOURCE_CA_FILE: '', ...env } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', lines: (r.stderr ?? '').split('\n').filter(Boolean) };
}

test('kafka tls live: the ops preflight trusts the private CA from KAFKA_SOURCE_CA_FILE, and fails on the certificate with another CA', { timeout: 5 * 60_000 }, () => {
  const args = [OPS, 'preflight', '--kafka-bootstrap', broker!.sslBootstrap!, '--source-topic', 'logs.in', '--sink-topic', 'logs.out', '--parallelism', '2', '--timeout', '30s'];
  const ok = run(process.execPath, args, { KAFKA_SOURCE_CA_FILE: caFile });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^kafka ${broker!.sslBootstrap!.replace(/\./g, '\\.')}: 1 broker\\(s\\)$`, 'm'));
  assert.match(ok.stdout, /^source logs\.in: 2 partition\(s\)$/m);
  // The option works the same as the variable.
  assert.equal(run(process.execPath, [...args, '--kafka-ca-file', caFile]).code, 0);
  // Another CA: TLS, but the broker's certificate does not chain to it.
  const other = run(process.execPath, [...args, '--timeout', '20s'], { KAFKA_SOURCE_CA_FILE: otherCaFile });
  assert.equal(other.code, 1, `another CA: ${other.stdout}${other.stderr}`);
  assert.equal(other.lines.length, 1, `another CA: one line:\n${other.stderr}`);
  assert.match(other.lines[0], /^cdk8s-flink-ops: error: Kafka at 127\.0\.0\.1:\d+ .*self[- ]signed certificate in certificate chain/i);
  // No CA and no SASL: the tool speaks plaintext, which the SSL listener closes.
  const none = run(process.execPath, [...args, '--timeout', '20s']);
  assert.equal(none.code, 1, `no CA: ${none.stdout}${none.stderr}`);
  assert.equal(none.lines.length, 1, `no CA: one line:\n${none.stderr}`);
  assert.match(none.lines[0], /^cdk8s-flink-ops: error: Kafka at 127\.0\.0\.1:\d+ is unreachable while connecting/);
  const missing = run(process.execPath, args, { KAFKA_SOURCE_CA_FILE: path.join(work, 'nope.pem') });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^cdk8s-flink-ops: error: --kafka-ca-file: ".*nope\.pem" cannot be read \(ENOENT\); expected a PEM certificate file\n$/);
});

/** The Kafka client properties of the generated source table, with the mounted CA path mapped to `ca`. */
function clientProperties(ca: string | undefined): string {
  const tls = KafkaTls.caFromSecret('corp-kafka-ca');
  const sql = new LogPipeline({
    source: { bootstrapServers: broker!.sslBootstrap!, tls, topic: 'logs.in', groupId: 'g', fields: { id: FieldType.STRING } },
    sinks: [Sink.kafka({ bootstrapServers: broker!.sslBootstrap!, tls, topic: 'logs.out' })],
  }).toSql('j', FlinkVersion.V1_20);
  const source = /CREATE TABLE `source` \([\s\S]*?\) WITH \(\n([\s\S]*?)\n\);/.exec(sql)![1];
  const props = source.split(',\n').map((l) => /^ {2}'properties\.([^']*)' = '([^']*)'$/.exec(l)).filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]] as const)
    .filter(([k]) => !['group.id', 'isolation.level', 'auto.offset.reset'].includes(k));
  assert.deepEqual(props.map(([k]) => k).sort(), ['bootstrap.servers', 'security.protocol', 'ssl.truststore.location', 'ssl.truststore.type']);
  assert.equal(props.find(([k]) => k === 'ssl.truststore.location')![1], tls.caFile);
  const lines = props
    .filter(([k]) => ca !== undefined || !k.startsWith('ssl.truststore.'))
    .map(([k, v]) => `${k}=${k === 'ssl.truststore.location' ? ca : v}`);
  return [...lines, 'request.timeout.ms=10000', 'default.api.timeout.ms=20000', ''].join('\n');
}

test('kafka tls live: the runtime images\' kafka-clients (3.4.0, 4.2.0) accept the generated PEM truststore properties', { timeout: 10 * 60_000 }, async () => {
  const slf4j = fs.readdirSync(await ensureKafkaJars()).find((f) => /^slf4j-api-.*\.jar$/.test(f))!;
  for (const [line, version] of [['1.20', '3.4.0'], ['2.2', '4.2.0']]) {
    const clients = (await ensureRuntimeArtifacts(line)).lib.find((f) => path.basename(f) === `kafka-clients-${version}.jar`);
    assert.ok(clients, `kafka-clients-${version}.jar among the ${line} runtime jars`);
    const cp = [clients, path.join(await ensureKafkaJars(), slf4j)].join(path.delimiter);
    const withCa = path.join(work, `client-${line}.properties`);
    fs.writeFileSync(withCa, clientProperties(caFile));
    const ok = run('java', ['-cp', cp, CHECK, withCa]);
    assert.equal(ok.code, 0, `${version}: ${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, new RegExp(`^kafka-clients ${version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(ok.stdout, /^topics \[.*logs\.in.*\]$/m);
    const without = path.join(work, `client-${line}-no-ca.properties`);
    fs.writeFileSync(without, clientProperties(undefined));
    const bad = run('java', ['-cp', cp, CHECK, without]);
    assert.equal(bad.code, 1, `${version} without the CA: ${bad.stdout}${bad.stderr}`);
    assert.match(bad.stderr, /SslAuthenticationException|SSL handshake failed/, version);
    assert.match(bad.stderr, /PKIX path building failed|unable to find valid certification path/, version);
  }
});

test('kafka tls chart: helm 3 and 4 render the CA volume from kafkaTls values into the Flink pods and Kafka hooks; the schema refuses bad names', { timeout: 5 * 60_000 }, async () => {
  const tls = KafkaTls.caFromSecret('corp-kafka-ca');
  const platform = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state/flink' });
  platform.addApplication('j', {
    flinkVersion: FlinkVersion.V1_20, parallelism: 1,
    job: JobSource.pipeline(new LogPipeline({
      source: { bootstrapServers: 'kafka:9093', credentials: KafkaCredentials.scram('kafka-user'), tls, topic: 'logs.in', groupId: 'g', fields: { id: FieldType.STRING } },
      sinks: [Sink.kafka({ bootstrapServers: 'kafka:9093', credentials: KafkaCredentials.scram('kafka-user'), tls, topic: 'logs.out' })],
    })),
  });
  const [u] = synthesizePlatform(platform);
  const chart = path.join(work, 'chart');
  for (const [f, text] of Object.entries(u.chart)) {
    fs.mkdirSync(path.dirname(path.join(chart, f)), { recursive: true });
    fs.writeFileSync(path.join(chart, f), text);
  }
  const v = `kafkaTls.${tls.volumeName}`;
  for (const major of [3, 4] as const) {
    const helm = await ensureHelm(major);
    const template = (sets: string[]) => spawnSync(helm, ['template', 'r', chart, '-n', 'logs', ...sets.flatMap((x) => ['--set', x])], {
      encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(work, 'helm-cache'), HELM_CONFIG_HOME: path.join(work, 'helm-config') },
    });
    for (const [sets, secretName, key] of [[[], 'corp-kafka-ca', 'ca.crt'], [[`${v}.secretName=kafka-bundle`, `${v}.key=bundle.pem`], 'kafka-bundle', 'bundle.pem']] as const) {
      const r = template([...sets]);
      assert.equal(r.status, 0, r.stderr);
      const objs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON()).filter(Boolean);
      const pods = [
        ...objs.filter((o: any) => o.kind === 'Deployment').map((o: any) => [o.metadata.name, o.spec.template.spec]),
        ...objs.filter((o: any) => o.kind === 'Job' && /preflight/.test(o.metadata.name)).map((o: any) => [o.metadata.name, o.spec.template.spec]),
        ...objs.filter((o: any) => o.kind === 'Pod').map((o: any) => [o.metadata.name, o.spec]),
      ];
      assert.deepEqual(pods.map(([n]) => n).sort(), ['r-jobmanager', 'r-preflight', 'r-taskmanager', 'r-test'], `helm ${major}`);
      for (const [name, pod] of pods) {
        assert.deepEqual(pod.volumes.find((x: any) => x.name === tls.volumeName), { name: tls.volumeName, secret: { secretName, items: [{ key, path: 'ca.pem' }] } }, `helm ${major} ${name}`);
        assert.deepEqual(pod.containers[0].volumeMounts.find((m: any) => m.name === tls.volumeName), { name: tls.volumeName, mountPath: path.posix.dirname(tls.caFile), readOnly: true }, `helm ${major} ${name}`);
      }
      const sql = objs.find((o: any) => o.kind === 'ConfigMap' && o.data?.['pipeline.sql']).data['pipeline.sql'];
      assert.ok(sql.includes(`'properties.ssl.truststore.location' = '${tls.caFile}'`), 'the SQL reads the mounted file whatever the Secret');
    }
    for (const bad of [`${v}.secretName=Corp_CA`, `${v}.key=ca/pem`, `${v}.other=x`]) {
      const r = template([bad]);
      assert.notEqual(r.status, 0, `helm ${major} accepts ${bad}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema|kafkaTls/, `helm ${major} ${bad}`);
    }
  }
});

test('kafka tls live: a Flink 1.20 pipeline reads and writes over TLS with the generated truststore properties, exactly once', { timeout: 8 * 60_000 }, async (t) => {
  await live(t, 'kafka-tls', async (run) => {
    const tls = KafkaTls.caFromSecret('corp-kafka-ca');
    const flinkWork = run.work;
    const platform = new FlinkPlatform({ storageBaseDirectory: `file://${flinkWork}/state` });
    platform.addApplication('tls-logs', {
      flinkVersion: FlinkVersion.V1_20, image: 'flink:1.20-java17', parallelism: 1, taskManagerSlots: 1, checkpointInterval: Duration.seconds(2),
      job: JobSource.pipeline(new LogPipeline({
        source: { bootstrapServers: broker!.sslBootstrap!, tls, topic: 'flink.in', groupId: 'tls-logs', fields: { id: FieldType.STRING, level: FieldType.STRING } },
        filters: ["level = 'ERROR'"],
        sinks: [Sink.kafka({ bootstrapServers: broker!.sslBootstrap!, tls, topic: 'flink.out' })],
      })),
    });
    const unit = synthesizeUnit(platform.unit('tls-logs')!);
    const jm = unit.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'tls-logs-jobmanager');
    assert.ok(jm.spec.template.spec.volumes.some((v: any) => v.name === tls.volumeName), 'the pod mounts the CA');
    // The kubelet's part: the Secret's key at the mount path. Here the job's SQL names the local CA file instead.
    const files = unit.objects.find((o: any) => o.kind === 'ConfigMap' && o.data?.['pipeline.sql']);
    assert.equal(files.data['pipeline.sql'].split(`'${tls.caFile}'`).length - 1, 2, 'source and sink read the mounted file');
    files.data['pipeline.sql'] = files.data['pipeline.sql'].split(tls.caFile).join(caFile);
    await broker!.createTopic('flink.in', 1);
    await broker!.createTopic('flink.out', 1);
    const producer = broker!.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const ids = Array.from({ length: 300 }, (_, i) => `r${i}`);
    await producer.send({ topic: 'flink.in', messages: ids.map((id, i) => ({ value: JSON.stringify({ id, level: i % 3 === 0 ? 'ERROR' : 'INFO' }) })) });
    await producer.disconnect();
    const home = await run.flinkHome('1.20.5', '1.20');
    const cluster = run.keep(await runCluster(unit.objects, 'tls-logs', flinkWork, home));
    const jobId = cluster.local.jobManager.args[cluster.local.jobManager.args.indexOf('--job-id') + 1];
    await cluster.waitRunning(jobId, 240_000);
    const expected = ids.filter((_, i) => i % 3 === 0);
    let got: string[] = [];
    for (const until = Date.now() + 120_000; Date.now() < until;) {
      got = (await readTopic(broker!.bootstrap, 'flink.out', 'read_committed', flinkWork, 30_000)).records.map((r) => (JSON.parse(r.value) as { id: string }).id);
      if (got.length >= expected.length) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual([...got].sort(), [...expected].sort(), 'every ERROR record once through the TLS source and sink');
  });
});
