/**
 * Secure defaults of the cluster constructs: the NetworkPolicy (each rule evaluated against a
 * table of sources and ports with the evaluator in support/network-policy), the opt-in for
 * exposing a session cluster's REST API, JobManager anti-affinity and disruption budgets.
 * No network plugin runs here: these evaluations cover every rule; test/e2e/e2e-node-netpol.test.ts
 * has a session cluster's policy enforced on the real node by kube-network-policies.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AntiAffinity, FlinkApplication, FlinkSessionCluster, FlinkSessionJob, JobSource, NetworkPeer, ServiceType, ValidationError } from '../../lib';
import { ingressAllowed, Source } from '../support/network-policy';
import { find, synth } from '../support/synth';

const NS = 'logs';
const SQL = JobSource.sql("CREATE TABLE s (x INT) WITH ('connector' = 'datagen');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;");
const base = { namespace: NS, checkpointDirectory: 's3://b/cp' };

/** The pod labels of a cluster's component, as the toolkit writes them (version and part-of included). */
function podLabels(objects: any[], deployment: string): Record<string, string> {
  return find(objects, 'Deployment', deployment).spec.template.metadata.labels;
}

const pod = (labels: Record<string, string>, namespace = NS): Source => ({ namespace, podLabels: labels });
const RPC = 6123, BLOB = 6124, TM_RPC = 6122, DATA = 6121, REST = 8081, METRICS = 9249;

type Row = [string, Source, 'jm' | 'tm', number, boolean];

function check(objects: any[], name: string, rows: Row[]): void {
  const targets = { jm: podLabels(objects, `${name}-jobmanager`), tm: podLabels(objects, `${name}-taskmanager`) };
  for (const [what, source, to, port, expected] of rows) {
    assert.equal(ingressAllowed(objects, { namespace: NS, labels: targets[to] }, source, port), expected,
      `${what} -> ${to}:${port} should be ${expected ? 'allowed' : 'denied'}`);
  }
}

test('network policy evaluator: isolation, peers (AND within, OR across), ports, ipBlock except, policyTypes', () => {
  const policy = (spec: any, namespace = 'a') => ({ kind: 'NetworkPolicy', metadata: { name: 'p', namespace }, spec });
  const t = { namespace: 'a', labels: { app: 'web' } };
  const p1 = pod({ app: 'client' }, 'a');
  assert.equal(ingressAllowed([], t, p1, 80), true, 'no policy: open');
  assert.equal(ingressAllowed([policy({ podSelector: { matchLabels: { app: 'db' } }, ingress: [] })], t, p1, 80), true, 'a policy selecting other pods: open');
  assert.equal(ingressAllowed([policy({ podSelector: {}, policyTypes: ['Ingress'] })], t, p1, 80), false, 'selected, no rules: closed');
  assert.equal(ingressAllowed([policy({ podSelector: {}, policyTypes: ['Egress'] })], t, p1, 80), true, 'egress-only policy: ingress open');
  assert.equal(ingressAllowed([policy({ podSelector: {}, ingress: [{}] })], t, p1, 80), true, 'empty rule: every source, every port');
  assert.equal(ingressAllowed([policy({ podSelector: {}, ingress: [{}] }, 'b')], t, p1, 80), true, 'a policy of another namespace does not isolate');
  const both = policy({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } }, namespaceSelector: { matchLabels: { team: 'x' } } }] }] });
  assert.equal(ingressAllowed([both], t, { namespace: 'c', namespaceLabels: { team: 'x' }, podLabels: { app: 'client' } }, 80), true, 'both selectors match');
  assert.equal(ingressAllowed([both], t, { namespace: 'c', namespaceLabels: { team: 'y' }, podLabels: { app: 'client' } }, 80), false, 'both selectors: AND');
  const either = policy({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }, { namespaceSelector: { matchLabels: { team: 'x' } } }] }] });
  assert.equal(ingressAllowed([either], t, { namespace: 'c', namespaceLabels: { team: 'x' }, podLabels: { app: 'other' } }, 80), true, 'separate peers: OR');
  assert.equal(ingressAllowed([either], t, { namespace: 'c', podLabels: { app: 'client' } }, 80), false, 'podSelector alone: the policy\'s namespace only');
  const named = policy({ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'c' } } }] }] });
  assert.equal(ingressAllowed([named], t, pod({}, 'c'), 80), true, 'namespaces carry their name label');
  const ports = policy({ podSelector: {}, ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }, { port: 9000, endPort: 9010 }] }] });
  assert.deepEqual([80, 81, 9005, 9011].map((p) => ingressAllowed([ports], t, p1, p)), [true, false, true, false]);
  assert.equal(ingressAllowed([ports], t, p1, 53), false, 'TCP is not UDP');
  assert.equal(ingressAllowed([ports], t, p1, 53, 'UDP'), true);
  const ips = policy({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] });
  assert.deepEqual(['10.2.3.4', '10.1.2.3', '11.0.0.1'].map((ip) => ingressAllowed([ips], t, { ip }, 80)), [true, false, false]);
  const expr = policy({ podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['public'] }] }, ingress: [] });
  assert.equal(ingressAllowed([expr], { namespace: 'a', labels: { tier: 'public' } }, p1, 80), true, 'NotIn: not selected');
  assert.equal(ingressAllowed([expr], t, p1, 80), false, 'NotIn: a missing label is selected');
});

test('network policy, session cluster: Flink ports from its own pods, REST from its submitters, metrics from kube-prometheus-stack', () => {
  let cluster!: FlinkSessionCluster;
  const objects = synth((s) => {
    cluster = new FlinkSessionCluster(s, 'shared', { ...base, highAvailability: true, highAvailabilityStorageDir: 's3://b/ha' });
    new FlinkSessionJob(s, 'errors', { cluster, job: SQL, opsImage: 'ops:1.0.0' });
  });
  const np = find(objects, 'NetworkPolicy', 'shared');
  assert.deepEqual(np.spec.policyTypes, ['Ingress'], 'egress is not restricted');
  const jm = podLabels(objects, 'shared-jobmanager');
  const tm = podLabels(objects, 'shared-taskmanager');
  const submitter = objects.find((o) => o.kind === 'Job').spec.template.metadata.labels;
  const other = { ...tm, 'app.kubernetes.io/name': 'other', 'app.kubernetes.io/instance': 'other' };
  const prometheus = { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'kube-prometheus-stack-prometheus' };
  check(objects, 'shared', [
    ['its TaskManager', pod(tm), 'jm', RPC, true],
    ['its TaskManager', pod(tm), 'jm', BLOB, true],
    ['its TaskManager', pod(tm), 'tm', DATA, true],
    ['its TaskManager', pod(tm), 'tm', TM_RPC, true],
    ['its (standby) JobManager', pod(jm), 'jm', RPC, true],
    ['its JobManager', pod(jm), 'tm', TM_RPC, true],
    ['its TaskManager', pod(tm), 'jm', REST, false],
    ['another cluster\'s TaskManager', pod(other), 'jm', RPC, false],
    ['another cluster\'s TaskManager', pod(other), 'tm', DATA, false],
    ['a pod with its labels in another namespace', pod(tm, 'team-b'), 'jm', RPC, false],
    ['its session job\'s submitter', pod(submitter), 'jm', REST, true],
    ['its session job\'s submitter', pod(submitter), 'jm', RPC, false],
    ['its session job\'s submitter', pod(submitter), 'tm', DATA, false],
    ['a submitter of another cluster', pod({ ...submitter, 'cdk8s-flink/rest-client': 'other' }), 'jm', REST, false],
    ['a submitter-labelled pod in another namespace', pod(submitter, 'team-b'), 'jm', REST, false],
    ['any pod of the namespace', pod({ app: 'shell' }), 'jm', REST, false],
    ['Prometheus in monitoring', pod(prometheus, 'monitoring'), 'jm', METRICS, true],
    ['Prometheus in monitoring', pod(prometheus, 'monitoring'), 'tm', METRICS, true],
    ['Prometheus in monitoring', pod(prometheus, 'monitoring'), 'jm', REST, false],
    ['Prometheus in monitoring', pod(prometheus, 'monitoring'), 'tm', DATA, false],
    ['Prometheus-labelled pod elsewhere', pod(prometheus, 'default'), 'jm', METRICS, false],
    ['another pod in monitoring', pod({ app: 'grafana' }, 'monitoring'), 'jm', METRICS, false],
    ['an address outside the cluster', { ip: '203.0.113.9' }, 'jm', REST, false],
  ]);
  // The policy covers the JobManager and TaskManager pods only: the submitter itself is not isolated.
  assert.equal(ingressAllowed(objects, { namespace: NS, labels: submitter }, pod({ app: 'x' }), 80), true);
});

test('network policy, application: REST from the chart\'s hooks and test pod and from declared clients; declared scrapers; ipBlock clients', () => {
  const objects = synth((s) => new FlinkApplication(s, 'orders', {
    ...base, job: SQL,
    networkPolicy: {
      restClients: [NetworkPeer.pods({ app: 'gateway' }), NetworkPeer.namespace('ops'), NetworkPeer.ipBlock('192.0.2.0/24', ['192.0.2.128/25'])],
      metricsScrapers: [NetworkPeer.pods({ app: 'vmagent' }, { 'kubernetes.io/metadata.name': 'observability' })],
    },
  }));
  const id = { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' };
  const tm = podLabels(objects, 'orders-taskmanager');
  check(objects, 'orders', [
    ['its TaskManager', pod(tm), 'jm', RPC, true],
    ['its hook Job', pod({ ...id, 'app.kubernetes.io/component': 'hooks' }), 'jm', REST, true],
    ['its hook Job', pod({ ...id, 'app.kubernetes.io/component': 'hooks' }), 'jm', RPC, false],
    ['its helm test pod', pod({ ...id, 'app.kubernetes.io/component': 'test' }), 'jm', REST, true],
    ['another release\'s hook', pod({ ...id, 'app.kubernetes.io/instance': 'orders-b', 'app.kubernetes.io/component': 'hooks' }), 'jm', REST, false],
    ['a declared client pod', pod({ app: 'gateway' }), 'jm', REST, true],
    ['a declared client pod', pod({ app: 'gateway' }), 'jm', BLOB, false],
    ['a client-labelled pod in another namespace', pod({ app: 'gateway' }, 'team-b'), 'jm', REST, false],
    ['any pod of the declared namespace', pod({ app: 'anything' }, 'ops'), 'jm', REST, true],
    ['an address in the declared block', { ip: '192.0.2.10' }, 'jm', REST, true],
    ['an address in the excepted part', { ip: '192.0.2.200' }, 'jm', REST, false],
    ['an address in the declared block', { ip: '192.0.2.10' }, 'jm', RPC, false],
    ['the declared scraper', pod({ app: 'vmagent' }, 'observability'), 'tm', METRICS, true],
    ['kube-prometheus-stack (not declared here)', pod({ 'app.kubernetes.io/name': 'prometheus' }, 'monitoring'), 'tm', METRICS, false],
  ]);
});

test('network policy: metrics closed without scrapers or without metrics; switched off by enabled: false', () => {
  const rulesOn = (props: object) => synth((s) => new FlinkSessionCluster(s, 'shared', { ...base, ...props }))
    .find((o) => o.kind === 'NetworkPolicy')?.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port));
  assert.deepEqual(rulesOn({}), [RPC, BLOB, TM_RPC, DATA, REST, METRICS]);
  assert.deepEqual(rulesOn({ networkPolicy: { metricsScrapers: [] } }), [RPC, BLOB, TM_RPC, DATA, REST]);
  assert.deepEqual(rulesOn({ metrics: false }), [RPC, BLOB, TM_RPC, DATA, REST]);
  assert.equal(rulesOn({ networkPolicy: { enabled: false } }), undefined);
});

test('network policy: exposing a session cluster\'s REST API outside the cluster needs allowRemoteCodeExecutionViaRestApi', () => {
  const session = (props: object) => synth((s) => new FlinkSessionCluster(s, 'shared', { ...base, ...props }));
  const refused = (props: object, pattern: RegExp) => assert.throws(() => session(props), (e: any) => e instanceof ValidationError && pattern.test(e.message) && !e.message.includes('\n'));
  refused({ restServiceType: ServiceType.LOAD_BALANCER }, /^restServiceType: "LoadBalancer" exposes the session cluster's REST API \(jar upload and run: code execution\).*allowRemoteCodeExecutionViaRestApi: true/);
  refused({ restServiceType: ServiceType.NODE_PORT }, /^restServiceType: "NodePort" .*allowRemoteCodeExecutionViaRestApi/);
  refused({ networkPolicy: { restClients: [NetworkPeer.pods({ app: 'ui' }), NetworkPeer.ipBlock('0.0.0.0/0')] } }, /^networkPolicy\.restClients\[1\]: "0\.0\.0\.0\/0" opens the session cluster's REST API/);
  // Refused with the policy off too: the opt-in is about the Service and the declared clients.
  refused({ restServiceType: ServiceType.LOAD_BALANCER, networkPolicy: { enabled: false } }, /^restServiceType/);
  const open = session({ restServiceType: ServiceType.LOAD_BALANCER, allowRemoteCodeExecutionViaRestApi: true, networkPolicy: { restClients: [NetworkPeer.ipBlock('198.51.100.0/24')] } });
  assert.equal(find(open, 'Service', 'shared-rest').spec.type, 'LoadBalancer');
  assert.equal(ingressAllowed(open, { namespace: NS, labels: podLabels(open, 'shared-jobmanager') }, { ip: '198.51.100.7' }, REST), true);
  // An application cluster's REST API has no jar upload or run: no opt-in.
  const app = synth((s) => new FlinkApplication(s, 'orders', { ...base, job: SQL, restServiceType: ServiceType.LOAD_BALANCER }));
  assert.equal(find(app, 'Service', 'orders-rest').spec.type, 'LoadBalancer');
});

test('network peers: empty selectors, bad CIDRs and non-peers are refused naming the field', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => NetworkPeer.pods({}), /^NetworkPeer\.pods podLabels: .* is empty; expected at least one label/],
    [() => NetworkPeer.namespaces({}), /^NetworkPeer\.namespaces namespaceLabels: .* is empty/],
    [() => NetworkPeer.namespace('Bad_NS'), /^NetworkPeer\.namespace name: "Bad_NS"/],
    [() => NetworkPeer.ipBlock('10.0.0.0'), /^NetworkPeer\.ipBlock cidr: "10\.0\.0\.0" is invalid; expected a CIDR block/],
    [() => NetworkPeer.ipBlock('10.0.0.0/8', ['300.0.0.0/8']), /^NetworkPeer\.ipBlock except\[0\]: "300\.0\.0\.0\/8" is invalid/],
    [() => synth((s) => new FlinkSessionCluster(s, 'shared', { ...base, networkPolicy: { restClients: [{ podSelector: {} } as any] } })), /^networkPolicy\.restClients\[0\]: .* expected a NetworkPeer/],
  ];
  for (const [f, pattern] of cases) assert.throws(f, (e: any) => e instanceof ValidationError && pattern.test(e.message), String(pattern));
});

test('HA JobManagers: preferred anti-affinity across nodes by default, required on request, none with one JobManager', () => {
  const affinity = (props: object) => find(synth((s) => new FlinkSessionCluster(s, 'shared', { ...base, ...props })), 'Deployment', 'shared-jobmanager')
    .spec.template.spec.affinity;
  const ha = { highAvailability: true, highAvailabilityStorageDir: 's3://b/ha' };
  const jmLabels = { 'app.kubernetes.io/name': 'shared', 'app.kubernetes.io/instance': 'shared', 'app.kubernetes.io/component': 'jobmanager' };
  assert.deepEqual(affinity(ha), { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: jmLabels }, topologyKey: 'kubernetes.io/hostname' } }] } });
  assert.deepEqual(affinity({ ...ha, jobManagerAntiAffinity: AntiAffinity.REQUIRED }), { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: jmLabels }, topologyKey: 'kubernetes.io/hostname' }] } });
  assert.equal(affinity({ ...ha, jobManagerAntiAffinity: AntiAffinity.NONE }), undefined);
  assert.equal(affinity({}), undefined, 'one JobManager: nothing to spread');
  // An HA application with a standby JobManager is spread too.
  const app = synth((s) => new FlinkApplication(s, 'orders', { ...base, ...ha, job: SQL, jobManagerReplicas: 2 }));
  assert.ok(find(app, 'Deployment', 'orders-jobmanager').spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution);
  assert.throws(() => affinity({ ...ha, jobManagerAntiAffinity: 'sometimes' }), { message: /^jobManagerAntiAffinity: "sometimes" is unknown; expected one of preferred, required, none$/ });
});

test('disruption budgets: every budget lets unhealthy pods be evicted (AlwaysAllow)', () => {
  const objects = synth((s) => new FlinkSessionCluster(s, 'shared', { ...base, highAvailability: true, highAvailabilityStorageDir: 's3://b/ha' }));
  const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  assert.deepEqual(budgets.map((b) => b.metadata.name).sort(), ['shared-jobmanager', 'shared-taskmanager']);
  for (const b of budgets) assert.equal(b.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow', b.metadata.name);
});
