/**
 * A session job's submitter Job, run locally the way its chart runs it (test/e2e/e2e-session.test.ts,
 * test/e2e/session-pool-demand.test.ts), and what the tests read of a submitted job.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SUBMIT_SPEC_DIR } from '../../lib/session';
import { restGet } from './flink-proc';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');

export interface Submitted { code: number | null; stdout: string; stderr: string; ms: number; spec: any }

/**
 * Runs a session job's submitter Job locally: its ConfigMap volume written where the container
 * mounts it, its args (mount path mapped), `node lib/ops/main.js`. Asynchronous, so the test
 * keeps polling the other job meanwhile.
 */
export function runSubmitter(objects: any[], name: string, work: string, rest: string, home: string): Promise<Submitted> {
  const job = objects.find((o) => o.kind === 'Job');
  const pod = job.spec.template.spec;
  const container = pod.containers[0];
  const mount = container.volumeMounts.find((m: any) => m.mountPath === SUBMIT_SPEC_DIR);
  const cmName = pod.volumes.find((v: any) => v.name === mount.name).configMap.name;
  assert.equal(cmName, `${name}-job`);
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
  const dir = path.join(work, 'submitters', job.metadata.name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(cm.data as Record<string, string>)) fs.writeFileSync(path.join(dir, k), v);
  const spec = JSON.parse(cm.data['job.json']);
  // The one mapped value of the spec: the REST URL (a Service name on Kubernetes).
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ ...spec, restUrl: rest }, null, 2) + '\n');
  const args = (container.args as string[]).map((a) => a.split(SUBMIT_SPEC_DIR).join(dir));
  const env: Record<string, string> = { CDK8S_FLINK_SQL_RUNNER_JAR: path.join(home, 'usrlib', 'cdk8s-flink-sql-runner.jar') };
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return runOps(args, env).then((r) => ({ ...r, spec }));
}

/**
 * `node lib/ops/main.js <args>` as the container runs it, asynchronously, bounded by 5 minutes;
 * `stop` aborted sends it SIGTERM (what Kubernetes sends a pod's container).
 */
export function runOps(args: string[], env: Record<string, string> = {}, stop?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [OPS, ...args], { env: { ...process.env as Record<string, string>, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
    stop?.addEventListener('abort', () => p.kill('SIGTERM'), { once: true });
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

/** The job's most parallel vertex. */
export const maxParallelism = async (rest: string, jid: string) => Math.max(...(await restGet<any>(`${rest}/jobs/${jid}`)).vertices.map((v: any) => v.parallelism));
/** The job's details once it and every vertex run, else undefined. */
export const allRunning = async (rest: string, jid: string) => {
  const d = await restGet<any>(`${rest}/jobs/${jid}`).catch(() => undefined);
  return d && d.state === 'RUNNING' && d.vertices.every((v: any) => v.status === 'RUNNING') ? d : undefined;
};
