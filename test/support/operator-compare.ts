/**
 * Comparing an operator example's resources with the toolkit's operator output leaf by leaf,
 * and reading the README guide's list of what each example handles differently.
 */
import * as assert from 'node:assert/strict';

export const GUIDE_HEADING = '### Migrating from the operator\'s examples';

export type Json = any;

/** A path segment: plain, or `["a.b"]` when the key has a dot or slash. */
function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? `.${k}` : `["${k}"]`;
}

/** Array elements by their mount path or name (the operator merges pod templates by name), else by index. */
function element(v: Json, i: number): string {
  const id = v?.mountPath ?? v?.name;
  return `[${typeof id === 'string' ? id : i}]`;
}

/** The leaves of an object: path → scalar, or `{}` / `[]` for an empty object or array. */
export function leaves(v: Json, prefix: string, out = new Map<string, Json>()): Map<string, Json> {
  if (Array.isArray(v)) {
    if (!v.length) out.set(prefix, []);
    v.forEach((x, i) => leaves(x, `${prefix}${element(x, i)}`, out));
  } else if (v !== null && typeof v === 'object') {
    if (!Object.keys(v).length) out.set(prefix, {});
    for (const [k, x] of Object.entries(v)) leaves(x, `${prefix}${key(k)}`, out);
  } else {
    out.set(prefix, v);
  }
  return out;
}

/** Nested Flink configuration (the operator reads `state: { checkpoints.dir: ... }` as `state.checkpoints.dir`), values as strings. */
function flatConfig(v: Json, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, x] of Object.entries(v ?? {})) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === 'object') flatConfig(x, name, out);
    else out[name] = String(x);
  }
  return out;
}

/**
 * An example's resource in the form the toolkit writes, meaning the same to the operator: the
 * Flink configuration flattened, `resources.requests` of a component as its `resource`.
 */
function normalized(doc: Json): Json {
  const d = structuredClone(doc);
  if (d.spec?.flinkConfiguration) d.spec.flinkConfiguration = flatConfig(d.spec.flinkConfiguration);
  for (const c of ['jobManager', 'taskManager']) {
    const requests = d.spec?.[c]?.resources?.requests;
    if (!requests) continue;
    d.spec[c].resource = { ...(requests.cpu !== undefined ? { cpu: Number(requests.cpu) } : {}), ...(requests.memory !== undefined ? { memory: requests.memory } : {}) };
    delete d.spec[c].resources.requests;
    if (!Object.keys(d.spec[c].resources).length) delete d.spec[c].resources;
  }
  return d;
}

/** Where the toolkit's output carries an example's leaf: `spec.podTemplate` is merged into both components' templates. */
function targets(p: string): string[] {
  const shared = '.spec.podTemplate';
  if (!p.startsWith(shared)) return [p];
  return ['.spec.jobManager.podTemplate', '.spec.taskManager.podTemplate'].map((t) => t + p.slice(shared.length));
}

/** README: per example (its `#### <path>` heading), the paths it lists as handled differently. */
export function guideDifferences(readme: string): Map<string, string[]> {
  const start = readme.indexOf(GUIDE_HEADING);
  assert.ok(start >= 0, `README has "${GUIDE_HEADING}"`);
  const rest = readme.slice(start + GUIDE_HEADING.length);
  const end = rest.search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const out = new Map<string, string[]>();
  for (const part of section.split(/\n#### /).slice(1)) {
    const name = part.slice(0, part.indexOf('\n')).trim().replace(/^`|`$/g, '');
    const paths = part.split('\n').filter((l) => /^\| `/.test(l)).flatMap((l) => [...l.split('|')[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    out.set(name, paths);
  }
  return out;
}

export function covered(kindPath: string, listed: string[]): string | undefined {
  return listed.find((l) => kindPath === l || kindPath.startsWith(`${l}.`) || kindPath.startsWith(`${l}[`));
}

export interface Comparison {
  /** Leaves that differ or are missing, as `Kind.path`, with the example's and the toolkit's values. */
  readonly differing: { path: string; example: Json; toolkit: Json }[];
  /** Leaves compared. */
  readonly compared: number;
}

/** Every leaf of the example's documents against the toolkit's objects of the same kind and name (or the one of that kind). */
export function compare(examples: Json[], output: Json[]): Comparison {
  const differing: Comparison['differing'] = [];
  let compared = 0;
  for (const doc of examples) {
    const same = output.filter((o) => o.kind === doc.kind);
    const match = same.find((o) => o.metadata?.name === doc.metadata?.name) ?? (same.length === 1 ? same[0] : undefined);
    const mine = match ? leaves(match, doc.kind) : new Map<string, Json>();
    for (const [p, v] of leaves(normalized(doc), '')) {
      compared++;
      for (const t of targets(p)) {
        const got = mine.get(doc.kind + t);
        const equal = typeof v === 'object' ? JSON.stringify(v) === JSON.stringify(got) : got !== undefined && String(got) === String(v);
        if (!equal && !differing.some((d) => d.path === doc.kind + p)) differing.push({ path: doc.kind + p, example: v, toolkit: got });
      }
    }
  }
  return { differing, compared };
}

