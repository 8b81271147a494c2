import { ApiObject, Lazy } from 'cdk8s';
import { bindChartValues, ChartValueBinding, Tpl } from '../chart-value';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { FlinkVersion } from '../config/flink-version';
import { ValidationError } from '../errors';
import { ARTIFACTS_DIR, ARTIFACTS_VOLUME, CONF_TEMPLATE_DIR, CONFIG_INIT_CONTAINER, FLINK_HOME, FLINK_UID, HANDOFF_DIR, JOB_FILES_DIR, REVISION_ANNOTATION } from './layout';
import { AntiAffinity, ExtraVolume, ImagePullPolicy } from './options';
import { ResolvedPodTemplate, restrictedSecurityContext } from './pod-customization';
import { selectorValue } from './labels';

export type Component = 'jobmanager' | 'taskmanager';


/** What the JobManager and TaskManager pods share: everything the pod template needs from the cluster. */
export interface PodTemplateContext {
  readonly name: string;
  readonly version: FlinkVersion;
  /** The labels of every object (the component label is added per pod). */
  readonly labels: Record<string, string>;
  readonly podAnnotations?: Record<string, string>;
  /** The checksum of the ConfigMap's data, computed at synthesis. */
  readonly checksum: () => string;
  readonly handoff: boolean;
  readonly jobFiles?: Record<string, string>;
  /** The JobManager's jar fetch init container (ClusterModeSpec.jobManagerFetch). */
  readonly jobManagerFetch?: Record<string, unknown>;
  /** Volumes only that init container mounts (ClusterModeSpec.jobManagerFetchVolumes). */
  readonly jobManagerFetchVolumes: ReadonlyArray<Record<string, unknown>>;
  readonly serviceAccountName: string;
  readonly highAvailability: boolean;
  readonly image: string;
  readonly pullPolicy: ImagePullPolicy;
  readonly pullSecrets: { name: string }[];
  readonly nodeSelector: Record<string, string>;
  readonly tolerations: Record<string, unknown>[];
  /** The containers' environment, rendered at synthesis. */
  readonly env: () => Record<string, unknown>[];
  /** The extra volumes (the cluster's list, which grows after construction). */
  readonly volumes: readonly ExtraVolume[];
  /** What the pod templates add, per component. */
  readonly templates: Record<Component, ResolvedPodTemplate>;
  readonly configMap: k8s.KubeConfigMap;
}

/** The init container's command: copy the configuration template into the writable conf dir. */
export function copyConfigCommand(version: FlinkVersion): string {
  return `cp -L ${CONF_TEMPLATE_DIR}/${version.configFileName} ${CONF_TEMPLATE_DIR}/log4j-console.properties ${FLINK_HOME}/conf/`;
}

/**
 * The pod template of the JobManager or TaskManager: the restricted security defaults, the
 * configuration init container, the main container's image, environment and mounts, the volumes.
 * `container` adds the component's name, args, ports, resources and probes; `initCommand` replaces
 * the plain configuration copy (the JobManager's hand-off).
 */
export function flinkPodTemplate(ctx: PodTemplateContext, component: Component, container: { name: string; [k: string]: any },
  affinity?: Record<string, any>, initCommand?: string): k8s.PodTemplateSpec {
  const handoff = component === 'jobmanager' && ctx.handoff;
  const jobFiles = component === 'jobmanager' ? ctx.jobFiles : undefined;
  const fetch = component === 'jobmanager' ? ctx.jobManagerFetch : undefined;
  const added = ctx.templates[component];
  return {
    metadata: {
      labels: { ...ctx.labels, 'app.kubernetes.io/component': component },
      annotations: Lazy.any({
        produce: () => ({
          ...(ctx.podAnnotations ?? {}),
          'checksum/config': ctx.checksum(),
          // Changes with every release revision, so the JobManager restarts and picks up the hand-off.
          ...(handoff ? { [REVISION_ANNOTATION]: '1' } : {}),
        }),
      }),
    },
    spec: {
      serviceAccountName: ctx.serviceAccountName,
      automountServiceAccountToken: ctx.highAvailability,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: FLINK_UID,
        runAsGroup: FLINK_UID,
        fsGroup: FLINK_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(ctx.pullSecrets.length ? { imagePullSecrets: ctx.pullSecrets } : {}),
      ...(Object.keys(ctx.nodeSelector).length ? { nodeSelector: ctx.nodeSelector } : {}),
      ...(ctx.tolerations.length ? { tolerations: ctx.tolerations } : {}),
      ...(affinity ? { affinity } : {}),
      ...(added.priorityClassName ? { priorityClassName: added.priorityClassName } : {}),
      initContainers: [{
        name: CONFIG_INIT_CONTAINER,
        image: ctx.image,
        imagePullPolicy: ctx.pullPolicy,
        command: ['sh', '-c', initCommand ?? copyConfigCommand(ctx.version)],
        securityContext: containerSecurity(),
        resources: { requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') }, limits: { memory: k8s.Quantity.fromString('32Mi') } },
        volumeMounts: [
          { name: 'flink-config-template', mountPath: CONF_TEMPLATE_DIR, readOnly: true },
          { name: 'flink-conf', mountPath: `${FLINK_HOME}/conf` },
          ...(handoff ? [{ name: 'flink-handoff', mountPath: HANDOFF_DIR, readOnly: true }] : []),
        ],
      }, ...(fetch ? [{
        name: String(fetch.name),
        ...fetch,
        securityContext: containerSecurity(),
        volumeMounts: [{ name: ARTIFACTS_VOLUME, mountPath: ARTIFACTS_DIR }, ...((fetch.volumeMounts as k8s.VolumeMount[] | undefined) ?? [])],
      }] : []), ...added.initContainers],
      containers: [{
        image: ctx.image,
        imagePullPolicy: ctx.pullPolicy,
        securityContext: containerSecurity(),
        ...container,
        env: Lazy.any({
          produce: () => [
            ...ctx.env(),
            ...(handoff
              ? [{ name: 'FLINK_JOB_ID', valueFrom: { configMapKeyRef: { name: `${ctx.name}-handoff`, key: 'jobId' } } }]
              : []),
            ...Object.keys(added.flinkEnv).sort().map((k) => added.flinkEnv[k]._toEnvVar(k)),
          ],
        }),
        volumeMounts: Lazy.any({
          produce: () => [
            { name: 'flink-conf', mountPath: `${FLINK_HOME}/conf` },
            { name: 'flink-log', mountPath: `${FLINK_HOME}/log` },
            { name: 'flink-tmp', mountPath: '/tmp' },
            ...(jobFiles ? [{ name: 'flink-job', mountPath: JOB_FILES_DIR, readOnly: true }] : []),
            ...(fetch ? [{ name: ARTIFACTS_VOLUME, mountPath: ARTIFACTS_DIR, readOnly: true }] : []),
            ...ctx.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: v.readOnly ?? true })),
            ...added.flinkMounts,
          ],
        }),
      }, ...added.sidecars],
      volumes: Lazy.any({
        produce: () => [
          { name: 'flink-config-template', configMap: { name: ctx.configMap.name } },
          { name: 'flink-conf', emptyDir: {} },
          { name: 'flink-log', emptyDir: {} },
          { name: 'flink-tmp', emptyDir: {} },
          ...(handoff ? [{ name: 'flink-handoff', configMap: { name: `${ctx.name}-handoff` } }] : []),
          ...(jobFiles
            ? [{ name: 'flink-job', configMap: { name: ctx.configMap.name, items: Object.keys(jobFiles).sort().map((k) => ({ key: k, path: k })) } }]
            : []),
          ...(fetch ? [{ name: ARTIFACTS_VOLUME, emptyDir: {} }, ...(ctx.jobManagerFetchVolumes as unknown as k8s.Volume[])] : []),
          ...ctx.volumes.map((v) => v.source._toVolume(v.name)),
          ...added.volumes,
        ],
      }),
    },
  };
}

/**
 * The chart values of a Flink Deployment's selector and pod template (lib/chart-value.ts): the
 * release's selector and pod labels and annotations, the ServiceAccount, the Flink image and
 * pull policy, the component's resources from `jobManager`/`taskManager.resources`, the images
 * of the containers the pod templates add from `podTemplate`, the Kafka CAs' Secrets from
 * `kafkaTls`, and the scheduling fields from values (rendered after the containers).
 */
export function bindPodTemplateValues(d: ApiObject, component: Component, ctx: PodTemplateContext): void {
  const values = component === 'jobmanager' ? 'jobManager' : 'taskManager';
  const pod = 'spec.template.spec';
  const at = (path: string, expression: ChartValueBinding['expression'], last?: boolean, valueDefault?: boolean): ChartValueBinding => ({ path, expression, last, valueDefault });
  // The values read their defaults from the JobManager's pull policy and the TaskManager pods' scheduling (lib/helm/cluster-values.ts).
  const image = (container: string, policyDefault = false) => [
    at(`${container}.image`, (c) => Tpl.scalar(`{{ include "${c}.image" $ }}`)),
    at(`${container}.imagePullPolicy`, () => Tpl.scalar('{{ .Values.image.pullPolicy }}'), false, policyDefault),
  ];
  const tm = component === 'taskmanager';
  const added = ctx.templates[component];
  const addedImage = (list: string, name: string) => at(`${pod}.${list}[name=${name}].image`,
    () => Tpl.scalar(`{{ (index .Values.podTemplate.${values} ${JSON.stringify(name)}).image }}`));
  bindChartValues(d, [
    at('spec.selector.matchLabels', selectorValue(component)),
    at('spec.template.metadata', (c) => ({
      labels: Tpl.block(`include "${c}.podLabels" (dict "ctx" $ "component" "${component}")`),
      annotations: Tpl.block(`include "${c}.podAnnotations" (dict "ctx" $ "component" "${component}")`),
    })),
    at(`${pod}.serviceAccountName`, (c) => Tpl.scalar(`{{ include "${c}.serviceAccountName" $ }}`)),
    ...image(`${pod}.initContainers[name=${CONFIG_INIT_CONTAINER}]`),
    ...image(`${pod}.containers[name=${component}]`, !tm),
    at(`${pod}.containers[name=${component}].resources`, (c) => Tpl.block(`include "${c}.resources" .Values.${values}.resources`)),
    ...added.sidecars.map((x) => addedImage('containers', x.name)),
    ...added.initContainers.map((x) => addedImage('initContainers', x.name)),
  ]);
  // Volumes are added after construction: read at rendering.
  bindChartValues(d, () => ctx.volumes.flatMap((v) => {
    const form = v.source._chartForm;
    return form ? [at(`${pod}.volumes[name=${v.name}]`, form)] : [];
  }));
  bindChartValues(d, [
    at(`${pod}.nodeSelector`, () => Tpl.yamlIfSet('.Values.nodeSelector'), true, tm),
    at(`${pod}.tolerations`, () => Tpl.yamlIfSet('.Values.tolerations'), true, tm),
    // The generated anti-affinity unless values.affinity replaces it.
    at(`${pod}.affinity`, (c, literal) => (literal ? Tpl.block(`include "${c}.${values}Affinity" .`) : Tpl.yamlIfSet('.Values.affinity')), true),
  ]);
}

/** The restricted Pod Security Standard's container settings. */
const containerSecurity = restrictedSecurityContext;

/** Requests and limits: memory request = limit; a CPU limit only when given. */
export function resources(cpuMillis: number, memoryMiB: number, cpuLimitMillis?: number) {
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

/** The TCP probes on the `rpc` port both components share (start-up, liveness). */
export function rpcProbes() {
  return {
    startupProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 5, failureThreshold: 60 },
    livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 10, failureThreshold: 6 },
  };
}

export function checkAntiAffinity(field: string, anti: AntiAffinity | undefined): AntiAffinity {
  const a = anti ?? AntiAffinity.PREFERRED;
  if (!Object.values(AntiAffinity).includes(a)) {
    throw new ValidationError(field, a, `is unknown; expected one of ${Object.values(AntiAffinity).join(', ')}`);
  }
  return a;
}

/** Pod anti-affinity across nodes among the pods with these labels. */
export function antiAffinity(anti: AntiAffinity, matchLabels: Record<string, string>): Record<string, any> | undefined {
  const term = { labelSelector: { matchLabels }, topologyKey: 'kubernetes.io/hostname' };
  return anti === AntiAffinity.NONE ? undefined
    : anti === AntiAffinity.REQUIRED ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
      : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
}
