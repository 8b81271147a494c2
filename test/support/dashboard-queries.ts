import { Dashboard } from '../../lib/monitoring';

/** The values Grafana would put in for a dashboard's variables. */
export interface DashboardChoice {
  readonly namespace: string;
  /** The Flink cluster (the platform dashboard's `cluster` variable). */
  readonly cluster?: string;
  /** The job variable's regex. @default '.*' (All) */
  readonly job?: string;
}

/** A query with the variables as Grafana would render them (`$__rate_interval` as 1m). */
export function withChoice(expr: string, c: DashboardChoice): string {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$namespace/g, c.namespace)
    .replace(/\$cluster/g, c.cluster ?? '$cluster').replace(/\$job/g, c.job ?? '.*');
}

/** Every panel query of the dashboard, rendered for the choice. */
export function panelQueries(d: Dashboard, c: DashboardChoice): Array<{ panel: string; refId: string; expr: string }> {
  return d.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, refId: t.refId, expr: withChoice(t.expr, c) })));
}

/**
 * The query variables as PromQL: `label_values(<selector>, <label>)` becomes
 * `count by (<label>) (<selector>)`, whose series carry the values Grafana would list.
 */
export function variableQueries(d: Dashboard, c: DashboardChoice): Array<{ name: string; label: string; expr: string }> {
  return d.templating.list.filter((v) => v.type === 'query').map((v) => {
    const m = /^label_values\((.*), ([a-z_]+)\)$/.exec(String(v.definition));
    if (!m) throw new Error(`variable ${String(v.name)}: ${String(v.definition)} is not label_values(selector, label)`);
    return { name: String(v.name), label: m[2], expr: `count by (${m[2]}) (${withChoice(m[1], c)})` };
  });
}
