import { describe, EXIT_USAGE, UsageError, UserError } from '../errors';
import { CommandDecl, ProgramDecl } from './declaration';
import { commandHelp, programHelp, synopsis } from './help';
import { parseCommandLine } from './parse';

/** The usage exit code, as both programs list it in their help. */
export const USAGE_EXIT_CODE: readonly [number, string] = [EXIT_USAGE, 'usage: an unknown command or option, a missing or extra argument, a required option missing, '
  + 'an option without its value or with a value not of its declared type (integer, duration, one of a list); the usage line follows'];

/** The arguments before `--` (after it everything is a positional). */
function optionPart(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end < 0 ? args : args.slice(0, end);
}

/**
 * Runs a program declared as a {@link ProgramDecl}; returns the exit code. The same for both
 * CLIs: `--help`/`-h` (anywhere before `--`) and `help [command]` print help on stdout and exit
 * 0; a command line that does not fit the declaration prints one error line and the usage line
 * on stderr and exits {@link EXIT_USAGE}; a {@link UserError} (of any copy of the library) prints
 * its message as one line and exits with its code; anything else prints its first line and
 * exits 1. `--verbose` (or CDK8S_FLINK_VERBOSE=1) adds the stack trace.
 */
export async function runProgram(program: ProgramDecl, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const commands = program.groups.flatMap((g) => g.commands);
  const find = (name: string) => {
    const c = commands.find((x) => x.name === name);
    if (!c) throw new UsageError(`unknown command ${describe(name)}; expected one of ${commands.map((x) => x.name).join(', ')}`);
    return c;
  };
  const verbose = optionPart(argv).some((a) => a === '--verbose' || a === '-v') || /^(1|true|yes)$/i.test(env.CDK8S_FLINK_VERBOSE ?? '');
  const [name, ...rest] = argv;
  let cmd: CommandDecl | undefined;
  try {
    if (name === undefined) throw new UsageError(`a command is required; expected one of ${commands.map((x) => x.name).join(', ')}`);
    if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
      process.stdout.write(programHelp(program));
      return 0;
    }
    if (name === 'help') {
      process.stdout.write(commandHelp(program, find(rest[0])));
      return 0;
    }
    if (name === '--version') {
      process.stdout.write(`${program.version}\n`);
      return 0;
    }
    cmd = find(name);
    if (optionPart(rest).some((a) => a === '--help' || a === '-h')) {
      process.stdout.write(commandHelp(program, cmd));
      return 0;
    }
    return await cmd.run(parseCommandLine(rest, [...cmd.options, ...program.globalOptions], cmd.positionals, env));
  } catch (e) {
    return report(program, cmd, e, verbose);
  }
}

/** Writes the error to stderr as the toolkit's errors are written; returns the exit code. */
function report(program: ProgramDecl, cmd: CommandDecl | undefined, e: unknown, verbose: boolean): number {
  const err = e as Error | undefined;
  const message = String(err?.message ?? e);
  const code = UserError.exitCodeOf(e);
  if (code === EXIT_USAGE) {
    const usage = cmd ? synopsis(program, cmd) : `${program.name} <command> [options]`;
    process.stderr.write(`${program.name}: error: ${message}\nUsage: ${usage}   ("${program.name}${cmd ? ` ${cmd.name}` : ''} --help" for more)\n`);
  } else if (code !== undefined) {
    process.stderr.write(`${program.name}: error: ${message}\n`);
  } else {
    process.stderr.write(`${program.name}: ${message.split('\n')[0]}${verbose ? '' : ' (--verbose shows the stack trace)'}\n`);
  }
  if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
  return code ?? 1;
}

/**
 * A reader that closes the pipe early (`cdk8s-flink plan --json | head -1`) is not an error:
 * stop quietly, as Unix tools do, instead of failing on the next write.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
