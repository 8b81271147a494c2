/**
 * Reads a Kafka topic with Kafka's own Java consumer (the kafka-clients jar of the test broker),
 * the reference implementation of read_committed: it skips the records of aborted transactions
 * with the broker's aborted-transaction index, as a downstream Java or Flink reader would.
 *
 * - readTopic: from the beginning to a known end, the end offsets the consumer reports for its
 *   isolation level (the last stable offset for read_committed). No "quiet for N seconds" guess
 *   decides when the topic is read: the reader stops when its position in every partition has
 *   reached that end.
 * - followTopic: from the beginning, live, each record handed over as it becomes visible (for
 *   "when was record X committed" measurements), until stopped.
 *
 * Records come as `partition<TAB>offset<TAB>value` lines (JSON values carry no raw newlines).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { run } from './flink-dist';
import { ensureKafkaJars } from './kafka';

const SOURCE = `
import java.io.*;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class TopicReader {
  public static void main(String[] a) throws Exception {
    String mode = a[0], bootstrap = a[1], topic = a[2], isolation = a[3], out = a[4];
    long deadline = System.currentTimeMillis() + Long.parseLong(a[5]);
    boolean follow = mode.equals("follow");
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", isolation);
    p.put("enable.auto.commit", "false");
    p.put("max.poll.records", "5000");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    long count = 0;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
         OutputStream w = new BufferedOutputStream(follow ? System.out : new FileOutputStream(out), 1 << 20)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo i : c.partitionsFor(topic, Duration.ofSeconds(30))) parts.add(new TopicPartition(topic, i.partition()));
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = follow ? null : c.endOffsets(parts, Duration.ofSeconds(30));
      while (true) {
        if (!follow) {
          boolean done = true;
          for (TopicPartition tp : parts) if (c.position(tp, Duration.ofSeconds(30)) < end.get(tp)) done = false;
          if (done) break;
        }
        if (System.currentTimeMillis() > deadline) {
          if (follow) break;
          throw new RuntimeException("timed out reading " + topic + " to " + end);
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(follow ? 100 : 500))) {
          if (r.value() == null) continue;
          w.write((r.partition() + "\\t" + r.offset() + "\\t").getBytes("UTF-8"));
          w.write(r.value());
          w.write('\\n');
          count++;
        }
        if (follow) w.flush();
      }
      w.flush();
      if (!follow) System.out.println("records=" + count + " end=" + end);
    }
  }
}
`;

export interface TopicRecord {
  partition: number;
  offset: number;
  value: string;
}

export interface TopicRead {
  records: TopicRecord[];
  /** How long the read took (JVM start included), ms. */
  ms: number;
  /** Where the log of each partition ended for `isolation` (read_uncommitted: the high watermark, transaction markers included), by partition. */
  end: Record<number, number>;
}

function parseLine(line: string): TopicRecord {
  const a = line.indexOf('\t');
  const b = line.indexOf('\t', a + 1);
  return { partition: Number(line.slice(0, a)), offset: Number(line.slice(a + 1, b)), value: line.slice(b + 1) };
}

async function prepare(work: string): Promise<{ src: string; classpath: string; dir: string }> {
  const libs = await ensureKafkaJars();
  const dir = path.join(work, 'topic-reader');
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, 'TopicReader.java');
  if (!fs.existsSync(src)) fs.writeFileSync(src, SOURCE);
  // kafka-clients and its compression codecs; no logging backend (slf4j falls back to no-op).
  const jars = fs.readdirSync(libs).filter((f) => /^(kafka-clients|slf4j-api|lz4-java|snappy-java|zstd-jni)-.*\.jar$/.test(f)).map((f) => path.join(libs, f));
  return { src, dir, classpath: jars.join(path.delimiter) };
}

/**
 * Reads `topic` from the beginning to its end for `isolation` with the Java consumer.
 * `work` is a scratch folder for the source file and the output.
 */
export async function readTopic(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted', work: string, timeoutMs = 120_000): Promise<TopicRead> {
  const { src, dir, classpath } = await prepare(work);
  const out = path.join(dir, `${topic}.${isolation}.tsv`);
  const t0 = Date.now();
  const r = await run('java', ['-Xmx512m', '-cp', classpath, src, 'to-end', bootstrap, topic, isolation, out, String(timeoutMs)], { timeoutMs: timeoutMs + 60_000 });
  const m = /records=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`reading ${topic} (${isolation}): no record count in the reader's output:\n${r.stdout}\n${r.stderr}`);
  const records = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.length > 0).map(parseLine);
  if (records.length !== Number(m[1])) throw new Error(`reading ${topic} (${isolation}): the reader counted ${m[1]} records but wrote ${records.length} lines`);
  const end: Record<number, number> = {};
  for (const e of (/end=\{([^}]*)\}/.exec(r.stdout)?.[1] ?? '').matchAll(/-(\d+)=(\d+)/g)) end[Number(e[1])] = Number(e[2]);
  return { records, ms: Date.now() - t0, end };
}

export interface TopicFollower {
  /** Stops the reader; resolves when it has exited. */
  stop(): Promise<void>;
  /** The reader's stderr so far (for failure messages). */
  errors(): string;
  /** Whether the reader exited on its own (an error, or its time limit). */
  exited(): boolean;
}

/**
 * Follows `topic` live from the beginning; `onRecord` gets each record as it becomes visible at
 * `isolation`. Stops by itself after `timeoutMs`.
 */
export async function followTopic(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted', work: string, onRecord: (r: TopicRecord) => void, timeoutMs = 15 * 60_000): Promise<TopicFollower> {
  const { src, classpath } = await prepare(work);
  const child = spawn('java', ['-Xmx256m', '-cp', classpath, src, 'follow', bootstrap, topic, isolation, '-', String(timeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString('utf8')).slice(-8000); });
  let done = false;
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.on('exit', () => { done = true; process.off('exit', kill); resolve(); }));
  readline.createInterface({ input: child.stdout! }).on('line', (l) => { if (l.length) onRecord(parseLine(l)); });
  return {
    async stop() {
      if (!done) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    errors: () => stderr,
    exited: () => done,
  };
}
