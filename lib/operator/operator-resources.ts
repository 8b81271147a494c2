import { Duration } from 'cdk8s';
import { flinkDuration } from '../config/units';
import { FlinkApplication } from '../application';
import { CONFIG_INIT_CONTAINER, FlinkCluster, flinkContainer } from '../cluster/flink-cluster';
import { ResolvedIngress } from '../cluster/access';
import { ValidationError } from '../errors';
import { SQL_RUNNER_CLASS } from '../job-source';
import { ResolvedScaling } from '../job-autoscaler';
import { ReleaseUnit } from '../platform';
import { FlinkSessionCluster, FlinkSessionJob } from '../session';

/**
 * The Flink Kubernetes Operator's resources for the same definitions (`synth --target
 * operator`): a `FlinkDeployment` per application or session cluster and a `FlinkSessionJob`
 * per session job, for teams that keep the operator. They carry what the toolkit decides (the
 * Flink configuration, image, resources, security context, labels, environment and volumes, the
 * job and its upgrade mode) and leave to the operator what it owns (the cluster id, addresses,
 * ports, probes, the configuration file, savepoints on upgrade). The monitoring objects (PodMonitor,
 * alert rules, dashboard) come along unchanged: they select the pods by the labels the pod
 * templates carry.
 */
export interface OperatorOptions {
  /**
   * Where the operator fetches the SQL runner jar for SQL session jobs (the operator downloads a
   * session job's jar; a `local://` path does not apply). Required when a SQL session job is
   * synthesized. @default - none
   */
  readonly sqlRunnerJarUri?: string;
}

type Json = any;

/** Flink configuration keys the operator sets itself: carrying them would fight it. */
export const OPERATOR_OWNED_KEYS: readonly string[] = [
  'kubernetes.cluster-id', 'kubernetes.namespace', 'jobmanager.rpc.address', 'jobmanager.rpc.port', 'rest.port', 'rest.address', 'rest.bind-address',
  'blob.server.port', 'taskmanager.rpc.port', 'taskmanager.data.port', 'taskmanager.host', 'jobmanager.bind-host', 'taskmanager.bind-host',
  'jobmanager.memory.process.size', 'taskmanager.memory.process.size', 'parallelism.default', 'execution.savepoint.path',
  'execution.state-recovery.path', 'execution.savepoint.ignore-unclaimed-state', 'execution.state-recovery.ignore-unclaimed-state',
  'kubernetes.jobmanager.replicas', 'high-availability.cluster-id', 'scheduler-mode',
];

/** Volumes and env of the toolkit's own configuration hand-off, which the operator replaces. */
const TOOLKIT_VOLUMES = ['flink-config-template', 'flink-conf', 'flink-handoff'];
const TOOLKIT_ENV = ['FLINK_JOB_ID', 'JOB_MANAGER_RPC_ADDRESS'];
/** The container name the operator merges a pod template's main container into. */
export const OPERATOR_MAIN_CONTAINER = 'flink-main-container';

/** The operator's resources for one release unit, plus the unit's objects that carry over unchanged. */
export function operatorResources(unit: ReleaseUnit, objects: Json[], options: OperatorOptions = {}): Json[] {
  const c = unit.construct;
  const carried = objects.filter((o) => ['PodMonitor', 'ServiceMonitor', 'PrometheusRule'].includes(o.kind)
    || (o.kind === 'ConfigMap' && o.metadata?.labels?.['grafana_dashboard'] !== undefined)
    || o.kind === 'PodDisruptionBudget');
  // The toolkit's NetworkPolicy is not carried: the operator, in a namespace of its own, calls the
  // JobManager's REST API, which the policy opens only to the toolkit's hooks and submitters.
  if (c instanceof FlinkSessionJob) return [sessionJob(c, options), ...carried];
  const cluster = c as FlinkApplication | FlinkSessionCluster;
  const out: Json[] = [...(cluster.serviceAccount ? [serviceAccount(cluster)] : []), role(cluster), roleBinding(cluster)];
  const files = cluster instanceof FlinkApplication ? cluster.boundJob.files : {};
  if (Object.keys(files).length) out.push(jobFilesConfigMap(cluster, files));
  out.push(flinkDeployment(cluster, objects));
  const hpa = cluster instanceof FlinkApplication && cluster.reactive ? objects.find((o) => o.kind === 'HorizontalPodAutoscaler') : undefined;
  if (hpa) out.push(operatorAutoscaler(cluster as FlinkApplication, hpa));
  // The operator names TaskManager pods itself and scales native TaskManagers on its own:
  // the toolkit's PodDisruptionBudget selects them by labels the pod template carries.
  return [...out, ...carried];
}

/**
 * Reactive mode under the operator (standalone): the toolkit's HPA, its metrics and behavior as
 * defined, scaling the FlinkDeployment through its scale subresource (`spec.taskManager.replicas`),
 * as the operator's own HPA example does. The adaptive scheduler runs in native mode, where the
 * JobManager requests its TaskManagers itself and no HPA applies.
 */
function operatorAutoscaler(c: FlinkApplication, hpa: Json): Json {
  return {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: metadata(c, '-taskmanager', 'taskmanager'),
    spec: { ...hpa.spec, scaleTargetRef: { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', name: c.name } },
  };
}

function metadata(c: FlinkCluster | FlinkSessionJob, suffix = '', component?: string): Json {
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': c.name,
    'app.kubernetes.io/instance': c.name,
    'app.kubernetes.io/managed-by': 'cdk8s-flink',
    'app.kubernetes.io/part-of': c instanceof FlinkSessionJob ? (c.specConfigMap.metadata.getLabel('app.kubernetes.io/part-of') ?? 'flink') : c.partOf,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
  };
  return { name: `${c.name}${suffix}`, ...(c.namespace ? { namespace: c.namespace } : {}), labels };
}

function serviceAccount(c: FlinkCluster): Json {
  const annotations = c.serviceAccountAnnotations;
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...metadata(c, '-flink'), ...(Object.keys(annotations).length ? { annotations } : {}) } };
}

/**
 * What a JobManager of a native cluster does with the API server: it creates and deletes its
 * TaskManager pods, watches them, and keeps HA and the cluster's ConfigMaps; the operator's own
 * documentation gives its `flink` ServiceAccount the same, namespaced.
 */
function role(c: FlinkCluster): Json {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: metadata(c, '-flink'),
    rules: [
      { apiGroups: [''], resources: ['pods', 'configmaps', 'services'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['apps'], resources: ['deployments', 'deployments/finalizers'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    ],
  };
}

function roleBinding(c: FlinkCluster): Json {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: metadata(c, '-flink'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${c.name}-flink` },
    subjects: [{ kind: 'ServiceAccount', name: c.serviceAccountName, ...(c.namespace ? { namespace: c.namespace } : {}) }],
  };
}

function jobFilesConfigMap(c: FlinkCluster, files: Record<string, string>): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(c, '-job-files'), data: { ...files } };
}

/** The operator's enum for a Flink version: `v1_20`, `v2_2`. */
export function operatorFlinkVersion(c: FlinkCluster): string {
  const [major, minor] = c.version.toString().split('.');
  return `v${major}_${minor}`;
}

/** The toolkit's Flink configuration less the keys the operator owns, every value a string. */
function flinkConfiguration(c: FlinkCluster): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.configuration.toObject())) {
    if (!OPERATOR_OWNED_KEYS.includes(k)) out[k] = String(v);
  }
  return out;
}

/**
 * A pod template from the toolkit's Deployment of a component: the pod's security context, node
 * selection, tolerations, affinity, priority, labels and annotations, the main container's security
 * context, environment, volume mounts and metrics port, renamed to the container the operator
 * merges into, and the pod templates' sidecars, init containers and volumes as they are. The
 * configuration hand-off (init container, conf volumes) is the operator's.
 */
function podTemplate(deployment: Json, component: 'jobmanager' | 'taskmanager'): Json {
  const t = deployment.spec.template;
  const spec = t.spec;
  const main = flinkContainer(spec, component);
  const volumes = (spec.volumes ?? []).filter((v: Json) => !TOOLKIT_VOLUMES.includes(v.name));
  const container: Json = {
    name: OPERATOR_MAIN_CONTAINER,
    ...(main.securityContext ? { securityContext: main.securityContext } : {}),
    env: (main.env ?? []).filter((e: Json) => !TOOLKIT_ENV.includes(e.name)),
    ...(main.envFrom ? { envFrom: main.envFrom } : {}),
    ports: (main.ports ?? []).filter((p: Json) => p.name === 'metrics'),
    volumeMounts: (main.volumeMounts ?? []).filter((m: Json) => !TOOLKIT_VOLUMES.includes(m.name)),
  };
  const podSpec: Json = { ...spec, containers: [container, ...spec.containers.filter((x: Json) => x !== main)], volumes };
  delete podSpec.initContainers;
  delete podSpec.serviceAccountName;
  // A native JobManager talks to the API server (TaskManager pods, HA): it needs its token.
  delete podSpec.automountServiceAccountToken;
  const initContainers = (spec.initContainers ?? []).filter((i: Json) => i.name !== CONFIG_INIT_CONTAINER);
  if (initContainers.length) podSpec.initContainers = initContainers;
  const annotations = Object.fromEntries(Object.entries(t.metadata?.annotations ?? {}).filter(([k]) => !k.startsWith('checksum/') && !k.startsWith('cdk8s-flink/')));
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { labels: { ...t.metadata.labels }, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: podSpec,
  };
}

function resource(c: FlinkCluster, component: 'jobmanager' | 'taskmanager'): Json {
  const cpu = component === 'jobmanager' ? c.jobManagerCpuMillis : c.taskManagerCpuMillis;
  const mem = component === 'jobmanager' ? c.jobManagerMemoryMiB : c.taskManagerMemoryMiB;
  return { cpu: cpu / 1000, memory: `${mem}m` };
}

function flinkDeployment(c: FlinkApplication | FlinkSessionCluster, objects: Json[]): Json {
  const deployment = (component: string) => {
    const d = objects.find((o) => o.kind === 'Deployment' && o.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] === component);
    if (!d) throw new ValidationError('target', 'operator', `found no ${component} Deployment in "${c.name}"`);
    return d;
  };
  // The toolkit's pods write Secret-held options into a writable configuration directory at
  // start (FLINK_PROPERTIES); the operator's native pods mount the configuration it writes from a
  // ConfigMap, read-only, so such a value would be lost without a word.
  const secret = c.configuration.secretValues[0];
  if (secret) {
    throw new ValidationError(`flinkConfiguration["${secret.key}"]`, `FlinkConfigValue.fromSecret('${secret.secretName}', '${secret.secretKey}')`,
      `is not possible for the operator target ("${c.name}"): the operator's pods mount Flink's configuration read-only from its ConfigMap, so the image cannot add a Secret's value at start; expected the toolkit's own manifests or charts (synth without --target operator) for Flink options held in Secrets`);
  }
  const jm = deployment('jobmanager');
  const tm = deployment('taskmanager');
  const spec: Json = {
    image: c.image,
    imagePullPolicy: flinkContainer(jm.spec.template.spec, 'jobmanager').imagePullPolicy,
    flinkVersion: operatorFlinkVersion(c),
    serviceAccount: c.serviceAccountName,
    // Reactive mode scales standalone TaskManagers with an HPA; the operator supports it only
    // in standalone mode. Otherwise the JobManager asks Kubernetes for TaskManagers itself.
    mode: c instanceof FlinkApplication && c.reactive ? 'standalone' : 'native',
    flinkConfiguration: flinkConfiguration(c),
    jobManager: { replicas: c.jobManagerReplicas, resource: resource(c, 'jobmanager'), podTemplate: podTemplate(jm, 'jobmanager') },
    taskManager: { resource: resource(c, 'taskmanager'), podTemplate: podTemplate(tm, 'taskmanager') },
  };
  // The log4j2 configuration the toolkit writes to the cluster's ConfigMap: the operator writes
  // `logConfiguration` into the configuration it mounts.
  const log4j = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === c.configMap.name)?.data?.[LOG4J_FILE];
  if (log4j !== undefined) spec.logConfiguration = { [LOG4J_FILE]: log4j };
  if (c.ingressOptions) spec.ingress = operatorIngress(c.ingressOptions);
  if (c instanceof FlinkSessionCluster && c.taskManagerPool) {
    // A native session cluster already starts TaskManagers as its jobs need slots and releases
    // idle ones: the pool's bounds, spare slots and delay become the JobManager's own settings.
    const p = c.taskManagerPool;
    const slots = c.taskManagerSlots;
    if (p.min > 0) spec.flinkConfiguration['slotmanager.number-of-slots.min'] = String(p.min * slots);
    spec.flinkConfiguration['slotmanager.number-of-slots.max'] = String(p.max * slots);
    if (p.spareSlots > 0) spec.flinkConfiguration['slotmanager.redundant-taskmanager-num'] = String(Math.ceil(p.spareSlots / slots));
    spec.flinkConfiguration['resourcemanager.taskmanager-timeout'] = `${p.scaleDownDelaySeconds * 1000} ms`;
  }
  if (c instanceof FlinkApplication) {
    if (c.reactive) {
      spec.flinkConfiguration['scheduler-mode'] = 'reactive';
      spec.taskManager.replicas = c.taskManagerReplicas;
    }
    const j = c.jobAutoscaler;
    if (j) {
      // The operator's own job autoscaler, with the same settings; it rescales in place through
      // the adaptive scheduler too, and asks Kubernetes for the TaskManagers itself (native mode).
      Object.assign(spec.flinkConfiguration, jobAutoscalerConfig(j));
    }
    // Native mode: the JobManager itself keeps the standby TaskManagers beyond its slot needs.
    if (c.standbyTaskManagers) spec.flinkConfiguration['slotmanager.redundant-taskmanager-num'] = String(c.standbyTaskManagers);
    // Native mode: spare slots are kept by a minimum slot count, so that the JobManager runs the
    // same TaskManagers as the standalone cluster (the job's and the spare slots of each).
    if (c.spareSlotsPerTaskManager) spec.flinkConfiguration['slotmanager.number-of-slots.min'] = String(c.taskManagerReplicas * (c.taskManagerSlots + c.spareSlotsPerTaskManager));
    const files = Object.keys(c.boundJob.files);
    if (files.length) {
      // The job's files (the pipeline's SQL) are read by the JobManager, which runs the job's main.
      const p = spec.jobManager.podTemplate;
      p.spec.volumes = [...p.spec.volumes.filter((v: Json) => v.name !== 'flink-job'), { name: 'flink-job', configMap: { name: `${c.name}-job-files` } }];
    }
    spec.job = {
      jarURI: applicationJarUri(c),
      ...(c.boundJob.entryClass ? { entryClass: c.boundJob.entryClass } : {}),
      args: [...c.boundJob.driverArgs ?? [], ...c.boundJob.programArgs],
      ...(c.reactive ? {} : { parallelism: c.parallelism }),
      upgradeMode: c.upgradeMode,
      state: 'running',
      ...(c.initialSavepointPath ? { initialSavepointPath: c.initialSavepointPath, allowNonRestoredState: c.allowNonRestoredState } : {}),
    };
  }
  return { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', metadata: metadata(c), spec };
}

/** The log4j2 file of the console entry points, under the name the operator's `logConfiguration` takes. */
const LOG4J_FILE = 'log4j-console.properties';

/**
 * The operator's Ingress for the REST Service: its `template` is the host (and the path, when
 * not `/`), with the class, annotations and TLS Secret as defined. The operator picks the path
 * type (and, for a path in the template, adds its own rewrite annotations for nginx).
 */
function operatorIngress(i: ResolvedIngress): Json {
  const path = i.path === '/' ? '' : i.path;
  return {
    template: `${i.host ?? ''}${path}` || '/',
    ...(i.className ? { className: i.className } : {}),
    ...(Object.keys(i.annotations).length ? { annotations: { ...i.annotations } } : {}),
    ...(i.tlsSecretName ? { tls: [{ ...(i.host ? { hosts: [i.host] } : {}), secretName: i.tlsSecretName }] } : {}),
  };
}

/** `local://` for a jar in the image: the SQL runner, Flink's Python jar, or the job's own jar file. */
function applicationJarUri(c: FlinkApplication): string {
  if (c.boundJob.kind === 'sql') return 'local:///opt/flink/usrlib/cdk8s-flink-sql-runner.jar';
  // Flink's PythonDriver, in the distribution's opt/ (the operator's own Python example names it so).
  if (c.boundJob.python) return `local:///opt/flink/opt/flink-python-${c.version}.jar`;
  const jar = c.boundJob.jar;
  if (jar) return jar.kind === 'image' ? `local://${jar.path}` : jar.uri;
  throw new ValidationError('job.jarFile', undefined, `is required for the operator target (application "${c.name}"): the operator needs the jar's URI; expected the jar's absolute path in the image, e.g. "/opt/flink/usrlib/job.jar"`);
}

/** The operator's own job autoscaler (job.autoscaler.*) with a definition's settings. */
function jobAutoscalerConfig(j: ResolvedScaling): Record<string, string> {
  return {
    'job.autoscaler.enabled': 'true',
    'job.autoscaler.target.utilization': String(j.targetUtilization / 100),
    'job.autoscaler.target.utilization.boundary': String(j.utilizationBoundary / 100),
    'job.autoscaler.vertex.min-parallelism': String(j.minParallelism),
    'job.autoscaler.vertex.max-parallelism': String(j.maxParallelism),
    'job.autoscaler.scale-down.max-factor': String(j.maxScaleDown / 100),
    'job.autoscaler.catch-up.duration': flinkDuration('jobAutoscaler.catchUp', Duration.seconds(j.catchUpSeconds)),
    'job.autoscaler.metrics.window': flinkDuration('jobAutoscaler.metricsWindow', Duration.seconds(j.metricsWindowSeconds)),
    'job.autoscaler.stabilization.interval': flinkDuration('jobAutoscaler.stabilization', Duration.seconds(j.stabilizationSeconds)),
  };
}

function sessionJob(j: FlinkSessionJob, options: OperatorOptions): Json {
  const bound = j.boundJob;
  let jarURI: string;
  let args = bound.programArgs;
  if (bound.kind === 'sql') {
    if (!options.sqlRunnerJarUri) {
      throw new ValidationError('--sql-runner-jar', undefined, `is required for the operator target: session job "${j.name}" runs SQL, and the operator downloads a session job's jar; expected an http(s) or s3:// URI of cdk8s-flink-sql-runner.jar`);
    }
    if (!/^(https?|s3|s3a|gs|hdfs|abfss?|oss):\/\/[^\s/]+\/\S*\.jar$/.test(options.sqlRunnerJarUri)) {
      throw new ValidationError('--sql-runner-jar', options.sqlRunnerJarUri, 'is not a jar URI the operator can fetch; expected e.g. "https://artifacts.example.com/cdk8s-flink-sql-runner.jar" or "s3://bucket/jars/cdk8s-flink-sql-runner.jar"');
    }
    jarURI = options.sqlRunnerJarUri;
    // The script travels in the resource: the session cluster's pods do not mount it.
    args = ['--script-base64', Buffer.from(bound.sqlScript ?? '').toString('base64')];
  } else {
    // The operator fetches a session job's jar itself: https, or s3 through the S3 file system plugin of the operator's image.
    if (bound.jar?.kind !== 'https' && bound.jar?.kind !== 's3') {
      throw new ValidationError('job.jarFile', bound.jarFile, `is not a URI the operator can fetch for session job "${j.name}"; expected an https URL or s3://bucket/key`);
    }
    jarURI = bound.jar.uri;
  }
  const spec: Json = {
    deploymentName: j.cluster.name,
    // with a job autoscaler, the operator's own for the session job (the session cluster's adaptive scheduler rescales it in place)
    flinkConfiguration: { ...Object.fromEntries(Object.entries(j.spec.flinkConfiguration as Record<string, unknown>).map(([k, v]) => [k, String(v)])), ...(j.jobAutoscaler ? jobAutoscalerConfig(j.jobAutoscaler) : {}) },
    job: {
      jarURI,
      ...(bound.kind === 'sql' ? { entryClass: SQL_RUNNER_CLASS } : bound.entryClass ? { entryClass: bound.entryClass } : {}),
      args,
      parallelism: j.parallelism,
      upgradeMode: j.upgradeMode,
      state: 'running',
      ...(j.spec.initialSavepointPath ? { initialSavepointPath: j.spec.initialSavepointPath, allowNonRestoredState: j.spec.allowNonRestoredState } : {}),
    },
  };
  if (!Object.keys(spec.flinkConfiguration).length) delete spec.flinkConfiguration;
  return { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkSessionJob', metadata: metadata(j), spec };
}
