import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SynthesizedUnit } from '../../lib/synth/synthesize';

/** Writes a unit's chart into `dir/<unit>` (a new temporary folder by default); returns the chart's folder. */
export function writeChart(u: Pick<SynthesizedUnit, 'name' | 'chart'>, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-chart-'))): string {
  const root = path.join(dir, u.name);
  for (const [f, text] of Object.entries(u.chart)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

/** Runs a helm binary with its cache and configuration in the temporary folder (never the user's). */
export function helm(bin: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'helm-cache'), HELM_CONFIG_HOME: path.join(os.tmpdir(), 'helm-config') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
