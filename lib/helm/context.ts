import { FlinkApplication } from '../application';
import { FlinkCluster } from '../cluster/flink-cluster';
import { FlinkMonitoring } from '../monitoring/flink-monitoring';
import { KafkaTls } from '../pipeline/pipeline';
import { TplBlock, TplScalar } from '../synth/yaml';


/** What every part of a chart's rendering shares: the unit being rendered, template scalars and blocks, names. */

export const HOOK_UID = 10001;

export const T = (expr: string) => new TplScalar(expr);

export const B = (expr: string) => new TplBlock(expr);

export function clone<X>(x: X): X {
  return JSON.parse(JSON.stringify(x));
}

export interface Ctx {
  readonly name: string;
  readonly c: string;
  readonly app?: FlinkApplication;
  readonly cluster: FlinkCluster;
  /** `Kind/name` of every object the unit generates: the only ones references are renamed to (lib/helm/references.ts). */
  readonly generated: ReadonlySet<string>;
  /** The cluster's monitoring: which objects are its own, and its text that follows the release (lib/release-text.ts). */
  readonly monitoring?: FlinkMonitoring;
  /**
   * The Kafka certificate authorities the model declares, by pod volume name: the volumes
   * KafkaTls.volume() made among the cluster's (an application's from its pipeline,
   * BoundJob.volumes; a session cluster's from its own volumes). Only these take `kafkaTls` values.
   */
  readonly kafkaCas: ReadonlyMap<string, KafkaTls>;
}

/** A Go template string literal. */
export function goString(s: string): string {
  return JSON.stringify(s);
}

/**
 * The Flink configuration's ConfigMap, a template of its own: the pods' `checksum/config`
 * annotation is the hash of this file as rendered (see helpers.ts), so nothing else may be in it.
 */
export const FLINK_CONFIG_TEMPLATE = 'flink-config.yaml';

/** An object's chart metadata: the release-based name, the release namespace, the recommended labels (beyond them the object's own), its annotations. */
export function baseMetadata(o: any, name: string, c: string, extra: Record<string, unknown> = {}): any {
  const component = o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
  // Labels beyond the recommended ones (grafana_dashboard, ...) stay; `release` comes from values.
  const others = Object.entries(o.metadata.labels ?? {}).filter(([k]) => !k.startsWith('app.kubernetes.io/') && k !== 'release');
  const extraLabels = others.length ? ` "extra" (dict ${others.map(([k, v]) => `${JSON.stringify(k)} ${JSON.stringify(v)}`).join(' ')})` : '';
  return {
    name: T(`{{ include "${c}.fullname" . }}${o.metadata.name.slice(name.length)}`),
    namespace: T('{{ .Release.Namespace }}'),
    labels: B(`include "${c}.labels" (dict "ctx" $ "component" "${component}"${extraLabels})`),
    ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
    ...extra,
  };
}
