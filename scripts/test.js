#!/usr/bin/env node
// Runs every compiled test file under build/test with node's test runner: test/unit (no tool
// fetched or built, no server started: seconds) and test/e2e (real helm, schemas, promtool,
// Flink, Kafka, the Kubernetes control plane).
// Usage: node scripts/test.js [substring ...]  (only files whose path contains a substring,
// e.g. `node scripts/test.js test/unit/` for the fast tier). A compiled file whose source is
// gone (a moved or deleted test) is not run.
'use strict';
const fs = require('fs');
const path = require('path');

const repo = path.join(__dirname, '..');
const root = path.join(repo, 'build', 'test');
const source = (compiled) => path.join(repo, path.relative(path.join(repo, 'build'), compiled)).replace(/\.js$/, '.ts');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js') && fs.existsSync(source(p))) files.push(p);
  }
})(root);
files.sort();
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error(`no test files matched ${filters.join(' ')}`);
  process.exit(1);
}
// A cdk8s-flink-* folder in the system's temporary directory that a run leaves behind is a test
// that did not undo what it set up: the run names it, and fails in CI (CI set), where nothing else
// runs; elsewhere another run on the machine may own it.
const os = require('os');
const scratch = () => new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('cdk8s-flink-')));
const before = scratch();
function leftovers() {
  const left = [...scratch()].filter((n) => !before.has(n)).sort();
  if (left.length === 0) return 0;
  const ci = !!process.env.CI && process.env.CI !== 'false';
  console.error(`test: ${left.length} temporary folder(s) left behind in ${os.tmpdir()}${ci ? '' : ' (not failing the run outside CI: another run may own them)'}: ${left.join(' ')}`);
  return ci ? left.length : 0;
}
// The real-node tests (test/e2e/e2e-node*) hold one machine-wide node each, one at a time (a lock
// under the cache): they run one after another in a lane of their own, beside the others (one at
// a time there: a node with its pods and a second file with its Flink and Kafka processes are what
// 2 cores carry without timing out), so that a node test waiting for the lock never holds the
// other files' place. The node lane's output is written to build/test-node-lane.log and printed
// once it ends.
const isNode = (f) => /^e2e-node/.test(path.basename(f));
const nodeFiles = selected.filter(isNode);
const otherFiles = selected.filter((f) => !isNode(f));
const { spawn } = require('child_process');
/**
 * Runs node's test runner; its TAP output goes to `log` and, unless `quiet`, to this process's
 * stdout as it comes. Resolves with the exit code.
 */
const lane = (args, log, quiet) => new Promise((resolve) => {
  const out = fs.openSync(log, 'w');
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (chunk, also) => {
    fs.writeSync(out, chunk);
    if (!quiet) also.write(chunk);
  };
  p.stdout.on('data', (c) => write(c, process.stdout));
  p.stderr.on('data', (c) => write(c, process.stderr));
  p.on('close', (code, signal) => {
    fs.closeSync(out);
    resolve(code ?? (signal ? 1 : 1));
  });
});
/**
 * The failed tests of a TAP log, each with the first lines of its error: printed last, so that a
 * failure is found at the end of a long run's output (and in a truncated copy of it).
 */
function failures(log, title) {
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m || /# (TODO|SKIP)\b/.test(m[2])) continue;
    const detail = [];
    for (let j = i + 1; j < lines.length && detail.length < 40 && !/^\s*\.\.\.$/.test(lines[j]); j++) {
      if (/^\s*stack: /.test(lines[j])) break;
      if (/^\s*(---|duration_ms|type:|failureType:|code:|name:|operator:)/.test(lines[j])) continue;
      detail.push(lines[j].length > 400 ? `${lines[j].slice(0, 400)} [...]` : lines[j]);
    }
    found.push(`${m[1]}not ok - ${m[2]}\n${detail.join('\n')}`);
  }
  return found.length ? `\n# ---- failed in ${title}: ${found.length} ----\n${found.join('\n')}\n` : '';
}
fs.mkdirSync(path.join(repo, 'build'), { recursive: true });
const forward = (sig) => process.on(sig, () => process.exit(130));
forward('SIGINT');
forward('SIGTERM');
if (nodeFiles.length === 0 || otherFiles.length === 0) {
  const log = path.join(repo, 'build', 'test.log');
  lane(['--test', `--test-concurrency=${otherFiles.length ? 2 : 1}`, ...selected], log, false).then((code) => {
    process.stdout.write(failures(log, 'this run'));
    process.exit(leftovers() === 0 ? code : 1);
  });
  return;
}
const started = Date.now();
const laneLog = path.join(repo, 'build', 'test-node-lane.log');
const otherLog = path.join(repo, 'build', 'test-other-lane.log');
console.error(`test: ${nodeFiles.length} real-node file(s) in their own lane (output: ${path.relative(repo, laneLog)}, printed at the end), ${otherFiles.length} other file(s) beside them`);
Promise.all([
  lane(['--test', '--test-concurrency=1', ...nodeFiles], laneLog, true),
  lane(['--test', '--test-concurrency=1', ...otherFiles], otherLog, false),
]).then(([nodeCode, otherCode]) => {
  process.stdout.write(`\n# ---- real-node lane (${nodeFiles.map((f) => path.basename(f)).join(', ')}) ----\n`);
  process.stdout.write(fs.readFileSync(laneLog, 'utf8'));
  // the real-node summary (test/support/e2e-report.ts), when this run's node tests recorded one
  const summary = path.join(repo, 'build', 'e2e-report', 'node-summary.md');
  if (fs.existsSync(summary) && fs.statSync(summary).mtimeMs >= started) {
    process.stdout.write(`\n# ---- real-node summary (build/e2e-report/e2e-report.json: nodeSummary) ----\n${fs.readFileSync(summary, 'utf8')}`);
  }
  process.stdout.write(failures(otherLog, 'the other files') + failures(laneLog, 'the real-node lane'));
  console.error(`test: real-node lane exit ${nodeCode}, other files exit ${otherCode}`);
  const left = leftovers();
  process.exit(nodeCode === 0 && otherCode === 0 && left === 0 ? 0 : 1);
});
