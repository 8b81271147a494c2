/**
 * The one command shape both CLIs (`cdk8s-flink` and `cdk8s-flink-ops`) are declared in. The
 * parser (`parse.ts`) and the help (`help.ts`) are both derived from these declarations.
 */

/** One option: `--name <value>`, `--name=<value>`, `-s <value>`, or a flag `--name`. */
export interface OptionDecl {
  readonly name: string;
  /** A one-letter alias (`-n`). */
  readonly short?: string;
  /** What the value is, shown as `--name <value>`; without it (and without a type) the option is a flag. */
  readonly value?: string;
  /**
   * The value's type, checked by the parser (a mismatch is a usage error):
   * `string` (the default for options with a value); `integer` (a whole number within
   * `min`..`max`); `duration` (`250ms`, `90s`, `10m`, `1h` or plain seconds, parsed to
   * milliseconds, at least `min` ms).
   */
  readonly type?: 'string' | 'integer' | 'duration';
  /** The values a string option accepts. */
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** May be given several times; the values collect into an array. */
  readonly repeat?: boolean;
  /** An environment variable that supplies the value when the option is not given (an empty variable counts as unset). */
  readonly env?: string;
  /** Missing (or empty) is a usage error. */
  readonly required?: boolean;
  readonly description: string;
  /** Accepted but not listed by --help (options kept for command lines written for earlier versions). */
  readonly hidden?: boolean;
}

/** One positional argument, in order. */
export interface PositionalDecl {
  readonly name: string;
  /** What is expected, for the error when it is missing. */
  readonly description: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
}

export type OptionValue = string | string[] | number | number[] | boolean | undefined;

export interface ParsedArgs {
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
}

/** One command: its declaration (what the parser accepts and --help shows) and its action. */
export interface CommandDecl {
  readonly name: string;
  /** One line, shown in the program's command list and at the top of the command's help. */
  readonly summary: string;
  /** More about the command, shown by its --help after the usage line. */
  readonly details?: string;
  readonly positionals?: readonly PositionalDecl[];
  readonly options: readonly OptionDecl[];
  readonly examples: readonly string[];
  /** Runs the command; returns the exit code. */
  run(args: ParsedArgs): Promise<number> | number;
}

/** A program: its commands (in groups for the overview), the options every command takes, its exit codes. */
export interface ProgramDecl {
  readonly name: string;
  /** The first line of the overview. */
  readonly title: string;
  readonly version: string;
  readonly groups: readonly { readonly title?: string; readonly commands: readonly CommandDecl[] }[];
  /** Options every command takes (after its own in --help). */
  readonly globalOptions: readonly OptionDecl[];
  /** A paragraph after the command list of the overview. */
  readonly notes?: string;
  readonly exitCodes: readonly (readonly [number, string])[];
}

/** The value of a string option. */
export function str(v: OptionValue): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable string option. */
export function list(v: OptionValue): string[] | undefined {
  return Array.isArray(v) ? v.map(String) : undefined;
}

/** The value of an integer or duration option. */
export function num(v: OptionValue): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
