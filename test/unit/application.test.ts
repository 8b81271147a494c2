import { test } from 'node:test';
import { createHash } from 'crypto';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  AntiAffinity, CheckpointingMode, EnvValue, FlinkApplication, FlinkVersion, JobSource, restrictedViolations,
  RestartStrategy, StateBackend, UpgradeMode, VolumeSource,
} from '../../lib';
import * as YAML from 'yaml';
import { FlinkPlatform } from '../../lib/platform';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { helm, writeChart } from '../support/helm-chart';
import { matchSnapshot } from '../support/snapshot';
import { ensureHelm } from '../support/tools';
import { container, find, flinkConfig, synth } from '../support/synth';

const JAR = JobSource.jar({ entryClass: 'com.example.logs.AccessLogJob', args: ['--topic', 'logs.access'] });
const DIRS = { checkpointDirectory: 's3://state/cp', savepointDirectory: 's3://state/sp' };

test('application: one JobManager Deployment running the job, TaskManagers sized for the parallelism', () => {
  const objects = synth((s) => new FlinkApplication(s, 'access-logs', { job: JAR, parallelism: 6, taskManagerSlots: 2, ...DIRS }));
  const jm = find(objects, 'Deployment', 'access-logs-jobmanager');
  const tm = find(objects, 'Deployment', 'access-logs-taskmanager');
  assert.equal(jm.spec.replicas, 1);
  assert.equal(jm.spec.strategy.type, 'Recreate');
  assert.equal(tm.spec.replicas, 3, 'ceil(6 / 2) TaskManagers');
  const args = container(jm, 'jobmanager').args;
  assert.deepEqual(args.slice(0, 3), ['standalone-job', '--job-classname', 'com.example.logs.AccessLogJob']);
  assert.deepEqual(args.slice(3, 5), ['--job-id', '$(FLINK_JOB_ID)']);
  assert.deepEqual(args.slice(-2), ['--topic', 'logs.access'], 'program args come last');
  assert.deepEqual(container(tm, 'taskmanager').args, ['taskmanager']);
  const cfg = flinkConfig(objects, 'access-logs');
  assert.equal(cfg['parallelism.default'], 6);
  assert.equal(cfg['taskmanager.numberOfTaskSlots'], 2);
  assert.equal(cfg['execution.shutdown-on-application-finish'], false);
  assert.equal(cfg['execution.checkpointing.mode'], 'EXACTLY_ONCE');
  assert.equal(cfg['execution.checkpointing.dir'], 's3://state/cp', '1.20 prefers the new key name');
  assert.match(String(cfg['env.java.default-opts.all']), /--add-opens=java.base\/java.util=ALL-UNNAMED/);
  matchSnapshot('application-basic', objects);
});

test('application: services for rpc/blob and REST, named after the job', () => {
  const objects = synth((s) => new FlinkApplication(s, 'access-logs', { job: JAR, ...DIRS }));
  const rpc = find(objects, 'Service', 'access-logs-jobmanager');
  assert.deepEqual(rpc.spec.ports.map((p: any) => [p.name, p.port]), [['rpc', 6123], ['blob-server', 6124]]);
  const rest = find(objects, 'Service', 'access-logs-rest');
  assert.deepEqual(rest.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [['rest', 8081, 'webui']]);
  assert.deepEqual(rest.spec.selector, {
    'app.kubernetes.io/name': 'access-logs', 'app.kubernetes.io/instance': 'access-logs', 'app.kubernetes.io/component': 'jobmanager',
  });
  for (const o of objects) {
    assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'cdk8s-flink', `${o.kind} labelled`);
    assert.equal(o.metadata.labels['app.kubernetes.io/version'], '1.20.5');
    assert.ok(!/[0-9a-f]{8}$/.test(o.metadata.name) || o.kind === 'Job', `${o.metadata.name} is readable, not hashed`);
  }
});

test('application: memory request = limit = Flink process size; CPU has no limit unless asked', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, jobManagerMemory: Size.mebibytes(1024), taskManagerMemory: Size.gibibytes(3), taskManagerCpu: Cpu.millis(1500),
  }));
  const jm = container(find(objects, 'Deployment', 'j-jobmanager'), 'jobmanager');
  const tm = container(find(objects, 'Deployment', 'j-taskmanager'), 'taskmanager');
  assert.deepEqual(jm.resources, { requests: { cpu: '1', memory: '1024Mi' }, limits: { memory: '1024Mi' } });
  assert.deepEqual(tm.resources, { requests: { cpu: '1500m', memory: '3072Mi' }, limits: { memory: '3072Mi' } });
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['jobmanager.memory.process.size'], '1024m');
  assert.equal(cfg['taskmanager.memory.process.size'], '3072m');
  const limited = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS, taskManagerCpuLimit: Cpu.units(2) }));
  assert.equal(container(find(limited, 'Deployment', 'k-taskmanager'), 'taskmanager').resources.limits.cpu, '2');
});

test('application: pods meet the restricted Pod Security Standard with a writable conf dir', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, highAvailability: true, highAvailabilityStorageDir: 's3://state/ha' }));
  assert.deepEqual(restrictedViolations(objects), []);
  const jm = find(objects, 'Deployment', 'j-jobmanager');
  const pod = jm.spec.template.spec;
  assert.equal(pod.securityContext.runAsUser, 9999);
  assert.equal(pod.securityContext.runAsGroup, 9999);
  const c = container(jm, 'jobmanager');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
  assert.equal(mounts['/opt/flink/conf'], 'flink-conf');
  assert.equal(mounts['/opt/flink/log'], 'flink-log');
  assert.equal(mounts['/tmp'], 'flink-tmp');
  const vols = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
  assert.deepEqual(vols['flink-conf'], { name: 'flink-conf', emptyDir: {} });
  assert.match(pod.initContainers[0].command[2], /cp -L \/opt\/flink\/conf-template\/config.yaml/);
  const tm = container(find(objects, 'Deployment', 'j-taskmanager'), 'taskmanager');
  assert.deepEqual(tm.env.find((e: any) => e.name === 'JOB_MANAGER_RPC_ADDRESS'), { name: 'JOB_MANAGER_RPC_ADDRESS', value: 'j-jobmanager' });
});

test('application: the pod template carries a checksum of the configuration, which changes with it', () => {
  const sum = (interval: number) => {
    const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, checkpointInterval: Duration.seconds(interval) }));
    return [find(objects, 'Deployment', 'j-jobmanager'), find(objects, 'Deployment', 'j-taskmanager')]
      .map((d) => d.spec.template.metadata.annotations['checksum/config']);
  };
  const [a1, a2] = sum(30);
  const [b1] = sum(60);
  assert.match(a1, /^[0-9a-f]{64}$/);
  assert.equal(a1, a2);
  assert.notEqual(a1, b1);
});

test('application: Kubernetes HA adds the namespaced Role, pod IP addressing and a token only where needed', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, highAvailability: true, highAvailabilityStorageDir: 's3://state/ha' }));
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['high-availability.type'], 'kubernetes');
  assert.equal(cfg['high-availability.storageDir'], 's3://state/ha');
  assert.equal(cfg['kubernetes.cluster-id'], 'j');
  const role = find(objects, 'Role', 'j-flink-ha');
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }]);
  const rb = find(objects, 'RoleBinding', 'j-flink-ha');
  assert.equal(rb.roleRef.kind, 'Role');
  assert.deepEqual(rb.subjects.map((x: any) => [x.kind, x.name]), [['ServiceAccount', 'j-flink']]);
  assert.ok(!objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'), 'RBAC is namespaced');
  const jm = find(objects, 'Deployment', 'j-jobmanager');
  assert.equal(jm.spec.template.spec.automountServiceAccountToken, true);
  const jmArgs = container(jm, 'jobmanager').args;
  assert.equal(jmArgs[jmArgs.indexOf('jobmanager.rpc.address=$(POD_IP)') - 1], '-D');

  const plain = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS }));
  assert.equal(find(plain, 'Deployment', 'k-jobmanager').spec.template.spec.automountServiceAccountToken, false);
  assert.equal(find(plain, 'ServiceAccount', 'k-flink').automountServiceAccountToken, false);
  assert.ok(!plain.some((o) => o.kind === 'Role'));
});

test('application: checkpointing, RocksDB incremental, restart strategy, all typed', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, flinkVersion: FlinkVersion.V2_2,
    checkpointInterval: Duration.seconds(20), checkpointTimeout: Duration.minutes(5), checkpointMinPause: Duration.seconds(2),
    unalignedCheckpoints: true, tolerableCheckpointFailures: 0, stateBackend: StateBackend.ROCKSDB,
    restartStrategy: RestartStrategy.fixedDelay(5, Duration.seconds(10)),
  }));
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['execution.checkpointing.interval'], '20s');
  assert.equal(cfg['execution.checkpointing.timeout'], '5min');
  assert.equal(cfg['execution.checkpointing.min-pause'], '2s');
  assert.equal(cfg['execution.checkpointing.unaligned.enabled'], true, '2.x name');
  assert.equal(cfg['execution.checkpointing.tolerable-failed-checkpoints'], 0);
  assert.equal(cfg['execution.checkpointing.dir'], 's3://state/cp', '2.x name');
  assert.equal(cfg['execution.checkpointing.savepoint-dir'], 's3://state/sp');
  assert.equal(cfg['state.backend.type'], 'rocksdb');
  assert.equal(cfg['execution.checkpointing.incremental'], true);
  assert.equal(cfg['taskmanager.memory.managed.fraction'], 0.4, 'RocksDB gets managed memory');
  assert.equal(cfg['restart-strategy.type'], 'fixed-delay');
  assert.equal(cfg['restart-strategy.fixed-delay.attempts'], 5);
  assert.equal(cfg['restart-strategy.fixed-delay.delay'], '10s');
  assert.ok(!('state.checkpoints.dir' in cfg) && !('execution.checkpointing.unaligned' in cfg), 'no 1.x names on 2.x');

  const alo = synth((s) => new FlinkApplication(s, 'k', { job: JAR, checkpointMode: CheckpointingMode.AT_LEAST_ONCE }));
  assert.equal(flinkConfig(alo, 'k')['execution.checkpointing.mode'], 'AT_LEAST_ONCE', 'at-least-once needs no durable directory');
});

test('application: reactive mode hands the TaskManager count to an HPA', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, reactive: true, reactiveMinTaskManagers: 2, reactiveMaxTaskManagers: 8, taskManagerSlots: 2,
  }));
  const tm = find(objects, 'Deployment', 'j-taskmanager');
  assert.equal(tm.spec.replicas, undefined, 'no templated replicas to fight the HPA');
  const hpa = find(objects, 'HorizontalPodAutoscaler', 'j-taskmanager');
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'j-taskmanager' });
  assert.equal(hpa.spec.minReplicas, 2);
  assert.equal(hpa.spec.maxReplicas, 8);
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['scheduler-mode'], 'reactive');
  assert.equal(cfg['jobmanager.adaptive-scheduler.resource-stabilization-timeout'], '1min');
  assert.ok((cfg['pipeline.max-parallelism'] as number) >= 16);
});

test('application: disruption budget, anti-affinity, node selection, tolerations, extra env and volumes', () => {
  const objects = synth((s) => {
    const app = new FlinkApplication(s, 'j', {
      job: JAR, ...DIRS, taskManagerAntiAffinity: AntiAffinity.REQUIRED,
      nodeSelector: { 'node.kubernetes.io/pool': 'flink' },
      tolerations: [{ key: 'dedicated', value: 'flink', effect: 'NoSchedule' }],
      env: { TZ: EnvValue.fromValue('UTC') },
      volumes: [{ name: 'truststore', mountPath: '/etc/kafka/tls', source: VolumeSource.secret('kafka-ca') }],
    });
    app.addEnv('KAFKA_PASSWORD', EnvValue.fromSecret('kafka', 'password'));
  });
  const pdb = find(objects, 'PodDisruptionBudget', 'j-taskmanager');
  assert.equal(pdb.spec.maxUnavailable, 1);
  const tm = find(objects, 'Deployment', 'j-taskmanager');
  const pod = tm.spec.template.spec;
  assert.equal(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(pod.nodeSelector, { 'node.kubernetes.io/pool': 'flink' });
  assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'flink', effect: 'NoSchedule' }]);
  const env = container(tm, 'taskmanager').env;
  assert.deepEqual(env.find((e: any) => e.name === 'KAFKA_PASSWORD'), { name: 'KAFKA_PASSWORD', valueFrom: { secretKeyRef: { name: 'kafka', key: 'password' } } });
  assert.ok(pod.volumes.some((v: any) => v.name === 'truststore' && v.secret.secretName === 'kafka-ca'));
  assert.ok(container(tm, 'taskmanager').volumeMounts.some((m: any) => m.name === 'truststore' && m.readOnly === true));
  const none = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS, podDisruptionBudget: false, taskManagerAntiAffinity: AntiAffinity.NONE }));
  assert.ok(!none.some((o) => o.kind === 'PodDisruptionBudget'));
  assert.equal(find(none, 'Deployment', 'k-taskmanager').spec.template.spec.affinity, undefined);
});

test('application: raw Flink keys pass through, renamed ones translated for the target version', () => {
  const v1 = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, flinkConfiguration: { 'pipeline.object-reuse': true, 'execution.state-recovery.claim-mode': 'CLAIM' } }));
  const c1 = flinkConfig(v1, 'j');
  assert.equal(c1['pipeline.object-reuse'], true);
  assert.equal(c1['execution.state-recovery.claim-mode'], 'CLAIM', '1.20 prefers the new name');
  const v118 = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, flinkVersion: FlinkVersion.V1_18, flinkConfiguration: { 'execution.state-recovery.claim-mode': 'CLAIM' } }));
  assert.equal(flinkConfig(v118, 'j')['execution.savepoint-restore-mode'], 'CLAIM', '1.18 only knows the old name');
  const v2 = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, flinkVersion: FlinkVersion.V2_0, flinkConfiguration: { 'execution.savepoint-restore-mode': 'CLAIM' } }));
  assert.equal(flinkConfig(v2, 'j')['execution.state-recovery.claim-mode'], 'CLAIM', '2.x name');
});

test('application: restore from a savepoint, a fixed job id, and the derived id is stable', () => {
  const id = '0123456789abcdef0123456789abcdef';
  const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, jobId: id, initialSavepointPath: 's3://state/sp/savepoint-1', allowNonRestoredState: true }));
  const jm = find(objects, 'Deployment', 'j-jobmanager');
  const args = container(jm, 'jobmanager').args;
  assert.equal(args[args.indexOf('--job-id') + 1], '$(FLINK_JOB_ID)', 'the job id comes from the hand-off');
  assert.deepEqual(container(jm, 'jobmanager').env.find((e: any) => e.name === 'FLINK_JOB_ID'),
    { name: 'FLINK_JOB_ID', valueFrom: { configMapKeyRef: { name: 'j-handoff', key: 'jobId' } } });
  assert.deepEqual(find(objects, 'ConfigMap', 'j-handoff').data, { jobId: id, revision: '1', savepointPath: 's3://state/sp/savepoint-1', allowNonRestoredState: 'true' });
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['execution.state-recovery.path'], undefined, 'restore keys are appended at start, never in the file');
  const init = jm.spec.template.spec.initContainers[0].command[2];
  assert.match(init, /if \[ -s \/opt\/flink\/handoff\/savepointPath \]; then printf '%s: "%s"\\n%s: %s\\n' execution.state-recovery.path .* execution.state-recovery.ignore-unclaimed-state/);
  assert.equal(jm.spec.template.metadata.annotations['cdk8s-flink/revision'], '1');
  const idOf = (o: any[], n: string) => find(o, 'ConfigMap', `${n}-handoff`).data.jobId;
  const a = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS }));
  const b = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS }));
  assert.equal(idOf(a, 'j'), idOf(b, 'j'));
  assert.equal(idOf(a, 'j'), createHash('sha256').update('cdk8s-flink/default/j').digest('hex').slice(0, 32), 'the formula the charts compute');
  const other = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS }));
  assert.notEqual(idOf(a, 'j'), idOf(other, 'k'));
});

test('application: upgrade mode defaults to savepoint when a savepoint directory exists', () => {
  const withDir = synthApp({ job: JAR, ...DIRS });
  assert.equal(withDir.upgradeMode, UpgradeMode.SAVEPOINT);
  const without = synthApp({ job: JAR, checkpointDirectory: 's3://x/cp' });
  assert.equal(without.upgradeMode, UpgradeMode.STATELESS);
});

test('application: Flink 1.18 gets the legacy flink-conf.yaml, later versions config.yaml', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, flinkVersion: FlinkVersion.V1_18 }));
  const cm = find(objects, 'ConfigMap', 'j-config');
  assert.ok(cm.data['flink-conf.yaml']);
  assert.equal(cm.data['config.yaml'], undefined);
  assert.match(cm.data['flink-conf.yaml'], /^state\.checkpoints\.dir: s3:\/\/state\/cp$/m);
  assert.match(find(objects, 'Deployment', 'j-jobmanager').spec.template.spec.initContainers[0].command[2], /flink-conf\.yaml/);
  assert.equal(cm.data['log4j-console.properties'].includes('RollingFileAppender'), true, 'file log kept for the web UI');
});

function synthApp(props: ConstructorParameters<typeof FlinkApplication>[2]): FlinkApplication {
  let app!: FlinkApplication;
  synth((s) => { app = new FlinkApplication(s, 'j', props); });
  return app;
}

test('application: standbyTaskManagers run beyond the parallelism\'s need, in the Deployment, chart values, alerts and operator output', () => {
  const platform = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  const app = platform.addApplication('j', { job: JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' }), parallelism: 4, taskManagerSlots: 2, standbyTaskManagers: 1 });
  assert.equal(app.taskManagerReplicas, 3, 'ceil(4 / 2) + 1 standby');
  assert.equal(app.standbyTaskManagers, 1);
  assert.equal(app.parallelism, 4, 'the standby slots are not used by the parallelism');
  const [u] = synthesizePlatform(platform);
  assert.equal(find(u.objects, 'Deployment', 'j-taskmanager').spec.replicas, 3);
  const cfg = flinkConfig(u.objects, 'j');
  assert.equal(cfg['parallelism.default'], 4);
  assert.equal(cfg['slotmanager.redundant-taskmanager-num'], undefined, 'standalone: the Deployment keeps the standby');
  assert.equal(cfg['heartbeat.interval'], '1s', 'the lost TaskManager is released in about 2 s, so the restart takes the standby');
  const values = YAML.parse(u.chart['values.yaml']);
  assert.equal(values.taskManager.replicas, 3, 'chart default = the synthesized count');
  assert.match(u.chart['values.yaml'], /1 of them standby beyond what job\.parallelism needs/);
  const rules = JSON.stringify(u.objects.filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ConfigMap'));
  assert.match(rules, /numRegisteredTaskManagers\{[^}]*\}\) < 3/, 'the missing-TaskManager alert counts the standby');
  const fd = operatorResources(platform.unit('j')!, u.objects).find((o) => o.kind === 'FlinkDeployment');
  assert.equal(fd.spec.mode, 'native');
  assert.equal(fd.spec.flinkConfiguration['slotmanager.redundant-taskmanager-num'], '1', 'native: the JobManager keeps the standby');
  assert.equal(fd.spec.job.parallelism, 4);
  // Without the option: no standby anywhere.
  const none = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS, parallelism: 4, taskManagerSlots: 2 }));
  assert.equal(find(none, 'Deployment', 'k-taskmanager').spec.replicas, 2);
  assert.equal(flinkConfig(none, 'k')['heartbeat.interval'], '5s');
});

test('application: spareSlotsPerTaskManager keeps free slots on every TaskManager, spread evenly, in the config, chart values, chart guard and operator output', async () => {
  const platform = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  const app = platform.addApplication('j', { job: JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' }), parallelism: 4, taskManagerSlots: 2, spareSlotsPerTaskManager: 1, taskManagerReplicas: 3 });
  assert.deepEqual([app.taskManagerReplicas, app.taskManagerSlots, app.spareSlotsPerTaskManager, app.parallelism], [3, 2, 1, 4], 'no TaskManager added');
  const [u] = synthesizePlatform(platform);
  assert.equal(find(u.objects, 'Deployment', 'j-taskmanager').spec.replicas, 3);
  const cfg = flinkConfig(u.objects, 'j');
  assert.equal(cfg['taskmanager.numberOfTaskSlots'], 3, 'the job\'s 2 slots and 1 spare');
  assert.equal(cfg['taskmanager.load-balance.mode'], 'slots', 'every TaskManager runs part of the job');
  assert.equal(cfg['heartbeat.interval'], '1s', 'the lost TaskManager is released in about 2 s');
  assert.equal(cfg['parallelism.default'], 4);
  assert.match(u.chart['values.yaml'], /2 slots each for the job and 1 spare/);
  const fd = operatorResources(platform.unit('j')!, u.objects).find((o) => o.kind === 'FlinkDeployment');
  assert.equal(fd.spec.flinkConfiguration['slotmanager.number-of-slots.min'], '9', 'native: 3 TaskManagers of 3 slots kept');
  assert.equal(fd.spec.flinkConfiguration['taskmanager.load-balance.mode'], 'slots');
  // the chart refuses replicas whose survivors cannot hold the job: 2 x 3 slots -> 1 x 3 < 4
  const bin = await ensureHelm(4);
  const dir = writeChart(u);
  try {
    assert.equal(helm(bin, ['template', 'j', dir]).code, 0);
    const few = helm(bin, ['template', 'j', dir, '--set', 'taskManager.replicas=2']);
    assert.notEqual(few.code, 0);
    assert.match(few.stderr, /taskManager\.replicas: 2 TaskManagers of 3 slots \(1 spare\) cannot hold job\.parallelism 4 after losing one/);
    assert.equal(helm(bin, ['template', 'j', dir, '--set', 'taskManager.replicas=2', '--set', 'job.parallelism=3']).code, 0, '1 x 3 slots hold 3 tasks');
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  // too few survivors, one TaskManager, with reactive mode or standby TaskManagers: refused
  const j = { job: JAR, ...DIRS };
  assert.throws(() => synth((s) => new FlinkApplication(s, 'a', { ...j, parallelism: 4, taskManagerSlots: 2, spareSlotsPerTaskManager: 1 })),
    /spareSlotsPerTaskManager: 1 leaves 1 TaskManager\(s\) x 3 slots after losing one, too few for the job's 4 tasks; expected at least 2, or more TaskManagers$/);
  assert.throws(() => synth((s) => new FlinkApplication(s, 'b', { ...j, parallelism: 2, taskManagerSlots: 2, spareSlotsPerTaskManager: 2 })), /spareSlotsPerTaskManager: 2 needs at least 2 TaskManagers/);
  assert.doesNotThrow(() => synth((s) => new FlinkApplication(s, 'c', { ...j, parallelism: 4, taskManagerSlots: 2, spareSlotsPerTaskManager: 2 })));
});
