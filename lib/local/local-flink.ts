import * as path from 'path';
import { LocalCluster, localCluster } from './container-local';
import { FlinkProcess, freePorts, restGet, startJobManager, startTaskManager, waitFor, why } from './flink-proc';

/**
 * A synthesized cluster running as local Flink processes: the JobManager and TaskManagers with
 * the generated config, log4j file and container args. Addresses and ports are the only
 * overrides (`-D`, loopback and free ports).
 */
export interface RunningCluster {
  readonly rest: string;
  readonly local: LocalCluster;
  readonly procs: FlinkProcess[];
  /** The Prometheus reporter ports: the JobManager's and each TaskManager's (by index). */
  metricsPorts(): { jobManager: number; taskManagers: number[] };
  /** The first process that exited, for aborting waits. */
  died(): string | undefined;
  /** Stops the JobManager and starts it again after re-running the init container (a pod restart). */
  restartJobManager(): Promise<void>;
  /** The TaskManager processes now alive or last started, by index (index i is pod taskmanager-i). */
  taskManagers(): FlinkProcess[];
  /** SIGKILL to TaskManager i (a node or container crash); resolves when it has exited. */
  killTaskManager(i: number): Promise<void>;
  /** Starts a replacement TaskManager i with new ports, as a Deployment would start a new pod. */
  replaceTaskManager(i: number): Promise<FlinkProcess>;
  waitRunning(jobId: string, timeoutMs?: number): Promise<{ jid: string; name: string; state: string }>;
  stop(): Promise<void>;
  logs(): string;
}

export interface RunClusterOptions {
  /** Processes outlive the caller (`cdk8s-flink local up`); default false (stopped on exit). */
  readonly detached?: boolean;
  /** TaskManagers to start instead of the Deployment's replicas. */
  readonly taskManagers?: number;
  /** More `-D` properties for every process (after the generated config; they win). */
  readonly properties?: Record<string, string>;
  /** More container paths mapped to local folders in the container args (the image's usrlib, a jar fetch's emptyDir). */
  readonly mounts?: Record<string, string>;
}

/**
 * Free ports for a local cluster's REST API, RPC, blob server and JobManager reporter, and the
 * properties that bind every address and port of it to the loopback.
 */
export async function loopbackPorts(): Promise<{ restPort: number; jmProm: number; loopback: Record<string, string | number> }> {
  const [restPort, rpcPort, blobPort, jmProm] = await freePorts(4);
  return {
    restPort, jmProm,
    loopback: {
      'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.bind-host': '127.0.0.1', 'rest.address': '127.0.0.1',
      'rest.bind-address': '127.0.0.1', 'taskmanager.host': '127.0.0.1', 'taskmanager.bind-host': '127.0.0.1',
      'rest.port': restPort, 'jobmanager.rpc.port': rpcPort, 'blob.server.port': blobPort,
    },
  };
}

export async function runCluster(objects: any[], name: string, work: string, home: string, opts: RunClusterOptions = {}): Promise<RunningCluster> {
  let local = localCluster(objects, name, work, undefined, opts.mounts);
  const detached = opts.detached ?? false;
  const extra = opts.properties ?? {};
  const { restPort, jmProm, loopback } = await loopbackPorts();
  const procs: FlinkProcess[] = [];
  let generation = 0;
  const startJm = async () => {
    const jm = await startJobManager({
      flinkHome: home, confDir: local.confDir, logDir: path.join(work, `log-jm-${generation++}`), name: 'jobmanager',
      args: local.jobManager.args, env: local.jobManager.env,
      dynamicProperties: { ...loopback, 'metrics.reporter.prom.port': jmProm, ...extra },
      detached,
    });
    procs.unshift(jm);
  };
  await startJm();
  const tms: FlinkProcess[] = [];
  const tmProms: number[] = [];
  const tmGeneration: number[] = [];
  const startTm = async (i: number) => {
    // The TaskManager's RPC and data ports are its own to pick (0: the OS chooses, no race with
    // other processes); the reporter's port is chosen here because the scrapes need it.
    const [tmProm] = await freePorts(1);
    const g = (tmGeneration[i] = (tmGeneration[i] ?? -1) + 1);
    const tm = await startTaskManager({
      flinkHome: home, confDir: local.confDir, logDir: path.join(work, g ? `log-tm-${i}-${g}` : `log-tm-${i}`), name: `taskmanager-${i}`,
      args: local.taskManager.args, env: local.taskManager.env,
      dynamicProperties: { ...loopback, 'taskmanager.rpc.port': '0', 'taskmanager.data.port': 0, 'metrics.reporter.prom.port': tmProm, ...extra },
      detached,
    });
    tms[i] = tm;
    tmProms[i] = tmProm;
    procs.push(tm);
    return tm;
  };
  const tmCount = opts.taskManagers ?? local.taskManager.replicas;
  for (let i = 0; i < tmCount; i++) await startTm(i);
  const killed = new Set<FlinkProcess>();
  const rest = `http://127.0.0.1:${restPort}`;

  const died = () => firstDied(procs, killed);
  const cluster: RunningCluster = {
    rest,
    get local() { return local; },
    procs,
    died,
    async restartJobManager() {
      const old = procs.shift()!;
      killed.add(old);
      await old.stop(20_000);
      local = local.prepare();
      await startJm();
    },
    taskManagers: () => [...tms],
    metricsPorts: () => ({ jobManager: jmProm, taskManagers: [...tmProms] }),
    async killTaskManager(i: number) {
      const tm = tms[i];
      if (!tm) throw new Error(`no TaskManager ${i}`);
      killed.add(tm);
      tm.kill();
      await tm.exited;
    },
    replaceTaskManager(i: number) {
      if (tms[i] && tms[i].exitCode() === undefined) throw new Error(`TaskManager ${i} is still running`);
      return startTm(i);
    },
    waitRunning(jobId: string, timeoutMs = 180_000) {
      return waitFor(async () => {
        const o = await restGet<{ jobs: Array<{ jid: string; name: string; state: string }> }>(`${rest}/jobs/overview`).catch(() => undefined);
        const j = o?.jobs.find((x) => x.jid === jobId);
        if (j && ['FAILED', 'CANCELED'].includes(j.state)) throw Object.assign(new Error(`job ${j.jid} is ${j.state}`), { fatal: true });
        if (!j || j.state !== 'RUNNING') return undefined;
        const d = await restGet<{ vertices: Array<{ status: string }> }>(`${rest}/jobs/${j.jid}`);
        return d.vertices.every((v) => v.status === 'RUNNING') ? j : undefined;
      }, { timeoutMs, intervalMs: 1000, what: `job ${jobId} RUNNING`, abortIf: died });
    },
    async stop() {
      await Promise.all(procs.map((p) => p.stop(15_000)));
    },
    logs() {
      return procs.map((p) => `---- ${p.name} (tail) ----\n${(p.logFile() || p.logs()).split('\n').slice(-60).join('\n')}`).join('\n');
    },
  };
  return cluster;
}

/**
 * The first of `procs` that exited without being killed on purpose, with the lines of its log
 * that say why (see why), so that a caller's error names the reason and not only the exit code.
 */
export function firstDied(procs: readonly FlinkProcess[], killed: ReadonlySet<FlinkProcess>): string | undefined {
  return procs.filter((p) => !killed.has(p)).map((p) => (p.exitCode() !== undefined ? `${p.name} exited with ${p.exitCode()}${why(p.logFile() || p.logs())}` : '')).find(Boolean);
}
