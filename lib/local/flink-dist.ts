/**
 * Real Flink distributions and the runtime artifacts of runtime/artifacts.json, for tests.
 *
 * - ensureFlink(version): a FLINK_HOME built from PyPI's `apache-flink-libraries` (lib/, opt/,
 *   plugins/, bin/bash-java-utils.jar) and `apache-flink` (bin/, conf/) packages, downloaded with
 *   pip and cached under cacheDir('flink', version).
 * - ensureRuntimeArtifacts(line): the Maven jars of a line of runtime/artifacts.json (resolved
 *   with mvn into the default local repository ~/.m2 and copied into the cache) plus the
 *   runtime/sql-runner jar, built with mvn and cached by a hash of its sources.
 * - imageLayout(line): what the runtime image adds to the Flink home, as (source -> destination)
 *   entries; the one list that both layoutFlinkHome and the runtime Dockerfiles
 *   (lib/local/image.ts) are made from.
 * - layoutFlinkHome(version, line, dir): a runnable Flink home laid out like the runtime image:
 *   the distribution plus the entries of imageLayout(line) (lib/ and usrlib/ jars, the
 *   prometheus reporter plugin in plugins/metrics-prometheus/, the S3 file system in
 *   plugins/s3-fs-hadoop/, from the distribution's opt/ or, as PyPI's lacks it, its stand-in of
 *   OPT_STAND_INS: the nearest patch release Maven Central serves).
 *
 * Every download happens here; two processes calling these at once are safe (a lock directory,
 * downloads into a temp dir, then rename).
 */
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { cacheDir, withLock } from './cache';

// ---------------------------------------------------------------------------------------------
// runtime/artifacts.json

/** What an entry makes the image serve (lib/runtime-image.ts reads it). */
export interface Serves {
  /** URI schemes of storage */
  schemes?: string[];
  /** table connectors (the SQL 'connector' option) */
  connectors?: string[];
}

export interface MavenArtifact {
  /** groupId:artifactId:version[:classifier] */
  maven: string;
  /** sha256 of the jar, checked after download */
  sha256?: string;
  serves?: Serves;
}
export interface BuildArtifact {
  /** a Maven project directory, relative to the repository root */
  build: string;
  /** the jar it produces (under its build directory) */
  jar: string;
  mainClass?: string;
}
export type RuntimeArtifact = MavenArtifact | BuildArtifact;

export interface PluginEntry {
  /** directory name under plugins/ */
  name: string;
  /** where the jar comes from: "dist" = already in the Flink distribution at distPath */
  from: 'dist';
  distPath: string;
  serves?: Serves;
}

export interface RuntimeLine {
  flinkVersion: string;
  lib: RuntimeArtifact[];
  usrlib: RuntimeArtifact[];
  plugins: PluginEntry[];
  /** what the line cannot serve, and why */
  lacks?: Record<string, string>;
  [k: string]: unknown;
}

export interface ArtifactsFile {
  lines: Record<string, RuntimeLine>;
  [k: string]: unknown;
}

/** The repository root (the directory holding runtime/artifacts.json). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    // (build/ holds a copy of runtime/artifacts.json, which lib/runtime-image.ts imports, but no package.json)
    if (fs.existsSync(path.join(dir, 'runtime', 'artifacts.json')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`runtime/artifacts.json not found above ${__dirname}`);
}

export function readArtifacts(): ArtifactsFile {
  const file = path.join(repoRoot(), 'runtime', 'artifacts.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ArtifactsFile;
}

/** The line of runtime/artifacts.json, e.g. "1.20" or "2.2". */
export function runtimeLine(line: string): RuntimeLine {
  const all = readArtifacts().lines;
  const l = all[line];
  if (!l) throw new Error(`runtime/artifacts.json has no line '${line}' (has: ${Object.keys(all).join(', ')})`);
  return l;
}

/** The line whose key is a prefix of the Flink version: "1.20.5" -> "1.20". */
export function lineForVersion(version: string): string {
  const keys = Object.keys(readArtifacts().lines).sort((a, b) => b.length - a.length);
  const k = keys.find((key) => version === key || version.startsWith(key + '.'));
  if (!k) throw new Error(`no line in runtime/artifacts.json for Flink ${version} (lines: ${keys.join(', ')})`);
  return k;
}

// ---------------------------------------------------------------------------------------------
// the image layout: one list for the local Flink home and the runtime Dockerfiles

/** A jar from Maven Central. */
export interface MavenLayoutEntry {
  readonly kind: 'maven';
  /** groupId:artifactId:version[:classifier] */
  readonly coords: string;
  /** sha256 of the jar (from runtime/artifacts.json) */
  readonly sha256?: string;
  /** where Maven Central serves the jar */
  readonly url: string;
  /** destination, relative to the Flink home, e.g. "lib/kafka-clients-3.4.0.jar" */
  readonly dest: string;
}

/** A jar built from a Maven project of this repository. */
export interface BuildLayoutEntry {
  readonly kind: 'build';
  /** the project directory, relative to the repository root, e.g. "runtime/sql-runner" */
  readonly project: string;
  /** the jar the project's `mvn package` writes into its build directory */
  readonly jar: string;
  readonly mainClass?: string;
  readonly dest: string;
}

/** A plugin jar the Flink distribution (and the official image) already carries. */
export interface PluginLayoutEntry {
  readonly kind: 'plugin';
  readonly name: string;
  /** where the jar is in the distribution, relative to the Flink home */
  readonly source: string;
  /** where Flink's plugin manager loads it: plugins/<name>/<jar> */
  readonly dest: string;
}

export type LayoutEntry = MavenLayoutEntry | BuildLayoutEntry | PluginLayoutEntry;

const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

/** The Maven Central URL of a jar. */
export function mavenCentralUrl(coords: string): string {
  const { g, a, v } = parseCoords(coords);
  return `${MAVEN_CENTRAL}/${g.split('.').join('/')}/${a}/${v}/${mavenJarName(coords)}`;
}

/**
 * What the runtime image adds to the official Flink image for a line of runtime/artifacts.json,
 * in order: lib/ jars, usrlib/ jars, then plugins. `flinkVersion` (default: the line's) fills
 * `${flinkVersion}` in plugin paths. layoutFlinkHome and the runtime Dockerfiles are both made
 * from this list.
 */
export function imageLayout(line: string, flinkVersion?: string): LayoutEntry[] {
  const l = runtimeLine(line);
  const version = flinkVersion ?? l.flinkVersion;
  const out: LayoutEntry[] = [];
  const where = (list: string, i: number) => `runtime/artifacts.json lines.${line}.${list}[${i}]`;
  for (const list of ['lib', 'usrlib'] as const) {
    (l[list] ?? []).forEach((a, i) => {
      if (isMaven(a)) {
        out.push({ kind: 'maven', coords: a.maven, ...(a.sha256 ? { sha256: a.sha256 } : {}), url: mavenCentralUrl(a.maven), dest: `${list}/${mavenJarName(a.maven)}` });
      } else if (typeof (a as BuildArtifact).build === 'string' && typeof (a as BuildArtifact).jar === 'string') {
        const b = a as BuildArtifact;
        if (b.jar.includes('/')) throw new Error(`${where(list, i)}.jar: '${b.jar}' is a path; expected a file name`);
        out.push({ kind: 'build', project: b.build, jar: b.jar, ...(b.mainClass ? { mainClass: b.mainClass } : {}), dest: `${list}/${b.jar}` });
      } else {
        throw new Error(`${where(list, i)}: ${JSON.stringify(a)} is neither {maven, sha256} nor {build, jar}`);
      }
    });
  }
  (l.plugins ?? []).forEach((p, i) => {
    if (p.from !== 'dist') throw new Error(`${where('plugins', i)}.from: '${p.from}' is unknown; expected 'dist'`);
    const source = p.distPath.replace(/\$\{flinkVersion\}/g, version);
    out.push({ kind: 'plugin', name: p.name, source, dest: `plugins/${p.name}/${path.posix.basename(source)}` });
  });
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.dest)) throw new Error(`runtime/artifacts.json lines.${line}: two entries write ${e.dest}`);
    seen.add(e.dest);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// small helpers

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell), bounded in time; rejects with its output on failure. */
export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? 10 * 60_000;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-60).join('\n');
        const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed ? `killed after ${timeout} ms` : err.message.split('\n')[0];
        reject(new Error(`${cmd} ${args.join(' ')} failed (${why}):\n${out}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}



export { withLock };

function tmpSibling(dir: string): string {
  return path.join(path.dirname(dir), `.tmp-${path.basename(dir)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

/** Moves a finished temp dir into place; if another process won the race, keeps theirs. */
function publish(tmp: string, final: string): void {
  try {
    fs.renameSync(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(final)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      return;
    }
    throw e;
  }
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file) as unknown as Uint8Array).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Flink distribution from PyPI

/** The Python interpreter that runs pip (and the Python servers of the tests). */
export const PYTHON = process.env.CDK8S_FLINK_PYTHON ?? 'python3';
const DIST_MARKER = '.cdk8s-flink-dist.json';

// Extracts the parts of a FLINK_HOME from the two PyPI packages:
//  apache-flink-libraries: sdist (1.x: <name>/deps/{lib,opt,plugins,bin}/...) or
//                          wheel (2.x: pyflink/{lib,opt,plugins,bin}/...)
//  apache-flink wheel:     pyflink/{bin,conf}/...
const EXTRACT_PY = String.raw`
import sys, os, re, tarfile, zipfile, stat
archive, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
pat = re.compile(r'^(?:[^/]+/deps|pyflink|deps)/(' + '|'.join(wanted) + r')/(.+)$')
n = 0
def out_path(name):
    m = pat.match(name)
    if not m or m.group(2).endswith('/') or '..' in m.group(2).split('/'):
        return None
    return os.path.join(dest, m.group(1), m.group(2))
if archive.endswith('.whl') or archive.endswith('.zip'):
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            p = out_path(info.filename)
            if p is None or info.is_dir(): continue
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with z.open(info) as src, open(p, 'wb') as dst:
                dst.write(src.read())
            n += 1
else:
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            p = out_path(m.name)
            if p is None or not m.isfile(): continue
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with t.extractfile(m) as src, open(p, 'wb') as dst:
                dst.write(src.read())
            n += 1
print(n)
`;

async function pipDownload(spec: string, dest: string, extra: string[]): Promise<string> {
  fs.mkdirSync(dest, { recursive: true });
  await run(PYTHON, ['-m', 'pip', 'download', '--no-deps', '--no-cache-dir', '--disable-pip-version-check', '--no-input', '--quiet', '-d', dest, ...extra, spec], {
    timeoutMs: 15 * 60_000,
  });
  const files = fs.readdirSync(dest).filter((f) => /\.(whl|tar\.gz|zip)$/.test(f));
  if (files.length !== 1) throw new Error(`pip download ${spec}: expected one file in ${dest}, found ${files.join(', ') || 'none'}`);
  return path.join(dest, files[0]);
}

async function downloadBinaryWheel(pkg: string, version: string, dest: string): Promise<string> {
  // The apache-flink wheel is platform specific only because of its Cython parts; bin/ and conf/
  // are the same in all of them. Ask for a fixed platform so the local Python does not matter.
  const errors: string[] = [];
  for (const py of ['3.11', '3.10', '3.12', '3.9']) {
    const d = path.join(dest, `py${py}`);
    try {
      return await pipDownload(`${pkg}==${version}`, d, ['--only-binary=:all:', '--platform', 'manylinux2014_x86_64', '--python-version', py, '--implementation', 'cp']);
    } catch (e) {
      errors.push((e as Error).message.split('\n').slice(-3).join(' '));
    }
  }
  throw new Error(`could not download a wheel of ${pkg}==${version}:\n${errors.join('\n')}`);
}

function chmodExecutables(home: string): void {
  const bin = path.join(home, 'bin');
  for (const f of fs.readdirSync(bin)) {
    if (f.endsWith('.sh') || f === 'flink') fs.chmodSync(path.join(bin, f), 0o755);
  }
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.sh')) fs.chmodSync(p, 0o755);
    }
  };
  walk(path.join(home, 'plugins'));
}

/** Where ensureFlink(version) puts the Flink home. */
export function flinkHomePath(version: string): string {
  return path.join(cacheDir('flink', version), `flink-${version}`);
}

/**
 * A FLINK_HOME for the given Flink version (e.g. "1.20.5", "2.2.1"), cached under
 * cacheDir('flink', version). Downloads from PyPI with pip on first use.
 */
export async function ensureFlink(version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`ensureFlink: expected a version like 1.20.5, got '${version}'`);
  const home = flinkHomePath(version);
  if (fs.existsSync(path.join(home, DIST_MARKER))) return home;
  return withLock(`flink-${version}`, 30 * 60_000, async () => {
    if (fs.existsSync(path.join(home, DIST_MARKER))) return home;
    const started = Date.now();
    const tmp = tmpSibling(home);
    const dl = path.join(tmp, '.download');
    try {
      const libs = await pipDownload(`apache-flink-libraries==${version}`, path.join(dl, 'libraries'), []);
      const wheel = await downloadBinaryWheel('apache-flink', version, path.join(dl, 'pyflink'));
      const h = path.join(tmp, 'home');
      await run(PYTHON, ['-c', EXTRACT_PY, libs, h, 'lib,opt,plugins,bin'], { timeoutMs: 10 * 60_000 });
      await run(PYTHON, ['-c', EXTRACT_PY, wheel, h, 'bin,conf'], { timeoutMs: 5 * 60_000 });
      fs.mkdirSync(path.join(h, 'log'), { recursive: true });
      fs.mkdirSync(path.join(h, 'usrlib'), { recursive: true });
      chmodExecutables(h);
      const must = [
        `lib/flink-dist-${version}.jar`,
        'bin/config.sh',
        'bin/jobmanager.sh',
        'bin/standalone-job.sh',
        'bin/taskmanager.sh',
        'bin/bash-java-utils.jar',
        'conf/config.yaml',
        `plugins/metrics-prometheus/flink-metrics-prometheus-${version}.jar`,
      ];
      const missing = must.filter((m) => !fs.existsSync(path.join(h, m)));
      if (missing.length) throw new Error(`Flink ${version} from PyPI lacks ${missing.join(', ')}`);
      const layout: Record<string, string[]> = {};
      for (const d of ['lib', 'opt', 'plugins']) layout[d] = listFiles(path.join(h, d)).map((f) => path.relative(h, f));
      fs.writeFileSync(
        path.join(h, DIST_MARKER),
        JSON.stringify({ version, source: { pypi: [path.basename(libs), path.basename(wheel)] }, createdMs: Date.now() - started, layout }, null, 2),
      );
      fs.rmSync(dl, { recursive: true, force: true });
      publish(h, home);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return home;
  });
}

/**
 * A Python interpreter with PyPI's `apache-flink` of `version` and its dependencies (Apache
 * Beam, pemja, py4j, ...), what an image for `JobSource.python` carries: a virtual environment
 * under cacheDir('pyflink', version), made once (pip, about 1-4 minutes) and kept. Returns the
 * interpreter's path.
 */
export async function ensurePyFlink(version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`ensurePyFlink: expected a version like 2.2.1, got '${version}'`);
  const dir = cacheDir('pyflink', version);
  const python = path.join(dir, 'bin', 'python');
  const marker = path.join(dir, '.cdk8s-flink-pyflink.json');
  if (fs.existsSync(marker)) return python;
  return withLock(`pyflink-${version}`, 30 * 60_000, async () => {
    if (fs.existsSync(marker)) return python;
    // A virtual environment records its own path: made where it stays, finished by the marker.
    fs.rmSync(dir, { recursive: true, force: true });
    const started = Date.now();
    await run(PYTHON, ['-m', 'venv', dir], { timeoutMs: 5 * 60_000 });
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', `apache-flink==${version}`], { timeoutMs: 20 * 60_000 });
    const check = await run(python, ['-c', 'import pyflink.version, apache_beam; print(pyflink.version.__version__)'], { timeoutMs: 120_000 });
    if (check.stdout.trim() !== version) throw new Error(`pyflink in ${dir} is ${check.stdout.trim()}, not ${version}`);
    fs.writeFileSync(marker, JSON.stringify({ version, createdMs: Date.now() - started }) + '\n');
    return python;
  });
}

/**
 * Adds Flink's Python jar (`opt/flink-python-<version>.jar`, which the official image carries
 * and PythonDriver is found in) to a home laid out by layoutFlinkHome: PyPI ships it in the
 * apache-flink package, which ensurePyFlink installs, not with the distribution's other opt/
 * jars. The home's opt/ becomes a folder of links. Returns the jar's path in the home.
 */
export async function addPythonJar(home: string, version: string): Promise<string> {
  const python = await ensurePyFlink(version);
  const site = await run(python, ['-c', 'import os, pyflink; print(os.path.dirname(pyflink.__file__))'], { timeoutMs: 120_000 });
  const jar = path.join(site.stdout.trim(), 'opt', `flink-python-${version}.jar`);
  if (!fs.existsSync(jar)) throw new Error(`apache-flink ${version} has no ${jar}`);
  const opt = path.join(home, 'opt');
  const dist = fs.realpathSync(opt);
  if (fs.lstatSync(opt).isSymbolicLink()) {
    fs.unlinkSync(opt);
    fs.mkdirSync(opt);
    for (const f of fs.readdirSync(dist)) fs.symlinkSync(path.join(dist, f), path.join(opt, f));
  }
  const dest = path.join(opt, path.basename(jar));
  fs.rmSync(dest, { force: true });
  fs.symlinkSync(jar, dest);
  return dest;
}

/**
 * The JVM flags the distribution's own conf/config.yaml sets in env.java.opts.all: the
 * --add-opens/--add-exports list Flink needs on Java 17 (without it Flink 2.x fails at job
 * submission with InaccessibleObjectException). A hand-written config.yaml must carry them, as
 * env.java.opts.all or env.java.default-opts.all (both read by bin/config.sh in 1.20 and 2.x).
 */
export function distJavaOpts(flinkHome: string): string {
  const doc = parseYaml(fs.readFileSync(path.join(flinkHome, 'conf', 'config.yaml'), 'utf8')) as Record<string, any>;
  const v = doc?.env?.java?.opts?.all ?? doc?.['env.java.opts.all'];
  if (typeof v !== 'string' || !v.includes('--add-opens')) throw new Error(`no env.java.opts.all in ${flinkHome}/conf/config.yaml`);
  return v.trim();
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// Maven

const MVN = process.env.CDK8S_FLINK_MVN ?? 'mvn';
const DEP_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';

export interface MavenResolveOptions {
  /** groupId:artifactId:version[:classifier] */
  artifacts: string[];
  /** also copy the runtime dependencies of the artifacts (default false: exactly these jars) */
  transitive?: boolean;
  /** directory that receives the jars (created) */
  dest: string;
  timeoutMs?: number;
}

function parseCoords(c: string): { g: string; a: string; v: string; classifier?: string } {
  const parts = c.split(':');
  if (parts.length < 3 || parts.length > 4 || parts.some((p) => !p)) throw new Error(`bad Maven coordinates '${c}' (want group:artifact:version[:classifier])`);
  return { g: parts[0], a: parts[1], v: parts[2], classifier: parts[3] };
}

/** The file name dependency:copy-dependencies gives a jar. */
export function mavenJarName(coords: string): string {
  const { a, v, classifier } = parseCoords(coords);
  return `${a}-${v}${classifier ? `-${classifier}` : ''}.jar`;
}

/**
 * Resolves jars with mvn (local repository: the default ~/.m2, or whatever the user's Maven
 * settings say) and copies them into dest. Returns the absolute paths of the copied jars.
 */
export async function mavenResolve(opts: MavenResolveOptions): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-mvn-'));
  try {
    const deps = opts.artifacts
      .map((c) => {
        const { g, a, v, classifier } = parseCoords(c);
        const excl = opts.transitive ? '' : '<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>';
        return `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${classifier ? `<classifier>${classifier}</classifier>` : ''}${excl}</dependency>`;
      })
      .join('\n    ');
    fs.writeFileSync(
      path.join(work, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>cdk8s-flink.test</groupId><artifactId>resolve</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>
    ${deps}
  </dependencies>
</project>
`,
    );
    const out = path.join(work, 'out');
    await run(MVN, ['-B', '-ntp', '-q', '-f', path.join(work, 'pom.xml'), `${DEP_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${out}`, '-DincludeScope=runtime'], {
      timeoutMs: opts.timeoutMs ?? 15 * 60_000,
    });
    fs.mkdirSync(opts.dest, { recursive: true });
    const copied: string[] = [];
    for (const f of fs.readdirSync(out).sort()) {
      const to = path.join(opts.dest, f);
      fs.copyFileSync(path.join(out, f), to);
      copied.push(to);
    }
    return copied;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * cacheDir(name, version)/<folder>, filled by `fill` into a temp sibling and moved into place on
 * first use; safe when two processes ask at once. Returns the folder.
 */
async function ensureCachedFolder(name: string, version: string, folder: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  const dir = path.join(cacheDir(name, version), folder);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  return withLock(`${name}-${version}`, 20 * 60_000, async () => {
    if (fs.existsSync(marker)) return dir;
    const tmp = tmpSibling(dir);
    try {
      await fill(tmp);
      fs.writeFileSync(path.join(tmp, '.complete'), '');
      fs.rmSync(dir, { recursive: true, force: true });
      publish(tmp, dir);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return dir;
  });
}

/**
 * A classpath directory of Maven jars with their runtime dependencies (the jars of a server the
 * tests run, e.g. Kafka or HDFS), resolved with mvn on first use into cacheDir(name, version)/libs;
 * safe when two processes ask at once. Returns the directory.
 */
export function ensureMavenLibs(name: string, version: string, artifacts: string[]): Promise<string> {
  return ensureCachedFolder(name, version, 'libs', (tmp) => mavenResolve({ artifacts, transitive: true, dest: tmp }).then(() => undefined));
}

/**
 * A folder of Python packages installed from PyPI with `pip install --target` (a server the tests
 * run, e.g. moto's S3-compatible server), into cacheDir(name, version)/site on first use; safe
 * when two processes ask at once. Put the folder on PYTHONPATH to use it. Returns the folder.
 */
export function ensurePipPackages(name: string, version: string, requirements: string[]): Promise<string> {
  // --target installs every dependency into the folder, whatever the interpreter already has.
  return ensureCachedFolder(name, version, 'site', (tmp) => run(PYTHON, ['-m', 'pip', 'install', '--no-cache-dir', '--disable-pip-version-check', '--no-input',
    '--quiet', '--no-warn-conflicts', '--no-warn-script-location', '--target', tmp, ...requirements], { timeoutMs: 15 * 60_000 }).then(() => undefined));
}

// ---------------------------------------------------------------------------------------------
// runtime artifacts

function isMaven(a: RuntimeArtifact): a is MavenArtifact {
  return typeof (a as MavenArtifact).maven === 'string';
}

/** sha256 over a Maven project's pom.xml and src/ tree. */
export function sourceHash(projectDir: string): string {
  const h = crypto.createHash('sha256');
  const files = [path.join(projectDir, 'pom.xml'), ...listFiles(path.join(projectDir, 'src'))];
  for (const f of files) {
    h.update(path.relative(projectDir, f).split(path.sep).join('/'));
    h.update('\0');
    h.update(fs.readFileSync(f) as unknown as Uint8Array);
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * Builds a Maven project of the repository (e.g. runtime/sql-runner) with `mvn package` (which
 * runs its unit tests), into the cache, keyed by a hash of its sources. Returns the jar's path.
 */
export async function ensureBuiltJar(a: BuildArtifact): Promise<string> {
  const projectDir = path.join(repoRoot(), a.build);
  if (!fs.existsSync(path.join(projectDir, 'pom.xml'))) throw new Error(`no Maven project at ${projectDir}`);
  const hash = sourceHash(projectDir).slice(0, 20);
  const dir = path.join(cacheDir('build', path.basename(a.build)), hash);
  const jar = path.join(dir, a.jar);
  if (fs.existsSync(jar)) return jar;
  return withLock(`build-${path.basename(a.build)}-${hash}`, 20 * 60_000, async () => {
    if (fs.existsSync(jar)) return jar;
    const tmp = tmpSibling(dir);
    try {
      const buildDir = path.join(tmp, 'target');
      await run(MVN, ['-B', '-ntp', '-q', '-f', path.join(projectDir, 'pom.xml'), 'package', `-Drunner.build.dir=${buildDir}`], { timeoutMs: 15 * 60_000 });
      const built = path.join(buildDir, a.jar);
      if (!fs.existsSync(built)) throw new Error(`mvn package in ${projectDir} did not produce ${a.jar}`);
      const out = path.join(tmp, 'out');
      fs.mkdirSync(out);
      fs.copyFileSync(built, path.join(out, a.jar));
      publish(out, dir);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return jar;
  });
}

async function ensureMavenJars(line: string, kind: string, artifacts: MavenArtifact[]): Promise<string[]> {
  if (artifacts.length === 0) return [];
  const key = crypto.createHash('sha256').update(artifacts.map((a) => a.maven).join('\n')).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir('runtime-artifacts', line), `${kind}-${key}`);
  const expected = artifacts.map((a) => path.join(dir, mavenJarName(a.maven)));
  const verify = () => {
    for (const [i, a] of artifacts.entries()) {
      if (a.sha256) {
        const got = sha256File(expected[i]);
        if (got !== a.sha256) throw new Error(`${a.maven}: sha256 ${got} does not match runtime/artifacts.json (${a.sha256})`);
      }
    }
    return expected;
  };
  if (expected.every((f) => fs.existsSync(f))) return verify();
  return withLock(`runtime-${line}-${kind}-${key}`, 20 * 60_000, async () => {
    if (expected.every((f) => fs.existsSync(f))) return verify();
    const tmp = tmpSibling(dir);
    try {
      await mavenResolve({ artifacts: artifacts.map((a) => a.maven), transitive: false, dest: tmp });
      const missing = artifacts.filter((a) => !fs.existsSync(path.join(tmp, mavenJarName(a.maven))));
      if (missing.length) throw new Error(`mvn did not deliver ${missing.map((a) => a.maven).join(', ')}`);
      fs.rmSync(dir, { recursive: true, force: true });
      publish(tmp, dir);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return verify();
  });
}

/** The local file of every maven and build entry (downloaded or built on first use), by dest. */
async function resolveLayout(line: string, entries: LayoutEntry[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  // Maven jars in one batch per destination folder (the cache key of ensureMavenJars).
  const groups = new Map<string, MavenLayoutEntry[]>();
  for (const e of entries) {
    if (e.kind !== 'maven') continue;
    const folder = e.dest.split('/')[0];
    groups.set(folder, [...(groups.get(folder) ?? []), e]);
  }
  for (const [folder, list] of groups) {
    const jars = await ensureMavenJars(line, folder, list.map((e) => ({ maven: e.coords, sha256: e.sha256 })));
    list.forEach((e, i) => files.set(e.dest, jars[i]));
  }
  for (const e of entries) {
    if (e.kind === 'build') files.set(e.dest, await ensureBuiltJar({ build: e.project, jar: e.jar, mainClass: e.mainClass }));
  }
  return files;
}

/**
 * The jars that the runtime image adds to lib/ and usrlib/ for a line of runtime/artifacts.json,
 * as absolute paths (downloaded/built on first use).
 */
export async function ensureRuntimeArtifacts(line: string): Promise<{ lib: string[]; usrlib: string[] }> {
  const entries = imageLayout(line);
  const files = await resolveLayout(line, entries);
  const under = (folder: string) => entries.filter((e) => e.kind !== 'plugin' && e.dest.startsWith(`${folder}/`)).map((e) => files.get(e.dest)!);
  return { lib: under('lib'), usrlib: under('usrlib') };
}

// ---------------------------------------------------------------------------------------------
// opt/ jars that PyPI's distribution leaves out

/**
 * The jars of the official distribution's opt/ that the runtime image uses and that PyPI's
 * `apache-flink-libraries` leaves out, by their path in the distribution. Maven Central (as this
 * machine reaches it) does not serve them at the exact Flink versions, so each is the nearest
 * patch release it serves, pinned by sha256 and placed under the official file name: a stand-in
 * difference (same minor release, other patch level) that every user of ensureOptJar inherits.
 */
export const OPT_STAND_INS: Readonly<Record<string, { readonly maven: string; readonly sha256: string }>> = {
  'opt/flink-s3-fs-hadoop-2.2.1.jar': { maven: 'org.apache.flink:flink-s3-fs-hadoop:2.2.0', sha256: 'fe14908b4d04c2fb199bf5c9dddfa80fd6b64d7a6decb3cc8826e644c5449262' },
  'opt/flink-s3-fs-hadoop-1.20.5.jar': { maven: 'org.apache.flink:flink-s3-fs-hadoop:1.20.1', sha256: '4dabe5d51519984f88d677c477b99c5e18cec924af2e41816da67df527a5c679' },
};

/**
 * A jar of opt/ for the Flink distribution of `version`: the distribution's own when it has it,
 * otherwise its stand-in of OPT_STAND_INS (resolved with mvn into cacheDir('flink', version,
 * 'opt') under the official name, its sha256 checked). Throws when there is neither.
 */
export async function ensureOptJar(version: string, distPath: string): Promise<string> {
  const own = path.join(await ensureFlink(version), ...distPath.split('/'));
  if (fs.existsSync(own)) return own;
  const standIn = OPT_STAND_INS[distPath];
  if (!standIn) throw new Error(`${distPath} is not in the PyPI distribution of Flink ${version}, and OPT_STAND_INS has no stand-in for it`);
  const file = path.join(cacheDir('flink', version, 'opt'), path.posix.basename(distPath));
  if (fs.existsSync(file) && sha256File(file) === standIn.sha256) return file;
  return withLock(`flink-${version}-opt`, 15 * 60_000, async () => {
    if (fs.existsSync(file) && sha256File(file) === standIn.sha256) return file;
    const tmp = tmpSibling(file);
    try {
      const [jar] = await mavenResolve({ artifacts: [standIn.maven], dest: tmp });
      const got = sha256File(jar);
      if (got !== standIn.sha256) throw new Error(`${standIn.maven} (stand-in for ${distPath}) has sha256 ${got}; expected ${standIn.sha256}`);
      fs.renameSync(jar, file);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return file;
  });
}

// ---------------------------------------------------------------------------------------------
// layout

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, dereference: true, preserveTimestamps: true });
}

/**
 * Lays out a runnable Flink home in dir, as the runtime Dockerfile does on top of the official
 * image: the distribution of `version` (lib/ jars and opt/ as symlinks into the cache, bin/,
 * conf/ and plugins/ copied) plus every entry of imageLayout(line): Maven and built jars copied
 * to their destination (lib/, usrlib/), plugins of the distribution made sure of under
 * plugins/<name>/. The prometheus reporter is such a plugin; it is switched on by the
 * metrics.reporter.prom.* keys of config.yaml. Returns dir.
 */
export async function layoutFlinkHome(version: string, line: string, dir: string): Promise<string> {
  const dist = await ensureFlink(version);
  const entries = imageLayout(line, version);
  const files = await resolveLayout(line, entries);
  dir = path.resolve(dir);
  fs.mkdirSync(dir, { recursive: true });
  for (const d of ['bin', 'conf', 'lib', 'opt', 'plugins', 'usrlib', 'log']) fs.rmSync(path.join(dir, d), { recursive: true, force: true });

  // bin/ is copied, not linked: config.sh derives FLINK_HOME from the script's real location.
  copyDir(path.join(dist, 'bin'), path.join(dir, 'bin'));
  copyDir(path.join(dist, 'conf'), path.join(dir, 'conf'));
  copyDir(path.join(dist, 'plugins'), path.join(dir, 'plugins'));
  fs.symlinkSync(path.join(dist, 'opt'), path.join(dir, 'opt'));
  fs.mkdirSync(path.join(dir, 'log'));
  fs.mkdirSync(path.join(dir, 'usrlib'));
  const lib = path.join(dir, 'lib');
  fs.mkdirSync(lib);
  for (const f of fs.readdirSync(path.join(dist, 'lib'))) fs.symlinkSync(path.join(dist, 'lib', f), path.join(lib, f));

  const standIns: { dest: string; maven: string }[] = [];
  for (const e of entries) {
    const to = path.join(dir, ...e.dest.split('/'));
    if (e.kind === 'plugin') {
      let src = path.join(dist, ...e.source.split('/'));
      if (!fs.existsSync(src) && e.source.startsWith('opt/')) {
        // PyPI's apache-flink-libraries leaves out the optional file systems of opt/ that the
        // official image carries: the nearest patch release Maven Central serves stands in.
        src = await ensureOptJar(version, e.source);
        standIns.push({ dest: e.dest, maven: OPT_STAND_INS[e.source].maven });
      }
      if (!fs.existsSync(src)) throw new Error(`plugin ${e.name}: ${e.source} is not in the Flink ${version} distribution`);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      if (!fs.existsSync(to)) fs.copyFileSync(src, to);
    } else {
      if (fs.existsSync(to)) throw new Error(`${e.dest} is already in the Flink ${version} distribution`);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(files.get(e.dest)!, to);
    }
  }
  if (!fs.readdirSync(path.join(dir, 'plugins', 'metrics-prometheus')).some((f) => f.endsWith('.jar'))) {
    throw new Error('plugins/metrics-prometheus has no jar');
  }
  const local = (folder: string) => entries.filter((e) => e.kind !== 'plugin' && e.dest.startsWith(`${folder}/`)).map((e) => files.get(e.dest)!);
  fs.writeFileSync(
    path.join(dir, '.cdk8s-flink-layout.json'),
    JSON.stringify({ flinkVersion: version, line, dist, lib: local('lib'), usrlib: local('usrlib'), entries, standIns }, null, 2),
  );
  return dir;
}
