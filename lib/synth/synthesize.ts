import { synthesizeChart } from '../helm/chart';
import { toolkitFingerprint, unitHash } from './fingerprint';
import { SyncResult, syncDirs } from './write';
import { emitYaml } from './yaml';
import { ValidationError } from '../errors';
import { FlinkPlatform, ReleaseUnit, UnitKind } from '../platform';

/** The manifests of one release unit: file name -> YAML document. */
export interface SynthesizedUnit {
  readonly name: string;
  readonly kind: UnitKind;
  readonly objects: any[];
  /** dist/<name>/: the plain manifests. */
  readonly files: Record<string, string>;
  /** charts/<name>/: the Helm chart. */
  readonly chart: Record<string, string>;
}

/** Turns one unit's chart into Kubernetes objects and their YAML files (one object per file). */
export function synthesizeUnit(unit: ReleaseUnit): SynthesizedUnit {
  let objects: any[];
  try {
    objects = unit.chart.toJson();
  } catch (e) {
    // cdk8s wraps errors raised while rendering lazy values; surface ours unwrapped.
    const m = /ValidationError: (.*)$/s.exec(String((e as Error).message));
    if (m) throw new ValidationError(`${unit.name}`, undefined, '').withMessage(`${unit.name}: ${m[1]}`);
    throw e;
  }
  let files: Record<string, string> | undefined;
  let chart: Record<string, string> | undefined;
  return {
    name: unit.name, kind: unit.kind, objects,
    // Rendered on first use: checks and an incremental synthesis of an unchanged unit do not pay
    // for the YAML, plain-manifest runs not for the charts. One multi-document file per release
    // unit, as cdk8s writes one per chart.
    get files() { return (files ??= { [`${unit.name}.k8s.yaml`]: objects.map((o) => toYaml(o)).join('---\n') }); },
    get chart() { return (chart ??= synthesizeChart(unit, objects)); },
  };
}

/** Synthesizes every unit of the platform, or only those named. Throws on the first invalid one. */
export function synthesizePlatform(platform: FlinkPlatform, only?: string[]): SynthesizedUnit[] {
  return selectUnits(platform, only).map(synthesizeUnit);
}

function selectUnits(platform: FlinkPlatform, only?: string[]): readonly ReleaseUnit[] {
  const units = only ? only.map((n) => {
    const u = platform.unit(n);
    if (!u) throw new UnknownJobError(n, platform.releaseUnits.map((x) => x.name));
    return u;
  }) : platform.releaseUnits;
  return units;
}

/** What `synthesizeInto` did. */
export interface SynthesisResult {
  readonly units: SynthesizedUnit[];
  /** The manifests' and the charts' folders: units written, left as they were, removed. */
  readonly dist: SyncResult;
  readonly charts: SyncResult;
}

/**
 * Synthesizes the platform (or the units named in `only`) into `out` (manifests) and `charts`
 * (Helm charts), incrementally: every unit's objects are built and hashed with what else its
 * output depends on (see unitHash), and only units whose hash or folder changed are rendered
 * and written; a full synthesis removes the folders of units that no longer exist. `force`
 * writes everything. The folders must have been checked (checkOutputDirs).
 */
export async function synthesizeInto(platform: FlinkPlatform, o: { out: string; charts: string; only?: string[]; force?: boolean; cwd?: string }): Promise<SynthesisResult> {
  const toolkit = toolkitFingerprint(o.cwd);
  const selected = selectUnits(platform, o.only);
  const units = selected.map(synthesizeUnit);
  const hashes = selected.map((u, i) => unitHash(toolkit, u, units[i].objects));
  const opts = { prune: !o.only, force: o.force };
  const dist = await syncDirs(o.out, units.map((u, i) => ({ name: u.name, hash: hashes[i], tree: () => u.files })), opts);
  const charts = await syncDirs(o.charts, units.map((u, i) => ({ name: u.name, hash: hashes[i], tree: () => u.chart })), opts);
  return { units, dist, charts };
}

export class UnknownJobError extends Error {
  constructor(name: string, known: string[]) {
    super(`--job: ${JSON.stringify(name)} is not defined; expected one of ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownJobError';
  }
}

export function toYaml(obj: unknown): string {
  const s = emitYaml(obj);
  return s.charCodeAt(0) === 10 ? s.slice(1) : s;
}
