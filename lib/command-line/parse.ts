import { parseArgs, ParseArgsConfig } from 'node:util';
import { describe, UsageError } from '../errors';
import { OptionDecl, OptionValue, ParsedArgs, PositionalDecl } from './declaration';

/** How a duration is written: 250ms, 90s, 10m, 1h, or plain seconds. */
const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration (`250ms`, `90s`, `10m`, `1h`, or plain seconds), or undefined when it is not one. */
export function durationMs(s: string): number | undefined {
  const m = DURATION.exec(s.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 's'] : undefined;
}

/** Whether the option takes a value (otherwise it is a flag). */
export function takesValue(o: OptionDecl): boolean {
  return o.value !== undefined || o.type !== undefined || o.choices !== undefined;
}

/** `<dir>`, `<up|down>`: what the option's value is. */
export function placeholder(o: OptionDecl): string {
  return `<${o.value ?? o.choices?.join('|') ?? o.type ?? 'value'}>`;
}

/** The value converted to the option's declared type; a mismatch is a UsageError naming `field`, the value and what is expected. */
function typed(o: OptionDecl, field: string, raw: string): string | number {
  if (o.choices && !o.choices.includes(raw)) throw new UsageError(`${field}: ${describe(raw)} is invalid; expected one of ${o.choices.join(', ')}`);
  if (o.type === 'integer') {
    const min = o.min ?? Number.MIN_SAFE_INTEGER;
    const max = o.max ?? Number.MAX_SAFE_INTEGER;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = o.max === undefined ? (o.min === undefined ? '' : ` >= ${min}`) : ` from ${min} to ${max}`;
      throw new UsageError(`${field}: ${describe(raw)} is invalid; expected an integer${range}`);
    }
    return n;
  }
  if (o.type === 'duration') {
    const ms = durationMs(raw);
    if (ms === undefined) throw new UsageError(`${field}: ${describe(raw)} is not a duration; expected e.g. 90s, 10m or 1h`);
    if (o.min !== undefined && ms < o.min) throw new UsageError(`${field}: ${describe(raw)} is too short; expected at least ${o.min % 1000 ? `${o.min}ms` : `${o.min / 1000}s`}`);
    return ms;
  }
  return raw;
}

/**
 * Node's parser refused the command line: find the token it refused (the same arguments read
 * without strictness) and say what is wrong with it in one line.
 */
function explain(config: ParseArgsConfig, byName: Map<string, OptionDecl>, visible: readonly OptionDecl[]): string | undefined {
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true });
  for (const t of tokens ?? []) {
    if (t.kind !== 'option') continue;
    const o = byName.get(t.name);
    if (!o) return `unknown option ${t.rawName}; expected one of ${visible.map((v) => `--${v.name}`).join(', ')}`;
    const flag = `--${o.name}`;
    if (!takesValue(o) && t.value !== undefined) return `${flag}: ${describe(t.value)} given, but ${flag} takes no value`;
    if (takesValue(o) && t.value === undefined) return `${flag}: no value given; expected ${placeholder(o)}`;
    if (takesValue(o) && !t.inlineValue && t.value?.startsWith('-')) {
      return `${flag}: ${describe(t.value)} looks like an option, not a value; expected ${placeholder(o)} (write ${flag}=${t.value} for a value that starts with "-")`;
    }
  }
  return undefined;
}

/**
 * Parses a command's arguments with Node's `util.parseArgs` (strict): declared options only,
 * `--name value`, `--name=value`, `-s value`, `-svalue`, repeats into arrays, `--` ends the
 * options. Then values are converted to their declared types, environment variables fill
 * options not given, required options and positionals are checked. Every mismatch is a
 * UsageError of one line naming the option or argument, the value and what is expected.
 */
export function parseCommandLine(argv: readonly string[], options: readonly OptionDecl[], positionals: readonly PositionalDecl[] = [], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const byName = new Map(options.map((o) => [o.name, o]));
  const config: ParseArgsConfig = {
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: Object.fromEntries(options.map((o) => [o.name, { type: takesValue(o) ? 'string' as const : 'boolean' as const, ...(o.short ? { short: o.short } : {}), ...(o.repeat ? { multiple: true } : {}) }])),
  };
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS_')) throw e;
    throw new UsageError(explain(config, byName, options.filter((o) => !o.hidden)) ?? String((e as Error).message).split('\n')[0]);
  }
  const out: Record<string, OptionValue> = {};
  for (const o of options) {
    const flag = `--${o.name}`;
    const given = parsed.values[o.name];
    if (given !== undefined) {
      if (!takesValue(o)) out[o.name] = true;
      else if (o.repeat) out[o.name] = (given as string[]).map((v) => typed(o, flag, v)) as string[] | number[];
      else out[o.name] = typed(o, flag, given as string);
      continue;
    }
    const fromEnv = o.env ? env[o.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      if (!takesValue(o)) out[o.name] = /^(1|true|yes)$/i.test(fromEnv);
      else out[o.name] = o.repeat ? [typed(o, o.env!, fromEnv)] as string[] | number[] : typed(o, o.env!, fromEnv);
    }
  }
  for (const o of options) {
    if (o.required && (out[o.name] === undefined || out[o.name] === '')) throw new UsageError(`--${o.name} is required`);
  }
  const args = parsed.positionals;
  positionals.forEach((p, i) => {
    const v = args[i];
    if (v === undefined) {
      if (p.required) throw new UsageError(`<${p.name}> is missing; expected ${p.description}`);
    } else if (p.choices && !p.choices.includes(v)) {
      throw new UsageError(`<${p.name}>: ${describe(v)} is invalid; expected one of ${p.choices.join(', ')}`);
    }
  });
  if (args.length > positionals.length) {
    const takes = positionals.length ? `at most ${positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ')}` : 'no arguments, only options';
    throw new UsageError(`unexpected argument ${describe(args[positionals.length])}; expected ${takes}`);
  }
  return { options: out, positionals: args };
}
