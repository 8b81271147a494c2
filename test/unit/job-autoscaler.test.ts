/**
 * The job autoscaler: its per-vertex decision (lib/ops/autoscale.ts), and what an application with
 * `jobAutoscaler` synthesizes (the adaptive scheduler, the `<name>-autoscaler` Deployment with its
 * least-privilege Role, the TaskManager Deployment without replicas, the REST peer in the
 * NetworkPolicy, the operator target's `job.autoscaler.*`), and the one-line errors of its options.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { Autoscaling, FlinkPlatform, JobSource, restrictedViolations } from '../../lib';
import { alignParallelism, alignToKeyGroups, averageLoads, loadText, AUTOSCALER_EVENT_CONTROLLER, AutoscalerSpec, decideParallelism, deploymentEvents, MetricIdCache, sampleVertex, loadFactors, resourceRequirements, scaledJob, sizeTaskManagers, sourcePartitions, taskManagersFor, VertexInfo, VertexLoad } from '../../lib/ops/autoscale';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { planPlatform } from '../../lib/plan';

const SPEC: AutoscalerSpec = {
  targetUtilization: 0.7, utilizationBoundary: 0.2, minParallelism: 1, maxParallelism: 12, maxScaleDown: 0.6,
  catchUpMs: 300_000, windowMs: 300_000, stabilizationMs: 120_000,
};
const v = (id: string, parallelism: number, inputs: Array<[string, string]> = [], maxParallelism = 128): VertexInfo => ({
  id, name: id, parallelism, maxParallelism, inputs: inputs.map(([i, s]) => ({ id: i, shipStrategy: s })),
});
const loads = (xs: Record<string, VertexLoad>) => new Map(Object.entries(xs));

test('job autoscaler: within the band nothing changes; outside it the vertex gets ceil(p x load / target), others keep theirs', () => {
  const job = [v('src', 2), v('agg', 2, [['src', 'HASH']])];
  const calm = decideParallelism(SPEC, job, loads({ src: { busy: 0.6, backPressured: 0 }, agg: { busy: 0.8, backPressured: 0 } }));
  assert.equal(calm.changed, false);
  assert.deepEqual([...calm.parallelism.values()], [2, 2]);
  assert.match(calm.lines[0], /within 0\.50-0\.90, kept/);

  const hot = decideParallelism(SPEC, job, loads({ src: { busy: 1, backPressured: 0 }, agg: { busy: 0.7, backPressured: 0 } }));
  assert.equal(hot.changed, true);
  assert.equal(hot.parallelism.get('src'), 3, 'ceil(2 x 1.0 / 0.7)');
  assert.equal(hot.parallelism.get('agg'), 2, 'within the band: kept');
});

test('job autoscaler: a load is printed on the side of the band it was decided on, never rounded onto a bound', () => {
  const job = [v('src', 2)];
  // 0.9004 is above 0.50-0.90 and scales; two decimals would print it as 0.90
  const up = decideParallelism(SPEC, job, loads({ src: { busy: 0.9004, backPressured: 0 } }));
  assert.equal(up.parallelism.get('src'), 3, 'ceil(2 x 0.9004 / 0.7)');
  assert.match(up.lines[0], /: load 0\.9004 \(busy 0\.90, /);
  const down = decideParallelism(SPEC, job, loads({ src: { busy: 0.4996, backPressured: 0 } }));
  assert.match(down.lines[0], /: load 0\.4996 /);
  // the band's bounds are its own: 0.7 + 0.2 in binary is just under 0.9, which 0.9 must not exceed
  for (const busy of [0.9, 0.5]) {
    const edge = decideParallelism(SPEC, job, loads({ src: { busy, backPressured: 0 } }));
    assert.equal(edge.changed, false, `a load of ${busy}, on a bound of the band, is within it: ${edge.lines[0]}`);
  }
  // rounding that stays on its side keeps two decimals, also onto a bound from inside the band
  assert.match(decideParallelism(SPEC, job, loads({ src: { busy: 0.8996, backPressured: 0 } })).lines[0], /: load 0\.90 .*within 0\.50-0\.90, kept/);
  assert.equal(loadText(1.234, 0.5, 0.9), '1.23');
  assert.equal(loadText(0.9, 0.5, 0.9), '0.90');
  assert.equal(loadText(0.90000001, 0.5, 0.9), '0.900000', 'at most six decimals');
});

test('job autoscaler: scale-down is limited per decision, bounded by min and max, keyed vertices align to key groups', () => {
  const idle = decideParallelism(SPEC, [v('src', 10), v('agg', 10, [['src', 'HASH']])], loads({ src: { busy: 0, backPressured: 0 }, agg: { busy: 0.01, backPressured: 0 } }));
  assert.equal(idle.parallelism.get('src'), 4, 'at most 60% lower: ceil(10 x 0.4)');
  assert.equal(idle.parallelism.get('agg'), 4, '4 divides 128');
  const up = decideParallelism(SPEC, [v('src', 2), v('agg', 4, [['src', 'HASH']])], loads({ src: { busy: 0.5, backPressured: 0 }, agg: { busy: 1, backPressured: 0 } }));
  assert.equal(up.parallelism.get('agg'), 8, 'ceil(4 / 0.7) = 6, rounded up to 8, a divisor of 128');
  assert.equal(alignToKeyGroups(6, 12, 128), 8);
  assert.equal(alignToKeyGroups(9, 12, 128), 9, 'no divisor of 128 within reach: unaligned');
  assert.equal(alignToKeyGroups(3, 7, 90), 3);
  const capped = decideParallelism({ ...SPEC, maxParallelism: 5 }, [v('src', 4)], loads({ src: { busy: 1, backPressured: 0 } }));
  assert.equal(capped.parallelism.get('src'), 5, 'capped by maxParallelism');
  const vertexCap = decideParallelism(SPEC, [v('src', 4, [], 6)], loads({ src: { busy: 1, backPressured: 0 } }));
  assert.equal(vertexCap.parallelism.get('src'), 6, "capped by the vertex's own max parallelism");
  const floor = decideParallelism({ ...SPEC, minParallelism: 3, maxScaleDown: 1 }, [v('src', 8)], loads({ src: { busy: 0, backPressured: 0 } }));
  assert.equal(floor.parallelism.get('src'), 3, 'never below minParallelism');
});

test('job autoscaler: a source\'s backlog raises the load of it and of every vertex downstream', () => {
  const job = [v('src', 2), v('map', 2, [['src', 'FORWARD']]), v('agg', 2, [['map', 'HASH']]), v('other', 1)];
  const l = loads({
    // 1000 records/s in, 600,000 pending: 2000/s more to catch up in 300 s: x3
    src: { busy: 0.4, backPressured: 0, sourceRate: 1000, pending: 600_000 },
    map: { busy: 0.4, backPressured: 0 }, agg: { busy: 0.2, backPressured: 0 }, other: { busy: 0.6, backPressured: 0 },
  });
  const f = loadFactors(SPEC, job, l);
  assert.deepEqual([f.get('src'), f.get('map'), f.get('agg'), f.get('other')], [3, 3, 3, 1]);
  const d = decideParallelism(SPEC, job, l);
  assert.deepEqual(job.map((x) => d.parallelism.get(x.id)), [4, 4, 2, 1], 'src ceil(2 x 1.2 / 0.7) = 4, map the same, agg 0.6 within the band, other unrelated');
  const legacy = decideParallelism(SPEC, [v('src', 2), v('agg', 2, [['src', 'HASH']])], loads({ src: { backPressured: 0.5 }, agg: { busy: 1, backPressured: 0 } }));
  assert.deepEqual([legacy.parallelism.get('src'), legacy.parallelism.get('agg')], [2, 4], 'a source without busy time keeps its parallelism; the busy keyed vertex goes to ceil(2 / 0.7) = 3, aligned to 4');
  assert.match(legacy.lines[0], /no busy time reported .*: kept/);
  const stalled = loadFactors(SPEC, [v('src', 1)], loads({ src: { busy: 0, backPressured: 0, sourceRate: 0, pending: 10 } }));
  assert.equal(stalled.get('src'), 1000, 'a backlog with no rate: as far behind as it gets');
});

test('job autoscaler: a Kafka source gets no more subtasks than partitions and a divisor of their number; alignment never undoes a scale-down', () => {
  assert.equal(sourcePartitions([
    'Source__src.KafkaSourceReader.topic.logs.partition.0.currentOffset',
    'Source__src.KafkaSourceReader.topic.logs.partition.0.committedOffset',
    'Source__src.KafkaSourceReader.topic.logs.partition.5.currentOffset',
    'Source__src.KafkaSourceReader.topic.audit.logs.partition.0.currentOffset',
    'Source__src.numRecordsOutPerSecond',
  ]), 3, 'distinct topic/partition pairs (a topic name may hold dots)');
  assert.equal(sourcePartitions(['Source__gen.numRecordsOutPerSecond']), undefined);
  const src = (p: number, busy: number, partitions: number) => decideParallelism(SPEC, [v('src', p)], loads({ src: { busy, backPressured: 0, partitions } }));
  assert.equal(src(1, 1, 6).parallelism.get('src'), 2, 'ceil(1 / 0.7) = 2 divides 6');
  assert.equal(src(1, 0.95 * 2.5, 6).parallelism.get('src'), 6, 'ceil(2.375 / 0.7) = 4, aligned to 6');
  assert.match(src(1, 0.95 * 2.5, 6).lines[0], /6 partitions: to 6 \(4 aligned to 6 partitions\)/);
  assert.equal(src(2, 1, 4).parallelism.get('src'), 4, 'ceil(2 / 0.7) = 3, aligned to 4');
  assert.equal(src(4, 1, 4).parallelism.get('src'), 4, 'no more subtasks than partitions');
  assert.match(src(4, 1, 4).lines[0], /kept \(bounds/);
  assert.equal(src(8, 0.1, 4).parallelism.get('src'), 4, 'more subtasks than partitions: down to the partitions, below the scale-down limit');
  // the keyed path is unchanged by partitions: a vertex with inputs has none
  const keyed = decideParallelism(SPEC, [v('src', 2), v('agg', 4, [['src', 'HASH']])], loads({ src: { busy: 0.6, backPressured: 0, partitions: 3 }, agg: { busy: 1, backPressured: 0, partitions: 3 } }));
  assert.equal(keyed.parallelism.get('agg'), 8, 'key groups, not partitions, for a keyed vertex');
  // direction: a divisor above the current parallelism would turn a scale-down into a scale-up
  assert.equal(alignParallelism(5, 6, 8, 8), 5, '8 partitions, at 6, down to 5: 8 would be more; 5 kept unaligned');
  assert.equal(alignParallelism(3, 6, 8, 8), 4);
  assert.equal(alignParallelism(3, 2, 8, 8), 4, 'a scale-up rounds up');
  assert.equal(alignParallelism(3, 2, 3, 8), 3, 'no divisor within reach');
  assert.equal(alignToKeyGroups(5, 12, 128, 6), 5, 'key groups: the same direction guard');
  const down = decideParallelism(SPEC, [v('src', 2), v('agg', 6, [['src', 'HASH']])], loads({ src: { busy: 0.6, backPressured: 0 }, agg: { busy: 0.48, backPressured: 0 } }));
  assert.equal(down.parallelism.get('agg'), 5, `ceil(6 x 0.48 / 0.7) = 5; 8 (the next divisor of 128) would be a scale-up: ${down.lines[1]}`);
});

test('job autoscaler: a source vertex\'s metric list is read again after a minute, so partitions and pending records a reader registers later are found', async () => {
  let listed = ['Source__src.numRecordsOutPerSecond'];
  let listings = 0;
  const rest = {
    request: async (_method: string, p: string) => {
      const get = /\?get=([^&]*)/.exec(p)?.[1];
      if (get === undefined) { listings++; return listed.map((id) => ({ id })); }
      const ids = decodeURIComponent(get).split(',');
      return ids.map((id) => (p.includes('agg=avg') ? { id, avg: id === 'busyTimeMsPerSecond' ? 500 : 0 } : { id, sum: id.endsWith('.pendingRecords') ? 100 : 10 }));
    },
  };
  const cache: MetricIdCache = new Map();
  const src = v('src', 2);
  const first = (await sampleVertex(rest as any, 'j', src, cache))!;
  assert.deepEqual([first.busy, first.sourceRate, first.pending, first.partitions, listings], [0.5, 10, undefined, undefined, 1]);
  // the reader got its splits: its per-partition metrics and pending records appear
  listed = [...listed, 'Source__src.KafkaSourceReader.topic.logs.partition.0.currentOffset', 'Source__src.KafkaSourceReader.topic.logs.partition.1.currentOffset', 'Source__src.pendingRecords'];
  const cached = (await sampleVertex(rest as any, 'j', src, cache))!;
  assert.deepEqual([cached.partitions, cached.pending, listings], [undefined, undefined, 1], 'within the minute the list is not read again');
  cache.get('src@2')!.at -= 61_000;
  const later = (await sampleVertex(rest as any, 'j', src, cache))!;
  assert.deepEqual([later.partitions, later.pending, listings], [2, 100, 2], 'after it, the new metrics are found');
});

test('job autoscaler: window averages, the REST body, TaskManagers for the slots', () => {
  const avg = averageLoads([
    loads({ a: { busy: 0.2, backPressured: 0.1, sourceRate: 100, pending: 50 } }),
    loads({ a: { busy: 0.4, backPressured: 0.3, sourceRate: 300, pending: 10 } }),
  ]);
  const a = avg.get('a')!;
  assert.ok(Math.abs(a.busy! - 0.3) < 1e-9 && Math.abs(a.backPressured - 0.2) < 1e-9);
  assert.equal(a.sourceRate, 200);
  assert.equal(a.pending, 10, 'the backlog is the last one, not an average');
  assert.deepEqual(resourceRequirements(new Map([['x', 3]])), { x: { parallelism: { lowerBound: 1, upperBound: 3 } } });
  const t = { namespace: 'n', deployment: 'd', selector: 's', slotsPerTaskManager: 2, min: 1, max: 4 };
  assert.deepEqual([0, 1, 3, 4, 9, 100].map((s) => taskManagersFor(t, s)), [1, 1, 2, 2, 4, 4]);
});

function app(extra: Record<string, unknown> = {}) {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: 'logs' });
  p.addApplication('hot-path', {
    job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"),
    checkpointing: true,
    taskManagerSlots: 2,
    jobAutoscaler: { maxParallelism: 8, metricsWindow: Duration.minutes(3) },
    ...extra,
  } as any);
  return { p, unit: synthesizeUnit(p.unit('hot-path')!) };
}

test('jobAutoscaler synthesizes the adaptive scheduler, the autoscaler Deployment with least-privilege RBAC, and no TaskManager replicas', () => {
  const { p, unit } = app({ parallelism: 3 });
  const find = (kind: string, name: string) => unit.objects.find((o: any) => o.kind === kind && o.metadata.name === name);
  const cm = find('ConfigMap', 'hot-path-config');
  const conf: string = Object.values(cm.data).join('\n') as string;
  assert.match(conf, /jobmanager\.scheduler: adaptive/);
  assert.match(conf, /parallelism\.default: 3/);
  assert.equal(find('Deployment', 'hot-path-taskmanager').spec.replicas, undefined, 'the autoscaler owns the count');
  const dep = find('Deployment', 'hot-path-autoscaler');
  const c = dep.spec.template.spec.containers[0];
  assert.deepEqual(c.args, [
    'autoscale', '--rest-url', 'http://hot-path-rest:8081', '--deployment', 'hot-path-taskmanager',
    '--selector', 'app.kubernetes.io/name=hot-path,app.kubernetes.io/instance=hot-path,app.kubernetes.io/component=taskmanager', '--slots-per-task-manager', '2',
    '--min-parallelism', '1', '--max-parallelism', '8', '--target-utilization', '70', '--utilization-boundary', '20', '--max-scale-down', '60',
    '--catch-up', '300s', '--window', '180s', '--stabilization', '120s', '--interval', '10s', '--min-task-managers', '1', '--max-task-managers', '4',
  ]);
  assert.deepEqual(restrictedViolations([dep]), []);
  assert.deepEqual(find('Role', 'hot-path-autoscaler').rules, [
    { apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: ['hot-path-taskmanager'], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  ]);
  const np = find('NetworkPolicy', 'hot-path');
  const restPeers = JSON.stringify(np.spec.ingress[1].from);
  assert.match(restPeers, /"app.kubernetes.io\/component":"autoscaler"/, 'the autoscaler may call the REST API');
  const app2 = p.unit('hot-path')!;
  const op = operatorResources(app2, unit.objects).find((o: any) => o.kind === 'FlinkDeployment');
  assert.equal(op.spec.flinkConfiguration['job.autoscaler.enabled'], 'true');
  assert.equal(op.spec.flinkConfiguration['job.autoscaler.target.utilization'], '0.7');
  assert.equal(op.spec.flinkConfiguration['job.autoscaler.vertex.max-parallelism'], '8');
  assert.equal(op.spec.flinkConfiguration['job.autoscaler.metrics.window'], '3min');
  assert.ok(!operatorResources(app2, unit.objects).some((o: any) => o.metadata?.name === 'hot-path-autoscaler'), 'the operator runs its own autoscaler');
});

test('jobAutoscaler: conflicting or invalid options are refused in one line naming the field', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ autoscaling: Autoscaling.adaptive() }, /^autoscaling: .*jobAutoscaler, which owns the TaskManager count/],
    [{ taskManagerReplicas: 3 }, /^taskManagerReplicas: 3 is set with jobAutoscaler/],
    [{ parallelism: 9 }, /^parallelism: 9 is outside jobAutoscaler's 1-8/],
    [{ jobAutoscaler: { maxParallelism: 0 } }, /^jobAutoscaler\.maxParallelism: 0 /],
    [{ jobAutoscaler: { maxParallelism: 4, minParallelism: 5 } }, /^jobAutoscaler\.minParallelism: 5 is above jobAutoscaler\.maxParallelism \(4\)/],
    [{ jobAutoscaler: { maxParallelism: 4, targetUtilization: 0.7 } }, /^jobAutoscaler\.targetUtilization: 0\.7 /],
    [{ jobAutoscaler: { maxParallelism: 4, minTaskManagers: 3, maxTaskManagers: 2 } }, /^jobAutoscaler\.maxTaskManagers: 2 is below/],
    [{ checkpointing: false }, /^jobAutoscaler: .*needs checkpointing/],
  ];
  for (const [extra, re] of cases) {
    assert.throws(() => app(extra), (e: Error) => {
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'), e.message);
      return true;
    });
  }
});

test('plan: an application with jobAutoscaler shows its TaskManager range and what a rescale costs, and stays an application', () => {
  const { p } = app({ parallelism: 2, jobAutoscaler: { maxParallelism: 8, minTaskManagers: 1, metricsWindow: Duration.minutes(3), stabilization: Duration.minutes(1) } });
  const j = planPlatform(p).jobs.find((x) => x.name === 'hot-path')!;
  assert.equal(j.recommendation, 'application');
  assert.match(j.reason, /job autoscaler needs its own application cluster/);
  assert.equal(j.autoscaling?.mode, 'per-vertex (job autoscaler)');
  assert.deepEqual([j.autoscaling?.minTaskManagers, j.autoscaling?.maxTaskManagers], [1, 4]);
  assert.match(j.autoscaling!.scaleEvent, /in place from the latest checkpoint .*at most once per 240 s .*parallelism 1 to 8 per vertex/);
});

test('job autoscaler: TaskManagers are raised at once and lowered only by idle ones, idle pods ranked first for deletion', async () => {
  const calls: string[] = [];
  const pods = [{ name: 'tm-a', ip: '10.0.0.1', annotations: {} }, { name: 'tm-b', ip: '10.0.0.2', annotations: {} }, { name: 'tm-c', ip: '10.0.0.3', annotations: {} }];
  let replicas = 3;
  const kube = {
    getScale: async () => replicas,
    setScale: async (_ns: string, _d: string, n: number) => { calls.push(`scale ${n}`); replicas = n; },
    listPods: async () => pods,
    annotatePod: async (_ns: string, name: string, a: Record<string, string>) => { calls.push(`${name} ${Object.values(a)[0]}`); },
  };
  let free = [0, 0, 2];
  const rest = {
    request: async () => ({ taskmanagers: pods.map((p, i) => ({ path: `pekko.tcp://flink@${p.ip}:6122/user/rpc/taskmanager_0`, slotsNumber: 2, freeSlots: free[i] })) }),
  };
  const t = { namespace: 'logs', deployment: 'd', selector: 's', slotsPerTaskManager: 2, min: 1, max: 4 };
  const lines: string[] = [];
  // 2 slots need 1 TaskManager; one of the three is idle: only it goes, the busy pods ranked above it
  await sizeTaskManagers(rest as any, kube as any, t, 2, (m) => lines.push(m));
  assert.deepEqual(calls, ['tm-a 2', 'tm-b 2', 'tm-c 0', 'scale 2']);
  assert.match(lines[0], /^d: 3 -> 2 TaskManager\(s\) for 2 slot\(s\): 1 idle removed$/);
  // none idle: nothing removed, however many the slots need
  calls.length = 0;
  free = [0, 0];
  await sizeTaskManagers(rest as any, kube as any, t, 2, () => undefined);
  assert.deepEqual(calls, []);
  // raised at once, within max; each change recorded as an Event
  const reported: string[] = [];
  await sizeTaskManagers(rest as any, kube as any, t, 20, () => undefined, async (reason, note) => { reported.push(`${reason}: ${note}`); });
  assert.deepEqual(calls, ['scale 4']);
  assert.deepEqual(reported, ['TaskManagersScaled: d: 2 -> 4 TaskManager(s) for 20 slot(s)']);
});

test('job autoscaler: its Events regard the TaskManager Deployment (by uid, read once); a refused Event is logged once and never stops it', async () => {
  const posted: any[] = [];
  let refuse = false;
  let uidReads = 0;
  const kube = {
    deploymentUid: async () => { uidReads++; return 'uid-1'; },
    createEvent: async (ns: string, regarding: unknown, e: unknown) => {
      if (refuse) throw new Error('recording an Event for Deployment logs/d failed: 403 forbidden');
      posted.push({ ns, regarding, e });
    },
  };
  const logs: string[] = [];
  const report = deploymentEvents(kube as any, { namespace: 'logs', deployment: 'd', selector: 's' }, (m) => logs.push(m));
  await report('Rescaled', 'job j declared parallelism 4 (was 2)');
  await report('ParallelismNotReached', 'job j runs at 2, not the declared 4', 'Warning');
  assert.equal(uidReads, 1);
  assert.deepEqual(posted[0], { ns: 'logs', regarding: { name: 'd', uid: 'uid-1' }, e: { reason: 'Rescaled', note: 'job j declared parallelism 4 (was 2)', type: 'Normal', action: 'Rescale', controller: AUTOSCALER_EVENT_CONTROLLER } });
  assert.equal(posted[1].e.type, 'Warning');
  refuse = true;
  await report('Rescaled', 'x');
  await report('Rescaled', 'y');
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^no Event recorded \(recording an Event for Deployment logs\/d failed: 403 forbidden\); the log keeps every decision$/);
});

function sessionJob(extra: Record<string, unknown> = {}, clusterExtra: Record<string, unknown> = {}) {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: 'logs' });
  const cluster = p.addSessionCluster('shared', { taskManagerPool: { max: 4 }, taskManagerSlots: 2, flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' }, ...clusterExtra } as any);
  p.addSessionJob('tail', {
    cluster, parallelism: 2, opsImage: 'ops:1.0.0',
    job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"),
    jobAutoscaler: { maxParallelism: 6, metricsWindow: Duration.minutes(3) },
    ...extra,
  } as any);
  return { p, unit: synthesizeUnit(p.unit('tail')!) };
}

test('a session job\'s jobAutoscaler synthesizes a tokenless, restricted Deployment that finds the job by name; the operator target enables the operator\'s autoscaler on the FlinkSessionJob', () => {
  const { p, unit } = sessionJob();
  const dep = unit.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'tail-autoscaler');
  assert.ok(dep, 'the autoscaler Deployment');
  const pod = dep.spec.template.spec;
  assert.deepEqual(pod.containers[0].args, [
    'autoscale', '--rest-url', 'http://shared-rest.logs.svc:8081', '--job-name', 'tail',
    '--min-parallelism', '1', '--max-parallelism', '6', '--target-utilization', '70', '--utilization-boundary', '20', '--max-scale-down', '60',
    '--catch-up', '300s', '--window', '180s', '--stabilization', '120s', '--interval', '10s',
  ]);
  assert.equal(pod.containers[0].image, 'ops:1.0.0', 'the job\'s operations image, as its submitter\'s');
  assert.equal(pod.automountServiceAccountToken, false, 'only the REST API: no Kubernetes token');
  assert.equal(pod.serviceAccountName, 'tail-submitter');
  assert.deepEqual(dep.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'tail', 'app.kubernetes.io/instance': 'tail', 'app.kubernetes.io/component': 'autoscaler' });
  assert.equal(dep.spec.template.metadata.labels['cdk8s-flink/rest-client'], 'shared');
  const submitLabels = unit.objects.find((o: any) => o.kind === 'Job').spec.template.metadata.labels;
  assert.notEqual(submitLabels['app.kubernetes.io/component'], 'autoscaler', 'its selector matches no submitter pod');
  assert.deepEqual(restrictedViolations(unit.objects), []);
  assert.ok(!unit.objects.some((o: any) => o.kind === 'Role'), 'no Role: it changes nothing in Kubernetes');
  const op = operatorResources(p.unit('tail')!, unit.objects, { sqlRunnerJarUri: 'https://artifacts.example.com/cdk8s-flink-sql-runner.jar' });
  const fsj = op.find((o: any) => o.kind === 'FlinkSessionJob');
  assert.equal(fsj.spec.flinkConfiguration['job.autoscaler.enabled'], 'true');
  assert.equal(fsj.spec.flinkConfiguration['job.autoscaler.vertex.max-parallelism'], '6');
  assert.equal(fsj.spec.flinkConfiguration['job.autoscaler.metrics.window'], '3min');
  assert.ok(!op.some((o: any) => o.kind === 'Deployment'), 'the operator runs its own autoscaler');
  assert.ok(!sessionJob({ jobAutoscaler: undefined }).unit.objects.some((o: any) => o.kind === 'Deployment'), 'none without jobAutoscaler');
});

test('a session job\'s jobAutoscaler: what its cluster lacks or it cannot own is refused in one line naming the field', () => {
  const cases: Array<[Record<string, unknown>, Record<string, unknown>, RegExp]> = [
    [{}, { flinkConfiguration: {} }, /^jobAutoscaler: "shared: default scheduler" needs the adaptive scheduler, .*'jobmanager\.scheduler': 'adaptive' \} on session cluster "shared"$/],
    [{}, { checkpointing: false }, /^jobAutoscaler: .*needs checkpointing/],
    [{ jobAutoscaler: { maxParallelism: 9 } }, {}, /^jobAutoscaler\.maxParallelism: 9 exceeds the 8 slots of session cluster "shared" at its pool's maximum/],
    [{ parallelism: 1, jobAutoscaler: { maxParallelism: 6, minParallelism: 2 } }, {}, /^parallelism: 1 is outside jobAutoscaler's 2-6/],
    [{ jobAutoscaler: { maxParallelism: 6, minTaskManagers: 2 } }, {}, /^jobAutoscaler\.minTaskManagers: 2 is for application clusters; .*taskManagerPool/],
    [{ jobAutoscaler: { maxParallelism: 6, opsImage: 'x:1' } }, {}, /^jobAutoscaler\.opsImage: "x:1" is for application clusters/],
    [{ jobAutoscaler: { maxParallelism: 6, targetUtilization: 0.7 } }, {}, /^jobAutoscaler\.targetUtilization: 0\.7 /],
    [{ flinkConfiguration: { 'restart-strategy.type': 'none' } }, {}, /^restartStrategy: "none" cannot be used with jobAutoscaler/],
  ];
  for (const [extra, clusterExtra, re] of cases) {
    assert.throws(() => sessionJob(extra, clusterExtra), (e: Error) => {
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'), e.message);
      return true;
    });
  }
});

test('job autoscaler: the job it scales: by id or name among the active jobs, the RUNNING one of several, and more than one RUNNING refused naming them', async () => {
  let jobs: Array<{ jid: string; name: string; state: string }> = [];
  const rest = { url: 'http://jm:8081', jobs: async () => jobs } as any;
  jobs = [{ jid: 'a', name: 'tail', state: 'RUNNING' }, { jid: 'b', name: 'other', state: 'RUNNING' }, { jid: 'c', name: 'tail', state: 'FINISHED' }];
  assert.equal((await scaledJob(rest, { jobName: 'tail' }))?.jid, 'a', 'the active job of that name');
  assert.equal((await scaledJob(rest, { jobId: 'b' }))?.jid, 'b');
  assert.equal(await scaledJob(rest, { jobName: 'gone' }), undefined);
  await assert.rejects(scaledJob(rest, {}), /2 active jobs on http:\/\/jm:8081 \(a "tail" RUNNING, b "other" RUNNING\); select one with --job-id or --job-name$/);
  // an upgrade's overlap: the old run stopping, the new one running under the same name
  jobs = [{ jid: 'a', name: 'tail', state: 'CANCELLING' }, { jid: 'd', name: 'tail', state: 'RUNNING' }];
  assert.equal((await scaledJob(rest, { jobName: 'tail' }))?.jid, 'd');
  jobs = [{ jid: 'a', name: 'tail', state: 'RUNNING' }, { jid: 'd', name: 'tail', state: 'RUNNING' }];
  await assert.rejects(scaledJob(rest, { jobName: 'tail' }), /2 active jobs are named "tail" .*select one with --job-id$/);
});
