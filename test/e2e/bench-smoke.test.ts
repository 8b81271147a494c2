/**
 * The benchmark suite at its smoke size, so its code cannot rot: every part but the runtime
 * one (which has its own tests) runs end to end into a temporary folder, with real helm,
 * plots and the README section. It checks that the suite works and measures what it says,
 * not how fast anything is.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { planPlatform } from '../../lib/plan';
import { END, renderReadme, START } from '../../bench/report';
import { parseBenchArgs, PlanPart, readResults, runBench, SynthPart } from '../../bench/run';
import { measureChild } from '../../bench/synth';
import { readTree } from '../../lib/synth/write';
import { examplePlatform } from '../../bench/workload';

const quiet = () => undefined;

test('bench: arguments are checked, one line naming the value', () => {
  assert.throws(() => parseBenchArgs(['--runs', '0'], quiet), /^Error: --runs: 0 is invalid; expected a positive whole number/);
  assert.throws(() => parseBenchArgs(['--sizes', '1,x'], quiet), /^Error: --sizes: 1,x is invalid; expected job counts/);
  assert.throws(() => parseBenchArgs(['bogus'], quiet), /^Error: bogus: unknown argument/);
  const o = parseBenchArgs(['synth', '--smoke'], quiet);
  assert.deepEqual(o.parts, ['synth']);
  assert.equal(o.readme, undefined, 'a smoke run leaves the README alone');
  assert.match(o.resultsDir, /bench[/\\]results[/\\]tmp$/);
  assert.deepEqual(parseBenchArgs([], quiet).parts, ['synth', 'plan', 'runtime']);
});

test('bench: the one-App comparison synthesizes exactly the objects the platform does', async () => {
  const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'bench-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'bench-b-'))];
  try {
    const a = await measureChild('platform-manifests', 12, dirs[0]);
    const b = await measureChild('one-app', 12, dirs[1]);
    assert.equal(a.units, b.units);
    const objects = (dir: string) => {
      // readTree: every file of the output (the marker of our output folder left out).
      const out = new Map<string, unknown>();
      for (const text of Object.values(readTree(dir))) {
        for (const doc of YAML.parseAllDocuments(text)) {
          const o = doc.toJS();
          out.set(`${o.kind}/${o.metadata.name}`, o);
        }
      }
      return out;
    };
    const ours = objects(path.join(dirs[0], 'dist'));
    const theirs = objects(path.join(dirs[1], 'dist'));
    assert.ok(ours.size > 12 * 8, `${ours.size} objects`);
    assert.deepEqual([...theirs.keys()].sort(), [...ours.keys()].sort());
    for (const [k, o] of ours) assert.deepEqual(theirs.get(k), o, k);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('bench: the cost model workload is the example platform, repeated', () => {
  const strip = (p: ReturnType<typeof planPlatform>) => ({ ...p, jobs: p.jobs.map(({ reason: _r, ...j }) => j) });
  assert.deepEqual(strip(planPlatform(examplePlatform(5))), strip(planPlatform(buildLogPlatform(PRODUCTION))));
  const ten = planPlatform(examplePlatform(10));
  assert.equal(ten.jobs.length, 10);
  assert.equal(new Set(ten.jobs.map((j) => j.name)).size, 10);
});

test('bench: the smoke run writes results, plots and the README section', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  try {
    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(readme, `# Benchmarks\n\nhand-written text\n\n${START}\nold\n${END}\n\nmore text\n`);
    const file = await runBench({
      parts: ['synth', 'plan'], smoke: true, plots: true, profile: true,
      resultsDir: dir, readme, command: 'smoke test', log: quiet,
    });
    const [results] = readResults(dir);
    assert.equal(file, path.join(dir, `${results.date}.json`));
    const synth = results.parts.synth as SynthPart;
    for (const variant of ['platform', 'platform-manifests', 'one-app', 'helm'] as const) {
      for (const jobs of [1, 10]) {
        const p = synth.points.find((x) => x.variant === variant && x.jobs === jobs);
        assert.ok(p, `${variant} at ${jobs} jobs`);
        assert.ok(p.wallMs.median > 0 && p.peakMiB.median > 0, `${variant} at ${jobs} jobs measured`);
      }
    }
    const ten = synth.points.find((x) => x.variant === 'platform' && x.jobs === 10)!;
    assert.equal(ten.units, 11, '10 jobs: 7 application clusters, 3 session jobs, 1 session cluster');
    assert.ok(ten.files! >= 11 * 8, `${ten.files} files: each unit its manifest and a chart of at least 7 files`);
    assert.deepEqual(Object.keys(ten.phases ?? {}), ['build', 'synthesize and write'], 'the CLI phases: rendering and writing go together');
    const helm = synth.points.find((x) => x.variant === 'helm' && x.jobs === 10)!;
    assert.equal(helm.rendered, 5);
    assert.equal(helm.extrapolated, true);
    assert.ok(synth.profile && synth.profile.areas.length > 3 && synth.profile.functions.length > 3);
    const plan = results.parts.plan as PlanPart;
    assert.equal(plan.points.length, 1);
    const pt = plan.points[0];
    assert.ok(pt.allSession.memoryMiB < pt.allApplication.memoryMiB && pt.allSession.cpuMillis < pt.allApplication.cpuMillis);
    for (const png of ['synth-time', 'synth-memory', 'synth-phases', 'synth-profile', 'plan-cost']) {
      const head = fs.readFileSync(path.join(dir, 'plots', `${png}.png`)).subarray(0, 8);
      assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${png}.png is a PNG`);
    }
    const text = fs.readFileSync(readme, 'utf8');
    assert.match(text, /^# Benchmarks\n\nhand-written text\n\n/);
    assert.match(text, /\n\nmore text\n$/);
    assert.ok(!text.includes('\nold\n'));
    assert.match(text, /Smoke-size results/);
    assert.match(text, /\| 10 \| 11 \| \d+ \|/);
    assert.match(text, /!\[cost model\]\(plots\/plan-cost\.png\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bench: the README section renders from results files and keeps the text around it', () => {
  const out = renderReadme('intro\n', [], 'plots');
  assert.equal(out, `intro\n\n${START}\n\n${END}\n`);
  assert.equal(renderReadme(out, [], 'plots'), out);
});

test('bench: a newer run with the standby recovery variants is recorded beside the full runtime result', () => {
  const full = { startedAt: '2026-11-22T10:00:00Z', command: 'node build/bench/run.js', durationMs: 60_000, smoke: false, summary: 'FULL SUMMARY', comparison: { 'exactly-once': {} } };
  const standby = { startedAt: '2026-12-01T10:00:00Z', command: 'node build/bench/runtime/main.js --quick --runs 3 --delivery exactly-once --out <file>', durationMs: 120_000, smoke: true, summary: 'STANDBY SUMMARY', comparison: { 'exactly-once': { standby: {} } } };
  const file = (date: string, runtime: unknown) => ({ date, updatedAt: '', parts: { runtime } }) as any;
  const out = renderReadme('', [file('2026-11-22', full), file('2026-12-01', standby)], 'plots');
  assert.match(out, /### Runtime \(2026-11-22,[^\n]*\n[\s\S]*FULL SUMMARY/);
  assert.match(out, /### Recovery with spare capacity: a standby TaskManager or spare slots \(2026-12-01, `node build\/bench\/runtime\/main.js --quick --runs 3 --delivery exactly-once --out <file>`, 2\.0 min at the quick size[^\n]*\n[\s\S]*STANDBY SUMMARY/);
  assert.doesNotMatch(renderReadme('', [file('2026-11-22', full)], 'plots'), /### Recovery with spare capacity/, 'no section without a standby run');
});
