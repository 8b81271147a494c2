/**
 * The alerts fire on real Flink (1.20.5 and 2.2.1), scraped by a real Prometheus through the
 * generated annotation-mode scrape config and evaluating the generated rule file (see
 * ./support/e2e-prometheus.ts), when the harness creates their conditions:
 *
 * 1. pressure: producers write to Kafka faster than the job can process. The job (JobSource.sql)
 *    reads the topic, counts per key and computes a costly digest of each count at parallelism
 *    1: the keyed step is the bottleneck (FlinkTaskBusy), the Kafka source waits on it
 *    (FlinkTaskBackPressured) and the consumer lag grows (FlinkKafkaLagGrowing). Checkpoints
 *    (unaligned) keep completing meanwhile.
 * 2. checkpoints: the job's checkpoint directory becomes a file, so every checkpoint fails
 *    (FlinkCheckpointsFailing) and none completes (FlinkCheckpointStale); the job keeps
 *    running (tolerableCheckpointFailures). Before that, the only failed checkpoints are the
 *    triggers refused while the tasks were still deploying ("Not all required tasks are
 *    currently running" in the JobManager log), which Flink counts as failed: the directory
 *    breaks once they have left the alert's window.
 * 3. a TaskManager is killed (FlinkJobRestarting, FlinkMetricsTargetDown, FlinkTaskManagersMissing).
 * 4. the job is cancelled (FlinkJobNotRunning).
 * 5. the pods are gone: Prometheus' targets are removed, as service discovery would
 *    (FlinkMetricsAbsent).
 *
 * The `for:` durations and windows are the platform's `monitoring` props. Every query of the
 * platform dashboard (the cluster picked by its variables)
 * is evaluated during the pressure phase, every metric selector of every alert expression is
 * checked for data, and the report section `observability/flink-<version>` lists, per alert and
 * per query, whether it returned data, when each induced alert went pending and firing, and,
 * for what did not, the condition the run does not create.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Partitioners, Producer } from 'kafkajs';
import { FlinkAlert, FlinkMonitoring, FlinkPlatform, FlinkVersion, JobSource, ScrapeMode } from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { PrometheusServer, startPrometheus, startScrapedFlink } from '../support/e2e-prometheus';
import { recordE2E } from '../support/e2e-report';
import { restGet, waitFor } from '../support/flink-proc';
import { panelQueries } from '../support/dashboard-queries';
import { live, sharedKafka } from '../support/live';

const kafka = sharedKafka();

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
] as const;

const NS = 'obs';
/** Records per second the producers write: well above what the job's keyed step can process. */
const PRODUCE_PER_SECOND = 2000;
/**
 * The digest's cost: the count repeated this many times, then searched with a regular expression.
 * At 3000 an idle machine kept up with the producers, and back pressure never came.
 */
const DIGEST_REPEAT = 10000;

/** The monitoring props a user sets: short `for:` durations and windows so a test run sees them fire. */
const MONITORING = {
  scrape: ScrapeMode.ANNOTATIONS,
  backPressureFor: Duration.seconds(20),
  busyFor: Duration.seconds(20),
  kafkaLagThreshold: 1000,
  kafkaLagWindow: Duration.seconds(30),
  kafkaLagFor: Duration.seconds(20),
  checkpointFailureWindow: Duration.seconds(30),
  checkpointMaxAge: Duration.seconds(30),
  restartWindow: Duration.minutes(2),
  targetDownFor: Duration.seconds(10),
  taskManagersMissingFor: Duration.seconds(10),
  jobNotRunningFor: Duration.seconds(10),
  metricsAbsentFor: Duration.seconds(10),
};

/** Why an alert the run does not induce stays silent (the condition it needs). */
const NOT_INDUCED: Partial<Record<FlinkAlert, string>> = {
  [FlinkAlert.JOB_MANAGER_HEAP]: 'needs JobManager heap used / max above heapFraction (90%) for heapFor (15m): the run creates no memory pressure',
  [FlinkAlert.TASK_MANAGER_HEAP]: 'needs TaskManager heap used / max above heapFraction (90%) for heapFor (15m): the run creates no memory pressure',
  [FlinkAlert.GC_TIME]: 'needs more than gcTimeFraction (10%) of wall time in garbage collection for gcFor (10m): the run creates no memory pressure',
};

function sql(topic: string, bootstrap: string, group: string): string {
  return `
CREATE TABLE events (
  id BIGINT,
  k INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group}',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE digests (
  k INT,
  n BIGINT,
  digest STRING
) WITH ('connector' = 'blackhole');

-- the costly step runs after the keyed exchange, in the aggregation's task
INSERT INTO digests
SELECT k, n, REGEXP_REPLACE(REPEAT(CONCAT(CAST(n AS STRING), 'ab'), ${DIGEST_REPEAT}), '(ab|ba)+[0-9]', 'x')
FROM (SELECT k, COUNT(*) AS n FROM events GROUP BY k);
`;
}

/** Writes PRODUCE_PER_SECOND records per second until stopped. */
function startProducing(producer: Producer, topic: string): { stop(): Promise<number>; errors: () => string[] } {
  let running = true;
  let sent = 0;
  const errors: string[] = [];
  const batch = PRODUCE_PER_SECOND / 4;
  const loop = (async () => {
    while (running) {
      const t = Date.now();
      const ts = new Date().toISOString().slice(0, 23);
      await producer.send({ topic, messages: Array.from({ length: batch }, (_, i) => ({ value: JSON.stringify({ id: sent + i, k: (sent + i) % 100, ts }) })) })
        .then(() => { sent += batch; }, (e) => { errors.push(String(e)); });
      await new Promise((r) => setTimeout(r, Math.max(0, 250 - (Date.now() - t))));
    }
  })();
  return { async stop() { running = false; await loop; return sent; }, errors: () => errors };
}

/** Every observation of a pending or firing alert of the cluster (ms since the test's t0). */
interface Observation { alert: string; state: 'pending' | 'firing'; at: number; labels: Record<string, string> }

function watchAlerts(prom: PrometheusServer, t0: number, cluster: string): { seen: Observation[]; poll(): Promise<Observation[]>; stop(): Promise<void> } {
  const seen: Observation[] = [];
  let running = true;
  /** The cluster's pending and firing alerts now, recorded. */
  const poll = async () => {
    const alerts = await prom.alerts();
    const now = Date.now() - t0;
    const mine = alerts.filter((a) => a.labels.flink_cluster === cluster).map((a) => ({ alert: a.labels.alertname, state: a.state, at: now, labels: a.labels }));
    seen.push(...mine);
    return mine;
  };
  const loop = (async () => {
    while (running) {
      await poll().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return { seen, poll, async stop() { running = false; await loop; } };
}

/** The first observation of an alert at or after `from` (in any state, or firing). */
function first(seen: Observation[], alert: string, from: number, state?: 'firing'): Observation | undefined {
  return seen.find((o) => o.alert === alert && o.at >= from && (!state || o.state === state));
}

/** Seconds of a Prometheus duration (`1h30m`, `20s`). */
function seconds(d: string): number {
  const unit: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...d.matchAll(/(\d+)(ms|d|h|m|s)/g)].reduce((acc, [, n, u]) => acc + Number(n) * unit[u], 0);
}

/** The metric selectors of a PromQL expression (`flink_...{...}`, `up{...}`). */
function selectors(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:flink_[A-Za-z0-9_]+|up)\{[^}]*\}/g) ?? [])];
}

for (const c of CASES) {
  test(`live alerts on Flink ${c.dist}: back-pressure, busy task and Kafka lag, then failing and stale checkpoints, a lost TaskManager, a cancelled job and vanished targets fire their alerts in Prometheus`, { timeout: 9 * 60_000 }, async (t) => {
    const name = `pressure-${c.line.replace('.', '-')}`;
    const topic = `pressure.${c.line}`;
    const t0 = Date.now();
    const at = () => Date.now() - t0;
    const marks: Record<string, number> = {};
    await live(t, `alerts-${name}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const k = await kafka();
      await k.createTopic(topic, 1);

      const platform = new FlinkPlatform({ namespace: NS, storageBaseDirectory: `file://${work}/state`, monitoring: MONITORING });
      platform.addApplication(name, {
        flinkVersion: c.version,
        image: `flink:${c.dist}-java17`,
        job: JobSource.sql(sql(topic, k.bootstrap, `flink-${name}`)),
        parallelism: 1,
        checkpointInterval: Duration.seconds(5),
        checkpointTimeout: Duration.seconds(60),
        unalignedCheckpoints: true,
        tolerableCheckpointFailures: 1000,
      });
      const u = platform.unit(name)!;
      const monitoring = u.chart.node.findChild('Monitoring') as FlinkMonitoring;
      const unit = synthesizeUnit(u);
      const rules = monitoring.ruleFile().groups[0].rules;

      const producer = k.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const production = startProducing(producer, topic);
      run.keep({ stop: async () => { await production.stop(); await producer.disconnect().catch(() => undefined); } });

      const f = run.keep(await startScrapedFlink(unit.objects, name, work, home));
      const p: PrometheusServer = run.keep(await startPrometheus({ dir: path.join(work, 'prometheus'), objects: unit.objects, name, namespace: NS, targets: f.targets, abortIf: f.died }),
        () => `---- prometheus ----\n${p.proc.logs().slice(-3000)}`);
      const died = () => f.died() || (p.proc.exitCode() !== undefined ? `prometheus exited: ${p.proc.logs().slice(-2000)}` : undefined);
      const watcher = run.keep(watchAlerts(p, t0, name), () => '');
      const seen = watcher.seen;
      const w = watcher;
      const firingNow = async () => new Set((await w.poll()).filter((a) => a.state === 'firing').map((a) => a.alert));
      const waitFiring = (alerts: FlinkAlert[], timeoutMs: number, what: string) => waitFor(async () => {
        const now = await firingNow();
        return alerts.every((a) => now.has(a)) ? now : undefined;
      }, { timeoutMs, intervalMs: 1000, what: `${what}: ${alerts.join(', ')} firing`, abortIf: died });

      // --- the job runs and every process is scraped
      const jobId = f.jobId!;
      await waitFor(async () => {
        const o = await restGet<{ jobs: Array<{ jid: string; state: string }> }>(`${f.rest}/jobs/overview`);
        return o.jobs.some((j) => j.jid === jobId && j.state === 'RUNNING');
      }, { timeoutMs: 180_000, intervalMs: 1000, what: `job ${jobId} RUNNING`, abortIf: died });
      marks.running = at();
      const cl = `namespace="${NS}",flink_cluster="${name}"`;
      await waitFor(async () => (await p.query(`up{${cl}} == 1`)).length === f.targets.length, { timeoutMs: 60_000, intervalMs: 1000, what: `${f.targets.length} targets up`, abortIf: died });
      // every TaskManager registered: a job of parallelism p can run before the last one has
      // (FlinkTaskManagersMissing may fire while one is still starting, which is not the loss induced below)
      const taskManagers = f.targets.filter((x) => x.component === 'taskmanager').length;
      await waitFor(async () => (await restGet<{ taskmanagers: unknown[] }>(`${f.rest}/taskmanagers`)).taskmanagers.length === taskManagers,
        { timeoutMs: 120_000, intervalMs: 1000, what: `${taskManagers} TaskManagers registered`, abortIf: died });
      marks.allRegistered = at();
      t.diagnostic(`job running after ${marks.running} ms, ${f.targets.length} targets up, ${taskManagers} TaskManagers registered after ${marks.allRegistered} ms`);

      // the configured for: durations are the ones Prometheus evaluates
      const loaded = await p.rules();
      assert.deepEqual(loaded.map((r) => r.name).sort(), rules.map((r) => r.alert).sort());
      const duration = (a: string) => (loaded.find((r) => r.name === a) as any)?.duration;
      for (const r of rules) assert.equal(duration(r.alert), seconds(r.for ?? '0s'), `${r.alert}: for ${r.for}`);
      assert.equal(duration(FlinkAlert.BACK_PRESSURE), 20);
      assert.equal(duration(FlinkAlert.TASK_BUSY), 20);
      assert.equal(duration(FlinkAlert.KAFKA_LAG_GROWING), 20);

      // --- 1. pressure: the keyed step is the bottleneck, the source waits, the lag grows
      const pressure = await waitFiring([FlinkAlert.BACK_PRESSURE, FlinkAlert.TASK_BUSY, FlinkAlert.KAFKA_LAG_GROWING], 240_000, 'pressure');
      marks.pressureFiring = at();
      const labelsOf = async (a: FlinkAlert) => (await p.alerts()).filter((x) => x.labels.alertname === a && x.state === 'firing').map((x) => x.labels);
      const bp = await labelsOf(FlinkAlert.BACK_PRESSURE);
      const busy = await labelsOf(FlinkAlert.TASK_BUSY);
      const lag = await labelsOf(FlinkAlert.KAFKA_LAG_GROWING);
      const jobLabel = name.replace(/-/g, '_');
      assert.ok(bp.length >= 1 && bp.every((l) => /Source/.test(l.task_name) && l.job_name === jobLabel), `back-pressured task: ${JSON.stringify(bp)}`);
      assert.ok(busy.some((l) => /GroupAggregate/.test(l.task_name) && l.job_name === jobLabel), `busy task: ${JSON.stringify(busy)}`);
      assert.ok(lag.every((l) => /events/.test(l.operator_name)), `lagging source: ${JSON.stringify(lag)}`);
      t.diagnostic(`pressure alerts firing at ${marks.pressureFiring} ms: ${[...pressure].sort().join(', ')}; back-pressured: ${bp.map((l) => l.task_name).join(', ')}; busy: ${busy.map((l) => l.task_name).join(', ')}`);

      // checkpoints complete under back-pressure (unaligned). The only failed ones are triggers the
      // coordinator refused while the tasks were still deploying: Flink counts those as failed
      // checkpoints too, so FlinkCheckpointsFailing may fire at a start, until they leave its window.
      const cps = async () => restGet<{ counts: { completed: number; failed: number } }>(`${f.rest}/jobs/${jobId}/checkpoints`);
      const before = await cps();
      assert.ok(before.counts.completed >= 1, `checkpoints completed under back-pressure: ${JSON.stringify(before.counts)}`);
      const refusedAtStart = (f.procs[0].logFile().match(/Failed to trigger checkpoint for job \S+ since .*Not all required tasks are currently running/g) ?? []).length;
      assert.equal(before.counts.failed, refusedAtStart, `failed checkpoints before the directory broke (${JSON.stringify(before.counts)}) are the refused triggers at start (${refusedAtStart})`);
      for (const a of [FlinkAlert.CHECKPOINT_STALE, FlinkAlert.JOB_RESTARTING]) assert.equal(first(seen, a, 0), undefined, `${a} before its condition`);

      // every rule evaluates without error; every metric selector of every alert has data
      const unhealthy = (await p.rules()).filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
      assert.deepEqual(unhealthy, []);
      const selectorData: Record<string, Record<string, boolean>> = {};
      for (const r of rules) {
        selectorData[r.alert] = {};
        for (const s of selectors(r.expr)) selectorData[r.alert][s] = (await p.query(`count(${s})`)).length > 0;
      }
      const emptySelectors = Object.entries(selectorData).flatMap(([a, m]) => Object.entries(m).filter(([, v]) => !v).map(([s]) => `${a}: ${s}`));
      assert.deepEqual(emptySelectors, [], 'alert selectors without data');

      // every query of the platform dashboard, this cluster picked by its variables
      const dashboard: Array<{ panel: string; refId: string; expr: string; series: number; max?: number }> = [];
      for (const q of panelQueries(platform.dashboardUnit!.construct.dashboard, { namespace: NS, cluster: name })) {
        const r = await p.query(q.expr);
        dashboard.push({ ...q, series: r.length, ...(r.length ? { max: Math.max(...r.map((x) => Number(x.value[1]))) } : {}) });
      }
      const emptyPanels = dashboard.filter((d) => d.series === 0).map((d) => `${d.panel} [${d.refId}]`);
      // Flink before 2.2 exports no checkpoint completion time: that panel is for newer clusters.
      assert.deepEqual(emptyPanels, c.version.atLeast(2, 2) ? [] : ['Last checkpoint age [A]'], 'dashboard queries without data');
      t.diagnostic(`all ${dashboard.length} dashboard queries and the selectors of ${rules.length} rules return data`);

      // --- 2. checkpoints: once the start's refused triggers have left the window, the job's checkpoint directory becomes a file
      await waitFor(async () => !(await p.alerts()).some((a) => a.labels.alertname === FlinkAlert.CHECKPOINTS_FAILING && a.labels.flink_cluster === name),
        { timeoutMs: 90_000, intervalMs: 1000, what: `${FlinkAlert.CHECKPOINTS_FAILING} inactive before the directory breaks`, abortIf: died });
      marks.checkpointsQuiet = at();
      const failedBeforeBreaking = (await cps()).counts.failed;
      assert.equal(failedBeforeBreaking, refusedAtStart, 'no checkpoint failed under back-pressure');
      const cpBase = /execution\.checkpointing\.dir: file:\/\/(\S+)/.exec(fs.readFileSync(path.join(f.local.confDir, f.local.configFile), 'utf8'))?.[1];
      assert.ok(cpBase, 'checkpoint directory in the generated config');
      const jobDir = path.join(cpBase, jobId);
      assert.ok(fs.statSync(jobDir).isDirectory(), jobDir);
      fs.renameSync(jobDir, `${jobDir}.moved`);
      fs.writeFileSync(jobDir, 'not a directory\n');
      marks.checkpointsBroken = at();
      await waitFiring([FlinkAlert.CHECKPOINTS_FAILING, FlinkAlert.CHECKPOINT_STALE], 150_000, 'checkpoints');
      marks.checkpointsFiring = at();
      const after = await cps();
      assert.ok(after.counts.failed >= 1, JSON.stringify(after.counts));
      const restartsSoFar = await p.query(`flink_jobmanager_job_numRestarts{${cl}}`);
      assert.equal(restartsSoFar[0]?.value[1], '0', 'the job tolerates the failed checkpoints without restarting');
      t.diagnostic(`checkpoints failing (${after.counts.failed} failed, ${after.counts.completed} completed): alerts firing ${marks.checkpointsFiring - marks.checkpointsBroken} ms after the directory broke`);

      // --- 3. a TaskManager is lost
      await f.killTaskManager(0);
      marks.taskManagerKilled = at();
      await waitFiring([FlinkAlert.JOB_RESTARTING, FlinkAlert.TARGET_DOWN, FlinkAlert.TASK_MANAGERS_MISSING], 150_000, 'TaskManager lost');
      marks.taskManagerFiring = at();

      // --- 4. the job is cancelled
      const cancel = await fetch(`${f.rest}/jobs/${jobId}?mode=cancel`, { method: 'PATCH' });
      assert.ok(cancel.ok, `cancel: HTTP ${cancel.status}`);
      marks.jobCancelled = at();
      await waitFiring([FlinkAlert.JOB_NOT_RUNNING], 120_000, 'job cancelled');
      marks.jobNotRunningFiring = at();

      // --- 5. the pods are gone: no target is left
      await p.setTargets([]);
      marks.targetsRemoved = at();
      await waitFiring([FlinkAlert.METRICS_ABSENT], 90_000, 'targets gone');
      marks.metricsAbsentFiring = at();
      await watcher.stop();
      const sent = await production.stop();

      // --- the report
      // [what induced it, when, since when it must have been silent]
      const induced: Record<string, [string, number, number?]> = {
        [FlinkAlert.BACK_PRESSURE]: ['pressure', marks.running], [FlinkAlert.TASK_BUSY]: ['pressure', marks.running],
        [FlinkAlert.KAFKA_LAG_GROWING]: ['pressure', marks.running],
        [FlinkAlert.CHECKPOINTS_FAILING]: ['checkpoint directory replaced by a file', marks.checkpointsBroken, marks.checkpointsQuiet],
        [FlinkAlert.CHECKPOINT_STALE]: ['checkpoint directory replaced by a file', marks.checkpointsBroken],
        [FlinkAlert.JOB_RESTARTING]: ['TaskManager killed', marks.taskManagerKilled], [FlinkAlert.TARGET_DOWN]: ['TaskManager killed', marks.taskManagerKilled],
        [FlinkAlert.TASK_MANAGERS_MISSING]: ['TaskManager killed', marks.taskManagerKilled, marks.allRegistered + 5000],
        [FlinkAlert.JOB_NOT_RUNNING]: ['job cancelled', marks.jobCancelled], [FlinkAlert.METRICS_ABSENT]: ['scrape targets removed', marks.targetsRemoved],
      };
      const alerts = rules.map((r) => {
        const i = induced[r.alert];
        const pending = first(seen, r.alert, i ? i[1] : 0);
        const firing = first(seen, r.alert, i ? i[1] : 0, 'firing');
        // firing between the job's start (plus two evaluations to resolve) and the induction would not be caused by it
        const quietFrom = i?.[2] ?? marks.running + 5000;
        const before = i ? seen.filter((o) => o.alert === r.alert && o.at >= quietFrom && o.at < i[1]) : [];
        const startup = seen.filter((o) => o.alert === r.alert && o.at < quietFrom);
        return {
          alert: r.alert,
          expr: r.expr,
          for: r.for ?? '0s',
          selectorsWithData: selectorData[r.alert],
          returnedData: seen.some((o) => o.alert === r.alert),
          fired: firing !== undefined,
          ...(i ? {
            inducedBy: i[0], msToPending: pending ? pending.at - i[1] : null, msToFiring: firing ? firing.at - i[1] : null,
            firingBeforeInduced: before.some((o) => o.state === 'firing'),
            firingWhileStarting: startup.some((o) => o.state === 'firing'),
          } : {}),
          ...(firing ? { labels: Object.fromEntries(Object.entries(firing.labels).filter(([kk]) => /^(task_name|operator_name|pod|job_name)$/.test(kk))) } : {}),
          ...(!i ? { reason: NOT_INDUCED[r.alert as FlinkAlert] ?? 'not induced by this run' } : {}),
        };
      });
      for (const a of alerts) t.diagnostic(`${a.alert}: ${a.fired ? `firing ${a.msToFiring} ms after ${a.inducedBy} (pending after ${a.msToPending} ms, for ${a.for})` : a.reason}`);
      for (const a of alerts) {
        if (induced[a.alert]) {
          assert.ok(a.fired, `${a.alert} fired (${a.inducedBy})`);
          if (a.firingBeforeInduced) {
            // what the alert and the JobManager did until then, for the failure to explain itself
            const observed = seen.filter((o) => o.alert === a.alert).slice(0, 12).map((o) => `${o.state}@${o.at}`).join(' ');
            const jm = f.procs[0].logFile().split('\n').filter((l) => /TaskManager|TaskExecutor|heartbeat|disconnect|switched from/i.test(l)).slice(-15).map((l) => l.slice(0, 240)).join('\n');
            assert.fail(`${a.alert} fired while the job ran, before ${a.inducedBy}; observed (ms since start): ${observed}; marks: ${JSON.stringify(marks)}; the JobManager's log:\n${jm}`);
          }
        }
      }
      // every alert of the rule file is either induced here or has its reason
      assert.deepEqual(alerts.filter((a) => !induced[a.alert] && !NOT_INDUCED[a.alert as FlinkAlert]).map((a) => a.alert), []);
      const notInRules = Object.values(FlinkAlert).filter((a) => !rules.some((r) => r.alert === a))
        .map((a) => ({ alert: a, reason: a === FlinkAlert.NO_FREE_SLOTS ? 'session clusters only: an application cluster uses all its slots by design' : 'not generated for this cluster' }));
      const file = recordE2E(`observability/flink-${c.dist}`, {
        flink: c.dist,
        cluster: name,
        job: 'Kafka (1 partition) -> COUNT(*) per key -> REGEXP_REPLACE digest -> blackhole, parallelism 1, unaligned checkpoints every 5s',
        produced: { perSecond: PRODUCE_PER_SECOND, records: sent, errors: production.errors().length },
        monitoring: Object.fromEntries(Object.entries(MONITORING).map(([kk, v]) => [kk, v instanceof Duration ? v.toHumanString() : v])),
        msSinceStart: marks,
        alerts,
        alertsNotInRuleFile: notInRules,
        dashboard,
        checkpoints: {
          underPressure: before.counts, failedBeforeBreaking, afterBreaking: after.counts,
          refusedTriggersAtStart: refusedAtStart,
          note: 'a trigger refused because not all tasks run yet (right after a start) counts as a failed checkpoint in Flink; it raises FlinkCheckpointsFailing for checkpointFailureWindow',
        },
        totalMs: at(),
      });
      t.diagnostic(`report: ${file}`);
      t.diagnostic(`total ${at()} ms`);
    });
  });
}
