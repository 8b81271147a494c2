import { setTimeout as sleep } from 'timers/promises';

/**
 * A job's `numRestarts` as Flink's REST API serves it (`get` reads a resource such as
 * `/jobs/<id>/metrics?get=numRestarts`). The REST API's metric store can answer without the value
 * (between two fetches from the JobManager): such a read is repeated, bounded, and never taken
 * for 0. `onGap` is called for each read without the value.
 */
export async function numRestarts(get: (resource: string) => Promise<unknown>, jid: string, o: { timeoutMs?: number; onGap?: () => void } = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  for (const until = Date.now() + timeoutMs; ; await sleep(1000)) {
    const m = ((await get(`/jobs/${jid}/metrics?get=numRestarts`)) as { id: string; value: string }[]).find((x) => x.id === 'numRestarts');
    if (m) return Number(m.value);
    o.onGap?.();
    if (Date.now() > until) throw new Error(`numRestarts of job ${jid} not served for ${timeoutMs / 1000} s`);
  }
}

/**
 * How many failures of the job Flink recorded, from its exception history
 * (`/jobs/<id>/exceptions`, every failure that led to a restart or to the job's end; Flink keeps the
 * latest `web.exception-history-size`, 16 by default). It is read from the execution graph, so
 * unlike `numRestarts` from the metric store it never lags by a metric fetch nor reads lower than
 * before. A truncated history is an error: the count would be a floor, not the count.
 */
export async function failureCount(get: (resource: string) => Promise<unknown>, jid: string): Promise<number> {
  const r = (await get(`/jobs/${jid}/exceptions?maxExceptions=1000`)) as { exceptionHistory?: { entries?: unknown[]; truncated?: boolean } };
  if (!r.exceptionHistory || !Array.isArray(r.exceptionHistory.entries)) throw new Error(`job ${jid}: no exception history in ${JSON.stringify(r).slice(0, 200)}`);
  if (r.exceptionHistory.truncated) throw new Error(`job ${jid}: exception history truncated at ${r.exceptionHistory.entries.length} entries`);
  return r.exceptionHistory.entries.length;
}

/**
 * One entry of `latest` in a job's checkpoint statistics (`/jobs/<id>/checkpoints`), read past the
 * REST API's cache of them (`rest.cache.checkpoint-statistics.timeout`, `web.refresh-interval` by
 * default, 3 s): right after a stop-with-savepoint, or an in-place restart (a rescale, a
 * failover) under the same job id, a cached answer can still show the job before it (no entry,
 * or an earlier one). Reads are repeated, bounded, until the entry is there and `done` accepts
 * it; the last one read is returned either way (null if none), for the caller's assertion to report.
 */
async function latestEntry<T>(get: (resource: string) => Promise<unknown>, jid: string, entry: 'savepoint' | 'restored', done: (e: T) => boolean, o: { timeoutMs?: number; intervalMs?: number }): Promise<T | null> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  for (const until = Date.now() + timeoutMs; ; await sleep(o.intervalMs ?? 500)) {
    const e = (((await get(`/jobs/${jid}/checkpoints`)) as { latest?: Record<string, T | null> }).latest?.[entry] ?? null);
    if ((e && done(e)) || Date.now() >= until) return e;
  }
}

/** The latest completed savepoint Flink records for a job (`latest.savepoint`), past the cache (above); with `path`, until it is that one. */
export function latestSavepoint(get: (resource: string) => Promise<unknown>, jid: string, o: { path?: string; timeoutMs?: number; intervalMs?: number } = {}): Promise<{ external_path: string; end_to_end_duration?: number; state_size?: number; checkpointed_size?: number } | null> {
  return latestEntry(get, jid, 'savepoint', (s: { external_path: string }) => o.path === undefined || s.external_path === o.path, o);
}

/** What a job restored from last (`latest.restored`), past the cache (above); with `atLeast`, until the restored checkpoint id is at least that. */
export function latestRestored(get: (resource: string) => Promise<unknown>, jid: string, o: { atLeast?: number; timeoutMs?: number; intervalMs?: number } = {}): Promise<{ id: number; is_savepoint?: boolean; external_path?: string } | null> {
  return latestEntry(get, jid, 'restored', (r: { id: number }) => o.atLeast === undefined || r.id >= o.atLeast, o);
}
