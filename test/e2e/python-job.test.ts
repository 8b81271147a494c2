/**
 * A PyFlink job on real Flink 2.2.1 (local processes, 127.0.0.1), started as synthesized: the
 * JobManager with the generated args (`standalone-job --job-classname PythonDriver ...
 * -pyclientexec <python> -py /opt/flink/job/job.py <out>`), the script from the job's files,
 * the TaskManager with the generated config (`python.executable`). The interpreter is a virtual
 * environment with PyPI's apache-flink 2.2.1, as an image for Python jobs carries it.
 *
 * The job reads 40 generated log lines at 4 per second, classifies each with a Python function
 * (run by the TaskManager's Python worker) and writes level, line and the interpreters that ran
 * the client and the function to files. Checked: the job runs under its id and name and
 * finishes, every line is written once with its level, and both interpreters are the
 * configured one. The home's opt/ gets Flink's Python jar (addPythonJar), as the official image
 * has it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FlinkApplication, FlinkVersion, JobSource, RuntimeImage } from '../../lib';
import { recordE2E } from '../support/e2e-report';
import { PYTHON_UDFS_PRELUDE } from '../support/python-udfs';
import { addPythonJar, ensurePyFlink } from '../support/flink-dist';
import { restGet, waitFor } from '../support/flink-proc';
import { runCluster } from '../support/local-flink';
import { live } from '../support/live';
import { find, synth } from '../support/synth';

const DIST = '2.2.1';

const SCRIPT = `${PYTHON_UDFS_PRELUDE}out = sys.argv[1]
t.execute_sql("""CREATE TABLE gen (n INT) WITH ('connector' = 'datagen', 'rows-per-second' = '4',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '40')""")
t.execute_sql(f"""CREATE TABLE sink (lvl STRING, line STRING, worker STRING, client STRING)
  WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')""")
t.execute_sql(f"""INSERT INTO sink SELECT level_of(line), line, worker_python(line), '{sys.executable}' FROM (
  SELECT CASE MOD(n, 3) WHEN 0 THEN 'ERROR' WHEN 1 THEN 'WARN' ELSE 'INFO' END || ' request ' || CAST(n AS STRING) AS line FROM gen)""")
`;

test(`python job on real Flink ${DIST}: PythonDriver runs the script from the job's files, the TaskManager's Python worker runs its function, with the configured interpreter`, { timeout: 25 * 60_000 }, async (t) => {
  const started = Date.now();
  const seconds: Record<string, number> = {};
  const lap = (what: string) => { seconds[what] = Math.round((Date.now() - started) / 100) / 10; };
  await live(t, 'python-job', async (run) => {
    const [home, python] = await Promise.all([run.flinkHome(DIST, '2.2'), ensurePyFlink(DIST)]);
    await addPythonJar(home, DIST);
    lap('pythonReady');
    const out = path.join(run.work, 'out');
    let a!: FlinkApplication;
    const objects = synth((s) => {
      a = new FlinkApplication(s, 'error-levels', {
        flinkVersion: FlinkVersion.V2_2, checkpointing: false, taskManagerSlots: 1, parallelism: 1,
        image: RuntimeImage.custom('registry.example.com/flink-python:2.2.1', { base: RuntimeImage.cdk8sFlink('registry.example.com/flink:2.2', FlinkVersion.V2_2), python: true }),
        job: JobSource.python({ script: SCRIPT, pythonExecutable: python, args: [out] }),
      });
    });
    const args = find(objects, 'Deployment', 'error-levels-jobmanager').spec.template.spec.containers[0].args;
    assert.deepEqual(args.slice(-5), ['-pyclientexec', python, '-py', '/opt/flink/job/job.py', out]);
    const work = path.join(run.work, 'cluster');
    fs.mkdirSync(work);
    const cluster = run.keep(await runCluster(objects, 'error-levels', work, home));
    const job = await cluster.waitRunning(a.jobId, 300_000);
    assert.equal(job.name, 'error-levels');
    lap('running');
    t.diagnostic(`job ${a.jobId} RUNNING`);
    await waitFor(async () => {
      const j = await restGet<{ state: string }>(`${cluster.rest}/jobs/${a.jobId}`).catch(() => undefined);
      if (j && ['FAILED', 'CANCELED'].includes(j.state)) throw Object.assign(new Error(`job ${a.jobId} is ${j.state}`), { fatal: true });
      return j?.state === 'FINISHED';
    }, { timeoutMs: 180_000, intervalMs: 1000, what: `job ${a.jobId} FINISHED`, abortIf: cluster.died });
    lap('finished');

    const rows = fs.readdirSync(out).filter((f) => !f.startsWith('.'))
      .flatMap((f) => fs.readFileSync(path.join(out, f), 'utf8').trim().split('\n'))
      .map((l) => /^([a-z]+),"?([^",]+)"?,"?([^",]+)"?,"?([^",]+)"?$/.exec(l)?.slice(1) ?? [l]);
    const expected = Array.from({ length: 40 }, (_, i) => i + 1).map((n) => {
      const level = ['ERROR', 'WARN', 'INFO'][n % 3];
      return [level.toLowerCase(), `${level} request ${n}`].join(',');
    }).sort();
    assert.deepEqual(rows.map((r) => r.slice(0, 2).join(',')).sort(), expected, 'every line once, with its level');
    assert.deepEqual([...new Set(rows.map((r) => r[2]))], [python], 'the Python function ran in the configured interpreter (python.executable)');
    assert.deepEqual([...new Set(rows.map((r) => r[3]))], [python], 'the client ran in the configured interpreter (-pyclientexec)');
    t.diagnostic(`${rows.length} rows, levels and interpreters as expected`);
  });
  t.diagnostic(`report: ${recordE2E(`python-job/flink-${DIST}`, { secondsSinceStart: seconds })}`);
});
