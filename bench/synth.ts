/**
 * Synthesis at scale (see README.md): n generated jobs (bench/workload.ts) turned into
 * manifests three ways, each size and way in its own process so wall time includes start-up
 * and peak memory is that run's own:
 *
 * - `platform`: what `cdk8s-flink synth --force` does (synthesizeInto): build the definitions,
 *   synthesize every unit (one cdk8s App per unit), write dist/ (manifests) and charts/ (Helm
 *   charts) as each unit is rendered;
 * - `platform-manifests`: the same, writing dist/ only (the same output as the next two);
 * - `one-app`: the same objects as charts of one cdk8s App, written by `app.synth()`;
 * - `helm`: `helm template` of each generated chart, one process per release, as a CI that
 *   renders each release would (run by bench/helm_render.py, which reads the peak memory of
 *   each helm process).
 *
 *   node build/bench/synth.js --child <mode> <jobs> <out dir>   one measurement, JSON on stdout
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withDeferral } from '../lib/synth/deferral';
import { incrementalContext, synthesizeInto, synthesizePlatform } from '../lib/synth/synthesize';
import { replaceDirs } from '../lib/synth/write';
import { median, summarize, Summary } from './stats';
import { generatedOneApp, generatedPlatform, generatedUnits } from './workload';

export type SynthMode = 'platform' | 'platform-manifests' | 'one-app';

/** What one child process reports. */
export interface ChildResult {
  readonly mode: SynthMode;
  readonly jobs: number;
  readonly units: number;
  readonly files: number;
  readonly bytes: number;
  /** Milliseconds per phase, in process (module loading excluded). */
  readonly phases: Record<string, number>;
  readonly cpuMs: number;
  readonly peakMiB: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** One measurement, in this process. `out` is a fresh folder; it is left for the caller. */
export async function measureChild(mode: SynthMode, jobs: number, out: string): Promise<ChildResult> {
  const cpu0 = process.cpuUsage();
  const phases: Record<string, number> = {};
  let t = now();
  const lap = (name: string) => {
    const x = now();
    phases[name] = x - t;
    t = x;
  };
  let units: number;
  let files = 0;
  let bytes = 0;
  if (mode === 'one-app') {
    const platform = generatedOneApp(jobs, path.join(out, 'dist'));
    lap('build');
    platform.app.synth();
    lap('synth+write');
    units = platform.releaseUnits.length;
    for (const f of fs.readdirSync(path.join(out, 'dist'))) {
      files++;
      bytes += fs.statSync(path.join(out, 'dist', f)).size;
    }
  } else if (mode === 'platform') {
    // What `cdk8s-flink synth --force` does: the app declared for an incremental synthesis
    // (withDeferral), then synthesizeInto (each unit rendered once for both folders, written as it
    // comes, let go of once written).
    const dirs = { out: path.join(out, 'dist'), charts: path.join(out, 'charts'), force: true, cwd: out };
    const context = incrementalContext(dirs);
    const platform = withDeferral(context, () => generatedPlatform(jobs));
    lap('build');
    const r = await synthesizeInto(platform, { ...dirs, toolkit: context.toolkit });
    lap('synthesize and write');
    units = r.units.length;
    // The units' files (the dashboard's, the marker and the state left out), by size: reading
    // them would count in the peak memory.
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else {
          files++;
          bytes += fs.statSync(p).size;
        }
      }
    };
    for (const dir of [dirs.out, dirs.charts]) for (const u of r.units) walk(path.join(dir, u.name));
  } else {
    // Manifests only: every unit synthesized, then dist/ written.
    const platform = generatedPlatform(jobs);
    lap('build');
    const synthesized = synthesizePlatform(platform);
    const dist = Object.fromEntries(synthesized.map((u) => [u.name, u.files]));
    lap('manifests');
    await replaceDirs(path.join(out, 'dist'), dist, true);
    lap('write dist');
    units = synthesized.length;
    for (const tree of Object.values(dist)) {
      for (const text of Object.values(tree)) {
        files++;
        bytes += Buffer.byteLength(text);
      }
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    mode, jobs, units, files, bytes, phases,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** A child's result plus the wall time of the whole process (spawn to exit). */
export interface Run extends ChildResult {
  readonly wallMs: number;
}

/** Runs one measurement in a fresh node process; with keepOut, its output stays in keepOut. */
export function runChild(mode: SynthMode, jobs: number, opts: { keepOut?: string; nodeArgs?: string[]; timeoutMs?: number } = {}): Run {
  const out = opts.keepOut ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bench-'));
  try {
    const t0 = now();
    const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), __filename, '--child', mode, String(jobs), out], {
      encoding: 'utf8', timeout: opts.timeoutMs ?? 15 * 60_000, maxBuffer: 16 * 1024 * 1024,
    });
    const wallMs = now() - t0;
    if (r.status !== 0) throw new Error(`synthesis benchmark child (${mode}, ${jobs} jobs) failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
    return { ...(JSON.parse(r.stdout) as ChildResult), wallMs };
  } finally {
    if (!opts.keepOut) fs.rmSync(out, { recursive: true, force: true });
  }
}

/** `helm template` of every chart under chartsDir (or an even sample of them). */
export interface HelmRun {
  /** Releases rendered. */
  readonly rendered: number;
  /** Wall time of the renders, summed (ms), and of each. */
  readonly totalMs: number;
  readonly perReleaseMs: number[];
  /** The largest peak resident memory of one helm process (MiB). */
  readonly peakMiB: number;
  /** CPU time of all helm processes (ms). */
  readonly cpuMs: number;
}

/** Renders charts with the python driver (it reads the helm processes' resource usage). */
export function runHelm(python: string, helm: string, chartsDir: string, releases: string[], outDir: string): HelmRun {
  const driver = path.join(__dirname, '..', '..', 'bench', 'helm_render.py');
  const list = path.join(outDir, 'releases.txt');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(list, releases.join('\n') + '\n');
  const r = spawnSync(python, [driver, helm, chartsDir, list, path.join(outDir, 'rendered'), 'bench'], {
    encoding: 'utf8', timeout: 60 * 60_000, maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`helm_render.py failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  const res = JSON.parse(r.stdout) as { ms: number[]; peak_kib: number; cpu_ms: number };
  return {
    rendered: res.ms.length,
    totalMs: res.ms.reduce((a, b) => a + b, 0),
    perReleaseMs: res.ms,
    peakMiB: res.peak_kib / 1024,
    cpuMs: res.cpu_ms,
  };
}

/** One way of producing manifests at one size, over its runs. */
export interface SynthPoint {
  readonly variant: 'platform' | 'platform-manifests' | 'one-app' | 'helm';
  readonly jobs: number;
  readonly units: number;
  readonly files?: number;
  readonly megabytes?: number;
  /** Wall time (ms): the whole process for ours and one-App, the sum of helm processes for helm. */
  readonly wallMs: Summary;
  readonly cpuMs?: Summary;
  readonly peakMiB: Summary;
  /** Medians of the phases (ms). */
  readonly phases?: Record<string, number>;
  /** helm: releases actually rendered per run; fewer than units means extrapolated linearly. */
  readonly rendered?: number;
  readonly extrapolated?: boolean;
  /** helm: median time of one release (ms). */
  readonly perReleaseMs?: number;
  readonly note?: string;
}

export interface SynthOptions {
  readonly sizes: number[];
  readonly runs: number;
  /** Render every release up to this many units; above it, an even sample of this many. */
  readonly helmMaxReleases: number;
  /** Skip repeats of a one-App point whose first run took longer than this (ms). */
  readonly oneAppRepeatLimitMs: number;
  /** Skip one-App at sizes whose predicted run time exceeds this (ms). */
  readonly oneAppLimitMs: number;
  /** Measure "manifests only" up to this many jobs (above, only the full synth and the two alternatives). */
  readonly manifestsMaxJobs?: number;
  readonly python?: string;
  readonly helm?: string;
  readonly log: (m: string) => void;
}

function point(variant: SynthPoint['variant'], runs: Run[], note?: string): SynthPoint {
  const phaseNames = Object.keys(runs[0].phases);
  return {
    variant, jobs: runs[0].jobs, units: runs[0].units, files: runs[0].files, megabytes: Number((runs[0].bytes / 1e6).toFixed(1)),
    wallMs: summarize(runs.map((r) => r.wallMs), 0),
    cpuMs: summarize(runs.map((r) => r.cpuMs), 0),
    peakMiB: summarize(runs.map((r) => r.peakMiB), 0),
    phases: Object.fromEntries(phaseNames.map((p) => [p, Math.round(median(runs.map((r) => r.phases[p])))])),
    ...(note ? { note } : {}),
  };
}

/**
 * Every size, every way, interleaved run by run (platform, one-App, helm, then again) so that
 * a disturbance on the machine falls on all of them alike.
 */
export async function runSynthBench(o: SynthOptions): Promise<SynthPoint[]> {
  const points: SynthPoint[] = [];
  let oneAppMsPerUnit15 = 0; // one App grows faster than linearly: predict from the last size of 100+ units, with size^1.5
  for (const jobs of o.sizes) {
    const units = generatedUnits(jobs);
    const ours: Run[] = [];
    const manifests: Run[] = [];
    const oneApp: Run[] = [];
    const helmRuns: HelmRun[] = [];
    const predicted = oneAppMsPerUnit15 * units ** 1.5;
    const runOneApp = predicted <= o.oneAppLimitMs;
    const sample = units <= o.helmMaxReleases ? undefined : o.helmMaxReleases;
    let oneAppNote: string | undefined;
    for (let r = 0; r < o.runs; r++) {
      const keep = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bench-'));
      try {
        ours.push(runChild('platform', jobs, { keepOut: keep }));
        o.log(`  ${jobs} jobs, run ${r + 1}: platform ${Math.round(ours[r].wallMs)} ms`);
        if (jobs <= (o.manifestsMaxJobs ?? Infinity)) {
          manifests.push(runChild('platform-manifests', jobs));
          o.log(`  ${jobs} jobs, run ${r + 1}: platform, manifests only ${Math.round(manifests[r].wallMs)} ms`);
        }
        if (runOneApp && (r === 0 || oneApp[0].wallMs <= o.oneAppRepeatLimitMs)) {
          oneApp.push(runChild('one-app', jobs));
          o.log(`  ${jobs} jobs, run ${r + 1}: one App ${Math.round(oneApp[oneApp.length - 1].wallMs)} ms`);
        } else if (runOneApp && r === 1) {
          oneAppNote = `1 run: the first took ${Math.round(oneApp[0].wallMs / 1000)} s`;
        }
        if (o.helm && o.python) {
          const names = fs.readdirSync(path.join(keep, 'charts'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
          const chosen = sample ? Array.from({ length: sample }, (_, i) => names[Math.floor((i * names.length) / sample)]) : names;
          const h = runHelm(o.python, o.helm, path.join(keep, 'charts'), chosen, path.join(keep, 'helm'));
          helmRuns.push(h);
          o.log(`  ${jobs} jobs, run ${r + 1}: helm template ${h.rendered} release(s) ${Math.round(h.totalMs)} ms`);
        }
      } finally {
        fs.rmSync(keep, { recursive: true, force: true });
      }
    }
    points.push(point('platform', ours));
    if (manifests.length) points.push(point('platform-manifests', manifests));
    if (oneApp.length) {
      points.push(point('one-app', oneApp, oneAppNote));
      if (units >= 100) oneAppMsPerUnit15 = median(oneApp.map((r) => r.wallMs)) / units ** 1.5;
    } else {
      o.log(`  ${jobs} jobs: one App skipped (predicted ${Math.round(predicted / 1000)} s > ${o.oneAppLimitMs / 1000} s)`);
    }
    if (helmRuns.length) {
      const scale = units / helmRuns[0].rendered;
      points.push({
        variant: 'helm', jobs, units,
        wallMs: summarize(helmRuns.map((h) => h.totalMs * scale), 0),
        cpuMs: summarize(helmRuns.map((h) => h.cpuMs * scale), 0),
        peakMiB: summarize(helmRuns.map((h) => h.peakMiB), 0),
        rendered: helmRuns[0].rendered,
        extrapolated: scale !== 1,
        perReleaseMs: Number(median(helmRuns.flatMap((h) => h.perReleaseMs)).toFixed(1)),
        ...(scale !== 1 ? { note: `${helmRuns[0].rendered} of ${units} releases rendered per run, total extrapolated linearly` } : {}),
      });
    }
  }
  return points;
}

if (require.main === module && process.argv[2] === '--child') {
  const [mode, jobs, out] = process.argv.slice(3);
  measureChild(mode as SynthMode, Number(jobs), out).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
