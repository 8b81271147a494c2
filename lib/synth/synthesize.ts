import { createHash } from 'crypto';
import { ApiObject, Chart } from 'cdk8s';
import { synthesizeChart } from '../helm/chart';
import { dashboardChart } from '../helm/dashboard-chart';
import { toolkitFingerprint, unitHash } from './fingerprint';
import { DeferralContext, PreviousUnit } from './deferral';
import { apiSnapshot } from './inputs';
import { readPreviousUnits, syncAll, SyncResult } from './write';
import { DEFAULT_MIN_UNITS, ParallelRender, renderShared, RenderedUnit } from './parallel';
import { emitYaml } from './yaml';
import { UserError, ValidationError } from '../errors';
import { DashboardUnit, FlinkPlatform, ReleaseUnit, UnitKind } from '../platform';
import { FlinkCluster } from '../cluster/flink-cluster';
import { checkObjects } from '../schema/validate';

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
    objects = withPatchedFields(unit.chart, unit.chart.toJson());
  } catch (e) {
    // cdk8s wraps errors raised while rendering lazy values; surface ours unwrapped.
    const m = /ValidationError: (.*)$/s.exec(String((e as Error).message));
    if (m) throw new ValidationError(`${unit.name}`, undefined, '').withMessage(`${unit.name}: ${m[1].split('\n')[0]}`);
    // Anything else (an error of a lazy value or of cdk8s itself) as one line naming the unit.
    const first = String((e as Error)?.message ?? e).split('\n')[0];
    throw new ValidationError(`${unit.name}`, undefined, '').withMessage(`${unit.name}: its objects could not be rendered: ${first}`);
  }
  let files: Record<string, string> | undefined;
  let chart: Record<string, string> | undefined;
  return {
    name: unit.name, kind: unit.kind, objects,
    // Rendered on first use: checks and an incremental synthesis of an unchanged unit do not pay
    // for the YAML, plain-manifest runs not for the charts. One multi-document file per release
    // unit, as cdk8s writes one per chart.
    get files() { return (files ??= { [manifestFileName(unit.name)]: objects.map((o) => toYaml(o)).join('---\n') }); },
    get chart() { return (chart ??= synthesizeChart(unit, objects)); },
  };
}

/** Synthesizes every unit of the platform, or only those named. Throws on the first invalid one. */
export function synthesizePlatform(platform: FlinkPlatform, only?: string[]): SynthesizedUnit[] {
  return selectUnits(platform, only).map(synthesizeChecked);
}

function selectUnits(platform: FlinkPlatform, only?: string[]): readonly ReleaseUnit[] {
  const units = only ? only.map((n) => {
    const u = platform.unit(n);
    if (!u) throw new UnknownJobError(n, platform.releaseUnits.map((x) => x.name));
    return u;
  }) : platform.releaseUnits;
  return units;
}

/**
 * One unit's objects, with the checks that need them: state on shared storage, and every object
 * (escape-hatch patches and objects added to the chart included) as the API server validates it.
 */
export function synthesizeChecked(u: ReleaseUnit): SynthesizedUnit {
  const s = synthesizeUnit(u);
  checkSharedStorage(u, s.objects);
  checkObjects(u.name, s.objects);
  return s;
}

/**
 * The objects as their JSON patches made them. cdk8s' typed classes (`KubeDeployment`, ...)
 * serialize through their props after applying the patches, silently dropping every field the
 * props do not declare (a patch adding `readinesProbe` would vanish) and every quantity or
 * int-or-string given as plain JSON (a patched `memory: "2Gi"` would become no limit at all).
 * For each patched object, what its patches produced and serialization dropped is put back:
 * validation then names an unknown field instead of the output losing it, and a valid value
 * reaches the output.
 */
function withPatchedFields(chart: Chart, objects: any[]): any[] {
  const patched = chart.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c)
    && (c as unknown as { patches: unknown[] }).patches.length > 0);
  if (patched.length === 0) return objects;
  const byId = new Map(patched.map((o) => [`${o.apiVersion}/${o.kind}/${o.name}`, o]));
  return objects.map((obj) => {
    const api = byId.get(`${obj.apiVersion}/${obj.kind}/${obj.metadata?.name}`);
    return api ? restoreDropped(ApiObject.prototype.toJson.call(api), obj) : obj;
  });
}

/** `typed` plus every field of `raw` it lacks (at any depth); where `typed` differs in shape, `typed`. */
function restoreDropped(raw: any, typed: any): any {
  if (Array.isArray(raw) && Array.isArray(typed)) return typed.map((t, i) => restoreDropped(raw[i], t));
  const plain = (v: any) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!plain(raw) || !plain(typed)) return typed;
  const out: any = { ...typed };
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k] = typed[k] === undefined ? JSON.parse(JSON.stringify(v)) : restoreDropped(v, typed[k]);
  }
  return out;
}

/**
 * Refuses state directories that would live inside a pod: a `file://` checkpoint, savepoint or
 * HA directory is durable only on a PersistentVolumeClaim mounted at or above it in both the
 * JobManager and the TaskManager pods (TaskManagers write checkpoint state, the JobManager the
 * metadata). Local runs (`cdk8s-flink local`) share one file system and skip this check.
 */
export function checkSharedStorage(unit: ReleaseUnit, objects: any[]): void {
  const c = unit.construct;
  if (!(c instanceof FlinkCluster)) return;
  const dirs: [string, unknown][] = [
    ['checkpointDirectory', c.checkpointDirectory],
    ['savepointDirectory', c.savepointDirectory],
    ['highAvailabilityStorageDir', c.configuration.get('high-availability.storageDir')],
  ];
  for (const [field, dir] of dirs) {
    if (typeof dir !== 'string' || !dir.startsWith('file:')) continue;
    const p = dir.replace(/^file:(\/\/(localhost)?)?/, '');
    for (const component of ['jobmanager', 'taskmanager']) {
      const d = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === `${c.name}-${component}`);
      const pod = d?.spec?.template?.spec;
      const claims = new Set((pod?.volumes ?? []).filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.name));
      const shared = (pod?.containers?.[0]?.volumeMounts ?? []).some((m: any) => claims.has(m.name) && !m.readOnly
        && (p === m.mountPath || p.startsWith(m.mountPath.replace(/\/+$/, '') + '/')));
      if (!shared) {
        throw new ValidationError(`${unit.name}: ${field}`, dir, `is pod-local: no writable PersistentVolumeClaim is mounted at or above ${p} in the ${component} pods, so the state dies with the pod; expected durable storage such as "s3://bucket/flink/${field === 'highAvailabilityStorageDir' ? 'ha' : 'checkpoints'}", or a shared (ReadWriteMany) claim mounted there with volumes`);
      }
    }
  }
}

/** The platform dashboard's unit: its ConfigMap, dist/<name>/ and charts/<name>/. */
export interface SynthesizedDashboard {
  readonly name: string;
  readonly objects: any[];
  readonly files: Record<string, string>;
  readonly chart: Record<string, string>;
}

/** Synthesizes the platform dashboard's unit (checked like every unit's objects). */
export function synthesizeDashboard(u: DashboardUnit): SynthesizedDashboard {
  const objects = u.chart.toJson();
  checkObjects(u.name, objects);
  let chart: Record<string, string> | undefined;
  return {
    name: u.name, objects,
    files: { [`${u.name}.k8s.yaml`]: objects.map((o) => toYaml(o)).join('---\n') },
    get chart() { return (chart ??= dashboardChart(u.construct, objects)); },
  };
}

/** The platform dashboard's unit, when it belongs to a synthesis of the units `only` names (all without `only`). */
export function selectedDashboard(platform: FlinkPlatform, only?: string[]): DashboardUnit | undefined {
  const d = platform.dashboardUnit;
  return d && (!only || only.includes(d.name)) ? d : undefined;
}

/** `only` without the platform dashboard's name (the names of the jobs' units). */
export function jobsOnly(platform: FlinkPlatform, only?: string[]): string[] | undefined {
  return only?.filter((n) => n !== platform.dashboardUnit?.name);
}

/** What `synthesizeInto` did. */
export interface SynthesisResult {
  /** Every unit synthesized: a unit left as it was is built only if its objects or files are read. */
  readonly units: SynthesizedUnit[];
  /** How many Kubernetes objects the units' manifests hold. */
  readonly objects: number;
  /** The units whose constructs were built (the others were known unchanged from their inputs). */
  readonly built: string[];
  /** The platform dashboard's unit, when it was part of the synthesis. */
  readonly dashboard?: SynthesizedDashboard;
  /** The manifests' and the charts' folders: units written, left as they were, removed. */
  readonly dist: SyncResult;
  readonly charts: SyncResult;
  /** How rendering was shared between threads, when worker threads were used. */
  readonly parallel?: ParallelStats;
}

/** The file of dist/<name>/ (see synthesizeUnit). */
export function manifestFileName(unit: string): string {
  return `${unit}.k8s.yaml`;
}

/**
 * Synthesizes the platform (or the units named in `only`) into `out` (manifests) and `charts`
 * (Helm charts), incrementally: only units whose hash or folder changed are rendered and
 * written; a full synthesis removes the folders of units that no longer exist. `force` writes
 * everything. The folders must have been checked (checkOutputDirs).
 *
 * A unit's hash is that of its inputs when its output provably depends on them alone (see
 * FlinkPlatform's deferral and SynthesisUnit.inputHash): such a unit, declared while
 * `previousUnits` was in effect with the hash recorded here, was never built and costs nothing
 * unless its folder changed on disk. Any other unit is built, and its hash is that of its
 * objects and fields (see unitHash).
 */
export async function synthesizeInto(platform: FlinkPlatform, o: { out: string; charts: string; only?: string[]; force?: boolean; cwd?: string; toolkit?: string; parallel?: ParallelRender }): Promise<SynthesisResult> {
  const board = selectedDashboard(platform, o.only);
  const jobs = jobsOnly(platform, o.only);
  const selected = platform._synthesisUnits(jobs);
  if (!selected) selectUnits(platform, jobs); // throws the UnknownJobError
  let toolkit = o.toolkit;
  // What worker threads rendered (see renderInParallel), by unit name.
  const fromWorkers = new Map<string, RenderedUnit>();
  const outputs = selected!.map((u) => {
    // What this unit rendered, until it is written (see `done` below); rendered again if asked after.
    let s: SynthesizedUnit | undefined;
    let objects: number | undefined;
    const synth = () => (s ??= synthesizeChecked(u.unit()));
    // A unit whose hash needs its objects is checked now, before anything is written; the others when written.
    const hash = u.inputHash ?? `objects:${unitHash((toolkit ??= toolkitFingerprint(o.cwd)), u.unit(), synth().objects)}`;
    const meta = () => (u.inputHash === undefined ? undefined
      : { claims: u.claims, objects: objects ?? s?.objects.length ?? fromWorkers.get(u.name)?.objects ?? u.recordedObjects ?? synth().objects.length });
    const rendered = () => fromWorkers.get(u.name) ?? synth();
    /** Its trees were taken for writing: keep its object count, let go of the rest. */
    const written = () => {
      objects ??= s?.objects.length ?? fromWorkers.get(u.name)?.objects;
      s = undefined;
      fromWorkers.delete(u.name);
      // Only a unit whose output provably depends on its inputs alone is built the same again.
      if (u.inputHash !== undefined) platform._release(u.name);
    };
    return { u, synth, hash, meta, rendered, written, get objects() { return objects; } };
  });
  const parallel = o.parallel && o.parallel.workers > 0 ? await renderInParallel(platform, outputs, jobs, o.parallel, fromWorkers) : undefined;
  const dashboard = board ? synthesizeDashboard(board) : undefined;
  // Its output is its objects' (the chart is made from them alone).
  const boardHash = dashboard ? createHash('sha256').update(`${(toolkit ??= toolkitFingerprint(o.cwd))}\ndashboard ${dashboard.name}\n${JSON.stringify(dashboard.objects)}`).digest('hex') : '';
  const opts = { prune: !o.only, force: o.force };
  const entries = (tree: (u: Pick<SynthesizedUnit, 'files' | 'chart'>) => Record<string, string>) => [
    ...outputs.map((x) => ({ name: x.u.name, hash: x.hash, get meta() { return x.meta(); }, tree: () => tree(x.rendered()) })),
    ...(dashboard ? [{ name: dashboard.name, hash: boardHash, tree: () => tree(dashboard) }] : []),
  ];
  // Each unit is rendered once for both folders and let go of once written: memory holds the
  // constructs and a few units' output, not the whole output.
  const byName = new Map(outputs.map((x) => [x.u.name, x]));
  const [dist, charts] = await syncAll([{ outDir: o.out, units: entries((u) => u.files) }, { outDir: o.charts, units: entries((u) => u.chart) }], opts, (name) => byName.get(name)?.written());
  const units = outputs.map((x): SynthesizedUnit => ({
    name: x.u.name, kind: x.u.kind,
    get objects() { return x.synth().objects; },
    get files() { return x.rendered().files; },
    get chart() { return x.rendered().chart; },
  }));
  // A unit without meta was built for its hash: its objects are known.
  const objects = outputs.reduce((n, x) => n + (x.meta()?.objects ?? x.objects ?? x.synth().objects.length), 0);
  return { units, objects, built: platform._builtUnits(), dashboard, dist, charts, parallel };
}

/** How the units' rendering was shared between threads (SynthesisResult.parallel). */
export interface ParallelStats {
  /** Units rendered before writing: by this thread, and by the workers together. */
  readonly here: number;
  readonly workers: number;
  /** Threads that rendered: this one and the workers started. */
  readonly threads: number;
}

/**
 * Renders the units that were built (the others are unchanged, or built and rendered only if
 * their folder must be rewritten) on this thread and worker threads, when there are at least
 * `p.minUnits` of them. A unit rendered here is kept by its own `synth`; a worker's output goes
 * into `fromWorkers`. Units nobody finished render later, serially, when written.
 */
async function renderInParallel(platform: FlinkPlatform, outputs: { u: { name: string }; synth: () => SynthesizedUnit }[], jobs: string[] | undefined, p: ParallelRender, fromWorkers: Map<string, RenderedUnit>): Promise<ParallelStats | undefined> {
  const built = new Set(platform._builtUnits());
  const todo = outputs.filter((x) => built.has(x.u.name));
  if (todo.length < (p.minUnits ?? DEFAULT_MIN_UNITS)) return undefined;
  const names = todo.map((x) => x.u.name);
  const r = await renderShared(names, jobs, p, (k) => {
    const s = todo[k].synth();
    void s.files;
    void s.chart;
  });
  for (const [k, unit] of r.fromWorkers) fromWorkers.set(names[k], unit);
  return { here: r.here, workers: r.fromWorkers.size, threads: p.workers + 1 };
}

/**
 * What lets an app load for an incremental synthesis into `out` and `charts` (withDeferral):
 * the toolkit fingerprint, the units both folders recorded with the hash of their inputs
 * (none with `force`), and the libraries' surface as it is before the app runs.
 */
export function incrementalContext(o: { out: string; charts: string; force?: boolean; cwd?: string }): DeferralContext {
  const previous = new Map<string, PreviousUnit>();
  if (!o.force) {
    for (const [name, u] of readPreviousUnits([o.out, o.charts])) {
      const meta = u.meta as Partial<PreviousUnit> | undefined;
      if (u.hash.startsWith('inputs:') && Array.isArray(meta?.claims) && typeof meta?.objects === 'number') {
        previous.set(name, { hash: u.hash, claims: meta.claims, objects: meta.objects });
      }
    }
  }
  return { toolkit: toolkitFingerprint(o.cwd), previous, snapshot: apiSnapshot() };
}

/** `--job` names no unit of the platform. */
export class UnknownJobError extends UserError {
  constructor(name: string, known: string[]) {
    super(`--job: ${JSON.stringify(name)} is not defined; expected one of ${known.join(', ') || '(none)'}`);
  }
}

export function toYaml(obj: unknown): string {
  const s = emitYaml(obj);
  return s.charCodeAt(0) === 10 ? s.slice(1) : s;
}
