import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SAVEPOINT_NEEDS_DIRECTORY, SUSPEND_NEEDS_DIRECTORY } from '../rules/guards';
import { OpsError } from './errors';
import { FlinkRest } from './flink-rest';
import { Kube } from './kube';

/** Where the hand-off lives: the `<release>-handoff` ConfigMap, or a folder (local runs). */
export interface HandoffStore {
  read(): Promise<Record<string, string>>;
  write(data: Record<string, string>): Promise<void>;
  readonly where: string;
}

export class ConfigMapHandoff implements HandoffStore {
  constructor(private readonly kube: Kube, private readonly namespace: string, private readonly name: string) {}
  public get where(): string { return `ConfigMap ${this.namespace}/${this.name}`; }
  public async read(): Promise<Record<string, string>> {
    const d = await this.kube.getConfigMap(this.namespace, this.name);
    if (!d) throw new OpsError(`the hand-off ${this.where} does not exist (the chart's pre-install hook creates it); reinstall the release`);
    return d;
  }
  public async write(data: Record<string, string>): Promise<void> {
    await this.kube.patchConfigMap(this.namespace, this.name, data);
  }
}

export class DirHandoff implements HandoffStore {
  constructor(private readonly dir: string) {}
  public get where(): string { return `folder ${this.dir}`; }
  public async read(): Promise<Record<string, string>> {
    if (!fs.existsSync(this.dir)) throw new OpsError(`the hand-off folder ${this.dir} does not exist`);
    return Object.fromEntries(fs.readdirSync(this.dir).filter((f) => !f.startsWith('.')).map((f) => [f, fs.readFileSync(path.join(this.dir, f), 'utf8')]));
  }
  public async write(data: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(data)) {
      const tmp = path.join(this.dir, `.${k}.tmp`);
      fs.writeFileSync(tmp, v);
      fs.renameSync(tmp, path.join(this.dir, k));
    }
  }
}

export interface HandoffOptions {
  readonly event: 'upgrade' | 'rollback';
  readonly upgradeMode: 'stateless' | 'savepoint' | 'last-state';
  readonly state: 'running' | 'suspended';
  readonly revision: number;
  readonly savepointDir: string;
  readonly release: string;
  readonly namespace: string;
  readonly timeoutMs: number;
  /** Reads the Flink HA ConfigMap (last-state); undefined when the cluster has no HA. */
  readonly haMetadata?: () => Promise<Record<string, string> | undefined>;
  readonly log: (msg: string) => void;
}

/**
 * Prepares the next JobManager start, before Helm applies an upgrade or a rollback:
 *
 * - savepoint (and any suspend): stop the running job with a savepoint and hand its path over;
 *   a failed savepoint fails the release (never a silent start without state). With no job
 *   running (a suspended release resuming), the savepoint already handed over stays.
 * - last-state: the job keeps its id; the HA metadata must exist, or the release fails.
 * - stateless: a new job id, no savepoint.
 * - rollback to revision T: the latest savepoint taken from a job running T's code (recorded as
 *   `state.r<T>`, with the revision of the release that took it), so the older version restores
 *   state it can read, also after several upgrades or a second rollback to T; else the savepoint
 *   the undone upgrade took (`savepoint.r<T+1>`, hand-offs written before `state.r<T>`); else a
 *   fresh one. A stateless job rolls back stateless.
 *
 * The hand-off's `revision` is the revision whose code the next JobManager runs. Every release
 * gets a new job id (sha256 of release, revision, event and the previous id), so checkpoints of
 * different runs never share a folder and a second rollback to the same revision is a new job
 * (Flink's high availability refuses an id that has finished). Returns what was written.
 */
export async function handoff(rest: FlinkRest, store: HandoffStore, o: HandoffOptions): Promise<Record<string, string>> {
  if (!SUSPEND_NEEDS_DIRECTORY.holds({ state: o.state, savepointDirectory: o.savepointDir })) {
    throw new OpsError('--state suspended needs --savepoint-dir (job.savepointDirectory): suspending stops the job with a savepoint');
  }
  const current = await store.read();
  const mode = o.state === 'suspended' ? 'savepoint' : o.upgradeMode;
  const newJobId = createHash('sha256').update(`cdk8s-flink/${o.namespace}/${o.release}/r${o.revision}/${o.event}/${current.jobId ?? ''}`).digest('hex').slice(0, 32);
  // The revision whose code the running job runs (absent in hand-offs of older charts).
  const runningRevision = /^[1-9][0-9]*$/.test(current.revision ?? '') ? current.revision : undefined;
  const revision = String(o.revision);
  const reachable = await rest.reachable();
  const active = reachable ? await rest.activeJob() : undefined;
  o.log(`${o.event} to revision ${o.revision}: mode ${mode}, state ${o.state}; running job: ${active ? `${active.jid} (${active.state})` : reachable ? 'none' : 'JobManager not reachable'}`);

  if (mode === 'last-state' && o.event === 'upgrade') {
    const ha = o.haMetadata ? await o.haMetadata() : undefined;
    if (!ha || Object.keys(ha).length === 0) {
      throw new OpsError(`upgradeMode last-state: the HA metadata of this job is missing, so its latest checkpoint cannot be found; upgrade with job.upgradeMode=savepoint, or set job.initialSavepointPath to a retained checkpoint`);
    }
    const next = { savepointPath: '', jobId: current.jobId, revision };
    await store.write(next);
    o.log(`last-state: HA metadata present (${Object.keys(ha).length} keys); the job keeps id ${current.jobId}`);
    return next;
  }

  if (mode === 'stateless') {
    if (active) await rest.cancel(active.jid);
    const next = { jobId: newJobId, savepointPath: '', revision };
    await store.write(next);
    o.log(`stateless: job ${active?.jid ?? '(none)'} cancelled; the new job starts from scratch as ${newJobId}`);
    return next;
  }

  // Every path from here stops the job with a savepoint (an upgrade, a rollback or a suspend), so
  // the savepoint upgrade's rule applies whatever the configured mode.
  if (!SAVEPOINT_NEEDS_DIRECTORY.holds({ upgradeMode: 'savepoint', savepointDirectory: o.savepointDir })) {
    throw new OpsError('no savepoint directory (job.savepointDirectory): a savepoint upgrade, rollback or suspend needs one');
  }
  let taken: string | undefined;
  if (active && active.state === 'RUNNING') {
    o.log(`stopping job ${active.jid} with a savepoint into ${o.savepointDir}`);
    taken = await rest.stopWithSavepoint(active.jid, o.savepointDir, o.timeoutMs);
    o.log(`savepoint ${taken}`);
  } else if (active) {
    throw new OpsError(`job ${active.jid} is ${active.state}, not RUNNING: a savepoint cannot be taken now; retry when it runs, or use job.upgradeMode=stateless`);
  }

  let restore: string | undefined;
  if (o.event === 'rollback') {
    const own = current[`state.r${o.revision}`];
    const undone = own || current[`savepoint.r${o.revision + 1}`];
    const by = own ? current[`state.r${o.revision}.by`] || '?' : String(o.revision + 1);
    restore = undone || taken || current.savepointPath || undefined;
    o.log(undone ? `rollback restores ${undone}, taken by the upgrade it undoes (revision ${by})` : `no savepoint recorded for revision ${o.revision}'s code; restoring ${restore ?? 'nothing'}`);
  } else {
    restore = taken ?? (current.savepointPath || undefined);
    if (!taken && restore) o.log(`no running job; the savepoint handed over before stays: ${restore}`);
  }
  if (!restore) {
    throw new OpsError('no running job to stop with a savepoint and no savepoint handed over before: refusing to start without state; use job.upgradeMode=stateless to start fresh');
  }
  const next: Record<string, string> = { jobId: newJobId, savepointPath: restore, revision };
  if (taken && o.event === 'upgrade') next[`savepoint.r${o.revision}`] = taken;
  if (taken && runningRevision) Object.assign(next, { [`state.r${runningRevision}`]: taken, [`state.r${runningRevision}.by`]: revision });
  await store.write(next);
  return next;
}
