/**
 * Releases of an application cluster as local processes: what `helm upgrade` and
 * `helm rollback` do to the pods, for end-to-end proofs of the savepoint hand-off.
 *
 * On Kubernetes the `<release>-handoff` ConfigMap is created once (a pre-install hook) and never
 * overwritten by a later release; the hooks patch it, and the next JobManager reads it at start.
 * Here a release stops every process of the running cluster and starts the new objects'
 * JobManager and TaskManagers in a fresh folder, with the hand-off ConfigMap carried over as the
 * hooks left it. Nothing else of the objects changes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { RunningCluster, runCluster } from './local-flink';
import { restGet, waitFor } from './flink-proc';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');

/** Runs the operations tool (`cdk8s-flink-ops`) as the hooks do; its exit code, stderr and duration. */
export function ops(args: string[]): { code: number | null; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

/**
 * The pre-upgrade or pre-rollback hook of a savepoint-mode release (`cdk8s-flink-ops handoff`)
 * against a local cluster, its hand-off folder standing in for the ConfigMap.
 */
export function handoffHook(cluster: RunningCluster, o: { event: 'upgrade' | 'rollback'; revision: number; release: string; savepointDir: string }) {
  return ops(['handoff', '--event', o.event, '--rest-url', cluster.rest, '--handoff-dir', cluster.local.handoffDir, '--upgrade-mode', 'savepoint',
    '--state', 'running', '--revision', String(o.revision), '--release', o.release, '--namespace', 'logs', '--savepoint-dir', o.savepointDir, '--timeout', '120s']);
}

/**
 * Waits (bounded) until a stopped or cancelled job shows `state` in `GET /jobs/<id>`: the command
 * reports back a moment before the job gets there, and the REST API answers a job's details from
 * its execution graph cache (`web.refresh-interval`, 3 s), which can still say RUNNING.
 */
export function jobEnds(rest: string, jobId: string, state: 'FINISHED' | 'CANCELED'): Promise<boolean> {
  return waitFor(async () => {
    const s = (await restGet<{ state: string }>(`${rest}/jobs/${jobId}`)).state;
    if (!['RUNNING', 'CANCELLING', state].includes(s)) throw Object.assign(new Error(`job ${jobId} is ${s}, expected ${state}`), { fatal: true });
    return s === state;
  }, { timeoutMs: 30_000, intervalMs: 250, what: `job ${jobId} ${state}` });
}

/** Stop-with-savepoint reports the savepoint a moment before the job reaches FINISHED. */
export function finished(rest: string, jobId: string): Promise<boolean> {
  return jobEnds(rest, jobId, 'FINISHED');
}

/** The hand-off as the hooks left it (the folder the ConfigMap is projected into). */
export function readHandoff(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

/** The objects with the hand-off ConfigMap's data replaced by `handoff` (Helm never overwrites it). */
export function withHandoff(objects: any[], name: string, handoff: Record<string, string>): any[] {
  const cmName = `${name}-handoff`;
  if (!objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName)) {
    throw new Error(`${name}: no ConfigMap ${cmName} among the objects`);
  }
  return objects.map((o) => (o.kind === 'ConfigMap' && o.metadata.name === cmName ? { ...o, data: { ...handoff } } : o));
}

/**
 * A release of `objects` over the running cluster `current`: stops its JobManager and
 * TaskManagers (the Deployments roll: the JobManager's pod template carries the revision, the
 * TaskManagers' the config checksum), then starts the new ones in `work` with the hand-off as
 * it is now.
 */
export async function release(current: RunningCluster, objects: any[], name: string, work: string, home: string): Promise<RunningCluster> {
  const handoff = readHandoff(current.local.handoffDir);
  await current.stop();
  fs.mkdirSync(work, { recursive: true });
  return runCluster(withHandoff(objects, name, handoff), name, work, home);
}

export interface RestoreInfo {
  /** The savepoint or checkpoint the job restored, undefined for a fresh start. */
  readonly path?: string;
  readonly isSavepoint?: boolean;
  readonly restoredAt?: number;
}

/** What a running job restored from (REST /jobs/:id/checkpoints, latest.restored). */
export async function restoredFrom(rest: string, jobId: string): Promise<RestoreInfo> {
  const c = await restGet<any>(`${rest}/jobs/${jobId}/checkpoints`);
  const r = c.latest?.restored;
  return r ? { path: r.external_path, isSavepoint: r.is_savepoint, restoredAt: r.restore_timestamp } : {};
}

/** The highest parallelism of a job's vertices (a committer or other singleton vertex runs at 1). */
export async function maxParallelism(rest: string, jobId: string): Promise<number> {
  const d = await restGet<{ vertices: Array<{ parallelism: number }> }>(`${rest}/jobs/${jobId}`);
  return Math.max(...d.vertices.map((v) => v.parallelism));
}
