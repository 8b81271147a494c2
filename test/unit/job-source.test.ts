/**
 * Job jars from URIs, as synthesized and as the charts render them (a real helm binary): the
 * JobManager's `--jars` and `--job-classname` args, the https jar's fetch init container (the
 * operations image, the restricted security context, writing only to its emptyDir, mounted
 * read-only in the JobManager), the session job's spec, the values and their schema; and the
 * ops tool's reading of a jar's manifest.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlinkApplication, FlinkPlatform, FlinkSessionCluster, FlinkSessionJob, JobSource, restrictedViolations, StorageCredentials } from '../../lib';
import { ARTIFACTS_DIR, FETCH_JAR_INIT_CONTAINER } from '../../lib/cluster/flink-cluster';
import { bufferReader, jarMainClass } from '../../lib/ops/artifact';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { assertRendersDist, find as findRendered, render, renderError, writeChart } from '../support/helm-chart';
import { find, synth } from '../support/synth';
import { ensureHelm } from '../support/tools';

const SHA = 'a'.repeat(64);
const URL = 'https://artifacts.example.com/logs/audit-1.4.0.jar';
const jm = (objects: any[], name: string) => find(objects, 'Deployment', `${name}-jobmanager`).spec.template.spec;
const tm = (objects: any[], name: string) => find(objects, 'Deployment', `${name}-taskmanager`).spec.template.spec;
const app = (job: JobSource, name = 'audit') => synth((s) => new FlinkApplication(s, name, { job, checkpointing: false, opsImage: 'registry.example.com/ops:1.0.0' }));

test('jar URIs: a jar in the image runs with --jars local://<path>; no --job-classname when the manifest names the class; no init container', () => {
  for (const jarFile of ['local:///opt/flink/usrlib/audit.jar', 'file:///opt/flink/usrlib/audit.jar', '/opt/flink/usrlib/audit.jar']) {
    const pod = jm(app(JobSource.jar({ jarFile, args: ['--topic', 'logs'] })), 'audit');
    assert.deepEqual(pod.containers[0].args, ['standalone-job', '--jars', 'local:///opt/flink/usrlib/audit.jar', '--job-id', '$(FLINK_JOB_ID)', '--topic', 'logs'], jarFile);
    assert.deepEqual(pod.initContainers.map((c: any) => c.name), ['flink-config']);
    assert.ok(!pod.volumes.some((v: any) => v.name === 'flink-artifacts'));
  }
  const withClass = jm(app(JobSource.jar({ entryClass: 'com.example.Audit', jarFile: '/opt/flink/usrlib/audit.jar' })), 'audit');
  assert.deepEqual(withClass.containers[0].args.slice(0, 5), ['standalone-job', '--job-classname', 'com.example.Audit', '--jars', 'local:///opt/flink/usrlib/audit.jar']);
  // Without a jar: the class on the usrlib classpath, as before.
  assert.deepEqual(jm(app(JobSource.jar({ entryClass: 'com.example.Audit' })), 'audit').containers[0].args, ['standalone-job', '--job-classname', 'com.example.Audit', '--job-id', '$(FLINK_JOB_ID)']);
});

test('jar URIs: an https jar is fetched by an init container of the JobManager pod from the ops image, into an emptyDir mounted read-only; restricted security', () => {
  const objects = app(JobSource.jar({ jarFile: URL, jarSha256: SHA.toUpperCase() }));
  const pod = jm(objects, 'audit');
  const fetch = pod.initContainers.find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
  assert.deepEqual(pod.initContainers.map((c: any) => c.name), ['flink-config', FETCH_JAR_INIT_CONTAINER]);
  assert.equal(fetch.image, 'registry.example.com/ops:1.0.0');
  assert.deepEqual(fetch.args, ['fetch-artifact', '--url', URL, '--sha256', SHA, '--dest', `${ARTIFACTS_DIR}/job.jar`, '--require-main-class']);
  assert.deepEqual(fetch.volumeMounts, [{ name: 'flink-artifacts', mountPath: ARTIFACTS_DIR }]);
  assert.deepEqual(fetch.securityContext, { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  assert.deepEqual(fetch.resources.limits, { memory: '128Mi' });
  assert.deepEqual(pod.volumes.filter((v: any) => v.name === 'flink-artifacts'), [{ name: 'flink-artifacts', emptyDir: {} }]);
  assert.deepEqual(pod.containers[0].volumeMounts.filter((m: any) => m.name === 'flink-artifacts'), [{ name: 'flink-artifacts', mountPath: ARTIFACTS_DIR, readOnly: true }]);
  assert.deepEqual(pod.containers[0].args.slice(0, 3), ['standalone-job', '--jars', `local://${ARTIFACTS_DIR}/job.jar`]);
  // The TaskManagers get the jar from the blob server: no fetch there.
  assert.deepEqual(tm(objects, 'audit').initContainers.map((c: any) => c.name), ['flink-config']);
  assert.deepEqual(restrictedViolations(objects), []);
  // With an entry class the fetch does not ask for a Main-Class; without a sha256 an empty one (not checked), as the chart renders it.
  const plain = jm(app(JobSource.jar({ jarFile: URL, entryClass: 'com.example.Audit' })), 'audit').initContainers[1];
  assert.deepEqual(plain.args, ['fetch-artifact', '--url', URL, '--sha256', '', '--dest', `${ARTIFACTS_DIR}/job.jar`]);
});

const S3_URI = 's3://jobs-bucket/audit/audit-1.4.0.jar';
const S3_KEYS_ENV = [
  { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-keys', key: 'access-key' } } },
  { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-keys', key: 'secret-key' } } },
];
const s3Creds = (extra: { endpoint?: string; pathStyleAccess?: boolean; region?: string } = { endpoint: 'http://minio.storage.svc:9000', pathStyleAccess: true, region: 'eu-west-1' }) =>
  [StorageCredentials.s3({ secretName: 's3-keys', ...extra })];

test('jar URIs: an s3 jar is fetched by the same init container, its keys from the Secret of StorageCredentials.s3 as env and its endpoint, path style and region as options; it requires those credentials', () => {
  const objects = synth((s) => new FlinkApplication(s, 'audit', { job: JobSource.jar({ jarFile: S3_URI, jarSha256: SHA }), checkpointing: false, opsImage: 'registry.example.com/ops:1.0.0', storageCredentials: s3Creds() }));
  const pod = jm(objects, 'audit');
  const fetch = pod.initContainers.find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
  assert.deepEqual(fetch.args, ['fetch-artifact', '--url', S3_URI, '--sha256', SHA, '--dest', `${ARTIFACTS_DIR}/job.jar`, '--require-main-class',
    '--s3-endpoint', 'http://minio.storage.svc:9000', '--s3-path-style', '--s3-region', 'eu-west-1']);
  assert.deepEqual(fetch.env, S3_KEYS_ENV);
  assert.deepEqual(pod.containers[0].args.slice(0, 3), ['standalone-job', '--jars', `local://${ARTIFACTS_DIR}/job.jar`]);
  assert.deepEqual(tm(objects, 'audit').initContainers.map((c: any) => c.name), ['flink-config']);
  assert.deepEqual(restrictedViolations(objects), []);
  // The region is also Flink's S3 file system's (fs.s3a.endpoint.region: a key of its own, since s3.endpoint holds the endpoint), beside the endpoint and path style.
  const conf = find(objects, 'ConfigMap', 'audit-config').data['config.yaml'];
  assert.match(conf, /fs\.s3a\.endpoint\.region: eu-west-1/);
  // AWS itself: no endpoint, virtual-host style, the region's default: no options.
  const aws = jm(synth((s) => new FlinkApplication(s, 'audit', { job: JobSource.jar({ jarFile: S3_URI, entryClass: 'com.example.A' }), checkpointing: false, storageCredentials: s3Creds({}) })), 'audit');
  assert.deepEqual(aws.initContainers[1].args, ['fetch-artifact', '--url', S3_URI, '--sha256', '', '--dest', `${ARTIFACTS_DIR}/job.jar`]);
  assert.deepEqual(aws.initContainers[1].env, S3_KEYS_ENV);
  // An https jar's fetch gets no keys, even when the cluster has S3 credentials.
  const https = jm(synth((s) => new FlinkApplication(s, 'audit', { job: JobSource.jar({ jarFile: URL }), checkpointing: false, storageCredentials: s3Creds() })), 'audit');
  assert.equal(https.initContainers[1].env, undefined);
  assert.throws(() => synth((s) => new FlinkApplication(s, 'audit', { job: JobSource.jar({ jarFile: S3_URI }), checkpointing: false, storageCredentials: [StorageCredentials.hdfsUser('flink')] })),
    /^ValidationError: job.jarFile: "s3:\/\/jobs-bucket\/audit\/audit-1.4.0.jar" is an S3 URI and storageCredentials has no StorageCredentials.s3\(...\) or s3WebIdentity\(...\); expected one/);
});

test('jar URIs: a session job from s3 is read by its submitter with the session cluster\'s S3 keys (env from the Secret) and options; the stop hook gets no keys; a cluster without S3 credentials is refused', () => {
  const jobs: FlinkSessionJob[] = [];
  const objects = synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointing: false, storageCredentials: s3Creds() });
    jobs.push(new FlinkSessionJob(s, 's3-job', { cluster: c, job: JobSource.jar({ jarFile: S3_URI, jarSha256: SHA }) }));
    jobs.push(new FlinkSessionJob(s, 'https-job', { cluster: c, job: JobSource.jar({ jarFile: URL }) }));
  });
  assert.equal(jobs[0].spec.jarFile, S3_URI);
  const submitter = (name: string) => objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith(`${name}-submit-`)).spec.template.spec.containers[0];
  assert.deepEqual(submitter('s3-job').args.slice(5), ['--s3-endpoint', 'http://minio.storage.svc:9000', '--s3-path-style', '--s3-region', 'eu-west-1']);
  assert.deepEqual(submitter('s3-job').env, S3_KEYS_ENV);
  assert.equal(submitter('https-job').args.length, 5);
  assert.equal(submitter('https-job').env, undefined);
  assert.deepEqual(restrictedViolations(objects), []);
  assert.throws(() => synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointing: false });
    new FlinkSessionJob(s, 'c', { cluster: c, job: JobSource.jar({ jarFile: S3_URI }) });
  }), /^ValidationError: job.jarFile: "s3:\/\/jobs-bucket\/audit\/audit-1.4.0.jar" is an S3 URI and storageCredentials has no StorageCredentials.s3/);
});

test('jar URIs: a session job\'s spec carries the jar URI and sha256, and no entryClass when the manifest names it; local:// is refused', () => {
  const jobs: FlinkSessionJob[] = [];
  synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointing: false });
    jobs.push(new FlinkSessionJob(s, 'a', { cluster: c, job: JobSource.jar({ jarFile: URL, jarSha256: SHA }) }));
    jobs.push(new FlinkSessionJob(s, 'b', { cluster: c, job: JobSource.jar({ jarFile: 'file:///opt/jobs/b.jar', entryClass: 'com.example.B' }) }));
  });
  assert.equal(jobs[0].spec.jarFile, URL);
  assert.equal(jobs[0].spec.jarSha256, SHA);
  assert.ok(!('entryClass' in jobs[0].spec));
  assert.equal(jobs[1].spec.jarFile, 'file:///opt/jobs/b.jar');
  assert.equal(jobs[1].spec.entryClass, 'com.example.B');
  assert.ok(!('jarSha256' in jobs[1].spec));
  assert.throws(() => synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointing: false });
    new FlinkSessionJob(s, 'c', { cluster: c, job: JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/c.jar' }) });
  }), /^ValidationError: job.jarFile: "local:\/\/\/opt\/flink\/usrlib\/c.jar" is a local:\/\/ jar, which a session job cannot run/);
});

test('jar URIs: a private authority from a Secret (jarCaSecret) reaches only the container that fetches the jar, read-only, through NODE_EXTRA_CA_CERTS; refused where nothing is fetched', () => {
  const caEnv = { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/cdk8s-flink/jar-ca/root.pem' };
  const caMount = { name: 'flink-jar-ca', mountPath: '/etc/cdk8s-flink/jar-ca', readOnly: true };
  const caVolume = { name: 'flink-jar-ca', secret: { secretName: 'artifacts-ca', items: [{ key: 'root.pem', path: 'root.pem' }] } };
  const objects = app(JobSource.jar({ jarFile: URL, jarSha256: SHA, jarCaSecret: { secretName: 'artifacts-ca', key: 'root.pem' } }));
  const pod = jm(objects, 'audit');
  const fetch = pod.initContainers.find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
  assert.deepEqual(fetch.env, [caEnv]);
  assert.deepEqual(fetch.volumeMounts, [{ name: 'flink-artifacts', mountPath: ARTIFACTS_DIR }, caMount]);
  assert.deepEqual(pod.volumes.filter((v: any) => v.name === 'flink-jar-ca'), [caVolume]);
  for (const c of [...pod.containers, pod.initContainers[0]]) assert.ok(!c.volumeMounts.some((m: any) => m.name === 'flink-jar-ca'), `${c.name} does not mount the authority`);
  assert.ok(!tm(objects, 'audit').volumes.some((v: any) => v.name === 'flink-jar-ca'), 'nor does the TaskManager pod have it');
  assert.deepEqual(restrictedViolations(objects), []);
  // s3: the keys and the authority together; the key defaults to ca.crt
  const s3 = jm(synth((s) => new FlinkApplication(s, 'audit', { job: JobSource.jar({ jarFile: S3_URI, jarCaSecret: { secretName: 'artifacts-ca' } }), checkpointing: false, storageCredentials: s3Creds() })), 'audit');
  assert.deepEqual(s3.initContainers[1].env, [...S3_KEYS_ENV, { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/cdk8s-flink/jar-ca/ca.crt' }]);
  // a session job's submitter has it; its stop hook (REST only) does not
  const session = synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointing: false });
    new FlinkSessionJob(s, 'counts', { cluster: c, job: JobSource.jar({ jarFile: URL, jarCaSecret: { secretName: 'artifacts-ca', key: 'root.pem' } }) });
  });
  const submit = session.find((o) => o.kind === 'Job' && o.metadata.name.startsWith('counts-submit-')).spec.template.spec;
  assert.deepEqual(submit.containers[0].env, [caEnv]);
  assert.deepEqual(submit.containers[0].volumeMounts.filter((m: any) => m.name === 'flink-jar-ca'), [caMount]);
  assert.deepEqual(submit.volumes.filter((v: any) => v.name === 'flink-jar-ca'), [caVolume]);
  assert.deepEqual(restrictedViolations(session), []);
  // one line each
  assert.throws(() => JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/a.jar', jarCaSecret: { secretName: 'artifacts-ca' } }),
    /^ValidationError: job\.jarCaSecret: "artifacts-ca" is set for jarFile "local:\/\/\/opt\/flink\/usrlib\/a\.jar", which is not fetched; expected it with an https:\/\/ or s3:\/\/ jarFile$/);
  assert.throws(() => JobSource.jar({ entryClass: 'com.example.A', jarCaSecret: { secretName: 'artifacts-ca' } }), /^ValidationError: job\.jarCaSecret: "artifacts-ca" is set for no jarFile;/);
  assert.throws(() => JobSource.jar({ jarFile: URL, jarCaSecret: { secretName: 'Artifacts_CA' } }), /^ValidationError: job\.jarCaSecret\.secretName: "Artifacts_CA"/);
  assert.throws(() => JobSource.jar({ jarFile: URL, jarCaSecret: { secretName: 'a', key: 'no/slash' } }), /^ValidationError: job\.jarCaSecret\.key: "no\/slash"/);
});

test('jar URIs: the charts render as dist/, take the jar URI and sha256 as values (schema-checked), and refuse hostile values', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: 'logs' });
  p.addApplication('fetched', { job: JobSource.jar({ jarFile: URL, jarSha256: SHA, args: ['--x'] }) });
  p.addApplication('trusting', { job: JobSource.jar({ jarFile: URL, jarCaSecret: { secretName: 'artifacts-ca' } }) });
  p.addApplication('in-image', { job: JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/audit.jar' }) });
  const pool = p.addSessionCluster('pool', {});
  p.addSessionJob('counts', { cluster: pool, job: JobSource.jar({ jarFile: URL, jarSha256: SHA }) });
  p.addApplication('from-s3', { job: JobSource.jar({ jarFile: S3_URI, jarSha256: SHA }), storageCredentials: s3Creds() });
  const keyed = p.addSessionCluster('keyed', { storageCredentials: s3Creds() });
  p.addSessionJob('counts-s3', { cluster: keyed, job: JobSource.jar({ jarFile: S3_URI }) });
  const units = synthesizePlatform(p);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-jar-charts-'));
  try {
    for (const u of units.filter((x) => ['fetched', 'trusting', 'in-image', 'from-s3'].includes(x.name))) assertRendersDist(bin, u);
    const chart = (name: string) => writeChart(units.find((u) => u.name === name)!, fs.mkdtempSync(path.join(work, 'c-')));
    // The session job's spec as the chart renders it equals dist/'s (the submitter Job's name differs by design: a hook per release).
    const distSpec = find(units.find((u) => u.name === 'counts')!.objects, 'ConfigMap', 'counts-job').data['job.json'];
    assert.equal(findRendered(render(bin, chart('counts'), 'counts'), 'ConfigMap', 'counts-job').data['job.json'], distSpec);
    const fetched = chart('fetched');
    const other = 'https://mirror.example.com/a/b.jar';
    const pod = findRendered(render(bin, fetched, 'fetched', [`job.jarUri=${other}`, `job.jarSha256=${'B'.repeat(64)}`, 'hooks.image=registry.example.com/ops:2.0.0']), 'Deployment', 'fetched-jobmanager').spec.template.spec;
    const init = pod.initContainers.find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
    assert.equal(init.image, 'registry.example.com/ops:2.0.0');
    assert.deepEqual(init.args, ['fetch-artifact', '--url', other, '--sha256', 'b'.repeat(64), '--dest', `${ARTIFACTS_DIR}/job.jar`, '--require-main-class']);
    const unchecked = findRendered(render(bin, fetched, 'fetched', ['job.jarSha256=']), 'Deployment', 'fetched-jobmanager').spec.template.spec.initContainers[1];
    assert.deepEqual(unchecked.args.slice(3, 5), ['--sha256', '']);
    const inImage = chart('in-image');
    const args = findRendered(render(bin, inImage, 'in-image', ['job.jarUri=file:///opt/jobs/v2.jar']), 'Deployment', 'in-image-jobmanager').spec.template.spec.containers[0].args;
    assert.deepEqual(args.slice(0, 3), ['standalone-job', '--jars', 'local:///opt/jobs/v2.jar']);
    const counts = chart('counts');
    const spec = JSON.parse(findRendered(render(bin, counts, 'counts', [`job.jarUri=${other}`, 'job.jarSha256=']), 'ConfigMap', 'counts-job').data['job.json']);
    assert.equal(spec.jarFile, other);
    assert.ok(!('jarSha256' in spec) && !('entryClass' in spec));

    // s3: another object keeps the fetch's keys and options; the session job's submitter hook has them, its stop hook not.
    const fromS3 = chart('from-s3');
    const s3Init = findRendered(render(bin, fromS3, 'from-s3', ['job.jarUri=s3://other-bucket/x/y.jar']), 'Deployment', 'from-s3-jobmanager').spec.template.spec.initContainers
      .find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
    assert.deepEqual(s3Init.args, ['fetch-artifact', '--url', 's3://other-bucket/x/y.jar', '--sha256', SHA, '--dest', `${ARTIFACTS_DIR}/job.jar`, '--require-main-class',
      '--s3-endpoint', 'http://minio.storage.svc:9000', '--s3-path-style', '--s3-region', 'eu-west-1']);
    assert.deepEqual(s3Init.env, S3_KEYS_ENV);
    const countsS3 = chart('counts-s3');
    const hooks = render(bin, countsS3, 'counts-s3', [`job.jarUri=${other}`]);
    const submitHook = findRendered(hooks, 'Job', 'counts-s3-submit').spec.template.spec.containers[0];
    assert.deepEqual(submitHook.env, S3_KEYS_ENV);
    assert.deepEqual(submitHook.args.slice(5), ['--s3-endpoint', 'http://minio.storage.svc:9000', '--s3-path-style', '--s3-region', 'eu-west-1']);
    assert.equal(findRendered(hooks, 'Job', 'counts-s3-stop').spec.template.spec.containers[0].env, undefined);
    assert.equal(JSON.parse(findRendered(render(bin, countsS3, 'counts-s3'), 'ConfigMap', 'counts-s3-job').data['job.json']).jarFile, S3_URI);

    for (const [c, set, field] of [
      [fromS3, [`job.jarUri=${other}`], 'job.jarUri'],
      [fromS3, ['job.jarUri=s3://Bad_Bucket/x.jar'], 'job.jarUri'],
      [fromS3, ['job.jarUri=s3://bucket/dir/'], 'job.jarUri'],
      [countsS3, ['job.jarUri=file:///opt/jobs/x.jar'], 'job.jarUri'],
      [fetched, ['job.jarUri=http://artifacts.example.com/a.jar'], 'job.jarUri'],
      [fetched, ['job.jarUri=https://user:pw@artifacts.example.com/a.jar'], 'job.jarUri'],
      [fetched, ['job.jarUri=local:///opt/flink/usrlib/a.jar'], 'job.jarUri'],
      [fetched, ['job.jarSha256=abc'], 'job.jarSha256'],
      [fetched, [`job.jarSha256=${'g'.repeat(64)}`], 'job.jarSha256'],
      [inImage, ['job.jarUri=https://artifacts.example.com/a.jar'], 'job.jarUri'],
      [inImage, ['job.jarUri=/opt/flink/../etc/a.jar'], 'job.jarUri'],
      [inImage, ['job.jarUri=opt/a.jar'], 'job.jarUri'],
      [counts, ['job.jarUri=s3://bucket/a.jar'], 'job.jarUri'],
      [counts, ['job.jarSha256=xyz'], 'job.jarSha256'],
    ] as [string, string[], string][]) {
      assert.match(renderError(bin, c, set), new RegExp(`${field.replace('.', '\\.')}: (Does not match pattern|Must validate at least one schema|Must not validate the schema)`), set.join(' '));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('jar URIs: the ops tool reads the entry class from a manifest as Flink does (program-class before Main-Class), stored or deflated', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-manifest-'));
  try {
    const jar = (name: string, manifest: string | undefined, store: boolean) => {
      const d = path.join(dir, name);
      fs.mkdirSync(path.join(d, 'META-INF'), { recursive: true });
      fs.writeFileSync(path.join(d, 'a.txt'), 'x'.repeat(1000));
      if (manifest !== undefined) fs.writeFileSync(path.join(d, 'META-INF', 'MANIFEST.MF'), manifest);
      const file = path.join(dir, `${name}.jar`);
      execFileSync('jar', ['--create', '--file', file, ...(store ? ['--no-compress'] : []), ...(manifest !== undefined ? ['--manifest', path.join(d, 'META-INF', 'MANIFEST.MF')] : ['--no-manifest']), '-C', d, 'a.txt']);
      return bufferReader(fs.readFileSync(file));
    };
    assert.equal(jarMainClass('m', jar('main', 'Manifest-Version: 1.0\nMain-Class: com.example.Main\n', false)), 'com.example.Main');
    assert.equal(jarMainClass('s', jar('stored', 'Manifest-Version: 1.0\nMain-Class: com.example.Stored\n', true)), 'com.example.Stored');
    assert.equal(jarMainClass('p', jar('program', 'Manifest-Version: 1.0\nMain-Class: com.example.Main\nprogram-class: com.example.Program\n', false)), 'com.example.Program');
    assert.equal(jarMainClass('n', jar('none', 'Manifest-Version: 1.0\n', false)), undefined);
    assert.equal(jarMainClass('x', jar('nomanifest', undefined, false)), undefined);
    assert.throws(() => jarMainClass('bad.jar', bufferReader(Buffer.from('not a zip at all, just text'))), /^OpsError: bad\.jar: is not a jar \(no zip directory\)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
