/**
 * A synthesized Flink cluster scraped by a real Prometheus (Debian's package) through the
 * generated monitoring: the live monitoring tests share this.
 *
 * - startScrapedFlink: the cluster's JobManager and TaskManagers as local processes (the
 *   generated config, args and log4j file; loopback addresses and free ports through `-D`),
 *   each with its Prometheus reporter on a free port.
 * - startPrometheus: Prometheus with the generated annotation-mode scrape job and the generated
 *   rule file. Debian's Prometheus has no Kubernetes service discovery, so each process is a
 *   static target carrying the meta labels the pod role would give it (namespace, pod name, pod
 *   labels, the pod's generated prometheus.io annotations with the port changed to the
 *   process's free port); the relabelings that turn them into `namespace`, `pod`, `component`
 *   and `flink_cluster` are the generated ones.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { prometheusScrapeConfig } from '../../lib/monitoring';
import { localCluster, LocalCluster } from './container-local';
import { FlinkProcess, freePort, freePorts, ManagedProcess, restGet, spawnManaged, startJobManager, startTaskManager, waitFor } from './flink-proc';
import { firstDied, loopbackPorts } from './local-flink';
import { ensurePrometheus } from './tools';

/** One process Prometheus scrapes, as the pod it stands for. */
export interface ScrapeTarget {
  readonly component: 'jobmanager' | 'taskmanager';
  /** The pod name it carries (`<cluster>-jobmanager-0`, `<cluster>-taskmanager-<i>`). */
  readonly pod: string;
  /** Its Prometheus reporter port on 127.0.0.1. */
  readonly port: number;
}

export interface ScrapedFlink {
  readonly rest: string;
  readonly local: LocalCluster;
  /** The JobManager first, then TaskManager i at index 1 + i. */
  readonly procs: FlinkProcess[];
  readonly targets: ScrapeTarget[];
  /** The job id of an application cluster (its `--job-id`). */
  readonly jobId: string | undefined;
  /** The first process that exited without being killed on purpose. */
  died(): string | undefined;
  /** SIGKILL to TaskManager i (a crashed pod); resolves when it has exited. */
  killTaskManager(i: number): Promise<void>;
  stop(): Promise<void>;
  /** The tail of every process's log. */
  logs(): string;
}

/** Runs the cluster `name` of the synthesized objects as local processes with their reporters on free ports. */
export async function startScrapedFlink(objects: any[], name: string, work: string, home: string): Promise<ScrapedFlink> {
  const local = localCluster(objects, name, work);
  const { restPort, jmProm, loopback } = await loopbackPorts();
  const procs: FlinkProcess[] = [];
  const killed = new Set<FlinkProcess>();
  const stopAll = () => Promise.all(procs.map((p) => p.stop(15_000)));
  try {
    procs.push(await startJobManager({
      flinkHome: home, confDir: local.confDir, logDir: path.join(work, 'log-jm'), name: 'jobmanager',
      args: local.jobManager.args, env: local.jobManager.env, dynamicProperties: { ...loopback, 'metrics.reporter.prom.port': jmProm },
    }));
    const targets: ScrapeTarget[] = [{ component: 'jobmanager', pod: `${name}-jobmanager-0`, port: jmProm }];
    for (let i = 0; i < local.taskManager.replicas; i++) {
      const [tmRpc, tmData, tmProm] = await freePorts(3);
      procs.push(await startTaskManager({
        flinkHome: home, confDir: local.confDir, logDir: path.join(work, `log-tm-${i}`), name: `taskmanager-${i}`,
        args: local.taskManager.args, env: local.taskManager.env,
        dynamicProperties: { ...loopback, 'taskmanager.rpc.port': tmRpc, 'taskmanager.data.port': tmData, 'metrics.reporter.prom.port': tmProm },
      }));
      targets.push({ component: 'taskmanager', pod: `${name}-taskmanager-${i}`, port: tmProm });
    }
    const idArg = local.jobManager.args.indexOf('--job-id');
    return {
      rest: `http://127.0.0.1:${restPort}`,
      local,
      procs,
      targets,
      jobId: idArg >= 0 ? local.jobManager.args[idArg + 1] : undefined,
      died: () => firstDied(procs, killed),
      async killTaskManager(i: number) {
        const p = procs[1 + i];
        if (!p) throw new Error(`no TaskManager ${i}`);
        killed.add(p);
        p.kill();
        await p.exited;
      },
      async stop() { await stopAll(); },
      logs: () => procs.map((p) => `---- ${p.name} (tail) ----\n${(p.logFile() || p.logs()).split('\n').slice(-40).join('\n')}`).join('\n'),
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** One sample of an instant query. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** An alert as Prometheus' /api/v1/alerts reports it. */
export interface ActiveAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
  readonly value: string;
}

export interface PrometheusServer {
  readonly base: string;
  readonly proc: ManagedProcess;
  /** The instant query API's result vector (asserts the query succeeded). */
  query(expr: string): Promise<Sample[]>;
  /** Pending and firing alerts. */
  alerts(): Promise<ActiveAlert[]>;
  /** The loaded rules with their health. */
  rules(): Promise<Array<{ name: string; query: string; health: string; lastError?: string; state?: string }>>;
  /** Replaces the scrape targets and reloads the configuration (SIGHUP), as service discovery would on pod changes. */
  setTargets(targets: ScrapeTarget[]): Promise<void>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** A folder of its own (config, rule file, TSDB). */
  readonly dir: string;
  /** The synthesized objects of the cluster (its Deployments and `<name>-prometheus-rules` ConfigMap). */
  readonly objects: any[];
  readonly name: string;
  readonly namespace: string;
  readonly targets: ScrapeTarget[];
  /** Scrape and rule evaluation interval. @default '2s' */
  readonly interval?: string;
  /** Called while waiting for readiness; a message aborts the wait. */
  readonly abortIf?: () => string | undefined;
}

/** Starts Prometheus with the generated scrape job (static targets in place of the pod role) and rule file. */
export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const interval = o.interval ?? '2s';
  const rulesCm = o.objects.find((x: any) => x.kind === 'ConfigMap' && x.metadata.name === `${o.name}-prometheus-rules`);
  if (!rulesCm) throw new Error(`${o.name}-prometheus-rules ConfigMap missing (monitoring needs scrape: ScrapeMode.ANNOTATIONS)`);
  const podMeta = (component: string) => {
    const d = o.objects.find((x: any) => x.kind === 'Deployment' && x.metadata.name === `${o.name}-${component}`);
    if (!d) throw new Error(`Deployment ${o.name}-${component} missing`);
    return d.spec.template.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
  };
  const meta = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_');
  const { kubernetes_sd_configs: _sd, ...job } = prometheusScrapeConfig() as Record<string, unknown>;
  const ruleFile = Object.keys(rulesCm.data)[0];
  fs.mkdirSync(o.dir, { recursive: true });
  fs.writeFileSync(path.join(o.dir, ruleFile), rulesCm.data[ruleFile]);
  const writeConfig = (targets: ScrapeTarget[]) => fs.writeFileSync(path.join(o.dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [ruleFile],
    scrape_configs: [{
      ...job,
      scrape_interval: interval,
      static_configs: targets.map((x) => {
        const m = podMeta(x.component);
        return {
          targets: [`127.0.0.1:${x.port}`],
          labels: {
            __meta_kubernetes_namespace: o.namespace,
            __meta_kubernetes_pod_name: x.pod,
            __meta_kubernetes_pod_container_port_name: 'metrics',
            ...Object.fromEntries(Object.entries(m.labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${meta(k)}`, v])),
            ...Object.fromEntries(Object.entries(m.annotations).filter(([k]) => k.startsWith('prometheus.io/'))
              .map(([k, v]) => [`__meta_kubernetes_pod_annotation_${meta(k)}`, k === 'prometheus.io/port' ? String(x.port) : v])),
          },
        };
      }),
    }],
  }));
  writeConfig(o.targets);
  const port = await freePort();
  const proc = spawnManaged('prometheus', await ensurePrometheus(), [
    `--config.file=${path.join(o.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(o.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1h', '--log.level=warn',
  ], { cwd: o.dir });
  const base = `http://127.0.0.1:${port}`;
  const abortIf = () => o.abortIf?.() || (proc.exitCode() !== undefined ? `prometheus exited: ${proc.logs().slice(-2000)}` : undefined);
  try {
    await waitFor(() => restGet(`${base}/-/ready`).then(() => true), { timeoutMs: 60_000, intervalMs: 500, what: 'prometheus ready', abortIf });
  } catch (e) {
    await proc.stop(10_000);
    throw e;
  }
  const api = async <T>(p: string): Promise<T> => {
    const r = await restGet<{ status: string; data: T; error?: string }>(`${base}${p}`, 10_000);
    assert.equal(r.status, 'success', `${p}: ${r.error ?? ''}`);
    return r.data;
  };
  return {
    base,
    proc,
    query: async (expr) => (await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts,
    rules: async () => (await api<{ groups: Array<{ rules: any[] }> }>('/api/v1/rules')).groups.flatMap((g) => g.rules),
    async setTargets(targets) {
      writeConfig(targets);
      process.kill(proc.pid, 'SIGHUP');
      const want = targets.map((x) => `127.0.0.1:${x.port}`).sort().join(',');
      await waitFor(async () => {
        const r = await api<{ activeTargets: Array<{ labels: Record<string, string> }> }>('/api/v1/targets?state=active');
        return r.activeTargets.map((x) => x.labels.instance).sort().join(',') === want ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500, what: `targets [${want}] after the configuration reload`, abortIf });
    },
    stop: () => proc.stop(10_000),
  };
}
