import { ApiSnapshot } from './inputs';

/** What the previous synthesis recorded of a unit whose output was made from its inputs alone. */
export interface PreviousUnit {
  /** `inputs:<sha256>`: the hash of the unit's inputs (FlinkPlatform computes it the same way). */
  readonly hash: string;
  /** The unit's resources other units may not share (HA cluster ids, consumer groups, ...). */
  readonly claims: unknown[];
  /** How many Kubernetes objects its manifests hold. */
  readonly objects: number;
}

/**
 * Lets the platforms created while an app module loads defer the construction of units whose
 * inputs are those of the previous synthesis (see FlinkPlatform). Only `cdk8s-flink synth`
 * (and what does the same) sets it.
 */
export interface DeferralContext {
  /** The toolkit fingerprint (toolkitFingerprint): part of every unit's input hash. */
  readonly toolkit: string;
  /** The units of the output folders as last written, by name. */
  readonly previous: ReadonlyMap<string, PreviousUnit>;
  /** The libraries' surface before the app loaded: a patch to it makes deferred units unprovable. */
  readonly snapshot: ApiSnapshot;
}

let active: DeferralContext | undefined;

/** Runs `load` (which creates the platform) with `context` active. */
export function withDeferral<T>(context: DeferralContext, load: () => T): T {
  active = context;
  try {
    return load();
  } finally {
    active = undefined;
  }
}

/** The context of the load in progress, if any. @internal */
export function currentDeferral(): DeferralContext | undefined {
  return active;
}
