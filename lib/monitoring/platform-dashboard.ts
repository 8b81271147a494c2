import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { recommendedLabels } from '../cluster/labels';
import { checkLabels, checkName } from '../errors';
import { PACKAGE_VERSION } from '../version';
import { checkFolder, Dashboard, platformDashboard, PlatformDashboardOptions, stableUid } from './dashboard';

/** The label Grafana's dashboard sidecar selects ConfigMaps by (kube-prometheus-stack's default). */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

export interface FlinkPlatformDashboardProps {
  /** The ConfigMap's name (and its `app.kubernetes.io/name`); at most 53 characters, as a Helm release name. */
  readonly name: string;
  /**
   * The ConfigMap's namespace, which is also the namespace the dashboard's `namespace` variable
   * starts on.
   * @default - none: the namespace `kubectl` or `helm` is told
   */
  readonly namespace?: string;
  /** Written to `app.kubernetes.io/part-of`. @default 'flink' */
  readonly partOf?: string;
  /** The Grafana folder (annotation `grafana_folder`). @default 'Flink' */
  readonly folder?: string;
  /** The dashboard's title. @default - `Flink / <partOf>` */
  readonly title?: string;
  /** Tags shown in Grafana's dashboard list. @default ['flink'] */
  readonly tags?: string[];
  /** Extra labels on the ConfigMap. @default - none */
  readonly labels?: Record<string, string>;
}

/**
 * The Grafana dashboard of every Flink cluster of a platform (platformDashboard) as a ConfigMap
 * for the Grafana sidecar: labelled `grafana_dashboard: "1"`, its folder in the
 * `grafana_folder` annotation. The dashboard names no cluster or job: its variables pick them.
 */
export class FlinkPlatformDashboard extends Construct {
  /** The dashboard model. */
  public readonly dashboard: Dashboard;
  /** The key of the dashboard's JSON in the ConfigMap. */
  public readonly fileName: string;
  public readonly folder: string;
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: FlinkPlatformDashboardProps) {
    super(scope, id);
    const name = checkName('dashboard name', props.name, 53);
    if (props.namespace !== undefined) checkName('namespace', props.namespace, 63);
    const partOf = props.partOf ?? 'flink';
    this.folder = checkFolder('dashboard folder', props.folder ?? 'Flink');
    const labels = checkLabels('dashboard labels', props.labels);
    const options: PlatformDashboardOptions = {
      title: props.title ?? `Flink / ${partOf}`,
      tags: props.tags,
      namespace: props.namespace,
      uid: stableUid(`flink-${name}`),
    };
    this.dashboard = platformDashboard(options);
    this.fileName = `${name}.json`;
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: {
        name,
        ...(props.namespace ? { namespace: props.namespace } : {}),
        labels: { ...labels, ...recommendedLabels(name, PACKAGE_VERSION, partOf, 'monitoring'), [GRAFANA_DASHBOARD_LABEL]: '1' },
        annotations: { grafana_folder: this.folder },
      },
      data: { [this.fileName]: JSON.stringify(this.dashboard, null, 2) + '\n' },
    });
  }
}
