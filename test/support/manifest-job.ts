/**
 * The jar URI tests' job (test/support/java/manifest-job): compiled against a Flink home's lib/
 * and packed with a Main-Class manifest, so that no entry class needs to be given. It runs until
 * cancelled and takes its job name from its first argument.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from './flink-dist';

/** The job's main class, as its manifest names it. */
export const MANIFEST_JOB_MAIN = 'org.cdk8sflink.testjob.ManifestJob';

/** Compiles the job against `home`'s lib/ into `work` and returns the jar's path. */
export function buildManifestJar(home: string, work: string): string {
  const classes = path.join(work, 'manifest-job-classes');
  fs.mkdirSync(classes, { recursive: true });
  const src = path.join(repoRoot(), 'test', 'support', 'java', 'manifest-job', 'ManifestJob.java');
  const javac = spawnSync('javac', ['-d', classes, '-cp', path.join(home, 'lib', '*'), src], { encoding: 'utf8' });
  if (javac.status !== 0) throw new Error(`javac ManifestJob.java: ${javac.stderr}`);
  const jar = path.join(work, 'manifest-job.jar');
  const r = spawnSync('jar', ['--create', '--file', jar, '--main-class', MANIFEST_JOB_MAIN, '-C', classes, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jar --create manifest-job.jar: ${r.stderr}`);
  return jar;
}
