/**
 * Kafka's own performance tools (org.apache.kafka:kafka-tools, the classes behind
 * kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh) against the benchmark's broker:
 * they pre-load the source topics and measure the raw produce and consume rates, the ceiling of
 * any Kafka-to-Kafka job on the same machine.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir, withLock } from '../../lib/local/cache';
import { mavenResolve, run } from '../../lib/local/flink-dist';
import { ensureKafkaJars, KAFKA_VERSION } from '../../test/support/kafka';

const MARKER = '.complete';

/** The classpath of the perf tools: the kafka-tools jar next to the broker's jars. */
export async function kafkaToolsClasspath(): Promise<string> {
  const libs = await ensureKafkaJars();
  const dir = cacheDir('kafka-tools', KAFKA_VERSION);
  if (!fs.existsSync(path.join(dir, MARKER))) {
    await withLock(`kafka-tools-${KAFKA_VERSION}`, 20 * 60_000, async () => {
      if (fs.existsSync(path.join(dir, MARKER))) return;
      await mavenResolve({ artifacts: [`org.apache.kafka:kafka-tools:${KAFKA_VERSION}`], transitive: false, dest: dir });
      fs.writeFileSync(path.join(dir, MARKER), '');
    });
  }
  const jar = fs.readdirSync(dir).find((f) => /^kafka-tools-.*\.jar$/.test(f));
  if (!jar) throw new Error(`kafka-tools jar missing in ${dir}`);
  return `${path.join(dir, jar)}${path.delimiter}${path.join(libs, '*')}`;
}

/**
 * Producer settings of the ceiling: the kafka-clients defaults Flink's Kafka sink runs with
 * (kafka-clients 4.x: acks=all, idempotence on, linger.ms=5, batch.size=16384, no compression).
 */
export const PRODUCER_PROPS = { acks: 'all', 'enable.idempotence': 'true', 'linger.ms': '5', 'batch.size': '16384', 'compression.type': 'none' };

export interface PerfTools {
  /** Produces n records picked from the payload file; returns records/s as the tool reports it. */
  produce(topic: string, n: number): Promise<{ recordsPerSec: number; line: string }>;
  /** Consumes n records (read_committed, like Flink's source); records/s of the fetch phase (excludes the group join). */
  consume(topic: string, n: number): Promise<{ recordsPerSec: number; line: string }>;
}

export async function perfTools(bootstrap: string, work: string, payloads: string[]): Promise<PerfTools> {
  const cp = await kafkaToolsClasspath();
  fs.mkdirSync(work, { recursive: true });
  const payloadFile = path.join(work, 'payloads.txt');
  fs.writeFileSync(payloadFile, payloads.join('\n') + '\n');
  const log4j = path.join(work, 'tools-log4j.properties');
  fs.writeFileSync(log4j, 'log4j.rootLogger=WARN, err\nlog4j.appender.err=org.apache.log4j.ConsoleAppender\nlog4j.appender.err.Target=System.err\nlog4j.appender.err.layout=org.apache.log4j.PatternLayout\nlog4j.appender.err.layout.ConversionPattern=%p %m%n\n');
  const consumerConfig = path.join(work, 'consumer.properties');
  fs.writeFileSync(consumerConfig, 'isolation.level=read_committed\nauto.offset.reset=earliest\n');
  const java = (main: string, args: string[]) =>
    run('java', ['-Xmx512m', '-XX:+UseG1GC', `-Dlog4j.configuration=file:${log4j}`, '-cp', cp, main, ...args], { timeoutMs: 5 * 60_000 });
  let group = 0;
  return {
    async produce(topic, n) {
      const { stdout } = await java('org.apache.kafka.tools.ProducerPerformance', [
        '--topic', topic, '--num-records', String(n), '--throughput', '-1', '--payload-file', payloadFile,
        '--producer-props', `bootstrap.servers=${bootstrap}`, ...Object.entries(PRODUCER_PROPS).map(([k, v]) => `${k}=${v}`),
      ]);
      const line = stdout.trim().split('\n').reverse().find((l) => l.includes('records sent,'));
      const m = line && /^(\d+) records sent, ([\d.]+) records\/sec/.exec(line.trim());
      if (!m) throw new Error(`ProducerPerformance: no summary line in its output:\n${stdout.slice(-2000)}`);
      if (Number(m[1]) !== n) throw new Error(`ProducerPerformance sent ${m[1]} records, expected ${n}`);
      return { recordsPerSec: Number(m[2]), line: line!.trim() };
    },
    async consume(topic, n) {
      const { stdout } = await java('org.apache.kafka.tools.ConsumerPerformance', [
        '--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(n), '--timeout', '60000',
        '--group', `perf-consumer-${process.pid}-${group++}`, '--consumer.config', consumerConfig,
      ]);
      const lines = stdout.trim().split('\n').map((l) => l.trim());
      const hi = lines.findIndex((l) => l.startsWith('start.time'));
      if (hi < 0 || !lines[hi + 1]) throw new Error(`ConsumerPerformance: no result in its output:\n${stdout.slice(-2000)}`);
      const header = lines[hi].split(',').map((s) => s.trim());
      const values = lines[hi + 1].split(',').map((s) => s.trim());
      const get = (k: string) => Number(values[header.indexOf(k)]);
      if (get('data.consumed.in.nMsg') < n) throw new Error(`ConsumerPerformance consumed ${get('data.consumed.in.nMsg')} records, expected ${n}`);
      return { recordsPerSec: get('fetch.nMsg.sec'), line: lines[hi + 1] };
    },
  };
}
