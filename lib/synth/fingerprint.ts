import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { CATALOG_DIR } from '../config/catalog';
import type { ReleaseUnit } from '../platform';
import { PACKAGE_VERSION } from '../version';

/**
 * What every unit's output depends on besides its own definition: the toolkit (its version, its
 * code and the option catalogs, so that a change without a new version counts too), the versions of
 * the libraries that render objects, and the dependency lock of the project in `cwd` (any
 * change in it rebuilds everything).
 */
export function toolkitFingerprint(cwd = process.cwd()): string {
  const h = createHash('sha256');
  h.update(`cdk8s-flink ${PACKAGE_VERSION}\n`);
  for (const lib of ['cdk8s', 'cdk8s-plus-27', 'constructs', 'yaml']) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    h.update(`${lib} ${require(`${lib}/package.json`).version}\n`);
  }
  const lock = path.join(cwd, 'package-lock.json');
  h.update(fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : 'no package-lock.json');
  // The toolkit's compiled code and the option catalogs it reads.
  for (const [rel, text] of toolkitFiles()) h.update(`${rel}\n`).update(text);
  return h.digest('hex');
}

let FILES: [string, string][] | undefined;

/** The toolkit's compiled code and the option catalogs (relative path, text), read once. */
export function toolkitFiles(): readonly [string, string][] {
  if (FILES) return FILES;
  const out: [string, string][] = [];
  for (const dir of [path.join(__dirname, '..'), CATALOG_DIR]) {
    const files: string[] = [];
    (function walk(d: string) {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(js|json|ya?ml|tpl|txt|properties)$/.test(e.name)) files.push(p);
      }
    })(dir);
    for (const f of files.sort()) out.push([path.relative(dir, f), fs.readFileSync(f, 'utf8')]);
  }
  return (FILES = out);
}

/**
 * The inputs of one unit's output, hashed: the toolkit fingerprint, the unit's synthesized
 * objects (everything of dist/<unit>/) and the fields of its construct and of the constructs of
 * other units it refers to (a session job's cluster), which the chart reads besides the objects.
 * Constructs below the unit's own are named by path only: their content is in the objects.
 */
export function unitHash(toolkit: string, unit: ReleaseUnit, objects: unknown[]): string {
  const h = createHash('sha256');
  h.update(`${toolkit}\n${unit.kind} ${unit.name}\n`);
  h.update(JSON.stringify(objects));
  h.update(JSON.stringify(snapshot(unit.construct, unit.construct, 0, new Set())));
  return h.digest('hex');
}

function snapshot(v: unknown, root: Construct, depth: number, seen: Set<object>): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  if (seen.has(v)) return '<cycle>';
  if (Construct.isConstruct(v) && v !== root) {
    // A construct of another unit (outside this unit's tree): its own fields, one level deep.
    const inside = v.node.scopes.includes(root);
    if (inside || depth > 0) return `<construct ${v.node.path}>`;
    return fields(v, v, depth + 1, seen);
  }
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [snapshot(k, root, depth, seen), snapshot(x, root, depth, seen)]);
  if (v instanceof Set) return [...v].map((x) => snapshot(x, root, depth, seen));
  if (Array.isArray(v)) {
    seen.add(v);
    const out = v.map((x) => snapshot(x, root, depth, seen));
    seen.delete(v);
    return out;
  }
  return fields(v, root, depth, seen);
}

function fields(v: object, root: Construct, depth: number, seen: Set<object>): Record<string, unknown> {
  seen.add(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'node' && Construct.isConstruct(v)) continue;
    out[k] = snapshot(x, root, depth, seen);
  }
  seen.delete(v);
  return out;
}
