import { OpsError } from './errors';
import { CheckpointStats, FlinkRest, JobOverview, TERMINAL_STATES } from './flink-rest';

/** How a command picks its job: by id, by name, or the only job that is not terminal. */
export interface JobSelector {
  readonly jobId?: string;
  readonly jobName?: string;
}

export function checkJobId(field: string, v: string): string {
  if (!/^[0-9a-f]{32}$/.test(v)) throw new OpsError(`--${field}: ${JSON.stringify(v)} is not a Flink job id; expected 32 lowercase hex digits`);
  return v;
}

const describe = (jobs: readonly JobOverview[]) => jobs.map((j) => `${j.name} ${j.jid} ${j.state}`).join(', ') || 'none';

/**
 * The job a command acts on. --job-id takes any job the JobManager knows (also finished ones);
 * --job-name and no selector take only jobs that are not terminal, and must find exactly one.
 */
export async function selectJob(rest: FlinkRest, sel: JobSelector): Promise<JobOverview> {
  const jobs = await rest.jobs();
  if (sel.jobId) {
    const j = jobs.find((x) => x.jid === sel.jobId);
    if (!j) throw new OpsError(`--job-id: no job ${sel.jobId} on ${rest.url} (jobs: ${describe(jobs)})`);
    if (sel.jobName && j.name !== sel.jobName) throw new OpsError(`--job-name: job ${sel.jobId} is named "${j.name}", not "${sel.jobName}"`);
    return j;
  }
  const active = jobs.filter((j) => !TERMINAL_STATES.has(j.state) && (sel.jobName === undefined || j.name === sel.jobName));
  if (active.length === 1) return active[0];
  if (active.length === 0) {
    throw new OpsError(sel.jobName !== undefined
      ? `--job-name: no job named "${sel.jobName}" is active on ${rest.url} (jobs: ${describe(jobs)})`
      : `no active job on ${rest.url} (jobs: ${describe(jobs)})`);
  }
  throw new OpsError(`${active.length} active jobs${sel.jobName !== undefined ? ` are named "${sel.jobName}"` : ''} on ${rest.url} (${describe(active)}); select one with --job-id`);
}

function requireRunning(j: JobOverview, what: string): void {
  if (j.state !== 'RUNNING') throw new OpsError(`job ${j.jid} "${j.name}" is ${j.state}, not RUNNING: ${what} needs a running job; retry when it runs`);
}

const iso = (ms?: number) => (ms !== undefined && ms > 0 ? new Date(ms).toISOString() : undefined);

export interface JobRow {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly durationMs?: number;
}

export async function listJobs(rest: FlinkRest): Promise<JobRow[]> {
  const jobs = await rest.jobs();
  return jobs
    .map((j) => ({ id: j.jid, name: j.name, state: j.state, startTime: iso(j['start-time']), endTime: iso(j['end-time']), durationMs: j.duration }))
    .sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? ''));
}

export interface LifecycleOptions {
  readonly timeoutMs: number;
  readonly log: (m: string) => void;
}

/** Triggers a savepoint and waits for it; the job keeps running. Returns the savepoint's location. */
export async function takeSavepoint(rest: FlinkRest, sel: JobSelector, dir: string | undefined, o: LifecycleOptions): Promise<{ job: JobOverview; location: string }> {
  const job = await selectJob(rest, sel);
  requireRunning(job, 'a savepoint');
  o.log(`triggering a savepoint of job ${job.jid} "${job.name}" into ${dir ?? "the cluster's savepoint directory"}`);
  const location = await rest.savepoint(job.jid, dir, o.timeoutMs);
  return { job, location };
}

/** Stops the job with a savepoint and waits until it is FINISHED. Returns the savepoint's location. */
export async function stopJob(rest: FlinkRest, sel: JobSelector, dir: string | undefined, drain: boolean, o: LifecycleOptions): Promise<{ job: JobOverview; location: string; state: string }> {
  const job = await selectJob(rest, sel);
  requireRunning(job, 'stop with a savepoint');
  o.log(`stopping job ${job.jid} "${job.name}" with a savepoint into ${dir ?? "the cluster's savepoint directory"}${drain ? ' (drain)' : ''}`);
  const location = await rest.stopWithSavepoint(job.jid, dir, o.timeoutMs, drain);
  const state = await rest.waitForState(job.jid, ['FINISHED'], Math.max(1000, Math.min(o.timeoutMs, rest.remaining())));
  return { job, location, state };
}

/** Cancels the job without a savepoint and waits until it is CANCELED. */
export async function cancelJob(rest: FlinkRest, sel: JobSelector, o: LifecycleOptions): Promise<{ job: JobOverview; state: string }> {
  const job = await selectJob(rest, sel);
  if (TERMINAL_STATES.has(job.state)) throw new OpsError(`job ${job.jid} "${job.name}" is already ${job.state}: nothing to cancel`);
  o.log(`cancelling job ${job.jid} "${job.name}" (${job.state})`);
  await rest.cancel(job.jid);
  const state = await rest.waitForState(job.jid, ['CANCELED'], Math.max(1000, Math.min(o.timeoutMs, rest.remaining())));
  return { job, state };
}

export interface CheckpointReport {
  readonly jobId: string;
  readonly name: string;
  readonly state: string;
  readonly counts: { completed: number; failed: number; inProgress: number; restored: number; total: number };
  readonly latestCompleted: { id: number; time?: string; path?: string; stateSizeBytes?: number; durationMs?: number } | null;
  readonly latestFailed: { id: number; time?: string; message?: string } | null;
  readonly latestSavepoint: { id: number; time?: string; path?: string } | null;
  readonly restored: { id: number; time?: string; path?: string; savepoint: boolean } | null;
}

export async function checkpointReport(rest: FlinkRest, sel: JobSelector): Promise<CheckpointReport> {
  const job = await selectJob(rest, sel);
  const s: CheckpointStats = await rest.checkpointStats(job.jid);
  const l = s.latest ?? {};
  return {
    jobId: job.jid,
    name: job.name,
    state: job.state,
    counts: { completed: s.counts.completed, failed: s.counts.failed, inProgress: s.counts.in_progress, restored: s.counts.restored, total: s.counts.total },
    latestCompleted: l.completed ? {
      id: l.completed.id, time: iso(l.completed.latest_ack_timestamp), path: l.completed.external_path,
      stateSizeBytes: l.completed.checkpointed_size ?? l.completed.state_size, durationMs: l.completed.end_to_end_duration,
    } : null,
    latestFailed: l.failed ? { id: l.failed.id, time: iso(l.failed.failure_timestamp ?? l.failed.trigger_timestamp), message: l.failed.failure_message ? l.failed.failure_message.split('\n')[0] : undefined } : null,
    latestSavepoint: l.savepoint ? { id: l.savepoint.id, time: iso(l.savepoint.latest_ack_timestamp), path: l.savepoint.external_path } : null,
    restored: l.restored ? { id: l.restored.id, time: iso(l.restored.restore_timestamp), path: l.restored.external_path, savepoint: l.restored.is_savepoint === true } : null,
  };
}

export function formatCheckpointReport(r: CheckpointReport): string {
  const size = (b?: number) => (b === undefined ? '' : b < 1024 ? `, ${b} B` : b < 1024 ** 2 ? `, ${(b / 1024).toFixed(1)} KiB` : `, ${(b / 1024 ** 2).toFixed(1)} MiB`);
  const c = r.counts;
  return [
    `job ${r.jobId} "${r.name}" ${r.state}`,
    `checkpoints: ${c.completed} completed, ${c.failed} failed, ${c.inProgress} in progress, ${c.restored} restored`,
    `latest completed: ${r.latestCompleted ? `#${r.latestCompleted.id} at ${r.latestCompleted.time ?? '?'}${size(r.latestCompleted.stateSizeBytes)}, ${r.latestCompleted.path ?? '(no external path)'}` : 'none'}`,
    `latest failed: ${r.latestFailed ? `#${r.latestFailed.id} at ${r.latestFailed.time ?? '?'}: ${r.latestFailed.message ?? '(no message)'}` : 'none'}`,
    `latest savepoint: ${r.latestSavepoint ? `#${r.latestSavepoint.id} at ${r.latestSavepoint.time ?? '?'}, ${r.latestSavepoint.path ?? '?'}` : 'none'}`,
    `restored from: ${r.restored ? `${r.restored.savepoint ? 'savepoint' : 'checkpoint'} #${r.restored.id}, ${r.restored.path ?? '?'}` : 'nothing'}`,
  ].join('\n') + '\n';
}

export interface UninstallStopOptions extends LifecycleOptions {
  /** The job's name on the session cluster (its pipeline.name). */
  readonly jobName: string;
  /** savepoint: stop with a savepoint; cancel: cancel without one. */
  readonly mode: 'savepoint' | 'cancel';
  /** Where the savepoint goes. @default the cluster's savepoint directory */
  readonly savepointDir?: string;
  /** What a failed savepoint does: fail (the job keeps running) or cancel the job anyway. */
  readonly onSavepointFailure: 'fail' | 'cancel';
}

export interface UninstallStopResult {
  /** What happened: stopped with a savepoint, cancelled, or nothing was active. */
  readonly outcome: 'savepoint' | 'cancelled' | 'none';
  readonly job?: JobOverview;
  readonly savepoint?: string;
  readonly state?: string;
}

/**
 * A session job's pre-delete hook: stops the active job of that name before its release goes,
 * with a savepoint or a plain cancel. No active job of that name (cancelled by hand, finished,
 * failed, never submitted) is a success, so a repeated uninstall changes nothing. A savepoint
 * that fails (or a job that is not RUNNING, whose savepoint cannot be taken) fails the hook and
 * leaves the job as it is, unless onSavepointFailure is cancel.
 */
export async function stopOnUninstall(rest: FlinkRest, o: UninstallStopOptions): Promise<UninstallStopResult> {
  const jobs = await rest.jobs();
  const active = jobs.filter((j) => j.name === o.jobName && !TERMINAL_STATES.has(j.state));
  if (active.length === 0) {
    o.log(`no active job named "${o.jobName}" on ${rest.url} (jobs of that name: ${describe(jobs.filter((j) => j.name === o.jobName))}): nothing to stop`);
    return { outcome: 'none' };
  }
  if (active.length > 1) throw new OpsError(`--job-name: ${active.length} active jobs are named "${o.jobName}" on ${rest.url} (${describe(active)}); stop them by --job-id`);
  const job = active[0];
  const wait = () => Math.max(1000, Math.min(o.timeoutMs, rest.remaining()));
  const cancel = async (why: string) => {
    o.log(`cancelling job ${job.jid} "${job.name}" (${job.state}) ${why}`);
    await rest.cancel(job.jid);
    const state = await rest.waitForState(job.jid, ['CANCELED'], wait());
    o.log(`job ${job.jid} "${job.name}" is ${state}`);
    return { outcome: 'cancelled' as const, job, state };
  };
  if (o.mode === 'cancel') return cancel('without a savepoint (uninstall.stop cancel)');
  let location: string;
  try {
    requireRunning(job, 'stop with a savepoint');
    o.log(`stopping job ${job.jid} "${job.name}" with a savepoint into ${o.savepointDir || "the cluster's savepoint directory"}`);
    location = await rest.stopWithSavepoint(job.jid, o.savepointDir || undefined, wait());
  } catch (e) {
    if (!(e instanceof OpsError) || o.onSavepointFailure !== 'cancel') {
      throw e instanceof OpsError ? new OpsError(`${e.message}; the job is left as it is and the uninstall stops here (set uninstall.onSavepointFailure=cancel to cancel it anyway)`) : e;
    }
    return cancel(`after a failed savepoint (uninstall.onSavepointFailure cancel): ${e.message}`);
  }
  o.log(`savepoint ${location}`);
  const state = await rest.waitForState(job.jid, ['FINISHED'], wait());
  o.log(`job ${job.jid} "${job.name}" is ${state}; restore it with initialSavepointPath: ${location}`);
  return { outcome: 'savepoint', job, savepoint: location, state };
}
