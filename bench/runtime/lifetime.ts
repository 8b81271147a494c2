/**
 * One cluster lifetime of the runtime benchmark: one configuration (generated or stock), one
 * delivery mode, fresh topics, fresh cluster. In order:
 *
 * The sink topic is read by Kafka's Java consumer, read_committed (committed-reader.ts): what
 * a downstream reader sees, with its receive times.
 *
 * 1. throughput: `records` JSON records are pre-loaded into the source topic (Kafka's
 *    ProducerPerformance) before the cluster starts; the job consumes the backlog from the
 *    earliest offset. Rate = records / (last record visible to the reader - every task of the
 *    job RUNNING, from Flink's own task timestamps).
 * 2. latency: records appended at a fixed moderate rate, each carrying its append time in `ts`;
 *    latency = time the reader receives it - its `ts`. p50/p99 over the window.
 * 3. recovery (optional): appending continues; TaskManager 1 is SIGKILLed and a replacement
 *    started at once (as a Deployment would). Measured from the kill: the failure noticed
 *    (Flink's exception history), every task RUNNING again (new attempts), and the sink caught
 *    up (every record appended up to one checkpoint interval earlier visible, after the restart).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Partitioners, Producer } from 'kafkajs';
import { DeliveryGuarantee } from '../../lib';
import { restGet, waitFor } from '../../lib/local/flink-proc';
import { RunningCluster, runCluster } from '../../lib/local/local-flink';
import { KafkaBroker } from '../../test/support/kafka';
import { CommittedReader, startCommittedReader } from './committed-reader';
import { benchObjects, CHECKPOINT_INTERVAL_MS, ConfigKind, generatedConfig, JOB_NAME, SPARE_SLOTS, STANDBY_ONLY_OVERRIDES, STANDBY_TASK_MANAGERS, stockConfig, withConfig } from './job';
import { PerfTools } from './kafka-perf';
import { groupCpuMs, percentile } from './stats';

export const SERVICES = Array.from({ length: 16 }, (_, i) => `service-${String(i).padStart(2, '0')}`);

/** The pre-loaded records (ProducerPerformance picks among them at random); every one passes the filter. */
export function preloadPayloads(): string[] {
  return Array.from({ length: 1000 }, (_, i) => JSON.stringify({
    id: `p-${i}`, ts: '2026-11-22T10:00:00.000', service: SERVICES[i % SERVICES.length], level: i % 7 ? 'INFO' : 'WARN',
    message: `user u${i % 97} called /api/v1/orders/${1000 + i} from 10.0.${i % 256}.${(i * 7) % 256}`,
  }));
}

export interface LifetimeOptions {
  readonly kafka: KafkaBroker;
  readonly tools: PerfTools;
  readonly home: string;
  readonly work: string;
  readonly tag: string;
  readonly config: ConfigKind;
  readonly delivery: DeliveryGuarantee;
  readonly records: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly recovery: boolean;
  /** keys set over the chosen configuration (what-if experiments; the benchmark itself sets none) */
  readonly overrides?: Record<string, string | number | boolean>;
  /** keys removed from the chosen configuration before the overrides, so that Flink's default applies (what-if experiments) */
  readonly without?: readonly string[];
  /** the throughput phase alone: no latency window, no recovery */
  readonly throughputOnly?: boolean;
  /** where the process logs of a failed lifetime are written (default: the work directory) */
  readonly failureLogDir?: string;
  readonly log: (m: string) => void;
}

export interface RecoveryResult {
  /** kill -> first failure in Flink's exception history */
  failureDetectedMs: number | null;
  /** kill -> every task RUNNING again (new attempts), from Flink's task timestamps */
  runningMs: number;
  /** kill -> the sink caught up */
  caughtUpMs: number | null;
  /** the exception history after the kill: ms after the kill, exception, first line */
  failures: Array<{ atMs: number; exception: string; task?: string }>;
  /** failovers after the kill (entries of the exception history) */
  failovers: number;
  /** kill -> the replacement TaskManager registered (REST /taskmanagers, polled every 200 ms) */
  replacementRegisteredMs: number | null;
  /** TaskManagers registered before the kill (2, or 3 with a standby) */
  taskManagersBefore: number;
  /** every task RUNNING again before the replacement registered (the job did not wait for it) */
  runningBeforeReplacement: boolean;
  /** kill -> the killed TaskManager dropped from the cluster (its heartbeat failed) */
  killedReleasedMs: number | null;
  /** kill -> the successful attempt began deploying (earliest DEPLOYING of the new attempts) */
  deployedMs: number;
  /** records appended during the phase that never became visible (must be 0) */
  lost: number;
  /** records seen more than once (0 under exactly-once) */
  duplicates: number;
  /** the first duplicates: seq, and partition@offset of the first and the repeated copy */
  duplicateSamples: Array<{ seq: number; first: string; again: string }>;
  /** records in the source topic beyond those written (producer retries): each is a legitimate duplicate */
  inputDuplicates: number;
}

export interface LifetimeResult {
  config: ConfigKind;
  delivery: DeliveryGuarantee;
  tag: string;
  /** ProducerPerformance's rate while pre-loading the source topic */
  preloadRecordsPerSec: number;
  /** processes started -> every task RUNNING */
  startupMs: number;
  /**
   * The backlog phase. cpuMs: CPU time (user + system) of the JobManager and TaskManager process
   * groups during it, from /proc; less sensitive to other work on the machine than the wall time.
   */
  throughput: { records: number; ms: number; recordsPerSec: number; firstOutputMs: number | null; cpuMs: number | null; cpuUsPerRecord: number | null };
  /** undefined when the lifetime measured throughput only */
  latency?: { records: number; p50Ms: number; p99Ms: number; maxMs: number };
  recovery?: RecoveryResult;
  checkpoints: { completed: number; failed: number; avgEndToEndMs: number | null };
  /** keys the JobManager reports as set, for checking that the intended file was used */
  jobManagerKeys: number;
  /** the machine's 1-minute load average when the lifetime started and ended (other work skews every figure) */
  loadAverage: [number, number];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Subtask { vertex: string; subtask: number; status: string; attempt: number }

export async function runLifetime(o: LifetimeOptions): Promise<LifetimeResult> {
  const { kafka, log } = o;
  const load0 = os.loadavg()[0];
  const work = path.join(o.work, o.tag);
  fs.mkdirSync(work, { recursive: true });
  const source = `${o.tag}.in`;
  const sink = `${o.tag}.out`;
  await kafka.createTopic(source, 2);
  await kafka.createTopic(sink, 2);

  let cluster: RunningCluster | undefined;
  let reader: CommittedReader | undefined;
  let producer: Producer | undefined;
  let stopAppending = true;
  let watching = false;
  let appender: Promise<void> | undefined;
  try {
    // --- objects and configuration
    const generatedObjects = benchObjects({
      bootstrap: kafka.bootstrap, sourceTopic: source, sinkTopic: sink, groupId: `${o.tag}-job`,
      transactionalIdPrefix: o.tag, delivery: o.delivery, stateBase: `file://${work}/state`,
      standbyTaskManagers: o.config === 'standby' || o.config === 'standbyOnly' ? STANDBY_TASK_MANAGERS : 0,
      spareSlotsPerTaskManager: o.config === 'spare' ? SPARE_SLOTS : 0,
    });
    const generated = generatedConfig(generatedObjects);
    const chosen = o.config === 'stock' ? stockConfig(o.home, generated) : generated;
    const overrides = o.config === 'standbyOnly' ? { ...STANDBY_ONLY_OVERRIDES, ...o.overrides } : o.overrides;
    const kept = o.without?.length ? Object.fromEntries(Object.entries(chosen).filter(([k]) => !o.without!.includes(k))) : chosen;
    const objects = overrides || o.without?.length ? withConfig(generatedObjects, { ...kept, ...overrides })
      : o.config === 'stock' ? withConfig(generatedObjects, chosen) : generatedObjects;

    // --- pre-load
    const pre = await o.tools.produce(source, o.records);
    log(`${o.tag}: pre-loaded ${o.records} records at ${Math.round(pre.recordsPerSec)}/s`);

    // --- the read_committed reader of the sink topic
    let preloadSeen = 0;
    let tFirstOutput: number | undefined;
    let tPreloadDone: number | undefined;
    const appendMs: number[] = [];
    const firstSeen: number[] = [];
    const stampMs: number[] = [];
    const firstAt: string[] = [];
    const duplicateSamples: Array<{ seq: number; first: string; again: string }> = [];
    let seqArrivals = 0;
    let distinct = 0;
    let frontier = -1; // every seq <= frontier has been seen
    let tRunningAgain: number | undefined;
    let tCaughtUp: number | undefined;
    const checkCaughtUp = (now: number) => {
      if (tRunningAgain === undefined || tCaughtUp !== undefined || now < tRunningAgain) return;
      const next = frontier + 1;
      const lag = next < appendMs.length ? now - appendMs[next] : 0;
      if (lag <= CHECKPOINT_INTERVAL_MS) tCaughtUp = now;
    };
    reader = await startCommittedReader(kafka.bootstrap, sink, work, {
      onPreload(count, at) {
        preloadSeen = count;
        if (count > 0) tFirstOutput ??= at;
        if (tPreloadDone === undefined && count >= o.records) tPreloadDone = at;
      },
      onSeq(seq, at, position, ts) {
        seqArrivals++;
        if (firstSeen[seq] !== undefined) {
          if (duplicateSamples.length < 20) duplicateSamples.push({ seq, first: firstAt[seq], again: position });
          return;
        }
        firstSeen[seq] = at;
        firstAt[seq] = position;
        stampMs[seq] = Date.parse(`${ts}Z`); // the append time the record carries
        distinct++;
        while (firstSeen[frontier + 1] !== undefined) frontier++;
        checkCaughtUp(at);
      },
    });

    // --- cluster
    const tStart = Date.now();
    // The standby starts once the job runs (below): the job's tasks are then on TaskManagers 0
    // and 1, and the kill of TaskManager 1 hits a busy one, as the lost pod of interest is.
    const standbys = o.config === 'standby' || o.config === 'standbyOnly' ? STANDBY_TASK_MANAGERS : 0;
    cluster = await runCluster(objects, JOB_NAME, work, o.home, standbys ? { taskManagers: 2 } : {});
    const c = cluster;
    const rest = c.rest;
    const args = c.local.jobManager.args;
    const jobId = args[args.indexOf('--job-id') + 1];
    const conf = await waitFor(() => restGet<Array<{ key: string; value: string }>>(`${rest}/jobmanager/config`), { timeoutMs: 180_000, intervalMs: 500, what: 'the REST API', abortIf: c.died });
    const has = (k: string) => conf.some((e) => e.key === k);
    // The intended file is in use: the generated one sets the restart strategy, stock does not.
    if (has('restart-strategy.type') !== (o.config !== 'stock')) {
      throw new Error(`${o.tag}: the JobManager ${has('restart-strategy.type') ? 'has' : 'lacks'} restart-strategy.type; the ${o.config} configuration was not applied`);
    }
    // ... and so are the what-if changes: a removed key is gone, an override has its value.
    for (const k of o.without ?? []) {
      if (has(k) && !(overrides && k in overrides)) throw new Error(`${o.tag}: the JobManager still has ${k}, which this lifetime removed`);
    }
    for (const [k, v] of Object.entries(overrides ?? {})) {
      const got = conf.find((e) => e.key === k)?.value;
      if (got !== String(v)) throw new Error(`${o.tag}: the JobManager has ${k}: ${got ?? '(unset)'}, expected the override ${String(v)}`);
    }
    const expectedTaskManagers = c.local.taskManager.replicas;
    if (expectedTaskManagers !== 2 + standbys) {
      throw new Error(`${o.tag}: the synthesized TaskManager Deployment has ${expectedTaskManagers} replicas; expected 2 + ${standbys} standby`);
    }

    const vertexIds = async () => (await restGet<{ vertices: Array<{ id: string }> }>(`${rest}/jobs/${jobId}`)).vertices.map((v) => v.id);
    const subtasks = async (): Promise<Subtask[]> => {
      const out: Subtask[] = [];
      for (const vid of await vertexIds()) {
        const d = await restGet<{ subtasks: Array<{ subtask: number; status: string; attempt: number }> }>(`${rest}/jobs/${jobId}/vertices/${vid}`);
        for (const s of d.subtasks) out.push({ vertex: vid, subtask: s.subtask, status: s.status, attempt: s.attempt });
      }
      return out;
    };
    /**
     * From Flink's own task timestamps (current attempts): the latest switch to RUNNING and the
     * earliest switch to DEPLOYING.
     */
    const taskTimes = async (): Promise<{ running: number; deploying: number }> => {
      let running = 0;
      let deploying = Infinity;
      for (const vid of await vertexIds()) {
        const d = await restGet<{ subtasks: Array<{ timestamps: Record<string, number> }> }>(`${rest}/jobs/${jobId}/vertices/${vid}/subtasktimes`);
        for (const s of d.subtasks) {
          running = Math.max(running, s.timestamps.RUNNING ?? 0);
          if (s.timestamps.DEPLOYING) deploying = Math.min(deploying, s.timestamps.DEPLOYING);
        }
      }
      if (!running) throw new Error('no RUNNING timestamp in subtasktimes');
      return { running, deploying: Number.isFinite(deploying) ? deploying : running };
    };
    const lastRunningAt = async () => (await taskTimes()).running;
    const taskManagerIds = async () => (await restGet<{ taskmanagers: Array<{ id: string }> }>(`${rest}/taskmanagers`)).taskmanagers.map((t) => t.id);
    const allRunning = (xs: Subtask[], minAttempt: number) => xs.length > 0 && xs.every((s) => s.status === 'RUNNING' && s.attempt >= minAttempt);

    await waitFor(async () => allRunning(await subtasks().catch(() => []), 0), { timeoutMs: 240_000, intervalMs: 100, what: `job ${jobId} RUNNING`, abortIf: c.died });
    const flinkGroups = c.procs.map((x) => x.pid);
    const cpu0 = groupCpuMs(flinkGroups);
    const tRunning = await lastRunningAt();
    const startupMs = tRunning - tStart;
    log(`${o.tag}: every task RUNNING ${startupMs} ms after the processes started`);

    // --- 1. throughput
    const throughputTimeout = 60_000 + (o.records / 1000) * 1000;
    await waitFor(() => tPreloadDone !== undefined, { timeoutMs: throughputTimeout, intervalMs: 50, what: `all ${o.records} pre-loaded records in the sink (have ${preloadSeen})`, abortIf: c.died })
      .catch((e: Error) => { throw new Error(`${e.message}; ${preloadSeen} of ${o.records} arrived`); });
    const cpu1 = groupCpuMs(flinkGroups);
    const ms = tPreloadDone! - tRunning;
    const exceptions = async () => (await restGet<{ exceptionHistory?: { entries?: Array<{ exceptionName: string; stacktrace?: string; timestamp: number; taskName?: string }> } }>(`${rest}/jobs/${jobId}/exceptions?maxExceptions=50`)).exceptionHistory?.entries ?? [];
    if ((await exceptions()).length > 0) throw new Error(`${o.tag}: the job failed during the throughput phase: ${(await exceptions())[0].exceptionName}`);
    if (preloadSeen !== o.records) throw new Error(`${o.tag}: ${preloadSeen} pre-loaded records in the sink, expected exactly ${o.records}`);
    const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : null;
    const throughput = {
      records: o.records, ms, recordsPerSec: o.records / (ms / 1000), firstOutputMs: tFirstOutput !== undefined ? tFirstOutput - tRunning : null,
      cpuMs, cpuUsPerRecord: cpuMs !== null ? (cpuMs * 1000) / o.records : null,
    };
    log(`${o.tag}: throughput ${Math.round(throughput.recordsPerSec)} records/s (${o.records} in ${ms} ms; Flink CPU ${cpuMs} ms, ${throughput.cpuUsPerRecord?.toFixed(1)} us/record)`);

    let latency: LifetimeResult['latency'];
    let recovery: RecoveryResult | undefined;
    if (!o.throughputOnly) {
      for (let i = 2; i < expectedTaskManagers; i++) await c.replaceTaskManager(i);

      // --- 2. latency, then 3. recovery, with one stream of appended records
      producer = kafka.client(`${o.tag}-appender`).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const p = producer;
      stopAppending = false;
      const tAppend = Date.now();
      let appendError: Error | undefined;
      appender = (async () => {
        let seq = 0;
        while (!stopAppending) {
          const due = Math.floor(((Date.now() - tAppend) / 1000) * o.latencyRate) - seq;
          if (due > 0) {
            const now = Date.now();
            const ts = new Date(now).toISOString().slice(0, 23);
            const messages = [];
            for (let i = 0; i < Math.min(due, 5000); i++, seq++) {
              appendMs[seq] = now;
              messages.push({ value: JSON.stringify({ id: `s-${seq}`, ts, service: SERVICES[seq % SERVICES.length], level: 'INFO', message: `user u${seq % 97} called /api/v1/orders/${seq}` }) });
            }
            await p.send({ topic: source, acks: -1, messages });
          }
          await sleep(50);
        }
      })().catch((e: Error) => { appendError = e; });

      await sleep(o.latencySeconds * 1000);
      const windowEnd = appendMs.length;
      await waitFor(() => frontier >= windowEnd - 1 || appendError, { timeoutMs: 60_000, intervalMs: 50, what: `the ${windowEnd} records of the latency window in the sink`, abortIf: c.died });
      if (appendError) throw appendError;
      const lat = Array.from({ length: windowEnd }, (_, s) => firstSeen[s] - stampMs[s]);
      latency = { records: windowEnd, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: Math.max(...lat) };
      log(`${o.tag}: latency p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms over ${windowEnd} records at ${o.latencyRate}/s`);

      if (o.recovery) {
        const base = await subtasks();
        const baseAttempt = Math.max(...base.map((s) => s.attempt));
        // All of them, the standby included, registered: else the standby's slot would not be free at the kill.
        await waitFor(async () => (await taskManagerIds()).length >= expectedTaskManagers, { timeoutMs: 60_000, intervalMs: 200, what: `${expectedTaskManagers} TaskManagers registered`, abortIf: c.died });
        const before = new Set(await taskManagerIds());
        if (before.size !== expectedTaskManagers) throw new Error(`${o.tag}: ${before.size} TaskManagers registered before the kill, expected ${expectedTaskManagers}`);
        if (o.config === 'spare') {
          // The job spread over both TaskManagers, each with its spare slot free: the kill hits a busy one.
          const tms = (await restGet<{ taskmanagers: Array<{ id: string; slotsNumber: number; freeSlots: number }> }>(`${rest}/taskmanagers`)).taskmanagers;
          const layout = tms.map((t) => `${t.slotsNumber - t.freeSlots}/${t.slotsNumber}`);
          if (tms.some((t) => t.slotsNumber !== 1 + SPARE_SLOTS || t.freeSlots !== SPARE_SLOTS)) throw new Error(`${o.tag}: slots used per TaskManager ${layout.join(', ')}; expected 1/${1 + SPARE_SLOTS} on each`);
        }
        const tKill = Date.now();
        await c.killTaskManager(1);
        await c.replaceTaskManager(1);
        log(`${o.tag}: TaskManager 1 killed and a replacement started (${Date.now() - tKill} ms)`);
        // The cluster's view of its TaskManagers, until the phase ends.
        let tRegistered: number | undefined;
        let tReleased: number | undefined;
        watching = true;
        const watcher = (async () => {
          while (watching && (tRegistered === undefined || tReleased === undefined) && Date.now() - tKill < 300_000) {
            const ids = await taskManagerIds().catch(() => undefined);
            const now = Date.now();
            if (ids) {
              if (tRegistered === undefined && ids.some((id) => !before.has(id))) tRegistered = now;
              if (tReleased === undefined && ids.filter((id) => before.has(id)).length < before.size) tReleased = now;
            }
            await sleep(200);
          }
        })();
        let seenFailing = false;
        await waitFor(async () => {
          const xs = await subtasks().catch(() => undefined);
          if (!xs) return false;
          if (!allRunning(xs, baseAttempt + 1) && xs.some((s) => s.status !== 'RUNNING' || s.attempt > baseAttempt)) seenFailing = true;
          return seenFailing && allRunning(xs, baseAttempt + 1);
        }, { timeoutMs: 240_000, intervalMs: 200, what: `job ${jobId} RUNNING again after the kill`, abortIf: c.died });
        const times = await taskTimes();
        const tRun = times.running;
        tRunningAgain = tRun;
        checkCaughtUp(Date.now());
        log(`${o.tag}: RUNNING again ${tRun - tKill} ms after the kill`);
        await waitFor(() => tCaughtUp !== undefined, { timeoutMs: 120_000, intervalMs: 50, what: 'the sink to catch up after the kill', abortIf: c.died }).catch((e: Error) => log(`${o.tag}: ${e.message}`));
        await sleep(2000);
        stopAppending = true;
        await appender;
        if (appendError) throw appendError;
        const appended = appendMs.length;
        await waitFor(() => frontier >= appended - 1, { timeoutMs: 90_000, intervalMs: 100, what: `all ${appended} appended records in the sink` }).catch((e: Error) => log(`${o.tag}: ${e.message}`));
        watching = false;
        await watcher;
        const admin = kafka.client(`${o.tag}-offsets`).admin();
        await admin.connect();
        const inputRecords = await admin.fetchTopicOffsets(source).then((ps) => ps.reduce((n, x) => n + Number(x.high) - Number(x.low), 0)).finally(() => admin.disconnect());
        const ex = (await exceptions()).filter((e) => e.timestamp >= tKill - 1000).sort((a, b) => a.timestamp - b.timestamp);
        recovery = {
          failureDetectedMs: ex.length ? ex[0].timestamp - tKill : null,
          runningMs: tRun - tKill,
          caughtUpMs: tCaughtUp !== undefined ? tCaughtUp - tKill : null,
          failures: ex.map((e) => ({ atMs: e.timestamp - tKill, exception: `${e.exceptionName}: ${(e.stacktrace ?? '').split('\n')[0].replace(/^[\w.$]+: /, '').slice(0, 200)}`, task: e.taskName })),
          failovers: ex.length,
          replacementRegisteredMs: tRegistered !== undefined ? tRegistered - tKill : null,
          taskManagersBefore: before.size,
          runningBeforeReplacement: tRegistered === undefined || tRun < tRegistered,
          killedReleasedMs: tReleased !== undefined ? tReleased - tKill : null,
          deployedMs: times.deploying - tKill,
          lost: appended - distinct,
          duplicates: seqArrivals - distinct,
          duplicateSamples,
          inputDuplicates: inputRecords - o.records - appended,
        };
        log(`${o.tag}: failure noticed +${recovery.failureDetectedMs} ms (${recovery.failovers} failovers), replacement registered +${recovery.replacementRegisteredMs} ms, killed TaskManager released +${recovery.killedReleasedMs} ms, deployed +${recovery.deployedMs} ms, RUNNING +${recovery.runningMs} ms, caught up +${recovery.caughtUpMs} ms; lost ${recovery.lost}, duplicates ${recovery.duplicates}`);
        if (recovery.lost > 0) throw new Error(`${o.tag}: ${recovery.lost} appended records never reached the sink`);
        if (o.delivery === DeliveryGuarantee.EXACTLY_ONCE && recovery.duplicates > recovery.inputDuplicates) {
          throw new Error(`${o.tag}: ${recovery.duplicates} duplicates under exactly-once (input duplicates: ${recovery.inputDuplicates}); first: ${JSON.stringify(duplicateSamples.slice(0, 3))}`);
        }
      }
      stopAppending = true;
      await appender;
    }

    const cp = await restGet<{ counts: { completed: number; failed: number }; summary?: { end_to_end_duration?: { avg?: number } } }>(`${rest}/jobs/${jobId}/checkpoints`);
    return {
      config: o.config, delivery: o.delivery, tag: o.tag,
      preloadRecordsPerSec: pre.recordsPerSec,
      startupMs, throughput, latency, recovery,
      checkpoints: { completed: cp.counts.completed, failed: cp.counts.failed, avgEndToEndMs: cp.summary?.end_to_end_duration?.avg ?? null },
      jobManagerKeys: conf.length,
      loadAverage: [Math.round(load0 * 100) / 100, Math.round(os.loadavg()[0] * 100) / 100],
    };
  } catch (e) {
    if (cluster) {
      const dir = o.failureLogDir ?? o.work;
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${o.tag}-failure.log`);
      fs.writeFileSync(file, cluster.logs());
      log(`${o.tag}: failed: ${(e as Error).message}; process logs: ${file}`);
    }
    throw e;
  } finally {
    stopAppending = true;
    watching = false;
    await appender?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await reader?.stop();
    await cluster?.stop();
    const admin = kafka.client(`${o.tag}-admin`).admin();
    await admin.connect().then(() => admin.deleteTopics({ topics: [source, sink], timeout: 30_000 })).catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
    fs.rmSync(work, { recursive: true, force: true });
  }
}
