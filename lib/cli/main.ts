#!/usr/bin/env node
import { ValidationError } from '../errors';
import { UnknownJobError } from '../synth/synthesize';
import { HelmError } from './helm';
import { AppModuleError } from './app-loader';
import { PACKAGE_VERSION } from '../version';
import { formatOptions, OptionSpec, parseArgs, UsageError } from './args';
import { Command } from './command';
import { diffCommand } from './commands/diff';
import { listCommand } from './commands/list';
import { localCommand } from './commands/local';
import { planCommand } from './commands/plan';
import { deployCommand, resumeCommand, rollbackCommand, statusCommand, suspendCommand } from './commands/release';
import { synthCommand } from './commands/synth';
import { validateCommand } from './commands/validate';

export const COMMANDS: Command[] = [synthCommand, listCommand, validateCommand, diffCommand, planCommand, deployCommand, statusCommand, rollbackCommand, suspendCommand, resumeCommand, localCommand];

const GLOBAL: OptionSpec[] = [
  { name: 'help', short: 'h', description: 'show help' },
  { name: 'verbose', short: 'v', description: 'show stack traces of errors', env: 'CDK8S_FLINK_VERBOSE' },
];

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `cdk8s-flink ${PACKAGE_VERSION}: typed Flink jobs to Kubernetes manifests and Helm charts

Usage: cdk8s-flink <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Options:
${formatOptions([...GLOBAL, { name: 'version', description: 'print the version' }])}

Run "cdk8s-flink <command> --help" for a command's options and examples.
Exit codes: 0 success; 1 bad input, usage or runtime error; 2 validate found problems; 3 diff --exit-code found changes.
`;
}

function commandHelp(c: Command): string {
  return `${c.summary}

Usage: ${c.usage}
${c.details ? `\n${c.details}\n` : ''}
Options:
${formatOptions([...c.options, ...GLOBAL])}

Examples:
${c.examples.map((e) => `  ${e}`).join('\n')}
`;
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v') || /^(1|true)$/i.test(process.env.CDK8S_FLINK_VERBOSE ?? '');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(mainHelp());
      return name === undefined ? 1 : 0;
    }
    if (name === '--version') {
      process.stdout.write(`${PACKAGE_VERSION}\n`);
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.name).join(', ')}`);
    const parsed = parseArgs(rest, [...cmd.options, ...GLOBAL]);
    if (parsed.options.help) {
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    return await cmd.run(parsed);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) {
      process.stderr.write(`cdk8s-flink: ${err.message} (see --help)\n`);
    } else if (err instanceof ValidationError || err instanceof UnknownJobError || err instanceof HelmError || err instanceof AppModuleError || err?.name === 'ValidationError') {
      process.stderr.write(`cdk8s-flink: error: ${err.message}\n`);
    } else {
      process.stderr.write(`cdk8s-flink: ${err?.message ?? String(e)}${verbose ? '' : ' (--verbose shows the stack trace)'}\n`);
    }
    if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
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

if (require.main === module) {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
