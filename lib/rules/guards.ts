/**
 * Guards on values that span several fields, which the charts' values.schema.json cannot express.
 * Each is declared once: `holds` is the check the constructs apply to their props, `refusedWhen`
 * the Go template condition on which the chart's `validate` helper fails the release, so the
 * two verdicts cannot drift (test/unit/guard-rules.test.ts renders both on the same values).
 * The messages stay with each side: they name the props there and the chart values here.
 */
export interface GuardRule<V, P> {
  /** true when the values are accepted. */
  readonly holds: (v: V) => boolean;
  /** The Go template condition, true when the chart's values are refused. */
  readonly refusedWhen: (p: P) => string;
}

/** The job's parallelism fits the slots of its TaskManagers (the chart multiplies taskManager.replicas by the slots of each). */
export const PARALLELISM_WITHIN_SLOTS: GuardRule<{ parallelism: number; totalSlots: number }, { slotsPerTaskManager: number }> = {
  holds: (v) => v.parallelism <= v.totalSlots,
  refusedWhen: (p) => `gt (int .Values.job.parallelism) (mul (int .Values.taskManager.replicas) ${p.slotsPerTaskManager})`,
};

/** A savepoint upgrade needs a savepoint directory. */
export const SAVEPOINT_NEEDS_DIRECTORY: GuardRule<{ upgradeMode: string; savepointDirectory?: string }, void> = {
  holds: (v) => v.upgradeMode !== 'savepoint' || !!v.savepointDirectory,
  refusedWhen: () => 'and (eq .Values.job.upgradeMode "savepoint") (not .Values.job.savepointDirectory)',
};
