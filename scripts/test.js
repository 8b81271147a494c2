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
const { spawnSync } = require('child_process');

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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
