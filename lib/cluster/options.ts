import { Duration, Size } from 'cdk8s';
import { checkInt, checkName, checkNumber, ValidationError } from '../errors';
import { FlinkConfiguration } from '../config/flink-configuration';
import { flinkDuration } from '../config/units';

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
      c.set(`${p}.initial-backoff`, flinkDuration(`${f}.initialBackoff`, o.initialBackoff ?? Duration.seconds(1), 1), f);
      c.set(`${p}.max-backoff`, flinkDuration(`${f}.maxBackoff`, o.maxBackoff ?? Duration.seconds(10), 1), f);
      c.set(`${p}.backoff-multiplier`, checkNumber(`${f}.multiplier`, o.multiplier ?? 1.5, 1, 100), f);
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

/** The value of an extra environment variable. Credentials come from Secrets. */
export class EnvValue {
  public static fromValue(value: string): EnvValue {
    return new EnvValue({ value });
  }
  public static fromSecret(secretName: string, key: string, optional = false): EnvValue {
    checkName('EnvValue.fromSecret secretName', secretName, 253);
    return new EnvValue({ valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional } : {}) } } });
  }
  public static fromConfigMap(configMapName: string, key: string): EnvValue {
    checkName('EnvValue.fromConfigMap configMapName', configMapName, 253);
    return new EnvValue({ valueFrom: { configMapKeyRef: { name: configMapName, key } } });
  }
  /** A field of the pod, such as `metadata.namespace` or `status.podIP`. */
  public static fromField(fieldPath: string): EnvValue {
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
  public static secret(secretName: string): VolumeSource {
    return new VolumeSource({ secret: { secretName } });
  }
  public static configMap(configMapName: string): VolumeSource {
    return new VolumeSource({ configMap: { name: configMapName } });
  }
  public static emptyDir(sizeLimit?: Size): VolumeSource {
    return new VolumeSource({ emptyDir: sizeLimit ? { sizeLimit: `${sizeLimit.toMebibytes()}Mi` } : {} });
  }
  public static persistentVolumeClaim(claimName: string, readOnly = false): VolumeSource {
    return new VolumeSource({ persistentVolumeClaim: { claimName, ...(readOnly ? { readOnly } : {}) } });
  }
  private constructor(private readonly spec: Record<string, unknown>) {}
  /** @internal */
  public _toVolume(name: string): Record<string, unknown> {
    return { name, ...this.spec };
  }
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

export function checkTolerations(field: string, ts: readonly Toleration[] | undefined): Record<string, unknown>[] {
  return (ts ?? []).map((t, i) => {
    if (t.operator === 'Exists' && t.value !== undefined) {
      throw new ValidationError(`${field}[${i}].value`, t.value, 'must be empty when operator is "Exists"');
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      throw new ValidationError(`${field}[${i}].tolerationSeconds`, t.tolerationSeconds, 'is only allowed with effect "NoExecute"');
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
