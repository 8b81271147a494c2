/**
 * The tests' Kubernetes schema validator: the product's validator (lib/schema/validate.ts) over
 * every kind of the real OpenAPI spec of the Kubernetes release in ./versions (swagger.json
 * from the `k8s.io/kubernetes` Go module, enums from the Go sources of `k8s.io/api`) and the
 * CRDs in test/support/crds, converted by lib/schema/convert.ts. Unlike the shipped bundle (a
 * selection of kinds, see `buildSchemaBundle`), an object of a kind with no schema is an error
 * here, never a silent pass.
 *
 *   const validate = await loadValidator();
 *   const errors = validate(obj); // [] when valid
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { describe } from '../../lib/errors';
import {
  applyEnums, BUNDLED_KINDS, bundleSchemas, convertCrd, convertSwagger, EnumMap, mergeSchemaSets, SchemaBundle, SchemaSet,
} from '../../lib/schema/convert';
import { objectId, SchemaValidator } from '../../lib/schema/validate';
import { cacheDir } from './cache';
import { KUBERNETES_API_MODULE_VERSION, KUBERNETES_GO_MODULE, KUBERNETES_VERSION } from './versions';

/**
 * Names the cached, converted schema files: a hash of the conversion's code and of this
 * module's, so that any change to the conversion invalidates them.
 */
const CONVERTER_VERSION = createHash('sha256')
  .update(fs.readFileSync(require.resolve('../../lib/schema/convert'), 'utf8'))
  .update(fs.readFileSync(__filename, 'utf8'))
  .digest('hex').slice(0, 12);

type Json = any;

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
// enums

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

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The converted built-in schemas, from the cache or converted now (and cached). */
async function loadK8s(): Promise<SchemaSet> {
  const dir = cacheDir('k8s-openapi', KUBERNETES_VERSION);
  const conv = path.join(dir, `jsonschema.v${CONVERTER_VERSION}.json`);
  if (fs.existsSync(conv)) {
    try {
      return JSON.parse(fs.readFileSync(conv, 'utf8')) as SchemaSet;
    } catch {
      // half-written by an older, killed run: convert again
    }
  }
  const swagger = JSON.parse(fs.readFileSync(await ensureKubernetesOpenApiSpec(), 'utf8'));
  const c = convertSwagger(swagger);
  const n = applyEnums(c.definitions, await ensureKubernetesEnums());
  if (n < 50) throw new Error(`only ${n} fields got an enum from the Go sources of k8s.io/api`);
  writeAtomic(conv, JSON.stringify(c));
  // drop what older versions of this code converted
  for (const f of fs.readdirSync(dir)) {
    if (/^(jsonschema|enums)\.v\w+\.json$/.test(f) && !f.includes(`.v${CONVERTER_VERSION}.`)) {
      fs.rmSync(path.join(dir, f), { force: true });
    }
  }
  return c;
}

/** The converted schemas of every CRD file in `dirs`, cached by content hash; file name -> set. */
function loadCrds(dirs = crdDirs()): Record<string, SchemaSet> {
  const out: Record<string, SchemaSet> = {};
  const cache = cacheDir('k8s-openapi', 'crds');
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new Error(`CRD directory ${dir} does not exist`);
    for (const f of fs.readdirSync(dir).sort()) {
      if (!/\.(ya?ml|json)$/.test(f)) continue;
      const file = path.join(dir, f);
      const text = fs.readFileSync(file, 'utf8');
      const cached = path.join(cache, `${sha256(`${CONVERTER_VERSION}\n${text}`)}.json`);
      if (fs.existsSync(cached)) {
        out[f] = JSON.parse(fs.readFileSync(cached, 'utf8'));
        continue;
      }
      const sets: SchemaSet[] = [];
      for (const doc of YAML.parseAllDocuments(text)) {
        const crd = doc.toJS({ maxAliasCount: -1 });
        if (crd && crd.kind === 'CustomResourceDefinition') sets.push(convertCrd(crd, file));
      }
      out[f] = mergeSchemaSets(...sets);
      writeAtomic(cached, JSON.stringify(out[f]));
    }
  }
  return out;
}

/** The repository's own CRD folder (whatever CDK8S_FLINK_CRDS says): the bundle's source. */
function repoCrdDir(): string {
  return path.join(__dirname, '..', '..', '..', 'test', 'support', 'crds');
}

/**
 * The product's schema bundle (lib/schema/kubernetes-v1.34.json) as its sources give it today:
 * `BUNDLED_KINDS` and the definitions they reach, from the cached spec and the repository's CRDs.
 * `scripts/k8s-schema.js` writes it; a test compares it with the committed file.
 */
export async function buildSchemaBundle(): Promise<SchemaBundle> {
  const crds = loadCrds([repoCrdDir()]);
  const sources: Record<string, string> = {
    'swagger.json': `${KUBERNETES_GO_MODULE}@${KUBERNETES_VERSION} api/openapi-spec/swagger.json`,
    'enums': `k8s.io/api@${KUBERNETES_API_MODULE_VERSION} (types marked +enum)`,
  };
  for (const f of Object.keys(crds)) {
    sources[f] = `test/support/crds/${f} sha256:${sha256(fs.readFileSync(path.join(repoCrdDir(), f), 'utf8')).slice(0, 16)}`;
  }
  return bundleSchemas(mergeSchemaSets(await loadK8s(), ...Object.values(crds)), BUNDLED_KINDS, KUBERNETES_VERSION, sources);
}

/** The bundle as the file holds it: stable key order, one definition per line. */
export function bundleText(b: SchemaBundle): string {
  const lines = Object.entries(b.definitions).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{"kubernetesVersion": ${JSON.stringify(b.kubernetesVersion)},\n"sources": ${JSON.stringify(b.sources, null, 1)},\n`
    + `"kinds": ${JSON.stringify(b.kinds, null, 1)},\n"definitions": {\n${lines.join(',\n')}\n}}\n`;
}

// ---------------------------------------------------------------------------
// the validator

export type Validator = (obj: Json) => string[];

let loaded: Promise<Validator> | undefined;

/**
 * Loads the schemas (downloading the Kubernetes spec on first use) and returns a validator of
 * every kind they know. It returns the sorted, de-duplicated problems of one object, each as
 * `Kind/name: json.path: <value> <what is expected>`; [] when the object is valid.
 */
export function loadValidator(): Promise<Validator> {
  if (!loaded) {
    loaded = build();
    loaded.catch(() => (loaded = undefined));
  }
  return loaded;
}

async function build(): Promise<Validator> {
  const v = new SchemaValidator(mergeSchemaSets(await loadK8s(), ...Object.values(loadCrds())));
  const validate = (obj: Json): string[] => {
    // kubectl's client-side `v1/List`: validate each item
    if (obj?.apiVersion === 'v1' && obj?.kind === 'List') {
      const errors = Object.keys(obj)
        .filter((k) => !['apiVersion', 'kind', 'metadata', 'items'].includes(k))
        .map((k) => `List: ${k}: is an unknown field of List`);
      if (!Array.isArray(obj.items)) errors.push('List: items: is invalid; expected an array');
      else obj.items.forEach((item: Json) => errors.push(...validate(item)));
      return errors;
    }
    const id = objectId(obj);
    return [...new Set(v.validate(obj, true).map((p) => `${id}: ${p.path}: ${describe(p.value)} ${p.expected}`))].sort();
  };
  return validate;
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
