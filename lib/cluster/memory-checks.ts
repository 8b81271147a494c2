import { ValidationError } from '../errors';
import {
  FRAMEWORK_MIB, JM_OFF_HEAP_MIB, jobManagerHeapMiB, METASPACE_MIB, minimumJobManagerMiB, minimumTaskManagerMiB, overheadMiB,
  TaskManagerMemoryBreakdown, taskManagerBreakdown,
} from '../config/memory';
import { JOB_MANAGER_HEAP_MINIMUM, TASK_HEAP_MINIMUM } from '../rules/guards';

/** The constructs' memory checks (lib/rules/guards.ts), with messages naming the props. */

/** Throws when Flink could not derive a usable task heap from this process size. */
export function checkTaskManagerMemory(field: string, processMiB: number, managedFraction: number): TaskManagerMemoryBreakdown {
  const b = taskManagerBreakdown(processMiB, managedFraction);
  if (!TASK_HEAP_MINIMUM.holds({ processMiB, managedFraction })) {
    throw new ValidationError(field, `${processMiB}Mi`,
      `is below Flink's minimum; with managed memory fraction ${managedFraction} the task heap would be ${b.taskHeapMiB} MiB (metaspace ${METASPACE_MIB}, JVM overhead ${b.overheadMiB}, framework ${FRAMEWORK_MIB}, network ${b.networkMiB}, managed ${b.managedMiB}); expected at least ${minimumTaskManagerMiB(managedFraction)}Mi`);
  }
  return b;
}

export function checkJobManagerMemory(field: string, processMiB: number): number {
  const heap = jobManagerHeapMiB(processMiB);
  if (!JOB_MANAGER_HEAP_MINIMUM.holds({ processMiB })) {
    throw new ValidationError(field, `${processMiB}Mi`,
      `is below Flink's minimum; the JobManager heap would be ${heap} MiB (metaspace ${METASPACE_MIB}, JVM overhead ${overheadMiB(processMiB)}, off-heap ${JM_OFF_HEAP_MIB}); expected at least ${minimumJobManagerMiB()}Mi`);
  }
  return heap;
}
