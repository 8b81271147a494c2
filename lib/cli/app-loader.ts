import * as fs from 'fs';
import * as path from 'path';
import { FlinkPlatform } from '../platform';
import { UsageError, UserError, ValidationError } from '../errors';

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
  // No --app and nothing to take it from: a required option missing.
  throw new UsageError('--app is required: no cdk8s.yaml with "app: node <module.js>" in the working directory; expected --app <module.js>');
}

/**
 * Loads the app module and returns its platform. The module exports a FlinkPlatform (as
 * `default`, `platform`, or the module itself) or a function that returns one. Errors in the
 * definitions (ValidationError, of this copy of the library or another) propagate from here.
 */
export function loadPlatform(appPath: string): FlinkPlatform {
  if (!fs.existsSync(appPath)) throw new UserError(`--app: ${JSON.stringify(appPath)} does not exist; expected a compiled JavaScript module`);
  process.env.CDK8S_FLINK_CLI = '1';
  let mod: any;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(appPath);
  } catch (e) {
    throw appError(appPath, e);
  }
  for (const cand of [mod?.default, mod?.platform, mod]) {
    let p: unknown;
    try {
      p = typeof cand === 'function' && !isPlatform(cand) ? cand() : cand;
    } catch (e) {
      throw appError(appPath, e);
    }
    if (isPlatform(p)) return p;
  }
  throw new UserError(`--app: ${appPath} exports no FlinkPlatform; expected "export default platform" or "export const platform"`);
}

/**
 * An error raised while loading the app module: a ValidationError as it is (it names the
 * field), anything else (a syntax error, an exception of the module's own code or of a library
 * it calls) as one line naming the module and the line of it where the error arose.
 */
export class AppModuleError extends UserError {}

function appError(appPath: string, e: unknown): Error {
  const err = e as Error;
  if (ValidationError.isDefinitionError(err)) return err;
  const rel = path.relative(process.cwd(), appPath) || appPath;
  const firstLine = String(err?.message ?? e).split('\n')[0];
  // Where in the app's own files it happened: the first stack frame outside node_modules and node internals.
  const stack = String(err?.stack ?? '');
  const syntaxAt = err instanceof SyntaxError ? /^(\/[^\n]*?\.c?js):(\d+)/m.exec(stack) : null;
  const frame = syntaxAt ? `${path.relative(process.cwd(), syntaxAt[1])}:${syntaxAt[2]}`
    : /\(?((?:\/|[A-Za-z]:\\)[^()\n]*?):(\d+):\d+\)?$/m.exec(stack.split('\n').slice(1).filter((l) => !/node_modules|node:internal|\(node:/.test(l)).join('\n'))?.slice(1, 3).join(':');
  const where = frame ? ` at ${frame.startsWith('/') ? path.relative(process.cwd(), frame) : frame}` : '';
  return new AppModuleError(`--app: ${rel} failed to load: ${err?.name ?? 'Error'}: ${firstLine}${where}`);
}

function isPlatform(x: any): x is FlinkPlatform {
  return x instanceof FlinkPlatform || (x && typeof x === 'object' && Array.isArray(x.releaseUnits) && typeof x.crossCheck === 'function');
}
