/**
 * Runs real `promtool check rules` / `promtool test rules` on rule files and unit-test files
 * built in TypeScript, in a temp dir. The files are kept (and their path printed) when a run
 * fails, so a failure can be reproduced by hand.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { ensurePromtool, run } from '../support/tools';
import { InputSeries, seriesText } from './series';

export interface ExpAlert {
  readonly exp_labels: Record<string, string>;
  readonly exp_annotations: Record<string, string>;
}

export interface AlertTest {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts: ExpAlert[];
}

export interface ExprTest {
  readonly expr: string;
  readonly eval_time: string;
  readonly exp_samples: Array<{ labels: string; value: number }>;
}

export interface PromtoolTestGroup {
  readonly name: string;
  readonly series: InputSeries[];
  readonly alerts?: AlertTest[];
  readonly exprs?: ExprTest[];
}

/** De-duplicates input series by metric and labels (the first one wins). */
export function uniqueSeries(series: InputSeries[]): InputSeries[] {
  const seen = new Set<string>();
  return series.filter((x) => {
    const k = seriesText(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface PromtoolRun {
  readonly dir: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly ok: boolean;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cdk8s-flink-${prefix}-`));
}

/** `promtool check rules` on each rule file (name -> rule file object). */
export async function checkRules(files: Record<string, unknown>): Promise<PromtoolRun> {
  const promtool = await ensurePromtool();
  const dir = tempDir('promtool-check');
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), stringify(content, { lineWidth: 0 }));
  try {
    const r = await run(promtool, ['check', 'rules', ...Object.keys(files)], { cwd: dir, timeoutMs: 120_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    return { dir, stdout: r.stdout, stderr: r.stderr, ok: true };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    return { dir, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message, ok: false };
  }
}

/**
 * `promtool test rules` of the rule files with the given test groups (interval and
 * evaluation interval 1m). Returns the run; `ok` is false when any test failed.
 */
export async function testRules(ruleFiles: Record<string, unknown>, groups: PromtoolTestGroup[]): Promise<PromtoolRun> {
  const promtool = await ensurePromtool();
  const dir = tempDir('promtool-test');
  for (const [name, content] of Object.entries(ruleFiles)) fs.writeFileSync(path.join(dir, name), stringify(content, { lineWidth: 0 }));
  const tests = {
    rule_files: Object.keys(ruleFiles),
    evaluation_interval: '1m',
    tests: groups.map((g) => ({
      name: g.name,
      interval: '1m',
      input_series: uniqueSeries(g.series).map((x) => ({ series: seriesText(x), values: x.values })),
      ...(g.alerts?.length ? { alert_rule_test: g.alerts } : {}),
      ...(g.exprs?.length ? { promql_expr_test: g.exprs } : {}),
    })),
  };
  fs.writeFileSync(path.join(dir, 'tests.yaml'), stringify(tests, { lineWidth: 0 }));
  try {
    const r = await run(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir, timeoutMs: 300_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    return { dir, stdout: r.stdout, stderr: r.stderr, ok: true };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    return { dir, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message, ok: false };
  }
}

/** A readable failure message: promtool's output and where the files are. */
export function failure(r: PromtoolRun): string {
  return `promtool failed (files kept in ${r.dir}):\n${r.stdout}\n${r.stderr}`.slice(0, 20_000);
}
