import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';
import { ValidationError } from '../errors';

/** Renders a duration the way Flink's TimeUtils parses it: `500ms`, `30s`, `10min`, `2h`. */
export function flinkDuration(field: string, d: Duration | undefined, minMs = 0): string {
  const ms = durationMs(field, d, minMs);
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}min`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The duration in whole milliseconds, rejecting values below `minMs`. */
export function durationMs(field: string, d: Duration | undefined, minMs = 0): number {
  if (!(d instanceof Duration)) {
    throw new ValidationError(field, d, 'is invalid; expected a cdk8s Duration such as Duration.seconds(30)');
  }
  let ms: number;
  try {
    ms = d.toMilliseconds();
  } catch {
    // cdk8s refuses fractions of a millisecond with a message that names no field.
    throw new ValidationError(field, d.toHumanString(), `is invalid; expected a whole number of milliseconds >= ${minMs}ms`);
  }
  if (!Number.isFinite(ms) || ms < minMs || !Number.isInteger(ms)) {
    throw new ValidationError(field, `${ms}ms`, `is invalid; expected a whole number of milliseconds >= ${minMs}ms`);
  }
  return ms;
}

/** Whole mebibytes of a size, rejecting fractions. */
export function mebibytes(field: string, s: Size | undefined): number {
  if (!(s instanceof Size)) {
    throw new ValidationError(field, s, 'is invalid; expected a cdk8s Size such as Size.mebibytes(2048)');
  }
  let mib: number;
  try {
    mib = s.toMebibytes({ rounding: SizeRoundingBehavior.FAIL });
  } catch {
    throw new ValidationError(field, s.toKibibytes() + 'Ki', 'is invalid; expected a whole number of mebibytes');
  }
  if (mib <= 0) {
    throw new ValidationError(field, `${mib}Mi`, 'is invalid; expected a positive whole number of mebibytes');
  }
  return mib;
}

/** A Duration as whole seconds within [min, max]; anything else is refused naming `field`. */
export function wholeSeconds(field: string, d: Duration, min: number, max: number): number {
  if (!(d instanceof Duration)) throw new ValidationError(field, d, 'is not a Duration; expected e.g. Duration.minutes(5)');
  const s = d.toSeconds();
  if (!Number.isInteger(s) || s < min || s > max) {
    throw new ValidationError(field, `${s}s`, `is out of range; expected whole seconds between ${min} s and ${max} s`);
  }
  return s;
}
