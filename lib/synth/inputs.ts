import * as path from 'path';
import { types } from 'util';
import { toolkitFiles } from './fingerprint';

/**
 * The inputs of a release unit as one canonical text, so that an unchanged unit can be known
 * without building its constructs. Strict: only values whose whole content is visible are
 * written; anything else (a function or closure, an accessor, a symbol key, a Map, a foreign
 * construct, an instance of a class that is not the toolkit's or cdk8s', a proxy) makes the
 * inputs unknown (`undefined`), and such a unit is always built.
 *
 * Written: primitives (with `undefined`, `-0`, `NaN` and bigints told apart), plain objects and
 * arrays with their keys in insertion order (code may depend on order), instances of known
 * classes with their class and every own field (private ones too), repeated references as
 * back-references (sharing is part of the input), and references to other units as the
 * caller's `unitRef` renders them.
 */
export function serializeInputs(value: unknown, unitRef: (o: object) => string | false | undefined): string | undefined {
  const seen = new Map<object, number>();
  let out = '';
  const walk = (v: unknown): boolean => {
    switch (typeof v) {
      case 'string': out += JSON.stringify(v); return true;
      case 'boolean': out += v ? 't' : 'f'; return true;
      case 'undefined': out += 'u'; return true;
      case 'bigint': out += `${v}n`; return true;
      case 'number': out += Object.is(v, -0) ? '-0' : String(v); return true;
      case 'object': break;
      default: return false; // function, symbol
    }
    if (v === null) {
      out += 'null';
      return true;
    }
    const ref = seen.get(v);
    if (ref !== undefined) {
      out += `@${ref}`;
      return true;
    }
    const unit = unitRef(v);
    if (unit === false) return false;
    if (unit !== undefined) {
      out += `<${unit}>`;
      return true;
    }
    if (types.isProxy(v)) return false;
    seen.set(v, seen.size);
    const proto = Object.getPrototypeOf(v);
    let tag: string;
    if (Array.isArray(v)) {
      if (proto !== Array.prototype) return false;
      tag = '[';
    } else if (proto === Object.prototype || proto === null) {
      tag = '{';
    } else {
      const name = knownClassName(proto);
      if (name === undefined) return false;
      tag = `${name}{`;
    }
    out += tag;
    const descriptors = Object.getOwnPropertyDescriptors(v);
    for (const key of Reflect.ownKeys(descriptors)) {
      if (typeof key === 'symbol') return false;
      const d = descriptors[key];
      if (!('value' in d)) return false; // an accessor: its value is code
      if (Array.isArray(v) && key === 'length') continue;
      out += `${JSON.stringify(key)}${d.enumerable ? ':' : '~'}`;
      if (!walk(d.value)) return false;
      out += ',';
    }
    out += tag === '[' ? ']' : '}';
    return true;
  };
  return walk(value) ? out : undefined;
}

let KNOWN: Map<object, string> | undefined;

/**
 * Classes whose instances may appear in inputs, by prototype: every class exported by a module
 * of the toolkit (the compiled lib/) or by cdk8s, cdk8s-plus-27 and constructs, and the
 * toolkit's unexported subclasses of those (found by their source text in the toolkit's code).
 * An instance is written with all its own fields; its methods are the toolkit's code, which the
 * toolkit fingerprint covers.
 */
function knownClasses(): Map<object, string> {
  if (KNOWN) return KNOWN;
  const known = new Map<object, string>();
  const libDir = path.join(__dirname, '..');
  const add = (where: string, exports: unknown) => {
    if (!exports || (typeof exports !== 'object' && typeof exports !== 'function')) return;
    for (const [k, c] of Object.entries(exports)) {
      if (typeof c === 'function' && c.prototype && !known.has(c.prototype)) known.set(c.prototype, `${where}.${k}`);
    }
  };
  for (const [file, m] of Object.entries(require.cache)) {
    if (m && file.startsWith(libDir + path.sep)) add(path.relative(libDir, file), m.exports);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const lib of ['cdk8s', 'cdk8s-plus-27', 'constructs']) add(lib, require(lib));
  KNOWN = known;
  return known;
}

let SOURCES: string | undefined;

/**
 * Registers the prototype of an unexported class of the toolkit met in inputs: known when its
 * parent is known and its source text is part of the toolkit's compiled code.
 */
function knownSubclass(proto: object): string | undefined {
  const known = knownClasses();
  const parent = Object.getPrototypeOf(proto);
  if (!parent || !known.has(parent) || !Object.prototype.hasOwnProperty.call(proto, 'constructor')) return undefined;
  const ctor = (proto as { constructor: unknown }).constructor;
  if (typeof ctor !== 'function') return undefined;
  SOURCES ??= toolkitFiles().filter(([f]) => f.endsWith('.js')).map(([, text]) => text).join('\n');
  const text = Function.prototype.toString.call(ctor);
  if (!SOURCES.includes(text)) return undefined;
  const name = `${known.get(parent)}>${ctor.name}`;
  known.set(proto, name);
  return name;
}

/** The name under which instances of `proto`'s class are written, or undefined when it is not known. */
export function knownClassName(proto: object): string | undefined {
  return knownClasses().get(proto) ?? knownSubclass(proto);
}

/**
 * Everything reachable from the libraries' exported surface that code run later could replace:
 * every exported value of the toolkit's modules, cdk8s, cdk8s-plus-27 and constructs, the own
 * members of exported classes and of their prototypes (up the chain), the fields of exported
 * objects, and the members of the JavaScript built-ins synthesis calls. Two snapshots differ
 * (see sameSnapshot) when an app patched any of them in between: a method replaced, a constant
 * changed.
 */
export function apiSnapshot(modules: readonly string[] = toolkitModules()): ApiSnapshot {
  const refs: unknown[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): void => {
    refs.push(v);
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v) || depth > 4) return;
    seen.add(v);
    const descriptors = Object.getOwnPropertyDescriptors(v);
    for (const key of Reflect.ownKeys(descriptors)) {
      const d = descriptors[key as string];
      refs.push(key, d.get, d.set);
      if ('value' in d) visit(d.value, depth + 1);
    }
    visit(Object.getPrototypeOf(v), depth + 1);
  };
  for (const file of modules) visit(require.cache[file]?.exports, 0);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const lib of ['cdk8s', 'cdk8s-plus-27', 'cdk8s-plus-27/lib/imports/k8s', 'constructs']) visit(require(lib), 0);
  for (const b of [Object, Array, String, Number, Boolean, Function, Map, Set, RegExp, JSON, Math, Reflect, Promise, Symbol]) visit(b, 0);
  return { modules, refs };
}

export interface ApiSnapshot {
  /** The toolkit's modules it covered (a later snapshot covers the same ones). */
  readonly modules: readonly string[];
  readonly refs: readonly unknown[];
}

/** The toolkit's modules loaded so far. */
function toolkitModules(): string[] {
  const libDir = path.join(__dirname, '..');
  return Object.keys(require.cache).filter((file) => file.startsWith(libDir + path.sep)).sort();
}

/** Whether the libraries' surface is still what `before` saw. */
export function unchangedSince(before: ApiSnapshot): boolean {
  const now = apiSnapshot(before.modules).refs;
  return now.length === before.refs.length && now.every((x, i) => Object.is(x, before.refs[i]));
}
