/**
 * Autoscaling of application clusters: the typed metrics and behavior reach the HPA as typed,
 * reactive mode and the adaptive scheduler set their own Flink keys, the reactive* props stay a
 * shorthand, `plan` shows the range and the price of a scale event, and the chart's values carry
 * the metrics and behavior under a schema that refuses what the definitions refuse.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import * as YAML from 'yaml';
import {
  Autoscaling, AutoscalingMetric, FlinkApplication, FlinkPlatform, JobSource, MetricResource, planPlatform, ScalingPolicyType, SelectPolicy,
} from '../../lib';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import Ajv from 'ajv';
import { find, flinkConfig, synth } from '../support/synth';
import { objectTemplate } from '../support/helm-chart';

const JAR = JobSource.jar({ entryClass: 'com.example.Job' });
const DIRS = { checkpointDirectory: 's3://state/cp', savepointDirectory: 's3://state/sp' };
const LAG = AutoscalingMetric.external({ name: 'kafka_consumergroup_lag', selector: { topic: 'logs', group: 'enricher' }, averageValue: '10k' });
const RECORDS = AutoscalingMetric.pods({ name: 'flink_taskmanager_job_task_numRecordsInPerSecond', averageValue: '2k' });

test('autoscaling: adaptive mode puts every metric and the behavior into the HPA as typed, and runs the adaptive scheduler at the maximum parallelism', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, taskManagerSlots: 2,
    autoscaling: Autoscaling.adaptive({
      min: 2, max: 5,
      metrics: [AutoscalingMetric.cpuUtilization(60), AutoscalingMetric.resourceAverageValue(MetricResource.MEMORY, '3Gi'), RECORDS, LAG,
        AutoscalingMetric.external({ name: 'queue_depth', value: '500' })],
      behavior: {
        scaleUp: { stabilizationWindow: Duration.seconds(30), policies: [{ type: ScalingPolicyType.PERCENT, value: 100, period: Duration.minutes(1) }], selectPolicy: SelectPolicy.MAX },
        scaleDown: { selectPolicy: SelectPolicy.DISABLED },
      },
      stabilizationTimeout: Duration.seconds(20),
    }),
  }));
  assert.equal(find(objects, 'Deployment', 'j-taskmanager').spec.replicas, undefined, 'no templated replicas to fight the HPA');
  const hpa = find(objects, 'HorizontalPodAutoscaler', 'j-taskmanager');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'j-taskmanager' });
  assert.equal(hpa.spec.minReplicas, 2);
  assert.equal(hpa.spec.maxReplicas, 5);
  assert.deepEqual(hpa.spec.metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
    { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '3Gi' } } },
    { type: 'Pods', pods: { metric: { name: 'flink_taskmanager_job_task_numRecordsInPerSecond' }, target: { type: 'AverageValue', averageValue: '2k' } } },
    { type: 'External', external: { metric: { name: 'kafka_consumergroup_lag', selector: { matchLabels: { topic: 'logs', group: 'enricher' } } }, target: { type: 'AverageValue', averageValue: '10k' } } },
    { type: 'External', external: { metric: { name: 'queue_depth' }, target: { type: 'Value', value: '500' } } },
  ]);
  assert.deepEqual(hpa.spec.behavior, {
    scaleUp: { stabilizationWindowSeconds: 30, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }] },
    // Rules left out keep the toolkit's defaults for that direction.
    scaleDown: { stabilizationWindowSeconds: 600, selectPolicy: 'Disabled', policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }] },
  });
  const cfg = flinkConfig(objects, 'j');
  assert.equal(cfg['jobmanager.scheduler'], 'adaptive');
  assert.equal(cfg['scheduler-mode'], undefined, 'not reactive');
  assert.equal(cfg['parallelism.default'], 10, 'the maximum: 5 TaskManagers x 2 slots');
  assert.equal(cfg['jobmanager.adaptive-scheduler.resource-stabilization-timeout'], '20s');
});

test('autoscaling: targets outside the HPA\'s sense are refused in one line naming the metric (the full list is in the hostile corpus)', () => {
  const refused = (metric: AutoscalingMetric) => () => synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.cpuUtilization(70), metric] }) }));
  for (const percent of [5, 101, 70.5]) {
    assert.throws(refused(AutoscalingMetric.memoryUtilization(percent)), new RegExp(`^ValidationError: autoscaling\\.metrics\\[1\\]\\.utilization: ${percent} is out of range`));
  }
  assert.throws(refused(AutoscalingMetric.resourceAverageValue(MetricResource.CPU, '0')), /^ValidationError: autoscaling\.metrics\[1\]\.averageValue: "0" is not a positive Kubernetes quantity/);
  assert.throws(refused(AutoscalingMetric.pods({ name: 'bad name', averageValue: '1' })), /^ValidationError: autoscaling\.metrics\[1\]\.name: "bad name" is not a metric name/);
  for (const percent of [10, 100]) synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, autoscaling: Autoscaling.reactive({ metrics: [AutoscalingMetric.cpuUtilization(percent)] }) }));
});

test('autoscaling: an adaptive job may cap its parallelism below the maximum; reactive mode has no parallelism of its own', () => {
  let app!: FlinkApplication;
  synth((s) => { app = new FlinkApplication(s, 'j', { job: JAR, ...DIRS, parallelism: 6, autoscaling: Autoscaling.adaptive({ min: 1, max: 4 }) }); });
  assert.equal(app.parallelism, 6);
  assert.equal(app.reactive, false);
  assert.equal(app.autoscaling?.mode, 'adaptive');
  assert.throws(() => synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, parallelism: 6, autoscaling: Autoscaling.reactive() })), /^ValidationError: parallelism: 6 is set in reactive mode/);
});

test('autoscaling: the reactive* props are a shorthand for Autoscaling.reactive with a CPU metric', () => {
  const short = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, reactive: true, reactiveMinTaskManagers: 2, reactiveMaxTaskManagers: 6, reactiveTargetCpuUtilization: 55, reactiveStabilizationTimeout: Duration.seconds(45),
  }));
  const typed = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, autoscaling: Autoscaling.reactive({ min: 2, max: 6, metrics: [AutoscalingMetric.cpuUtilization(55)], stabilizationTimeout: Duration.seconds(45) }),
  }));
  assert.deepEqual(short, typed);
  const hpa = find(short, 'HorizontalPodAutoscaler', 'j-taskmanager');
  assert.deepEqual(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 55 } } }]);
  assert.equal(flinkConfig(short, 'j')['scheduler-mode'], 'reactive');
  assert.equal(flinkConfig(short, 'j')['jobmanager.scheduler'], undefined);
  // The defaults: 1 to 4 TaskManagers at 70% CPU.
  const defaults = find(synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, autoscaling: Autoscaling.reactive() })), 'HorizontalPodAutoscaler', 'j-taskmanager');
  assert.deepEqual([defaults.spec.minReplicas, defaults.spec.maxReplicas, defaults.spec.metrics[0].resource.target.averageUtilization], [1, 4, 70]);
});

test('autoscaling: plan shows the range, the request at the maximum and a scale event as a restart from the latest checkpoint, in both modes', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  p.addApplication('reactive', { job: JAR, autoscaling: Autoscaling.reactive({ min: 2, max: 6 }) });
  p.addApplication('adaptive', { job: JAR, autoscaling: Autoscaling.adaptive({ min: 1, max: 3, stabilizationTimeout: Duration.seconds(30) }) });
  p.addApplication('fixed', { job: JAR, parallelism: 2 });
  const byName = Object.fromEntries(planPlatform(p).jobs.map((j) => [j.name, j]));
  for (const [name, mode, min, max] of [['reactive', 'reactive', 2, 6], ['adaptive', 'adaptive', 1, 3]] as const) {
    const j = byName[name];
    const app = p.unit(name)!.construct as FlinkApplication;
    const tm = { cpuMillis: app.taskManagerCpuMillis, memoryMiB: app.taskManagerMemoryMiB };
    assert.equal(j.autoscaling?.mode, mode);
    assert.deepEqual([j.autoscaling?.minTaskManagers, j.autoscaling?.maxTaskManagers], [min, max]);
    assert.equal(j.autoscaling!.atMax.memoryMiB - j.asApplication.memoryMiB, (max - min) * tm.memoryMiB);
    assert.match(j.autoscaling!.scaleEvent, /^a restart from the latest checkpoint \(state kept; up to \S+ of input read again\); a \(re\)start waits \S+ for more TaskManagers$/);
    assert.match(j.reason, new RegExp(`^${mode} scaling needs its own application cluster`));
  }
  assert.match(byName.adaptive.autoscaling!.scaleEvent, /waits 30s for more TaskManagers/);
  assert.equal(byName.fixed.autoscaling, undefined);
});

test('autoscaling: the chart carries the range, metrics and behavior as values, under a schema that refuses what the definitions refuse', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  p.addApplication('scaled', { job: JAR, autoscaling: Autoscaling.adaptive({ min: 2, max: 5, metrics: [RECORDS, LAG] }) });
  const [u] = synthesizePlatform(p);
  const hpa = u.objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
  const values = YAML.parse(u.chart['values.yaml']);
  assert.deepEqual(values.taskManager.autoscaling, { minReplicas: 2, maxReplicas: 5, metrics: hpa.spec.metrics, behavior: hpa.spec.behavior });
  assert.equal(values.taskManager.replicas, undefined, 'the HPA owns the count');
  const template = objectTemplate(u.chart, 'HorizontalPodAutoscaler', '-taskmanager');
  assert.match(template, /toYaml \.Values\.taskManager\.autoscaling\.metrics/);
  assert.match(template, /toYaml \.Values\.taskManager\.autoscaling\.behavior/);
  // The adaptive scheduler's parallelism is checked against the most TaskManagers.
  assert.match(u.chart['templates/_helpers.tpl'], /gt \(int \.Values\.job\.parallelism\) \(mul \(int \.Values\.taskManager\.autoscaling\.maxReplicas\) 2\)/);

  const schema = JSON.parse(u.chart['values.schema.json']);
  const check = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(schema);
  const errors = (v: unknown) => (check(v) ? [] : check.errors);
  assert.deepEqual(errors(values), []);
  const withAutoscaling = (a: Record<string, unknown>) => ({ ...values, taskManager: { ...values.taskManager, autoscaling: { ...values.taskManager.autoscaling, ...a } } });
  const bad: [string, Record<string, unknown>][] = [
    ['utilization above 100', { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 150 } } }] }],
    ['no metric', { metrics: [] }],
    ['a pods metric without a target', { metrics: [{ type: 'Pods', pods: { metric: { name: 'x' } } }] }],
    ['an external metric with a utilization target', { metrics: [{ type: 'External', external: { metric: { name: 'x' }, target: { type: 'Utilization', averageUtilization: 50 } } }] }],
    ['an unknown metric type', { metrics: [{ type: 'Queue', queue: {} }] }],
    ['a quantity with a unit of its own', { metrics: [{ type: 'Pods', pods: { metric: { name: 'x' }, target: { type: 'AverageValue', averageValue: '5 things' } } }] }],
    ['a policy of zero', { behavior: { scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 60 }] } } }],
    ['a window over an hour', { behavior: { scaleDown: { stabilizationWindowSeconds: 7200 } } }],
    ['an unknown behavior key', { behavior: { scaleSideways: {} } }],
  ];
  for (const [what, a] of bad) assert.notDeepEqual(errors(withAutoscaling(a)), [], what);
  assert.deepEqual(errors(withAutoscaling({ metrics: [{ type: 'External', external: { metric: { name: 'x' }, target: { type: 'Value', value: 300 } } }], behavior: {} })), [], 'a number as a quantity, Kubernetes\' default behavior');
});
