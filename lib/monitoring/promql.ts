import { Duration } from 'cdk8s';
import { ValidationError } from '../errors';

/** A PromQL string literal: double-quoted, with `\` and `"` escaped. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** One label matcher of a selector. */
export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** `{a="x",b=~"y"}`, or `` for no matchers. */
export function selector(matchers: readonly Matcher[]): string {
  if (matchers.length === 0) return '';
  return `{${matchers.map((m) => `${m.label}${m.op}${promString(m.value)}`).join(',')}}`;
}

/** `metric{matchers}`. */
export function series(metric: string, matchers: readonly Matcher[]): string {
  return `${metric}${selector(matchers)}`;
}

/**
 * Renders a duration as Prometheus writes them (`90s` -> `1m30s`, `15m`, `1h`); rejects
 * anything that is not a cdk8s Duration, negative values, fractions of a millisecond and,
 * unless `allowZero`, zero.
 */
export function promDuration(field: string, d: unknown, allowZero = false): string {
  const ms = durationMillis(field, d, allowZero);
  if (ms === 0) return '0s';
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = ms;
  let out = '';
  for (const [u, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out;
}

/** The duration in whole milliseconds, with the same checks as promDuration. */
export function durationMillis(field: string, d: unknown, allowZero = false): number {
  if (!(d instanceof Duration)) {
    throw new ValidationError(field, d, 'is not a duration; expected a cdk8s Duration such as Duration.minutes(15)');
  }
  const ms = d.toMilliseconds();
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) {
    throw new ValidationError(field, `${ms}ms`, 'is invalid; expected a non-negative whole number of milliseconds');
  }
  if (ms === 0 && !allowZero) {
    throw new ValidationError(field, '0s', 'is invalid; expected a positive duration');
  }
  return ms;
}

/** A human label for a duration in annotation text: `15m`, `1h30m`. */
export function humanDuration(ms: number): string {
  return promDuration('duration', Duration.millis(ms), true);
}

/**
 * A regular expression matching exactly these metric names (for `{__name__=~"..."}`),
 * with regex metacharacters escaped.
 */
export function nameRegex(names: readonly string[]): string {
  return names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}
