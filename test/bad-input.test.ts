import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  CheckpointingMode, EnvValue, FieldType, FlinkApplication, FlinkApplicationProps, FlinkPlatform, FlinkSessionCluster,
  FlinkSessionJob, FlinkVersion, JobSource, LogPipeline, RestartStrategy, Sink, StateBackend, UpgradeMode, ValidationError,
  VolumeSource,
} from '../lib';
import { synth } from './support/synth';

const JAR = JobSource.jar({ entryClass: 'com.example.Job' });
const OK: FlinkApplicationProps = { job: JAR, checkpointDirectory: 's3://b/cp', savepointDirectory: 's3://b/sp' };
const app = (props: Partial<FlinkApplicationProps>, name = 'job') => () => synth((s) => new FlinkApplication(s, name, { ...OK, ...props } as FlinkApplicationProps));
const SRC = { bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g', fields: { msg: FieldType.STRING } };
const pipeline = (p: any) => () => new LogPipeline({ source: SRC, sinks: [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'out' })], ...p });

/** [what is wrong, the definition, the field and value the one-line message must name]. */
const CASES: [string, () => unknown, RegExp][] = [
  ['zero parallelism', app({ parallelism: 0 }), /^parallelism: 0 is invalid; expected an integer between 1 and 32768$/],
  ['negative parallelism', app({ parallelism: -3 }), /^parallelism: -3 /],
  ['fractional parallelism', app({ parallelism: 1.5 }), /^parallelism: 1.5 /],
  ['parallelism above total slots', app({ parallelism: 9, taskManagerReplicas: 2, taskManagerSlots: 4 }), /^parallelism: 9 exceeds the 8 slots of 2 TaskManagers x 4 slots; raise taskManagerReplicas/],
  ['zero slots', app({ taskManagerSlots: 0 }), /^taskManagerSlots: 0 is invalid/],
  ['zero TaskManagers', app({ taskManagerReplicas: 0 }), /^taskManagerReplicas: 0 is invalid/],
  ['TaskManager memory below Flink minimum', app({ taskManagerMemory: Size.mebibytes(700) }), /^taskManagerMemory: "700Mi" is below Flink's minimum; .* expected at least \d+Mi$/],
  ['JobManager memory below Flink minimum', app({ jobManagerMemory: Size.mebibytes(512) }), /^jobManagerMemory: "512Mi" is below Flink's minimum/],
  ['fractional MiB memory', app({ taskManagerMemory: Size.kibibytes(2_000_000) }), /^taskManagerMemory: "2000000Ki" is invalid; expected a whole number of mebibytes$/],
  ['name with upper case', app({}, 'AccessLogs'), /^name: "AccessLogs" is not a valid name; expected a DNS-1035 label of at most 40 characters/],
  ['name with underscore', app({}, 'access_logs'), /^name: "access_logs" is not a valid name/],
  ['name starting with a digit', app({}, '1logs'), /^name: "1logs" is not a valid name/],
  ['name too long', app({}, 'a'.repeat(41)), /^name: "a{41}" is not a valid name; expected a DNS-1035 label of at most 40/],
  ['exactly-once without a checkpoint dir', app({ checkpointDirectory: undefined, savepointDirectory: undefined }), /^checkpointDirectory: \(missing\) is required with exactly-once checkpointing/],
  ['checkpoint dir not a URI', app({ checkpointDirectory: '/data/cp' }), /^checkpointDirectory: "\/data\/cp" is not a URI/],
  ['HA without a storage dir', app({ highAvailability: true }), /^highAvailabilityStorageDir: \(missing\) is required with highAvailability/],
  ['HA storage dir without HA', app({ highAvailabilityStorageDir: 's3://b/ha' }), /^highAvailabilityStorageDir: "s3:\/\/b\/ha" is set but highAvailability is false/],
  ['standby JobManagers without HA', app({ jobManagerReplicas: 2 }), /^jobManagerReplicas: 2 needs highAvailability: true/],
  ['removed 2.x key', app({ flinkVersion: FlinkVersion.V2_0, flinkConfiguration: { 'taskmanager.heap.size': '1g' } }), /^flinkConfiguration\["taskmanager.heap.size"\]: "1g" sets a key removed in Flink 2.0; use taskmanager.memory.process.size/],
  ['removed 2.x key state.backend.async', app({ flinkVersion: FlinkVersion.V2_2, flinkConfiguration: { 'state.backend.async': true } }), /^flinkConfiguration\["state.backend.async"\]: true sets a key removed in Flink 2.0; remove it: snapshots are always asynchronous in 2.x$/],
  ['deprecated alias of a typed key', app({ flinkVersion: FlinkVersion.V2_2, flinkConfiguration: { 'state.backend': 'rocksdb' } }), /^flinkConfiguration\["state.backend"\]: "rocksdb" duplicates Flink key "state.backend.type" \(the 2.2 name of "state.backend"\), which stateBackend already sets/],
  ['misspelled Flink key', app({ flinkConfiguration: { 'taskmanager.numberOfTaskSlot': 4 } }), /^flinkConfiguration key: "taskmanager.numberOfTaskSlot" is not a Flink 1.20 option; did you mean "taskmanager.numberOfTaskSlots"\?$/],
  ['raw key duplicating a typed prop', app({ flinkConfiguration: { 'parallelism.default': 4 } }), /^flinkConfiguration\["parallelism.default"\]: 4 duplicates Flink key "parallelism.default", which parallelism sets; change that prop instead$/],
  ['raw key duplicating a typed prop by its old name', app({ flinkVersion: FlinkVersion.V2_2, flinkConfiguration: { 'state.checkpoints.dir': 's3://x' } }), /^flinkConfiguration\["state.checkpoints.dir"\]: "s3:\/\/x" duplicates Flink key "execution.checkpointing.dir"/],
  ['raw key duplicating a typed prop by its old name on 1.20', app({ flinkConfiguration: { 'state.savepoints.dir': 's3://x' } }), /^flinkConfiguration\["state.savepoints.dir"\]: "s3:\/\/x" duplicates Flink key "execution.checkpointing.savepoint-dir"/],
  ['raw key that is a prefix of a typed key', app({ flinkVersion: FlinkVersion.V1_20, flinkConfiguration: { 'restart-strategy.exponential-delay': 'x' } }), /is a prefix|a prefix of/],
  ['raw credential in the config', app({ flinkConfiguration: { 'fs.s3a.secret.key': 'abc' } }), /^flinkConfiguration\["fs.s3a.secret.key"\]: "\*\*\*" looks like a credential/],
  ['raw value of the wrong type', app({ flinkConfiguration: { 'pipeline.name': { a: 1 } as any } }), /^flinkConfiguration\["pipeline.name"\]: \{"a":1\} is invalid; expected a string, number or boolean$/],
  ['image without a tag', app({ image: 'flink' }), /^image: "flink" is not pinned; expected a tag or digest/],
  ['image :latest', app({ image: 'registry.example.com/flink:latest' }), /^image: "registry.example.com\/flink:latest" uses the moving tag "latest"/],
  ['image with a port but no tag', app({ image: 'registry:5000/flink' }), /^image: "registry:5000\/flink" is not pinned/],
  ['image with a bad digest', app({ image: 'flink@sha256:abc' }), /^image: "flink@sha256:abc" has an invalid digest/],
  ['reactive with fixed parallelism', app({ reactive: true, parallelism: 4 }), /^parallelism: 4 is set in reactive mode/],
  ['reactive without checkpointing', app({ reactive: true, checkpointing: false, checkpointDirectory: undefined }), /^reactive: true needs checkpointing/],
  ['reactive max below min', app({ reactive: true, reactiveMinTaskManagers: 4, reactiveMaxTaskManagers: 2 }), /^reactiveMaxTaskManagers: 2 is below reactiveMinTaskManagers \(4\)/],
  ['reactive settings without reactive', app({ reactiveMaxTaskManagers: 4 }), /^reactiveMaxTaskManagers: 4 is set but reactive is false/],
  ['standby TaskManagers in reactive mode', app({ reactive: true, standbyTaskManagers: 1 }), /^standbyTaskManagers: 1 is set in reactive mode, where the job takes every slot and the HorizontalPodAutoscaler owns the count/],
  ['negative standby TaskManagers', app({ standbyTaskManagers: -1 }), /^standbyTaskManagers: -1 is invalid; expected an integer between 0 and 100$/],
  ['standby TaskManagers on a session cluster', () => synth((s) => new FlinkSessionCluster(s, 'pool', { standbyTaskManagers: 1 } as any)), /^standbyTaskManagers: 1 applies to application clusters; a session cluster's free slots already take over/],
  ['reactive with no restart strategy', app({ reactive: true, restartStrategy: RestartStrategy.none() }), /^restartStrategy: "none" cannot be used in reactive mode/],
  ['incremental checkpoints on hashmap', app({ stateBackend: StateBackend.HASHMAP, incrementalCheckpoints: true }), /^incrementalCheckpoints: true requires stateBackend ROCKSDB/],
  ['unknown state backend', app({ stateBackend: 'memory' as StateBackend }), /^stateBackend: "memory" is unknown; expected one of hashmap, rocksdb$/],
  ['unknown checkpoint mode', app({ checkpointMode: 'ONCE' as CheckpointingMode }), /^checkpointMode: "ONCE" is unknown/],
  ['unaligned with at-least-once', app({ checkpointMode: CheckpointingMode.AT_LEAST_ONCE, unalignedCheckpoints: true }), /^unalignedCheckpoints: true requires checkpointMode EXACTLY_ONCE$/],
  ['checkpoint interval below 100 ms', app({ checkpointInterval: Duration.millis(10) }), /^checkpointInterval: "10ms" is invalid; expected a whole number of milliseconds >= 100ms$/],
  ['checkpoint settings with checkpointing off', app({ checkpointing: false, checkpointInterval: Duration.seconds(5) }), /^checkpointInterval: "5 seconds" is set while checkpointing is false/],
  ['managed memory fraction above 0.9', app({ managedMemoryFraction: 0.95 }), /^managedMemoryFraction: 0.95 is invalid; expected a number between 0 and 0.9$/],
  ['job id not hex', app({ jobId: 'not-a-job-id' }), /^jobId: "not-a-job-id" is not a Flink job id; expected 32 lower-case hex digits$/],
  ['all-zero job id', app({ jobId: '0'.repeat(32) }), /^jobId: "0{32}" is the all-zero id/],
  ['raw restore key managed by the hand-off', app({ flinkConfiguration: { 'execution.savepoint.path': 's3://b/sp/1' } }), /^flinkConfiguration\["execution.savepoint.path"\]: "s3:\/\/b\/sp\/1" is set at start from initialSavepointPath \(and the upgrade hand-off\); use that instead$/],
  ['savepoint path not a URI', app({ initialSavepointPath: 'savepoint-1' }), /^initialSavepointPath: "savepoint-1" is not a URI/],
  ['allowNonRestoredState without a savepoint', app({ allowNonRestoredState: true }), /^allowNonRestoredState: true is set without initialSavepointPath/],
  ['savepoint upgrades without a savepoint dir', app({ savepointDirectory: undefined, upgradeMode: UpgradeMode.SAVEPOINT }), /^savepointDirectory: \(missing\) is required with upgradeMode savepoint/],
  ['last-state upgrades without HA', app({ upgradeMode: UpgradeMode.LAST_STATE }), /^upgradeMode: "last-state" needs highAvailability and a checkpointDirectory/],
  ['unknown upgrade mode', app({ upgradeMode: 'rolling' as UpgradeMode }), /^upgradeMode: "rolling" is unknown; expected one of stateless, savepoint, last-state$/],
  ['CPU limit below request', app({ taskManagerCpu: Cpu.units(2), taskManagerCpuLimit: Cpu.units(1) }), /^taskManagerCpuLimit: "1" is below taskManagerCpu \(2\)/],
  ['invalid label key', app({ labels: { 'bad key': 'x' } }), /^labels key: "bad key" is not a valid label key/],
  ['invalid label value', app({ labels: { team: 'a b' } }), /^labels.team: "a b" is not a valid label value/],
  ['env name reserved by the toolkit', app({ env: { POD_IP: EnvValue.fromValue('x') } }), /^env name: "POD_IP" is already set by the toolkit/],
  ['env name not an identifier', app({ env: { 'KAFKA-PASS': EnvValue.fromValue('x') } }), /^env name: "KAFKA-PASS" is invalid; expected a C identifier/],
  ['volume over the conf dir', app({ volumes: [{ name: 'x', mountPath: '/opt/flink/conf', source: VolumeSource.emptyDir() }] }), /^volumes\[x\].mountPath: "\/opt\/flink\/conf" is invalid/],
  ['volume name taken', app({ volumes: [{ name: 'flink-conf', mountPath: '/x', source: VolumeSource.emptyDir() }] }), /^volumes\[\].name: "flink-conf" is already used in the pod/],
  ['toleration value with Exists', app({ tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] }), /^tolerations\[0\].value: "b" must be empty when operator is "Exists"$/],
  ['unsupported Flink version', () => FlinkVersion.of('1.16'), /^flinkVersion: "1.16" is not supported/],
  ['jar entry class not a class name', () => JobSource.jar({ entryClass: 'com.example.Job; rm -rf' }), /^job.entryClass: "com.example.Job; rm -rf" is not a Java class name/],
  ['SQL without an INSERT', () => JobSource.sql('CREATE TABLE t (x INT);'), /^job.sql: "CREATE TABLE t \(x INT\);" has no INSERT INTO statement/],
  ['missing job', app({ job: undefined as any }), /^job: \(missing\) is required; expected JobSource.jar/],
  ['pipeline topic invalid', () => new LogPipeline({ source: { ...SRC, topic: 'logs/access' }, sinks: [Sink.fileSystem({ path: 'file:///x' })] }), /^pipeline.source.topic: "logs\/access" is not a Kafka topic name/],
  ['pipeline bootstrap without a port', () => new LogPipeline({ source: { ...SRC, bootstrapServers: 'kafka' }, sinks: [Sink.fileSystem({ path: 'file:///x' })] }), /^pipeline.source.bootstrapServers: "kafka" is invalid; expected host:port/],
  ['pipeline with no sinks', pipeline({ sinks: [] }), /^pipeline.sinks: \[\] is empty; expected at least one sink$/],
  ['pipeline filter with two statements', pipeline({ filters: ["level = 'ERROR'; DROP TABLE x"] }), /^pipeline.filters\[0\]: "level = 'ERROR'; DROP TABLE x" is invalid; expected one SQL condition without ";"$/],
  ['pipeline count key not a field', pipeline({ countPerKey: { key: 'service' } }), /^pipeline.countPerKey.key: "service" is not a source field; expected one of msg$/],
  ['pipeline partition neither a column nor time', () => new LogPipeline({ source: SRC, sinks: [Sink.fileSystem({ path: 'file:///x', partitionBy: ['region'] })] }), /^Sink.fileSystem partitionBy: "region" is neither an output column \(msg\) nor a time partition/],
  ['filesystem sink path not a URI', () => Sink.fileSystem({ path: 'logs/' }), /^Sink.fileSystem path: "logs\/" is not a URI/],
  ['elasticsearch host not a URL', () => Sink.elasticsearch({ hosts: ['es:9200'], index: 'logs' }), /^Sink.elasticsearch hosts: \["es:9200"\] is invalid; expected one or more http\(s\) URLs$/],
  ['session job above cluster slots', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { taskManagerReplicas: 1, taskManagerSlots: 2, checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JobSource.sql('INSERT INTO t SELECT 1'), parallelism: 3 });
  }), /^parallelism: 3 exceeds the 2 slots of session cluster "shared"/],
  ['session jar job without a jar file', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JAR });
  }), /^job.jarFile: \(missing\) is required for a session job/],
  ['session job with last-state upgrades', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JobSource.sql('INSERT INTO t SELECT 1'), upgradeMode: UpgradeMode.LAST_STATE });
  }), /^upgradeMode: "last-state" is for application clusters/],
  ['duplicate job names', () => {
    const p = new FlinkPlatform();
    p.addApplication('logs', OK);
    p.addSessionCluster('logs', { checkpointDirectory: 's3://b/cp' });
  }, /^job name: "logs" is declared twice \(as application and again\)/],
  ['platform storage base not a URI', () => new FlinkPlatform({ storageBaseDirectory: 'bucket/flink' }), /^storageBaseDirectory: "bucket\/flink" is not a URI/],
];

test(`bad input: ${CASES.length} invalid definitions fail at construction with one line naming field and value`, () => {
  assert.ok(CASES.length >= 40);
  for (const [what, build, expected] of CASES) {
    let error: unknown;
    try {
      build();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ValidationError, `${what}: expected a ValidationError, got ${error === undefined ? 'no error' : String(error)}`);
    const msg = (error as Error).message;
    assert.ok(!msg.includes('\n'), `${what}: message is one line: ${msg}`);
    assert.match(msg, expected, `${what}`);
  }
});
