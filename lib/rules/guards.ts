/**
 * Guards on values that span several fields, which the charts' values.schema.json cannot express.
 * Each is declared once: `holds` is the check the constructs apply to their props, `refusedWhen`
 * the Go template condition on which the chart's `validate` helper fails the release, so the
 * two verdicts cannot drift (test/unit/guard-rules.test.ts renders both on the same values).
 * The messages stay with each side: they name the props there and the chart values here.
 */
import { jobManagerHeapMiB, MIN_JOB_MANAGER_HEAP_MIB, MIN_TASK_HEAP_MIB, minimumJobManagerMiB, taskHeapMiB, taskManagerBreakdown } from '../config/memory';
import { goExpression } from './int-expr';

export interface GuardRule<V, P> {
  /** true when the values are accepted. */
  readonly holds: (v: V) => boolean;
  /** The Go template condition, true when the chart's values are refused. */
  readonly refusedWhen: (p: P) => string;
  /** Template variable assignments the condition reads, placed before it. @default - none */
  readonly assignments?: (p: P) => string;
}

/** The job's parallelism fits the slots of its TaskManagers (the chart multiplies taskManager.replicas by the slots of each). */
export const PARALLELISM_WITHIN_SLOTS: GuardRule<{ parallelism: number; totalSlots: number }, { slotsPerTaskManager: number }> = {
  holds: (v) => v.parallelism <= v.totalSlots,
  refusedWhen: (p) => `gt (int .Values.job.parallelism) (mul (int .Values.taskManager.replicas) ${p.slotsPerTaskManager})`,
};

/**
 * With the adaptive scheduler the job's parallelism is its upper bound: one the TaskManagers
 * could never offer (autoscaling's most TaskManagers x slots) is refused, on both sides.
 */
export const PARALLELISM_WITHIN_AUTOSCALING: GuardRule<{ parallelism: number; maxSlots: number }, { slotsPerTaskManager: number }> = {
  holds: (v) => v.parallelism <= v.maxSlots,
  refusedWhen: (p) => `gt (int .Values.job.parallelism) (mul (int .Values.taskManager.autoscaling.maxReplicas) ${p.slotsPerTaskManager})`,
};

/**
 * With spare slots, the TaskManagers left after losing one hold the whole job: (replicas - 1) x
 * slots per TaskManager (the job's and the spare ones) >= parallelism.
 */
export const SPARE_SLOTS_HOLD_THE_JOB: GuardRule<{ parallelism: number; replicas: number; slotsPerTaskManager: number }, { slotsPerTaskManager: number }> = {
  holds: (v) => (v.replicas - 1) * v.slotsPerTaskManager >= v.parallelism,
  refusedWhen: (p) => `lt (mul (sub (int .Values.taskManager.replicas) 1) ${p.slotsPerTaskManager}) (int .Values.job.parallelism)`,
};

/** A session cluster's TaskManager pool: its fewest TaskManagers are at most its most. */
export const POOL_MIN_WITHIN_MAX: GuardRule<{ min: number; max: number }, void> = {
  holds: (v) => v.min <= v.max,
  refusedWhen: () => 'gt (int .Values.taskManager.pool.min) (int .Values.taskManager.pool.max)',
};

/**
 * The job autoscaler's range of parallelism is not empty, and the job starts within it. In the
 * chart its settings are at `taskManager.jobAutoscaler` (an application's) or `jobAutoscaler` (a session job's).
 */
export const AUTOSCALER_PARALLELISM_RANGE: GuardRule<{ parallelism: number; minParallelism: number; maxParallelism: number }, { values?: string } | void> = {
  holds: (v) => v.minParallelism <= v.parallelism && v.parallelism <= v.maxParallelism,
  refusedWhen: (p) => {
    const a = (p && p.values) ?? '.Values.taskManager.jobAutoscaler';
    return `or (gt (int ${a}.minParallelism) (int .Values.job.parallelism)) (gt (int .Values.job.parallelism) (int ${a}.maxParallelism))`;
  },
};

/** The job autoscaler's fewest TaskManagers are at most its most. */
export const AUTOSCALER_TASK_MANAGERS_RANGE: GuardRule<{ minTaskManagers: number; maxTaskManagers: number }, void> = {
  holds: (v) => v.minTaskManagers <= v.maxTaskManagers,
  refusedWhen: () => 'gt (int .Values.taskManager.jobAutoscaler.minTaskManagers) (int .Values.taskManager.jobAutoscaler.maxTaskManagers)',
};

/** A savepoint upgrade needs a savepoint directory. */
export const SAVEPOINT_NEEDS_DIRECTORY: GuardRule<{ upgradeMode: string; savepointDirectory?: string }, void> = {
  holds: (v) => v.upgradeMode !== 'savepoint' || !!v.savepointDirectory,
  refusedWhen: () => 'and (eq .Values.job.upgradeMode "savepoint") (not .Values.job.savepointDirectory)',
};

/** Where a chart's memory guard reads its process size: a Go expression giving MiB as an integer. */
export interface MemoryValue {
  readonly processMiB: string;
}

/**
 * The TaskManager's process size leaves a task heap of at least MIN_TASK_HEAP_MIB. Both sides
 * compute the heap with the same integer expression (lib/config/memory.ts `taskHeapMiB`, rendered
 * by lib/rules/int-expr.ts), not a threshold: the heap is not monotonic in the process size.
 * The chart's managed fraction is the definition's (flinkConfiguration may not change it).
 */
export const TASK_HEAP_MINIMUM: GuardRule<{ processMiB: number; managedFraction: number }, MemoryValue & { managedFraction: number }> = {
  holds: (v) => taskManagerBreakdown(v.processMiB, v.managedFraction).taskHeapMiB >= MIN_TASK_HEAP_MIB,
  assignments: (p) => goExpression(taskHeapMiB(p.managedFraction), { processMiB: p.processMiB }).assignments,
  refusedWhen: (p) => `lt ${goExpression(taskHeapMiB(p.managedFraction), { processMiB: p.processMiB }).expr} ${MIN_TASK_HEAP_MIB}`,
};

/**
 * The JobManager's process size leaves a heap of at least MIN_JOB_MANAGER_HEAP_MIB. Its heap
 * never drops as the size grows (one more MiB adds at most 1 MiB of overhead), so the chart
 * compares with the smallest size that holds.
 */
export const JOB_MANAGER_HEAP_MINIMUM: GuardRule<{ processMiB: number }, MemoryValue> = {
  holds: (v) => jobManagerHeapMiB(v.processMiB) >= MIN_JOB_MANAGER_HEAP_MIB,
  refusedWhen: (p) => `lt (${p.processMiB}) ${minimumJobManagerMiB()}`,
};

/** Where a chart keeps an image: the Go path of its `repository`, `tag` and `digest` values. */
export interface ImageValues {
  readonly values: string;
}

/**
 * An image is pinned: by a digest, or by a tag other than the moving "latest" (a tag next to a
 * digest is only a label: the digest pins). The format of each part is the values schema's
 * (lib/cluster/image-ref.ts `TAG_PATTERN`, `DIGEST_PATTERN`).
 */
export const IMAGE_PINNED: GuardRule<{ tag?: string; digest?: string }, ImageValues> = {
  holds: (v) => !!v.digest || (!!v.tag && v.tag !== 'latest'),
  refusedWhen: (p) => `and (not ${p.values}.digest) (or (not ${p.values}.tag) (eq ${p.values}.tag "latest"))`,
};

/**
 * A last-state upgrade finds the latest checkpoint through the HA metadata: it needs high
 * availability and a checkpoint directory, which the chart's cluster has or not (fixed when the
 * chart is built: neither is a value), so the chart refuses the mode or never does.
 */
export const LAST_STATE_NEEDS_HA_CHECKPOINTS: GuardRule<
  { upgradeMode: string; highAvailability: boolean; checkpointDirectory?: string },
  { highAvailability: boolean; checkpointDirectory?: string }
> = {
  holds: (v) => v.upgradeMode !== 'last-state' || (v.highAvailability && !!v.checkpointDirectory),
  refusedWhen: (p) => (p.highAvailability && p.checkpointDirectory ? 'false' : 'eq .Values.job.upgradeMode "last-state"'),
};

/**
 * Suspending stops the job with a savepoint: it needs a savepoint directory. The chart's
 * `job.state` is the only place a job is suspended; the operations tool's hand-off (run by the
 * upgrade hook) checks the same rule on the values it is given.
 */
export const SUSPEND_NEEDS_DIRECTORY: GuardRule<{ state: string; savepointDirectory?: string }, void> = {
  holds: (v) => v.state !== 'suspended' || !!v.savepointDirectory,
  refusedWhen: () => 'and (eq .Values.job.state "suspended") (not .Values.job.savepointDirectory)',
};

/** A chart's `{{ if <condition> }}{{ fail <message> }}` block for a rule, or "" when the chart can never refuse. */
export function failBlock(condition: string, message: string): string {
  return condition === 'false' ? '' : `{{- if ${condition} -}}\n{{- fail ${message} -}}\n{{- end -}}\n`;
}
