import { OpsError, sleep } from './errors';
import { FlinkRest, RestAnswerError, TERMINAL_STATES } from './flink-rest';
import { Kube } from './kube';

/**
 * A session cluster's TaskManager pool that follows demand: a loop that reads the JobManager's
 * jobs and TaskManagers (REST) and sets the TaskManager Deployment's replicas (its `scale`
 * subresource). Demand is the slots the cluster's active jobs need (a job of the default slot
 * sharing takes as many slots as its most parallel operator: its declared parallelism under the
 * adaptive scheduler, so a job rescaled while it runs moves the pool), or the slots in use when that is
 * more, plus the spare slots asked for; the pool grows at once to hold it and shrinks only after
 * it has been larger than needed for the whole scale-down delay, and then only by TaskManagers
 * with no slot in use: before each scale-down the TaskManager pods get the
 * `controller.kubernetes.io/pod-deletion-cost` of their slots in use, so the ReplicaSet removes
 * idle ones and never a running task.
 */
export interface PoolSpec {
  readonly min: number;
  readonly max: number;
  readonly slotsPerTaskManager: number;
  /** free slots kept beyond the demand */
  readonly spareSlots: number;
  readonly scaleDownDelayMs: number;
}

/** A registered TaskManager as the pool sees it. */
export interface PoolTaskManager {
  /** the pod IP Flink registered it with */
  readonly ip: string;
  readonly slots: number;
  readonly freeSlots: number;
}

export interface PoolObservation {
  readonly now: number;
  /** the Deployment's replicas */
  readonly replicas: number;
  readonly taskManagers: readonly PoolTaskManager[];
  /** slots the active jobs need */
  readonly demandSlots: number;
}

/** What the loop remembers between rounds: since when the pool has been larger than needed. */
export interface PoolState {
  readonly surplusSince?: number;
}

export interface PoolDecision {
  readonly replicas: number;
  /** one line for the log: the demand and why the count is what it is */
  readonly reason: string;
  readonly state: PoolState;
}

/** The TaskManager count the demand asks for, within min and max. */
export function wantedTaskManagers(spec: PoolSpec, demandSlots: number, usedSlots: number): number {
  const slots = Math.max(demandSlots, usedSlots) + spec.spareSlots;
  return Math.min(spec.max, Math.max(spec.min, Math.ceil(slots / spec.slotsPerTaskManager)));
}

/**
 * One round's decision: the replicas to set (the same as now when nothing changes). A TaskManager
 * goes only when it is not needed and has no slot in use (registered idle ones, and pods not
 * registered yet), and only once some TaskManager has been removable for the whole delay: the
 * clock starts when one becomes removable and starts over whenever none is (a job restarted or
 * upgraded within the delay finds its TaskManagers still there).
 */
export function decide(spec: PoolSpec, o: PoolObservation, state: PoolState): PoolDecision {
  const used = o.taskManagers.reduce((n, t) => n + (t.slots - t.freeSlots), 0);
  const want = wantedTaskManagers(spec, o.demandSlots, used);
  const what = `demand ${o.demandSlots} slot(s), ${used} in use, ${spec.spareSlots} spare: ${want} TaskManager(s) wanted, ${o.replicas} now`;
  if (want > o.replicas) return { replicas: want, reason: `${what}: scaling up`, state: {} };
  if (want === o.replicas) return { replicas: o.replicas, reason: what, state: {} };
  const removable = Math.min(o.replicas - want, idleTaskManagers(o.replicas, o.taskManagers));
  if (removable === 0) return { replicas: o.replicas, reason: `${what}: no idle TaskManager to remove`, state: {} };
  const delayS = Math.round(spec.scaleDownDelayMs / 1000);
  if (state.surplusSince === undefined && spec.scaleDownDelayMs > 0) {
    return { replicas: o.replicas, reason: `${what}: ${removable} idle TaskManager(s) go in ${delayS} s unless the demand returns`, state: { surplusSince: o.now } };
  }
  const since = state.surplusSince ?? o.now;
  if (o.now - since < spec.scaleDownDelayMs) {
    return { replicas: o.replicas, reason: `${what}: ${removable} idle TaskManager(s), removable for ${Math.round((o.now - since) / 1000)} s of ${delayS} s`, state: { surplusSince: since } };
  }
  return { replicas: o.replicas - removable, reason: `${what}: scaling down by ${removable} idle TaskManager(s)`, state: {} };
}

/** TaskManagers with no slot in use: registered idle ones, and pods not registered yet. */
export function idleTaskManagers(replicas: number, tms: readonly PoolTaskManager[]): number {
  return tms.filter((t) => t.freeSlots === t.slots).length + Math.max(0, replicas - tms.length);
}

/** The TaskManagers registered with the JobManager, by the IP each registered with. */
export async function readTaskManagers(rest: FlinkRest): Promise<PoolTaskManager[]> {
  const tms = (await rest.request<{ taskmanagers: Array<{ path: string; slotsNumber: number; freeSlots: number }> }>('GET', '/taskmanagers')).taskmanagers;
  return tms.map((x) => ({ ip: taskManagerIp(x.path) ?? '', slots: x.slotsNumber, freeSlots: x.freeSlots }));
}

/** The IP a TaskManager registered with, from its RPC path (`pekko.tcp://flink@10.1.2.3:6122/user/rpc/taskmanager_0`). */
export function taskManagerIp(path: string): string | undefined {
  return /@\[?([0-9a-fA-F.:]+?)\]?:\d+\//.exec(path)?.[1];
}

/** Slots a job needs: its most parallel vertex (one slot sharing group, Flink's default). */
export function jobSlots(vertices: ReadonlyArray<{ parallelism: number }>): number {
  return vertices.reduce((n, v) => Math.max(n, v.parallelism), 0);
}

export interface PoolTarget {
  readonly namespace: string;
  /** the TaskManager Deployment */
  readonly deployment: string;
  /** the label selector of its pods */
  readonly selector: string;
}

/** The annotation the ReplicaSet controller ranks pods by when it scales down (lower goes first). */
export const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/**
 * What the pool remembers of an active job between rounds: the slots its vertices take (they do
 * not change while it runs: read once), and whether its scheduler refused to name resource
 * requirements (the default scheduler answers the call with an error; it is not asked again).
 */
export interface KnownJob {
  readonly vertexSlots?: number;
  readonly refusesRequirements?: boolean;
}

/**
 * The slots a job needs. With the adaptive scheduler, its declared parallelism (the upper bounds
 * of its resource requirements, which the job autoscaler or a user's PUT changes while it runs,
 * and which it keeps while too few slots let it run lower); else its vertices' parallelism. An
 * unreachable REST API rejects (the round fails and nothing is lowered).
 */
export async function jobDemand(rest: FlinkRest, job: { jid: string; state: string }, known: Map<string, KnownJob>): Promise<number> {
  const jid = job.jid;
  if (!known.get(jid)?.refusesRequirements) {
    try {
      const slots = jobSlots([...(await rest.declaredParallelism(jid)).values()].map((parallelism) => ({ parallelism })));
      if (slots > 0) return slots;
    } catch (e) {
      if (!(e instanceof RestAnswerError)) throw e;
      // only a running job's answer tells its scheduler (one still initializing has no JobMaster to ask)
      if (job.state === 'RUNNING') known.set(jid, { ...known.get(jid), refusesRequirements: true });
    }
  }
  // A job's vertices do not change while it runs: read once per job id (not while it has none yet, initializing).
  let slots = known.get(jid)?.vertexSlots;
  if (slots === undefined) {
    slots = jobSlots((await rest.request<{ vertices?: Array<{ parallelism: number }> }>('GET', `/jobs/${jid}`)).vertices ?? []);
    if (slots > 0) known.set(jid, { ...known.get(jid), vertexSlots: slots });
  }
  return slots;
}

/** Reads one observation: the Deployment's replicas, the registered TaskManagers and the active jobs' slots. */
export async function observe(rest: FlinkRest, kube: Kube, t: PoolTarget, known: Map<string, KnownJob>): Promise<PoolObservation> {
  const scale = await kube.getScale(t.namespace, t.deployment);
  const taskManagers = await readTaskManagers(rest);
  const jobs = (await rest.jobs()).filter((j) => !TERMINAL_STATES.has(j.state) && j.state !== 'SUSPENDED');
  let demand = 0;
  for (const j of jobs) demand += await jobDemand(rest, j, known);
  for (const id of [...known.keys()]) if (!jobs.some((j) => j.jid === id)) known.delete(id);
  return {
    now: Date.now(),
    replicas: scale,
    taskManagers,
    demandSlots: demand,
  };
}

/** Gives each TaskManager pod the deletion cost of its slots in use (idle and unregistered pods 0); patches only what changes. */
export async function markDeletionCosts(kube: Kube, t: PoolTarget, tms: readonly PoolTaskManager[]): Promise<void> {
  for (const pod of await kube.listPods(t.namespace, t.selector)) {
    const tm = tms.find((x) => x.ip !== '' && x.ip === pod.ip);
    const cost = String(tm ? tm.slots - tm.freeSlots : 0);
    if (pod.annotations[DELETION_COST] !== cost) await kube.annotatePod(t.namespace, pod.name, { [DELETION_COST]: cost });
  }
}

export interface PoolLoopOptions {
  readonly spec: PoolSpec;
  readonly target: PoolTarget;
  readonly intervalMs: number;
  /** epoch ms to stop at (tests); undefined: until stopped */
  readonly until?: number;
  readonly stopped?: () => boolean;
  readonly log: (m: string) => void;
}

/**
 * The loop: observe, decide, act, every interval. A failed round (the JobManager restarting, the
 * API server busy) is logged and retried next round; the count is never lowered on a failed
 * observation.
 */
export async function runPool(rest: FlinkRest, kube: Kube, o: PoolLoopOptions): Promise<void> {
  const { spec, target, log } = o;
  if (spec.min < 0 || spec.max < Math.max(1, spec.min)) throw new OpsError(`--max: ${spec.max} is invalid; expected at least 1 and at least --min (${spec.min})`);
  let state: PoolState = {};
  let last = '';
  const known = new Map<string, KnownJob>();
  log(`pool of ${target.namespace}/${target.deployment}: ${spec.min} to ${spec.max} TaskManagers of ${spec.slotsPerTaskManager} slot(s), ${spec.spareSlots} spare, scale-down after ${spec.scaleDownDelayMs / 1000} s`);
  while (!o.stopped?.() && (o.until === undefined || Date.now() < o.until)) {
    try {
      const obs = await observe(rest, kube, target, known);
      const d = decide(spec, obs, state);
      state = d.state;
      if (d.replicas < obs.replicas) await markDeletionCosts(kube, target, obs.taskManagers);
      if (d.replicas !== obs.replicas) await kube.setScale(target.namespace, target.deployment, d.replicas);
      // a line per change of what the pool sees, not per round
      const line = d.reason.replace(/ for \d+ s of/, ' for some of');
      if (line !== last || d.replicas !== obs.replicas) log(d.reason);
      last = line;
    } catch (e) {
      log(`pool round failed (retried in ${o.intervalMs / 1000} s): ${(e as Error).message.split('\n')[0]}`);
    }
    await sleep(o.intervalMs);
  }
}
