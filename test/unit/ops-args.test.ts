/**
 * The operations tool's command line without a cluster: usage errors exit 64 with the reason and
 * the usage line, invalid values the command checks itself exit 1 with one line naming the option, and the pure parts of the Kafka
 * preflight (Flink's partition assignment, the recommendation) and of savepoint failures.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { rootCause } from '../../lib/ops/flink-rest';
import { saslFromEnv } from '../../lib/ops/kafka';
import { recommend, sourceSpread } from '../../lib/ops/preflight';

const OPS = path.join(__dirname, '..', '..', 'lib', 'ops', 'main.js');
function ops(args: string[]) {
  const r = spawnSync(process.execPath, [OPS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.trim().split('\n') };
}

test('ops: a missing --rest-url is a usage error: exit 64, the reason, then the command usage', () => {
  for (const cmd of ['jobs', 'savepoint', 'stop', 'checkpoints']) {
    const r = ops([cmd]);
    assert.equal(r.code, 64, cmd);
    assert.deepEqual(r.lines, ['cdk8s-flink-ops: error: --rest-url is required', `Usage: cdk8s-flink-ops ${cmd} --rest-url <url> [options]   ("cdk8s-flink-ops ${cmd} --help" for more)`]);
    assert.equal(r.stdout, '');
  }
});

test('ops: unknown commands and options, and cancel without a job, are usage errors (exit 64)', () => {
  const unknown = ops(['restart']);
  assert.equal(unknown.code, 64);
  assert.equal(unknown.lines[0], 'cdk8s-flink-ops: error: unknown command "restart"; expected one of jobs, savepoint, stop, cancel, checkpoints, preflight, handoff, cleanup, smoke, uninstall, submit, fetch-artifact, pool, autoscale');
  const option = ops(['jobs', '--rest-url', 'http://127.0.0.1:9', '--job-nme', 'x']);
  assert.equal(option.code, 64);
  assert.equal(option.lines[0], 'cdk8s-flink-ops: error: unknown option --job-nme; expected one of --rest-url, --json, --timeout, --help, --verbose');
  const cancel = ops(['cancel', '--rest-url', 'http://127.0.0.1:9']);
  assert.equal(cancel.code, 64);
  assert.equal(cancel.lines[0], 'cdk8s-flink-ops: error: --job-id or --job-name is required: cancel names the job it loses');
  const pre = ops(['preflight', '--kafka-bootstrap', '127.0.0.1:9']);
  assert.equal(pre.code, 64);
  assert.equal(pre.lines[0], 'cdk8s-flink-ops: error: --source-topic is required');
  const typed: Array<[string[], string]> = [
    [['jobs', '--rest-url', 'http://127.0.0.1:9', '--timeout', 'soon'], '--timeout: "soon" is not a duration; expected e.g. 90s, 10m or 1h'],
    [['preflight', '--kafka-bootstrap', 'kafka:9092', '--source-topic', 'a', '--parallelism', '0'], '--parallelism: "0" is invalid; expected an integer from 1 to 100000'],
  ];
  for (const [args, line] of typed) {
    const r = ops(args);
    assert.equal(r.code, 64, args.join(' '));
    assert.equal(r.lines[0], `cdk8s-flink-ops: error: ${line}`);
  }
});

test('ops: --help prints the command usage with options, an example and the exit codes on stdout (exit 0)', () => {
  const top = spawnSync(process.execPath, [OPS, '--help'], { encoding: 'utf8' });
  assert.equal(top.status, 0);
  for (const c of ['jobs', 'savepoint', 'stop', 'cancel', 'checkpoints', 'preflight', 'handoff', 'cleanup', 'smoke', 'submit']) {
    assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'), c);
    const h = spawnSync(process.execPath, [OPS, c, '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0, c);
    assert.match(h.stdout, new RegExp(`^Usage: cdk8s-flink-ops ${c} `, 'm'), c);
    assert.match(h.stdout, /^Examples:\n {2}cdk8s-flink-ops /m, c);
    assert.match(h.stdout, /^Exit codes:\n {2}0 +success\n {2}1 .*\n(?: .*\n)* {2}64 +usage: /m, c);
    assert.match(h.stdout, /--timeout <duration>/, c);
  }
});

test('ops: invalid values the command checks itself exit 1 with one line naming the option, the value and what is expected', () => {
  const cases: Array<[string[], string]> = [
    [['savepoint', '--rest-url', 'http://127.0.0.1:9', '--job-id', 'abc'], '--job-id: "abc" is not a Flink job id; expected 32 lowercase hex digits'],
    [['jobs', '--rest-url', 'localhost:8081'], '--rest-url: "localhost:8081" is not an http(s) URL'],
    [['preflight', '--kafka-bootstrap', 'kafka', '--source-topic', 'a'], '--kafka-bootstrap: "kafka" is invalid; expected host:port[,host:port...]'],
    [['preflight', '--kafka-bootstrap', 'kafka:9092', '--source-topic', 'a b'], '--source-topic: "a b" is not a valid Kafka topic name; expected 1 to 249 of a-z A-Z 0-9 . _ -'],
    [['preflight', '--kafka-bootstrap', 'kafka:9092', '--source-topic', 'a', '--sink-partitions', '3'], '--sink-partitions applies only with --create-sink-topics'],
    [['preflight', '--kafka-bootstrap', 'kafka:9092', '--source-topic', 'a', '--sink-topic', 'a'], '--sink-topic: "a" is also a source topic; a job that writes what it reads loops forever'],
  ];
  for (const [args, line] of cases) {
    const r = ops(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.deepEqual(r.lines, [`cdk8s-flink-ops: error: ${line}`]);
  }
});

test("preflight's partition spread is Flink's KafkaSource assignment (start index from Java's String.hashCode)", () => {
  // Start indexes computed with Java: ((topic.hashCode() * 31) & 0x7FFFFFFF) % n.
  // "logs.audit" -> 998755492 (mod 4 = 0), "pf.in" -> 1154655107 (mod 4 = 3), "pf.in2" -> 1434571499 (mod 4 = 3).
  assert.deepEqual(sourceSpread([{ topic: 'logs.audit', partitions: 2 }], 4).perSubtask, [1, 1, 0, 0]);
  assert.deepEqual(sourceSpread([{ topic: 'pf.in', partitions: 2 }], 4).perSubtask, [1, 0, 0, 1]);
  // Two one-partition topics on parallelism 2 land on the same subtask: one subtask idle.
  const two = sourceSpread([{ topic: 'pf.in', partitions: 1 }, { topic: 'pf.in2', partitions: 1 }], 2);
  assert.deepEqual(two.perSubtask, [0, 2]);
  assert.equal(two.idle, 1);
  const r = recommend([{ topic: 'pf.in', partitions: 1 }, { topic: 'pf.in2', partitions: 1 }], 2);
  assert.deepEqual(r.recommendation, { min: 1, max: 2, even: [1] });
  assert.match(r.warnings[0], /^parallelism 2: the KafkaSource assigns pf\.in, pf\.in2 so that 1 of 2 source subtask\(s\) get no partition/);
  const over = recommend([{ topic: 'logs.audit', partitions: 4 }], 6);
  assert.deepEqual(over.recommendation, { min: 1, max: 4, even: [1, 2, 4] });
  assert.equal(over.spread!.idle, 2);
  assert.match(over.warnings[0], /^parallelism 6 exceeds the 4 partition\(s\) of logs\.audit: 2 source subtask\(s\) stay idle/);
  assert.match(recommend([{ topic: 'logs.audit', partitions: 6 }], 4).warnings[0], /^parallelism 4: source subtasks read 1 to 2 partition\(s\) each \(uneven load\); parallelism 1, 2, 3, 6 spreads them evenly$/);
  assert.deepEqual(recommend([{ topic: 'logs.audit', partitions: 6 }], 3).warnings, []);
});

test("a failed savepoint's reason is the root cause of Flink's stack trace, on one line", () => {
  const trace = [
    'java.util.concurrent.CompletionException: java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: Failure to finalize checkpoint.',
    '\tat org.apache.flink.runtime.scheduler.SchedulerBase.lambda$triggerSavepoint$1(SchedulerBase.java:1000)',
    'Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: Failure to finalize checkpoint.',
    '\tat x.y(Z.java:1)',
    '\t... 5 more',
    'Caused by: java.io.IOException: Mkdirs failed to create file:/proc/x/savepoint-1',
    '\tat a.b(C.java:2)',
  ].join('\n');
  assert.equal(rootCause(trace), 'java.io.IOException: Mkdirs failed to create file:/proc/x/savepoint-1');
  assert.equal(rootCause('java.lang.IllegalStateException: boom\n\tat a.b(C.java:1)'), 'java.lang.IllegalStateException: boom');
});

test('Kafka credentials come from the environment the charts set: SASL over TLS, SCRAM-SHA-512 unless told otherwise', () => {
  assert.equal(saslFromEnv({}), undefined);
  assert.deepEqual(saslFromEnv({ KAFKA_SOURCE_USERNAME: 'u', KAFKA_SOURCE_PASSWORD: 'p' }), { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  assert.deepEqual(saslFromEnv({ KAFKA_SOURCE_USERNAME: 'u', KAFKA_SOURCE_PASSWORD: 'p', KAFKA_SOURCE_SASL_MECHANISM: 'PLAIN' }), { mechanism: 'plain', username: 'u', password: 'p' });
  assert.throws(() => saslFromEnv({ KAFKA_SOURCE_USERNAME: 'u', KAFKA_SOURCE_SASL_MECHANISM: 'GSSAPI' }), { message: 'KAFKA_SOURCE_SASL_MECHANISM: "GSSAPI" is invalid; expected one of SCRAM-SHA-512, SCRAM-SHA-256, PLAIN' });
});

test('ops pool: its bounds are checked before anything is read: usage errors (exit 64) naming the option and the value', () => {
  const base = ['pool', '--rest-url', 'http://127.0.0.1:9', '--deployment', 'd-taskmanager', '--selector', 'a=b', '--slots-per-task-manager', '2', '--namespace', 'logs'];
  const below = ops([...base, '--max', '1', '--min', '3']);
  assert.equal(below.code, 64);
  assert.equal(below.lines[0], 'cdk8s-flink-ops: error: --max: 1 is below --min (3); expected at least 3');
  const zero = ops([...base, '--max', '0']);
  assert.equal(zero.code, 64);
  assert.match(zero.lines[0], /^cdk8s-flink-ops: error: --max: "?0"? /);
  const missing = ops(base);
  assert.equal(missing.code, 64);
  assert.equal(missing.lines[0], 'cdk8s-flink-ops: error: --max is required');
  // outside a pod and without --kubeconfig: one line, exit 1
  const noApi = ops([...base, '--max', '2']);
  assert.equal(noApi.code, 1);
  assert.equal(noApi.lines.length, 1);
  assert.match(noApi.lines[0], /no Kubernetes API access/);
});
