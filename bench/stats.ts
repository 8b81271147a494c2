import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';

/** Median, spread (min, max) and the raw values of repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number[];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(xs: number[], digits = 1): Summary {
  const r = (x: number) => Number(x.toFixed(digits));
  return { median: r(median(xs)), min: r(Math.min(...xs)), max: r(Math.max(...xs)), runs: xs.map(r) };
}

/** `1234 (1200-1300)` in the unit given. */
export function fmtSummary(s: Summary | undefined, unit: (x: number) => string): string {
  if (!s) return 'n/a';
  return s.runs.length > 1 ? `${unit(s.median)} (${unit(s.min)}-${unit(s.max)})` : unit(s.median);
}

export const seconds = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
export const mib = (x: number) => `${Math.round(x)} MiB`;

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly java?: string;
  readonly python?: string;
  readonly helm?: string;
  /** Load averages (1, 5, 15 minutes) when the run started: other work on the machine. */
  readonly loadAverage: number[];
}

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    const r = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return r.split('\n')[0].trim() || undefined;
  } catch (e) {
    const err = e as { stderr?: string };
    return err.stderr ? String(err.stderr).split('\n')[0].trim() || undefined : undefined;
  }
}

/** What the numbers were measured on. */
export function machine(helm?: string): Machine {
  const cpus = os.cpus();
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = `${m[1]} (${osName})`;
  } catch {
    // keep the kernel name
  }
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: osName,
    node: process.version,
    java: firstLine('java', ['-version']),
    python: firstLine('python3', ['--version']),
    helm: helm ? firstLine(helm, ['version', '--short']) : undefined,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/** What a benchmark child measures in its own process: declaring the definitions, then synthesizing and writing. */
export interface PhaseTimes {
  readonly buildMs: number;
  readonly synthMs: number;
  /** CPU of the whole process so far (user + system). */
  readonly cpuMs: number;
  readonly peakMiB: number;
  /** The child's wall time as its parent saw it (process start included). */
  wallMs?: number;
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Runs `build`, then `synth` on what it built, timing each phase (see PhaseTimes). */
export async function timePhases<P, R>(build: () => P, synth: (p: P) => Promise<R>): Promise<{ result: R; times: PhaseTimes }> {
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const built = build();
  const t1 = now();
  const result = await synth(built);
  const t2 = now();
  const cpu = process.cpuUsage(cpu0);
  return { result, times: { buildMs: t1 - t0, synthMs: t2 - t1, cpuMs: (cpu.user + cpu.system) / 1000, peakMiB: process.resourceUsage().maxRSS / 1024 } };
}

/** Runs `script --child ...args` in a new Node process and returns its JSON result with the wall time it took. */
export function spawnTimedChild<T extends PhaseTimes>(what: string, script: string, args: string[]): T {
  const t0 = now();
  const r = spawnSync(process.execPath, [script, '--child', ...args], { encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  const wallMs = now() - t0;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  return { ...(JSON.parse(r.stdout) as T), wallMs };
}
