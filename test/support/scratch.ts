/**
 * Temporary folders that a test process removes when it exits, also after a failure or an
 * interrupt: for the scratch output of tests that make many of them (charts written for helm,
 * CLI runs) and cannot easily remove each one themselves.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const dirs = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** A new folder `<tmpdir>/<prefix>XXXXXX`, removed when this process exits. */
export function scratchDir(prefix: string): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        removeAll();
        // the default action, unless another handler of this signal is still there to take it
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.add(d);
  return d;
}
