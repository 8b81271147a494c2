import { createHash } from 'crypto';
import { Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { FlinkConfigValue, FlinkConfiguration } from '../config/flink-configuration';
import { FlinkVersion } from '../config/flink-version';
import { keyFor } from '../config/keys';
import { LogConfig, LogLevel } from '../config/log4j';
import { checkJobManagerMemory, checkTaskManagerMemory } from '../config/memory';
import { durationMs, flinkDuration, mebibytes } from '../config/units';
import { checkInt, checkLabels, checkName, checkNumber, checkUri, ValidationError } from '../errors';
import { checkImage } from './image-ref';
import { imageReference, RuntimeImage, StorageCredentials } from '../runtime-image';
import { recommendedLabels, selectorLabels } from './labels';
import { IngressOptions, resolveIngress, ResolvedIngress, ServiceAccountRef } from './access';
import { NetworkPeer, NetworkPolicyOptions, REST_CLIENT_LABEL } from './network-policy';
import {
  AntiAffinity, CheckpointingMode, checkMountPath, checkTolerations, EnvValue, ExtraVolume, ImagePullPolicy,
  RestartStrategy, ServiceType, StateBackend, Toleration,
} from './options';

/** Fixed ports of the Flink processes; named container ports refer to them. */
export const PORTS = {
  jobManagerRpc: 6123,
  blobServer: 6124,
  rest: 8081,
  taskManagerRpc: 6122,
  taskManagerData: 6121,
  metrics: 9249,
} as const;

/** The Flink image's user and group. */
export const FLINK_UID = 9999;

/** Where the image keeps Flink; the layout of the official images. */
export const FLINK_HOME = '/opt/flink';
const CONF_TEMPLATE_DIR = '/opt/flink/conf-template';
/** Where the JobManager's init container reads the state hand-off (job id, savepoint path). */
export const HANDOFF_DIR = '/opt/flink/handoff';
export const JOB_FILES_DIR = '/opt/flink/job';

/** The longest cluster or job name: leaves room for `-taskmanager` and release prefixes in 63-character names. */
export const MAX_NAME_LENGTH = 40;

/** Props shared by application clusters and session clusters. */
export interface FlinkClusterProps {
  /**
   * The cluster's (or job's) name: the prefix of every object name, a DNS label of at most
   * 40 characters.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * The Flink release line; decides configuration key names and the config file.
   * @default FlinkVersion.V1_20 (the long-term support line)
   */
  readonly flinkVersion?: FlinkVersion;
  /**
   * The container image: pinned by tag or digest, never `:latest`. A `RuntimeImage` also says
   * what the image serves, and synthesis refuses storage URIs and job connectors it cannot
   * serve; a plain string is not checked.
   * @default - the official image for the version, e.g. `flink:1.20.3-java17` (not checked)
   */
  readonly image?: string | RuntimeImage;
  /**
   * Credentials of the storage (S3 access keys, the HDFS user), from Secrets as environment
   * variables, never in the ConfigMap.
   * @default - none
   */
  readonly storageCredentials?: StorageCredentials[];
  /** @default ImagePullPolicy.IF_NOT_PRESENT (tags are pinned, so a cached image is the right one) */
  readonly imagePullPolicy?: ImagePullPolicy;
  /** Names of Secrets holding registry credentials. @default - none */
  readonly imagePullSecrets?: string[];
  /** The namespace of every object. @default - none: the namespace `kubectl` or `helm` is told */
  readonly namespace?: string;
  /** A name grouping related jobs, written to `app.kubernetes.io/part-of`. @default 'flink' */
  readonly partOf?: string;

  /** @default Cpu.units(1) */
  readonly jobManagerCpu?: kplus.Cpu;
  /** JobManager process size; the container's memory request and limit. @default Size.mebibytes(1600) */
  readonly jobManagerMemory?: Size;
  /** @default 1, or 2 with high availability in a session cluster */
  readonly jobManagerReplicas?: number;

  /** @default 2 */
  readonly taskManagerSlots?: number;
  /** CPU request of each TaskManager. @default Cpu.units(1) */
  readonly taskManagerCpu?: kplus.Cpu;
  /** CPU limit of each TaskManager. @default - none (a CPU limit throttles Flink's timers and heartbeats) */
  readonly taskManagerCpuLimit?: kplus.Cpu;
  /** TaskManager process size; the container's memory request and limit. @default Size.mebibytes(2048) */
  readonly taskManagerMemory?: Size;
  /**
   * Fraction of Flink memory given to managed memory (RocksDB block cache, batch operators).
   * @default 0.4 with RocksDB, 0.1 with the hashmap backend (which does not use it)
   */
  readonly managedMemoryFraction?: number;

  /** Kubernetes high availability: JobManager failover without losing jobs. @default false */
  readonly highAvailability?: boolean;
  /** Durable storage for HA metadata, e.g. `s3://bucket/flink/ha`. Required with high availability. */
  readonly highAvailabilityStorageDir?: string;
  /** `kubernetes.cluster-id`, unique per cluster in a namespace. @default - the cluster name */
  readonly highAvailabilityClusterId?: string;

  /** @default true */
  readonly checkpointing?: boolean;
  /** @default Duration.seconds(60) */
  readonly checkpointInterval?: Duration;
  /** @default CheckpointingMode.EXACTLY_ONCE */
  readonly checkpointMode?: CheckpointingMode;
  /** @default Duration.minutes(10) */
  readonly checkpointTimeout?: Duration;
  /** Minimum time between the end of one checkpoint and the start of the next. @default - half the interval, at most 30 s */
  readonly checkpointMinPause?: Duration;
  /** @default false */
  readonly unalignedCheckpoints?: boolean;
  /** Consecutive checkpoint failures tolerated before the job restarts. @default 3 */
  readonly tolerableCheckpointFailures?: number;
  /**
   * Durable checkpoint storage, e.g. `s3://bucket/flink/checkpoints`. Required with
   * exactly-once checkpointing: without it, checkpoints live in JobManager memory and a
   * JobManager restart loses them.
   */
  readonly checkpointDirectory?: string;
  /** Default target of savepoints. @default - none (savepoint requests must name a directory) */
  readonly savepointDirectory?: string;

  /** @default StateBackend.HASHMAP */
  readonly stateBackend?: StateBackend;
  /** Incremental checkpoints (RocksDB only). @default true with RocksDB */
  readonly incrementalCheckpoints?: boolean;
  /** @default RestartStrategy.exponentialDelay() */
  readonly restartStrategy?: RestartStrategy;

  /**
   * PodDisruptionBudgets allowing one TaskManager (and, with standby JobManagers, one JobManager)
   * at a time to be evicted; pods that are not ready can always be evicted
   * (`unhealthyPodEvictionPolicy: AlwaysAllow`), so a crash-looping pod never blocks a node drain.
   * @default true
   */
  readonly podDisruptionBudget?: boolean;
  /** @default AntiAffinity.PREFERRED */
  readonly taskManagerAntiAffinity?: AntiAffinity;
  /**
   * How the JobManagers are spread over nodes when there is more than one (high availability):
   * preferred by default, so a standby still schedules on a one-node cluster; REQUIRED keeps a
   * standby Pending rather than on its leader's node.
   * @default AntiAffinity.PREFERRED
   */
  readonly jobManagerAntiAffinity?: AntiAffinity;
  /**
   * The cluster's NetworkPolicy: Flink RPC, blob and data ports only from the cluster's own
   * JobManager and TaskManager pods, the REST API only from the cluster's own clients and
   * `restClients`, the metrics port only from `metricsScrapers`. Egress stays open.
   * @default - on, with NetworkPolicyOptions' defaults
   */
  readonly networkPolicy?: NetworkPolicyOptions;
  /** @default - none */
  readonly nodeSelector?: Record<string, string>;
  /** @default - none */
  readonly tolerations?: Toleration[];
  /** Extra environment of the JobManager and TaskManager containers. @default - none */
  readonly env?: Record<string, EnvValue>;
  /** Extra volumes of the JobManager and TaskManager pods. @default - none */
  readonly volumes?: ExtraVolume[];
  /** Raw Flink configuration keys, for what no typed prop covers. @default - none */
  readonly flinkConfiguration?: Record<string, FlinkConfigValue>;
  /** Extra labels on every object. @default - none */
  readonly labels?: Record<string, string>;
  /** Extra annotations on the pods. @default - none */
  readonly podAnnotations?: Record<string, string>;
  /** @default ServiceType.CLUSTER_IP */
  readonly restServiceType?: ServiceType;
  /** The Prometheus reporter on port 9249 (named `metrics`). @default true */
  readonly metrics?: boolean;
  /** The root log level; the shorthand of `logging: LogConfig.of({ rootLevel })`. @default LogLevel.INFO */
  readonly logLevel?: LogLevel;
  /**
   * The full log4j2 configuration: levels per logger, JSON layout, the rolling file the web UI
   * reads (`LogConfig.of({...})`), or your own file (`LogConfig.fromFile`, `LogConfig.fromString`).
   * Written to the ConfigMap as `log4j-console.properties`.
   * @default LogConfig.of({ rootLevel: logLevel })
   */
  readonly logging?: LogConfig;
  /**
   * The pods' ServiceAccount: generated (optionally with annotations for a cloud IAM binding)
   * or an existing one.
   * @default ServiceAccountRef.generated(): `<name>-flink`, without annotations
   */
  readonly serviceAccount?: ServiceAccountRef;
  /**
   * An Ingress for the REST API and web UI. It opens the REST port to the ingress controller in
   * the NetworkPolicy. On a session cluster it exposes jar upload and run (code execution) and
   * needs `allowRemoteCodeExecutionViaRestApi`.
   * @default - no Ingress
   */
  readonly ingress?: IngressOptions;
}

/** A cluster's resolved network access. */
export interface NetworkAccess {
  readonly enabled: boolean;
  readonly restClients: NetworkPeer[];
  readonly metricsScrapers: NetworkPeer[];
  /** Whether the REST API may be reached from outside the cluster (always for applications). */
  readonly restExposureAllowed: boolean;
  /** The ingress controller's pods, allowed to call the REST API when the cluster has an Ingress. */
  readonly ingressController?: NetworkPeer;
}

/** What the mode (application or session) adds to the shared cluster shape. @internal */
export interface ClusterModeSpec {
  readonly mode: 'application' | 'session';
  /** The JobManager container's arguments before the HA `-D` flags. */
  readonly jobManagerArgs: (string | (() => string))[];
  /** Arguments after the `-D` flags (program arguments). */
  readonly jobManagerTrailingArgs?: string[];
  /** TaskManager replicas, or undefined when an HPA owns the count. */
  readonly taskManagerReplicas: number | undefined;
  /** Files besides the Flink configuration in the ConfigMap, mounted under /opt/flink/job. */
  readonly jobFiles?: Record<string, string>;
  /**
   * The JobManager reads its job id and the savepoint to restore from the ConfigMap
   * `<name>-handoff`, which upgrade hooks rewrite (application mode).
   */
  readonly handoff?: boolean;
  /** Whether the REST API may be opened to peers outside the cluster (session: an explicit opt-in). */
  readonly restExposureAllowed: boolean;
}

/**
 * The shared shape of a Flink cluster: configuration, JobManager and TaskManager
 * Deployments, services, service account and RBAC, disruption budget.
 */
export abstract class FlinkCluster extends Construct {
  /** The cluster's name, the prefix of every object name. */
  public readonly name: string;
  public readonly version: FlinkVersion;
  public readonly namespace?: string;
  /** The configuration written to the ConfigMap. Add keys with `addFlinkConfiguration`. */
  public readonly configuration: FlinkConfiguration;
  /** `<name>-jobmanager`: the Service for JobManager RPC and blobs. */
  public readonly jobManagerHost: string;
  /** `<name>-rest`: the Service for the REST API and web UI. */
  public readonly restServiceName: string;
  /** The REST API's URL inside the cluster. */
  public readonly restUrl: string;
  public readonly image: string;
  /** The image with what it serves, when `image` was a RuntimeImage. */
  public readonly runtimeImage?: RuntimeImage;
  public readonly taskManagerSlots: number;
  public readonly jobManagerMemoryMiB: number;
  public readonly taskManagerMemoryMiB: number;
  public readonly jobManagerCpuMillis: number;
  public readonly taskManagerCpuMillis: number;
  public readonly jobManagerReplicas: number;
  public readonly highAvailability: boolean;
  public readonly checkpointDirectory?: string;
  public readonly savepointDirectory?: string;
  public readonly metricsEnabled: boolean;
  public readonly partOf: string;
  /** Extra annotations of the pods, as given. */
  public readonly podAnnotations: Record<string, string>;

  /** Escape hatches: the generated objects. */
  public readonly configMap: k8s.KubeConfigMap;
  /** The generated ServiceAccount; undefined with `ServiceAccountRef.existing`. */
  public readonly serviceAccount?: kplus.ServiceAccount;
  /** The name of the ServiceAccount the pods run as (generated or existing). */
  public readonly serviceAccountName: string;
  /** Annotations of the generated ServiceAccount (cloud IAM bindings). */
  public readonly serviceAccountAnnotations: Record<string, string>;
  /** The Ingress for the REST API and web UI, when `ingress` is set. */
  public readonly ingress?: k8s.KubeIngress;
  /** The `ingress` options, checked, with their defaults. */
  public readonly ingressOptions?: ResolvedIngress;
  public readonly jobManagerDeployment: k8s.KubeDeployment;
  public readonly taskManagerDeployment: k8s.KubeDeployment;
  public readonly jobManagerService: k8s.KubeService;
  public readonly restService: k8s.KubeService;
  /** The NetworkPolicy, unless `networkPolicy.enabled` is false. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** Who may reach the cluster's ports: the resolved `networkPolicy` options. */
  public readonly networkAccess: NetworkAccess;

  private readonly env: Record<string, EnvValue> = {};
  private readonly volumes: ExtraVolume[] = [];
  private readonly labels: Record<string, string>;

  protected constructor(scope: Construct, id: string, name: string, props: FlinkClusterProps, mode: () => ClusterModeSpec) {
    super(scope, id);
    this.name = checkName('name', name, MAX_NAME_LENGTH);
    this.version = props.flinkVersion ?? FlinkVersion.V1_20;
    if (!(this.version instanceof FlinkVersion)) {
      throw new ValidationError('flinkVersion', props.flinkVersion, 'is invalid; expected a FlinkVersion such as FlinkVersion.V1_20 or FlinkVersion.of("2.2")');
    }
    if (props.namespace !== undefined) checkName('namespace', props.namespace, 63);
    this.namespace = props.namespace;
    this.partOf = props.partOf ?? 'flink';
    checkLabels('partOf', { 'app.kubernetes.io/part-of': this.partOf });
    this.image = checkImage('image', imageReference(props.image) ?? this.version.defaultImage);
    if (props.image instanceof RuntimeImage) this.runtimeImage = props.image;
    this.jobManagerHost = `${this.name}-jobmanager`;
    this.restServiceName = `${this.name}-rest`;
    this.restUrl = `http://${this.restServiceName}${this.namespace ? `.${this.namespace}.svc` : ''}:${PORTS.rest}`;
    this.labels = { ...checkLabels('labels', props.labels), ...recommendedLabels(this.name, this.version.toString(), this.partOf) };
    this.podAnnotations = checkLabels('podAnnotations', props.podAnnotations, false);

    const config = new FlinkConfiguration(this.version);
    this.configuration = config;

    // --- sizes
    this.taskManagerSlots = checkInt('taskManagerSlots', props.taskManagerSlots ?? 2, 1, 64);
    this.jobManagerMemoryMiB = mebibytes('jobManagerMemory', props.jobManagerMemory ?? Size.mebibytes(1600));
    this.taskManagerMemoryMiB = mebibytes('taskManagerMemory', props.taskManagerMemory ?? Size.mebibytes(2048));
    this.jobManagerCpuMillis = cpuMillis('jobManagerCpu', props.jobManagerCpu ?? kplus.Cpu.units(1));
    this.taskManagerCpuMillis = cpuMillis('taskManagerCpu', props.taskManagerCpu ?? kplus.Cpu.units(1));
    if (props.taskManagerCpuLimit !== undefined && cpuMillis('taskManagerCpuLimit', props.taskManagerCpuLimit) < this.taskManagerCpuMillis) {
      throw new ValidationError('taskManagerCpuLimit', props.taskManagerCpuLimit.amount, `is below taskManagerCpu (${props.taskManagerCpu?.amount ?? '1'}); expected a limit >= the request`);
    }
    const backend = props.stateBackend ?? StateBackend.HASHMAP;
    if (!Object.values(StateBackend).includes(backend)) {
      throw new ValidationError('stateBackend', backend, `is unknown; expected one of ${Object.values(StateBackend).join(', ')}`);
    }
    const managed = checkNumber('managedMemoryFraction', props.managedMemoryFraction ?? (backend === StateBackend.ROCKSDB ? 0.4 : 0.1), 0, 0.9);
    checkJobManagerMemory('jobManagerMemory', this.jobManagerMemoryMiB);
    checkTaskManagerMemory('taskManagerMemory', this.taskManagerMemoryMiB, managed);

    // --- addresses and ports
    config.set('jobmanager.rpc.address', this.jobManagerHost, 'cluster addresses');
    config.set('jobmanager.rpc.port', PORTS.jobManagerRpc, 'cluster addresses');
    config.set('jobmanager.bind-host', '0.0.0.0', 'cluster addresses');
    config.set('blob.server.port', PORTS.blobServer, 'cluster addresses');
    config.set('rest.address', this.restServiceName, 'cluster addresses');
    config.set('rest.port', PORTS.rest, 'cluster addresses');
    config.set('rest.bind-address', '0.0.0.0', 'cluster addresses');
    config.set('taskmanager.bind-host', '0.0.0.0', 'cluster addresses');
    config.set('taskmanager.rpc.port', PORTS.taskManagerRpc, 'cluster addresses');
    config.set('taskmanager.data.port', PORTS.taskManagerData, 'cluster addresses');
    config.set('io.tmp.dirs', '/tmp', 'cluster addresses');
    config.set(this.version.jvmDefaultOptionsKey, this.version.jvmModuleOptions, 'Java 17 module flags');

    // --- memory and slots
    config.set('jobmanager.memory.process.size', `${this.jobManagerMemoryMiB}m`, 'jobManagerMemory');
    config.set('taskmanager.memory.process.size', `${this.taskManagerMemoryMiB}m`, 'taskManagerMemory');
    config.set('taskmanager.memory.managed.fraction', managed, 'managedMemoryFraction');
    config.set('taskmanager.numberOfTaskSlots', this.taskManagerSlots, 'taskManagerSlots');

    // --- checkpointing and state
    const checkpointing = props.checkpointing ?? true;
    const cpMode = props.checkpointMode ?? CheckpointingMode.EXACTLY_ONCE;
    if (!Object.values(CheckpointingMode).includes(cpMode)) {
      throw new ValidationError('checkpointMode', cpMode, `is unknown; expected one of ${Object.values(CheckpointingMode).join(', ')}`);
    }
    if (props.checkpointDirectory !== undefined) this.checkpointDirectory = checkUri('checkpointDirectory', props.checkpointDirectory);
    if (props.savepointDirectory !== undefined) this.savepointDirectory = checkUri('savepointDirectory', props.savepointDirectory);
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
      if (cpMode === CheckpointingMode.EXACTLY_ONCE && !this.checkpointDirectory) {
        throw new ValidationError('checkpointDirectory', undefined,
          'is required with exactly-once checkpointing; expected durable storage such as "s3://bucket/flink/checkpoints" (without it checkpoints live in JobManager memory and a restart loses them)');
      }
    } else {
      for (const f of ['checkpointInterval', 'checkpointMode', 'checkpointTimeout', 'checkpointMinPause', 'unalignedCheckpoints', 'tolerableCheckpointFailures'] as const) {
        if (props[f] !== undefined) throw new ValidationError(f, describeProp(props[f]), 'is set while checkpointing is false; remove it or enable checkpointing');
      }
    }
    if (this.checkpointDirectory) {
      config.set('execution.checkpointing.storage', 'filesystem', 'checkpointDirectory');
      config.set('execution.checkpointing.dir', this.checkpointDirectory, 'checkpointDirectory');
    }
    if (this.savepointDirectory) config.set('execution.checkpointing.savepoint-dir', this.savepointDirectory, 'savepointDirectory');
    config.set('state.backend.type', backend, 'stateBackend');
    const incremental = props.incrementalCheckpoints ?? backend === StateBackend.ROCKSDB;
    if (incremental && backend !== StateBackend.ROCKSDB) {
      throw new ValidationError('incrementalCheckpoints', true, 'requires stateBackend ROCKSDB; the hashmap backend takes full checkpoints');
    }
    if (backend === StateBackend.ROCKSDB) config.set('execution.checkpointing.incremental', incremental, 'incrementalCheckpoints');
    (props.restartStrategy ?? RestartStrategy.exponentialDelay())._bind(config, 'restartStrategy');

    // --- high availability
    this.highAvailability = props.highAvailability ?? false;
    if (this.highAvailability) {
      const dir = props.highAvailabilityStorageDir;
      if (dir === undefined) {
        throw new ValidationError('highAvailabilityStorageDir', undefined, 'is required with highAvailability; expected durable storage such as "s3://bucket/flink/ha"');
      }
      config.set('high-availability.type', 'kubernetes', 'highAvailability');
      config.set('high-availability.storageDir', checkUri('highAvailabilityStorageDir', dir), 'highAvailabilityStorageDir');
      config.set('kubernetes.cluster-id', checkName('highAvailabilityClusterId', props.highAvailabilityClusterId ?? this.name, 45), 'highAvailabilityClusterId');
    } else {
      for (const f of ['highAvailabilityStorageDir', 'highAvailabilityClusterId'] as const) {
        if (props[f] !== undefined) throw new ValidationError(f, props[f], 'is set but highAvailability is false; set highAvailability: true or remove it');
      }
    }

    // --- metrics
    this.metricsEnabled = props.metrics ?? true;
    if (this.metricsEnabled) {
      config.set('metrics.reporter.prom.factory.class', 'org.apache.flink.metrics.prometheus.PrometheusReporterFactory', 'metrics');
      config.set('metrics.reporter.prom.port', PORTS.metrics, 'metrics');
    }

    config.set('heartbeat.interval', '5s', 'heartbeats');
    config.set('heartbeat.timeout', '30s', 'heartbeats');

    const spec = mode();
    if (spec.mode === 'application') {
      config.set('execution.shutdown-on-application-finish', false, 'application mode');
    }
    if (spec.handoff) {
      // The restore keys come from the hand-off at start; the configuration must not set them.
      config.reserve('execution.state-recovery.path', 'initialSavepointPath (and the upgrade hand-off)');
      config.reserve('execution.state-recovery.ignore-unclaimed-state', 'allowNonRestoredState (and the upgrade hand-off)');
    }
    config.setRaw('flinkConfiguration', props.flinkConfiguration);

    this.jobManagerReplicas = checkInt('jobManagerReplicas', props.jobManagerReplicas ?? (this.highAvailability && spec.mode === 'session' ? 2 : 1), 1, 5);
    if (this.jobManagerReplicas > 1 && !this.highAvailability) {
      throw new ValidationError('jobManagerReplicas', this.jobManagerReplicas, 'needs highAvailability: true (standby JobManagers elect a leader through Kubernetes HA)');
    }

    for (const [k, v] of Object.entries(props.env ?? {})) this.addEnv(k, v);
    for (const v of props.volumes ?? []) this.addVolume(v);

    // --- objects
    const md = (suffix: string, component?: string) => this.objectMetadata(suffix, component);

    const sa = props.serviceAccount ?? ServiceAccountRef.generated();
    if (!(sa instanceof ServiceAccountRef)) {
      throw new ValidationError('serviceAccount', sa, 'is invalid; expected ServiceAccountRef.generated({...annotations}) or ServiceAccountRef.existing("name")');
    }
    let subject: kplus.IServiceAccount;
    this.serviceAccountAnnotations = { ...sa.annotations };
    if (sa.existingName !== undefined) {
      subject = kplus.ServiceAccount.fromServiceAccountName(this, 'ExistingServiceAccount', sa.existingName, { namespaceName: this.namespace });
      this.serviceAccountName = sa.existingName;
    } else {
      this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
        metadata: { ...md('-flink'), ...(Object.keys(sa.annotations).length ? { annotations: sa.annotations } : {}) },
        automountToken: this.highAvailability,
      });
      subject = this.serviceAccount;
      this.serviceAccountName = this.serviceAccount.name;
    }
    if (this.highAvailability) {
      // Flink's Kubernetes HA creates, watches and deletes ConfigMaps whose names it derives at run time
      // (cluster id and job id), so the rule cannot name them; it is limited to ConfigMaps in this namespace.
      const role = new kplus.Role(this, 'HaRole', { metadata: md('-flink-ha') });
      role.allow(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], kplus.ApiResource.CONFIG_MAPS);
      const binding = new kplus.RoleBinding(this, 'HaRoleBinding', { metadata: md('-flink-ha'), role });
      binding.addSubjects(subject);
    }

    if (props.logLevel !== undefined && !Object.values(LogLevel).includes(props.logLevel)) {
      throw new ValidationError('logLevel', props.logLevel, `is unknown; expected one of ${Object.values(LogLevel).join(', ')}`);
    }
    if (props.logging !== undefined && props.logLevel !== undefined) {
      throw new ValidationError('logLevel', props.logLevel, 'is set together with logging; expected one of them (LogConfig.of({ rootLevel }) sets the root level)');
    }
    if (props.logging !== undefined && !(props.logging instanceof LogConfig)) {
      throw new ValidationError('logging', props.logging, 'is invalid; expected LogConfig.of({...}), LogConfig.fromFile(path) or LogConfig.fromString(text)');
    }
    const log4j = (props.logging ?? LogConfig.of({ rootLevel: props.logLevel }))._render(this.version);
    let cache: Record<string, string> | undefined;
    const files = () => (cache ??= {
      ...(() => { const f = this.configuration.render(); return { [f.fileName]: f.content }; })(),
      'log4j-console.properties': log4j,
      ...(spec.jobFiles ?? {}),
    });
    // Rendered at synthesis, so keys added after construction (addFlinkConfiguration) are included.
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: md('-config'),
      data: Lazy.any({ produce: () => files() }) as any,
    });

    const checksum = () => createHash('sha256').update(JSON.stringify(files())).digest('hex');

    const jmPorts = [
      { name: 'rpc', containerPort: PORTS.jobManagerRpc },
      { name: 'blob-server', containerPort: PORTS.blobServer },
      { name: 'webui', containerPort: PORTS.rest },
      ...(this.metricsEnabled ? [{ name: 'metrics', containerPort: PORTS.metrics }] : []),
    ];
    const tmPorts = [
      { name: 'rpc', containerPort: PORTS.taskManagerRpc },
      { name: 'data', containerPort: PORTS.taskManagerData },
      ...(this.metricsEnabled ? [{ name: 'metrics', containerPort: PORTS.metrics }] : []),
    ];

    // "-D" and "key=value" as two arguments: jobmanager.sh reads a first argument that is not
    // exactly "-D" as the legacy <host> parameter.
    const haArgs = this.highAvailability
      ? ['-D', 'jobmanager.rpc.address=$(POD_IP)', '-D', 'kubernetes.namespace=$(POD_NAMESPACE)']
      : [];
    const jmArgs = Lazy.any({ produce: () => [...spec.jobManagerArgs.map((a) => (typeof a === 'function' ? a() : a)), ...haArgs, ...(spec.jobManagerTrailingArgs ?? [])] });
    const tmArgs = ['taskmanager', ...(this.highAvailability ? ['-D', 'kubernetes.namespace=$(POD_NAMESPACE)'] : [])];

    const tolerations = checkTolerations('tolerations', props.tolerations);
    const nodeSelector = checkLabels('nodeSelector', props.nodeSelector);
    const pullSecrets = (props.imagePullSecrets ?? []).map((n, i) => ({ name: checkName(`imagePullSecrets[${i}]`, n, 253) }));
    const pullPolicy = props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT;

    const copyConfig = `cp -L ${CONF_TEMPLATE_DIR}/${this.version.configFileName} ${CONF_TEMPLATE_DIR}/log4j-console.properties ${FLINK_HOME}/conf/`;
    const pod = (component: 'jobmanager' | 'taskmanager', container: { name: string; [k: string]: any }, affinity?: Record<string, any>): k8s.PodTemplateSpec => ({
      metadata: {
        labels: { ...this.labels, 'app.kubernetes.io/component': component },
        annotations: Lazy.any({
          produce: () => ({
            ...(props.podAnnotations ?? {}),
            'checksum/config': checksum(),
            // Changes with every release revision, so the JobManager restarts and picks up the hand-off.
            ...(component === 'jobmanager' && spec.handoff ? { [REVISION_ANNOTATION]: '1' } : {}),
          }),
        }),
      },
      spec: {
        serviceAccountName: this.serviceAccountName,
        automountServiceAccountToken: this.highAvailability,
        enableServiceLinks: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: FLINK_UID,
          runAsGroup: FLINK_UID,
          fsGroup: FLINK_UID,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
        ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
        ...(tolerations.length ? { tolerations } : {}),
        ...(affinity ? { affinity } : {}),
        initContainers: [{
          name: CONFIG_INIT_CONTAINER,
          image: this.image,
          imagePullPolicy: pullPolicy,
          command: ['sh', '-c', component === 'jobmanager' && spec.handoff ? this.handoffScript() : copyConfig],
          securityContext: containerSecurity(),
          resources: { requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') }, limits: { memory: k8s.Quantity.fromString('32Mi') } },
          volumeMounts: [
            { name: 'flink-config-template', mountPath: CONF_TEMPLATE_DIR, readOnly: true },
            { name: 'flink-conf', mountPath: `${FLINK_HOME}/conf` },
            ...(component === 'jobmanager' && spec.handoff ? [{ name: 'flink-handoff', mountPath: HANDOFF_DIR, readOnly: true }] : []),
          ],
        }],
        containers: [{
          image: this.image,
          imagePullPolicy: pullPolicy,
          securityContext: containerSecurity(),
          ...container,
          env: Lazy.any({
            produce: () => [
              ...this.renderEnv(),
              ...(component === 'jobmanager' && spec.handoff
                ? [{ name: 'FLINK_JOB_ID', valueFrom: { configMapKeyRef: { name: `${this.name}-handoff`, key: 'jobId' } } }]
                : []),
            ],
          }),
          volumeMounts: Lazy.any({
            produce: () => [
              { name: 'flink-conf', mountPath: `${FLINK_HOME}/conf` },
              { name: 'flink-log', mountPath: `${FLINK_HOME}/log` },
              { name: 'flink-tmp', mountPath: '/tmp' },
              ...(spec.jobFiles && component === 'jobmanager' ? [{ name: 'flink-job', mountPath: JOB_FILES_DIR, readOnly: true }] : []),
              ...this.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: v.readOnly ?? true })),
            ],
          }),
        }],
        volumes: Lazy.any({
          produce: () => [
            { name: 'flink-config-template', configMap: { name: this.configMap.name } },
            { name: 'flink-conf', emptyDir: {} },
            { name: 'flink-log', emptyDir: {} },
            { name: 'flink-tmp', emptyDir: {} },
            ...(component === 'jobmanager' && spec.handoff ? [{ name: 'flink-handoff', configMap: { name: `${this.name}-handoff` } }] : []),
            ...(spec.jobFiles && component === 'jobmanager'
              ? [{ name: 'flink-job', configMap: { name: this.configMap.name, items: Object.keys(spec.jobFiles).sort().map((k) => ({ key: k, path: k })) } }]
              : []),
            ...this.volumes.map((v) => v.source._toVolume(v.name)),
          ],
        }),
      },
    });

    // --- JobManager: standby JobManagers (HA) on other nodes than the leader, so one node's loss
    // does not take every JobManager with it.
    const jmAnti = checkAntiAffinity('jobManagerAntiAffinity', props.jobManagerAntiAffinity);
    const jmAffinity = this.jobManagerReplicas > 1 ? antiAffinity(jmAnti, selectorLabels(this.name, 'jobmanager')) : undefined;
    this.jobManagerDeployment = new k8s.KubeDeployment(this, 'JobManager', {
      metadata: md('-jobmanager', 'jobmanager'),
      spec: {
        replicas: this.jobManagerReplicas,
        // Recreate: without HA two JobManagers of one cluster must never run at once; with HA a
        // rolling update would briefly run two leaders' contenders on different configurations.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selectorLabels(this.name, 'jobmanager') },
        template: pod('jobmanager', {
          name: 'jobmanager',
          args: jmArgs,
          ports: jmPorts,
          resources: resources(this.jobManagerCpuMillis, this.jobManagerMemoryMiB),
          startupProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 5, failureThreshold: 60 },
          livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 10, failureThreshold: 6 },
          readinessProbe: { httpGet: { path: '/overview', port: k8s.IntOrString.fromString('webui') }, periodSeconds: 10, failureThreshold: 3 },
        }, jmAffinity),
      },
    });

    // --- TaskManagers
    const affinity = antiAffinity(checkAntiAffinity('taskManagerAntiAffinity', props.taskManagerAntiAffinity), selectorLabels(this.name, 'taskmanager'));
    const tmCpuLimit = props.taskManagerCpuLimit ? cpuMillis('taskManagerCpuLimit', props.taskManagerCpuLimit) : undefined;
    this.taskManagerDeployment = new k8s.KubeDeployment(this, 'TaskManager', {
      metadata: md('-taskmanager', 'taskmanager'),
      spec: {
        ...(spec.taskManagerReplicas !== undefined ? { replicas: spec.taskManagerReplicas } : {}),
        selector: { matchLabels: selectorLabels(this.name, 'taskmanager') },
        template: pod('taskmanager', {
          name: 'taskmanager',
          args: tmArgs,
          ports: tmPorts,
          resources: resources(this.taskManagerCpuMillis, this.taskManagerMemoryMiB, tmCpuLimit),
          startupProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 5, failureThreshold: 60 },
          livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 10, failureThreshold: 6 },
          readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 10, failureThreshold: 3 },
        }, affinity),
      },
    });

    // --- Services
    const svcType = props.restServiceType ?? ServiceType.CLUSTER_IP;
    if (!Object.values(ServiceType).includes(svcType)) {
      throw new ValidationError('restServiceType', svcType, `is unknown; expected one of ${Object.values(ServiceType).join(', ')}`);
    }
    this.jobManagerService = new k8s.KubeService(this, 'JobManagerService', {
      metadata: md('-jobmanager', 'jobmanager'),
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(this.name, 'jobmanager'),
        ports: [
          { name: 'rpc', port: PORTS.jobManagerRpc, targetPort: k8s.IntOrString.fromString('rpc') },
          { name: 'blob-server', port: PORTS.blobServer, targetPort: k8s.IntOrString.fromString('blob-server') },
        ],
      },
    });
    this.restService = new k8s.KubeService(this, 'RestService', {
      metadata: md('-rest', 'jobmanager'),
      spec: {
        type: svcType,
        selector: selectorLabels(this.name, 'jobmanager'),
        ports: [{ name: 'rest', port: PORTS.rest, targetPort: k8s.IntOrString.fromString('webui') }],
      },
    });

    if (props.podDisruptionBudget ?? true) {
      // AlwaysAllow: a pod that is not ready protects nothing; without it a crash-looping pod
      // would block every node drain (the default policy only evicts it while the budget holds).
      const budget = (id: string, component: 'jobmanager' | 'taskmanager') => new k8s.KubePodDisruptionBudget(this, id, {
        metadata: md(`-${component}`, component),
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: selectorLabels(this.name, component) },
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
      budget('TaskManagerBudget', 'taskmanager');
      if (this.jobManagerReplicas > 1) budget('JobManagerBudget', 'jobmanager');
    }

    if (props.ingress !== undefined) {
      if (!spec.restExposureAllowed) {
        throw new ValidationError('ingress', props.ingress.host ?? '(any host)',
          'exposes the session cluster\'s REST API (jar upload and run: code execution) through an ingress controller; set allowRemoteCodeExecutionViaRestApi: true to accept that, or use kubectl port-forward');
      }
      this.ingressOptions = resolveIngress(props.ingress);
      this.ingress = this.createIngress(this.ingressOptions);
    }
    this.networkAccess = resolveNetworkAccess(props.networkPolicy ?? {}, spec, svcType, this.ingressOptions);
    if (this.networkAccess.enabled) this.networkPolicy = this.createNetworkPolicy(this.networkAccess, spec.mode);
  }

  /** The Ingress routing `host` + `path` to the REST Service. */
  private createIngress(o: ResolvedIngress): k8s.KubeIngress {
    const base = this.objectMetadata('-rest', 'jobmanager');
    return new k8s.KubeIngress(this, 'Ingress', {
      metadata: { ...base, ...(Object.keys(o.annotations).length ? { annotations: o.annotations } : {}) },
      spec: {
        ...(o.className ? { ingressClassName: o.className } : {}),
        ...(o.tlsSecretName ? { tls: [{ ...(o.host ? { hosts: [o.host] } : {}), secretName: o.tlsSecretName }] } : {}),
        rules: [{
          ...(o.host ? { host: o.host } : {}),
          http: { paths: [{ path: o.path, pathType: o.pathType, backend: { service: { name: this.restServiceName, port: { name: 'rest' } } } }] },
        }],
      },
    });
  }

  /**
   * The ingress rules of the cluster's pods. Kubelet probes need no rule: traffic from the
   * pod's own node is always allowed.
   */
  private createNetworkPolicy(access: NetworkAccess, mode: ClusterModeSpec['mode']): k8s.KubeNetworkPolicy {
    const own = { matchLabels: { 'app.kubernetes.io/name': this.name, 'app.kubernetes.io/instance': this.name }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['jobmanager', 'taskmanager'] }] };
    const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));
    const ownClients = mode === 'application'
      ? ['hooks', 'test'].map((component) => ({ podSelector: { matchLabels: selectorLabels(this.name, component) } }))
      : [{ podSelector: { matchLabels: { [REST_CLIENT_LABEL]: this.name } } }];
    return new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: this.objectMetadata(''),
      spec: {
        podSelector: own,
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: own }], ports: tcp(PORTS.jobManagerRpc, PORTS.blobServer, PORTS.taskManagerRpc, PORTS.taskManagerData) },
          { from: [...ownClients, ...(access.ingressController ? [access.ingressController._toPeer()] : []), ...access.restClients.map((p) => p._toPeer())], ports: tcp(PORTS.rest) },
          ...(this.metricsEnabled && access.metricsScrapers.length ? [{ from: access.metricsScrapers.map((p) => p._toPeer()), ports: tcp(PORTS.metrics) }] : []),
        ],
      },
    });
  }

  /** Names of the extra environment variables of the containers. */
  public get envNames(): string[] {
    return Object.keys(this.env).sort();
  }

  /** Names of the extra volumes of the pods. */
  public get volumeNames(): string[] {
    return this.volumes.map((v) => v.name).sort();
  }

  /** Adds an environment variable to the JobManager and TaskManager containers. */
  public addEnv(name: string, value: EnvValue): EnvValue {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ValidationError('env name', name, 'is invalid; expected a C identifier such as KAFKA_PASSWORD');
    }
    if (RESERVED_ENV.includes(name) || name in this.env) {
      throw new ValidationError('env name', name, `is already set${RESERVED_ENV.includes(name) ? ' by the toolkit' : ''}; choose another name`);
    }
    if (!(value instanceof EnvValue)) {
      throw new ValidationError(`env.${name}`, value, 'is invalid; expected an EnvValue such as EnvValue.fromSecret("kafka", "password")');
    }
    this.env[name] = value;
    return value;
  }

  /** Mounts an extra volume into the JobManager and TaskManager containers. */
  public addVolume(volume: ExtraVolume): ExtraVolume {
    checkName('volumes[].name', volume.name, 63);
    if (RESERVED_VOLUMES.includes(volume.name) || this.volumes.some((v) => v.name === volume.name)) {
      throw new ValidationError('volumes[].name', volume.name, 'is already used in the pod; choose another name');
    }
    if (typeof volume.mountPath !== 'string' || !volume.mountPath.startsWith('/')) {
      throw new ValidationError(`volumes[${volume.name}].mountPath`, volume.mountPath, `is invalid; expected an absolute path other than ${RESERVED_MOUNTS.join(', ')}`);
    }
    checkMountPath(volume, this.volumes, RESERVED_MOUNTS);
    this.volumes.push(volume);
    return volume;
  }

  /** Adds a raw Flink configuration key (the same checks as the `flinkConfiguration` prop). */
  public addFlinkConfiguration(key: string, value: FlinkConfigValue): void {
    this.configuration.setRaw('addFlinkConfiguration', { [key]: value });
  }

  /**
   * The JobManager init container's script with a hand-off: copy the configuration, then, when
   * the hand-off names a savepoint, append the restore keys (the configuration never sets them
   * itself, so they cannot appear twice).
   */
  private handoffScript(): string {
    const file = `${FLINK_HOME}/conf/${this.version.configFileName}`;
    const pathKey = keyFor(this.version, 'execution.state-recovery.path');
    const ignoreKey = keyFor(this.version, 'execution.state-recovery.ignore-unclaimed-state');
    // config.yaml is standard YAML (quote the path); flink-conf.yaml keeps quotes literally.
    const q = this.version.configFileName === 'config.yaml' ? '"' : '';
    return [
      `cp -L ${CONF_TEMPLATE_DIR}/${this.version.configFileName} ${CONF_TEMPLATE_DIR}/log4j-console.properties ${FLINK_HOME}/conf/`,
      `if [ -s ${HANDOFF_DIR}/savepointPath ]; then printf '%s: ${q}%s${q}\\n%s: %s\\n' ${pathKey} "$(cat ${HANDOFF_DIR}/savepointPath)" ${ignoreKey} "$(cat ${HANDOFF_DIR}/allowNonRestoredState 2>/dev/null || echo false)" >> ${file}; fi`,
    ].join(' && ');
  }

  /** Metadata of an object named `<name><suffix>`, with the recommended labels. */
  protected objectMetadata(suffix: string, component?: string): { name: string; namespace?: string; labels: Record<string, string> } {
    return {
      name: `${this.name}${suffix}`,
      ...(this.namespace ? { namespace: this.namespace } : {}),
      labels: { ...this.labels, ...(component ? { 'app.kubernetes.io/component': component } : {}) },
    };
  }

  /** Total slots at the declared TaskManager count. */
  public abstract get totalSlots(): number;

  private renderEnv(): Record<string, unknown>[] {
    return [
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'JOB_MANAGER_RPC_ADDRESS', value: this.jobManagerHost },
      ...Object.keys(this.env).sort().map((k) => this.env[k]._toEnvVar(k)),
      ...this.configuration.secretEnv(),
    ];
  }

}

/**
 * The containers the toolkit owns in a Flink pod, by name: the main container is named after its
 * component (`jobmanager`, `taskmanager`), the init container that prepares the configuration
 * `flink-config`. A chart applies its image, resources and args values to these only; containers
 * added through escape hatches keep what they were given.
 */
export const CONFIG_INIT_CONTAINER = 'flink-config';

/** The main Flink container of a JobManager or TaskManager pod spec (as synthesized). */
export function flinkContainer(pod: { containers: any[] }, component: 'jobmanager' | 'taskmanager'): any {
  const c = pod.containers.find((x) => x.name === component);
  if (!c) throw new Error(`the ${component} pod has no container named "${component}"; an escape hatch may add containers but not rename or remove the Flink one`);
  return c;
}

/** The JobManager pod annotation that carries the release revision. */
export const REVISION_ANNOTATION = 'cdk8s-flink/revision';

const RESERVED_ENV = ['POD_IP', 'POD_NAMESPACE', 'JOB_MANAGER_RPC_ADDRESS', 'FLINK_PROPERTIES', 'FLINK_CONF_DIR', 'FLINK_HOME', 'FLINK_JOB_ID'];
const RESERVED_VOLUMES = ['flink-config-template', 'flink-conf', 'flink-log', 'flink-tmp', 'flink-job', 'flink-handoff'];
const RESERVED_MOUNTS = [`${FLINK_HOME}/conf`, `${FLINK_HOME}/log`, '/tmp', JOB_FILES_DIR, CONF_TEMPLATE_DIR, FLINK_HOME, HANDOFF_DIR];

/** The `networkPolicy` options checked, with their defaults; the session REST exposure checked against its opt-in. */
function resolveNetworkAccess(o: NetworkPolicyOptions, spec: ClusterModeSpec, svcType: ServiceType, ingress?: ResolvedIngress): NetworkAccess {
  const peers = (field: string, list: unknown): NetworkPeer[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new ValidationError(field, list, 'is invalid; expected a list of NetworkPeer');
    list.forEach((p, i) => {
      if (!(p instanceof NetworkPeer)) throw new ValidationError(`${field}[${i}]`, p, 'is invalid; expected a NetworkPeer such as NetworkPeer.pods({ app: "gateway" })');
    });
    return list;
  };
  const restClients = peers('networkPolicy.restClients', o.restClients);
  const scrapers = o.metricsScrapers === undefined ? [NetworkPeer.kubePrometheusStack()] : peers('networkPolicy.metricsScrapers', o.metricsScrapers);
  const enabled = o.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new ValidationError('networkPolicy.enabled', enabled, 'is invalid; expected true or false');
  if (!spec.restExposureAllowed) {
    const outside = restClients.findIndex((p) => p.outsideCluster);
    if (outside >= 0) {
      throw new ValidationError(`networkPolicy.restClients[${outside}]`, restClients[outside]._toPeer().ipBlock.cidr,
        'opens the session cluster\'s REST API (jar upload and run: code execution) to addresses outside the cluster; set allowRemoteCodeExecutionViaRestApi: true to accept that, or name pods or namespaces');
    }
    if (svcType !== ServiceType.CLUSTER_IP) {
      throw new ValidationError('restServiceType', svcType,
        'exposes the session cluster\'s REST API (jar upload and run: code execution) outside the cluster; set allowRemoteCodeExecutionViaRestApi: true to accept that, or keep ClusterIP');
    }
  }
  return { enabled, restClients, metricsScrapers: scrapers, restExposureAllowed: spec.restExposureAllowed, ...(ingress ? { ingressController: ingress.controller } : {}) };
}

function checkAntiAffinity(field: string, anti: AntiAffinity | undefined): AntiAffinity {
  const a = anti ?? AntiAffinity.PREFERRED;
  if (!Object.values(AntiAffinity).includes(a)) {
    throw new ValidationError(field, a, `is unknown; expected one of ${Object.values(AntiAffinity).join(', ')}`);
  }
  return a;
}

/** Pod anti-affinity across nodes among the pods with these labels. */
function antiAffinity(anti: AntiAffinity, matchLabels: Record<string, string>): Record<string, any> | undefined {
  const term = { labelSelector: { matchLabels }, topologyKey: 'kubernetes.io/hostname' };
  return anti === AntiAffinity.NONE ? undefined
    : anti === AntiAffinity.REQUIRED ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
      : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
}

function containerSecurity() {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

function resources(cpuMillis: number, memoryMiB: number, cpuLimitMillis?: number) {
  const mem = k8s.Quantity.fromString(`${memoryMiB}Mi`);
  const cpu = k8s.Quantity.fromString(cpuMillis % 1000 === 0 ? `${cpuMillis / 1000}` : `${cpuMillis}m`);
  return {
    requests: { cpu, memory: mem },
    limits: {
      memory: mem,
      ...(cpuLimitMillis !== undefined ? { cpu: k8s.Quantity.fromString(cpuLimitMillis % 1000 === 0 ? `${cpuLimitMillis / 1000}` : `${cpuLimitMillis}m`) } : {}),
    },
  };
}

/** Parses a cdk8s-plus Cpu (`"500m"`, `"2"`, `"1.5"`) into millicores. */
export function cpuMillis(field: string, cpu: kplus.Cpu): number {
  const amount = cpu?.amount;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(amount));
  const millis = m ? (m[2] ? Number(m[1]) : Number(m[1]) * 1000) : NaN;
  if (!m || !Number.isInteger(millis) || millis <= 0) {
    throw new ValidationError(field, amount, 'is invalid; expected a positive CPU amount such as Cpu.millis(500) or Cpu.units(2)');
  }
  return millis;
}

export { checkImage } from './image-ref';

function describeProp(v: unknown): unknown {
  if (v instanceof Duration) return v.toHumanString();
  return v;
}
