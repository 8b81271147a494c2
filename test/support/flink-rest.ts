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
