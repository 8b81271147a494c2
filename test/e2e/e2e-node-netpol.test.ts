/**
 * A session cluster's generated NetworkPolicy enforced on the real node (test/support/node.ts
 * with `networkPolicies`: kube-network-policies of the Kubernetes SIG Network beside kubelet,
 * deciding every new pod connection it reads from a netfilter queue; where the kernel lacks the
 * nftables `queue` expression, the node sends the connections there with iptables NFQUEUE).
 *
 * The policy is the one FlinkSessionCluster synthesizes (with a FlinkSessionJob for its
 * submitter's labels), applied through the API server unchanged. The cluster's pods are stood in
 * for by pods with the same labels that listen on every port the policy names (Node 20 in the
 * node:20-bookworm-slim stand-in of test/support/images.ts; no Flink: the subject is the
 * network), two TaskManagers so that TaskManager-to-TaskManager traffic crosses the bridge;
 * beside them pods of another cluster, an unrelated pod, look-alikes in another namespace, and
 * Prometheus and Grafana in `monitoring`. Every connection of the table is first made without
 * the policy and must succeed (so a refusal later is the policy's doing); then, with the policy,
 * each must be allowed or refused as the table says. A failure prints the pods, events, logs and
 * the enforcer's log.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkSessionCluster, FlinkSessionJob, JobSource } from '../../lib';
import { recordE2E } from '../support/e2e-report';
import { buildTimes, ensureNodeBaseImage } from '../support/images';
import { ensureNetworkPolicyEnforcer, ociArchive, RealNode, startRealNode } from '../support/node';
import { withNodeDiagnostics } from '../support/node-charts';
import { find, synth } from '../support/synth';
import { KUBE_NETWORK_POLICIES_VERSION } from '../support/versions';

const NS = 'logs';
const NAMESPACES = [NS, 'team-b', 'monitoring'];
const SQL = JobSource.sql("CREATE TABLE s (x INT) WITH ('connector' = 'datagen');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;");
const RPC = 6123, BLOB = 6124, TM_RPC = 6122, DATA = 6121, REST = 8081, METRICS = 9249;
/** How long a connection may take before it counts as refused (a dropped SYN never answers). */
const CONNECT_TIMEOUT_MS = 2_000;

const report: Record<string, unknown> = {};
let node: RealNode | undefined;
let image: string;

const objects = synth((s) => {
  const cluster = new FlinkSessionCluster(s, 'shared', { namespace: NS, checkpointDirectory: 's3://b/cp' });
  new FlinkSessionJob(s, 'errors', { cluster, job: SQL, opsImage: 'ops:1.0.0' });
});
const policy = find(objects, 'NetworkPolicy', 'shared');
const ports: number[] = [...new Set<number>(policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port)))];
const jm: Record<string, string> = find(objects, 'Deployment', 'shared-jobmanager').spec.template.metadata.labels;
const tm: Record<string, string> = find(objects, 'Deployment', 'shared-taskmanager').spec.template.metadata.labels;
const submitter: Record<string, string> = objects.find((o) => o.kind === 'Job').spec.template.metadata.labels;
const otherCluster = { ...tm, 'app.kubernetes.io/name': 'other', 'app.kubernetes.io/instance': 'other' };
const prometheus = { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'kube-prometheus-stack-prometheus' };

/** The stand-in pods: namespace/name -> labels. */
const PODS: Record<string, Record<string, string>> = {
  'logs/jm': jm,
  'logs/tm-0': tm,
  'logs/tm-1': tm,
  'logs/submitter': submitter,
  'logs/shell': { app: 'shell' },
  'logs/other-tm': otherCluster,
  'team-b/tm': tm,
  'team-b/prometheus': prometheus,
  'monitoring/prometheus': prometheus,
  'monitoring/grafana': { app: 'grafana' },
};

/** [from, to, port, allowed with the policy] */
const TABLE: [string, string, number, boolean][] = [
  ['logs/tm-0', 'logs/jm', RPC, true],
  ['logs/tm-0', 'logs/jm', BLOB, true],
  ['logs/jm', 'logs/tm-0', TM_RPC, true],
  ['logs/tm-1', 'logs/tm-0', DATA, true],
  ['logs/tm-0', 'logs/jm', REST, false],
  ['logs/submitter', 'logs/jm', REST, true],
  ['logs/submitter', 'logs/jm', RPC, false],
  ['logs/submitter', 'logs/tm-0', DATA, false],
  ['logs/shell', 'logs/jm', RPC, false],
  ['logs/shell', 'logs/jm', REST, false],
  ['logs/shell', 'logs/tm-0', DATA, false],
  ['logs/other-tm', 'logs/jm', RPC, false],
  ['logs/other-tm', 'logs/tm-0', DATA, false],
  ['team-b/tm', 'logs/jm', RPC, false],
  ['team-b/tm', 'logs/tm-0', DATA, false],
  ['monitoring/prometheus', 'logs/jm', METRICS, true],
  ['monitoring/prometheus', 'logs/tm-0', METRICS, true],
  ['monitoring/prometheus', 'logs/jm', REST, false],
  ['team-b/prometheus', 'logs/jm', METRICS, false],
  ['monitoring/grafana', 'logs/jm', METRICS, false],
  // the policy selects the JobManager and TaskManager pods only
  ['logs/shell', 'logs/submitter', REST, true],
];

// (a client that exits at once resets the connection: not an error of the listener)
const LISTEN = "for (const p of process.argv.slice(1)) require('net').createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(Number(p), '0.0.0.0')";
const CONNECT = `const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
s.setTimeout(${CONNECT_TIMEOUT_MS}, () => { console.log('timeout'); process.exit(1); });
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(1); });`;

function podObject(key: string): unknown {
  const [namespace, name] = key.split('/');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: PODS[key] },
    spec: {
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'listen',
          image,
          imagePullPolicy: 'Never',
          command: ['node', '-e', LISTEN, ...ports.map(String)],
          ports: ports.map((p) => ({ containerPort: p })),
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '96Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await node!.cluster.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs fn; on failure adds every namespace's pods, events and logs and the node's logs. */
const withDiagnostics = <T>(fn: () => Promise<T>) => withNodeDiagnostics(node!, NAMESPACES, fn, 40);

before(async () => {
  let t = Date.now();
  const [enforcer, base] = await Promise.all([ensureNetworkPolicyEnforcer(), ensureNodeBaseImage()]);
  report.enforcerBuildMs = enforcer.buildMs;
  report.binariesAndImageMs = Date.now() - t;
  report.buildTimes = buildTimes;
  image = base.name;
  t = Date.now();
  node = await startRealNode({ networkPolicies: true });
  report.nodeStartMs = Date.now() - t;
  report.nodeTimings = node.timings;
  report.steering = node.networkPolicySteering;
  await node.importImage(await ociArchive(image));
  for (const ns of NAMESPACES) await node.cluster.createNamespace(ns, { podSecurity: 'restricted' });
}, { timeout: 40 * 60_000 });

after(async () => {
  await node?.stop();
  recordE2E('network-policy/real-node', { ...report, kubeNetworkPolicies: KUBE_NETWORK_POLICIES_VERSION });
});

/** Whether `from` can open a TCP connection to `to`'s pod address on `port`. */
async function connects(ips: Record<string, string>, from: string, to: string, port: number): Promise<boolean> {
  const [ns, pod] = from.split('/');
  const r = await node!.cluster.kubectl(['-n', ns, 'exec', pod, '--', 'node', '-e', CONNECT, ips[to], String(port)], { timeoutMs: 60_000 });
  if (r.code !== 0 && !/timeout|ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(r.stdout)) throw new Error(`exec in ${from}: ${r.stdout}${r.stderr}`);
  return r.code === 0;
}

test('the generated NetworkPolicy, enforced by kube-network-policies: the connection table', { timeout: 15 * 60_000 }, () => withDiagnostics(async () => {
  assert.deepEqual([...ports].sort(), [DATA, TM_RPC, RPC, BLOB, REST, METRICS].sort(), 'the ports the policy names');
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Object.keys(PODS).map(podObject) }));
  for (const ns of NAMESPACES) await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
  const ips: Record<string, string> = {};
  for (const key of Object.keys(PODS)) {
    const [ns, name] = key.split('/');
    ips[key] = (await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
  }

  // Without the policy every connection of the table succeeds (the listeners are up: bounded retry).
  let t = Date.now();
  for (const [from, to, port] of TABLE) {
    const until = Date.now() + 60_000;
    while (!(await connects(ips, from, to, port))) {
      if (Date.now() > until) assert.fail(`without the policy ${from} -> ${to}:${port} should connect`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  report.openTableMs = Date.now() - t;

  // With it: wait (bounded) until the first refused row is refused, then the whole table.
  await kubectl(['apply', '-f', '-'], JSON.stringify(policy));
  t = Date.now();
  const [from0, to0, port0] = TABLE.find((r) => !r[3])!;
  while (await connects(ips, from0, to0, port0)) {
    if (Date.now() - t > 60_000) assert.fail(`the policy was not enforced within 60 s: ${from0} -> ${to0}:${port0} still connects`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  report.enforcedAfterMs = Date.now() - t;
  t = Date.now();
  const wrong: string[] = [];
  for (const [from, to, port, allowed] of TABLE) {
    if ((await connects(ips, from, to, port)) !== allowed) wrong.push(`${from} -> ${to}:${port} should be ${allowed ? 'allowed' : 'refused'}`);
  }
  report.policyTableMs = Date.now() - t;
  report.rows = TABLE.length;
  assert.deepEqual(wrong, [], 'connections the policy gets wrong');

  // Without the policy again, the refused rows connect: the refusals were the policy's.
  await kubectl(['-n', NS, 'delete', 'networkpolicy', policy.metadata.name]);
  t = Date.now();
  while (!(await connects(ips, from0, to0, port0))) {
    if (Date.now() - t > 60_000) assert.fail(`deleting the policy did not reopen ${from0} -> ${to0}:${port0} within 60 s`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}));
