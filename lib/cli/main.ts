#!/usr/bin/env node
import { ProgramDecl } from '../command-line/declaration';
import { exitQuietlyOnEpipe, runProgram, USAGE_EXIT_CODE } from '../command-line/run';
import { PACKAGE_VERSION } from '../version';
import { diffCommand, EXIT_CHANGED } from './commands/diff';
import { listCommand } from './commands/list';
import { localCommand } from './commands/local';
import { planCommand } from './commands/plan';
import { deployCommand, resumeCommand, rollbackCommand, statusCommand, suspendCommand } from './commands/release';
import { synthCommand } from './commands/synth';
import { EXIT_POLICY, validateCommand } from './commands/validate';

export const COMMANDS = [synthCommand, listCommand, validateCommand, diffCommand, planCommand, deployCommand, statusCommand, rollbackCommand, suspendCommand, resumeCommand, localCommand];

export const PROGRAM: ProgramDecl = {
  name: 'cdk8s-flink',
  title: 'typed Flink jobs to Kubernetes manifests and Helm charts',
  version: PACKAGE_VERSION,
  groups: [{ commands: COMMANDS }],
  globalOptions: [
    { name: 'help', short: 'h', description: 'show help' },
    { name: 'verbose', short: 'v', description: 'show stack traces of errors', env: 'CDK8S_FLINK_VERBOSE' },
  ],
  exitCodes: [
    [0, 'success'],
    [1, 'bad input (a definition, an option\'s value, a missing file) or a runtime failure (helm, the cluster): one line on stderr'],
    [EXIT_POLICY, 'validate found problems across jobs'],
    [EXIT_CHANGED, 'diff --exit-code found changes'],
    USAGE_EXIT_CODE,
  ],
};

/** Runs the CLI; returns the exit code. Errors become one line on stderr. */
export function main(argv: string[]): Promise<number> {
  return runProgram(PROGRAM, argv);
}

if (require.main === module) {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
