/**
 * What an image serves, and the refusal at synth of what it cannot serve:
 * - each runtime line's schemes and connectors come from runtime/artifacts.json's `serves`
 *   declarations (the entries the Dockerfiles and local homes are made from);
 * - a checkpoint, savepoint, HA or restore URI whose scheme, and a job table whose connector
 *   or file system path, the chosen RuntimeImage cannot serve is refused with one line naming
 *   the field, the value and the image; what it serves is accepted; a user's image declares
 *   what it adds; the `synth` command exits 1 with that line and no stack trace;
 * - storage credentials reach the containers as env from Secrets, never the ConfigMap.
 * Synthesis only (no API server, no Flink).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import {
  EnvValue, FieldType, FlinkApplication, FlinkApplicationProps, FlinkSessionCluster, FlinkSessionJob, FlinkVersion, JobSource,
  LogPipeline, RuntimeImage, runtimeLineServes, Sink, sqlTables, StorageCredentials, ValidationError,
} from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { container, find, flinkConfig, synth } from '../support/synth';
import { imageLayout, readArtifacts } from '../support/flink-dist';

const V120 = FlinkVersion.V1_20;
const V22 = FlinkVersion.V2_2;
const REF = (v: FlinkVersion) => `registry.example.com/flink-runtime:${v}-0.1.0`;
const KAFKA = { bootstrapServers: 'kafka:9092' };
const SRC = { ...KAFKA, topic: 'logs', groupId: 'g', fields: { id: FieldType.STRING, msg: FieldType.STRING } };
const pipeline = (...sinks: Sink[]) => JobSource.pipeline(new LogPipeline({ source: SRC, sinks }));
const ES = Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'logs' });
const HDFS_SINK = Sink.fileSystem({ path: 'hdfs://namenode:8020/logs/access', partitionBy: ['dt', 'hr'] });
const STATE = { checkpointDirectory: 'hdfs://namenode:8020/flink/cp', savepointDirectory: 'hdfs://namenode:8020/flink/sp' };

const app = (props: Partial<FlinkApplicationProps>) => synth((s) => new FlinkApplication(s, 'job', {
  flinkVersion: V22, image: RuntimeImage.cdk8sFlink(REF(V22), V22), job: pipeline(HDFS_SINK), ...STATE, ...props,
} as FlinkApplicationProps));

/** The one-line ValidationError message of `build`. */
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail('expected a refusal, got none');
}

test('each runtime line serves what runtime/artifacts.json declares of the entries its image adds', () => {
  const file = readArtifacts() as any;
  for (const line of Object.keys(file.lines)) {
    const l = file.lines[line];
    const s = runtimeLineServes(line);
    // The union of the distribution's and every entry's declaration, nothing else.
    const declared = (k: 'schemes' | 'connectors') => new Set<string>([...file.distribution[k], ...[...l.lib, ...l.usrlib, ...l.plugins].flatMap((e: any) => e.serves?.[k] ?? [])]);
    assert.deepEqual(new Set(s.schemes), declared('schemes'), line);
    assert.deepEqual(new Set(s.connectors), declared('connectors'), line);
    // Every serving entry is one the image adds: a Maven jar or a plugin of imageLayout(line).
    const layout = imageLayout(line);
    for (const e of [...l.lib, ...l.plugins].filter((x: any) => x.serves)) {
      assert.ok(layout.some((x) => (x.kind === 'maven' && x.coords === e.maven) || (x.kind === 'plugin' && x.name === e.name)), `${line}: ${JSON.stringify(e)} is not laid out`);
    }
    for (const k of ['file', 'hdfs', 's3']) assert.ok(s.schemes.includes(k), `${line} serves ${k}://`);
    for (const k of ['kafka', 'filesystem']) assert.ok(s.connectors.includes(k), `${line} serves ${k}`);
  }
  assert.ok(runtimeLineServes('1.20').connectors.includes('elasticsearch-7'));
  assert.ok(!runtimeLineServes('2.2').connectors.includes('elasticsearch-7'));
  assert.match(runtimeLineServes('2.2').lacks['elasticsearch-7'], /Maven Central has no Elasticsearch/);
});

test('the example platform, on the runtime images, synthesizes: hdfs:// state and archives, Kafka, Elasticsearch on 1.20', () => {
  const platform = buildLogPlatform(PRODUCTION);
  for (const u of platform.releaseUnits) synthesizeUnit(u);
  const access = platform.unit('access-logs')!.construct as FlinkApplication;
  assert.ok(access.runtimeImage, 'the example declares what its image serves');
  assert.equal(access.image, 'registry.example.com/logs/flink-runtime:2.2.1-0.1.0');
});

test('storage URIs: accepted when the image serves the scheme, refused with one line naming field, value and image', () => {
  app({});
  app({ highAvailability: true, highAvailabilityStorageDir: 's3://bucket/ha', initialSavepointPath: 's3a://bucket/sp/savepoint-1' });
  app({ image: RuntimeImage.official(V22), job: JobSource.sql("CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT 1;"), checkpointDirectory: 'file:///data/cp', savepointDirectory: 'file:///data/sp' });

  const gs = refusal(() => app({ checkpointDirectory: 'gs://bucket/cp' }));
  assert.match(gs, /^checkpointDirectory: "gs:\/\/bucket\/cp" has scheme gs, which image "registry\.example\.com\/flink-runtime:2\.2\.1-0\.1\.0" \(the cdk8s-flink runtime image for Flink 2\.2\) does not serve; expected one of file, hdfs, s3, s3a, or an image that adds it: RuntimeImage\.custom\(reference, \{ schemes: \["gs"\] \}\)$/);
  assert.match(refusal(() => app({ savepointDirectory: 'oss://b/sp' })), /^savepointDirectory: "oss:\/\/b\/sp" has scheme oss, which image /);
  assert.match(refusal(() => app({ highAvailability: true, highAvailabilityStorageDir: 'abfs://c@a/ha' })), /^highAvailabilityStorageDir: "abfs:\/\/c@a\/ha" has scheme abfs/);
  assert.match(refusal(() => app({ initialSavepointPath: 'gs://b/sp/1' })), /^initialSavepointPath: "gs:\/\/b\/sp\/1" has scheme gs/);
  // The official image serves file:// only.
  assert.match(refusal(() => app({ image: RuntimeImage.official(V22), job: JobSource.sql("CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT 1;") })),
    /^checkpointDirectory: "hdfs:\/\/namenode:8020\/flink\/cp" has scheme hdfs, which image "flink:2\.2\.1-java17" \(the official Flink 2\.2 image\) does not serve; expected one of file,/);
  // A value that is no URI is still reported by its own check.
  assert.match(refusal(() => app({ checkpointDirectory: '/data/cp' })), /^checkpointDirectory: "\/data\/cp" is not a URI/);
});

test('job connectors and sink paths: Elasticsearch on 1.20 accepted, on 2.2 refused saying why; file sinks by scheme', () => {
  app({ flinkVersion: V120, image: RuntimeImage.cdk8sFlink(REF(V120), V120), job: pipeline(Sink.kafka({ ...KAFKA, topic: 'out' }), ES, HDFS_SINK) });
  const es = refusal(() => app({ job: pipeline(HDFS_SINK, ES) }));
  assert.match(es, /^pipeline\.sinks\[1\] connector: "elasticsearch-7" is a connector that image "registry\.example\.com\/flink-runtime:2\.2\.1-0\.1\.0" \(the cdk8s-flink runtime image for Flink 2\.2\) does not serve \(Maven Central has no Elasticsearch or OpenSearch SQL connector for Flink 2\.x\); expected one of blackhole, datagen, filesystem, kafka, print, upsert-kafka, or an image that adds it: RuntimeImage\.custom\(reference, \{ connectors: \["elasticsearch-7"\] \}\)$/);
  assert.match(refusal(() => app({ job: pipeline(Sink.fileSystem({ path: 'gs://b/logs' })) })), /^pipeline\.sinks\[0\] path: "gs:\/\/b\/logs" has scheme gs/);
  // The source's connector is checked too: the official image has no Kafka connector.
  assert.match(refusal(() => app({ image: RuntimeImage.official(V22), checkpointDirectory: 'file:///cp', savepointDirectory: 'file:///sp' })),
    /^pipeline\.source connector: "kafka" is a connector that image "flink:2\.2\.1-java17" \(the official Flink 2\.2 image\) does not serve/);
  // Raw SQL: tables by name.
  const sql = JobSource.sql("CREATE TABLE `src` (a INT) WITH ('connector' = 'datagen');\nCREATE TEMPORARY TABLE out_t (a INT) WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://db/x');\nINSERT INTO out_t SELECT a FROM src;");
  assert.match(refusal(() => app({ job: sql })), /^job\.sql table out_t connector: "jdbc" is a connector that image /);
});

test('a user\'s own image declares what it adds on top of its base; session jobs are checked against their cluster\'s image', () => {
  const sql = JobSource.sql("CREATE TABLE out_t (a INT) WITH ('connector' = 'jdbc');\nINSERT INTO out_t SELECT 1;");
  const mine = RuntimeImage.custom('registry.example.com/my-flink:2.2.1-1', { base: RuntimeImage.cdk8sFlink(REF(V22), V22), schemes: ['gs'], connectors: ['jdbc', 'elasticsearch-7'] });
  app({ image: mine, job: sql, checkpointDirectory: 'gs://b/cp', savepointDirectory: 'hdfs://nn/sp' });
  app({ image: mine, job: pipeline(ES) });
  // Without a base it adds to the official image only.
  assert.match(refusal(() => app({ image: RuntimeImage.custom('my-flink:1', { schemes: ['gs'] }) })), /^checkpointDirectory: "hdfs:\/\/namenode:8020\/flink\/cp" has scheme hdfs, which image "my-flink:1" \(a custom image adding gs\) does not serve; expected one of file, gs,/);
  assert.match(refusal(() => RuntimeImage.custom('x:1', { schemes: ['GS://'] })), /^RuntimeImage\.custom schemes: \["GS:\/\/"\] is invalid/);
  // An image of another line than the cluster's.
  assert.match(refusal(() => app({ flinkVersion: V120 })), /^image: "registry\.example\.com\/flink-runtime:2\.2\.1-0\.1\.0" is the cdk8s-flink runtime image for Flink 2\.2 but flinkVersion is 1\.20\.5; expected an image of the 1\.20 line$/);
  assert.match(refusal(() => RuntimeImage.cdk8sFlink('x:1', FlinkVersion.V2_1)), /^RuntimeImage\.cdk8sFlink version: "2\.1\.1" has no cdk8s-flink runtime image; expected a Flink line of runtime\/artifacts\.json: 1\.20, 2\.2$/);
  // A plain string is taken as it is.
  app({ image: 'registry.example.com/anything:1', job: pipeline(ES), checkpointDirectory: 'gs://b/cp' });

  const session = (v: FlinkVersion, job: JobSource) => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { flinkVersion: v, image: RuntimeImage.cdk8sFlink(REF(v), v), ...STATE });
    new FlinkSessionJob(s, 'errors', { cluster: c, job });
  });
  session(V120, pipeline(ES));
  assert.match(refusal(() => session(V22, pipeline(ES))), /^pipeline\.sinks\[0\] connector: "elasticsearch-7" is a connector that image .* \(the cdk8s-flink runtime image for Flink 2\.2\) does not serve/);
  assert.match(refusal(() => synth((s) => new FlinkSessionCluster(s, 'shared', { flinkVersion: V22, image: RuntimeImage.official(V22), ...STATE }))), /^checkpointDirectory: "hdfs:/);
});

test('sqlTables reads each table\'s connector and path, quotes and comments included', () => {
  assert.deepEqual(sqlTables("-- 'connector' = 'x'\nCREATE TABLE IF NOT EXISTS `a``b` (s STRING) WITH ('path' = 'hdfs://n/it''s', 'connector'='filesystem');\nCREATE TABLE c (x INT) WITH ('connector' = 'print');"), [
    { name: 'a`b', connector: 'filesystem', path: "hdfs://n/it's" },
    { name: 'c', connector: 'print', path: undefined },
  ]);
});

test('storage credentials: S3 keys and the HDFS user as env from Secrets on every Flink container, never in the ConfigMap', () => {
  const objects = synth((s) => new FlinkApplication(s, 'job', {
    flinkVersion: V22, image: RuntimeImage.cdk8sFlink(REF(V22), V22), job: pipeline(HDFS_SINK), ...STATE,
    storageCredentials: [
      StorageCredentials.s3({ secretName: 'flink-s3', endpoint: 'http://minio.storage.svc:9000', pathStyleAccess: true }),
      StorageCredentials.hdfsUser(EnvValue.fromSecret('flink-hdfs', 'user')),
    ],
  }));
  for (const [d, c] of [['job-jobmanager', 'jobmanager'], ['job-taskmanager', 'taskmanager']]) {
    const env = container(find(objects, 'Deployment', d), c).env as any[];
    const by = (n: string) => env.find((e) => e.name === n);
    assert.deepEqual(by('AWS_ACCESS_KEY_ID').valueFrom, { secretKeyRef: { name: 'flink-s3', key: 'access-key' } }, d);
    assert.deepEqual(by('AWS_SECRET_ACCESS_KEY').valueFrom, { secretKeyRef: { name: 'flink-s3', key: 'secret-key' } }, d);
    assert.deepEqual(by('HADOOP_USER_NAME').valueFrom, { secretKeyRef: { name: 'flink-hdfs', key: 'user' } }, d);
  }
  const config = flinkConfig(objects, 'job');
  assert.equal(config['s3.endpoint'], 'http://minio.storage.svc:9000');
  assert.equal(config['s3.path.style.access'], true);
  const text = JSON.stringify(objects.filter((o) => o.kind === 'ConfigMap'));
  for (const k of ['s3.access-key', 's3.secret-key', 'fs.s3a.access.key', 'fs.s3a.secret.key', 'AWS_SECRET_ACCESS_KEY']) assert.ok(!text.includes(k), `no ${k} in a ConfigMap`);
  // A plain HDFS user; one source per variable.
  const plain = synth((s) => new FlinkSessionCluster(s, 'shared', { ...STATE, storageCredentials: [StorageCredentials.hdfsUser('flink')] }));
  assert.deepEqual((container(find(plain, 'Deployment', 'shared-taskmanager'), 'taskmanager').env as any[]).find((e) => e.name === 'HADOOP_USER_NAME'), { name: 'HADOOP_USER_NAME', value: 'flink' });
  assert.match(refusal(() => app({ storageCredentials: [StorageCredentials.hdfsUser('flink')], env: { HADOOP_USER_NAME: EnvValue.fromValue('x') } })), /^storageCredentials: "hdfs" sets HADOOP_USER_NAME, which env already set/);
  // Flink's own keys for the S3 keys would put them into the ConfigMap: refused.
  for (const k of ['s3.access-key', 's3.secret-key']) assert.match(refusal(() => app({ flinkConfiguration: { [k]: 'x' } })), new RegExp(`^flinkConfiguration\\["${k}"\\]: "\\*\\*\\*" looks like a credential`));
  assert.match(refusal(() => StorageCredentials.hdfsUser('bad user')), /^StorageCredentials\.hdfsUser user: "bad user" is not a user name/);
  assert.match(refusal(() => StorageCredentials.s3({ secretName: 's', endpoint: 'minio:9000' })), /^StorageCredentials\.s3 endpoint: "minio:9000" is invalid/);
  // The endpoint is configuration, so no user or password in it; names as the API server checks them.
  assert.match(refusal(() => StorageCredentials.s3({ secretName: 's', endpoint: 'http://key:secret@minio:9000' })), /^StorageCredentials\.s3 endpoint: .* is invalid; expected an http\(s\) URL without user or password/);
  assert.match(refusal(() => StorageCredentials.s3({ secretName: 's', pathStyleAccess: 'true' as any })), /^StorageCredentials\.s3 pathStyleAccess: "true" is invalid; expected true or false$/);
  assert.match(refusal(() => StorageCredentials.s3({ secretName: 'Flink_S3' })), /^StorageCredentials\.s3 secretName: "Flink_S3" /);
  assert.match(refusal(() => StorageCredentials.s3({ secretName: 's', secretKeyKey: 'a/b' })), /^StorageCredentials\.s3 secretKeyKey: "a\/b" /);
  assert.match(refusal(() => StorageCredentials.s3(undefined as any)), /^StorageCredentials\.s3: \(missing\) is invalid; expected \{ secretName/);
  // Without endpoint and path style: AWS, nothing in the configuration.
  const aws = flinkConfig(synth((s) => new FlinkSessionCluster(s, 'aws', { ...STATE, storageCredentials: [StorageCredentials.s3({ secretName: 'flink-s3' })] })), 'aws');
  assert.deepEqual(Object.keys(aws).filter((k) => k.startsWith('s3.')), []);
});

test('storage credentials: S3 with a web identity references no Secret and sets S3A\'s web-identity provider; the jar fetch gets only the location', () => {
  const objects = synth((s) => new FlinkApplication(s, 'job', {
    flinkVersion: V22, image: RuntimeImage.cdk8sFlink(REF(V22), V22), job: pipeline(HDFS_SINK), ...STATE,
    storageCredentials: [StorageCredentials.s3WebIdentity({ endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' })],
  }));
  assert.ok(!JSON.stringify(objects).includes('secretKeyRef'), 'no Secret referenced');
  for (const [d, c] of [['job-jobmanager', 'jobmanager'], ['job-taskmanager', 'taskmanager']]) {
    const names = ((container(find(objects, 'Deployment', d), c).env ?? []) as any[]).map((e) => e.name);
    assert.deepEqual(names.filter((n) => n.startsWith('AWS_')), [], `${d}: no AWS variable of the toolkit's (the webhook injects the identity's)`);
  }
  const config = flinkConfig(objects, 'job');
  assert.equal(config['fs.s3a.aws.credentials.provider'], 'com.amazonaws.auth.WebIdentityTokenCredentialsProvider');
  assert.equal(config['s3.endpoint'], 'https://s3.eu-west-1.amazonaws.com');
  assert.equal(config['fs.s3a.endpoint.region'], 'eu-west-1');
  assert.deepEqual(StorageCredentials._s3FetchOf('s3://b/k.jar', [StorageCredentials.s3WebIdentity({ endpoint: 'http://minio:9000', pathStyleAccess: true, region: 'us-east-1' })]),
    { env: {}, args: ['--s3-endpoint', 'http://minio:9000', '--s3-path-style', '--s3-region', 'us-east-1'] });
  assert.match(refusal(() => StorageCredentials.s3WebIdentity({ endpoint: 'minio:9000' })), /^StorageCredentials\.s3WebIdentity endpoint: "minio:9000" is invalid; expected an http\(s\) URL/);
  assert.match(refusal(() => StorageCredentials.s3WebIdentity({ region: 'EU' })), /^StorageCredentials\.s3WebIdentity region: "EU" is not a region/);
  assert.match(refusal(() => StorageCredentials.s3WebIdentity(null as any)), /^StorageCredentials\.s3WebIdentity: .* is invalid; expected \{ endpoint\?, pathStyleAccess\?, region\? \}$/);
});

test('`cdk8s-flink synth` refuses a definition its image cannot serve: exit 1, one line, no stack trace', () => {
  const root = path.join(__dirname, '..', '..', '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-image-cli-'));
  try {
    const file = path.join(dir, 'app.js');
    fs.writeFileSync(file, `const L = require(${JSON.stringify(path.join(root, 'build', 'lib'))});
const p = new L.FlinkPlatform({ storageBaseDirectory: 'hdfs://nn:8020/flink' });
p.addApplication('errors', { flinkVersion: L.FlinkVersion.V2_2, image: L.RuntimeImage.cdk8sFlink('r/flink:2.2.1-1', L.FlinkVersion.V2_2),
  job: L.JobSource.pipeline(new L.LogPipeline({ source: { bootstrapServers: 'k:9092', topic: 't', groupId: 'g', fields: { m: L.FieldType.STRING } },
    sinks: [L.Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'e' })] })) });
module.exports.platform = p;
`);
    const out = path.join(dir, 'out');
    const r = spawnSync(process.execPath, [path.join(root, 'build', 'lib', 'cli', 'main.js'), 'synth', '--app', file, '--out', out], {
      encoding: 'utf8', env: { ...process.env, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_CHARTS: path.join(dir, 'charts') },
    });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /pipeline\.sinks\[0\] connector: "elasticsearch-7" is a connector that image "r\/flink:2\.2\.1-1" \(the cdk8s-flink runtime image for Flink 2\.2\) does not serve/);
    assert.ok(!/\n\s+at /.test(r.stderr));
    assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
