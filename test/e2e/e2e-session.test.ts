/**
 * Session mode end to end, on real Flink 1.20.5 and 2.2.1: a FlinkSessionCluster shaped like
 * examples/platform.ts's shared-logs (without Kubernetes HA, which needs an API server) and its
 * two session jobs, error-logs and slow-requests, both sinking to Kafka so records can be
 * counted.
 *
 * The cluster's synthesized JobManager and TaskManagers run with runCluster(); each job is
 * submitted the way its chart's submitter Job does it: the `<job>-job` ConfigMap's files where
 * the Job mounts them, the Job's container args, `node lib/ops/main.js submit ...`. Only the
 * REST URL in job.json (a Service name there, a local port here) and the SQL runner jar's path
 * (CDK8S_FLINK_SQL_RUNNER_JAR; /opt/cdk8s-flink/... in the operations image) are mapped.
 *
 * Proven: the job-level flinkConfiguration of the spec (sent as JarRunRequestBody
 * `flinkConfiguration`) reaches the job on both versions; changing one job (error-logs,
 * parallelism 1 -> 2) and running its new submitter upgrades it with a savepoint (stopped with a
 * savepoint, resubmitted restoring it, no record lost or repeated) while the other job keeps
 * running untouched: same job id, RUNNING at every poll of /jobs/<id>, no restart, its tasks
 * never redeployed, its records flowing throughout. Running the new submitter again changes
 * nothing; running the first revision's submitter again (a rollback) stops the upgraded run with
 * a savepoint and restores it into a new run at the old parallelism.
 *
 * Then `helm uninstall` as far as it reaches Flink: the pre-delete hook of the error-logs chart
 * (Job error-logs-stop), its container args as `helm template` renders them (the REST URL mapped
 * as above), stops the job with a savepoint into the cluster's savepoint directory and prints
 * the path (the savepoint exists, Flink records it, the run is FINISHED); running it again is a
 * success that changes nothing; slow-requests stays RUNNING untouched meanwhile. The
 * slow-requests chart's hook rendered with uninstall.stop=cancel cancels it without a savepoint.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Consumer, Partitioners } from 'kafkajs';
import * as YAML from 'yaml';
import { DeliveryGuarantee, FieldType, FlinkPlatform, FlinkVersion, JobSource, LogPipeline, Sink } from '../../lib';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { recordE2E } from '../support/e2e-report';
import { helm, writeChart } from '../support/helm-chart';
import { ensureHelm } from '../support/tools';
import { restGet, waitFor } from '../support/flink-proc';
import { latestSavepoint } from '../support/flink-rest';
import { finished, jobEnds } from '../support/e2e-upgrade';
import { startKafka } from '../support/kafka';
import { live } from '../support/live';
import { runCluster } from '../support/local-flink';
import { allRunning, maxParallelism, runOps, runSubmitter } from '../support/session-submit';

const APP_LOG = { id: FieldType.STRING, ts: FieldType.TIMESTAMP, service: FieldType.STRING, level: FieldType.STRING, message: FieldType.STRING };
const ACCESS_LOG = {
  ts: FieldType.TIMESTAMP, service: FieldType.STRING, host: FieldType.STRING, method: FieldType.STRING, path: FieldType.STRING,
  status: FieldType.INT, bytes: FieldType.BIGINT, latency_ms: FieldType.DOUBLE,
};
/** Job-level configuration each job sends with its submission; the cluster's own values differ. */
const JOB_CONFIG = { 'execution.checkpointing.interval': '5s', 'execution.checkpointing.min-pause': '1s', 'pipeline.object-reuse': true };

/** shared-logs and its jobs as examples/platform.ts declares them, with Kafka sinks and no HA. */
function platform(kafka: string, work: string, version: FlinkVersion, errorLogsParallelism: number): FlinkPlatform {
  const p = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform', storageBaseDirectory: `file://${work}/state` });
  const shared = p.addSessionCluster('shared-logs', {
    flinkVersion: version,
    image: `flink:${version}-java17`,
    taskManagerReplicas: 2,
    taskManagerSlots: 2,
  });
  p.addSessionJob('error-logs', {
    cluster: shared,
    opsImage: 'cdk8s-flink-ops:0.1.0',
    parallelism: errorLogsParallelism,
    flinkConfiguration: JOB_CONFIG,
    job: JobSource.pipeline(new LogPipeline({
      source: { bootstrapServers: kafka, topic: 'logs.app', groupId: 'flink-error-logs', fields: APP_LOG },
      filters: ["level IN ('ERROR', 'FATAL')"],
      sinks: [Sink.kafka({ bootstrapServers: kafka, topic: 'logs.errors', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
    })),
  });
  p.addSessionJob('slow-requests', {
    cluster: shared,
    opsImage: 'cdk8s-flink-ops:0.1.0',
    parallelism: 2,
    flinkConfiguration: JOB_CONFIG,
    job: JobSource.pipeline(new LogPipeline({
      source: { bootstrapServers: kafka, topic: 'logs.access', groupId: 'flink-slow-requests', fields: ACCESS_LOG },
      filters: ['latency_ms > 1000'],
      sinks: [Sink.kafka({ bootstrapServers: kafka, topic: 'logs.slow-requests', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
    })),
  });
  return p;
}

/**
 * The args of a session job chart's pre-delete hook (Job <release>-stop) as `helm template`
 * renders them with the given values, the REST URL (a Service name on Kubernetes) mapped to the
 * local cluster's.
 */
function stopHookArgs(helmBin: string, p: FlinkPlatform, name: string, rest: string, work: string, set: string[] = []): string[] {
  const r = helm(helmBin, ['template', name, writeChart(synthesizeUnit(p.unit(name)!), fs.mkdtempSync(path.join(work, 'chart-'))), '--namespace', 'logs', ...set.flatMap((x) => ['--set', x])]);
  assert.equal(r.code, 0, r.stderr);
  const hook = YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON()).find((o) => o?.kind === 'Job' && o.metadata.name === `${name}-stop`);
  assert.equal(hook?.metadata.annotations['helm.sh/hook'], 'pre-delete', `${name}-stop is the chart's pre-delete hook`);
  const args = hook.spec.template.spec.containers[0].args as string[];
  const at = args.indexOf('--rest-url') + 1;
  return args.map((a, i) => (i === at ? rest : a));
}

/** Polls /jobs/<id> every 250 ms while `on()`, recording each state. */
async function poll(rest: string, jid: string, polls: string[], on: () => boolean): Promise<void> {
  while (on()) {
    const d = await restGet<any>(`${rest}/jobs/${jid}`).catch((e) => ({ state: `unreachable: ${e.message}` }));
    polls.push(d.state);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface JobOverview { jid: string; name: string; state: string; 'start-time': number }
const jobsNamed = async (rest: string, name: string) => (await restGet<{ jobs: JobOverview[] }>(`${rest}/jobs/overview`)).jobs.filter((j) => j.name === name);

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20 },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2 },
];

for (const c of CASES) {
  test(`session mode on Flink ${c.dist}: two jobs submitted as the chart does; one upgraded with a savepoint while the other runs untouched`, { timeout: 9 * 60_000 }, async (t) => {
    await live(t, `session-${c.line}`, async (run) => {
      const work = run.work;
      const home = await run.flinkHome(c.dist, c.line);
      const kafka = run.keep(await startKafka(), () => '');
      const consumers: Consumer[] = [];
      let pump: NodeJS.Timeout | undefined;
      let watching = false;
      let watcher: Promise<void> | undefined;
      run.keep({
        async stop() {
          watching = false;
          await watcher;
          if (pump) clearInterval(pump);
          for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
        },
      });
      for (const [topic, parts] of [['logs.app', 2], ['logs.access', 2], ['logs.errors', 1], ['logs.slow-requests', 1]] as const) await kafka.createTopic(topic, parts);
      const before = platform(kafka.bootstrap, work, c.version, 1);
      const after = platform(kafka.bootstrap, work, c.version, 2);
      const objects = (p: FlinkPlatform, unit: string) => synthesizeUnit(p.unit(unit)!).objects;
      const clusterObjects = objects(before, 'shared-logs');
      assert.deepEqual(objects(after, 'shared-logs'), clusterObjects, 'a job change leaves the cluster as it is');
      assert.deepEqual(objects(after, 'slow-requests'), objects(before, 'slow-requests'), 'and the other job as it is');
      const oldSubmitter = objects(before, 'error-logs').find((o) => o.kind === 'Job').metadata.name;
      const newSubmitter = objects(after, 'error-logs').find((o) => o.kind === 'Job').metadata.name;
      assert.notEqual(newSubmitter, oldSubmitter, 'the changed job gets a new submitter Job');
      const numbers: Record<string, any> = { flinkVersion: c.dist };

      let t0 = Date.now();
      const cluster = run.keep(await runCluster(clusterObjects, 'shared-logs', path.join(work, 'cluster'), home));
      const { rest, died } = cluster;
      await waitFor(async () => {
        const o = await restGet<any>(`${rest}/overview`).catch(() => undefined);
        return o && o.taskmanagers === 2 && o['slots-total'] === 4 ? o : undefined;
      }, { timeoutMs: 180_000, intervalMs: 1000, what: '2 TaskManagers with 2 slots each', abortIf: died });
      numbers.clusterReadyMs = Date.now() - t0;
      const clusterConf = await restGet<Array<{ key: string; value: string }>>(`${rest}/jobmanager/config`);
      assert.equal(clusterConf.find((e) => e.key === 'execution.checkpointing.interval')?.value, '1min', 'the cluster\'s own interval differs from the jobs\'');

      // Submit both jobs as their charts' submitter Jobs do.
      const ids: Record<string, string> = {};
      for (const name of ['slow-requests', 'error-logs']) {
        t0 = Date.now();
        const r = await runSubmitter(objects(before, name), name, work, rest, home);
        assert.equal(r.code, 0, `${name}: submit failed after ${r.ms} ms: ${r.stderr}`);
        const jid = new RegExp(`submitted job ([0-9a-f]{32}) "${name}"`).exec(r.stderr)?.[1];
        assert.ok(jid, `submit names the job it submitted: ${r.stderr}`);
        ids[name] = jid;
        await waitFor(() => allRunning(rest, jid), { timeoutMs: 180_000, intervalMs: 1000, what: `${name} RUNNING`, abortIf: died });
        numbers[`${name}`] = { submitMs: r.ms, submitToRunningMs: Date.now() - t0 };
        // The JarRunRequestBody fields reached the job: name, parallelism and the job-level configuration.
        const job = await restGet<any>(`${rest}/jobs/${jid}`);
        assert.equal(job.name, name, 'pipeline.name from flinkConfiguration');
        assert.equal(await maxParallelism(rest, jid), r.spec.parallelism, 'parallelism');
        const cpConf = await restGet<any>(`${rest}/jobs/${jid}/checkpoints/config`);
        assert.equal(cpConf.interval, 5000, `${name}: execution.checkpointing.interval of flinkConfiguration (the cluster says 1min)`);
        assert.equal(cpConf.min_pause, 1000, `${name}: execution.checkpointing.min-pause of flinkConfiguration (the cluster says 30s)`);
        // (/jobs/<id>/jobmanager/config is the cluster's configuration, the same for every job: not a witness.)
        const exec = (await restGet<any>(`${rest}/jobs/${jid}/config`))['execution-config'];
        assert.deepEqual([exec['object-reuse-mode'], exec['job-parallelism']], [true, r.spec.parallelism], `${name}: pipeline.object-reuse of flinkConfiguration and the parallelism field in /jobs/<id>/config`);
      }
      t.diagnostic(`both jobs RUNNING: ${JSON.stringify(ids)}`);

      // Traffic for both jobs, all along: every 300 ms one app log and one access log, half of each passing the filters.
      const producer = kafka.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
      run.keep({ stop: () => producer.disconnect().catch(() => undefined) });
      await producer.connect();
      let sent = 0;
      const sentAt: number[] = [];
      const send = async () => {
        const i = sent++;
        sentAt[i] = Date.now();
        await producer.send({ topic: 'logs.app', messages: [{ value: JSON.stringify({ id: `a-${i}`, ts: '2026-11-22T10:00:00.000', service: 'checkout', level: i % 2 ? 'INFO' : (i % 4 ? 'FATAL' : 'ERROR'), message: `m ${i}` }) }] });
        await producer.send({ topic: 'logs.access', messages: [{ value: JSON.stringify({ ts: '2026-11-22T10:00:00.000', service: 'search', host: 'h1', method: 'GET', path: `/r/${i}`, status: 200, bytes: i, latency_ms: i % 2 ? 20 : 1500 }) }] });
      };
      let sending = Promise.resolve();
      pump = setInterval(() => { sending = sending.then(send).catch(() => undefined); }, 300);
      const received: Record<string, Array<{ key: string; at: number }>> = { 'logs.errors': [], 'logs.slow-requests': [] };
      for (const topic of Object.keys(received)) {
        const consumer = kafka.client().consumer({ groupId: `check-${topic}` });
        consumers.push(consumer);
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => {
          const r = JSON.parse(message.value!.toString());
          received[topic].push({ key: r.id ?? r.path, at: Date.now() });
        } });
      }
      await waitFor(() => received['logs.errors'].length >= 5 && received['logs.slow-requests'].length >= 5,
        { timeoutMs: 120_000, intervalMs: 500, what: 'records through both jobs', abortIf: died });

      // The untouched job, polled throughout: state, tasks' start times, restarts.
      const watchedId = ids['slow-requests'];
      const initial = await restGet<any>(`${rest}/jobs/${watchedId}`);
      const taskStarts = initial.vertices.map((v: any) => v['start-time']);
      const polls: string[] = [];
      watching = true;
      watcher = poll(rest, watchedId, polls, () => watching);

      // Upgrade error-logs: its new submitter Job, with the changed spec.
      const oldId = ids['error-logs'];
      const upgradeStart = Date.now();
      const up = await runSubmitter(objects(after, 'error-logs'), 'error-logs', work, rest, home);
      numbers.upgrade = { submitMs: up.ms };
      t.diagnostic(`upgrade submitter (${up.ms} ms), exit ${up.code}:\n${up.stderr.trim()}`);
      const active = await waitFor(async () => {
        const js = (await jobsNamed(rest, 'error-logs')).filter((j) => !['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
        return js.length === 1 && (await allRunning(rest, js[0].jid)) ? js[0] : undefined;
      }, { timeoutMs: 180_000, intervalMs: 500, what: 'one error-logs job RUNNING after the upgrade', abortIf: died });
      const upgradeEnd = Date.now();
      numbers.upgrade.submitToRunningMs = upgradeEnd - upgradeStart;
      await new Promise((r) => setTimeout(r, 5000));
      watching = false;
      await watcher;
      clearInterval(pump);
      pump = undefined;
      await sending;
      const total = sent;
      const want = (prefix: string, pass: (i: number) => boolean) => Array.from({ length: total }, (_, i) => i).filter(pass).map((i) => `${prefix}${i}`).sort();
      const wantSlow = want('/r/', (i) => i % 2 === 0);
      const wantErrors = want('a-', (i) => i % 2 === 0);
      const keys = (topic: string) => received[topic].map((r) => r.key);
      await waitFor(() => new Set(keys('logs.slow-requests')).size >= wantSlow.length && new Set(keys('logs.errors')).size >= wantErrors.length,
        { timeoutMs: 120_000, intervalMs: 500, what: `every filtered record in both sinks (slow-requests ${new Set(keys('logs.slow-requests')).size}/${wantSlow.length}, error-logs ${new Set(keys('logs.errors')).size}/${wantErrors.length})`, abortIf: died });
      await new Promise((r) => setTimeout(r, 2000));

      // error-logs was upgraded: stopped with a savepoint, the new parallelism restored from it, no record lost or repeated.
      assert.equal(up.code, 0, up.stderr);
      const spec = up.spec;
      assert.equal(await maxParallelism(rest, active.jid), 2,
        `error-logs runs at the changed parallelism 2 after its new submitter ran (submit's log: ${up.stderr.trim().split('\n').pop()})`);
      await finished(rest, oldId);
      const previous = await restGet<any>(`${rest}/jobs/${oldId}`);
      assert.notEqual(active.jid, oldId, 'a new run of the job');
      assert.equal(previous.state, 'FINISHED', 'the previous run was stopped with a savepoint');
      const savepoint = (await latestSavepoint((r) => restGet(`${rest}${r}`), oldId))!;
      assert.match(savepoint?.external_path ?? '', new RegExp(`^${spec.savepointDirectory.replace('file://', 'file:')}/savepoint-`), 'into the spec\'s savepointDirectory');
      const restored = (await restGet<any>(`${rest}/jobs/${active.jid}/checkpoints`)).latest.restored;
      assert.equal(restored?.external_path, savepoint.external_path, 'the new run restored that savepoint');
      assert.deepEqual(keys('logs.errors').sort(), wantErrors, 'error-logs: every record exactly once across the upgrade');
      const cpConf = await restGet<any>(`${rest}/jobs/${active.jid}/checkpoints/config`);
      assert.equal(cpConf.interval, 5000, 'the upgraded run got the job-level configuration too');
      // slow-requests was not touched: same id, RUNNING at every poll, no restart, tasks not redeployed, records flowing throughout.
      assert.ok(polls.length >= 10, `polled ${polls.length} times`);
      assert.deepEqual([...new Set(polls)], ['RUNNING'], `slow-requests left RUNNING during the upgrade: ${polls.filter((s) => s !== 'RUNNING').slice(0, 3).join(', ')}`);
      const final = await restGet<any>(`${rest}/jobs/${watchedId}`);
      assert.equal(final.state, 'RUNNING');
      assert.deepEqual(final.vertices.map((v: any) => v['start-time']), taskStarts, 'its tasks were never redeployed');
      const restarts = await restGet<Array<{ id: string; value: string }>>(`${rest}/jobs/${watchedId}/metrics?get=numRestarts`);
      assert.equal(restarts.find((m) => m.id === 'numRestarts')?.value, '0', 'no restart');
      assert.deepEqual((await jobsNamed(rest, 'slow-requests')).map((j) => j.jid), [watchedId], 'the same and only slow-requests job');
      assert.deepEqual(keys('logs.slow-requests').sort(), wantSlow, 'slow-requests: every record exactly once');
      const during = received['logs.slow-requests'].filter((r) => r.at >= upgradeStart && r.at <= upgradeEnd).length;
      assert.ok(during > 0, 'slow-requests records arrived while error-logs was being upgraded');
      numbers['slow-requests'].untouched = { polls: polls.length, recordsDuringUpgrade: during, records: wantSlow.length };

      // The upgraded submitter again (a retried pod): the job runs with this spec, nothing to do.
      const again = await runSubmitter(objects(after, 'error-logs'), 'error-logs', work, rest, home);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, new RegExp(`job ${active.jid} "error-logs" is already RUNNING with this spec: nothing to submit`));
      // Rollback: the first revision's submitter once more. The running version is stopped with a
      // savepoint and the old spec resubmitted from it, under the next id of that spec (Flink
      // refuses the id of its first run, which has ended).
      const rollbackStart = Date.now();
      const back = await runSubmitter(objects(before, 'error-logs'), 'error-logs', work, rest, home);
      assert.equal(back.code, 0, back.stderr);
      const rolledBack = await waitFor(async () => {
        const js = (await jobsNamed(rest, 'error-logs')).filter((j) => !['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
        return js.length === 1 && (await allRunning(rest, js[0].jid)) ? js[0] : undefined;
      }, { timeoutMs: 180_000, intervalMs: 500, what: 'one error-logs job RUNNING after the rollback', abortIf: died });
      numbers.rollback = { submitMs: back.ms, submitToRunningMs: Date.now() - rollbackStart };
      assert.ok(![oldId, active.jid].includes(rolledBack.jid), 'the rollback is a run of its own');
      assert.equal(await maxParallelism(rest, rolledBack.jid), 1, 'at the first revision\'s parallelism');
      await finished(rest, active.jid);
      assert.equal((await restGet<any>(`${rest}/jobs/${active.jid}`)).state, 'FINISHED', 'the upgraded run was stopped with a savepoint');
      const rollbackSavepoint = (await latestSavepoint((r) => restGet(`${rest}${r}`), active.jid))?.external_path;
      assert.ok(rollbackSavepoint, 'the upgraded run was stopped with a savepoint Flink records');
      assert.equal((await restGet<any>(`${rest}/jobs/${rolledBack.jid}/checkpoints`)).latest.restored?.external_path, rollbackSavepoint, 'and the rollback restored it');
      // Records after the rollback arrive, and nothing before it is repeated.
      for (let i = 0; i < 6; i++) await send();
      const wantAll = want('a-', (i) => i % 2 === 0).concat(Array.from({ length: 6 }, (_, j) => total + j).filter((i) => i % 2 === 0).map((i) => `a-${i}`)).sort();
      await waitFor(() => new Set(keys('logs.errors')).size >= wantAll.length,
        { timeoutMs: 120_000, intervalMs: 500, what: `records through error-logs after the rollback (${new Set(keys('logs.errors')).size}/${wantAll.length})`, abortIf: died });
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(keys('logs.errors').sort(), wantAll, 'error-logs: every record exactly once across the upgrade and the rollback');
      numbers.rollback.jobId = rolledBack.jid;

      // helm uninstall of error-logs: its chart's pre-delete hook, run as helm renders it, stops
      // the rolled-back run with a savepoint into the cluster's savepoint directory and prints
      // its path; slow-requests keeps running untouched.
      const helmBin = await ensureHelm(3);
      const stopArgs = stopHookArgs(helmBin, before, 'error-logs', rest, work);
      const uninstallPolls: string[] = [];
      watching = true;
      watcher = poll(rest, watchedId, uninstallPolls, () => watching);
      // The run's checkpoint statistics read just before the stop, as a dashboard's polling would:
      // Flink's REST API answers them from a cache (web.refresh-interval, 3 s) that still shows
      // the run without the stop's savepoint for up to 3 s after it.
      await restGet(`${rest}/jobs/${rolledBack.jid}/checkpoints`);
      const stopped = await runOps(stopArgs);
      // At once, the rolled-back revision's submitter again, as a retry of a submission that
      // failed after the stop: with no active run it restores the newest finished run's savepoint
      // (the stop's), not that of an older run (the upgrade's or the rollback's), even when the
      // first answer comes from the cache filled before the stop.
      const retry = await runSubmitter(objects(before, 'error-logs'), 'error-logs', work, rest, home);
      await new Promise((r) => setTimeout(r, 2000));
      watching = false;
      await watcher;
      t.diagnostic(`pre-delete hook (${stopped.ms} ms), exit ${stopped.code}:\n${stopped.stderr.trim()}`);
      t.diagnostic(`submitter retried after the stop (${retry.ms} ms), exit ${retry.code}:\n${retry.stderr.trim()}`);
      assert.equal(stopped.code, 0, stopped.stderr);
      const finalSavepoint = stopped.stdout.trim();
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stderr, new RegExp(`no active run; restoring the savepoint of the finished run ${rolledBack.jid}: ${finalSavepoint}`), 'the retry restores the stop\'s savepoint');
      const retried = await waitFor(async () => {
        const js = (await jobsNamed(rest, 'error-logs')).filter((j) => !['FINISHED', 'CANCELED', 'FAILED'].includes(j.state));
        return js.length === 1 && (await allRunning(rest, js[0].jid)) ? js[0] : undefined;
      }, { timeoutMs: 180_000, intervalMs: 500, what: 'the retried error-logs run RUNNING', abortIf: died });
      assert.equal((await restGet<any>(`${rest}/jobs/${retried.jid}/checkpoints`)).latest.restored?.external_path, finalSavepoint, 'Flink restored the stop\'s savepoint');
      assert.match(retry.stderr, new RegExp(`job ${rolledBack.jid} ended [0-9.]+ s ago: its savepoint is read after the REST cache's 3000 ms`), 'read past the REST cache (web.refresh-interval, 3 s by default)');
      numbers.retryAfterStop = { submitMs: retry.ms, jobId: retried.jid };
      // Stopped again by the uninstall hook, which takes a savepoint of its own.
      const stoppedAgain = await runOps(stopArgs);
      assert.equal(stoppedAgain.code, 0, stoppedAgain.stderr);
      assert.match(finalSavepoint, new RegExp(`^${spec.savepointDirectory.replace('file://', 'file:')}/savepoint-`), 'the savepoint path on stdout, in the spec\'s savepointDirectory');
      assert.match(stopped.stderr, new RegExp(`restore it with initialSavepointPath: ${finalSavepoint}`), 'and in the hook\'s log');
      assert.ok(fs.existsSync(path.join(finalSavepoint.replace(/^file:(\/\/)?/, ''), '_metadata')), `the savepoint ${finalSavepoint} exists with its _metadata`);
      await finished(rest, rolledBack.jid);
      assert.equal((await restGet<any>(`${rest}/jobs/${rolledBack.jid}`)).state, 'FINISHED', 'error-logs was stopped with a savepoint');
      assert.equal((await latestSavepoint((r) => restGet(`${rest}${r}`), rolledBack.jid, { path: finalSavepoint }))?.external_path, finalSavepoint, 'Flink records that savepoint as the run\'s last');
      assert.deepEqual((await jobsNamed(rest, 'error-logs')).filter((j) => !['FINISHED', 'CANCELED', 'FAILED'].includes(j.state)), [], 'no error-logs job is active');
      // A second uninstall (or one after a manual cancel): nothing active, a success that changes nothing.
      const again2 = await runOps(stopArgs);
      assert.equal(again2.code, 0, again2.stderr);
      assert.equal(again2.stdout, '', 'no savepoint taken');
      assert.match(again2.stderr, /no active job named "error-logs" on .*: nothing to stop/);
      assert.ok(uninstallPolls.length >= 5, `polled ${uninstallPolls.length} times`);
      assert.deepEqual([...new Set(uninstallPolls)], ['RUNNING'], 'slow-requests left RUNNING during the uninstall of error-logs');
      const afterStop = await restGet<any>(`${rest}/jobs/${watchedId}`);
      assert.deepEqual([afterStop.state, afterStop.vertices.map((v: any) => v['start-time'])], ['RUNNING', taskStarts], 'slow-requests: same run, tasks never redeployed');
      assert.equal((await restGet<Array<{ id: string; value: string }>>(`${rest}/jobs/${watchedId}/metrics?get=numRestarts`)).find((m) => m.id === 'numRestarts')?.value, '0');
      // slow-requests with uninstall.stop=cancel: cancelled without a savepoint.
      const cancelled = await runOps(stopHookArgs(helmBin, before, 'slow-requests', rest, work, ['uninstall.stop=cancel']));
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(cancelled.stdout, '');
      await jobEnds(rest, watchedId, 'CANCELED');
      assert.equal((await restGet<any>(`${rest}/jobs/${watchedId}`)).state, 'CANCELED', 'uninstall.stop=cancel cancels the job');
      assert.equal((await restGet<any>(`${rest}/jobs/${watchedId}/checkpoints`)).latest?.savepoint ?? null, null, 'without a savepoint');
      numbers.uninstall = { stopMs: stopped.ms, againMs: again2.ms, cancelMs: cancelled.ms, polls: uninstallPolls.length, savepoint: finalSavepoint };

      numbers.upgrade = { ...numbers.upgrade, savepointMs: savepoint.end_to_end_duration, oldJobId: oldId, newJobId: active.jid,
        sentDuringUpgrade: sentAt.filter((at) => at >= upgradeStart && at <= upgradeEnd).length };
      numbers.records = { sent: total, errorLogs: wantErrors.length, slowRequests: wantSlow.length };
      const report = recordE2E(`session/flink-${c.dist}`, numbers);
      t.diagnostic(`${JSON.stringify(numbers)} -> ${report}`);
    });
  });
}
