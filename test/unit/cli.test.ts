import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readTree } from '../../lib/synth/write';
import { scratchDir } from '../support/scratch';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'build', 'lib', 'cli', 'main.js');
const EXAMPLES = path.join(ROOT, 'build', 'examples', 'main.js');
const LIB = path.join(ROOT, 'build', 'lib');

function cli(args: string[], cwd = ROOT) {
  // Charts go to a scratch folder unless a test names one: never into the repository's charts/.
  const charts = scratchDir('cdk8s-flink-cli-charts-');
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_CHARTS: charts } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmp(): string {
  return scratchDir('cdk8s-flink-cli-');
}

/** Writes an app module that builds a platform with `body` (JavaScript using `L`, the library). */
function appModule(dir: string, body: string): string {
  const file = path.join(dir, `app-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, `const L = require(${JSON.stringify(LIB)});\nconst p = new L.FlinkPlatform({ storageBaseDirectory: 's3://b/flink' });\n${body}\nmodule.exports.platform = p;\n`);
  return file;
}

const GOOD = `p.addApplication('one', { job: L.JobSource.jar({ entryClass: 'com.example.A' }) });\np.addApplication('two', { job: L.JobSource.jar({ entryClass: 'com.example.B' }) });`;

test('cli synth: writes dist/<job>/ for every example, logs on stderr only, two runs byte-identical', () => {
  const d = tmp();
  const a = cli(['synth', '--app', EXAMPLES, '--out', path.join(d, 'a')]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, '');
  assert.match(a.stderr, /^synthesized 7 release unit\(s\), \d+ objects, into .* in \d+ ms\n$/);
  const b = cli(['synth', '--app', EXAMPLES, '--out', path.join(d, 'b')]);
  assert.equal(b.code, 0);
  const ta = readTree(path.join(d, 'a'));
  const tb = readTree(path.join(d, 'b'));
  assert.deepEqual(Object.keys(ta).map((f) => f.split('/')[0]).filter((v, i, s) => s.indexOf(v) === i).sort(),
    ['access-logs', 'audit-logs', 'error-logs', 'log-enricher', 'log-platform-dashboards', 'shared-logs', 'slow-requests']);
  assert.deepEqual(ta, tb, 'deterministic');
  const json = cli(['synth', '--app', EXAMPLES, '--out', path.join(d, 'c'), '--json']);
  assert.equal(JSON.parse(json.stdout).units.length, 7);
  // The operator target carries the platform dashboard as it is.
  const op = cli(['synth', '--app', EXAMPLES, '--out', path.join(d, 'op'), '--target', 'operator', '--sql-runner-jar', 'https://artifacts.example.com/cdk8s-flink-sql-runner.jar']);
  assert.equal(op.code, 0, op.stderr);
  assert.equal(readTree(path.join(d, 'op'))['log-platform-dashboards/log-platform-dashboards.operator.yaml'], ta['log-platform-dashboards/log-platform-dashboards.k8s.yaml']);
});

test('cli synth --job: replaces only that job folder; a full synth removes folders of jobs that no longer exist', () => {
  const d = tmp();
  const out = path.join(d, 'dist');
  const app = appModule(d, GOOD);
  assert.equal(cli(['synth', '--app', app, '--out', out]).code, 0);
  fs.writeFileSync(path.join(out, 'two', 'marker.txt'), 'kept');
  fs.writeFileSync(path.join(out, 'one', 'marker.txt'), 'replaced');
  assert.equal(cli(['synth', '--app', app, '--out', out, '--job', 'one']).code, 0);
  assert.ok(!fs.existsSync(path.join(out, 'one', 'marker.txt')));
  assert.ok(fs.existsSync(path.join(out, 'two', 'marker.txt')));
  const smaller = appModule(d, `p.addApplication('one', { job: L.JobSource.jar({ entryClass: 'com.example.A' }) });`);
  assert.equal(cli(['synth', '--app', smaller, '--out', out]).code, 0);
  assert.deepEqual(fs.readdirSync(out).sort(), ['.cdk8s-flink-output', '.cdk8s-flink-state.json', 'flink-dashboards', 'one'], 'the marker and state of an output folder, the platform dashboard and one job');
  const unknown = cli(['synth', '--app', app, '--out', out, '--job', 'three']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'cdk8s-flink: error: --job: "three" is not defined; expected one of one, two\n');
});

test('cli: a bad definition exits 1 with one line and no stack trace, and leaves earlier output untouched', () => {
  const d = tmp();
  const out = path.join(d, 'dist');
  assert.equal(cli(['synth', '--app', appModule(d, GOOD), '--out', out]).code, 0);
  const before = readTree(out);
  const bad = appModule(d, `${GOOD}\np.addApplication('three', { job: L.JobSource.jar({ entryClass: 'com.example.C' }), parallelism: 0 });`);
  for (const cmd of ['synth', 'validate', 'diff', 'list', 'plan']) {
    const r = cli([cmd, '--app', bad, '--out', out].filter((x, i, a) => cmd === 'synth' || cmd === 'diff' || (x !== '--out' && a[i - 1] !== '--out')));
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
    assert.equal(r.stderr, 'cdk8s-flink: error: parallelism: 0 is invalid; expected an integer between 1 and 32768\n', cmd);
  }
  assert.deepEqual(readTree(out), before, 'nothing written');
  const verbose = cli(['synth', '--app', bad, '--out', out, '--verbose']);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /\n\s+at /, '--verbose shows the stack');
});

test('cli: usage errors exit 64 with the reason and the usage line; every command has --help with examples', () => {
  const r = cli(['synth', '--bogus']);
  assert.equal(r.code, 64);
  assert.equal(r.stderr, 'cdk8s-flink: error: unknown option --bogus; expected one of --app, --job, --out, --charts, --force, --threads, --target, --sql-runner-jar, --json, --help, --verbose\n'
    + 'Usage: cdk8s-flink synth [options]   ("cdk8s-flink synth --help" for more)\n');
  assert.equal(cli(['frobnicate']).code, 64);
  const top = cli(['--help']);
  assert.equal(top.code, 0);
  for (const c of ['synth', 'list', 'validate', 'diff', 'plan']) {
    assert.match(top.stdout, new RegExp(`\\n  ${c}\\s`));
    const h = cli([c, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: cdk8s-flink /);
    assert.match(h.stdout, /Examples:\n  cdk8s-flink /);
  }
  assert.equal(cli(['--version']).stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  const missing = cli(['synth', '--app', '/nonexistent/app.js']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^cdk8s-flink: error: --app: "\/nonexistent\/app.js" does not exist/);
});

test('cli list and validate: JSON listing; validate exits 2 on cross-job problems', () => {
  const list = cli(['list', '--app', EXAMPLES, '--json']);
  assert.equal(list.code, 0);
  const rows = JSON.parse(list.stdout);
  assert.deepEqual(rows.map((r: any) => `${r.name}:${r.kind}`), [
    'access-logs:application', 'audit-logs:application', 'log-enricher:application',
    'shared-logs:session-cluster', 'error-logs:session-job', 'slow-requests:session-job',
  ]);
  const table = cli(['list', '--app', EXAMPLES]);
  assert.match(table.stdout, /^NAME\s+KIND\s+FLINK/);
  assert.equal(cli(['validate', '--app', EXAMPLES]).code, 0);
  const d = tmp();
  const over = appModule(d, `const c = p.addSessionCluster('s', { taskManagerReplicas: 1, taskManagerSlots: 2 });
p.addSessionJob('a', { cluster: c, job: L.JobSource.sql('INSERT INTO t SELECT 1'), parallelism: 2, opsImage: 'ops:1' });
p.addSessionJob('b', { cluster: c, job: L.JobSource.sql('INSERT INTO t SELECT 1'), parallelism: 2, opsImage: 'ops:1' });`);
  const v = cli(['validate', '--app', over, '--json']);
  assert.equal(v.code, 2);
  assert.equal(JSON.parse(v.stdout).valid, false);
  assert.match(v.stderr, /session cluster "s": its jobs \(a, b\) need 4 slots but it has 2/);
});

test('cli diff: nothing after synth; a changed definition shows a unified diff and --exit-code exits 3', () => {
  const d = tmp();
  const out = path.join(d, 'dist');
  const app = appModule(d, GOOD);
  cli(['synth', '--app', app, '--out', out]);
  const same = cli(['diff', '--app', app, '--out', out, '--exit-code']);
  assert.equal(same.code, 0);
  assert.equal(same.stdout, '');
  assert.equal(same.stderr, 'no changes\n');
  const changed = appModule(d, GOOD.replace("entryClass: 'com.example.B' }) }", "entryClass: 'com.example.B' }), parallelism: 4, taskManagerSlots: 4 }"));
  const r = cli(['diff', '--app', changed, '--out', out, '--exit-code']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /--- a\/two\/two.k8s.yaml\n\+\+\+ b\/two\/two.k8s.yaml\n@@ /);
  assert.match(r.stdout, /\n-\s+parallelism.default: 2\n\+\s+parallelism.default: 4\n/);
  assert.doesNotMatch(r.stdout, /a\/one\//, 'unchanged job not shown');
  assert.equal(cli(['diff', '--app', changed, '--out', out]).code, 0, 'without --exit-code differences are not an error');
});

test('cli diff: a session job removed from the definition is named, with the uninstall that stops its job', () => {
  const d = tmp();
  const out = path.join(d, 'dist');
  const session = "const s = p.addSessionCluster('pool', {});\np.addSessionJob('counts', { cluster: s, job: L.JobSource.jar({ entryClass: 'com.example.C', jarFile: 'https://example.com/c.jar' }) });\n";
  assert.equal(cli(['synth', '--app', appModule(d, GOOD + '\n' + session), '--out', out]).code, 0);
  const r = cli(['diff', '--app', appModule(d, GOOD + "\np.addSessionCluster('pool', {});\n"), '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).removedSessionJobs, ['counts']);
  assert.ok(JSON.parse(r.stdout).changes.some((c: any) => c.file.startsWith('counts/') && c.change === 'removed'));
  assert.match(r.stderr, /^session job "counts" is no longer defined: its job keeps running on its session cluster until its release is uninstalled \(helm uninstall counts -n <namespace>; the chart's pre-delete hook stops it\)$/m);
  const app = cli(['diff', '--app', appModule(d, session), '--out', out]);
  assert.doesNotMatch(app.stderr, /session job "(one|two)"/, 'a removed application is not a session job');
});

test('cli plan: application vs session cost per job with a recommendation and reason', () => {
  const r = cli(['plan', '--app', EXAMPLES, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  const byName = Object.fromEntries(plan.jobs.map((j: any) => [j.name, j]));
  assert.equal(byName['log-enricher'].recommendation, 'application');
  assert.match(byName['log-enricher'].reason, /reactive/);
  assert.equal(byName['error-logs'].mode, 'session');
  assert.ok(byName['error-logs'].asSession.memoryMiB < byName['error-logs'].asApplication.memoryMiB);
  for (const j of plan.jobs) {
    assert.ok(j.asApplication.cpuMillis > 0 && j.asSession.cpuMillis > 0, j.name);
    assert.ok(j.reason.length > 10);
  }
  assert.ok(plan.allSession.memoryMiB < plan.allApplication.memoryMiB);
  const text = cli(['plan', '--app', EXAMPLES]);
  assert.match(text.stdout, /^JOB\s+NOW\s+P\s+AS APPLICATION\s+AS SESSION JOB\s+RECOMMENDED\s+WHY/);
  // The autoscaled job's range and the price of a scale event.
  assert.deepEqual([byName['log-enricher'].autoscaling.minTaskManagers, byName['log-enricher'].autoscaling.maxTaskManagers], [2, 6]);
  assert.match(text.stdout, /^log-enricher: reactive autoscaling, 2 to 6 TaskManagers \(.+ to .+\); each scale event is a restart from the latest checkpoint \(state kept; up to \S+ of input read again\)/m);
});

test('cli plan: standby TaskManagers are priced per job and in the totals', () => {
  const d = tmp();
  const base = `{ job: L.JobSource.jar({ entryClass: 'com.example.A' }), parallelism: 4, taskManagerSlots: 2 }`;
  const withStandby = appModule(d, `p.addApplication('spare', { ...${base}, standbyTaskManagers: 1 });\np.addApplication('plain', ${base});`);
  const r = cli(['plan', '--app', withStandby, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  const byName = Object.fromEntries(plan.jobs.map((j: any) => [j.name, j]));
  const tm = { cpuMillis: byName.spare.asApplication.cpuMillis - byName.plain.asApplication.cpuMillis, memoryMiB: byName.spare.asApplication.memoryMiB - byName.plain.asApplication.memoryMiB };
  assert.ok(tm.cpuMillis > 0 && tm.memoryMiB >= 1024, `one more TaskManager: ${JSON.stringify(tm)}`);
  assert.deepEqual(byName.spare.standby, tm, 'the standby is exactly the extra TaskManager');
  assert.equal(byName.plain.standby, undefined);
  assert.deepEqual(byName.spare.asSession, byName.plain.asSession, 'a session job needs no standby of its own');
  assert.match(byName.spare.reason, /1 standby TaskManager/);
  assert.deepEqual(plan.standby, tm);
  assert.equal(plan.declared.memoryMiB, byName.spare.asApplication.memoryMiB + byName.plain.asApplication.memoryMiB);
  const text = cli(['plan', '--app', withStandby]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\nspare\s+application\s+4\s+[\d.]+ CPU \/ [\d.]+ GiB \(spare [\d.]+ CPU \/ [\d.]+ GiB\)/);
  assert.match(text.stdout, /\nof which spare capacity: +[\d.]+ CPU \/ [\d.]+ GiB \(standby TaskManagers and spare slots, for recovery\)\n/);
  fs.rmSync(d, { recursive: true, force: true });
});

test('cli plan: spare slots are priced as their share of every TaskManager, with no TaskManager added', () => {
  const d = tmp();
  const base = `{ job: L.JobSource.jar({ entryClass: 'com.example.A' }), parallelism: 4, taskManagerSlots: 2 }`;
  const withSpare = appModule(d, `p.addApplication('spare', { ...${base}, spareSlotsPerTaskManager: 1, taskManagerReplicas: 3 });\np.addApplication('plain', { ...${base}, taskManagerReplicas: 3 });`);
  const r = cli(['plan', '--app', withSpare, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  const byName = Object.fromEntries(plan.jobs.map((j: any) => [j.name, j]));
  assert.deepEqual(byName.spare.asApplication, byName.plain.asApplication, 'spare slots add no TaskManager');
  // 3 TaskManagers of 2 + 1 slots: a third of each is kept free
  const tm = { cpuMillis: 1000, memoryMiB: 2048 };
  assert.deepEqual(byName.spare.standby, { cpuMillis: tm.cpuMillis, memoryMiB: Math.round(tm.memoryMiB) }, JSON.stringify(byName.spare.standby));
  assert.match(byName.spare.reason, /1 spare slot\(s\) on each of its TaskManagers/);
  assert.deepEqual(plan.standby, byName.spare.standby);
  fs.rmSync(d, { recursive: true, force: true });
});
