import { Duration, JsonPatch, Lazy } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { FlinkCluster } from '../cluster/flink-cluster';
import { recommendedLabels } from '../cluster/labels';
import { checkLabels, ValidationError } from '../errors';
import * as pm from '../imports/podmonitor-monitoring.coreos.com';
import * as pr from '../imports/prometheusrule-monitoring.coreos.com';
import * as sm from '../imports/servicemonitor-monitoring.coreos.com';
import {
  AlertRule, buildRules, FlinkAlertProps, MetricAlertOptions, metricAlertRule, resolveThresholds, RuleFile, ruleGroupName,
} from './alerts';
import { checkFolder, Dashboard, dashboardFileName, dashboardUid, resolvedDashboard } from './dashboard';
import { promDuration } from './promql';
import { METRICS_PATH, METRICS_PORT_NAME, prometheusScrapeAnnotations, relabelings, ScrapeMode } from './scrape';
import { IMonitoringTarget, MonitoringTarget, ResolvedTarget, resolveTarget } from './target';
import { CLUSTER_NAME, CLUSTER_NAMESPACE, ReleaseTexts } from '../release-text';

export interface FlinkMonitoringProps extends FlinkAlertProps {
  /** The cluster to monitor: a FlinkApplication, a FlinkSessionCluster, or any IMonitoringTarget. */
  readonly cluster: FlinkCluster | IMonitoringTarget;
  /** How Prometheus finds the pods. @default ScrapeMode.POD_MONITOR */
  readonly scrape?: ScrapeMode;
  /**
   * The `release` label on the PodMonitor, ServiceMonitor and PrometheusRule: kube-prometheus-stack
   * selects them by `release: <its Helm release name>`.
   * @default - none (the Prometheus must select monitors and rules without it)
   */
  readonly releaseLabel?: string;
  /** How often Prometheus scrapes the pods. @default - the Prometheus global scrape interval */
  readonly scrapeInterval?: Duration;
  /** The alerting rules (a PrometheusRule, or a rules ConfigMap with ScrapeMode.ANNOTATIONS). @default true */
  readonly alerts?: boolean;
  /** A Grafana dashboard ConfigMap for the Grafana sidecar. @default true */
  readonly dashboard?: boolean;
  /** The Grafana folder (annotation `grafana_folder`). @default 'Flink' */
  readonly dashboardFolder?: string;
  /** @default - `Flink / <namespace>/<name>` */
  readonly dashboardTitle?: string;
  /** Extra labels on every object. @default - none */
  readonly labels?: Record<string, string>;
}

/**
 * Prometheus and Grafana wiring for one Flink cluster: how Prometheus scrapes its JobManager
 * and TaskManagers (PodMonitor, ServiceMonitor or pod annotations), the alerting rules of
 * the cluster and its jobs, and a Grafana dashboard.
 *
 * ```ts
 * const app = new FlinkApplication(chart, 'audit-logs', { ... });
 * new FlinkMonitoring(chart, 'monitoring', { cluster: app, releaseLabel: 'kube-prometheus-stack' });
 * ```
 */
export class FlinkMonitoring extends Construct {
  /** What is monitored, with defaults filled in. */
  public readonly target: IMonitoringTarget;
  public readonly scrapeMode: ScrapeMode;
  /**
   * Pod annotations the cluster's pods need (ScrapeMode.ANNOTATIONS), empty otherwise. When
   * `cluster` is a FlinkCluster they are patched into its Deployments already.
   */
  public readonly podAnnotations: Record<string, string>;
  /** The Grafana dashboard model (when `dashboard` is on). */
  public readonly dashboard?: Dashboard;

  /** Escape hatches: the generated objects. */
  public readonly podMonitor?: pm.PodMonitor;
  public readonly serviceMonitor?: sm.ServiceMonitor;
  public readonly metricsService?: k8s.KubeService;
  public readonly prometheusRule?: pr.PrometheusRule;
  public readonly rulesConfigMap?: k8s.KubeConfigMap;
  public readonly dashboardConfigMap?: k8s.KubeConfigMap;

  /**
   * The generated text that embeds the cluster's name or namespace, with its token form: a chart
   * renders exactly these strings from the release. @internal
   */
  public readonly releaseTexts: ReleaseTexts;

  /** The target with tokens for its name and namespace: every generated text is built from it. */
  private readonly tokens: ResolvedTarget;
  /** The rules in token form. */
  private readonly rules: AlertRule[];
  private readonly alertLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: FlinkMonitoringProps) {
    super(scope, id);
    if (props === null || typeof props !== 'object') throw new ValidationError('props', props, 'is required; expected { cluster: ... }');
    const cluster = props.cluster;
    const t = resolveTarget(cluster instanceof FlinkCluster ? MonitoringTarget.fromCluster(cluster) : cluster);
    this.target = t;
    this.releaseTexts = new ReleaseTexts(t.name, t.namespace);
    this.tokens = tokenTarget(t);
    this.scrapeMode = props.scrape ?? ScrapeMode.POD_MONITOR;
    if (!Object.values(ScrapeMode).includes(this.scrapeMode)) {
      throw new ValidationError('scrape', this.scrapeMode, `is unknown; expected one of ${Object.values(ScrapeMode).map((m) => `ScrapeMode.${m.toUpperCase().replace(/-/g, '_')}`).join(', ')}`);
    }
    const release = props.releaseLabel;
    if (release !== undefined) {
      checkLabels('releaseLabel', { release });
      if (release === '') throw new ValidationError('releaseLabel', release, 'is empty; expected the Helm release name of kube-prometheus-stack, or no releaseLabel');
    }
    if (this.scrapeMode === ScrapeMode.ANNOTATIONS && release !== undefined) {
      throw new ValidationError('releaseLabel', release, 'is set with ScrapeMode.ANNOTATIONS, where no Prometheus Operator selects objects; remove it or use a PodMonitor');
    }
    const interval = props.scrapeInterval !== undefined ? promDuration('scrapeInterval', props.scrapeInterval) : undefined;
    const thresholds = resolveThresholds(props, t);
    this.alertLabels = thresholds.labels;
    this.rules = (props.alerts ?? true) ? buildRules(this.tokens, thresholds) : [];
    const folder = checkFolder('dashboardFolder', props.dashboardFolder ?? 'Flink');
    const userLabels = checkLabels('labels', props.labels);

    const md = (suffix: string, component: string, extra: Record<string, string> = {}, annotations?: Record<string, string>) => ({
      name: `${t.name}${suffix}`,
      ...(t.namespace ? { namespace: t.namespace } : {}),
      labels: {
        ...userLabels,
        ...recommendedLabels(t.name, t.version.toString(), t.partOf, component),
        ...(release !== undefined ? { release } : {}),
        ...extra,
      },
      ...(annotations ? { annotations } : {}),
    });

    // --- scraping
    const relabel = this.releaseTexts.literal(relabelings(this.tokens));
    if (this.scrapeMode === ScrapeMode.POD_MONITOR) {
      this.podMonitor = new pm.PodMonitor(this, 'PodMonitor', {
        metadata: md('-metrics', 'monitoring'),
        spec: {
          selector: { matchLabels: { ...t.selectorLabels } },
          podMetricsEndpoints: [{
            port: METRICS_PORT_NAME,
            path: METRICS_PATH,
            ...(interval ? { interval } : {}),
            relabelings: relabel.map((r) => ({ ...r, action: pm.PodMonitorSpecPodMetricsEndpointsRelabelingsAction.REPLACE })),
          }],
        },
      });
    } else if (this.scrapeMode === ScrapeMode.SERVICE_MONITOR) {
      const serviceLabels = { ...t.selectorLabels, 'app.kubernetes.io/component': 'metrics' };
      this.metricsService = new k8s.KubeService(this, 'MetricsService', {
        metadata: md('-metrics', 'metrics', t.selectorLabels),
        spec: {
          clusterIp: 'None',
          // scrape pods that are not ready too: a JobManager whose REST API is down still reports metrics
          publishNotReadyAddresses: true,
          selector: { ...t.selectorLabels },
          ports: [{ name: METRICS_PORT_NAME, port: t.metricsPort, targetPort: k8s.IntOrString.fromString(METRICS_PORT_NAME) }],
        },
      });
      this.serviceMonitor = new sm.ServiceMonitor(this, 'ServiceMonitor', {
        metadata: md('-metrics', 'monitoring'),
        spec: {
          selector: { matchLabels: serviceLabels },
          endpoints: [{
            port: METRICS_PORT_NAME,
            path: METRICS_PATH,
            ...(interval ? { interval } : {}),
            relabelings: relabel.map((r) => ({ ...r, action: sm.ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE })),
          }],
        },
      });
    }
    this.podAnnotations = this.scrapeMode === ScrapeMode.ANNOTATIONS ? prometheusScrapeAnnotations(t.metricsPort) : {};
    if (this.scrapeMode === ScrapeMode.ANNOTATIONS && cluster instanceof FlinkCluster) {
      // The annotations object always exists (checksum/config), so `add` of a key is valid.
      for (const d of [cluster.jobManagerDeployment, cluster.taskManagerDeployment]) {
        for (const [k, v] of Object.entries(this.podAnnotations)) {
          d.addJsonPatch(JsonPatch.add(`/spec/template/metadata/annotations/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, v));
        }
      }
    }

    // --- rules
    if (props.alerts ?? true) {
      if (this.scrapeMode === ScrapeMode.ANNOTATIONS) {
        this.rulesConfigMap = new k8s.KubeConfigMap(this, 'RulesConfigMap', {
          metadata: md('-prometheus-rules', 'monitoring'),
          data: Lazy.any({ produce: () => ({ [`${dashboardFileName(t).replace(/\.json$/, '')}.rules.yaml`]: stringify(this.ruleFile(), { lineWidth: 0 }) }) }) as any,
        });
      } else {
        this.prometheusRule = new pr.PrometheusRule(this, 'Rules', {
          metadata: md('-alerts', 'monitoring'),
          spec: {
            groups: Lazy.any({
              produce: () => this.ruleFile().groups.map((g) => ({
                name: g.name,
                rules: g.rules.map((r) => ({ ...r, expr: pr.PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
              })),
            }) as any,
          },
        });
      }
    }

    // --- dashboard
    if (props.dashboard ?? true) {
      // The uid stays the definition's: a release-based one could pass Grafana's 40 characters.
      const dashboard = resolvedDashboard(this.tokens, { title: props.dashboardTitle }, dashboardUid(t));
      this.dashboard = this.releaseTexts.literal(dashboard);
      const json = this.releaseTexts.literal(JSON.stringify(dashboard, null, 2) + '\n');
      this.dashboardConfigMap = new k8s.KubeConfigMap(this, 'Dashboard', {
        metadata: md('-dashboard', 'monitoring', { grafana_dashboard: '1' }, { grafana_folder: folder }),
        data: { [dashboardFileName(t)]: json },
      });
    }
  }

  /**
   * Adds a threshold alert on a metric of the catalog, scoped to this cluster like the
   * built-in ones, and returns the rule.
   */
  public addMetricAlert(options: MetricAlertOptions): AlertRule {
    const rule = metricAlertRule(this.tokens, options, this.alertLabels);
    if (this.rules.some((r) => r.alert === rule.alert)) {
      throw new ValidationError('alert', rule.alert, 'is already defined for this cluster; expected a unique alert name');
    }
    if (!this.prometheusRule && !this.rulesConfigMap) {
      throw new ValidationError('alert', rule.alert, 'cannot be added: alerts are off (alerts: false)');
    }
    this.rules.push(rule);
    return this.releaseTexts.literal(rule);
  }

  /** The cluster's rules as a plain Prometheus rule file (`groups:`), for promtool or a `rule_files` entry. */
  public ruleFile(): RuleFile {
    return this.releaseTexts.literal({ groups: this.rules.length ? [{ name: ruleGroupName(this.tokens), rules: [...this.rules] }] : [] });
  }
}

/** `t` with tokens for its name and namespace (also where a selector label carries the name). */
function tokenTarget(t: ResolvedTarget): ResolvedTarget {
  return {
    ...t,
    name: CLUSTER_NAME,
    namespace: t.namespace !== undefined ? CLUSTER_NAMESPACE : undefined,
    selectorLabels: Object.fromEntries(Object.entries(t.selectorLabels).map(([k, v]) => [k, v === t.name ? CLUSTER_NAME : v])),
  };
}
