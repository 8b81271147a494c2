import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readTree } from '../../lib/synth/write';
import { DEFAULT_MIN_UNITS } from '../../lib/synth/parallel';
import { scratchDir } from '../support/scratch';

// `synth --threads`: units rendered by worker threads (each loads the app itself) give exactly
// the output of one thread, record the same state, and fail as one thread fails.

const CLI = path.join(__dirname, '..', '..', 'lib', 'cli', 'main.js');
const LIB = path.join(__dirname, '..', '..', 'lib');

/** `apps` applications (every third with HA and Kafka), two session clusters with five jobs each; `extra` is more code on `p`. */
function appSource(apps: number, extra = ''): string {
  return `const L = require(${JSON.stringify(LIB)});
const p = new L.FlinkPlatform({ namespace: 'logs', storageBaseDirectory: 's3://b/flink' });
for (let i = 0; i < ${apps}; i++) {
  const job = i % 3 ? L.JobSource.jar({ entryClass: 'com.example.Job' + i }) : L.JobSource.pipeline(new L.LogPipeline({
    source: { bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g' + i, fields: { msg: L.FieldType.STRING } },
    sinks: [L.Sink.kafka({ bootstrapServers: 'kafka:9092', topic: 'out' + i })],
  }));
  p.addApplication('app-' + i, { job, parallelism: 1 + (i % 3), highAvailability: i % 3 === 0, flinkVersion: i % 2 ? L.FlinkVersion.V2_2 : L.FlinkVersion.V1_20 });
}
for (const c of ['shared-a', 'shared-b']) {
  const cluster = p.addSessionCluster(c, { taskManagerReplicas: 2, taskManagerSlots: 4 });
  for (let j = 0; j < 5; j++) p.addSessionJob(c + '-job-' + j, { cluster, job: L.JobSource.sql('INSERT INTO t SELECT ' + j), opsImage: 'ops:1' });
}
${extra}
module.exports.platform = p;
`;
}

function synth(cwd: string, out: string, threads: number, env: Record<string, string> = {}, extraArgs: string[] = []) {
  return spawnSync(process.execPath, [CLI, 'synth', '--app', 'app.js', '--out', `${out}/dist`, '--charts', `${out}/charts`, '--threads', String(threads), '--json', ...extraArgs], {
    cwd, encoding: 'utf8',
    env: { ...process.env, CDK8S_FLINK_VERBOSE: '', CDK8S_FLINK_OUT: '', CDK8S_FLINK_CHARTS: '', CDK8S_FLINK_TEST_CRASH: '', CDK8S_FLINK_SYNTH_THREADS: '', CDK8S_FLINK_TEST_RENDER_HERE: '', ...env },
  });
}

function project(source: string): string {
  const dir = scratchDir('cdk8s-flink-threads-');
  fs.writeFileSync(path.join(dir, 'app.js'), source);
  return dir;
}

const APPS = DEFAULT_MIN_UNITS + 2;

test('synth --threads: what worker threads render is byte for byte what one thread writes, the recorded state lets the next run skip every unit, and with more threads than work the output is the same', () => {
  const dir = project(appSource(APPS));
  const one = synth(dir, 'one', 1);
  assert.equal(one.status, 0, one.stderr);
  const oneJson = JSON.parse(one.stdout);
  assert.equal(oneJson.threads, undefined, 'one thread: no workers');
  const units = APPS + 12 + 1; // applications, 2 session clusters with 5 jobs each, the platform dashboard
  assert.equal(oneJson.units.length, units);

  // Every unit rendered by the worker: this thread takes none from the shared counter.
  const workers = synth(dir, 'workers', 2, { CDK8S_FLINK_TEST_RENDER_HERE: '0' });
  assert.equal(workers.status, 0, workers.stderr);
  const w = JSON.parse(workers.stdout);
  assert.deepEqual(w.threads, { here: 0, workers: units - 1, threads: 2 }, 'the worker rendered every job unit (the dashboard is rendered here)');
  assert.match(workers.stderr, new RegExp(`${units - 1} rendered by 2 threads, ${units - 1} by workers`));

  // Shared as it comes: three threads.
  const shared = synth(dir, 'shared', 3);
  assert.equal(shared.status, 0, shared.stderr);
  const s = JSON.parse(shared.stdout);
  assert.equal(s.threads.here + s.threads.workers, units - 1);
  assert.equal(s.threads.threads, 3);

  for (const out of ['workers', 'shared']) {
    for (const sub of ['dist', 'charts']) {
      const a = readTree(path.join(dir, 'one', sub));
      const b = readTree(path.join(dir, out, sub));
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), `${out}/${sub}: the same files`);
      for (const f of Object.keys(a)) assert.equal(b[f], a[f], `${out}/${sub}/${f}`);
    }
    // The state recorded from the workers' output (object counts included) is what one thread records.
    const state = (o: string) => Object.fromEntries(Object.entries(JSON.parse(fs.readFileSync(path.join(dir, o, 'dist', '.cdk8s-flink-state.json'), 'utf8')).units)
      .map(([n, u]: [string, any]) => [n, { hash: u.hash, meta: u.meta, files: Object.fromEntries(Object.entries(u.files).map(([f, st]: [string, any]) => [f, st[0]])) }]));
    assert.deepEqual(state(out), state('one'), `${out}: the same hashes, claims, object counts and file sizes`);
  }

  // The next run over the workers' output: nothing built, nothing written.
  const again = synth(dir, 'workers', 2);
  assert.equal(again.status, 0, again.stderr);
  const a = JSON.parse(again.stdout);
  assert.deepEqual([a.written, a.built, a.threads], [[], [], undefined]);
  assert.match(again.stderr, new RegExp(`synthesized ${units} release unit\\(s\\), \\d+ objects, .*\\(0 written, ${units} unchanged\\)`));
});

test('synth --threads: what is written for a unit is what the worker rendered, not a second rendering on this thread', () => {
  // The app tells the threads apart (a real app behaves the same on every thread): a worker's
  // output names the namespace "worker".
  const source = appSource(APPS).replace("namespace: 'logs'", "namespace: require('worker_threads').isMainThread ? 'main' : 'worker'");
  const dir = project(source);
  const r = synth(dir, 'out', 2, { CDK8S_FLINK_TEST_RENDER_HERE: '0' });
  assert.equal(r.status, 0, r.stderr);
  const dist = readTree(path.join(dir, 'out', 'dist'));
  const jobs = Object.entries(dist).filter(([f]) => !f.includes('dashboards'));
  assert.equal(jobs.length, APPS + 12);
  for (const [f, text] of jobs) {
    assert.match(text, /^ {2}namespace: worker$/m, f);
    assert.doesNotMatch(text, /^ {2}namespace: main$/m, f);
  }
});

test('synth --threads: a unit that fails in a worker fails the synthesis with the error one thread gives, and nothing is written', () => {
  // A pod-local checkpoint directory is refused when the unit is rendered, not when it is declared.
  const dir = project(appSource(APPS, "p.addApplication('late', { job: L.JobSource.jar({ entryClass: 'com.example.Late' }), checkpointDirectory: 'file:///state/cp' });"));
  const one = synth(dir, 'one', 1);
  const workers = synth(dir, 'workers', 2, { CDK8S_FLINK_TEST_RENDER_HERE: '0' });
  assert.equal(one.status, 1, one.stderr);
  assert.match(one.stderr, /^cdk8s-flink: error: late: checkpointDirectory: "file:\/\/\/state\/cp" is pod-local/m);
  assert.deepEqual([workers.status, workers.stderr, workers.stdout], [one.status, one.stderr, one.stdout]);
  for (const out of ['one', 'workers']) assert.equal(fs.existsSync(path.join(dir, out, 'dist', 'late')), false);
});

test('synth --threads: a value out of range is a usage error naming the option', () => {
  const dir = project(appSource(1));
  const r = synth(dir, 'x', 0);
  assert.equal(r.status, 64, r.stderr);
  assert.match(r.stderr, /^cdk8s-flink: error: --threads: "0" is invalid; expected an integer from 1 to 64$/m);
});
