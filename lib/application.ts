import { createHash } from 'crypto';
import { Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { bindChartValues, ChartExpression, Tpl } from './chart-value';
import { Autoscaling, AutoscalingMetric, AutoscalingMode, ResolvedAutoscaling } from './autoscaling';
import { JobAutoscalerOptions, jobAutoscalerArgs, jobAutoscalerArgValues, ResolvedJobAutoscaler, resolveJobAutoscaler } from './job-autoscaler';
import { APPLICATION_REST_CLIENTS } from './cluster/services';
import { PoolObjects, taskManagerController } from './cluster/task-manager-pool';
import { flinkDuration } from './config/units';
import { checkInt, checkUri, ValidationError } from './errors';
import { ARTIFACTS_DIR, checkImage, FETCH_JAR_INIT_CONTAINER, FlinkCluster, FlinkClusterProps } from './cluster/flink-cluster';
import { EnvValue, ImagePullPolicy } from './cluster/options';
import { BoundJob, checkEnvReferences, checkJobId, checkParallelism, jarCaTrust, jarFetchEnv, JobSource } from './job-source';
import { FlinkVersion } from './config/flink-version';
import { AUTOSCALER_PARALLELISM_RANGE, LAST_STATE_NEEDS_HA_CHECKPOINTS, PARALLELISM_WITHIN_AUTOSCALING, PARALLELISM_WITHIN_SLOTS, SAVEPOINT_NEEDS_DIRECTORY, SPARE_SLOTS_HOLD_THE_JOB } from './rules/guards';
import { PACKAGE_VERSION } from './version';
import { checkImageServes, StorageCredentials } from './runtime-image';

/** How `helm upgrade` carries a job's state into the new version. */
export enum UpgradeMode {
  /** Start from scratch: state is dropped. */
  STATELESS = 'stateless',
  /** Stop with a savepoint before the upgrade and restore from it. Needs a savepoint directory. */
  SAVEPOINT = 'savepoint',
  /** Restore from the latest checkpoint found through HA metadata. Needs high availability. */
  LAST_STATE = 'last-state',
}

export interface FlinkApplicationProps extends FlinkClusterProps {
  /** What the job runs. */
  readonly job: JobSource;
  /**
   * Default parallelism of the job's operators.
   * @default - every slot: taskManagerReplicas x taskManagerSlots
   */
  readonly parallelism?: number;
  /**
   * Upper bound for rescaling keyed state (`pipeline.max-parallelism`). Changing it later
   * makes savepoints incompatible, so it is always written.
   * @default 128, or the next power of two above 1.5 x the largest parallelism
   */
  readonly maxParallelism?: number;
  /**
   * TaskManagers the job runs on (standby TaskManagers come on top).
   * @default - enough for the parallelism: ceil(parallelism / taskManagerSlots), or 1
   */
  readonly taskManagerReplicas?: number;
  /**
   * TaskManagers kept running beyond what the parallelism needs. When a TaskManager is lost,
   * the job restarts at once in the standby's free slots instead of waiting for Kubernetes to
   * start a replacement pod (which then becomes the standby). Each costs a TaskManager's CPU
   * and memory (`cdk8s-flink plan` shows it). Not with reactive mode, where the job takes
   * every slot and the HorizontalPodAutoscaler owns the count.
   * @default 0
   */
  readonly standbyTaskManagers?: number;
  /**
   * Slots each TaskManager keeps free beyond the job's share, spread so that every TaskManager
   * runs part of the job (`taskmanager.load-balance.mode: slots`). When a TaskManager is lost, the
   * survivors' free slots take over its tasks at once, in JVMs that already run the job (classes
   * loaded, code compiled), without waiting for a replacement pod or starting a cold standby.
   * The survivors must be able to hold the whole job: (taskManagerReplicas - 1) x
   * (taskManagerSlots + spareSlotsPerTaskManager) >= parallelism. Until the replacement pod
   * registers, the survivors run the lost TaskManager's tasks besides their own, so size the
   * TaskManagers' memory and CPU for that. The TaskManager count is unchanged; `cdk8s-flink plan`
   * shows the share of their capacity kept free. Not with reactive mode (the job takes every
   * slot) or standbyTaskManagers (choose one).
   * @default 0
   */
  readonly spareSlotsPerTaskManager?: number;
  /**
   * The operations image the chart's hooks (preflight, hand-off, cleanup) and `helm test` run:
   * a fully qualified, pinned reference such as `registry.example.com/logs/cdk8s-flink-ops:0.1.0`
   * (built from runtime/images/ops). FlinkPlatform's `imageRegistry` sets it for every job.
   * @default `cdk8s-flink-ops:<package version>`, a name no cluster can pull until it is pushed
   * and named with its registry
   */
  readonly opsImage?: string;
  /** The Flink job id. @default - derived from the job name and namespace, stable across synths */
  readonly jobId?: string;
  /** Restore the first deployment from this savepoint or retained checkpoint. @default - none */
  readonly initialSavepointPath?: string;
  /** Allow the restore to skip state that maps to no operator. @default false */
  readonly allowNonRestoredState?: boolean;
  /** @default UpgradeMode.SAVEPOINT when a savepoint directory is set, else UpgradeMode.STATELESS */
  readonly upgradeMode?: UpgradeMode;

  /**
   * A HorizontalPodAutoscaler owns the TaskManager count, on any metric (resource, pods,
   * external), and the job follows it: `Autoscaling.reactive({...})` (the job takes every slot)
   * or `Autoscaling.adaptive({...})` (the parallelism is an upper bound; the job runs with the
   * slots there are). Every scale event restarts the job from its latest checkpoint.
   * @default - none: a fixed TaskManager count
   */
  readonly autoscaling?: Autoscaling;
  /**
   * Reactive mode with a CPU HPA: shorthand for `autoscaling: Autoscaling.reactive({ min, max,
   * metrics: [AutoscalingMetric.cpuUtilization(target)], stabilizationTimeout })`. Not with `autoscaling`.
   * @default false
   */
  readonly reactive?: boolean;
  /** @default 1 */
  readonly reactiveMinTaskManagers?: number;
  /** @default 4 */
  readonly reactiveMaxTaskManagers?: number;
  /** CPU utilization (percent of the request) the HPA aims for. @default 70 */
  readonly reactiveTargetCpuUtilization?: number;
  /** How long the scheduler waits for more TaskManagers before (re)starting at lower parallelism. @default Duration.minutes(1) */
  readonly reactiveStabilizationTimeout?: Duration;
  /**
   * The job autoscaler, after the Flink Kubernetes Operator's: `<name>-autoscaler` sets each job
   * vertex's parallelism from its busy time and its sources' backlog (Kafka lag), through the
   * adaptive scheduler (the job rescales in place from its latest checkpoint, same job id), and
   * owns the TaskManager count (the slots that parallelism needs). `parallelism` is where the job
   * starts. Not with `autoscaling` or reactive mode (an HPA owns the count there).
   * @default - none: the parallelism stays as declared
   */
  readonly jobAutoscaler?: JobAutoscalerOptions;
}

const REACTIVE_PROPS = ['reactive', 'reactiveMinTaskManagers', 'reactiveMaxTaskManagers', 'reactiveTargetCpuUtilization', 'reactiveStabilizationTimeout'] as const;

/** The autoscaling the props ask for: `autoscaling`, or the reactive* shorthand, checked. */
function resolveAutoscaling(props: FlinkApplicationProps): ResolvedAutoscaling | undefined {
  const given = REACTIVE_PROPS.find((f) => props[f] !== undefined);
  const shown = (f: typeof REACTIVE_PROPS[number]) => (props[f] instanceof Duration ? (props[f] as Duration).toHumanString() : props[f]);
  if (props.autoscaling !== undefined) {
    if (given) throw new ValidationError(given, shown(given), 'is set together with autoscaling; use one: autoscaling: Autoscaling.reactive({ min, max, metrics }) replaces the reactive* props');
    if (!(props.autoscaling instanceof Autoscaling)) {
      throw new ValidationError('autoscaling', props.autoscaling, 'is not an autoscaling; expected Autoscaling.reactive({...}) or Autoscaling.adaptive({...})');
    }
    return props.autoscaling._resolve('autoscaling');
  }
  if (!props.reactive) {
    for (const f of REACTIVE_PROPS.slice(1)) {
      if (props[f] !== undefined) throw new ValidationError(f, shown(f), 'is set but reactive is false; set reactive: true or remove it');
    }
    return undefined;
  }
  const target = checkInt('reactiveTargetCpuUtilization', props.reactiveTargetCpuUtilization ?? 70, 10, 100);
  return Autoscaling.reactive({
    min: props.reactiveMinTaskManagers, max: props.reactiveMaxTaskManagers, metrics: [AutoscalingMetric.cpuUtilization(target)],
    stabilizationTimeout: props.reactiveStabilizationTimeout,
  })._resolve('reactive', { min: 'reactiveMinTaskManagers', max: 'reactiveMaxTaskManagers' });
}

/**
 * One Flink job in its own application cluster: a JobManager that runs the job and
 * TaskManagers that serve only it. A failure touches no other job.
 *
 * The JobManager runs as a one-replica Deployment with the Recreate strategy rather than as
 * a Kubernetes Job: a Job's pod template is immutable, so `helm upgrade` could not change the
 * image, configuration or arguments in place, and a per-revision Job name would leave the
 * old JobManager running beside the new one until something deleted it. The cluster keeps
 * its REST API up after the job ends (`execution.shutdown-on-application-finish: false`), so
 * the Deployment never restarts a finished job and its final state stays visible.
 */
export class FlinkApplication extends FlinkCluster {
  public readonly job: JobSource;
  /** The job as it runs here: entry class, arguments, files. */
  public readonly boundJob: BoundJob;
  public readonly jobId: string;
  /** Whether the job id was given (else derived from namespace and name). */
  public readonly jobIdGiven: boolean;
  public readonly parallelism: number;
  public readonly maxParallelism: number;
  /** TaskManagers running: those the parallelism needs plus the standby ones (the Deployment's replicas). */
  public readonly taskManagerReplicas: number;
  /** Of taskManagerReplicas, those kept beyond the parallelism's need. */
  public readonly standbyTaskManagers: number;
  /** Slots each TaskManager has beyond taskManagerSlots, free for a lost TaskManager's tasks. */
  public readonly spareSlotsPerTaskManager: number;
  public readonly upgradeMode: UpgradeMode;
  /** The operations image of the chart's hooks and `helm test`. */
  public readonly opsImage: string;
  /** Whether the job runs in reactive mode (`scheduler-mode: reactive`). */
  public readonly reactive: boolean;
  /** The TaskManager range, metrics and behavior of the HorizontalPodAutoscaler, and the scheduler mode; undefined with a fixed count. */
  public readonly autoscaling?: ResolvedAutoscaling;
  public readonly initialSavepointPath?: string;
  public readonly allowNonRestoredState: boolean;
  /**
   * `<name>-handoff`: the job id and the savepoint the JobManager starts from. Upgrade hooks
   * rewrite it (a new job id and the savepoint they took); Helm installs it once and never
   * overwrites it.
   */
  public readonly handoff: k8s.KubeConfigMap;
  /** The HorizontalPodAutoscaler of the TaskManagers, with autoscaling. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  /** The job autoscaler's settings, when the application has one. */
  public readonly jobAutoscaler?: ResolvedJobAutoscaler;
  /** Escape hatches: the job autoscaler's objects (`<name>-autoscaler`), when the application has one. */
  public readonly jobAutoscalerObjects?: PoolObjects;

  constructor(scope: Construct, id: string, props: FlinkApplicationProps) {
    const name = props.name ?? id;
    const slots = props.taskManagerSlots ?? 2;
    if (!(props.job instanceof JobSource)) {
      throw new ValidationError('job', props.job, 'is required; expected JobSource.jar({...}), JobSource.sql("..."), JobSource.python({...}) or JobSource.pipeline(...)');
    }
    const auto = resolveAutoscaling(props);
    const jobAuto = props.jobAutoscaler !== undefined ? resolveJobAutoscaler(props.jobAutoscaler, slots, checkImage('jobAutoscaler.opsImage', props.jobAutoscaler.opsImage ?? props.opsImage ?? `cdk8s-flink-ops:${PACKAGE_VERSION}`)) : undefined;
    if (jobAuto && auto) {
      throw new ValidationError(props.autoscaling ? 'autoscaling' : 'reactive', props.autoscaling ? auto.mode : true, 'is set together with jobAutoscaler, which owns the TaskManager count and the parallelism; use one of them');
    }
    if (jobAuto) {
      for (const f of ['taskManagerReplicas', 'standbyTaskManagers', 'spareSlotsPerTaskManager'] as const) {
        if (props[f] !== undefined) throw new ValidationError(f, props[f], `is set with jobAutoscaler, which owns the TaskManager count; use jobAutoscaler.minTaskManagers and maxTaskManagers`);
      }
    }
    const reactive = auto?.mode === AutoscalingMode.REACTIVE;
    const minField = props.autoscaling ? 'autoscaling.min' : 'reactiveMinTaskManagers';
    const where = reactive ? 'in reactive mode' : 'with adaptive autoscaling';
    if (reactive && props.parallelism !== undefined) {
      throw new ValidationError('parallelism', props.parallelism, 'is set in reactive mode, where the job always uses every slot; remove it (maxParallelism caps the scale)');
    }
    if (auto && props.taskManagerReplicas !== undefined) {
      throw new ValidationError('taskManagerReplicas', props.taskManagerReplicas, `is set ${where}, where the HorizontalPodAutoscaler owns the count; use ${props.autoscaling ? 'autoscaling min and max' : 'reactiveMinTaskManagers and reactiveMaxTaskManagers'}`);
    }
    if (auto && props.standbyTaskManagers) {
      throw new ValidationError('standbyTaskManagers', props.standbyTaskManagers, `is set ${where}, where the job takes every slot and the HorizontalPodAutoscaler owns the count; raise ${minField} instead`);
    }
    const standby = checkInt('standbyTaskManagers', props.standbyTaskManagers ?? 0, 0, 100);
    const spare = checkInt('spareSlotsPerTaskManager', props.spareSlotsPerTaskManager ?? 0, 0, 64);
    if (spare && auto) {
      throw new ValidationError('spareSlotsPerTaskManager', spare, `is set ${where}, where the job takes every slot; remove it`);
    }
    if (spare && standby) {
      throw new ValidationError('spareSlotsPerTaskManager', spare, `is set together with standbyTaskManagers (${standby}); choose one way of keeping spare capacity`);
    }
    const parallelism = props.parallelism !== undefined ? checkParallelism('parallelism', props.parallelism) : undefined;
    if (jobAuto && parallelism !== undefined && !AUTOSCALER_PARALLELISM_RANGE.holds({ parallelism, ...jobAuto })) {
      throw new ValidationError('parallelism', parallelism, `is outside jobAutoscaler's ${jobAuto.minParallelism}-${jobAuto.maxParallelism}; expected a starting parallelism within it`);
    }
    if (auto && parallelism !== undefined && !PARALLELISM_WITHIN_AUTOSCALING.holds({ parallelism, maxSlots: auto.max * slots })) {
      throw new ValidationError('parallelism', parallelism, `exceeds the ${auto.max * slots} slots of autoscaling.max (${auto.max}) TaskManagers x ${slots} slots, a parallelism the job never reaches; lower it or raise autoscaling.max`);
    }
    const replicas = auto ? auto.min
      : jobAuto ? Math.min(jobAuto.maxTaskManagers, Math.max(jobAuto.minTaskManagers, Math.ceil((parallelism ?? jobAuto.minParallelism) / Math.max(1, slots))))
      : props.taskManagerReplicas !== undefined ? checkInt('taskManagerReplicas', props.taskManagerReplicas, 1, 1000)
        : Math.max(1, Math.ceil((parallelism ?? slots) / Math.max(1, slots)));

    const bound = props.job.bind(name, props.flinkVersion instanceof FlinkVersion ? props.flinkVersion : FlinkVersion.V1_20);
    for (const k of Object.keys(bound.env)) {
      if (props.env && k in props.env) throw new ValidationError('env name', k, 'is already set by the job (credentials of its pipeline); choose another name');
    }
    const opsImage = checkImage('opsImage', props.opsImage ?? `cdk8s-flink-ops:${PACKAGE_VERSION}`);
    const s3Fetch = bound.jar?.kind === 's3' ? StorageCredentials._s3FetchOf(bound.jar.uri, props.storageCredentials) : undefined;
    super(scope, id, name, StorageCredentials._apply({ ...props, env: { ...bound.env, ...props.env }, volumes: [...bound.volumes, ...props.volumes ?? []] }), () => ({
      mode: 'application',
      jobManagerArgs: ['standalone-job', ...applicationJobArgs(bound), '--job-id', '$(FLINK_JOB_ID)'],
      jobManagerFetch: bound.jar && bound.jar.kind !== 'image' ? fetchJarContainer(bound, opsImage, props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT, s3Fetch) : undefined,
      jobManagerFetchValues: FETCH_JAR_VALUES,
      jobManagerFetchVolumes: bound.jar?.ca ? [jarCaTrust(bound.jar.ca).volume] : [],
      jobManagerTrailingArgs: [...bound.driverArgs ?? [], ...bound.programArgs],
      // an HPA or the job autoscaler owns the count
      taskManagerReplicas: auto || jobAuto ? undefined : replicas + standby,
      restClientComponents: jobAuto ? [...APPLICATION_REST_CLIENTS, 'autoscaler'] : APPLICATION_REST_CLIENTS,
      jobFiles: Object.keys(bound.files).length ? bound.files : undefined,
      handoff: true,
      // In application mode Flink's REST API has no jar upload or run: exposing it needs no opt-in.
      restExposureAllowed: true,
    }));

    this.job = props.job;
    this.boundJob = bound;
    checkEnvReferences('job.sql', bound.sqlScript, [...this.envNames, 'FLINK_JOB_ID'], `the JobManager container of "${name}"`);
    this.reactive = reactive;
    this.autoscaling = auto;
    this.taskManagerReplicas = replicas + standby;
    this.standbyTaskManagers = standby;
    this.spareSlotsPerTaskManager = spare;
    this.parallelism = parallelism ?? (auto ? auto.max * this.taskManagerSlots : jobAuto ? Math.min(jobAuto.maxParallelism, replicas * this.taskManagerSlots) : replicas * this.taskManagerSlots);
    if (!auto && !PARALLELISM_WITHIN_SLOTS.holds({ parallelism: this.parallelism, totalSlots: replicas * this.taskManagerSlots })) {
      throw new ValidationError('parallelism', this.parallelism,
        `exceeds the ${replicas * this.taskManagerSlots} slots of ${replicas} TaskManagers x ${this.taskManagerSlots} slots; raise taskManagerReplicas or taskManagerSlots, or enable reactive mode`);
    }
    const largest = reactive ? auto.max * this.taskManagerSlots : jobAuto ? jobAuto.maxParallelism : this.parallelism;
    this.maxParallelism = props.maxParallelism !== undefined
      ? checkInt('maxParallelism', props.maxParallelism, 1, 32768)
      : Math.max(128, 2 ** Math.ceil(Math.log2(Math.ceil(largest * 1.5))));
    if (this.maxParallelism < largest) {
      throw new ValidationError('maxParallelism', this.maxParallelism, `is below the largest parallelism the job can reach (${largest}); expected at least ${largest}`);
    }
    this.jobId = props.jobId !== undefined ? checkJobId('jobId', props.jobId) : deriveJobId(this.namespace, this.name);
    this.jobIdGiven = props.jobId !== undefined;

    if (spare && !SPARE_SLOTS_HOLD_THE_JOB.holds({ parallelism: this.parallelism, replicas, slotsPerTaskManager: this.taskManagerSlots + spare })) {
      const needed = replicas > 1 ? Math.ceil(this.parallelism / (replicas - 1)) - this.taskManagerSlots : undefined;
      throw new ValidationError('spareSlotsPerTaskManager', spare, replicas > 1
        ? `leaves ${replicas - 1} TaskManager(s) x ${this.taskManagerSlots + spare} slots after losing one, too few for the job's ${this.parallelism} tasks; expected at least ${needed}, or more TaskManagers`
        : 'needs at least 2 TaskManagers (the survivors take over a lost one\'s tasks); raise taskManagerReplicas or lower taskManagerSlots');
    }
    const config = this.configuration;
    if (spare) {
      // Every slot of a TaskManager, the spare ones included; the job's tasks spread evenly so that
      // each TaskManager runs part of the job and keeps its spare slots free.
      config.set('taskmanager.numberOfTaskSlots', this.taskManagerSlots + spare, 'taskManagerSlots');
      config.set('taskmanager.load-balance.mode', 'slots', 'spareSlotsPerTaskManager');
    }
    if (standby || spare) {
      // A lost TaskManager's slots stay offered until its heartbeat fails, and a restarted task
      // asks for the slot of its previous attempt (state locality): until then the job goes back
      // to the dead TaskManager instead of the standby. Two failed heartbeat RPCs
      // (heartbeat.rpc-failure-threshold) release it: about 2 s at 1 s. A TaskManager that stops
      // answering without refusing (a lost node) is still released only at heartbeat.timeout.
      config.set('heartbeat.interval', '1s', 'heartbeats');
    }
    if (bound.python) {
      // The client's interpreter is the driver's -pyclientexec; the TaskManagers' Python workers use this one.
      config.set('python.executable', bound.python.executable, 'job.pythonExecutable');
    }
    config.set('parallelism.default', this.parallelism, 'parallelism');
    config.set('pipeline.max-parallelism', this.maxParallelism, 'maxParallelism');
    config.set('pipeline.name', this.name, 'name');
    if (props.initialSavepointPath !== undefined) {
      this.initialSavepointPath = checkUri('initialSavepointPath', props.initialSavepointPath);
    } else if (props.allowNonRestoredState !== undefined) {
      throw new ValidationError('allowNonRestoredState', props.allowNonRestoredState, 'is set without initialSavepointPath; it only applies to a restore');
    }
    this.allowNonRestoredState = props.allowNonRestoredState ?? false;
    checkImageServes(this.runtimeImage, this.version, {
      checkpointDirectory: this.checkpointDirectory,
      savepointDirectory: this.savepointDirectory,
      highAvailabilityStorageDir: this.highAvailability ? props.highAvailabilityStorageDir : undefined,
      initialSavepointPath: this.initialSavepointPath,
    }, bound, props.job.pipeline !== undefined);
    this.handoff = new k8s.KubeConfigMap(this, 'Handoff', {
      metadata: this.objectMetadata('-handoff', 'jobmanager'),
      data: {
        jobId: this.jobId,
        // The release revision whose code the JobManager runs; the upgrade hooks keep it current.
        revision: '1',
        savepointPath: this.initialSavepointPath ?? '',
        allowNonRestoredState: String(this.allowNonRestoredState),
      },
    });
    bindChartValues(this.handoff, [{
      path: 'data',
      expression: (c) => ({
        jobId: Tpl.scalar(`{{ include "${c}.jobId" . }}`),
        // The revision whose code the JobManager runs: what a rollback finds its state by.
        revision: Tpl.scalar('{{ .Release.Revision | quote }}'),
        savepointPath: Tpl.scalar('{{ .Values.job.initialSavepointPath | quote }}'),
        allowNonRestoredState: Tpl.scalar('{{ .Values.job.allowNonRestoredState | toString | quote }}'),
      }),
    }]);

    this.opsImage = opsImage;
    this.upgradeMode = props.upgradeMode ?? (this.savepointDirectory ? UpgradeMode.SAVEPOINT : UpgradeMode.STATELESS);
    if (!Object.values(UpgradeMode).includes(this.upgradeMode)) {
      throw new ValidationError('upgradeMode', this.upgradeMode, `is unknown; expected one of ${Object.values(UpgradeMode).join(', ')}`);
    }
    if (!SAVEPOINT_NEEDS_DIRECTORY.holds(this)) {
      throw new ValidationError('savepointDirectory', undefined, 'is required with upgradeMode savepoint; expected durable storage such as "s3://bucket/flink/savepoints"');
    }
    if (!LAST_STATE_NEEDS_HA_CHECKPOINTS.holds({ upgradeMode: this.upgradeMode, highAvailability: this.highAvailability, checkpointDirectory: this.checkpointDirectory })) {
      throw new ValidationError('upgradeMode', this.upgradeMode, 'needs highAvailability and a checkpointDirectory: the latest checkpoint is found through HA metadata');
    }

    if (jobAuto) {
      this.jobAutoscaler = jobAuto;
      this.jobAutoscalerObjects = this.addJobAutoscaler(jobAuto, props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT);
    }
    if (auto) {
      const field = props.autoscaling ? 'autoscaling' : 'reactive';
      if (!config.has('execution.checkpointing.interval')) {
        throw new ValidationError(field, props.autoscaling ? auto.mode : true, 'needs checkpointing: every scale event restarts the job from its latest checkpoint');
      }
      if (config.get('restart-strategy.type') === 'none') {
        throw new ValidationError('restartStrategy', 'none', `cannot be used ${where}: every scale event is a restart`);
      }
      if (reactive) config.set('scheduler-mode', 'reactive', field);
      else config.set('jobmanager.scheduler', 'adaptive', field);
      const timeoutField = props.autoscaling ? 'autoscaling.stabilizationTimeout' : 'reactiveStabilizationTimeout';
      config.set('jobmanager.adaptive-scheduler.resource-stabilization-timeout', flinkDuration(timeoutField, auto.stabilizationTimeout, 0), timeoutField);
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'TaskManagerAutoscaler', {
        metadata: this.objectMetadata('-taskmanager', 'taskmanager'),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.taskManagerDeployment.name },
          minReplicas: auto.min,
          maxReplicas: auto.max,
          metrics: auto.metrics,
          behavior: auto.behavior,
        },
      });
      // The range, metrics and behavior from taskManager.autoscaling values, as the definition (or a patch of it) gives them.
      // (their values default to these fields as rendered, patches included)
      bindChartValues(this.autoscaler, [
        { path: 'spec.minReplicas', expression: () => Tpl.scalar('{{ .Values.taskManager.autoscaling.minReplicas }}'), valueDefault: true },
        { path: 'spec.maxReplicas', expression: () => Tpl.scalar('{{ .Values.taskManager.autoscaling.maxReplicas }}'), valueDefault: true },
        { path: 'spec.metrics', expression: () => Tpl.block('toYaml .Values.taskManager.autoscaling.metrics'), valueDefault: true },
        { path: 'spec.behavior', expression: () => Tpl.yamlIfSet('.Values.taskManager.autoscaling.behavior'), valueDefault: true },
      ]);
    }
  }

  /** The job autoscaler: the adaptive scheduler, and the operations tool's loop with its ServiceAccount and Role. */
  private addJobAutoscaler(j: ResolvedJobAutoscaler, pullPolicy: string): PoolObjects {
    const config = this.configuration;
    if (!config.has('execution.checkpointing.interval')) {
      throw new ValidationError('jobAutoscaler', 'checkpointing off', 'needs checkpointing: every rescale restarts the job from its latest checkpoint; set checkpointing: true');
    }
    if (config.get('restart-strategy.type') === 'none') {
      throw new ValidationError('restartStrategy', 'none', 'cannot be used with jobAutoscaler: every rescale is a restart');
    }
    // PUT /jobs/:id/resource-requirements exists from Flink 1.18: every line the toolkit supports has it.
    config.set('jobmanager.scheduler', 'adaptive', 'jobAutoscaler');
    return taskManagerController(this, (suffix, component) => this.objectMetadata(suffix, component), {
      name: this.name, component: 'autoscaler', idPrefix: 'JobAutoscaler', image: j.opsImage, pullPolicy, events: true,
      valuesKey: 'jobAutoscaler', slots: this.taskManagerSlots, args: (t, v) => jobAutoscalerArgs({ ...t, ...jobAutoscalerArgValues(j, v) }),
    });
  }

  public get totalSlots(): number {
    return this.taskManagerReplicas * this.taskManagerSlots;
  }
}

/**
 * The job's standalone-job arguments: `--job-classname` when the class is given (else Flink
 * reads the jar manifest's Main-Class), `--jars local:///<path>` when the job names its jar.
 * With `--jars`, Flink's StandaloneApplicationClusterEntryPoint (1.19 and later) takes that jar
 * as the job's jar (DefaultPackagedProgramRetriever: FromJarEntryClassInformationProvider) and
 * ships it to the TaskManagers through the blob server; `local://` is read in place, nothing is
 * written. An https jar is first fetched by the init container into ARTIFACTS_DIR.
 */
function applicationJobArgs(bound: BoundJob): string[] {
  const jar = bound.jar;
  return [
    ...(bound.entryClass ? ['--job-classname', bound.entryClass] : []),
    ...(jar ? ['--jars', `local://${jar.kind === 'image' ? jar.path : FETCHED_JAR}`] : []),
  ];
}

/** Where the init container puts an https job jar. */
export const FETCHED_JAR = `${ARTIFACTS_DIR}/job.jar`;

/** The JobManager's init container that fetches an https or s3 job jar (restricted security context set by the pod template). */
function fetchJarContainer(bound: BoundJob, opsImage: string, pullPolicy: ImagePullPolicy, s3?: { env: Record<string, EnvValue>; args: string[] }): Record<string, unknown> {
  const jar = bound.jar!;
  const ca = jar.ca ? jarCaTrust(jar.ca) : undefined;
  const env = jarFetchEnv(jar, s3);
  return {
    name: FETCH_JAR_INIT_CONTAINER,
    image: opsImage,
    imagePullPolicy: pullPolicy,
    args: [
      'fetch-artifact', '--url', jar.uri, '--sha256', jar.sha256 ?? '', '--dest', FETCHED_JAR,
      ...(bound.entryClass ? [] : ['--require-main-class']),
      ...(s3?.args ?? []),
    ],
    ...(env.length ? { env } : {}),
    resources: { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') }, limits: { memory: k8s.Quantity.fromString('128Mi') } },
    ...(ca ? { volumeMounts: [ca.volumeMount] } : {}),
  };
}

/**
 * The fetch init container in the chart: the hooks image, the jar's URL and sha256 from values
 * `job.jarUri` and `job.jarSha256`; its other arguments as the model gives them.
 */
const FETCH_JAR_VALUES: Readonly<Record<string, ChartExpression>> = {
  image: () => Tpl.scalar('{{ .Values.hooks.image }}'),
  args: (_c, args: string[]) => {
    const valued = ['--url', '--sha256'];
    const rest = args.filter((a, i) => !valued.includes(a) && !valued.includes(args[i - 1]));
    return [rest[0], '--url', Tpl.scalar('{{ .Values.job.jarUri | quote }}'), '--sha256', Tpl.scalar('{{ .Values.job.jarSha256 | lower | quote }}'), ...rest.slice(1)];
  },
};

/**
 * A stable job id from the namespace and name, so resynthesis does not change it: the first
 * 32 hex digits of sha256("cdk8s-flink/<namespace>/<name>"), the namespace "default" when none
 * is set. The Helm charts compute the same from the release's namespace and name.
 */
export function deriveJobId(namespace: string | undefined, name: string): string {
  return createHash('sha256').update(`cdk8s-flink/${namespace ?? 'default'}/${name}`).digest('hex').slice(0, 32);
}
