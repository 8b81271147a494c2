import { ChartExpression, Tpl } from '../chart-value';

/** The `app.kubernetes.io/*` labels the toolkit puts on every object. */
export interface RecommendedLabels {
  readonly 'app.kubernetes.io/name': string;
  readonly 'app.kubernetes.io/instance': string;
  readonly 'app.kubernetes.io/version': string;
  readonly 'app.kubernetes.io/component'?: string;
  readonly 'app.kubernetes.io/part-of': string;
  readonly 'app.kubernetes.io/managed-by': string;
}

export const MANAGED_BY = 'cdk8s-flink';

export function recommendedLabels(name: string, version: string, partOf: string, component?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/version': version,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
    'app.kubernetes.io/part-of': partOf,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** Selector labels: stable across versions (never the version). */
export function selectorLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
  };
}

/** The selector labels in a chart: the release's name and instance (chart value of every selector). */
export function selectorValue(component: string): ChartExpression {
  return (c) => Tpl.block(`include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}")`);
}
