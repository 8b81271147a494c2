import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { OpsError } from './errors';
import { FlinkRest } from './flink-rest';
import { bufferReader, checkMainClass, downloadJar } from './artifact';
import { S3Access } from './s3';
import { redactUrl } from '../errors';

/** Where the operations image keeps the SQL runner jar (built from runtime/sql-runner). */
export const SQL_RUNNER_JAR = process.env.CDK8S_FLINK_SQL_RUNNER_JAR ?? '/opt/cdk8s-flink/cdk8s-flink-sql-runner.jar';

export interface SubmitSpec {
  readonly name: string;
  readonly jobId: string;
  readonly restUrl: string;
  readonly kind: 'jar' | 'sql';
  /** The main class; absent: the jar's manifest names it. */
  readonly entryClass?: string;
  /** The jar: a path or file:// URI in this image, an https URL or s3://bucket/key. */
  readonly jarFile?: string;
  /** The https jar's expected sha256 (lower-case hex). */
  readonly jarSha256?: string;
  readonly sqlFile?: string;
  readonly programArgs?: string[];
  readonly parallelism: number;
  readonly upgradeMode?: 'savepoint' | 'stateless';
  readonly savepointDirectory?: string;
  readonly initialSavepointPath?: string;
  readonly allowNonRestoredState?: boolean;
  readonly flinkConfiguration?: Record<string, unknown>;
}

const TERMINAL = ['FINISHED', 'CANCELED', 'FAILED'];

/**
 * Submits a session job, idempotently, and upgrades it when its spec changed.
 *
 * The job id of a run is derived from the spec's jobId and a digest of the spec and its files,
 * so an unchanged spec finds its run and does nothing, and a changed one gets a new id (Flink
 * refuses a job id it has seen end); a spec that ran before (a rollback) takes the next id of
 * its sequence. An active job of the same name with another id is the
 * previous version: upgradeMode savepoint stops it with a savepoint and the new run restores it
 * (a failed savepoint fails the submission and leaves it running); stateless cancels it. With no
 * active job, the newest savepoint of a finished run of that name is restored (a retry after a
 * stop), else initialSavepointPath.
 */
export async function submit(spec: SubmitSpec, specFile: string, o: { timeoutMs: number; handoffDir?: string; log: (m: string) => void; /** the SQL runner jar to upload (default SQL_RUNNER_JAR) */ runnerJar?: string; /** how to reach the store of an s3:// jar */ s3?: S3Access }): Promise<string> {
  const rest = new FlinkRest(spec.restUrl);
  const handoff = o.handoffDir && fs.existsSync(o.handoffDir)
    ? Object.fromEntries(fs.readdirSync(o.handoffDir).filter((f) => !f.startsWith('.')).map((f) => [f, fs.readFileSync(path.join(o.handoffDir!, f), 'utf8')]))
    : {};
  let jar: string;
  let args: string[];
  let script = '';
  if (spec.kind === 'sql') {
    script = fs.readFileSync(spec.sqlFile ? path.resolve(path.dirname(specFile), path.basename(spec.sqlFile)) : '', 'utf8');
    jar = o.runnerJar ?? SQL_RUNNER_JAR;
    args = ['--script-base64', Buffer.from(script).toString('base64')];
  } else {
    if (!spec.jarFile) throw new OpsError('spec.jarFile is missing: a session jar job needs the jar to upload');
    jar = spec.jarFile;
    args = spec.programArgs ?? [];
  }
  const { restUrl: _where, ...what } = spec;
  const digest = createHash('sha256').update(JSON.stringify([what, script])).digest('hex');
  const jobs = await rest.jobs();
  // The ids this spec's runs take, in turn: a spec that ran before and was replaced (a rollback
  // to it) takes the next id, since the JobManager refuses an id it has seen end.
  const known = new Map(jobs.map((j) => [j.jid, j]));
  const idOf = (k: number) => createHash('sha256').update(k === 0 ? `${spec.jobId}/${digest}` : `${spec.jobId}/${digest}/${k}`).digest('hex').slice(0, 32);
  let k = 0;
  for (; k <= jobs.length; k++) {
    const j = known.get(idOf(k));
    if (!j) break;
    if (!TERMINAL.includes(j.state)) {
      o.log(`job ${j.jid} "${spec.name}" is already ${j.state} with this spec: nothing to submit`);
      return j.jid;
    }
  }
  const jobId = handoff.jobId || idOf(k);
  const mine = jobs.filter((j) => j.name === spec.name);
  const previous = mine.find((j) => !TERMINAL.includes(j.state));
  let savepoint = handoff.savepointPath || undefined;
  if (previous) {
    if ((spec.upgradeMode ?? 'stateless') === 'savepoint') {
      if (previous.state !== 'RUNNING') {
        throw new OpsError(`job ${previous.jid} "${spec.name}" is ${previous.state}, not RUNNING: a savepoint cannot be taken now; retry when it runs`);
      }
      o.log(`upgrading job ${previous.jid} "${spec.name}": stopping it with a savepoint into ${spec.savepointDirectory}`);
      savepoint = await rest.stopWithSavepoint(previous.jid, spec.savepointDirectory ?? '', o.timeoutMs);
      o.log(`savepoint ${savepoint}`);
    } else {
      await rest.cancel(previous.jid);
      o.log(`job ${previous.jid} "${spec.name}" cancelled (upgradeMode stateless)`);
    }
  } else if (!savepoint && (spec.upgradeMode ?? 'stateless') === 'savepoint') {
    // A retry after a stop whose resubmission failed: the newest savepoint of a finished run of
    // this job, each run's read past the REST API's cache (an answer cached before its
    // stop-with-savepoint completed has no savepoint or an older one, and either rewinds the job);
    // a read that fails fails the submission rather than fall back to an older run.
    const finished = mine.filter((x) => x.state === 'FINISHED').sort((a: any, b: any) => (b['end-time'] ?? 0) - (a['end-time'] ?? 0));
    for (const [i, j] of finished.entries()) {
      const p = await rest.lastSavepointOfEndedJob(j, o.log);
      if (p) { savepoint = p; o.log(`no active run; restoring the savepoint of the finished run ${j.jid}: ${p}`); break; }
      o.log(`no active run; the ${i === 0 ? 'newest ' : ''}finished run ${j.jid} recorded no savepoint`);
    }
  }
  savepoint ??= spec.initialSavepointPath;

  const content = await readJar(jar, spec.jarSha256, o.timeoutMs, o.s3);
  if (spec.kind === 'jar' && !spec.entryClass) checkMainClass(redactUrl(jar), bufferReader(content), true);
  const jarId = await rest.uploadJar(path.basename(new URL(jar, 'file:///').pathname), content);
  o.log(`uploaded ${redactUrl(jar)} as ${jarId}`);
  // Running the jar plans the job on the JobManager and may take longer than a REST call's
  // timeout; it is not idempotent (a retry of a submission that went through is refused as a
  // duplicate), so it is sent once, bounded by the command's timeout.
  const id = await new FlinkRest(spec.restUrl, o.timeoutMs, 0).runJar(jarId, {
    // Without an entry class Flink runs the Main-Class of the jar's manifest.
    ...(spec.entryClass ? { entryClass: spec.entryClass } : {}),
    programArgsList: args,
    parallelism: spec.parallelism,
    jobId,
    ...(savepoint ? { savepointPath: savepoint, allowNonRestoredState: spec.allowNonRestoredState ?? false } : {}),
    ...(spec.flinkConfiguration && Object.keys(spec.flinkConfiguration).length ? { flinkConfiguration: Object.fromEntries(Object.entries(spec.flinkConfiguration).map(([k, v]) => [k, String(v)])) } : {}),
  });
  o.log(`submitted job ${id} "${spec.name}"${savepoint ? ` from ${savepoint}` : ''}`);
  return id;
}

/** The jar's content: a path or file:// URI in this image, an https URL or an s3://bucket/key (sha256 checked when given). */
async function readJar(jar: string, sha256: string | undefined, timeoutMs: number, s3?: S3Access): Promise<Buffer> {
  if (/^(https|s3):\/\//i.test(jar)) return downloadJar(jar, sha256, timeoutMs, s3);
  const file = /^file:\/\/\//i.test(jar) ? jar.slice('file://'.length) : jar;
  if (!file.startsWith('/')) throw new OpsError(`spec.jarFile: "${redactUrl(jar)}" is not a jar the submitter can read; expected an absolute path or file:/// URI in this image, an https:// URL or s3://bucket/key`);
  if (!fs.existsSync(file)) throw new OpsError(`spec.jarFile: ${file} does not exist in the submitter's image`);
  const content = fs.readFileSync(file);
  const digest = createHash('sha256').update(content as unknown as Uint8Array).digest('hex');
  if (sha256 && digest !== sha256) throw new OpsError(`spec.jarFile: ${file} has sha256 ${digest}, not the expected ${sha256}; refusing the jar`);
  return content;
}
