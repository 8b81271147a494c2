import { ResolvedTarget } from './target';

/** How Prometheus finds the metrics endpoints of a cluster's pods. */
export enum ScrapeMode {
  /** A PodMonitor (Prometheus Operator) selecting the JobManager and TaskManager pods, port `metrics`. */
  POD_MONITOR = 'pod-monitor',
  /** A headless Service `<name>-metrics` exposing port `metrics` of both components, and a ServiceMonitor on it. */
  SERVICE_MONITOR = 'service-monitor',
  /**
   * `prometheus.io/scrape|port|path` pod annotations, for a Prometheus without the Operator
   * (its scrape config: `prometheusScrapeConfig()`). Rules go into a ConfigMap as a plain
   * rule file instead of a PrometheusRule.
   */
  ANNOTATIONS = 'annotations',
}

/** The metrics endpoint's path on Flink's PrometheusReporter (it answers on any path). */
export const METRICS_PATH = '/metrics';

/** The named container port of the reporter on JobManager and TaskManager containers. */
export const METRICS_PORT_NAME = 'metrics';

/** A relabeling rule, as written in a PodMonitor/ServiceMonitor (camelCase) . */
export interface Relabeling {
  readonly sourceLabels?: string[];
  readonly targetLabel: string;
  readonly action: 'replace';
  readonly regex?: string;
  readonly replacement?: string;
}

const INSTANCE_LABEL = 'app.kubernetes.io/instance';

/** Prometheus' meta label of a pod label: characters outside [a-zA-Z0-9_] become `_`. */
export function podLabelMeta(key: string): string {
  return `__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/**
 * Target labels every series of the cluster gets: `namespace`, `pod`, `component`
 * (`jobmanager` / `taskmanager`, from the pod label app.kubernetes.io/component) and
 * `flink_cluster` (the cluster's name: its pods' app.kubernetes.io/instance label), which the
 * rules and the dashboard match on.
 */
export function relabelings(t: ResolvedTarget): Relabeling[] {
  return [
    { sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace', action: 'replace' },
    { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod', action: 'replace' },
    { sourceLabels: [podLabelMeta('app.kubernetes.io/component')], targetLabel: 'component', action: 'replace' },
    // From the pod label when it carries the cluster's name (the toolkit's clusters, and their Helm
    // releases, where it is the release name); a fixed value for other targets.
    t.selectorLabels[INSTANCE_LABEL] === t.name
      ? { sourceLabels: [podLabelMeta(INSTANCE_LABEL)], targetLabel: 'flink_cluster', action: 'replace' }
      : { targetLabel: 'flink_cluster', replacement: t.name, action: 'replace' },
  ];
}

/** The pod annotations of ScrapeMode.ANNOTATIONS. */
export function prometheusScrapeAnnotations(port = 9249): Record<string, string> {
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(port),
    'prometheus.io/path': METRICS_PATH,
  };
}

/**
 * A Prometheus `scrape_configs` entry (plain Prometheus configuration, snake_case) for
 * clusters in ScrapeMode.ANNOTATIONS: it scrapes every pod annotated
 * `prometheus.io/scrape: "true"` that the toolkit manages, on its annotated port and path,
 * and gives the series the labels the rules and dashboards match on: `namespace`, `pod`,
 * `component` and `flink_cluster` (from the pod label app.kubernetes.io/instance).
 * Add it once to the Prometheus configuration, for every cluster.
 */
export function prometheusScrapeConfig(jobName = 'flink'): Record<string, unknown> {
  return {
    job_name: jobName,
    kubernetes_sd_configs: [{ role: 'pod' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
      { source_labels: [podLabelMeta('app.kubernetes.io/managed-by')], action: 'keep', regex: 'cdk8s-flink' },
      // One target per pod: the pod role yields one per container port; keep the metrics port's.
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'metrics' },
      {
        source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
        action: 'replace', regex: '(.+?)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__',
      },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', regex: '(.+)', target_label: '__metrics_path__' },
      { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
      { source_labels: [podLabelMeta('app.kubernetes.io/component')], action: 'replace', target_label: 'component' },
      { source_labels: [podLabelMeta('app.kubernetes.io/instance')], action: 'replace', target_label: 'flink_cluster' },
    ],
  };
}
