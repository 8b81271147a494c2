import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readTree } from '../../lib/synth/write';
import { SCHEMA_BUNDLE_FILE } from '../../lib/schema/validate';

// Incremental synthesis through the real CLI: after every edit, the incremental output equals a
// forced full synthesis byte for byte, and only the units that changed were written.

const ROOT = path.join(__dirname, '..', '..', '..');

const scratch: string[] = [];
test.after(() => {
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A platform of jobs (name -> entry class, or entry class and job id), a session cluster and a
 * session job on it; `extra` is more code run on the platform `p` (`C` is cdk8s).
 */
function appSource(lib: string, jobs: Record<string, string | { entry: string; jobId: string }>, sessionParallelism = 1, extra = '', platformProps = "{ storageBaseDirectory: 's3://b/flink' }"): string {
  const props = (e: string | { entry: string; jobId: string }) => typeof e === 'string'
    ? `{ job: L.JobSource.jar({ entryClass: ${JSON.stringify(e)} }) }`
    : `{ job: L.JobSource.jar({ entryClass: ${JSON.stringify(e.entry)} }), jobId: ${JSON.stringify(e.jobId)} }`;
  return `const L = require(${JSON.stringify(lib)});
const C = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'cdk8s'))});
const p = new L.FlinkPlatform(${platformProps});
${Object.entries(jobs).map(([j, e]) => `p.addApplication(${JSON.stringify(j)}, ${props(e)});`).join('\n')}
const c = p.addSessionCluster('shared', { taskManagerReplicas: 1, taskManagerSlots: 4 });
p.addSessionJob('on-shared', { cluster: c, job: L.JobSource.sql('INSERT INTO t SELECT 1'), parallelism: ${sessionParallelism}, opsImage: 'ops:1' });
${extra}
module.exports.platform = p;
`;
}

/** How many new units a synthesis holds as built from their declaration (lib/platform.ts HELD_UNITS): '' for the default. */
let heldUnits = '';

function run(cli: string, cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'synth', ...args, '--json'], {
    cwd, encoding: 'utf8', env: { ...process.env, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_OUT: '', CDK8S_FLINK_CHARTS: '', CDK8S_FLINK_TEST_CRASH: '', CDK8S_FLINK_TEST_HELD_UNITS: heldUnits },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { written: string[]; removed: string[]; built: string[] };
}

/** Every file's mtime under `dir` (relative path -> ms). */
function mtimes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of Object.keys(readTree(dir))) out[f] = fs.statSync(path.join(dir, f)).mtimeMs;
  return out;
}

for (const held of ['', '0']) {
  test(`incremental synth${held ? ' (every new unit let go of once declared, built again when written)' : ''}: after adding, changing, renaming and removing jobs, a shared default, props changed after declaring, a lock change and toolkit changes, the output equals a full synth; unchanged units are neither built nor touched`, () => {
  heldUnits = held;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-incremental-'));
  scratch.push(base);
  // A copy of the toolkit, to change its code later as an upgrade would.
  const kit = path.join(base, 'kit');
  fs.mkdirSync(path.join(kit, 'build'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'build', 'lib'), path.join(kit, 'build', 'lib'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'build', 'runtime'), path.join(kit, 'build', 'runtime'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(kit, 'package.json'));
  // The Kubernetes schema bundle synthesis validates with, read from lib/ as in the package.
  fs.mkdirSync(path.join(kit, 'lib', 'schema'), { recursive: true });
  fs.copyFileSync(SCHEMA_BUNDLE_FILE, path.join(kit, 'lib', 'schema', path.basename(SCHEMA_BUNDLE_FILE)));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(kit, 'node_modules'));
  const cli = path.join(kit, 'build', 'lib', 'cli', 'main.js');
  const lib = path.join(kit, 'build', 'lib');
  const project = path.join(base, 'project');
  fs.mkdirSync(project);
  const app = path.join(project, 'app.js');
  const inc = ['--app', app, '--out', 'dist', '--charts', 'charts'];
  const same = (step: string) => {
    const full = `full-${step}`;
    run(cli, project, ['--app', app, '--out', `${full}/dist`, '--charts', `${full}/charts`, '--force']);
    for (const d of ['dist', 'charts']) {
      assert.deepEqual(readTree(path.join(project, d)), readTree(path.join(project, full, d)), `${step}: ${d}/ equals a full synth`);
      assert.deepEqual(fs.readdirSync(path.join(project, d)).sort(), fs.readdirSync(path.join(project, full, d)).sort(), `${step}: ${d}/ entries`);
    }
    fs.rmSync(path.join(project, full), { recursive: true });
  };
  /**
   * Writes the app, synthesizes incrementally and checks what was written, removed and built
   * (constructed at all: by default what was written; a unit used by the app after declaring it
   * is built too), that nothing else was touched, and that the output equals a full synth.
   */
  const edit = (jobs: Parameters<typeof appSource>[1], step: string, expectWritten: string[], expectRemoved: string[] = [], session = 1, extra = '', expectBuilt = expectWritten, platformProps?: string) => {
    fs.writeFileSync(app, appSource(lib, jobs, session, extra, platformProps));
    const before = { dist: mtimes(path.join(project, 'dist')), charts: mtimes(path.join(project, 'charts')) };
    const r = run(cli, project, inc);
    assert.deepEqual(r.written.sort(), expectWritten.sort(), `${step}: units written`);
    assert.deepEqual(r.removed.sort(), expectRemoved.sort(), `${step}: units removed`);
    assert.deepEqual(r.built.sort(), [...expectBuilt].sort(), `${step}: units built`);
    for (const d of ['dist', 'charts'] as const) {
      const after = mtimes(path.join(project, d));
      for (const [f, t] of Object.entries(before[d])) {
        if (!expectWritten.includes(f.split('/')[0]) && !expectRemoved.includes(f.split('/')[0])) assert.equal(after[f], t, `${step}: ${d}/${f} untouched`);
      }
    }
    same(step);
  };

  const jobs = { one: 'com.example.A', two: 'com.example.B', three: 'com.example.C' };
  fs.writeFileSync(app, appSource(lib, jobs));
  const first = run(cli, project, inc);
  // The platform dashboard's unit is written first and then only when the toolkit or lock changes.
  assert.deepEqual(first.written.sort(), ['flink-dashboards', 'on-shared', 'one', 'shared', 'three', 'two']);
  same('first');
  edit(jobs, 'no change', []);
  edit({ ...jobs, two: 'com.example.B2' }, 'change a job', ['two']);
  edit({ one: 'com.example.A', two: 'com.example.B2', three: 'com.example.C', four: 'com.example.D' }, 'add a job', ['four']);
  edit({ one: 'com.example.A', two: 'com.example.B2', five: 'com.example.C', four: 'com.example.D' }, 'rename a job', ['five'], ['three']);
  edit({ two: 'com.example.B2', five: 'com.example.C', four: 'com.example.D' }, 'remove a job', [], ['one']);
  const now = { two: 'com.example.B2', five: 'com.example.C', four: 'com.example.D' };
  // The session job's cluster is built for it (its fields are the job's), not written.
  edit(now, 'a session job', ['on-shared'], [], 2, '', ['on-shared', 'shared']);
  const units = ['five', 'four', 'on-shared', 'shared', 'two'];
  // The platform dashboard's unit depends on no job's inputs: only a toolkit change rewrites it.
  const all = [...units, 'flink-dashboards'].sort();
  // A default every cluster takes: each cluster, and the session job through its cluster.
  const defaults = "{ storageBaseDirectory: 's3://b/flink', defaults: { taskManagerSlots: 4 } }";
  edit(now, 'a shared default', units, [], 2, '', units, defaults);
  edit(now, 'the shared default back', units, [], 2, '', units);

  // Inputs that show only in the objects (a construct added inside a job), and only in the chart
  // (a job id given that equals the derived one: the same objects, a fixed id in the chart).
  const extra = (v: string) => `new C.ApiObject(p.unit('four').construct, 'extra', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'four-extra' }, data: { v: '${v}' } });`;
  edit(now, 'a construct added inside a job', ['four'], [], 2, extra('1'));
  edit(now, 'a construct inside a job changed', ['four'], [], 2, extra('2'));
  edit(now, 'the construct removed', ['four'], [], 2);
  // A unit used by the app after its declaration is built and hashed by its objects (written
  // once as its record changes kind), also when the use changes nothing.
  const read = 'p.unit("five").construct.jobId;';
  edit(now, 'a unit read by the app', ['five'], [], 2, read, ['five']);
  edit(now, 'read again', [], [], 2, read, ['five']);
  edit(now, 'no longer read', ['five'], [], 2, '', ['five']);
  // A unit changed by the app after its declaration (its props object, or a library patched)
  // cannot be skipped: the synthesis runs again building every unit as declared (and hashing
  // each by its objects, so all are recorded anew).
  const six = 'const six = { job: L.JobSource.jar({ entryClass: "com.example.F" }), flinkConfiguration: { "a.b": "1" } }; p.addApplication("six", six);';
  const withSix = [...units, 'six'];
  edit(now, 'a job with a props object', ['six'], [], 2, six);
  edit(now, 'its props object changed after declaring it', withSix, [], 2, `${six} six.flinkConfiguration["a.b"] = "2";`, withSix);
  edit(now, 'its props object as declared', withSix, [], 2, six, withSix);
  edit(now, 'a library patched after the declarations', withSix, [], 2, `${six} L.PORTS.rest = 8082;`, withSix);
  edit(now, 'six removed', units, ['six'], 2, '', units);
  const derived = createHash('sha256').update('cdk8s-flink/default/two').digest('hex').slice(0, 32);
  edit({ ...now, two: { entry: 'com.example.B2', jobId: derived } }, 'a job id given, equal to the derived one', ['two'], [], 2);
  edit(now, 'the job id no longer given', ['two'], [], 2);

  // A file edited or added by hand in an unchanged unit: that unit is written again.
  fs.appendFileSync(path.join(project, 'charts', 'two', 'values.yaml'), '# edited\n');
  fs.writeFileSync(path.join(project, 'dist', 'four', 'extra.yaml'), 'kind: ConfigMap\n');
  fs.writeFileSync(app, appSource(lib, now, 2));
  assert.deepEqual(run(cli, project, inc).written.sort(), ['four', 'two']);
  same('hand edits');

  // The project's dependency lock changes: every unit is written again.
  fs.writeFileSync(path.join(project, 'package-lock.json'), '{"lockfileVersion":3}\n');
  assert.deepEqual(run(cli, project, inc).written.sort(), all);
  same('lock change');

  // The toolkit's code changes (no new version): every unit is written again, and the charts
  // now carry the new text.
  const chartJs = path.join(lib, 'helm', 'notes.js');
  const code = fs.readFileSync(chartJs, 'utf8');
  assert.ok(code.includes('Web UI and REST API:'));
  fs.writeFileSync(chartJs, code.replace('Web UI and REST API:', 'Web UI and REST API (port 8081):'));
  assert.deepEqual(run(cli, project, inc).written.sort(), all);
  assert.match(fs.readFileSync(path.join(project, 'charts', 'five', 'templates', 'NOTES.txt'), 'utf8'), /REST API \(port 8081\):/);
  same('toolkit change');

  // A new toolkit version: every unit is written again.
  const pkg = path.join(kit, 'package.json');
  fs.writeFileSync(pkg, fs.readFileSync(pkg, 'utf8').replace(/"version": "[^"]+"/, '"version": "99.0.0"'));
  assert.deepEqual(run(cli, project, inc).written.sort(), all);
  assert.match(fs.readFileSync(path.join(project, 'charts', 'two', 'values.yaml'), 'utf8'), /99\.0\.0/);
  same('toolkit version change');

  // --force writes everything; a partial synth writes only the named unit.
  assert.deepEqual(run(cli, project, [...inc, '--force']).written.sort(), all);
  assert.deepEqual(run(cli, project, [...inc, '--job', 'two']).written, []);
  fs.writeFileSync(app, appSource(lib, { ...now, two: 'com.example.B3', four: 'com.example.D3' }, 2));
  assert.deepEqual(run(cli, project, [...inc, '--job', 'two']).written, ['two']);
  assert.deepEqual(run(cli, project, inc).written, ['four']);
  same('partial');
  });
}
