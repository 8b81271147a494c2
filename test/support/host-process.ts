/**
 * A long-running program of this machine that serves the tests' real node from outside it (the
 * Prometheus Operator, metrics-server): not a pod. Its output goes to a log file; it is killed
 * when the test process exits, however that happens; stop() ends it with SIGTERM, then SIGKILL.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { onExitCleanup, sleep } from './control-plane';

export class HostProcess {
  /** Starts `binary` with `args`, its stdout and stderr appended to `logFile`. */
  static start(binary: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): HostProcess {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', out, out], env });
    fs.closeSync(out);
    return new HostProcess(child, logFile);
  }

  private readonly unregister: () => void;

  private constructor(private readonly child: ChildProcess, readonly logFile: string) {
    this.unregister = onExitCleanup(() => child.kill('SIGKILL'));
  }

  /** The exit code once it has exited by itself, else null. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** The last `lines` lines of its log. */
  logs(lines: number): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch (e) {
      return `(${(e as Error).message})`;
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
        this.child.kill('SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      }
    }
    this.unregister();
  }
}
