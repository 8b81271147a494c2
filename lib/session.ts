import { createHash } from 'crypto';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { UpgradeMode, deriveJobId } from './application';
import { FlinkConfigValue, FlinkConfiguration } from './config/flink-configuration';
import { FlinkVersion } from './config/flink-version';
import { durationMs } from './config/units';
import { checkImage, FlinkCluster, FlinkClusterProps, MAX_NAME_LENGTH } from './cluster/flink-cluster';
import { recommendedLabels, selectorLabels } from './cluster/labels';
import { restrictedSecurityContext } from './cluster/pod-customization';
import { AUTOSCALER_PARALLELISM_RANGE, PARALLELISM_WITHIN_SLOTS, SAVEPOINT_NEEDS_DIRECTORY } from './rules/guards';
import { REST_CLIENT_LABEL } from './cluster/network-policy';
import { checkInt, checkLabels, checkName, checkUri, ValidationError } from './errors';
import { BoundJob, checkJobId, checkParallelism, jarCaTrust, jarFetchEnv, JobSource } from './job-source';
import { checkImageServes, RuntimeImage, StorageCredentials } from './runtime-image';
import { PACKAGE_VERSION } from './version';
import { ResolvedScaling, resolveSessionJobAutoscaler, scalingArgValues, SessionJobAutoscalerOptions, sessionJobAutoscalerArgs } from './job-autoscaler';
import { OPS_UID, PoolObjects, ResolvedPool, resolvePool, TaskManagerPoolProps, taskManagerPool } from './cluster/task-manager-pool';

/** What a session job needs to know about the cluster it runs on. */
export interface ISessionCluster {
  readonly name: string;
  /** The REST API's URL, which the submitter calls. */
  readonly restUrl: string;
  /** The cluster's storage credentials: an `s3://` job jar is read with those of `StorageCredentials.s3`. @default - none */
  readonly storageCredentials?: readonly StorageCredentials[];
  readonly version: FlinkVersion;
  /** Slots at the cluster's declared TaskManager count. */
  readonly totalSlots: number;
  readonly namespace?: string;
  readonly savepointDirectory?: string;
  readonly checkpointDirectory?: string;
  /** The cluster's image with what it serves; its jobs' connectors are checked against it. @default - not checked */
  readonly runtimeImage?: RuntimeImage;
}

export interface FlinkSessionClusterProps extends FlinkClusterProps {
  /** A fixed number of TaskManagers (or `taskManagerPool`). @default 2 */
  readonly taskManagerReplicas?: number;
  /**
   * A TaskManager pool that follows demand instead of a fixed count: between `min` and `max`
   * TaskManagers, as many as the slots the running and waiting jobs need (plus `spareSlots`),
   * grown at once and shrunk after `scaleDownDelay` by idle TaskManagers only. A Deployment
   * `<name>-pool` runs it (the operations image's `pool` command).
   * @default - none: taskManagerReplicas
   */
  readonly taskManagerPool?: TaskManagerPoolProps;
  /**
   * Accept that the REST API is reachable from outside the Kubernetes cluster: required for a
   * `restServiceType` other than ClusterIP and for address blocks in `networkPolicy.restClients`.
   * A session cluster's REST API is unauthenticated and runs any uploaded jar
   * (`POST /jars/upload`, then `/jars/:id/run`): whoever reaches it runs code in pods that hold
   * the jobs' credentials (Kafka, storage). Put an authenticating proxy in front instead when you can.
   * @default false
   */
  readonly allowRemoteCodeExecutionViaRestApi?: boolean;
}

/**
 * A long-running Flink cluster that many jobs share: a JobManager Deployment and a pool of
 * TaskManagers whose slots the jobs take. Cheaper than one cluster per job; a TaskManager
 * failure restarts every job with a task on it. Jobs are declared with `FlinkSessionJob`.
 */
export class FlinkSessionCluster extends FlinkCluster implements ISessionCluster {
  /** The fixed TaskManager count; with a pool, its minimum. */
  public readonly taskManagerReplicas: number;
  public readonly storageCredentials?: readonly StorageCredentials[];
  /** The pool's settings, when the cluster has one. */
  public readonly taskManagerPool?: ResolvedPool;
  /** Escape hatches: the pool's objects, when the cluster has one. */
  public readonly poolObjects?: PoolObjects;

  constructor(scope: Construct, id: string, props: FlinkSessionClusterProps = {}) {
    const standby = (props as { standbyTaskManagers?: unknown }).standbyTaskManagers;
    if (standby !== undefined) {
      throw new ValidationError('standbyTaskManagers', standby, 'applies to application clusters; a session cluster\'s free slots already take over a lost TaskManager\'s tasks: raise taskManagerReplicas beyond the slots its jobs need');
    }
    const spare = (props as { spareSlotsPerTaskManager?: unknown }).spareSlotsPerTaskManager;
    if (spare !== undefined) {
      throw new ValidationError('spareSlotsPerTaskManager', spare, 'applies to application clusters; a session cluster\'s free slots already take over a lost TaskManager\'s tasks: raise taskManagerReplicas beyond the slots its jobs need');
    }
    if (props.taskManagerPool !== undefined && props.taskManagerReplicas !== undefined) {
      throw new ValidationError('taskManagerReplicas', props.taskManagerReplicas, 'is set together with taskManagerPool, which owns the TaskManager count; expected one of them');
    }
    const pool = props.taskManagerPool !== undefined ? resolvePool(props.taskManagerPool, `cdk8s-flink-ops:${PACKAGE_VERSION}`) : undefined;
    const replicas = pool ? pool.min : checkInt('taskManagerReplicas', props.taskManagerReplicas ?? 2, 1, 1000);
    super(scope, id, props.name ?? id, StorageCredentials._apply(props), () => ({
      mode: 'session',
      jobManagerArgs: ['jobmanager'],
      // with a pool the Deployment has no replicas: the pool sets them, and nothing else fights it
      taskManagerReplicas: pool ? undefined : replicas,
      restExposureAllowed: props.allowRemoteCodeExecutionViaRestApi === true,
    }));
    this.taskManagerReplicas = replicas;
    if (pool) {
      this.taskManagerPool = pool;
      this.poolObjects = taskManagerPool(this, (suffix, component) => this.objectMetadata(suffix, component), {
        name: this.name, slots: this.taskManagerSlots, pool, pullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
      });
    }
    this.storageCredentials = props.storageCredentials;
    checkImageServes(this.runtimeImage, this.version, {
      checkpointDirectory: this.checkpointDirectory,
      savepointDirectory: this.savepointDirectory,
      highAvailabilityStorageDir: this.highAvailability ? props.highAvailabilityStorageDir : undefined,
    });
  }

  /** Slots at the fixed TaskManager count, or at the pool's maximum. */
  public get totalSlots(): number {
    return (this.taskManagerPool?.max ?? this.taskManagerReplicas) * this.taskManagerSlots;
  }
}

export interface FlinkSessionJobProps {
  /** The session cluster the job runs on. */
  readonly cluster: ISessionCluster;
  /** What the job runs. */
  readonly job: JobSource;
  /** The job's name, a DNS label of at most 40 characters. @default - the construct id */
  readonly name?: string;
  /** @default 1 */
  readonly parallelism?: number;
  /**
   * The base of the Flink job ids of this job's runs (32 hex digits). Each run's id is derived
   * from it and a digest of the submission spec, so resubmitting an unchanged spec finds its
   * run, and a changed spec (an upgrade or a rollback) gets an id of its own.
   * @default - derived from the namespace and name, stable across synths
   */
  readonly jobId?: string;
  /** Restore the first submission from this savepoint. @default - none */
  readonly initialSavepointPath?: string;
  /** @default false */
  readonly allowNonRestoredState?: boolean;
  /** @default UpgradeMode.SAVEPOINT when the cluster has a savepoint directory, else UpgradeMode.STATELESS */
  readonly upgradeMode?: UpgradeMode;
  /** Job-level Flink configuration, sent with the submission. @default - none */
  readonly flinkConfiguration?: Record<string, FlinkConfigValue>;
  /**
   * The image of the operations tool that submits the job (built from `runtime/`).
   * @default `cdk8s-flink-ops:<package version>`
   */
  readonly opsImage?: string;
  /** How long the submitter may take before Kubernetes stops it. @default Duration.minutes(5) */
  readonly submitTimeout?: Duration;
  /** Extra labels on every object. @default - none */
  readonly labels?: Record<string, string>;
  /** @default 'flink' */
  readonly partOf?: string;
  /**
   * A job autoscaler for this job: the operations tool's `autoscale` in a Deployment
   * `<name>-autoscaler` of the job's chart sets each vertex's parallelism from its busy time and
   * its sources' backlog (PUT /jobs/<id>/resource-requirements), finding the job by its name
   * among the session's jobs. The session cluster must run the adaptive scheduler
   * (`flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' }`) with checkpointing; its
   * `taskManagerPool` counts the job at its declared parallelism and follows with TaskManagers
   * (without a pool the job rescales within the cluster's slots). `parallelism` is where each
   * submission starts.
   * @default - none: the job runs at `parallelism`
   */
  readonly jobAutoscaler?: SessionJobAutoscalerOptions;
}

/** Where the submitter finds the job's spec. */
export const SUBMIT_SPEC_DIR = '/etc/cdk8s-flink/job';

/**
 * A job declared against a session cluster. The objects here submit it: a ConfigMap with the
 * job's spec and a Kubernetes Job running the operations tool's `submit`, named after a hash of
 * the spec so that a changed job gets a new submitter while an unchanged one is left alone.
 * `submit` is idempotent: a job id that is already running is not submitted again.
 */
export class FlinkSessionJob extends Construct {
  public readonly name: string;
  public readonly cluster: ISessionCluster;
  public readonly job: JobSource;
  /** The job as it runs: entry class, arguments, files, and the environment its cluster must provide. */
  public readonly boundJob: BoundJob;
  public readonly jobId: string;
  /** Whether the job id was given (else derived from namespace and name). */
  public readonly jobIdGiven: boolean;
  public readonly parallelism: number;
  public readonly upgradeMode: UpgradeMode;
  public readonly namespace?: string;
  /** The submission spec the operations tool reads. */
  public readonly spec: Record<string, unknown>;
  public readonly specConfigMap: k8s.KubeConfigMap;
  public readonly submitJob: k8s.KubeJob;
  /** The job autoscaler's settings, when the job has one. */
  public readonly jobAutoscaler?: ResolvedScaling;
  /** Escape hatch: the job autoscaler's Deployment, when the job has one. */
  public readonly autoscalerDeployment?: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: FlinkSessionJobProps) {
    super(scope, id);
    this.name = checkName('name', props.name ?? id, MAX_NAME_LENGTH);
    const c = props.cluster;
    if (!c || typeof c.restUrl !== 'string' || !(c.version instanceof FlinkVersion)) {
      throw new ValidationError('cluster', c === undefined ? undefined : (c as any).name, 'is required; expected a FlinkSessionCluster or an ISessionCluster');
    }
    if (!(props.job instanceof JobSource)) {
      throw new ValidationError('job', props.job, 'is required; expected JobSource.jar({...}), JobSource.sql("...") or JobSource.pipeline(...)');
    }
    if (props.job.kind === 'python') {
      throw new ValidationError('job', 'JobSource.python', `is for application clusters: a session job is submitted through the REST API as a jar, and PythonDriver would run the script in the session JobManager's own process and image; expected a FlinkApplication for job "${this.name}"`);
    }
    this.cluster = c;
    this.job = props.job;
    this.namespace = c.namespace;
    this.parallelism = checkParallelism('parallelism', props.parallelism ?? 1);
    if (!PARALLELISM_WITHIN_SLOTS.holds({ parallelism: this.parallelism, totalSlots: c.totalSlots })) {
      throw new ValidationError('parallelism', this.parallelism,
        `exceeds the ${c.totalSlots} slots of session cluster "${c.name}"; lower it or add TaskManagers to the cluster`);
    }
    this.jobId = props.jobId !== undefined ? checkJobId('jobId', props.jobId) : deriveJobId(this.namespace, this.name);
    this.jobIdGiven = props.jobId !== undefined;
    this.upgradeMode = props.upgradeMode ?? (c.savepointDirectory ? UpgradeMode.SAVEPOINT : UpgradeMode.STATELESS);
    if (!Object.values(UpgradeMode).includes(this.upgradeMode)) {
      throw new ValidationError('upgradeMode', this.upgradeMode, `is unknown; expected one of ${Object.values(UpgradeMode).join(', ')}`);
    }
    if (!SAVEPOINT_NEEDS_DIRECTORY.holds({ upgradeMode: this.upgradeMode, savepointDirectory: c.savepointDirectory })) {
      throw new ValidationError('upgradeMode', this.upgradeMode, `needs a savepoint directory on session cluster "${c.name}"`);
    }
    if (this.upgradeMode === UpgradeMode.LAST_STATE) {
      throw new ValidationError('upgradeMode', this.upgradeMode, 'is for application clusters; a session job upgrades with savepoint or stateless');
    }
    const bound = props.job.bind(this.name, c.version);
    this.boundJob = bound;
    checkImageServes(c.runtimeImage, c.version, { initialSavepointPath: props.initialSavepointPath }, bound, props.job.pipeline !== undefined);
    if (bound.kind === 'jar' && !bound.jar) {
      throw new ValidationError('job.jarFile', undefined, 'is required for a session job: the submitter uploads the jar to the cluster');
    }
    if (bound.jar && /^local:/i.test(bound.jar.uri)) {
      throw new ValidationError('job.jarFile', bound.jar.uri, 'is a local:// jar, which a session job cannot run: the submitter uploads the jar through the REST API; expected file:///path (in the operations image), https:// or s3://');
    }
    const s3 = bound.jar?.kind === 's3' ? StorageCredentials._s3FetchOf(bound.jar.uri, c.storageCredentials) : undefined;
    const jobConfig = new FlinkConfiguration(c.version);
    jobConfig.set('pipeline.name', this.name, 'name');
    jobConfig.setRaw('flinkConfiguration', props.flinkConfiguration);
    const secret = jobConfig.secretValues[0];
    if (secret) {
      throw new ValidationError(`flinkConfiguration["${secret.key}"]`, `FlinkConfigValue.fromSecret('${secret.secretName}', '${secret.secretKey}')`,
        'is not possible for a session job, whose configuration is submitted from a ConfigMap; set it in the session cluster\'s flinkConfiguration');
    }
    const savepoint = props.initialSavepointPath !== undefined ? checkUri('initialSavepointPath', props.initialSavepointPath) : undefined;
    if (props.allowNonRestoredState !== undefined && savepoint === undefined) {
      throw new ValidationError('allowNonRestoredState', props.allowNonRestoredState, 'is set without initialSavepointPath; it only applies to a restore');
    }
    const opsImage = checkImage('opsImage', props.opsImage ?? `cdk8s-flink-ops:${PACKAGE_VERSION}`);
    if (props.jobAutoscaler !== undefined) {
      const j = resolveSessionJobAutoscaler(props.jobAutoscaler, opsImage);
      checkSessionAutoscaling(j, this.parallelism, c, jobConfig);
      this.jobAutoscaler = j;
    }
    const timeoutS = Math.ceil(durationMs('submitTimeout', props.submitTimeout ?? Duration.minutes(5), 10_000) / 1000);

    this.spec = {
      name: this.name,
      jobId: this.jobId,
      restUrl: c.restUrl,
      flinkVersion: c.version.toString(),
      kind: bound.kind,
      ...(bound.entryClass ? { entryClass: bound.entryClass } : {}),
      ...(bound.kind === 'jar'
        ? { jarFile: bound.jar!.uri, ...(bound.jar!.sha256 ? { jarSha256: bound.jar!.sha256 } : {}), programArgs: bound.programArgs }
        : { sqlFile: `${SUBMIT_SPEC_DIR}/pipeline.sql` }),
      parallelism: this.parallelism,
      upgradeMode: this.upgradeMode,
      ...(savepoint ? { initialSavepointPath: savepoint, allowNonRestoredState: props.allowNonRestoredState ?? false } : {}),
      ...(c.savepointDirectory ? { savepointDirectory: c.savepointDirectory } : {}),
      flinkConfiguration: jobConfig.toObject(),
    };

    const labels = {
      ...checkLabels('labels', props.labels),
      ...recommendedLabels(this.name, c.version.toString(), props.partOf ?? 'flink', 'session-job'),
    };
    const md = (name: string) => ({ name, ...(this.namespace ? { namespace: this.namespace } : {}), labels });
    const data: Record<string, string> = { 'job.json': goJson(this.spec) + '\n', ...bound.files };
    this.specConfigMap = new k8s.KubeConfigMap(this, 'Spec', { metadata: md(`${this.name}-job`), data });
    const sa = new kplus.ServiceAccount(this, 'Submitter', { metadata: md(`${this.name}-submitter`), automountToken: false });
    const submitArgs = ['submit', '--spec', `${SUBMIT_SPEC_DIR}/job.json`, '--timeout', `${Math.max(10, timeoutS - 30)}s`, ...(s3?.args ?? [])];
    const ca = bound.jar?.ca ? jarCaTrust(bound.jar.ca) : undefined;
    const envVars = jarFetchEnv(bound.jar, s3) as unknown as k8s.EnvVar[];
    const submitEnv = envVars.length ? envVars : undefined;
    const hash = createHash('sha256').update(JSON.stringify(submitEnv ? [data, opsImage, submitArgs, submitEnv, ...(ca ? [ca.volume] : [])] : [data, opsImage])).digest('hex').slice(0, 8);

    this.submitJob = new k8s.KubeJob(this, 'Submit', {
      metadata: md(`${this.name}-submit-${hash}`),
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: timeoutS,
        template: {
          // The session cluster's NetworkPolicy lets pods with this label call its REST API.
          metadata: { labels: { ...labels, [REST_CLIENT_LABEL]: c.name } },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: sa.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: OPS_UID, runAsGroup: OPS_UID, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'submit',
              image: opsImage,
              imagePullPolicy: 'IfNotPresent',
              args: submitArgs,
              ...(submitEnv ? { env: submitEnv } : {}),
              securityContext: restrictedSecurityContext(),
              resources: {
                requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
                limits: { memory: k8s.Quantity.fromString('128Mi') },
              },
              volumeMounts: [
                { name: 'spec', mountPath: SUBMIT_SPEC_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
                ...(ca ? [ca.volumeMount as unknown as k8s.VolumeMount] : []),
              ],
            }],
            volumes: [
              { name: 'spec', configMap: { name: this.specConfigMap.name } },
              { name: 'tmp', emptyDir: {} },
              ...(ca ? [ca.volume as unknown as k8s.Volume] : []),
            ],
          },
        },
      },
    });

    if (this.jobAutoscaler) {
      const j = this.jobAutoscaler;
      const component = 'autoscaler';
      const aLabels = { ...labels, 'app.kubernetes.io/component': component };
      this.autoscalerDeployment = new k8s.KubeDeployment(this, 'Autoscaler', {
        metadata: { ...md(`${this.name}-autoscaler`), labels: aLabels },
        spec: {
          replicas: 1,
          // never two at once: the old one stops before the new one starts
          strategy: { type: 'Recreate' },
          selector: { matchLabels: selectorLabels(this.name, component) },
          template: {
            // The session cluster's NetworkPolicy lets pods with this label call its REST API.
            metadata: { labels: { ...aLabels, [REST_CLIENT_LABEL]: c.name } },
            spec: {
              // Only the session's REST API: the submitter's account, no API token.
              serviceAccountName: sa.name,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              terminationGracePeriodSeconds: 10,
              securityContext: { runAsNonRoot: true, runAsUser: OPS_UID, runAsGroup: OPS_UID, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [{
                name: component,
                image: j.opsImage,
                imagePullPolicy: 'IfNotPresent',
                args: sessionJobAutoscalerArgs({ restUrl: c.restUrl, jobName: this.name, ...scalingArgValues(j, (_k, literal) => literal) }),
                securityContext: restrictedSecurityContext(),
                resources: {
                  requests: { cpu: k8s.Quantity.fromString('20m'), memory: k8s.Quantity.fromString('96Mi') },
                  limits: { memory: k8s.Quantity.fromString('96Mi') },
                },
              }],
            },
          },
        },
      });
    }
  }
}

/**
 * What a session job's autoscaler needs of its cluster, checked where the cluster is known: the
 * adaptive scheduler (the default scheduler refuses resource requirements), checkpointing (every
 * rescale restarts the job from its latest checkpoint), a restart strategy, and the slots for its
 * maximum; and a starting parallelism within its bounds.
 */
function checkSessionAutoscaling(j: ResolvedScaling, parallelism: number, c: ISessionCluster, jobConfig: FlinkConfiguration): void {
  if (!AUTOSCALER_PARALLELISM_RANGE.holds({ parallelism, ...j })) {
    throw new ValidationError('parallelism', parallelism, `is outside jobAutoscaler's ${j.minParallelism}-${j.maxParallelism}; expected a starting parallelism within it`);
  }
  if (j.maxParallelism > c.totalSlots) {
    throw new ValidationError('jobAutoscaler.maxParallelism', j.maxParallelism, `exceeds the ${c.totalSlots} slots of session cluster "${c.name}"${c instanceof FlinkSessionCluster && c.taskManagerPool ? ' at its pool\'s maximum' : ''}; lower it or give the cluster more TaskManagers`);
  }
  // An ISessionCluster that is not declared here is not checked: its configuration is not known.
  if (!(c instanceof FlinkSessionCluster)) return;
  const scheduler = c.configuration.get('jobmanager.scheduler');
  if (scheduler !== 'adaptive') {
    throw new ValidationError('jobAutoscaler', `${c.name}: ${scheduler ?? 'default'} scheduler`,
      `needs the adaptive scheduler, the only one that takes a job's declared parallelism; set flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' } on session cluster "${c.name}"`);
  }
  if (!c.configuration.has('execution.checkpointing.interval') && !jobConfig.has('execution.checkpointing.interval')) {
    throw new ValidationError('jobAutoscaler', 'checkpointing off', `needs checkpointing: every rescale restarts the job from its latest checkpoint; set checkpointing on session cluster "${c.name}" or execution.checkpointing.interval in the job's flinkConfiguration`);
  }
  if ((jobConfig.get('restart-strategy.type') ?? c.configuration.get('restart-strategy.type')) === 'none') {
    throw new ValidationError('restartStrategy', 'none', 'cannot be used with jobAutoscaler: every rescale is a restart');
  }
}

/**
 * JSON as Go's json.MarshalIndent writes it (what Helm's toPrettyJson prints): keys sorted,
 * two-space indent, and <, > and & escaped. The session job charts render the same text.
 */
export function goJson(value: unknown): string {
  const sort = (v: unknown): unknown => Array.isArray(v) ? v.map(sort)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as any)[k])])) : v;
  return JSON.stringify(sort(value), null, 2).replace(/[<>&]/g, (ch) => `\\u00${ch.charCodeAt(0).toString(16)}`);
}
