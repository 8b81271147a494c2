import { add, clamp, compile, div, evaluate, input, IntExpr, named, sub, timesFraction } from '../rules/int-expr';

/**
 * Flink's memory model, reduced to what decides whether a process size can boot. Figures
 * are Flink's defaults for 1.20 and 2.x (they did not change): JVM metaspace 256 MiB for the
 * TaskManager and 256 MiB for the JobManager, JVM overhead 10 % clamped to [192 MiB, 1 GiB],
 * framework heap and off-heap 128 MiB each, network 10 % of Flink memory clamped to
 * [64 MiB, 1 GiB], JobManager off-heap 128 MiB. The checks with their messages are the
 * constructs' (lib/cluster/memory-checks.ts) and the charts' (lib/rules/guards.ts).
 */
export interface TaskManagerMemoryBreakdown {
  readonly processMiB: number;
  readonly overheadMiB: number;
  readonly flinkMiB: number;
  readonly networkMiB: number;
  readonly managedMiB: number;
  readonly taskHeapMiB: number;
}

export const METASPACE_MIB = 256;
export const FRAMEWORK_MIB = 128 + 128;
export const JM_OFF_HEAP_MIB = 128;
/** The smallest task heap the toolkit accepts: less leaves no room for user code. */
export const MIN_TASK_HEAP_MIB = 128;
/** The smallest JobManager heap the toolkit accepts. */
export const MIN_JOB_MANAGER_HEAP_MIB = 128;

// The TaskManager's memory in integer MiB, computed the same way by the constructs and by the
// charts (lib/rules/int-expr.ts): every floor of Flink's model is an integer division, and the
// managed fraction an exact ratio (read to 9 decimal places).
const PROCESS = named('tmProcessMiB', input('processMiB'));
/** JVM overhead: 10 % of the process, within [192 MiB, 1 GiB]. */
const OVERHEAD = clamp(div(PROCESS, 10), 192, 1024);
const TM_FLINK = named('tmFlinkMiB', sub(sub(PROCESS, METASPACE_MIB), OVERHEAD));
/** Network: 10 % of Flink memory, within [64 MiB, 1 GiB]. */
const TM_NETWORK = named('tmNetworkMiB', clamp(div(TM_FLINK, 10), 64, 1024));
const tmManaged = (managedFraction: number) => named('tmManagedMiB', timesFraction(TM_FLINK, managedFraction));

/** The task heap of a TaskManager whose process size is the input `processMiB`. */
export function taskHeapMiB(managedFraction: number): IntExpr {
  return sub(sub(TM_FLINK, FRAMEWORK_MIB), add(TM_NETWORK, tmManaged(managedFraction)));
}

export function overheadMiB(processMiB: number): number {
  return evaluate(OVERHEAD, { processMiB });
}

export function taskManagerBreakdown(processMiB: number, managedFraction: number): TaskManagerMemoryBreakdown {
  const at = (e: IntExpr) => evaluate(e, { processMiB });
  return {
    processMiB, overheadMiB: at(OVERHEAD), flinkMiB: at(TM_FLINK), networkMiB: at(TM_NETWORK),
    managedMiB: at(tmManaged(managedFraction)), taskHeapMiB: at(taskHeapMiB(managedFraction)),
  };
}

/**
 * The smallest process size from which every larger one leaves the minimum task heap. The heap
 * is not monotonic in the process size: where one more MiB of Flink memory steps both the
 * network and the managed floors it drops by 1 MiB, so a few sizes just above the first that
 * holds fail again (at fraction 0.75: 3116 holds, 3117-3120 do not). But over any 10 more MiB
 * of Flink memory the network steps at most once and the managed memory at most 9 times (for a
 * fraction up to 0.9), so the heap never ends lower: once 10 consecutive Flink memory sizes hold,
 * every larger one does. 21 consecutive process sizes cover 10 Flink memory sizes (the overhead
 * takes at most 1 MiB of every 10). Below 896 MiB (Flink memory under 448) nothing holds.
 */
export function minimumTaskManagerMiB(managedFraction: number): number {
  if (!(managedFraction >= 0 && managedFraction <= 0.9)) throw new Error(`managed fraction ${managedFraction}; expected 0 to 0.9`);
  const heap = compile(taskHeapMiB(managedFraction));
  let run = 0;
  let p = 896;
  for (; run < 21; p++) run = heap({ processMiB: p }) >= MIN_TASK_HEAP_MIB ? run + 1 : 0;
  return p - 21;
}

export function jobManagerHeapMiB(processMiB: number): number {
  return processMiB - METASPACE_MIB - overheadMiB(processMiB) - JM_OFF_HEAP_MIB;
}

/** The smallest JobManager process size (a multiple of 16 MiB from 512) whose heap reaches Flink's minimum. */
export function minimumJobManagerMiB(): number {
  let min = 512;
  while (jobManagerHeapMiB(min) < MIN_JOB_MANAGER_HEAP_MIB) min += 16;
  return min;
}
