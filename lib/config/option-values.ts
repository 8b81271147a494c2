import { ValidationError } from '../errors';

/** What the catalog records of one option: its type and, for enum types, the accepted names. */
export interface OptionType {
  readonly key: string;
  readonly type: string;
  readonly enumValues?: readonly string[];
}

/*
 * The rules below are data, read by two checks: checkOptionValue (definitions, at synthesis)
 * and the chart's check of `flinkConfiguration` (lib/helm/option-checks.ts, at helm install).
 * Their patterns use only what JavaScript and Go's RE2 read alike (ASCII classes, no
 * look-around, no back-references), so both checks apply the same grammar.
 */

/** Whitespace Flink's parsers skip between a number and its unit (ASCII, as Java's trim). */
const BLANKS = '[\\t\\n\\v\\f\\r ]*';

// TimeUtils.parseDuration: digits, then an optional label (lower-cased, surrounding blanks
// trimmed); no label means milliseconds. Labels from Flink's TimeUtils.TimeUnit, where a
// "plural" label also accepts its form with a trailing "s".
export const DURATION_UNITS = ['d', 'day', 'days', 'h', 'hour', 'hours', 'min', 'm', 'minute', 'minutes', 's', 'sec', 'secs', 'second', 'seconds',
  'ms', 'milli', 'millis', 'millisecond', 'milliseconds', 'µs', 'micro', 'micros', 'microsecond', 'microseconds', 'ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'];
// MemorySize.MemoryUnit: no unit means bytes.
export const MEMORY_UNITS: Record<string, bigint> = {
  b: 1n, bytes: 1n, k: 1n << 10n, kb: 1n << 10n, kibibytes: 1n << 10n, m: 1n << 20n, mb: 1n << 20n, mebibytes: 1n << 20n,
  g: 1n << 30n, gb: 1n << 30n, gibibytes: 1n << 30n, t: 1n << 40n, tb: 1n << 40n, tebibytes: 1n << 40n,
};
export const LONG_MAX = (1n << 63n) - 1n;

/**
 * How a value of each type that constrains values is read, and what the message says when it
 * is not: `pattern` is matched against the value's text (trimmed first with `trim`, lower-cased
 * first with `lower`); `max` bounds the magnitude of its digits (per unit, for MemorySize:
 * digits x unit may not pass Long.MAX_VALUE). Strings, string lists and List<Map> take anything.
 */
export interface ValueRule {
  readonly what: string;
  readonly expected: string;
  readonly pattern: string;
  readonly trim?: boolean;
  readonly lower?: boolean;
  /** The largest magnitude of the digits (a negative number may be one more), by unit; "" for units not listed. */
  readonly max?: Readonly<Record<string, bigint>>;
  /** Whether the value is a number that Flink's ranges apply to. */
  readonly numeric?: boolean;
}

const unitAlternation = (units: string[]) => units.map((u) => u.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
const integer = (article: string, type: string, bits: bigint, note: string): ValueRule => ({
  // Java's Integer.parseInt / Long.parseLong: an optional sign and decimal digits, nothing else.
  what: `${article} ${type}`, expected: `expected a whole number such as 4${note}`, pattern: '^[+-]?[0-9]+$', max: { '': (1n << bits) - 1n }, numeric: true,
});
// Java's Double.parseDouble / Float.parseFloat (decimal forms; blanks around are trimmed).
const decimal = (type: string): ValueRule => ({
  what: `a ${type}`, expected: 'expected a number such as 0.5', pattern: '^[+-]?(NaN|Infinity|([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)$', trim: true, numeric: true,
});

export const VALUE_RULES: Readonly<Record<string, ValueRule>> = {
  // ConfigurationUtils.convertToBoolean: "true" or "false", any case, nothing trimmed.
  Boolean: { what: 'a Boolean', expected: 'expected true or false', pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$' },
  Integer: integer('an', 'Integer', 31n, ' (at most 2147483647)'),
  Long: integer('a', 'Long', 63n, ''),
  Double: decimal('Double'),
  Float: decimal('Float'),
  Duration: {
    what: 'a Duration',
    expected: 'expected a whole number with a unit such as 500ms, 30s, 10min, 2h or 1d (units: ms/milli/millisecond, s/sec/second, m/min/minute, h/hour, d/day, also plural; no unit means ms)',
    pattern: `^[0-9]+${BLANKS}(${unitAlternation(DURATION_UNITS)})?$`, trim: true, lower: true, max: { '': LONG_MAX },
  },
  MemorySize: {
    what: 'a MemorySize',
    expected: 'expected a whole number with a unit such as 512mb or 2g (units: b/bytes, k/kb/kibibytes, m/mb/mebibytes, g/gb/gibibytes, t/tb/tebibytes; no unit means bytes)',
    pattern: `^[0-9]+${BLANKS}(${unitAlternation(Object.keys(MEMORY_UNITS))})?$`, trim: true, lower: true,
    max: Object.fromEntries([['', LONG_MAX], ...Object.entries(MEMORY_UNITS).map(([u, f]) => [u, LONG_MAX / f])]),
  },
};

/** The message of a map value that is not one: key:value pairs, split as `splitItems` does. */
export const MAP_RULE = { what: 'a Map', expected: 'expected key:value pairs separated by commas, such as k1:v1,k2:v2' };
export const ENUM_WHAT = 'an accepted value';
export const enumExpected = (accepted: readonly string[]) => `expected one of ${accepted.join(', ')} (case-insensitive)`;
/** The blanks between a number and its unit, as VALUE_RULES' patterns allow them. */
export const NUMBER_THEN_UNIT = new RegExp(`^([0-9]+)${BLANKS}(.*)$`);

/**
 * Ranges Flink enforces on top of the type, each with where Flink states it:
 * - taskmanager.numberOfTaskSlots: ConfigurationParserUtils.getSlot, "Number of task slots must
 *   be at least one" (-1 is read as 1).
 * - pipeline.max-parallelism: ExecutionConfig.setMaxParallelism, "Maximum parallelism must be
 *   between 1 and 32768" (-1, the default, leaves it to Flink).
 * - parallelism.default: ExecutionConfig.setParallelism, "Parallelism must be at least one, or
 *   ExecutionConfig.PARALLELISM_DEFAULT" (-1).
 * - the memory fractions: RangeFraction, "fraction must be in range [0, 1)".
 * A value is in range when min <= n (and n <= max, n < below where given), or n is -1 where
 * `orDefault`.
 */
export interface Range {
  readonly key: RegExp;
  readonly min: number;
  readonly max?: number;
  readonly below?: number;
  readonly orDefault?: boolean;
  readonly expected: string;
}
export const RANGES: readonly Range[] = [
  { key: /^taskmanager\.numberOfTaskSlots$/, min: 1, orDefault: true, expected: 'expected a whole number >= 1' },
  { key: /^pipeline\.max-parallelism$/, min: 1, max: 32768, orDefault: true, expected: 'expected a whole number between 1 and 32768 (or -1 for the default)' },
  { key: /^parallelism\.default$/, min: 1, orDefault: true, expected: 'expected a whole number >= 1 (or -1 for the default)' },
  { key: /^(taskmanager|jobmanager)\.memory\.(managed|network|jvm-overhead)\.fraction$/, min: 0, below: 1, expected: 'expected a fraction >= 0 and below 1, such as 0.1' },
];

export function inRange(r: Range, n: number): boolean {
  return (n >= r.min && (r.max === undefined || n <= r.max) && (r.below === undefined || n < r.below)) || (r.orDefault === true && n === -1);
}

/** A `${env:NAME}`-style placeholder, substituted at start: its value is not known here. */
export const PLACEHOLDER = /\$\{[^}]*\}/;

/**
 * Checks a raw Flink configuration value against its option's type the way Flink's
 * Configuration converts it (ConfigurationUtils.convertValue), and against the ranges above.
 * `where` names the field in the error. String and List<Map> values, and placeholders, pass.
 */
export function checkOptionValue(where: string, option: OptionType, value: string | number | boolean): void {
  const text = String(value);
  if (typeof value === 'string' && PLACEHOLDER.test(value)) return;
  const fail = (what: string, expected: string): never => { throw new ValidationError(where, value, `is not ${what}; ${expected}`); };
  const type = option.type;
  if (option.enumValues && option.enumValues.length > 0) {
    const accepted = option.enumValues;
    for (const item of type.startsWith('List<') ? splitItems(text, ';') ?? [] : [text]) {
      // ConfigurationUtils.convertToEnum compares upper-cased names (Locale.ROOT), nothing trimmed.
      if (!accepted.some((v) => v.toUpperCase() === item.toUpperCase())) fail(ENUM_WHAT, enumExpected(accepted));
    }
    return;
  }
  if (type === 'Map') {
    for (const entry of splitItems(text, ',') ?? []) {
      if (entry.split(':').length !== 2) fail(MAP_RULE.what, MAP_RULE.expected);
    }
    return;
  }
  const rule = VALUE_RULES[type];
  if (!rule) return;
  let t = rule.trim ? text.trim() : text;
  if (rule.lower) t = t.toLowerCase();
  if (!new RegExp(rule.pattern).test(t) || !withinMax(rule, t)) fail(rule.what, rule.expected);
  if (!rule.numeric) return;
  const n = Number(t.replace(/[fFdD]$/, ''));
  for (const r of RANGES) {
    if (r.key.test(option.key) && !inRange(r, n)) throw new ValidationError(where, value, `is out of range; ${r.expected}`);
  }
}

/** Whether the digits of `t` (which matched the rule's pattern) stay within the rule's maximum for its unit. */
function withinMax(rule: ValueRule, t: string): boolean {
  if (!rule.max) return true;
  const m = NUMBER_THEN_UNIT.exec(t.replace(/^[+-]/, ''))!;
  const max = rule.max[m[2]] ?? rule.max[''];
  return BigInt(m[1]) <= (t.startsWith('-') ? max + 1n : max);
}

/**
 * Items of a list (';') or map (',' and ':') value, blank items left out. Flink's
 * StructuredOptionsSplitter also honours quotes; a value with a quote is not split here and
 * passes, leaving it to Flink.
 */
export function splitItems(text: string, delimiter: string): string[] | undefined {
  return /['"]/.test(text) ? undefined : text.split(delimiter).filter((s) => s.trim() !== '');
}
