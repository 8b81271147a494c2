import { Duration, Size } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { checkDataKey, checkInt, checkNumber, checkObjectName, ValidationError } from '../errors';
import { FlinkConfiguration } from '../config/flink-configuration';
import { durationMs, flinkDuration, mebibytes } from '../config/units';
import type { ChartExpression } from '../chart-value';

/** Where keyed state lives between checkpoints. */
export enum StateBackend {
  /** On the JVM heap: fastest, bounded by TaskManager memory. */
  HASHMAP = 'hashmap',
  /** In RocksDB on local disk (managed memory as block cache): large state, incremental checkpoints. */
  ROCKSDB = 'rocksdb',
}

/** The consistency checkpoints give. */
export enum CheckpointingMode {
  EXACTLY_ONCE = 'EXACTLY_ONCE',
  AT_LEAST_ONCE = 'AT_LEAST_ONCE',
}

/** How TaskManager pods of one cluster are spread over nodes. */
export enum AntiAffinity {
  /** Prefer different nodes; schedule anyway when there are too few. */
  PREFERRED = 'preferred',
  /** Never two TaskManagers of this cluster on one node. */
  REQUIRED = 'required',
  /** No rule. */
  NONE = 'none',
}

export enum ImagePullPolicy {
  IF_NOT_PRESENT = 'IfNotPresent',
  ALWAYS = 'Always',
  NEVER = 'Never',
}

export enum ServiceType {
  CLUSTER_IP = 'ClusterIP',
  NODE_PORT = 'NodePort',
  LOAD_BALANCER = 'LoadBalancer',
}

export interface ExponentialDelayOptions {
  /** @default Duration.seconds(1) */
  readonly initialBackoff?: Duration;
  /**
   * The longest wait between attempts. Short by default: after a lost TaskManager the attempts
   * fail until its replacement pod registers (10-20 s), and a long backoff then idles the job
   * well after the slots are back. @default Duration.seconds(10)
   */
  readonly maxBackoff?: Duration;
  /** @default 1.5 (Flink's own default since 1.19) */
  readonly multiplier?: number;
  /** Time without failure after which the backoff starts again from `initialBackoff`. @default Duration.minutes(10) */
  readonly resetBackoffThreshold?: Duration;
  /** @default 0.1 */
  readonly jitter?: number;
}

/** What Flink does when a task fails. */
export class RestartStrategy {
  /** Retry forever with a growing delay: recovers quickly from one failure, does not hammer a broken dependency. */
  public static exponentialDelay(o: ExponentialDelayOptions = {}): RestartStrategy {
    return new RestartStrategy('exponential-delay', (c, f) => {
      const p = 'restart-strategy.exponential-delay';
      // Flink's rules (ExponentialDelayRestartBackoffTimeStrategy): backoffs and threshold >= 1 ms,
      // initial <= max, multiplier > 1, jitter in [0, 1]; it refuses the job otherwise.
      const initial = o.initialBackoff ?? Duration.seconds(1);
      const max = o.maxBackoff ?? Duration.seconds(10);
      c.set(`${p}.initial-backoff`, flinkDuration(`${f}.initialBackoff`, initial, 1), f);
      c.set(`${p}.max-backoff`, flinkDuration(`${f}.maxBackoff`, max, 1), f);
      if (durationMs(`${f}.maxBackoff`, max) < durationMs(`${f}.initialBackoff`, initial)) {
        throw new ValidationError(`${f}.maxBackoff`, max.toHumanString(), `is below initialBackoff (${initial.toHumanString()}); expected maxBackoff >= initialBackoff`);
      }
      const multiplier = o.multiplier ?? 1.5;
      if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 1 || multiplier > 100) {
        throw new ValidationError(`${f}.multiplier`, multiplier, 'is invalid; expected a number greater than 1 and at most 100 (Flink refuses a multiplier <= 1)');
      }
      c.set(`${p}.backoff-multiplier`, multiplier, f);
      c.set(`${p}.reset-backoff-threshold`, flinkDuration(`${f}.resetBackoffThreshold`, o.resetBackoffThreshold ?? Duration.minutes(10), 1), f);
      c.set(`${p}.jitter-factor`, checkNumber(`${f}.jitter`, o.jitter ?? 0.1, 0, 1), f);
    });
  }

  /** Retry `attempts` times with a fixed delay, then fail the job. */
  public static fixedDelay(attempts: number, delay: Duration): RestartStrategy {
    return new RestartStrategy('fixed-delay', (c, f) => {
      c.set('restart-strategy.fixed-delay.attempts', checkInt(`${f}.attempts`, attempts, 1), f);
      c.set('restart-strategy.fixed-delay.delay', flinkDuration(`${f}.delay`, delay), f);
    });
  }

  /** Fail the job when more than `maxFailures` happen within `interval`. */
  public static failureRate(maxFailures: number, interval: Duration, delay: Duration): RestartStrategy {
    return new RestartStrategy('failure-rate', (c, f) => {
      c.set('restart-strategy.failure-rate.max-failures-per-interval', checkInt(`${f}.maxFailures`, maxFailures, 1), f);
      c.set('restart-strategy.failure-rate.failure-rate-interval', flinkDuration(`${f}.interval`, interval, 1), f);
      c.set('restart-strategy.failure-rate.delay', flinkDuration(`${f}.delay`, delay), f);
    });
  }

  /** Never restart: any failure fails the job. */
  public static none(): RestartStrategy {
    return new RestartStrategy('none', () => undefined);
  }

  private constructor(public readonly type: string, private readonly apply: (c: FlinkConfiguration, field: string) => void) {}

  /** @internal */
  public _bind(config: FlinkConfiguration, field: string): void {
    config.set('restart-strategy.type', this.type, field);
    this.apply(config, field);
  }
}

/** A node taint a pod tolerates. */
export interface Toleration {
  readonly key?: string;
  /** @default 'Equal' when a value is given, else 'Exists' */
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

/** Pod fields the downward API gives environment variables (Kubernetes 1.27). */
const POD_FIELDS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.podIP', 'status.podIPs'];

/** The value of an extra environment variable. Credentials come from Secrets. */
export class EnvValue {
  public static fromValue(value: string): EnvValue {
    if (typeof value !== 'string') throw new ValidationError('EnvValue.fromValue value', value, 'is invalid; expected a string');
    return new EnvValue({ value });
  }
  public static fromSecret(secretName: string, key: string, optional = false): EnvValue {
    checkObjectName('EnvValue.fromSecret secretName', secretName);
    checkDataKey('EnvValue.fromSecret key', key);
    return new EnvValue({ valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional } : {}) } } });
  }
  public static fromConfigMap(configMapName: string, key: string): EnvValue {
    checkObjectName('EnvValue.fromConfigMap configMapName', configMapName);
    checkDataKey('EnvValue.fromConfigMap key', key);
    return new EnvValue({ valueFrom: { configMapKeyRef: { name: configMapName, key } } });
  }
  /** A field of the pod, such as `metadata.namespace` or `status.podIP`. */
  public static fromField(fieldPath: string): EnvValue {
    if (typeof fieldPath !== 'string' || !(POD_FIELDS.includes(fieldPath) || /^metadata\.(labels|annotations)\['[^'\]]+'\]$/.test(fieldPath))) {
      throw new ValidationError('EnvValue.fromField fieldPath', fieldPath, `is not a field the API server exposes to env; expected one of ${POD_FIELDS.join(', ')}, or metadata.labels['<key>'] / metadata.annotations['<key>']`);
    }
    return new EnvValue({ valueFrom: { fieldRef: { fieldPath } } });
  }
  private constructor(private readonly spec: Record<string, unknown>) {}
  /** @internal */
  public _toEnvVar(name: string): Record<string, unknown> {
    return { name, ...this.spec };
  }
}

/** What an extra volume holds. */
export class VolumeSource {
  /** A Secret's keys as files; with `items` only those keys, each at its file name (key -> path). */
  public static secret(secretName: string, items?: Record<string, string>): VolumeSource {
    checkObjectName('VolumeSource.secret secretName', secretName);
    for (const [key, file] of Object.entries(items ?? {})) {
      checkDataKey('VolumeSource.secret items key', key);
      checkDataKey('VolumeSource.secret items path', file);
    }
    return new VolumeSource({ secret: { secretName, ...(items ? { items: Object.entries(items).map(([key, p]) => ({ key, path: p })) } : {}) } });
  }
  public static configMap(configMapName: string): VolumeSource {
    checkObjectName('VolumeSource.configMap configMapName', configMapName);
    return new VolumeSource({ configMap: { name: configMapName } });
  }
  public static emptyDir(sizeLimit?: Size): VolumeSource {
    // A Quantity: the Deployment's typed rendering drops a plain string.
    return new VolumeSource({ emptyDir: sizeLimit ? { sizeLimit: k8s.Quantity.fromString(`${mebibytes('VolumeSource.emptyDir sizeLimit', sizeLimit)}Mi`) } : {} });
  }
  public static persistentVolumeClaim(claimName: string, readOnly = false): VolumeSource {
    checkObjectName('VolumeSource.persistentVolumeClaim claimName', claimName);
    return new VolumeSource({ persistentVolumeClaim: { claimName, ...(readOnly ? { readOnly } : {}) } });
  }
  /**
   * A CSI ephemeral volume (`driver` such as `secrets-store.csi.k8s.io`); allowed under the
   * restricted standard.
   */
  public static csi(driver: string, options: CsiVolumeOptions = {}): VolumeSource {
    checkObjectName('VolumeSource.csi driver', driver);
    if (options.nodePublishSecretName !== undefined) checkObjectName('VolumeSource.csi nodePublishSecretName', options.nodePublishSecretName);
    for (const [k, v] of Object.entries(options.volumeAttributes ?? {})) {
      if (typeof v !== 'string') throw new ValidationError(`VolumeSource.csi volumeAttributes.${k}`, v, 'is invalid; expected a string');
    }
    return new VolumeSource({
      csi: {
        driver,
        ...(options.readOnly !== undefined ? { readOnly: options.readOnly } : {}),
        ...(options.fsType ? { fsType: options.fsType } : {}),
        ...(options.volumeAttributes ? { volumeAttributes: { ...options.volumeAttributes } } : {}),
        ...(options.nodePublishSecretName ? { nodePublishSecretRef: { name: options.nodePublishSecretName } } : {}),
      },
    });
  }
  /**
   * A directory or file of the node. Outside the restricted Pod Security Standard: a pod template
   * accepts it only when mounted by containers with `restricted: false`.
   */
  public static hostPath(path: string, type?: HostPathType): VolumeSource {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new ValidationError('VolumeSource.hostPath path', path, 'is invalid; expected an absolute path on the node');
    if (type !== undefined && !Object.values(HostPathType).includes(type)) {
      throw new ValidationError('VolumeSource.hostPath type', type, `is unknown; expected one of ${Object.values(HostPathType).map((t) => t || '""').join(', ')}`);
    }
    return new VolumeSource({ hostPath: { path, ...(type ? { type } : {}) } });
  }
  /**
   * Any volume type of the Kubernetes API (its source, without the name), for what no factory
   * covers: `VolumeSource.fromK8s({ projected: { sources: [...] } })`. Exactly one source field.
   */
  public static fromK8s(source: Omit<k8s.Volume, 'name'>): VolumeSource {
    const types = Object.entries(source ?? {}).filter(([k, v]) => k !== 'name' && v !== undefined);
    if (types.length !== 1) throw new ValidationError('VolumeSource.fromK8s source', source, 'is invalid; expected exactly one volume source such as { projected: {...} }');
    // Kept typed: the Deployment renders it (quantities included) as the API expects.
    return new VolumeSource(Object.fromEntries(types));
  }
  /**
   * The volume as the chart renders it, when its fields are chart values (a Kafka CA's Secret
   * and key); else the chart has it as dist/ does. @internal
   */
  public _chartForm?: ChartExpression;
  private constructor(private readonly spec: Record<string, unknown>) {}
  /** The volume type: `emptyDir`, `secret`, `hostPath`... @internal */
  public get _type(): string {
    return Object.keys(this.spec)[0];
  }
  /** @internal */
  public _toVolume(name: string): Record<string, unknown> {
    return { name, ...this.spec };
  }
}

/** Options of a CSI ephemeral volume. */
export interface CsiVolumeOptions {
  /** @default - the driver's */
  readonly readOnly?: boolean;
  /** @default - the driver's */
  readonly fsType?: string;
  /** Driver-specific attributes. @default - none */
  readonly volumeAttributes?: Record<string, string>;
  /** A Secret with what the driver needs to mount (NodePublishVolume). @default - none */
  readonly nodePublishSecretName?: string;
}

/** What a hostPath must be on the node before the pod starts. */
export enum HostPathType {
  UNSET = '',
  DIRECTORY_OR_CREATE = 'DirectoryOrCreate',
  DIRECTORY = 'Directory',
  FILE_OR_CREATE = 'FileOrCreate',
  FILE = 'File',
  SOCKET = 'Socket',
  CHAR_DEVICE = 'CharDevice',
  BLOCK_DEVICE = 'BlockDevice',
}

/** An extra volume mounted into the JobManager and TaskManager containers. */
export interface ExtraVolume {
  /** Volume name, a DNS label unique in the pod. */
  readonly name: string;
  readonly mountPath: string;
  readonly source: VolumeSource;
  /** @default true */
  readonly readOnly?: boolean;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Tolerations as the API server validates them (operator, effect, key, value, seconds). */
export function checkTolerations(field: string, ts: readonly Toleration[] | undefined): Record<string, unknown>[] {
  if (ts !== undefined && !Array.isArray(ts)) throw new ValidationError(field, ts, 'is invalid; expected an array of tolerations');
  return (ts ?? []).map((t, i) => {
    const at = `${field}[${i}]`;
    if (t.operator !== undefined && t.operator !== 'Equal' && t.operator !== 'Exists') {
      throw new ValidationError(`${at}.operator`, t.operator, 'is unknown; expected "Equal" or "Exists"');
    }
    if (t.effect !== undefined && !TAINT_EFFECTS.includes(t.effect)) {
      throw new ValidationError(`${at}.effect`, t.effect, `is unknown; expected one of ${TAINT_EFFECTS.join(', ')}`);
    }
    if (t.key !== undefined && (typeof t.key !== 'string' || !QUALIFIED_NAME.test(t.key) || t.key.split('/').pop()!.length > 63)) {
      throw new ValidationError(`${at}.key`, t.key, 'is not a valid taint key; expected an optional DNS prefix and "/", then at most 63 characters of [A-Za-z0-9-_.]');
    }
    if (t.operator === 'Exists' && t.value !== undefined) {
      throw new ValidationError(`${at}.value`, t.value, 'must be empty when operator is "Exists"');
    }
    if (t.key === undefined && t.operator === 'Equal') {
      throw new ValidationError(`${at}.operator`, t.operator, 'needs a key; a toleration without a key must use operator "Exists"');
    }
    if (t.value !== undefined && (typeof t.value !== 'string' || !LABEL_VALUE.test(t.value) || t.value.length > 63)) {
      throw new ValidationError(`${at}.value`, t.value, 'is not a valid taint value; expected at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric');
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      throw new ValidationError(`${at}.tolerationSeconds`, t.tolerationSeconds, 'is only allowed with effect "NoExecute"');
    }
    if (t.tolerationSeconds !== undefined && !Number.isInteger(t.tolerationSeconds)) {
      throw new ValidationError(`${at}.tolerationSeconds`, t.tolerationSeconds, 'is invalid; expected a whole number of seconds');
    }
    return {
      ...(t.key !== undefined ? { key: t.key } : {}),
      operator: t.operator ?? (t.value !== undefined ? 'Equal' : 'Exists'),
      ...(t.value !== undefined ? { value: t.value } : {}),
      ...(t.effect !== undefined ? { effect: t.effect } : {}),
      ...(t.tolerationSeconds !== undefined ? { tolerationSeconds: t.tolerationSeconds } : {}),
    };
  });
}

/**
 * Mount paths unique in the container, as the API server requires (`taken` are the toolkit's
 * own mounts); trailing slashes do not make a path another.
 */
export function checkMountPath(volume: ExtraVolume, others: readonly ExtraVolume[], taken: readonly string[]): void {
  const norm = (p: string) => p.replace(/\/+$/, '') || '/';
  const p = norm(volume.mountPath);
  if (taken.some((t) => norm(t) === p)) {
    throw new ValidationError(`volumes[${volume.name}].mountPath`, volume.mountPath, `is invalid; expected an absolute path other than ${taken.join(', ')}`);
  }
  const prev = others.find((o) => norm(o.mountPath) === p);
  if (prev) {
    throw new ValidationError(`volumes[${volume.name}].mountPath`, volume.mountPath, `is already the mount path of volume "${prev.name}"; expected one volume per path`);
  }
}
