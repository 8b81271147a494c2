/**
 * A host process behind the API server's aggregation layer, as an extension API server's pod
 * would be (metrics-server, prometheus-adapter; test/support/metrics-server.ts,
 * test/support/prometheus-adapter.ts):
 *
 * - a Service without a selector in kube-system and an EndpointSlice naming the process's address
 *   (the node's bridge address) and port, as a pod's would;
 * - one APIService per group version it serves, created only once kube-proxy routes the Service
 *   to the process (the aggregation layer keeps its connections: one opened before that would go
 *   elsewhere). The processes serve their own self-signed certificates, as their release
 *   manifests accept them (`insecureSkipTLSVerify`).
 */
import { exec, sleep } from './control-plane';
import { RealNode } from './node';

export interface GroupVersion {
  readonly group: string;
  readonly version: string;
}

/** The Service, EndpointSlice and APIServices that put a process at address:port behind `apis`. */
export function aggregatedApiObjects(name: string, address: string, port: number, apis: readonly GroupVersion[]): unknown[] {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'cdk8s-flink-tests' };
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'kube-system', labels }, spec: { ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name, namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'cdk8s-flink-tests' } },
      addressType: 'IPv4', endpoints: [{ addresses: [address], conditions: { ready: true } }], ports: [{ name: 'https', port, protocol: 'TCP' }],
    },
    ...apis.map(({ group, version }) => ({
      apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: `${version}.${group}`, labels },
      spec: { group, version, service: { name, namespace: 'kube-system', port: 443 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
    })),
  ];
}

/**
 * Registers the process listening on node.ip:port (serving `/livez`) for `apis`; resolves once
 * the APIServices exist. The returned function removes every object it created.
 */
export async function registerAggregatedApi(node: RealNode, name: string, port: number, apis: readonly GroupVersion[]): Promise<() => Promise<void>> {
  const objects = aggregatedApiObjects(name, node.ip, port, apis);
  const unregister = async () => {
    await node.cluster.kubectl(['delete', '--ignore-not-found', '--wait=false', ...apis.map((a) => `apiservice/${a.version}.${a.group}`)], { timeoutMs: 30_000 });
    await node.cluster.kubectl(['-n', 'kube-system', 'delete', '--ignore-not-found', '--wait=false', `service/${name}`, `endpointslice.discovery.k8s.io/${name}`], { timeoutMs: 30_000 });
  };
  const apply = async (items: unknown[]) => {
    const applied = await node.cluster.kubectl(['apply', '-f', '-'], { input: items.map((o) => JSON.stringify(o)).join('\n') });
    if (applied.code !== 0) throw new Error(`${name} objects: ${applied.stderr}`);
  };
  try {
    await apply(objects.slice(0, 2));
    const clusterIp = JSON.parse((await node.cluster.kubectl(['-n', 'kube-system', 'get', 'service', name, '-o', 'json'])).stdout).spec.clusterIP;
    let routed = false;
    for (const until = Date.now() + 60_000; !routed && Date.now() < until; await sleep(routed ? 0 : 1000)) {
      routed = (await exec('curl', ['-sk', '--max-time', '3', `https://${clusterIp}:443/livez`], { timeoutMs: 5_000 })).stdout.trim() === 'ok';
    }
    if (!routed) throw new Error(`the Service ${clusterIp}:443 did not reach ${name} at ${node.ip}:${port} within 60 s`);
    await apply(objects.slice(2));
    return unregister;
  } catch (e) {
    await unregister();
    throw e;
  }
}
