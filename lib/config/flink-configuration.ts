import { emitYaml } from '../synth/yaml';
import { ValidationError } from '../errors';
import { FlinkVersion } from './flink-version';
import { OptionCatalog } from './catalog';
import { keyFor, removedIn2, RENAMED_IN_2 } from './keys';

/** A value of one Flink configuration key. */
export type FlinkConfigValue = string | number | boolean;

const SECRET_KEY = /(password|secret|sasl\.jaas\.config|access[-.]?key|token)/i;
const KEY = /^[$A-Za-z0-9][A-Za-z0-9_.\-$]*$/;

interface Entry { readonly value: FlinkConfigValue; readonly owner: string; readonly raw?: boolean }

/**
 * The Flink configuration of one cluster, keyed by the names the target version reads.
 *
 * Typed props of the constructs set keys through `set`; the raw escape hatch goes through
 * `setRaw`, which rejects keys the version removed (naming the replacement), translates
 * renamed keys, refuses secrets (they belong in Kubernetes Secrets) and refuses a key that a
 * typed prop already sets. `render` refuses a key that is a dotted prefix of another
 * (`a.b` with `a.b.c`), which Flink 2.x's YAML parser cannot represent.
 */
export class FlinkConfiguration {
  private readonly entries = new Map<string, Entry>();
  private readonly reserved = new Map<string, string>();

  constructor(public readonly version: FlinkVersion) {}

  /** Sets a key on behalf of a typed prop (`owner` names the prop in error messages). */
  public set(key: string, value: FlinkConfigValue, owner: string): void {
    const k = keyFor(this.version, key);
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
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new ValidationError(where, value, 'is invalid; expected a string, number or boolean');
      }
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new ValidationError(where, value, 'is invalid; expected a finite number');
      }
      if (SECRET_KEY.test(key)) {
        throw new ValidationError(where, '***', 'looks like a credential; Flink configuration lives in a ConfigMap, so pass credentials from a Kubernetes Secret (env or a mounted file) instead');
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
      const k = keyFor(this.version, key);
      if (this.reserved.has(k)) {
        throw new ValidationError(where, value, `is set at start from ${this.reserved.get(k)}; use that instead`);
      }
      const prev = this.entries.get(k);
      if (prev) {
        const alias = k === key ? '' : ` (the ${this.version.line} name of "${key}")`;
        throw new ValidationError(where, value, `duplicates Flink key "${k}"${alias}, which ${prev.owner} already sets; change that prop instead`);
      }
      this.entries.set(k, { value, owner: where, raw: true });
      this.checkPrefixes();
    }
  }

  public get(key: string): FlinkConfigValue | undefined {
    return this.entries.get(keyFor(this.version, key))?.value;
  }

  public has(key: string): boolean {
    return this.entries.has(keyFor(this.version, key));
  }

  /** The keys and values, sorted by key. */
  public toObject(): Record<string, FlinkConfigValue> {
    this.checkPrefixes();
    const out: Record<string, FlinkConfigValue> = {};
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
    for (const key of this.entries.keys()) {
      let i = key.indexOf('.');
      while (i > 0) {
        const prefix = key.slice(0, i);
        const other = this.entries.get(prefix);
        if (other) {
          throw new ValidationError(other.owner, other.value,
            `sets Flink key "${prefix}", a prefix of "${key}" (set by ${this.entries.get(key)!.owner}); Flink cannot hold both${prefix in RENAMED_IN_2 ? `, use "${RENAMED_IN_2[prefix]}"` : ''}`);
        }
        i = key.indexOf('.', i + 1);
      }
    }
  }
}
