import { OpsError, sleep } from './errors';

export interface JobOverview {
  readonly jid: string;
  readonly name: string;
  readonly state: string;
}

const TERMINAL = new Set(['FINISHED', 'CANCELED', 'FAILED']);

/**
 * The Flink REST calls the lifecycle needs, each bounded: a request times out after
 * `requestTimeoutMs`, and connection failures are retried `retries` times with a growing delay.
 */
export class FlinkRest {
  constructor(
    public readonly url: string,
    private readonly requestTimeoutMs = 10_000,
    private readonly retries = 3,
  ) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) throw new OpsError(`--rest-url: ${JSON.stringify(url)} is not an http(s) URL`);
  }

  public async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let last: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(500 * 2 ** (attempt - 1));
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), this.requestTimeoutMs);
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
          try { reason = (JSON.parse(text).errors ?? [reason]).join('; ').split('\n')[0]; } catch { /* not JSON */ }
          // 4xx are answers, not outages: no retry.
          throw new OpsError(`Flink REST ${method} ${path} answered ${res.status}: ${reason}`);
        }
        return (text ? JSON.parse(text) : {}) as T;
      } catch (e) {
        if (e instanceof OpsError) throw e;
        last = e;
      } finally {
        clearTimeout(timer);
      }
    }
    const cause = (last as any)?.cause?.code ?? (last as any)?.cause?.message ?? (last as any)?.name ?? String(last);
    throw new OpsError(`Flink REST at ${this.url} is unreachable (${cause}) after ${this.retries + 1} attempts`);
  }

  public async reachable(): Promise<boolean> {
    try {
      await new FlinkRest(this.url, this.requestTimeoutMs, 0).request('GET', '/config');
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
    return jobs.find((j) => (jobId ? j.jid === jobId : true) && !TERMINAL.has(j.state));
  }

  /** Stop with a savepoint (no drain) and wait for it; returns the savepoint's location. */
  public async stopWithSavepoint(jobId: string, targetDirectory: string, timeoutMs: number): Promise<string> {
    const { 'request-id': trigger } = await this.request<{ 'request-id': string }>('POST', `/jobs/${jobId}/stop`, { drain: false, targetDirectory, formatType: 'CANONICAL' });
    return this.waitSavepoint(jobId, trigger, timeoutMs);
  }

  /** Trigger a savepoint while the job keeps running; returns its location. */
  public async savepoint(jobId: string, targetDirectory: string, timeoutMs: number): Promise<string> {
    const { 'request-id': trigger } = await this.request<{ 'request-id': string }>('POST', `/jobs/${jobId}/savepoints`, { 'cancel-job': false, 'target-directory': targetDirectory, formatType: 'CANONICAL' });
    return this.waitSavepoint(jobId, trigger, timeoutMs);
  }

  private async waitSavepoint(jobId: string, trigger: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await this.request<{ status: { id: string }; operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string; 'class'?: string } } }>('GET', `/jobs/${jobId}/savepoints/${trigger}`);
      if (s.status.id === 'COMPLETED') {
        const cause = s.operation?.['failure-cause'];
        if (cause || !s.operation?.location) {
          const first = (cause?.['stack-trace'] ?? 'no location returned').split('\n').find((l) => /Exception|Error|failed|declined/i.test(l)) ?? 'failed';
          throw new OpsError(`savepoint of job ${jobId} failed: ${first.trim()}`);
        }
        return s.operation.location;
      }
      await sleep(1000);
    }
    throw new OpsError(`savepoint of job ${jobId} did not complete within ${Math.round(timeoutMs / 1000)}s`);
  }

  public async cancel(jobId: string): Promise<void> {
    await this.request('PATCH', `/jobs/${jobId}?mode=cancel`);
  }

  public async checkpoints(jobId: string): Promise<{ completed: number; failed: number; lastPath?: string }> {
    const c = await this.request<{ counts: { completed: number; failed: number }; latest?: { completed?: { external_path?: string } } }>('GET', `/jobs/${jobId}/checkpoints`);
    return { completed: c.counts.completed, failed: c.counts.failed, lastPath: c.latest?.completed?.external_path };
  }

  /** Uploads a jar (multipart) and returns its id. */
  public async uploadJar(name: string, content: Buffer): Promise<string> {
    const form = new FormData();
    form.append('jarfile', new Blob([new Uint8Array(content)], { type: 'application/x-java-archive' }), name);
    const res = await fetch(`${this.url.replace(/\/$/, '')}/jars/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(this.requestTimeoutMs * 6) });
    const body = await res.json() as { filename?: string; errors?: string[] };
    if (!res.ok || !body.filename) throw new OpsError(`Flink REST POST /jars/upload answered ${res.status}: ${(body.errors ?? []).join('; ')}`);
    return body.filename.split('/').pop()!;
  }

  public async runJar(jarId: string, body: Record<string, unknown>): Promise<string> {
    const r = await this.request<{ jobid: string }>('POST', `/jars/${jarId}/run`, body);
    return r.jobid;
  }
}
