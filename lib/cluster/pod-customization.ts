import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { checkNameRule, checkObjectName, NAME_RULES, ValidationError } from '../errors';
import { mebibytes } from '../config/units';
import { RESTRICTED_VOLUME_TYPES } from '../policy/pod-security';
import { checkImage } from './image-ref';
import { ARTIFACTS_DIR, ARTIFACTS_VOLUME, JAR_CA_VOLUME, CONF_TEMPLATE_DIR, CONFIG_INIT_CONTAINER, FETCH_JAR_INIT_CONTAINER, FLINK_HOME, HANDOFF_DIR, JOB_FILES_DIR, PORTS } from './layout';
import { EnvValue, ExtraVolume, ImagePullPolicy, VolumeSource } from './options';

/**
 * Pod templates: sidecars, init containers, volumes of any type and mounts, extra environment
 * and mounts of the Flink container, per component (`podTemplate` for both,
 * `jobManagerPodTemplate`, `taskManagerPodTemplate`). Every added container gets the restricted
 * security context unless it says `restricted: false`; names, mount paths and ports the toolkit
 * owns are refused with one line.
 */

/** A volume mount of a container. */
export interface VolumeMount {
  /**
   * The volume's name: a volume of the pod template's `volumes`, one of the cluster's `volumes`
   * (sidecars and init containers only; the Flink container mounts those already), or `flink-log`,
   * Flink's log directory (read-only, for a log shipper).
   */
  readonly volume: string;
  /** An absolute path in the container. */
  readonly mountPath: string;
  /** A path inside the volume. @default - the volume's root */
  readonly subPath?: string;
  /** Mounts are read-only unless `readOnly: false` is given. @default true */
  readonly readOnly?: boolean;
}

/** A volume of the pod, mounted by name. */
export interface PodVolume {
  /** A DNS-1123 label, unique in the pod; names starting with `flink-` are the toolkit's. */
  readonly name: string;
  /** What it holds: `VolumeSource.emptyDir()`, `.configMap()`, `.secret()`, `.persistentVolumeClaim()`, `.csi()`, `.hostPath()`, `.fromK8s()`. */
  readonly source: VolumeSource;
}

/** A port of an added container. */
export interface ContainerPort {
  readonly number: number;
  /** An IANA service name, unique in the pod. @default - unnamed */
  readonly name?: string;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** Requests and limits of an added container: the memory request is its limit. */
export interface ContainerResources {
  /** CPU request. @default Cpu.millis(50) */
  readonly cpu?: kplus.Cpu;
  /** CPU limit. @default - none */
  readonly cpuLimit?: kplus.Cpu;
  /** Memory request and limit. @default Size.mebibytes(64) */
  readonly memory?: Size;
}

/**
 * Changes to an added container's security context. Under `restricted` (the default) only what
 * the restricted Pod Security Standard allows: a user id other than 0, a writable root file
 * system, NET_BIND_SERVICE.
 */
export interface ContainerSecurityOptions {
  /** @default true */
  readonly readOnlyRootFilesystem?: boolean;
  /** @default - the pod's user (9999) */
  readonly runAsUser?: number;
  /** @default - the pod's group (9999) */
  readonly runAsGroup?: number;
  /** @default true (false needs `restricted: false`) */
  readonly runAsNonRoot?: boolean;
  /** @default false (true needs `restricted: false`) */
  readonly allowPrivilegeEscalation?: boolean;
  /** @default false (true needs `restricted: false`) */
  readonly privileged?: boolean;
  /** Capabilities added after dropping ALL; beyond NET_BIND_SERVICE needs `restricted: false`. @default - none */
  readonly addCapabilities?: string[];
}

/** A sidecar or init container added to a Flink pod. */
export interface ContainerOptions {
  /** A DNS-1123 label, unique in the pod; `jobmanager`, `taskmanager` and names starting with `flink-` are the toolkit's. */
  readonly name: string;
  /** Pinned by tag or digest, never `:latest`. */
  readonly image: string;
  /** @default - the image's entrypoint */
  readonly command?: string[];
  /** @default - the image's arguments */
  readonly args?: string[];
  /** @default - none */
  readonly workingDir?: string;
  /** Environment; credentials through `EnvValue.fromSecret`. @default - none */
  readonly env?: Record<string, EnvValue>;
  /** Ports; Flink's own (6121-6124, 8081, 9249) and port names (rpc, blob-server, webui, data, metrics) are taken. @default - none */
  readonly ports?: ContainerPort[];
  /** @default - 50m CPU requested, 64Mi memory requested and limited */
  readonly resources?: ContainerResources;
  /** @default - none */
  readonly volumeMounts?: VolumeMount[];
  /** @default - the cluster's imagePullPolicy */
  readonly imagePullPolicy?: ImagePullPolicy;
  /** @default - the restricted context: non-root, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, read-only root */
  readonly securityContext?: ContainerSecurityOptions;
  /**
   * `false` lets `securityContext` break the restricted Pod Security Standard (root, privilege,
   * capabilities) and lets this container mount `hostPath` volumes. A namespace whose Pod Security
   * admission enforces "restricted" then refuses the pod; it needs "baseline" or "privileged".
   * @default true
   */
  readonly restricted?: boolean;
}

/** Extra environment and mounts of the Flink container (its resources are the cluster's CPU and memory props). */
export interface FlinkContainerOptions {
  /** Environment of this component's Flink container only (the cluster's `env` goes to both). @default - none */
  readonly env?: Record<string, EnvValue>;
  /** Mounts of the pod template's volumes; not at or under Flink's own directories. @default - none */
  readonly volumeMounts?: VolumeMount[];
}

/** What a pod template adds to the JobManager or TaskManager pods (or both). */
export interface PodTemplateOptions {
  /** Containers next to the Flink container. @default - none */
  readonly sidecars?: ContainerOptions[];
  /** Init containers, run after the toolkit's configuration init container. @default - none */
  readonly initContainers?: ContainerOptions[];
  /** Volumes the containers mount by name. @default - none */
  readonly volumes?: PodVolume[];
  /** Extra environment and mounts of the Flink container. @default - none */
  readonly flinkContainer?: FlinkContainerOptions;
  /** The pods' PriorityClass. @default - none (the cluster's default priority) */
  readonly priorityClassName?: string;
}

/** A pod template resolved for one component: checked, merged from `podTemplate` and the component's own. */
export interface ResolvedPodTemplate {
  readonly sidecars: k8s.Container[];
  readonly initContainers: k8s.Container[];
  readonly volumes: k8s.Volume[];
  readonly flinkEnv: Record<string, EnvValue>;
  readonly flinkMounts: k8s.VolumeMount[];
  readonly priorityClassName?: string;
}

/** Container names the toolkit owns in a Flink pod: the main containers, its init containers (all `flink-*`). */
export const RESERVED_CONTAINERS = ['jobmanager', 'taskmanager', CONFIG_INIT_CONTAINER, FETCH_JAR_INIT_CONTAINER];
/** The toolkit's volumes (and any later `flink-*` one). */
export const RESERVED_VOLUMES = ['flink-config-template', 'flink-conf', 'flink-log', 'flink-tmp', 'flink-job', 'flink-handoff', ARTIFACTS_VOLUME, JAR_CA_VOLUME];
/** The Flink container's own mounts: nothing may be mounted at these paths. */
export const RESERVED_MOUNTS = [`${FLINK_HOME}/conf`, `${FLINK_HOME}/log`, '/tmp', JOB_FILES_DIR, CONF_TEMPLATE_DIR, FLINK_HOME, HANDOFF_DIR, ARTIFACTS_DIR];
/** Directories the toolkit fills or Flink writes (io.tmp.dirs: spills, RocksDB's working files): no mount at or under them in the Flink container. */
const OWNED_TREES = [`${FLINK_HOME}/conf`, CONF_TEMPLATE_DIR, HANDOFF_DIR, JOB_FILES_DIR, '/tmp', `${FLINK_HOME}/log`, ARTIFACTS_DIR];
/** Volumes of the toolkit an added container may mount, read-only. */
const SHARED_VOLUMES = ['flink-log'];
const FLINK_PORTS: readonly number[] = Object.values(PORTS);
const FLINK_PORT_NAMES = ['rpc', 'blob-server', 'webui', 'data', 'metrics'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The restricted Pod Security Standard's container settings. */
export function restrictedSecurityContext(): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

const norm = (p: string) => p.replace(/\/+$/, '') || '/';
const within = (p: string, tree: string) => p === tree || p.startsWith(`${tree}/`);

/** An absolute, normalized mount path. */
function checkPath(field: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.split('/').some((s) => s === '.' || s === '..') || /[\s:]/.test(value)) {
    throw new ValidationError(field, value, 'is invalid; expected an absolute path without "." or ".." segments, spaces or ":"');
  }
  return norm(value);
}

/** An optional list, or a one-line error. */
function list<T>(field: string, value: readonly T[] | undefined): readonly T[] {
  if (value !== undefined && !Array.isArray(value)) throw new ValidationError(field, value, 'is invalid; expected an array');
  return value ?? [];
}

/** Throws when `name` was seen already in `seen` (name -> where), else records it. */
function unique(seen: Map<string, string>, field: string, name: string, what: string, where: string, shown: unknown = name): void {
  const prev = seen.get(name);
  if (prev !== undefined) throw new ValidationError(field, shown, `is already ${what} (${prev}); expected a unique one`);
  seen.set(name, where);
}

function checkEnv(field: string, env: Record<string, EnvValue> | undefined, reserved: readonly string[]): Record<string, EnvValue> {
  if (env === undefined) return {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new ValidationError(field, env, 'is invalid; expected a map of names to EnvValue');
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw new ValidationError(`${field} name`, k, 'is invalid; expected a C identifier such as KAFKA_PASSWORD');
    if (reserved.includes(k) || k.startsWith('FLINK_CONF_SECRET_')) throw new ValidationError(`${field} name`, k, 'is already set by the toolkit or the cluster\'s env; choose another name');
    if (!(v instanceof EnvValue)) throw new ValidationError(`${field}.${k}`, v, 'is invalid; expected an EnvValue such as EnvValue.fromSecret("kafka", "password")');
  }
  return { ...env };
}

function renderEnv(env: Record<string, EnvValue>): Record<string, unknown>[] {
  return Object.keys(env).sort().map((k) => env[k]._toEnvVar(k));
}

function cpuQuantity(field: string, cpu: kplus.Cpu): string {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(cpu?.amount));
  const millis = m ? (m[2] ? Number(m[1]) : Number(m[1]) * 1000) : NaN;
  if (!m || !Number.isInteger(millis) || millis <= 0) {
    throw new ValidationError(field, cpu?.amount, 'is invalid; expected a positive CPU amount such as Cpu.millis(100) or Cpu.units(1)');
  }
  return millis % 1000 === 0 ? `${millis / 1000}` : `${millis}m`;
}

function containerResources(field: string, r: ContainerResources = {}): k8s.ResourceRequirements {
  const cpu = cpuQuantity(`${field}.cpu`, r.cpu ?? kplus.Cpu.millis(50));
  const memory = `${mebibytes(`${field}.memory`, r.memory ?? Size.mebibytes(64))}Mi`;
  const limit = r.cpuLimit !== undefined ? cpuQuantity(`${field}.cpuLimit`, r.cpuLimit) : undefined;
  if (limit !== undefined && cpuMillis(limit) < cpuMillis(cpu)) {
    throw new ValidationError(`${field}.cpuLimit`, limit, `is below the CPU request (${cpu}); expected a limit >= the request`);
  }
  const q = k8s.Quantity.fromString;
  return { requests: { cpu: q(cpu), memory: q(memory) }, limits: { memory: q(memory), ...(limit ? { cpu: q(limit) } : {}) } };
}

const cpuMillis = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);

function securityContext(field: string, s: ContainerSecurityOptions = {}, restricted: boolean): Record<string, unknown> {
  const breaks = (key: string, value: unknown, expected: string) => {
    if (!restricted) return;
    throw new ValidationError(`${field}.${key}`, value, `breaks the restricted Pod Security Standard; expected ${expected}, or restricted: false on this container (a namespace enforcing "restricted" then refuses the pod)`);
  };
  for (const k of ['runAsUser', 'runAsGroup'] as const) {
    const v = s[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 2147483647)) throw new ValidationError(`${field}.${k}`, v, 'is invalid; expected an integer between 0 and 2147483647');
  }
  if (s.runAsUser === 0) breaks('runAsUser', 0, 'a user id other than 0');
  if (s.runAsNonRoot === false) breaks('runAsNonRoot', false, 'true');
  if (s.allowPrivilegeEscalation === true) breaks('allowPrivilegeEscalation', true, 'false');
  if (s.privileged === true) breaks('privileged', true, 'false');
  const add = s.addCapabilities ?? [];
  for (const [i, cap] of add.entries()) {
    if (typeof cap !== 'string' || !/^[A-Z_]+$/.test(cap)) throw new ValidationError(`${field}.addCapabilities[${i}]`, cap, 'is invalid; expected a capability name such as NET_BIND_SERVICE');
    if (cap !== 'NET_BIND_SERVICE') breaks(`addCapabilities[${i}]`, cap, 'only NET_BIND_SERVICE');
  }
  const base = restrictedSecurityContext();
  return {
    ...base,
    ...(s.allowPrivilegeEscalation !== undefined ? { allowPrivilegeEscalation: s.allowPrivilegeEscalation } : {}),
    ...(s.privileged !== undefined ? { privileged: s.privileged } : {}),
    ...(s.readOnlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: s.readOnlyRootFilesystem } : {}),
    ...(s.runAsNonRoot !== undefined ? { runAsNonRoot: s.runAsNonRoot } : {}),
    ...(s.runAsUser !== undefined ? { runAsUser: s.runAsUser } : {}),
    ...(s.runAsGroup !== undefined ? { runAsGroup: s.runAsGroup } : {}),
    capabilities: { drop: ['ALL'], ...(add.length ? { add: [...add] } : {}) },
    // The pod's profile too, stated on the container so that it holds wherever the container goes.
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** What the checks of one component's pod know: the cluster's env and volumes, the pull policy. */
export interface PodTemplateScope {
  readonly component: 'jobmanager' | 'taskmanager';
  /** Names of the env the Flink container has already (the toolkit's and the cluster's `env`). */
  readonly flinkEnv: readonly string[];
  /** The cluster's `volumes`, mounted into the Flink container. */
  readonly clusterVolumes: readonly ExtraVolume[];
  readonly pullPolicy: ImagePullPolicy;
}

/**
 * Checks and merges the pod templates that apply to one component (`[field, options]` pairs,
 * `podTemplate` first): one line naming the field on the first conflict.
 */
export function resolvePodTemplate(templates: [string, PodTemplateOptions | undefined][], scope: PodTemplateScope): ResolvedPodTemplate {
  const containers = new Map<string, string>(RESERVED_CONTAINERS.map((n) => [n, 'the toolkit\'s']));
  const volumes = new Map<string, string>([...RESERVED_VOLUMES.map((n) => [n, 'the toolkit\'s'] as [string, string]), ...scope.clusterVolumes.map((v) => [v.name, 'the cluster\'s volumes'] as [string, string])]);
  const ports = new Map<string, string>(FLINK_PORTS.map((p) => [String(p), 'Flink\'s']));
  const portNames = new Map<string, string>(FLINK_PORT_NAMES.map((p) => [p, 'Flink\'s']));
  const podVolumes: { name: string; source: VolumeSource; field: string }[] = [];
  const out = { sidecars: [] as Record<string, unknown>[], initContainers: [] as Record<string, unknown>[], flinkEnv: {} as Record<string, EnvValue>, flinkMounts: [] as Record<string, unknown>[] };
  let priorityClassName: string | undefined;
  const mountsOf: { field: string; mounts: VolumeMount[]; restricted: boolean; flink: boolean }[] = [];
  for (const [field, t] of templates) {
    if (t === undefined) continue;
    if (typeof t !== 'object' || t === null) throw new ValidationError(field, t, 'is invalid; expected pod template options ({ sidecars, initContainers, volumes, flinkContainer, priorityClassName })');
    for (const [i, v] of list(`${field}.volumes`, t.volumes).entries()) {
      const f = `${field}.volumes[${i}]`;
      const name = checkNameRule(`${f}.name`, v?.name, NAME_RULES.dnsLabel);
      if (name.startsWith('flink-')) throw new ValidationError(`${f}.name`, name, 'is a name the toolkit keeps for its own volumes (flink-*); choose another name');
      unique(volumes, `${f}.name`, name, `a volume of the ${scope.component} pod`, f);
      if (!(v.source instanceof VolumeSource)) throw new ValidationError(`${f}.source`, v.source, 'is invalid; expected a VolumeSource such as VolumeSource.emptyDir()');
      podVolumes.push({ name, source: v.source, field: f });
    }
    if (t.priorityClassName !== undefined) {
      checkObjectName(`${field}.priorityClassName`, t.priorityClassName);
      if (priorityClassName !== undefined && priorityClassName !== t.priorityClassName) {
        throw new ValidationError(`${field}.priorityClassName`, t.priorityClassName, `differs from "${priorityClassName}" of podTemplate; expected one PriorityClass per pod`);
      }
      priorityClassName = t.priorityClassName;
    }
    const fc = t.flinkContainer ?? {};
    const env = checkEnv(`${field}.flinkContainer.env`, fc.env, [...scope.flinkEnv, ...Object.keys(out.flinkEnv)]);
    Object.assign(out.flinkEnv, env);
    mountsOf.push({ field: `${field}.flinkContainer.volumeMounts`, mounts: fc.volumeMounts ?? [], restricted: true, flink: true });
    for (const kind of ['initContainers', 'sidecars'] as const) {
      for (const [i, c] of list(`${field}.${kind}`, t[kind]).entries()) {
        const f = `${field}.${kind}[${i}]`;
        const name = checkNameRule(`${f}.name`, c?.name, NAME_RULES.dnsLabel);
        if (name.startsWith('flink-') && !containers.has(name)) throw new ValidationError(`${f}.name`, name, 'is a name the toolkit keeps for its own containers (flink-*); choose another name');
        unique(containers, `${f}.name`, name, `a container of the ${scope.component} pod`, f);
        const restricted = c.restricted ?? true;
        if (typeof restricted !== 'boolean') throw new ValidationError(`${f}.restricted`, restricted, 'is invalid; expected true or false');
        for (const [j, p] of list(`${f}.ports`, c.ports).entries()) {
          if (!Number.isInteger(p?.number) || p.number < 1 || p.number > 65535) throw new ValidationError(`${f}.ports[${j}].number`, p?.number, 'is invalid; expected an integer between 1 and 65535');
          unique(ports, `${f}.ports[${j}].number`, String(p.number), `a port of the ${scope.component} pod`, f, p.number);
          if (p.name !== undefined) unique(portNames, `${f}.ports[${j}].name`, checkNameRule(`${f}.ports[${j}].name`, p.name, NAME_RULES.portName), `a port name of the ${scope.component} pod`, f);
          if (p.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) throw new ValidationError(`${f}.ports[${j}].protocol`, p.protocol, 'is unknown; expected TCP, UDP or SCTP');
        }
        for (const k of ['command', 'args'] as const) {
          const list = c[k];
          if (list !== undefined && (!Array.isArray(list) || list.some((a) => typeof a !== 'string'))) throw new ValidationError(`${f}.${k}`, list, 'is invalid; expected an array of strings');
        }
        if (c.workingDir !== undefined) checkPath(`${f}.workingDir`, c.workingDir);
        if (c.imagePullPolicy !== undefined && !Object.values(ImagePullPolicy).includes(c.imagePullPolicy)) {
          throw new ValidationError(`${f}.imagePullPolicy`, c.imagePullPolicy, `is unknown; expected one of ${Object.values(ImagePullPolicy).join(', ')}`);
        }
        const spec: Record<string, unknown> = {
          name,
          image: checkImage(`${f}.image`, c.image),
          imagePullPolicy: c.imagePullPolicy ?? scope.pullPolicy,
          ...(c.command ? { command: [...c.command] } : {}),
          ...(c.args ? { args: [...c.args] } : {}),
          ...(c.workingDir ? { workingDir: c.workingDir } : {}),
          securityContext: securityContext(`${f}.securityContext`, c.securityContext, restricted),
          resources: containerResources(`${f}.resources`, c.resources),
          ...(c.ports?.length ? { ports: c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.number, ...(p.protocol ? { protocol: p.protocol } : {}) })) } : {}),
        };
        const cenv = renderEnv(checkEnv(`${f}.env`, c.env, []));
        if (cenv.length) spec.env = cenv;
        mountsOf.push({ field: `${f}.volumeMounts`, mounts: c.volumeMounts ?? [], restricted, flink: false });
        (spec as any)._mounts = mountsOf.length - 1;
        out[kind].push(spec);
      }
    }
  }
  // Mounts, once every volume is known: each names a volume, a path free in its container.
  const rendered: Record<string, unknown>[][] = [];
  const flinkPaths = new Map<string, string>(scope.clusterVolumes.map((v) => [norm(v.mountPath), `volume "${v.name}"`]));
  const mountedBy = new Map<string, { restricted: boolean; flink: boolean }[]>();
  for (const m of mountsOf) {
    const paths = m.flink ? flinkPaths : new Map<string, string>();
    if (!Array.isArray(m.mounts)) throw new ValidationError(m.field, m.mounts, 'is invalid; expected an array of { volume, mountPath, readOnly? }');
    rendered.push(m.mounts.map((vm, j) => {
      const f = `${m.field}[${j}]`;
      const own = podVolumes.some((v) => v.name === vm?.volume);
      const cluster = !m.flink && scope.clusterVolumes.some((v) => v.name === vm?.volume);
      const shared = !m.flink && SHARED_VOLUMES.includes(vm?.volume);
      if (!own && !cluster && !shared) {
        const known = [...podVolumes.map((v) => v.name), ...(m.flink ? [] : [...scope.clusterVolumes.map((v) => v.name), ...SHARED_VOLUMES])];
        throw new ValidationError(`${f}.volume`, vm?.volume, `is not a volume this container can mount; expected one of ${known.join(', ') || '(none: add it to volumes)'}`);
      }
      const readOnly = vm.readOnly ?? true;
      if (typeof readOnly !== 'boolean') throw new ValidationError(`${f}.readOnly`, readOnly, 'is invalid; expected true or false');
      if (shared && !readOnly) throw new ValidationError(`${f}.readOnly`, false, `cannot be false on the toolkit's volume "${vm.volume}"; expected a read-only mount`);
      const p = checkPath(`${f}.mountPath`, vm.mountPath);
      if (m.flink) {
        const tree = OWNED_TREES.find((t) => within(p, t));
        if (tree !== undefined || RESERVED_MOUNTS.includes(p)) {
          throw new ValidationError(`${f}.mountPath`, vm.mountPath, `is ${tree ? `at or under ${tree}` : 'a path'}, which the toolkit's own mounts use; expected another absolute path`);
        }
      }
      unique(paths, `${f}.mountPath`, p, 'a mount path of this container', `volume "${vm.volume}"`, vm.mountPath);
      if (vm.subPath !== undefined && (typeof vm.subPath !== 'string' || vm.subPath.startsWith('/') || vm.subPath.split('/').includes('..'))) {
        throw new ValidationError(`${f}.subPath`, vm.subPath, 'is invalid; expected a relative path without ".."');
      }
      mountedBy.set(vm.volume, [...(mountedBy.get(vm.volume) ?? []), { restricted: m.restricted, flink: m.flink }]);
      return { name: vm.volume, mountPath: vm.mountPath, ...(vm.subPath ? { subPath: vm.subPath } : {}), readOnly };
    }));
  }
  // A hostPath (or any type outside the restricted standard's list): only for containers that opted out.
  for (const v of podVolumes) {
    if (RESTRICTED_VOLUME_TYPES.includes(v.source._type)) continue;
    const users = mountedBy.get(v.name) ?? [];
    if (!users.length || users.some((u) => u.restricted)) {
      throw new ValidationError(`${v.field}.source`, v.source._type, `breaks the restricted Pod Security Standard; expected another volume type, or mounts only by containers with restricted: false (${users.some((u) => u.flink) ? 'never the Flink container' : 'a namespace enforcing "restricted" then refuses the pod'})`);
    }
  }
  const withMounts = (c: Record<string, unknown>): k8s.Container => {
    const { _mounts, ...rest } = c as any;
    const mounts = rendered[_mounts];
    return { ...rest, ...(mounts.length ? { volumeMounts: mounts } : {}) };
  };
  return {
    sidecars: out.sidecars.map(withMounts),
    initContainers: out.initContainers.map(withMounts),
    volumes: podVolumes.map((v) => v.source._toVolume(v.name) as unknown as k8s.Volume),
    flinkEnv: out.flinkEnv,
    flinkMounts: mountsOf.flatMap((m, i) => (m.flink ? rendered[i] as unknown as k8s.VolumeMount[] : [])),
    ...(priorityClassName ? { priorityClassName } : {}),
  };
}
