/**
 * Incremental synthesis at scale, side by side in one run: n generated jobs (bench/workload.ts)
 * synthesized into one output folder by fresh processes, in each round:
 *
 * - `full`: everything written (`synth --force`, the state recorded), into an empty folder;
 * - `threads`: the same on two threads (`synth --force --threads 2`: one worker thread loads
 *   the definitions too and renders units taken from a shared counter), into its own folder;
 * - `noop`: the same definitions again (every unit's inputs hashed, none built or written);
 * - `changed`: 10 jobs edited (parallelism 3), only their units built, rendered and written.
 *
 *   node build/bench/incremental.js [jobs] [runs]      a table of medians on stdout
 *   node build/bench/incremental.js --child <mode> <jobs> <out>   one measurement, JSON on stdout
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withDeferral } from '../lib/synth/deferral';
import { incrementalContext, synthesizeInto } from '../lib/synth/synthesize';
import { median, PhaseTimes, spawnTimedChild, timePhases } from './stats';
import { generatedPlatformFromArg } from './workload';

type Mode = 'full' | 'threads' | 'noop' | 'changed';
const CHANGED = 10;

interface Result extends PhaseTimes {
  readonly mode: Mode;
  readonly written: number;
}

async function child(mode: Mode, jobs: number, out: string): Promise<Result> {
  const sub = mode === 'threads' ? 'threads' : '';
  const dirs = { out: path.join(out, sub, 'dist'), charts: path.join(out, sub, 'charts'), force: mode === 'full' || mode === 'threads', cwd: out };
  const arg = `${jobs},${mode === 'changed' ? CHANGED : 0}`;
  const { result: r, times } = await timePhases(() => {
    // As `cdk8s-flink synth` does: the app (here the generated platform) is declared knowing what the folders hold.
    const context = incrementalContext(dirs);
    return { context, platform: withDeferral(context, () => generatedPlatformFromArg(arg)) };
  }, ({ context, platform }) => synthesizeInto(platform, {
    ...dirs, toolkit: context.toolkit,
    parallel: mode === 'threads' ? { workers: 1, context, loader: { module: require.resolve('./workload'), exportName: 'generatedPlatformFromArg', arg } } : undefined,
  }));
  return { mode, written: new Set([...r.dist.written, ...r.charts.written]).size, ...times };
}

function spawnChild(mode: Mode, jobs: number, out: string): Result {
  return spawnTimedChild<Result>(`incremental benchmark child (${mode}, ${jobs} jobs)`, __filename, [mode, String(jobs), out]);
}

async function main(jobs: number, runs: number): Promise<void> {
  const loadBefore = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const results: Result[] = [];
  for (let round = 0; round < runs; round++) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bench-incremental-'));
    try {
      for (const mode of ['full', 'threads', 'noop', 'changed'] as Mode[]) {
        const r = spawnChild(mode, jobs, out);
        results.push(r);
        process.stderr.write(`  round ${round + 1}: ${mode} ${Math.round(r.wallMs!)} ms wall, ${Math.round(r.cpuMs)} ms CPU, ${r.written} unit(s) written\n`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
  const rows = (['full', 'threads', 'noop', 'changed'] as const).map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    const m = (f: (r: Result) => number) => {
      const v = rs.map(f);
      return `${Math.round(median(v))} (${Math.round(Math.min(...v))}-${Math.round(Math.max(...v))})`;
    };
    return [mode, m((r) => r.written), m((r) => r.wallMs!), m((r) => r.cpuMs), m((r) => r.buildMs), m((r) => r.synthMs), m((r) => r.peakMiB)];
  });
  const head = ['mode', 'units written', 'wall ms', 'CPU ms', 'build ms', 'synth ms', 'peak MiB'];
  process.stdout.write(`${jobs} jobs, ${runs} round(s), median (min-max) (wall includes process start; CPU (all threads), "build" (constructing the definitions) and "synth" (rendering and writing, wall) are in process); load average ${loadBefore} before, ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} after\n`);
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => String(c).padStart(i ? 20 : 8)).join('')}\n`);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const done = (p: Promise<unknown>) => p.catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
  if (args[0] === '--child') done(child(args[1] as Mode, Number(args[2]), args[3]).then((r) => process.stdout.write(JSON.stringify(r))));
  else done(main(Number(args[0] ?? 1000), Number(args[1] ?? 3)));
}
