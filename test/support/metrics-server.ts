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
 *   through the APIService `v1beta1.metrics.k8s.io` (test/support/aggregated-api.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { registerAggregatedApi } from './aggregated-api';
import { freePorts, goModRequires, sleep } from './control-plane';
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
    const m = new MetricsServer(proc, certDir);
    try {
      m.unregister = await registerAggregatedApi(node, NAME, port, [{ group: 'metrics.k8s.io', version: 'v1beta1' }]);
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

  private unregister?: () => Promise<void>;

  private constructor(private readonly proc: HostProcess, private readonly certDir: string) {}

  logs(lines: number): string {
    return this.proc.logs(lines);
  }

  async stop(): Promise<void> {
    await this.unregister?.();
    await this.proc.stop();
    fs.rmSync(this.certDir, { recursive: true, force: true });
  }
}
