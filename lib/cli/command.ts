import { OptionDecl } from '../command-line/declaration';

export { CommandDecl as Command, list, num, str } from '../command-line/declaration';

export const APP_OPTION: OptionDecl = { name: 'app', value: 'file', description: 'the compiled app module that exports a FlinkPlatform (default: the app in cdk8s.yaml)', env: 'CDK8S_FLINK_APP' };
export const JSON_OPTION: OptionDecl = { name: 'json', description: 'print machine-readable JSON on stdout' };
export const OUT_OPTION: OptionDecl = { name: 'out', value: 'dir', description: 'where plain manifests go (default: dist)', env: 'CDK8S_FLINK_OUT' };
export const JOB_OPTION: OptionDecl = { name: 'job', value: 'name', repeat: true, description: 'only this job, session cluster or session job (repeatable)' };
/** The job a release command acts on. */
export const JOB_ARGUMENT = { name: 'job', description: 'a job name (its chart is charts/<job>)', required: true };

/** Logs go to stderr; stdout is for data. */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}
