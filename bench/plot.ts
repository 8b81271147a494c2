/**
 * PNG plots of a results file, drawn by bench/plot.py with matplotlib from a virtual
 * environment the benchmark creates once under the cache folder (PyPI through pip).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir, withLock } from '../lib/local/cache';

const MATPLOTLIB = 'matplotlib==3.9.2';

/** The python3 of the plotting environment, created on first use. */
export async function plottingPython(log: (m: string) => void): Promise<string> {
  const venv = path.join(cacheDir('bench'), `venv-${MATPLOTLIB.replace(/[^A-Za-z0-9.]/g, '-')}`);
  const python = path.join(venv, 'bin', 'python3');
  const ready = () => fs.existsSync(path.join(venv, '.ready'));
  if (ready()) return python;
  await withLock('bench-venv', 15 * 60_000, async () => {
    if (ready()) return;
    log(`creating the plotting environment (${MATPLOTLIB}) in ${venv}`);
    fs.rmSync(venv, { recursive: true, force: true });
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10 * 60_000 });
    try {
      run('python3', ['-m', 'venv', venv]);
      run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', MATPLOTLIB]);
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`could not set up ${MATPLOTLIB} in ${venv}: ${err.stderr?.toString().trim().split('\n').pop() ?? err.message}`);
    }
    fs.writeFileSync(path.join(venv, '.ready'), `${MATPLOTLIB}\n`);
  });
  return python;
}

/** Draws every plot the results allow into plotsDir; returns the files written. */
export async function drawPlots(resultsFile: string, plotsDir: string, log: (m: string) => void): Promise<string[]> {
  const python = await plottingPython(log);
  fs.mkdirSync(plotsDir, { recursive: true });
  const script = path.join(__dirname, '..', '..', 'bench', 'plot.py');
  const r = spawnSync(python, [script, resultsFile, plotsDir], { encoding: 'utf8', timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`plot.py failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}
