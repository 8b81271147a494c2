import { OpsError, sleep } from './errors';
import { FlinkRest, JobOverview, TERMINAL_STATES } from './flink-rest';
import { Kube } from './kube';
import { idleTaskManagers, jobSlots, markDeletionCosts, PoolTarget, readTaskManagers } from './pool';

/**
 * The job autoscaler of an application cluster, after the Flink Kubernetes Operator's: a loop
 * that reads each job vertex's busy time, backpressure and its sources' pending records (REST),
 * computes the parallelism each vertex needs to run at the target utilization, and declares it
 * to Flink's adaptive scheduler (`PUT /jobs/:id/resource-requirements`, Flink 1.18 and later),
 * which rescales the running job in place from its latest checkpoint (same job id). With a
 * TaskManager Deployment to own, it also sets its replicas to the slots the new parallelism
 * needs, adding TaskManagers before a scale-up and removing idle ones after a scale-down.
 *
 * Per vertex, over a metrics window that starts once the job has run for the stabilization time
 * after its last (re)start:
 * - load = busy time (0-1) x the catch-up factor of the sources upstream: a source with pending
 *   records must read (rate + pending / catch-up time) records per second, so its factor is that
 *   over its rate; a vertex's factor is the largest of its inputs';
 * - when every vertex's load is within target +/- boundary, nothing changes;
 * - otherwise a vertex outside the band gets ceil(parallelism x load / target), at most
 *   maxScaleDown lower than now, within min and max (and the vertex's max parallelism); a Kafka
 *   source vertex gets no more subtasks than its partitions and rounds up to a divisor of their
 *   number, a keyed vertex (hash input) to a divisor of its max parallelism, when one is within
 *   reach (so partitions or key groups spread evenly; never undoing a scale-down); a vertex within
 *   the band keeps its parallelism.
 */
export interface AutoscalerSpec {
  /** busy time to aim for, 0-1 (the operator's job.autoscaler.target.utilization) */
  readonly targetUtilization: number;
  /** no change while every vertex's load is within target +/- this */
  readonly utilizationBoundary: number;
  readonly minParallelism: number;
  readonly maxParallelism: number;
  /** at most this share lower per decision (0-1; 1: no limit) */
  readonly maxScaleDown: number;
  /** time in which a source's pending records should be read on top of its input */
  readonly catchUpMs: number;
  /** metrics averaged over this long before a decision */
  readonly windowMs: number;
  /** metrics ignored for this long after the job (re)starts */
  readonly stabilizationMs: number;
}

/** A job vertex as the plan and the job's details give it. */
export interface VertexInfo {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  /** the vertex's max parallelism (key groups) */
  readonly maxParallelism: number;
  /** upstream vertices and how records are shipped from them (HASH for keyed) */
  readonly inputs: ReadonlyArray<{ readonly id: string; readonly shipStrategy: string }>;
}

/** One vertex's metrics, averaged over the window. */
export interface VertexLoad {
  /** busy time, 0-1, average over its subtasks; undefined when the vertex reports none (a legacy SourceFunction's task) */
  readonly busy?: number;
  /** backpressured time, 0-1, average over its subtasks */
  readonly backPressured: number;
  /** records per second out of its source operators (sources only) */
  readonly sourceRate?: number;
  /** records its source operators have not read yet (Kafka lag; sources only) */
  readonly pending?: number;
  /** the partitions its source operators read (Kafka; sources only) */
  readonly partitions?: number;
}

export interface ScalingDecision {
  /** every vertex's new parallelism (the same as now for those that keep it) */
  readonly parallelism: ReadonlyMap<string, number>;
  /** whether any vertex changes */
  readonly changed: boolean;
  /** one line per vertex, for the log */
  readonly lines: readonly string[];
}

/** The catch-up factor of each vertex: a source's (rate + pending / catch-up) / rate, else the largest of its inputs'. */
export function loadFactors(spec: AutoscalerSpec, vertices: readonly VertexInfo[], loads: ReadonlyMap<string, VertexLoad>): Map<string, number> {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  const out = new Map<string, number>();
  const visit = (v: VertexInfo, seen: Set<string>): number => {
    const known = out.get(v.id);
    if (known !== undefined) return known;
    let f = 1;
    if (v.inputs.length === 0) {
      const l = loads.get(v.id);
      const pending = l?.pending ?? 0;
      if (pending > 0) {
        const perSecond = pending / (spec.catchUpMs / 1000);
        // a source with a backlog but no measurable rate cannot be sized by rate: take it as far behind
        f = (l?.sourceRate ?? 0) > 0 ? (l!.sourceRate! + perSecond) / l!.sourceRate! : MAX_FACTOR;
      }
    } else {
      for (const i of v.inputs) {
        const up = byId.get(i.id);
        if (up && !seen.has(up.id)) f = Math.max(f, visit(up, new Set([...seen, v.id])));
      }
    }
    f = Math.min(MAX_FACTOR, f);
    out.set(v.id, f);
    return f;
  };
  for (const v of vertices) visit(v, new Set());
  return out;
}

const MAX_FACTOR = 1000;

/**
 * The smallest divisor of `n` (key groups, or a source's partitions) in [p, upper], so they spread
 * evenly over the subtasks; p when none is within reach, and p when the divisor would undo a
 * scale-down (more than `current`).
 */
export function alignParallelism(p: number, current: number, upper: number, n: number): number {
  for (let q = p; q <= upper; q++) {
    if (n % q === 0) return p < current && q > current ? p : q;
  }
  return p;
}

/** The smallest divisor of `maxParallelism` in [p, upper] (at most half of it), else p: key groups spread evenly. */
export function alignToKeyGroups(p: number, upper: number, maxParallelism: number, current = Infinity): number {
  return alignParallelism(p, current, Math.min(upper, Math.floor(maxParallelism / 2)), maxParallelism);
}

/**
 * The partitions a source vertex reads, from its Kafka readers' per-partition offset metrics
 * (`<operator>.KafkaSourceReader.topic.<topic>.partition.<n>.currentOffset`, one per partition a
 * subtask is assigned): their distinct topic/partition pairs; undefined when it has none.
 */
export function sourcePartitions(metricIds: readonly string[]): number | undefined {
  const seen = new Set<string>();
  for (const id of metricIds) {
    const m = /\.KafkaSourceReader\.topic\.(.+)\.partition\.(\d+)\.currentOffset$/.exec(id);
    if (m) seen.add(`${m[1]}/${m[2]}`);
  }
  return seen.size || undefined;
}

/**
 * A load as the decision log prints it: two decimals, or more where two would put it on the
 * other side of a bound of the band than it is (0.9004 above a band ending at 0.90 reads 0.9004,
 * not 0.90).
 */
export function loadText(load: number, lo: number, hi: number): string {
  const side = (x: number) => (x < lo ? -1 : x > hi ? 1 : 0);
  let text = load.toFixed(2);
  for (let digits = 3; digits <= 6 && side(Number(text)) !== side(load); digits++) text = load.toFixed(digits);
  return text;
}

/** The parallelism each vertex should run at, from its averaged load (see AutoscalerSpec). */
export function decideParallelism(spec: AutoscalerSpec, vertices: readonly VertexInfo[], loads: ReadonlyMap<string, VertexLoad>): ScalingDecision {
  const factors = loadFactors(spec, vertices, loads);
  // the band as declared, inclusive: 0.7 + 0.2 is 0.8999999999999999 in binary, which a load of 0.9 exceeds
  const lo = Number((spec.targetUtilization - spec.utilizationBoundary).toFixed(9));
  const hi = Number((spec.targetUtilization + spec.utilizationBoundary).toFixed(9));
  const busy = (v: VertexInfo) => loads.get(v.id)?.busy;
  const util = new Map(vertices.map((v) => [v.id, (busy(v) ?? 0) * (factors.get(v.id) ?? 1)]));
  const outside = vertices.filter((v) => busy(v) !== undefined && (util.get(v.id)! < lo || util.get(v.id)! > hi));
  const parallelism = new Map<string, number>();
  const lines: string[] = [];
  for (const v of vertices) {
    const u = util.get(v.id)!;
    if (busy(v) === undefined) {
      // nothing to size it by: a task that reports no busy time (a legacy SourceFunction's) keeps its parallelism
      parallelism.set(v.id, v.parallelism);
      lines.push(`${v.name.slice(0, 60)}: no busy time reported (a legacy source?) at parallelism ${v.parallelism}: kept`);
      continue;
    }
    const l = loads.get(v.id);
    const backlog = l?.pending !== undefined ? `; ${Math.round(l.sourceRate ?? 0)} records/s, ${l.pending} pending` : '';
    const what = `${v.name.slice(0, 60)}: load ${loadText(u, lo, hi)} (busy ${busy(v)!.toFixed(2)}, catch-up x${(factors.get(v.id) ?? 1).toFixed(2)}${backlog}) at parallelism ${v.parallelism}`;
    if (!outside.includes(v)) {
      parallelism.set(v.id, v.parallelism);
      lines.push(`${what}: within ${lo.toFixed(2)}-${hi.toFixed(2)}, kept`);
      continue;
    }
    // a source reads no more partitions than there are: more subtasks would idle
    const partitions = v.inputs.length === 0 ? l?.partitions : undefined;
    const upper = Math.min(spec.maxParallelism, v.maxParallelism, partitions ?? Infinity);
    const floor = Math.max(spec.minParallelism, Math.ceil(v.parallelism * (1 - spec.maxScaleDown)));
    const wanted = Math.min(upper, Math.max(floor, Math.ceil(v.parallelism * u / spec.targetUtilization)));
    let p = wanted;
    if (partitions) p = alignParallelism(p, v.parallelism, upper, partitions);
    else if (v.inputs.some((i) => i.shipStrategy === 'HASH')) p = alignToKeyGroups(p, upper, v.maxParallelism, v.parallelism);
    const aligned = p !== wanted ? ` (${wanted} aligned to ${partitions ? `${partitions} partitions` : `${v.maxParallelism} key groups`})` : '';
    parallelism.set(v.id, p);
    lines.push(`${what}${partitions ? `, ${partitions} partitions` : ''}: ${p === v.parallelism ? `kept (bounds${aligned})` : `to ${p}${aligned}`}`);
  }
  return { parallelism, changed: vertices.some((v) => parallelism.get(v.id) !== v.parallelism), lines };
}

/** Slots a job of the default slot sharing needs: its most parallel vertex. */
export function slotsFor(parallelism: ReadonlyMap<string, number>): number {
  return jobSlots([...parallelism.values()].map((p) => ({ parallelism: p })));
}

/** The job's vertices: parallelism and max parallelism from its details, inputs from its plan. */
export async function readVertices(rest: FlinkRest, jobId: string): Promise<{ state: string; vertices: VertexInfo[]; allRunning: boolean }> {
  const job = await rest.request<{ state: string; vertices: Array<{ id: string; name: string; parallelism: number; maxParallelism?: number; status: string }> }>('GET', `/jobs/${jobId}`);
  const plan = await rest.request<{ plan: { nodes: Array<{ id: string; inputs?: Array<{ id: string; ship_strategy?: string }> }> } }>('GET', `/jobs/${jobId}/plan`);
  const inputs = new Map(plan.plan.nodes.map((n) => [n.id, (n.inputs ?? []).map((i) => ({ id: i.id, shipStrategy: i.ship_strategy ?? '' }))]));
  return {
    state: job.state,
    allRunning: job.state === 'RUNNING' && job.vertices.every((v) => v.status === 'RUNNING'),
    vertices: job.vertices.map((v) => ({ id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism ?? 128, inputs: inputs.get(v.id) ?? [] })),
  };
}

type Aggregated = Array<{ id: string; avg?: number; sum?: number }>;

/**
 * Each source vertex's metric ids at a parallelism, listed again after a minute: a source reader
 * registers per-partition metrics (and its pending records) only once it is assigned splits.
 */
export type MetricIdCache = Map<string, { ids: string[]; at: number }>;
const METRIC_IDS_TTL_MS = 60_000;

/** One sample of a vertex's metrics (subtask aggregates), or undefined while Flink reports none yet. */
export async function sampleVertex(rest: FlinkRest, jobId: string, v: VertexInfo, idCache: MetricIdCache = new Map()): Promise<VertexLoad | undefined> {
  const base = `/jobs/${jobId}/vertices/${v.id}/subtasks/metrics`;
  const values = async (ids: string[], agg: string) => (ids.length ? await rest.request<Aggregated>('GET', `${base}?get=${ids.map(encodeURIComponent).join(',')}&agg=${agg}`) : []);
  const task = await values(['busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond'], 'avg');
  if (!task.length) return undefined;
  const metric = (id: string) => {
    const x = Number(task.find((m) => m.id === id)?.avg);
    return Number.isFinite(x) ? Math.min(1, Math.max(0, x / 1000)) : undefined;
  };
  // A task that runs its own loop (a legacy SourceFunction, such as the SQL datagen's) reports
  // NaN: its thread is never idle in Flink's sense, even while it sleeps, so it has no busy time.
  const load: VertexLoad = { busy: metric('busyTimeMsPerSecond'), backPressured: metric('backPressuredTimeMsPerSecond') ?? 0 };
  if (v.inputs.length > 0) return load;
  // a source vertex: its source operators' rate and pending records (metric names carry the operator's name)
  const key = `${v.id}@${v.parallelism}`;
  let cached = idCache.get(key);
  if (!cached || Date.now() - cached.at > METRIC_IDS_TTL_MS) {
    const listed = (await rest.request<Array<{ id: string }>>('GET', base)).map((m) => m.id);
    cached = { ids: listed, at: Date.now() };
    if (listed.length) idCache.set(key, cached);
  }
  const ids = cached.ids;
  const pendingIds = ids.filter((id) => id.endsWith('.pendingRecords'));
  const rateIds = ids.filter((id) => /^Source.*\.numRecordsOutPerSecond$/.test(id));
  const sums = await values([...pendingIds, ...rateIds], 'sum');
  const total = (which: string[]) => sums.filter((m) => which.includes(m.id)).reduce((n, m) => n + (Number.isFinite(Number(m.sum)) ? Number(m.sum) : 0), 0);
  return { ...load, pending: pendingIds.length ? total(pendingIds) : undefined, sourceRate: rateIds.length ? total(rateIds) : undefined, partitions: sourcePartitions(ids) };
}

/** The average of the window's samples per vertex (a vertex with no sample has no load). */
export function averageLoads(samples: ReadonlyArray<ReadonlyMap<string, VertexLoad>>): Map<string, VertexLoad> {
  const out = new Map<string, VertexLoad>();
  const ids = new Set(samples.flatMap((s) => [...s.keys()]));
  for (const id of ids) {
    const xs = samples.map((s) => s.get(id)).filter((x): x is VertexLoad => x !== undefined);
    const avg = (f: (x: VertexLoad) => number | undefined) => {
      const ys = xs.map(f).filter((y): y is number => y !== undefined);
      return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : undefined;
    };
    // the backlog is what is left now, not its average: the last sample's
    const last = xs[xs.length - 1];
    out.set(id, { busy: avg((x) => x.busy), backPressured: avg((x) => x.backPressured)!, sourceRate: avg((x) => x.sourceRate), pending: last.pending, partitions: last.partitions });
  }
  return out;
}

/** The request body of PUT /jobs/:id/resource-requirements: every vertex from 1 up to its parallelism. */
export function resourceRequirements(parallelism: ReadonlyMap<string, number>): Record<string, { parallelism: { lowerBound: number; upperBound: number } }> {
  return Object.fromEntries([...parallelism].map(([id, p]) => [id, { parallelism: { lowerBound: 1, upperBound: p } }]));
}

/** The TaskManager Deployment the autoscaler sizes, with the cluster's slots per TaskManager and the count's range. */
export interface AutoscalerTaskManagers extends PoolTarget {
  readonly slotsPerTaskManager: number;
  readonly min: number;
  readonly max: number;
}

export interface AutoscalerLoopOptions {
  readonly spec: AutoscalerSpec;
  /** the job to scale; undefined: the cluster's one active job */
  readonly jobId?: string;
  /** the job to scale by name (a session job's pipeline.name): the active job of that name */
  readonly jobName?: string;
  /** the Deployment to size; undefined: the job rescales within the slots there are */
  readonly taskManagers?: AutoscalerTaskManagers;
  readonly intervalMs: number;
  /** epoch ms to stop at (tests); undefined: until stopped */
  readonly until?: number;
  readonly stopped?: () => boolean;
  readonly log: (m: string) => void;
}

/** Records one of the autoscaler's changes; never rejects. */
export type EventReport = (reason: string, note: string, type?: 'Normal' | 'Warning') => Promise<void>;

/** The controller name the autoscaler's Events carry. */
export const AUTOSCALER_EVENT_CONTROLLER = 'cdk8s-flink.io/job-autoscaler';

/**
 * Events regarding the TaskManager Deployment the autoscaler sizes (its uid read once, so that
 * `kubectl describe deployment` lists them): reason Rescaled, TaskManagersScaled or
 * ParallelismNotReached. A refused Event is logged once and never stops the loop.
 */
export function deploymentEvents(kube: Kube, t: PoolTarget, log: (m: string) => void): EventReport {
  let uid: Promise<string | undefined> | undefined;
  let warned = false;
  return async (reason, note, type = 'Normal') => {
    try {
      uid ??= kube.deploymentUid(t.namespace, t.deployment).catch(() => undefined);
      await kube.createEvent(t.namespace, { name: t.deployment, uid: await uid }, { reason, note, type, action: reason === 'TaskManagersScaled' ? 'Scale' : 'Rescale', controller: AUTOSCALER_EVENT_CONTROLLER });
    } catch (e) {
      if (!warned) log(`no Event recorded (${(e as Error).message.split('\n')[0]}); the log keeps every decision`);
      warned = true;
    }
  };
}

/** The TaskManagers `slots` need, within the range. */
export function taskManagersFor(t: AutoscalerTaskManagers, slots: number): number {
  return Math.min(t.max, Math.max(t.min, Math.ceil(slots / t.slotsPerTaskManager)));
}

/**
 * The job the loop scales: the active (not terminal) job with the id and name given, undefined
 * when there is none. Of several (a session cluster's jobs, or a job and its successor during an
 * upgrade under one name), the RUNNING one; more than one RUNNING fails the round, saying which.
 */
export async function scaledJob(rest: FlinkRest, o: { jobId?: string; jobName?: string }): Promise<JobOverview | undefined> {
  const active = (await rest.jobs()).filter((j) => !TERMINAL_STATES.has(j.state) && (o.jobId === undefined || j.jid === o.jobId) && (o.jobName === undefined || j.name === o.jobName));
  if (active.length <= 1) return active[0];
  const running = active.filter((j) => j.state === 'RUNNING');
  if (running.length === 1) return running[0];
  const which = active.map((j) => `${j.jid} "${j.name}" ${j.state}`).join(', ');
  throw new OpsError(`${active.length} active jobs${o.jobName !== undefined ? ` are named "${o.jobName}"` : ''} on ${rest.url} (${which}); select one with --job-id${o.jobName === undefined ? ' or --job-name' : ''}`);
}

/**
 * The loop: every interval, find the job, wait for it to run stable, gather a window of samples,
 * decide, declare the new parallelism (after adding TaskManagers for it) and start over once the
 * job runs at it; TaskManagers left idle by a scale-down go at the next round. A failed round (the
 * JobManager restarting, the API server busy) is logged and retried; nothing is lowered on a
 * failed observation.
 */
export async function runAutoscaler(rest: FlinkRest, kube: Kube | undefined, o: AutoscalerLoopOptions): Promise<void> {
  const { spec, log } = o;
  if (o.taskManagers && !kube) throw new OpsError('--deployment needs access to the Kubernetes API (in a pod, or --kubeconfig)');
  const report: EventReport = o.taskManagers ? deploymentEvents(kube!, o.taskManagers, log) : async () => undefined;
  log(`job autoscaler: target utilization ${spec.targetUtilization} +/- ${spec.utilizationBoundary}, parallelism ${spec.minParallelism}-${spec.maxParallelism}, `
    + `window ${spec.windowMs / 1000} s after ${spec.stabilizationMs / 1000} s of stable running, catch-up ${spec.catchUpMs / 1000} s`
    + (o.taskManagers ? `; sizes ${o.taskManagers.namespace}/${o.taskManagers.deployment} (${o.taskManagers.min}-${o.taskManagers.max} x ${o.taskManagers.slotsPerTaskManager} slots)` : ''));
  let samples: Array<{ at: number; loads: Map<string, VertexLoad> }> = [];
  let stableSince: number | undefined;
  /** when the current window's first sample was taken */
  let windowStart: number | undefined;
  let jobId: string | undefined;
  /** since when the job has run at another parallelism than declared (its start, a decision, too few slots) */
  let pendingSince: number | undefined;
  /** a parallelism below the declared one that the job has kept past the grace time: measured as it runs */
  let acceptedShortfall: string | undefined;
  /** the metric ids of each source vertex at a parallelism (they do not change while it runs) */
  const metricIds: MetricIdCache = new Map();
  let last = '';
  const say = (m: string) => {
    if (m !== last) log(m);
    last = m;
  };
  while (!o.stopped?.() && (o.until === undefined || Date.now() < o.until)) {
    try {
      const job = await scaledJob(rest, o);
      if (!job) {
        say(`no running job${o.jobId ? ` ${o.jobId}` : ''}${o.jobName ? ` named "${o.jobName}"` : ''} yet`);
        samples = []; stableSince = undefined; windowStart = undefined;
      } else {
        if (job.jid !== jobId) { jobId = job.jid; pendingSince = undefined; acceptedShortfall = undefined; metricIds.clear(); samples = []; stableSince = undefined; windowStart = undefined; }
        const { vertices, allRunning } = await readVertices(rest, job.jid);
        const now = Date.now();
        // what the job is declared to run at (its start, or this loop's last decision)
        const requirements = await rest.declaredParallelism(job.jid);
        // the TaskManagers that needs: more at once, idle ones fewer
        if (o.taskManagers) await sizeTaskManagers(rest, kube!, o.taskManagers, slotsFor(requirements), log, report);
        const running = vertices.map((v) => v.parallelism).join(', ');
        const wanted = vertices.map((v) => requirements.get(v.id) ?? v.parallelism).join(', ');
        let reached = running === wanted || running === acceptedShortfall;
        if (!reached) {
          pendingSince ??= now;
          if (allRunning && now - pendingSince > spec.stabilizationMs + DECLARED_GRACE_MS) {
            const note = `job ${job.jid} runs at parallelism ${running}, not the declared ${wanted}, ${Math.round((now - pendingSince) / 1000)} s on (too few slots?): measuring it as it runs`;
            log(note);
            await report('ParallelismNotReached', note, 'Warning');
            acceptedShortfall = running;
            reached = true;
          }
        }
        if (!allRunning || !reached) {
          if (stableSince !== undefined || samples.length) say(`job ${job.jid} ${allRunning ? `at parallelism ${running}, declared ${wanted}` : 'not running on every subtask'}: the window starts over`);
          samples = []; stableSince = undefined; windowStart = undefined;
        } else {
          if (pendingSince !== undefined && running === wanted) {
            log(`job ${job.jid} runs at the declared parallelism (${running}), ${Math.round((now - pendingSince) / 1000)} s after the declaration`);
            pendingSince = undefined;
            acceptedShortfall = undefined;
          }
          stableSince ??= now;
          if (now - stableSince >= spec.stabilizationMs) {
            const loads = new Map<string, VertexLoad>();
            for (const v of vertices) {
              const l = await sampleVertex(rest, job.jid, v, metricIds);
              if (l) loads.set(v.id, l);
            }
            windowStart ??= now;
            samples.push({ at: now, loads });
            // the window's samples (the latest one always, should a round take longer than the window)
            samples = samples.filter((s, i) => i === samples.length - 1 || now - s.at <= spec.windowMs);
            const covered = now - windowStart + o.intervalMs;
            if (covered >= spec.windowMs && vertices.every((v) => samples.some((s) => s.loads.has(v.id)))) {
              const d = decideParallelism(spec, vertices, averageLoads(samples.map((s) => s.loads)));
              for (const line of d.lines) log(`job ${job.jid} ${line}`);
              samples = []; windowStart = undefined;
              if (d.changed) {
                // the window starts again once the job runs at the new parallelism, after the stabilization time
                stableSince = undefined;
                if (o.taskManagers) await sizeTaskManagers(rest, kube!, o.taskManagers, slotsFor(d.parallelism), log, report);
                await rest.request('PUT', `/jobs/${job.jid}/resource-requirements`, resourceRequirements(d.parallelism));
                pendingSince = Date.now();
                acceptedShortfall = undefined;
                const declared = `job ${job.jid} declared parallelism ${vertices.map((v) => d.parallelism.get(v.id)).join(', ')} (was ${vertices.map((v) => v.parallelism).join(', ')})`;
                log(declared);
                // the vertices that change, with their load, first: the Event's note is short
                const changedLines = vertices.map((v, i) => (d.parallelism.get(v.id) !== v.parallelism ? d.lines[i] : undefined)).filter((x): x is string => x !== undefined);
                await report('Rescaled', `${declared}: ${changedLines.join('; ')}`);
              }
            } else {
              const missing = vertices.filter((v) => !samples.some((s) => s.loads.has(v.id))).map((v) => v.name.slice(0, 40));
              say(`job ${job.jid}: gathering metrics for ${Math.round(covered / 1000)} s of ${spec.windowMs / 1000} s${missing.length ? `; no metrics yet from ${missing.join(', ')}` : ''}`);
            }
          } else {
            say(`job ${job.jid} running; metrics read after ${spec.stabilizationMs / 1000} s of stable running`);
          }
        }
      }
    } catch (e) {
      log(`autoscaler round failed (retried in ${o.intervalMs / 1000} s): ${(e as Error).message.split('\n')[0]}`);
    }
    await sleep(o.intervalMs);
  }
}

/** How long after the stabilization time a declared parallelism may take to be reached before the job is measured as it runs. */
const DECLARED_GRACE_MS = 120_000;

/**
 * The TaskManager Deployment at the count `slots` need: raised at once; lowered only by
 * TaskManagers with no slot in use (their pods get the deletion cost of their slots in use first,
 * so the ReplicaSet removes idle ones and never a running task).
 */
export async function sizeTaskManagers(rest: FlinkRest, kube: Kube, t: AutoscalerTaskManagers, slots: number, log: (m: string) => void, report: EventReport = async () => undefined): Promise<void> {
  const now = await kube.getScale(t.namespace, t.deployment);
  const want = taskManagersFor(t, slots);
  if (want === now) return;
  if (want > now) {
    await kube.setScale(t.namespace, t.deployment, want);
    const note = `${t.deployment}: ${now} -> ${want} TaskManager(s) for ${slots} slot(s)`;
    log(note);
    await report('TaskManagersScaled', note);
    return;
  }
  const tms = await readTaskManagers(rest);
  const removable = Math.min(now - want, idleTaskManagers(now, tms));
  if (removable === 0) return;
  await markDeletionCosts(kube, t, tms);
  await kube.setScale(t.namespace, t.deployment, now - removable);
  const note = `${t.deployment}: ${now} -> ${now - removable} TaskManager(s) for ${slots} slot(s): ${removable} idle removed`;
  log(note);
  await report('TaskManagersScaled', note);
}
