/**
 * JobSource.python: the JobManager's args (Flink's PythonDriver with -pyclientexec and -py or
 * -pym), the script in the job's files, `python.executable` for the TaskManagers' Python
 * workers, the image check, the refusals, the chart (renders dist/; job.args replaces only the
 * script's arguments) and the operator target (the operator's own form of its Python example).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkApplication, FlinkPlatform, FlinkSessionCluster, FlinkSessionJob, FlinkVersion, JobSource, PYTHON_DRIVER_CLASS, RuntimeImage } from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { assertRendersDist, find as findRendered, render, writeChart } from '../support/helm-chart';
import { ensureHelm } from '../support/tools';
import { find, flinkConfig, synth } from '../support/synth';

const SCRIPT = 'from pyflink.table import TableEnvironment, EnvironmentSettings\nTableEnvironment.create(EnvironmentSettings.in_streaming_mode())\n';
const PY_IMAGE = RuntimeImage.custom('registry.example.com/flink-python:1.20.5', { base: RuntimeImage.cdk8sFlink('registry.example.com/flink:1.20', FlinkVersion.V1_20), python: true });
const app = (job: JobSource, extra: Record<string, unknown> = {}) =>
  synth((s) => new FlinkApplication(s, 'errors', { job, checkpointing: false, ...extra }));
const jmArgs = (objects: any[]) => find(objects, 'Deployment', 'errors-jobmanager').spec.template.spec.containers[0].args;

test('python jobs: PythonDriver runs the script from the job\'s files (or a file or module in the image) with the interpreter the TaskManagers use too', () => {
  const objects = app(JobSource.python({ script: SCRIPT, args: ['--min-level', 'WARN'] }), { image: PY_IMAGE });
  assert.deepEqual(jmArgs(objects), ['standalone-job', '--job-classname', PYTHON_DRIVER_CLASS, '--job-id', '$(FLINK_JOB_ID)',
    '-pyclientexec', 'python3', '-py', '/opt/flink/job/job.py', '--min-level', 'WARN']);
  const files = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['job.py'] !== undefined);
  assert.ok(files, 'the script is in a ConfigMap');
  assert.equal(files.data['job.py'], SCRIPT);
  const jmPod = find(objects, 'Deployment', 'errors-jobmanager').spec.template.spec;
  const jobVolume = jmPod.volumes.find((v: any) => v.configMap?.name === files.metadata.name && v.configMap.items?.some((i: any) => i.key === 'job.py'));
  assert.ok(jobVolume, 'the JobManager mounts the job files');
  assert.ok(jmPod.containers[0].volumeMounts.some((m: any) => m.name === jobVolume.name && m.mountPath === '/opt/flink/job' && m.readOnly), 'read-only at /opt/flink/job');
  assert.equal(flinkConfig(objects, 'errors')['python.executable'], 'python3');

  const inImage = app(JobSource.python({ pythonFile: 'local:///opt/flink/usrlib/errors.py', pyFiles: ['/opt/flink/usrlib/deps.zip', '/opt/flink/usrlib/lib'], pythonExecutable: '/usr/local/bin/python3.11' }));
  assert.deepEqual(jmArgs(inImage).slice(5), ['-pyclientexec', '/usr/local/bin/python3.11', '-py', '/opt/flink/usrlib/errors.py', '-pyfs', '/opt/flink/usrlib/deps.zip,/opt/flink/usrlib/lib']);
  assert.equal(flinkConfig(inImage, 'errors')['python.executable'], '/usr/local/bin/python3.11');
  assert.ok(!inImage.some((o) => o.kind === 'ConfigMap' && o.data?.['job.py'] !== undefined), 'no script file for a script in the image');
  assert.deepEqual(jmArgs(app(JobSource.python({ module: 'logs.errors', args: ['x'] }))).slice(5), ['-pyclientexec', 'python3', '-pym', 'logs.errors', 'x']);
});

test('python jobs: one-line refusals (entry, paths, module, interpreter, session jobs, images without Python)', () => {
  const refused: [() => unknown, RegExp][] = [
    [() => JobSource.python({}), /^job\.script: \(missing\) is required: a Python job runs one entry; expected exactly one of script, pythonFile/],
    [() => JobSource.python({ script: SCRIPT, module: 'a.b' }), /^job\.module: "a\.b" is set together with script; expected exactly one of/],
    [() => JobSource.python({ script: '  \n' }), /^job\.script: .* is empty; expected the Python source of the job$/],
    [() => JobSource.python({ pythonFile: 'usrlib/job.py' }), /^job\.pythonFile: "usrlib\/job\.py" is not an absolute path in the image; expected a \.py file/],
    [() => JobSource.python({ pythonFile: '/opt/flink/usrlib/job.jar' }), /^job\.pythonFile: .* is not an absolute path in the image/],
    [() => JobSource.python({ pythonFile: 'https://example.com/job.py' }), /^job\.pythonFile: .* is not an absolute path in the image/],
    [() => JobSource.python({ pythonFile: '/opt/../etc/job.py' }), /^job\.pythonFile: .* is not an absolute path in the image/],
    [() => JobSource.python({ module: 'logs-errors' }), /^job\.module: "logs-errors" is not a Python module name/],
    [() => JobSource.python({ module: 'a.b', pyFiles: ['/opt/a,b.zip'] }), /^job\.pyFiles\[0\]: "\/opt\/a,b\.zip" is not an absolute path in the image; expected a file or folder in the image without a comma/],
    [() => JobSource.python({ module: 'a.b', pythonExecutable: 'python3 -u' }), /^job\.pythonExecutable: "python3 -u" is not an interpreter/],
    [() => JobSource.python({ module: 'a.b', args: [1 as unknown as string] }), /^job\.args\[0\]: 1 is invalid; expected a string$/],
    [() => app(JobSource.python({ script: SCRIPT }), { image: RuntimeImage.official(FlinkVersion.V1_20) }),
      /^job: "JobSource\.python" needs Python with apache-flink 1\.20\.5 in the image, which image "flink:1\.20\.5-java17" \(the official Flink 1\.20 image\) does not have; expected an image that adds them: RuntimeImage\.custom\(reference, \{ base, python: true \}\)$/],
    [() => app(JobSource.python({ script: SCRIPT }), { image: RuntimeImage.cdk8sFlink('registry.example.com/flink:1.20', FlinkVersion.V1_20) }), /^job: "JobSource\.python" needs Python with apache-flink/],
    [() => RuntimeImage.custom('x:1', { python: 'yes' as unknown as boolean }), /^RuntimeImage\.custom python: "yes" is invalid; expected true/],
    [() => synth((s) => {
      const pool = new FlinkSessionCluster(s, 'pool', { checkpointing: false });
      new FlinkSessionJob(s, 'errors', { cluster: pool, job: JobSource.python({ script: SCRIPT }) });
    }), /^job: "JobSource\.python" is for application clusters: a session job is submitted through the REST API as a jar/],
  ];
  for (const [f, re] of refused) {
    assert.throws(f, (e: Error) => e.constructor.name === 'ValidationError' && re.test(e.message) && !e.message.includes('\n'), String(f));
  }
  // An image built on a Python image keeps Python; a plain string image is not checked.
  const onPython = RuntimeImage.custom('registry.example.com/flink-python-gs:1.20.5', { base: PY_IMAGE, schemes: ['gs'] });
  assert.equal(onPython.python, true);
  assert.doesNotThrow(() => app(JobSource.python({ script: SCRIPT }), { image: onPython }));
  assert.doesNotThrow(() => app(JobSource.python({ script: SCRIPT }), { image: 'registry.example.com/anything:1' }));
});

test('python jobs: the chart renders dist/, job.args replaces the script\'s arguments and keeps the driver\'s; the operator target gets Flink\'s Python jar, PythonDriver and python.executable', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: 'logs' });
  p.addApplication('errors', { job: JobSource.python({ script: SCRIPT, args: ['--min-level', 'WARN'] }), image: PY_IMAGE });
  const [u] = synthesizePlatform(p);
  assertRendersDist(bin, u);
  const args = findRendered(render(bin, writeChart(u), 'errors', ['job.args={--min-level,ERROR}']), 'Deployment', 'errors-jobmanager').spec.template.spec.containers[0].args;
  assert.deepEqual(args.slice(-6), ['-pyclientexec', 'python3', '-py', '/opt/flink/job/job.py', '--min-level', 'ERROR']);
  assert.match(u.chart['values.yaml'], /Arguments of the job's Python script/);

  const out = operatorResources(p.unit('errors')!, u.objects);
  const fd = out.find((o) => o.kind === 'FlinkDeployment')!;
  assert.deepEqual(fd.spec.job.jarURI, 'local:///opt/flink/opt/flink-python-1.20.5.jar');
  assert.equal(fd.spec.job.entryClass, PYTHON_DRIVER_CLASS);
  assert.deepEqual(fd.spec.job.args, ['-pyclientexec', 'python3', '-py', '/opt/flink/job/job.py', '--min-level', 'WARN']);
  assert.equal(fd.spec.flinkConfiguration['python.executable'], 'python3');
  const files = out.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'errors-job-files');
  assert.equal(files?.data['job.py'], SCRIPT, 'the script travels in the job files ConfigMap');
});
