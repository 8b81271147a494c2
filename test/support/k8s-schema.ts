/**
 * A strict Kubernetes schema validator for generated manifests, built from the
 * real OpenAPI spec of the Kubernetes release in ./versions (swagger.json from
 * the `k8s.io/kubernetes` Go module) and from the CRDs in test/support/crds.
 *
 * Like `kubeconform -strict` / `kubectl --validate=strict`: unknown fields,
 * wrong types, missing required fields, enum and pattern violations (where the
 * schema has them), bad formats (int32/int64 ranges, base64 `byte`, RFC 3339
 * `date-time`, Kubernetes quantities) and duplicate keys in list-maps (e.g. two
 * containers or two env vars of one name) are errors. An object of a kind with
 * no schema is an error, never a silent pass.
 *
 *   const validate = await loadValidator();
 *   const errors = validate(obj); // [] when valid
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import * as YAML from 'yaml';
import { cacheDir } from './cache';
import { KUBERNETES_API_MODULE_VERSION, KUBERNETES_GO_MODULE, KUBERNETES_VERSION } from './versions';

/**
 * Names the cached, converted schema files: a hash of this module's own code,
 * so that any change to the conversion below invalidates them.
 */
const CONVERTER_VERSION = createHash('sha256').update(fs.readFileSync(__filename, 'utf8')).digest('hex').slice(0, 12);

const SCHEMA_BASE = 'https://schemas.cdk8s-flink.invalid/';
const K8S_SCHEMA_ID = `${SCHEMA_BASE}kubernetes.json`;
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

type Json = any;
type JsonSchema = Record<string, Json>;

interface ConvertedK8s {
  version: string;
  /** "apps/v1/Deployment" -> definition name */
  kinds: Record<string, string>;
  definitions: Record<string, JsonSchema>;
  /** how many fields got an enum from the Go sources */
  enumFields?: number;
}

interface ConvertedCrd {
  /** "monitoring.coreos.com/v1/PodMonitor" -> schema of the whole object */
  kinds: Record<string, JsonSchema>;
}

// ---------------------------------------------------------------------------
// obtaining the spec

function execJson(cmd: string, args: string[], cwd: string): Promise<Json> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GO111MODULE: 'on' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else {
          try {
            resolve(JSON.parse(String(stdout)));
          } catch (e) {
            reject(new Error(`${cmd} ${args.join(' ')}: unparsable output: ${String(e)}\n${stdout}`));
          }
        }
      },
    );
  });
}

/** Writes a file atomically (temp file in the same directory, then rename). */
function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

async function goModDownload(mod: string, version: string): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'go-mod-download-'));
  try {
    const info = await execJson('go', ['mod', 'download', '-json', `${mod}@${version}`], work);
    if (info.Error) throw new Error(`go mod download ${mod}@${version}: ${info.Error}`);
    return info.Dir as string;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Path of the official swagger.json of KUBERNETES_VERSION, copied into the
 * cache from the `k8s.io/kubernetes` Go module (downloaded through the Go
 * module proxy on first use).
 */
export async function ensureKubernetesOpenApiSpec(): Promise<string> {
  const dest = path.join(cacheDir('k8s-openapi', KUBERNETES_VERSION), 'swagger.json');
  if (fs.existsSync(dest)) return dest;
  const dir = await goModDownload(KUBERNETES_GO_MODULE, KUBERNETES_VERSION);
  const src = path.join(dir, 'api', 'openapi-spec', 'swagger.json');
  if (!fs.existsSync(src)) throw new Error(`${src} missing from the downloaded module`);
  writeAtomic(dest, fs.readFileSync(src, 'utf8'));
  return dest;
}

type EnumMap = Record<string, Record<string, { values: string[]; list: boolean }>>;

/** The enums of built-in types (see extractEnums), cached as enums.json beside swagger.json. */
async function ensureKubernetesEnums(): Promise<EnumMap> {
  const dest = path.join(cacheDir('k8s-openapi', KUBERNETES_VERSION), `enums.v${CONVERTER_VERSION}.json`);
  if (fs.existsSync(dest)) return JSON.parse(fs.readFileSync(dest, 'utf8'));
  const dir = await goModDownload('k8s.io/api', KUBERNETES_API_MODULE_VERSION);
  const enums = extractEnums(dir);
  if (Object.keys(enums).length < 20) throw new Error(`found only ${Object.keys(enums).length} enum-typed structs in ${dir}`);
  writeAtomic(dest, JSON.stringify(enums, null, 1));
  return enums;
}

/**
 * Directories searched for CRD files: $CDK8S_FLINK_CRDS (path-separated list), else the
 * repository's own `test/support/crds` (test/support/crds/README.md says where each came from).
 */
export function crdDirs(): string[] {
  if (process.env.CDK8S_FLINK_CRDS) return process.env.CDK8S_FLINK_CRDS.split(path.delimiter).filter(Boolean);
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && /"name":\s*"cdk8s-flink"/.test(fs.readFileSync(pkg, 'utf8'))) {
      return [path.join(dir, 'test', 'support', 'crds')];
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the cdk8s-flink project root above ${__dirname}`);
    dir = up;
  }
}

// ---------------------------------------------------------------------------
// conversion: swagger 2.0 definitions / CRD openAPIV3Schema -> JSON Schema draft-07

const COPIED = [
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
  'minProperties',
  'maxProperties',
  'required',
];
const FORMATS = new Set(['int32', 'int64', 'byte', 'date-time', 'quantity']);

interface ConvertCtx {
  /** rewrites a "$ref" value */
  ref: (r: string) => string;
  /** inside allOf/anyOf/oneOf/not: value validations only, no additionalProperties:false added */
  branch?: boolean;
  /**
   * a CRD schema (structural): an object node without properties,
   * additionalProperties or x-kubernetes-preserve-unknown-fields has every
   * field pruned, so any field in it is unknown
   */
  crd?: boolean;
}

function asArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

function convert(node: Json, ctx: ConvertCtx): JsonSchema {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return {};
  if (typeof node.$ref === 'string') return { $ref: ctx.ref(node.$ref) };
  const out: JsonSchema = {};
  const sub: ConvertCtx = { ...ctx, branch: false };
  const intOrString = node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string';
  if (intOrString) out.type = ['integer', 'string'];
  else if (node.type !== undefined) out.type = node.type;
  for (const k of COPIED) if (node[k] !== undefined) out[k] = node[k];
  // OpenAPI 3.0 / draft-4 style boolean exclusive bounds
  for (const [ex, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (node[ex] === true && typeof node[bound] === 'number') {
      out[ex] = node[bound];
      delete out[bound];
    } else if (typeof node[ex] === 'number') out[ex] = node[ex];
  }
  if (typeof node.format === 'string' && FORMATS.has(node.format) && !intOrString) out.format = node.format;
  if (node.nullable === true) {
    if (out.type !== undefined) out.type = [...new Set([...asArray(out.type), 'null'])];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  if (node.properties && typeof node.properties === 'object') {
    out.properties = {};
    for (const [k, v] of Object.entries(node.properties)) out.properties[k] = convert(v, sub);
  }
  if (node.items !== undefined) {
    out.items = Array.isArray(node.items) ? node.items.map((i: Json) => convert(i, sub)) : convert(node.items, sub);
  }
  if (typeof node.additionalProperties === 'boolean') out.additionalProperties = node.additionalProperties;
  else if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.additionalProperties = convert(node.additionalProperties, sub);
  }
  if (!intOrString) {
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
      if (Array.isArray(node[k])) out[k] = node[k].map((b: Json) => convert(b, { ...ctx, branch: true }));
    }
  }
  if (node.not && typeof node.not === 'object') out.not = convert(node.not, { ...ctx, branch: true });
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node['x-kubernetes-embedded-resource'] === true) {
    out.properties = {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: `${K8S_SCHEMA_ID}#/definitions/${OBJECT_META}` },
      ...(out.properties ?? {}),
    };
  }
  if (node.additionalProperties === undefined && !preserve && !ctx.branch) {
    if (out.properties || (ctx.crd && out.type === 'object')) out.additionalProperties = false;
  }
  if (node['x-kubernetes-list-type'] === 'map' && Array.isArray(node['x-kubernetes-list-map-keys'])) {
    out.k8sListMapKeys = node['x-kubernetes-list-map-keys'];
  } else if (node['x-kubernetes-list-type'] === 'set') {
    out.uniqueItems = true;
  }
  return out;
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group ? `${group}/` : ''}${version}/${kind}`;
}

function convertSwagger(swagger: Json): ConvertedK8s {
  const defs: Record<string, JsonSchema> = {};
  const kinds: Record<string, string> = {};
  const ref = (r: string) => {
    if (!r.startsWith('#/definitions/')) throw new Error(`unexpected $ref ${r}`);
    return r;
  };
  for (const [name, def] of Object.entries<Json>(swagger.definitions)) {
    let s: JsonSchema;
    switch (name) {
      case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
        s = { type: ['integer', 'string'] };
        break;
      case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
        // a string like "500m" / "1Gi", or a JSON number (the API server accepts both)
        s = { type: ['string', 'number'], format: 'quantity' };
        break;
      case 'io.k8s.apimachinery.pkg.apis.meta.v1.Time':
      case 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime':
        // `creationTimestamp: null` is what kubectl and many generators write
        s = { type: ['string', 'null'], format: 'date-time' };
        break;
      default:
        s = convert(def, { ref });
    }
    defs[name] = s;
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      const key = gvkKey(gvk.group, gvk.version, gvk.kind);
      // meta types (DeleteOptions, WatchEvent) list every group: the first owner wins
      if (!kinds[key] || !name.startsWith('io.k8s.apimachinery.')) kinds[key] = name;
    }
  }
  return { version: KUBERNETES_VERSION, kinds, definitions: defs };
}

function convertCrd(crd: Json, file: string): ConvertedCrd {
  const kinds: Record<string, JsonSchema> = {};
  const group: string = crd.spec?.group;
  const kind: string = crd.spec?.names?.kind;
  if (!group || !kind) throw new Error(`${file}: CRD without spec.group or spec.names.kind`);
  const ref = (r: string) => {
    throw new Error(`${file}: unexpected $ref ${r} in a CRD schema`);
  };
  for (const v of crd.spec.versions ?? []) {
    if (v.served === false) continue;
    const raw = v.schema?.openAPIV3Schema ?? crd.spec.validation?.openAPIV3Schema;
    if (!raw) throw new Error(`${file}: ${group}/${v.name} ${kind} has no openAPIV3Schema`);
    const s = convert(raw, { ref, crd: true });
    // the API server always knows apiVersion, kind and metadata (a full ObjectMeta) at the root
    s.type = 'object';
    s.properties = {
      ...(s.properties ?? {}),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: `${K8S_SCHEMA_ID}#/definitions/${OBJECT_META}` },
    };
    if (raw['x-kubernetes-preserve-unknown-fields'] !== true) s.additionalProperties = false;
    kinds[gvkKey(group, v.name, kind)] = hoistShared(s);
  }
  return { kinds };
}

/**
 * Enums of built-in types. The published spec carries none, so they are read
 * the way openapi-gen reads them: string types marked `// +enum` in the Go
 * sources of `k8s.io/api` (the staging module of the same release), their
 * typed string constants, and the struct fields (by JSON name) of that type.
 * Returns "definition name" -> { "json field": { values, list } }.
 */
export function extractEnums(apiDir: string): EnumMap {
  const enumTypes = new Map<string, Set<string>>(); // "core/v1.PullPolicy" -> values
  interface Field {
    pkg: string;
    struct: string;
    json: string;
    typeRef: string;
    list: boolean;
  }
  const fields: Field[] = [];
  const consts: { key: string; value: string }[] = [];
  const walk = (dir: string) => {
    const files = fs.readdirSync(dir, { withFileTypes: true });
    const pkg = path.relative(apiDir, dir).split(path.sep).join('/');
    for (const e of files) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      if (!e.name.endsWith('.go') || e.name.endsWith('_test.go') || e.name.startsWith('zz_generated')) continue;
      if (/generated\.pb\.go$|generated\.proto/.test(e.name)) continue;
      const lines = fs.readFileSync(p, 'utf8').split('\n');
      const imports = new Map<string, string>();
      for (const m of lines.join('\n').matchAll(/^\s*(\w+\s+)?"k8s\.io\/api\/([\w./-]+)"/gm)) {
        const alias = m[1]?.trim() || m[2].split('/').pop()!;
        imports.set(alias, m[2]);
      }
      let struct: string | undefined;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        let m = /^type (\w+) string\b/.exec(line);
        if (m) {
          for (let j = i - 1; j >= 0 && /^\s*\/\//.test(lines[j]); j--) {
            if (/^\s*\/\/\s*\+enum\s*$/.test(lines[j])) {
              if (!enumTypes.has(`${pkg}.${m[1]}`)) enumTypes.set(`${pkg}.${m[1]}`, new Set());
              break;
            }
          }
          continue;
        }
        m = /^type (\w+) struct \{/.exec(line);
        if (m) {
          struct = m[1];
          continue;
        }
        if (struct && /^\}/.test(line)) {
          struct = undefined;
          continue;
        }
        if (struct) {
          const f = /^\s+\w+\s+(\*|\[\])?(?:(\w+)\.)?(\w+)\s+`.*json:"([^",]+)/.exec(line);
          if (f) {
            const typePkg = f[2] ? imports.get(f[2]) : pkg;
            if (typePkg) fields.push({ pkg, struct, json: f[4], typeRef: `${typePkg}.${f[3]}`, list: f[1] === '[]' });
          }
          continue;
        }
        const c = /^\s*(?:const\s+)?\w+\s+(\w+)\s*=\s*"([^"]*)"/.exec(line);
        if (c) consts.push({ key: `${pkg}.${c[1]}`, value: c[2] });
      }
    }
  };
  walk(apiDir);
  for (const { key, value } of consts) enumTypes.get(key)?.add(value);
  const out: EnumMap = {};
  for (const f of fields) {
    const values = enumTypes.get(f.typeRef);
    if (!values || values.size === 0) continue;
    const def = `io.k8s.api.${f.pkg.split('/').join('.')}.${f.struct}`;
    (out[def] ??= {})[f.json] = { values: [...values].sort(), list: f.list };
  }
  return out;
}

/** Adds the enums of extractEnums() to converted definitions; returns how many fields got one. */
function applyEnums(defs: Record<string, JsonSchema>, enums: EnumMap): number {
  let n = 0;
  for (const [def, byField] of Object.entries(enums)) {
    const props = defs[def]?.properties;
    if (!props) continue;
    for (const [field, { values, list }] of Object.entries(byField)) {
      const p = props[field];
      if (!p) continue;
      const target = list ? p.items : p;
      if (!target || target.$ref || (target.type !== 'string' && !asArray(target.type ?? []).includes('string'))) continue;
      target.enum = values;
      n++;
    }
  }
  return n;
}

/**
 * CRD schemas inline everything (the FlinkDeployment CRD holds three full pod
 * templates). Hoists every sizeable object subschema into `definitions`, named
 * by content hash, so that identical ones compile once: a 3-4x faster compile.
 */
function hoistShared(root: JsonSchema): JsonSchema {
  const definitions: Record<string, JsonSchema> = {};
  const visit = (node: Json, isRoot: boolean): Json => {
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map((n) => visit(n, false));
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'properties' && v && typeof v === 'object') {
        out.properties = Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, visit(pv, false)]));
      } else if (k === 'enum' || k === 'required' || k === 'k8sListMapKeys') out[k] = v;
      else out[k] = visit(v, false);
    }
    if (isRoot || !out.properties) return out;
    const text = JSON.stringify(out);
    if (text.length < 400) return out;
    const name = sha256(text).slice(0, 16);
    definitions[name] = out;
    return { $ref: `#/definitions/${name}` };
  };
  const r = visit(root, true);
  if (Object.keys(definitions).length) r.definitions = definitions;
  return r;
}

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Converted built-in schema, from the cache or converted now (and cached). */
async function loadK8s(): Promise<ConvertedK8s> {
  const dir = cacheDir('k8s-openapi', KUBERNETES_VERSION);
  const conv = path.join(dir, `jsonschema.v${CONVERTER_VERSION}.json`);
  if (fs.existsSync(conv)) {
    try {
      const c = JSON.parse(fs.readFileSync(conv, 'utf8')) as ConvertedK8s;
      if (c.version === KUBERNETES_VERSION) return c;
    } catch {
      // half-written by an older, killed run: convert again
    }
  }
  const swagger = JSON.parse(fs.readFileSync(await ensureKubernetesOpenApiSpec(), 'utf8'));
  const c = convertSwagger(swagger);
  c.enumFields = applyEnums(c.definitions, await ensureKubernetesEnums());
  writeAtomic(conv, JSON.stringify(c));
  // drop what older versions of this code converted
  for (const f of fs.readdirSync(dir)) {
    if (/^(jsonschema|enums)\.v\w+\.json$/.test(f) && !f.includes(`.v${CONVERTER_VERSION}.`)) {
      fs.rmSync(path.join(dir, f), { force: true });
    }
  }
  return c;
}

/** Converted CRD schemas of every CRD file found, cached by content hash. */
function loadCrds(): { kinds: Record<string, JsonSchema> } {
  const kinds: Record<string, JsonSchema> = {};
  const cache = cacheDir('k8s-openapi', 'crds');
  for (const dir of crdDirs()) {
    if (!fs.existsSync(dir)) throw new Error(`CRD directory ${dir} does not exist`);
    for (const f of fs.readdirSync(dir).sort()) {
      if (!/\.(ya?ml|json)$/.test(f)) continue;
      const file = path.join(dir, f);
      const text = fs.readFileSync(file, 'utf8');
      const cached = path.join(cache, `${sha256(`${CONVERTER_VERSION}\n${text}`)}.json`);
      let conv: ConvertedCrd;
      if (fs.existsSync(cached)) {
        conv = JSON.parse(fs.readFileSync(cached, 'utf8'));
      } else {
        conv = { kinds: {} };
        for (const doc of YAML.parseAllDocuments(text)) {
          const crd = doc.toJS({ maxAliasCount: -1 });
          if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
          Object.assign(conv.kinds, convertCrd(crd, file).kinds);
        }
        writeAtomic(cached, JSON.stringify(conv));
      }
      Object.assign(kinds, conv.kinds);
    }
  }
  return { kinds };
}

// ---------------------------------------------------------------------------
// formats and keywords

const INT32 = 2 ** 31;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 3339, as Go's time.RFC3339 parses it
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
// k8s.io/apimachinery/pkg/api/resource.ParseQuantity
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Go RE2 patterns in CRDs -> JS RegExp (leading (?i) and friends become flags). */
function goRegExp(pattern: string, u: string): RegExp {
  let flags = u;
  let p = pattern;
  const m = /^(\^?)\(\?([ims]+)\)/.exec(p);
  if (m) {
    p = m[1] + p.slice(m[0].length);
    for (const f of m[2]) if (!flags.includes(f)) flags += f;
  }
  p = p.replace(/\\z/g, '$').replace(/\(\?P</g, '(?<');
  return new RegExp(p, flags);
}
goRegExp.code = 'goRegExp';

const LIST_MAP_KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

function makeAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateSchema: false,
    inlineRefs: false,
    code: { regExp: goRegExp },
  });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => BASE64.test(s.replace(/[\r\n]/g, '')) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) });
  ajv.addFormat('quantity', { type: 'string', validate: (s: string) => QUANTITY.test(s) });
  ajv.addKeyword({
    keyword: 'k8sListMapKeys',
    type: 'array',
    schemaType: 'array',
    errors: true,
    validate: function listMap(
      keys: string[],
      data: Json[],
      _parent?: unknown,
      cxt?: { instancePath: string },
    ): boolean {
      const seen = new Map<string, number>();
      const errors: Partial<ErrorObject>[] = [];
      data.forEach((item, i) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
        const k = JSON.stringify(keys.map((key) => item[key] ?? LIST_MAP_KEY_DEFAULTS[key] ?? null));
        const first = seen.get(k);
        if (first === undefined) seen.set(k, i);
        else {
          errors.push({
            keyword: 'k8sListMapKeys',
            instancePath: `${cxt?.instancePath ?? ''}/${i}`,
            params: { keys, first },
            message: `duplicate entry: same ${keys.join('+')} (${k.slice(1, -1)}) as item [${first}]`,
          });
        }
      });
      (listMap as unknown as { errors: Partial<ErrorObject>[] }).errors = errors;
      return errors.length === 0;
    },
  });
  return ajv;
}

// ---------------------------------------------------------------------------
// error reporting

function valueAt(root: Json, pointer: string): { path: string; value: Json } {
  let cur = root;
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
    cur = cur !== null && typeof cur === 'object' ? cur[seg] : undefined;
  }
  return { path: out, value: cur };
}

function child(p: string, name: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(name)) return p ? `${p}.${name}` : name;
  return `${p}[${JSON.stringify(name)}]`;
}

function show(v: Json, max = 80): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

function describe(e: ErrorObject, root: Json): string {
  const { path: p, value } = valueAt(root, e.instancePath);
  const at = p || '(root)';
  const params = e.params as Record<string, Json>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${child(p, params.additionalProperty)}: unknown field`;
    case 'required':
      return `${child(p, params.missingProperty)}: missing required field`;
    case 'type':
      return `${at}: must be ${String(params.type).replace(/,/g, ' or ')}, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value} ${show(value)}`;
    case 'enum':
      return `${at}: must be one of ${show(params.allowedValues, 400)}, got ${show(value)}`;
    case 'format':
      return `${at}: invalid ${params.format}: ${show(value)}`;
    case 'pattern':
      return `${at}: must match ${params.pattern}, got ${show(value)}`;
    default:
      return `${at}: ${e.message ?? e.keyword}${value !== undefined && typeof value !== 'object' ? ` (got ${show(value)})` : ''}`;
  }
}

// ---------------------------------------------------------------------------
// the validator

export type Validator = (obj: Json) => string[];

let loaded: Promise<Validator> | undefined;

/**
 * Loads the schemas (downloading the Kubernetes spec on first use) and
 * returns a validator. Schemas compile lazily, one per kind, and stay cached.
 * The validator returns the sorted, de-duplicated errors of one object, each
 * as `Kind/name: json.path: what is wrong`; [] when the object is valid.
 */
export function loadValidator(): Promise<Validator> {
  if (!loaded) {
    loaded = build();
    loaded.catch(() => (loaded = undefined));
  }
  return loaded;
}

async function build(): Promise<Validator> {
  const k8s = await loadK8s();
  const crds = loadCrds();
  const ajv = makeAjv();
  ajv.addSchema({ $id: K8S_SCHEMA_ID, definitions: k8s.definitions });
  const compiled = new Map<string, ValidateFunction>();

  const compiledFor = (key: string): ValidateFunction | undefined => {
    let v = compiled.get(key);
    if (v) return v;
    const crd = crds.kinds[key];
    const def = k8s.kinds[key];
    // a CRD wins over a built-in of the same GVK (none today)
    if (crd) v = ajv.compile({ ...crd, $id: `${SCHEMA_BASE}crd/${key}.json` });
    else if (def) v = ajv.compile({ $ref: `${K8S_SCHEMA_ID}#/definitions/${def}` });
    else return undefined;
    compiled.set(key, v);
    return v;
  };

  const validate = (obj: Json): string[] => {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return [`(not an object): got ${show(obj)}`];
    }
    // kubectl's client-side `v1/List`: validate each item
    if (obj.apiVersion === 'v1' && obj.kind === 'List') {
      const errors = Object.keys(obj)
        .filter((k) => !['apiVersion', 'kind', 'metadata', 'items'].includes(k))
        .map((k) => `List: ${k}: unknown field`);
      if (!Array.isArray(obj.items)) errors.push('List: items: must be array');
      else obj.items.forEach((item: Json) => errors.push(...validate(item)));
      return errors;
    }
    const kind = typeof obj.kind === 'string' ? obj.kind : '<no kind>';
    const name =
      typeof obj.metadata?.name === 'string'
        ? obj.metadata.name
        : typeof obj.metadata?.generateName === 'string'
          ? `${obj.metadata.generateName}*`
          : '<no name>';
    const id = `${kind}/${name}`;
    const errors: string[] = [];
    if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) errors.push(`${id}: apiVersion: missing required field`);
    if (typeof obj.kind !== 'string' || !obj.kind) errors.push(`${id}: kind: missing required field`);
    if (errors.length) return errors;
    const key = `${obj.apiVersion}/${obj.kind}`;
    const v = compiledFor(key);
    if (!v) return [`${id}: no schema for ${obj.apiVersion}/${obj.kind}`];
    if (!v(obj)) {
      for (const e of v.errors ?? []) errors.push(`${id}: ${describe(e, obj)}`);
    }
    const md = obj.metadata;
    if (!obj.kind.endsWith('List') && !(md && (md.name || md.generateName))) {
      errors.push(`${id}: metadata.name: missing required field (or metadata.generateName)`);
    }
    return [...new Set(errors)].sort();
  };
  return validate;
}

/** Validates many objects; returns every error of every object. */
export async function validateObjects(objs: Json[]): Promise<string[]> {
  const validate = await loadValidator();
  return objs.flatMap((o) => validate(o));
}

/**
 * Validates a multi-document YAML stream (e.g. `helm template` or `cdk8s synth`
 * output). YAML errors (including duplicate keys, which kubectl rejects too)
 * are reported as errors; empty documents are skipped.
 */
export async function validateYaml(text: string, source = '<yaml>'): Promise<string[]> {
  const validate = await loadValidator();
  const errors: string[] = [];
  YAML.parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length) {
      for (const e of doc.errors) errors.push(`${source}: document ${i}: ${e.message.split('\n')[0]}`);
      return;
    }
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) errors.push(...validate(obj));
  });
  return errors;
}

/** The kinds the validator knows ("apps/v1/Deployment", "flink.apache.org/v1beta1/FlinkDeployment", ...). */
export async function knownKinds(): Promise<string[]> {
  const k8s = await loadK8s();
  return [...new Set([...Object.keys(k8s.kinds), ...Object.keys(loadCrds().kinds)])].sort();
}
