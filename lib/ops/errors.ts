import { UserError } from '../errors';

/** A failure the operations tool reports as one line and a non-zero exit; nothing was changed unless it says so. */
export class OpsError extends UserError {}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
