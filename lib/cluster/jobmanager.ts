import { Lazy } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { bindChartValues, Tpl } from '../chart-value';
import { FlinkVersion } from '../config/flink-version';
import { keyFor } from '../config/keys';
import type { ClusterModeSpec } from './flink-cluster';
import { selectorLabels } from './labels';
import { FETCH_JAR_INIT_CONTAINER, FLINK_HOME, HANDOFF_DIR, PORTS } from './layout';
import { AntiAffinity } from './options';
import { antiAffinity, bindPodTemplateValues, checkAntiAffinity, copyConfigCommand, flinkPodTemplate, PodTemplateContext, resources, rpcProbes } from './pod-template';

export interface JobManagerOptions {
  readonly metadata: k8s.ObjectMeta;
  readonly replicas: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly metricsEnabled: boolean;
  readonly antiAffinity?: AntiAffinity;
  readonly spec: ClusterModeSpec;
}

/**
 * The JobManager Deployment (construct id `JobManager`): standby JobManagers (HA) on other nodes
 * than the leader, so one node's loss does not take every JobManager with it.
 */
export function jobManagerDeployment(scope: Construct, pod: PodTemplateContext, o: JobManagerOptions): k8s.KubeDeployment {
  const ports = [
    { name: 'rpc', containerPort: PORTS.jobManagerRpc },
    { name: 'blob-server', containerPort: PORTS.blobServer },
    { name: 'webui', containerPort: PORTS.rest },
    ...(o.metricsEnabled ? [{ name: 'metrics', containerPort: PORTS.metrics }] : []),
  ];
  // "-D" and "key=value" as two arguments: jobmanager.sh reads a first argument that is not
  // exactly "-D" as the legacy <host> parameter.
  const haArgs = pod.highAvailability
    ? ['-D', 'jobmanager.rpc.address=$(POD_IP)', '-D', 'kubernetes.namespace=$(POD_NAMESPACE)']
    : [];
  const spec = o.spec;
  const args = Lazy.any({ produce: () => [...spec.jobManagerArgs.map((a) => (typeof a === 'function' ? a() : a)), ...haArgs, ...(spec.jobManagerTrailingArgs ?? [])] });
  const anti = checkAntiAffinity('jobManagerAntiAffinity', o.antiAffinity);
  const affinity = o.replicas > 1 ? antiAffinity(anti, selectorLabels(pod.name, 'jobmanager')) : undefined;
  const d = new k8s.KubeDeployment(scope, 'JobManager', {
    metadata: o.metadata,
    spec: {
      replicas: o.replicas,
      // Recreate: without HA two JobManagers of one cluster must never run at once; with HA a
      // rolling update would briefly run two leaders' contenders on different configurations.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(pod.name, 'jobmanager') },
      template: flinkPodTemplate(pod, 'jobmanager', {
        name: 'jobmanager',
        args,
        ports,
        resources: resources(o.cpuMillis, o.memoryMiB),
        ...rpcProbes(),
        readinessProbe: { httpGet: { path: '/overview', port: k8s.IntOrString.fromString('webui') }, periodSeconds: 10, failureThreshold: 3 },
      }, affinity, spec.handoff ? handoffScript(pod.version) : undefined),
    },
  });
  bindPodTemplateValues(d, 'jobmanager', pod);
  if (spec.mode === 'application') {
    const fetch = `spec.template.spec.initContainers[name=${FETCH_JAR_INIT_CONTAINER}]`;
    bindChartValues(d, [
      // Suspended (job.state): no JobManager.
      { path: 'spec.replicas', expression: (_c, n) => Tpl.scalar(`{{ if eq .Values.job.state "suspended" }}0{{ else }}${n}{{ end }}`) },
      // The job's parallelism, arguments and jar from job.* values.
      { path: 'spec.template.spec.containers[name=jobmanager].args', expression: (c) => Tpl.block(`include "${c}.jobManagerArgs" .`) },
      ...Object.entries(spec.jobManagerFetchValues ?? {}).map(([field, expression]) => ({ path: `${fetch}.${field}`, expression })),
    ]);
  }
  return d;
}

/**
 * The JobManager init container's script with a hand-off: copy the configuration, then, when
 * the hand-off names a savepoint, append the restore keys (the configuration never sets them
 * itself, so they cannot appear twice).
 */
function handoffScript(version: FlinkVersion): string {
  const file = `${FLINK_HOME}/conf/${version.configFileName}`;
  const pathKey = keyFor(version, 'execution.state-recovery.path');
  const ignoreKey = keyFor(version, 'execution.state-recovery.ignore-unclaimed-state');
  // config.yaml is standard YAML (quote the path); flink-conf.yaml keeps quotes literally.
  const q = version.configFileName === 'config.yaml' ? '"' : '';
  return [
    copyConfigCommand(version),
    `if [ -s ${HANDOFF_DIR}/savepointPath ]; then printf '%s: ${q}%s${q}\\n%s: %s\\n' ${pathKey} "$(cat ${HANDOFF_DIR}/savepointPath)" ${ignoreKey} "$(cat ${HANDOFF_DIR}/allowNonRestoredState 2>/dev/null || echo false)" >> ${file}; fi`,
  ].join(' && ');
}
