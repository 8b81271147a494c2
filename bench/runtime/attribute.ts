/**
 * Which generated key costs throughput: the runtime benchmark's throughput phase (a pre-loaded
 * backlog through the audit-logs job on local Flink 2.2.1 and Kafka, read read_committed) for
 * stock Flink, the generated configuration, and the generated configuration with one of its
 * differing keys taken back to what stock runs (leave-one-out), then with all of them taken
 * back; every variant once per round, rotated, so that ratios come from the same round.
 *
 * Every key where the two configurations differ is either a candidate (it can act on the
 * records' path: memory, checkpoint cadence, metrics work) or excluded with its reason
 * (EXCLUDED): a key that acts only on a failure, on cancel, at the end of the job, or that
 * restates Flink's default. A new difference that is neither fails `attributionVariants`, so it
 * is classified before it is measured.
 *
 *   node build/bench/runtime/attribute.js [--quick] [--runs N] [--delivery MODE] [--keys k1,k2] [--out file.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeliveryGuarantee } from '../../lib';
import { layoutFlinkHome } from '../../lib/local/flink-dist';
import { KAFKA_VERSION, KafkaBroker, startKafka } from '../../test/support/kafka';
import { benchObjects, ConfigDifference, configDifferences, DELIVERY_MODES, FLINK_LINE, FLINK_VERSION, generatedConfig, stockConfig } from './job';
import { perfTools } from './kafka-perf';
import { LifetimeResult, preloadPayloads, runLifetime } from './lifetime';
import { Stat, stat } from './stats';

type Config = Record<string, string | number | boolean>;

/**
 * Differences that cannot act on the throughput phase, and why. Keys of addresses and ports are
 * not differences (runCluster sets both sides alike).
 */
export const EXCLUDED: Record<string, string> = {
  'env.java.default-opts.all': 'the same Java 17 module flags that stock sets under env.java.opts.all',
  'env.java.opts.all': 'the same Java 17 module flags that the generated file sets under env.java.default-opts.all',
  'execution.checkpointing.externalized-checkpoint-retention': 'acts when the job is cancelled',
  'execution.checkpointing.savepoint-dir': 'acts when a savepoint is taken',
  'execution.checkpointing.tolerable-failed-checkpoints': 'acts when a checkpoint fails (none does in the phase; a failure fails the lifetime)',
  'execution.shutdown-on-application-finish': 'acts when the job ends',
  'heartbeat.interval': 'acts when a TaskManager is lost (a heartbeat every few seconds costs nothing measurable)',
  'heartbeat.timeout': 'acts when a TaskManager is lost',
  'io.tmp.dirs': 'the same folder as Java\'s java.io.tmpdir, which stock uses (/tmp)',
  'jobmanager.execution.failover-strategy': 'acts on a failure; stock sets region, Flink\'s default, which the generated file leaves to it',
  'pipeline.name': 'the job\'s name',
  'restart-strategy.exponential-delay.max-backoff': 'acts after a failure',
  'restart-strategy.exponential-delay.reset-backoff-threshold': 'acts after a failure',
};

/** One configuration the attribution measures. */
export interface AttributionVariant {
  /** 'stock', 'generated', 'without <key>' or 'without all candidates' */
  readonly name: string;
  readonly config: 'stock' | 'generated';
  /** keys removed from the generated file (Flink's default applies, as in stock) */
  readonly without: readonly string[];
  /** keys set to stock's value */
  readonly overrides: Config;
}

export interface AttributionPlan {
  readonly candidates: string[];
  readonly excluded: Array<{ key: string; reason: string }>;
  readonly variants: AttributionVariant[];
}

/**
 * The variants for the differences between the generated and the stock file: stock, generated,
 * one per candidate key (`keys` narrows them), and all candidates together when there are
 * several. Throws for a difference that is neither a candidate nor excluded with a reason.
 */
export function attributionVariants(differences: readonly ConfigDifference[], stock: Config, keys?: readonly string[]): AttributionPlan {
  const candidates: string[] = [];
  const excluded: Array<{ key: string; reason: string }> = [];
  for (const d of differences) {
    if (d.restatesDefault) excluded.push({ key: d.key, reason: `restates Flink's default (${d.flinkDefault})` });
    else if (EXCLUDED[d.key]) excluded.push({ key: d.key, reason: EXCLUDED[d.key] });
    else if (d.generated !== undefined) candidates.push(d.key);
    else throw new Error(`${d.key}: stock sets it and the generated file does not; classify it in EXCLUDED or measure it`);
  }
  for (const k of keys ?? []) {
    if (!candidates.includes(k)) throw new Error(`--keys: "${k}" is not a candidate; expected one of ${candidates.join(', ')}`);
  }
  const chosen = keys?.length ? candidates.filter((k) => keys.includes(k)) : candidates;
  const back = (ks: readonly string[]): Pick<AttributionVariant, 'without' | 'overrides'> => ({
    without: ks.filter((k) => stock[k] === undefined),
    overrides: Object.fromEntries(ks.filter((k) => stock[k] !== undefined).map((k) => [k, stock[k]])),
  });
  const variants: AttributionVariant[] = [
    { name: 'stock', config: 'stock', without: [], overrides: {} },
    { name: 'generated', config: 'generated', without: [], overrides: {} },
    ...chosen.map((k) => ({ name: `without ${k}`, config: 'generated' as const, ...back([k]) })),
    ...(chosen.length > 1 ? [{ name: 'without all candidates', config: 'generated' as const, ...back(chosen) }] : []),
  ];
  return { candidates: chosen, excluded, variants };
}

/** A variant over all rounds. */
export interface AttributionPoint {
  readonly name: string;
  readonly throughput: Stat;
  readonly cpuPerRecord: Stat;
  /** this / stock within each round */
  readonly ofStock: Stat;
  /** this / generated within each round: above 1 is what taking the key back buys */
  readonly ofGenerated: Stat;
  readonly checkpointAvgMs: Stat;
}

/** Per-variant statistics from per-round results (a missing lifetime is NaN, left out). */
export function attributionPoints(names: readonly string[], rounds: ReadonlyArray<Record<string, LifetimeResult | undefined>>): AttributionPoint[] {
  const per = (name: string, f: (r: LifetimeResult) => number | null | undefined) => rounds.map((r) => {
    const v = r[name] ? f(r[name]!) : undefined;
    return v === null || v === undefined ? NaN : v;
  });
  const thr = (r: LifetimeResult) => r.throughput.recordsPerSec;
  const stock = per('stock', thr);
  const generated = per('generated', thr);
  return names.map((name) => {
    const mine = per(name, thr);
    return {
      name,
      throughput: stat('records/s', mine),
      cpuPerRecord: stat('us/record', per(name, (r) => r.throughput.cpuUsPerRecord)),
      ofStock: stat('ratio', mine.map((x, i) => x / stock[i])),
      ofGenerated: stat('ratio', mine.map((x, i) => x / generated[i])),
      checkpointAvgMs: stat('ms', per(name, (r) => r.checkpoints.avgEndToEndMs)),
    };
  });
}

export interface AttributionResult {
  kind: 'runtime-attribution';
  startedAt: string;
  durationMs: number;
  command: string;
  quick: boolean;
  runs: number;
  records: number;
  delivery: DeliveryGuarantee;
  machine: { cpus: number; loadAverageBefore: number[]; loadAverageAfter: number[] };
  versions: { flink: string; kafka: string };
  method: string;
  candidates: string[];
  excluded: Array<{ key: string; reason: string }>;
  variants: AttributionVariant[];
  points: AttributionPoint[];
  /** every lifetime, in run order */
  lifetimes: Array<{ round: number; variant: string; tag: string; recordsPerSec: number; ms: number; firstOutputMs: number | null; cpuUsPerRecord: number | null; checkpointAvgMs: number | null; loadAverage: [number, number] }>;
  errors: string[];
}

const METHOD = 'Throughput phase of the runtime benchmark only (bench/runtime/lifetime.ts with throughputOnly): the source topic is pre-loaded with the backlog before the cluster starts; rate = backlog / (last record visible to a read_committed reader - every task RUNNING). Each round runs every variant once on the same broker, rotating which goes first; ratios are taken within a round, then median, min and max over rounds. A variant\'s removed keys and overrides are checked in the JobManager\'s configuration before it is measured.';

export interface AttributionOptions {
  readonly quick: boolean;
  readonly runs: number;
  readonly delivery: DeliveryGuarantee;
  readonly keys?: readonly string[];
  readonly command: string;
  readonly log: (m: string) => void;
}

export async function runAttribution(o: AttributionOptions): Promise<AttributionResult> {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const loadBefore = os.loadavg();
  const records = o.quick ? 20_000 : 200_000;
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-attribution-'));
  const failureLogDir = path.join(os.tmpdir(), `cdk8s-flink-attribution-logs-${startedAt.replace(/[:.]/g, '')}`);
  let kafka: KafkaBroker | undefined;
  const errors: string[] = [];
  try {
    const home = await layoutFlinkHome(FLINK_VERSION, FLINK_LINE, path.join(workRoot, 'flink'));
    kafka = await startKafka({ heap: '768m', dataDir: path.join(workRoot, 'kafka') });
    const tools = await perfTools(kafka.bootstrap, path.join(workRoot, 'tools'), preloadPayloads());
    const sample = benchObjects({
      bootstrap: kafka.bootstrap, sourceTopic: 'source', sinkTopic: 'sink', groupId: 'group', transactionalIdPrefix: 'tx',
      delivery: o.delivery, stateBase: `file://${workRoot}/state`,
    });
    const generated = generatedConfig(sample);
    const stock = stockConfig(home, generated);
    const plan = attributionVariants(configDifferences(generated, stock), stock, o.keys);
    o.log(`candidates: ${plan.candidates.join(', ')}; ${plan.variants.length} variants x ${o.runs} round(s) of ${records} records`);
    const rounds: Array<Record<string, LifetimeResult | undefined>> = [];
    const lifetimes: AttributionResult['lifetimes'] = [];
    for (let round = 0; round < o.runs; round++) {
      rounds[round] = {};
      const order = plan.variants.map((_, i) => plan.variants[(i + round) % plan.variants.length]);
      for (const [i, v] of order.entries()) {
        const tag = `r${round + 1}-v${plan.variants.indexOf(v)}`;
        o.log(`round ${round + 1} of ${o.runs}, ${i + 1} of ${order.length}: ${v.name}`);
        try {
          const r = await runLifetime({
            kafka, tools, home, work: workRoot, tag, config: v.config, delivery: o.delivery, records,
            latencyRate: 0, latencySeconds: 0, recovery: false, throughputOnly: true,
            without: v.without, overrides: Object.keys(v.overrides).length ? v.overrides : undefined, failureLogDir, log: o.log,
          });
          rounds[round][v.name] = r;
          lifetimes.push({
            round: round + 1, variant: v.name, tag, recordsPerSec: Math.round(r.throughput.recordsPerSec), ms: r.throughput.ms,
            firstOutputMs: r.throughput.firstOutputMs, cpuUsPerRecord: r.throughput.cpuUsPerRecord, checkpointAvgMs: r.checkpoints.avgEndToEndMs, loadAverage: r.loadAverage,
          });
        } catch (e) {
          errors.push(`${tag} (${v.name}): ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    return {
      kind: 'runtime-attribution', startedAt, durationMs: Date.now() - t0, command: o.command, quick: o.quick, runs: o.runs, records, delivery: o.delivery,
      machine: { cpus: os.cpus().length, loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100), loadAverageAfter: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      versions: { flink: FLINK_VERSION, kafka: KAFKA_VERSION },
      method: METHOD, candidates: plan.candidates, excluded: plan.excluded, variants: plan.variants,
      points: attributionPoints(plan.variants.map((v) => v.name), rounds), lifetimes, errors,
    };
  } finally {
    await kafka?.stop().catch(() => undefined);
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}

/** A plain-text table: per variant, throughput and its ratios to stock and to generated, median [min-max]. */
export function formatAttribution(r: AttributionResult): string {
  const f = (s: Stat, unit = '') => (s.median === null ? 'n/a' : `${fmt(s.median)}${unit} [${fmt(s.min!)}-${fmt(s.max!)}]`);
  const width = Math.max(...r.points.map((p) => p.name.length));
  const lines = [`Throughput attribution: Flink ${r.versions.flink}, ${r.delivery}, ${r.runs} round(s) of ${r.records} records, ${r.machine.cpus} CPUs; median [min-max]`];
  for (const p of r.points) {
    lines.push(`${p.name.padEnd(width)}  ${f(p.throughput, '/s')}  of stock ${f(p.ofStock)}  of generated ${f(p.ofGenerated)}  CPU ${f(p.cpuPerRecord, ' us/record')}  checkpoint ${f(p.checkpointAvgMs, ' ms')}`);
  }
  if (r.points.some((p) => p.name.startsWith('without '))) lines.push('("without <key>": the generated file with that key as stock has it; above 1 "of generated" is what that buys)');
  if (r.errors.length) lines.push(`errors: ${r.errors.join('; ')}`);
  return lines.join('\n');
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100);
}

export function parseAttributionArgs(argv: readonly string[]): { quick: boolean; runs: number; delivery: DeliveryGuarantee; keys?: string[]; out?: string } {
  const a: { quick: boolean; runs: number; delivery: DeliveryGuarantee; keys?: string[]; out?: string } = { quick: false, runs: 3, delivery: DeliveryGuarantee.EXACTLY_ONCE };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${x}: (missing) is invalid; expected a value after it`);
      return v;
    };
    if (x === '--quick') a.quick = true;
    else if (x === '--runs') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 20) throw new Error(`--runs: ${v} is invalid; expected a whole number from 1 to 20`);
      a.runs = Number(v);
    } else if (x === '--delivery') {
      const v = value();
      const d = DELIVERY_MODES.find((m) => m === v);
      if (!d) throw new Error(`--delivery: ${v} is invalid; expected one of ${DELIVERY_MODES.join(', ')}`);
      a.delivery = d;
    } else if (x === '--keys') a.keys = value().split(',').filter(Boolean);
    else if (x === '--out') a.out = value();
    else throw new Error(`${x}: unknown argument; expected --quick, --runs N, --delivery MODE, --keys k1,k2 or --out file.json`);
  }
  return a;
}

if (require.main === module) {
  let args: ReturnType<typeof parseAttributionArgs>;
  try {
    args = parseAttributionArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`attribution: error: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const log = (m: string) => process.stderr.write(`[attribution ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  const command = ['node build/bench/runtime/attribute.js', ...process.argv.slice(2).map((x, i, all) => (all[i - 1] === '--out' ? '<file>' : x))].join(' ');
  runAttribution({ quick: args.quick, runs: args.runs, delivery: args.delivery, keys: args.keys, command, log }).then((r) => {
    const json = JSON.stringify(r, null, 2) + '\n';
    if (args.out) fs.writeFileSync(args.out, json);
    else process.stdout.write(json);
    process.stderr.write(formatAttribution(r) + '\n');
    process.exit(r.errors.length ? 2 : 0);
  }, (e: Error) => {
    process.stderr.write(`attribution: error: ${e.message}\n`);
    process.exit(1);
  });
}
