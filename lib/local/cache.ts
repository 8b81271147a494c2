import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';


/**
 * The directory where tests and scripts cache what they download or build
 * (Flink distributions, Kafka jars, helm, schemas, Kubernetes binaries).
 * Override with CDK8S_FLINK_CACHE.
 */
export function cacheDir(...sub: string[]): string {
  const root = process.env.CDK8S_FLINK_CACHE ?? path.join(os.homedir(), '.cache', 'cdk8s-flink');
  const dir = path.join(root, ...sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs fn while holding a cross-process lock (a directory under the cache). A lock whose owner
 * process is gone is taken over. Waits at most timeoutMs.
 */
export async function withLock<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lockDir = path.join(cacheDir('locks'), `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  const ownerFile = path.join(lockDir, 'owner');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, `${process.pid} ${os.hostname()}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let stale = false;
      try {
        const [pid, host] = fs.readFileSync(ownerFile, 'utf8').trim().split(/\s+/);
        stale = host === os.hostname() && !processAlive(Number(pid));
      } catch {
        // no owner file yet: stale only when the lock is old
        try {
          stale = Date.now() - fs.statSync(lockDir).mtimeMs > 60_000;
        } catch {
          stale = false;
        }
      }
      if (stale) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the lock ${lockDir}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}


function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
