import { FlinkApplication } from './application';
import { StateBackend } from './cluster/options';
import { FlinkPlatform } from './platform';
import { FlinkSessionCluster, FlinkSessionJob } from './session';

/** CPU (millicores) and memory (MiB) requested. */
export interface Resources {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

export interface JobPlan {
  readonly name: string;
  /** How the job is declared now. */
  readonly mode: 'application' | 'session';
  readonly parallelism: number;
  /** What it requests as its own application cluster: JobManager plus enough TaskManagers. */
  readonly asApplication: Resources;
  /** Its share as a session job: the slots it takes plus its share of the session JobManager. */
  readonly asSession: Resources;
  /** Of asApplication, the spare capacity kept for recovery (standby TaskManagers, or spare slots' share of the TaskManagers); absent when none. */
  readonly standby?: Resources;
  readonly recommendation: 'application' | 'session';
  readonly reason: string;
  /** With autoscaling: the TaskManager range, what it requests at most, and what a scale event costs; absent with a fixed count. */
  readonly autoscaling?: AutoscalingPlan;
}

export interface AutoscalingPlan {
  /** reactive (the job takes every slot) or adaptive (it runs with the slots there are, up to its parallelism). */
  readonly mode: string;
  readonly minTaskManagers: number;
  readonly maxTaskManagers: number;
  /** What the job's cluster requests at maxTaskManagers (asApplication is at minTaskManagers). */
  readonly atMax: Resources;
  /** What each scale event costs. */
  readonly scaleEvent: string;
}

export interface PlatformPlan {
  readonly jobs: JobPlan[];
  /** Sum over jobs in their declared modes (session clusters counted whole). */
  readonly declared: Resources;
  readonly allApplication: Resources;
  readonly allSession: Resources;
  /** Sum of the spare capacity of every job (standby TaskManagers and spare slots; included in declared and allApplication). */
  readonly standby: Resources;
}

/** JobManager size assumed for a job that has none of its own (the toolkit's defaults). */
const DEFAULT_JM: Resources = { cpuMillis: 1000, memoryMiB: 1600 };

function add(a: Resources, b: Resources, times = 1): Resources {
  return { cpuMillis: a.cpuMillis + b.cpuMillis * times, memoryMiB: a.memoryMiB + b.memoryMiB * times };
}
const ZERO: Resources = { cpuMillis: 0, memoryMiB: 0 };

/**
 * The isolation/efficiency trade-off per job. A session job pays for its slots (a slot is
 * 1/slots of a TaskManager) and an equal share of the session JobManager; an application pays
 * for a whole JobManager and whole TaskManagers. Application mode is recommended when the
 * job needs what only it gives (reactive scaling, its own HA or upgrades from the latest
 * checkpoint, a whole TaskManager of work or more, RocksDB-sized state) or when sharing
 * saves little; session mode when a small job would pay mostly for an idle JobManager.
 */
export function planPlatform(platform: FlinkPlatform): PlatformPlan {
  const units = platform.releaseUnits;
  const sessions = units.map((u) => u.construct).filter((c): c is FlinkSessionCluster => c instanceof FlinkSessionCluster);
  const jobsOn = new Map<string, number>();
  for (const u of units) if (u.construct instanceof FlinkSessionJob) jobsOn.set(u.construct.cluster.name, (jobsOn.get(u.construct.cluster.name) ?? 0) + 1);
  // Session jobs of application jobs are priced on the platform's first session cluster, or the defaults.
  const ref = sessions[0];
  const refSlot: Resources = ref
    ? { cpuMillis: ref.taskManagerCpuMillis / ref.taskManagerSlots, memoryMiB: ref.taskManagerMemoryMiB / ref.taskManagerSlots }
    : { cpuMillis: 500, memoryMiB: 1024 };
  const refJm: Resources = ref ? { cpuMillis: ref.jobManagerCpuMillis * ref.jobManagerReplicas, memoryMiB: ref.jobManagerMemoryMiB * ref.jobManagerReplicas } : DEFAULT_JM;
  const refJobs = ref ? Math.max(1, (jobsOn.get(ref.name) ?? 0) + 1) : 4;

  const jobs: JobPlan[] = [];
  let declared = ZERO;
  let standbyTotal = ZERO;
  for (const u of units) {
    const c = u.construct;
    if (c instanceof FlinkSessionCluster) {
      declared = add(add(declared, { cpuMillis: c.jobManagerCpuMillis, memoryMiB: c.jobManagerMemoryMiB }, c.jobManagerReplicas),
        { cpuMillis: c.taskManagerCpuMillis, memoryMiB: c.taskManagerMemoryMiB }, c.taskManagerReplicas);
      continue;
    }
    if (c instanceof FlinkApplication) {
      const jm = { cpuMillis: c.jobManagerCpuMillis * c.jobManagerReplicas, memoryMiB: c.jobManagerMemoryMiB * c.jobManagerReplicas };
      const tm = { cpuMillis: c.taskManagerCpuMillis, memoryMiB: c.taskManagerMemoryMiB };
      const asApplication = add(jm, tm, c.taskManagerReplicas);
      // Spare capacity: standby TaskManagers, or the spare slots' share of every TaskManager.
      const spareShare = c.spareSlotsPerTaskManager / (c.taskManagerSlots + c.spareSlotsPerTaskManager);
      const standby = c.standbyTaskManagers ? add(ZERO, tm, c.standbyTaskManagers)
        : c.spareSlotsPerTaskManager ? round(add(ZERO, { cpuMillis: tm.cpuMillis * spareShare, memoryMiB: tm.memoryMiB * spareShare }, c.taskManagerReplicas)) : undefined;
      if (standby) standbyTotal = add(standbyTotal, standby);
      // Autoscaled jobs are priced at their minimum size (what they request when idle).
      const slotsUsed = c.autoscaling ? Math.min(c.parallelism, c.totalSlots) : c.parallelism;
      const asSession = round(add(div(refJm, refJobs), refSlot, slotsUsed));
      declared = add(declared, asApplication);
      const why = applicationNeeds(c);
      const saving = 1 - asSession.memoryMiB / asApplication.memoryMiB;
      jobs.push({
        name: u.name, mode: 'application', parallelism: slotsUsed, asApplication, asSession, ...(standby ? { standby } : {}),
        ...(c.autoscaling ? { autoscaling: autoscalingPlan(c, jm, tm) } : c.jobAutoscaler ? { autoscaling: jobAutoscalerPlan(c, jm, tm) } : {}),
        ...(why ? { recommendation: 'application' as const, reason: why }
          : saving >= 0.3
            ? { recommendation: 'session' as const, reason: `small job: sharing saves ${pct(saving)} of its memory; choose application only if its failures must not touch other jobs` }
            : { recommendation: 'application' as const, reason: `sharing would save only ${pct(Math.max(0, saving))}; keep the isolation` }),
      });
      continue;
    }
    if (c instanceof FlinkSessionJob) {
      const cluster = sessions.find((s) => s.name === c.cluster.name);
      const slot: Resources = cluster ? { cpuMillis: cluster.taskManagerCpuMillis / cluster.taskManagerSlots, memoryMiB: cluster.taskManagerMemoryMiB / cluster.taskManagerSlots } : refSlot;
      const slotsPerTm = cluster?.taskManagerSlots ?? 2;
      const jm: Resources = cluster ? { cpuMillis: cluster.jobManagerCpuMillis * cluster.jobManagerReplicas, memoryMiB: cluster.jobManagerMemoryMiB * cluster.jobManagerReplicas } : DEFAULT_JM;
      const n = jobsOn.get(c.cluster.name) ?? 1;
      const asSession = round(add(div(jm, n), slot, c.parallelism));
      const tms = Math.ceil(c.parallelism / slotsPerTm);
      const asApplication = add(cluster ? { cpuMillis: cluster.jobManagerCpuMillis, memoryMiB: cluster.jobManagerMemoryMiB } : DEFAULT_JM,
        { cpuMillis: slot.cpuMillis * slotsPerTm, memoryMiB: slot.memoryMiB * slotsPerTm }, tms);
      const saving = 1 - asSession.memoryMiB / asApplication.memoryMiB;
      jobs.push({
        name: u.name, mode: 'session', parallelism: c.parallelism, asApplication: round(asApplication), asSession,
        ...(c.parallelism > slotsPerTm * 2
          ? { recommendation: 'application' as const, reason: `takes ${c.parallelism} slots (over two TaskManagers): its restarts would disturb the jobs sharing them` }
          : { recommendation: 'session' as const, reason: `shares the JobManager with ${n - 1} other job(s): ${pct(Math.max(0, saving))} less memory than its own cluster` }),
      });
    }
  }
  const allApplication = jobs.reduce((a, j) => add(a, j.asApplication), ZERO);
  const allSession = jobs.reduce((a, j) => add(a, j.asSession), ZERO);
  return { jobs, declared: round(declared), allApplication: round(allApplication), allSession: round(allSession), standby: round(standbyTotal) };
}

function applicationNeeds(c: FlinkApplication): string | undefined {
  if (c.autoscaling) return `${c.autoscaling.mode} scaling needs its own application cluster`;
  if (c.jobAutoscaler) return 'the job autoscaler needs its own application cluster (it owns the TaskManager count)';
  if (c.highAvailability) return 'declared with its own high availability: a JobManager failure must touch no other job';
  if (c.standbyTaskManagers) return `keeps ${c.standbyTaskManagers} standby TaskManager(s) of its own so that it restarts at once after losing one`;
  if (c.spareSlotsPerTaskManager) return `keeps ${c.spareSlotsPerTaskManager} spare slot(s) on each of its TaskManagers so that the others take over a lost one's tasks at once`;
  if (c.taskManagerReplicas > 1) return `needs ${c.taskManagerReplicas} whole TaskManagers: sharing saves little and its restarts would disturb other jobs`;
  if (c.configuration.get('state.backend.type') === StateBackend.ROCKSDB) return 'RocksDB state: managed memory per slot is its own, and large state recovers faster alone';
  return undefined;
}

/**
 * The range and the price of a scale event. In both modes Flink's adaptive scheduler restarts the
 * job on the new slots from its latest completed checkpoint: the state is kept and the input since
 * that checkpoint is read again. A (re)start first waits the stabilization timeout for more
 * TaskManagers.
 */
function autoscalingPlan(c: FlinkApplication, jm: Resources, tm: Resources): AutoscalingPlan {
  const a = c.autoscaling!;
  const interval = c.configuration.get('execution.checkpointing.interval');
  const settle = c.configuration.get('jobmanager.adaptive-scheduler.resource-stabilization-timeout');
  return {
    mode: a.mode,
    minTaskManagers: a.min,
    maxTaskManagers: a.max,
    atMax: add(jm, tm, a.max),
    scaleEvent: `a restart from the latest checkpoint (state kept; up to ${interval} of input read again); a (re)start waits ${settle} for more TaskManagers`,
  };
}

/** The job autoscaler's TaskManager range and the price of a rescale: in place, from the latest checkpoint, at most once per stabilization and window. */
function jobAutoscalerPlan(c: FlinkApplication, jm: Resources, tm: Resources): AutoscalingPlan {
  const j = c.jobAutoscaler!;
  const interval = c.configuration.get('execution.checkpointing.interval');
  return {
    mode: 'per-vertex (job autoscaler)',
    minTaskManagers: j.minTaskManagers,
    maxTaskManagers: j.maxTaskManagers,
    atMax: add(jm, tm, j.maxTaskManagers),
    scaleEvent: `a rescale in place from the latest checkpoint (same job id, state kept; up to ${interval} of input read again), `
      + `at most once per ${j.stabilizationSeconds + j.metricsWindowSeconds} s (stabilization and metrics window); parallelism ${j.minParallelism} to ${j.maxParallelism} per vertex`,
  };
}

function div(r: Resources, n: number): Resources {
  return { cpuMillis: r.cpuMillis / n, memoryMiB: r.memoryMiB / n };
}
function round(r: Resources): Resources {
  return { cpuMillis: Math.round(r.cpuMillis), memoryMiB: Math.round(r.memoryMiB) };
}
function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
