import { isDeepStrictEqual } from 'util';
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { getAll, mapAt, parsePath } from './object-path';
import { TplBlock, TplIf, TplScalar } from './synth/yaml';

/**
 * Chart values in the model. The construct that builds a field of a Kubernetes object also says
 * what the field is in the Helm chart: one declaration, two renderings. The object's JSON holds
 * the field's literal (dist/, and any plain cdk8s App); the chart renders the declared template
 * expression in its place (charts/). Nothing else of the object changes, and a field an escape
 * hatch (a JSON patch) changed is the user's: both outputs carry it as patched (unless the value's
 * default is that field as patched, `valueDefault`).
 */

/**
 * How a field renders in a chart, given the chart's name (the prefix of its helpers) and the
 * field's literal as the model built it (undefined when the model left it out).
 */
export type ChartExpression = (chart: string, literal: any) => unknown;

export interface ChartValueBinding {
  /** The field, as a path into the object's JSON (lib/object-path.ts). */
  readonly path: string;
  readonly expression: ChartExpression;
  /** Render the field after the object's other keys (scheduling fields after a pod's containers). */
  readonly last?: boolean;
  /**
   * The value's default in values.yaml is read from this very field as rendered (patches
   * included): a patched field is then still the expression, its value defaulting to the patch.
   */
  readonly valueDefault?: boolean;
}

type Producer = () => readonly ChartValueBinding[];

const BINDINGS = new WeakMap<IConstruct, Producer[]>();

/**
 * Declares chart values of `obj`'s fields. `bindings` may be a function: it runs at rendering,
 * for fields whose items the model adds after construction (volumes).
 */
export function bindChartValues(obj: ApiObject, bindings: readonly ChartValueBinding[] | Producer): void {
  const list = BINDINGS.get(obj) ?? [];
  list.push(typeof bindings === 'function' ? bindings : () => bindings);
  BINDINGS.set(obj, list);
}

/** The chart values declared for `obj`, in declaration order (a later one of the same path wins). */
export function chartValueBindings(obj: ApiObject): ChartValueBinding[] {
  return (BINDINGS.get(obj) ?? []).flatMap((p) => p());
}

/**
 * `json` (the object as rendered, patches applied) with its chart values as template expressions.
 * `model` is the object as the model alone built it: a field where the two differ was changed by
 * an escape hatch and stays as it is.
 */
export function renderChartValues(obj: ApiObject, json: any, chart: string, model: any = json): any {
  let out = json;
  for (const b of chartValueBindings(obj)) {
    const path = parsePath(b.path);
    if (!b.valueDefault && model !== json && !isDeepStrictEqual(getAll(model, path), getAll(json, path))) continue;
    out = mapAt(out, path, (literal) => b.expression(chart, literal), { create: true, last: b.last });
  }
  return out;
}

/**
 * The object as its constructs built it, before its JSON patches (the JSON itself when it has
 * none): what chart values are compared against.
 */
export function unpatchedJson(obj: ApiObject, json: any): any {
  const patches = (obj as unknown as { patches: unknown[] }).patches;
  if (!patches?.length) return json;
  const saved = patches.splice(0, patches.length);
  try {
    return obj.toJson();
  } finally {
    patches.push(...saved);
  }
}

/** Template expressions chart values are built from. */
export const Tpl = {
  /** A scalar: `{{ ... }}` text in place of the value. */
  scalar: (text: string) => new TplScalar(text),
  /** A block: the YAML an expression (an include, toYaml) renders, indented in place. */
  block: (expr: string) => new TplBlock(expr),
  /** The field only when `cond` holds, with `value` then. */
  ifSet: (cond: string, value: unknown) => new TplIf(cond, value),
  /** A field set from values as YAML, left out when the value is empty. */
  yamlIfSet: (values: string) => new TplIf(values, new TplBlock(`toYaml ${values}`)),
};
