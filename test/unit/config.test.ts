import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as YAML from 'yaml';
import { FlinkConfiguration, FlinkVersion, ValidationError } from '../../lib';
import { flinkDurationMs } from '../../lib/config/flink-duration';
import { minimumTaskManagerMiB, taskManagerBreakdown } from '../../lib/config/memory';
import { add, clamp, div, evaluate, goExpression, input, max, min, mod, mul, named, sub, timesFraction } from '../../lib/rules/int-expr';

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

test('config: the memory model finds the smallest TaskManager from which every larger one leaves the minimum task heap', () => {
  const heap = (p: number, f: number) => taskManagerBreakdown(p, f).taskHeapMiB;
  for (const f of [0, 0.1, 0.4, 0.693, 0.75, 0.85, 0.9]) {
    const min = minimumTaskManagerMiB(f);
    assert.ok(heap(min - 1, f) < 128, `${f}: ${min - 1}`);
    for (let p = min; p < min + 3000; p++) assert.ok(heap(p, f) >= 128, `${f}: ${p} from the minimum ${min} on`);
  }
  assert.equal(minimumTaskManagerMiB(0.4), 1214, 'exact, not rounded to 16 MiB');
  // At 0.75 the heap is not monotonic: 3116 holds, 3117-3120 drop to 127 MiB, the minimum is 3121.
  assert.deepEqual([3116, 3117, 3120, 3121].map((p) => heap(p, 0.75)), [128, 127, 127, 128]);
  assert.equal(minimumTaskManagerMiB(0.75), 3121);
  assert.ok(minimumTaskManagerMiB(0.4) > minimumTaskManagerMiB(0.1), 'more managed memory needs a bigger process');
  // The managed memory is the exact fraction of the decimal (in doubles 0.29 * 100 is 28.999...).
  assert.equal(evaluate(timesFraction(input('x'), 0.29), { x: 100 }), 29);
  assert.equal(evaluate(timesFraction(input('x'), 0.123456789), { x: 9_000_000_000 }), 1_111_111_101);
});

test('config: an integer expression computes in TypeScript what its Go template rendering computes (truncating division, named parts assigned once)', () => {
  const x = named('x', sub(input('a'), 7));
  const e = add(mul(div(x, 2), 3), mod(x, 2), min(x, 100), max(x, -100), clamp(x, 0, 10));
  assert.equal(evaluate(e, { a: 2 }), (-2 * 3) + -1 + -5 + -5 + 0, 'toward zero, as Go');
  assert.equal(evaluate(e, { a: 20 }), 18 + 1 + 13 + 13 + 10);
  assert.equal(evaluate(mul(input('a'), 3_000_000_000), { a: 3_000_000_000 }), 9e18, 'exact past 2^53');
  assert.deepEqual(goExpression(e, { a: '.Values.a' }), {
    assignments: '{{- $x := (sub (.Values.a) 7) }}\n',
    expr: '(add (mul (div $x 2) 3) (mod $x 2) (min $x 100) (max $x -100) (min 10 (max 0 $x)))',
  });
});

test('config: unsupported versions name the supported ones', () => {
  assert.throws(() => FlinkVersion.of('1.17'), (e: Error) => e instanceof ValidationError && /flinkVersion: "1.17" is not supported; expected one of 1.18, 1.19, 1.20, 2.0, 2.1, 2.2/.test(e.message));
  assert.equal(FlinkVersion.of('2.1.3').toString(), '2.1.3');
  assert.equal(FlinkVersion.of('1.20'), FlinkVersion.V1_20);
});

test('flinkDurationMs: Flink\'s duration forms; anything else is undefined', () => {
  assert.deepEqual(['3 s', '3000', '500 ms', '1 min', '2h', '10s', '1 d'].map(flinkDurationMs), [3000, 3000, 500, 60_000, 7_200_000, 10_000, 86_400_000]);
  assert.deepEqual(['', 'three', '-1 s', '3 weeks'].map(flinkDurationMs), [undefined, undefined, undefined, undefined]);
});
