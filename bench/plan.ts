/**
 * The cost model at scale (see README.md): `cdk8s-flink plan --json` on the example jobs
 * repeated to n jobs (bench/workload.ts), read for the total CPU and memory requested with
 * every job in its own application cluster against every job on a shared session cluster, and
 * what each layout puts at risk when one JobManager or TaskManager fails.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { PlatformPlan, Resources } from '../lib/plan';
import { summarize, Summary } from './stats';
import { EXAMPLE_JOBS_PER_SESSION_CLUSTER } from './workload';

export interface PlanPoint {
  readonly jobs: number;
  /** Jobs the plan recommends to run as application clusters and as session jobs. */
  readonly recommendApplication: number;
  readonly recommendSession: number;
  readonly declared: Resources;
  readonly allApplication: Resources;
  readonly allSession: Resources;
  /** 1 - session / application. */
  readonly sessionSavesCpu: number;
  readonly sessionSavesMemory: number;
  /** Jobs one JobManager failure stops: 1 for application clusters; the jobs sharing a session cluster. */
  readonly jobsPerJobManager: { readonly application: number; readonly session: number };
  /** Wall time of `cdk8s-flink plan --json` (ms). */
  readonly planMs: Summary;
}

export interface PlanOptions {
  readonly sizes: number[];
  readonly runs: number;
  readonly log: (m: string) => void;
}

/** The command the benchmark runs, as a person would type it from the repository root. */
export const PLAN_COMMAND = 'BENCH_PLAN_JOBS=<n> node build/lib/cli/main.js plan --json --app build/bench/workload.js';

function runPlan(jobs: number): { plan: PlatformPlan; ms: number } {
  const cli = path.join(__dirname, '..', 'lib', 'cli', 'main.js');
  const app = path.join(__dirname, 'workload.js');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'plan', '--json', '--app', app], {
    encoding: 'utf8', env: { ...process.env, BENCH_PLAN_JOBS: String(jobs) }, timeout: 10 * 60_000, maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`cdk8s-flink plan (${jobs} jobs) failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  return { plan: JSON.parse(r.stdout) as PlatformPlan, ms };
}

export function runPlanBench(o: PlanOptions): PlanPoint[] {
  const points: PlanPoint[] = [];
  for (const jobs of o.sizes) {
    const runs = Array.from({ length: o.runs }, () => runPlan(jobs));
    const { plan } = runs[0];
    for (const r of runs.slice(1)) {
      if (JSON.stringify(r.plan) !== JSON.stringify(plan)) throw new Error(`cdk8s-flink plan (${jobs} jobs) gave different answers on repeated runs`);
    }
    if (plan.jobs.length !== jobs) throw new Error(`cdk8s-flink plan (${jobs} jobs) listed ${plan.jobs.length} jobs`);
    const saves = (k: keyof Resources) => Number((1 - plan.allSession[k] / plan.allApplication[k]).toFixed(3));
    points.push({
      jobs,
      recommendApplication: plan.jobs.filter((j) => j.recommendation === 'application').length,
      recommendSession: plan.jobs.filter((j) => j.recommendation === 'session').length,
      declared: plan.declared,
      allApplication: plan.allApplication,
      allSession: plan.allSession,
      sessionSavesCpu: saves('cpuMillis'),
      sessionSavesMemory: saves('memoryMiB'),
      jobsPerJobManager: { application: 1, session: Math.min(jobs, EXAMPLE_JOBS_PER_SESSION_CLUSTER) },
      planMs: summarize(runs.map((r) => r.ms), 0),
    });
    o.log(`  ${jobs} jobs: all application ${(plan.allApplication.cpuMillis / 1000).toFixed(1)} CPU / ${(plan.allApplication.memoryMiB / 1024).toFixed(1)} GiB, `
      + `all session ${(plan.allSession.cpuMillis / 1000).toFixed(1)} CPU / ${(plan.allSession.memoryMiB / 1024).toFixed(1)} GiB`);
  }
  return points;
}
