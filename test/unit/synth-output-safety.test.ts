import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { markerText, OUTPUT_MARKER } from '../../lib/synth/output-dir';
import { readTree, STATE_FILE } from '../../lib/synth/write';

// `cdk8s-flink synth` writes only into folders it owns, proven through the real CLI in scratch
// folders: every refusal is one line naming the option and the value, and leaves every file
// that was there byte-identical.

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'build', 'lib', 'cli', 'main.js');
const LIB = path.join(ROOT, 'build', 'lib');

const scratch: string[] = [];
test.after(() => {
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A scratch folder holding a user's project: `project/` (the working directory of the runs,
 * with a `.git`, sources, a file and a folder of the user's own), `home/` (the HOME of the
 * runs) and an app module.
 */
function setup() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-out-safety-'));
  scratch.push(base);
  const project = path.join(base, 'project');
  const files: Record<string, string> = {
    'project/.git/HEAD': 'ref: refs/heads/main\n',
    'project/.git/config': '[core]\n',
    'project/src/app.ts': 'export const x = 1;\n',
    'project/notes.txt': 'my notes\n',
    'project/mine/keep.txt': 'a file of mine\n',
    'project/mine/deep/more.bin': '\u0000\u0001binary',
    'home/.bashrc': 'export A=1\n',
    'beside.txt': 'next to the project\n',
  };
  for (const [f, t] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(base, f)), { recursive: true });
    fs.writeFileSync(path.join(base, f), t);
  }
  const app = path.join(base, 'app.js');
  fs.writeFileSync(app, appSource(['one', 'two']));
  return { base, project, home: path.join(base, 'home'), app };
}

/** A platform of jobs only (no platform dashboard): the folders of the jobs are what these tests count. */
function appSource(jobs: string[], entry = 'com.example.Main'): string {
  return `const L = require(${JSON.stringify(LIB)});
const p = new L.FlinkPlatform({ storageBaseDirectory: 's3://b/flink', dashboard: false });
${jobs.map((j) => `p.addApplication(${JSON.stringify(j)}, { job: L.JobSource.jar({ entryClass: ${JSON.stringify(entry)} }) });`).join('\n')}
module.exports.platform = p;
`;
}

function cli(s: ReturnType<typeof setup>, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, 'synth', '--app', s.app, ...args], {
    cwd: s.project,
    encoding: 'utf8',
    env: { ...process.env, HOME: s.home, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_OUT: '', CDK8S_FLINK_CHARTS: '', CDK8S_FLINK_TEST_CRASH: '', ...env },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry under `dir` (links as links): path -> content, `<dir>` or `-> target`. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  (function walk(d: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) {
        out[rel] = '<dir>';
        walk(p);
      } else out[rel] = fs.readFileSync(p).toString('base64');
    }
  })(dir);
  return out;
}

/** Runs synth, expects a refusal of `option`'s `value` saying `what`, and nothing changed. */
function refused(s: ReturnType<typeof setup>, args: string[], option: string, value: string, what: RegExp, env: Record<string, string> = {}) {
  const before = snapshot(s.base);
  const r = cli(s, args, env);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 2, `one line: ${r.stderr}`);
  assert.equal(lines[1], '');
  const prefix = `cdk8s-flink: error: ${option}: ${JSON.stringify(value)} `;
  assert.ok(lines[0].startsWith(prefix), `${lines[0]} starts with ${prefix}`);
  assert.match(lines[0].slice(prefix.length), what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(snapshot(s.base), before, 'every file as it was');
  return lines[0];
}

const EXPECTED = /; expected an absent or empty folder, or one cdk8s-flink wrote \(it holds \.cdk8s-flink-output\)$/;
const OK_CHARTS = ['--charts', 'charts-out'];

test('synth refuses the working directory: .git and every file stay', () => {
  const s = setup();
  refused(s, ['--out', '.', ...OK_CHARTS], '--out', '.', /^is the working directory; expected/);
  refused(s, ['--out', 'dist', '--charts', s.project], '--charts', s.project, /^is the working directory;/);
  refused(s, ['--out', './'], '--out', './', EXPECTED);
});

test('synth refuses an ancestor of the working directory, the filesystem root, the home folder and its ancestors', () => {
  const s = setup();
  refused(s, ['--out', '..', ...OK_CHARTS], '--out', '..', /^is an ancestor of the working directory; expected/);
  refused(s, ['--out', s.base, ...OK_CHARTS], '--out', s.base, /^is an ancestor of the working directory;/);
  refused(s, ['--out', '/', ...OK_CHARTS], '--out', '/', /^is the filesystem root;/);
  refused(s, ['--out', s.home, ...OK_CHARTS], '--out', s.home, /^is the home folder;/);
  // With HOME one level down, the folder above it is an ancestor of the home folder.
  const inner = path.join(s.home, 'inner');
  fs.mkdirSync(inner);
  refused(s, ['--out', s.home, ...OK_CHARTS], '--out', s.home, /^is an ancestor of the home folder;/, { HOME: inner });
});

test('synth refuses an existing file and a path below one: the file stays as it was', () => {
  const s = setup();
  refused(s, ['--out', 'notes.txt', ...OK_CHARTS], '--out', 'notes.txt', /^is a file;/);
  refused(s, ['--out', 'dist', '--charts', 'notes.txt'], '--charts', 'notes.txt', /^is a file;/);
  refused(s, ['--out', 'notes.txt/sub', ...OK_CHARTS], '--out', 'notes.txt/sub', /^is below ".*notes\.txt", which is a file;/);
});

test('synth refuses a non-empty folder it did not write, and an older output without the marker', () => {
  const s = setup();
  refused(s, ['--out', 'mine', ...OK_CHARTS], '--out', 'mine', /^is a non-empty folder cdk8s-flink did not write \(no \.cdk8s-flink-output in it; .*delete that once\); expected/);
  refused(s, ['--out', 'src', '--charts', 'mine'], '--out', 'src', /^is a non-empty folder cdk8s-flink did not write/);
  // The shape of an output folder before the marker existed: recognised by nothing, refused.
  fs.mkdirSync(path.join(s.project, 'charts', 'one', 'templates'), { recursive: true });
  fs.writeFileSync(path.join(s.project, 'charts', 'one', 'Chart.yaml'), 'apiVersion: v2\nname: one\n');
  refused(s, ['--out', 'dist'], '--charts', 'charts', /^is a non-empty folder cdk8s-flink did not write/);
  // A marker that is a folder, or a link, is not a marker.
  fs.mkdirSync(path.join(s.project, 'mine', OUTPUT_MARKER));
  refused(s, ['--out', 'mine', ...OK_CHARTS], '--out', 'mine', /^is a non-empty folder cdk8s-flink did not write/);
});

test('synth refuses overlapping manifest and chart folders (the same, or one inside the other)', () => {
  const s = setup();
  refused(s, ['--out', 'x', '--charts', 'x'], '--charts', 'x', /^is the same folder as --out \("x"\); expected separate folders, neither inside the other$/);
  refused(s, ['--out', 'x', '--charts', 'x/charts'], '--charts', 'x/charts', /^is inside --out \("x"\);/);
  refused(s, ['--out', 'x/dist', '--charts', 'x'], '--charts', 'x', /^contains --out \("x\/dist"\);/);
  // Also when the folders exist and are ours, and when a link makes them the same.
  assert.equal(cli(s, ['--out', 'x', ...OK_CHARTS]).code, 0);
  refused(s, ['--out', 'x', '--charts', './x/'], '--charts', './x/', /^is the same folder as --out/);
  fs.symlinkSync('x', path.join(s.project, 'x-link'));
  refused(s, ['--out', 'x', '--charts', 'x-link'], '--charts', 'x-link', /^is the same folder as --out/);
});

test('synth refuses a link that leads to the working directory, a file, a folder of other content, or nothing', () => {
  const s = setup();
  fs.symlinkSync(s.project, path.join(s.project, 'to-cwd'));
  fs.symlinkSync(s.base, path.join(s.project, 'to-parent'));
  fs.symlinkSync('notes.txt', path.join(s.project, 'to-file'));
  fs.symlinkSync('mine', path.join(s.project, 'to-mine'));
  fs.symlinkSync('nowhere/at/all', path.join(s.project, 'to-nothing'));
  refused(s, ['--out', 'to-cwd', ...OK_CHARTS], '--out', 'to-cwd', /^\(a link to ".*project"\) is the working directory;/);
  refused(s, ['--out', 'to-parent', ...OK_CHARTS], '--out', 'to-parent', /^\(a link to ".*"\) is an ancestor of the working directory;/);
  refused(s, ['--out', 'to-file', ...OK_CHARTS], '--out', 'to-file', /^\(a link to ".*notes\.txt"\) is a file;/);
  refused(s, ['--out', 'to-mine', ...OK_CHARTS], '--out', 'to-mine', /^\(a link to ".*mine"\) is a non-empty folder cdk8s-flink did not write/);
  refused(s, ['--out', 'to-mine/sub/..', ...OK_CHARTS], '--out', 'to-mine/sub/..', /is a non-empty folder cdk8s-flink did not write/);
  refused(s, ['--out', 'to-nothing', ...OK_CHARTS], '--out', 'to-nothing', /^leads through a symbolic link to a missing path;/);
  refused(s, ['--out', 'to-nothing/dist', ...OK_CHARTS], '--out', 'to-nothing/dist', /^leads through a symbolic link to a missing path;/);
});

test('synth writes into an absent or empty folder (creating the marker), replaces only what it owns, and follows a link to its own folder', () => {
  const s = setup();
  fs.mkdirSync(path.join(s.project, 'empty'));
  const r = cli(s, ['--out', 'empty', '--charts', 'deep/absent/charts']);
  assert.equal(r.code, 0, r.stderr);
  for (const d of ['empty', 'deep/absent/charts']) {
    assert.equal(fs.readFileSync(path.join(s.project, d, OUTPUT_MARKER), 'utf8'), markerText());
    assert.deepEqual(fs.readdirSync(path.join(s.project, d)).sort(), [OUTPUT_MARKER, STATE_FILE, 'one', 'two']);
  }
  assert.ok(fs.existsSync(path.join(s.project, 'empty', 'one', 'one.k8s.yaml')));
  assert.ok(fs.existsSync(path.join(s.project, 'deep', 'absent', 'charts', 'one', 'Chart.yaml')));
  // The same folders again: owned now, replaced; a removed job's folder goes.
  fs.writeFileSync(s.app, appSource(['one']));
  assert.equal(cli(s, ['--out', 'empty', '--charts', 'deep/absent/charts']).code, 0);
  assert.deepEqual(fs.readdirSync(path.join(s.project, 'empty')).sort(), [OUTPUT_MARKER, STATE_FILE, 'one']);
  // A partial synthesis into an absent folder creates it with the marker too.
  assert.equal(cli(s, ['--out', 'partial', '--charts', 'partial-charts', '--job', 'one']).code, 0);
  assert.deepEqual(fs.readdirSync(path.join(s.project, 'partial')).sort(), [OUTPUT_MARKER, STATE_FILE, 'one']);
  // Through a link to a folder of ours: written where the link points; the link stays a link.
  fs.symlinkSync('empty', path.join(s.project, 'out-link'));
  fs.writeFileSync(s.app, appSource(['one', 'three']));
  assert.equal(cli(s, ['--out', 'out-link', '--charts', 'deep/absent/charts']).code, 0);
  assert.ok(fs.lstatSync(path.join(s.project, 'out-link')).isSymbolicLink());
  assert.deepEqual(fs.readdirSync(path.join(s.project, 'empty')).sort(), [OUTPUT_MARKER, STATE_FILE, 'one', 'three']);
  // Nothing but the outputs appeared in the project, and the user's files are as they were.
  assert.deepEqual(fs.readdirSync(s.project).sort(), ['.git', 'deep', 'empty', 'mine', 'notes.txt', 'out-link', 'partial', 'partial-charts', 'src']);
  assert.equal(fs.readFileSync(path.join(s.project, 'notes.txt'), 'utf8'), 'my notes\n');
});

test('a crash half-way through writing leaves the previous output intact; the next run removes only its own temporary folders', () => {
  const s = setup();
  assert.equal(cli(s, ['--out', 'dist', '--charts', 'charts']).code, 0);
  const dist = path.join(s.project, 'dist');
  const before = snapshot(dist);
  const chartsBefore = snapshot(path.join(s.project, 'charts'));
  fs.writeFileSync(s.app, appSource(['one', 'two', 'three'], 'com.example.Changed'));
  const crashed = cli(s, ['--out', 'dist', '--charts', 'charts'], { CDK8S_FLINK_TEST_CRASH: 'write' });
  assert.equal(crashed.signal, 'SIGKILL', `killed half-way: ${crashed.stderr}`);
  assert.deepEqual(snapshot(dist), before, 'the previous manifests byte-identical');
  assert.deepEqual(snapshot(path.join(s.project, 'charts')), chartsBefore, 'the previous charts byte-identical');
  const stale = fs.readdirSync(s.project).filter((f) => f.startsWith('.dist.tmp-'));
  assert.equal(stale.length, 1, 'the crashed run left its temporary folder');
  // Folders with a similar name that are not ours (no marker; or not our naming) are left alone.
  const foreign = path.join(s.project, '.dist.tmp-99999999-abcdef');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'user.txt'), 'not ours');
  fs.mkdirSync(path.join(s.project, '.dist.tmp-keep'));
  const again = cli(s, ['--out', 'dist', '--charts', 'charts']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readdirSync(s.project).filter((f) => f.startsWith('.dist.')).sort(), ['.dist.tmp-99999999-abcdef', '.dist.tmp-keep']);
  assert.equal(fs.readFileSync(path.join(foreign, 'user.txt'), 'utf8'), 'not ours');
  assert.deepEqual(fs.readdirSync(dist).sort(), [OUTPUT_MARKER, STATE_FILE, 'one', 'three', 'two']);
  assert.match(fs.readFileSync(path.join(dist, 'one', 'one.k8s.yaml'), 'utf8'), /com\.example\.Changed/);
});

test('a crash between moving the previous output aside and moving the new one in is undone by the next run', () => {
  const s = setup();
  assert.equal(cli(s, ['--out', 'dist', ...OK_CHARTS]).code, 0);
  const dist = path.join(s.project, 'dist');
  const previous = readTree(dist);
  fs.writeFileSync(s.app, appSource(['one', 'two'], 'com.example.Changed'));
  // --force: the whole folder is swapped at once (as on a first synthesis).
  const crashed = cli(s, ['--out', 'dist', ...OK_CHARTS, '--force'], { CDK8S_FLINK_TEST_CRASH: 'swap' });
  assert.equal(crashed.signal, 'SIGKILL');
  assert.ok(!fs.existsSync(dist), 'the crash fell between the two renames');
  // The next run (one job only) first puts the previous output back, then replaces that job.
  const partial = cli(s, ['--out', 'dist', ...OK_CHARTS, '--job', 'one']);
  assert.equal(partial.code, 0, partial.stderr);
  const now = readTree(dist);
  assert.deepEqual(Object.keys(now).sort(), Object.keys(previous).sort());
  for (const f of Object.keys(previous).filter((f) => f.startsWith('two/'))) assert.equal(now[f], previous[f], `${f} is the previous output`);
  assert.match(now['one/one.k8s.yaml'], /com\.example\.Changed/);
  assert.deepEqual(fs.readdirSync(s.project).filter((f) => f.startsWith('.dist.')), [], 'no temporary folder left');

  // The same for one job's folder in a partial synthesis.
  fs.writeFileSync(s.app, appSource(['one', 'two'], 'com.example.Again'));
  const unit = cli(s, ['--out', 'dist', ...OK_CHARTS, '--job', 'two'], { CDK8S_FLINK_TEST_CRASH: 'unit-swap' });
  assert.equal(unit.signal, 'SIGKILL');
  assert.ok(!fs.existsSync(path.join(dist, 'two')));
  assert.equal(cli(s, ['--out', 'dist', ...OK_CHARTS, '--job', 'one']).code, 0);
  const after = readTree(dist);
  for (const f of Object.keys(previous).filter((f) => f.startsWith('two/'))) assert.equal(after[f], previous[f], `${f} restored`);
  assert.deepEqual(fs.readdirSync(s.project).filter((f) => f.startsWith('.dist.')), []);
});

test('the repository\'s charts/ is an output folder of ours: the marker at its top, outside every chart', () => {
  const charts = path.join(ROOT, 'charts');
  assert.equal(fs.readFileSync(path.join(charts, OUTPUT_MARKER), 'utf8'), markerText(), 'run "npm run synth" and commit charts/');
  for (const e of fs.readdirSync(charts, { withFileTypes: true })) {
    if (e.name === OUTPUT_MARKER || e.name === STATE_FILE) continue;
    assert.ok(e.isDirectory(), `charts/${e.name} is a chart folder`);
    assert.ok(!fs.existsSync(path.join(charts, e.name, OUTPUT_MARKER)), `no marker inside charts/${e.name}`);
  }
});
