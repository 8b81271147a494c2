import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { OutputUnit, readTree, syncAll } from '../../lib/synth/write';

const UNITS = 200;
const FILES = 20;

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-write-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Files below the temporary folders of `parent` (what has been written so far). */
function writtenSoFar(parent: string): number {
  let n = 0;
  for (const e of fs.readdirSync(parent)) {
    if (!e.includes('.tmp-')) continue;
    (function walk(d: string) {
      for (const x of fs.readdirSync(d, { withFileTypes: true })) {
        if (x.isDirectory()) walk(path.join(d, x.name));
        else n++;
      }
    })(path.join(parent, e));
  }
  return n;
}

test('units are rendered as the writes go, not all before: a unit is rendered only when few files wait; each is let go once taken', async (t) => {
  const parent = scratch(t);
  const lead: number[] = [];
  const done: string[] = [];
  let rendered = 0;
  const units = (dir: string): OutputUnit[] => Array.from({ length: UNITS }, (_, i) => ({
    name: `u${String(i).padStart(3, '0')}`, hash: 'h',
    tree: () => {
      // files handed out so far (both folders) minus files on disk: what waits or is in flight
      lead.push(rendered - writtenSoFar(parent));
      rendered += FILES;
      return Object.fromEntries(Array.from({ length: FILES }, (_, f) => [`templates/f${f}.yaml`, `${dir} ${i} ${f}\n`]));
    },
  }));
  const [a, b] = await syncAll([{ outDir: path.join(parent, 'a'), units: units('a') }, { outDir: path.join(parent, 'b'), units: units('b') }],
    { prune: true }, (name) => done.push(name));
  assert.equal(a.written.length, UNITS);
  assert.equal(b.written.length, UNITS);
  assert.deepEqual(done, units('x').map((u) => u.name), 'each unit let go once, in order, after both its trees were taken');
  // at most the queue (256 files), one unit's two trees and the 32 writes in flight ahead of the disk
  const bound = 256 + 2 * FILES + 32;
  assert.ok(Math.max(...lead) <= bound, `rendering ran ${Math.max(...lead)} files ahead of the writes (at most ${bound})`);
  assert.equal(readTree(path.join(parent, 'b'))['u199/templates/f19.yaml'], 'b 199 19\n');
  assert.deepEqual(fs.readdirSync(parent).sort(), ['a', 'b'], 'no temporary folder left');
});

test('a unit that fails to render: the error, every folder as it was, no temporary folder left', async (t) => {
  const parent = scratch(t);
  const unit = (name: string, text: string, fail = false): OutputUnit => ({ name, hash: text, tree: () => {
    if (fail) throw new Error(`${name} cannot be rendered`);
    return { 'x.yaml': text };
  } });
  await syncAll([{ outDir: path.join(parent, 'a'), units: [unit('one', '1'), unit('two', '2')] }], { prune: true });
  const before = readTree(path.join(parent, 'a'));
  const many = Array.from({ length: 100 }, (_, i) => unit(`n${i}`, `new ${i}`, i === 60));
  await assert.rejects(syncAll([{ outDir: path.join(parent, 'a'), units: many }, { outDir: path.join(parent, 'b'), units: many }], { prune: true }), /n60 cannot be rendered/);
  assert.deepEqual(readTree(path.join(parent, 'a')), before);
  assert.deepEqual(fs.readdirSync(parent).sort(), ['a'], 'b not created, no temporary folder left');
});
