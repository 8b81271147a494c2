/**
 * `cdk8s-flink local up|down|status`: a synthesized job's JobManager and TaskManagers as local
 * processes, started from a Flink distribution with the generated configuration, the way the
 * pods would run them (the init container's own script prepares the config and applies the
 * hand-off; the container args are used as they are). Only addresses and ports differ: every
 * process listens on 127.0.0.1 on free ports, given as `-D` properties.
 *
 * State lives in `<dir>/<name>/state.json` (pids, ports, REST URL); logs beside it. The
 * processes are detached: they outlive the command until `local down`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FlinkApplication } from '../application';
import { ValidationError } from '../errors';
import { FlinkRest } from '../ops/flink-rest';
import { submit, SubmitSpec } from '../ops/submit';
import { ReleaseUnit } from '../platform';
import { FlinkSessionJob } from '../session';
import { synthesizeUnit } from '../synth/synthesize';
import { cacheDir } from './cache';
import { layoutFlinkHome } from './flink-dist';
import { processAlive, restGet, stopGroup, waitFor } from './flink-proc';
import { runCluster } from './local-flink';

export interface LocalProcessState {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
}

export interface LocalState {
  readonly name: string;
  readonly kind: ReleaseUnit['kind'];
  readonly flinkVersion: string;
  readonly flinkHome: string;
  readonly rest: string;
  readonly startedAt: string;
  readonly processes: LocalProcessState[];
  readonly metricsPorts: { jobManager: number; taskManagers: number[] };
  /** Application clusters: the job id from the hand-off. Session jobs: the submitted job id. */
  readonly jobId?: string;
  /** Session jobs: the cluster they were submitted to. */
  readonly cluster?: string;
}

export interface LocalUpOptions {
  /** Where state, config and logs go: `<dir>/<unit>/`. */
  readonly dir: string;
  /** A Flink home laid out like the runtime image; default: fetched and laid out under the cache. */
  readonly flinkHome?: string;
  readonly taskManagers?: number;
  readonly properties?: Record<string, string>;
  /** Wait until the TaskManagers registered (and an application's job runs); default true. */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
  readonly log: (m: string) => void;
}

export function stateFile(dir: string, name: string): string {
  return path.join(dir, name, 'state.json');
}

export function readState(dir: string, name: string): LocalState | undefined {
  const f = stateFile(dir, name);
  if (!fs.existsSync(f)) return undefined;
  return JSON.parse(fs.readFileSync(f, 'utf8')) as LocalState;
}

function writeState(dir: string, s: LocalState): void {
  const f = stateFile(dir, s.name);
  fs.writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2) + '\n');
  fs.renameSync(`${f}.tmp`, f);
}

/** The states under dir, with whether each process is still alive. */
export function listStates(dir: string): Array<LocalState & { alive: boolean[] }> {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((n) => readState(dir, n)).filter((s): s is LocalState => !!s)
    .map((s) => ({ ...s, alive: s.processes.map((p) => processAlive(p.pid)) }));
}

async function flinkHomeFor(version: string, given: string | undefined, log: (m: string) => void): Promise<string> {
  if (given) {
    const home = path.resolve(given);
    for (const f of ['bin/jobmanager.sh', 'bin/taskmanager.sh', 'lib']) {
      if (!fs.existsSync(path.join(home, f))) throw new ValidationError('--flink-home', given, `has no ${f}; expected a Flink ${version} distribution laid out like the runtime image`);
    }
    return home;
  }
  const line = version.split('.').slice(0, 2).join('.');
  const dir = cacheDir('local', `flink-${version}`);
  const marker = path.join(dir, '.cdk8s-flink-layout.json');
  if (fs.existsSync(marker)) return dir;
  log(`fetching Flink ${version} and the runtime jars of line ${line} (cached under ${dir}) ...`);
  return layoutFlinkHome(version, line, dir);
}

function alive(s: LocalState): boolean {
  return s.processes.some((p) => processAlive(p.pid));
}

/** Starts a unit locally; returns its state. */
export async function localUp(unit: ReleaseUnit, opts: LocalUpOptions): Promise<LocalState> {
  const dir = path.resolve(opts.dir);
  const existing = readState(dir, unit.name);
  if (existing && alive(existing)) {
    throw new ValidationError('job', unit.name, `is already up locally (REST ${existing.rest}); run "cdk8s-flink local down ${unit.name}" first`);
  }
  if (opts.taskManagers !== undefined && (!Number.isInteger(opts.taskManagers) || opts.taskManagers < 1 || opts.taskManagers > 16)) {
    throw new ValidationError('--taskmanagers', opts.taskManagers, 'is invalid; expected an integer from 1 to 16');
  }
  const timeoutMs = opts.timeoutMs ?? 240_000;
  if (unit.kind === 'session-job') return submitSessionJob(unit, dir, opts, timeoutMs);

  const version = (unit.construct as FlinkApplication).version.toString();
  const home = await flinkHomeFor(version, opts.flinkHome, opts.log);
  const objects = synthesizeUnit(unit).objects;
  const work = path.join(dir, unit.name);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const properties = { ...opts.properties };
  const config = objects.find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === `${unit.name}-config`)?.data ?? {};
  const configText = String(config['config.yaml'] ?? config['flink-conf.yaml'] ?? '');
  if (/^high-availability(\.type)?: kubernetes$/m.test(configText) && !('high-availability.type' in properties) && !('high-availability' in properties)) {
    // Kubernetes HA stores leader and job metadata in ConfigMaps: there is no API server locally.
    properties['high-availability.type'] = 'NONE';
    opts.log('Kubernetes high availability is off locally (no Kubernetes API): -D high-availability.type=NONE');
  }
  const cluster = await runCluster(objects, unit.name, work, home, { detached: true, taskManagers: opts.taskManagers, properties });
  const jobId = unit.kind === 'application' ? fs.readFileSync(path.join(cluster.local.handoffDir, 'jobId'), 'utf8').trim() : undefined;
  const state: LocalState = {
    name: unit.name, kind: unit.kind, flinkVersion: version, flinkHome: home, rest: cluster.rest, startedAt: new Date().toISOString(),
    processes: cluster.procs.map((p) => ({ name: p.name, pid: p.pid, log: path.join(work, p.name === 'jobmanager' ? 'log-jm-0' : `log-tm-${p.name.split('-')[1]}`) })),
    metricsPorts: cluster.metricsPorts(),
    ...(jobId ? { jobId } : {}),
  };
  writeState(dir, state);
  opts.log(`started ${state.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}; REST ${cluster.rest}`);
  if (opts.wait === false) return state;
  try {
    const tms = opts.taskManagers ?? cluster.local.taskManager.replicas;
    await waitFor(async () => {
      const o = await restGet<{ taskmanagers: number }>(`${cluster.rest}/overview`).catch(() => undefined);
      return o && o.taskmanagers >= tms ? o : undefined;
    }, { timeoutMs, intervalMs: 1000, what: `${tms} TaskManager(s) registered at ${cluster.rest}`, abortIf: cluster.died });
    if (jobId) {
      await cluster.waitRunning(jobId, timeoutMs);
      opts.log(`job ${jobId} "${unit.name}" is RUNNING`);
    }
  } catch (e) {
    throw new ValidationError('job', unit.name, `did not come up locally: ${(e as Error).message.split('\n')[0]} (logs in ${work}; "cdk8s-flink local down ${unit.name}" stops what started)`);
  }
  return state;
}

async function submitSessionJob(unit: ReleaseUnit, dir: string, opts: LocalUpOptions, timeoutMs: number): Promise<LocalState> {
  const job = unit.construct as FlinkSessionJob;
  const clusterName = job.cluster.name;
  const cluster = readState(dir, clusterName);
  if (!cluster || !alive(cluster)) {
    throw new ValidationError('job', unit.name, `runs on session cluster ${clusterName}, which is not up locally; run "cdk8s-flink local up ${clusterName}" first`);
  }
  const objects = synthesizeUnit(unit).objects;
  const cm = objects.find((o: any) => o.kind === 'ConfigMap' && o.data?.['job.json']);
  if (!cm) throw new Error(`${unit.name}: no ConfigMap with job.json among the synthesized objects`);
  const work = path.join(dir, unit.name);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const [k, v] of Object.entries(cm.data as Record<string, string>)) fs.writeFileSync(path.join(work, k), v);
  const spec = { ...(JSON.parse(cm.data['job.json']) as SubmitSpec), restUrl: cluster.rest };
  const runner = path.join(cluster.flinkHome, 'usrlib', 'cdk8s-flink-sql-runner.jar');
  if (spec.kind === 'sql' && !fs.existsSync(runner)) throw new ValidationError('--flink-home', cluster.flinkHome, 'has no usrlib/cdk8s-flink-sql-runner.jar; expected a home laid out like the runtime image');
  const jobId = await submit(spec, path.join(work, 'job.json'), { timeoutMs, log: opts.log, runnerJar: runner });
  const state: LocalState = {
    name: unit.name, kind: unit.kind, flinkVersion: cluster.flinkVersion, flinkHome: cluster.flinkHome, rest: cluster.rest,
    startedAt: new Date().toISOString(), processes: [], metricsPorts: cluster.metricsPorts, jobId, cluster: clusterName,
  };
  writeState(dir, state);
  if (opts.wait !== false) {
    await waitFor(async () => {
      const j = (await new FlinkRest(cluster.rest).jobs()).find((x) => x.jid === jobId);
      if (j && ['FAILED', 'CANCELED', 'FINISHED'].includes(j.state)) throw Object.assign(new Error(`job ${jobId} is ${j.state}`), { fatal: true });
      return j?.state === 'RUNNING' ? j : undefined;
    }, { timeoutMs, intervalMs: 1000, what: `session job ${jobId} RUNNING on ${clusterName}` });
    opts.log(`job ${jobId} "${unit.name}" is RUNNING on session cluster ${clusterName}`);
  }
  return state;
}

/** Stops a unit started by localUp: cancels a session job, or stops the processes. Returns what it did. */
export async function localDown(dir: string, name: string, log: (m: string) => void): Promise<boolean> {
  dir = path.resolve(dir);
  const s = readState(dir, name);
  if (!s) return false;
  if (s.kind === 'session-job' && s.jobId) {
    const rest = new FlinkRest(s.rest);
    if (await rest.reachable()) {
      const j = (await rest.jobs()).find((x) => x.jid === s.jobId);
      if (j && !['FAILED', 'CANCELED', 'FINISHED'].includes(j.state)) {
        await rest.cancel(s.jobId);
        log(`cancelled job ${s.jobId} "${name}"`);
      }
    }
  }
  await Promise.all(s.processes.map(async (p) => {
    if (processAlive(p.pid)) {
      await stopGroup(p.pid, 20_000);
      log(`stopped ${p.name} (pid ${p.pid})`);
    }
  }));
  fs.rmSync(stateFile(dir, name), { force: true });
  return true;
}
