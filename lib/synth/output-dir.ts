import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ValidationError } from '../errors';
import { PACKAGE_VERSION } from '../version';

/**
 * The file that marks a folder as synthesis output. Synthesis replaces the content of a folder
 * only when it holds this file (a regular file, not a link), or when the folder is empty or
 * absent (it is then created with the file). Anything else is refused: the tool never deletes
 * what it did not write.
 */
export const OUTPUT_MARKER = '.cdk8s-flink-output';

/** The marker's content: what the folder is, for a reader who finds it. */
export function markerText(): string {
  return [
    `# Written by cdk8s-flink ${PACKAGE_VERSION}: this folder is synthesis output, and each`,
    '# "cdk8s-flink synth" replaces its content. Keep files of your own elsewhere.',
    'tool: cdk8s-flink',
    `version: ${PACKAGE_VERSION}`,
    '',
  ].join('\n');
}

/** True when `dir` holds the marker as a regular file. */
export function isOwned(dir: string): boolean {
  try {
    return fs.lstatSync(path.join(dir, OUTPUT_MARKER)).isFile();
  } catch {
    return false;
  }
}

/** True when `dir` is an existing folder with nothing in it. */
export function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

const EXPECTED = `expected an absent or empty folder, or one cdk8s-flink wrote (it holds ${OUTPUT_MARKER})`;

/** `inner` is `outer` or lies below it (both absolute, without links). */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The path with every symbolic link resolved, also when its last parts do not exist yet.
 * Throws when a link on the way points to nothing.
 */
function realPath(p: string): string {
  try {
    fs.lstatSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realPath(parent), path.basename(p));
  }
  return fs.realpathSync(p);
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** An output folder as given on the command line. */
export interface OutputOption {
  /** The option that named it, such as `--out`. */
  readonly option: string;
  readonly value: string;
}

/**
 * Checks one output folder and returns its real path (links resolved), where synthesis
 * writes. Refuses, with a ValidationError naming the option and the value: the filesystem
 * root, the home folder or one of its ancestors, the working directory or one of its
 * ancestors, a file (or a path below one), a non-empty folder without the marker, and a link
 * that leads to any of these or to nothing.
 */
export function checkOutputDir(o: OutputOption, cwd = process.cwd()): string {
  const given = path.resolve(cwd, o.value);
  let real: string;
  try {
    real = realPath(given);
  } catch {
    throw new ValidationError(o.option, o.value, `leads through a symbolic link to a missing path; ${EXPECTED}`);
  }
  const via = real === given ? '' : `(a link to ${JSON.stringify(real)}) `;
  const fail = (what: string) => new ValidationError(o.option, o.value, `${via}${what}; ${EXPECTED}`);
  const here = realOrSelf(cwd);
  const home = realOrSelf(os.homedir());
  if (path.parse(real).root === real) throw fail('is the filesystem root');
  if (real === here) throw fail('is the working directory');
  if (within(here, real)) throw fail('is an ancestor of the working directory');
  if (real === home) throw fail('is the home folder');
  if (within(home, real)) throw fail('is an ancestor of the home folder');
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(real);
  } catch {
    st = undefined;
  }
  if (st === undefined) {
    // Absent: the nearest existing ancestor must be a folder.
    let up = path.dirname(real);
    while (!fs.existsSync(up)) up = path.dirname(up);
    if (!fs.statSync(up).isDirectory()) throw fail(`is below ${JSON.stringify(up)}, which is a file`);
    return real;
  }
  if (!st.isDirectory()) throw fail(st.isFile() ? 'is a file' : 'is not a folder');
  if (!isOwned(real) && !isEmptyDir(real)) {
    throw fail(`is a non-empty folder cdk8s-flink did not write (no ${OUTPUT_MARKER} in it; an older cdk8s-flink's output too: delete that once)`);
  }
  return real;
}

/**
 * Checks every output folder (see `checkOutputDir`) and that no two overlap (the same folder,
 * or one inside the other). Returns their real paths in the order given.
 */
export function checkOutputDirs(outputs: OutputOption[], cwd = process.cwd()): string[] {
  const reals = outputs.map((o) => checkOutputDir(o, cwd));
  for (let i = 0; i < outputs.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [reals[i], reals[j]];
      const other = `${outputs[j].option} (${JSON.stringify(outputs[j].value)})`;
      const what = a === b ? `is the same folder as ${other}` : within(a, b) ? `is inside ${other}` : within(b, a) ? `contains ${other}` : undefined;
      if (what) throw new ValidationError(outputs[i].option, outputs[i].value, `${what}; expected separate folders, neither inside the other`);
    }
  }
  return reals;
}
