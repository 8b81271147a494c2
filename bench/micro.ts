/**
 * Two library choices measured side by side (see README.md beside this file):
 *
 * 1. `cdk8s-flink diff`: jsdiff's Myers diff (what `lib/cli/line-diff.ts` uses) against the
 *    dynamic-programming LCS the CLI had before (kept below as the baseline), on one manifest
 *    of about 11,000 lines with one value changed;
 * 2. YAML emission: the toolkit's emitter (`lib/synth/yaml.ts`) against the `yaml` library's
 *    `stringify` on the same objects (generated jobs, every object of every unit).
 *
 *   node build/bench/micro.js [--rounds N] [--out FILE]
 *
 * Each variant runs in a child process of its own, so its peak resident memory is its own;
 * the variants alternate within each round. Prints a JSON summary on stdout.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as YAML from 'yaml';
import { lineDiff } from '../lib/cli/line-diff';
import { synthesizePlatform } from '../lib/synth/synthesize';
import { emitYaml } from '../lib/synth/yaml';
import { machine, summarize } from './stats';
import { generatedPlatform } from './workload';

type Variant = 'diff-jsdiff' | 'diff-lcs' | 'yaml-emitter' | 'yaml-library';
const VARIANTS: Variant[] = ['diff-jsdiff', 'diff-lcs', 'yaml-emitter', 'yaml-library'];

/** The CLI's diff before it used jsdiff: a full (n+1) x (m+1) LCS table. Baseline only. */
function lcsDiff(a: string, b: string): number {
  const x = a.replace(/\n$/, '').split('\n');
  const y = b.replace(/\n$/, '').split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  let changed = 0;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { i++; j++; }
    else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) { i++; changed++; }
    else { j++; changed++; }
  }
  return changed;
}

/** A manifest of at least `lines` lines (whole units of generated jobs) and a copy with one value changed in its middle. */
function manifestPair(lines: number): { a: string; b: string; lines: number } {
  let a = '';
  for (let jobs = 10; ; jobs *= 2) {
    a = synthesizePlatform(generatedPlatform(jobs)).map((u) => Object.values(u.files).join('---\n')).join('---\n');
    if (a.split('\n').length >= lines) break;
  }
  const all = a.split('\n');
  const mid = all.findIndex((l, k) => k > all.length / 2 && /parallelism\.default: \d+/.test(l));
  all[mid] = all[mid].replace(/parallelism\.default: \d+/, 'parallelism.default: 99');
  return { a, b: all.join('\n'), lines: all.length };
}

function runVariant(v: Variant): { ms: number; maxRssMiB: number; size: number } {
  if (v.startsWith('diff')) {
    const { a, b, lines } = manifestPair(11_000);
    const t = process.hrtime.bigint();
    if (v === 'diff-jsdiff') lineDiff(a, b);
    else lcsDiff(a, b);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    return { ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, size: lines };
  }
  const objects = synthesizePlatform(generatedPlatform(200)).flatMap((u) => u.objects);
  const emit = v === 'yaml-emitter' ? emitYaml : (o: unknown) => YAML.stringify(o);
  const t = process.hrtime.bigint();
  let bytes = 0;
  for (const o of objects) bytes += emit(o).length;
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, size: bytes };
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--variant') {
    process.stdout.write(JSON.stringify(runVariant(args[1] as Variant)));
    return;
  }
  const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3;
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const raw: Record<string, { ms: number; maxRssMiB: number; size: number }[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const v of VARIANTS) {
      const res = JSON.parse(execFileSync(process.execPath, ['--max-old-space-size=4096', __filename, '--variant', v], { encoding: 'utf8', maxBuffer: 1 << 20 }));
      (raw[v] ??= []).push(res);
      process.stderr.write(`round ${r + 1}/${rounds} ${v}: ${res.ms.toFixed(0)} ms, ${res.maxRssMiB.toFixed(0)} MiB\n`);
    }
  }
  const med = (v: Variant, k: 'ms' | 'maxRssMiB') => summarize(raw[v].map((x) => x[k]));
  const ratio = (x: Variant, y: Variant) => summarize(raw[x].map((p, i) => raw[y][i].ms / p.ms), 2);
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    rounds,
    diff: { manifestLines: raw['diff-jsdiff'][0].size, jsdiff: { ms: med('diff-jsdiff', 'ms'), maxRssMiB: med('diff-jsdiff', 'maxRssMiB') }, lcs: { ms: med('diff-lcs', 'ms'), maxRssMiB: med('diff-lcs', 'maxRssMiB') }, lcsOverJsdiffTime: ratio('diff-jsdiff', 'diff-lcs') },
    yaml: { bytes: raw['yaml-emitter'][0].size, libraryBytes: raw['yaml-library'][0].size, emitter: { ms: med('yaml-emitter', 'ms') }, library: { ms: med('yaml-library', 'ms') }, libraryOverEmitterTime: ratio('yaml-emitter', 'yaml-library') },
    raw,
  };
  const text = JSON.stringify(result, null, 1);
  if (out) fs.writeFileSync(out, `${text}\n`);
  process.stdout.write(`${text}\n`);
}

main();
