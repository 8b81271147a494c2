/**
 * The dashboard layout, side by side in one run: n generated jobs (bench/workload.ts) synthesized
 * by `cdk8s-flink synth`'s code (`synthesizeInto`, forced, into an empty folder) two ways, each
 * run a fresh process, the two alternating run by run:
 *
 * - `per-job`: a Grafana dashboard ConfigMap in every cluster's unit and none for the platform
 *   (`monitoring: { dashboard: true }, dashboard: false`), the layout before the platform dashboard;
 * - `platform`: the default, one dashboard unit for the platform and none in the clusters' units.
 *
 *   node build/bench/dashboard.js [jobs] [runs]                 a table on stdout, JSON on stderr's last line
 *   node build/bench/dashboard.js --child <layout> <jobs> <out>  one measurement, JSON on stdout
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlinkPlatformProps } from '../lib';
import { synthesizeInto } from '../lib/synth/synthesize';
import { PhaseTimes, spawnTimedChild, summarize, Summary, timePhases } from './stats';
import { generatedPlatform } from './workload';

type Layout = 'per-job' | 'platform';
const LAYOUTS: Layout[] = ['per-job', 'platform'];
const PROPS: Record<Layout, FlinkPlatformProps> = {
  'per-job': { monitoring: { dashboard: true }, dashboard: false },
  'platform': {},
};

interface Result extends PhaseTimes {
  readonly layout: Layout;
  readonly units: number;
  readonly files: number;
  readonly bytes: number;
}

/** Files and bytes under `dir`. */
function size(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const s = size(p);
      files += s.files;
      bytes += s.bytes;
    } else if (e.isFile() && !(e.name.startsWith('.cdk8s-flink-') && path.dirname(p) === dir)) {
      files++;
      bytes += fs.statSync(p).size;
    }
  }
  return { files, bytes };
}

async function child(layout: Layout, jobs: number, out: string): Promise<Result> {
  const { result: r, times } = await timePhases(() => generatedPlatform(jobs, 0, PROPS[layout]),
    (platform) => synthesizeInto(platform, { out: path.join(out, 'dist'), charts: path.join(out, 'charts'), force: true, cwd: out }));
  const d = size(path.join(out, 'dist'));
  const c = size(path.join(out, 'charts'));
  return { layout, units: r.units.length + (r.dashboard ? 1 : 0), files: d.files + c.files, bytes: d.bytes + c.bytes, ...times };
}

function spawnChild(layout: Layout, jobs: number): Result {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bench-dashboard-'));
  try {
    return spawnTimedChild<Result>(`dashboard benchmark child (${layout}, ${jobs} jobs)`, __filename, [layout, String(jobs), out]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

async function main(jobs: number, runs: number): Promise<void> {
  const results: Result[] = [];
  for (let round = 0; round < runs; round++) {
    // Alternate which layout goes first, so that neither always follows the other.
    for (const layout of round % 2 ? [...LAYOUTS].reverse() : LAYOUTS) {
      const r = spawnChild(layout, jobs);
      results.push(r);
      process.stderr.write(`  round ${round + 1}: ${layout} ${Math.round(r.wallMs!)} ms wall, ${Math.round(r.cpuMs)} ms CPU, ${r.files} files, ${r.bytes} bytes\n`);
    }
  }
  const of = (layout: Layout, f: (r: Result) => number, digits = 0): Summary => summarize(results.filter((r) => r.layout === layout).map(f), digits);
  // Ratios per round (platform / per-job of the same round), then their spread.
  const ratio = (f: (r: Result) => number): Summary => summarize(Array.from({ length: runs }, (_, i) => {
    const [a, b] = LAYOUTS.map((l) => results.filter((r) => r.layout === l)[i]);
    return f(b) / f(a);
  }), 3);
  const metrics: Array<[string, (r: Result) => number]> = [
    ['units', (r) => r.units], ['files', (r) => r.files], ['bytes', (r) => r.bytes], ['wall ms', (r) => r.wallMs!],
    ['CPU ms', (r) => r.cpuMs], ['synth+write ms', (r) => r.synthMs], ['peak MiB', (r) => r.peakMiB],
  ];
  const fmt = (s: Summary) => (s.min === s.max ? `${s.median}` : `${s.median} (${s.min}-${s.max})`);
  process.stdout.write(`${jobs} jobs, ${runs} interleaved round(s): median (min-max); ratio = platform / per-job of the same round\n`);
  const rows = metrics.map(([name, f]) => [name, fmt(of('per-job', f)), fmt(of('platform', f)), fmt(ratio(f))]);
  for (const r of [['', 'per-job', 'platform', 'ratio'], ...rows]) process.stdout.write(`${r.map((c, i) => String(c).padStart(i ? 26 : 16)).join('')}\n`);
  process.stderr.write(`${JSON.stringify({ jobs, runs, loadavg: os.loadavg(), results })}\n`);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const done = (p: Promise<unknown>) => p.catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
  if (args[0] === '--child') done(child(args[1] as Layout, Number(args[2]), args[3]).then((r) => process.stdout.write(JSON.stringify(r))));
  else done(main(Number(args[0] ?? 1000), Number(args[1] ?? 3)));
}
