/**
 * A strict validator of Kubernetes objects, as the API server checks them on create: the
 * OpenAPI schema (converted by `./convert.ts`: unknown fields, types, required fields, enums,
 * patterns, int32/int64 ranges, quantities, RFC 3339 times, base64, duplicate keys in list-maps
 * such as two containers of one name) plus the format rules the schema does not carry
 * (`NAME_RULES` of `lib/errors.ts`: object names per kind, label keys and values, annotation
 * keys, container, volume and port names, port numbers, ConfigMap and Secret keys).
 *
 * The product ships the schemas of the kinds it generates and of those users commonly add
 * (`kubernetes-v1.34.json`, written by `scripts/k8s-schema.js`); an object of a kind the bundle
 * does not carry (a user's custom resource) is checked for its metadata only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { distance } from '../config/catalog';
import { describe, NAME_RULES, NameRule, ValidationError } from '../errors';
import { DEFINITIONS, JsonSchema, OBJECT_META, SchemaBundle, SchemaSet } from './convert';

type Json = any;

/** One violation: the field's path in the object (`spec.template.spec.containers[0].name`), its value, what is expected. */
export interface SchemaProblem {
  readonly path: string;
  readonly value: unknown;
  readonly expected: string;
}

/** The shipped bundle, relative to the package root (read from lib/ as the option catalogs are). */
export const SCHEMA_BUNDLE_FILE = path.join(__dirname, '..', '..', '..', 'lib', 'schema', 'kubernetes-v1.34.json');

const INT32 = 2 ** 31;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 3339, as Go's time.RFC3339 parses it
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
// k8s.io/apimachinery/pkg/api/resource.ParseQuantity
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The `format`s the converted schemas use: a test (true for values of other types) and what a failing value is expected to be. */
export const FORMATS: Record<string, { test: (v: Json) => boolean; expected: string }> = {
  'int32': { test: (n) => typeof n !== 'number' || (Number.isInteger(n) && n >= -INT32 && n < INT32), expected: 'is out of range; expected an int32 (-2147483648 to 2147483647)' },
  'int64': { test: (n) => typeof n !== 'number' || Number.isSafeInteger(n), expected: 'is out of range; expected an int64 that JSON carries exactly' },
  'byte': { test: (s) => typeof s !== 'string' || BASE64.test(s.replace(/[\r\n]/g, '')), expected: 'is not base64; expected base64-encoded data' },
  'date-time': { test: (s) => typeof s !== 'string' || DATE_TIME.test(s), expected: 'is not a time; expected RFC 3339 such as "2026-01-31T12:00:00Z"' },
  'quantity': { test: (s) => typeof s !== 'string' || QUANTITY.test(s), expected: 'is not a Kubernetes quantity; expected a number with an optional suffix such as "500m", "1.5", "512Mi" or "2G"' },
};

/** Unset list-map keys the API server defaults before comparing (a port's protocol). */
const LIST_MAP_KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** Go RE2 patterns of CRDs as JS RegExps (leading `(?i)` and friends become flags). */
export function goRegExp(pattern: string): RegExp {
  let flags = 'u';
  let p = pattern;
  const m = /^(\^?)\(\?([ims]+)\)/.exec(p);
  if (m) {
    p = m[1] + p.slice(m[0].length);
    for (const f of m[2]) if (!flags.includes(f)) flags += f;
  }
  p = p.replace(/\\z/g, '$').replace(/\(\?P</g, '(?<');
  return new RegExp(p, flags);
}

/** metadata.name by kind, as the API server's per-kind validation checks it; others are DNS subdomains. */
const NAME_BY_KIND: Record<string, NameRule> = {
  'v1/Service': NAME_RULES.dns1035Label,
  'v1/Namespace': NAME_RULES.dnsLabel,
  'rbac.authorization.k8s.io/v1/Role': NAME_RULES.pathSegment,
  'rbac.authorization.k8s.io/v1/ClusterRole': NAME_RULES.pathSegment,
  'rbac.authorization.k8s.io/v1/RoleBinding': NAME_RULES.pathSegment,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': NAME_RULES.pathSegment,
};
/** Kinds whose names become label values or get a suffix (the Job controller's `job-name` label; a CronJob's 11-character Job suffix). */
const NAME_MAX_BY_KIND: Record<string, number> = { 'batch/v1/Job': 63, 'batch/v1/CronJob': 52 };
/** The total size of an object's annotations (TotalAnnotationSizeLimitB). */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

type Report = (path: string, value: unknown, expected: string) => void;

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

function child(p: string, name: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(name)) return p ? `${p}.${name}` : name;
  return `${p}[${JSON.stringify(name)}]`;
}

function nameRule(report: Report, p: string, v: unknown, rule: NameRule): void {
  if (typeof v === 'string' && !rule.test(v)) report(p, v, rule.expected);
}

function keysRule(report: Report, p: string, map: unknown, rule: NameRule, values?: NameRule): void {
  if (!isObject(map)) return;
  for (const [k, v] of Object.entries(map)) {
    if (!rule.test(k)) report(`${p} key`, k, rule.expected);
    else if (values) nameRule(report, child(p, k), v, values);
  }
}

/**
 * The API server's format rules for fields of a definition, wherever it occurs (a pod template's
 * metadata, a CronJob's containers): run when the schema walk reaches the definition.
 */
const DEFINITION_RULES: Record<string, (v: Json, p: string, report: Report) => void> = {
  [OBJECT_META]: (m, p, report) => {
    keysRule(report, child(p, 'labels'), m.labels, NAME_RULES.labelKey, NAME_RULES.labelValue);
    keysRule(report, child(p, 'annotations'), m.annotations, NAME_RULES.labelKey);
    if (isObject(m.annotations)) {
      const size = Object.entries(m.annotations).reduce((n, [k, v]) => n + k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0), 0);
      if (size > ANNOTATIONS_MAX_BYTES) report(child(p, 'annotations'), `${size} bytes`, `are too large; expected at most ${ANNOTATIONS_MAX_BYTES} bytes of keys and values`);
    }
    nameRule(report, child(p, 'namespace'), m.namespace, NAME_RULES.dnsLabel);
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector': (s, p, report) => {
    keysRule(report, child(p, 'matchLabels'), s.matchLabels, NAME_RULES.labelKey, NAME_RULES.labelValue);
    (Array.isArray(s.matchExpressions) ? s.matchExpressions : []).forEach((e: Json, i: number) => {
      if (isObject(e)) nameRule(report, `${child(p, 'matchExpressions')}[${i}].key`, e.key, NAME_RULES.labelKey);
    });
  },
  'io.k8s.api.core.v1.ServiceSpec': (s, p, report) => keysRule(report, child(p, 'selector'), s.selector, NAME_RULES.labelKey, NAME_RULES.labelValue),
  'io.k8s.api.core.v1.PodSpec': (s, p, report) => {
    keysRule(report, child(p, 'nodeSelector'), s.nodeSelector, NAME_RULES.labelKey, NAME_RULES.labelValue);
    // Container names are unique across init, regular and ephemeral containers.
    const seen = new Map<string, string>();
    for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
      (Array.isArray(s[list]) ? s[list] : []).forEach((c: Json, i: number) => {
        if (!isObject(c) || typeof c.name !== 'string') return;
        const at = `${child(p, list)}[${i}]`;
        const first = seen.get(c.name);
        if (first && !first.startsWith(`${child(p, list)}[`)) report(`${at}.name`, c.name, `is also the name of ${first}; expected container names unique across the pod`);
        if (!first) seen.set(c.name, at);
      });
    }
  },
  'io.k8s.api.core.v1.Container': (c, p, report) => containerRules(c, p, report),
  'io.k8s.api.core.v1.EphemeralContainer': (c, p, report) => containerRules(c, p, report),
  'io.k8s.api.core.v1.Volume': (v, p, report) => nameRule(report, child(p, 'name'), v.name, NAME_RULES.dnsLabel),
  'io.k8s.api.core.v1.ServicePort': (sp, p, report) => {
    nameRule(report, child(p, 'name'), sp.name, NAME_RULES.dnsLabel);
    nameRule(report, child(p, 'targetPort'), sp.targetPort, NAME_RULES.portName);
    portNumber(report, child(p, 'port'), sp.port);
    portNumber(report, child(p, 'targetPort'), sp.targetPort);
  },
  'io.k8s.api.core.v1.ConfigMap': (cm, p, report) => {
    keysRule(report, child(p, 'data'), cm.data, NAME_RULES.dataKey);
    keysRule(report, child(p, 'binaryData'), cm.binaryData, NAME_RULES.dataKey);
    if (isObject(cm.data) && isObject(cm.binaryData)) {
      for (const k of Object.keys(cm.binaryData)) if (k in cm.data) report(`${child(p, 'binaryData')} key`, k, 'is also a key of data; expected each key in data or binaryData, not both');
    }
  },
  'io.k8s.api.core.v1.Secret': (s, p, report) => {
    keysRule(report, child(p, 'data'), s.data, NAME_RULES.dataKey);
    keysRule(report, child(p, 'stringData'), s.stringData, NAME_RULES.dataKey);
  },
};

/** Port numbers (IsValidPortNum): the schema says int32 only. */
function portNumber(report: Report, p: string, v: unknown): void {
  if (typeof v === 'number' && Number.isInteger(v) && (v < 1 || v > 65535)) report(p, v, 'is not a valid port number; expected 1 to 65535');
}

function containerRules(c: Json, p: string, report: Report): void {
  nameRule(report, child(p, 'name'), c.name, NAME_RULES.dnsLabel);
  (Array.isArray(c.ports) ? c.ports : []).forEach((port: Json, i: number) => {
    if (!isObject(port)) return;
    nameRule(report, `${child(p, 'ports')}[${i}].name`, port.name, NAME_RULES.portName);
    portNumber(report, `${child(p, 'ports')}[${i}].containerPort`, port.containerPort);
    if (port.hostPort !== 0) portNumber(report, `${child(p, 'ports')}[${i}].hostPort`, port.hostPort);
  });
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    for (const h of ['httpGet', 'tcpSocket']) {
      const at = `${child(child(p, probe), h)}.port`;
      nameRule(report, at, c[probe]?.[h]?.port, NAME_RULES.portName);
      portNumber(report, at, c[probe]?.[h]?.port);
    }
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, type: string): boolean {
  const t = typeOf(v);
  return t === type || (type === 'number' && t === 'integer');
}

const ARTICLE: Record<string, string> = { integer: 'an integer', object: 'an object', array: 'an array', string: 'a string', boolean: 'a boolean', number: 'a number', null: 'null' };

const HOISTED = /^crd:[0-9a-f]+$/;

function shortName(def: string | undefined): string {
  if (!def) return 'this object';
  if (def.startsWith('crd:')) return def.split('/').pop()!;
  return def.split('.').pop()!;
}

function equal(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

/** A validator over converted schemas (the shipped bundle, or the full spec in the tests). */
export class SchemaValidator {
  private readonly patterns = new Map<string, RegExp>();

  constructor(private readonly schemas: SchemaSet) {}

  /** Whether the validator has a schema for the object's kind ("apps/v1" + "Deployment"). */
  public knows(apiVersion: string, kind: string): boolean {
    return `${apiVersion}/${kind}` in this.schemas.kinds;
  }

  /** The kinds it has a schema for ("apps/v1/Deployment", ...). */
  public get kinds(): string[] {
    return Object.keys(this.schemas.kinds).sort();
  }

  /**
   * Every problem of one object, in document order; [] when it is valid. An object of a kind
   * with no schema is checked for its metadata only (`strict` makes that itself a problem).
   */
  public validate(obj: Json, strict = false): SchemaProblem[] {
    const problems: SchemaProblem[] = [];
    const report: Report = (p, value, expected) => problems.push({ path: p || '(root)', value, expected });
    if (!isObject(obj)) {
      report('', obj, 'is not a Kubernetes object; expected an object with apiVersion, kind and metadata');
      return problems;
    }
    for (const f of ['apiVersion', 'kind']) {
      if (typeof obj[f] !== 'string' || obj[f] === '') report(f, obj[f], 'is required; expected a non-empty string');
    }
    if (problems.length) return problems;
    const key = `${obj.apiVersion}/${obj.kind}`;
    const def = this.schemas.kinds[key];
    if (def) this.check({ $ref: `${DEFINITIONS}${def}` }, obj, '', report, undefined);
    else {
      if (strict) report('kind', obj.kind, `has no schema for apiVersion ${obj.apiVersion}; expected one of the known kinds`);
      if (!isObject(obj.metadata)) report('metadata', obj.metadata, 'is invalid; expected an object');
      else DEFINITION_RULES[OBJECT_META](obj.metadata, 'metadata', report);
    }
    const md = isObject(obj.metadata) ? obj.metadata : {};
    if (md.name === undefined && md.generateName === undefined && !obj.kind.endsWith('List')) {
      report('metadata.name', undefined, 'is required; expected a name');
    } else {
      const rule = NAME_BY_KIND[key] ?? NAME_RULES.dnsSubdomain;
      nameRule(report, 'metadata.name', md.name, rule);
      const max = NAME_MAX_BY_KIND[key];
      if (typeof md.name === 'string' && max && md.name.length > max) report('metadata.name', md.name, `is too long for a ${obj.kind}; expected at most ${max} characters`);
    }
    return problems;
  }

  private definition(name: string): JsonSchema {
    const d = this.schemas.definitions[name];
    if (!d) throw new Error(`schema definition ${name} is missing`);
    return d;
  }

  private pattern(p: string): RegExp {
    let re = this.patterns.get(p);
    if (!re) this.patterns.set(p, (re = goRegExp(p)));
    return re;
  }

  /** Checks `v` at path `p` against schema `s` (inside definition `def`); reports to `report`. */
  private check(s: JsonSchema, v: Json, p: string, report: Report, def: string | undefined): void {
    if (s.$ref !== undefined) {
      const name = (s.$ref as string).slice(DEFINITIONS.length);
      // a CRD's hoisted subschema (named by hash) keeps the name of the kind for messages
      this.check(this.definition(name), v, p, report, HOISTED.test(name) ? def : name);
      if (isObject(v)) DEFINITION_RULES[name]?.(v, p, report);
      return;
    }
    if (s.type !== undefined) {
      const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => typeMatches(v, t))) {
        const got = v === undefined ? '' : ` (got ${typeOf(v) === 'integer' ? 'a number' : ARTICLE[typeOf(v)]})`;
        report(p, v, `is invalid; expected ${types.map((t) => ARTICLE[t] ?? t).join(' or ')}${got}`);
        return;
      }
    }
    if (s.enum !== undefined && !s.enum.some((e: Json) => equal(e, v))) {
      report(p, v, `is invalid; expected one of ${s.enum.map((e: Json) => describe(e)).join(', ')}`);
    }
    if (s.format !== undefined && FORMATS[s.format] && !FORMATS[s.format].test(v)) report(p, v, FORMATS[s.format].expected);
    if (typeof v === 'string') this.checkString(s, v, p, report);
    else if (typeof v === 'number') this.checkNumber(s, v, p, report);
    else if (Array.isArray(v)) this.checkArray(s, v, p, report, def);
    else if (isObject(v)) this.checkObject(s, v, p, report, def);
    if (s.allOf) for (const b of s.allOf) this.check(b, v, p, report, def);
    if (s.anyOf && !s.anyOf.some((b: JsonSchema) => this.passes(b, v, def))) {
      report(p, v, `is invalid; expected one of the ${s.anyOf.length} forms the schema allows here`);
    }
    if (s.oneOf && s.oneOf.filter((b: JsonSchema) => this.passes(b, v, def)).length !== 1) {
      report(p, v, `is invalid; expected exactly one of the ${s.oneOf.length} forms the schema allows here`);
    }
    if (s.not && this.passes(s.not, v, def)) report(p, v, 'is invalid; expected a form the schema does not exclude here');
  }

  private passes(s: JsonSchema, v: Json, def: string | undefined): boolean {
    let ok = true;
    this.check(s, v, '', () => (ok = false), def);
    return ok;
  }

  private checkString(s: JsonSchema, v: string, p: string, report: Report): void {
    if (s.pattern !== undefined && !this.pattern(s.pattern).test(v)) report(p, v, `is invalid; expected a match of /${s.pattern}/`);
    if (s.minLength === undefined && s.maxLength === undefined) return;
    const n = [...v].length; // code points, as Go's utf8.RuneCountInString
    if (s.minLength !== undefined && n < s.minLength) report(p, v, `is too short; expected at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && n > s.maxLength) report(p, v, `is too long; expected at most ${s.maxLength} characters`);
  }

  private checkNumber(s: JsonSchema, v: number, p: string, report: Report): void {
    if (s.minimum !== undefined && v < s.minimum) report(p, v, `is too small; expected at least ${s.minimum}`);
    if (s.maximum !== undefined && v > s.maximum) report(p, v, `is too large; expected at most ${s.maximum}`);
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) report(p, v, `is too small; expected more than ${s.exclusiveMinimum}`);
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) report(p, v, `is too large; expected less than ${s.exclusiveMaximum}`);
    if (s.multipleOf !== undefined && !Number.isInteger(v / s.multipleOf)) report(p, v, `is invalid; expected a multiple of ${s.multipleOf}`);
  }

  private checkArray(s: JsonSchema, v: Json[], p: string, report: Report, def: string | undefined): void {
    if (s.minItems !== undefined && v.length < s.minItems) report(p, v, `has too few items; expected at least ${s.minItems}`);
    if (s.maxItems !== undefined && v.length > s.maxItems) report(p, v, `has too many items; expected at most ${s.maxItems}`);
    if (s.items !== undefined) {
      v.forEach((item, i) => this.check(Array.isArray(s.items) ? (s.items[i] ?? {}) : s.items, item, `${p}[${i}]`, report, def));
    }
    if (s.uniqueItems === true) {
      const seen = new Map<string, number>();
      v.forEach((item, i) => {
        const k = JSON.stringify(item);
        if (seen.has(k)) report(`${p}[${i}]`, item, `duplicates item [${seen.get(k)}]; expected unique items`);
        else seen.set(k, i);
      });
    }
    if (Array.isArray(s.k8sListMapKeys)) {
      const keys: string[] = s.k8sListMapKeys;
      const seen = new Map<string, number>();
      v.forEach((item, i) => {
        if (!isObject(item)) return;
        const k = JSON.stringify(keys.map((key) => item[key] ?? LIST_MAP_KEY_DEFAULTS[key] ?? null));
        const first = seen.get(k);
        if (first === undefined) seen.set(k, i);
        else {
          const at = keys.length === 1 ? `${p}[${i}].${keys[0]}` : `${p}[${i}]`;
          report(at, keys.length === 1 ? item[keys[0]] : Object.fromEntries(keys.map((key) => [key, item[key]])),
            `duplicates ${p}[${first}]; expected each ${keys.join(' + ')} once in ${p.split('.').pop()}`);
        }
      });
    }
  }

  private checkObject(s: JsonSchema, v: Record<string, Json>, p: string, report: Report, def: string | undefined): void {
    const props: Record<string, JsonSchema> | undefined = s.properties;
    if (Array.isArray(s.required)) {
      for (const r of s.required) if (v[r] === undefined) report(child(p, r), undefined, `is required in ${shortName(def)}`);
    }
    const n = Object.values(v).filter((x) => x !== undefined).length;
    if (s.minProperties !== undefined && n < s.minProperties) report(p, v, `has too few fields; expected at least ${s.minProperties}`);
    if (s.maxProperties !== undefined && n > s.maxProperties) report(p, v, `has too many fields; expected at most ${s.maxProperties}`);
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined) continue; // not in the JSON
      const ps = props?.[k];
      if (ps) this.check(ps, item, child(p, k), report, def);
      else if (s.additionalProperties === false) {
        const known = Object.keys(props ?? {});
        const near = known.map((x) => ({ x, d: distance(k.toLowerCase(), x.toLowerCase(), 3) })).filter((c) => c.d < 3).sort((a, b) => a.d - b.d)[0];
        report(child(p, k), item, `is an unknown field of ${shortName(def)}; ${near ? `did you mean "${near.x}"?` : known.length ? `expected one of ${known.join(', ')}` : 'expected no fields here'}`);
      } else if (isObject(s.additionalProperties)) this.check(s.additionalProperties, item, child(p, k), report, def);
    }
  }
}

let bundled: SchemaValidator | undefined;

/** The validator of the shipped bundle (read on first use). */
export function bundledValidator(): SchemaValidator {
  return (bundled ??= new SchemaValidator(readBundle()));
}

/** The shipped bundle. */
export function readBundle(): SchemaBundle {
  if (!fs.existsSync(SCHEMA_BUNDLE_FILE)) {
    throw new Error(`the Kubernetes schema bundle ${SCHEMA_BUNDLE_FILE} is missing; expected it in the installed cdk8s-flink package (lib/schema/)`);
  }
  return JSON.parse(fs.readFileSync(SCHEMA_BUNDLE_FILE, 'utf8'));
}

/** `Kind/name` of an object, for messages. */
export function objectId(obj: Json): string {
  const kind = typeof obj?.kind === 'string' ? obj.kind : '<no kind>';
  const md = obj?.metadata;
  const name = typeof md?.name === 'string' ? md.name : typeof md?.generateName === 'string' ? `${md.generateName}*` : '<no name>';
  return `${kind}/${name}`;
}

/** One line per problem of the objects: `<where>: Kind/name: path: value expected`. */
export function objectProblems(where: string, objects: Json[], validator = bundledValidator()): string[] {
  return objects.flatMap((o) => validator.validate(o).map((pr) => `${where}: ${objectId(o)}: ${pr.path}: ${describe(pr.value)} ${pr.expected}`));
}

/**
 * Refuses objects the API server would reject: a ValidationError naming the unit, the object,
 * the field, the value and what is expected (the first problem).
 */
export function checkObjects(where: string, objects: Json[], validator = bundledValidator()): void {
  for (const o of objects) {
    const [pr] = validator.validate(o);
    if (pr) throw new ValidationError(`${where}: ${objectId(o)}: ${pr.path}`, pr.value, pr.expected);
  }
}
