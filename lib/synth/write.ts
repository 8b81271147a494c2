import * as fs from 'fs';
import * as path from 'path';
import { isEmptyDir, isOwned, markerText, OUTPUT_MARKER } from './output-dir';

/** A folder's new content: relative file path -> text. */
export type Tree = Record<string, string>;

/**
 * Test hook: `CDK8S_FLINK_TEST_CRASH=<point>` kills the process (SIGKILL, no clean-up) at that
 * point of a write, so that tests can show what a crash leaves: `write` (half the files
 * written), `swap` (the previous output moved aside, the new one not yet in place) and
 * `unit-swap` (the same for one folder of a partial synthesis).
 */
function crashPoint(point: string): void {
  if (process.env.CDK8S_FLINK_TEST_CRASH === point) process.kill(process.pid, 'SIGKILL');
}

/** A temporary sibling of `outDir`: `.<name>.tmp-<pid>-<random>`; `<that>.old` holds the output it replaces. */
function tempPattern(base: string): RegExp {
  return new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-[A-Za-z0-9]{6}(\\.old)?$`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cleans up after a synthesis into `outDir` that died half-way (its process is gone). Only
 * folders with our temporary naming are touched. When the previous output had been moved aside
 * and the new one was not yet in place, the previous output is moved back; temporary folders
 * that carry the marker are removed; anything else with our naming is removed only if empty.
 */
function recoverStale(outDir: string): void {
  const parent = path.dirname(outDir);
  const re = tempPattern(path.basename(outDir));
  for (const name of fs.readdirSync(parent).sort().reverse()) { // `<tmp>.old` before `<tmp>`
    const m = re.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const p = path.join(parent, name);
    if (!fs.lstatSync(p).isDirectory()) continue;
    if (m[2] && !fs.existsSync(outDir)) {
      fs.renameSync(p, outDir);
      continue;
    }
    if (!m[2] && isOwned(p) && fs.existsSync(outDir)) {
      // A partial synthesis keeps each replaced folder as `.old-<name>` until its new one is in.
      for (const e of fs.readdirSync(p)) {
        const unit = path.join(outDir, e.slice('.old-'.length));
        if (e.startsWith('.old-') && !fs.existsSync(unit)) fs.renameSync(path.join(p, e), unit);
      }
    }
    if (isOwned(p)) fs.rmSync(p, { recursive: true, force: true });
    else if (isEmptyDir(p)) fs.rmdirSync(p);
  }
}

/**
 * Replaces folders under `outDir` atomically. Each entry of `dirs` is one subfolder's
 * complete new content. `outDir` must be absent, empty or owned (it holds the marker that
 * this function writes into it); anything else is refused with an error (callers check first,
 * with a message for the user: see checkOutputDirs). Everything is first written to a
 * temporary folder beside `outDir`; only when every file is written are the subfolders swapped
 * in by rename, so a failure or a crash leaves the previous output as it was (a crash between
 * the two renames of a swap is undone by the next run). With `prune`, subfolders of `outDir`
 * not in `dirs` are removed (a full synthesis owns the whole folder).
 */
export async function replaceDirs(outDir: string, dirs: Record<string, Tree>, prune: boolean): Promise<void> {
  outDir = path.resolve(outDir);
  const parent = path.dirname(outDir);
  fs.mkdirSync(parent, { recursive: true });
  recoverStale(outDir);
  if (fs.existsSync(outDir) && !isOwned(outDir) && !isEmptyDir(outDir)) {
    throw new Error(`${outDir} is not empty and holds no ${OUTPUT_MARKER}: refusing to replace what cdk8s-flink did not write`);
  }
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-${process.pid}-`));
  try {
    fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), markerText());
    // Folders first (synchronously, each once), then the files, many at a time: the writes are
    // independent and the thread pool overlaps them.
    const folders = new Set<string>();
    const writes: [string, string][] = [];
    for (const [dir, tree] of Object.entries(dirs)) {
      for (const [rel, content] of Object.entries(tree)) {
        const p = path.join(tmp, dir, rel);
        folders.add(path.dirname(p));
        writes.push([p, content]);
      }
    }
    for (const f of [...folders].sort()) fs.mkdirSync(f, { recursive: true });
    let next = 0;
    let done = 0;
    const half = Math.floor(writes.length / 2);
    const worker = async () => {
      while (next < writes.length) {
        const [p, content] = writes[next++];
        await fs.promises.writeFile(p, content);
        if (++done === half) crashPoint('write');
      }
    };
    await Promise.all(Array.from({ length: Math.min(32, writes.length) }, worker));
    if (prune) {
      // Swap the whole folder: rename the old one aside, move the new one in, drop the old.
      const old = fs.existsSync(outDir) ? `${tmp}.old` : undefined;
      if (old) fs.renameSync(outDir, old);
      crashPoint('swap');
      try {
        fs.renameSync(tmp, outDir);
      } catch (e) {
        if (old) fs.renameSync(old, outDir);
        throw e;
      }
      if (old) fs.rmSync(old, { recursive: true, force: true });
      return;
    }
    fs.mkdirSync(outDir, { recursive: true });
    if (!isOwned(outDir)) fs.copyFileSync(path.join(tmp, OUTPUT_MARKER), path.join(outDir, OUTPUT_MARKER));
    for (const dir of Object.keys(dirs)) {
      const target = path.join(outDir, dir);
      const old = fs.existsSync(target) ? path.join(tmp, `.old-${dir}`) : undefined;
      if (old) fs.renameSync(target, old);
      crashPoint('unit-swap');
      try {
        fs.renameSync(path.join(tmp, dir), target);
      } catch (e) {
        if (old) fs.renameSync(old, target);
        throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Reads every file under `dir` into a Tree (empty when the folder does not exist). The marker
 * of an output folder (at its top) is not part of the output and is left out.
 */
export function readTree(dir: string): Tree {
  const out: Tree = {};
  if (!fs.existsSync(dir)) return out;
  (function walk(d: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!(d === dir && e.name === OUTPUT_MARKER)) out[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
    }
  })(dir);
  return out;
}
