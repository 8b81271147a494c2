import * as fs from 'fs';
import * as path from 'path';

/** A folder's new content: relative file path -> text. */
export type Tree = Record<string, string>;

/**
 * Replaces folders under `outDir` atomically. Each entry of `dirs` is one subfolder's
 * complete new content. Everything is first written to a temporary folder beside `outDir`;
 * only when every file is written are the subfolders swapped in by rename, so a failure
 * leaves the previous output as it was. With `prune`, subfolders of `outDir` not in `dirs`
 * are removed (a full synthesis owns the whole folder).
 */
export async function replaceDirs(outDir: string, dirs: Record<string, Tree>, prune: boolean): Promise<void> {
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-`));
  try {
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
    const worker = async () => {
      while (next < writes.length) {
        const [p, content] = writes[next++];
        await fs.promises.writeFile(p, content);
      }
    };
    await Promise.all(Array.from({ length: Math.min(32, writes.length) }, worker));
    if (prune) {
      // Swap the whole folder: rename the old one aside, move the new one in, drop the old.
      const old = fs.existsSync(outDir) ? `${tmp}.old` : undefined;
      if (old) fs.renameSync(outDir, old);
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
    for (const dir of Object.keys(dirs)) {
      const target = path.join(outDir, dir);
      const old = fs.existsSync(target) ? path.join(tmp, `.old-${dir}`) : undefined;
      if (old) fs.renameSync(target, old);
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

/** Reads every file under `dir` into a Tree (empty when the folder does not exist). */
export function readTree(dir: string): Tree {
  const out: Tree = {};
  if (!fs.existsSync(dir)) return out;
  (function walk(d: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
    }
  })(dir);
  return out;
}
