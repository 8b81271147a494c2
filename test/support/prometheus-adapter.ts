/**
 * Custom and external metrics for the tests' real node (test/support/node.ts): what an HPA's
 * `Pods` and `External` metrics read, served from Flink's own metrics by a real Prometheus and
 * a real prometheus-adapter.
 *
 * - NodePrometheus: Prometheus (built from the Go module proxy, test/support/node-monitoring.ts;
 *   Debian's package has no Kubernetes service discovery) as a process of this machine, listening
 *   on 127.0.0.1. It finds the pods of one namespace through the API server (Kubernetes service
 *   discovery, role pod, the cluster administrator's kubeconfig) and scrapes each container port
 *   named `metrics` at the pod's IP on the node's bridge, with the labels the toolkit's rules and
 *   dashboards use (`namespace`, `pod`, `component`, `flink_cluster`).
 * - startPrometheusAdapter: prometheus-adapter PROMETHEUS_ADAPTER_VERSION (built from the Go module
 *   proxy, test/support/node/prometheus-adapter), a process of this machine behind the API
 *   server's aggregation layer (test/support/aggregated-api.ts) for `custom.metrics.k8s.io`
 *   (v1beta1, v1beta2) and `external.metrics.k8s.io` (v1beta1), with FLINK_ADAPTER_RULES.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { AggregatedApiServer } from './aggregated-api';
import { exec, freePorts, sleep } from './control-plane';
import { HostProcess } from './host-process';
import { goBuildCached, goModule, RealNode } from './node';

export const PROMETHEUS_ADAPTER_VERSION = 'v0.12.0';
const MODULE = 'sigs.k8s.io/prometheus-adapter';
const NAME = 'prometheus-adapter';

/** The pods metric: a TaskManager pod's busiest subtask, in ms per second (0-1000). */
export const BUSY_METRIC = 'flink_taskmanager_busy_time_ms_per_second';
/** The external metric: records the Kafka sources have not read yet, summed per namespace and cluster. */
export const PENDING_METRIC = 'flink_kafka_pending_records';
/** The pods metric of throughput: records a TaskManager pod's subtasks receive per second, summed. */
export const RECORDS_IN_METRIC = 'flink_taskmanager_records_in_per_second';
/** The external metric of throughput: records the cluster's subtasks receive per second, summed per namespace and cluster. */
export const CLUSTER_RECORDS_IN_METRIC = 'flink_cluster_records_in_per_second';

/**
 * The adapter's discovery rules (its config file): two pods metrics (busy time, records in per
 * second) and two external metrics (Kafka backlog, the cluster's records in per second) from the
 * series Flink's Prometheus reporter exports, as a platform team would declare them.
 */
export const FLINK_ADAPTER_RULES = {
  rules: [{
    seriesQuery: 'flink_taskmanager_job_task_busyTimeMsPerSecond{namespace!="",pod!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
    name: { matches: '^flink_taskmanager_job_task_busyTimeMsPerSecond$', as: BUSY_METRIC },
    metricsQuery: 'max by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})',
  }, {
    seriesQuery: 'flink_taskmanager_job_task_numRecordsInPerSecond{namespace!="",pod!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
    name: { matches: '^flink_taskmanager_job_task_numRecordsInPerSecond$', as: RECORDS_IN_METRIC },
    metricsQuery: 'sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})',
  }],
  externalRules: [{
    seriesQuery: 'flink_taskmanager_job_task_operator_pendingRecords{namespace!="",flink_cluster!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' } } },
    name: { matches: '^flink_taskmanager_job_task_operator_pendingRecords$', as: PENDING_METRIC },
    metricsQuery: 'sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})',
  }, {
    seriesQuery: 'flink_taskmanager_job_task_numRecordsInPerSecond{namespace!="",flink_cluster!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' } } },
    name: { matches: '^flink_taskmanager_job_task_numRecordsInPerSecond$', as: CLUSTER_RECORDS_IN_METRIC },
    metricsQuery: 'sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})',
  }],
};

/** The binary, built once from test/support/node/prometheus-adapter, cached. */
export async function ensurePrometheusAdapter(): Promise<{ path: string; buildMs: Record<string, number> }> {
  const buildMs: Record<string, number> = {};
  const bin = await goBuildCached(goModule('prometheus-adapter', MODULE, PROMETHEUS_ADAPTER_VERSION), ['node', NAME, PROMETHEUS_ADAPTER_VERSION], ['adapter'],
    [`${MODULE}/cmd/adapter`], '-s -w', buildMs);
  return { path: path.join(bin, 'adapter'), buildMs };
}

/** The scrape job: every container port named `metrics` of the pods in `namespace`. */
export function podScrapeConfig(namespace: string, kubeconfig: string, intervalS: number): Record<string, unknown> {
  const podLabel = (l: string) => `__meta_kubernetes_pod_label_${l.replace(/[^a-zA-Z0-9_]/g, '_')}`;
  return {
    global: { scrape_interval: `${intervalS}s`, scrape_timeout: `${intervalS}s`, evaluation_interval: `${intervalS}s` },
    scrape_configs: [{
      job_name: 'flink-pods',
      kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfig, namespaces: { names: [namespace] } }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'metrics' },
        { source_labels: ['__meta_kubernetes_pod_phase'], action: 'keep', regex: 'Running' },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: [podLabel('app.kubernetes.io/component')], target_label: 'component' },
        { source_labels: [podLabel('app.kubernetes.io/instance')], target_label: 'flink_cluster' },
      ],
    }],
  };
}

/** Prometheus as a process of this machine scraping the pods of one namespace; stop() ends it and removes its data. */
export class NodePrometheus {
  static async start(node: RealNode, binary: string, namespace: string, logFile: string, intervalS = 5): Promise<NodePrometheus> {
    const [port] = await freePorts(1);
    const dir = fs.mkdtempSync(path.join(node.workDir, 'prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, stringify(podScrapeConfig(namespace, node.cluster.kubeconfig, intervalS)));
    const proc = HostProcess.start(binary, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], logFile);
    const p = new NodePrometheus(proc, dir, `http://127.0.0.1:${port}`);
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500)) {
      if (proc.exitCode !== null) break;
      if ((await exec('curl', ['-sf', '-o', '/dev/null', `${p.url}/-/ready`], { timeoutMs: 5_000 })).code === 0) return p;
    }
    const why = proc.exitCode !== null ? `exited (${proc.exitCode})` : 'was not ready within 60 s';
    await p.stop();
    throw new Error(`Prometheus ${why}:\n${p.logs(30)}`);
  }

  private constructor(private readonly proc: HostProcess, private readonly dir: string, readonly url: string) {}

  /** An instant query's result vector. */
  async query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await exec('curl', ['-sf', '--max-time', '10', '--get', '--data-urlencode', `query=${expr}`, `${this.url}/api/v1/query`], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`Prometheus query ${expr}: curl exit ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout).data.result;
  }

  logs(lines: number): string {
    return this.proc.logs(lines);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** prometheus-adapter over `prometheusUrl`; resolves once the custom and external metrics APIs list their metrics. */
export function startPrometheusAdapter(node: RealNode, binary: string, prometheusUrl: string, logFile: string, timeoutMs = 120_000): Promise<AggregatedApiServer> {
  return AggregatedApiServer.start(node, {
    name: NAME, binary, logFile, timeoutMs,
    files: { 'config.yaml': stringify(FLINK_ADAPTER_RULES) },
    args: (dir) => [
      `--lister-kubeconfig=${node.cluster.kubeconfig}`,
      `--prometheus-url=${prometheusUrl}`, `--config=${path.join(dir, 'config.yaml')}`, '--metrics-relist-interval=10s', '--v=2',
    ],
    apis: [{ group: 'custom.metrics.k8s.io', version: 'v1beta1' }, { group: 'custom.metrics.k8s.io', version: 'v1beta2' }, { group: 'external.metrics.k8s.io', version: 'v1beta1' }],
    waitingFor: `the custom and external metrics APIs did not list ${BUSY_METRIC}, ${RECORDS_IN_METRIC}, ${PENDING_METRIC} and ${CLUSTER_RECORDS_IN_METRIC}`,
    ready: async () => {
      const listed: string[] = [];
      let last = '';
      for (const api of ['custom.metrics.k8s.io/v1beta2', 'external.metrics.k8s.io/v1beta1']) {
        const r = await node.cluster.kubectl(['get', '--raw', `/apis/${api}`], { timeoutMs: 10_000 });
        last = r.code === 0 ? r.stdout : r.stderr;
        if (r.code === 0) listed.push(...(JSON.parse(r.stdout).resources ?? []).map((x: any) => x.name as string));
      }
      return [`pods/${BUSY_METRIC}`, `pods/${RECORDS_IN_METRIC}`, PENDING_METRIC, CLUSTER_RECORDS_IN_METRIC].every((m) => listed.includes(m)) ? undefined : last;
    },
  });
}

const DECIMAL_SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A metric value as the metrics APIs write it (a Kubernetes quantity: `287500m`, `12`, `3k`) as a number. */
export function quantity(q: string): number {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E)?$/.exec(String(q).trim());
  if (!m) throw new Error(`not a decimal quantity: ${JSON.stringify(q)}`);
  return Number(m[1]) * DECIMAL_SUFFIX[m[2] ?? ''];
}
