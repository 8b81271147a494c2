import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { T } from './context';

/**
 * Which fields of a unit's objects name another object, declared by field path and the kind of
 * the object they point at. The chart renames such a field to the release-based name only when
 * it points at an object the unit itself generates (same kind and name); a reference to anything
 * else (a Secret or ConfigMap the user supplies, an existing ServiceAccount, another unit's
 * Service) passes through unchanged, and no other field or text is ever renamed.
 *
 * Path grammar: dot-separated keys; `key[]` walks every item of a list; `key[field=value]` only
 * the items whose `field` is `value`.
 */
export interface Reference {
  readonly path: string;
  readonly kind: string;
}

/** The containers of a pod spec, and what in them names other objects. */
const CONTAINER_REFS: Reference[] = [
  { path: 'env[].valueFrom.configMapKeyRef.name', kind: 'ConfigMap' },
  { path: 'env[].valueFrom.secretKeyRef.name', kind: 'Secret' },
  { path: 'envFrom[].configMapRef.name', kind: 'ConfigMap' },
  { path: 'envFrom[].secretRef.name', kind: 'Secret' },
  // The one environment variable whose text is a generated name: the JobManager's Service (lib/cluster/flink-cluster.ts).
  { path: 'env[name=JOB_MANAGER_RPC_ADDRESS].value', kind: 'Service' },
];

const POD_REFS: Reference[] = [
  { path: 'serviceAccountName', kind: 'ServiceAccount' },
  { path: 'imagePullSecrets[].name', kind: 'Secret' },
  { path: 'volumes[].configMap.name', kind: 'ConfigMap' },
  { path: 'volumes[].secret.secretName', kind: 'Secret' },
  { path: 'volumes[].persistentVolumeClaim.claimName', kind: 'PersistentVolumeClaim' },
  { path: 'volumes[].projected.sources[].configMap.name', kind: 'ConfigMap' },
  { path: 'volumes[].projected.sources[].secret.name', kind: 'Secret' },
  ...['containers[]', 'initContainers[]'].flatMap((c) => CONTAINER_REFS.map((r) => ({ path: `${c}.${r.path}`, kind: r.kind }))),
];

const under = (prefix: string, refs: Reference[]) => refs.map((r) => ({ path: `${prefix}.${r.path}`, kind: r.kind }));

/** Per kind of referring object: the fields that name other objects. */
export const REFERENCES: Readonly<Record<string, readonly Reference[]>> = {
  Deployment: under('spec.template.spec', POD_REFS),
  Job: under('spec.template.spec', POD_REFS),
  Pod: under('spec', POD_REFS),
  RoleBinding: [{ path: 'roleRef.name', kind: 'Role' }, { path: 'subjects[kind=ServiceAccount].name', kind: 'ServiceAccount' }],
  HorizontalPodAutoscaler: [{ path: 'spec.scaleTargetRef.name', kind: 'Deployment' }],
  Ingress: [{ path: 'spec.rules[].http.paths[].backend.service.name', kind: 'Service' }, { path: 'spec.defaultBackend.service.name', kind: 'Service' }],
};

/** `Kind/name` of an object. */
export const identity = (kind: string, name: string) => `${kind}/${name}`;

/**
 * `Kind/name` of the objects the toolkit's constructs generate (the unit's cluster or session job
 * and its monitoring): only these are renamed after the release. Objects a user adds to the
 * unit's chart beside them are not.
 */
export function generatedObjects(owners: readonly IConstruct[]): Set<string> {
  return new Set(owners.flatMap((o) => o.node.findAll()).filter((x): x is ApiObject => x instanceof ApiObject).map((x) => identity(x.kind, x.name)));
}

/**
 * `o` (a chart object, possibly holding template nodes already) with its declared references to
 * the unit's own objects (`generated`: `Kind/name`, each named `<name><suffix>`) as release-based
 * names; everything else is returned as it is.
 */
export function releaseReferences(o: any, kind: string, name: string, c: string, generated: ReadonlySet<string>): any {
  let out = o;
  for (const ref of REFERENCES[kind] ?? []) {
    out = mapAt(out, parsePath(ref.path), (v) => (typeof v === 'string' && v.startsWith(name) && generated.has(identity(ref.kind, v))
      ? T(`{{ include "${c}.fullname" $ }}${v.slice(name.length)}`)
      : v));
  }
  return out;
}

interface Segment {
  readonly key: string;
  readonly each: boolean;
  readonly where?: readonly [string, string];
}

function parsePath(path: string): Segment[] {
  return path.split('.').map((s) => {
    const m = /^([^[\]]+)(?:\[(?:([^=\]]+)=([^\]]*))?\])?$/.exec(s);
    if (!m) throw new Error(`reference path ${path}: bad segment ${s}`);
    return { key: m[1], each: s.endsWith(']'), where: m[2] !== undefined ? [m[2], m[3]] as const : undefined };
  });
}

/** A copy of `node` with `fn` applied to the values at `path`; untouched branches are shared, template nodes are not entered. */
function mapAt(node: any, path: readonly Segment[], fn: (v: unknown) => unknown): any {
  if (path.length === 0) return fn(node);
  if (node === null || typeof node !== 'object' || node.constructor !== Object) return node;
  const [seg, ...rest] = path;
  if (!(seg.key in node)) return node;
  const v = node[seg.key];
  let next: unknown;
  if (seg.each) {
    if (!Array.isArray(v)) return node;
    next = v.map((x) => (!seg.where || (x && x[seg.where[0]] === seg.where[1]) ? mapAt(x, rest, fn) : x));
  } else {
    next = mapAt(v, rest, fn);
  }
  return next === v ? node : { ...node, [seg.key]: next };
}
