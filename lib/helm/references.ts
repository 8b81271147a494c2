import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { T } from './context';
import { mapAt, parsePath } from '../object-path';

/**
 * Which fields of a unit's objects name another object, declared by field path and the kind of
 * the object they point at. The chart renames such a field to the release-based name only when
 * it points at an object the unit itself generates (same kind and name); a reference to anything
 * else (a Secret or ConfigMap the user supplies, an existing ServiceAccount, another unit's
 * Service) passes through unchanged, and no other field or text is ever renamed.
 *
 * Paths in the grammar of lib/object-path.ts.
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
 * The objects the toolkit's constructs generate (the unit's cluster or session job and its
 * monitoring), by `Kind/name`: only these are renamed after the release and take chart values.
 * Objects a user adds to the unit's chart beside them are not.
 */
export function generatedApiObjects(owners: readonly IConstruct[]): Map<string, ApiObject> {
  return new Map(owners.flatMap((o) => o.node.findAll()).filter((x): x is ApiObject => x instanceof ApiObject).map((x) => [identity(x.kind, x.name), x]));
}

/** `Kind/name` of the objects the toolkit's constructs generate (generatedApiObjects). */
export function generatedObjects(owners: readonly IConstruct[]): Set<string> {
  return new Set(generatedApiObjects(owners).keys());
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
