import { emitYaml } from '../synth/yaml';
import { checkDataKey, checkObjectName, hasUrlCredentials, redactUrl, ValidationError } from '../errors';
import { FlinkVersion } from './flink-version';
import { OptionCatalog } from './catalog';
import { checkOptionValue } from './option-values';
import { keyFor, removedIn2, RENAMED_IN_2 } from './keys';

/** A value written to the configuration file. */
export type PlainConfigValue = string | number | boolean;

/** A Flink configuration value read from a key of a Kubernetes Secret when the process starts. */
export class SecretConfigValue {
  constructor(public readonly secretName: string, public readonly key: string) {
    checkObjectName('FlinkConfigValue.fromSecret secretName', secretName);
    checkDataKey('FlinkConfigValue.fromSecret key', key);
  }
}

/**
 * A value of one Flink configuration key: a string, number or boolean (written to the
 * configuration file in the cluster's ConfigMap), or `FlinkConfigValue.fromSecret(...)` for
 * credentials such as `security.ssl.keystore-password` or `fs.azure.account.key.<account>`.
 */
export type FlinkConfigValue = PlainConfigValue | SecretConfigValue;

export const FlinkConfigValue = {
  /**
   * The value of `key` in Secret `secretName`. It never enters the ConfigMap: the JobManager and
   * TaskManager containers get it as an environment variable from the Secret, and the image's
   * entrypoint adds `<flink key>: ${VAR}` from `FLINK_PROPERTIES` to the configuration at start
   * (substituting the variable with envsubst).
   */
  fromSecret(secretName: string, key: string): SecretConfigValue {
    return new SecretConfigValue(secretName, key);
  },
};

/**
 * Keys that hold credentials: passwords, secrets, tokens, access and account keys, private
 * keys, JAAS configurations. NOT_SECRET_KEY lists Flink keys that match but hold none (names
 * of Secrets, delegation-token switches and timings, S3A's credentials provider classes).
 */
export const SECRET_KEY = /(password|passwd|secret|sasl\.jaas\.config|access[-.]?key|token|credential|(^|\.)key(\.|$)|private[-.]?key|[-.]apikey)/i;
export const NOT_SECRET_KEY = /^(kubernetes\.(container\.image\.pull-secrets|env\.secretKeyRef|secrets)|security\.delegation\.tokens?\..*|security\.kerberos\.(fetch\.delegation-token|tokens\..*)|fs\.s3a\.(aws\.)?credentials\.provider|fs\.s3a\.assumed\.role\.credentials\.provider)$/;

/** Whether a Flink configuration key holds a credential (and so belongs in a Secret). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}
export const KEY = /^[$A-Za-z0-9][A-Za-z0-9_.\-$]*$/;

interface Entry { readonly value: PlainConfigValue; readonly owner: string; readonly raw?: boolean }

/**
 * The Flink configuration of one cluster, keyed by the names the target version reads.
 *
 * Typed props of the constructs set keys through `set`; the raw escape hatch goes through
 * `setRaw`, which rejects keys the version removed (naming the replacement), checks each value
 * against its option's type and Flink's ranges (lib/config/option-values.ts), translates
 * renamed keys, refuses secrets (they belong in Kubernetes Secrets) and refuses a key that a
 * typed prop already sets. `render` refuses a key that is a dotted prefix of another
 * (`a.b` with `a.b.c`), which Flink 2.x's YAML parser cannot represent.
 */
export class FlinkConfiguration {
  private readonly entries = new Map<string, Entry>();
  private readonly reserved = new Map<string, string>();
  private readonly secrets = new Map<string, { value: SecretConfigValue; owner: string }>();

  constructor(public readonly version: FlinkVersion) {}

  /** Sets a key on behalf of a typed prop (`owner` names the prop in error messages). */
  public set(key: string, value: PlainConfigValue, owner: string): void {
    const k = keyFor(this.version, key);
    const secret = this.secrets.get(k);
    if (secret) throw new ValidationError(secret.owner, '***', `duplicates Flink key "${k}", which ${owner} sets; change that prop instead`);
    const prev = this.entries.get(k);
    if (prev && prev.owner !== owner) {
      if (prev.raw) {
        throw new ValidationError(prev.owner, prev.value, `duplicates Flink key "${k}", which ${owner} sets; change that prop instead`);
      }
      throw new ValidationError(owner, value, `conflicts with ${prev.owner}, which already sets Flink key "${k}"; set it in one place`);
    }
    this.entries.set(k, { value, owner });
  }

  /**
   * Marks a key as managed elsewhere (written at start, not in the file): a raw key of that
   * name is refused, naming `owner`.
   */
  public reserve(key: string, owner: string): void {
    this.reserved.set(keyFor(this.version, key), owner);
  }

  /** Sets keys from the raw escape hatch (`field` is the prop that holds them). */
  public setRaw(field: string, raw: Readonly<Record<string, FlinkConfigValue>> | undefined): void {
    if (!raw) return;
    for (const [key, value] of Object.entries(raw)) {
      const where = `${field}["${key}"]`;
      if (!KEY.test(key)) {
        throw new ValidationError(`${field} key`, key, 'is not a Flink configuration key; expected dotted words such as "pipeline.max-parallelism"');
      }
      const secret = value instanceof SecretConfigValue;
      if (!secret && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new ValidationError(where, value, 'is invalid; expected a string, number or boolean, or FlinkConfigValue.fromSecret(secretName, key)');
      }
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new ValidationError(where, value, 'is invalid; expected a finite number');
      }
      if (!secret && isSecretKey(key)) {
        throw new ValidationError(where, '***', 'looks like a credential; Flink configuration lives in a ConfigMap, so pass credentials from a Kubernetes Secret with FlinkConfigValue.fromSecret(secretName, key)');
      }
      if (typeof value === 'string' && hasUrlCredentials(value)) {
        throw new ValidationError(where, redactUrl(value), 'carries credentials in a URL; Flink configuration lives in a ConfigMap, so pass them from a Kubernetes Secret with FlinkConfigValue.fromSecret(secretName, key)');
      }
      if (typeof value === 'string' && /[\r\n]/.test(value) && this.version.configFileName === 'flink-conf.yaml') {
        throw new ValidationError(where, value, 'contains a line break, which flink-conf.yaml cannot hold; expected one line');
      }
      const removed = this.version.is2x ? removedIn2(key) : undefined;
      if (removed) {
        throw new ValidationError(where, value, `sets a key removed in Flink 2.0; ${removed}`);
      }
      const catalog = OptionCatalog.for(this.version);
      if (catalog && !catalog.knows(key)) {
        const near = catalog.nearest(key);
        if (near) throw new ValidationError(`${field} key`, key, `is not a Flink ${this.version.line} option; did you mean "${near}"?`);
      }
      const option = catalog?.option(key);
      if (option && !secret) checkOptionValue(where, option, value as PlainConfigValue);
      const k = keyFor(this.version, key);
      if (this.reserved.has(k)) {
        throw new ValidationError(where, value, `is set at start from ${this.reserved.get(k)}; use that instead`);
      }
      const prev = this.entries.get(k) ?? this.secrets.get(k);
      if (prev) {
        const alias = k === key ? '' : ` (the ${this.version.line} name of "${key}")`;
        throw new ValidationError(where, secret ? '***' : value, `duplicates Flink key "${k}"${alias}, which ${prev.owner} already sets; change that prop instead`);
      }
      if (value instanceof SecretConfigValue) {
        this.secrets.set(k, { value, owner: where });
      } else {
        this.entries.set(k, { value, owner: where, raw: true });
      }
      this.checkPrefixes();
    }
  }

  /**
   * The keys the toolkit manages, with the prop that owns each: those typed props set, those
   * reserved for start, and those fed from Secrets (raw plain keys are the user's own).
   */
  public get managed(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, e] of this.entries) if (!e.raw) out.set(k, e.owner);
    for (const [k, owner] of this.reserved) out.set(k, owner);
    for (const [k, e] of this.secrets) out.set(k, e.owner);
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Keys whose values come from Secrets at start, with their Secret and key. */
  public get secretValues(): { key: string; secretName: string; secretKey: string }[] {
    return [...this.secrets.keys()].sort().map((key) => ({ key, secretName: this.secrets.get(key)!.value.secretName, secretKey: this.secrets.get(key)!.value.key }));
  }

  /**
   * The container environment that feeds the Secret-held values to Flink: one variable per
   * value from its Secret, and FLINK_PROPERTIES, whose `key: ${VAR}` lines the image's
   * entrypoint adds to the configuration file at start.
   */
  public secretEnv(): Record<string, unknown>[] {
    const values = this.secretValues;
    if (values.length === 0) return [];
    const name = (i: number) => `FLINK_CONF_SECRET_${i}`;
    return [
      ...values.map((v, i) => ({ name: name(i), valueFrom: { secretKeyRef: { name: v.secretName, key: v.secretKey } } })),
      { name: 'FLINK_PROPERTIES', value: values.map((v, i) => `${v.key}: \${${name(i)}}`).join('\n') + '\n' },
    ];
  }

  public get(key: string): PlainConfigValue | undefined {
    return this.entries.get(keyFor(this.version, key))?.value;
  }

  public has(key: string): boolean {
    const k = keyFor(this.version, key);
    return this.entries.has(k) || this.secrets.has(k);
  }

  /** The keys and values, sorted by key. */
  public toObject(): Record<string, PlainConfigValue> {
    this.checkPrefixes();
    const out: Record<string, PlainConfigValue> = {};
    for (const k of [...this.entries.keys()].sort()) out[k] = this.entries.get(k)!.value;
    return out;
  }

  /** The file name and content of the configuration file for this version. */
  public render(): { fileName: string; content: string } {
    const obj = this.toObject();
    const fileName = this.version.configFileName;
    if (fileName === 'flink-conf.yaml') {
      // The legacy parser splits each line at the first ": " and does not unquote.
      const lines = Object.entries(obj).map(([k, v]) => {
        const s = String(v);
        if (/[\r\n]/.test(s)) throw new ValidationError(`Flink key "${k}"`, s, 'contains a line break, which flink-conf.yaml cannot hold');
        return `${k}: ${s}`;
      });
      return { fileName, content: lines.join('\n') + '\n' };
    }
    return { fileName, content: emitYaml(obj).replace(/^\n/, '') };
  }

  private checkPrefixes(): void {
    const all = new Map<string, { owner: string; value: unknown }>([...this.entries, ...[...this.secrets].map(([k, e]) => [k, { owner: e.owner, value: '***' }] as const)]);
    for (const key of all.keys()) {
      let i = key.indexOf('.');
      while (i > 0) {
        const prefix = key.slice(0, i);
        const other = all.get(prefix);
        if (other) {
          throw new ValidationError(other.owner, other.value,
            `sets Flink key "${prefix}", a prefix of "${key}" (set by ${all.get(key)!.owner}); Flink cannot hold both${prefix in RENAMED_IN_2 ? `, use "${RENAMED_IN_2[prefix]}"` : ''}`);
        }
        i = key.indexOf('.', i + 1);
      }
    }
  }
}
