/**
 * The end-to-end harness report: each live proof records what it measured (record counts, time
 * to RUNNING, recovery time after each kill, savepoint duration, ...) as one JSON section, and
 * `e2e-report.json` beside them is rebuilt from all sections after every write.
 *
 * Where: $CDK8S_FLINK_E2E_REPORT, else `<compiled output dir>/e2e-report/` (build/e2e-report/
 * after `npm test`). Sections are written atomically (temp file, then rename), so tests running
 * side by side do not lose each other's sections.
 */
import * as fs from 'fs';
import * as path from 'path';

export function reportDir(): string {
  const dir = process.env.CDK8S_FLINK_E2E_REPORT ?? path.join(__dirname, '..', '..', 'e2e-report');
  fs.mkdirSync(path.join(dir, 'sections'), { recursive: true });
  return dir;
}

/** Records one section, e.g. recordE2E('exactly-once/flink-1.20.5', {...}); returns the report file. */
export function recordE2E(section: string, data: Record<string, unknown>): string {
  if (!/^[A-Za-z0-9._/-]+$/.test(section)) throw new Error(`report section ${JSON.stringify(section)}: expected letters, digits, . _ / -`);
  const dir = reportDir();
  const file = path.join(dir, 'sections', `${section.replace(/\//g, '__')}.json`);
  const body = JSON.stringify({ section, recordedAt: new Date().toISOString(), ...data }, null, 2);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, body + '\n');
  fs.renameSync(tmp, file);
  return writeReport(dir);
}

function writeReport(dir: string): string {
  const sections = fs.readdirSync(path.join(dir, 'sections')).filter((f) => f.endsWith('.json')).sort()
    .map((f) => { try { return JSON.parse(fs.readFileSync(path.join(dir, 'sections', f), 'utf8')); } catch { return undefined; } })
    .filter(Boolean);
  const out = path.join(dir, 'e2e-report.json');
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ generatedAt: new Date().toISOString(), sections }, null, 2) + '\n');
  fs.renameSync(tmp, out);
  return out;
}

/** What a sink or store holds of the records a test wrote: how many read back, distinct, duplicates, and written but missing. */
export interface Tally {
  readonly written: number;
  readonly readBack: number;
  readonly distinct: number;
  readonly duplicates: number;
  readonly lost: number;
}

/** The tally of rows read back, by identity, of records written with the identities 0 .. written-1. */
export function tally(keys: string[], written: number): Tally {
  const distinct = new Set(keys);
  let lost = 0;
  for (let i = 0; i < written; i++) if (!distinct.has(String(i))) lost++;
  return { written, readBack: keys.length, distinct: distinct.size, duplicates: keys.length - distinct.size, lost };
}

/** The figures every storage proof records, whatever the scheme. */
export interface StorageProof {
  readonly flinkVersion: string;
  /** Where the checkpoints and savepoints went. */
  readonly checkpoints: string;
  readonly savepoints: string;
  /** What each sink holds, by sink (e.g. `kafka:logs.audit.counted`, `archive`). */
  readonly records: Record<string, Tally>;
  /**
   * From the failure or the stop to the job RUNNING again: restored from the latest checkpoint,
   * from a savepoint. null where the proof has no such restore.
   */
  readonly restoreMs: { readonly fromCheckpoint: number | null; readonly fromSavepoint: number | null };
}

/** Records the section `storage/<scheme>/<job>/flink-<version>`; returns the report file. */
export function recordStorageE2E(scheme: string, job: string, proof: StorageProof, more: Record<string, unknown> = {}): string {
  return recordE2E(`storage/${scheme}/${job}/flink-${proof.flinkVersion}`, { scheme, job, ...proof, ...more });
}
