/**
 * A session cluster's TaskManager pool that follows demand: the decision of each round
 * (lib/ops/pool.ts) and the objects the definition gives (lib/cluster/task-manager-pool.ts).
 * The loop against a real JobManager and API server, with pods, is in test/e2e/e2e-node-ha.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { FlinkPlatform, FlinkSessionCluster, FlinkSessionJob, JobSource, restrictedViolations } from '../../lib';
import { FlinkRest, RestAnswerError } from '../../lib/ops/flink-rest';
import { decide, jobDemand, jobSlots, KnownJob, PoolSpec, PoolTaskManager, taskManagerIp, wantedTaskManagers } from '../../lib/ops/pool';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { OBJECTS_TEMPLATE } from '../../lib/helm/template-files';
import { container, find, synth } from '../support/synth';

const SPEC: PoolSpec = { min: 1, max: 5, slotsPerTaskManager: 2, spareSlots: 0, scaleDownDelayMs: 60_000 };
const tm = (ip: string, used: number, slots = 2): PoolTaskManager => ({ ip, slots, freeSlots: slots - used });
const SQL = JobSource.sql("CREATE TABLE s (x INT) WITH ('connector' = 'datagen');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;");

test('pool: the count the demand asks for, with spare slots, within min and max', () => {
  assert.equal(wantedTaskManagers(SPEC, 0, 0), 1, 'min with no job');
  assert.equal(wantedTaskManagers({ ...SPEC, min: 0 }, 0, 0), 0);
  assert.equal(wantedTaskManagers(SPEC, 3, 0), 2, '3 slots in TaskManagers of 2');
  assert.equal(wantedTaskManagers(SPEC, 4, 0), 2);
  assert.equal(wantedTaskManagers({ ...SPEC, spareSlots: 1 }, 4, 0), 3, 'a spare slot needs a third TaskManager');
  assert.equal(wantedTaskManagers(SPEC, 2, 6), 3, 'slots in use count when they are more than the jobs\' parallelism says');
  assert.equal(wantedTaskManagers(SPEC, 40, 0), 5, 'max');
});

test('pool: grows at once; shrinks only after the delay, and only by idle TaskManagers', () => {
  // a job of parallelism 6 waits for slots: up at once, from 1 to 3
  const up = decide(SPEC, { now: 0, replicas: 1, taskManagers: [tm('10.0.0.1', 0)], demandSlots: 6 }, {});
  assert.equal(up.replicas, 3);
  assert.match(up.reason, /^demand 6 slot\(s\), 0 in use, 0 spare: 3 TaskManager\(s\) wanted, 1 now: scaling up$/);
  // steady
  const steady = decide(SPEC, { now: 10, replicas: 3, taskManagers: [tm('a', 2), tm('b', 2), tm('c', 2)], demandSlots: 6 }, {});
  assert.equal(steady.replicas, 3);
  assert.deepEqual(steady.state, {});
  // the job is gone (demand 2, one TaskManager busy): waits for the delay, remembering since when
  const tms = [tm('a', 0), tm('b', 2), tm('c', 0)];
  const first = decide(SPEC, { now: 1_000, replicas: 3, taskManagers: tms, demandSlots: 2 }, {});
  assert.equal(first.replicas, 3);
  assert.deepEqual(first.state, { surplusSince: 1_000 });
  assert.match(first.reason, /: 2 idle TaskManager\(s\) go in 60 s unless the demand returns$/);
  const waiting = decide(SPEC, { now: 60_999, replicas: 3, taskManagers: tms, demandSlots: 2 }, first.state);
  assert.equal(waiting.replicas, 3);
  assert.match(waiting.reason, /: 2 idle TaskManager\(s\), removable for 60 s of 60 s$/);
  const down = decide(SPEC, { now: 61_000, replicas: 3, taskManagers: tms, demandSlots: 2 }, waiting.state);
  assert.equal(down.replicas, 1);
  assert.match(down.reason, /scaling down by 2 idle TaskManager\(s\)$/);
  assert.deepEqual(down.state, {});
  // a surplus that ends (a new job) starts the delay over
  const back = decide(SPEC, { now: 30_000, replicas: 3, taskManagers: tms, demandSlots: 6 }, first.state);
  assert.deepEqual(back.state, {});
});

test('pool: never removes a TaskManager with a slot in use; pods not registered yet go first', () => {
  // demand 2 but the used slots are spread over two TaskManagers: only the idle third may go
  const spread = [tm('a', 1), tm('b', 1), tm('c', 0)];
  const d = decide(SPEC, { now: 100_000, replicas: 3, taskManagers: spread, demandSlots: 2 }, { surplusSince: 0 });
  assert.equal(d.replicas, 2);
  const none = decide(SPEC, { now: 100_000, replicas: 2, taskManagers: [tm('a', 1), tm('b', 1)], demandSlots: 2 }, { surplusSince: 0 });
  assert.equal(none.replicas, 2);
  assert.match(none.reason, /no idle TaskManager to remove$/);
  assert.deepEqual(none.state, {}, 'the clock starts over: a TaskManager that becomes idle later waits the whole delay');
  const later = decide(SPEC, { now: 200_000, replicas: 2, taskManagers: [tm('a', 2), tm('b', 0)], demandSlots: 2 }, none.state);
  assert.equal(later.replicas, 2, 'b just became idle: it waits');
  assert.deepEqual(later.state, { surplusSince: 200_000 });
  // no delay: at once
  assert.equal(decide({ ...SPEC, scaleDownDelayMs: 0 }, { now: 5, replicas: 2, taskManagers: [tm('a', 2), tm('b', 0)], demandSlots: 2 }, {}).replicas, 1);
  // 4 pods, 2 registered (both busy): the 2 starting ones are removable
  const starting = decide(SPEC, { now: 100_000, replicas: 4, taskManagers: [tm('a', 2), tm('b', 2)], demandSlots: 4 }, { surplusSince: 0 });
  assert.equal(starting.replicas, 2);
});

test('pool: a TaskManager\'s IP from its RPC path; a job\'s slots from its most parallel vertex', () => {
  assert.equal(taskManagerIp('pekko.tcp://flink@10.244.0.12:6122/user/rpc/taskmanager_0'), '10.244.0.12');
  assert.equal(taskManagerIp('akka.tcp://flink@10.1.2.3:6122/user/rpc/taskmanager_0'), '10.1.2.3');
  assert.equal(taskManagerIp('pekko.tcp://flink@[fd00::5]:6122/user/rpc/taskmanager_0'), 'fd00::5');
  assert.equal(taskManagerIp('no address'), undefined);
  assert.equal(jobSlots([{ parallelism: 2 }, { parallelism: 4 }, { parallelism: 1 }]), 4);
  assert.equal(jobSlots([]), 0);
});

/**
 * A JobManager's answers about one job, counted: `requirements` (the adaptive scheduler's
 * declared upper bounds by vertex) or a status the call is answered with, and the vertices.
 */
function fakeJobManager(o: { requirements?: Record<string, number>; refuse?: number; unreachable?: boolean; vertices: number[] }) {
  const calls = { requirements: 0, job: 0 };
  const rest = {
    async declaredParallelism(_jid: string): Promise<Map<string, number>> {
      calls.requirements++;
      if (o.unreachable) throw new Error('Flink REST at http://jm:8081 is unreachable (ECONNREFUSED) after 4 attempts');
      if (o.refuse) throw new RestAnswerError(`Flink REST GET /jobs/j/resource-requirements answered ${o.refuse}: UnsupportedOperationException`, o.refuse);
      return new Map(Object.entries(o.requirements ?? {}));
    },
    async request(_method: string, _path: string): Promise<unknown> {
      calls.job++;
      return { vertices: o.vertices.map((parallelism) => ({ parallelism })) };
    },
  };
  return { rest: rest as unknown as FlinkRest, calls, o };
}

test('pool: a job\'s demand is its declared parallelism under the adaptive scheduler (read every round), else its vertices\' (read once)', async () => {
  const known = new Map<string, KnownJob>();
  // the adaptive scheduler: the upper bounds, also while the job runs lower for want of slots
  const adaptive = fakeJobManager({ requirements: { a: 3, b: 2 }, vertices: [2, 2] });
  assert.equal(await jobDemand(adaptive.rest, { jid: 'j1', state: 'RUNNING' }, known), 3);
  // rescaled while it runs (the job autoscaler's or a user's PUT): the next round follows
  adaptive.o.requirements = { a: 5, b: 5 };
  assert.equal(await jobDemand(adaptive.rest, { jid: 'j1', state: 'RUNNING' }, known), 5);
  assert.deepEqual(adaptive.calls, { requirements: 2, job: 0 });

  // the default scheduler refuses the call: its vertices, and it is not asked again
  const fixed = fakeJobManager({ refuse: 500, vertices: [4, 1] });
  assert.equal(await jobDemand(fixed.rest, { jid: 'j2', state: 'RUNNING' }, known), 4);
  assert.equal(await jobDemand(fixed.rest, { jid: 'j2', state: 'RUNNING' }, known), 4);
  assert.deepEqual(fixed.calls, { requirements: 1, job: 1 });
  assert.deepEqual(known.get('j2'), { refusesRequirements: true, vertexSlots: 4 });

  // a job still initializing has no JobMaster to answer: asked again once it runs
  const starting = fakeJobManager({ refuse: 404, vertices: [] });
  assert.equal(await jobDemand(starting.rest, { jid: 'j3', state: 'INITIALIZING' }, known), 0);
  assert.equal(known.get('j3'), undefined, 'nothing remembered of a job with no vertices yet');
  starting.o.refuse = undefined;
  starting.o.requirements = { a: 2 };
  assert.equal(await jobDemand(starting.rest, { jid: 'j3', state: 'RUNNING' }, known), 2);

  // no answer at all: the round fails (the pool lowers nothing on a failed observation)
  const gone = fakeJobManager({ unreachable: true, vertices: [3] });
  await assert.rejects(jobDemand(gone.rest, { jid: 'j4', state: 'RUNNING' }, known), /unreachable/);
});

test('pool: the definition gives a pool Deployment and least-privilege RBAC, and a TaskManager Deployment without replicas', () => {
  let cluster!: FlinkSessionCluster;
  const objects = synth((s) => {
    cluster = new FlinkSessionCluster(s, 'shared', {
      namespace: 'logs', checkpointDirectory: 's3://st/cp', taskManagerSlots: 2,
      taskManagerPool: { min: 1, max: 6, spareSlots: 1, scaleDownDelay: Duration.minutes(2), opsImage: 'registry.example.com/cdk8s-flink-ops:0.1.0' },
    });
  });
  assert.equal(find(objects, 'Deployment', 'shared-taskmanager').spec.replicas, undefined, 'the pool owns the count');
  assert.equal(cluster.totalSlots, 12, 'a session job may use the slots of max TaskManagers');
  const pool = find(objects, 'Deployment', 'shared-pool');
  assert.equal(pool.spec.replicas, 1);
  assert.equal(pool.spec.strategy.type, 'Recreate', 'never two pools at once');
  const c = container(pool, 'pool');
  assert.equal(c.image, 'registry.example.com/cdk8s-flink-ops:0.1.0');
  assert.deepEqual(c.args, [
    'pool', '--rest-url', 'http://shared-rest:8081', '--deployment', 'shared-taskmanager',
    '--selector', 'app.kubernetes.io/name=shared,app.kubernetes.io/instance=shared,app.kubernetes.io/component=taskmanager',
    '--slots-per-task-manager', '2', '--min', '1', '--max', '6', '--spare-slots', '1', '--scale-down-delay', '120s', '--interval', '10s',
  ]);
  assert.equal(pool.spec.template.metadata.labels['cdk8s-flink/rest-client'], 'shared', 'the NetworkPolicy lets it call the REST API');
  assert.equal(pool.spec.template.spec.serviceAccountName, 'shared-pool');
  assert.deepEqual(find(objects, 'Role', 'shared-pool').rules, [
    { apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: ['shared-taskmanager'], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'patch'] },
  ]);
  const binding = find(objects, 'RoleBinding', 'shared-pool');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'shared-pool', namespace: 'logs' }]);
  assert.equal(binding.roleRef.name, 'shared-pool');
  assert.equal(find(objects, 'ServiceAccount', 'shared-pool').automountServiceAccountToken, true);
  assert.equal(find(objects, 'ServiceAccount', 'shared-flink').automountServiceAccountToken, false, 'the Flink pods still get no token');
  assert.deepEqual(restrictedViolations(objects), []);
});

test('pool: refused with one line naming the field and the value', () => {
  const build = (props: object) => () => synth((s) => new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://st/cp', ...props } as any));
  assert.throws(build({ taskManagerReplicas: 3, taskManagerPool: { max: 4 } }), /^ValidationError: taskManagerReplicas: 3 is set together with taskManagerPool, which owns the TaskManager count; expected one of them$/);
  assert.throws(build({ taskManagerPool: { min: 5, max: 4 } }), /^ValidationError: taskManagerPool.min: 5 is above taskManagerPool.max \(4\); expected at most 4$/);
  assert.throws(build({ taskManagerPool: { max: 0 } }), /^ValidationError: taskManagerPool.max: 0 is invalid; expected an integer between 1 and 1000$/);
  assert.throws(build({ taskManagerPool: {} }), /^ValidationError: taskManagerPool.max: \(missing\) is invalid; expected an integer between 1 and 1000$/);
  assert.throws(build({ taskManagerPool: { max: 2, spareSlots: -1 } }), /^ValidationError: taskManagerPool.spareSlots: -1 is invalid/);
  assert.throws(build({ taskManagerPool: { max: 2, scaleDownDelay: Duration.millis(1500) } }), /^ValidationError: taskManagerPool.scaleDownDelay: "1500ms" is invalid; expected whole seconds between 0s and 86400s$/);
  assert.throws(build({ taskManagerPool: { max: 2, interval: Duration.seconds(0) } }), /^ValidationError: taskManagerPool.interval: .* is invalid; expected whole seconds between 1s and 3600s$/);
  assert.throws(build({ taskManagerPool: { max: 2, opsImage: 'ops:latest' } }), /^ValidationError: taskManagerPool.opsImage: /);
});

test('pool: the platform\'s image registry names the pool\'s image; the chart takes its settings as values', () => {
  const platform = new FlinkPlatform({ imageRegistry: 'registry.example.com/flink' });
  const cluster = platform.addSessionCluster('shared', { namespace: 'logs', checkpointDirectory: 's3://st/cp', taskManagerPool: { max: 3 } });
  platform.addSessionJob('errors', { cluster, job: SQL, parallelism: 6 });
  const u = synthesizeUnit(platform.unit('shared')!);
  assert.equal(container(find(u.objects, 'Deployment', 'shared-pool'), 'pool').image, 'registry.example.com/flink/cdk8s-flink-ops:0.1.0');
  const values = u.chart['values.yaml'];
  assert.match(values, /\n {2}pool:\n(.*\n)* {4}min: 1\n(.*\n)* {4}max: 3\n(.*\n)* {4}scaleDownDelay: 300s\n/);
  assert.doesNotMatch(values, /\n {2}replicas:/, 'no taskManager.replicas: the pool owns the count');
  const schema = JSON.parse(u.chart['values.schema.json']);
  assert.deepEqual(Object.keys(schema.properties.taskManager.properties.pool.properties).sort(), ['image', 'interval', 'max', 'min', 'scaleDownDelay', 'spareSlots']);
  assert.match(u.chart['templates/_helpers.tpl'], /taskManager\.pool\.min: %d is above taskManager\.pool\.max/);
  assert.match(u.chart[OBJECTS_TEMPLATE], /- \{\{ \.Values\.taskManager\.pool\.max \| quote \}\}/);
  // a session job may take the slots of the pool's most TaskManagers (3 x 2), no more
  const objects = synth((s) => {
    const c = new FlinkSessionCluster(s, 'wide', { checkpointDirectory: 's3://st/cp', taskManagerPool: { max: 3 } });
    new FlinkSessionJob(s, 'six', { cluster: c, job: SQL, parallelism: 6, opsImage: 'ops:1.0.0' });
    assert.throws(() => new FlinkSessionJob(s, 'seven', { cluster: c, job: SQL, parallelism: 7, opsImage: 'ops:1.0.0' }), /^ValidationError: parallelism: 7 /);
  });
  find(objects, 'ConfigMap', 'six-job');
});

test('pool: the operator target gives the native session cluster the same bounds as its own settings', () => {
  const platform = new FlinkPlatform();
  platform.addSessionCluster('shared', { namespace: 'logs', checkpointDirectory: 's3://st/cp', taskManagerSlots: 2, taskManagerPool: { min: 1, max: 4, spareSlots: 3, scaleDownDelay: Duration.minutes(2) } });
  const unit = platform.unit('shared')!;
  const out = operatorResources(unit, synthesizeUnit(unit).objects);
  const fd = out.find((o) => o.kind === 'FlinkDeployment');
  assert.equal(fd.spec.mode, 'native');
  assert.deepEqual(Object.fromEntries(Object.entries(fd.spec.flinkConfiguration).filter(([k]) => /^(slotmanager|resourcemanager)\./.test(k))), {
    'slotmanager.number-of-slots.min': '2',
    'slotmanager.number-of-slots.max': '8',
    'slotmanager.redundant-taskmanager-num': '2',
    'resourcemanager.taskmanager-timeout': '120000 ms',
  });
  assert.ok(!out.some((o) => o.metadata?.name === 'shared-pool'), 'the operator\'s JobManager scales itself: no pool objects');
});
