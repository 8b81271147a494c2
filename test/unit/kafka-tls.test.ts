/**
 * A Kafka certificate authority from a Secret: the generated SQL's truststore properties, the
 * read-only volume in the Flink pods and the Kafka hooks, the chart values that rename the
 * Secret and key, the session cross-check, and the one-line errors of bad input.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  FieldType, FlinkPlatform, FlinkVersion, JobSource, KafkaCredentials, KafkaTls, LogPipeline, Sink, ValidationError, VolumeSource,
} from '../../lib';
import { JsonPatch } from 'cdk8s';
import { kafkaConfig, tlsFromFile } from '../../lib/ops/kafka';
import { OpsError } from '../../lib/ops/errors';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { container, find } from '../support/synth';
import { objectTemplate } from '../support/helm-chart';

const CA = KafkaTls.caFromSecret('corp-kafka-ca', 'ca.pem');
const FIELDS = { id: FieldType.STRING, message: FieldType.STRING };

function pipeline(o: { sourceTls?: KafkaTls; sinkTls?: KafkaTls; credentials?: KafkaCredentials } = {}): LogPipeline {
  return new LogPipeline({
    source: { bootstrapServers: 'kafka:9093', credentials: o.credentials, tls: o.sourceTls, topic: 'logs.in', groupId: 'g', fields: FIELDS },
    sinks: [Sink.kafka({ bootstrapServers: 'other-kafka:9093', tls: o.sinkTls, topic: 'logs.out' })],
  });
}

/** The WITH options of table `table` in the script. */
function withOptions(sql: string, table: string): Record<string, string> {
  const m = new RegExp('CREATE TABLE `' + table + '` \\([\\s\\S]*?\\) WITH \\(\\n([\\s\\S]*?)\\n\\);').exec(sql);
  assert.ok(m, `table ${table} in\n${sql}`);
  return Object.fromEntries(m[1].split(',\n').map((l) => /^ {2}'([^']*)' = '((?:[^']|'')*)'$/.exec(l)!).map((x) => [x[1], x[2].replace(/''/g, "'")]));
}

test('kafka tls: the SQL trusts the mounted PEM file: SASL_SSL with credentials, SSL without, nothing without tls', () => {
  const sql = pipeline({ sourceTls: CA, sinkTls: CA, credentials: KafkaCredentials.scram('kafka-user') }).toSql('j', FlinkVersion.V1_20);
  const src = withOptions(sql, 'source');
  assert.equal(src['properties.security.protocol'], 'SASL_SSL');
  assert.equal(src['properties.sasl.mechanism'], 'SCRAM-SHA-512');
  assert.equal(src['properties.ssl.truststore.type'], 'PEM');
  assert.equal(src['properties.ssl.truststore.location'], `/etc/kafka-ca/${CA.volumeName}/ca.pem`);
  const sink = withOptions(sql, 'sink_0');
  assert.equal(sink['properties.security.protocol'], 'SSL', 'TLS without SASL');
  assert.equal(sink['properties.ssl.truststore.location'], CA.caFile);
  assert.equal(sink['properties.sasl.mechanism'], undefined);
  const plain = pipeline().toSql('j', FlinkVersion.V1_20);
  assert.doesNotMatch(plain, /security\.protocol|truststore/);
  const saslOnly = withOptions(pipeline({ credentials: KafkaCredentials.plain('kafka-user') }).toSql('j', FlinkVersion.V2_2), 'source');
  assert.equal(saslOnly['properties.security.protocol'], 'SASL_SSL');
  assert.equal(saslOnly['properties.ssl.truststore.location'], undefined, 'the system store unless a CA is given');
});

test('kafka tls: one read-only volume per Secret and key, only that key, at a path independent of the Secret', () => {
  const other = KafkaTls.caFromSecret('sink-ca');
  assert.deepEqual(pipeline({ sourceTls: CA, sinkTls: KafkaTls.caFromSecret('corp-kafka-ca', 'ca.pem') }).volumes().map((v) => v.name), [CA.volumeName], 'the same CA twice is one volume');
  const vols = pipeline({ sourceTls: CA, sinkTls: other }).volumes();
  assert.deepEqual(vols.map((v) => v.name), [CA.volumeName, other.volumeName]);
  assert.match(CA.volumeName, /^kafka-ca-[0-9a-f]{10}$/);
  assert.notEqual(CA.volumeName, other.volumeName);
  assert.equal(other.key, 'ca.crt', 'the default key, as cert-manager writes it');
  assert.deepEqual(vols[0].source._toVolume(vols[0].name), { name: CA.volumeName, secret: { secretName: 'corp-kafka-ca', items: [{ key: 'ca.pem', path: 'ca.pem' }] } });
  assert.equal(vols[0].readOnly, true);
  assert.deepEqual(pipeline().volumes(), []);
});

function tlsPlatform(): FlinkPlatform {
  const platform = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state/flink' });
  platform.addApplication('j', { flinkVersion: FlinkVersion.V1_20, job: JobSource.pipeline(pipeline({ sourceTls: CA, credentials: KafkaCredentials.scram('kafka-user') })), parallelism: 1 });
  return platform;
}

test('kafka tls: JobManager and TaskManager mount the CA read-only; the chart names the Secret and key in values', () => {
  const [u] = synthesizePlatform(tlsPlatform());
  for (const d of ['j-jobmanager', 'j-taskmanager']) {
    const pod = find(u.objects, 'Deployment', d).spec.template.spec;
    const ct = container(find(u.objects, 'Deployment', d), d.slice(2));
    assert.deepEqual(pod.volumes.find((v: any) => v.name === CA.volumeName), { name: CA.volumeName, secret: { secretName: 'corp-kafka-ca', items: [{ key: 'ca.pem', path: 'ca.pem' }] } }, d);
    assert.deepEqual(ct.volumeMounts.find((m: any) => m.name === CA.volumeName), { name: CA.volumeName, mountPath: `/etc/kafka-ca/${CA.volumeName}`, readOnly: true }, d);
    assert.equal(ct.securityContext.readOnlyRootFilesystem, true);
  }
  const values = YAML.parse(u.chart['values.yaml']);
  assert.deepEqual(values.kafkaTls, { [CA.volumeName]: { secretName: 'corp-kafka-ca', key: 'ca.pem' } });
  assert.match(u.chart['values.yaml'], /The CA of the source\./);
  const schema = JSON.parse(u.chart['values.schema.json']).properties.kafkaTls.properties[CA.volumeName];
  assert.equal(schema.additionalProperties, false);
  assert.ok(new RegExp(schema.properties.secretName.pattern).test('corp-kafka-ca'));
  assert.ok(!new RegExp(schema.properties.secretName.pattern).test('Corp_CA'), 'an object name');
  assert.ok(!new RegExp(schema.properties.key.pattern).test('ca/pem'), 'a data key');
  const ref = `(index .Values.kafkaTls "${CA.volumeName}")`;
  const templates: Record<string, string> = {
    'jobmanager Deployment': objectTemplate(u.chart, 'Deployment', '-jobmanager'),
    'taskmanager Deployment': objectTemplate(u.chart, 'Deployment', '-taskmanager'),
    'preflight Job': objectTemplate(u.chart, 'Job', '-preflight'),
    'templates/tests/pod-test.yaml': u.chart['templates/tests/pod-test.yaml'],
  };
  for (const [f, text] of Object.entries(templates)) {
    assert.ok(text, `${f} among ${Object.keys(u.chart).join(', ')}`);
    assert.ok(text.includes(`secretName: {{ ${ref}.secretName | quote }}`) && text.includes(`key: {{ ${ref}.key | quote }}`), `${f} takes the Secret from values:\n${text}`);
    assert.ok(text.includes(`mountPath: /etc/kafka-ca/${CA.volumeName}`), f);
  }
  for (const f of ['preflight Job', 'templates/tests/pod-test.yaml']) {
    assert.ok(templates[f].includes(`name: KAFKA_SOURCE_CA_FILE\n`) && templates[f].includes(`value: ${CA.caFile}`), `${f} tells the operations tool the file`);
  }
  assert.ok(!objectTemplate(u.chart, 'Job', '-pre-upgrade').includes('kafka-ca'), 'the hand-off talks to Flink only');
  const [plain] = synthesizePlatform((() => {
    const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state/flink' });
    p.addApplication('j', { flinkVersion: FlinkVersion.V1_20, job: JobSource.pipeline(pipeline()), parallelism: 1 });
    return p;
  })());
  assert.equal(YAML.parse(plain.chart['values.yaml']).kafkaTls, undefined);
  assert.ok(!JSON.stringify(plain.objects).includes('kafka-ca'));
});

test('kafka tls: a session job needs its cluster to mount the CA', () => {
  const build = (mount: boolean) => {
    const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state/flink' });
    const c = p.addSessionCluster('s', { flinkVersion: FlinkVersion.V1_20, volumes: mount ? [CA.volume()] : [] });
    p.addSessionJob('j', { cluster: c, job: JobSource.pipeline(pipeline({ sourceTls: CA })), parallelism: 1 });
    return p;
  };
  assert.deepEqual(build(false).crossCheck(), [`session job "j": its pipeline reads /etc/kafka-ca/${CA.volumeName}, which cluster "s" does not mount; add the pipeline's KafkaTls.volume() to the cluster's volumes`]);
  const p = build(true);
  assert.deepEqual(p.crossCheck(), []);
  const cluster = synthesizePlatform(p).find((u) => u.name === 's')!;
  assert.deepEqual(YAML.parse(cluster.chart['values.yaml']).kafkaTls, { [CA.volumeName]: { secretName: 'corp-kafka-ca', key: 'ca.pem' } });
});

test('kafka tls: bad Secret names, keys and tls values fail with one line naming the field', () => {
  const oneLine = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error) => e instanceof ValidationError && !e.message.includes('\n') && re.test(e.message));
  oneLine(() => KafkaTls.caFromSecret('Corp_CA'), /KafkaTls\.caFromSecret secretName.*Corp_CA.*DNS subdomain/);
  oneLine(() => KafkaTls.caFromSecret('ca', 'ca/pem'), /KafkaTls\.caFromSecret key.*ca\/pem.*Secret or ConfigMap key/);
  oneLine(() => KafkaTls.caFromSecret('ca', ''), /KafkaTls\.caFromSecret key/);
  oneLine(() => pipeline({ sourceTls: 'corp-kafka-ca' as any }), /pipeline\.source\.tls.*expected KafkaTls\.caFromSecret/);
  oneLine(() => pipeline({ sinkTls: { secretName: 'x' } as any }), /Sink\.kafka tls.*expected KafkaTls\.caFromSecret/);
});

test('kafka tls: the operations tool trusts the file named by --kafka-ca-file and refuses an unusable one in one line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-ca-'));
  try {
    const pem = path.join(dir, 'ca.pem');
    fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    assert.deepEqual(tlsFromFile(pem)!.ca.map(String), [fs.readFileSync(pem, 'utf8')]);
    assert.equal(tlsFromFile(undefined), undefined);
    assert.equal(tlsFromFile(''), undefined);
    const bad = (f: string, re: RegExp) => assert.throws(() => tlsFromFile(f), (e: Error) => e instanceof OpsError && !e.message.includes('\n') && re.test(e.message));
    bad(path.join(dir, 'missing.pem'), /^--kafka-ca-file: ".*missing\.pem" cannot be read \(ENOENT\); expected a PEM certificate file$/);
    fs.writeFileSync(path.join(dir, 'der'), new Uint8Array([0x30, 0x82, 0x01]));
    bad(path.join(dir, 'der'), /holds no PEM certificate/);
    // The client gets the CA: TLS alone, or under SASL; without it, TLS only under SASL.
    const tls = tlsFromFile(pem)!;
    const sasl = { mechanism: 'scram-sha-512' as const, username: 'u', password: 'p' };
    assert.deepEqual(kafkaConfig('x', ['b:1'], 1000, undefined, tls).ssl, { ca: tls.ca });
    assert.deepEqual(kafkaConfig('x', ['b:1'], 1000, sasl, tls).ssl, { ca: tls.ca });
    assert.equal(kafkaConfig('x', ['b:1'], 1000, sasl, tls).sasl, sasl);
    assert.equal(kafkaConfig('x', ['b:1'], 1000, sasl).ssl, true);
    assert.equal(kafkaConfig('x', ['b:1'], 1000).ssl, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A volume of the user named like a CA volume, with one key of a Secret: the shape KafkaTls.volume() renders. */
const LOOKALIKE = { name: 'kafka-ca-0123456789', secret: { secretName: 'mine', items: [{ key: 'tls.crt', path: 'ca.pem' }] } };

test('kafka tls: only the CA volumes the model declares take kafkaTls values; a volume of the user named like one stays as written', () => {
  const p = new FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://state/flink' });
  // A session cluster: the CA it declares (KafkaTls.volume()) and an ExtraVolume of the user of the same shape.
  p.addSessionCluster('s', {
    flinkVersion: FlinkVersion.V1_20,
    volumes: [CA.volume(), { name: LOOKALIKE.name, mountPath: '/etc/mine', source: VolumeSource.secret('mine', { 'tls.crt': 'ca.pem' }) }],
  });
  // An application: its pipeline's CA (BoundJob.volumes) and the same look-alike added through the escape hatch.
  const app = p.addApplication('j', { flinkVersion: FlinkVersion.V1_20, job: JobSource.pipeline(pipeline({ sourceTls: CA })), parallelism: 1 });
  for (const d of [app.jobManagerDeployment, app.taskManagerDeployment]) d.addJsonPatch(JsonPatch.add('/spec/template/spec/volumes/-', LOOKALIKE));
  for (const u of synthesizePlatform(p)) {
    for (const d of [`${u.name}-jobmanager`, `${u.name}-taskmanager`]) {
      assert.deepEqual(find(u.objects, 'Deployment', d).spec.template.spec.volumes.find((v: any) => v.name === LOOKALIKE.name), LOOKALIKE, d);
      const text = objectTemplate(u.chart, 'Deployment', d.slice(u.name.length));
      assert.ok(text.includes('secretName: mine\n') && text.includes('key: tls.crt\n'), `${u.name} ${d}: the look-alike as written:\n${text}`);
      assert.ok(text.includes(`secretName: {{ (index .Values.kafkaTls "${CA.volumeName}").secretName | quote }}`), `${u.name} ${d}: the declared CA from values`);
      assert.ok(!text.includes(`(index .Values.kafkaTls "${LOOKALIKE.name}")`), `${u.name} ${d}`);
    }
    assert.deepEqual(YAML.parse(u.chart['values.yaml']).kafkaTls, { [CA.volumeName]: { secretName: 'corp-kafka-ca', key: 'ca.pem' } }, u.name);
  }
});

test('kafka tls: a volume is a CA by the KafkaTls that made it, not by its name or shape', () => {
  const v = CA.volume();
  assert.equal(KafkaTls._declaredBy(v), CA);
  assert.equal(KafkaTls._declaredBy({ ...v, readOnly: true }), CA, 'the same source');
  assert.equal(KafkaTls._declaredBy({ ...v, name: 'renamed' }), undefined, 'under another name the pipeline would not find it');
  assert.equal(KafkaTls._declaredBy({ ...v, source: VolumeSource.secret('corp-kafka-ca', { 'ca.pem': 'ca.pem' }) }), undefined, 'a source the user built');
});
