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
