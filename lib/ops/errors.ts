/** A failure the operations tool reports as one line and a non-zero exit; nothing was changed unless it says so. */
export class OpsError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
    this.name = 'OpsError';
  }
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parses "90s", "10m", "1h" or plain seconds into milliseconds. */
export function parseDuration(field: string, s: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new OpsError(`${field}: ${JSON.stringify(s)} is not a duration; expected e.g. 90s, 10m or 1h`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : m[2] === 'h' ? n * 3_600_000 : n * 1000;
}
