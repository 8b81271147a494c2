import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../errors';
import { log } from './command';

/** The helm binary: --helm, $HELM_BIN, or helm on PATH. */
export function helmBinary(explicit?: string): string {
  const bin = explicit ?? process.env.HELM_BIN ?? 'helm';
  const r = spawnSync(bin, ['version', '--short'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new UserError(`--helm: ${JSON.stringify(bin)} does not run (${r.error?.message ?? r.stderr.trim()}); expected a helm 3 or 4 binary (--helm or HELM_BIN)`);
  }
  return bin;
}

export function helmMajor(bin: string): number {
  const r = spawnSync(bin, ['version', '--short'], { encoding: 'utf8' });
  const m = /v(\d+)\./.exec(r.stdout);
  return m ? Number(m[1]) : 3;
}

/** A failed helm call, reduced to the one line that says why. */
export class HelmError extends UserError {}

/**
 * The reason in helm's output: the API server's "X is invalid: field: ..." when there is one,
 * else the last "Error:" line, without helm's prefixes.
 */
export function helmReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const invalid = lines.map((l) => /(\w+(?:\.[\w.]+)? "[^"]+" is invalid: .*)$/.exec(l)?.[1]).find(Boolean);
  if (invalid) return invalid;
  const at = lines.map((l) => l.startsWith('Error:')).lastIndexOf(true);
  let error = at >= 0 ? lines[at] : lines[lines.length - 1] ?? 'helm failed';
  // A schema failure lists the violations on the following lines ("- path: reason").
  const details = at >= 0 ? lines.slice(at + 1).filter((l) => l.startsWith('- ')).map((l) => l.slice(2)) : [];
  if (details.length) error = `${error.replace(/:$/, '')}: ${details.join('; ')}`;
  return error.replace(/^Error:\s*/, '').replace(/^(UPGRADE|INSTALLATION) FAILED:\s*/, '').replace(/^execution error at \([^)]*\):\s*/, '');
}

/** Runs helm; its progress goes to stderr. Resolves with stdout; rejects with a HelmError. */
export function runHelm(bin: string, args: string[], capture = false): Promise<string> {
  log(`$ helm ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; if (!capture) process.stderr.write(d); });
    child.stderr.on('data', (d) => { err += d; process.stderr.write(d); });
    child.on('error', (e) => reject(new HelmError(e.message)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new HelmError(helmReason(err)))));
  });
}

/** The chart folder of a job, which must exist (synthesized). */
export function chartDir(charts: string, job: string): string {
  const dir = path.resolve(charts, job);
  if (!fs.existsSync(path.join(dir, 'Chart.yaml'))) {
    throw new UserError(`no chart for ${JSON.stringify(job)} in ${charts}/: run "cdk8s-flink synth" first, or pass --charts`);
  }
  return dir;
}
