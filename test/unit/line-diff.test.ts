/**
 * `cdk8s-flink diff`'s hunks: applied to the old text they give the new one, every context and
 * removed line is where the header says, and the edit is as small as GNU diff's.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { lineDiff } from '../../lib/cli/line-diff';

/** Applies lineDiff's hunks to `a`, checking each header against the lines it covers. */
function apply(a: string[], patch: string): string[] {
  const lines = patch === '' ? [] : patch.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let ai = 0;
  let k = 0;
  while (k < lines.length) {
    const m = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[k++]);
    assert.ok(m, `hunk header expected, got ${JSON.stringify(lines[k - 1])}`);
    const [oldStart, oldLines, newStart, newLines] = m.slice(1).map(Number);
    const from = oldLines === 0 ? oldStart : oldStart - 1;
    assert.ok(from >= ai, 'hunks in order, not overlapping');
    out.push(...a.slice(ai, from));
    assert.equal(newLines === 0 ? newStart : newStart - 1, out.length, 'new start matches the lines written so far');
    ai = from;
    let seenOld = 0;
    let seenNew = 0;
    while (k < lines.length && !lines[k].startsWith('@@')) {
      const op = lines[k][0];
      const text = lines[k++].slice(1);
      if (op === ' ' || op === '-') {
        assert.equal(a[ai], text, `old line ${ai + 1}`);
        ai++;
        seenOld++;
      }
      if (op === ' ' || op === '+') {
        out.push(text);
        seenNew++;
      }
      assert.ok(op === ' ' || op === '-' || op === '+', `line op ${op}`);
    }
    assert.deepEqual([seenOld, seenNew], [oldLines, newLines], 'header counts');
  }
  return [...out, ...a.slice(ai)];
}

function changedLines(patch: string): number {
  return patch.split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l)).length;
}

test('diff: hunks apply to the old text to give the new one, as small an edit as GNU diff finds', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'line-diff-'));
  try {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: rnd(25) }, () => `k${rnd(6)}: v`);
      const b = a.filter(() => rnd(4) > 0).map((l) => (rnd(6) === 0 ? `k${rnd(6)}: w` : l));
      for (let i = rnd(4); i > 0; i--) b.splice(rnd(b.length + 1), 0, `new${rnd(3)}`);
      const at = (x: string[]) => x.map((l) => `${l}\n`).join('');
      const patch = lineDiff(at(a), at(b), 3);
      assert.deepEqual(apply(a, patch), b, `round ${round}`);
      fs.writeFileSync(path.join(dir, 'a'), at(a));
      fs.writeFileSync(path.join(dir, 'b'), at(b));
      let gnu = '';
      try {
        execFileSync('diff', ['-U3', path.join(dir, 'a'), path.join(dir, 'b')], { encoding: 'utf8' });
      } catch (e) {
        gnu = (e as { stdout: string }).stdout;
      }
      assert.equal(changedLines(patch), changedLines(gnu), `round ${round}: edit size`);
      if (a.join() === b.join()) assert.equal(patch, '');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('diff: an added or removed file is one hunk from or to nothing; a missing final newline is no change', () => {
  assert.equal(lineDiff('', 'a: 1\nb: 2\n'), '@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  assert.equal(lineDiff('a: 1\nb: 2\n', ''), '@@ -1,2 +0,0 @@\n-a: 1\n-b: 2\n');
  assert.equal(lineDiff('a: 1\nb: 2', 'a: 1\nb: 2\n'), '');
  assert.equal(lineDiff('a\nc\n', 'a\nb\nc\n', 0), '@@ -1,0 +2,1 @@\n+b\n');
});
