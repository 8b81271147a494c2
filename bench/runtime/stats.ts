/** Summaries of repeated measurements. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { median as medianOf } from '../stats';

/** One measured point: every run's value, and median, min and max over them. */
export interface Stat {
  readonly unit: string;
  readonly runs: number[];
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

/** The median, or null for no values (the JSON's missing value). */
export function median(xs: number[]): number | null {
  return xs.length === 0 ? null : medianOf(xs);
}

export function stat(unit: string, runs: number[]): Stat {
  const xs = runs.filter((x) => Number.isFinite(x));
  return {
    unit,
    runs: xs.map(round),
    median: xs.length ? round(median(xs)!) : null,
    min: xs.length ? round(Math.min(...xs)) : null,
    max: xs.length ? round(Math.max(...xs)) : null,
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

function round(x: number): number {
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000;
}

/**
 * CPU time (user + system, ms) of every process in the given process groups, from /proc (Linux);
 * undefined where /proc is not available. Flink processes run in their own process groups
 * (spawnManaged), so a group is the start script and its JVM.
 */
export function groupCpuMs(groups: number[], clockTicks = CLOCK_TICKS): number | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  const wanted = new Set(groups);
  let ticks = 0;
  for (const e of entries) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ... utime stime ...": comm may hold spaces and parentheses
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (wanted.has(Number(f[2]))) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / clockTicks;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
