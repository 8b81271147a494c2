import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  Autoscaling, AutoscalingMetric, CheckpointingMode, ContainerOptions, ScalingPolicyType, DeliveryGuarantee, EnvValue, FieldType, FlinkApplication, FlinkApplicationProps, FlinkConfigValue, FlinkPlatform,
  FlinkSessionCluster, FlinkSessionJob, FlinkVersion, JobSource, KafkaCredentials, LogPipeline, RestartStrategy, Sink, StartingOffsets,
  RuntimeImage, StateBackend, StorageCredentials, UpgradeMode, ValidationError, VolumeSource,
} from '../../lib';
import { markerText, OUTPUT_MARKER } from '../../lib/synth/output-dir';
import { readTree } from '../../lib/synth/write';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { helmReason } from '../../lib/cli/helm';
import { OptionCatalog } from '../../lib/config/catalog';
import { checkOptionValue } from '../../lib/config/option-values';
import { ensureHelm } from '../support/tools';
import { synth } from '../support/synth';

const JAR = JobSource.jar({ entryClass: 'com.example.Job' });
const OK: FlinkApplicationProps = { job: JAR, checkpointDirectory: 's3://b/cp', savepointDirectory: 's3://b/sp' };
const app = (props: Partial<FlinkApplicationProps>, name = 'job') => () => synth((s) => new FlinkApplication(s, name, { ...OK, ...props } as FlinkApplicationProps));
const SRC = { bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g', fields: { msg: FieldType.STRING } };
/** A sidecar (or init container) that passes every check; cases change one field. */
const SIDE = (o: Partial<ContainerOptions> = {}): ContainerOptions => ({ name: 'shipper', image: 'busybox:1.36', ...o });
const EMPTY = { name: 'scratch', source: VolumeSource.emptyDir() };
const HOST = { name: 'node-logs', source: VolumeSource.hostPath('/var/log') };
const pipeline = (p: any) => () => new LogPipeline({ source: SRC, sinks: [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'out' })], ...p });

/** [what is wrong, the definition, the field and value the one-line message must name]. */
const DEFINITIONS: [string, () => unknown, RegExp][] = [
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
  ['raw value of the wrong type', app({ flinkConfiguration: { 'pipeline.name': { a: 1 } as any } }), /^flinkConfiguration\["pipeline.name"\]: \{"a":1\} is invalid; expected a string, number or boolean, or FlinkConfigValue.fromSecret\(secretName, key\)$/],
  ['image without a tag', app({ image: 'flink' }), /^image: "flink" is not pinned; expected a tag or digest/],
  ['image :latest', app({ image: 'registry.example.com/flink:latest' }), /^image: "registry.example.com\/flink:latest" uses the moving tag "latest"/],
  ['image with a port but no tag', app({ image: 'registry:5000/flink' }), /^image: "registry:5000\/flink" is not pinned/],
  ['image with a bad digest', app({ image: 'flink@sha256:abc' }), /^image: "flink@sha256:abc" has an invalid digest/],
  ['reactive with fixed parallelism', app({ reactive: true, parallelism: 4 }), /^parallelism: 4 is set in reactive mode/],
  ['reactive without checkpointing', app({ reactive: true, checkpointing: false, checkpointDirectory: undefined }), /^reactive: true needs checkpointing/],
  ['reactive max below min', app({ reactive: true, reactiveMinTaskManagers: 4, reactiveMaxTaskManagers: 2 }), /^reactiveMaxTaskManagers: 2 is below reactiveMinTaskManagers \(4\)/],
  ['reactive settings without reactive', app({ reactiveMaxTaskManagers: 4 }), /^reactiveMaxTaskManagers: 4 is set but reactive is false/],
  ['standby TaskManagers in reactive mode', app({ reactive: true, standbyTaskManagers: 1 }), /^standbyTaskManagers: 1 is set in reactive mode, where the job takes every slot and the HorizontalPodAutoscaler owns the count/],
  ['autoscaling together with the reactive shorthand', app({ reactive: true, autoscaling: Autoscaling.reactive() }), /^reactive: true is set together with autoscaling; use one/],
  ['autoscaling max below min', app({ autoscaling: Autoscaling.adaptive({ min: 5, max: 3 }) }), /^autoscaling\.max: 3 is below autoscaling\.min \(5\); expected max >= min$/],
  ['autoscaling with no metric', app({ autoscaling: Autoscaling.reactive({ metrics: [] }) }), /^autoscaling\.metrics: \[\] has no metric; expected at least one/],
  ['autoscaling utilization above 100', app({ autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.memoryUtilization(150)] }) }), /^autoscaling\.metrics\[0\]\.utilization: 150 is out of range; expected an integer percent of the request between 10 and 100$/],
  ['autoscaling pods metric without a target', app({ autoscaling: Autoscaling.adaptive({ metrics: [AutoscalingMetric.pods({ name: 'records_in_per_second' } as any)] }) }), /^autoscaling\.metrics\[0\]\.averageValue: \(missing\) is required for pods metric "records_in_per_second"/],
  ['autoscaling external metric without a target', app({ autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.external({ name: 'kafka_lag' })] }) }), /^autoscaling\.metrics\[0\]\.value: \(missing\) and averageValue are both missing for external metric "kafka_lag"; expected exactly one target/],
  ['autoscaling external metric with two targets', app({ autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.external({ name: 'kafka_lag', value: '10k', averageValue: '1k' })] }) }), /^autoscaling\.metrics\[0\]\.value: "10k" is set with averageValue/],
  ['autoscaling metric target not a quantity', app({ autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.pods({ name: 'lag', averageValue: '1 thousand' })] }) }), /^autoscaling\.metrics\[0\]\.averageValue: "1 thousand" is not a positive Kubernetes quantity/],
  ['autoscaling scale-down window over an hour', app({ autoscaling: Autoscaling.reactive({ behavior: { scaleDown: { stabilizationWindow: Duration.hours(2) } } }) }), /^autoscaling\.behavior\.scaleDown\.stabilizationWindow: "7200s" is out of range; expected whole seconds between 0 s and 3600 s$/],
  ['autoscaling policy of zero TaskManagers', app({ autoscaling: Autoscaling.reactive({ behavior: { scaleUp: { policies: [{ type: ScalingPolicyType.PODS, value: 0, period: Duration.minutes(1) }] } } }) }), /^autoscaling\.behavior\.scaleUp\.policies\[0\]\.value: 0 is invalid; expected an integer between 1 and 1000$/],
  ['adaptive parallelism the TaskManagers never reach', app({ autoscaling: Autoscaling.adaptive({ max: 2 }), parallelism: 9 }), /^parallelism: 9 exceeds the 4 slots of autoscaling\.max \(2\) TaskManagers x 2 slots/],
  ['adaptive autoscaling without checkpointing', app({ autoscaling: Autoscaling.adaptive(), checkpointing: false, checkpointDirectory: undefined }), /^autoscaling: "adaptive" needs checkpointing: every scale event restarts the job from its latest checkpoint$/],
  ['taskManagerReplicas with adaptive autoscaling', app({ autoscaling: Autoscaling.adaptive(), taskManagerReplicas: 2 }), /^taskManagerReplicas: 2 is set with adaptive autoscaling, where the HorizontalPodAutoscaler owns the count; use autoscaling min and max$/],
  ['negative standby TaskManagers', app({ standbyTaskManagers: -1 }), /^standbyTaskManagers: -1 is invalid; expected an integer between 0 and 100$/],
  ['standby TaskManagers on a session cluster', () => synth((s) => new FlinkSessionCluster(s, 'pool', { standbyTaskManagers: 1 } as any)), /^standbyTaskManagers: 1 applies to application clusters; a session cluster's free slots already take over/],
  ['spare slots in reactive mode', app({ reactive: true, spareSlotsPerTaskManager: 1 }), /^spareSlotsPerTaskManager: 1 is set in reactive mode, where the job takes every slot; remove it$/],
  ['spare slots with standby TaskManagers', app({ parallelism: 4, taskManagerSlots: 2, standbyTaskManagers: 1, spareSlotsPerTaskManager: 1 }), /^spareSlotsPerTaskManager: 1 is set together with standbyTaskManagers \(1\); choose one/],
  ['spare slots too few for the survivors', app({ parallelism: 6, taskManagerSlots: 3, spareSlotsPerTaskManager: 1 }), /^spareSlotsPerTaskManager: 1 leaves 1 TaskManager\(s\) x 4 slots after losing one, too few for the job's 6 tasks; expected at least 3, or more TaskManagers$/],
  ['spare slots on one TaskManager', app({ parallelism: 2, taskManagerSlots: 2, spareSlotsPerTaskManager: 1 }), /^spareSlotsPerTaskManager: 1 needs at least 2 TaskManagers/],
  ['negative spare slots', app({ spareSlotsPerTaskManager: -1 }), /^spareSlotsPerTaskManager: -1 is invalid; expected an integer between 0 and 64$/],
  ['spare slots on a session cluster', () => synth((s) => new FlinkSessionCluster(s, 'pool', { spareSlotsPerTaskManager: 1 } as any)), /^spareSlotsPerTaskManager: 1 applies to application clusters/],
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
  ['jar with neither entry class nor jar file', () => JobSource.jar({}), /^job.entryClass: \(missing\) is required without jarFile: the jars of \/opt\/flink\/usrlib name no single main class/],
  ['jar over plain http', () => JobSource.jar({ jarFile: 'http://repo.example.com/x.jar' }), /^job.jarFile: "http:\/\/repo.example.com\/x.jar" uses plain http, which anyone on the path can change .*; expected https:\/\/$/],
  ['jar from S3 through s3a', () => JobSource.jar({ jarFile: 's3a://bucket/jobs/x.jar' }), /^job.jarFile: "s3a:\/\/bucket\/jobs\/x.jar" uses scheme "s3a", which names a Flink file system, not an S3 object; expected s3:\/\/bucket\/key.jar$/],
  ['jar from S3 with a bad bucket', () => JobSource.jar({ jarFile: 's3://Bucket_1/jobs/x.jar' }), /^job.jarFile: "s3:\/\/Bucket_1\/jobs\/x.jar" does not start with a bucket name/],
  ['jar from S3 without a key', () => JobSource.jar({ jarFile: 's3://bucket/jobs/' }), /^job.jarFile: "s3:\/\/bucket\/jobs\/" names no object key/],
  ['jar from S3 without S3 credentials', app({ job: JobSource.jar({ jarFile: 's3://jobs-bucket/audit/x.jar' }) }), /^job.jarFile: "s3:\/\/jobs-bucket\/audit\/x.jar" is an S3 URI and storageCredentials has no StorageCredentials.s3\(...\) or s3WebIdentity\(...\); expected one/],
  ['S3 region not a region', () => StorageCredentials.s3({ secretName: 's3-keys', region: 'EU West' }), /^StorageCredentials.s3 region: "EU West" is not a region; expected lower-case letters, digits and "-", such as "eu-west-1"$/],
  ['jar on an unknown scheme', () => JobSource.jar({ jarFile: 'ftp://repo/x.jar' }), /^job.jarFile: "ftp:\/\/repo\/x.jar" uses scheme "ftp"; expected local:\/\/\/path\/in\/image.jar, file:\/\/\/path\/job.jar, an absolute path, https:\/\/host\/path\/job.jar or s3:\/\/bucket\/key.jar$/],
  ['jar local:// with a host instead of a path', () => JobSource.jar({ jarFile: 'local://opt/flink/usrlib/x.jar' }), /^job.jarFile: "local:\/\/opt\/flink\/usrlib\/x.jar" is not an absolute path to a .jar file after local:\/\//],
  ['jar path that is not a jar', () => JobSource.jar({ jarFile: '/opt/flink/usrlib/' }), /^job.jarFile: "\/opt\/flink\/usrlib\/" is not an absolute path to a .jar file; expected/],
  ['jar path climbing out', () => JobSource.jar({ jarFile: 'file:///opt/flink/../../etc/x.jar' }), /^job.jarFile: "file:\/\/\/opt\/flink\/..\/..\/etc\/x.jar" is not an absolute path to a .jar file after file:\/\//],
  ['jar path with a newline', () => JobSource.jar({ jarFile: '/opt/x.jar\n--job-id' }), /^job.jarFile: "\/opt\/x.jar\\n--job-id" is not a jar URI/],
  ['jar URL with credentials', () => JobSource.jar({ jarFile: 'https://deploy:hunter2@repo.example.com/x.jar' }), /^job.jarFile: "https:\/\/\*\*\*@repo.example.com\/x.jar" carries credentials in the URL/],
  ['jar URL naming no file', () => JobSource.jar({ jarFile: 'https://repo.example.com/jobs/' }), /^job.jarFile: "https:\/\/repo.example.com\/jobs\/" names no file/],
  ['python job with two entries', () => JobSource.python({ script: 'print(1)', module: 'logs.errors' }), /^job.module: "logs.errors" is set together with script; expected exactly one of script, pythonFile \(a .py file in the image\) or module$/],
  ['python file not in the image', () => JobSource.python({ pythonFile: 'https://repo.example.com/job.py' }), /^job.pythonFile: "https:\/\/repo.example.com\/job.py" is not an absolute path in the image; expected a .py file in the image/],
  ['python module not a name', () => JobSource.python({ module: 'logs/errors' }), /^job.module: "logs\/errors" is not a Python module name/],
  ['python interpreter with arguments', () => JobSource.python({ module: 'logs.errors', pythonExecutable: 'python3 -u' }), /^job.pythonExecutable: "python3 -u" is not an interpreter; expected an absolute path/],
  ['python job on an image without Python', app({ job: JobSource.python({ module: 'logs.errors' }), image: RuntimeImage.official(FlinkVersion.V1_20) }), /^job: "JobSource.python" needs Python with apache-flink 1.20.5 in the image, which image "flink:1.20.5-java17" \(the official Flink 1.20 image\) does not have/],
  ['jar checksum not hex', () => JobSource.jar({ jarFile: 'https://repo.example.com/x.jar', jarSha256: 'z'.repeat(64) }), /^job.jarSha256: "z{64}" is not a sha256 digest; expected 64 hex digits/],
  ['jar checksum too short', () => JobSource.jar({ jarFile: 'https://repo.example.com/x.jar', jarSha256: 'abc123' }), /^job.jarSha256: "abc123" is not a sha256 digest/],
  ['jar checksum without a jar', () => JobSource.jar({ entryClass: 'com.example.Job', jarSha256: 'a'.repeat(64) }), /^job.jarSha256: "a{64}" is set without jarFile; expected it with an https:\/\/ or s3:\/\/ jarFile$/],
  ['jar checksum on a jar in the image', () => JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/x.jar', jarSha256: 'a'.repeat(64) }), /^job.jarSha256: "a{64}" is set for local:\/\/\/opt\/flink\/usrlib\/x.jar, a jar in an image/],
  ['session job with a local:// jar', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/x.jar' }) });
  }), /^job.jarFile: "local:\/\/\/opt\/flink\/usrlib\/x.jar" is a local:\/\/ jar, which a session job cannot run/],
  ['SQL without an INSERT', () => JobSource.sql('CREATE TABLE t (x INT);'), /^job.sql: "CREATE TABLE t \(x INT\);" has no INSERT INTO statement/],
  ['missing job', app({ job: undefined as any }), /^job: \(missing\) is required; expected JobSource.jar/],
  ['pipeline topic invalid', () => new LogPipeline({ source: { ...SRC, topic: 'logs/access' }, sinks: [Sink.fileSystem({ path: 'file:///x' })] }), /^pipeline.source.topic: "logs\/access" is not a Kafka topic name/],
  ['pipeline bootstrap without a port', () => new LogPipeline({ source: { ...SRC, bootstrapServers: 'kafka' }, sinks: [Sink.fileSystem({ path: 'file:///x' })] }), /^pipeline.source.bootstrapServers: "kafka" is invalid; expected host:port/],
  ['pipeline with no sinks', pipeline({ sinks: [] }), /^pipeline.sinks: \[\] is empty; expected at least one sink$/],
  ['pipeline filter with two statements', pipeline({ filters: ["level = 'ERROR'; DROP TABLE x"] }), /^pipeline.filters\[0\]: "level = 'ERROR'; DROP TABLE x" is not one SQL condition: at position 16, ";": a ";" would end the statement; expected one expression without ";"$/],
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


// ---------------------------------------------------------------------------------------------
// Definitions that build but would fail at run time, leak a credential or break out of their SQL

const kafkaJob = (source: Record<string, unknown>, sinks?: Sink[]) => ({
  job: JobSource.pipeline(new LogPipeline({ source: { ...SRC, ...source } as any, sinks: sinks ?? [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'out', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })] })),
});
const onPlatform = (build: (p: FlinkPlatform) => void, props: ConstructorParameters<typeof FlinkPlatform>[0] = {}) => () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/flink', ...props });
  build(p);
  return p;
};
const HA = { job: JAR, highAvailability: true };
const synthOf = (props: Partial<FlinkApplicationProps>) => () => {
  const p = new FlinkPlatform();
  p.addApplication('job', { ...OK, ...props } as FlinkApplicationProps);
  return synthesizePlatform(p);
};
const filter = (f: string) => pipeline({ filters: [f] });
const derive = (expr: string) => pipeline({ derive: { extra: expr } });
const raw = (key: string, value: unknown) => app({ flinkConfiguration: { [key]: value as any } });
/** An application changed through its escape hatches (public objects, objects added to its chart), synthesized. */
const patched = (change: (a: FlinkApplication) => void) => () => {
  const p = new FlinkPlatform();
  change(p.addApplication('job', OK));
  return synthesizePlatform(p);
};
const JM = /^job: Deployment\/job-jobmanager: /;
const jm = (re: RegExp) => new RegExp(JM.source + re.source);

const MORE_DEFINITIONS: [string, () => unknown, RegExp][] = [
  // cross-job collisions (refused when the second job is declared)
  ['two HA clusters sharing a cluster id', onPlatform((p) => { p.addApplication('a', { ...HA, highAvailabilityClusterId: 'logs' }); p.addApplication('b', { ...HA, highAvailabilityClusterId: 'logs' }); }),
    /^b: highAvailabilityClusterId: "logs" is also the HA cluster id of "a" in the release namespace; clusters with one id share leader election and job graphs; expected a distinct highAvailabilityClusterId$/],
  ['HA cluster id of an application equal to a session cluster\'s name', onPlatform((p) => { p.addSessionCluster('shared', { highAvailability: true }); p.addApplication('b', { ...HA, highAvailabilityClusterId: 'shared' }); }, { namespace: 'logs' }),
    /^b: highAvailabilityClusterId: "shared" is also the HA cluster id of "shared" in namespace logs/],
  ['two jobs committing to one consumer group', onPlatform((p) => { p.addApplication('a', kafkaJob({})); p.addApplication('b', kafkaJob({})); }),
    /^b: pipeline.source.groupId: "g" is also the consumer group of "a" on broker kafka:9092; jobs committing offsets to one group overwrite each other's positions; expected a distinct groupId, or sharedGroupWith: \["a"\] on "b" and \["b"\] on "a" to share it on purpose$/],
  ['one consumer group over differently spelled broker lists', onPlatform((p) => { p.addApplication('a', kafkaJob({ bootstrapServers: 'k1:9092,K2:9092' })); p.addApplication('b', kafkaJob({ bootstrapServers: 'k2:9092' })); }),
    /^b: pipeline.source.groupId: "g" is also the consumer group of "a" on broker k2:9092/],
  ['a shared consumer group declared on one side only', onPlatform((p) => { p.addApplication('a', kafkaJob({})); p.addApplication('b', kafkaJob({ sharedGroupWith: ['a'] })); }),
    /^b: pipeline.source.groupId: "g" is also the consumer group of "a"/],
  ['a group shared by three jobs, one of which does not name the third', onPlatform((p) => {
    p.addApplication('a', kafkaJob({ sharedGroupWith: ['b', 'c'] }));
    p.addApplication('b', kafkaJob({ sharedGroupWith: ['a'] }));
    p.addApplication('c', kafkaJob({ sharedGroupWith: ['a', 'b'] }));
  }), /^c: pipeline.source.groupId: "g" is also the consumer group of "b" on broker kafka:9092/],
  ['a session job committing to an application\'s group', onPlatform((p) => {
    p.addApplication('a', kafkaJob({}));
    const c = p.addSessionCluster('shared', {});
    p.addSessionJob('s', { cluster: c, ...kafkaJob({}) });
  }), /^s: pipeline.source.groupId: "g" is also the consumer group of "a" on broker kafka:9092/],
  ['two exactly-once sinks sharing a transactional-id prefix', onPlatform((p) => {
    p.addApplication('a', kafkaJob({ groupId: 'ga' }, [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'x', transactionalIdPrefix: 'tx' })]));
    p.addApplication('b', kafkaJob({ groupId: 'gb' }, [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'y', transactionalIdPrefix: 'tx' })]));
  }), /^b: pipeline.sinks\[0\].transactionalIdPrefix: "tx" is also the transactional-id prefix of "a" on broker kafka:9092; exactly-once producers with one prefix fence each other's transactions; expected a distinct transactionalIdPrefix$/],
  ['a prefix equal to another job\'s default prefix', onPlatform((p) => {
    p.addApplication('a', kafkaJob({ groupId: 'ga' }, [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'x' })]));
    p.addApplication('b', kafkaJob({ groupId: 'gb' }, [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'y', transactionalIdPrefix: 'a-0' })]));
  }), /^b: pipeline.sinks\[0\].transactionalIdPrefix: "a-0" is also the transactional-id prefix of "a"/],
  ['two sinks of one job sharing a prefix', onPlatform((p) => {
    p.addApplication('a', kafkaJob({}, [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'x', transactionalIdPrefix: 'tx' }), Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'y', transactionalIdPrefix: 'tx' })]));
  }), /^a: pipeline.sinks\[1\].transactionalIdPrefix: "tx" is also pipeline.sinks\[0\].transactionalIdPrefix of "a" on broker kafka:9092/],
  ['sink topic equal to the source topic', pipeline({ sinks: [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'logs' })] }),
    /^Sink.kafka topic: "logs" is the pipeline's source topic on the same brokers \(kafka:9092\); every record written would be read again; expected another topic$/],
  ['sink topic equal to the source topic on an overlapping broker list', pipeline({ sinks: [Sink.kafka({ bootstrapServers: 'other:9092,KAFKA:9092', topic: 'logs' })] }),
    /^Sink.kafka topic: "logs" is the pipeline's source topic on the same brokers/],

  // restart strategy as Flink checks it
  ['restart multiplier of 1', app({ restartStrategy: RestartStrategy.exponentialDelay({ multiplier: 1 }) }), /^restartStrategy.multiplier: 1 is invalid; expected a number greater than 1 and at most 100 \(Flink refuses a multiplier <= 1\)$/],
  ['restart multiplier below 1', app({ restartStrategy: RestartStrategy.exponentialDelay({ multiplier: 0.5 }) }), /^restartStrategy.multiplier: 0.5 is invalid/],
  ['restart initial backoff above the maximum', app({ restartStrategy: RestartStrategy.exponentialDelay({ initialBackoff: Duration.minutes(1), maxBackoff: Duration.seconds(5) }) }),
    /^restartStrategy.maxBackoff: "5 seconds" is below initialBackoff \(1 minute\); expected maxBackoff >= initialBackoff$/],
  ['restart default max below a long initial backoff', app({ restartStrategy: RestartStrategy.exponentialDelay({ initialBackoff: Duration.seconds(30) }) }), /^restartStrategy.maxBackoff: "10 seconds" is below initialBackoff/],
  ['restart jitter above 1', app({ restartStrategy: RestartStrategy.exponentialDelay({ jitter: 1.5 }) }), /^restartStrategy.jitter: 1.5 is invalid; expected a number between 0 and 1$/],
  ['restart reset threshold of zero', app({ restartStrategy: RestartStrategy.exponentialDelay({ resetBackoffThreshold: Duration.seconds(0) }) }), /^restartStrategy.resetBackoffThreshold: "0ms" is invalid; expected a whole number of milliseconds >= 1ms$/],
  ['restart backoff in fractions of a millisecond', app({ restartStrategy: RestartStrategy.exponentialDelay({ initialBackoff: Duration.seconds(0.0001) }) }), /^restartStrategy.initialBackoff: "0.1 millis" is invalid; expected a whole number of milliseconds >= 1ms$/],
  ['fixed-delay with zero attempts', app({ restartStrategy: RestartStrategy.fixedDelay(0, Duration.seconds(1)) }), /^restartStrategy.attempts: 0 is invalid/],
  ['checkpoint timeout in fractions of a millisecond', app({ checkpointTimeout: Duration.millis(1500.5) }), /^checkpointTimeout: "1 second 500.5 millis" is invalid; expected a whole number of milliseconds/],

  // sinks and sources that start but misbehave
  ['rolling interval that rounds to 0 s', () => Sink.fileSystem({ path: 's3://b/logs', rollInterval: Duration.millis(400) }), /^Sink.fileSystem rollInterval: "400 millis" is invalid; expected a whole number of seconds, at least 1/],
  ['rolling interval with a fraction of a second', () => Sink.fileSystem({ path: 's3://b/logs', rollInterval: Duration.millis(1500) }), /^Sink.fileSystem rollInterval: "1 second 500 millis" is invalid/],
  ['partition column listed twice', () => Sink.fileSystem({ path: 's3://b/logs', partitionBy: ['dt', 'dt'] }), /^Sink.fileSystem partitionBy: "dt" is listed twice; expected each partition column once$/],
  ['invalid Kafka startup mode', pipeline({ source: { ...SRC, startingOffsets: 'earliest' as StartingOffsets } }), /^pipeline.source.startingOffsets: "earliest" is not a Kafka startup mode; expected one of earliest-offset, latest-offset, group-offsets$/],
  ['unsupported Kafka startup mode', pipeline({ source: { ...SRC, startingOffsets: 'timestamp' as StartingOffsets } }), /^pipeline.source.startingOffsets: "timestamp" is not a Kafka startup mode/],
  ['sharedGroupWith not a list of jobs', pipeline({ source: { ...SRC, sharedGroupWith: 'a' as any } }), /^pipeline.source.sharedGroupWith: "a" is invalid; expected the names of the other jobs/],
  ['transactional prefix on an at-least-once sink', () => Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'o', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE, transactionalIdPrefix: 'tx' }),
    /^Sink.kafka transactionalIdPrefix: "tx" is set but deliveryGuarantee is at-least-once, which uses no transactions; remove it$/],
  ['transactional prefix with a space', () => Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'o', transactionalIdPrefix: 'a b' }), /^Sink.kafka transactionalIdPrefix: "a b" is invalid; expected 1-200 characters of \[A-Za-z0-9._-\]$/],
  ['out-of-orderness in fractions of a millisecond', pipeline({ source: { ...SRC, maxOutOfOrderness: Duration.seconds(0.0001) } }), /^pipeline.source.maxOutOfOrderness: "0.1 millis" is invalid/],

  // image references by the reference grammar
  ['image with an upper-case repository', app({ image: 'Flink:1.20.3' }), /^image: "Flink:1.20.3" has an invalid repository component "Flink"; expected lower-case letters and digits/],
  ['image with an empty path component', app({ image: 'registry.example.com//flink:1.20' }), /^image: "registry.example.com\/\/flink:1.20" has an invalid repository component ""/],
  ['image with a tag starting with a dot', app({ image: 'flink:.1' }), /^image: "flink:.1" has an invalid tag ".1"/],
  ['image with a tag over 128 characters', app({ image: `flink:${'a'.repeat(129)}` }), /^image: "flink:a+.*" has an invalid tag/],
  ['image with a separator at the end of a component', app({ image: 'flink-:1.20' }), /^image: "flink-:1.20" has an invalid repository component "flink-"/],
  ['image with an underscore in the registry', app({ image: 'my_registry.example.com:5000/flink:1.20' }), /^image: "my_registry.example.com:5000\/flink:1.20" has an invalid registry "my_registry.example.com:5000"/],
  ['image with a non-numeric registry port', app({ image: 'registry:port/flink:1.20' }), /^image: "registry:port\/flink:1.20" has an invalid registry "registry:port"/],
  ['image with two tags', app({ image: 'flink:1:2' }), /^image: "flink:1:2" has an invalid repository component "flink:1"/],
  ['image with a short sha512 digest', app({ image: 'flink@sha512:abcd' }), /^image: "flink@sha512:abcd" has an invalid digest/],
  ['image with an upper-case digest', app({ image: `flink@sha256:${'A'.repeat(64)}` }), /^image: "flink@sha256:A{64}" has an invalid digest/],
  ['image name over 255 characters', app({ image: `registry.example.com/${'a'.repeat(250)}:1` }), /^image: ".*" has a name longer than 255 characters/],

  // env, Secrets, volumes and tolerations as the API server checks them
  ['Secret key with a space', () => EnvValue.fromSecret('kafka', 'pass word'), /^EnvValue.fromSecret key: "pass word" is not a valid Secret or ConfigMap key; expected at most 253 characters of \[-._a-zA-Z0-9\], not "\." and not starting with "\.\."$/],
  ['Secret key ".."', () => EnvValue.fromSecret('kafka', '..'), /^EnvValue.fromSecret key: "\.\." is not a valid Secret or ConfigMap key/],
  ['ConfigMap key with a slash', () => EnvValue.fromConfigMap('settings', 'a/b'), /^EnvValue.fromConfigMap key: "a\/b" is not a valid Secret or ConfigMap key/],
  ['env from a pod field the API does not expose', () => EnvValue.fromField('status.phase'), /^EnvValue.fromField fieldPath: "status.phase" is not a field the API server exposes to env/],
  ['env value not a string', () => EnvValue.fromValue(3 as any), /^EnvValue.fromValue value: 3 is invalid; expected a string$/],
  ['Kafka credentials from a Secret with an upper-case name', () => KafkaCredentials.scram('Kafka'), /^KafkaCredentials.scram secretName: "Kafka" is not a valid object name/],
  ['env from a Secret whose name ends with a dot', () => EnvValue.fromSecret('kafka.', 'password'), /^EnvValue.fromSecret secretName: "kafka." is not a valid object name/],
  ['Kafka credentials with an invalid Secret key', () => KafkaCredentials.scram('kafka', 'user name'), /^KafkaCredentials.scram usernameKey: "user name" is not a valid Secret or ConfigMap key/],
  ['Kafka credentials with an invalid password key', () => KafkaCredentials.plain('kafka', 'username', 'pass:word'), /^KafkaCredentials.plain passwordKey: "pass:word" is not a valid Secret or ConfigMap key/],
  ['env name with a dot', app({ env: { 'kafka.pass': EnvValue.fromValue('x') } }), /^env name: "kafka.pass" is invalid; expected a C identifier/],
  ['toleration with an unknown effect', app({ tolerations: [{ key: 'a', effect: 'NoRun' as any }] }), /^tolerations\[0\].effect: "NoRun" is unknown; expected one of NoSchedule, PreferNoSchedule, NoExecute$/],
  ['toleration with an unknown operator', app({ tolerations: [{ key: 'a', operator: 'In' as any, value: 'b' }] }), /^tolerations\[0\].operator: "In" is unknown; expected "Equal" or "Exists"$/],
  ['toleration key with a space', app({ tolerations: [{ key: 'dedicated node' }] }), /^tolerations\[0\].key: "dedicated node" is not a valid taint key/],
  ['toleration Equal without a key', app({ tolerations: [{ operator: 'Equal', value: 'x' }] }), /^tolerations\[0\].operator: "Equal" needs a key; a toleration without a key must use operator "Exists"$/],
  ['toleration value not a label value', app({ tolerations: [{ key: 'a', value: 'b c' }] }), /^tolerations\[0\].value: "b c" is not a valid taint value/],
  ['toleration seconds with a fraction', app({ tolerations: [{ key: 'a', effect: 'NoExecute', tolerationSeconds: 1.5 }] }), /^tolerations\[0\].tolerationSeconds: 1.5 is invalid; expected a whole number of seconds$/],
  ['node selector value not a label value', app({ nodeSelector: { zone: 'eu west' } }), /^nodeSelector.zone: "eu west" is not a valid label value/],
  ['label value ending in a dash', app({ labels: { team: 'logs-' } }), /^labels.team: "logs-" is not a valid label value/],
  ['partOf not a label value', app({ partOf: 'log platform' }), /^partOf.app.kubernetes.io\/part-of: "log platform" is not a valid label value/],
  ['label key with a prefix over 253 characters', app({ labels: { [`${'a'.repeat(254)}/team`]: 'x' } }), /^labels key: "a+\/team" is not a valid label key/],
  ['two volumes on one mount path', app({ volumes: [{ name: 'a', mountPath: '/data', source: VolumeSource.emptyDir() }, { name: 'b', mountPath: '/data/', source: VolumeSource.emptyDir() }] }),
    /^volumes\[b\].mountPath: "\/data\/" is already the mount path of volume "a"; expected one volume per path$/],
  ['volume over a toolkit mount with a trailing slash', app({ volumes: [{ name: 'a', mountPath: '/tmp/', source: VolumeSource.emptyDir() }] }), /^volumes\[a\].mountPath: "\/tmp\/" is invalid; expected an absolute path other than/],
  ['volume from a Secret with an invalid name', () => VolumeSource.secret('Kafka_TLS'), /^VolumeSource.secret secretName: "Kafka_TLS" is not a valid object name; expected a DNS subdomain/],
  ['volume from a claim without a name', () => VolumeSource.persistentVolumeClaim(''), /^VolumeSource.persistentVolumeClaim claimName: "" is not a valid object name/],

  // pod templates: what the toolkit owns in the pod, the restricted standard, the API server's name rules
  ['sidecar named like the Flink container', app({ podTemplate: { sidecars: [SIDE({ name: 'taskmanager' })] } }), /^podTemplate.sidecars\[0\].name: "taskmanager" is already a container of the jobmanager pod \(the toolkit's\); expected a unique one$/],
  ['init container named like the configuration init container', app({ taskManagerPodTemplate: { initContainers: [SIDE({ name: 'flink-config' })] } }), /^taskManagerPodTemplate.initContainers\[0\].name: "flink-config" is already a container of the taskmanager pod \(the toolkit's\)/],
  ['sidecar with a name of the toolkit\'s flink- prefix', app({ podTemplate: { sidecars: [SIDE({ name: 'flink-fetch' })] } }), /^podTemplate.sidecars\[0\].name: "flink-fetch" is a name the toolkit keeps for its own containers \(flink-\*\)/],
  ['two sidecars of one name across podTemplate and a component\'s', app({ podTemplate: { sidecars: [SIDE()] }, jobManagerPodTemplate: { initContainers: [SIDE()] } }),
    /^jobManagerPodTemplate.initContainers\[0\].name: "shipper" is already a container of the jobmanager pod \(podTemplate.sidecars\[0\]\); expected a unique one$/],
  ['sidecar name not a DNS label', app({ podTemplate: { sidecars: [SIDE({ name: 'Log_Shipper' })] } }), /^podTemplate.sidecars\[0\].name: "Log_Shipper" is not a valid name; expected a DNS-1123 label/],
  ['sidecar name over 63 characters', app({ podTemplate: { sidecars: [SIDE({ name: 'a'.repeat(64) })] } }), /^podTemplate.sidecars\[0\].name: "a{64}" is not a valid name; expected a DNS-1123 label/],
  ['sidecar image :latest', app({ podTemplate: { sidecars: [SIDE({ image: 'fluent/fluent-bit:latest' })] } }), /^podTemplate.sidecars\[0\].image: "fluent\/fluent-bit:latest" uses the moving tag "latest"/],
  ['sidecar image without a tag', app({ podTemplate: { sidecars: [SIDE({ image: 'busybox' })] } }), /^podTemplate.sidecars\[0\].image: "busybox" is not pinned/],
  ['sidecar on Flink\'s REST port', app({ podTemplate: { sidecars: [SIDE({ ports: [{ number: 8081 }] })] } }), /^podTemplate.sidecars\[0\].ports\[0\].number: 8081 is already a port of the jobmanager pod \(Flink's\); expected a unique one$/],
  ['sidecar on Flink\'s metrics port', app({ taskManagerPodTemplate: { sidecars: [SIDE({ ports: [{ number: 9249 }] })] } }), /^taskManagerPodTemplate.sidecars\[0\].ports\[0\].number: 9249 is already a port of the taskmanager pod \(Flink's\)/],
  ['sidecar port named like Flink\'s', app({ podTemplate: { sidecars: [SIDE({ ports: [{ number: 9000, name: 'metrics' }] })] } }), /^podTemplate.sidecars\[0\].ports\[0\].name: "metrics" is already a port name of the jobmanager pod \(Flink's\)/],
  ['two sidecars on one port', app({ podTemplate: { sidecars: [SIDE({ ports: [{ number: 2020 }] }), SIDE({ name: 'other', ports: [{ number: 2020 }] })] } }), /^podTemplate.sidecars\[1\].ports\[0\].number: 2020 is already a port of the jobmanager pod \(podTemplate.sidecars\[0\]\)/],
  ['sidecar port out of range', app({ podTemplate: { sidecars: [SIDE({ ports: [{ number: 70000 }] })] } }), /^podTemplate.sidecars\[0\].ports\[0\].number: 70000 is invalid; expected an integer between 1 and 65535$/],
  ['sidecar port name too long', app({ podTemplate: { sidecars: [SIDE({ ports: [{ number: 2020, name: 'a-very-long-port-name' }] })] } }), /^podTemplate.sidecars\[0\].ports\[0\].name: "a-very-long-port-name" is not a valid port name/],
  ['pod template volume named like the toolkit\'s', app({ podTemplate: { volumes: [{ name: 'flink-conf', source: VolumeSource.emptyDir() }] } }), /^podTemplate.volumes\[0\].name: "flink-conf" is a name the toolkit keeps for its own volumes/],
  ['pod template volume named like a cluster volume', app({ volumes: [{ name: 'certs', mountPath: '/certs', source: VolumeSource.secret('certs') }], podTemplate: { volumes: [{ name: 'certs', source: VolumeSource.emptyDir() }] } }),
    /^podTemplate.volumes\[0\].name: "certs" is already a volume of the jobmanager pod \(the cluster's volumes\)/],
  ['pod template volume without a source', app({ podTemplate: { volumes: [{ name: 'x', source: { emptyDir: {} } as any }] } }), /^podTemplate.volumes\[0\].source: \{"emptyDir":\{\}\} is invalid; expected a VolumeSource/],
  ['mount of a volume the pod does not have', app({ podTemplate: { sidecars: [SIDE({ volumeMounts: [{ volume: 'nope', mountPath: '/x' }] })] } }), /^podTemplate.sidecars\[0\].volumeMounts\[0\].volume: "nope" is not a volume this container can mount; expected one of flink-log$/],
  ['Flink container mount over its conf dir', app({ podTemplate: { volumes: [EMPTY], flinkContainer: { volumeMounts: [{ volume: 'scratch', mountPath: '/opt/flink/conf' }] } } }), /^podTemplate.flinkContainer.volumeMounts\[0\].mountPath: "\/opt\/flink\/conf" is at or under \/opt\/flink\/conf, which the toolkit's own mounts use/],
  ['Flink container mount under the job files dir', app({ podTemplate: { volumes: [EMPTY], flinkContainer: { volumeMounts: [{ volume: 'scratch', mountPath: '/opt/flink/job/extra/' }] } } }), /^podTemplate.flinkContainer.volumeMounts\[0\].mountPath: "\/opt\/flink\/job\/extra\/" is at or under \/opt\/flink\/job/],
  ['Flink container mount under io.tmp.dirs', app({ podTemplate: { volumes: [EMPTY], flinkContainer: { volumeMounts: [{ volume: 'scratch', mountPath: '/tmp/rocksdb' }] } } }), /^podTemplate.flinkContainer.volumeMounts\[0\].mountPath: "\/tmp\/rocksdb" is at or under \/tmp/],
  ['Flink container mount over Flink\'s home', app({ podTemplate: { volumes: [EMPTY], flinkContainer: { volumeMounts: [{ volume: 'scratch', mountPath: '/opt/flink' }] } } }), /^podTemplate.flinkContainer.volumeMounts\[0\].mountPath: "\/opt\/flink" is a path, which the toolkit's own mounts use/],
  ['Flink container mount on a cluster volume\'s path', app({ volumes: [{ name: 'certs', mountPath: '/certs', source: VolumeSource.secret('certs') }], podTemplate: { volumes: [EMPTY], flinkContainer: { volumeMounts: [{ volume: 'scratch', mountPath: '/certs/' }] } } }),
    /^podTemplate.flinkContainer.volumeMounts\[0\].mountPath: "\/certs\/" is already a mount path of this container \(volume "certs"\)/],
  ['Flink container mount of a cluster volume it has already', app({ volumes: [{ name: 'certs', mountPath: '/certs', source: VolumeSource.secret('certs') }], podTemplate: { flinkContainer: { volumeMounts: [{ volume: 'certs', mountPath: '/certs2' }] } } }),
    /^podTemplate.flinkContainer.volumeMounts\[0\].volume: "certs" is not a volume this container can mount; expected one of \(none: add it to volumes\)$/],
  ['two mounts on one path in a sidecar', app({ podTemplate: { volumes: [EMPTY], sidecars: [SIDE({ volumeMounts: [{ volume: 'scratch', mountPath: '/data' }, { volume: 'flink-log', mountPath: '/data/' }] })] } }), /^podTemplate.sidecars\[0\].volumeMounts\[1\].mountPath: "\/data\/" is already a mount path of this container/],
  ['relative mount path', app({ podTemplate: { volumes: [EMPTY], sidecars: [SIDE({ volumeMounts: [{ volume: 'scratch', mountPath: 'data' }] })] } }), /^podTemplate.sidecars\[0\].volumeMounts\[0\].mountPath: "data" is invalid; expected an absolute path/],
  ['mount path with ".."', app({ podTemplate: { volumes: [EMPTY], sidecars: [SIDE({ volumeMounts: [{ volume: 'scratch', mountPath: '/data/../opt' }] })] } }), /^podTemplate.sidecars\[0\].volumeMounts\[0\].mountPath: "\/data\/\.\.\/opt" is invalid/],
  ['writable mount of Flink\'s log dir in a sidecar', app({ podTemplate: { sidecars: [SIDE({ volumeMounts: [{ volume: 'flink-log', mountPath: '/logs', readOnly: false }] })] } }), /^podTemplate.sidecars\[0\].volumeMounts\[0\].readOnly: false cannot be false on the toolkit's volume "flink-log"/],
  ['privileged sidecar without the opt-out', app({ podTemplate: { sidecars: [SIDE({ securityContext: { privileged: true } })] } }), /^podTemplate.sidecars\[0\].securityContext.privileged: true breaks the restricted Pod Security Standard; expected false, or restricted: false on this container \(a namespace enforcing "restricted" then refuses the pod\)$/],
  ['root init container without the opt-out', app({ podTemplate: { initContainers: [SIDE({ securityContext: { runAsUser: 0 } })] } }), /^podTemplate.initContainers\[0\].securityContext.runAsUser: 0 breaks the restricted Pod Security Standard; expected a user id other than 0/],
  ['sidecar adding a capability without the opt-out', app({ podTemplate: { sidecars: [SIDE({ securityContext: { addCapabilities: ['SYS_ADMIN'] } })] } }), /^podTemplate.sidecars\[0\].securityContext.addCapabilities\[0\]: "SYS_ADMIN" breaks the restricted Pod Security Standard; expected only NET_BIND_SERVICE/],
  ['sidecar with privilege escalation without the opt-out', app({ podTemplate: { sidecars: [SIDE({ securityContext: { allowPrivilegeEscalation: true } })] } }), /^podTemplate.sidecars\[0\].securityContext.allowPrivilegeEscalation: true breaks the restricted/],
  ['hostPath volume mounted by a restricted sidecar', app({ podTemplate: { volumes: [HOST], sidecars: [SIDE({ volumeMounts: [{ volume: 'node-logs', mountPath: '/var/log' }] })] } }),
    /^podTemplate.volumes\[0\].source: "hostPath" breaks the restricted Pod Security Standard; expected another volume type, or mounts only by containers with restricted: false/],
  ['hostPath volume mounted by the Flink container', app({ podTemplate: { volumes: [HOST], flinkContainer: { volumeMounts: [{ volume: 'node-logs', mountPath: '/var/log' }] } } }), /^podTemplate.volumes\[0\].source: "hostPath" breaks the restricted .*never the Flink container/],
  ['hostPath volume mounted by no container', app({ podTemplate: { volumes: [HOST] } }), /^podTemplate.volumes\[0\].source: "hostPath" breaks the restricted Pod Security Standard/],
  ['hostPath among the cluster volumes', app({ volumes: [{ name: 'h', mountPath: '/h', source: VolumeSource.hostPath('/var/log') }] }), /^volumes\[h\].source: "hostPath" breaks the restricted Pod Security Standard in the Flink container/],
  ['NFS volume through fromK8s mounted by a restricted sidecar', app({ podTemplate: { volumes: [{ name: 'share', source: VolumeSource.fromK8s({ nfs: { server: 'nfs.example.com', path: '/exports' } }) }], sidecars: [SIDE({ volumeMounts: [{ volume: 'share', mountPath: '/share' }] })] } }),
    /^podTemplate.volumes\[0\].source: "nfs" breaks the restricted Pod Security Standard/],
  ['pod template volumes not a list', app({ podTemplate: { volumes: { name: 'x' } as any } }), /^podTemplate.volumes: \{"name":"x"\} is invalid; expected an array$/],
  ['hostPath with a relative path', () => VolumeSource.hostPath('var/log'), /^VolumeSource.hostPath path: "var\/log" is invalid; expected an absolute path on the node$/],
  ['CSI volume with an invalid driver', () => VolumeSource.csi('Secrets Store'), /^VolumeSource.csi driver: "Secrets Store" is not a valid object name/],
  ['raw volume with two sources', () => VolumeSource.fromK8s({ emptyDir: {}, secret: { secretName: 'x' } }), /^VolumeSource.fromK8s source: .* is invalid; expected exactly one volume source/],
  ['Flink container env the toolkit sets', app({ podTemplate: { flinkContainer: { env: { JOB_MANAGER_RPC_ADDRESS: EnvValue.fromValue('x') } } } }), /^podTemplate.flinkContainer.env name: "JOB_MANAGER_RPC_ADDRESS" is already set by the toolkit or the cluster's env/],
  ['Flink container env the cluster sets', app({ env: { TOKEN: EnvValue.fromValue('a') }, taskManagerPodTemplate: { flinkContainer: { env: { TOKEN: EnvValue.fromValue('b') } } } }), /^taskManagerPodTemplate.flinkContainer.env name: "TOKEN" is already set/],
  ['Flink container env in podTemplate and a component\'s', app({ podTemplate: { flinkContainer: { env: { A: EnvValue.fromValue('a') } } }, jobManagerPodTemplate: { flinkContainer: { env: { A: EnvValue.fromValue('b') } } } }), /^jobManagerPodTemplate.flinkContainer.env name: "A" is already set/],
  ['sidecar env given as a plain string', app({ podTemplate: { sidecars: [SIDE({ env: { TOKEN: 'secret' as any } })] } }), /^podTemplate.sidecars\[0\].env.TOKEN: "secret" is invalid; expected an EnvValue/],
  ['sidecar memory with a fraction of a MiB', app({ podTemplate: { sidecars: [SIDE({ resources: { memory: Size.kibibytes(1000) } })] } }), /^podTemplate.sidecars\[0\].resources.memory: "1000Ki" is invalid; expected a whole number of mebibytes$/],
  ['sidecar CPU limit below its request', app({ podTemplate: { sidecars: [SIDE({ resources: { cpu: Cpu.millis(200), cpuLimit: Cpu.millis(100) } })] } }), /^podTemplate.sidecars\[0\].resources.cpuLimit: "100m" is below the CPU request \(200m\)/],
  ['two priority classes for one pod', app({ podTemplate: { priorityClassName: 'high' }, jobManagerPodTemplate: { priorityClassName: 'low' } }), /^jobManagerPodTemplate.priorityClassName: "low" differs from "high" of podTemplate/],
  ['cluster env added later over a pod template\'s', () => synth((s) => new FlinkApplication(s, 'job', { ...OK, podTemplate: { flinkContainer: { env: { A: EnvValue.fromValue('a') } } } }).addEnv('A', EnvValue.fromValue('b'))),
    /^env name: "A" is already set by a pod template's flinkContainer.env; choose another name$/],
  ['cluster volume added later under a pod template\'s name', () => synth((s) => new FlinkApplication(s, 'job', { ...OK, podTemplate: { volumes: [EMPTY] } }).addVolume({ name: 'scratch', mountPath: '/s', source: VolumeSource.emptyDir() })),
    /^volumes\[\].name: "scratch" is already used in the pod/],
  ['Flink container env named like the secret configuration values\' env', app({ podTemplate: { flinkContainer: { env: { FLINK_CONF_SECRET_0: EnvValue.fromValue('x') } } } }),
    /^podTemplate.flinkContainer.env name: "FLINK_CONF_SECRET_0" is already set by the toolkit/],

  // objects the API server would reject, made through escape hatches: the Kubernetes v1.34 schema and its format rules at synthesis
  ['patch adding an unknown field', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/readinesProbe', {}))),
    jm(/spec.template.spec.containers\[0\].readinesProbe: \{\} is an unknown field of Container; did you mean "readinessProbe"\?$/)],
  ['patch adding an unknown top-level field', patched((a) => a.configMap.addJsonPatch(JsonPatch.add('/dat', { a: 'b' }))), /^job: ConfigMap\/job-config: dat: \{"a":"b"\} is an unknown field of ConfigMap; did you mean "data"\?$/],
  ['patch setting a wrong type', patched((a) => a.taskManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/replicas', 'two'))),
    /^job: Deployment\/job-taskmanager: spec.replicas: "two" is invalid; expected an integer \(got a string\)$/],
  ['patch removing a required field', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.remove('/spec/selector'))), jm(/spec.selector: \(missing\) is required in DeploymentSpec$/)],
  ['patch setting an invalid enum value', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/imagePullPolicy', 'Sometimes'))),
    jm(/spec.template.spec.containers\[0\].imagePullPolicy: "Sometimes" is invalid; expected one of "Always", "IfNotPresent", "Never"$/)],
  ['patch setting an invalid label value', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/metadata/labels/team', 'data platform'))),
    jm(/metadata.labels.team: "data platform" is not a valid label value; expected at most 63 characters/)],
  ['patch setting an invalid pod label key', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/metadata/labels/team~1a~1b', 'x'))),
    jm(/spec.template.metadata.labels key: "team\/a\/b" is not a valid label key/)],
  ['patch setting an invalid annotation key', patched((a) => a.restService.addJsonPatch(JsonPatch.add('/metadata/annotations', { 'example.com/a b': 'x' }))),
    /^job: Service\/job-rest: metadata.annotations key: "example.com\/a b" is not a valid label key/],
  ['patch adding a container of an existing name', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', { name: 'jobmanager', image: 'busybox:1.36' }))),
    jm(/spec.template.spec.containers\[1\].name: "jobmanager" duplicates spec.template.spec.containers\[0\]; expected each name once in containers$/)],
  ['patch adding a sidecar named like an init container', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', { name: 'flink-config', image: 'busybox:1.36' }))),
    jm(/spec.template.spec.containers\[1\].name: "flink-config" is also the name of spec.template.spec.initContainers\[0\]; expected container names unique across the pod$/)],
  ['patch setting an invalid container name', patched((a) => a.taskManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/name', 'Task_Manager'))),
    /^job: Deployment\/job-taskmanager: spec.template.spec.containers\[0\].name: "Task_Manager" is not a valid name; expected a DNS-1123 label/],
  ['patch setting an invalid volume name', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/volumes/0/name', 'flink.conf'))),
    jm(/spec.template.spec.volumes\[0\].name: "flink.conf" is not a valid name; expected a DNS-1123 label/)],
  ['patch setting a port name above 15 characters', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/ports/0/name', 'flink-rest-endpoint'))),
    jm(/spec.template.spec.containers\[0\].ports\[0\].name: "flink-rest-endpoint" is not a valid port name; expected an IANA service name/)],
  ['patch setting a port number above 65535', patched((a) => a.restService.addJsonPatch(JsonPatch.replace('/spec/ports/0/port', 80810))),
    /^job: Service\/job-rest: spec.ports\[0\].port: 80810 is not a valid port number; expected 1 to 65535$/],
  ['patch setting an int32 out of range', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/revisionHistoryLimit', 2 ** 40))),
    jm(/spec.revisionHistoryLimit: 1099511627776 is out of range; expected an int32/)],
  ['patch setting a bad memory quantity', patched((a) => a.taskManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources/limits/memory', '4GB '))),
    /^job: Deployment\/job-taskmanager: spec.template.spec.containers\[0\].resources.limits.memory: "4GB " is not a Kubernetes quantity/],
  ['patch setting a bad CPU quantity', patched((a) => a.jobManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources/requests/cpu', '1 core'))),
    jm(/spec.template.spec.containers\[0\].resources.requests.cpu: "1 core" is not a Kubernetes quantity/)],
  ['patch setting an invalid Service name', patched((a) => a.restService.addJsonPatch(JsonPatch.replace('/metadata/name', '8081-rest'))),
    /^job: Service\/8081-rest: metadata.name: "8081-rest" is not a valid name; expected a DNS-1035 label/],
  ['added ConfigMap with an invalid key', patched((a) => new ApiObject(Chart.of(a), 'extra', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra' }, data: { 'conf/app.yaml': 'x' } })),
    /^job: ConfigMap\/extra: data key: "conf\/app.yaml" is not a valid Secret or ConfigMap key/],
  ['added Secret whose data is not base64', patched((a) => new ApiObject(Chart.of(a), 'extra', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'extra' }, data: { password: 'hunter2!' } })),
    /^job: Secret\/extra: data.password: "hunter2!" is not base64; expected base64-encoded data$/],
  ['added custom resource with an invalid name', patched((a) => new ApiObject(Chart.of(a), 'extra', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'My_Widget' } })),
    /^job: Widget\/My_Widget: metadata.name: "My_Widget" is not a valid object name; expected a DNS subdomain/],

  // storage URIs by scheme and durability
  ['checkpoint dir that is a relative file path', app({ checkpointDirectory: 'file://data/cp' }), /^checkpointDirectory: "file:\/\/data\/cp" is a relative path \(Flink reads "data" as a host\); expected an absolute path such as "file:\/\/\/data\/cp"$/],
  ['checkpoint dir with no bucket', app({ checkpointDirectory: 's3:///cp' }), /^checkpointDirectory: "s3:\/\/\/cp" has no bucket; expected "s3:\/\/<bucket>\/<path>"$/],
  ['savepoint dir with no bucket', app({ savepointDirectory: 'gs:///sp' }), /^savepointDirectory: "gs:\/\/\/sp" has no bucket/],
  ['HA dir with no storage account', app({ highAvailability: true, highAvailabilityStorageDir: 'abfss:///ha' }), /^highAvailabilityStorageDir: "abfss:\/\/\/ha" has no bucket/],
  ['HA dir with a storage key in the URI', app({ highAvailability: true, highAvailabilityStorageDir: 'abfss://c:key@a.dfs.core.windows.net/ha' }), /^highAvailabilityStorageDir: "abfss:\/\/\*\*\*@a\.dfs\.core\.windows\.net\/ha" carries credentials in the URI/],
  ['checkpoint dir on a scheme no Flink file system serves', app({ checkpointDirectory: 'ftp://host/cp' }), /^checkpointDirectory: "ftp:\/\/host\/cp" uses scheme "ftp", which no Flink file system serves; expected one of file, hdfs/],
  ['storage base with ".." segments', () => new FlinkPlatform({ storageBaseDirectory: 's3://b/flink/../other' }), /^storageBaseDirectory: "s3:\/\/b\/flink\/..\/other" has "." or ".." segments/],
  ['credentials inside a checkpoint URI', app({ checkpointDirectory: 's3://AKIA123:hunter2@bucket/cp' }), /^checkpointDirectory: "s3:\/\/\*\*\*@bucket\/cp" carries credentials in the URI/],
  ['filesystem sink with no bucket', () => Sink.fileSystem({ path: 's3:///logs' }), /^Sink.fileSystem path: "s3:\/\/\/logs" has no bucket/],
  ['savepoint path on an unknown scheme', app({ initialSavepointPath: 'memory://sp/1' }), /^initialSavepointPath: "memory:\/\/sp\/1" uses scheme "memory"/],
  ['pod-local checkpoint dir', synthOf({ checkpointDirectory: 'file:///data/cp', savepointDirectory: undefined }),
    /^job: checkpointDirectory: "file:\/\/\/data\/cp" is pod-local: no writable PersistentVolumeClaim is mounted at or above \/data\/cp in the jobmanager pods, so the state dies with the pod/],
  ['pod-local checkpoint dir on an emptyDir', synthOf({ checkpointDirectory: 'file:///data/cp', savepointDirectory: undefined, volumes: [{ name: 'data', mountPath: '/data', source: VolumeSource.emptyDir() }] }),
    /^job: checkpointDirectory: "file:\/\/\/data\/cp" is pod-local/],
  ['checkpoint dir on a read-only claim', synthOf({ checkpointDirectory: 'file:///data/cp', savepointDirectory: undefined, volumes: [{ name: 'data', mountPath: '/data', source: VolumeSource.persistentVolumeClaim('state') }] }),
    /^job: checkpointDirectory: "file:\/\/\/data\/cp" is pod-local/],
  ['savepoint dir beside the mounted claim', synthOf({ checkpointDirectory: 'file:///data/cp', savepointDirectory: 'file:///database/sp', volumes: [{ name: 'data', mountPath: '/data', readOnly: false, source: VolumeSource.persistentVolumeClaim('state') }] }),
    /^job: savepointDirectory: "file:\/\/\/database\/sp" is pod-local/],

  // SQL a filter or derived column could break out of
  ['filter with a line comment', filter("msg = 'ERROR' -- OR 1 = 1"), /^pipeline.filters\[0\]: "msg = 'ERROR' -- OR 1 = 1" is not one SQL condition: at position 15, "--": a comment, which would hide the rest of the clause; expected the expression without comments$/],
  ['filter with a block comment', filter("msg = 'ERROR' /* AND x */"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 15, "\/\*": a comment/],
  ['filter with an unbalanced quote', filter("msg = 'ERROR"), /^pipeline.filters\[0\]: "msg = 'ERROR" is not one SQL condition: at position 7, "'ERROR": the string literal is never closed; expected a closing '$/],
  ['filter closing the clause\'s parenthesis', filter('1 = 1) OR (1 = 1'), /^pipeline.filters\[0\]: "1 = 1\) OR \(1 = 1" is not one SQL condition: at position 6, "\)": this "\)" closes a parenthesis the expression did not open, which would end the clause; expected the end of the expression$/],
  ['filter leaving a parenthesis open', filter("(msg = 'ERROR'"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 15, the end: expected "\)"$/],
  ['filter with a top-level comma', filter("msg = 'ERROR', msg"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 14, ",": a "," would start another item of the clause/],
  ['filter with an unbalanced backtick', filter('`msg = 1'), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 1, "`msg = 1": the quoted identifier is never closed/],
  ['filter with ";" after a string', filter("msg = 'a;b'; DROP TABLE x"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 12, ";": a ";" would end the statement/],
  ['derived column with a comment', derive('UPPER(msg) -- x'), /^pipeline.derive.extra: "UPPER\(msg\) -- x" is not one SQL expression: at position 12, "--": a comment, which would hide the rest of the clause; expected the expression without comments$/],
  ['derived column breaking out of its CAST', derive('msg AS STRING) AS a, (msg'), /^pipeline.derive.extra: .* is not one SQL expression: at position 5, "AS": expected the end of the expression/],
  ['derived column with a top-level comma', derive('msg, msg'), /^pipeline.derive.extra: "msg, msg" is not one SQL expression: at position 4, ",": a "," would start another item of the clause/],
  ['derived column with a double quote', derive('"msg'), /^pipeline.derive.extra: .* is not one SQL expression: at position 1, "\\"": double quotes are neither strings nor identifiers in Flink SQL/],
  ['derived column that is blank', derive('  '), /^pipeline.derive.extra: "  " is invalid; expected one SQL expression, e.g. UPPER\(service\)$/],
  // break-outs and non-expressions only a parser sees (balanced, comment-free, no top-level comma)
  ['filter that closes its parenthesis and ORs a tautology', filter("msg = 'x') OR (TRUE"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 10, "\)": this "\)" closes a parenthesis/],
  ['filter that closes and reopens a balanced pair', filter(") OR (1 = 1"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 1, "\)": expected an expression before "\)"$/],
  ['filter with a UNION', filter("msg = 'x' UNION SELECT msg FROM source"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 11, "UNION": UNION is a set operator, which would start another query; expected the end of the expression$/],
  ['filter with a subquery', filter('msg IN (SELECT msg FROM source)'), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 9, "SELECT": subqueries are not allowed; expected a list of values$/],
  ['filter with EXISTS', filter('EXISTS (SELECT 1)'), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 1, "EXISTS": subqueries are not allowed/],
  ['filter followed by a GROUP BY', filter("msg = 'x' GROUP BY msg"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 11, "GROUP": expected the end of the expression/],
  ['filter followed by ORDER BY/LIMIT', filter('TRUE ORDER BY msg LIMIT 1'), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 6, "ORDER": expected the end of the expression/],
  ['filter with two conditions side by side', filter("msg = 'a' msg = 'b'"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 11, "msg": expected the end of the expression/],
  ['filter with a window aggregate', filter('COUNT(*) OVER () > 1'), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 10, "OVER": window aggregates/],
  ['filter that is a value, not a condition', filter("msg || 'x'"), /^pipeline.filters\[0\]: "msg \|\| 'x'" is a value, not a condition; expected one SQL condition that is TRUE or FALSE/],
  ['filter that is a STRING field', filter('msg'), /^pipeline.filters\[0\]: "msg" is the STRING field msg, not a condition; expected one SQL condition/],
  ['filter reading an unknown column', filter("sevrity = 'high'"), /^pipeline.filters\[0\]: "sevrity = 'high'" reads an unknown column: at position 1, "sevrity" is not a source field; expected one of msg/],
  ['filter reading a column in the wrong case', filter("MSG = 'x'"), /^pipeline.filters\[0\]: .* reads an unknown column: at position 1, "MSG" is not a source field \(names are case-sensitive: the field is msg\)/],
  ['filter reading a derived column', pipeline({ derive: { up: 'UPPER(msg)' }, filters: ["up = 'X'"] }), /^pipeline.filters\[0\]: "up = 'X'" reads an unknown column: at position 1, "up" is not a source field; expected one of msg \(derived columns and the count are computed alongside, not readable here\)$/],
  ['filter with "!="', filter("msg != 'x'"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 5, "!=": Flink SQL does not allow "!="; expected "<>"$/],
  ['filter naming a reserved word unquoted', pipeline({ source: { ...SRC, fields: { msg: FieldType.STRING, method: FieldType.STRING } }, filters: ["method = 'GET'"] }),
    /^pipeline.filters\[0\]: .* is not one SQL condition: at position 1, "method": METHOD is a reserved word in Flink SQL; expected an expression \(write `method` for a column of that name\)$/],
  ['filter ending in a dangling AND', filter("msg = 'x' AND"), /^pipeline.filters\[0\]: .* is not one SQL condition: at position 14, the end: expected an expression$/],
  ['derived column closing its CAST and adding a column', derive("msg AS STRING) AS a, CAST('x'"), /^pipeline.derive.extra: .* is not one SQL expression: at position 5, "AS"/],
  ['derived column closing its CAST with a balanced pair', derive("UPPER(msg)) AS x FROM source; DROP TABLE t; SELECT (1"), /^pipeline.derive.extra: .* is not one SQL expression: at position 11, "\)": this "\)" closes a parenthesis/],
  ['derived column that is a SELECT', derive('SELECT msg FROM source'), /^pipeline.derive.extra: .* is not one SQL expression: at position 1, "SELECT": SELECT starts a statement or clause, not an expression/],
  ['derived column that is a scalar subquery', derive('(SELECT MAX(msg) FROM source)'), /^pipeline.derive.extra: .* is not one SQL expression: at position 2, "SELECT": subqueries are not allowed/],
  ['derived column with adjacent strings', derive("'a' 'b'"), /^pipeline.derive.extra: .* is not one SQL expression: at position 5, "'b'": adjacent string literals/],
  ['derived column casting to an unknown type', derive('CAST(msg AS TEXT)'), /^pipeline.derive.extra: .* is not one SQL expression: at position 13, "TEXT": TEXT is not a Flink SQL data type/],
  ['derived column with a charset-prefixed string', derive("_UTF8'x'"), /^pipeline.derive.extra: .* is not one SQL expression: at position 1, "_UTF8'": a string with a character set or escape prefix/],
  ['derived column reading another derived column', pipeline({ derive: { a: 'UPPER(msg)', b: 'LOWER(a)' } }), /^pipeline.derive.b: "LOWER\(a\)" reads an unknown column: at position 7, "a" is not a source field/],
  ['derived column reading a part of an atomic field', derive('msg.x'), /^pipeline.derive.extra: "msg.x" reads an unknown column: at position 1, "msg.x" reads a part of the STRING field msg, which has none/],
  ['derived column with a stray character', derive('msg # 1'), /^pipeline.derive.extra: .* is not one SQL expression: at position 5, "#": not a character of a Flink SQL expression outside quotes$/],
  ['derived column named like a source field', pipeline({ derive: { msg: 'UPPER(msg)' } }), /^pipeline.derive key: "msg" is already a column \(from pipeline.source.fields\); expected unique output column names$/],
  ['count column named like a source field', pipeline({ countPerKey: { key: 'msg', as: 'msg' } }), /^pipeline.countPerKey.as: "msg" is already a column \(from pipeline.source.fields\)/],
  ['count column name not an identifier', pipeline({ countPerKey: { key: 'msg', as: 'msg-count' } }), /^pipeline.countPerKey.as: "msg-count" is not a column name/],
  ['source field the generated SQL uses itself', pipeline({ source: { ...SRC, fields: { msg: FieldType.STRING, proc_time: FieldType.STRING } }, countPerKey: { key: 'msg' } }),
    /^pipeline.source.fields key: "proc_time" is a column the generated SQL adds itself with countPerKey; expected a name other than proc_time$/],
  ['SQL reading an env no container sets', app({ job: JobSource.sql("INSERT INTO t SELECT '${env:DB_PASSWORD}'") }),
    /^job.sql: "\$\{env:DB_PASSWORD\}" reads environment variable DB_PASSWORD, which the JobManager container of "job" does not set; expected it in env/],
  ['SQL with a malformed env reference', app({ job: JobSource.sql("INSERT INTO t SELECT '${env:db-pass}'") }), /^job.sql: "\$\{env:db-pass\}" is not a valid reference; expected \$\{env:NAME\}/],
  ['filter reading an env no container sets', app({ job: JobSource.pipeline(new LogPipeline({ source: SRC, filters: ["msg <> '${env:SECRET_WORD}'"], sinks: [Sink.fileSystem({ path: 's3://b/x' })] })) }),
    /^job.sql: "\$\{env:SECRET_WORD\}" reads environment variable SECRET_WORD/],
  ['Elasticsearch host with credentials', () => Sink.elasticsearch({ hosts: ['https://elastic:changeme@es:9200'], index: 'logs' }),
    /^Sink.elasticsearch hosts: "https:\/\/\*\*\*@es:9200" carries credentials in the URL, which would land in a ConfigMap; expected credentialsSecret/],

  // credentials kept out of ConfigMaps
  ['storage account key in the config', raw('fs.azure.account.key.acct.blob.core.windows.net', 'AAAA'), /^flinkConfiguration\["fs.azure.account.key.acct.blob.core.windows.net"\]: "\*\*\*" looks like a credential; .* FlinkConfigValue.fromSecret\(secretName, key\)$/],
  ['S3 secret key in the config', raw('s3.secret-key', 'x'), /^flinkConfiguration\["s3.secret-key"\]: "\*\*\*" looks like a credential/],
  ['S3 access key in the config', raw('s3.access-key', 'x'), /^flinkConfiguration\["s3.access-key"\]: "\*\*\*" looks like a credential/],
  ['keystore password in the config', raw('security.ssl.rest.keystore-password', 'x'), /^flinkConfiguration\["security.ssl.rest.keystore-password"\]: "\*\*\*" looks like a credential/],
  ['GCS private key in the config', raw('fs.gs.auth.service.account.private.key', 'x'), /^flinkConfiguration\["fs.gs.auth.service.account.private.key"\]: "\*\*\*" looks like a credential/],
  ['URL with user and password in the config', raw('fs.s3a.endpoint', 'https://minio:minio123@minio:9000'), /^flinkConfiguration\["fs.s3a.endpoint"\]: "https:\/\/\*\*\*@minio:9000" carries credentials in a URL/],
  ['Secret-fed value with an invalid Secret name', () => FlinkConfigValue.fromSecret('TLS_Secret', 'password'), /^FlinkConfigValue.fromSecret secretName: "TLS_Secret" is not a valid object name; expected a DNS subdomain/],
  ['Secret-fed value with an invalid key', () => FlinkConfigValue.fromSecret('tls', 'pass word'), /^FlinkConfigValue.fromSecret key: "pass word" is not a valid Secret or ConfigMap key/],
  ['Secret-fed value for a key a typed prop sets', raw('parallelism.default', FlinkConfigValue.fromSecret('tls', 'p')), /^flinkConfiguration\["parallelism.default"\]: "\*\*\*" duplicates Flink key "parallelism.default"/],
  ['Secret-fed value in a session job', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JobSource.sql('INSERT INTO t SELECT 1'), flinkConfiguration: { 'security.ssl.key-password': FlinkConfigValue.fromSecret('tls', 'key') } });
  }), /^flinkConfiguration\["security.ssl.key-password"\]: "FlinkConfigValue.fromSecret\('tls', 'key'\)" is not possible for a session job, whose configuration is submitted from a ConfigMap; set it in the session cluster's flinkConfiguration$/],
  ['multi-line value in flink-conf.yaml', app({ flinkVersion: FlinkVersion.of('1.18'), flinkConfiguration: { 'env.java.opts.all': '-Da=1\n-Db=2' } }), /^flinkConfiguration\["env.java.opts.all"\]: "-Da=1\\n-Db=2" contains a line break, which flink-conf.yaml cannot hold/],
  // raw Flink values checked against their option's type in the catalog, as Flink parses them
  ['slots that are not an Integer', raw('taskmanager.numberOfTaskSlots', 'two'), /^flinkConfiguration\["taskmanager.numberOfTaskSlots"\]: "two" is not an Integer; expected a whole number such as 4/],
  ['zero slots as a raw value', app({ flinkVersion: FlinkVersion.V2_2, flinkConfiguration: { 'taskmanager.numberOfTaskSlots': 0 } }), /^flinkConfiguration\["taskmanager.numberOfTaskSlots"\]: 0 is out of range; expected a whole number >= 1$/],
  ['an Integer beyond Java int', raw('rest.server.numThreads', '2147483648'), /^flinkConfiguration\["rest.server.numThreads"\]: "2147483648" is not an Integer; expected a whole number such as 4 \(at most 2147483647\)$/],
  ['a Boolean written yes', raw('pipeline.object-reuse', 'yes'), /^flinkConfiguration\["pipeline.object-reuse"\]: "yes" is not a Boolean; expected true or false$/],
  ['a Duration with a fraction', raw('rest.idleness-timeout', '1.5s'), /^flinkConfiguration\["rest.idleness-timeout"\]: "1.5s" is not a Duration; expected a whole number with a unit such as 500ms/],
  ['a Duration in weeks', raw('web.refresh-interval', '2 weeks'), /^flinkConfiguration\["web.refresh-interval"\]: "2 weeks" is not a Duration/],
  ['a negative Duration', raw('pekko.ask.timeout', '-10s'), /^flinkConfiguration\["pekko.ask.timeout"\]: "-10s" is not a Duration/],
  ['a MemorySize in Kubernetes units', raw('taskmanager.memory.task.off-heap.size', '512Mi'), /^flinkConfiguration\["taskmanager.memory.task.off-heap.size"\]: "512Mi" is not a MemorySize; expected a whole number with a unit such as 512mb or 2g \(units: b\/bytes, k\/kb\/kibibytes/],
  ['a MemorySize beyond 64 bits', raw('taskmanager.memory.framework.off-heap.size', '9000000tb'), /^flinkConfiguration\["taskmanager.memory.framework.off-heap.size"\]: "9000000tb" is not a MemorySize/],
  ['an enum value Flink does not know', raw('kubernetes.container.image.pull-policy', 'Sometimes'), /^flinkConfiguration\["kubernetes.container.image.pull-policy"\]: "Sometimes" is not an accepted value; expected one of IfNotPresent, Always, Never \(case-insensitive\)$/],
  ['an enum list with an unknown item', raw('state.backend.rocksdb.compression.per.level', 'SNAPPY_COMPRESSION;GZIP'), /^flinkConfiguration\["state.backend.rocksdb.compression.per.level"\]: "SNAPPY_COMPRESSION;GZIP" is not an accepted value; expected one of NO_COMPRESSION, SNAPPY_COMPRESSION/],
  ['a Map written with =', raw('pipeline.global-job-parameters', 'a=1,b=2'), /^flinkConfiguration\["pipeline.global-job-parameters"\]: "a=1,b=2" is not a Map; expected key:value pairs separated by commas, such as k1:v1,k2:v2$/],
  ['a Float that is a percentage', raw('taskmanager.memory.network.fraction', '10%'), /^flinkConfiguration\["taskmanager.memory.network.fraction"\]: "10%" is not a Float; expected a number such as 0.5$/],
  ['a memory fraction of 1', raw('taskmanager.memory.jvm-overhead.fraction', 1), /^flinkConfiguration\["taskmanager.memory.jvm-overhead.fraction"\]: 1 is out of range; expected a fraction >= 0 and below 1/],
  ['max parallelism above 32768', raw('pipeline.max-parallelism', 40000), /^flinkConfiguration\["pipeline.max-parallelism"\]: 40000 is out of range; expected a whole number between 1 and 32768/],
  ['a bad value under a deprecated key name', raw('taskmanager.network.memory.fraction', 'half'), /^flinkConfiguration\["taskmanager.network.memory.fraction"\]: "half" is not a Float/],
  ['a bad value added after construction', () => synth((s) => { new FlinkApplication(s, 'job', OK).addFlinkConfiguration('web.refresh-interval', '10 sekunden'); }), /^addFlinkConfiguration\["web.refresh-interval"\]: "10 sekunden" is not a Duration/],
  ['a bad value in a session job', () => synth((s) => {
    const c = new FlinkSessionCluster(s, 'shared', { checkpointDirectory: 's3://b/cp' });
    new FlinkSessionJob(s, 'j', { cluster: c, job: JobSource.sql('INSERT INTO t SELECT 1'), flinkConfiguration: { 'table.exec.state.ttl': '1 month' } });
  }), /^flinkConfiguration\["table.exec.state.ttl"\]: "1 month" is not a Duration/],
];

const ALL_DEFINITIONS = [...DEFINITIONS, ...MORE_DEFINITIONS];

test(`bad input, definitions: ${ALL_DEFINITIONS.length} invalid definitions fail at construction or synthesis with one line naming field and value`, () => {
  assert.ok(ALL_DEFINITIONS.length >= 150);
  assert.equal(new Set(ALL_DEFINITIONS.map(([what]) => what)).size, ALL_DEFINITIONS.length, 'case names are unique');
  for (const [what, build, expected] of ALL_DEFINITIONS) {
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

test('bad input, definitions: what the checks must still accept', () => {
  // Declared sharing, the same names where they do not meet, quoted text that looks like a break-out.
  onPlatform((p) => {
    p.addApplication('a', kafkaJob({ sharedGroupWith: ['b'] }));
    p.addApplication('b', kafkaJob({ sharedGroupWith: ['a'] }));
    p.addApplication('c', kafkaJob({ bootstrapServers: 'other:9092' }));
    p.addApplication('x', kafkaJob({ groupId: 'three', sharedGroupWith: ['y', 'z'] }));
    p.addApplication('y', kafkaJob({ groupId: 'three', sharedGroupWith: ['x', 'z'] }));
    p.addApplication('z', kafkaJob({ groupId: 'three', sharedGroupWith: ['x', 'y'] }));
    p.addApplication('d', { ...HA, highAvailabilityClusterId: 'same', namespace: 'one' });
    p.addApplication('e', { ...HA, highAvailabilityClusterId: 'same', namespace: 'two' });
  })();
  new LogPipeline({ source: SRC, filters: ["msg = 'a;b -- c /* d'", "msg <> 'it''s'", '(msg IN (\'x\', \'y\'))'], derive: { up: 'CONCAT(msg, \'--\')' }, sinks: [Sink.kafka({ bootstrapServers: 'other:9092', topic: 'logs' })] });
  // Expressions the parser must take as Flink does: quoted reserved words, qualified names, every construct.
  new LogPipeline({
    source: { ...SRC, fields: { msg: FieldType.STRING, method: FieldType.STRING, ok: FieldType.BOOLEAN, ts: FieldType.TIMESTAMP, n: FieldType.INT } },
    filters: ['ok', "`method` = 'GET'", 'source.n BETWEEN 1 AND 10', "msg NOT LIKE '%!%%' ESCAPE '!'", 'ts > CURRENT_TIMESTAMP - INTERVAL \'1\' DAY', 'CASE WHEN n > 1 THEN TRUE ELSE FALSE END', 'CAST(msg AS BOOLEAN)'],
    derive: { a: "CASE n WHEN 1, 2 THEN 'low' ELSE 'high' END", b: 'EXTRACT(HOUR FROM ts) * 60', c: "JSON_VALUE(msg, '$.user')", d: "SPLIT_INDEX(msg, ',', 0) || '-'", e: 'COALESCE(TRY_CAST(msg AS INT), -1)' },
    sinks: [Sink.kafka({ bootstrapServers: 'other:9092', topic: 'logs' })],
  });
  for (const image of ['flink:1.20.3-java17', 'localhost:5000/team/flink__x---y:1', 'registry.example.com:443/a/b.c_d:v1', `flink@sha256:${'a'.repeat(64)}`, `[::1]:5000/flink:1`, 'Registry.Example.com/flink:1']) {
    app({ image })();
  }
  // Secret names are DNS subdomains, as the API server checks them (dots and leading digits allowed).
  EnvValue.fromSecret('kafka.creds', 'password');
  KafkaCredentials.plain('1password-kafka');
  FlinkConfigValue.fromSecret('tls.rest', 'keystore.password');
  app({ restartStrategy: RestartStrategy.exponentialDelay({ initialBackoff: Duration.seconds(10), maxBackoff: Duration.seconds(10), multiplier: 1.01, jitter: 1 }) })();
  app({ flinkConfiguration: { 'security.delegation.tokens.enabled': false, 'kubernetes.secrets': 'a:/b', 'pipeline.auto-watermark-interval': '200ms' } })();
  // Flink's own spellings of typed values: long unit names, any case, signs, placeholders.
  app({ flinkConfiguration: { 'rest.idleness-timeout': '2 Minutes', 'pekko.ask.timeout': '10 SECONDS', 'taskmanager.memory.task.off-heap.size': '512 Mebibytes', 'pipeline.object-reuse': 'TRUE',
    'kubernetes.container.image.pull-policy': 'ifnotpresent', 'state.backend.rocksdb.compression.per.level': 'snappy_compression;LZ4_COMPRESSION', 'rest.server.numThreads': '+4',
    'taskmanager.memory.network.fraction': '0.15f', 'pipeline.global-job-parameters': 'a:1,b:2', 'rest.flamegraph.stack-depth': '${env:DEPTH}', 'my.connector.option': 'anything' } })();
  app({ checkpointDirectory: 'hdfs:///flink/cp', savepointDirectory: 'file:///data/sp', env: { DB_PASSWORD: EnvValue.fromSecret('db', 'password') }, job: JobSource.sql("INSERT INTO t SELECT '${env:DB_PASSWORD}', '${env:POD_IP}'") })();
  // Escape hatches the API server accepts: a valid label, a sidecar, a custom resource of a kind with no schema (its metadata checked only).
  // The sidecar's limits, plain JSON that cdk8s' typed Deployment would drop, reach the output.
  const [unit] = patched((a) => {
    a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/metadata/labels/team', 'data-platform'));
    a.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', { name: 'sidecar', image: 'busybox:1.36', resources: { limits: { memory: '64Mi', cpu: 0.1 } } }));
    new ApiObject(Chart.of(a), 'extra', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'widget.one', labels: { team: 'a' } }, spec: { anything: [1, { x: true }] } });
  })();
  assert.deepEqual(unit.objects.find((o) => o.metadata.name === 'job-jobmanager').spec.template.spec.containers[1].resources, { limits: { memory: '64Mi', cpu: 0.1 } });
  assert.match(unit.files['job.k8s.yaml'], /name: sidecar\n(.*\n)*? +memory: 64Mi/);
  synthOf({ checkpointDirectory: 'file:///data/cp', savepointDirectory: 'file:///data/sp', volumes: [{ name: 'data', mountPath: '/data/', readOnly: false, source: VolumeSource.persistentVolumeClaim('state') }] })();
});

test('bad input, definitions: a Secret-fed Flink value reaches the containers from the Secret, never the ConfigMap', () => {
  const objects = synth((s) => new FlinkApplication(s, 'job', { ...OK, flinkConfiguration: { 'security.ssl.rest.keystore-password': FlinkConfigValue.fromSecret('rest-tls', 'keystore-password') } }));
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'job-config');
  assert.ok(!JSON.stringify(cm.data).includes('keystore-password'), 'the key is not in the ConfigMap');
  for (const d of ['job-jobmanager', 'job-taskmanager']) {
    const env = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === d).spec.template.spec.containers[0].env;
    assert.deepEqual(env.find((e: any) => e.name === 'FLINK_CONF_SECRET_0'), { name: 'FLINK_CONF_SECRET_0', valueFrom: { secretKeyRef: { name: 'rest-tls', key: 'keystore-password' } } }, d);
    assert.equal(env.find((e: any) => e.name === 'FLINK_PROPERTIES')?.value, 'security.ssl.rest.keystore-password: ${FLINK_CONF_SECRET_0}\n', d);
  }
});

// ---------------------------------------------------------------------------------------------
// Chart values: helm refuses them before rendering anything

/** [what, chart, helm template arguments after the chart, the one-line reason (as the CLI reports it)]. */
/** [what, chart, helm template arguments, the error line, the release name (the chart's name unless given)]. */
const CHART_VALUES: [string, string, string[], RegExp, string?][] = [
  ['parallelism of zero', 'audit-logs', ['--set', 'job.parallelism=0'], /job\.parallelism: Must be greater than or equal to 1/],
  ['parallelism not a number', 'audit-logs', ['--set', 'job.parallelism=four'], /job\.parallelism: Invalid type\. Expected: integer, given: string/],
  ['an unknown top-level value', 'audit-logs', ['--set', 'bogus=1'], /Additional property bogus is not allowed/],
  ['an unknown image value', 'audit-logs', ['--set', 'image.registry=x'], /image: Additional property registry is not allowed/],
  ['the moving tag latest', 'audit-logs', ['--set', 'image.tag=latest'], /image\.tag: "latest" does not pin the image; expected a tag other than "latest", or image\.digest/],
  ['a tag with a slash', 'audit-logs', ['--set', 'image.tag=1.20/x'], /image\.tag: Does not match pattern/],
  ['a short digest', 'audit-logs', ['--set', 'image.digest=sha256:abc'], /image\.digest: Does not match pattern/],
  ['an unknown pull policy', 'audit-logs', ['--set', 'image.pullPolicy=Sometimes'], /image\.pullPolicy: image\.pullPolicy must be one of the following/],
  ['an unknown upgrade mode', 'audit-logs', ['--set', 'job.upgradeMode=rolling'], /job\.upgradeMode: job\.upgradeMode must be one of the following/],
  ['an unknown job state', 'audit-logs', ['--set', 'job.state=paused'], /job\.state: job\.state must be one of the following/],
  ['program args not a list', 'audit-logs', ['--set', 'job.args=x'], /job\.args: Invalid type\. Expected: array, given: string/],
  ['memory in GB', 'audit-logs', ['--set', 'taskManager.resources.memory=2GB'], /taskManager\.resources\.memory: Does not match pattern/],
  ['fractional GiB memory', 'audit-logs', ['--set', 'jobManager.resources.memory=1.5Gi'], /jobManager\.resources\.memory: Does not match pattern/],
  ['zero CPU', 'audit-logs', ['--set-string', 'taskManager.resources.cpu=0'], /taskManager\.resources\.cpu: Does not match pattern/],
  ['a negative CPU limit', 'audit-logs', ['--set-string', 'taskManager.resources.cpuLimit=-1'], /taskManager\.resources\.cpuLimit: Must validate at least one schema/],
  ['zero TaskManagers of an application', 'audit-logs', ['--set', 'taskManager.replicas=0'], /taskManager\.replicas: Must be greater than or equal to 1/],
  ['an autoscaling utilization above 100', 'log-enricher', ['--set-json', 'taskManager.autoscaling.metrics=[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":150}}}]'], /taskManager\.autoscaling\.metrics\.0: Must validate at least one schema/],
  ['an autoscaling metric of an unknown type', 'log-enricher', ['--set-json', 'taskManager.autoscaling.metrics=[{"type":"Queue","queue":{"name":"q"}}]'], /taskManager\.autoscaling\.metrics\.0: Must validate at least one schema/],
  ['no autoscaling metric', 'log-enricher', ['--set-json', 'taskManager.autoscaling.metrics=[]'], /taskManager\.autoscaling\.metrics: Array must have at least 1 items/],
  ['an external autoscaling metric without a target', 'log-enricher', ['--set-json', 'taskManager.autoscaling.metrics=[{"type":"External","external":{"metric":{"name":"kafka_lag"}}}]'], /taskManager\.autoscaling\.metrics\.0: Must validate at least one schema/],
  ['an autoscaling policy of an unknown type', 'log-enricher', ['--set-json', 'taskManager.autoscaling.behavior={"scaleUp":{"policies":[{"type":"Nodes","value":1,"periodSeconds":60}]}}'], /taskManager\.autoscaling\.behavior\.scaleUp\.policies\.0\.type: taskManager\.autoscaling\.behavior\.scaleUp\.policies\.0\.type must be one of the following/],
  ['autoscaling below one TaskManager', 'log-enricher', ['--set', 'taskManager.autoscaling.minReplicas=0'], /taskManager\.autoscaling\.minReplicas: Must be greater than or equal to 1/],
  ['a savepoint directory with no bucket', 'audit-logs', ['--set', 'job.savepointDirectory=s3:///sp'], /job\.savepointDirectory: Does not match pattern/],
  ['a savepoint directory on an unknown scheme', 'audit-logs', ['--set', 'job.savepointDirectory=ftp://host/sp'], /job\.savepointDirectory: Does not match pattern/],
  ['a relative file savepoint directory', 'audit-logs', ['--set', 'job.savepointDirectory=file://sp/x'], /job\.savepointDirectory: Does not match pattern/],
  ['credentials in a savepoint path', 'audit-logs', ['--set', 'job.initialSavepointPath=s3://key:secret@b/sp'], /job\.initialSavepointPath: Does not match pattern/],
  ['".." in a savepoint path', 'audit-logs', ['--set', 'job.initialSavepointPath=s3://b/a/../sp'], /job\.initialSavepointPath: Must not validate the schema/],
  ['a pod label key with a space', 'audit-logs', ['--set', 'podLabels.a b=x'], /podLabels: Property name of "a b" does not match/],
  ['a node selector key starting with a dash', 'audit-logs', ['--set', 'nodeSelector.-zone=x'], /nodeSelector: Property name of "-zone" does not match/],
  ['a toleration that is not an object', 'audit-logs', ['--set', 'tolerations[0]=x'], /tolerations\.0: Invalid type\. Expected: object, given: string/],
  ['a toolkit-managed Flink key', 'audit-logs', ['--set', 'flinkConfiguration.parallelism\\.default=8'], /flinkConfiguration: Must not validate the schema|parallelism\.default/],
  ['the toolkit-managed slots per TaskManager', 'audit-logs', ['--set', 'flinkConfiguration.taskmanager\\.numberOfTaskSlots=4'], /^flinkConfiguration\["taskmanager\.numberOfTaskSlots"\]: is managed by the toolkit \(set from taskManagerSlots\); expected a key it does not set$/],
  ['the toolkit-managed REST port', 'access-logs', ['--set', 'flinkConfiguration.rest\\.port=9999'], /^flinkConfiguration\["rest\.port"\]: is managed by the toolkit/],
  ['a toolkit-managed key under its pre-2.0 name', 'access-logs', ['--set', 'flinkConfiguration.state\\.checkpoints\\.dir=s3://b/x'], /^flinkConfiguration\["state\.checkpoints\.dir"\]: is managed by the toolkit \(set from checkpointDirectory\)/],
  ['a credential-like Flink key', 'audit-logs', ['--set', 'flinkConfiguration.s3\\.secret-key=x'], /^flinkConfiguration\["s3\.secret-key"\]: looks like a credential, and the Flink configuration lives in a ConfigMap/],
  ['a JAAS configuration as a Flink key', 'audit-logs', ['--set', 'flinkConfiguration.properties\\.SASL\\.JAAS\\.config=x'], /^flinkConfiguration\["properties\.SASL\.JAAS\.config"\]: looks like a credential/],
  ['credentials in a URL in a Flink value', 'audit-logs', ['--set', 'flinkConfiguration.a\\.url=https://user:pw@host/x'], /^flinkConfiguration\["a\.url"\]: carries credentials in a URL, and the Flink configuration lives in a ConfigMap; expected a URL without user:password@/],
  ['a credential-like Flink key of a session job', 'slow-requests', ['--set', 'flinkConfiguration.fs\\.azure\\.account\\.key\\.acct=x'], /^flinkConfiguration\["fs\.azure\.account\.key\.acct"\]: looks like a credential/],
  ['a Flink key with a space', 'audit-logs', ['--set', 'flinkConfiguration.a b=x'], /^flinkConfiguration\["a b"\]: is not a Flink configuration key; expected dotted words/],
  ['a CPU limit below the request (template check)', 'audit-logs', ['--set-string', 'taskManager.resources.cpu=1', '--set-string', 'taskManager.resources.cpuLimit=500m'], /^taskManager\.resources\.cpuLimit: 500m is below the CPU request taskManager\.resources\.cpu \(1\); expected at least the request$/],
  ['a fractional CPU limit below a millicore request (template check)', 'audit-logs', ['--set-string', 'taskManager.resources.cpu=1500m', '--set-string', 'taskManager.resources.cpuLimit=1.2'], /^taskManager\.resources\.cpuLimit: 1\.2 is below the CPU request taskManager\.resources\.cpu \(1500m\)/],
  ['autoscaling max below min (template check)', 'log-enricher', ['--set', 'taskManager.autoscaling.minReplicas=3', '--set', 'taskManager.autoscaling.maxReplicas=2'], /^taskManager\.autoscaling\.maxReplicas: 2 is below taskManager\.autoscaling\.minReplicas \(3\); expected at least minReplicas$/],
  ['a release name with a dot', 'audit-logs', [], /^release name "a\.b" cannot prefix this chart's object names; expected a DNS label .* of at most 50 characters, so that a\.b-pre-rollback stays within 63$/, 'a.b'],
  ['a release name starting with a digit', 'audit-logs', [], /^release name "1ab" cannot prefix this chart's object names; expected a DNS label/, '1ab'],
  ['a release name too long for the longest object name', 'log-enricher', [], /^release name "a{45}" cannot prefix this chart's object names; expected a DNS label .* of at most 44 characters, so that a{45}-cluster-config-map stays within 63$/, 'a'.repeat(45)],
  ['a session job release name with a dot', 'slow-requests', [], /^release name "a\.b" cannot prefix this chart's object names; .* at most 53 characters, so that a\.b-submitter stays within 63$/, 'a.b'],
  ['a Flink value that is an object', 'audit-logs', ['--set', 'flinkConfiguration.a\\.b.c=1'], /flinkConfiguration\.a\.b: Invalid type/],
  ['monitoring switch not a boolean', 'audit-logs', ['--set-string', 'monitoring.scrape=yes'], /monitoring\.scrape: Invalid type\. Expected: boolean, given: string/],
  ['parallelism above the slots (template check)', 'audit-logs', ['--set', 'job.parallelism=9'], /job\.parallelism: 9 exceeds the 2 slots of 1 TaskManagers x 2 slots; raise taskManager\.replicas/],
  ['TaskManager memory below Flink\'s minimum (template check)', 'audit-logs', ['--set', 'taskManager.resources.memory=512Mi'], /taskManager\.resources\.memory: 512Mi is below Flink's minimum; expected at least \d+Mi/],
  ['last-state without HA (template check)', 'audit-logs', ['--set', 'job.upgradeMode=last-state'], /job\.upgradeMode: "last-state" needs high availability/],
  ['suspend without a savepoint directory (template check)', 'access-logs', ['--set', 'job.state=suspended', '--set', 'job.savepointDirectory='], /job\.state: "suspended" needs job\.savepointDirectory/],  // flinkConfiguration values, by the option's type in the chart's Flink version (template check).
  ['a Flink Duration that is not one (session job)', 'slow-requests', ['--set', 'flinkConfiguration.execution\\.checkpointing\\.interval=banana'],
    /^flinkConfiguration\["execution\.checkpointing\.interval"\]: "banana" is not a Duration; expected a whole number with a unit such as 500ms, 30s, 10min, 2h or 1d \(units: .*; no unit means ms\)$/],
  ['a Flink Duration with a fraction', 'access-logs', ['--set', 'flinkConfiguration.rest\\.idleness-timeout=1.5s'], /^flinkConfiguration\["rest\.idleness-timeout"\]: "1\.5s" is not a Duration; expected a whole number with a unit/],
  ['a Flink MemorySize in Kubernetes units', 'audit-logs', ['--set', 'flinkConfiguration.taskmanager\\.memory\\.task\\.off-heap\\.size=512Mi'],
    /^flinkConfiguration\["taskmanager\.memory\.task\.off-heap\.size"\]: "512Mi" is not a MemorySize; expected a whole number with a unit such as 512mb or 2g \(units: b\/bytes, k\/kb\/kibibytes, m\/mb\/mebibytes, g\/gb\/gibibytes, t\/tb\/tebibytes; no unit means bytes\)$/],
  ['a Flink MemorySize beyond 64 bits', 'access-logs', ['--set', 'flinkConfiguration.taskmanager\\.memory\\.framework\\.off-heap\\.size=8388608t'], /^flinkConfiguration\["taskmanager\.memory\.framework\.off-heap\.size"\]: "8388608t" is not a MemorySize/],
  ['a Flink Integer that is a word', 'access-logs', ['--set', 'flinkConfiguration.rest\\.server\\.numThreads=four'], /^flinkConfiguration\["rest\.server\.numThreads"\]: "four" is not an Integer; expected a whole number such as 4 \(at most 2147483647\)$/],
  ['a Flink Integer beyond Java int', 'audit-logs', ['--set', 'flinkConfiguration.rest\\.server\\.numThreads=2147483648'], /^flinkConfiguration\["rest\.server\.numThreads"\]: 2147483648 is not an Integer; expected a whole number such as 4 \(at most 2147483647\)$/],
  ['a Flink Long beyond Java long', 'audit-logs', ['--set-string', 'flinkConfiguration.jobstore\\.cache-size=9223372036854775808'], /^flinkConfiguration\["jobstore\.cache-size"\]: "9223372036854775808" is not a Long; expected a whole number such as 4$/],
  ['a max parallelism out of range (session cluster)', 'shared-logs', ['--set', 'flinkConfiguration.pipeline\\.max-parallelism=40000'],
    /^flinkConfiguration\["pipeline\.max-parallelism"\]: 40000 is out of range; expected a whole number between 1 and 32768 \(or -1 for the default\)$/],
  ['a default parallelism of zero (session cluster)', 'shared-logs', ['--set', 'flinkConfiguration.parallelism\\.default=0'], /^flinkConfiguration\["parallelism\.default"\]: 0 is out of range; expected a whole number >= 1 \(or -1 for the default\)$/],
  ['a Flink Boolean written yes', 'audit-logs', ['--set', 'flinkConfiguration.pipeline\\.object-reuse=yes'], /^flinkConfiguration\["pipeline\.object-reuse"\]: "yes" is not a Boolean; expected true or false$/],
  ['a Flink Boolean of a session job written 1', 'slow-requests', ['--set', 'flinkConfiguration.pipeline\\.object-reuse=1'], /^flinkConfiguration\["pipeline\.object-reuse"\]: 1 is not a Boolean; expected true or false$/],
  ['a Flink enum value it does not know', 'access-logs', ['--set', 'flinkConfiguration.kubernetes\\.container\\.image\\.pull-policy=Sometimes'],
    /^flinkConfiguration\["kubernetes\.container\.image\.pull-policy"\]: "Sometimes" is not an accepted value; expected one of IfNotPresent, Always, Never \(case-insensitive\)$/],
  ['a Flink enum list with an unknown item', 'audit-logs', ['--set', 'flinkConfiguration.state\\.backend\\.rocksdb\\.compression\\.per\\.level=SNAPPY_COMPRESSION;GZIP'],
    /^flinkConfiguration\["state\.backend\.rocksdb\.compression\.per\.level"\]: "SNAPPY_COMPRESSION;GZIP" is not an accepted value; expected one of NO_COMPRESSION, SNAPPY_COMPRESSION, .* \(case-insensitive\)$/],
  ['a memory fraction of 1.0', 'audit-logs', ['--set', 'flinkConfiguration.taskmanager\\.memory\\.network\\.fraction=1.0'], /^flinkConfiguration\["taskmanager\.memory\.network\.fraction"\]: "1\.0" is out of range; expected a fraction >= 0 and below 1, such as 0\.1$/],
  ['a negative memory fraction under its deprecated name', 'audit-logs', ['--set', 'flinkConfiguration.taskmanager\\.network\\.memory\\.fraction=-0.1'], /^flinkConfiguration\["taskmanager\.network\.memory\.fraction"\]: "-0\.1" is out of range; expected a fraction >= 0 and below 1/],
  ['a Flink Float that is a percentage', 'access-logs', ['--set', 'flinkConfiguration.taskmanager\\.memory\\.jvm-overhead\\.fraction=10%'], /^flinkConfiguration\["taskmanager\.memory\.jvm-overhead\.fraction"\]: "10%" is not a Float; expected a number such as 0\.5$/],
];

/**
 * [what, chart, a values file, the error line]: line breaks in keys and values that would be
 * templated into YAML (pod annotations, a ConfigMap's file, the images of the pod templates).
 */
const VALUE_FILES: [string, string, string, RegExp][] = [
  ['an annotation key with a line break', 'audit-logs', 'podAnnotations:\n  "a\\nkind: Secret": x\n', /podAnnotations.*pattern/],
  ['a Flink key with a line break', 'audit-logs', 'flinkConfiguration:\n  "a.b\\nkind: Secret": x\n', /^flinkConfiguration\["a\.b\\nkind: Secret"\]: is not a Flink configuration key/],
  ['a Flink value with a line break', 'audit-logs', 'flinkConfiguration:\n  a.b: "x\\nkind: Secret"\n', /^flinkConfiguration\["a\.b"\]: "x\\nkind: Secret" contains a line break or control character; expected one line$/],
  ['an image repository with a line break', 'audit-logs', 'image:\n  repository: "flink\\nkind: Secret"\n', /image\.repository: Does not match pattern/],
  ['an image tag with a line break', 'audit-logs', 'image:\n  tag: "1.20\\n"\n', /image\.tag: Does not match pattern/],
  ['a hooks image with a line break', 'audit-logs', 'hooks:\n  image: "ops:1\\nkind: Secret"\n', /hooks\.image: Does not match pattern/],
  ['a session job Flink value with a line break', 'slow-requests', 'flinkConfiguration:\n  a.b: "x\\ny"\n', /^flinkConfiguration\["a\.b"\]: "x\\ny" contains a line break or control character; expected one line$/],
  ['a session job image repository with a line break', 'slow-requests', 'image:\n  repository: "ops\\nkind: Secret"\n', /image\.repository: Does not match pattern/],  ['a Flink Map written with =', 'audit-logs', 'flinkConfiguration:\n  pipeline.global-job-parameters: "a=1,b=2"\n',
    /^flinkConfiguration\["pipeline\.global-job-parameters"\]: "a=1,b=2" is not a Map; expected key:value pairs separated by commas, such as k1:v1,k2:v2$/],
  ['a memory fraction of 1 as a YAML number', 'access-logs', 'flinkConfiguration:\n  taskmanager.memory.jvm-overhead.fraction: 1\n', /^flinkConfiguration\["taskmanager\.memory\.jvm-overhead\.fraction"\]: 1 is out of range; expected a fraction >= 0 and below 1/],
  ['a Flink Duration as a YAML boolean', 'slow-requests', 'flinkConfiguration:\n  table.exec.state.ttl: true\n', /^flinkConfiguration\["table\.exec\.state\.ttl"\]: true is not a Duration/],
];
test(`bad input, chart values: ${CHART_VALUES.length + VALUE_FILES.length} value sets fail helm template with one line naming the value (its field and rule, for the schema), rendering nothing`, async () => {
  const bin = await ensureHelm(3);
  const values = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bad-values-'));
  try {
    const helmTemplate = (release: string, chart: string, args: string[]) => spawnSync(bin, ['template', release, path.join(ROOT, 'charts', chart), '--namespace', 'logs', ...args],
      { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(values, 'cache'), HELM_CONFIG_HOME: path.join(values, 'config') } });
    const cases: [string, string, string[], RegExp, string?][] = [...CHART_VALUES, ...VALUE_FILES.map(([what, chart, text, expected], i): [string, string, string[], RegExp] => {
      const file = path.join(values, `values-${i}.yaml`);
      fs.writeFileSync(file, text);
      return [what, chart, ['--values', file], expected];
    })];
    for (const [what, chart, args, expected, release] of cases) {
      const r = helmTemplate(release ?? chart, chart, args);
      assert.notEqual(r.status, 0, `${what}: exit code`);
      assert.equal(r.stdout, '', `${what}: nothing rendered`);
      const reason = helmReason(r.stderr);
      assert.ok(!reason.includes('\n'), `${what}: one line`);
      assert.match(reason, expected, `${what}: ${reason}`);
    }
    assert.ok(cases.length >= 30);
    // What the checks must still accept: a limit equal to the request in other units, max = min,
    // a Flink key the toolkit does not set, the longest release name allowed.
    for (const [chart, args, release] of [
      ['audit-logs', ['--set-string', 'taskManager.resources.cpu=1500m', '--set-string', 'taskManager.resources.cpuLimit=1.5', '--set', 'flinkConfiguration.pipeline\\.object-reuse=true'], 'audit-logs'],
      ['log-enricher', ['--set', 'taskManager.autoscaling.minReplicas=2', '--set', 'taskManager.autoscaling.maxReplicas=2'], 'a'.repeat(44)],
      // Flink's own spellings of typed values (blanks, long unit names, any case, signs, placeholders), on each kind of chart.
      ...['audit-logs', 'access-logs', 'shared-logs', 'slow-requests'].map((chart): [string, string[], string] => [chart, [
        '--set-string', 'flinkConfiguration.web\\.refresh-interval=30 s', '--set-string', 'flinkConfiguration.rest\\.idleness-timeout=1min', '--set-string', 'flinkConfiguration.pekko\\.ask\\.timeout=10 SECONDS',
        '--set-string', 'flinkConfiguration.taskmanager\\.memory\\.task\\.off-heap\\.size=512mb', '--set-string', 'flinkConfiguration.taskmanager\\.memory\\.framework\\.off-heap\\.size=8388607t',
        '--set', 'flinkConfiguration.kubernetes\\.container\\.image\\.pull-policy=ifnotpresent', '--set', 'flinkConfiguration.state\\.backend\\.rocksdb\\.compression\\.per\\.level=snappy_compression;LZ4_COMPRESSION',
        '--set-string', 'flinkConfiguration.rest\\.server\\.numThreads=+4', '--set-string', 'flinkConfiguration.rest\\.flamegraph\\.stack-depth=${env:DEPTH}', '--set', 'flinkConfiguration.pipeline\\.object-reuse=TRUE',
        '--set-string', 'flinkConfiguration.taskmanager\\.memory\\.network\\.fraction=0.15f', '--set-string', 'flinkConfiguration.my\\.connector\\.option=banana',
      ], chart]),
      ['shared-logs', ['--set', 'flinkConfiguration.pipeline\\.max-parallelism=-1', '--set', 'flinkConfiguration.parallelism\\.default=32768'], 'shared-logs'],
    ] as [string, string[], string][]) {
      const r = helmTemplate(release, chart, args);
      assert.equal(r.status, 0, `${chart} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /kind: (Deployment|Job)/);
      if (args.some((a) => a.includes('web\\.refresh-interval'))) assert.match(r.stdout, /web\.refresh-interval"?: "30 s"/, `${chart}: the value is rendered`);
    }
  } finally {
    fs.rmSync(values, { recursive: true, force: true });
  }
});

/** Flink values the definitions' check refuses, one per helm run, then what it accepts, in one run. */
const FLINK_REFUSED: [string, string][] = [
  ['web.refresh-interval', '1.5s'], ['web.refresh-interval', '9223372036854775808ms'], ['rest.idleness-timeout', '10 mins'],
  ['taskmanager.memory.task.off-heap.size', '2GiB'], ['taskmanager.memory.task.off-heap.size', '8796093022208m'], ['rest.server.numThreads', '-2147483649'],
  ['jobstore.cache-size', '1e3'], ['pipeline.object-reuse', ' true'], ['taskmanager.memory.network.fraction', 'NaN'], ['taskmanager.memory.jvm-overhead.fraction', '0.4 f'],
  ['kubernetes.container.image.pull-policy', ' Always'], ['state.backend.rocksdb.compression.per.level', 'lz4_compression;x'], ['pipeline.global-job-parameters', 'a:1:2'],
];
const FLINK_ACCEPTED: [string, string][] = [
  ['web.refresh-interval', ' 5 µs '], ['rest.idleness-timeout', '0009223372036854775807 Milliseconds'], ['taskmanager.memory.task.off-heap.size', '8796093022207 m'],
  ['rest.server.numThreads', '-2147483648'], ['jobstore.cache-size', '-9223372036854775808'], ['pipeline.object-reuse', 'False'], ['taskmanager.memory.network.fraction', '0.99'],
  ['taskmanager.memory.jvm-overhead.fraction', '.5e-1d'], ['kubernetes.container.image.pull-policy', 'NEVER'], ['state.backend.rocksdb.compression.per.level', ';no_compression;'],
  ['pipeline.global-job-parameters', "'a:b':c,d:e"], ['my.connector.option', '1.5s'],
];

test('bad input, chart values: helm 3 and helm 4 refuse a flinkConfiguration value exactly when and as the definitions\' check does (an app chart of 1.20 and of 2.2, a session job chart)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-flink-values-'));
  try {
    const valuesFile = (pairs: [string, string][]) => {
      const file = path.join(dir, `values-${fs.readdirSync(dir).length}.yaml`);
      fs.writeFileSync(file, `flinkConfiguration:\n${pairs.map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}\n`).join('')}`);
      return file;
    };
    for (const major of [3, 4] as const) {
      const bin = await ensureHelm(major);
      for (const chart of ['audit-logs', 'access-logs', 'slow-requests']) {
        const version = FlinkVersion.of(/appVersion: (\S+)/.exec(fs.readFileSync(path.join(ROOT, 'charts', chart, 'Chart.yaml'), 'utf8'))![1]);
        const catalog = OptionCatalog.for(version)!;
        const definitions = (key: string, value: string) => {
          try {
            const option = catalog.option(key);
            if (option) checkOptionValue(`flinkConfiguration["${key}"]`, option, value);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        };
        const helm = (file: string) => spawnSync(bin, ['template', chart, path.join(ROOT, 'charts', chart), '--namespace', 'logs', '--values', file],
          { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_CONFIG_HOME: path.join(dir, 'config') } });
        for (const [key, value] of FLINK_REFUSED) {
          const expected = definitions(key, value);
          assert.ok(expected, `${chart}: the definitions refuse ${key}=${JSON.stringify(value)}`);
          const r = helm(valuesFile([[key, value]]));
          assert.notEqual(r.status, 0, `helm ${major} ${chart} ${key}=${JSON.stringify(value)}: exit code`);
          assert.equal(r.stdout, '', `helm ${major} ${chart}: nothing rendered`);
          assert.equal(helmReason(r.stderr), expected, `helm ${major} ${chart} ${key}=${JSON.stringify(value)}`);
        }
        for (const [key, value] of FLINK_ACCEPTED) assert.equal(definitions(key, value), undefined, `${chart}: the definitions accept ${key}=${JSON.stringify(value)}`);
        const r = helm(valuesFile(FLINK_ACCEPTED));
        assert.equal(r.status, 0, `helm ${major} ${chart}: ${r.stderr}`);
        assert.ok(r.stdout.includes('0009223372036854775807 Milliseconds'), `helm ${major} ${chart}: the values are rendered`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Command lines: non-zero exit, one line on stderr, earlier output untouched

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'build', 'lib', 'cli', 'main.js');
const LIB = path.join(ROOT, 'build', 'lib');
const APP = (body: string) => `const L = require(${JSON.stringify(LIB)});\nconst p = new L.FlinkPlatform({ storageBaseDirectory: 's3://b/flink' });\n${body}\nmodule.exports.platform = p;\n`;
const KJOB = (name: string, extra = '') => `p.addApplication('${name}', { job: L.JobSource.pipeline(new L.LogPipeline({ source: { bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g', fields: { msg: L.FieldType.STRING }${extra} }, sinks: [L.Sink.fileSystem({ path: 's3://b/out' })] })) });`;
/** An app module whose application "a" is changed through its escape hatches (`C` is cdk8s). */
const HATCH = (change: string) => APP(`const C = require(${JSON.stringify(require.resolve('cdk8s'))});\nconst a = p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A' }) });\n${change}`);
const HA_APP = (name: string) => `p.addApplication('${name}', { job: L.JobSource.jar({ entryClass: 'com.example.A' }), highAvailability: true, highAvailabilityClusterId: 'logs' });`;

/** [what, command line (after the app option where `app` is given), the app module's text, the stderr line]. */
const COMMAND_LINES: [string, string[], string | undefined, RegExp][] = [
  ['synth with two HA clusters sharing an id', ['synth'], APP(`${HA_APP('a')}\n${HA_APP('b')}`), /^cdk8s-flink: error: b: highAvailabilityClusterId: "logs" is also the HA cluster id of "a" in the release namespace/],
  ['validate with two HA clusters sharing an id', ['validate'], APP(`${HA_APP('a')}\n${HA_APP('b')}`), /^cdk8s-flink: error: b: highAvailabilityClusterId: "logs" is also the HA cluster id of "a"/],
  ['synth with two jobs on one consumer group', ['synth'], APP(`${KJOB('a')}\n${KJOB('b')}`), /^cdk8s-flink: error: b: pipeline.source.groupId: "g" is also the consumer group of "a" on broker kafka:9092/],
  ['validate with two jobs on one consumer group', ['validate', '--json'], APP(`${KJOB('a')}\n${KJOB('b')}`), /^cdk8s-flink: error: b: pipeline.source.groupId: "g" is also the consumer group of "a"/],
  ['diff with two jobs on one consumer group', ['diff'], APP(`${KJOB('a')}\n${KJOB('b')}`), /^cdk8s-flink: error: b: pipeline.source.groupId: "g"/],
  ['synth with a pod-local checkpoint dir', ['synth'], APP(`p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A' }), checkpointDirectory: 'file:///state/cp' });`),
    /^cdk8s-flink: error: a: checkpointDirectory: "file:\/\/\/state\/cp" is pod-local/],
  ['validate with a pod-local HA dir', ['validate'], APP(`p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A' }), highAvailability: true, highAvailabilityStorageDir: 'file:///ha' });`),
    /^cdk8s-flink: error: a: highAvailabilityStorageDir: "file:\/\/\/ha" is pod-local/],
  ['synth with SQL reading an unset env', ['synth'], APP(`p.addApplication('a', { job: L.JobSource.sql("INSERT INTO t SELECT '\${env:TOKEN}'") });`), /^cdk8s-flink: error: job.sql: "\$\{env:TOKEN\}" reads environment variable TOKEN/],
  ['synth with a patch adding an unknown field', ['synth'], HATCH("a.jobManagerDeployment.addJsonPatch(C.JsonPatch.add('/spec/template/spec/containers/0/readinesProbe', {}));"),
    /^cdk8s-flink: error: a: Deployment\/a-jobmanager: spec.template.spec.containers\[0\].readinesProbe: \{\} is an unknown field of Container; did you mean "readinessProbe"\?$/],
  ['validate with a patch adding an unknown field', ['validate'], HATCH("a.jobManagerDeployment.addJsonPatch(C.JsonPatch.add('/spec/template/spec/containers/0/readinesProbe', {}));"),
    /^cdk8s-flink: error: a: Deployment\/a-jobmanager: spec.template.spec.containers\[0\].readinesProbe: \{\} is an unknown field of Container; did you mean "readinessProbe"\?$/],
  ['synth with a patch setting a wrong type', ['synth'], HATCH("a.taskManagerDeployment.addJsonPatch(C.JsonPatch.replace('/spec/replicas', '2'));"),
    /^cdk8s-flink: error: a: Deployment\/a-taskmanager: spec.replicas: "2" is invalid; expected an integer \(got a string\)$/],
  ['synth with a patch setting an invalid label value', ['synth'], HATCH("a.configMap.addJsonPatch(C.JsonPatch.add('/metadata/labels/owner', 'team@example.com'));"),
    /^cdk8s-flink: error: a: ConfigMap\/a-config: metadata.labels.owner: "team@example.com" is not a valid label value; expected at most 63 characters of \[A-Za-z0-9-_.\], starting and ending alphanumeric$/],
  ['synth with a patch duplicating a container name', ['synth'], HATCH("a.taskManagerDeployment.addJsonPatch(C.JsonPatch.add('/spec/template/spec/containers/-', { name: 'taskmanager', image: 'busybox:1.36' }));"),
    /^cdk8s-flink: error: a: Deployment\/a-taskmanager: spec.template.spec.containers\[1\].name: "taskmanager" duplicates spec.template.spec.containers\[0\]; expected each name once in containers$/],
  ['synth with a patch setting a bad quantity', ['synth'], HATCH("a.jobManagerDeployment.addJsonPatch(C.JsonPatch.replace('/spec/template/spec/containers/0/resources/limits/memory', '2 GiB'));"),
    /^cdk8s-flink: error: a: Deployment\/a-jobmanager: spec.template.spec.containers\[0\].resources.limits.memory: "2 GiB" is not a Kubernetes quantity; expected a number with an optional suffix such as "500m", "1.5", "512Mi" or "2G"$/],
  ['synth --target operator with an added object of a wrong type', ['synth', '--target', 'operator', '--out', 'dist'], HATCH("new C.ApiObject(C.Chart.of(a), 'x', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { n: 1 } });"),
    /^cdk8s-flink: error: a: ConfigMap\/x: data.n: 1 is invalid; expected a string \(got a number\)$/],
  ['synth --target operator with a Flink option held in a Secret', ['synth', '--target', 'operator', '--out', 'dist'],
    APP("p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A', jarFile: '/opt/flink/usrlib/a.jar' }), flinkConfiguration: { 'security.ssl.internal.keystore-password': L.FlinkConfigValue.fromSecret('tls', 'password') } });"),
    /^cdk8s-flink: error: flinkConfiguration\["security.ssl.internal.keystore-password"\]: "FlinkConfigValue.fromSecret\('tls', 'password'\)" is not possible for the operator target \("a"\): the operator's pods mount Flink's configuration read-only from its ConfigMap/],
  ['synth with a filter that comments out the clause', ['synth'], APP(KJOB('a').replace("sinks:", "filters: [\"msg = 'x' --\"], sinks:")), /^cdk8s-flink: error: pipeline.filters\[0\]: "msg = 'x' --" is not one SQL condition: at position 11, "--": a comment/],
  ['synth with a credential in the config', ['synth'], APP(`p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A' }), flinkConfiguration: { 'fs.azure.account.key.x.dfs.core.windows.net': 'k' } });`),
    /^cdk8s-flink: error: flinkConfiguration\["fs.azure.account.key.x.dfs.core.windows.net"\]: "\*\*\*" looks like a credential/],
  ['synth of an app module with a syntax error', ['synth'], 'const p = ;\n', /^cdk8s-flink: error: --app: .*app\.js failed to load: SyntaxError: Unexpected token ';' at .*app\.js:1$/],
  ['synth of an app module that throws', ['synth'], 'const x = 1;\nthrow new RangeError("no such region");\n', /^cdk8s-flink: error: --app: .*app\.js failed to load: RangeError: no such region at .*app\.js:2$/],
  ['synth of an app module whose platform function throws', ['synth'], 'module.exports.default = () => { null.x; };\n', /^cdk8s-flink: error: --app: .*app\.js failed to load: TypeError: Cannot read properties of null \(reading 'x'\) at .*app\.js:1$/],
  ['synth of an app module that misuses a cdk8s type', ['synth'], `const { Duration } = require(${JSON.stringify(require.resolve('cdk8s'))});\nDuration.minutes(-1);\n`, /^cdk8s-flink: error: --app: .*app\.js failed to load: Error: Duration amounts cannot be negative\. Received: -1 at .*app\.js:2$/],
  ['list of an app module with a syntax error', ['list'], 'module.exports = {;\n', /^cdk8s-flink: error: --app: .*app\.js failed to load: SyntaxError/],
  ['plan with an invalid definition', ['plan'], APP("p.addApplication('a', { job: L.JobSource.jar({ entryClass: 'com.example.A' }), parallelism: 0 });"), /^cdk8s-flink: error: parallelism: 0 is invalid; expected an integer between 1 and 32768$/],
  ['synth of an app module exporting no platform', ['synth'], 'module.exports = { answer: 42 };\n', /^cdk8s-flink: error: --app: .*app\.js exports no FlinkPlatform/],
  ['synth of a job that is not defined', ['synth', '--job', 'nope'], APP(KJOB('a')), /^cdk8s-flink: error: --job: "nope" is not defined; expected one of a$/],
  ['synth of an app module that does not exist', ['synth', '--app', 'missing.js'], undefined, /^cdk8s-flink: error: --app: ".*missing\.js" does not exist/],
  ['deploy of a name that is not a job name', ['deploy', 'Access_Logs'], undefined, /^cdk8s-flink: error: job: "Access_Logs" is not a job name; expected a DNS label$/],
  ['local up of an undefined job', ['local', 'up', 'nope'], APP(KJOB('a')), /^cdk8s-flink: error: job: "nope" is not defined; expected one of a$/],
  ['validate of a session job whose SQL reads an env its cluster does not set', ['validate'],
    APP("const c = p.addSessionCluster('shared', {});\np.addSessionJob('j', { cluster: c, job: L.JobSource.sql(\"INSERT INTO t SELECT '${env:API_TOKEN}'\") });"),
    /^cdk8s-flink: session job "j": its pipeline reads API_TOKEN from the environment, which cluster "shared" does not set/],
];

test(`bad input, command lines: ${COMMAND_LINES.length} invocations exit non-zero with one line on stderr and leave earlier output alone`, () => {
  for (const [what, args, module, expected] of COMMAND_LINES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bad-cli-'));
    try {
      // Earlier output of another app (in folders cdk8s-flink owns), which a failed run must leave as it was.
      for (const d of ['dist', 'charts']) {
        fs.mkdirSync(path.join(dir, d, 'earlier'), { recursive: true });
        fs.writeFileSync(path.join(dir, d, OUTPUT_MARKER), markerText());
        fs.writeFileSync(path.join(dir, d, 'earlier', 'earlier.yaml'), `kind: ${d}\n`);
      }
      const before = readTree(dir);
      const appArgs = module === undefined ? [] : (fs.writeFileSync(path.join(dir, 'app.js'), module), ['--app', path.join(dir, 'app.js')]);
      const r = spawnSync(process.execPath, [CLI, ...args, ...appArgs], {
        cwd: dir, encoding: 'utf8', timeout: 60_000,
        env: { ...process.env, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_APP: '', CDK8S_FLINK_OUT: path.join(dir, 'dist'), CDK8S_FLINK_CHARTS: path.join(dir, 'charts'), HELM_BIN: '/nonexistent/helm' },
      });
      assert.notEqual(r.status, 0, `${what}: exit code`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
      assert.match(lines[0], expected, what);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      const after = readTree(dir);
      delete after['app.js'];
      assert.deepEqual(after, before, `${what}: earlier output untouched`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('bad input, command lines: a reader that stops early ends the output quietly (plan --json | head -1, diff | head -1)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bad-pipe-'));
  try {
    // Enough jobs that the output overflows the pipe buffer after head exits.
    const jobs = Array.from({ length: 150 }, (_, i) => `p.addApplication('job-${i}', { job: L.JobSource.jar({ entryClass: 'com.example.A' }) });`).join('\n');
    fs.writeFileSync(path.join(dir, 'app.js'), APP(jobs));
    for (const cmd of ['plan --json', 'diff --out empty']) {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" ${cmd} --app app.js | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.stdout.split('\n').filter(Boolean).length, 1, `${cmd}: head printed one line`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|\n\s+at /, `${cmd}: no error or stack trace:\n${r.stderr}`);
      assert.match(r.stderr, /exit=0\n$/, `${cmd}: exits 0`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
