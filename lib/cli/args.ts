/** A mistake on the command line: exit 1 with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  readonly name: string;
  /** Takes a value (`--out dist`); otherwise a boolean flag. */
  readonly value?: string;
  /** May be given several times; values collect into an array. */
  readonly repeat?: boolean;
  readonly short?: string;
  readonly description: string;
  readonly env?: string;
}

export interface Parsed {
  readonly options: Record<string, string | string[] | boolean | undefined>;
  readonly positionals: string[];
}

/** Parses `--name value`, `--name=value`, `-x`, and positionals; `--` ends options. */
export function parseArgs(argv: string[], specs: readonly OptionSpec[]): Parsed {
  const options: Record<string, string | string[] | boolean | undefined> = {};
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
    } else if (a.startsWith('-') && a.length === 2) {
      spec = byShort.get(a.slice(1));
      if (!spec) throw new UsageError(`unknown option ${a}`);
    } else {
      positionals.push(a);
      continue;
    }
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${spec.name} needs a value (${spec.value})`);
      if (spec.repeat) options[spec.name] = [...((options[spec.name] as string[]) ?? []), v];
      else options[spec.name] = v;
    } else {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      options[spec.name] = true;
    }
  }
  for (const s of specs) {
    if (options[s.name] === undefined && s.env && process.env[s.env] !== undefined && process.env[s.env] !== '') {
      options[s.name] = s.value ? (s.repeat ? [process.env[s.env]!] : process.env[s.env]) : /^(1|true|yes)$/i.test(process.env[s.env]!);
    }
  }
  return { options, positionals };
}

export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => [
    `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.value ? ` <${s.value}>` : ''}`,
    `${s.description}${s.env ? ` [env ${s.env}]` : ''}`,
  ]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}
