/**
 * The benchmark suite (see README.md beside this file).
 *
 *   node build/bench/run.js [synth] [plan] [runtime] [--smoke] [--runs N] [--sizes 1,10,100]
 *                           [--no-plots] [--no-profile] [--results DIR] [--readme FILE]
 *                           [--runtime-result FILE]
 *
 * With no part named, all three run. Results go to <results>/<YYYY-MM-DD>.json (a part run
 * alone replaces its own section of that day's file), plots to <results>/plots/, and the
 * README's results section is rewritten from the newest full results. `--smoke` runs tiny
 * sizes once (1 and 10 jobs, a quick runtime) into bench/results/tmp/ and leaves the README
 * alone: a check that the benchmark code works, not a measurement.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureHelm } from '../test/support/tools';
import { PLAN_COMMAND, PlanPoint, runPlanBench } from './plan';
import { drawPlots, plottingPython } from './plot';
import { profileSynthesis, ProfileSummary } from './profile';
import { renderReadme } from './report';
import { machine, Machine } from './stats';
import { runSynthBench, SynthPoint } from './synth';

export type Part = 'synth' | 'plan' | 'runtime';
export const PARTS: Part[] = ['synth', 'plan', 'runtime'];

export interface BenchOptions {
  readonly parts: Part[];
  readonly smoke: boolean;
  readonly runs?: number;
  readonly sizes?: number[];
  readonly plots: boolean;
  readonly profile: boolean;
  readonly resultsDir: string;
  /** The README to rewrite, or undefined to leave it. */
  readonly readme?: string;
  /** A result of `node build/bench/runtime/main.js --out FILE` to take instead of running the runtime part. */
  readonly runtimeResult?: string;
  /** The command line, as recorded in the results. */
  readonly command: string;
  readonly log: (m: string) => void;
}

/** Where the repository is, from build/bench/. */
export const ROOT = path.resolve(__dirname, '..', '..');

export interface PartResult {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly smoke: boolean;
  readonly machine: Machine;
  readonly command: string;
  readonly [k: string]: unknown;
}

export interface SynthPart extends PartResult {
  readonly runs: number;
  readonly sizes: number[];
  readonly points: SynthPoint[];
  readonly profile?: ProfileSummary;
}

export interface PlanPart extends PartResult {
  readonly runs: number;
  readonly points: PlanPoint[];
}

export interface ResultsFile {
  date: string;
  updatedAt: string;
  /** Wall time of the last `run.js` invocation that wrote this file, and its parts. */
  lastInvocation?: { parts: Part[]; durationMs: number; smoke: boolean };
  parts: Partial<Record<Part, PartResult>>;
}

const SYNTH_SIZES = [1, 10, 100, 1000, 5000];
const PLAN_SIZES = [10, 100, 1000];

async function synthPart(o: BenchOptions): Promise<SynthPart> {
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const sizes = o.sizes ?? (o.smoke ? [1, 10] : SYNTH_SIZES);
  const runs = o.runs ?? (o.smoke ? 1 : 3);
  const helm = await ensureHelm(3);
  const python = 'python3';
  const m = machine(helm);
  o.log(`synthesis: ${sizes.join(', ')} jobs, ${runs} run(s) each`);
  const points = await runSynthBench({
    sizes, runs,
    // Every release up to 120; above, an even sample of 120 per run (the total is linear in
    // releases: each is its own helm process). Keeps the whole suite within 30 minutes.
    helmMaxReleases: o.smoke ? 5 : 120,
    // The comparison the targets name is at 1000 jobs; at 5000 "manifests only" would add two
    // minutes to a suite that must stay under 30.
    manifestsMaxJobs: 1000,
    oneAppRepeatLimitMs: 90_000,
    oneAppLimitMs: 3 * 60_000,
    python, helm, log: o.log,
  });
  let profile: ProfileSummary | undefined;
  if (o.profile) {
    const at = o.smoke ? Math.max(...sizes) : 1000;
    o.log(`synthesis: profiling ${at} jobs`);
    profile = profileSynthesis(at);
  }
  return { startedAt, durationMs: Date.now() - t0, smoke: o.smoke, machine: m, command: o.command, runs, sizes, points, profile };
}

function planPart(o: BenchOptions): PlanPart {
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const sizes = o.smoke ? [10] : PLAN_SIZES;
  const runs = o.runs ?? (o.smoke ? 1 : 3);
  o.log(`cost model: ${sizes.join(', ')} jobs, ${runs} run(s) each`);
  const points = runPlanBench({ sizes, runs, log: o.log });
  return { startedAt, durationMs: Date.now() - t0, smoke: o.smoke, machine: machine(), command: o.command, planCommand: PLAN_COMMAND, runs, points };
}

async function runtimePart(o: BenchOptions): Promise<PartResult> {
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const m = machine();
  const base = { startedAt, smoke: o.smoke, machine: m, command: o.command };
  const file = path.join(__dirname, 'runtime', 'main.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = fs.existsSync(file) ? require(file) : undefined;
  if (o.runtimeResult) {
    const result = JSON.parse(fs.readFileSync(o.runtimeResult, 'utf8'));
    o.log(`runtime: taken from ${o.runtimeResult} (a separate run of bench/runtime/main.js)`);
    const summary = typeof mod?.formatRuntimeSummary === 'function' ? String(mod.formatRuntimeSummary(result)) : undefined;
    return {
      ...base, ...result, command: `node build/bench/runtime/main.js${result.quick ? ' --quick' : ''} --runs ${result.runs}${runtimeDeliveries(result)} --out <file>`,
      startedAt: result.startedAt ?? startedAt, durationMs: result.durationMs ?? 0, smoke: Boolean(result.quick), summary, imported: true,
    };
  }
  if (typeof mod?.runRuntimeBench !== 'function') {
    o.log('runtime: skipped (bench/runtime/main.ts with runRuntimeBench is not there)');
    return { ...base, durationMs: Date.now() - t0, skipped: 'bench/runtime/main.ts (runRuntimeBench) is not there' };
  }
  o.log(`runtime: ${o.smoke ? 'quick' : 'full'} run on local Flink and Kafka`);
  const result = await mod.runRuntimeBench({ quick: o.smoke, ...(o.runs ? { runs: o.runs } : {}), log: o.log });
  const summary = typeof mod.formatRuntimeSummary === 'function' ? String(mod.formatRuntimeSummary(result)) : undefined;
  return { ...base, ...result, durationMs: Date.now() - t0, summary };
}

/** The `--delivery` arguments of a runtime result that ran only some delivery modes. */
function runtimeDeliveries(result: { points?: Record<string, unknown> }): string {
  const modes = Object.keys(result.points ?? {});
  return modes.length === 1 ? ` --delivery ${modes[0]}` : '';
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Reads every results file of a folder, oldest first. */
export function readResults(dir: string): ResultsFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f)).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ResultsFile);
}

/** Runs the parts asked for, writes the results file, plots and README; returns the results file's path. */
export async function runBench(o: BenchOptions): Promise<string> {
  const t0 = Date.now();
  fs.mkdirSync(o.resultsDir, { recursive: true });
  const file = path.join(o.resultsDir, `${today()}.json`);
  const results: ResultsFile = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, 'utf8'))
    : { date: today(), updatedAt: '', parts: {} };
  const save = () => {
    results.updatedAt = new Date().toISOString();
    fs.writeFileSync(file, JSON.stringify(results, null, 1) + '\n');
  };
  if (o.plots) await plottingPython(o.log); // set up first: a missing pip fails before the measurements
  for (const part of o.parts) {
    if (part === 'synth') results.parts.synth = await synthPart(o);
    if (part === 'plan') results.parts.plan = planPart(o);
    if (part === 'runtime') results.parts.runtime = await runtimePart(o);
    save();
  }
  results.lastInvocation = { parts: o.parts, durationMs: Date.now() - t0, smoke: o.smoke };
  save();
  if (o.plots) {
    const written = await drawPlots(file, path.join(o.resultsDir, 'plots'), o.log);
    o.log(`plots: ${written.map((w) => path.relative(ROOT, w)).join(', ')}`);
  }
  if (o.readme) {
    const readme = fs.existsSync(o.readme) ? fs.readFileSync(o.readme, 'utf8') : '';
    fs.writeFileSync(o.readme, renderReadme(readme, readResults(o.resultsDir), path.relative(path.dirname(o.readme), path.join(o.resultsDir, 'plots')), path.join(o.resultsDir, 'plots')));
    o.log(`updated ${path.relative(ROOT, o.readme)}`);
  }
  o.log(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} min: ${path.relative(ROOT, file)}`);
  return file;
}

/** Parses the command line; throws one line naming the argument on a mistake. */
export function parseBenchArgs(argv: string[], log: (m: string) => void = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`)): BenchOptions {
  const parts: Part[] = [];
  let smoke = false;
  let runs: number | undefined;
  let sizes: number[] | undefined;
  let plots = true;
  let profile = true;
  let resultsDir: string | undefined;
  let readme: string | undefined;
  let runtimeResult: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: (missing) is invalid; expected a value`);
      return v;
    };
    if (a === 'all') parts.push(...PARTS);
    else if ((PARTS as string[]).includes(a)) parts.push(a as Part);
    else if (a === '--smoke') smoke = true;
    else if (a === '--no-plots') plots = false;
    else if (a === '--no-profile') profile = false;
    else if (a === '--runs') {
      const v = value();
      if (!/^[1-9]\d*$/.test(v)) throw new Error(`--runs: ${v} is invalid; expected a positive whole number such as 3`);
      runs = Number(v);
    } else if (a === '--sizes') {
      const v = value();
      if (!/^[1-9]\d*(,[1-9]\d*)*$/.test(v)) throw new Error(`--sizes: ${v} is invalid; expected job counts such as 1,10,100`);
      sizes = v.split(',').map(Number);
    } else if (a === '--results') resultsDir = path.resolve(value());
    else if (a === '--readme') readme = path.resolve(value());
    else if (a === '--runtime-result') runtimeResult = path.resolve(value());
    else throw new Error(`${a}: unknown argument; expected synth, plan, runtime, all, --smoke, --runs N, --sizes 1,10, --no-plots, --no-profile, --results DIR, --readme FILE or --runtime-result FILE`);
  }
  const dir = resultsDir ?? path.join(ROOT, 'bench', 'results', ...(smoke ? ['tmp'] : []));
  return {
    parts: parts.length ? [...new Set(parts)] : PARTS,
    smoke, runs, sizes, plots, profile,
    resultsDir: dir,
    // A smoke run, or a run into another folder, leaves the README alone unless told.
    readme: readme ?? (smoke || resultsDir ? undefined : path.join(ROOT, 'bench', 'README.md')),
    runtimeResult,
    command: ['node build/bench/run.js', ...argv].join(' '),
    log,
  };
}

if (require.main === module) {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: error: ${(e as Error).message}\n`);
    process.exit(1);
  }
  opts.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  runBench(opts).then(() => process.exit(0), (e: Error) => {
    process.stderr.write(`bench: error: ${e.message}\n`);
    process.exit(1);
  });
}
