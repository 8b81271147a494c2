/**
 * metrics-server for the tests' real node (test/support/node.ts): the resource metrics API
 * (`metrics.k8s.io`) that a HorizontalPodAutoscaler reads its CPU and memory metrics from.
 *
 * - METRICS_SERVER_VERSION built from the Go module proxy (test/support/node/metrics-server),
 *   cached like the node's other binaries;
 * - run as a process of this machine, not a pod (as the Prometheus Operator of the monitoring
 *   test), with the cluster administrator's kubeconfig: for the API server, for the delegated
 *   authentication and authorization of the requests the aggregation layer forwards, and as the
 *   client of the kubelet's `/metrics/resource` (which the kubelet authorizes through the API
 *   server); its serving address is the node's bridge address;
 * - reached by the API server's aggregation layer (the front proxy the control plane configures)
 *   through the APIService `v1beta1.metrics.k8s.io`, a Service without a selector in kube-system
 *   and an EndpointSlice naming that address and port, as a pod's would; the APIService is
 *   created once kube-proxy routes the Service (the aggregation layer keeps its connections).
 */
import * as fs from 'fs';
import * as path from 'path';
import { exec, freePorts, goModRequires, sleep } from './control-plane';
import { HostProcess } from './host-process';
import { goBuildCached, nodeGoDir, RealNode } from './node';

export const METRICS_SERVER_VERSION = 'v0.8.0';
const MODULE = 'sigs.k8s.io/metrics-server';
const NAME = 'metrics-server';
/** How often it scrapes each kubelet (its default is 60 s; 15 s is its documented minimum advice). */
const RESOLUTION_S = 15;

/** The binary, built once from test/support/node/metrics-server, cached. */
export async function ensureMetricsServer(): Promise<{ path: string; buildMs: Record<string, number> }> {
  const mod = path.join(nodeGoDir(), 'metrics-server');
  if (goModRequires(path.join(mod, 'go.mod')).get(MODULE) !== METRICS_SERVER_VERSION) {
    throw new Error(`${mod}/go.mod does not require ${MODULE} ${METRICS_SERVER_VERSION}: run ${mod}/gen-go-mod.sh ${METRICS_SERVER_VERSION}`);
  }
  const buildMs: Record<string, number> = {};
  const bin = await goBuildCached(mod, ['node', 'metrics-server', METRICS_SERVER_VERSION], [NAME], [`${MODULE}/cmd/metrics-server`],
    `-s -w -X k8s.io/client-go/pkg/version.gitVersion=${METRICS_SERVER_VERSION}`, buildMs);
  return { path: path.join(bin, NAME), buildMs };
}

/** The Service, EndpointSlice and APIService that put the process behind `metrics.k8s.io`. */
export function metricsServerObjects(address: string, port: number): unknown[] {
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/managed-by': 'cdk8s-flink-tests' };
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: NAME, namespace: 'kube-system', labels }, spec: { ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: NAME, namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/service-name': NAME, 'endpointslice.kubernetes.io/managed-by': 'cdk8s-flink-tests' } },
      addressType: 'IPv4', endpoints: [{ addresses: [address], conditions: { ready: true } }], ports: [{ name: 'https', port, protocol: 'TCP' }],
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.metrics.k8s.io', labels },
      // metrics-server's own self-signed serving certificate, as its release manifest accepts it
      spec: { group: 'metrics.k8s.io', version: 'v1beta1', service: { name: NAME, namespace: 'kube-system', port: 443 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
    },
  ];
}

/** metrics-server as a process behind the API server's aggregation layer; stop() removes it and its objects. */
export class MetricsServer {
  /**
   * Starts it and resolves once `metrics.k8s.io` serves the node's usage (two scrapes: a CPU
   * rate needs two samples).
   */
  static async start(node: RealNode, binary: string, logFile: string, timeoutMs = 120_000): Promise<MetricsServer> {
    const [port] = await freePorts(1);
    const certDir = fs.mkdtempSync(path.join(node.workDir, 'metrics-server-'));
    const kubeconfig = node.cluster.kubeconfig;
    const proc = HostProcess.start(binary, [
      `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${node.ip}`, `--secure-port=${port}`, `--cert-dir=${certDir}`,
      // the kubelet's serving certificate is self-signed (no serving CA in this cluster)
      '--kubelet-insecure-tls', '--kubelet-preferred-address-types=InternalIP', '--kubelet-use-node-status-port',
      `--metric-resolution=${RESOLUTION_S}s`,
    ], logFile);
    const m = new MetricsServer(node, proc, certDir);
    try {
      const apply = async (objects: unknown[]) => {
        const applied = await node.cluster.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
        if (applied.code !== 0) throw new Error(`metrics-server objects: ${applied.stderr}`);
      };
      const [service, slice, apiService] = metricsServerObjects(node.ip, port);
      await apply([service, slice]);
      // The APIService only once kube-proxy routes the Service to the process: a connection the
      // aggregation layer opened before that would go elsewhere, and it keeps its connections.
      const clusterIp = JSON.parse((await node.cluster.kubectl(['-n', 'kube-system', 'get', 'service', NAME, '-o', 'json'])).stdout).spec.clusterIP;
      let routed = false;
      for (const until = Date.now() + 60_000; !routed && Date.now() < until; await sleep(routed ? 0 : 1000)) {
        routed = (await exec('curl', ['-sk', '--max-time', '3', `https://${clusterIp}:443/livez`], { timeoutMs: 5_000 })).stdout.trim() === 'ok';
      }
      if (!routed) throw new Error(`the Service ${clusterIp}:443 did not reach metrics-server at ${node.ip}:${port} within 60 s`);
      await apply([apiService]);
      let last = '';
      for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(2000)) {
        if (proc.exitCode !== null) throw new Error(`metrics-server exited (${proc.exitCode}):\n${m.logs(30)}`);
        const r = await node.cluster.kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/nodes/${node.name}`], { timeoutMs: 10_000 });
        last = r.code === 0 ? r.stdout : r.stderr;
        if (r.code === 0 && JSON.parse(r.stdout).usage?.cpu) return m;
      }
      throw new Error(`metrics.k8s.io served no usage of node ${node.name} within ${timeoutMs / 1000} s (last answer: ${last.trim().slice(0, 500)}):\n${m.logs(30)}`);
    } catch (e) {
      await m.stop();
      throw e;
    }
  }

  private constructor(private readonly node: RealNode, private readonly proc: HostProcess, private readonly certDir: string) {}

  logs(lines: number): string {
    return this.proc.logs(lines);
  }

  async stop(): Promise<void> {
    await this.node.cluster.kubectl(['delete', '--ignore-not-found', '--wait=false', 'apiservice/v1beta1.metrics.k8s.io'], { timeoutMs: 30_000 });
    await this.node.cluster.kubectl(['-n', 'kube-system', 'delete', '--ignore-not-found', '--wait=false', `service/${NAME}`, `endpointslice.discovery.k8s.io/${NAME}`], { timeoutMs: 30_000 });
    await this.proc.stop();
    fs.rmSync(this.certDir, { recursive: true, force: true });
  }
}
