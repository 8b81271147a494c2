/**
 * Paths into JSON objects, the grammar the chart's value bindings (lib/chart-value.ts) and its
 * release references (lib/helm/references.ts) are declared in: dot-separated keys; `key[]` walks
 * every item of a list; `key[field=value]` only the items whose `field` is `value`.
 */

export interface Segment {
  readonly key: string;
  readonly each: boolean;
  readonly where?: readonly [string, string];
}

export function parsePath(path: string): Segment[] {
  return path.split('.').map((s) => {
    const m = /^([^[\]]+)(?:\[(?:([^=\]]+)=([^\]]*))?\])?$/.exec(s);
    if (!m) throw new Error(`object path ${path}: bad segment ${s}`);
    return { key: m[1], each: s.endsWith(']'), where: m[2] !== undefined ? [m[2], m[3]] as const : undefined };
  });
}

const plain = (node: unknown): node is Record<string, any> => node !== null && typeof node === 'object' && (node as object).constructor === Object;

/**
 * A copy of `node` with `fn` applied to the values at `path`; untouched branches are shared,
 * template nodes are not entered. With `create`, a missing last key is added (at the end of its
 * object) when `fn` gives something other than undefined; with `last`, the key is moved there.
 */
export function mapAt(node: any, path: readonly Segment[], fn: (v: unknown) => unknown, o: { create?: boolean; last?: boolean } = {}): any {
  if (path.length === 0) return fn(node);
  if (!plain(node)) return node;
  const [seg, ...rest] = path;
  if (!(seg.key in node) && !(o.create && rest.length === 0 && !seg.each)) return node;
  const v = node[seg.key];
  let next: unknown;
  if (seg.each) {
    if (!Array.isArray(v)) return node;
    next = v.map((x) => (matches(seg, x) ? mapAt(x, rest, fn, o) : x));
  } else {
    next = mapAt(v, rest, fn, o);
  }
  if (rest.length === 0 && o.last) {
    const { [seg.key]: _, ...others } = node;
    void _;
    return next === undefined ? others : { ...others, [seg.key]: next };
  }
  if (next === v) return node;
  if (next === undefined) {
    const { [seg.key]: _, ...others } = node;
    void _;
    return others;
  }
  return { ...node, [seg.key]: next };
}

/** Every value at `path`, in document order (undefined where the last key is missing). */
export function getAll(node: any, path: readonly Segment[]): unknown[] {
  if (path.length === 0) return [node];
  if (!plain(node)) return [];
  const [seg, ...rest] = path;
  const v = node[seg.key];
  if (!seg.each) return rest.length === 0 ? [v] : getAll(v, rest);
  if (!Array.isArray(v)) return [];
  return v.filter((x) => matches(seg, x)).flatMap((x) => getAll(x, rest));
}

function matches(seg: Segment, x: any): boolean {
  return !seg.where || (plain(x) && x[seg.where[0]] === seg.where[1]);
}
