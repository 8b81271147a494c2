import * as fs from 'fs';
import * as path from 'path';
import { isEmptyDir, isOwned, markerText, OUTPUT_MARKER } from './output-dir';

/** A folder's new content: relative file path -> text. */
export type Tree = Record<string, string>;

/**
 * Test hook: `CDK8S_FLINK_TEST_CRASH=<point>` kills the process (SIGKILL, no clean-up) at that
 * point of a write, so that tests can show what a crash leaves: `write` (the first file of
 * the new output written, the others not), `swap` (the previous output moved aside, the new one not yet in place) and
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

/** How many files may wait to be written: a unit is rendered when fewer wait, so memory holds a few units' text, not the output's. */
const QUEUED_FILES = 256;

/**
 * Writes each unit's tree into its folder's temporary folder (`dir/<unit>/`), streamed: units
 * are taken in order, one unit's trees (one per output folder where it changed) are rendered,
 * its files queued and written up to 32 at a time through the thread pool, and `done(name)` is
 * called once its trees were taken, so the caller can let go of what it rendered. The next unit is
 * rendered only when the queue runs low. On an error (a unit that fails to render, a failed
 * write) nothing more is started, every write in flight ends, then the error is thrown.
 */
async function writeTrees(targets: readonly { dir: string; units: readonly OutputUnit[] }[], done?: (name: string) => void): Promise<void> {
  const names: string[] = [];
  const byName = new Map<string, { dir: string; u: OutputUnit }[]>();
  for (const t of targets) {
    for (const u of t.units) {
      let list = byName.get(u.name);
      if (!list) byName.set(u.name, (list = []));
      if (list.length === 0) names.push(u.name);
      list.push({ dir: t.dir, u });
    }
  }
  const queue: ([string, string] | undefined)[] = [];
  let head = 0;
  let nextUnit = 0;
  let written = 0;
  let failed = false;
  const refill = () => {
    while (queue.length - head < QUEUED_FILES && nextUnit < names.length) {
      const name = names[nextUnit++];
      for (const { dir, u } of byName.get(name)!) {
        const folders = new Set<string>();
        for (const [rel, content] of Object.entries(u.tree())) {
          const p = path.join(dir, u.name, rel);
          folders.add(path.dirname(p));
          queue.push([p, content]);
        }
        for (const f of [...folders].sort()) fs.mkdirSync(f, { recursive: true });
      }
      byName.delete(name);
      done?.(name);
    }
  };
  const worker = async () => {
    while (!failed) {
      if (head >= queue.length) refill();
      if (head >= queue.length) return;
      const [p, content] = queue[head]!;
      queue[head++] = undefined;
      await fs.promises.writeFile(p, content);
      if (++written === 1 && (written < queue.length || nextUnit < names.length)) crashPoint('write');
    }
  };
  const results = await Promise.allSettled(Array.from({ length: 32 }, async () => {
    try {
      await worker();
    } catch (e) {
      failed = true;
      throw e;
    }
  }));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** At the top of an output folder: what each unit's output was made from (see syncDirs). */
export const STATE_FILE = '.cdk8s-flink-state.json';

/** One subfolder of an output folder: its name, the hash of its inputs, its content (made on demand). */
export interface OutputUnit {
  readonly name: string;
  readonly hash: string;
  /** Recorded with the hash, for the caller (readPreviousUnits). */
  readonly meta?: unknown;
  tree(): Tree;
}

/** What a unit's folder held when written: its input hash and each file's size and mtime. */
interface UnitState {
  readonly hash: string;
  readonly files: Record<string, [number, number]>;
  readonly meta?: unknown;
}

interface State {
  readonly units: Record<string, UnitState>;
}

export interface SyncResult {
  /** Units whose folder was (re)written. */
  readonly written: string[];
  /** Units left as they were. */
  readonly unchanged: string[];
  /** Entries removed from the output folder (a full synthesis's units that no longer exist). */
  readonly removed: string[];
}

/** Every file below `dir`: path relative to it -> [size, mtime]; undefined if something else than files and folders is there. */
function fileStats(dir: string): Record<string, [number, number]> | undefined {
  const out: Record<string, [number, number]> = {};
  let ok = true;
  (function walk(d: string, rel: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}${path.sep}${e.name}`;
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        out[`${rel}${e.name}`] = [st.size, st.mtimeMs];
      } else ok = false;
    }
  })(dir, '');
  return ok ? out : undefined;
}

/** State files parsed, by path: their text and content (an incremental synthesis reads each several times; never modified). */
const parsedStates = new Map<string, { text: string; state: State }>();

function readState(outDir: string): State | undefined {
  try {
    const file = path.join(outDir, STATE_FILE);
    const text = fs.readFileSync(file, 'utf8');
    const cached = parsedStates.get(file);
    if (cached?.text === text) return cached.state;
    const s = JSON.parse(text) as State;
    if (!s || typeof s.units !== 'object') return undefined;
    parsedStates.set(file, { text, state: s });
    return s;
  } catch {
    return undefined;
  }
}

/** The unit's folder is what was recorded for this hash: the same files, sizes and mtimes, nothing more. */
function upToDate(outDir: string, u: OutputUnit, s: UnitState | undefined): boolean {
  if (!s || s.hash !== u.hash) return false;
  let now: Record<string, [number, number]> | undefined;
  try {
    now = fileStats(path.join(outDir, u.name));
  } catch {
    return false;
  }
  if (!now) return false;
  const names = Object.keys(s.files);
  return names.length === Object.keys(now).length && names.every((f) => now![f] && now![f][0] === s.files[f][0] && now![f][1] === s.files[f][1]);
}

/**
 * Brings the subfolders of `outDir` up to date, one per unit, atomically. `outDir` must be
 * absent, empty or owned (it holds the marker that this function writes into it); anything else
 * is refused with an error (callers check first, with a message for the user: see
 * checkOutputDirs).
 *
 * A unit is rewritten when its hash or its folder on disk differs from what the state file
 * recorded when it was written (any edit, removal or addition of a file shows in sizes and
 * mtimes); the others are not touched. With `prune` (a full synthesis), entries of `outDir` that
 * are not units are removed. With `force`, or without a readable state, every unit is written.
 *
 * New content is first written to a temporary folder beside `outDir`, then moved in by rename:
 * a failure or a crash while writing leaves the previous output as it was. A full synthesis
 * without a state (the first, or `force`) swaps the whole folder at once; otherwise each unit's
 * folder is swapped on its own, so a crash during the swaps leaves some units new and some old,
 * each complete, and the next run rewrites the old ones (the state is written last). A crash
 * between the two renames of a swap is undone by the next run.
 */
export async function syncDirs(outDir: string, units: readonly OutputUnit[], opts: { prune: boolean; force?: boolean }): Promise<SyncResult> {
  return (await syncAll([{ outDir, units }], opts))[0];
}

/**
 * syncDirs for several output folders whose units are rendered together (a unit's manifests
 * and its chart): every folder is checked and given its temporary folder first, then each unit
 * is rendered once and written into each folder where it changed (streamed: see writeTrees;
 * `done(name)` is called when a unit's trees were taken), then the folders are swapped in, in
 * order. A failure before the swaps leaves every folder as it was.
 */
export async function syncAll(dirs: readonly { outDir: string; units: readonly OutputUnit[] }[], opts: { prune: boolean; force?: boolean }, done?: (name: string) => void): Promise<SyncResult[]> {
  const pending: Pending[] = [];
  try {
    for (const d of dirs) pending.push(prepare(d.outDir, d.units, opts));
    await writeTrees(pending.map((p) => ({ dir: p.tmp, units: p.changed })), done);
    return pending.map((p) => commit(p, opts));
  } finally {
    for (const p of pending) fs.rmSync(p.tmp, { recursive: true, force: true });
  }
}

/** An output folder being synchronized: what is to be written, and the temporary folder it goes into first. */
interface Pending {
  readonly outDir: string;
  readonly units: readonly OutputUnit[];
  readonly previous: State | undefined;
  /** A full synthesis without a state: the whole folder is swapped at once. */
  readonly whole: boolean;
  readonly changed: readonly OutputUnit[];
  readonly unchanged: string[];
  readonly tmp: string;
}

function prepare(outDir: string, units: readonly OutputUnit[], opts: { prune: boolean; force?: boolean }): Pending {
  outDir = path.resolve(outDir);
  const parent = path.dirname(outDir);
  fs.mkdirSync(parent, { recursive: true });
  recoverStale(outDir);
  if (fs.existsSync(outDir) && !isOwned(outDir) && !isEmptyDir(outDir)) {
    throw new Error(`${outDir} is not empty and holds no ${OUTPUT_MARKER}: refusing to replace what cdk8s-flink did not write`);
  }
  const previous = opts.force ? undefined : readState(outDir);
  const whole = opts.prune && !previous;
  const changed = units.filter((u) => whole || !upToDate(outDir, u, previous?.units[u.name]));
  const changedNames = new Set(changed.map((u) => u.name));
  const unchanged = units.filter((u) => !changedNames.has(u.name)).map((u) => u.name);
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-${process.pid}-`));
  fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), markerText());
  return { outDir, units, previous, whole, changed, unchanged, tmp };
}

/** Moves what was written into `p.tmp` into place, with the new state (see syncDirs). */
function commit(p: Pending, opts: { prune: boolean }): SyncResult {
  const { outDir, units, previous, whole, changed, unchanged, tmp } = p;
  // The new state: a partial synthesis keeps the entries of the units it did not name.
  const next: Record<string, UnitState> = opts.prune ? {} : { ...readState(outDir)?.units };
  const byName = new Map(units.map((u) => [u.name, u]));
  for (const name of unchanged) next[name] = { ...previous!.units[name], meta: byName.get(name)!.meta };
  for (const u of changed) next[u.name] = { hash: u.hash, files: fileStats(path.join(tmp, u.name)) ?? {}, meta: u.meta };
  const state = JSON.stringify({ units: next } satisfies State);
  // What a full synthesis removes: entries that are not units (nor the marker and the state).
  const names = new Set(units.map((u) => u.name));
  const stale = !opts.prune || !fs.existsSync(outDir) ? [] : fs.readdirSync(outDir).filter((e) => !names.has(e) && e !== OUTPUT_MARKER && e !== STATE_FILE);
  if (whole) {
    fs.writeFileSync(path.join(tmp, STATE_FILE), state);
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
    return { written: changed.map((u) => u.name), unchanged, removed: stale };
  }
  fs.mkdirSync(outDir, { recursive: true });
  if (!isOwned(outDir)) fs.copyFileSync(path.join(tmp, OUTPUT_MARKER), path.join(outDir, OUTPUT_MARKER));
  for (const u of changed) {
    const target = path.join(outDir, u.name);
    const old = fs.existsSync(target) ? path.join(tmp, `.old-${u.name}`) : undefined;
    if (old) fs.renameSync(target, old);
    crashPoint('unit-swap');
    try {
      fs.renameSync(path.join(tmp, u.name), target);
    } catch (e) {
      if (old) fs.renameSync(old, target);
      throw e;
    }
  }
  for (const e of stale) fs.renameSync(path.join(outDir, e), path.join(tmp, `.gone-${e}`));
  if (changed.length || stale.length || parsedStates.get(path.join(outDir, STATE_FILE))?.text !== state) {
    fs.writeFileSync(path.join(tmp, STATE_FILE), state);
    fs.renameSync(path.join(tmp, STATE_FILE), path.join(outDir, STATE_FILE));
  }
  return { written: changed.map((u) => u.name), unchanged, removed: stale };
}

/**
 * The units recorded alike in every folder of `dirs` (the same hash; the meta of the first),
 * by name: what an incremental synthesis into them may take as already written. Empty when a
 * folder has no readable state.
 */
export function readPreviousUnits(dirs: readonly string[]): Map<string, { hash: string; meta?: unknown }> {
  const states = dirs.map((d) => readState(path.resolve(d)));
  const out = new Map<string, { hash: string; meta?: unknown }>();
  if (states.some((s) => !s)) return out;
  for (const [name, u] of Object.entries(states[0]!.units)) {
    if (u && typeof u.hash === 'string' && states.every((s) => s!.units[name]?.hash === u.hash)) out.set(name, { hash: u.hash, meta: u.meta });
  }
  return out;
}

/** Writes every folder of `dirs` (subfolder -> content), as a first or forced syncDirs does. */
export async function replaceDirs(outDir: string, dirs: Record<string, Tree>, prune: boolean): Promise<void> {
  await syncDirs(outDir, Object.entries(dirs).map(([name, tree]) => ({ name, hash: '', tree: () => tree })), { prune, force: true });
}

/**
 * Reads every file under `dir` into a Tree (empty when the folder does not exist). The marker
 * and the state file of an output folder (at its top) are not part of the output and are left out.
 */
export function readTree(dir: string): Tree {
  const out: Tree = {};
  if (!fs.existsSync(dir)) return out;
  (function walk(d: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!(d === dir && (e.name === OUTPUT_MARKER || e.name === STATE_FILE))) out[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
    }
  })(dir);
  return out;
}
