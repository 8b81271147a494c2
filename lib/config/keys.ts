import { OptionCatalog } from './catalog';
import { FlinkVersion } from './flink-version';

/**
 * Keys with an old name (left) and a new name (right). 2.x reads only the new name; 1.x reads
 * the old name always and the new one from the release in `NEW_NAME_SINCE` (a key absent from
 * that table is new in 2.0). The toolkit writes whichever the target version wants, so one
 * definition works across the 1.x -> 2.x change, and a 2.x user who writes an old name gets
 * it translated.
 */
export const RENAMED_IN_2: Readonly<Record<string, string>> = {
  'state.checkpoints.dir': 'execution.checkpointing.dir',
  'state.savepoints.dir': 'execution.checkpointing.savepoint-dir',
  'state.checkpoints.num-retained': 'execution.checkpointing.num-retained',
  'state.backend.incremental': 'execution.checkpointing.incremental',
  'state.backend.local-recovery': 'execution.state-recovery.from-local',
  'execution.savepoint.path': 'execution.state-recovery.path',
  'execution.savepoint-restore-mode': 'execution.state-recovery.claim-mode',
  'execution.savepoint.ignore-unclaimed-state': 'execution.state-recovery.ignore-unclaimed-state',
  'execution.checkpointing.unaligned': 'execution.checkpointing.unaligned.enabled',
  'state.backend': 'state.backend.type',
  'restart-strategy': 'restart-strategy.type',
  'high-availability': 'high-availability.type',
  'state.checkpoint-storage': 'execution.checkpointing.storage',
};

/** The 1.x release (minor) from which a new name in RENAMED_IN_2 is accepted. */
export const NEW_NAME_SINCE: Readonly<Record<string, number>> = {
  'state.backend.type': 17,
  'restart-strategy.type': 17,
  'high-availability.type': 17,
};

const OLD_NAME: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(RENAMED_IN_2).map(([old, now]) => [now, old]));

/**
 * What to do instead of keys Flink 2.0 removed, where the advice says more than Flink's own
 * replacement (the full list of removed keys comes from the option catalogs: see
 * `removedIn2`).
 */
const REMOVAL_HINTS: Readonly<Record<string, string>> = {
  'jobmanager.heap.size': 'use jobmanager.memory.process.size (the toolkit sets it from jobManagerMemory)',
  'jobmanager.heap.mb': 'use jobmanager.memory.process.size (the toolkit sets it from jobManagerMemory)',
  'taskmanager.heap.size': 'use taskmanager.memory.process.size (the toolkit sets it from taskManagerMemory)',
  'taskmanager.heap.mb': 'use taskmanager.memory.process.size (the toolkit sets it from taskManagerMemory)',
  'state.backend.async': 'remove it: snapshots are always asynchronous in 2.x',
  'taskmanager.network.memory.floating-buffers-per-gate': 'remove it: floating buffers are sized by taskmanager.network.memory.read-buffer.required-per-gate.max',
  'taskmanager.network.memory.buffers-per-channel': 'remove it: buffer debloating (taskmanager.network.memory.buffer-debloat.enabled) replaces it',
  'cluster.evenly-spread-out-slots': 'use taskmanager.load-balance.mode: SLOTS',
}

/** The key the target version reads for a setting known under either name. */
export function keyFor(version: FlinkVersion, key: string): string {
  const preferred = OptionCatalog.for(version)?.preferred(key);
  if (preferred) return preferred;
  if (version.is2x) return RENAMED_IN_2[key] ?? key;
  const old = OLD_NAME[key];
  if (old === undefined) return key;
  const since = NEW_NAME_SINCE[key];
  return since !== undefined && version.atLeast(1, since) ? key : old;
}

/**
 * Why `key` cannot be used on Flink 2.x, or undefined when it can: a key 1.20 accepted that
 * 2.x declares nowhere (from the catalogs generated from the Flink jars), with the
 * replacement Flink names, a hint, or a suggestion.
 */
export function removedIn2(key: string): string | undefined {
  const r = OptionCatalog.removedIn2(key);
  if (!r) return undefined;
  if (REMOVAL_HINTS[key]) return REMOVAL_HINTS[key];
  if (r.replacement) return `use ${r.replacement}`;
  if (r.suggested?.length) return `remove it; the nearest 2.x option is ${r.suggested.join(' or ')}`;
  return 'remove it: 2.x has no such option';
}
