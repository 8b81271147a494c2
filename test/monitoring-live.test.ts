/**
 * The monitoring wiring against the real thing: an example job of examples/platform.ts runs on
 * a real Flink distribution (1.20.5 and 2.2.1) with a real Kafka broker, as in the boot test;
 * a real Prometheus (Debian's package) scrapes its JobManager and TaskManagers through the
 * generated annotation-mode scrape config and evaluates the generated rule file.
 *
 * Kubernetes is the one part played: Debian's Prometheus has no Kubernetes service discovery,
 * so each process is a static target carrying the meta labels the pod role would give it
 * (namespace, pod name, pod labels, the pod's generated prometheus.io annotations, with the
 * port changed to the process's free port). The relabelings that turn them into `namespace`,
 * `pod`, `component` and `flink_cluster` are the generated ones.
 *
 * It proves: every catalog metric the version exports is there with the labels the rules
 * expect (job_name="audit_logs" for the job "audit-logs"); every rule evaluates without error
 * on real series; every dashboard query returns data; a healthy job raises no alert; killing
 * a TaskManager raises FlinkMetricsTargetDown, FlinkTaskManagersMissing and FlinkJobRestarting.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Partitioners } from 'kafkajs';
import { stringify } from 'yaml';
import { buildLogPlatform } from '../examples/platform';
import { FlinkApplication } from '../lib';
import { allMetrics, FlinkAlert, FlinkMetric, FlinkMonitoring, metricAvailable, prometheusScrapeConfig, ScrapeMode } from '../lib/monitoring';
import { synthesizeUnit } from '../lib/synth/synthesize';
import { localCluster } from './support/container-local';
import { layoutFlinkHome } from './support/flink-dist';
import { FlinkProcess, freePort, freePorts, ManagedProcess, restGet, spawnManaged, startJobManager, startTaskManager, waitFor } from './support/flink-proc';
import { KafkaBroker, startKafka } from './support/kafka';
import { ensurePrometheus } from './support/tools';

let kafka: Promise<KafkaBroker> | undefined;
after(async () => {
  if (kafka) await (await kafka).stop();
});

const CASES = [
  { job: 'audit-logs', dist: '1.20.5', line: '1.20', source: 'logs.audit', sink: 'logs.audit.counted' },
  { job: 'access-logs', dist: '2.2.1', line: '2.2', source: 'logs.access' },
] as const;

const NS = 'logs';

function record(job: string, i: number) {
  const services = ['checkout', 'search', 'login'];
  return job === 'audit-logs'
    ? { id: `e-${i}`, ts: `2026-11-22T10:00:${String(i % 60).padStart(2, '0')}.000`, service: services[i % 3], level: 'INFO', message: `event ${i}` }
    : { ts: '2026-11-22T10:00:00.000', service: services[i % 3], host: 'h1', method: 'GET', path: `/p/${i}`, status: 200, bytes: 100 + i, latency_ms: 1.5 };
}

/** Prometheus' instant query API: the result vector. */
async function query(base: string, expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await restGet<{ status: string; data: { result: any[] } }>(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, 10_000);
  assert.equal(r.status, 'success', expr);
  return r.data.result;
}

for (const c of CASES) {
  test(`live: Prometheus scrapes real Flink ${c.dist} through the generated config; rules and dashboard work on its series; a lost TaskManager raises alerts`, { timeout: 9 * 60_000 }, async (t) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `cdk8s-flink-live-${c.job}-`));
    const procs: FlinkProcess[] = [];
    let prom: ManagedProcess | undefined;
    const t0 = Date.now();
    try {
      const home = await layoutFlinkHome(c.dist, c.line, path.join(work, 'flink'));
      const k = await (kafka ??= startKafka());
      await k.createTopic(c.source, 2);
      if ('sink' in c) await k.createTopic(c.sink, 1);

      const platform = buildLogPlatform({
        kafkaBootstrap: k.bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`, namespace: NS,
        elasticsearch: 'http://127.0.0.1:9', image: (v) => `flink:${v}-java17`, opsImage: 'cdk8s-flink-ops:0.1.0',
        monitoring: { scrape: ScrapeMode.ANNOTATIONS, targetDownFor: Duration.seconds(10), taskManagersMissingFor: Duration.seconds(10) },
      });
      const u = platform.unit(c.job)!;
      const app = u.construct as FlinkApplication;
      const monitoring = u.chart.node.findChild('Monitoring') as FlinkMonitoring;
      const unit = synthesizeUnit(u);
      const local = localCluster(unit.objects, c.job, work);
      const rulesCm = unit.objects.find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === `${c.job}-prometheus-rules`);
      const pod = (component: string) => unit.objects.find((o: any) => o.kind === 'Deployment' && o.metadata.name === `${c.job}-${component}`).spec.template.metadata;

      // --- Flink, as in the boot test (addresses and ports changed through -D only)
      const [restPort, rpcPort, blobPort, jmProm] = await freePorts(4);
      const loopback = {
        'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.bind-host': '127.0.0.1', 'rest.address': '127.0.0.1',
        'rest.bind-address': '127.0.0.1', 'taskmanager.host': '127.0.0.1', 'taskmanager.bind-host': '127.0.0.1',
        'rest.port': restPort, 'jobmanager.rpc.port': rpcPort, 'blob.server.port': blobPort,
      };
      const rest = `http://127.0.0.1:${restPort}`;
      procs.push(await startJobManager({
        flinkHome: home, confDir: local.confDir, logDir: path.join(work, 'log-jm'), name: 'jobmanager',
        args: local.jobManager.args, env: local.jobManager.env, dynamicProperties: { ...loopback, 'metrics.reporter.prom.port': jmProm },
      }));
      const targets: Array<{ component: string; pod: string; port: number }> = [{ component: 'jobmanager', pod: `${c.job}-jobmanager-0`, port: jmProm }];
      for (let i = 0; i < local.taskManager.replicas; i++) {
        const [tmRpc, tmData, tmProm] = await freePorts(3);
        procs.push(await startTaskManager({
          flinkHome: home, confDir: local.confDir, logDir: path.join(work, `log-tm-${i}`), name: `taskmanager-${i}`,
          args: local.taskManager.args, env: local.taskManager.env,
          dynamicProperties: { ...loopback, 'taskmanager.rpc.port': tmRpc, 'taskmanager.data.port': tmData, 'metrics.reporter.prom.port': tmProm },
        }));
        targets.push({ component: 'taskmanager', pod: `${c.job}-taskmanager-${i}`, port: tmProm });
      }
      const died = () => procs.slice(0, 1 + local.taskManager.replicas).map((p) => (p.exitCode() !== undefined && p.name !== 'taskmanager-0' ? `${p.name} exited with ${p.exitCode()}` : '')).find(Boolean)
        || (prom && prom.exitCode() !== undefined ? `prometheus exited: ${prom.logs().slice(-2000)}` : '');

      const producer = k.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic: c.source, messages: Array.from({ length: 60 }, (_, i) => ({ value: JSON.stringify(record(c.job, i)) })) });
      await producer.disconnect();

      // --- Prometheus with the generated scrape config (static targets in place of the pod role) and rule file
      const promBin = await ensurePrometheus();
      const promPort = await freePort();
      const promDir = path.join(work, 'prometheus');
      fs.mkdirSync(promDir);
      const { kubernetes_sd_configs: _sd, ...job } = prometheusScrapeConfig() as Record<string, unknown>;
      const staticConfigs = targets.map((x) => {
        const meta = pod(x.component);
        return {
          targets: [`127.0.0.1:${x.port}`],
          labels: {
            __meta_kubernetes_namespace: NS,
            __meta_kubernetes_pod_name: x.pod,
            __meta_kubernetes_pod_container_port_name: 'metrics',
            ...Object.fromEntries(Object.entries(meta.labels as Record<string, string>).map(([kk, v]) => [`__meta_kubernetes_pod_label_${kk.replace(/[^a-zA-Z0-9_]/g, '_')}`, v])),
            ...Object.fromEntries(Object.entries(meta.annotations as Record<string, string>).filter(([kk]) => kk.startsWith('prometheus.io/'))
              .map(([kk, v]) => [`__meta_kubernetes_pod_annotation_${kk.replace(/[^a-zA-Z0-9_]/g, '_')}`, kk === 'prometheus.io/port' ? String(x.port) : v])),
          },
        };
      });
      const ruleFile = Object.keys(rulesCm.data)[0];
      fs.writeFileSync(path.join(promDir, ruleFile), rulesCm.data[ruleFile]);
      fs.writeFileSync(path.join(promDir, 'prometheus.yml'), stringify({
        global: { scrape_interval: '2s', evaluation_interval: '2s' },
        rule_files: [ruleFile],
        scrape_configs: [{ ...job, scrape_interval: '2s', static_configs: staticConfigs }],
      }));
      prom = spawnManaged('prometheus', promBin, [
        `--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`, '--storage.tsdb.retention.time=1h', '--log.level=warn',
      ], { cwd: promDir });
      const base = `http://127.0.0.1:${promPort}`;
      await waitFor(() => restGet(`${base}/-/ready`).then(() => true), { timeoutMs: 60_000, intervalMs: 500, what: 'prometheus ready', abortIf: died });

      // --- the job runs, every process is scraped with the relabeled target labels
      const jobId = local.jobManager.args[local.jobManager.args.indexOf('--job-id') + 1];
      await waitFor(async () => {
        const o = await restGet<{ jobs: Array<{ jid: string; state: string }> }>(`${rest}/jobs/overview`);
        return o.jobs.some((j) => j.jid === jobId && j.state === 'RUNNING');
      }, { timeoutMs: 180_000, intervalMs: 1000, what: `job ${jobId} RUNNING`, abortIf: died });
      const cl = `namespace="${NS}",flink_cluster="${c.job}"`;
      const ups = await waitFor(async () => {
        const r = await query(base, `up{${cl}} == 1`);
        return r.length === targets.length ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000, what: `${targets.length} targets up`, abortIf: died });
      assert.deepEqual(ups.map((x) => [x.metric.pod, x.metric.component]).sort(), targets.map((x) => [x.pod, x.component]).sort());
      t.diagnostic(`job running and ${targets.length} targets up after ${Date.now() - t0} ms`);

      // --- every catalog metric the version exports (GC by collector name depends on the JVM's choice)
      const expected = allMetrics().filter((m) => metricAvailable(m.name, app.version) && !/_G1_/.test(m.name));
      const missing = await waitFor(async () => {
        const absent: string[] = [];
        for (const m of expected) if ((await query(base, `count(${m.name}{${cl}})`)).length === 0) absent.push(m.name);
        return absent.length === 0 ? absent : undefined;
      }, { timeoutMs: 120_000, intervalMs: 3000, what: 'every catalog metric scraped', abortIf: died }).catch(async (e) => {
        const absent: string[] = [];
        for (const m of expected) if ((await query(base, `count(${m.name}{${cl}})`)).length === 0) absent.push(m.name);
        throw new Error(`${(e as Error).message}; missing: ${absent.join(', ')}`);
      });
      assert.deepEqual(missing, []);
      const collectors = (await query(base, `count by (__name__) ({__name__=~"flink_taskmanager_Status_JVM_GarbageCollector_.*_Time",${cl}})`)).map((x) => x.metric.__name__);
      t.diagnostic(`all ${expected.length} catalog metrics present; GC collectors: ${collectors.join(', ')}`);

      // the labels the rules group and match by, with the values Flink writes
      const restarts = await query(base, `${FlinkMetric.JOB_NUM_RESTARTS}{${cl}}`);
      assert.equal(restarts.length, 1);
      assert.equal(restarts[0].metric.job_name, c.job.replace(/-/g, '_'), `job "${c.job}" is exported as job_name="${c.job.replace(/-/g, '_')}"`);
      assert.equal(restarts[0].metric.component, 'jobmanager');
      const lag = await query(base, `${FlinkMetric.OPERATOR_PENDING_RECORDS}{${cl}}`);
      assert.ok(lag.length >= 1 && lag.every((x) => x.metric.operator_name && x.metric.task_name && x.metric.component === 'taskmanager' && x.metric.job_name), JSON.stringify(lag[0]?.metric));
      t.diagnostic(`pendingRecords on ${[...new Set(lag.map((x) => x.metric.operator_name))].join(', ')}`);

      // --- every rule evaluates without error on the real series (label matching of /, or, and on)
      await new Promise((r) => setTimeout(r, 5000));
      const rules = await restGet<{ data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } }>(`${base}/api/v1/rules`);
      const all = rules.data.groups.flatMap((g) => g.rules);
      assert.equal(all.length, monitoring.ruleFile().groups[0].rules.length);
      assert.deepEqual(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);

      // --- every dashboard query returns data
      const empty: string[] = [];
      for (const p of monitoring.dashboard!.panels) {
        for (const q of p.targets) {
          const expr = q.expr.replace(/\$__rate_interval/g, '1m').replace(/\$namespace/g, NS).replace(/\$job/g, '.*');
          if ((await query(base, expr)).length === 0) empty.push(`${p.title} [${q.refId}]: ${expr}`);
        }
      }
      // A job without event-time watermarks has none to lag (the reporter's value is Long.MIN_VALUE).
      const wm = (await query(base, `max(${FlinkMetric.OPERATOR_CURRENT_OUTPUT_WATERMARK}{${cl}})`))[0]?.value[1];
      const allowed = Number(wm) > 0 ? [] : ['Watermark lag per task'];
      assert.deepEqual(empty.filter((e) => !allowed.some((a) => e.startsWith(a))), [], 'dashboard queries without data');
      t.diagnostic(`dashboard: ${monitoring.dashboard!.panels.length} panels queried; watermark ${wm}`);

      // --- healthy: nothing fires
      const firing = async () => (await query(base, `ALERTS{alertstate="firing",${cl}}`)).map((x) => x.metric.alertname);
      assert.deepEqual(await firing(), []);

      // --- a TaskManager dies: its target goes down, the JobManager loses it, the job restarts
      procs[1].kill();
      const fired = await waitFor(async () => {
        const f = await firing();
        return [FlinkAlert.TARGET_DOWN, FlinkAlert.TASK_MANAGERS_MISSING, FlinkAlert.JOB_RESTARTING].every((a) => f.includes(a)) ? f : undefined;
      }, { timeoutMs: 150_000, intervalMs: 2000, what: 'target-down, TaskManagers-missing and restarting alerts', abortIf: died });
      const down = (await query(base, `ALERTS{alertname="${FlinkAlert.TARGET_DOWN}",alertstate="firing",${cl}}`))[0].metric;
      assert.equal(down.pod, targets[1].pod);
      assert.equal(down.component, 'taskmanager');
      t.diagnostic(`after killing ${targets[1].pod}: ${[...new Set(fired)].sort().join(', ')} (${Date.now() - t0} ms)`);
    } catch (e) {
      for (const p of procs) t.diagnostic(`---- ${p.name} (tail) ----\n${(p.logFile() || p.logs()).split('\n').slice(-40).join('\n')}`);
      if (prom) t.diagnostic(`---- prometheus ----\n${prom.logs().slice(-3000)}`);
      throw e;
    } finally {
      if (prom) await prom.stop(10_000);
      await Promise.all(procs.map((p) => p.stop(15_000)));
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
