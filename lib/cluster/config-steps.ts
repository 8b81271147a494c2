import { Duration } from 'cdk8s';
import { FlinkConfiguration } from '../config/flink-configuration';
import { FlinkVersion } from '../config/flink-version';
import { durationMs, flinkDuration } from '../config/units';
import { checkInt, checkName, checkUri, ValidationError } from '../errors';
import type { ClusterModeSpec, FlinkClusterProps } from './flink-cluster';
import { PORTS } from './layout';
import { CheckpointingMode, RestartStrategy, StateBackend } from './options';

/*
 * The sections of a cluster's Flink configuration, one step each, applied in this order by the
 * FlinkCluster constructor: addresses, memory, checkpointing, state backend, restart strategy,
 * high availability, metrics, heartbeats, mode. Each step checks its props and sets its keys.
 */

/** Addresses, ports and bind hosts of the JobManager and TaskManagers; the JVM module flags. */
export function applyAddresses(config: FlinkConfiguration, version: FlinkVersion, jobManagerHost: string, restServiceName: string): void {
  config.set('jobmanager.rpc.address', jobManagerHost, 'cluster addresses');
  config.set('jobmanager.rpc.port', PORTS.jobManagerRpc, 'cluster addresses');
  config.set('jobmanager.bind-host', '0.0.0.0', 'cluster addresses');
  config.set('blob.server.port', PORTS.blobServer, 'cluster addresses');
  config.set('rest.address', restServiceName, 'cluster addresses');
  config.set('rest.port', PORTS.rest, 'cluster addresses');
  config.set('rest.bind-address', '0.0.0.0', 'cluster addresses');
  config.set('taskmanager.bind-host', '0.0.0.0', 'cluster addresses');
  config.set('taskmanager.rpc.port', PORTS.taskManagerRpc, 'cluster addresses');
  config.set('taskmanager.data.port', PORTS.taskManagerData, 'cluster addresses');
  config.set('io.tmp.dirs', '/tmp', 'cluster addresses');
  config.set(version.jvmDefaultOptionsKey, version.jvmModuleOptions, 'Java 17 module flags');
}

/** Process sizes, managed memory and slots (already checked). */
export function applyMemory(config: FlinkConfiguration, jobManagerMemoryMiB: number, taskManagerMemoryMiB: number, managedFraction: number, slots: number): void {
  config.set('jobmanager.memory.process.size', `${jobManagerMemoryMiB}m`, 'jobManagerMemory');
  config.set('taskmanager.memory.process.size', `${taskManagerMemoryMiB}m`, 'taskManagerMemory');
  config.set('taskmanager.memory.managed.fraction', managedFraction, 'managedMemoryFraction');
  config.set('taskmanager.numberOfTaskSlots', slots, 'taskManagerSlots');
}

/** The `stateBackend` prop, checked, with its default. */
export function checkStateBackend(props: FlinkClusterProps): StateBackend {
  const backend = props.stateBackend ?? StateBackend.HASHMAP;
  if (!Object.values(StateBackend).includes(backend)) {
    throw new ValidationError('stateBackend', backend, `is unknown; expected one of ${Object.values(StateBackend).join(', ')}`);
  }
  return backend;
}

/** Checkpointing and the checkpoint and savepoint storage; returns the checked directories. */
export function applyCheckpointing(config: FlinkConfiguration, props: FlinkClusterProps): { checkpointDirectory?: string; savepointDirectory?: string } {
  const checkpointing = props.checkpointing ?? true;
  const cpMode = props.checkpointMode ?? CheckpointingMode.EXACTLY_ONCE;
  if (!Object.values(CheckpointingMode).includes(cpMode)) {
    throw new ValidationError('checkpointMode', cpMode, `is unknown; expected one of ${Object.values(CheckpointingMode).join(', ')}`);
  }
  const checkpointDirectory = props.checkpointDirectory !== undefined ? checkUri('checkpointDirectory', props.checkpointDirectory) : undefined;
  const savepointDirectory = props.savepointDirectory !== undefined ? checkUri('savepointDirectory', props.savepointDirectory) : undefined;
  if (checkpointing) {
    const intervalMs = durationMs('checkpointInterval', props.checkpointInterval ?? Duration.seconds(60), 100);
    config.set('execution.checkpointing.interval', flinkDuration('checkpointInterval', props.checkpointInterval ?? Duration.seconds(60)), 'checkpointInterval');
    config.set('execution.checkpointing.mode', cpMode, 'checkpointMode');
    config.set('execution.checkpointing.timeout', flinkDuration('checkpointTimeout', props.checkpointTimeout ?? Duration.minutes(10), 1000), 'checkpointTimeout');
    const minPause = props.checkpointMinPause ?? Duration.millis(Math.min(30_000, Math.floor(intervalMs / 2)));
    if (durationMs('checkpointMinPause', minPause) >= intervalMs * 10) {
      throw new ValidationError('checkpointMinPause', minPause.toHumanString(), `is invalid; expected less than ten checkpoint intervals (${intervalMs}ms each)`);
    }
    config.set('execution.checkpointing.min-pause', flinkDuration('checkpointMinPause', minPause), 'checkpointMinPause');
    config.set('execution.checkpointing.max-concurrent-checkpoints', 1, 'checkpointMinPause');
    config.set('execution.checkpointing.unaligned', props.unalignedCheckpoints ?? false, 'unalignedCheckpoints');
    if (props.unalignedCheckpoints && cpMode !== CheckpointingMode.EXACTLY_ONCE) {
      throw new ValidationError('unalignedCheckpoints', true, 'requires checkpointMode EXACTLY_ONCE');
    }
    config.set('execution.checkpointing.tolerable-failed-checkpoints', checkInt('tolerableCheckpointFailures', props.tolerableCheckpointFailures ?? 3, 0, 1000), 'tolerableCheckpointFailures');
    config.set('execution.checkpointing.externalized-checkpoint-retention', 'RETAIN_ON_CANCELLATION', 'checkpointing');
    if (cpMode === CheckpointingMode.EXACTLY_ONCE && !checkpointDirectory) {
      throw new ValidationError('checkpointDirectory', undefined,
        'is required with exactly-once checkpointing; expected durable storage such as "s3://bucket/flink/checkpoints" (without it checkpoints live in JobManager memory and a restart loses them)');
    }
  } else {
    for (const f of ['checkpointInterval', 'checkpointMode', 'checkpointTimeout', 'checkpointMinPause', 'unalignedCheckpoints', 'tolerableCheckpointFailures'] as const) {
      if (props[f] !== undefined) throw new ValidationError(f, describeProp(props[f]), 'is set while checkpointing is false; remove it or enable checkpointing');
    }
  }
  if (checkpointDirectory) {
    config.set('execution.checkpointing.storage', 'filesystem', 'checkpointDirectory');
    config.set('execution.checkpointing.dir', checkpointDirectory, 'checkpointDirectory');
  }
  if (savepointDirectory) config.set('execution.checkpointing.savepoint-dir', savepointDirectory, 'savepointDirectory');
  return { checkpointDirectory, savepointDirectory };
}

/** The state backend and incremental checkpoints. */
export function applyStateBackend(config: FlinkConfiguration, props: FlinkClusterProps, backend: StateBackend): void {
  config.set('state.backend.type', backend, 'stateBackend');
  const incremental = props.incrementalCheckpoints ?? backend === StateBackend.ROCKSDB;
  if (incremental && backend !== StateBackend.ROCKSDB) {
    throw new ValidationError('incrementalCheckpoints', true, 'requires stateBackend ROCKSDB; the hashmap backend takes full checkpoints');
  }
  if (backend === StateBackend.ROCKSDB) config.set('execution.checkpointing.incremental', incremental, 'incrementalCheckpoints');
}

export function applyRestart(config: FlinkConfiguration, props: FlinkClusterProps): void {
  (props.restartStrategy ?? RestartStrategy.exponentialDelay())._bind(config, 'restartStrategy');
}

/** Kubernetes high availability; returns whether it is on. */
export function applyHighAvailability(config: FlinkConfiguration, props: FlinkClusterProps, name: string): boolean {
  const highAvailability = props.highAvailability ?? false;
  if (highAvailability) {
    const dir = props.highAvailabilityStorageDir;
    if (dir === undefined) {
      throw new ValidationError('highAvailabilityStorageDir', undefined, 'is required with highAvailability; expected durable storage such as "s3://bucket/flink/ha"');
    }
    config.set('high-availability.type', 'kubernetes', 'highAvailability');
    config.set('high-availability.storageDir', checkUri('highAvailabilityStorageDir', dir), 'highAvailabilityStorageDir');
    config.set('kubernetes.cluster-id', checkName('highAvailabilityClusterId', props.highAvailabilityClusterId ?? name, 45), 'highAvailabilityClusterId');
  } else {
    for (const f of ['highAvailabilityStorageDir', 'highAvailabilityClusterId'] as const) {
      if (props[f] !== undefined) throw new ValidationError(f, props[f], 'is set but highAvailability is false; set highAvailability: true or remove it');
    }
  }
  return highAvailability;
}

/** The Prometheus reporter; returns whether it is on. */
export function applyMetrics(config: FlinkConfiguration, props: FlinkClusterProps): boolean {
  const metricsEnabled = props.metrics ?? true;
  if (metricsEnabled) {
    config.set('metrics.reporter.prom.factory.class', 'org.apache.flink.metrics.prometheus.PrometheusReporterFactory', 'metrics');
    config.set('metrics.reporter.prom.port', PORTS.metrics, 'metrics');
  }
  return metricsEnabled;
}

export function applyHeartbeats(config: FlinkConfiguration): void {
  config.set('heartbeat.interval', '5s', 'heartbeats');
  config.set('heartbeat.timeout', '30s', 'heartbeats');
}

/** What the mode adds: application shutdown behavior, the restore keys the hand-off owns. */
export function applyMode(config: FlinkConfiguration, spec: ClusterModeSpec): void {
  if (spec.mode === 'application') {
    config.set('execution.shutdown-on-application-finish', false, 'application mode');
  }
  if (spec.handoff) {
    // The restore keys come from the hand-off at start; the configuration must not set them.
    config.reserve('execution.state-recovery.path', 'initialSavepointPath (and the upgrade hand-off)');
    config.reserve('execution.state-recovery.ignore-unclaimed-state', 'allowNonRestoredState (and the upgrade hand-off)');
  }
}

function describeProp(v: unknown): unknown {
  if (v instanceof Duration) return v.toHumanString();
  return v;
}
