/**
 * The sink topic's reader: CommittedReader.java (Kafka's Java consumer, read_committed), compiled
 * on first use into the cache, run as a child process that reports what it receives, with its own
 * receive timestamps. Kafka's Java client is the reference implementation of read_committed;
 * kafkajs 2.2.4's (consumer/filterAbortedMessages.js) let records of the transactions aborted
 * by a TaskManager kill through: 62 duplicates in one exactly-once run in which this reader saw
 * none (and the source topic held no duplicate).
 */
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { cacheDir, withLock } from '../../lib/local/cache';
import { repoRoot, run } from '../../lib/local/flink-dist';
import { ensureKafkaJars } from '../../test/support/kafka';

const SOURCE = () => path.join(repoRoot(), 'bench', 'runtime', 'CommittedReader.java');

/** The classpath of the compiled reader (compiled with javac on first use, cached by source hash). */
export async function committedReaderClasspath(): Promise<string> {
  const libs = await ensureKafkaJars();
  const src = fs.readFileSync(SOURCE());
  const hash = crypto.createHash('sha256').update(src as unknown as Uint8Array).digest('hex').slice(0, 16);
  const dir = cacheDir('runtime-bench-reader', hash);
  const done = path.join(dir, 'CommittedReader.class');
  if (!fs.existsSync(done)) {
    await withLock(`runtime-bench-reader-${hash}`, 5 * 60_000, async () => {
      if (fs.existsSync(done)) return;
      const clients = fs.readdirSync(libs).find((f) => /^kafka-clients-.*\.jar$/.test(f));
      if (!clients) throw new Error(`no kafka-clients jar in ${libs}`);
      const tmp = fs.mkdtempSync(path.join(dir, '.tmp-'));
      try {
        await run('javac', ['-nowarn', '-cp', path.join(libs, clients), '-d', tmp, SOURCE()], { timeoutMs: 120_000 });
        for (const f of fs.readdirSync(tmp)) fs.renameSync(path.join(tmp, f), path.join(dir, f));
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
  return `${dir}${path.delimiter}${path.join(libs, '*')}`;
}

export interface ReaderEvents {
  /** a poll returned records: the running count of pre-loaded records */
  onPreload(count: number, atMs: number): void;
  /** an appended record: its sequence number, when it was received, where it was, its ts field */
  onSeq(seq: number, atMs: number, position: string, ts: string): void;
}

export interface CommittedReader {
  stop(): Promise<void>;
  /** the reader's stderr so far */
  stderr(): string;
}

export async function startCommittedReader(bootstrap: string, topic: string, work: string, events: ReaderEvents): Promise<CommittedReader> {
  const cp = await committedReaderClasspath();
  const log4j = path.join(work, 'reader-log4j.properties');
  fs.writeFileSync(log4j, 'log4j.rootLogger=WARN, err\nlog4j.appender.err=org.apache.log4j.ConsoleAppender\nlog4j.appender.err.Target=System.err\nlog4j.appender.err.layout=org.apache.log4j.PatternLayout\nlog4j.appender.err.layout.ConversionPattern=%p %m%n\n');
  const child: ChildProcess = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${log4j}`, '-cp', cp, 'CommittedReader', bootstrap, topic], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  let ready: (() => void) | undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on('line', (l) => {
    const f = l.split(' ');
    if (f[0] === 'p') events.onPreload(Number(f[1]), Number(f[2]));
    else if (f[0] === 's') events.onSeq(Number(f[1]), Number(f[2]), f[3], f[4]);
    else if (f[0] === 'ready') ready!();
  });
  const stop = async () => {
    if (!exited) {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
  };
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the committed reader of ${topic} did not start within 60 s: ${err.slice(-2000)}`)), 60_000).unref());
  const died = exit.then(() => { throw new Error(`the committed reader of ${topic} exited: ${err.slice(-2000)}`); });
  try {
    await Promise.race([isReady, timeout, died]);
  } catch (e) {
    await stop();
    throw e;
  }
  died.catch(() => undefined);
  return { stop, stderr: () => err };
}
