/**
 * Runtime benchmark: the audit-logs pipeline on real local Flink 2.2.1 and Kafka, the toolkit's
 * generated configuration against stock Flink defaults (same job, slots, memory, parallelism,
 * checkpoint interval and directory), for at-least-once and exactly-once delivery:
 * throughput over a fixed backlog, end-to-end latency at a fixed rate, recovery from a killed
 * TaskManager; next to Kafka's raw produce and consume rates on the same broker (the ceiling).
 * See README-section.md for the method.
 *
 *   node build/bench/runtime/main.js [--quick] [--runs N] [--delivery exactly-once|at-least-once] [--out file.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeliveryGuarantee } from '../../lib';
import { layoutFlinkHome } from '../../lib/local/flink-dist';
import { KAFKA_VERSION, KafkaBroker, startKafka } from '../../test/support/kafka';
import {
  CHECKPOINT_INTERVAL_MS, ConfigDifference, configDifferences, ConfigKind, DELIVERY_MODES, FLINK_LINE, FLINK_VERSION, JOB_NAME,
  PARALLELISM, SPARE_SLOTS, STANDBY_ONLY_OVERRIDES, STANDBY_TASK_MANAGERS, STOCK_KEEPS, TASK_MANAGER_SLOTS, benchObjects, generatedConfig, stockConfig,
} from './job';
import { startCommittedReader } from './committed-reader';
import { PerfTools, perfTools, PRODUCER_PROPS } from './kafka-perf';
import { LifetimeResult, preloadPayloads, runLifetime } from './lifetime';
import { median, Stat, stat } from './stats';

export interface RuntimeBenchOptions {
  /** small sizes, one run: a few minutes */
  quick: boolean;
  /** repetitions of every point (default 3, quick 1) */
  runs?: number;
  /** progress messages (default: stderr) */
  log?: (m: string) => void;
  /** the delivery modes to run (default both) */
  deliveries?: readonly DeliveryGuarantee[];
}

/** One configuration in one delivery mode, over all runs. */
export interface RuntimePoint {
  /** records/s over the pre-loaded backlog */
  throughput: Stat;
  /** CPU time of the Flink processes per record over the backlog, microseconds */
  cpuPerRecord: Stat;
  /** processes started -> every task RUNNING */
  startup: Stat;
  latencyP50: Stat;
  latencyP99: Stat;
  latencyMax: Stat;
  /** kill -> failure in Flink's exception history */
  recoveryFailureDetected: Stat;
  /** kill -> the replacement TaskManager registered */
  recoveryReplacementRegistered: Stat;
  /** kill -> the killed TaskManager dropped from the cluster */
  recoveryKilledReleased: Stat;
  /** kill -> the successful attempt began deploying */
  recoveryDeployed: Stat;
  /** failovers (restart attempts) after the kill */
  recoveryFailovers: Stat;
  /** kill -> every task RUNNING again */
  recoveryRunning: Stat;
  /** kill -> the sink caught up */
  recoveryCaughtUp: Stat;
  duplicatesAfterKill: Stat;
  checkpointAvgDuration: Stat;
  /** every lifetime's full result, in run order */
  lifetimes: LifetimeResult[];
}

/** generated / stock from the same run (round), per round, and their median and spread. */
export interface Ratio extends Stat {
  /** what the target asks and whether the median meets it */
  target: string;
  met: boolean | null;
  /** the generated configuration is not worse than stock by more than stock's own run-to-run spread */
  withinNoise?: boolean | null;
}

export interface StandbyRatios { recoveryRunning: Ratio; recoveryCaughtUp: Ratio; recoveryRunningVsGenerated: Ratio; recoveryCaughtUpVsGenerated: Ratio }

export interface RuntimeBenchResult {
  kind: 'runtime';
  quick: boolean;
  runs: number;
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverageBefore: number[]; loadAverageAfter: number[]; node: string };
  versions: { flink: string; kafkaBroker: string; kafkaTools: string };
  job: {
    name: string; pipeline: string; parallelism: number; taskManagers: number; slotsPerTaskManager: number;
    checkpointIntervalMs: number; sourcePartitions: number; sinkPartitions: number;
    backlogRecords: number; recordBytes: { min: number; max: number }; latencyRate: number; latencySeconds: number;
  };
  method: Record<'throughput' | 'latency' | 'recovery' | 'ceiling' | 'stock' | 'comparison', string>;
  configs: {
    generated: Record<string, string | number | boolean>;
    stock: Record<string, string | number | boolean>;
    stockKeeps: Record<string, string>;
    differences: ConfigDifference[];
  };
  ceiling: {
    /** ProducerPerformance, acks=all, the producer settings of Flink's Kafka sink */
    produce: Stat;
    /** ConsumerPerformance, read_committed, fetch phase */
    consume: Stat;
    /** produce N then consume N: N / (N/produce + N/consume) */
    produceThenConsume: Stat;
    /** the benchmark's sink reader (Java, read_committed) over the same topic: it must be faster than Flink */
    reader: Stat;
    producerSettings: Record<string, string>;
  };
  /** standby: in the recovery modes only */
  points: Record<DeliveryGuarantee, Partial<Record<ConfigKind, RuntimePoint>>>;
  comparison: Record<DeliveryGuarantee, {
    throughput: Ratio;
    /** Flink CPU per record, generated / stock (lower is better) */
    cpuPerRecord: Ratio;
    recoveryRunning: Ratio;
    recoveryCaughtUp: Ratio;
    latencyP99: Ratio;
    /** generated throughput / min(produce, consume) of the same run */
    generatedOfCeiling: Stat;
    stockOfCeiling: Stat;
    /** the standby variants' recovery against stock and against the generated defaults (recovery modes only) */
    standby?: StandbyRatios;
    standbyOnly?: StandbyRatios;
    spare?: StandbyRatios;
  }>;
  errors: string[];
}

const SIZES = {
  full: { records: 200_000, latencyRate: 1000, latencySeconds: 8, runs: 3 },
  quick: { records: 20_000, latencyRate: 500, latencySeconds: 5, runs: 1 },
};
/**
 * The delivery modes whose lifetimes also measure recovery. Exactly-once only: the failure
 * handling (heartbeats, restarts, slots) is the same in both modes, and exactly-once, the
 * reference pipeline's mode, adds the restore and the transaction commit to the catch-up.
 */
export const RECOVERY_MODES: readonly DeliveryGuarantee[] = [DeliveryGuarantee.EXACTLY_ONCE];

const METHOD: RuntimeBenchResult['method'] = {
  throughput: 'The source topic is pre-loaded with the backlog (Kafka ProducerPerformance) before the cluster starts; the job reads it from the earliest offset. Rate = backlog / (time the last record is visible to a read_committed reader of the sink topic (Kafka\'s Java consumer) - time every task of the job switched to RUNNING, from Flink\'s subtasktimes). Exactly-once output becomes visible only at checkpoint commits, so its figure includes waiting for the last commit.',
  latency: 'After the backlog, records are appended at a fixed rate; each carries its append time in its ts field. Latency = time the read_committed reader (Kafka\'s Java consumer) receives the record - ts (one machine, one clock); nearest-rank p50/p99 over every record of the window.',
  recovery: 'Appending continues; TaskManager 1 of 2 is SIGKILLed and a replacement started at once. The standby variant (exactly-once only) is the generated configuration with standbyTaskManagers: ' + STANDBY_TASK_MANAGERS + ' (which also sets heartbeat.interval: 1s): its third TaskManager is started once the job runs on the first two (so the kill hits a busy one) and is registered and idle at the kill; standbyOnly is the same with ' + JSON.stringify(STANDBY_ONLY_OVERRIDES) + ' (the spare TaskManager alone); spare is the generated configuration with spareSlotsPerTaskManager: ' + SPARE_SLOTS + ' (the same two TaskManagers, each running one of the job\'s two slots and keeping ' + SPARE_SLOTS + ' free, checked before the kill; heartbeat.interval: 1s), so the survivor takes over the killed one\'s tasks in its own JVM. From the kill: failure detected = first entry of the job\'s exception history; RUNNING = every subtask RUNNING in a new attempt (latest RUNNING timestamp of subtasktimes); caught up = first moment after that at which every record appended up to one checkpoint interval earlier is visible to the read_committed reader. Every appended record must arrive (none lost), and none twice under exactly-once.',
  ceiling: 'Kafka\'s own Java perf tools on the same broker and the same records: ProducerPerformance (acks=all, idempotence, linger.ms=5, batch.size=16384: the client defaults Flink\'s Kafka sink runs with) and ConsumerPerformance (read_committed, fetch rate without the group join). A Kafka-to-Kafka job cannot beat min(produce, consume).',
  stock: 'Same synthesized objects (job, container args, log4j file), with config.yaml replaced by the Flink distribution\'s own conf/config.yaml in which only the keys of configs.stockKeeps are set to the generated values. Addresses and ports are overridden at start for both (-D, 127.0.0.1, free ports).',
  comparison: 'Each run (round) measures the configurations one after the other on the same broker, rotating which goes first; ratios are generated/stock (and standby/stock, standby/generated) within a round, then median, min, max over rounds.',
};

function defaultLog(m: string): void {
  process.stderr.write(`[runtime-bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
}

async function measureCeiling(kafka: KafkaBroker, tools: PerfTools, topic: string, n: number, work: string): Promise<{ produce: number; consume: number; reader: number }> {
  await kafka.createTopic(topic, 2);
  try {
    const produce = (await tools.produce(topic, n)).recordsPerSec;
    const consume = (await tools.consume(topic, n)).recordsPerSec;
    // The benchmark's own reader of sink topics over the same records: it must be faster than Flink.
    let first: number | undefined;
    let last: number | undefined;
    const reader = await startCommittedReader(kafka.bootstrap, topic, work, {
      onPreload(count, at) {
        first ??= at;
        if (last === undefined && count >= n) last = at;
      },
      onSeq() { /* none here */ },
    });
    try {
      const deadline = Date.now() + 120_000;
      while (last === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (last === undefined) throw new Error(`the committed reader did not see all ${n} records of ${topic} within 120 s`);
    } finally {
      await reader.stop();
    }
    // first poll with records to the last: the reader's rate, start-up excluded
    const readerRate = n / (Math.max(1, last - first!) / 1000);
    return { produce, consume, reader: readerRate };
  } finally {
    const admin = kafka.client(`${topic}-admin`).admin();
    await admin.connect().then(() => admin.deleteTopics({ topics: [topic], timeout: 30_000 })).catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
  }
}

function ratio(gen: number[], stock: number[], target: string, test: (r: number) => boolean, stockRuns?: number[]): Ratio {
  const rs = gen.map((g, i) => g / stock[i]).filter((x) => Number.isFinite(x));
  const s = stat('ratio', rs);
  const out: Ratio = { ...s, target, met: s.median === null ? null : test(s.median) };
  if (stockRuns) {
    const st = stockRuns.filter(Number.isFinite);
    const m = median(st);
    const spread = m && st.length >= 2 ? (Math.max(...st) - Math.min(...st)) / m : null;
    out.withinNoise = s.median === null || spread === null ? null : s.median >= 1 - spread;
  }
  return out;
}

export async function runRuntimeBench(opts: RuntimeBenchOptions): Promise<RuntimeBenchResult> {
  const log = opts.log ?? defaultLog;
  const size = opts.quick ? SIZES.quick : SIZES.full;
  const runs = opts.runs ?? size.runs;
  const deliveries = opts.deliveries ?? DELIVERY_MODES;
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`runs: ${runs} is invalid; expected an integer from 1 to 20`);
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const loadBefore = os.loadavg();
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-runtime-bench-'));
  const errors: string[] = [];
  const failureLogDir = path.join(os.tmpdir(), `cdk8s-flink-runtime-bench-logs-${startedAt.replace(/[:.]/g, '')}`);
  let kafka: KafkaBroker | undefined;
  try {
    log(`Flink ${FLINK_VERSION} home and Kafka ${KAFKA_VERSION} (downloaded into the cache on first use)`);
    const home = await layoutFlinkHome(FLINK_VERSION, FLINK_LINE, path.join(workRoot, 'flink'));
    kafka = await startKafka({ heap: '768m', dataDir: path.join(workRoot, 'kafka') });
    const payloads = preloadPayloads();
    const tools = await perfTools(kafka.bootstrap, path.join(workRoot, 'tools'), payloads);

    // The two configurations, for the report (the lifetimes build their own with their topics).
    const sampleObjects = benchObjects({
      bootstrap: kafka.bootstrap, sourceTopic: 'source', sinkTopic: 'sink', groupId: 'group', transactionalIdPrefix: 'tx',
      delivery: DeliveryGuarantee.EXACTLY_ONCE, stateBase: `file://${workRoot}/state`,
    });
    const generated = generatedConfig(sampleObjects);
    const stock = stockConfig(home, generated);

    const ceilingRuns = { produce: [] as number[], consume: [] as number[], reader: [] as number[] };
    const lifetimes: LifetimeResult[] = [];
    const byRound: Array<Partial<Record<DeliveryGuarantee, Partial<Record<ConfigKind, LifetimeResult>>>>> = [];
    const ceilingByRound: number[] = [];
    for (let round = 0; round < runs; round++) {
      const load = os.loadavg()[0];
      if (load > os.cpus().length * 1.5) log(`warning: load average ${load.toFixed(1)} on ${os.cpus().length} CPUs: other work on the machine skews these figures`);
      log(`run ${round + 1} of ${runs}: Kafka ceiling`);
      try {
        const c = await measureCeiling(kafka, tools, `ceiling-${round}`, size.records, workRoot);
        ceilingRuns.produce.push(c.produce);
        ceilingRuns.consume.push(c.consume);
        ceilingRuns.reader.push(c.reader);
        ceilingByRound[round] = Math.min(c.produce, c.consume);
        log(`run ${round + 1}: produce ${Math.round(c.produce)}/s, consume ${Math.round(c.consume)}/s, sink reader ${Math.round(c.reader)}/s`);
      } catch (e) {
        errors.push(`run ${round + 1} ceiling: ${(e as Error).message.split('\n')[0]}`);
        log(`run ${round + 1}: ceiling failed: ${(e as Error).message}`);
      }
      byRound[round] = {};
      for (const delivery of deliveries) {
        const kinds: ConfigKind[] = RECOVERY_MODES.includes(delivery) ? ['standby', 'generated', 'spare', 'standbyOnly', 'stock'] : ['generated', 'stock'];
        const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
        for (const config of order) {
          const tag = `r${round + 1}-${delivery === DeliveryGuarantee.EXACTLY_ONCE ? 'eo' : 'alo'}-${{ generated: 'gen', stock: 'stock', standby: 'sb', standbyOnly: 'sb5s', spare: 'sp' }[config]}`;
          log(`run ${round + 1}: ${config} configuration, ${delivery}`);
          try {
            const r = await runLifetime({
              kafka, tools, home, work: workRoot, tag, config, delivery, records: size.records,
              latencyRate: size.latencyRate, latencySeconds: size.latencySeconds, recovery: RECOVERY_MODES.includes(delivery), failureLogDir, log,
            });
            lifetimes.push(r);
            (byRound[round][delivery] ??= {})[config] = r;
          } catch (e) {
            errors.push(`${tag}: ${(e as Error).message.split('\n')[0]}`);
          }
        }
      }
    }

    const pick = (d: DeliveryGuarantee, c: ConfigKind, f: (r: LifetimeResult) => number | null | undefined) =>
      byRound.map((r) => { const l = r[d]?.[c]; const v = l ? f(l) : undefined; return v === null || v === undefined ? NaN : v; });
    const point = (d: DeliveryGuarantee, c: ConfigKind): RuntimePoint => ({
      throughput: stat('records/s', pick(d, c, (r) => r.throughput.recordsPerSec)),
      cpuPerRecord: stat('us/record', pick(d, c, (r) => r.throughput.cpuUsPerRecord)),
      startup: stat('ms', pick(d, c, (r) => r.startupMs)),
      latencyP50: stat('ms', pick(d, c, (r) => r.latency?.p50Ms)),
      latencyP99: stat('ms', pick(d, c, (r) => r.latency?.p99Ms)),
      latencyMax: stat('ms', pick(d, c, (r) => r.latency?.maxMs)),
      recoveryFailureDetected: stat('ms', pick(d, c, (r) => r.recovery?.failureDetectedMs)),
      recoveryReplacementRegistered: stat('ms', pick(d, c, (r) => r.recovery?.replacementRegisteredMs)),
      recoveryKilledReleased: stat('ms', pick(d, c, (r) => r.recovery?.killedReleasedMs)),
      recoveryDeployed: stat('ms', pick(d, c, (r) => r.recovery?.deployedMs)),
      recoveryFailovers: stat('failovers', pick(d, c, (r) => r.recovery?.failovers)),
      recoveryRunning: stat('ms', pick(d, c, (r) => r.recovery?.runningMs)),
      recoveryCaughtUp: stat('ms', pick(d, c, (r) => r.recovery?.caughtUpMs)),
      duplicatesAfterKill: stat('records', pick(d, c, (r) => r.recovery?.duplicates)),
      checkpointAvgDuration: stat('ms', pick(d, c, (r) => r.checkpoints.avgEndToEndMs)),
      lifetimes: lifetimes.filter((l) => l.delivery === d && l.config === c),
    });
    const points = {} as RuntimeBenchResult['points'];
    const comparison = {} as RuntimeBenchResult['comparison'];
    for (const d of deliveries) {
      points[d] = { generated: point(d, 'generated'), stock: point(d, 'stock'), ...(RECOVERY_MODES.includes(d) ? { standby: point(d, 'standby'), standbyOnly: point(d, 'standbyOnly'), spare: point(d, 'spare') } : {}) };
      const g = (f: (r: LifetimeResult) => number | null | undefined) => pick(d, 'generated', f);
      const s = (f: (r: LifetimeResult) => number | null | undefined) => pick(d, 'stock', f);
      const thr = (r: LifetimeResult) => r.throughput.recordsPerSec;
      comparison[d] = {
        throughput: ratio(g(thr), s(thr), 'generated >= stock (ratio >= 1)', (x) => x >= 1, s(thr)),
        cpuPerRecord: ratio(g((r) => r.throughput.cpuUsPerRecord), s((r) => r.throughput.cpuUsPerRecord), 'generated <= stock (ratio <= 1)', (x) => x <= 1),
        recoveryRunning: ratio(g((r) => r.recovery?.runningMs), s((r) => r.recovery?.runningMs), 'generated <= stock / 3 (ratio <= 0.333)', (x) => x <= 1 / 3),
        recoveryCaughtUp: ratio(g((r) => r.recovery?.caughtUpMs), s((r) => r.recovery?.caughtUpMs), 'generated <= stock / 3 (ratio <= 0.333)', (x) => x <= 1 / 3),
        latencyP99: ratio(g((r) => r.latency?.p99Ms), s((r) => r.latency?.p99Ms), 'no target; lower is better', () => true),
        generatedOfCeiling: stat('fraction', g(thr).map((x, i) => x / ceilingByRound[i])),
        stockOfCeiling: stat('fraction', s(thr).map((x, i) => x / ceilingByRound[i])),
      };
      comparison[d].latencyP99.met = null;
      if (RECOVERY_MODES.includes(d)) {
        const run = (r: LifetimeResult) => r.recovery?.runningMs;
        const up = (r: LifetimeResult) => r.recovery?.caughtUpMs;
        const third = (x: number) => x <= 1 / 3;
        for (const k of ['standby', 'standbyOnly', 'spare'] as const) {
          const b = (f: (r: LifetimeResult) => number | null | undefined) => pick(d, k, f);
          const vsGenerated = (f: (r: LifetimeResult) => number | null | undefined) => ({ ...ratio(b(f), g(f), `no target; below 1 is what ${k} buys`, () => true), met: null });
          comparison[d][k] = {
            recoveryRunning: ratio(b(run), s(run), `${k} <= stock / 3 (ratio <= 0.333)`, third),
            recoveryCaughtUp: ratio(b(up), s(up), `${k} <= stock / 3 (ratio <= 0.333)`, third),
            recoveryRunningVsGenerated: vsGenerated(run),
            recoveryCaughtUpVsGenerated: vsGenerated(up),
          };
        }
      }
    }
    const recordBytes = payloads.map((p) => Buffer.byteLength(p));
    return {
      kind: 'runtime',
      quick: opts.quick,
      runs,
      startedAt,
      durationMs: Date.now() - t0,
      machine: {
        cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100), loadAverageAfter: os.loadavg().map((x) => Math.round(x * 100) / 100), node: process.version,
      },
      versions: { flink: FLINK_VERSION, kafkaBroker: KAFKA_VERSION, kafkaTools: KAFKA_VERSION },
      job: {
        name: JOB_NAME,
        pipeline: 'Kafka JSON (id, ts, service, level, message) -> WHERE id IS NOT NULL -> COUNT(*) OVER (PARTITION BY service) -> Kafka JSON',
        parallelism: PARALLELISM, taskManagers: Math.ceil(PARALLELISM / TASK_MANAGER_SLOTS), slotsPerTaskManager: TASK_MANAGER_SLOTS,
        checkpointIntervalMs: CHECKPOINT_INTERVAL_MS, sourcePartitions: 2, sinkPartitions: 2,
        backlogRecords: size.records, recordBytes: { min: Math.min(...recordBytes), max: Math.max(...recordBytes) },
        latencyRate: size.latencyRate, latencySeconds: size.latencySeconds,
      },
      method: METHOD,
      configs: { generated, stock, stockKeeps: STOCK_KEEPS, differences: configDifferences(generated, stock) },
      ceiling: {
        produce: stat('records/s', ceilingRuns.produce),
        consume: stat('records/s', ceilingRuns.consume),
        produceThenConsume: stat('records/s', ceilingRuns.produce.map((p, i) => 1 / (1 / p + 1 / ceilingRuns.consume[i]))),
        reader: stat('records/s', ceilingRuns.reader),
        producerSettings: PRODUCER_PROPS,
      },
      points,
      comparison,
      errors,
    };
  } finally {
    await kafka?.stop().catch(() => undefined);
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}

/** A plain-text table of the result (medians, [min-max], ratios). */
export function formatRuntimeSummary(r: RuntimeBenchResult): string {
  const f = (s: Stat, unit = '') => (s.median === null ? 'n/a' : `${fmt(s.median)}${unit} [${fmt(s.min!)}-${fmt(s.max!)}]`);
  const lines: string[] = [];
  lines.push(`Runtime benchmark: Flink ${r.versions.flink}, Kafka ${r.versions.kafkaBroker}, ${r.runs} run(s), ${r.job.backlogRecords} records, ${r.machine.cpus} CPUs; median [min-max]`);
  lines.push(`Kafka ceiling: produce ${f(r.ceiling.produce, '/s')}, consume ${f(r.ceiling.consume, '/s')}, produce-then-consume ${f(r.ceiling.produceThenConsume, '/s')}`);
  for (const d of Object.keys(r.points) as DeliveryGuarantee[]) {
    const c = r.comparison[d];
    for (const k of ['generated', 'stock', 'standby', 'standbyOnly', 'spare'] as ConfigKind[]) {
      const p = r.points[d][k];
      if (!p) continue;
      const rec = p.recoveryRunning.median === null ? '' : `  recovery RUNNING ${f(p.recoveryRunning, ' ms')} caught up ${f(p.recoveryCaughtUp, ' ms')}`;
      lines.push(`${d.padEnd(13)} ${k.padEnd(11)} throughput ${f(p.throughput, '/s')} (${f(p.cpuPerRecord, ' us CPU/record')})  latency p50 ${f(p.latencyP50, ' ms')} p99 ${f(p.latencyP99, ' ms')}${rec}`);
    }
    const mark = (x: boolean | null | undefined) => (x === null || x === undefined ? 'n/a' : x ? 'met' : 'NOT met');
    const rec = c.recoveryRunning.median === null ? '' : `, recovery RUNNING ${f(c.recoveryRunning)} (${mark(c.recoveryRunning.met)}), caught up ${f(c.recoveryCaughtUp)} (${mark(c.recoveryCaughtUp.met)})`;
    for (const k of ['standby', 'standbyOnly', 'spare'] as const) {
      const sb = c[k];
      if (sb) lines.push(`${d.padEnd(13)} ${k}/stock: recovery RUNNING ${f(sb.recoveryRunning)} (${mark(sb.recoveryRunning.met)}), caught up ${f(sb.recoveryCaughtUp)} (${mark(sb.recoveryCaughtUp.met)}); ${k}/generated: RUNNING ${f(sb.recoveryRunningVsGenerated)}, caught up ${f(sb.recoveryCaughtUpVsGenerated)}`);
    }
    lines.push(`${d.padEnd(13)} generated/stock: throughput ${f(c.throughput)} (${mark(c.throughput.met)}${c.throughput.met ? '' : `, within noise: ${c.throughput.withinNoise ?? 'n/a'}`}), CPU/record ${f(c.cpuPerRecord)}${rec}; of ceiling ${f(c.generatedOfCeiling)}`);
  }
  if (r.errors.length) lines.push(`errors: ${r.errors.join('; ')}`);
  return lines.join('\n');
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100);
}

function parseArgs(argv: string[]): { quick: boolean; runs?: number; out?: string; deliveries?: DeliveryGuarantee[] } {
  const a: { quick: boolean; runs?: number; out?: string; deliveries?: DeliveryGuarantee[] } = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--quick') a.quick = true;
    else if (x === '--runs') {
      const v = argv[++i];
      if (!/^\d+$/.test(v ?? '')) throw new Error(`--runs: ${v ?? '(missing)'} is invalid; expected a whole number such as 3`);
      a.runs = Number(v);
    } else if (x === '--out') {
      a.out = argv[++i];
      if (!a.out) throw new Error('--out: (missing) is invalid; expected a file name such as runtime.json');
    } else if (x === '--delivery') {
      const v = argv[++i];
      const d = DELIVERY_MODES.find((m) => m === v);
      if (!d) throw new Error(`--delivery: ${v ?? '(missing)'} is invalid; expected one of ${DELIVERY_MODES.join(', ')}`);
      a.deliveries = [...(a.deliveries ?? []), d];
    } else throw new Error(`${x}: unknown argument; expected --quick, --runs N, --delivery MODE or --out file.json`);
  }
  return a;
}

if (require.main === module) {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`runtime-bench: error: ${(e as Error).message}\n`);
    process.exit(1);
  }
  runRuntimeBench({ quick: args.quick, runs: args.runs, deliveries: args.deliveries }).then((r) => {
    const json = JSON.stringify(r, null, 2) + '\n';
    if (args.out) fs.writeFileSync(args.out, json);
    else process.stdout.write(json);
    process.stderr.write(formatRuntimeSummary(r) + '\n');
    process.exit(r.errors.length ? 2 : 0);
  }, (e: Error) => {
    process.stderr.write(`runtime-bench: error: ${e.message}\n`);
    process.exit(1);
  });
}
