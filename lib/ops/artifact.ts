import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { inflateRawSync } from 'zlib';
import { redactUrl } from '../errors';
import { OpsError } from './errors';
import { getS3Object, resolveS3Keys, S3Access } from './s3';

/** Redirects an https fetch follows (each to https only). */
const MAX_REDIRECTS = 5;

/**
 * GETs an https URL, following redirects to https URLs only (a redirect to plain http would
 * let anyone on the path swap the jar). Returns the final response; refuses any other status
 * than 200.
 */
async function getHttps(url: string, signal: AbortSignal): Promise<Response> {
  let at = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (!/^https:\/\//i.test(at)) throw new OpsError(`${redactUrl(url)}: ${hop ? `redirected to ${redactUrl(at)}, which is not https` : 'is not an https URL'}; expected https://`);
    let res: Response;
    try {
      res = await fetch(at, { redirect: 'manual', signal });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new OpsError(`GET ${redactUrl(at)} failed: ${cause}`);
    }
    const next = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && next) {
      await res.body?.cancel();
      at = new URL(next, at).toString();
      continue;
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new OpsError(`GET ${redactUrl(at)} answered ${res.status}; expected 200 with the jar`);
    }
    return res;
  }
  throw new OpsError(`${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
}

/** Opens a jar: `s3://bucket/key` signed with the environment's S3 credentials (keys or a web identity), else an https URL. */
async function openJar(url: string, s3: S3Access | undefined, signal: AbortSignal): Promise<Response> {
  if (/^s3:\/\//i.test(url)) return getS3Object(url, s3 ?? {}, await resolveS3Keys(url, process.env, signal), signal);
  return getHttps(url, signal);
}

/** Refuses `actual` when `expected` (lower-case hex) is set and differs. */
function checkDigest(what: string, actual: string, expected?: string): void {
  if (expected && actual !== expected) {
    throw new OpsError(`${what}: sha256 ${actual} does not match the expected ${expected}; refusing the jar`);
  }
}

/** Downloads an https or s3 jar into memory, its sha256 checked when given (the session submitter). */
export async function downloadJar(url: string, sha256: string | undefined, timeoutMs: number, s3?: S3Access): Promise<Buffer> {
  const res = await openJar(url, s3, AbortSignal.timeout(timeoutMs));
  const content = new Uint8Array(await res.arrayBuffer());
  checkDigest(redactUrl(url), createHash('sha256').update(content).digest('hex'), sha256);
  return Buffer.from(content);
}

export interface FetchArtifactOptions {
  /** `https://...` or `s3://bucket/key` */
  readonly url: string;
  /** How to reach the store of an `s3://` URL (its keys come from the environment). */
  readonly s3?: S3Access;
  /** The expected sha256, lower-case hex; undefined: not checked. */
  readonly sha256?: string;
  /** Where the jar goes (an absolute path in a folder the caller may write). */
  readonly dest: string;
  /** Refuse a jar whose manifest names no main class (the job gives none). */
  readonly requireMainClass: boolean;
  readonly timeoutMs: number;
  readonly log: (m: string) => void;
}

/**
 * The init container's fetch: streams an https or s3 jar into a `.part` file next to `dest`, checks
 * its sha256 (and, when asked, that its manifest names a main class), then renames it to
 * `dest`. A jar that fails a check is removed and nothing is left at `dest`. A `dest` that
 * already exists (the init container ran before in this pod) is kept when it passes the same
 * checks, and never replaced.
 */
export async function fetchArtifact(o: FetchArtifactOptions): Promise<{ sha256: string; bytes: number; mainClass?: string }> {
  if (!path.isAbsolute(o.dest)) throw new OpsError(`--dest: "${o.dest}" is not an absolute path`);
  if (fs.existsSync(o.dest)) {
    const digest = fileSha256(o.dest);
    checkDigest(`${o.dest} (already there, not replaced)`, digest, o.sha256);
    const mainClass = checkMainClass(o.dest, fileReader(o.dest), o.requireMainClass);
    o.log(`${o.dest} is already there (sha256 ${digest}); kept`);
    return { sha256: digest, bytes: fs.statSync(o.dest).size, mainClass };
  }
  const dir = path.dirname(o.dest);
  if (!fs.existsSync(dir)) throw new OpsError(`--dest: folder ${dir} does not exist; expected the emptyDir the jar is fetched into`);
  const part = path.join(dir, `.fetch-${path.basename(o.dest)}-${randomBytes(6).toString('hex')}.part`);
  const res = await openJar(o.url, o.s3, AbortSignal.timeout(o.timeoutMs));
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(part, { flags: 'wx' });
      const body = Readable.fromWeb(res.body as any);
      body.on('data', (chunk: Uint8Array) => { hash.update(chunk); bytes += chunk.length; });
      body.on('error', reject);
      out.on('error', reject);
      out.on('finish', resolve);
      body.pipe(out);
    });
    const digest = hash.digest('hex');
    checkDigest(redactUrl(o.url), digest, o.sha256);
    const mainClass = checkMainClass(redactUrl(o.url), fileReader(part), o.requireMainClass);
    fs.renameSync(part, o.dest);
    o.log(`fetched ${redactUrl(o.url)} into ${o.dest}: ${bytes} bytes, sha256 ${digest}${o.sha256 ? ' (as expected)' : ' (not checked)'}${mainClass ? `, main class ${mainClass}` : ''}`);
    return { sha256: digest, bytes, mainClass };
  } finally {
    fs.rmSync(part, { force: true });
  }
}

/** Random access to an archive's bytes: a file read in pieces (a jar may be larger than the container's memory), or a buffer. */
export interface ArchiveReader {
  readonly size: number;
  read(position: number, length: number): Buffer;
}

/** An ArchiveReader over a buffer. */
export function bufferReader(b: Buffer): ArchiveReader {
  return { size: b.length, read: (p, n) => b.subarray(p, p + n) };
}

/** An ArchiveReader over a file (each read opens it: a jar's directory takes a few reads). */
export function fileReader(file: string): ArchiveReader {
  return {
    size: fs.statSync(file).size,
    read(p, n) {
      const fd = fs.openSync(file, 'r');
      try {
        const b = Buffer.alloc(n);
        const got = fs.readSync(fd, b as unknown as Uint8Array, 0, n, p);
        return b.subarray(0, got);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** sha256 of a file, read in 1 MiB pieces. */
function fileSha256(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1 << 20);
    for (let n: number; (n = fs.readSync(fd, b as unknown as Uint8Array, 0, b.length, null)) > 0;) hash.update(b.subarray(0, n) as unknown as Uint8Array);
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The manifest's main class; with `required`, a jar without one is refused. */
export function checkMainClass(what: string, jar: ArchiveReader, required: boolean): string | undefined {
  const main = jarMainClass(what, jar);
  if (required && !main) {
    throw new OpsError(`${what}: the jar's manifest names no Main-Class (nor program-class), and the job gives no entryClass; expected one of them`);
  }
  return main;
}

/**
 * The entry class a jar's manifest names, as Flink's PackagedProgram reads it: `program-class`,
 * else `Main-Class`; undefined when the manifest names neither (or there is no manifest).
 */
export function jarMainClass(what: string, jar: ArchiveReader): string | undefined {
  const manifest = zipEntry(what, jar, 'META-INF/MANIFEST.MF');
  if (manifest === undefined) return undefined;
  // Continuation lines start with one space; the main section ends at the first empty line.
  const lines = manifest.toString('utf8').replace(/\r\n?/g, '\n').replace(/\n /g, '').split('\n');
  const main: Record<string, string> = {};
  for (const line of lines) {
    if (line === '') break;
    const i = line.indexOf(':');
    if (i > 0) main[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return main['program-class'] || main['main-class'] || undefined;
}

/** One entry of a zip archive (stored or deflated), or undefined when it has none of that name. */
function zipEntry(what: string, zip: ArchiveReader, name: string): Buffer | undefined {
  const bad = (why: string) => new OpsError(`${what}: is not a jar (${why})`);
  // The end-of-central-directory record: in the last 22 + 65535 (comment) bytes.
  const tailStart = Math.max(0, zip.size - 22 - 0xffff);
  const tail = zip.read(tailStart, zip.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw bad('no zip directory');
  const count = tail.readUInt16LE(eocd + 10);
  const dirSize = tail.readUInt32LE(eocd + 12);
  const dirStart = tail.readUInt32LE(eocd + 16);
  if (dirStart + dirSize > zip.size) throw bad('a zip directory past the end');
  const dir = zip.read(dirStart, dirSize);
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > dir.length || dir.readUInt32LE(at) !== 0x02014b50) throw bad('a broken zip directory');
    const method = dir.readUInt16LE(at + 10);
    const size = dir.readUInt32LE(at + 20);
    const nameLength = dir.readUInt16LE(at + 28);
    const entryName = dir.toString('utf8', at + 46, at + 46 + nameLength);
    const local = dir.readUInt32LE(at + 42);
    at += 46 + nameLength + dir.readUInt16LE(at + 30) + dir.readUInt16LE(at + 32);
    if (entryName !== name) continue;
    const header = zip.read(local, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) throw bad(`a broken entry ${name}`);
    const data = zip.read(local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28), size);
    if (method === 0) return data;
    if (method === 8) return inflateRawSync(data as unknown as Uint8Array);
    throw bad(`${name} is compressed with method ${method}`);
  }
  return undefined;
}
