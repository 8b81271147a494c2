import * as fs from 'fs';
import * as path from 'path';
import { FlinkVersion } from './flink-version';
import { OptionType } from './option-values';

/**
 * The configuration options a Flink release declares, read from the real Flink jars by
 * `scripts/flink-options/generate.sh` into `lib/config/catalog/flink-<line>.json`. Used to
 * write each key under the name the version prefers, to reject keys 2.0 removed, and to
 * catch misspelled keys.
 */
interface CatalogOption {
  readonly key: string;
  readonly scope: 'cluster' | 'connector' | 'dynamic' | 'internal';
  readonly deprecatedKeys: string[];
  readonly fallbackKeys: string[];
  readonly deprecated?: boolean;
  readonly type: string;
  readonly enumValues?: string[];
}

interface RemovedKey {
  readonly key: string;
  readonly replacement: string | null;
  readonly suggested?: string[];
  readonly reason: string;
}

/** Where the option catalogs are (read at synthesis: they rename deprecated keys). */
export const CATALOG_DIR = path.join(__dirname, '..', '..', '..', 'lib', 'config', 'catalog');

export class OptionCatalog {
  private static readonly cache = new Map<string, OptionCatalog | null>();
  private static removed?: Map<string, RemovedKey>;

  /**
   * The catalog for a version: 1.20 and 2.0 have their own; 2.1 and 2.2 use 2.2's (2.1 added
   * no key 2.2 removed). 1.18 and 1.19 have none: their keys are passed through unchecked.
   */
  public static for(version: FlinkVersion): OptionCatalog | undefined {
    const file = version.line === '1.20' ? 'flink-1.20.json'
      : version.line === '2.0' ? 'flink-2.0.json'
        : version.is2x ? 'flink-2.2.json' : undefined;
    if (!file) return undefined;
    if (!OptionCatalog.cache.has(file)) {
      const p = path.join(CATALOG_DIR, file);
      OptionCatalog.cache.set(file, fs.existsSync(p) ? new OptionCatalog(JSON.parse(fs.readFileSync(p, 'utf8'))) : null);
    }
    return OptionCatalog.cache.get(file) ?? undefined;
  }

  /** Keys 1.20 accepts that 2.x does not, with Flink's replacement where there is one. */
  public static removedIn2(key: string): RemovedKey | undefined {
    if (!OptionCatalog.removed) {
      const p = path.join(CATALOG_DIR, 'migration-2.json');
      const data = fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : { removed: [] };
      OptionCatalog.removed = new Map((data.removed as RemovedKey[]).map((r) => [r.key, r]));
    }
    return OptionCatalog.removed.get(key);
  }

  public readonly flinkVersion: string;
  private readonly main = new Map<string, string>();
  private readonly patterns: RegExp[] = [];
  private readonly byKey: Map<string, CatalogOption>;
  private readonly keys: string[];

  private constructor(data: { flinkVersion: string; options: CatalogOption[] }) {
    this.flinkVersion = data.flinkVersion;
    const byKey = new Map(data.options.map((o) => [o.key, o]));
    this.byKey = byKey;
    for (const o of data.options) {
      if (o.key.includes('<')) {
        const re = o.key.split(/<[^>]+>/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]+(?:\\.[^.]+)*?');
        this.patterns.push(new RegExp(`^${re}$`));
        continue;
      }
      this.main.set(o.key, o.key);
    }
    // A deprecated name maps to the current option that lists it, even where the old name is
    // also declared as a deprecated option of its own (1.20's execution.savepoint.path).
    for (const o of data.options) {
      if (o.key.includes('<') || o.deprecated) continue;
      for (const d of o.deprecatedKeys) {
        const cur = this.main.get(d);
        if (cur === d ? byKey.get(d)?.deprecated : cur === undefined) this.main.set(d, o.key);
      }
    }
    this.keys = [...this.main.keys()];
  }

  /** The name this version prefers for `key`, or undefined when it declares no such option. */
  public preferred(key: string): string | undefined {
    return this.main.get(key);
  }

  /**
   * The type (and enum values) of the option `key` names, under its current or a deprecated
   * name. Keys under a `<name>` pattern (metrics.reporter.<name>.port and the like) give none:
   * several reporters declare the same suffix and read it differently (the Prometheus
   * reporter's port takes a range such as 9250-9260 where the catalog records an Integer).
   */
  public option(key: string): OptionType | undefined {
    const main = this.main.get(key);
    const o = main === undefined ? undefined : this.byKey.get(main);
    return o && { key: o.key, type: o.type, enumValues: o.enumValues };
  }

  /** Every name `option` answers for (current and deprecated), with its option's type. */
  public typedKeys(): [string, OptionType][] {
    return [...this.main.keys()].map((k) => [k, this.option(k)!]);
  }

  public knows(key: string): boolean {
    return this.main.has(key) || this.patterns.some((p) => p.test(key));
  }

  /** A declared key within two edits of `key` (a likely misspelling), if any. */
  public nearest(key: string): string | undefined {
    if (key.length < 8) return undefined;
    let best: string | undefined;
    let bestD = 3;
    for (const k of this.keys) {
      if (Math.abs(k.length - key.length) >= bestD) continue;
      const d = distance(key, k, bestD);
      if (d < bestD) { bestD = d; best = k; }
    }
    return best;
  }
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
export function distance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let min = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (cur[j] < min) min = cur[j];
    }
    if (min >= limit) return limit;
    prev = cur;
  }
  return prev[b.length];
}
