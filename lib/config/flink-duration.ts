/**
 * Milliseconds of a duration as Flink's configuration writes it (`500 ms`, `3 s`, `10min`, `2h`,
 * `1 d`, or bare milliseconds); undefined when the text is not one.
 */
export function flinkDurationMs(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|milli|millis|millisecond|milliseconds|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hour|hours|d|day|days)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2] ?? 'ms';
  const scale = unit.startsWith('ms') || unit.startsWith('milli') ? 1 : unit.startsWith('s') ? 1000 : unit === 'm' || unit.startsWith('min') ? 60_000 : unit.startsWith('h') ? 3_600_000 : 86_400_000;
  return Number(m[1]) * scale;
}
