import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { bindChartValues, Tpl } from '../chart-value';
import { selectorLabels } from './labels';
import { PORTS } from './layout';
import { AntiAffinity } from './options';
import { antiAffinity, bindPodTemplateValues, checkAntiAffinity, flinkPodTemplate, PodTemplateContext, resources, rpcProbes } from './pod-template';

export interface TaskManagerOptions {
  readonly metadata: k8s.ObjectMeta;
  /** Undefined when an HPA owns the count. */
  readonly replicas: number | undefined;
  readonly cpuMillis: number;
  readonly cpuLimitMillis?: number;
  readonly memoryMiB: number;
  readonly metricsEnabled: boolean;
  readonly antiAffinity?: AntiAffinity;
  /** An application's: none run while its job is suspended (values job.state). */
  readonly suspendable: boolean;
}

/** The TaskManager Deployment (construct id `TaskManager`), spread over nodes. */
export function taskManagerDeployment(scope: Construct, pod: PodTemplateContext, o: TaskManagerOptions): k8s.KubeDeployment {
  const ports = [
    { name: 'rpc', containerPort: PORTS.taskManagerRpc },
    { name: 'data', containerPort: PORTS.taskManagerData },
    ...(o.metricsEnabled ? [{ name: 'metrics', containerPort: PORTS.metrics }] : []),
  ];
  const args = ['taskmanager', ...(pod.highAvailability ? ['-D', 'kubernetes.namespace=$(POD_NAMESPACE)'] : [])];
  const affinity = antiAffinity(checkAntiAffinity('taskManagerAntiAffinity', o.antiAffinity), selectorLabels(pod.name, 'taskmanager'));
  const d = new k8s.KubeDeployment(scope, 'TaskManager', {
    metadata: o.metadata,
    spec: {
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      selector: { matchLabels: selectorLabels(pod.name, 'taskmanager') },
      template: flinkPodTemplate(pod, 'taskmanager', {
        name: 'taskmanager',
        args,
        ports,
        resources: resources(o.cpuMillis, o.memoryMiB, o.cpuLimitMillis),
        ...rpcProbes(),
        readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('rpc') }, periodSeconds: 10, failureThreshold: 3 },
      }, affinity),
    },
  });
  bindPodTemplateValues(d, 'taskmanager', pod);
  const suspended = 'eq .Values.job.state "suspended"';
  // The count from taskManager.replicas, unless an HPA owns it; none while suspended.
  bindChartValues(d, [{
    path: 'spec.replicas',
    // taskManager.replicas defaults to the count as rendered
    valueDefault: true,
    expression: (_c, n) => (n === undefined ? (o.suspendable ? Tpl.ifSet(suspended, 0) : undefined)
      : Tpl.scalar(o.suspendable ? `{{ if ${suspended} }}0{{ else }}{{ .Values.taskManager.replicas }}{{ end }}` : '{{ .Values.taskManager.replicas }}')),
  }]);
  return d;
}
