import { flinkDurationMs } from '../config/flink-duration';
import { OpsError, sleep } from './errors';

export interface JobOverview {
  readonly jid: string;
  readonly name: string;
  readonly state: string;
  /** Epoch milliseconds. */
  readonly 'start-time'?: number;
  /** Epoch milliseconds; -1 while the job is not terminal. */
  readonly 'end-time'?: number;
  readonly duration?: number;
}

/** What GET /jobs/:id/checkpoints answers (the fields the tool reads). */
export interface CheckpointStats {
  readonly counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  readonly latest?: {
    readonly completed?: { id: number; trigger_timestamp?: number; latest_ack_timestamp?: number; state_size?: number; checkpointed_size?: number; end_to_end_duration?: number; external_path?: string } | null;
    readonly savepoint?: { id: number; latest_ack_timestamp?: number; external_path?: string } | null;
    readonly failed?: { id: number; trigger_timestamp?: number; failure_timestamp?: number; failure_message?: string } | null;
    readonly restored?: { id: number; restore_timestamp?: number; is_savepoint?: boolean; external_path?: string } | null;
  };
}

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['FINISHED', 'CANCELED', 'FAILED']);

interface SavepointStatus {
  status: { id: string };
  operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string; class?: string } };
}

/** The REST API answered with an error status (as opposed to no answer at all). */
export class RestAnswerError extends OpsError {
  constructor(message: string, public readonly status: number) {
    super(message);
  }
}

/**
 * The Flink REST calls the lifecycle needs, each bounded: a request times out after
 * `requestTimeoutMs`, connection failures (and 503 during a leader election) are retried
 * `retries` times with a growing delay, and with `deadline` set (epoch ms, the command's
 * --timeout) no request, retry or poll runs past it.
 */
export class FlinkRest {
  /** Epoch milliseconds after which requests fail at once. */
  public deadline?: number;

  constructor(
    public readonly url: string,
    private readonly requestTimeoutMs = 10_000,
    private readonly retries = 3,
  ) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) throw new OpsError(`--rest-url: ${JSON.stringify(url)} is not an http(s) URL`);
  }

  /** Bounds every later call by `timeoutMs` from now; returns this. */
  public within(timeoutMs: number): this {
    this.deadline = Date.now() + timeoutMs;
    return this;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  public remaining(): number {
    return this.deadline === undefined ? Infinity : this.deadline - Date.now();
  }

  public async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let last: unknown;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const pause = 500 * 2 ** (attempt - 1);
        if (this.remaining() <= pause) break;
        await sleep(pause);
      }
      const budget = Math.min(this.requestTimeoutMs, this.remaining());
      if (budget <= 0) break;
      attempts++;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), budget);
      try {
        const res = await fetch(`${this.url.replace(/\/$/, '')}${path}`, {
          method,
          signal: ctl.signal,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (!res.ok) {
          let reason = text.slice(0, 300);
          try { reason = (JSON.parse(text).errors ?? [reason]).join('; '); } catch { /* not JSON */ }
          reason = firstLine(reason);
          // A leader election is an outage; other statuses are answers: no retry.
          if (res.status === 503) { last = new Error(`503 ${reason}`); continue; }
          throw new RestAnswerError(`Flink REST ${method} ${path} answered ${res.status}: ${reason}`, res.status);
        }
        return (text ? JSON.parse(text) : {}) as T;
      } catch (e) {
        if (e instanceof OpsError) throw e;
        last = ctl.signal.aborted ? new Error(`no answer within ${Math.round(budget / 100) / 10}s`) : e;
      } finally {
        clearTimeout(timer);
      }
    }
    const l = last as any;
    const cause = l === undefined ? 'no attempt left before the --timeout' : l.cause?.code ?? l.cause?.message ?? l.message ?? String(l);
    throw new OpsError(`Flink REST at ${this.url} is unreachable (${cause}) after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
  }

  /**
   * The parallelism each vertex of a job is declared to run at: the upper bounds of
   * GET /jobs/:id/resource-requirements (the adaptive scheduler's; a RestAnswerError where the
   * job's scheduler has none).
   */
  public async declaredParallelism(jobId: string): Promise<Map<string, number>> {
    const r = await this.request<Record<string, { parallelism?: { upperBound?: number } }>>('GET', `/jobs/${jobId}/resource-requirements`);
    return new Map(Object.entries(r).map(([id, x]) => [id, x.parallelism?.upperBound ?? 0]));
  }

  public async reachable(): Promise<boolean> {
    try {
      const probe = new FlinkRest(this.url, this.requestTimeoutMs, 0);
      probe.deadline = this.deadline;
      await probe.request('GET', '/config');
      return true;
    } catch {
      return false;
    }
  }

  public async jobs(): Promise<JobOverview[]> {
    return (await this.request<{ jobs: JobOverview[] }>('GET', '/jobs/overview')).jobs;
  }

  /** The job that is not terminal (an application cluster runs one), or undefined. */
  public async activeJob(jobId?: string): Promise<JobOverview | undefined> {
    const jobs = await this.jobs();
    return jobs.find((j) => (jobId ? j.jid === jobId : true) && !TERMINAL_STATES.has(j.state));
  }

  /** Stop with a savepoint and wait for it; returns the savepoint's location. Without a directory Flink uses its configured one. */
  public async stopWithSavepoint(jobId: string, targetDirectory: string | undefined, timeoutMs: number, drain = false): Promise<string> {
    const { 'request-id': trigger } = await this.request<{ 'request-id': string }>('POST', `/jobs/${jobId}/stop`,
      { drain, formatType: 'CANONICAL', ...(targetDirectory ? { targetDirectory } : {}) });
    return this.waitSavepoint(jobId, trigger, timeoutMs);
  }

  /** Trigger a savepoint while the job keeps running; returns its location. */
  public async savepoint(jobId: string, targetDirectory: string | undefined, timeoutMs: number): Promise<string> {
    const { 'request-id': trigger } = await this.request<{ 'request-id': string }>('POST', `/jobs/${jobId}/savepoints`,
      { 'cancel-job': false, formatType: 'CANONICAL', ...(targetDirectory ? { 'target-directory': targetDirectory } : {}) });
    return this.waitSavepoint(jobId, trigger, timeoutMs);
  }

  /** Polls a savepoint trigger until it completes; a failure is one line with Flink's root cause. */
  public async waitSavepoint(jobId: string, trigger: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + Math.min(timeoutMs, this.remaining());
    let pause = 250;
    for (;;) {
      const s = await this.request<SavepointStatus>('GET', `/jobs/${jobId}/savepoints/${trigger}`);
      if (s.status.id === 'COMPLETED') {
        const cause = s.operation?.['failure-cause'];
        if (cause || !s.operation?.location) {
          throw new OpsError(`savepoint of job ${jobId} failed: ${rootCause(cause?.['stack-trace'] ?? 'Flink returned no location')}`);
        }
        return s.operation.location;
      }
      if (Date.now() + pause > deadline) break;
      await sleep(pause);
      pause = Math.min(pause * 2, 2000);
    }
    throw new OpsError(`savepoint of job ${jobId} did not complete within ${Math.round(timeoutMs / 1000)}s (trigger ${trigger}); the job keeps running unless Flink finishes it later`);
  }

  /** Asks Flink to cancel the job (returns once accepted). */
  public async cancel(jobId: string): Promise<void> {
    await this.request('PATCH', `/jobs/${jobId}?mode=cancel`);
  }

  /** Polls the job until its state is one of `states`; returns the state. */
  public async waitForState(jobId: string, states: readonly string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + Math.min(timeoutMs, this.remaining());
    let state = '';
    for (;;) {
      state = (await this.request<{ state: string }>('GET', `/jobs/${jobId}`)).state;
      if (states.includes(state)) return state;
      if (Date.now() + 500 > deadline) break;
      await sleep(500);
    }
    throw new OpsError(`job ${jobId} is ${state}, not ${states.join(' or ')}, after ${Math.round(timeoutMs / 1000)}s`);
  }

  public async checkpointStats(jobId: string): Promise<CheckpointStats> {
    return this.request<CheckpointStats>('GET', `/jobs/${jobId}/checkpoints`);
  }

  /**
   * How long the REST API may answer a job's checkpoint statistics from its cache:
   * `rest.cache.checkpoint-statistics.timeout`, else `web.refresh-interval` (read from
   * GET /jobmanager/config; 3 s, Flink's default, when neither can be read).
   */
  public async checkpointStatsCacheMs(): Promise<number> {
    const entries = await this.request<Array<{ key: string; value: string }>>('GET', '/jobmanager/config').catch(() => []);
    const value = (key: string) => (Array.isArray(entries) ? entries.find((e) => e.key === key)?.value : undefined);
    return flinkDurationMs(value('rest.cache.checkpoint-statistics.timeout') ?? value('web.refresh-interval') ?? '') ?? 3000;
  }

  /**
   * The savepoint a job that has ended recorded last (`latest.savepoint`), or undefined. The REST
   * API answers checkpoint statistics from a cache: an answer written before the job's
   * stop-with-savepoint completed shows no savepoint or an older one. For a job that ended
   * within the cache's timeout (plus 10 s for clocks apart), the statistics are read only after
   * that timeout has passed, when no answer from before the end can be left. A failed read is
   * an error, never taken for "no savepoint".
   */
  public async lastSavepointOfEndedJob(job: JobOverview, log?: (m: string) => void): Promise<string | undefined> {
    const cacheMs = Math.min(await this.checkpointStatsCacheMs(), 60_000);
    const end = job['end-time'] ?? -1;
    const ago = Date.now() - end;
    if (end <= 0 || ago < cacheMs + 10_000) {
      log?.(`job ${job.jid} ended ${end > 0 ? `${Math.max(0, Math.round(ago / 100) / 10)} s ago` : 'at a time Flink does not say'}: its savepoint is read after the REST cache's ${cacheMs} ms`);
      await sleep(cacheMs + 500);
    }
    return (await this.checkpointStats(job.jid)).latest?.savepoint?.external_path;
  }

  public async checkpoints(jobId: string): Promise<{ completed: number; failed: number; lastPath?: string }> {
    const c = await this.checkpointStats(jobId);
    return { completed: c.counts.completed, failed: c.counts.failed, lastPath: c.latest?.completed?.external_path };
  }

  /** Uploads a jar (multipart) and returns its id. */
  public async uploadJar(name: string, content: Buffer): Promise<string> {
    const form = new FormData();
    form.append('jarfile', new Blob([new Uint8Array(content)], { type: 'application/x-java-archive' }), name);
    const res = await fetch(`${this.url.replace(/\/$/, '')}/jars/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(Math.min(this.requestTimeoutMs * 6, Math.max(1, this.remaining()))) });
    const body = await res.json() as { filename?: string; errors?: string[] };
    if (!res.ok || !body.filename) throw new OpsError(`Flink REST POST /jars/upload answered ${res.status}: ${(body.errors ?? []).join('; ')}`);
    return body.filename.split('/').pop()!;
  }

  public async runJar(jarId: string, body: Record<string, unknown>): Promise<string> {
    const r = await this.request<{ jobid: string }>('POST', `/jars/${jarId}/run`, body);
    return r.jobid;
  }
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}

/**
 * The most specific reason in a Java stack trace: the message of the last "Caused by:" (the
 * root cause), else the first line. Tab-indented "at ..." frames are skipped.
 */
export function rootCause(trace: string): string {
  const lines = trace.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !/^\.\.\. \d+ more$/.test(l) && !l.startsWith('Suppressed:'));
  const causes = lines.filter((l) => l.startsWith('Caused by: ')).map((l) => l.slice('Caused by: '.length));
  const pick = causes.length ? causes[causes.length - 1] : lines[0] ?? 'unknown';
  return pick.length > 400 ? `${pick.slice(0, 400)}...` : pick;
}
