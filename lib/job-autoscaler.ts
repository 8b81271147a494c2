import { Duration } from 'cdk8s';
import { wholeSeconds } from './config/units';
import { ValidationError, checkInt } from './errors';
import { AUTOSCALER_TASK_MANAGERS_RANGE } from './rules/guards';

/**
 * The job autoscaler of an application cluster, after the Flink Kubernetes Operator's: the
 * operations tool's `autoscale` command (lib/ops/autoscale.ts) in a Deployment of its own
 * (`<name>-autoscaler`) sets each job vertex's parallelism from its busy time and its sources'
 * backlog, through the adaptive scheduler (the job rescales in place from its latest
 * checkpoint), and the TaskManager count to the slots that parallelism needs.
 */
export interface JobAutoscalerOptions {
  /** Highest parallelism of any vertex (1 to 32768). */
  readonly maxParallelism: number;
  /** Lowest parallelism of any vertex. @default 1 */
  readonly minParallelism?: number;
  /** Busy time to aim for, percent (10 to 100; the operator's `job.autoscaler.target.utilization`). @default 70 */
  readonly targetUtilization?: number;
  /** No change while every vertex is within the target +/- this many percent (0 to 90). @default 20 */
  readonly utilizationBoundary?: number;
  /** At most this many percent lower per decision (1 to 100). @default 60 */
  readonly maxScaleDown?: number;
  /** Time in which a source's pending records (Kafka lag) should be read on top of its input. @default Duration.minutes(5) */
  readonly catchUp?: Duration;
  /** Metrics averaged over this long before a decision. @default Duration.minutes(5) */
  readonly metricsWindow?: Duration;
  /** Metrics ignored for this long after the job (re)starts or rescales. @default Duration.minutes(2) */
  readonly stabilization?: Duration;
  /** Time between samples. @default Duration.seconds(10) */
  readonly interval?: Duration;
  /** Fewest TaskManagers. @default 1 */
  readonly minTaskManagers?: number;
  /** Most TaskManagers. @default - as many as maxParallelism needs */
  readonly maxTaskManagers?: number;
  /**
   * The image of the operations tool that runs the autoscaler (built from runtime/).
   * @default the application's opsImage
   */
  readonly opsImage?: string;
}

/** The job autoscaler's settings, checked, with their defaults (durations in whole seconds). */
export interface ResolvedJobAutoscaler {
  readonly minParallelism: number;
  readonly maxParallelism: number;
  readonly targetUtilization: number;
  readonly utilizationBoundary: number;
  readonly maxScaleDown: number;
  readonly catchUpSeconds: number;
  readonly metricsWindowSeconds: number;
  readonly stabilizationSeconds: number;
  readonly intervalSeconds: number;
  readonly minTaskManagers: number;
  readonly maxTaskManagers: number;
  readonly opsImage: string;
}

/**
 * The job autoscaler of a session job: the same loop in a Deployment of the job's chart
 * (`<name>-autoscaler`), selecting the job by its name among the session's jobs. It sets the
 * job's parallelism only; the session cluster's TaskManager pool (`taskManagerPool`), which
 * counts each job at its declared parallelism, follows it with TaskManagers. Without a pool the
 * job rescales within the slots the cluster has. It runs the job's `opsImage`, as its submitter does.
 */
export type SessionJobAutoscalerOptions = Omit<JobAutoscalerOptions, 'minTaskManagers' | 'maxTaskManagers' | 'opsImage'>;

/** What the job autoscaler of an application and of a session job share. */
export type ResolvedScaling = Omit<ResolvedJobAutoscaler, 'minTaskManagers' | 'maxTaskManagers'>;

function resolveScaling(o: SessionJobAutoscalerOptions, opsImage: string): ResolvedScaling {
  if (o === null || typeof o !== 'object') throw new ValidationError('jobAutoscaler', o, 'is invalid; expected { maxParallelism, minParallelism?, targetUtilization?, ... }');
  const maxParallelism = checkInt('jobAutoscaler.maxParallelism', o.maxParallelism, 1, 32768);
  const minParallelism = checkInt('jobAutoscaler.minParallelism', o.minParallelism ?? 1, 1, 32768);
  if (minParallelism > maxParallelism) throw new ValidationError('jobAutoscaler.minParallelism', minParallelism, `is above jobAutoscaler.maxParallelism (${maxParallelism}); expected at most ${maxParallelism}`);
  return {
    minParallelism, maxParallelism,
    targetUtilization: checkInt('jobAutoscaler.targetUtilization', o.targetUtilization ?? 70, 10, 100),
    utilizationBoundary: checkInt('jobAutoscaler.utilizationBoundary', o.utilizationBoundary ?? 20, 0, 90),
    maxScaleDown: checkInt('jobAutoscaler.maxScaleDown', o.maxScaleDown ?? 60, 1, 100),
    catchUpSeconds: wholeSeconds('jobAutoscaler.catchUp', o.catchUp ?? Duration.minutes(5), 1, 86_400),
    metricsWindowSeconds: wholeSeconds('jobAutoscaler.metricsWindow', o.metricsWindow ?? Duration.minutes(5), 1, 86_400),
    stabilizationSeconds: wholeSeconds('jobAutoscaler.stabilization', o.stabilization ?? Duration.minutes(2), 0, 86_400),
    intervalSeconds: wholeSeconds('jobAutoscaler.interval', o.interval ?? Duration.seconds(10), 1, 3600),
    opsImage,
  };
}

/** Checks the job autoscaler's options for a cluster of `slots` slots per TaskManager. */
export function resolveJobAutoscaler(o: JobAutoscalerOptions, slots: number, opsImage: string): ResolvedJobAutoscaler {
  const scaling = resolveScaling(o, opsImage);
  const minTaskManagers = checkInt('jobAutoscaler.minTaskManagers', o.minTaskManagers ?? 1, 1, 1000);
  const maxTaskManagers = checkInt('jobAutoscaler.maxTaskManagers', o.maxTaskManagers ?? Math.max(minTaskManagers, Math.ceil(scaling.maxParallelism / slots)), 1, 1000);
  if (!AUTOSCALER_TASK_MANAGERS_RANGE.holds({ minTaskManagers, maxTaskManagers })) throw new ValidationError('jobAutoscaler.maxTaskManagers', maxTaskManagers, `is below jobAutoscaler.minTaskManagers (${minTaskManagers}); expected at least ${minTaskManagers}`);
  return { ...scaling, minTaskManagers, maxTaskManagers };
}

/** Checks a session job's autoscaler options: no TaskManager count (the session's pool owns it). */
export function resolveSessionJobAutoscaler(o: SessionJobAutoscalerOptions, opsImage: string): ResolvedScaling {
  for (const f of ['minTaskManagers', 'maxTaskManagers'] as const) {
    const v = (o as JobAutoscalerOptions | null)?.[f];
    if (v !== undefined) throw new ValidationError(`jobAutoscaler.${f}`, v, 'is for application clusters; a session job\'s TaskManagers are the session cluster\'s: give it a taskManagerPool, which follows the declared parallelism');
  }
  const image = (o as JobAutoscalerOptions | null)?.opsImage;
  if (image !== undefined) throw new ValidationError('jobAutoscaler.opsImage', image, 'is for application clusters; a session job\'s autoscaler runs the job\'s opsImage, as its submitter does');
  return resolveScaling(o, opsImage);
}

/** The values of the autoscaler's arguments (literals in dist/, value expressions in the chart). */
export type JobAutoscalerArgValues<V> = Readonly<Record<'restUrl' | 'deployment' | 'selector' | 'slots' | ScalingKey | 'minTaskManagers' | 'maxTaskManagers', string | V>>;
type ScalingKey = 'minParallelism' | 'maxParallelism' | 'targetUtilization' | 'utilizationBoundary' | 'maxScaleDown' | 'catchUp' | 'metricsWindow' | 'stabilization' | 'interval';

/** How the autoscaler decides, in its arguments (shared by an application's and a session job's). */
function scalingArgs<V>(a: Readonly<Record<ScalingKey, string | V>>): (string | V)[] {
  return [
    '--min-parallelism', a.minParallelism, '--max-parallelism', a.maxParallelism, '--target-utilization', a.targetUtilization,
    '--utilization-boundary', a.utilizationBoundary, '--max-scale-down', a.maxScaleDown, '--catch-up', a.catchUp, '--window', a.metricsWindow,
    '--stabilization', a.stabilization, '--interval', a.interval,
  ];
}

/** The autoscaler container's arguments; the chart renders the same list with its values in place of the literals. */
export function jobAutoscalerArgs<V = string>(a: JobAutoscalerArgValues<V>): (string | V)[] {
  return [
    'autoscale', '--rest-url', a.restUrl, '--deployment', a.deployment, '--selector', a.selector, '--slots-per-task-manager', a.slots,
    ...scalingArgs(a), '--min-task-managers', a.minTaskManagers, '--max-task-managers', a.maxTaskManagers,
  ];
}

/** A session job's autoscaler arguments: the session's REST API and the job's name; no Deployment to size. */
export function sessionJobAutoscalerArgs<V = string>(a: Readonly<Record<'restUrl' | 'jobName' | ScalingKey, string | V>>): (string | V)[] {
  return ['autoscale', '--rest-url', a.restUrl, '--job-name', a.jobName, ...scalingArgs(a)];
}

/** The autoscaler's values in its arguments: `value(key, literal, quote)` for each (ControllerArgs). */
export function jobAutoscalerArgValues<V>(j: ResolvedJobAutoscaler, value: (key: string, literal: string, quote?: boolean) => string | V) {
  const q = (k: string, n: number) => value(k, String(n), true);
  return { ...scalingArgValues(j, value), minTaskManagers: q('minTaskManagers', j.minTaskManagers), maxTaskManagers: q('maxTaskManagers', j.maxTaskManagers) };
}

/** The values of how the autoscaler decides: `value(key, literal, quote)` for each. */
export function scalingArgValues<V>(j: ResolvedScaling, value: (key: string, literal: string, quote?: boolean) => string | V): Record<ScalingKey, string | V> {
  const q = (k: string, n: number) => value(k, String(n), true);
  const s = (k: string, seconds: number) => value(k, `${seconds}s`);
  return {
    minParallelism: q('minParallelism', j.minParallelism), maxParallelism: q('maxParallelism', j.maxParallelism), targetUtilization: q('targetUtilization', j.targetUtilization),
    utilizationBoundary: q('utilizationBoundary', j.utilizationBoundary), maxScaleDown: q('maxScaleDown', j.maxScaleDown), catchUp: s('catchUp', j.catchUpSeconds),
    metricsWindow: s('metricsWindow', j.metricsWindowSeconds), stabilization: s('stabilization', j.stabilizationSeconds), interval: s('interval', j.intervalSeconds),
  };
}
