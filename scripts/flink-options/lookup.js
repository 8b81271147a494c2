#!/usr/bin/env node
// Shows how each catalog (lib/config/catalog/flink-*.json) treats the given keys:
//   node scripts/flink-options/lookup.js state.checkpoints.dir execution.checkpointing.dir
// A key is found as an option's main key, or as one of its deprecated / fallback keys.
// A prefix ending in '*' lists every main key starting with it (e.g. 'restart-strategy.*').
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', '..', 'lib', 'config', 'catalog');
const catalogs = fs
  .readdirSync(dir)
  .filter((f) => /^flink-.*\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));

const brief = (o) => {
  const { description: _description, sources, ...rest } = o;
  return JSON.stringify({ ...rest, sources: sources.map((s) => s.replace(/^org\.apache\.flink\./, '')) });
};

for (const key of process.argv.slice(2)) {
  console.log(`# ${key}`);
  for (const c of catalogs) {
    const hits = [];
    for (const o of c.options) {
      if (key.endsWith('*') ? o.key.startsWith(key.slice(0, -1)) : o.key === key) hits.push(`key      ${brief(o)}`);
      else if (o.deprecatedKeys.includes(key)) hits.push(`deprecatedKey of ${o.key}: ${brief(o)}`);
      else if (o.fallbackKeys.includes(key)) hits.push(`fallbackKey of ${o.key}: ${brief(o)}`);
    }
    if (hits.length === 0) hits.push('NOT ACCEPTED');
    for (const h of hits) console.log(`  ${c.flinkVersion.padEnd(7)} ${h}`);
  }
}
