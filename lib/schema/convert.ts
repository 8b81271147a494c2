/**
 * Converts Kubernetes OpenAPI definitions (the swagger 2.0 `swagger.json` of a release) and
 * CRD `openAPIV3Schema`s into the JSON-Schema subset that `./validate.ts` checks, and selects
 * what the product ships (`bundleSchemas`). The sources are fetched by the tests' support code
 * (`test/support/k8s-schema.ts`), which also turns them into the full validator of the tests;
 * `scripts/k8s-schema.js` writes the shipped bundle. Nothing here touches the network or files.
 */
import { createHash } from 'crypto';

type Json = any;
export type JsonSchema = Record<string, Json>;

/** Where every reference of the converted schemas points: one flat `definitions` map. */
export const DEFINITIONS = '#/definitions/';
export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Converted schemas: kinds ("apps/v1/Deployment") -> definition name, and the definitions. */
export interface SchemaSet {
  readonly kinds: Record<string, string>;
  readonly definitions: Record<string, JsonSchema>;
}

const COPIED = [
  'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'multipleOf',
  'minProperties', 'maxProperties', 'required',
];
const FORMATS = new Set(['int32', 'int64', 'byte', 'date-time', 'quantity']);

interface ConvertCtx {
  /** rewrites a "$ref" value */
  ref: (r: string) => string;
  /** inside allOf/anyOf/oneOf/not: value validations only, no additionalProperties:false added */
  branch?: boolean;
  /**
   * a CRD schema (structural): an object node without properties, additionalProperties or
   * x-kubernetes-preserve-unknown-fields has every field pruned, so any field in it is unknown
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
  for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
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
      metadata: { $ref: `${DEFINITIONS}${OBJECT_META}` },
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

export function gvkKey(group: string, version: string, kind: string): string {
  return `${group ? `${group}/` : ''}${version}/${kind}`;
}

/** Every definition of a release's swagger.json, and the kinds that name them. */
export function convertSwagger(swagger: Json): SchemaSet {
  const definitions: Record<string, JsonSchema> = {};
  const kinds: Record<string, string> = {};
  const ref = (r: string) => {
    if (!r.startsWith(DEFINITIONS)) throw new Error(`unexpected $ref ${r}`);
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
    definitions[name] = s;
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      const key = gvkKey(gvk.group, gvk.version, gvk.kind);
      // meta types (DeleteOptions, WatchEvent) list every group: the first owner wins
      if (!kinds[key] || !name.startsWith('io.k8s.apimachinery.')) kinds[key] = name;
    }
  }
  return { kinds, definitions };
}

/**
 * The served versions of one CustomResourceDefinition. Each version's root is the definition
 * `crd:<group>/<version>/<kind>`; its sizeable object subschemas are hoisted into definitions
 * named by content hash, so the three pod templates of a FlinkDeployment are stored once.
 */
export function convertCrd(crd: Json, file: string): SchemaSet {
  const group: string = crd.spec?.group;
  const kind: string = crd.spec?.names?.kind;
  if (!group || !kind) throw new Error(`${file}: CRD without spec.group or spec.names.kind`);
  const ref = (r: string) => {
    throw new Error(`${file}: unexpected $ref ${r} in a CRD schema`);
  };
  const out: SchemaSet = { kinds: {}, definitions: {} };
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
      metadata: { $ref: `${DEFINITIONS}${OBJECT_META}` },
    };
    if (raw['x-kubernetes-preserve-unknown-fields'] !== true) s.additionalProperties = false;
    const key = gvkKey(group, v.name, kind);
    out.kinds[key] = `crd:${key}`;
    out.definitions[`crd:${key}`] = hoistShared(s, out.definitions);
  }
  return out;
}

/** Hoists every sizeable object subschema into `definitions`, named by content hash. */
function hoistShared(root: JsonSchema, definitions: Record<string, JsonSchema>): JsonSchema {
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
    const name = `crd:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    definitions[name] = out;
    return { $ref: `${DEFINITIONS}${name}` };
  };
  return visit(root, true);
}

export type EnumMap = Record<string, Record<string, { values: string[]; list: boolean }>>;

/** Adds enums (see the tests' `extractEnums`) to converted definitions; returns how many fields got one. */
export function applyEnums(defs: Record<string, JsonSchema>, enums: EnumMap): number {
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

/** Merges converted sets; a CRD wins over a built-in of the same kind (none today). */
export function mergeSchemaSets(...sets: SchemaSet[]): SchemaSet {
  return {
    kinds: Object.assign({}, ...sets.map((s) => s.kinds)),
    definitions: Object.assign({}, ...sets.map((s) => s.definitions)),
  };
}

/**
 * The kinds the product's bundle carries: those the toolkit generates, the operator's custom
 * resources of `--target operator`, the Prometheus Operator's, and the built-in kinds users
 * commonly add beside them.
 */
export const BUNDLED_KINDS = [
  'v1/ConfigMap', 'v1/Secret', 'v1/Service', 'v1/ServiceAccount', 'v1/Pod', 'v1/PersistentVolumeClaim', 'v1/Namespace',
  'v1/LimitRange', 'v1/ResourceQuota',
  'apps/v1/Deployment', 'apps/v1/StatefulSet', 'apps/v1/DaemonSet',
  'batch/v1/Job', 'batch/v1/CronJob',
  'policy/v1/PodDisruptionBudget', 'autoscaling/v2/HorizontalPodAutoscaler',
  'networking.k8s.io/v1/NetworkPolicy', 'networking.k8s.io/v1/Ingress',
  'rbac.authorization.k8s.io/v1/Role', 'rbac.authorization.k8s.io/v1/RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRole', 'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule',
  'flink.apache.org/v1beta1/FlinkDeployment', 'flink.apache.org/v1beta1/FlinkSessionJob',
];

/** The shipped bundle: the Kubernetes version, the sources, and the definitions the kinds reach. */
export interface SchemaBundle extends SchemaSet {
  readonly kubernetesVersion: string;
  readonly sources: Record<string, string>;
}

/** Keeps `kinds` and only the definitions they reach; keys sorted, so the output is stable. */
export function bundleSchemas(all: SchemaSet, kinds: string[], kubernetesVersion: string, sources: Record<string, string>): SchemaBundle {
  const reached = new Set<string>();
  const walk = (node: Json): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node.$ref === 'string') visitDef(node.$ref.slice(DEFINITIONS.length));
    for (const [k, v] of Object.entries(node)) if (k !== 'enum') walk(v);
  };
  const visitDef = (name: string) => {
    if (reached.has(name)) return;
    if (!all.definitions[name]) throw new Error(`definition ${name} is referenced but missing`);
    reached.add(name);
    walk(all.definitions[name]);
  };
  const out: Record<string, string> = {};
  for (const k of [...kinds].sort()) {
    if (!all.kinds[k]) throw new Error(`no schema for ${k}`);
    out[k] = all.kinds[k];
    visitDef(all.kinds[k]);
  }
  const definitions = Object.fromEntries([...reached].sort().map((n) => [n, all.definitions[n]]));
  return { kubernetesVersion, sources, kinds: out, definitions };
}
