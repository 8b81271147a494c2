// read_committed as Kafka's Java consumer does it, installed before kafkajs loads
import './read-committed';
import { Admin } from 'kafkajs';
import { OpsError, sleep } from './errors';
import { bounded, KafkaSasl, kafkaClient, kafkaReason, KafkaTlsOptions } from './kafka';

export interface PreflightOptions {
  readonly brokers: string[];
  readonly sourceTopics: string[];
  readonly sinkTopics: string[];
  /** The job's parallelism, checked against the source partitions. */
  readonly parallelism?: number;
  /** Create missing sink topics (after checking that the broker accepts them). */
  readonly createSinkTopics: boolean;
  /** Partitions of created sink topics. @default the broker's num.partitions */
  readonly sinkPartitions?: number;
  /** Replication factor of created sink topics. @default the broker's default.replication.factor */
  readonly replicationFactor?: number;
  readonly timeoutMs: number;
  readonly sasl?: KafkaSasl;
  /** TLS trusting these authorities. @default - TLS only with SASL, trusting Node's built-in authorities */
  readonly tls?: KafkaTlsOptions;
  readonly log: (m: string) => void;
}

export interface TopicInfo {
  readonly topic: string;
  readonly partitions: number;
  /** Partitions without a leader right now (unreadable until one is elected). */
  readonly leaderless: number;
  readonly created?: boolean;
}

export interface SourceSpread {
  readonly parallelism: number;
  /** Partitions each source subtask reads, by subtask index. */
  readonly perSubtask: number[];
  readonly idle: number;
}

export interface PreflightReport {
  readonly bootstrap: string;
  readonly brokers: number;
  readonly sources: TopicInfo[];
  readonly sinks: TopicInfo[];
  readonly sourcePartitions: number;
  /** Useful source parallelism: 1 up to one subtask per partition; `even` spreads partitions evenly. */
  readonly recommendation: { readonly min: number; readonly max: number; readonly even: number[] };
  readonly spread?: SourceSpread;
  readonly warnings: string[];
}

/** Java's String.hashCode (UTF-16 code units, 32-bit overflow). */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * How Flink's KafkaSource assigns partitions to its subtasks (KafkaSourceEnumerator.getSplitOwner,
 * connector 3.x and 4.x/5.x alike): each topic round-robin from a start index derived from the
 * topic name, so several topics can land on the same subtasks and leave others idle.
 */
export function sourceSpread(topics: ReadonlyArray<{ topic: string; partitions: number }>, parallelism: number): SourceSpread {
  const perSubtask = new Array<number>(parallelism).fill(0);
  for (const t of topics) {
    const start = (Math.imul(javaHash(t.topic), 31) & 0x7fffffff) % parallelism;
    for (let p = 0; p < t.partitions; p++) perSubtask[(start + p) % parallelism]++;
  }
  return { parallelism, perSubtask, idle: perSubtask.filter((n) => n === 0).length };
}

/** The advice on the job's parallelism from the source partitions. */
export function recommend(sources: ReadonlyArray<{ topic: string; partitions: number }>, parallelism?: number): { recommendation: PreflightReport['recommendation']; spread?: SourceSpread; warnings: string[] } {
  const total = sources.reduce((n, t) => n + t.partitions, 0);
  const even: number[] = [];
  for (let n = 1; n <= total; n++) {
    const s = sourceSpread(sources, n);
    if (s.idle === 0 && Math.max(...s.perSubtask) === Math.min(...s.perSubtask)) even.push(n);
  }
  const warnings: string[] = [];
  if (parallelism === undefined || total === 0) return { recommendation: { min: 1, max: Math.max(1, total), even }, warnings };
  const spread = sourceSpread(sources, parallelism);
  const names = sources.map((t) => t.topic).join(', ');
  if (parallelism > total) {
    warnings.push(`parallelism ${parallelism} exceeds the ${total} partition(s) of ${names}: ${spread.idle} source subtask(s) stay idle (no partition to read); use at most ${total}, or add partitions`);
  } else if (spread.idle > 0) {
    warnings.push(`parallelism ${parallelism}: the KafkaSource assigns ${names} so that ${spread.idle} of ${parallelism} source subtask(s) get no partition; parallelism ${even.length ? even.join(', ') : total} spreads them evenly`);
  } else if (Math.max(...spread.perSubtask) !== Math.min(...spread.perSubtask)) {
    warnings.push(`parallelism ${parallelism}: source subtasks read ${Math.min(...spread.perSubtask)} to ${Math.max(...spread.perSubtask)} partition(s) each (uneven load); parallelism ${even.join(', ')} spreads them evenly`);
  }
  return { recommendation: { min: 1, max: total, even }, spread, warnings };
}

const quoted = (ts: string[]) => ts.map((t) => `"${t}"`).join(', ');
const plural = (ts: string[], one: string, many: string) => (ts.length === 1 ? one : many);

async function describe(admin: Admin, topics: string[]): Promise<TopicInfo[]> {
  if (!topics.length) return [];
  const md = await admin.fetchTopicMetadata({ topics });
  return topics.map((topic) => {
    const t = md.topics.find((x) => x.name === topic);
    return { topic, partitions: t?.partitions.length ?? 0, leaderless: t?.partitions.filter((p) => p.leader < 0).length ?? 0 };
  });
}

/**
 * Checks the Kafka side before a release: source topics exist (else fails and creates nothing),
 * sink topics exist or are created when allowed, and the job's parallelism fits the source
 * partitions. Bounded by `timeoutMs` overall; an unreachable broker fails within it.
 */
export async function preflight(o: PreflightOptions): Promise<PreflightReport> {
  const bootstrap = o.brokers.join(',');
  const admin = kafkaClient('cdk8s-flink-preflight', o.brokers, o.timeoutMs, o.sasl, o.tls).admin();
  let step = 'connecting';
  const deadline = Date.now() + o.timeoutMs;
  const run = async (): Promise<PreflightReport> => {
    try {
      await admin.connect();
      step = 'describing the cluster';
      const cluster = await admin.describeCluster();
      step = 'listing topics';
      const existing = new Set(await admin.listTopics());
      const missingSources = o.sourceTopics.filter((t) => !existing.has(t));
      const missingSinks = o.sinkTopics.filter((t) => !existing.has(t));
      if (missingSources.length) {
        throw new OpsError(`source ${plural(missingSources, 'topic', 'topics')} ${quoted(missingSources)} ${plural(missingSources, 'does', 'do')} not exist on ${bootstrap}; create ${plural(missingSources, 'it', 'them')} before the job starts (nothing was created)`);
      }
      if (missingSinks.length && !o.createSinkTopics) {
        throw new OpsError(`sink ${plural(missingSinks, 'topic', 'topics')} ${quoted(missingSinks)} ${plural(missingSinks, 'does', 'do')} not exist on ${bootstrap}; create ${plural(missingSinks, 'it', 'them')} or pass --create-sink-topics (nothing was created)`);
      }
      if (missingSinks.length) {
        if (o.replicationFactor !== undefined && o.replicationFactor > cluster.brokers.length) {
          throw new OpsError(`--replication-factor: ${o.replicationFactor} exceeds the ${cluster.brokers.length} broker(s) of ${bootstrap}; expected at most ${cluster.brokers.length} (nothing was created)`);
        }
        const specs = missingSinks.map((topic) => ({ topic, numPartitions: o.sinkPartitions ?? -1, replicationFactor: o.replicationFactor ?? -1 }));
        step = 'validating the sink topics';
        // The broker checks every topic first, so a refusal creates none of them.
        await admin.createTopics({ topics: specs, validateOnly: true, waitForLeaders: false, timeout: Math.min(30_000, o.timeoutMs) }).catch((e) => {
          throw new OpsError(`the broker refuses to create sink ${plural(missingSinks, 'topic', 'topics')} ${quoted(missingSinks)}: ${kafkaReason(e)} (nothing was created)`);
        });
        step = 'creating the sink topics';
        await admin.createTopics({ topics: specs, waitForLeaders: false, timeout: Math.min(30_000, o.timeoutMs) });
        // Leaders are elected shortly after; until then metadata may even deny the topic exists.
        step = 'waiting for leaders of the created sink topics';
        for (let pause = 100; ; pause = Math.min(pause * 2, 1000)) {
          const ready = await describe(admin, missingSinks).then((ts) => ts.every((t) => t.partitions > 0 && t.leaderless === 0), () => false);
          if (ready) break;
          if (Date.now() + pause > deadline) throw new OpsError(`sink ${plural(missingSinks, 'topic', 'topics')} ${quoted(missingSinks)} created on ${bootstrap}, but without a leader for every partition within the --timeout`);
          await sleep(pause);
        }
        o.log(`created sink ${plural(missingSinks, 'topic', 'topics')} ${quoted(missingSinks)}`);
      }
      step = 'reading topic metadata';
      const sources = await describe(admin, o.sourceTopics);
      const sinks = (await describe(admin, o.sinkTopics)).map((t) => (missingSinks.includes(t.topic) ? { ...t, created: true } : t));
      const { recommendation, spread, warnings } = recommend(sources, o.parallelism);
      for (const t of [...sources, ...sinks]) {
        if (t.leaderless) warnings.push(`topic "${t.topic}": ${t.leaderless} of ${t.partitions} partition(s) have no leader right now`);
      }
      return { bootstrap, brokers: cluster.brokers.length, sources, sinks, sourcePartitions: sources.reduce((n, t) => n + t.partitions, 0), recommendation, spread, warnings };
    } catch (e) {
      if (e instanceof OpsError) throw e;
      const reason = kafkaReason(e);
      if (step === 'connecting' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|Connection (error|timeout)|connect/i.test(reason) && step !== 'creating the sink topics') {
        throw new OpsError(`Kafka at ${bootstrap} is unreachable while ${step} (${reason})`);
      }
      throw new OpsError(`Kafka at ${bootstrap}: ${step} failed: ${reason}`);
    }
  };
  return bounded(o.timeoutMs, run,
    () => new OpsError(`Kafka at ${bootstrap} did not answer within ${Math.round(o.timeoutMs / 1000)}s (--timeout) while ${step}`),
    () => admin.disconnect());
}

export function formatPreflight(r: PreflightReport): string {
  const lines = [`kafka ${r.bootstrap}: ${r.brokers} broker(s)`];
  for (const t of r.sources) lines.push(`source ${t.topic}: ${t.partitions} partition(s)`);
  for (const t of r.sinks) lines.push(`sink ${t.topic}: ${t.partitions} partition(s)${t.created ? ' (created)' : ''}`);
  const rec = r.recommendation;
  lines.push(`recommended parallelism: min ${rec.min}, max ${rec.max} (one source subtask per partition at most; ${r.sourcePartitions} source partition(s))${rec.even.length ? `; even spread at ${rec.even.join(', ')}` : ''}`);
  if (r.spread) lines.push(`parallelism ${r.spread.parallelism}: source subtasks read ${r.spread.perSubtask.join(', ')} partition(s)${r.spread.idle ? `; ${r.spread.idle} idle` : ''}`);
  return lines.join('\n') + '\n';
}
