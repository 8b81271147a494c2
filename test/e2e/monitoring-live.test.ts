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
 * on real series; every query of the platform dashboard returns data with the cluster picked by its
 * variables, which list the namespace, cluster and job; a healthy job raises no alert; killing
 * a TaskManager raises FlinkMetricsTargetDown, FlinkTaskManagersMissing and FlinkJobRestarting.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Partitioners } from 'kafkajs';
import { buildLogPlatform } from '../../examples/platform';
import { FlinkApplication } from '../../lib';
import { allMetrics, FlinkAlert, FlinkMetric, flinkLabelValue, FlinkMonitoring, metricAvailable, ScrapeMode } from '../../lib/monitoring';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { startPrometheus, startScrapedFlink } from '../support/e2e-prometheus';
import { restGet, waitFor } from '../support/flink-proc';
import { panelQueries, variableQueries } from '../support/dashboard-queries';
import { live, sharedKafka } from '../support/live';

const kafka = sharedKafka();

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

for (const c of CASES) {
  test(`live: Prometheus scrapes real Flink ${c.dist} through the generated config; rules and dashboard work on its series; a lost TaskManager raises alerts`, { timeout: 9 * 60_000 }, async (t) => {
    const t0 = Date.now();
    await live(t, `live-${c.job}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const k = await kafka();
      await k.createTopic(c.source, 2);
      if ('sink' in c) await k.createTopic(c.sink, 1);

      const platform = buildLogPlatform({
        kafkaBootstrap: k.bootstrap, stateBase: `file://${work}/state`, archiveBase: `file://${work}/archive`, namespace: NS,
        elasticsearch: 'http://127.0.0.1:9', imageRegistry: 'localhost/cdk8s-flink-test',
        monitoring: { scrape: ScrapeMode.ANNOTATIONS, targetDownFor: Duration.seconds(10), taskManagersMissingFor: Duration.seconds(10) },
      });
      const u = platform.unit(c.job)!;
      const app = u.construct as FlinkApplication;
      const monitoring = u.chart.node.findChild('Monitoring') as FlinkMonitoring;
      const unit = synthesizeUnit(u);

      // --- Flink, as in the boot test (addresses and ports changed through -D only)
      const f = run.keep(await startScrapedFlink(unit.objects, c.job, work, home));
      const targets = f.targets;

      const producer = k.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic: c.source, messages: Array.from({ length: 60 }, (_, i) => ({ value: JSON.stringify(record(c.job, i)) })) });
      await producer.disconnect();

      // --- Prometheus with the generated scrape config (static targets in place of the pod role) and rule file
      const p = await startPrometheus({ dir: path.join(work, 'prometheus'), objects: unit.objects, name: c.job, namespace: NS, targets, abortIf: f.died });
      run.keep(p, () => `---- prometheus ----\n${p.proc.logs().slice(-3000)}`);
      const died = () => f.died() || (p.proc.exitCode() !== undefined ? `prometheus exited: ${p.proc.logs().slice(-2000)}` : undefined);
      const query = (expr: string) => p.query(expr);

      // --- the job runs, every process is scraped with the relabeled target labels
      const jobId = f.jobId!;
      await waitFor(async () => {
        const o = await restGet<{ jobs: Array<{ jid: string; state: string }> }>(`${f.rest}/jobs/overview`);
        return o.jobs.some((j) => j.jid === jobId && j.state === 'RUNNING');
      }, { timeoutMs: 180_000, intervalMs: 1000, what: `job ${jobId} RUNNING`, abortIf: died });
      const cl = `namespace="${NS}",flink_cluster="${c.job}"`;
      const ups = await waitFor(async () => {
        const r = await query(`up{${cl}} == 1`);
        return r.length === targets.length ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000, what: `${targets.length} targets up`, abortIf: died });
      assert.deepEqual(ups.map((x) => [x.metric.pod, x.metric.component]).sort(), targets.map((x) => [x.pod, x.component]).sort());
      t.diagnostic(`job running and ${targets.length} targets up after ${Date.now() - t0} ms`);

      // --- every catalog metric the version exports (GC by collector name depends on the JVM's choice)
      const expected = allMetrics().filter((m) => metricAvailable(m.name, app.version) && !/_G1_/.test(m.name));
      const missing = await waitFor(async () => {
        const absent: string[] = [];
        for (const m of expected) if ((await query(`count(${m.name}{${cl}})`)).length === 0) absent.push(m.name);
        return absent.length === 0 ? absent : undefined;
      }, { timeoutMs: 120_000, intervalMs: 3000, what: 'every catalog metric scraped', abortIf: died }).catch(async (e) => {
        const absent: string[] = [];
        for (const m of expected) if ((await query(`count(${m.name}{${cl}})`)).length === 0) absent.push(m.name);
        throw new Error(`${(e as Error).message}; missing: ${absent.join(', ')}`);
      });
      assert.deepEqual(missing, []);
      const collectors = (await query(`count by (__name__) ({__name__=~"flink_taskmanager_Status_JVM_GarbageCollector_.*_Time",${cl}})`)).map((x) => x.metric.__name__);
      t.diagnostic(`all ${expected.length} catalog metrics present; GC collectors: ${collectors.join(', ')}`);

      // the labels the rules group and match by, with the values Flink writes
      const restarts = await query(`${FlinkMetric.JOB_NUM_RESTARTS}{${cl}}`);
      assert.equal(restarts.length, 1);
      assert.equal(restarts[0].metric.job_name, c.job.replace(/-/g, '_'), `job "${c.job}" is exported as job_name="${c.job.replace(/-/g, '_')}"`);
      assert.equal(restarts[0].metric.component, 'jobmanager');
      const lag = await query(`${FlinkMetric.OPERATOR_PENDING_RECORDS}{${cl}}`);
      assert.ok(lag.length >= 1 && lag.every((x) => x.metric.operator_name && x.metric.task_name && x.metric.component === 'taskmanager' && x.metric.job_name), JSON.stringify(lag[0]?.metric));
      t.diagnostic(`pendingRecords on ${[...new Set(lag.map((x) => x.metric.operator_name))].join(', ')}`);

      // --- every rule evaluates without error on the real series (label matching of /, or, and on)
      await new Promise((r) => setTimeout(r, 5000));
      const all = await p.rules();
      assert.equal(all.length, monitoring.ruleFile().groups[0].rules.length);
      assert.deepEqual(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);

      // --- every query of the platform dashboard returns data with this cluster picked, and its
      // variables list this namespace, cluster and job
      const board = platform.dashboardUnit!.construct.dashboard;
      const choice = { namespace: NS, cluster: c.job };
      const empty: string[] = [];
      for (const q of panelQueries(board, choice)) {
        if ((await query(q.expr)).length === 0) empty.push(`${q.panel} [${q.refId}]: ${q.expr}`);
      }
      // A job without event-time watermarks has none to lag (the reporter's value is Long.MIN_VALUE);
      // Flink before 2.2 exports no checkpoint completion time.
      const wm = (await query(`max(${FlinkMetric.OPERATOR_CURRENT_OUTPUT_WATERMARK}{${cl}})`))[0]?.value[1];
      const allowed = [...(Number(wm) > 0 ? [] : ['Watermark lag per task']), ...(app.version.atLeast(2, 2) ? [] : ['Last checkpoint age'])];
      assert.deepEqual(empty.filter((e) => !allowed.some((a) => e.startsWith(a))), [], 'dashboard queries without data');
      const listed: Record<string, string[]> = {};
      for (const v of variableQueries(board, choice)) listed[v.name] = (await query(v.expr)).map((x) => x.metric[v.label]);
      assert.ok(listed.namespace.includes(NS), `namespace lists ${NS}: ${listed.namespace}`);
      assert.deepEqual(listed.cluster, [c.job], 'cluster lists the scraped cluster');
      assert.deepEqual(listed.job, [flinkLabelValue(c.job)], 'job lists its job as the reporter names it');
      t.diagnostic(`platform dashboard: ${board.panels.length} panels queried; variables ${JSON.stringify(listed)}; watermark ${wm}`);

      // --- healthy: nothing fires
      const firing = async () => (await query(`ALERTS{alertstate="firing",${cl}}`)).map((x) => x.metric.alertname);
      assert.deepEqual(await firing(), []);

      // --- a TaskManager dies: its target goes down, the JobManager loses it, the job restarts
      await f.killTaskManager(0);
      const fired = await waitFor(async () => {
        const fa = await firing();
        return [FlinkAlert.TARGET_DOWN, FlinkAlert.TASK_MANAGERS_MISSING, FlinkAlert.JOB_RESTARTING].every((a) => fa.includes(a)) ? fa : undefined;
      }, { timeoutMs: 150_000, intervalMs: 2000, what: 'target-down, TaskManagers-missing and restarting alerts', abortIf: died });
      const down = (await query(`ALERTS{alertname="${FlinkAlert.TARGET_DOWN}",alertstate="firing",${cl}}`))[0].metric;
      assert.equal(down.pod, targets[1].pod);
      assert.equal(down.component, 'taskmanager');
      t.diagnostic(`after killing ${targets[1].pod}: ${[...new Set(fired)].sort().join(', ')} (${Date.now() - t0} ms)`);
    });
  });
}
