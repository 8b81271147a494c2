import * as fs from 'fs';
import * as path from 'path';
import { FlinkPlatform } from '../platform';
import { UsageError } from './args';

/**
 * Finds the app module: `--app`, else the `app` command of cdk8s.yaml in the working
 * directory (`node build/examples/main.js` -> `build/examples/main.js`).
 */
export function resolveAppPath(app: string | undefined, cwd = process.cwd()): string {
  if (app) return path.resolve(cwd, app);
  const cfg = path.join(cwd, 'cdk8s.yaml');
  if (fs.existsSync(cfg)) {
    const m = /^app:\s*(.+)$/m.exec(fs.readFileSync(cfg, 'utf8'));
    const file = m?.[1].trim().split(/\s+/).find((w) => /\.(c?js)$/.test(w));
    if (file) return path.resolve(cwd, file);
  }
  throw new UsageError('no app to synthesize: pass --app <module.js> or add "app: node <module.js>" to cdk8s.yaml');
}

/**
 * Loads the app module and returns its platform. The module exports a FlinkPlatform (as
 * `default`, `platform`, or the module itself) or a function that returns one. Errors in the
 * definitions (ValidationError) propagate from here.
 */
export function loadPlatform(appPath: string): FlinkPlatform {
  if (!fs.existsSync(appPath)) throw new UsageError(`--app: ${JSON.stringify(appPath)} does not exist; expected a compiled JavaScript module`);
  process.env.CDK8S_FLINK_CLI = '1';
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(appPath);
  for (const cand of [mod?.default, mod?.platform, mod]) {
    const p = typeof cand === 'function' && !isPlatform(cand) ? cand() : cand;
    if (isPlatform(p)) return p;
  }
  throw new UsageError(`--app: ${appPath} exports no FlinkPlatform; expected "export default platform" or "export const platform"`);
}

function isPlatform(x: any): x is FlinkPlatform {
  return x instanceof FlinkPlatform || (x && typeof x === 'object' && Array.isArray(x.releaseUnits) && typeof x.crossCheck === 'function');
}
