/**
 * metrics-server for the tests' real node (test/support/node.ts): the resource metrics API
 * (`metrics.k8s.io`) that a HorizontalPodAutoscaler reads its CPU and memory metrics from.
 *
 * - METRICS_SERVER_VERSION built from the Go module proxy (test/support/node/metrics-server),
 *   cached like the node's other binaries;
 * - run as a process of this machine, not a pod (as the Prometheus Operator of the monitoring
 *   test), with the cluster administrator's kubeconfig, also as the client of the kubelet's
 *   `/metrics/resource` (which the kubelet authorizes through the API server);
 * - reached by the API server's aggregation layer (the front proxy the control plane configures)
 *   through the APIService `v1beta1.metrics.k8s.io` (test/support/aggregated-api.ts).
 */
import * as path from 'path';
import { AggregatedApiServer } from './aggregated-api';
import { goBuildCached, goModule, RealNode } from './node';

export const METRICS_SERVER_VERSION = 'v0.8.0';
const MODULE = 'sigs.k8s.io/metrics-server';
const NAME = 'metrics-server';
/** How often it scrapes each kubelet (its default is 60 s; 15 s is its documented minimum advice). */
const RESOLUTION_S = 15;

/** The binary, built once from test/support/node/metrics-server, cached. */
export async function ensureMetricsServer(): Promise<{ path: string; buildMs: Record<string, number> }> {
  const buildMs: Record<string, number> = {};
  const bin = await goBuildCached(goModule('metrics-server', MODULE, METRICS_SERVER_VERSION), ['node', 'metrics-server', METRICS_SERVER_VERSION], [NAME], [`${MODULE}/cmd/metrics-server`],
    `-s -w -X k8s.io/client-go/pkg/version.gitVersion=${METRICS_SERVER_VERSION}`, buildMs);
  return { path: path.join(bin, NAME), buildMs };
}

/**
 * metrics-server behind `metrics.k8s.io`; resolves once it serves the node's usage (two scrapes:
 * a CPU rate needs two samples).
 */
export function startMetricsServer(node: RealNode, binary: string, logFile: string, timeoutMs = 120_000): Promise<AggregatedApiServer> {
  return AggregatedApiServer.start(node, {
    name: NAME, binary, logFile, timeoutMs,
    args: () => [
      `--kubeconfig=${node.cluster.kubeconfig}`,
      // the kubelet's serving certificate is self-signed (no serving CA in this cluster)
      '--kubelet-insecure-tls', '--kubelet-preferred-address-types=InternalIP', '--kubelet-use-node-status-port',
      `--metric-resolution=${RESOLUTION_S}s`,
    ],
    apis: [{ group: 'metrics.k8s.io', version: 'v1beta1' }],
    waitingFor: `metrics.k8s.io served no usage of node ${node.name}`,
    ready: async () => {
      const r = await node.cluster.kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/nodes/${node.name}`], { timeoutMs: 10_000 });
      return r.code === 0 && JSON.parse(r.stdout).usage?.cpu ? undefined : (r.code === 0 ? r.stdout : r.stderr);
    },
  });
}
