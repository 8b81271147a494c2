import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkPlatform, FlinkSessionCluster, FlinkSessionJob, FlinkVersion, JobSource, restrictedViolations, UpgradeMode } from '../../lib';
import { matchSnapshot } from '../support/snapshot';
import { container, find, flinkConfig, synth } from '../support/synth';

const SQL = JobSource.sql("CREATE TABLE s (x INT) WITH ('connector' = 'datagen');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;");

test('session cluster: JobManager runs "jobmanager", TaskManagers are a shared pool; no job in the config', () => {
  const objects = synth((s) => new FlinkSessionCluster(s, 'shared', { taskManagerReplicas: 3, taskManagerSlots: 4, checkpointDirectory: 's3://st/cp' }));
  const jm = find(objects, 'Deployment', 'shared-jobmanager');
  assert.deepEqual(container(jm, 'jobmanager').args, ['jobmanager']);
  assert.equal(find(objects, 'Deployment', 'shared-taskmanager').spec.replicas, 3);
  const cfg = flinkConfig(objects, 'shared');
  assert.equal(cfg['taskmanager.numberOfTaskSlots'], 4);
  assert.equal(cfg['parallelism.default'], undefined);
  assert.equal(cfg['execution.shutdown-on-application-finish'], undefined);
  assert.deepEqual(restrictedViolations(objects), []);
  matchSnapshot('session-cluster', objects);
});

test('session cluster: HA runs a standby JobManager with a disruption budget', () => {
  const objects = synth((s) => new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://st/cp', highAvailability: true, highAvailabilityStorageDir: 's3://st/ha' }));
  assert.equal(find(objects, 'Deployment', 'shared-jobmanager').spec.replicas, 2);
  assert.equal(find(objects, 'PodDisruptionBudget', 'shared-jobmanager').spec.maxUnavailable, 1);
  find(objects, 'Role', 'shared-flink-ha');
  // a jar uploaded to one JobManager is run on the same one (the submitters' upload, then run)
  assert.equal(find(objects, 'Service', 'shared-rest').spec.sessionAffinity, 'ClientIP');
});

test('session cluster: one JobManager, no REST session affinity', () => {
  const objects = synth((s) => new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://st/cp', highAvailability: true, highAvailabilityStorageDir: 's3://st/ha', jobManagerReplicas: 1 }));
  assert.equal(find(objects, 'Service', 'shared-rest').spec.sessionAffinity, undefined);
});

test('session job: a spec ConfigMap and a submitter Job named by the spec hash, restricted and tokenless', () => {
  let cluster!: FlinkSessionCluster;
  let job!: FlinkSessionJob;
  const objects = synth((s) => {
    cluster = new FlinkSessionCluster(s, 'shared', { namespace: 'logs', checkpointDirectory: 's3://st/cp', savepointDirectory: 's3://st/sp', flinkVersion: FlinkVersion.V2_1 });
    job = new FlinkSessionJob(s, 'errors', { cluster, job: SQL, parallelism: 2, opsImage: 'ops:1.0.0' });
  });
  const cm = find(objects, 'ConfigMap', 'errors-job');
  const spec = JSON.parse(cm.data['job.json']);
  assert.equal(spec.restUrl, 'http://shared-rest.logs.svc:8081');
  assert.equal(spec.parallelism, 2);
  assert.equal(spec.kind, 'sql');
  assert.equal(spec.upgradeMode, UpgradeMode.SAVEPOINT);
  assert.equal(spec.flinkVersion, '2.1.1');
  assert.equal(spec.jobId, job.jobId);
  assert.match(cm.data['pipeline.sql'], /INSERT INTO t/);
  const submit = objects.find((o) => o.kind === 'Job')!;
  assert.match(submit.metadata.name, /^errors-submit-[0-9a-f]{8}$/);
  assert.equal(submit.metadata.namespace, 'logs');
  const pod = submit.spec.template.spec;
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.restartPolicy, 'Never');
  assert.deepEqual(container(submit, 'submit').args.slice(0, 3), ['submit', '--spec', '/etc/cdk8s-flink/job/job.json']);
  assert.ok(submit.spec.activeDeadlineSeconds > 0 && submit.spec.backoffLimit > 0, 'bounded');
  assert.deepEqual(restrictedViolations(objects), []);
  matchSnapshot('session-job', objects.filter((o) => o.metadata.name.startsWith('errors')));

  const changed = synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { namespace: 'logs', checkpointDirectory: 's3://st/cp', savepointDirectory: 's3://st/sp', flinkVersion: FlinkVersion.V2_1 });
    new FlinkSessionJob(s, 'errors', { cluster: c, job: SQL, parallelism: 3, opsImage: 'ops:1.0.0' });
  });
  assert.notEqual(changed.find((o) => o.kind === 'Job')!.metadata.name, submit.metadata.name, 'a changed spec gets a new submitter');
});

test('platform: session jobs are checked against their cluster across charts', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://st' });
  const c = p.addSessionCluster('shared', { taskManagerReplicas: 1, taskManagerSlots: 2 });
  p.addSessionJob('a', { cluster: c, job: SQL, parallelism: 2, opsImage: 'ops:1' });
  p.addSessionJob('b', { cluster: c, job: SQL, parallelism: 1, opsImage: 'ops:1' });
  const problems = p.crossCheck();
  assert.equal(problems.length, 1);
  assert.match(problems[0], /session cluster "shared": its jobs \(a, b\) need 3 slots but it has 2/);
});

test('platform: storage base directory gives each cluster its own checkpoint, savepoint and HA folders', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://st/flink/' });
  const app = p.addApplication('a', { job: SQL, highAvailability: true });
  assert.equal(app.checkpointDirectory, 's3://st/flink/a/checkpoints');
  assert.equal(app.savepointDirectory, 's3://st/flink/a/savepoints');
  assert.equal(app.configuration.get('high-availability.storageDir'), 's3://st/flink/a/ha');
});
