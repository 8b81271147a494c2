import { FlinkApplication } from '../application';
import { FlinkCluster } from '../cluster/flink-cluster';
import { TplBlock, TplScalar } from '../synth/yaml';


/** What every part of a chart's rendering shares: the unit being rendered, template scalars and blocks, names. */

/** Object-name suffixes the toolkit generates; a string `<name><suffix>` in a name field is a reference. */
export const SUFFIXES = ['', '-jobmanager', '-taskmanager', '-rest', '-config', '-flink', '-flink-ha', '-handoff', '-job', '-submitter', '-hooks', '-metrics'];

export const NAME_FIELDS = new Set(['name', 'serviceAccountName']);

export const HOOK_UID = 10001;

export const T = (expr: string) => new TplScalar(expr);

export const B = (expr: string) => new TplBlock(expr);

export function clone<X>(x: X): X {
  return JSON.parse(JSON.stringify(x));
}

export interface Ctx {
  readonly name: string;
  readonly c: string;
  readonly app?: FlinkApplication;
  readonly cluster: FlinkCluster;
}

/** A Go template string literal. */
export function goString(s: string): string {
  return JSON.stringify(s);
}
