/**
 * `charts/log-enricher` as pods on the real node (test/support/node.ts, the images built from the
 * project's Dockerfiles, test/support/node-charts.ts): the Flink 2.2 application cluster with
 * Kubernetes HA against the real API server, reactive mode with its HorizontalPodAutoscaler,
 * RocksDB state and an exactly-once Kafka sink, installed with helm 4 into a namespace that
 * enforces the restricted Pod Security Standard.
 *
 * Values change only where the images are (the Flink 2.2 and ops images trusting the test
 * authority: the example's Kafka source names no truststore), the CPU requests and the
 * TaskManager memory (1280Mi, within the chart's 1214Mi minimum: 2 CPUs, a few GiB here); the
 * chart is not edited. Kafka (KRaft, SASL_SSL) and HDFS (checkpoints, HA metadata) run as pods.
 *
 * In order, each on the state the previous one left:
 * 1. install: the JobManager and the HPA's two TaskManagers Ready, the job RUNNING at the
 *    parallelism of their slots; application logs produced from a pod reach `logs.enriched`, read
 *    `read_committed`, exactly once with exact per-service counts (the sink is exactly-once);
 * 2. the leader JobManager pod (found from the address Flink's leader election wrote into the
 *    HA ConfigMap) deleted while a batch sits in an open Kafka transaction: the Deployment's new
 *    pod recovers the same job id from the HA metadata, restored from a checkpoint at or after
 *    the last one completed before the kill; its ServiceAccount has exactly the chart's
 *    RoleBinding and the Role's rules are what the chart renders; every record exactly once with
 *    exact counts. The sink is read with the package's read_committed filter
 *    (lib/ops/read-committed); what kafkajs's own filter would have delivered from the aborted
 *    transactions (records of the killed run, as if committed) is reported beside it;
 * 3. reactive mode on metrics: metrics-server (test/support/metrics-server.ts) behind the API
 *    server's aggregation layer serves the TaskManager pods' CPU and memory (`metrics.k8s.io`);
 *    Prometheus scraping the namespace's pods through Kubernetes service discovery and
 *    prometheus-adapter over it (test/support/prometheus-adapter.ts) serve, from Flink's own
 *    metrics, each TaskManager pod's records in per second and busy time
 *    (`custom.metrics.k8s.io`) and the cluster's records in per second and Kafka pending records
 *    (`external.metrics.k8s.io`). Up under a real load: the HPA's metrics set to a CPU, a memory,
 *    a pods (records in per TaskManager pod) and an external (the cluster's records in, per
 *    TaskManager) average above what the idle TaskManagers show, its maximum to 4; at rest it
 *    reads all four and keeps 2; then 60,000 application logs from a producer pod: the pods and
 *    the external metric each ask for more than 2 on their own, the HPA scales the Deployment
 *    from 2 to 4 (an event "New size: 4; reason: ... above target"), the job rescales to their
 *    slots under the same job id, from its latest checkpoint, and every record arrives exactly
 *    once. Then down: the HPA's metrics set to the busy time and the pending records alone, with
 *    targets above any value, the minimum 2, no stabilization window: the HPA reads both and
 *    scales down to 2 ("All metrics below target"); the job restarts on the remaining slots from
 *    its latest checkpoint, exactly once;
 * 4. `helm test` passes while the job runs; `helm uninstall` leaves the HA ConfigMaps (as the
 *    README says, without hooks.cleanupHaConfigMaps), which the test then deletes.
 *
 * Then, on its own, a session cluster with a TaskManager pool (taskManagerPool, defined in the
 * test: Flink 2.2, 2 slots per TaskManager, 1 to 3 TaskManagers, a 20 s scale-down delay) and
 * two session job charts (datagen to blackhole, parallelism 3 and 2): the pool grows the
 * TaskManager Deployment to 2, then 3, as the jobs are installed; after the first job's
 * uninstall it shrinks after the delay by idle TaskManagers only (the running job's attempts and
 * exception history unchanged), and to 1 after the second's; `kubectl auth can-i` shows what
 * the pool's ServiceAccount may do.
 *
 * Times and record counts go to the e2e report (`node/log-enricher`) and <cache>/node/report-ha.json
 * ($CDK8S_FLINK_NODE_HA_REPORT overrides it). A failure prints the pods' states, events and logs.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { FlinkPlatform, FlinkVersion, JobSource } from '../../lib';
import { haConfigMapSelector } from '../../lib/ops/kube';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { render, writeChart } from '../support/helm-chart';
import { AggregatedApiServer } from '../support/aggregated-api';
import { ensureMetricsServer, METRICS_SERVER_VERSION, startMetricsServer } from '../support/metrics-server';
import { ensurePrometheusBinary } from '../support/node-monitoring';
import { BUSY_METRIC, CLUSTER_RECORDS_IN_METRIC, ensurePrometheusAdapter, NodePrometheus, PENDING_METRIC, PROMETHEUS_ADAPTER_VERSION, quantity, RECORDS_IN_METRIC, startPrometheusAdapter } from '../support/prometheus-adapter';
import { ChartNode, splitImage } from '../support/node-charts';
import { scratchDir } from '../support/scratch';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'log-enricher');
const NS = 'logs';
const RELEASE = 'log-enricher';
const REST = `${RELEASE}-rest`;
const SOURCE = 'logs.app';
const SINK = 'logs.enriched';
const GROUP = 'flink-log-enricher';
const BATCH = 2_000;
const SLOTS_PER_TM = 2;
/** what the cleanup hook and the README select Flink's HA ConfigMaps by */
const HA_LABELS = haConfigMapSelector(RELEASE);
const TM_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=taskmanager`;
const JM_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=jobmanager`;

let h: ChartNode;
let h4: string;
/** the --set values of every helm call (and of the rendering the Role is compared with) */
let sets: string[];
let installed = false;
/** set by each step for the next */
const run = { jid: '', produced: 0, steps: {} as Record<string, number>, records: {} as Record<string, unknown> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const setArgs = () => sets.flatMap((s) => ['--set', s]);
let clients = 0;
/** a Kafka client pod, named after what it does (a pod name is lowercase) */
const client = (what: string, args: string[], ms?: number) => h.client(`kafka-${what.toLowerCase()}-${++clients}`, args, ms);

before(async () => {
  h = await ChartNode.start({ namespace: NS, reportName: 'report-ha.json', reportEnv: 'CDK8S_FLINK_NODE_HA_REPORT' });
  h4 = await ensureHelm(4);
  // h.values' image and CPU settings, and a TaskManager memory that fits the node (chart minimum 1214Mi)
  sets = [];
  const v = h.values(['taskManager.resources.memory=1280Mi'], { flink: h.images.trusting.flink, ops: h.images.trusting.ops });
  for (let i = 1; i < v.length; i += 2) sets.push(v[i]);
}, { timeout: 80 * 60_000 });

after(async () => {
  if (h) {
    // (a failed run: uninstall without hooks, so that nothing waits on a broken cluster)
    if (installed) await h.helm(h4, ['uninstall', RELEASE, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    for (const args of [['delete', 'configmap', '-l', HA_LABELS], ['delete', 'pod', `${RELEASE}-test`, '--ignore-not-found']]) {
      await h.node.cluster.kubectl(['-n', NS, ...args], { timeoutMs: 60_000 }).catch(() => undefined);
    }
    h.report.steps = run.steps;
    h.report.records = run.records;
    await h.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// what the steps read

interface Restored { id: number; restore_timestamp: number; is_savepoint: boolean; external_path: string }

async function checkpointStats(jid: string): Promise<{ completed?: number; restored?: Restored; counts: Record<string, number> }> {
  const c = await h.rest(REST, `/jobs/${jid}/checkpoints`);
  return { completed: c.latest?.completed?.id, restored: c.latest?.restored ?? undefined, counts: c.counts };
}

/** Waits (bounded) until the job's checkpoint statistics name a restore newer than `after` (ms). */
async function restoredAfter(jid: string, after: number, timeoutMs = 120_000): Promise<Restored> {
  let last: Restored | undefined;
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(1000)) {
    last = (await checkpointStats(jid).catch(() => undefined))?.restored;
    if (last && last.restore_timestamp >= after) return last;
  }
  assert.fail(`job ${jid}: no restore after ${new Date(after).toISOString()} within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
}

/** Waits (bounded) until the job runs every task at parallelism `p` on every vertex. */
async function untilParallelism(jid: string, p: number, timeoutMs = 420_000): Promise<void> {
  let seen = '';
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(1000)) {
    const j = await h.rest(REST, `/jobs/${jid}`).catch(() => undefined);
    if (!j) continue;
    const vertices = j.vertices as { parallelism: number; status: string }[];
    seen = `${j.state} ${vertices.map((v) => `${v.parallelism}:${v.status}`).join(',')}`;
    if (j.state === 'RUNNING' && vertices.every((v) => v.parallelism === p && v.status === 'RUNNING')) return;
  }
  assert.fail(`job ${jid} did not run at parallelism ${p} within ${timeoutMs / 1000} s (last seen: ${seen})`);
}

/** Whether `text` names the IP address `ip` (not as a part of a longer address). */
const mentionsIp = (text: string, ip: string) => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}([^0-9.]|$)`, 'm').test(text);
const ready = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') && !p.metadata.deletionTimestamp;

/** The report's node/log-enricher section: every step's findings so far (each call replaces the section). */
const recordSection = () => recordE2E('node/log-enricher', {
  images: h.report.imageBuilds, steps: run.steps, records: run.records, ha: h.report.ha, haConfigMaps: h.report.haConfigMaps, rbac: h.report.rbac,
  rescale: h.report.rescale, metricScale: h.report.metricScale, afterUninstall: h.report.afterUninstall,
});

/** Flink's `numRestarts` of the job. */
const restarts = () => h.numRestarts(REST, run.jid);

/** Waits (bounded) until `n` TaskManager pods are Ready. */
async function untilTaskManagers(n: number, timeoutMs = 300_000): Promise<any[]> {
  let pods: any[] = [];
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(1000)) {
    pods = (await h.podsOf(TM_SELECTOR)).filter(ready);
    if (pods.length === n) return pods;
  }
  assert.fail(`${n} TaskManagers not Ready within ${timeoutMs / 1000} s (${pods.length} Ready)`);
}

/**
 * Produces the next `BATCH` application logs, waits until the job's offsets committed them (a
 * checkpoint completed after them), then reads the sink topic from its start `read_committed`
 * and checks every record produced so far: each id exactly once, and per service the counts
 * `service_events` exactly 1..n (a count restarted or repeated shows as a wrong value).
 */
async function batchThrough(label: string, produceOnly = false): Promise<Record<string, number>> {
  const from = run.produced;
  const t = Date.now();
  assert.match(await client(`produce-${label}`, ['produce-app', SOURCE, String(BATCH), String(from)]), new RegExp(`produced ${BATCH}`));
  run.produced += BATCH;
  run.steps[`${label}ProduceMs`] = Date.now() - t;
  if (produceOnly) return {};
  return settle(label);
}

/**
 * Waits until the job's group committed every record produced, reads the sink read_committed and
 * checks it: every record there (none lost, none unexpected), per service the counts 1..n over
 * the distinct records, the derived severity; then no record twice. The client also reports what
 * kafkajs's own read_committed filter would have delivered from aborted transactions (and dropped
 * from committed ones), recorded beside the counts.
 */
async function settle(label: string): Promise<Record<string, number>> {
  const total = run.produced;
  let t = Date.now();
  assert.match(await client(`committed-${label}`, ['committed', SOURCE, GROUP, String(total)], 420_000), new RegExp(`committed ${total}`));
  run.steps[`${label}CommittedMs`] = Date.now() - t;
  t = Date.now();
  const out = await client(`consume-${label}`, ['consume', SINK, String(total), '240'], 300_000);
  run.steps[`${label}ConsumeMs`] = Date.now() - t;
  const stock = /^stock-filter delivered (\d+) dropped (\d+)$/m.exec(out);
  assert.ok(stock, `the client reports kafkajs's own filter beside the package's:\n${out.slice(0, 2000)}`);
  const lines = out.split('\n');
  const start = lines.findIndex((l) => /^records \d+$/.test(l));
  const records = lines.slice(start + 1).filter((l) => l.trim()).map((l) => JSON.parse(l) as { id: string; service: string; severity: string; level: string; service_events: number });
  const ids = new Map<string, number>();
  const counts = new Map<string, number[]>();
  let severityWrong = 0;
  for (const r of records) {
    ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
    counts.set(r.service, [...(counts.get(r.service) ?? []), Number(r.service_events)]);
    if (r.severity !== (r.level === 'ERROR' ? 'high' : 'normal')) severityWrong++;
  }
  let lost = 0;
  for (let i = 0; i < total; i++) if (!ids.has(`a-${i}`)) lost++;
  const duplicated = [...ids.values()].filter((n) => n > 1).length;
  // per service with n distinct records: the counts cover exactly 1..n (a count restarted, skipped
  // or beyond n would show). A copy of a record from another run carries the count that run gave
  // it (its own interleaving of the partitions), which is within 1..n: copies are counted above.
  let countsWrong = 0;
  const distinctOf = new Map<string, Set<string>>();
  for (const r of records) distinctOf.set(r.service, (distinctOf.get(r.service) ?? new Set()).add(r.id));
  for (const [service, values] of counts) {
    const n = distinctOf.get(service)!.size;
    const seen = new Set(values);
    for (let v = 1; v <= n; v++) if (!seen.has(v)) countsWrong++;
    countsWrong += [...seen].filter((v) => !Number.isInteger(v) || v < 1 || v > n).length;
  }
  const result = { produced: total, read: records.length, distinct: ids.size, lost, duplicated, unexpected: [...ids.keys()].filter((k) => !/^a-\d+$/.test(k) || Number(k.slice(2)) >= total).length, countsWrong, severityWrong };
  // (for a failure: which ids came more than once, and the counts each copy carried)
  const duplicates = records.filter((r) => (ids.get(r.id) ?? 0) > 1).sort((a, b) => Number(a.id.slice(2)) - Number(b.id.slice(2)));
  const sample = duplicates.slice(0, 12).map((r) => `${r.id}:${r.service}#${r.service_events}`);
  run.records[label] = { ...result, stockFilter: { delivered: Number(stock[1]), dropped: Number(stock[2]) }, perService: Object.fromEntries([...counts].map(([s, v]) => [s, Math.max(...v)])), duplicatesSample: sample,
    duplicatedRange: duplicates.length ? [duplicates[0].id, duplicates[duplicates.length - 1].id] : [] };
  const what = `the sink ${SINK} read_committed after ${label}: ${JSON.stringify(run.records[label])}`;
  assert.deepEqual({ distinct: result.distinct, lost, unexpected: result.unexpected, countsWrong, severityWrong }, { distinct: total, lost: 0, unexpected: 0, countsWrong: 0, severityWrong: 0 }, what);
  assert.equal(duplicated, 0, `records delivered more than once: ${what}`);
  return result;
}

/** Bindings (RoleBindings of the namespace, ClusterRoleBindings) whose subjects include the ServiceAccount or a group it is in. */
async function bindingsOf(sa: string): Promise<{ roleBindings: any[]; clusterRoleBindings: any[] }> {
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'];
  const names = (b: any) => (b.subjects ?? []).some((s: any) =>
    (s.kind === 'ServiceAccount' && s.name === sa && (s.namespace ?? b.metadata.namespace) === NS) ||
    (s.kind === 'User' && s.name === `system:serviceaccount:${NS}:${sa}`) ||
    (s.kind === 'Group' && groups.includes(s.name)));
  const roleBindings = JSON.parse(await h.kubectl(['-n', NS, 'get', 'rolebindings', '-o', 'json'])).items.filter(names);
  const clusterRoleBindings = JSON.parse(await h.kubectl(['get', 'clusterrolebindings', '-o', 'json'])).items.filter(names);
  return { roleBindings, clusterRoleBindings };
}

async function canI(sa: string, verb: string, resource: string): Promise<boolean> {
  const r = await h.node.cluster.kubectl(['auth', 'can-i', verb, resource, '-n', NS, `--as=system:serviceaccount:${NS}:${sa}`], { timeoutMs: 30_000 });
  return r.stdout.trim() === 'yes';
}

// ---------------------------------------------------------------------------------------------

test('log-enricher on the node (helm 4, restricted, Kubernetes HA, reactive): installs as released, the job runs on the HPA\'s two TaskManagers, and application logs reach logs.enriched exactly once', { timeout: 25 * 60_000 }, async () => {
  await h.withDiagnostics(async () => {
    await h.ensureServers(run.steps);
    await h.topic(SOURCE, 4);
    // the preflight requires the sink topic; the records' keys spread them over its partitions
    await h.topic(SINK, 4);
    const t = Date.now();
    const install = await h.helm(h4, ['install', RELEASE, CHART, '-n', NS, ...setArgs(), '--wait', '--timeout', '480s']);
    installed = install.code === 0;
    run.steps.installReadyMs = Date.now() - t;
    assert.equal(install.code, 0, `helm install:\n${install.out}`);
    run.jid = await h.untilRunning(REST);
    run.steps.installToRunningMs = Date.now() - t;
    assert.equal(run.jid, (await h.handoffData(RELEASE)).jobId, 'the job runs under the hand-off\'s job id');
    // the Deployment has no replica count of its own: the HPA's minimum (2) scales it from 1
    const tms = await untilTaskManagers(2);
    run.steps.installToTwoTaskManagersMs = Date.now() - t;
    const deploy = JSON.parse(await h.kubectl(['-n', NS, 'get', 'deployment', `${RELEASE}-taskmanager`, '-o', 'json']));
    assert.equal(deploy.spec.replicas, 2, 'the HPA scaled the TaskManagers to its minimum');
    await untilParallelism(run.jid, 2 * SLOTS_PER_TM);
    run.steps.installToFullParallelismMs = Date.now() - t;
    const jms = (await h.podsOf(JM_SELECTOR)).filter(ready);
    assert.equal(jms.length, 1, 'one JobManager');
    for (const p of [...jms, ...tms]) {
      assert.equal(p.spec.securityContext.runAsUser, 9999);
      assert.equal(p.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
      assert.equal(p.spec.containers[0].image.replace(/^docker\.io\//, ''), h.images.trusting.flink);
    }
    await batchThrough('batch0');
    recordSection();
  });
});

test('log-enricher: the leader JobManager pod deleted mid-stream; Kubernetes HA, with only the chart\'s Role, recovers the same job from its latest checkpoint, exactly once', { timeout: 20 * 60_000 }, async () => {
  assert.ok(run.jid, 'the install step ran');
  await h.withDiagnostics(async () => {
    // the pods' ServiceAccount has exactly the chart's RoleBinding; the Role is what the chart renders
    const jm = (await h.podsOf(JM_SELECTOR)).filter(ready);
    assert.equal(jm.length, 1);
    const sa: string = jm[0].spec.serviceAccountName;
    assert.equal(sa, `${RELEASE}-flink`);
    const { roleBindings, clusterRoleBindings } = await bindingsOf(sa);
    assert.deepEqual(roleBindings.map((b) => `${b.metadata.name} -> ${b.roleRef.kind}/${b.roleRef.name}`), [`${RELEASE}-flink-ha -> Role/${RELEASE}-flink-ha`], 'the only RoleBinding naming the ServiceAccount');
    // only the API server's own defaults (discovery, public info, issuer discovery) bind groups
    // every ServiceAccount is in; no other ClusterRoleBinding names it, its namespace or them
    const defaults = clusterRoleBindings.filter((b) => b.metadata.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults');
    assert.deepEqual(clusterRoleBindings.filter((b) => !defaults.includes(b)).map((b) => b.metadata.name), [], 'no ClusterRoleBinding but the API server\'s defaults applies to the ServiceAccount');
    assert.ok(defaults.every((b) => b.subjects.every((s: any) => s.kind === 'Group')), 'the defaults name groups only');
    h.report.rbac = { roleBindings: roleBindings.map((b) => b.metadata.name), clusterRoleBindingDefaults: defaults.map((b) => `${b.metadata.name} -> ${b.roleRef.name}`) };
    const role = JSON.parse(await h.kubectl(['-n', NS, 'get', 'role', `${RELEASE}-flink-ha`, '-o', 'json']));
    const rendered = render(h4, CHART, RELEASE, sets, NS).find((o) => o.kind === 'Role' && o.metadata.name === `${RELEASE}-flink-ha`);
    assert.ok(rendered, 'the chart renders the HA Role');
    assert.deepEqual(role.rules, rendered.rules, 'the Role\'s rules are the rendered ones');
    const access = { configmaps: await canI(sa, 'update', 'configmaps'), secrets: await canI(sa, 'get', 'secrets'), pods: await canI(sa, 'list', 'pods'), leases: await canI(sa, 'create', 'leases.coordination.k8s.io'), deleteCollection: await canI(sa, 'deletecollection', 'configmaps') };
    assert.deepEqual(access, { configmaps: true, secrets: false, pods: false, leases: false, deleteCollection: false }, 'what the ServiceAccount may do');

    // the leader: the JobManager whose address Flink's leader election wrote into the HA ConfigMap
    const ha = JSON.parse(await h.kubectl(['-n', NS, 'get', 'configmaps', '-l', HA_LABELS, '-o', 'json'])).items as any[];
    // the selector finds every ConfigMap Flink's HA wrote (by their names), and only those
    const byName = (JSON.parse(await h.kubectl(['-n', NS, 'get', 'configmaps', '-o', 'json'])).items as any[])
      .map((c) => c.metadata.name).filter((n: string) => new RegExp(`^${RELEASE}-(cluster|[0-9a-f]{32})-config-map$`).test(n));
    assert.deepEqual(ha.map((c) => c.metadata.name).sort(), byName.sort(), `${HA_LABELS} selects the HA ConfigMaps`);
    const clusterMap = ha.find((c) => c.metadata.name === `${RELEASE}-cluster-config-map`);
    assert.ok(clusterMap, `the cluster's HA ConfigMap among ${ha.map((c) => c.metadata.name).join(', ')}`);
    assert.ok(ha.some((c) => c.metadata.name.includes(run.jid)), 'the job\'s HA ConfigMap');
    const addresses = Object.values(clusterMap.data ?? {}).join('\n');
    const leaders = (await h.podsOf(JM_SELECTOR)).filter((p) => p.status.podIP && mentionsIp(addresses, p.status.podIP));
    assert.equal(leaders.length, 1, `one JobManager pod's address in ${clusterMap.metadata.name}:\n${addresses}`);
    const leader = leaders[0];
    h.report.haConfigMaps = { names: ha.map((c) => c.metadata.name), labels: clusterMap.metadata.labels, clusterMapKeys: Object.keys(clusterMap.data ?? {}), leaderAnnotation: clusterMap.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader'] };

    // a batch checkpointed; the next one processed into an open transaction; then the kill
    await batchThrough('batch1');
    await batchThrough('batch2', true);
    const before = await checkpointStats(run.jid);
    assert.ok(before.completed !== undefined, 'a checkpoint completed before the kill');
    const killedAt = Date.now();
    await h.kubectl(['-n', NS, 'delete', 'pod', leader.metadata.name, '--wait=false']);
    // a new pod of the Deployment, Ready; the same job RUNNING with every task
    let replacement: any;
    for (const until = Date.now() + 300_000; Date.now() < until && !replacement; await sleep(1000)) {
      replacement = (await h.podsOf(JM_SELECTOR)).find((p) => p.metadata.uid !== leader.metadata.uid && ready(p));
    }
    assert.ok(replacement, 'a new JobManager pod Ready');
    run.steps.haNewJobManagerReadyMs = Date.now() - killedAt;
    const jid = await h.untilRunning(REST, { jid: run.jid }, 420_000);
    run.steps.haRecoveryToRunningMs = Date.now() - killedAt;
    assert.equal(jid, run.jid, 'the same job id');
    await untilParallelism(run.jid, 2 * SLOTS_PER_TM);
    run.steps.haRecoveryToFullParallelismMs = Date.now() - killedAt;
    const restored = await restoredAfter(run.jid, killedAt);
    assert.equal(restored.is_savepoint, false, 'restored from a checkpoint');
    assert.ok(restored.id >= before.completed!, `restored checkpoint ${restored.id} is at or after ${before.completed}, the last completed before the kill`);
    assert.match(restored.external_path, new RegExp(`^hdfs://namenode\\.hadoop\\.svc:8020/flink/log-enricher/checkpoints/${run.jid}/chk-${restored.id}$`));
    // the new leader's address in the HA ConfigMap
    const after = JSON.parse(await h.kubectl(['-n', NS, 'get', 'configmap', `${RELEASE}-cluster-config-map`, '-o', 'json']));
    assert.ok(mentionsIp(Object.values(after.data ?? {}).join('\n'), replacement.status.podIP), 'the new JobManager leads');
    const ha2 = { killed: leader.metadata.name, replacement: replacement.metadata.name, lastCompletedBeforeKill: before.completed, restored: restored.id, restoredFrom: restored.external_path };
    h.report.ha = ha2;
    // the batch of the open transaction, and the rest, exactly once
    await settle('afterHa');
    recordSection();
  });
});

test('log-enricher: reactive mode on metrics: under a real Kafka load the HPA scales the TaskManagers up on a pods and an external metric of throughput from prometheus-adapter over Prometheus (CPU and memory from metrics-server read beside them), and down on a pods and an external metric; the job rescales each time under the same job id, from its latest checkpoint, and the counts go on exactly once', { timeout: 35 * 60_000 }, async () => {
  assert.ok(run.jid, 'the install step ran');
  assert.equal((await h.kubectl(['-n', NS, 'get', 'deployment', `${RELEASE}-taskmanager`, '-o', 'jsonpath={.spec.replicas}'])).trim(), '2', 'the previous step left the HPA\'s 2 TaskManagers');
  // on an empty cache the three builds (one at a time, about 7 minutes here) run within this step's timeout
  const [binary, adapterBinary, promBinary] = await Promise.all([ensureMetricsServer(), ensurePrometheusAdapter(), ensurePrometheusBinary()]);
  let t = Date.now();
  const metrics = await startMetricsServer(h.node, binary.path, path.join(h.node.workDir, 'metrics-server.log'));
  run.steps.metricsServerReadyMs = Date.now() - t;
  // Prometheus scraping the namespace's pods, and prometheus-adapter over it: the pods and
  // external metrics the scale-down reads (started now, so that they hold samples by then)
  let prometheus: NodePrometheus | undefined;
  let adapter: AggregatedApiServer | undefined;
  try {
    t = Date.now();
    prometheus = await NodePrometheus.start(h.node, promBinary, NS, path.join(h.node.workDir, 'prometheus.log'));
    adapter = await startPrometheusAdapter(h.node, adapterBinary.path, prometheus.url, path.join(h.node.workDir, 'prometheus-adapter.log'));
    run.steps.prometheusAdapterReadyMs = Date.now() - t;
    await h.withDiagnostics(async () => {
      // what the HPA reads: each TaskManager pod's usage from metrics.k8s.io
      const usage = JSON.parse(await h.kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(TM_SELECTOR)}`]));
      const pods = (usage.items as any[]).map((p) => ({ pod: p.metadata.name, cpu: p.containers[0]?.usage.cpu, memory: p.containers[0]?.usage.memory }));
      assert.equal(pods.length, 2, `metrics.k8s.io serves the 2 TaskManager pods: ${JSON.stringify(pods)}`);
      // Up under a real load. The HPA follows four metrics with targets no idle TaskManager
      // reaches: CPU (metrics-server), memory (above what a TaskManager uses: read, never the
      // reason), and from prometheus-adapter over Prometheus the records each TaskManager pod
      // receives per second (a pods metric) and the records the whole cluster receives per
      // second, per TaskManager (an external metric). At rest it reads them all and keeps 2; then
      // application logs from a producer pod (LOAD records, as fast as it sends them) raise both
      // rates and the HPA scales up (at most 4).
      const before = await checkpointStats(run.jid);
      const restartsBefore = await restarts();
      const targets = { cpu: '500m', memory: '3Gi', recordsIn: '100', clusterRecordsIn: '150' };
      const hpaMetrics = [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: targets.cpu } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: targets.memory } } },
        { type: 'Pods', pods: { metric: { name: RECORDS_IN_METRIC }, target: { type: 'AverageValue', averageValue: targets.recordsIn } } },
        { type: 'External', external: { metric: { name: CLUSTER_RECORDS_IN_METRIC, selector: { matchLabels: { flink_cluster: RELEASE } } }, target: { type: 'AverageValue', averageValue: targets.clusterRecordsIn } } },
      ];
      t = Date.now();
      await h.kubectl(['-n', NS, 'patch', 'hpa', `${RELEASE}-taskmanager`, '--type', 'merge', '-p', JSON.stringify({ spec: {
        maxReplicas: 4, metrics: hpaMetrics,
        // up at once; down only after the load test's end (the step below sets its own)
        behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] }, scaleDown: { stabilizationWindowSeconds: 900 } },
      } })]);
      const getHpa = async () => JSON.parse(await h.kubectl(['-n', NS, 'get', 'hpa', `${RELEASE}-taskmanager`, '-o', 'json']));
      /** What the HPA read (its status), by metric, as numbers where they are decimal quantities. */
      const reading = (hpa: any) => Object.fromEntries(((hpa.status?.currentMetrics ?? []) as any[]).map((m) =>
        m.type === 'Resource' ? [m.resource.name, m.resource.current.averageValue] : m.type === 'Pods' ? ['recordsIn', m.pods.current.averageValue] : ['clusterRecordsIn', m.external.current.averageValue ?? m.external.current.value]));
      let hpa: any;
      for (const until = Date.now() + 240_000; Date.now() < until; await sleep(2000)) {
        hpa = await getHpa();
        const active = (hpa.status?.conditions ?? []).find((c: any) => c.type === 'ScalingActive');
        if (active?.status === 'True' && Object.keys(reading(hpa)).length === 4) break;
      }
      const active = (hpa.status?.conditions ?? []).find((c: any) => c.type === 'ScalingActive');
      assert.equal(active?.status, 'True', `the HPA computes from its metrics: ${JSON.stringify(hpa.status)}`);
      assert.equal(active.reason, 'ValidMetricFound');
      const idle = reading(hpa);
      assert.deepEqual(Object.keys(idle).sort(), ['clusterRecordsIn', 'cpu', 'memory', 'recordsIn'], `the HPA read all four metrics: ${JSON.stringify(hpa.status.currentMetrics)}`);
      assert.equal(hpa.status.desiredReplicas, 2, `at rest no metric asks for more than 2: ${JSON.stringify(idle)}`);
      run.steps.metricsReadAtRestMs = Date.now() - t;

      // the load, and the HPA's readings while it lasts (every 2 s, at most 240 s)
      const LOAD = 60_000;
      const from = run.produced;
      t = Date.now();
      const producing = client('produce-load', ['produce-app', SOURCE, String(LOAD), String(from)]).then((log) => ({ log, ms: Date.now() - t }));
      // what a metric asks for in a reading (the HPA's rule for an average: ceil(replicas x
      // current / target), no change within 10%)
      const asks = (replicas: number, current: string | undefined, target: string) => current === undefined ? replicas
        : Math.abs(quantity(current) / quantity(target) - 1) <= 0.1 ? replicas : Math.ceil(replicas * quantity(current) / quantity(target));
      const timeline: Array<{ s: number; replicas: number; desired: number; read: Record<string, string>; asked: Record<string, number> }> = [];
      // until the HPA wants its maximum and the pods and the external metric have each asked for more than 2 on their own
      const askedUp = (k: string) => timeline.some((e) => e.asked[k] > 2);
      for (const until = Date.now() + 240_000; Date.now() < until; await sleep(2000)) {
        hpa = await getHpa();
        const r = hpa.status?.currentReplicas ?? 0;
        const read = reading(hpa);
        const entry = { s: Math.round((Date.now() - t) / 1000), replicas: r, desired: hpa.status?.desiredReplicas, read,
          asked: { recordsIn: asks(r, read.recordsIn, targets.recordsIn), clusterRecordsIn: asks(r, read.clusterRecordsIn, targets.clusterRecordsIn), cpu: asks(r, read.cpu, targets.cpu) } };
        const prev = timeline[timeline.length - 1];
        if (JSON.stringify(entry.read) !== JSON.stringify(prev?.read) || entry.desired !== prev?.desired || entry.replicas !== prev?.replicas) timeline.push(entry);
        if (entry.desired === 4 && askedUp('recordsIn') && askedUp('clusterRecordsIn')) break;
      }
      const produced = await producing;
      assert.match(produced.log, new RegExp(`produced ${LOAD}`));
      run.produced += LOAD;
      run.steps.loadProduceMs = produced.ms;
      const what = JSON.stringify(timeline);
      assert.equal(timeline[timeline.length - 1].desired, 4, `the HPA scaled up to its maximum under the load: ${what}`);
      assert.ok(askedUp('recordsIn') && askedUp('clusterRecordsIn'), `the pods and the external metric each asked for more than 2 TaskManagers on their own: ${what}`);
      const decision = timeline.find((e) => e.desired > 2)!;
      run.steps.loadToScaleDecisionMs = decision.s * 1000;
      const n = 4;
      let replicas = 0;
      for (const until = Date.now() + 120_000; Date.now() < until && replicas !== n; await sleep(1000)) {
        replicas = JSON.parse(await h.kubectl(['-n', NS, 'get', 'deployment', `${RELEASE}-taskmanager`, '-o', 'json'])).spec.replicas;
      }
      assert.equal(replicas, n, `the HPA scaled the TaskManager Deployment to ${n}`);
      const upEvents = (JSON.parse(await h.kubectl(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${RELEASE}-taskmanager,reason=SuccessfulRescale`, '-o', 'json'])).items as any[])
        .filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime) >= Math.floor(t / 1000) * 1000).map((e) => e.message as string);
      assert.ok(upEvents.some((e) => new RegExp(`^New size: ${n}; reason: .* above target$`).test(e)), `the HPA's scale-up event: ${JSON.stringify(upEvents)}`);
      await untilTaskManagers(n);
      run.steps.loadScaleLastTaskManagerReadyMs = Date.now() - t;
      await untilParallelism(run.jid, n * SLOTS_PER_TM);
      run.steps.loadScaleToRunningMs = Date.now() - t;
      run.steps.rescaleToRunningMs = run.steps.loadScaleToRunningMs;
      assert.equal((await h.jobStates(REST)).jobs.filter((j) => j.state === 'RUNNING').map((j) => j.jid).join(), run.jid, 'the same job, no other');
      // the rescale restarted the tasks from the latest checkpoint (Flink's adaptive scheduler)
      const restoredUp = await restoredAfter(run.jid, t, 30_000);
      assert.ok(restoredUp.id >= (before.completed ?? 0), `restored checkpoint ${restoredUp.id} is at or after ${before.completed}`);
      h.report.rescale = { taskManagers: n, parallelism: n * SLOTS_PER_TM, restartedTasks: true, restoredCheckpoint: restoredUp.id, lastCompletedBefore: before.completed, numRestarts: { before: restartsBefore, after: await restarts() } };
      // the load, the next batch and everything before them, exactly once across the rescale
      await batchThrough('afterLoadScale');

      // What prometheus-adapter serves from Flink's metrics: the pods metric for each of the
      // TaskManager pods (their busiest subtask's busy time, as Prometheus has it), the
      // external metric (the Kafka source's pending records) for this cluster.
      const tmPods = (await h.podsOf('app.kubernetes.io/component=taskmanager')).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name as string).sort();
      let busy: Array<{ pod: string; value: string }> = [];
      for (const until = Date.now() + 120_000; Date.now() < until; await sleep(2000)) {
        const r = JSON.parse(await h.kubectl(['get', '--raw', `/apis/custom.metrics.k8s.io/v1beta2/namespaces/${NS}/pods/*/${BUSY_METRIC}?labelSelector=${encodeURIComponent(TM_SELECTOR)}`]));
        busy = (r.items as any[]).map((x) => ({ pod: x.describedObject.name, value: x.value })).sort((a, b) => a.pod.localeCompare(b.pod));
        if (JSON.stringify(busy.map((x) => x.pod)) === JSON.stringify(tmPods)) break;
      }
      assert.deepEqual(busy.map((x) => x.pod), tmPods, `custom.metrics.k8s.io serves ${BUSY_METRIC} for each TaskManager pod: ${JSON.stringify(busy)}`);
      for (const b of busy) {
        const ms = quantity(b.value);
        assert.ok(ms >= 0 && ms <= 1000, `${b.pod}: busy time ${b.value} is within 0-1000 ms/s`);
      }
      const promBusy = await prometheus!.query(`max by (pod) (flink_taskmanager_job_task_busyTimeMsPerSecond{namespace="${NS}",flink_cluster="${RELEASE}",component="taskmanager"})`);
      assert.deepEqual(promBusy.map((x) => x.metric.pod).sort(), tmPods, 'Prometheus holds the same series for the same pods');
      const pendingPath = `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NS}/${PENDING_METRIC}?labelSelector=${encodeURIComponent(`flink_cluster=${RELEASE}`)}`;
      // (a restarted source reports its backlog once its readers have fetched: read until served, bounded)
      let pending: Array<{ labels: unknown; value: string }> = [];
      for (const until = Date.now() + 60_000; Date.now() < until && pending.length === 0; await sleep(2000)) {
        const r = await h.node.cluster.kubectl(['get', '--raw', pendingPath], { timeoutMs: 20_000 });
        if (r.code === 0) pending = (JSON.parse(r.stdout).items as any[]).map((x) => ({ labels: x.metricLabels, value: x.value }));
      }
      assert.equal(pending.length, 1, `external.metrics.k8s.io serves one ${PENDING_METRIC} for ${RELEASE}: ${JSON.stringify(pending)}`);
      assert.ok(quantity(pending[0].value) >= 0, `pending records ${pending[0].value}`);

      // Down on the pods and external metrics alone: a busy-time target above the most a
      // TaskManager can report (1000 ms/s), a pending-records target far above the backlog,
      // the minimum back to 2 and no stabilization window. The HPA removes the TaskManagers the load added;
      // their tasks fail and the job restarts on the slots that remain, from its latest checkpoint.
      const restartsBeforeDown = await restarts();
      const beforeDown = await checkpointStats(run.jid);
      t = Date.now();
      await h.kubectl(['-n', NS, 'patch', 'hpa', `${RELEASE}-taskmanager`, '--type', 'merge', '-p', JSON.stringify({ spec: {
        minReplicas: 2,
        metrics: [
          { type: 'Pods', pods: { metric: { name: BUSY_METRIC }, target: { type: 'AverageValue', averageValue: '2k' } } },
          { type: 'External', external: { metric: { name: PENDING_METRIC, selector: { matchLabels: { flink_cluster: RELEASE } } }, target: { type: 'Value', value: '1G' } } },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] } },
      } })]);
      let downHpa: any;
      for (const until = Date.now() + 180_000; Date.now() < until && replicas !== 2; await sleep(1000)) {
        replicas = JSON.parse(await h.kubectl(['-n', NS, 'get', 'deployment', `${RELEASE}-taskmanager`, '-o', 'json'])).spec.replicas;
        downHpa = await getHpa();
      }
      assert.equal(replicas, 2, `the HPA scaled the TaskManager Deployment down to 2 on its pods and external metrics: ${JSON.stringify(downHpa?.status)}`);
      run.steps.metricScaleDownDecisionMs = Date.now() - t;
      // the HPA read both from the adapter (the decision's metrics, as its status records them)
      const readBy = Object.fromEntries(((downHpa?.status?.currentMetrics ?? []) as any[]).map((m) => [m.type, m.type === 'Pods' ? m.pods.current.averageValue : m.external?.current?.value]));
      assert.ok(readBy.Pods !== undefined && readBy.External !== undefined, `the HPA's status holds the pods and external metrics it read: ${JSON.stringify(downHpa?.status)}`);
      const rescaled = JSON.parse(await h.kubectl(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${RELEASE}-taskmanager,reason=SuccessfulRescale`, '-o', 'json'])).items as any[];
      // this scale-down's event (an event's time has whole seconds)
      const downEvent = rescaled.filter((e) => /^New size: 2;/.test(e.message) && Date.parse(e.lastTimestamp ?? e.eventTime) >= Math.floor(t / 1000) * 1000).map((e) => e.message as string);
      assert.deepEqual(downEvent, ['New size: 2; reason: All metrics below target'], `the HPA's scale-down event: ${JSON.stringify(rescaled.map((e) => [e.lastTimestamp, e.message]))}`);
      await untilTaskManagers(2);
      await untilParallelism(run.jid, 2 * SLOTS_PER_TM);
      run.steps.metricScaleDownToRunningMs = Date.now() - t;
      assert.equal((await h.jobStates(REST)).jobs.filter((j) => j.state === 'RUNNING').map((j) => j.jid).join(), run.jid, 'the same job, no other');
      const restored = await restoredAfter(run.jid, t, 60_000);
      assert.ok(restored.id >= (beforeDown.completed ?? 0), `restored checkpoint ${restored.id} is at or after ${beforeDown.completed}`);
      // numRestarts comes from the REST API's metric store, which lags by a metric fetch: read until it rose (bounded)
      let restartsAfter = await restarts();
      for (const until = Date.now() + 60_000; Date.now() < until && restartsAfter <= restartsBeforeDown; await sleep(2000)) restartsAfter = await restarts();
      const scaleDown = { taskManagers: 2, parallelism: 2 * SLOTS_PER_TM, restoredCheckpoint: restored.id, lastCompletedBefore: beforeDown.completed, numRestarts: { before: restartsBeforeDown, after: restartsAfter } };
      assert.ok(scaleDown.numRestarts.after > restartsBeforeDown, `the scale-down counted as a restart of the job (numRestarts ${JSON.stringify(scaleDown.numRestarts)})`);
      await batchThrough('afterScaleDown');
      const metricScale = {
        metricsServer: METRICS_SERVER_VERSION, podUsage: pods, targets, atRest: idle, load: { records: LOAD, produceMs: produced.ms }, timeline, scaleUpEvents: upEvents, taskManagers: n, parallelism: n * SLOTS_PER_TM,
        prometheusAdapter: PROMETHEUS_ADAPTER_VERSION, customMetrics: { busy, pending }, scaleDownRead: readBy, scaleDownEvent: downEvent[0], scaleDown,
      };
      h.report.metricScale = metricScale;
      recordSection();
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n---- metrics-server (tail) ----\n${metrics.logs(40)}\n---- prometheus-adapter (tail) ----\n${adapter?.logs(40)}\n---- prometheus (tail) ----\n${prometheus?.logs(20)}`);
  } finally {
    // without metrics the HPA holds its count: the next steps see the last one
    await adapter?.stop();
    await prometheus?.stop();
    await metrics.stop();
  }
});

test('log-enricher: helm test passes while the job runs; helm uninstall leaves the HA ConfigMaps (and the test pod) and nothing else of the release', { timeout: 15 * 60_000 }, async () => {
  assert.ok(installed, 'the release is installed');
  await h.withDiagnostics(async () => {
    let t = Date.now();
    const passing = await h.helm(h4, ['test', RELEASE, '-n', NS, '--timeout', '360s', '--logs']);
    run.steps.helmTestMs = Date.now() - t;
    assert.equal(passing.code, 0, `helm test while the job runs:\n${passing.out}`);
    const haBefore = JSON.parse(await h.kubectl(['-n', NS, 'get', 'configmaps', '-l', HA_LABELS, '-o', 'json'])).items.map((c: any) => c.metadata.name).sort();
    t = Date.now();
    const un = await h.helm(h4, ['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '300s']);
    run.steps.uninstallMs = Date.now() - t;
    assert.equal(un.code, 0, `helm uninstall:\n${un.out}`);
    installed = false;
    await h.node.cluster.kubectl(['-n', NS, 'wait', '--for=delete', 'pod', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component in (jobmanager,taskmanager)`, '--timeout=120s'], { timeoutMs: 130_000 });
    // what is left in the namespace besides the test's own objects (Kafka credentials, clients)
    const kinds = 'deployments,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,jobs,podmonitors,prometheusrules';
    const left = (JSON.parse(await h.kubectl(['-n', NS, 'get', kinds, '-o', 'json'])).items as any[])
      .filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'kube-root-ca.crt') && !(o.kind === 'ServiceAccount' && o.metadata.name === 'default'))
      .filter((o) => !(o.kind === 'Secret' && o.metadata.name === 'logs-kafka-flink') && o.metadata.labels?.['app.kubernetes.io/name'] !== 'kafka-client')
      .map((o) => `${o.kind}/${o.metadata.name}`).sort();
    h.report.afterUninstall = left;
    // the HA ConfigMaps, and the last helm test pod (Helm keeps a test hook's pod with its log)
    assert.deepEqual(left, [...haBefore.map((n: string) => `ConfigMap/${n}`), `Pod/${RELEASE}-test`].sort(), 'what stays after helm uninstall');
    assert.ok(haBefore.includes(`${RELEASE}-cluster-config-map`));
    // the README's command for when the job's recovery metadata is no longer wanted removes them all
    await h.kubectl(['-n', NS, 'delete', 'configmap', '-l', HA_LABELS]);
    const still = (JSON.parse(await h.kubectl(['-n', NS, 'get', 'configmaps', '-o', 'json'])).items as any[]).map((c) => c.metadata.name).filter((n: string) => haBefore.includes(n));
    assert.deepEqual(still, [], 'the HA ConfigMaps deleted by their labels');
    recordSection();
  });
});

// ---------------------------------------------------------------------------------------------
// a session cluster's TaskManager pool that follows demand

test('session TaskManager pool: the pool grows the TaskManagers as session jobs need slots and shrinks them after the delay by idle TaskManagers only; a job left running is never restarted; its ServiceAccount may scale only its own TaskManagers', { timeout: 20 * 60_000 }, async () => {
  const POOL = 'elastic-logs';
  const POOL_REST = `${POOL}-rest`;
  const DELAY_S = 20;
  const steps: Record<string, number> = {};
  const installed: string[] = [];
  const work = scratchDir('cdk8s-flink-node-pool-');
  // datagen at a low rate: two cores carry the jobs and the pods
  const sql = (name: string) => JobSource.sql(`CREATE TABLE s (x INT) WITH ('connector' = 'datagen', 'rows-per-second' = '5');\nCREATE TABLE ${name} (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO ${name} SELECT x FROM s;`);
  const platform = new FlinkPlatform({ namespace: NS });
  const cluster = platform.addSessionCluster(POOL, {
    flinkVersion: FlinkVersion.V2_2, taskManagerSlots: 2, checkpointing: false,
    taskManagerPool: { min: 1, max: 3, scaleDownDelay: Duration.seconds(DELAY_S), interval: Duration.seconds(2) },
  });
  platform.addSessionJob('wide-logs', { cluster, job: sql('wide'), parallelism: 3 });
  platform.addSessionJob('narrow-logs', { cluster, job: sql('narrow'), parallelism: 2 });
  const units = synthesizePlatform(platform);
  const chart = (name: string) => writeChart(units.find((u) => u.name === name)!, work);
  const [flinkRepo, flinkTag] = splitImage(h.images.flink['2.2']);
  const [opsRepo, opsTag] = splitImage(h.images.ops);
  const replicas = async () => Number(JSON.parse(await h.kubectl(['-n', NS, 'get', 'deployment', `${POOL}-taskmanager`, '-o', 'json'])).spec.replicas);
  const registered = async () => (await h.rest(POOL_REST, '/taskmanagers')).taskmanagers as { path: string; slotsNumber: number; freeSlots: number }[];
  /** polls (bounded) until `ok(value)`; returns the value and when it held */
  const until = async <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> => {
    let v: T | undefined;
    for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(1000)) {
      v = await read().catch(() => v);
      if (v !== undefined && ok(v)) return v;
    }
    assert.fail(`${what} within ${timeoutMs / 1000} s (last: ${JSON.stringify(v)})`);
  };
  const install = async (release: string, sets: string[]) => {
    const t = Date.now();
    const r = await h.helm(h4, ['install', release, chart(release), '-n', NS, ...sets.flatMap((s) => ['--set', s]), '--wait', '--timeout', '480s']);
    assert.equal(r.code, 0, `helm install ${release}:\n${r.out}`);
    installed.push(release);
    return Date.now() - t;
  };
  const jobSets = [`image.repository=${opsRepo}`, `image.tag=${opsTag}`];
  try {
    await h.withDiagnostics(async () => {
      steps.clusterInstallMs = await install(POOL, [
        `image.repository=${flinkRepo}`, `image.tag=${flinkTag}`, 'image.pullPolicy=Never',
        'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m', 'taskManager.resources.memory=1280Mi', `taskManager.pool.image=${h.images.ops}`,
      ]);
      // no job: the pool's minimum, one TaskManager
      await until('one TaskManager registered, the pool at its minimum', async () => [await replicas(), (await registered()).length], ([r, n]) => r === 1 && n === 1, 180_000);

      // the pool's account scales its own TaskManagers and nothing else
      const as = `--as=system:serviceaccount:${NS}:${POOL}-pool`;
      const can = async (...args: string[]) => (await h.node.cluster.kubectl(['-n', NS, 'auth', 'can-i', ...args, as], { timeoutMs: 30_000 })).stdout.trim();
      assert.equal(await can('patch', `deployments/${POOL}-taskmanager`, '--subresource=scale'), 'yes');
      assert.equal(await can('patch', `deployments/${POOL}-jobmanager`, '--subresource=scale'), 'no');
      assert.equal(await can('patch', `deployments/${POOL}-taskmanager`), 'no', 'not the Deployment itself (its pod template)');
      assert.equal(await can('delete', 'pods'), 'no');
      assert.equal(await can('get', 'secrets'), 'no');

      // wide-logs needs 3 slots: a second TaskManager, and the job runs on both
      let t = Date.now();
      steps.wideInstallMs = await install('wide-logs', jobSets);
      await until('2 TaskManagers for 3 slots', replicas, (r) => r === 2, 120_000);
      const wide = await h.untilRunning(POOL_REST, { name: 'wide-logs' }, 300_000);
      steps.wideToRunningMs = Date.now() - t;

      // narrow-logs needs 2 more: a third TaskManager
      t = Date.now();
      steps.narrowInstallMs = await install('narrow-logs', jobSets);
      await until('3 TaskManagers for 5 slots', replicas, (r) => r === 3, 120_000);
      const narrow = await h.untilRunning(POOL_REST, { name: 'narrow-logs' }, 300_000);
      steps.narrowToRunningMs = Date.now() - t;
      const tms = await until('3 TaskManagers registered', registered, (x) => x.length === 3, 120_000);
      const narrowAttempts = async () => (await h.subtasks(POOL_REST, narrow)).map((s) => s.attempt).join(',');
      const narrowBefore = { attempts: await narrowAttempts(), failures: await h.failures(POOL_REST, narrow) };

      // wide-logs goes: 3 of the 6 slots are free; after the delay the pool removes idle TaskManagers only
      t = Date.now();
      const un = await h.helm(h4, ['uninstall', 'wide-logs', '-n', NS, '--wait', '--timeout', '300s']);
      assert.equal(un.code, 0, `helm uninstall wide-logs:\n${un.out}`);
      installed.splice(installed.indexOf('wide-logs'), 1);
      assert.equal((await h.jobStates(POOL_REST)).jobs.find((j) => j.jid === wide)?.state, 'CANCELED', 'the uninstall cancelled wide-logs');
      const shrunk = await until('the pool shrinks after the delay', replicas, (r) => r < 3, (DELAY_S + 90) * 1000);
      steps.uninstallToScaleDownMs = Date.now() - t;
      // narrow-logs's 2 slots keep their TaskManagers: one or two of them, never fewer than its slots need
      const busy = (await registered()).filter((x) => x.freeSlots < x.slotsNumber).length;
      assert.ok(shrunk >= busy && shrunk >= 1, `${shrunk} TaskManagers kept for ${busy} busy ones`);
      await until('the removed TaskManagers gone', async () => (await h.podsOf(`app.kubernetes.io/instance=${POOL},app.kubernetes.io/component=taskmanager`)).filter((p) => !p.metadata.deletionTimestamp).length, (n) => n === shrunk, 120_000);
      await sleep(5_000);
      assert.equal((await h.jobStates(POOL_REST)).jobs.find((j) => j.jid === narrow)?.state, 'RUNNING');
      assert.deepEqual({ attempts: await narrowAttempts(), failures: await h.failures(POOL_REST, narrow) }, narrowBefore, 'narrow-logs was not restarted by the scale-down');
      const costs = (await h.podsOf(`app.kubernetes.io/instance=${POOL},app.kubernetes.io/component=taskmanager`)).map((p) => p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost']);
      assert.ok(costs.every((c) => Number(c) >= 1), `the TaskManagers kept are the busy ones (deletion costs ${costs.join(', ')})`);

      // narrow-logs goes too: back to the minimum
      t = Date.now();
      const un2 = await h.helm(h4, ['uninstall', 'narrow-logs', '-n', NS, '--wait', '--timeout', '300s']);
      assert.equal(un2.code, 0, `helm uninstall narrow-logs:\n${un2.out}`);
      installed.splice(installed.indexOf('narrow-logs'), 1);
      await until('back to one TaskManager', replicas, (r) => r === 1, (DELAY_S + 90) * 1000);
      steps.lastUninstallToMinimumMs = Date.now() - t;
      const log = await h.kubectl(['-n', NS, 'logs', '--timestamps', `deployment/${POOL}-pool`]);
      // each scale-down came at least the delay after its idle TaskManagers became removable
      const lines = log.split('\n').map((l) => ({ at: Date.parse(l.split(' ')[0]), text: l }));
      const waits = lines.flatMap((l, i) => {
        if (!/scaling down by/.test(l.text)) return [];
        const since = lines.slice(0, i).reverse().find((x) => /go in \d+ s unless the demand returns/.test(x.text));
        return [since ? l.at - since.at : NaN];
      });
      // (one scale-down when narrow-logs's slots were on one TaskManager: 3 -> 1; else 3 -> 2 -> 1)
      assert.equal(waits.length, shrunk === 1 ? 1 : 2, `the scale-downs\n${log}`);
      for (const w of waits) assert.ok(w >= (DELAY_S - 1) * 1000, `a scale-down ${w} ms after its TaskManagers became removable; the delay is ${DELAY_S} s\n${log}`);
      steps.removableToScaleDownMs = Math.min(...waits);
      assert.match(log, /demand 3 slot\(s\), \d+ in use, 0 spare: 2 TaskManager\(s\) wanted, 1 now: scaling up/);
      assert.match(log, /demand 5 slot\(s\), \d+ in use, 0 spare: 3 TaskManager\(s\) wanted, 2 now: scaling up/);
      assert.match(log, /scaling down by \d idle TaskManager\(s\)/);
      recordE2E('node/session-pool', {
        flinkVersion: '2.2',
        pool: { min: 1, max: 3, slotsPerTaskManager: 2, scaleDownDelaySeconds: DELAY_S, intervalSeconds: 2 },
        scale: { wide: 2, both: 3, afterWideUninstall: shrunk, busyTaskManagersThen: busy, afterAll: 1 },
        taskManagersAtPeak: tms.length,
        narrowUntouched: narrowBefore,
        steps,
      });
    });
  } finally {
    h.report.sessionPool = steps;
    for (const r of installed.reverse()) await h.helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    fs.rmSync(work, { recursive: true, force: true });
  }
});
