/**
 * The library's modules import each other without cycles: the import graph of lib/ (imports
 * that exist at run time; `import type` is erased) has no strongly connected component of more
 * than one file. Read from the sources alone.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';

const LIB = path.join(__dirname, '..', '..', '..', 'lib');

/** Every .ts file of lib/ (the generated imports aside) with the lib files it imports at run time. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  (function walk(dir: string) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'imports') walk(p); } else if (p.endsWith('.ts')) files.push(p);
    }
  })(LIB);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
      if (m[1]) continue;
      const base = path.resolve(path.dirname(f), m[2]);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((x) => fs.existsSync(x));
      if (target) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** The cycles of a graph: its strongly connected components of more than one node (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('layers: the cycle finder finds a cycle and only a cycle', () => {
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])).map((c) => c.sort()), [['a', 'b', 'c']]);
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', []]])), []);
});

test('layers: no module of lib/ imports itself through others at run time', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `read ${graph.size} modules`);
  const found = cycles(graph).map((c) => c.map((f) => path.relative(LIB, f)).sort().join(' -> '));
  assert.deepEqual(found, []);
});
