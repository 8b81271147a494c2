import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../errors';
import { ResolvedIngress, ServiceAccountRef } from './access';
import type { ClusterModeSpec, NetworkAccess } from './flink-cluster';
import { selectorLabels, selectorValue } from './labels';
import { bindChartValues, Tpl } from '../chart-value';
import { PORTS } from './layout';
import { NetworkPeer, NetworkPolicyOptions, REST_CLIENT_LABEL } from './network-policy';
import { ServiceType } from './options';

/*
 * The cluster's objects besides the configuration and the Deployments: ServiceAccount and HA
 * RBAC, Services, PodDisruptionBudgets, Ingress, NetworkPolicy. Each builder creates its objects
 * in `scope` (the cluster) under fixed construct ids.
 */

/** Metadata of an object named `<name><suffix>`, with the recommended labels. */
export type Metadata = (suffix: string, component?: string) => { name: string; namespace?: string; labels: Record<string, string> };

/** The pods' ServiceAccount (generated or existing) and, with HA, the Role on ConfigMaps. */
export function serviceAccount(scope: Construct, ref: ServiceAccountRef | undefined, md: Metadata, namespace: string | undefined, highAvailability: boolean):
{ serviceAccount?: kplus.ServiceAccount; name: string; annotations: Record<string, string> } {
  const sa = ref ?? ServiceAccountRef.generated();
  if (!(sa instanceof ServiceAccountRef)) {
    throw new ValidationError('serviceAccount', sa, 'is invalid; expected ServiceAccountRef.generated({...annotations}) or ServiceAccountRef.existing("name")');
  }
  let subject: kplus.IServiceAccount;
  let generated: kplus.ServiceAccount | undefined;
  const annotations = { ...sa.annotations };
  let name: string;
  if (sa.existingName !== undefined) {
    subject = kplus.ServiceAccount.fromServiceAccountName(scope, 'ExistingServiceAccount', sa.existingName, { namespaceName: namespace });
    name = sa.existingName;
  } else {
    generated = new kplus.ServiceAccount(scope, 'ServiceAccount', {
      metadata: { ...md('-flink'), ...(Object.keys(sa.annotations).length ? { annotations: sa.annotations } : {}) },
      automountToken: highAvailability,
    });
    subject = generated;
    name = generated.name;
  }
  if (highAvailability) {
    // Flink's Kubernetes HA creates, watches and deletes ConfigMaps whose names it derives at run time
    // (cluster id and job id), so the rule cannot name them; it is limited to ConfigMaps in this namespace.
    const role = new kplus.Role(scope, 'HaRole', { metadata: md('-flink-ha') });
    role.allow(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], kplus.ApiResource.CONFIG_MAPS);
    const binding = new kplus.RoleBinding(scope, 'HaRoleBinding', { metadata: md('-flink-ha'), role });
    binding.addSubjects(subject);
  }
  return { ...(generated ? { serviceAccount: generated } : {}), name, annotations };
}

/** The `restServiceType` prop, checked, with its default. */
export function checkServiceType(type: ServiceType | undefined): ServiceType {
  const svcType = type ?? ServiceType.CLUSTER_IP;
  if (!Object.values(ServiceType).includes(svcType)) {
    throw new ValidationError('restServiceType', svcType, `is unknown; expected one of ${Object.values(ServiceType).join(', ')}`);
  }
  return svcType;
}

/**
 * `<name>-jobmanager` (RPC and blobs, ClusterIP) and `<name>-rest` (REST API and web UI).
 *
 * With standby JobManagers every JobManager serves REST, and an uploaded jar lives only on the one
 * that received it: `POST /jars/upload` then `/jars/:id/run` must reach the same JobManager (else
 * "Jar file ... does not exist"), so the REST Service keeps each client on one JobManager
 * (`sessionAffinity: ClientIP`), for the session jobs' submitters as for the web UI's uploads.
 */
export function services(scope: Construct, md: Metadata, name: string, svcType: ServiceType, jobManagerReplicas = 1): { jobManager: k8s.KubeService; rest: k8s.KubeService } {
  const jobManager = new k8s.KubeService(scope, 'JobManagerService', {
    metadata: md('-jobmanager', 'jobmanager'),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(name, 'jobmanager'),
      ports: [
        { name: 'rpc', port: PORTS.jobManagerRpc, targetPort: k8s.IntOrString.fromString('rpc') },
        { name: 'blob-server', port: PORTS.blobServer, targetPort: k8s.IntOrString.fromString('blob-server') },
      ],
    },
  });
  const rest = new k8s.KubeService(scope, 'RestService', {
    metadata: md('-rest', 'jobmanager'),
    spec: {
      type: svcType,
      selector: selectorLabels(name, 'jobmanager'),
      ports: [{ name: 'rest', port: PORTS.rest, targetPort: k8s.IntOrString.fromString('webui') }],
      ...(jobManagerReplicas > 1 ? { sessionAffinity: 'ClientIP' } : {}),
    },
  });
  for (const svc of [jobManager, rest]) bindChartValues(svc, [{ path: 'spec.selector', expression: selectorValue('jobmanager') }]);
  return { jobManager, rest };
}

/** One TaskManager (and, with standby JobManagers, one JobManager) evictable at a time. */
export function disruptionBudgets(scope: Construct, md: Metadata, name: string, jobManagerReplicas: number): void {
  // AlwaysAllow: a pod that is not ready protects nothing; without it a crash-looping pod
  // would block every node drain (the default policy only evicts it while the budget holds).
  const budget = (id: string, component: 'jobmanager' | 'taskmanager') => new k8s.KubePodDisruptionBudget(scope, id, {
    metadata: md(`-${component}`, component),
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(1),
      selector: { matchLabels: selectorLabels(name, component) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
  const bind = (b: k8s.KubePodDisruptionBudget, component: string) => bindChartValues(b, [{ path: 'spec.selector.matchLabels', expression: selectorValue(component) }]);
  bind(budget('TaskManagerBudget', 'taskmanager'), 'taskmanager');
  if (jobManagerReplicas > 1) bind(budget('JobManagerBudget', 'jobmanager'), 'jobmanager');
}

/** The Ingress routing `host` + `path` to the REST Service. */
export function ingress(scope: Construct, md: Metadata, o: ResolvedIngress, restServiceName: string): k8s.KubeIngress {
  const base = md('-rest', 'jobmanager');
  return new k8s.KubeIngress(scope, 'Ingress', {
    metadata: { ...base, ...(Object.keys(o.annotations).length ? { annotations: o.annotations } : {}) },
    spec: {
      ...(o.className ? { ingressClassName: o.className } : {}),
      ...(o.tlsSecretName ? { tls: [{ ...(o.host ? { hosts: [o.host] } : {}), secretName: o.tlsSecretName }] } : {}),
      rules: [{
        ...(o.host ? { host: o.host } : {}),
        http: { paths: [{ path: o.path, pathType: o.pathType, backend: { service: { name: restServiceName, port: { name: 'rest' } } } }] },
      }],
    },
  });
}

/** The components of an application cluster's own pods that call its REST API: the chart's hooks and its test. */
export const APPLICATION_REST_CLIENTS: readonly string[] = ['hooks', 'test'];

/**
 * The ingress rules of the cluster's pods. Kubelet probes need no rule: traffic from the
 * pod's own node is always allowed.
 */
export function networkPolicy(scope: Construct, md: Metadata, name: string, access: NetworkAccess, mode: ClusterModeSpec['mode'], metricsEnabled: boolean, clientComponents: readonly string[]): k8s.KubeNetworkPolicy {
  const own = { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['jobmanager', 'taskmanager'] }] };
  const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));
  const ownClients = mode === 'application'
    ? clientComponents.map((component) => ({ podSelector: { matchLabels: selectorLabels(name, component) } }))
    : [{ podSelector: { matchLabels: { [REST_CLIENT_LABEL]: name } } }];
  const policy = new k8s.KubeNetworkPolicy(scope, 'NetworkPolicy', {
    metadata: md(''),
    spec: {
      podSelector: own,
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: own }], ports: tcp(PORTS.jobManagerRpc, PORTS.blobServer, PORTS.taskManagerRpc, PORTS.taskManagerData) },
        { from: [...ownClients, ...(access.ingressController ? [access.ingressController._toPeer()] : []), ...access.restClients.map((p) => p._toPeer())], ports: tcp(PORTS.rest) },
        ...(metricsEnabled && access.metricsScrapers.length ? [{ from: access.metricsScrapers.map((p) => p._toPeer()), ports: tcp(PORTS.metrics) }] : []),
      ],
    },
  });
  // In the chart: the release's pods; the REST clients (the cluster's own, then networkPolicy.restClients
  // and the ingress controller) and the metrics scrapers from values. The metrics rule is there
  // whenever metrics are on, also when the definition's scrapers are empty and dist/ has none.
  const ownChart = (c: string, sel: Record<string, unknown>): Record<string, unknown> => ({ ...sel, matchLabels: selectorValue('')(c, undefined) });
  bindChartValues(policy, [
    { path: 'spec.podSelector', expression: ownChart },
    {
      path: 'spec.ingress',
      expression: (c, [peers, rest]: any[]) => [
        { ...peers, from: [{ podSelector: ownChart(c, peers.from[0].podSelector) }] },
        { ...rest, from: Tpl.block(`include "${c}.restClients" .`) },
        ...(metricsEnabled ? [Tpl.ifSet('.Values.networkPolicy.metricsScrapers', { from: Tpl.block('toYaml .Values.networkPolicy.metricsScrapers'), ports: [{ protocol: 'TCP', port: PORTS.metrics }] })] : []),
      ],
    },
  ]);
  return policy;
}

/** The `networkPolicy` options checked, with their defaults; the session REST exposure checked against its opt-in. */
export function resolveNetworkAccess(o: NetworkPolicyOptions, spec: ClusterModeSpec, svcType: ServiceType, ingress?: ResolvedIngress): NetworkAccess {
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
