/**
 * The job the runtime benchmark runs, and its two configurations.
 *
 * The job is the audit-logs pipeline of examples/platform.ts (Kafka JSON -> filter -> per-service
 * running count -> Kafka sink), built with the toolkit's constructs, on Flink 2.2, without the
 * example's file archive sink (the benchmark measures the Kafka path).
 *
 * - generated: the synthesized config.yaml as it is (runCluster overrides only addresses and ports).
 * - stock: the same objects (job, container args, log4j file, hand-off) with the ConfigMap's
 *   config.yaml replaced by the Flink distribution's own conf/config.yaml, changed only where the
 *   job needs it: memory process sizes, slots, parallelism, and checkpointing (interval and
 *   directory, needed by the exactly-once sink). Every other key is at Flink's default.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import {
  DeliveryGuarantee, FieldType, FlinkPlatform, FlinkVersion, JobSource, LogPipeline, Sink,
} from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { emitYaml } from '../../lib/synth/yaml';

export const JOB_NAME = 'runtime-bench';
export const FLINK_VERSION = '2.2.1';
export const FLINK_LINE = '2.2';
export const PARALLELISM = 2;
export const TASK_MANAGER_SLOTS = 1;
export const CHECKPOINT_INTERVAL_MS = 2000;

/**
 * generated: the synthesized configuration; stock: Flink's own; standby: the generated one with
 * `standbyTaskManagers: 1` (a TaskManager beyond what the parallelism needs, and the 1 s
 * heartbeat that option sets); standbyOnly: the same with the default 5 s heartbeat back (what
 * the spare TaskManager alone buys); spare: the generated one with `spareSlotsPerTaskManager: 1`
 * (the same two TaskManagers, each with one slot for the job and one spare, the job spread over
 * both; the 1 s heartbeat). The standby and spare variants are measured for recovery only.
 */
export type ConfigKind = 'generated' | 'stock' | 'standby' | 'standbyOnly' | 'spare';
/** What the standbyOnly variant sets over the standby variant's configuration. */
export const STANDBY_ONLY_OVERRIDES: Record<string, string> = { 'heartbeat.interval': '5s' };
/** Standby TaskManagers of the `standby` variant. */
export const STANDBY_TASK_MANAGERS = 1;
/** Spare slots per TaskManager of the `spare` variant. */
export const SPARE_SLOTS = 1;
export const DELIVERY_MODES = [DeliveryGuarantee.AT_LEAST_ONCE, DeliveryGuarantee.EXACTLY_ONCE] as const;

/** The audit log record of examples/platform.ts. */
export const APP_LOG = {
  id: FieldType.STRING,
  ts: FieldType.TIMESTAMP,
  service: FieldType.STRING,
  level: FieldType.STRING,
  message: FieldType.STRING,
};

export interface BenchJobOptions {
  readonly bootstrap: string;
  readonly sourceTopic: string;
  readonly sinkTopic: string;
  readonly groupId: string;
  readonly transactionalIdPrefix: string;
  readonly delivery: DeliveryGuarantee;
  /** file:// base of checkpoints and savepoints */
  readonly stateBase: string;
  /** @default 0 */
  readonly standbyTaskManagers?: number;
  /** @default 0 */
  readonly spareSlotsPerTaskManager?: number;
}

/** The synthesized objects of the benchmark job (generated configuration). */
export function benchObjects(o: BenchJobOptions): any[] {
  const platform = new FlinkPlatform({ storageBaseDirectory: o.stateBase });
  platform.addApplication(JOB_NAME, {
    flinkVersion: FlinkVersion.V2_2,
    image: `flink:${FLINK_VERSION}-java17`,
    job: JobSource.pipeline(new LogPipeline({
      source: { bootstrapServers: o.bootstrap, topic: o.sourceTopic, groupId: o.groupId, fields: APP_LOG },
      filters: ['id IS NOT NULL'],
      countPerKey: { key: 'service' },
      // (a transactional id prefix only where there are transactions: at-least-once refuses one)
      sinks: [Sink.kafka({ bootstrapServers: o.bootstrap, topic: o.sinkTopic, deliveryGuarantee: o.delivery, ...(o.delivery === DeliveryGuarantee.EXACTLY_ONCE ? { transactionalIdPrefix: o.transactionalIdPrefix } : {}) })],
    })),
    parallelism: PARALLELISM,
    taskManagerSlots: TASK_MANAGER_SLOTS,
    checkpointInterval: Duration.millis(CHECKPOINT_INTERVAL_MS),
    standbyTaskManagers: o.standbyTaskManagers,
    spareSlotsPerTaskManager: o.spareSlotsPerTaskManager,
  });
  return synthesizeUnit(platform.unit(JOB_NAME)!).objects;
}

function configMap(objects: any[]): any {
  const cm = objects.find((x) => x.kind === 'ConfigMap' && x.metadata.name === `${JOB_NAME}-config`);
  if (!cm || typeof cm.data?.['config.yaml'] !== 'string') throw new Error(`${JOB_NAME}-config: ConfigMap with config.yaml not found among the synthesized objects`);
  return cm;
}

/** Flattens nested YAML maps into dotted keys (Flink 2.x reads both forms). */
export function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = Array.isArray(v) ? v.join(';') : (v as string | number | boolean);
  }
  return out;
}

export function generatedConfig(objects: any[]): Record<string, string | number | boolean> {
  return flatten(parseYaml(configMap(objects).data['config.yaml']) as Record<string, unknown>);
}

/** The keys the stock configuration changes in the distribution's config.yaml, and why. */
export const STOCK_KEEPS: Record<string, string> = {
  'jobmanager.memory.process.size': 'same process memory as the generated configuration',
  'taskmanager.memory.process.size': 'same process memory as the generated configuration',
  'taskmanager.numberOfTaskSlots': 'same slots',
  'parallelism.default': 'same parallelism',
  'execution.checkpointing.interval': 'same checkpoint interval (the Kafka sink commits on checkpoints)',
  'execution.checkpointing.dir': 'same checkpoint directory (exactly-once needs durable checkpoints; a restart restores from them)',
};

/**
 * The stock config.yaml: the Flink distribution's conf/config.yaml (Java 17 module flags,
 * localhost addresses that runCluster overrides, failover-strategy region = the built-in default)
 * with only the keys of STOCK_KEEPS taken from the generated configuration.
 */
export function stockConfig(flinkHome: string, generated: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  const dist = flatten(parseYaml(fs.readFileSync(path.join(flinkHome, 'conf', 'config.yaml'), 'utf8')) as Record<string, unknown>);
  const out: Record<string, string | number | boolean> = { ...dist };
  for (const k of Object.keys(STOCK_KEEPS)) {
    if (generated[k] === undefined) throw new Error(`the generated configuration has no ${k}; the stock configuration copies it`);
    out[k] = generated[k];
  }
  return out;
}

/** The same objects with the ConfigMap's config.yaml replaced. */
export function withConfig(objects: any[], config: Record<string, string | number | boolean>): any[] {
  const copy = JSON.parse(JSON.stringify(objects)) as any[];
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  configMap(copy).data['config.yaml'] = emitYaml(sorted).replace(/^\n/, '');
  return copy;
}

/**
 * Flink 2.2.1's built-in defaults of the keys where the two configurations differ (read from
 * the ConfigOption definitions of flink-dist 2.2.1), for the report. `null` = no default.
 */
export const FLINK_DEFAULTS: Record<string, string | null> = {
  'heartbeat.interval': '10s',
  'heartbeat.timeout': '50s',
  'restart-strategy.type': 'exponential-delay when checkpointing is on',
  'restart-strategy.exponential-delay.initial-backoff': '1s',
  'restart-strategy.exponential-delay.max-backoff': '1min',
  'restart-strategy.exponential-delay.backoff-multiplier': '1.5',
  'restart-strategy.exponential-delay.jitter-factor': '0.1',
  'restart-strategy.exponential-delay.reset-backoff-threshold': '1h',
  'taskmanager.memory.managed.fraction': '0.4',
  'execution.checkpointing.min-pause': '0s',
  'execution.checkpointing.max-concurrent-checkpoints': '1',
  'execution.checkpointing.tolerable-failed-checkpoints': '0',
  'execution.checkpointing.timeout': '10min',
  'execution.checkpointing.externalized-checkpoint-retention': 'NO_EXTERNALIZED_CHECKPOINTS',
  'execution.checkpointing.mode': 'EXACTLY_ONCE',
  'execution.checkpointing.unaligned.enabled': 'false',
  'execution.checkpointing.storage': 'filesystem when execution.checkpointing.dir is set',
  'execution.checkpointing.savepoint-dir': null,
  'execution.shutdown-on-application-finish': 'true',
  'state.backend.type': 'hashmap',
  'pipeline.max-parallelism': '128 for parallelism 2 (derived)',
  'pipeline.name': null,
  'io.tmp.dirs': 'java.io.tmpdir (/tmp)',
  'env.java.default-opts.all': null,
  'env.java.opts.all': null,
  'jobmanager.execution.failover-strategy': 'region',
};

/** What a difference can change at run time (for the report; addresses and ports are left out). */
const EFFECT: Record<string, string> = {
  'heartbeat.interval': 'recovery: a killed TaskManager is declared lost after heartbeat.rpc-failure-threshold (2) failed heartbeat RPCs, i.e. about two intervals, or at heartbeat.timeout',
  'heartbeat.timeout': 'recovery: upper bound for noticing a TaskManager that stopped answering',
  'restart-strategy.exponential-delay.backoff-multiplier': 'recovery: the delay before each further restart attempt grows 2x (generated) or 1.5x (stock)',
  'taskmanager.memory.managed.fraction': 'throughput: 0.1 leaves more JVM heap for the hashmap state backend and records (managed memory is unused by hashmap)',
  'execution.checkpointing.min-pause': 'exactly-once latency and throughput: at least this long between a checkpoint\'s end and the next, so commits are less frequent',
  'execution.checkpointing.tolerable-failed-checkpoints': 'none here (no checkpoint failed)',
  'execution.checkpointing.externalized-checkpoint-retention': 'none at run time (what is kept on cancel)',
  'metrics.reporter.prom.factory.class': 'a little CPU: the Prometheus reporter (generated) registers and serves every metric',
};

export interface ConfigDifference {
  key: string;
  generated?: string | number | boolean;
  stock?: string | number | boolean;
  flinkDefault?: string | null;
  /** the generated value only restates Flink's default: no difference at run time */
  restatesDefault?: boolean;
  effect?: string;
}

/** Keys that differ between the two files, addresses and ports (overridden at start) left out. */
export function configDifferences(generated: Record<string, string | number | boolean>, stock: Record<string, string | number | boolean>): ConfigDifference[] {
  const overridden = /^(jobmanager\.rpc\.(address|port)|jobmanager\.bind-host|taskmanager\.(bind-host|host|rpc\.port|data\.port)|rest\.(address|bind-address|port)|blob\.server\.port|metrics\.reporter\.prom\.port)$/;
  const keys = [...new Set([...Object.keys(generated), ...Object.keys(stock)])].filter((k) => !overridden.test(k)).sort();
  const out: ConfigDifference[] = [];
  for (const k of keys) {
    if (String(generated[k]) === String(stock[k])) continue;
    const d: ConfigDifference = { key: k };
    if (generated[k] !== undefined) d.generated = k.startsWith('env.java') ? '(Java 17 module flags)' : generated[k];
    if (stock[k] !== undefined) d.stock = k.startsWith('env.java') ? '(Java 17 module flags)' : stock[k];
    if (k in FLINK_DEFAULTS) d.flinkDefault = FLINK_DEFAULTS[k];
    if (d.flinkDefault && generated[k] !== undefined && stock[k] === undefined && String(generated[k]) === d.flinkDefault.split(' ')[0]) d.restatesDefault = true;
    if (EFFECT[k]) d.effect = EFFECT[k];
    out.push(d);
  }
  return out;
}
