import { ValidationError } from '../errors';

/**
 * Flink's memory model, reduced to what decides whether a process size can boot. Figures
 * are Flink's defaults for 1.20 and 2.x (they did not change): JVM metaspace 256 MiB for the
 * TaskManager and 256 MiB for the JobManager, JVM overhead 10 % clamped to [192 MiB, 1 GiB],
 * framework heap and off-heap 128 MiB each, network 10 % of Flink memory clamped to
 * [64 MiB, 1 GiB], JobManager off-heap 128 MiB.
 */
export interface TaskManagerMemoryBreakdown {
  readonly processMiB: number;
  readonly flinkMiB: number;
  readonly networkMiB: number;
  readonly managedMiB: number;
  readonly taskHeapMiB: number;
}

const METASPACE = 256;
const FRAMEWORK_HEAP = 128;
const FRAMEWORK_OFF_HEAP = 128;
const JM_OFF_HEAP = 128;
/** The smallest task heap the toolkit accepts: less leaves no room for user code. */
export const MIN_TASK_HEAP_MIB = 128;
/** The smallest JobManager heap the toolkit accepts. */
export const MIN_JOB_MANAGER_HEAP_MIB = 128;

function overhead(processMiB: number): number {
  return Math.min(1024, Math.max(192, Math.floor(processMiB * 0.1)));
}

export function taskManagerBreakdown(processMiB: number, managedFraction: number): TaskManagerMemoryBreakdown {
  const flinkMiB = processMiB - METASPACE - overhead(processMiB);
  const networkMiB = Math.min(1024, Math.max(64, Math.floor(flinkMiB * 0.1)));
  const managedMiB = Math.floor(flinkMiB * managedFraction);
  const taskHeapMiB = flinkMiB - FRAMEWORK_HEAP - FRAMEWORK_OFF_HEAP - networkMiB - managedMiB;
  return { processMiB, flinkMiB, networkMiB, managedMiB, taskHeapMiB };
}

/** Throws when Flink could not derive a usable task heap from this process size. */
export function checkTaskManagerMemory(field: string, processMiB: number, managedFraction: number): TaskManagerMemoryBreakdown {
  const b = taskManagerBreakdown(processMiB, managedFraction);
  if (b.taskHeapMiB < MIN_TASK_HEAP_MIB) {
    const min = minimumTaskManagerMiB(managedFraction);
    throw new ValidationError(field, `${processMiB}Mi`,
      `is below Flink's minimum; with managed memory fraction ${managedFraction} the task heap would be ${b.taskHeapMiB} MiB (metaspace ${METASPACE}, JVM overhead ${overhead(processMiB)}, framework ${FRAMEWORK_HEAP + FRAMEWORK_OFF_HEAP}, network ${b.networkMiB}, managed ${b.managedMiB}); expected at least ${min}Mi`);
  }
  return b;
}

export function minimumTaskManagerMiB(managedFraction: number): number {
  let p = 512;
  while (taskManagerBreakdown(p, managedFraction).taskHeapMiB < MIN_TASK_HEAP_MIB) p += 16;
  return p;
}

export function jobManagerHeapMiB(processMiB: number): number {
  return processMiB - METASPACE - overhead(processMiB) - JM_OFF_HEAP;
}

/** The smallest JobManager process size (a multiple of 16 MiB from 512) whose heap reaches Flink's minimum. */
export function minimumJobManagerMiB(): number {
  let min = 512;
  while (jobManagerHeapMiB(min) < MIN_JOB_MANAGER_HEAP_MIB) min += 16;
  return min;
}

export function checkJobManagerMemory(field: string, processMiB: number): number {
  const heap = jobManagerHeapMiB(processMiB);
  if (heap < MIN_JOB_MANAGER_HEAP_MIB) {
    const min = minimumJobManagerMiB();
    throw new ValidationError(field, `${processMiB}Mi`,
      `is below Flink's minimum; the JobManager heap would be ${heap} MiB (metaspace ${METASPACE}, JVM overhead ${overhead(processMiB)}, off-heap ${JM_OFF_HEAP}); expected at least ${min}Mi`);
  }
  return heap;
}
