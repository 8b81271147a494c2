import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { NODE_COLUMNS, NODE_SECTIONS, nodeSummaryTable, summarizeNode } from '../support/e2e-report';

const E2E = path.join(__dirname, '..', '..', '..', 'test', 'e2e');

test('e2e report: the real-node summary takes each column from its section, marks a step the section lacks as missing, and leaves out sections not recorded', () => {
  const recorded = [
    { section: 'node/access-logs', steps: { installToRunningMs: 57_630, upgradeToRunningMs: 64_498, helmTestPassMs: 3_974 } },
    { section: 'node/storage-s3', restoreMs: { fromCheckpoint: 24_884, fromSavepoint: 55_394 }, steps: { installToRunningMs: 45_662 } },
    { section: 'other/section', steps: { installToRunningMs: 1 } },
  ];
  const rows = summarizeNode(recorded);
  assert.deepEqual(rows.map((r) => r.section), ['node/access-logs', 'node/storage-s3']);
  assert.deepEqual(rows[0].ms, { installToRunning: 57_630, upgradeToRunning: 64_498, rollbackToRunning: null, resumeToRunning: null, taskManagerLossToRunning: null, jobManagerLossToRunning: null, rescaleToRunning: null, helmTest: 3_974 });
  assert.deepEqual(rows[0].missing, ['rollbackToRunning']);
  assert.deepEqual([rows[1].ms.upgradeToRunning, rows[1].ms.taskManagerLossToRunning, rows[1].missing], [55_394, 24_884, []]);
  const table = nodeSummaryTable(rows).trim().split('\n');
  assert.equal(table.length, 4);
  assert.equal(table[2], '| access-logs | 2.2 | 4 | 57.6 | 64.5 | missing | - | - | - | - | 4.0 |');
  assert.equal(table[0].split('|').length - 2, 3 + NODE_COLUMNS.length);
});

test('e2e report: every section and step the summary reads is one a real-node test records', () => {
  const sources = fs.readdirSync(E2E).filter((f) => /^e2e-node.*\.test\.ts$/.test(f)).map((f) => fs.readFileSync(path.join(E2E, f), 'utf8')).join('\n');
  for (const [section, def] of Object.entries(NODE_SECTIONS)) {
    assert.ok(sources.includes(`'${section}'`), `a node test records ${section}`);
    for (const p of Object.values(def.columns)) {
      const key = p!.split('.').pop()!;
      assert.match(sources, new RegExp(`\\b${key}\\b`), `${section}: a node test writes ${key} (${p})`);
    }
  }
});
