import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as YAML from 'yaml';
import { FlinkConfiguration, FlinkVersion, ValidationError } from '../../lib';
import { minimumTaskManagerMiB, taskManagerBreakdown } from '../../lib/config/memory';

test('config: renamed keys are written in the form each version reads', () => {
  const cases: [FlinkVersion, string, string][] = [
    [FlinkVersion.V1_20, 'state.checkpoints.dir', 'execution.checkpointing.dir'],
    [FlinkVersion.V1_19, 'execution.checkpointing.dir', 'state.checkpoints.dir'],
    [FlinkVersion.V2_2, 'jobmanager.adaptive-scheduler.resource-stabilization-timeout', 'jobmanager.adaptive-scheduler.submission.resource-stabilization-timeout'],
    [FlinkVersion.V1_20, 'jobmanager.adaptive-scheduler.resource-stabilization-timeout', 'jobmanager.adaptive-scheduler.resource-stabilization-timeout'],
    [FlinkVersion.V2_0, 'state.checkpoints.dir', 'execution.checkpointing.dir'],
    [FlinkVersion.V1_20, 'state.backend.type', 'state.backend.type'],
    [FlinkVersion.V2_2, 'state.backend', 'state.backend.type'],
    [FlinkVersion.V1_20, 'execution.savepoint.path', 'execution.state-recovery.path'],
    [FlinkVersion.V1_18, 'execution.state-recovery.path', 'execution.savepoint.path'],
    [FlinkVersion.V2_1, 'execution.savepoint.path', 'execution.state-recovery.path'],
  ];
  for (const [v, given, written] of cases) {
    const c = new FlinkConfiguration(v);
    c.set(given, 'x', 'test');
    assert.deepEqual(Object.keys(c.toObject()), [written], `${given} on ${v}`);
  }
});

test('config: keys removed in 2.0 are rejected naming the replacement; allowed on 1.x', () => {
  const c = new FlinkConfiguration(FlinkVersion.V2_0);
  assert.throws(() => c.setRaw('flinkConfiguration', { 'taskmanager.heap.size': '1g' }), /flinkConfiguration\["taskmanager.heap.size"\]: "1g" sets a key removed in Flink 2.0; use taskmanager.memory.process.size/);
  assert.throws(() => c.setRaw('flinkConfiguration', { 'state.backend.rocksdb.checkpointdir': '/x' }), /sets a key removed in Flink 2.0; use state.backend.rocksdb.localdir$/);
  assert.throws(() => c.setRaw('flinkConfiguration', { 'security.ssl.enabled': true }), /the nearest 2.x option is security.ssl.internal.enabled/);
  const old = new FlinkConfiguration(FlinkVersion.V1_20);
  old.setRaw('flinkConfiguration', { 'taskmanager.heap.size': '1g' });
  assert.equal(old.get('taskmanager.heap.size'), '1g', '1.20 still reads it');
  // Deprecated aliases 2.x still reads are translated, not rejected.
  const alias = new FlinkConfiguration(FlinkVersion.V2_2);
  alias.setRaw('flinkConfiguration', { 'env.java.opts': '-Xss2m' });
  assert.deepEqual(alias.toObject(), { 'env.java.opts.all': '-Xss2m' });
});

test('config: a misspelled key is caught with the option Flink declares; unknown plugin keys pass', () => {
  const c = new FlinkConfiguration(FlinkVersion.V2_2);
  assert.throws(() => c.setRaw('flinkConfiguration', { 'taskmanager.numberOfTaskSlot': 2 }), /^.*flinkConfiguration key: "taskmanager.numberOfTaskSlot" is not a Flink 2.2 option; did you mean "taskmanager.numberOfTaskSlots"\?$/);
  assert.throws(() => c.setRaw('flinkConfiguration', { 'execution.checkpointing.intervall': '1 min' }), /did you mean "execution.checkpointing.interval"/);
  c.setRaw('flinkConfiguration', { 's3.endpoint': 'http://minio:9000', 'metrics.reporter.jmx.factory.class': 'x', 'fs.s3a.connection.maximum': 64 });
  assert.equal(c.get('s3.endpoint'), 'http://minio:9000');
});

test('config: no duplicates, no dotted-prefix overlap, no credentials', () => {
  const c = new FlinkConfiguration(FlinkVersion.V2_2);
  c.set('state.backend.type', 'hashmap', 'stateBackend');
  assert.throws(() => c.setRaw('flinkConfiguration', { 'state.backend': 'rocksdb' }), /duplicates Flink key "state.backend.type" \(the 2.2 name of "state.backend"\), which stateBackend already sets/);
  const p = new FlinkConfiguration(FlinkVersion.V2_2);
  p.setRaw('f', { 'a.b': 1 });
  assert.throws(() => p.setRaw('f', { 'a.b.c': 2 }), /a prefix of "a.b.c"/);
  assert.throws(() => p.setRaw('f', { 'properties.sasl.jaas.config': 'x' }), /looks like a credential/);
  assert.throws(() => p.setRaw('f', { 's3.secret-key': 'x' }), /Kubernetes Secret/);
});

test('config: config.yaml is standard YAML with flat keys that parses back to the same values', () => {
  const c = new FlinkConfiguration(FlinkVersion.V2_2);
  c.setRaw('f', { 'pipeline.name': 'a: b # c', 'env.java.opts.all': '-XX:+UseG1GC', 'x.y': true, 'x.z': 1.5 });
  const { fileName, content } = c.render();
  assert.equal(fileName, 'config.yaml');
  assert.deepEqual(YAML.parse(content), { 'env.java.opts.all': '-XX:+UseG1GC', 'pipeline.name': 'a: b # c', 'x.y': true, 'x.z': 1.5 });
  const dup = YAML.parseDocument(content, { uniqueKeys: true });
  assert.equal(dup.errors.length, 0);
});

test('config: the memory model finds the smallest TaskManager Flink can start', () => {
  const min = minimumTaskManagerMiB(0.1);
  assert.ok(taskManagerBreakdown(min, 0.1).taskHeapMiB >= 128);
  assert.ok(taskManagerBreakdown(min - 16, 0.1).taskHeapMiB < 128);
  assert.ok(minimumTaskManagerMiB(0.4) > min, 'more managed memory needs a bigger process');
});

test('config: unsupported versions name the supported ones', () => {
  assert.throws(() => FlinkVersion.of('1.17'), (e: Error) => e instanceof ValidationError && /flinkVersion: "1.17" is not supported; expected one of 1.18, 1.19, 1.20, 2.0, 2.1, 2.2/.test(e.message));
  assert.equal(FlinkVersion.of('2.1.3').toString(), '2.1.3');
  assert.equal(FlinkVersion.of('1.20'), FlinkVersion.V1_20);
});
