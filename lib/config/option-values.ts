import { ValidationError } from '../errors';

/** What the catalog records of one option: its type and, for enum types, the accepted names. */
export interface OptionType {
  readonly key: string;
  readonly type: string;
  readonly enumValues?: readonly string[];
}

// TimeUtils.parseDuration: digits, then an optional label (lower-cased, surrounding blanks
// trimmed); no label means milliseconds. Labels from Flink's TimeUtils.TimeUnit, where a
// "plural" label also accepts its form with a trailing "s".
const DURATION_UNITS = ['d', 'day', 'days', 'h', 'hour', 'hours', 'min', 'm', 'minute', 'minutes', 's', 'sec', 'secs', 'second', 'seconds',
  'ms', 'milli', 'millis', 'millisecond', 'milliseconds', 'µs', 'micro', 'micros', 'microsecond', 'microseconds', 'ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'];
// MemorySize.MemoryUnit: no unit means bytes.
const MEMORY_UNITS: Record<string, bigint> = {
  b: 1n, bytes: 1n, k: 1n << 10n, kb: 1n << 10n, kibibytes: 1n << 10n, m: 1n << 20n, mb: 1n << 20n, mebibytes: 1n << 20n,
  g: 1n << 30n, gb: 1n << 30n, gibibytes: 1n << 30n, t: 1n << 40n, tb: 1n << 40n, tebibytes: 1n << 40n,
};
const LONG_MAX = (1n << 63n) - 1n;
// Java's Integer.parseInt / Long.parseLong: an optional sign and decimal digits, nothing else.
const JAVA_INTEGER = /^[+-]?\d+$/;
// Java's Double.parseDouble / Float.parseFloat (decimal forms; blanks around are trimmed).
const JAVA_DECIMAL = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/;

/**
 * Ranges Flink enforces on top of the type, each with where Flink states it:
 * - taskmanager.numberOfTaskSlots: ConfigurationParserUtils.getSlot, "Number of task slots must
 *   be at least one" (-1 is read as 1).
 * - pipeline.max-parallelism: ExecutionConfig.setMaxParallelism, "Maximum parallelism must be
 *   between 1 and 32768" (-1, the default, leaves it to Flink).
 * - parallelism.default: ExecutionConfig.setParallelism, "Parallelism must be at least one, or
 *   ExecutionConfig.PARALLELISM_DEFAULT" (-1).
 * - the memory fractions: RangeFraction, "fraction must be in range [0, 1)".
 */
const RANGES: { key: RegExp; ok: (n: number) => boolean; expected: string }[] = [
  { key: /^taskmanager\.numberOfTaskSlots$/, ok: (n) => n >= 1 || n === -1, expected: 'expected a whole number >= 1' },
  { key: /^pipeline\.max-parallelism$/, ok: (n) => (n >= 1 && n <= 32768) || n === -1, expected: 'expected a whole number between 1 and 32768 (or -1 for the default)' },
  { key: /^parallelism\.default$/, ok: (n) => n >= 1 || n === -1, expected: 'expected a whole number >= 1 (or -1 for the default)' },
  { key: /^(taskmanager|jobmanager)\.memory\.(managed|network|jvm-overhead)\.fraction$/, ok: (n) => n >= 0 && n < 1, expected: 'expected a fraction >= 0 and below 1, such as 0.1' },
];

/** A `${env:NAME}`-style placeholder, substituted at start: its value is not known here. */
const PLACEHOLDER = /\$\{[^}]*\}/;

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
  let n: number | undefined;
  if (option.enumValues && option.enumValues.length > 0) {
    if (type.startsWith('List<')) {
      for (const item of split(text, ';') ?? []) checkEnum(item, option.enumValues, fail);
    } else {
      checkEnum(text, option.enumValues, fail);
    }
    return;
  }
  switch (type) {
    case 'Boolean':
      if (!/^(true|false)$/i.test(text)) fail('a Boolean', 'expected true or false');
      return;
    case 'Integer':
    case 'Long': {
      const bits = type === 'Integer' ? 31n : 63n;
      const t = text.trim() === text ? text : '';
      if (!JAVA_INTEGER.test(t) || BigInt(t) >= (1n << bits) || BigInt(t) < -(1n << bits)) {
        fail(`${type === 'Integer' ? 'an' : 'a'} ${type}`, `expected a whole number such as 4${type === 'Integer' ? ' (at most 2147483647)' : ''}`);
      }
      n = Number(t);
      break;
    }
    case 'Double':
    case 'Float':
      if (!JAVA_DECIMAL.test(text.trim())) fail(`a ${type}`, 'expected a number such as 0.5');
      n = Number(text.trim().replace(/[fFdD]$/, ''));
      break;
    case 'Duration': {
      const m = /^(\d+)\s*(.*)$/.exec(text.trim());
      if (!m || BigInt(m[1]) > LONG_MAX || (m[2] !== '' && !DURATION_UNITS.includes(m[2].toLowerCase()))) {
        fail('a Duration', 'expected a whole number with a unit such as 500ms, 30s, 10min, 2h or 1d (units: ms/milli/millisecond, s/sec/second, m/min/minute, h/hour, d/day, also plural; no unit means ms)');
      }
      return;
    }
    case 'MemorySize': {
      const m = /^(\d+)\s*(.*)$/.exec(text.trim());
      const unit = m ? MEMORY_UNITS[m[2].toLowerCase()] ?? (m[2] === '' ? 1n : undefined) : undefined;
      if (!m || unit === undefined || BigInt(m[1]) * unit > LONG_MAX) {
        fail('a MemorySize', 'expected a whole number with a unit such as 512mb or 2g (units: b/bytes, k/kb/kibibytes, m/mb/mebibytes, g/gb/gibibytes, t/tb/tebibytes; no unit means bytes)');
      }
      return;
    }
    case 'Map':
      for (const entry of split(text, ',') ?? []) {
        if (entry.split(':').length !== 2) fail('a Map', 'expected key:value pairs separated by commas, such as k1:v1,k2:v2');
      }
      return;
    default:
      return;
  }
  for (const r of RANGES) {
    if (r.key.test(option.key) && !r.ok(n!)) throw new ValidationError(where, value, `is out of range; ${r.expected}`);
  }
}

function checkEnum(text: string, accepted: readonly string[], fail: (what: string, expected: string) => never): void {
  // ConfigurationUtils.convertToEnum compares upper-cased names (Locale.ROOT), nothing trimmed.
  if (!accepted.some((v) => v.toUpperCase() === text.toUpperCase())) fail('an accepted value', `expected one of ${accepted.join(', ')} (case-insensitive)`);
}

/**
 * Items of a list (';') or map (',' and ':') value. Flink's StructuredOptionsSplitter also
 * honours quotes; a value with a quote is not split here and passes, leaving it to Flink.
 */
function split(text: string, delimiter: string): string[] | undefined {
  return /['"]/.test(text) ? undefined : text.split(delimiter).filter((s) => s.trim() !== '');
}
