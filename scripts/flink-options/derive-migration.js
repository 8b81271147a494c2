#!/usr/bin/env node
// Derives lib/config/catalog/migration-2.json from two option catalogs written by
// DumpFlinkOptions (see generate.sh):
//   node derive-migration.js flink-1.20.json flink-2.2.json migration-2.json
//
// removed: every key Flink 1.20 accepts (main, deprecated or fallback key of a cluster/dynamic
//          option) that 2.2 accepts in no way. "replacement" is mechanical: the 1.20 option that
//          lists the key as an alias has a main key that 2.2 accepts -> that option's 2.2 main key.
//          "suggested" (never used for "replacement") lists 2.2 keys that the 1.20 description of
//          the removed option mentions.
// renamed: keys both versions accept but that 2.2 deprecates in favour of another key (a 2.2 option
//          lists the key as deprecated, or the 2.2 option is @Deprecated and its description names
//          a non-deprecated 2.2 key).
// deprecatedWithoutReplacement: keys both accept, @Deprecated in 2.2, no replacement derivable.
'use strict';
const fs = require('fs');
const path = require('path');

const [oldFile, newFile, outFile] = process.argv.slice(2);
if (!oldFile || !newFile || !outFile) {
  console.error('usage: derive-migration.js OLD.json NEW.json OUT.json');
  process.exit(2);
}
const A = JSON.parse(fs.readFileSync(oldFile, 'utf8'));
const B = JSON.parse(fs.readFileSync(newFile, 'utf8'));
const USER_SCOPES = new Set(['cluster', 'dynamic']);

/** key -> [{ opt, as: 'key' | 'deprecatedKey' | 'fallbackKey' }] */
function index(catalog, scopes) {
  const m = new Map();
  const add = (k, opt, as) => {
    if (!m.has(k)) m.set(k, []);
    m.get(k).push({ opt, as });
  };
  for (const o of catalog.options) {
    if (scopes && !scopes.has(o.scope)) continue;
    add(o.key, o, 'key');
    for (const k of o.deprecatedKeys) add(k, o, 'deprecatedKey');
    for (const k of o.fallbackKeys) add(k, o, 'fallbackKey');
  }
  return m;
}
const accA = index(A, USER_SCOPES);
const accB = index(B, null); // accepted by 2.2 in any scope
const mainB = new Map(B.options.map((o) => [o.key, o]));

/** The 2.2 main key that handles `k` (k itself if it is a main key). */
function canonicalB(k) {
  const hits = accB.get(k) || [];
  const main = hits.find((h) => h.as === 'key');
  if (main) return main.opt.key;
  return hits.length ? hits[0].opt.key : null;
}

function mentionedKeys(text, exclude) {
  if (!text) return [];
  const found = [];
  for (const m of text.matchAll(/[A-Za-z0-9$][A-Za-z0-9_\-<>]*(?:\.[A-Za-z0-9_\-<>]+)+/g)) {
    const k = m[0].replace(/\.$/, '');
    if (k !== exclude && mainB.has(k) && !mainB.get(k).deprecated && !found.includes(k)) found.push(k);
  }
  return found;
}

const describeUse = (hits) =>
  hits.map((h) => (h.as === 'key' ? 'key' : `${h.as} of ${h.opt.key}`)).join('; ');

const removed = [];
for (const [k, hits] of [...accA.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
  if (accB.has(k)) continue;
  let replacement = null;
  let reason;
  const alias = hits.find((h) => h.as !== 'key' && accB.has(h.opt.key));
  const own = hits.find((h) => h.as === 'key');
  if (alias) {
    replacement = canonicalB(alias.opt.key);
    reason =
      `1.20 ${alias.as} of ${alias.opt.key}; 2.2 dropped the alias` +
      (replacement !== alias.opt.key ? ` (2.2 accepts ${alias.opt.key} via ${replacement})` : '');
  } else if (own) {
    const src = own.opt.sources[0];
    reason = `option removed in 2.x (1.20: ${src}${own.opt.deprecated ? ', already deprecated in 1.20' : ''})`;
  } else {
    const h = hits[0];
    reason = `1.20 ${h.as} of ${h.opt.key}, which 2.2 does not accept either`;
  }
  const entry = { key: k, replacement, reason };
  if (replacement === null) {
    const o = (own || hits[0]).opt;
    const suggested = mentionedKeys(o.description, k).filter((s) => s !== o.key);
    if (suggested.length) entry.suggested = suggested;
  }
  entry.scope = hits[0].opt.scope;
  entry.in120As = describeUse(hits);
  removed.push(entry);
}

const renamed = [];
const deprecatedOnly = []; // deprecated in 2.2, but no replacement key can be derived
const accAllA = index(A, null);
for (const [k, hitsA] of [...accA.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
  const hitsB = accB.get(k);
  if (!hitsB) continue;
  let preferred = null;
  let via = null;
  const dep = hitsB.find((h) => h.as === 'deprecatedKey' && h.opt.key !== k);
  const main = hitsB.find((h) => h.as === 'key');
  if (dep && !(main && !main.opt.deprecated)) {
    preferred = dep.opt.key;
    via = `2.2 lists it as a deprecated key of ${dep.opt.key}`;
  } else if (main && main.opt.deprecated) {
    const m = mentionedKeys(main.opt.description, k);
    preferred = m.length ? m[0] : null;
    via = `2.2 option is @Deprecated (${main.opt.sources[0]})` + (m.length ? '; replacement named in its description' : '; no replacement named');
  } else {
    continue;
  }
  if (preferred === null) {
    deprecatedOnly.push({ key: k, via, in120As: describeUse(hitsA) });
    continue;
  }
  const others = [
    ...new Set(hitsB.filter((h) => h.as === 'deprecatedKey' && h.opt.key !== k && h.opt.key !== preferred).map((h) => h.opt.key)),
  ];
  const inA = accA.get(preferred) || accAllA.get(preferred);
  renamed.push({
    key: k,
    preferred,
    ...(others.length ? { alsoDeprecatedKeyOf: others } : {}),
    via,
    preferredAcceptedBy120: !!inA,
    ...(inA ? { preferredIn120As: describeUse(inA) } : {}),
    in120As: describeUse(hitsA),
  });
}

const lines = [];
lines.push('{');
lines.push(`"from": ${JSON.stringify(A.flinkVersion)},`);
lines.push(`"to": ${JSON.stringify(B.flinkVersion)},`);
lines.push(
  `"generatedBy": ${JSON.stringify(
    'scripts/flink-options/derive-migration.js from ' + path.basename(oldFile) + ' and ' + path.basename(newFile) +
      '; only cluster and dynamic (metrics.reporter.<name>.* etc.) scopes of ' + A.flinkVersion + ' are considered',
  )},`,
);
lines.push(`"removedCount": ${removed.length},`);
lines.push(`"renamedCount": ${renamed.length},`);
lines.push(`"deprecatedWithoutReplacementCount": ${deprecatedOnly.length},`);
lines.push('"removed": [');
lines.push(removed.map((e) => JSON.stringify(e)).join(',\n'));
lines.push('],');
lines.push('"renamed": [');
lines.push(renamed.map((e) => JSON.stringify(e)).join(',\n'));
lines.push('],');
lines.push('"deprecatedWithoutReplacement": [');
lines.push(deprecatedOnly.map((e) => JSON.stringify(e)).join(',\n'));
lines.push(']');
lines.push('}');
fs.writeFileSync(outFile, lines.join('\n') + '\n');
console.error(
  `${path.basename(outFile)}: ${removed.length} removed, ${renamed.length} renamed, ${deprecatedOnly.length} deprecated without replacement`,
);
