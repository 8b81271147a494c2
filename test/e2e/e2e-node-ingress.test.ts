/**
 * The Ingress of a chart through a real ingress controller on the real node, with the chart's
 * NetworkPolicy enforced (test/support/node.ts with `networkPolicies`).
 *
 * An application (Flink 2.2, a datagen-to-blackhole SQL job) is defined with
 * `ingress: { className, host, tlsSecretName, annotations, controller }` and installed with helm 4
 * from the chart it synthesizes into a namespace that enforces the restricted Pod Security
 * Standard. Traefik (test/support/ingress.ts: built from the Go module proxy, run as a restricted
 * pod) serves the IngressClass the definition names; `controller` names its pods
 * (`NetworkPeer.pods` with their labels, in its namespace). Then, from this machine:
 * - HTTPS to Traefik with the Ingress's host (SNI and Host) reaches Flink's REST API: the
 *   certificate is the one of the Ingress's TLS Secret (verified against its authority), and the
 *   job is RUNNING;
 * - another host is not routed (404), and neither is plain HTTP: the definition's annotation
 *   (`traefik.ingress.kubernetes.io/router.entrypoints: websecure`) reached the controller;
 * - a second Traefik with the same labels in another namespace, serving an Ingress of its own
 *   class for the same Service, is refused by the NetworkPolicy (504: its connection is dropped),
 *   and gets through once the policy is deleted: the refusal was the policy's.
 *
 * Steps and times go to the e2e report (`node/ingress`).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import type { TLSSocket } from 'tls';
import { FlinkPlatform, FlinkVersion, JobSource, NetworkPeer, synthesizeUnit } from '../../lib';
import { recordE2E } from '../support/e2e-report';
import { writeChart } from '../support/helm-chart';
import { buildTimes, ensureProjectImages } from '../support/images';
import { ensureTraefikImage, importTraefik, TRAEFIK_PORTS, traefikLabels, traefikObjects } from '../support/ingress';
import { ociArchive, RealNode, startRealNode } from '../support/node';
import { helmOnNode, splitImage, withNodeDiagnostics } from '../support/node-charts';
import { kafkaTls } from '../support/node-services';
import { ensureHelm } from '../support/tools';
import { TRAEFIK_VERSION } from '../support/versions';

const NS = 'logs';
const CONTROLLER_NS = 'ingress-traefik';
const OTHER_NS = 'ingress-other';
const APP = 'ui-logs';
const HOST = 'flink.logs.test';
const TLS_SECRET = 'flink-ui-tls';
const SQL = JobSource.sql("CREATE TABLE s (x INT) WITH ('connector' = 'datagen', 'rows-per-second' = '10');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const report: Record<string, unknown> = {};
let node: RealNode | undefined;
let images: { flink: string; ops: string };
let work: string;

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await node!.cluster.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** helm (its home under the test's folder) against the node's API server; never rejects. */
const helm = (bin: string, args: string[], timeoutMs?: number) => helmOnNode(node!, bin, args, path.join(work, 'helm-home'), timeoutMs);

/** Runs fn; on failure adds the namespaces' pods, events and logs and the node's logs. */
const withDiagnostics = <T>(fn: () => Promise<T>) => withNodeDiagnostics(node!, [NS, CONTROLLER_NS, OTHER_NS], fn, 40);

interface Answer { status: number; body: string; certSubject?: string; authorized?: boolean }

/** One request to a controller pod: HTTPS with SNI and Host `host` (verified against `ca` when given), or plain HTTP. */
function request(o: { ip: string; port: number; host: string; path: string; tls: boolean; ca?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = { host: o.ip, port: o.port, path: o.path, headers: { Host: o.host }, timeout: 15_000 };
    const done = (res: http.IncomingMessage) => {
      // read while the response holds the socket (it is released at the end)
      const socket = res.socket as TLSSocket | null;
      const cert = o.tls ? socket?.getPeerCertificate() : undefined;
      const authorized = o.tls ? socket?.authorized : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, certSubject: cert?.subject?.CN as string | undefined, authorized }));
      res.on('error', reject);
    };
    const req = o.tls
      ? https.request({ ...common, servername: o.host, ca: o.ca, rejectUnauthorized: !!o.ca }, done)
      : http.request(common, done);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `fn` every second until `ok` (bounded); returns the last answer. */
async function until(what: string, ms: number, fn: () => Promise<Answer>, ok: (a: Answer) => boolean): Promise<Answer> {
  let last: Answer | Error | undefined;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(1000)) {
    last = await fn().catch((e: Error) => e);
    if (!(last instanceof Error) && ok(last)) return last;
  }
  assert.fail(`timed out after ${ms / 1000} s waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-ingress-'));
  let t = Date.now();
  const [built, traefik] = await Promise.all([ensureProjectImages(['2.2']), ensureTraefikImage()]);
  images = { flink: built.flink['2.2'], ops: built.ops };
  report.traefikBuildMs = traefik.buildMs;
  report.imagesMs = Date.now() - t;
  report.buildTimes = buildTimes;
  t = Date.now();
  node = await startRealNode({ networkPolicies: true });
  report.nodeStartMs = Date.now() - t;
  report.nodeTimings = node.timings;
  t = Date.now();
  for (const name of [images.flink, images.ops]) await node.importImage(await ociArchive(name));
  await importTraefik(node);
  report.importMs = Date.now() - t;
  for (const ns of [NS, CONTROLLER_NS, OTHER_NS]) await node.cluster.createNamespace(ns, { podSecurity: 'restricted' });
}, { timeout: 80 * 60_000 });

after(async () => {
  await node?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  recordE2E('node/ingress', { ...report, traefik: TRAEFIK_VERSION });
});

test(`the chart's Ingress through Traefik ${TRAEFIK_VERSION} as a pod, the NetworkPolicy enforced: HTTPS with the Ingress's host and certificate reaches Flink's REST API, other hosts and plain HTTP are not routed (the definition's annotation), and a controller the policy does not name is refused until the policy is deleted`, { timeout: 25 * 60_000 }, () => withDiagnostics(async () => {
  const h4 = await ensureHelm(4);
  const steps: Record<string, number> = {};
  let installed = false;
  try {
    // the certificate of the Ingress's Secret, from the tests' authority
    const tls = await kafkaTls(path.join(work, 'tls'), [HOST]);
    await kubectl(['-n', NS, 'create', 'secret', 'tls', TLS_SECRET, `--cert=${path.join(work, 'tls', 'broker.crt')}`, `--key=${path.join(work, 'tls', 'broker.key')}`]);
    const ca = fs.readFileSync(tls.caFile, 'utf8');

    const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', imageRegistry: 'registry.example.com/logs' });
    platform.addApplication(APP, {
      flinkVersion: FlinkVersion.V2_2,
      checkpointing: false,
      parallelism: 1,
      taskManagerSlots: 1,
      job: SQL,
      ingress: {
        className: 'traefik',
        host: HOST,
        tlsSecretName: TLS_SECRET,
        annotations: { 'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure' },
        controller: NetworkPeer.pods(traefikLabels('traefik'), { 'kubernetes.io/metadata.name': CONTROLLER_NS }),
      },
    });
    const unit = synthesizeUnit(platform.unit(APP)!);
    const chart = writeChart(unit, fs.mkdtempSync(path.join(work, 'chart-')));
    const [repo, tag] = splitImage(images.flink);
    let t = Date.now();
    const install = await helm(h4, ['install', APP, chart, '-n', NS, '--wait', '--timeout', '480s', ...[
      `image.repository=${repo}`, `image.tag=${tag}`, 'image.pullPolicy=Never', `hooks.image=${images.ops}`, 'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m',
    ].flatMap((s) => ['--set', s])]);
    assert.equal(install.code, 0, `helm install ${APP}:\n${install.out}`);
    installed = true;
    steps.installMs = Date.now() - t;
    const ingress = JSON.parse(await kubectl(['-n', NS, 'get', 'ingress', `${APP}-rest`, '-o', 'json']));
    assert.equal(ingress.spec.ingressClassName, 'traefik');
    const policies = JSON.parse(await kubectl(['-n', NS, 'get', 'networkpolicy', '-o', 'json'])).items as any[];
    assert.ok(policies.length >= 1, 'the chart installed its NetworkPolicy');

    // the controllers: the one the definition names, and one with the same labels in another namespace
    t = Date.now();
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...traefikObjects(CONTROLLER_NS, 'traefik'), ...traefikObjects(OTHER_NS, 'traefik-other')] }));
    // the second one's own Ingress for the same Service, plain HTTP
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: `${APP}-other`, namespace: NS },
      spec: { ingressClassName: 'traefik-other', rules: [{ host: HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `${APP}-rest`, port: { name: 'rest' } } } }] } }] },
    }));
    for (const ns of [CONTROLLER_NS, OTHER_NS]) await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
    const ip = async (ns: string, name: string) => (await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
    const named = await ip(CONTROLLER_NS, 'traefik-traefik');
    const other = await ip(OTHER_NS, 'traefik-traefik-other');
    steps.controllersReadyMs = Date.now() - t;

    // HTTPS with the Ingress's host: Flink's REST API, the job RUNNING, the Secret's certificate
    t = Date.now();
    const via = (path_: string) => request({ ip: named, port: TRAEFIK_PORTS.websecure, host: HOST, path: path_, tls: true, ca });
    const jobs = await until('the job RUNNING through the Ingress', 300_000, () => via('/jobs/overview'),
      (a) => a.status === 200 && (JSON.parse(a.body).jobs as { state: string }[]).some((j) => j.state === 'RUNNING'));
    steps.routedRunningMs = Date.now() - t;
    assert.equal(jobs.authorized, true, 'the certificate verifies against the Secret\'s authority for the host');
    assert.equal(jobs.certSubject, HOST);
    const overview = JSON.parse((await via('/overview')).body);
    assert.equal(overview.taskmanagers, 1, `Flink's /overview through the Ingress: ${JSON.stringify(overview)}`);
    assert.match(String(overview['flink-version']), /^2\.2\./);

    // not routed: another host, and plain HTTP (the annotation keeps the router on websecure)
    const otherHost = await request({ ip: named, port: TRAEFIK_PORTS.websecure, host: 'other.logs.test', path: '/overview', tls: true });
    assert.equal(otherHost.status, 404, `another host: ${otherHost.status} ${otherHost.body.slice(0, 200)}`);
    const plain = await request({ ip: named, port: TRAEFIK_PORTS.web, host: HOST, path: '/overview', tls: false });
    assert.equal(plain.status, 404, `plain HTTP: ${plain.status} ${plain.body.slice(0, 200)}`);

    // the controller the policy does not name: once it has loaded its Ingress (no longer 404), dropped (504)
    t = Date.now();
    const viaOther = () => request({ ip: other, port: TRAEFIK_PORTS.web, host: HOST, path: '/overview', tls: false });
    const refused = await until('the second controller to route its Ingress', 120_000, viaOther, (a) => a.status !== 404);
    // 504 when the policy drops the connection (the dial times out), 502 were it refused outright
    assert.match(String(refused.status), /^50[24]$/, `the second controller: ${refused.status} ${refused.body.slice(0, 200)}`);
    const again = await viaOther();
    assert.match(String(again.status), /^50[24]$/, `and again: ${again.status}`);
    report.refusedStatus = [refused.status, again.status];
    steps.refusedMs = Date.now() - t;
    // without the policy it gets through: the refusal was the policy's
    for (const p of policies) await kubectl(['-n', NS, 'delete', 'networkpolicy', p.metadata.name]);
    t = Date.now();
    const open = await until('the second controller to get through without the policy', 60_000, viaOther, (a) => a.status === 200);
    assert.equal(JSON.parse(open.body).taskmanagers, 1);
    steps.openedMs = Date.now() - t;

    const un = await helm(h4, ['uninstall', APP, '-n', NS, '--wait', '--timeout', '300s']);
    assert.equal(un.code, 0, `helm uninstall ${APP}:\n${un.out}`);
    installed = false;
    report.steps = steps;
    report.policies = policies.map((p) => p.metadata.name);
  } finally {
    if (installed) await helm(h4, ['uninstall', APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
  }
}));
