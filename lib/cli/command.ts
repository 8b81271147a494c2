import { OptionSpec, Parsed } from './args';

/** One CLI command: its help and its action. `run` returns the exit code. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** More about the command, shown by --help after the usage line. */
  readonly details?: string;
  readonly examples: string[];
  readonly options: OptionSpec[];
  run(args: Parsed): Promise<number> | number;
}

export const APP_OPTION: OptionSpec = { name: 'app', value: 'file', description: 'the compiled app module that exports a FlinkPlatform (default: the app in cdk8s.yaml)', env: 'CDK8S_FLINK_APP' };
export const JSON_OPTION: OptionSpec = { name: 'json', description: 'print machine-readable JSON on stdout' };
export const OUT_OPTION: OptionSpec = { name: 'out', value: 'dir', description: 'where plain manifests go (default: dist)', env: 'CDK8S_FLINK_OUT' };
export const JOB_OPTION: OptionSpec = { name: 'job', value: 'name', repeat: true, description: 'only this job, session cluster or session job (repeatable)' };

/** Logs go to stderr; stdout is for data. */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v : undefined;
}
