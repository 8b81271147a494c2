import { createHash } from 'crypto';
import { Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import type { ChartExpression } from '../chart-value';
import { FlinkConfigValue, FlinkConfiguration } from '../config/flink-configuration';
import { FlinkVersion } from '../config/flink-version';
import { LogConfig, LogLevel } from '../config/log4j';
import { checkJobManagerMemory, checkTaskManagerMemory } from './memory-checks';
import { mebibytes } from '../config/units';
import { checkInt, checkLabels, checkName, checkNumber, ValidationError } from '../errors';
import { checkImage } from './image-ref';
import { imageReference, RuntimeImage, StorageCredentials } from '../runtime-image';
import { recommendedLabels } from './labels';
import { IngressOptions, resolveIngress, ResolvedIngress, ServiceAccountRef } from './access';
import { NetworkPeer, NetworkPolicyOptions } from './network-policy';
import {
  AntiAffinity, CheckpointingMode, checkMountPath, checkTolerations, EnvValue, ExtraVolume, ImagePullPolicy,
  RestartStrategy, ServiceType, StateBackend, Toleration, VolumeSource,
} from './options';
import {
  applyAddresses, applyCheckpointing, applyHeartbeats, applyHighAvailability, applyMemory, applyMetrics, applyMode,
  applyRestart, applyStateBackend, checkStateBackend,
} from './config-steps';
import { PORTS } from './layout';
import { PodTemplateContext } from './pod-template';
import { RESTRICTED_VOLUME_TYPES } from '../policy/pod-security';
import { PodTemplateOptions, RESERVED_MOUNTS, RESERVED_VOLUMES, resolvePodTemplate, ResolvedPodTemplate } from './pod-customization';
import { jobManagerDeployment } from './jobmanager';
import { taskManagerDeployment } from './taskmanager';
import * as objects from './services';

export * from './pod-customization';
export { PORTS, FLINK_UID, FLINK_HOME, HANDOFF_DIR, JOB_FILES_DIR, CONFIG_INIT_CONTAINER, REVISION_ANNOTATION, ARTIFACTS_DIR, FETCH_JAR_INIT_CONTAINER } from './layout';

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
  /**
   * Sidecars, init containers, volumes of any type, the Flink container's extra env and mounts,
   * and the priority class of both the JobManager and TaskManager pods; see `jobManagerPodTemplate`
   * and `taskManagerPodTemplate` for one component. Added containers get the restricted security
   * context unless they say `restricted: false`.
   * @default - none
   */
  readonly podTemplate?: PodTemplateOptions;
  /** What `podTemplate` adds, for the JobManager pods only (merged after it). @default - none */
  readonly jobManagerPodTemplate?: PodTemplateOptions;
  /** What `podTemplate` adds, for the TaskManager pods only (merged after it). @default - none */
  readonly taskManagerPodTemplate?: PodTemplateOptions;
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
  /**
   * An init container of the JobManager pod that writes into an emptyDir mounted read-only at
   * `ARTIFACTS_DIR` in the JobManager (the fetch of an https job jar).
   */
  readonly jobManagerFetch?: Record<string, unknown>;
  /** The fetch init container's chart values, by its field (lib/chart-value.ts). */
  readonly jobManagerFetchValues?: Readonly<Record<string, ChartExpression>>;
  /** Volumes only the fetch init container mounts (a jar's private authority). */
  readonly jobManagerFetchVolumes?: ReadonlyArray<Record<string, unknown>>;
  /** The components of an application cluster's own pods that call its REST API. @default APPLICATION_REST_CLIENTS */
  readonly restClientComponents?: readonly string[];
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
  /** The components of an application cluster's own pods that its NetworkPolicy admits to the REST API (the chart's helper renders the same). */
  public readonly restClientComponents: readonly string[];

  /** The pod templates, checked and merged per component. @internal */
  public readonly _podTemplates: Record<'jobmanager' | 'taskmanager', ResolvedPodTemplate>;

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
    const backend = checkStateBackend(props);
    const managed = checkNumber('managedMemoryFraction', props.managedMemoryFraction ?? (backend === StateBackend.ROCKSDB ? 0.4 : 0.1), 0, 0.9);
    checkJobManagerMemory('jobManagerMemory', this.jobManagerMemoryMiB);
    checkTaskManagerMemory('taskManagerMemory', this.taskManagerMemoryMiB, managed);

    // --- the Flink configuration, section by section (config-steps.ts)
    applyAddresses(config, this.version, this.jobManagerHost, this.restServiceName);
    applyMemory(config, this.jobManagerMemoryMiB, this.taskManagerMemoryMiB, managed, this.taskManagerSlots);
    const storage = applyCheckpointing(config, props);
    if (storage.checkpointDirectory !== undefined) this.checkpointDirectory = storage.checkpointDirectory;
    if (storage.savepointDirectory !== undefined) this.savepointDirectory = storage.savepointDirectory;
    applyStateBackend(config, props, backend);
    applyRestart(config, props);
    this.highAvailability = applyHighAvailability(config, props, this.name);
    this.metricsEnabled = applyMetrics(config, props);
    applyHeartbeats(config);
    const spec = mode();
    applyMode(config, spec);
    config.setRaw('flinkConfiguration', props.flinkConfiguration);

    this.jobManagerReplicas = checkInt('jobManagerReplicas', props.jobManagerReplicas ?? (this.highAvailability && spec.mode === 'session' ? 2 : 1), 1, 5);
    if (this.jobManagerReplicas > 1 && !this.highAvailability) {
      throw new ValidationError('jobManagerReplicas', this.jobManagerReplicas, 'needs highAvailability: true (standby JobManagers elect a leader through Kubernetes HA)');
    }

    for (const [k, v] of Object.entries(props.env ?? {})) this.addEnv(k, v);
    for (const v of props.volumes ?? []) this.addVolume(v);
    const templates = (component: 'jobmanager' | 'taskmanager', own: string, t: PodTemplateOptions | undefined) => resolvePodTemplate(
      [['podTemplate', props.podTemplate], [own, t]],
      { component, flinkEnv: [...RESERVED_ENV, ...Object.keys(this.env)], clusterVolumes: this.volumes, pullPolicy: props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT },
    );
    this._podTemplates = {
      jobmanager: templates('jobmanager', 'jobManagerPodTemplate', props.jobManagerPodTemplate),
      taskmanager: templates('taskmanager', 'taskManagerPodTemplate', props.taskManagerPodTemplate),
    };

    // --- objects, in construct order: ServiceAccount and RBAC, ConfigMap, Deployments, Services,
    // budgets, Ingress, NetworkPolicy (services.ts, jobmanager.ts, taskmanager.ts)
    const md = (suffix: string, component?: string) => this.objectMetadata(suffix, component);

    const sa = objects.serviceAccount(this, props.serviceAccount, md, this.namespace, this.highAvailability);
    if (sa.serviceAccount) this.serviceAccount = sa.serviceAccount;
    this.serviceAccountName = sa.name;
    this.serviceAccountAnnotations = sa.annotations;

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

    const pod: PodTemplateContext = {
      name: this.name,
      version: this.version,
      labels: this.labels,
      podAnnotations: props.podAnnotations,
      checksum: () => createHash('sha256').update(JSON.stringify(files())).digest('hex'),
      handoff: spec.handoff ?? false,
      jobFiles: spec.jobFiles,
      jobManagerFetch: spec.jobManagerFetch,
      jobManagerFetchVolumes: spec.jobManagerFetchVolumes ?? [],
      serviceAccountName: this.serviceAccountName,
      highAvailability: this.highAvailability,
      image: this.image,
      tolerations: checkTolerations('tolerations', props.tolerations),
      nodeSelector: checkLabels('nodeSelector', props.nodeSelector),
      pullSecrets: (props.imagePullSecrets ?? []).map((n, i) => ({ name: checkName(`imagePullSecrets[${i}]`, n, 253) })),
      pullPolicy: props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT,
      env: () => this.renderEnv(),
      volumes: this.volumes,
      templates: this._podTemplates,
      configMap: this.configMap,
    };
    this.jobManagerDeployment = jobManagerDeployment(this, pod, {
      metadata: md('-jobmanager', 'jobmanager'),
      replicas: this.jobManagerReplicas,
      cpuMillis: this.jobManagerCpuMillis,
      memoryMiB: this.jobManagerMemoryMiB,
      metricsEnabled: this.metricsEnabled,
      antiAffinity: props.jobManagerAntiAffinity,
      spec,
    });
    this.taskManagerDeployment = taskManagerDeployment(this, pod, {
      metadata: md('-taskmanager', 'taskmanager'),
      replicas: spec.taskManagerReplicas,
      cpuMillis: this.taskManagerCpuMillis,
      cpuLimitMillis: props.taskManagerCpuLimit ? cpuMillis('taskManagerCpuLimit', props.taskManagerCpuLimit) : undefined,
      memoryMiB: this.taskManagerMemoryMiB,
      metricsEnabled: this.metricsEnabled,
      antiAffinity: props.taskManagerAntiAffinity,
      suspendable: spec.mode === 'application',
    });

    const svcType = objects.checkServiceType(props.restServiceType);
    const svc = objects.services(this, md, this.name, svcType, this.jobManagerReplicas);
    this.jobManagerService = svc.jobManager;
    this.restService = svc.rest;
    if (props.podDisruptionBudget ?? true) objects.disruptionBudgets(this, md, this.name, this.jobManagerReplicas);

    if (props.ingress !== undefined) {
      if (!spec.restExposureAllowed) {
        throw new ValidationError('ingress', props.ingress.host ?? '(any host)',
          'exposes the session cluster\'s REST API (jar upload and run: code execution) through an ingress controller; set allowRemoteCodeExecutionViaRestApi: true to accept that, or use kubectl port-forward');
      }
      this.ingressOptions = resolveIngress(props.ingress);
      this.ingress = objects.ingress(this, md, this.ingressOptions, this.restServiceName);
    }
    this.restClientComponents = spec.restClientComponents ?? objects.APPLICATION_REST_CLIENTS;
    this.networkAccess = objects.resolveNetworkAccess(props.networkPolicy ?? {}, spec, svcType, this.ingressOptions);
    if (this.networkAccess.enabled) this.networkPolicy = objects.networkPolicy(this, md, this.name, this.networkAccess, spec.mode, this.metricsEnabled, this.restClientComponents);
  }


  /** Names of the extra environment variables of the containers. */
  public get envNames(): string[] {
    return Object.keys(this.env).sort();
  }

  /** Names of the extra volumes of the pods. */
  public get volumeNames(): string[] {
    return this.volumes.map((v) => v.name).sort();
  }

  /** The extra volumes of the pods, as declared (props.volumes, addVolume, an application's job). */
  public get extraVolumes(): readonly ExtraVolume[] {
    return [...this.volumes];
  }

  /** Adds an environment variable to the JobManager and TaskManager containers. */
  public addEnv(name: string, value: EnvValue): EnvValue {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ValidationError('env name', name, 'is invalid; expected a C identifier such as KAFKA_PASSWORD');
    }
    const component = this._podTemplates && Object.values(this._podTemplates).some((t) => name in t.flinkEnv);
    if (RESERVED_ENV.includes(name) || name in this.env || component) {
      throw new ValidationError('env name', name, `is already set${RESERVED_ENV.includes(name) ? ' by the toolkit' : component ? ' by a pod template\'s flinkContainer.env' : ''}; choose another name`);
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
    const templates = Object.values(this._podTemplates ?? {});
    if (RESERVED_VOLUMES.includes(volume.name) || this.volumes.some((v) => v.name === volume.name) || templates.some((t) => t.volumes.some((v) => v.name === volume.name))) {
      throw new ValidationError('volumes[].name', volume.name, 'is already used in the pod; choose another name');
    }
    if (typeof volume.mountPath !== 'string' || !volume.mountPath.startsWith('/')) {
      throw new ValidationError(`volumes[${volume.name}].mountPath`, volume.mountPath, `is invalid; expected an absolute path other than ${RESERVED_MOUNTS.join(', ')}`);
    }
    const templateMounts = templates.flatMap((t) => t.flinkMounts.map((m: any) => ({ name: m.name, mountPath: m.mountPath, source: volume.source })));
    checkMountPath(volume, [...this.volumes, ...templateMounts], RESERVED_MOUNTS);
    if (volume.source instanceof VolumeSource && !RESTRICTED_VOLUME_TYPES.includes(volume.source._type)) {
      throw new ValidationError(`volumes[${volume.name}].source`, volume.source._type, `breaks the restricted Pod Security Standard in the Flink container; expected one of ${RESTRICTED_VOLUME_TYPES.join(', ')} (others may go to a pod template's container with restricted: false)`);
    }
    this.volumes.push(volume);
    return volume;
  }

  /** Adds a raw Flink configuration key (the same checks as the `flinkConfiguration` prop). */
  public addFlinkConfiguration(key: string, value: FlinkConfigValue): void {
    this.configuration.setRaw('addFlinkConfiguration', { [key]: value });
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

/** The main Flink container of a JobManager or TaskManager pod spec (as synthesized). */
export function flinkContainer(pod: { containers: any[] }, component: 'jobmanager' | 'taskmanager'): any {
  const c = pod.containers.find((x) => x.name === component);
  if (!c) throw new Error(`the ${component} pod has no container named "${component}"; an escape hatch may add containers but not rename or remove the Flink one`);
  return c;
}

const RESERVED_ENV = ['POD_IP', 'POD_NAMESPACE', 'JOB_MANAGER_RPC_ADDRESS', 'FLINK_PROPERTIES', 'FLINK_CONF_DIR', 'FLINK_HOME', 'FLINK_JOB_ID'];

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
