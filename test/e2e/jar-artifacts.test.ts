/**
 * Job jars from URIs on real Flink 1.20.5 and 2.2.1 (local processes, 127.0.0.1), with no entry
 * class given: a tiny job (test/support/java/manifest-job, compiled against the distribution's
 * lib/ and packed with a Main-Class manifest) whose job name is its first argument.
 *
 * - Application mode, `local:///opt/flink/usrlib/manifest-job.jar`: the jar where the image has
 *   it (the home's usrlib/, which also holds the SQL runner jar); the JobManager runs the
 *   synthesized args (`standalone-job --jars local://... --job-id ...`, no `--job-classname`),
 *   and the job runs under the name it was given.
 * - Application mode, `https://127.0.0.1:<port>/...` served by a local HTTPS server: the
 *   JobManager pod's init container is run as rendered (`node lib/ops/main.js fetch-artifact`
 *   with its args, the emptyDir mapped to a folder, the server's certificate trusted through
 *   NODE_EXTRA_CA_CERTS), then the JobManager with its args; the job runs. The same init
 *   container rendered with a wrong jarSha256 exits 1 with one line and leaves nothing behind.
 * - Application mode, `s3://jobs/audit/manifest-job.jar` in an S3 store (moto's server with
 *   authentication on, as local processes): the init container as rendered, its keys from the
 *   Secret its env names, signs the GET; the job runs. A wrong secret key gets S3's
 *   SignatureDoesNotMatch in one line, and no keys a one-line error; nothing is left behind.
 * - A session job from `file://`, one from `https://` (sha256 checked) and one from `s3://`
 *   (the session cluster's S3 credentials), all without entry class: `submit` as the chart's
 *   submitter runs it (job.json with the REST URL mapped); all run on the session cluster.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { FlinkApplication, FlinkSessionCluster, FlinkSessionJob, FlinkVersion, JobSource, StorageCredentials } from '../../lib';
import { FETCH_JAR_INIT_CONTAINER } from '../../lib/cluster/flink-cluster';
import { recordE2E } from '../support/e2e-report';
import { restGet, waitFor } from '../support/flink-proc';
import { runCluster } from '../support/local-flink';
import { startS3 } from '../support/s3';
import { live, LiveRun } from '../support/live';
import { buildManifestJar, MANIFEST_JOB_MAIN } from '../support/manifest-job';
import { find, synth } from '../support/synth';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');
const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
];
const MAIN = MANIFEST_JOB_MAIN;

/** An HTTPS server on 127.0.0.1 serving `files` by path, with a self-signed certificate for 127.0.0.1. */
async function httpsServer(run: LiveRun, files: Record<string, string>): Promise<{ url: string; caFile: string; requests: string[] }> {
  const key = path.join(run.work, 'server.key');
  const caFile = path.join(run.work, 'server.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const requests: string[] = [];
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(caFile) }, (req, res) => {
    requests.push(req.url ?? '');
    const file = files[req.url ?? ''];
    if (!file) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/java-archive' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  run.keep({ stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) });
  return { url: `https://127.0.0.1:${(server.address() as any).port}`, caFile, requests };
}

/** Runs the ops tool (asynchronously: the HTTPS server answers from this process); its exit code and output. */
function ops(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [OPS, ...args], { env: { ...process.env, ...env }, timeout: 150_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The args of the JobManager pod's fetch init container, with its emptyDir mapped to `dir`. */
function fetchArgs(objects: any[], name: string, dir: string): string[] {
  const pod = find(objects, 'Deployment', `${name}-jobmanager`).spec.template.spec;
  const init = pod.initContainers.find((c: any) => c.name === FETCH_JAR_INIT_CONTAINER);
  assert.ok(init, 'the JobManager pod has the fetch init container');
  return (init.args as string[]).map((a) => a.split('/opt/flink/artifacts').join(dir));
}

/** Waits until job `jid` is RUNNING; returns its name. */
async function runningName(rest: string, jid: string, died: () => string | undefined): Promise<string> {
  const j = await waitFor(async () => {
    const o = await restGet<{ jobs: { jid: string; name: string; state: string }[] }>(`${rest}/jobs/overview`).catch(() => undefined);
    const job = o?.jobs.find((x) => x.jid === jid);
    if (job && ['FAILED', 'CANCELED', 'FINISHED'].includes(job.state)) throw Object.assign(new Error(`job ${jid} is ${job.state}`), { fatal: true });
    return job?.state === 'RUNNING' ? job : undefined;
  }, { timeoutMs: 300_000, intervalMs: 1000, what: `job ${jid} RUNNING`, abortIf: died });
  return j.name;
}

for (const c of CASES) {
  test(`jar URIs on real Flink ${c.dist}: application from local://, https:// and s3:// (init container, sha256, signed S3 GET), session jobs from file://, https:// and s3://, no entry class`, { timeout: 20 * 60_000 }, async (t) => {
    const started = Date.now();
    const seconds: Record<string, number> = {};
    const lap = (what: string) => { seconds[what] = Math.round((Date.now() - started) / 100) / 10; };
    await live(t, `jar-uris-${c.line}`, async (run) => {
      const home = await run.flinkHome(c.dist, c.line);
      const jar = buildManifestJar(home, run.work);
      const sha = createHash('sha256').update(fs.readFileSync(jar) as unknown as Uint8Array).digest('hex');
      fs.copyFileSync(jar, path.join(home, 'usrlib', 'manifest-job.jar'));
      const server = await httpsServer(run, { '/jobs/manifest-job.jar': jar });
      const jarUrl = `${server.url}/jobs/manifest-job.jar`;
      const trust = { NODE_EXTRA_CA_CERTS: server.caFile };
      const store = run.keep(await startS3({ buckets: ['jobs'] }));
      await store.put('jobs', 'audit/manifest-job.jar', jar);
      const s3Uri = 's3://jobs/audit/manifest-job.jar';
      // The Secret s3-jar-keys is not among the objects: the test gives its keys to the processes, as the kubelet would.
      const s3Credentials = [StorageCredentials.s3({ secretName: 's3-jar-keys', endpoint: store.endpoint, pathStyleAccess: true, region: 'us-east-1' })];
      const s3Keys = { AWS_ACCESS_KEY_ID: store.keys.accessKeyId, AWS_SECRET_ACCESS_KEY: store.keys.secretAccessKey };
      const app = (name: string, jarFile: string, jarSha256?: string, storageCredentials = s3Credentials) => {
        let a!: FlinkApplication;
        const objects = synth((s) => {
          a = new FlinkApplication(s, name, {
            flinkVersion: c.version, checkpointing: false, taskManagerSlots: 1, parallelism: 1,
            job: JobSource.jar({ jarFile, jarSha256, args: [`${name}-run`] }),
            ...(jarFile.startsWith('s3:') ? { storageCredentials } : {}),
          });
        });
        return { objects, jobId: a.jobId };
      };

      // (a) local:// in the image.
      {
        const { objects, jobId } = app('from-image', 'local:///opt/flink/usrlib/manifest-job.jar');
        const args = find(objects, 'Deployment', 'from-image-jobmanager').spec.template.spec.containers[0].args;
        assert.ok(!args.includes('--job-classname'), `no --job-classname: ${args.join(' ')}`);
        const work = path.join(run.work, 'from-image');
        fs.mkdirSync(work);
        const cluster = run.keep(await runCluster(objects, 'from-image', work, home, { mounts: { '/opt/flink/usrlib': path.join(home, 'usrlib') } }));
        assert.equal(await runningName(cluster.rest, jobId, cluster.died), 'from-image-run');
        await cluster.stop();
        lap('localRunning');
        t.diagnostic(`local://: job ${jobId} RUNNING from the manifest's Main-Class`);
      }

      // (b) https:// fetched by the init container, sha256 checked; then a wrong sha256 refused.
      {
        const { objects, jobId } = app('fetched', jarUrl, sha.toUpperCase());
        const artifacts = path.join(run.work, 'fetched-artifacts');
        fs.mkdirSync(artifacts);
        const fetched = await ops(fetchArgs(objects, 'fetched', artifacts), trust);
        assert.equal(fetched.status, 0, fetched.stderr);
        assert.match(fetched.stderr, new RegExp(`sha256 ${sha} \\(as expected\\), main class ${MAIN.replace(/\./g, '\\.')}`));
        assert.deepEqual(fs.readdirSync(artifacts), ['job.jar']);
        const work = path.join(run.work, 'fetched');
        fs.mkdirSync(work);
        const cluster = run.keep(await runCluster(objects, 'fetched', work, home, { mounts: { '/opt/flink/artifacts': artifacts } }));
        assert.equal(await runningName(cluster.rest, jobId, cluster.died), 'fetched-run');
        await cluster.stop();

        const wrong = app('tampered', jarUrl, sha.replace(/^./, (d) => (d === '0' ? '1' : '0')));
        const empty = path.join(run.work, 'tampered-artifacts');
        fs.mkdirSync(empty);
        const refused = await ops(fetchArgs(wrong.objects, 'tampered', empty), trust);
        assert.equal(refused.status, 1);
        assert.equal(refused.stdout, '');
        assert.match(refused.stderr, /^cdk8s-flink-ops: error: https:\/\/127\.0\.0\.1:\d+\/jobs\/manifest-job\.jar: sha256 [0-9a-f]{64} does not match the expected [0-9a-f]{64}; refusing the jar\n$/);
        assert.deepEqual(fs.readdirSync(empty), [], 'nothing left behind (no job.jar, no .part file)');
        lap('httpsRunningAndWrongShaRefused');
        t.diagnostic(`https://: fetched (${server.requests.length} requests), job ${jobId} RUNNING; a wrong sha256 refused`);
      }

      // (s3) s3:// fetched by the init container with the keys of the Secret its env names, signed; then a wrong key and no keys refused.
      {
        const { objects, jobId } = app('from-s3', s3Uri, sha);
        const init = find(objects, 'Deployment', 'from-s3-jobmanager').spec.template.spec.initContainers.find((x: any) => x.name === FETCH_JAR_INIT_CONTAINER);
        assert.deepEqual(init.env, [
          { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-jar-keys', key: 'access-key' } } },
          { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-jar-keys', key: 'secret-key' } } },
        ]);
        const artifacts = path.join(run.work, 'from-s3-artifacts');
        fs.mkdirSync(artifacts);
        const fetched = await ops(fetchArgs(objects, 'from-s3', artifacts), s3Keys);
        assert.equal(fetched.status, 0, fetched.stderr);
        assert.match(fetched.stderr, new RegExp(`fetched s3://jobs/audit/manifest-job\\.jar into .*: \\d+ bytes, sha256 ${sha} \\(as expected\\), main class ${MAIN.replace(/\./g, '\\.')}`));
        const work = path.join(run.work, 'from-s3');
        fs.mkdirSync(work);
        const cluster = run.keep(await runCluster(objects, 'from-s3', work, home, { mounts: { '/opt/flink/artifacts': artifacts } }));
        assert.equal(await runningName(cluster.rest, jobId, cluster.died), 'from-s3-run');
        await cluster.stop();

        const empty = path.join(run.work, 'from-s3-refused');
        fs.mkdirSync(empty);
        const wrongKey = await ops(fetchArgs(objects, 'from-s3', empty), { ...s3Keys, AWS_SECRET_ACCESS_KEY: `x${store.keys.secretAccessKey.slice(1)}` });
        assert.equal(wrongKey.status, 1);
        assert.match(wrongKey.stderr, /^cdk8s-flink-ops: error: GET s3:\/\/jobs\/audit\/manifest-job\.jar \(http:\/\/127\.0\.0\.1:\d+\) answered 403 SignatureDoesNotMatch[^\n]*; expected 200 with the jar\n$/);
        const noKeys = await ops(fetchArgs(objects, 'from-s3', empty), { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
        assert.equal(noKeys.status, 1);
        assert.match(noKeys.stderr, /^cdk8s-flink-ops: error: s3:\/\/jobs\/audit\/manifest-job\.jar: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; [^\n]*\n$/);
        assert.deepEqual(fs.readdirSync(empty), [], 'nothing left behind');
        lap('s3RunningAndWrongKeyRefused');
        t.diagnostic(`s3://: fetched with a signed GET, job ${jobId} RUNNING; a wrong secret key and missing keys refused`);
      }

      // (s3, web identity) StorageCredentials.s3WebIdentity: no Secret in the pod; the fetch
      // exchanges the projected token (the environment EKS's webhook gives) at STS for the role's
      // temporary keys and signs with them. The role decides: one that may not read is refused.
      {
        const { objects } = app('from-s3-irsa', s3Uri, sha, [StorageCredentials.s3WebIdentity({ endpoint: store.endpoint, pathStyleAccess: true, region: 'us-east-1' })]);
        const pod = find(objects, 'Deployment', 'from-s3-irsa-jobmanager').spec.template.spec;
        const init = pod.initContainers.find((x: any) => x.name === FETCH_JAR_INIT_CONTAINER);
        assert.deepEqual(init.env ?? [], [], 'no keys in the init container');
        assert.ok(!JSON.stringify(objects).includes('secretKeyRef'), 'no Secret referenced');
        const conf = Object.values(find(objects, 'ConfigMap', 'from-s3-irsa-config').data).join('\n');
        assert.match(conf, /fs\.s3a\.aws\.credentials\.provider: com\.amazonaws\.auth\.WebIdentityTokenCredentialsProvider/);
        const tokenFile = path.join(run.work, 'web-identity-token');
        fs.writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bG9nczpmbGluayJ9.c2lnbmF0dXJl\n');
        const identity = (role: string) => ({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_ROLE_ARN: role, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ENDPOINT_URL_STS: store.endpoint, AWS_REGION: 'us-east-1' });
        const artifacts = path.join(run.work, 'from-s3-irsa-artifacts');
        fs.mkdirSync(artifacts);
        const fetched = await ops(fetchArgs(objects, 'from-s3-irsa', artifacts), identity(store.roles.reader));
        assert.equal(fetched.status, 0, fetched.stderr);
        assert.match(fetched.stderr, new RegExp(`fetched s3://jobs/audit/manifest-job\\.jar into .*: \\d+ bytes, sha256 ${sha} \\(as expected\\)`));
        const empty = path.join(run.work, 'from-s3-irsa-refused');
        fs.mkdirSync(empty);
        const denied = await ops(fetchArgs(objects, 'from-s3-irsa', empty), identity(store.roles.other));
        assert.equal(denied.status, 1);
        assert.match(denied.stderr, /^cdk8s-flink-ops: error: GET s3:\/\/jobs\/audit\/manifest-job\.jar \(http:\/\/127\.0\.0\.1:\d+\) answered 403 AccessDenied[^\n]*; expected 200 with the jar\n$/);
        const noToken = await ops(fetchArgs(objects, 'from-s3-irsa', empty), { ...identity(store.roles.reader), AWS_WEB_IDENTITY_TOKEN_FILE: path.join(run.work, 'absent') });
        assert.equal(noToken.status, 1);
        assert.match(noToken.stderr, /^cdk8s-flink-ops: error: s3:\/\/jobs\/audit\/manifest-job\.jar: AWS_WEB_IDENTITY_TOKEN_FILE \S+ cannot be read \(ENOENT\); expected the projected service account token\n$/);
        assert.deepEqual(fs.readdirSync(empty), [], 'nothing left behind');
        lap('s3WebIdentity');
        t.diagnostic('s3:// with a web identity: fetched with the reader role\'s temporary keys; a role without s3:GetObject refused (403 AccessDenied), an unreadable token refused');
      }

      // (c) session jobs from file://, https:// and s3://.
      {
        let session!: FlinkSessionCluster;
        const jobs: FlinkSessionJob[] = [];
        const objects = synth((s) => {
          session = new FlinkSessionCluster(s, 'pool', { flinkVersion: c.version, checkpointing: false, taskManagerReplicas: 1, taskManagerSlots: 3, storageCredentials: s3Credentials });
          jobs.push(new FlinkSessionJob(s, 'from-file', { cluster: session, job: JobSource.jar({ jarFile: `file://${jar}`, args: ['from-file-run'] }) }));
          jobs.push(new FlinkSessionJob(s, 'from-https', { cluster: session, job: JobSource.jar({ jarFile: jarUrl, jarSha256: sha, args: ['from-https-run'] }) }));
          jobs.push(new FlinkSessionJob(s, 'from-s3', { cluster: session, job: JobSource.jar({ jarFile: s3Uri, jarSha256: sha, args: ['from-s3-run'] }) }));
        });
        const work = path.join(run.work, 'pool');
        fs.mkdirSync(work);
        const cluster = run.keep(await runCluster(objects, 'pool', work, home));
        await waitFor(() => restGet(`${cluster.rest}/overview`).catch(() => undefined), { timeoutMs: 120_000, intervalMs: 1000, what: 'the REST API', abortIf: cluster.died });
        for (const j of jobs) {
          const spec = JSON.parse(find(objects, 'ConfigMap', `${j.name}-job`).data['job.json']);
          assert.equal(spec.entryClass, undefined, 'no entry class in the spec');
          const file = path.join(work, `${j.name}.json`);
          fs.writeFileSync(file, JSON.stringify({ ...spec, restUrl: cluster.rest }));
          // The submitter's container as synthesized: its args after --spec and --timeout (the S3 options), its env (the keys, from the Secret).
          const submitter = objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith(`${j.name}-submit-`)).spec.template.spec.containers[0];
          const s3Args = (submitter.args as string[]).slice(5);
          assert.deepEqual(s3Args, j.name === 'from-s3' ? ['--s3-endpoint', store.endpoint, '--s3-path-style', '--s3-region', 'us-east-1'] : []);
          assert.deepEqual((submitter.env ?? []).map((e: any) => `${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`), j.name === 'from-s3' ? ['AWS_ACCESS_KEY_ID=s3-jar-keys/access-key', 'AWS_SECRET_ACCESS_KEY=s3-jar-keys/secret-key'] : []);
          const submitted = await ops(['submit', '--spec', file, '--timeout', '120s', ...s3Args], { ...trust, ...(submitter.env ? s3Keys : {}) });
          assert.equal(submitted.status, 0, submitted.stderr);
          const jid = /submitted job ([0-9a-f]{32})/.exec(submitted.stderr)?.[1];
          assert.ok(jid, submitted.stderr);
          assert.equal(await runningName(cluster.rest, jid, cluster.died), `${j.name}-run`);
        }
        lap('sessionJobsRunning');
        t.diagnostic('session jobs from file://, https:// and s3:// RUNNING');
      }
    });
    t.diagnostic(`report: ${recordE2E(`jar-uris/flink-${c.dist}`, { secondsSinceStart: seconds })}`);
  });
}
