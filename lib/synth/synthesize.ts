import { synthesizeChart } from '../helm/chart';
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
  // One multi-document file per release unit, as cdk8s writes one per chart.
  const files: Record<string, string> = { [`${unit.name}.k8s.yaml`]: objects.map((o) => toYaml(o)).join('---\n') };
  let chart: Record<string, string> | undefined;
  return {
    name: unit.name, kind: unit.kind, objects, files,
    // Rendered on first use: plain-manifest runs and checks do not pay for the charts.
    get chart() { return (chart ??= synthesizeChart(unit, objects)); },
  };
}

/** Synthesizes every unit of the platform, or only those named. Throws on the first invalid one. */
export function synthesizePlatform(platform: FlinkPlatform, only?: string[]): SynthesizedUnit[] {
  const units = only ? only.map((n) => {
    const u = platform.unit(n);
    if (!u) throw new UnknownJobError(n, platform.releaseUnits.map((x) => x.name));
    return u;
  }) : platform.releaseUnits;
  return units.map(synthesizeUnit);
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
