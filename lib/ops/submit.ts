import * as fs from 'fs';
import * as path from 'path';
import { OpsError } from './errors';
import { FlinkRest } from './flink-rest';

/** Where the operations image keeps the SQL runner jar (built from runtime/sql-runner). */
export const SQL_RUNNER_JAR = process.env.CDK8S_FLINK_SQL_RUNNER_JAR ?? '/opt/cdk8s-flink/cdk8s-flink-sql-runner.jar';

export interface SubmitSpec {
  readonly name: string;
  readonly jobId: string;
  readonly restUrl: string;
  readonly kind: 'jar' | 'sql';
  readonly entryClass: string;
  readonly jarFile?: string;
  readonly sqlFile?: string;
  readonly programArgs?: string[];
  readonly parallelism: number;
  readonly initialSavepointPath?: string;
  readonly allowNonRestoredState?: boolean;
  readonly flinkConfiguration?: Record<string, unknown>;
}

/**
 * Submits a session job, idempotently: a job with the spec's id that is already running is
 * left alone. SQL jobs upload the SQL runner and pass the script inline (the JobManager, which
 * runs the runner's main, has no copy of the file).
 */
export async function submit(spec: SubmitSpec, specFile: string, o: { timeoutMs: number; handoffDir?: string; log: (m: string) => void; /** the SQL runner jar to upload (default SQL_RUNNER_JAR) */ runnerJar?: string }): Promise<string> {
  const rest = new FlinkRest(spec.restUrl);
  const handoff = o.handoffDir && fs.existsSync(o.handoffDir)
    ? Object.fromEntries(fs.readdirSync(o.handoffDir).filter((f) => !f.startsWith('.')).map((f) => [f, fs.readFileSync(path.join(o.handoffDir!, f), 'utf8')]))
    : {};
  const jobId = handoff.jobId || spec.jobId;
  const savepoint = handoff.savepointPath || spec.initialSavepointPath;
  const running = (await rest.jobs()).find((j) => j.jid === jobId && !['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
  if (running) {
    o.log(`job ${jobId} "${spec.name}" is already ${running.state}: nothing to submit`);
    return jobId;
  }
  let jar: string;
  let args: string[];
  if (spec.kind === 'sql') {
    const script = fs.readFileSync(spec.sqlFile ? path.resolve(path.dirname(specFile), path.basename(spec.sqlFile)) : '', 'utf8');
    jar = o.runnerJar ?? SQL_RUNNER_JAR;
    args = ['--script-base64', Buffer.from(script).toString('base64')];
  } else {
    if (!spec.jarFile) throw new OpsError('spec.jarFile is missing: a session jar job needs the jar to upload');
    jar = spec.jarFile;
    args = spec.programArgs ?? [];
  }
  const content = /^https?:\/\//.test(jar) ? Buffer.from(await (await fetch(jar, { signal: AbortSignal.timeout(o.timeoutMs) })).arrayBuffer()) : fs.readFileSync(jar);
  const jarId = await rest.uploadJar(path.basename(jar.split('?')[0]), content);
  o.log(`uploaded ${jar} as ${jarId}`);
  const id = await rest.runJar(jarId, {
    entryClass: spec.entryClass,
    programArgsList: args,
    parallelism: spec.parallelism,
    jobId,
    ...(savepoint ? { savepointPath: savepoint, allowNonRestoredState: spec.allowNonRestoredState ?? false } : {}),
    ...(spec.flinkConfiguration && Object.keys(spec.flinkConfiguration).length ? { flinkConfiguration: Object.fromEntries(Object.entries(spec.flinkConfiguration).map(([k, v]) => [k, String(v)])) } : {}),
  });
  o.log(`submitted job ${id} "${spec.name}"${savepoint ? ` from ${savepoint}` : ''}`);
  return id;
}
