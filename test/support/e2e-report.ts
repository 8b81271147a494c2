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
  const nodeSummary = summarizeNode(sections);
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ generatedAt: new Date().toISOString(), nodeSummary, sections }, null, 2) + '\n');
  fs.renameSync(tmp, out);
  const md = path.join(dir, 'node-summary.md');
  fs.writeFileSync(`${md}.${process.pid}.tmp`, nodeSummaryTable(nodeSummary));
  fs.renameSync(`${md}.${process.pid}.tmp`, md);
  return out;
}

/** The columns of the real-node summary: what each release step took, to the job RUNNING again. */
export const NODE_COLUMNS = ['installToRunning', 'upgradeToRunning', 'rollbackToRunning', 'resumeToRunning', 'taskManagerLossToRunning', 'jobManagerLossToRunning', 'rescaleToRunning', 'helmTest'] as const;
export type NodeColumn = typeof NODE_COLUMNS[number];

/** One row of the real-node summary: a chart as a node test released it. */
export interface NodeRow {
  readonly section: string;
  readonly example: string;
  readonly flink: string;
  readonly helm: string;
  /** Milliseconds per column; null where the test has no such step. */
  readonly ms: Record<NodeColumn, number | null>;
  /** Columns the test has but the recorded section lacks (a step that did not run, or was renamed). */
  readonly missing: NodeColumn[];
}

/**
 * Where each real-node section keeps each column (a dotted path into the section), and which
 * example, Flink line and helm major it ran. One table, so that the summary names every step the
 * node tests record and a renamed step shows up as a missing cell, not as a silent gap.
 */
export const NODE_SECTIONS: Record<string, { example: string; flink: string; helm: string; columns: Partial<Record<NodeColumn, string>> }> = {
  'node/access-logs': {
    example: 'access-logs', flink: '2.2', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', upgradeToRunning: 'steps.upgradeToRunningMs', rollbackToRunning: 'steps.rollbackToRunningMs', helmTest: 'steps.helmTestPassMs' },
  },
  'node/audit-logs': {
    example: 'audit-logs', flink: '1.20', helm: '3',
    columns: { installToRunning: 'steps.installToRunningMs', upgradeToRunning: 'steps.upgradeToRunningMs', resumeToRunning: 'steps.resumeToRunningMs', taskManagerLossToRunning: 'steps.taskManagerLossToRunningMs' },
  },
  'node/log-enricher': {
    example: 'log-enricher', flink: '2.2', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', jobManagerLossToRunning: 'steps.haRecoveryToRunningMs', rescaleToRunning: 'steps.rescaleToRunningMs', helmTest: 'steps.helmTestMs' },
  },
  'node/session-shared-logs': {
    example: 'slow-requests on shared-logs', flink: '1.20', helm: '4, 3',
    columns: { installToRunning: 'steps.submitToRunningMs', upgradeToRunning: 'steps.helm3UpgradeToRunningMs' },
  },
  'node/elasticsearch': {
    example: 'error-logs on shared-logs', flink: '1.20', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', upgradeToRunning: 'steps.neighbourUpgradeToRunningMs', taskManagerLossToRunning: 'taskManagerKill.restoreMs' },
  },
  'node/recovery-plain': {
    example: 'recovery-plain (no standby)', flink: '2.2', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', taskManagerLossToRunning: 'steps.taskManagerLossToRunningMs' },
  },
  'node/recovery-standby': {
    example: 'recovery-standby (standbyTaskManagers: 1)', flink: '2.2', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', taskManagerLossToRunning: 'steps.taskManagerLossToRunningMs' },
  },
  'node/storage-s3': {
    example: 'audit-s3 (state on S3)', flink: '2.2', helm: '4',
    columns: { installToRunning: 'steps.installToRunningMs', upgradeToRunning: 'restoreMs.fromSavepoint', taskManagerLossToRunning: 'restoreMs.fromCheckpoint' },
  },
};

const at = (o: unknown, dotted: string): unknown => dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

/** The real-node summary of the recorded sections, in NODE_SECTIONS' order; sections not recorded are left out. */
export function summarizeNode(sections: { section: string }[]): NodeRow[] {
  const rows: NodeRow[] = [];
  for (const [name, def] of Object.entries(NODE_SECTIONS)) {
    const s = sections.find((x) => x.section === name);
    if (!s) continue;
    const missing: NodeColumn[] = [];
    const ms = Object.fromEntries(NODE_COLUMNS.map((c) => {
      if (!def.columns[c]) return [c, null];
      const v = at(s, def.columns[c]!);
      if (typeof v !== 'number') missing.push(c);
      return [c, typeof v === 'number' ? v : null];
    })) as Record<NodeColumn, number | null>;
    rows.push({ section: name, example: def.example, flink: def.flink, helm: def.helm, ms, missing });
  }
  return rows;
}

/** The summary as a Markdown table, seconds with one decimal; "-" where a test has no such step, "missing" where its section lacks one. */
export function nodeSummaryTable(rows: NodeRow[]): string {
  const head = ['example', 'Flink', 'helm', ...NODE_COLUMNS.map((c) => `${c} (s)`)];
  const lines = [head, head.map(() => '---'), ...rows.map((r) => [r.example, r.flink, r.helm, ...NODE_COLUMNS.map((c) => (r.missing.includes(c) ? 'missing' : r.ms[c] === null ? '-' : (r.ms[c]! / 1000).toFixed(1)))])];
  return lines.map((l) => `| ${l.join(' | ')} |`).join('\n') + '\n';
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
