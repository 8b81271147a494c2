/**
 * What a chart renames or turns into values is declared, not found in strings: references by
 * field path and the referenced object's identity, monitoring text by the tokens it was built
 * with; values.yaml always reads back as the defaults.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parse } from 'yaml';
import { JsonPatch } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { FlinkPlatform, JobSource } from '../../lib';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { objectTemplate } from '../support/helm-chart';
import { releaseReferences } from '../../lib/helm/references';
import { renderValues } from '../../lib/helm/values';
import { CLUSTER_NAME, CLUSTER_NAMESPACE, ReleaseTexts } from '../../lib/release-text';
import { TplScalar } from '../../lib/synth/yaml';

const SQL = JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n");

test('references: only declared fields that point at an object of the unit (same kind and name) follow the release', () => {
  const generated = new Set(['ConfigMap/app-config', 'Service/app-jobmanager']);
  const container = {
    name: 'app-config',
    env: [
      { name: 'JOB_MANAGER_RPC_ADDRESS', value: 'app-jobmanager' },
      { name: 'OTHER', value: 'app-jobmanager' },
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'k' } } },
      { name: 'B', valueFrom: { secretKeyRef: { name: 'app-config', key: 'k' } } },
      { name: 'C', valueFrom: { secretKeyRef: { name: 'app', key: 'k' } } },
    ],
  };
  const d = { kind: 'Deployment', spec: { template: { spec: { containers: [container], volumes: [{ name: 'app-config', configMap: { name: 'app-config' } }] } } } };
  const out = releaseReferences(d, 'Deployment', 'app', 'app', generated);
  const pod = out.spec.template.spec;
  const env = pod.containers[0].env;
  assert.ok(env[0].value instanceof TplScalar && env[0].value.expr === '{{ include "app.fullname" $ }}-jobmanager', 'the declared JobManager address');
  assert.equal(env[1].value, 'app-jobmanager', 'another variable\'s text');
  assert.ok(env[2].valueFrom.configMapKeyRef.name instanceof TplScalar, 'a reference to the unit\'s ConfigMap');
  assert.equal(env[3].valueFrom.secretKeyRef.name, 'app-config', 'a Secret named like a generated ConfigMap');
  assert.equal(env[4].valueFrom.secretKeyRef.name, 'app', 'a Secret named like the unit');
  assert.equal(pod.containers[0].name, 'app-config', 'a container name');
  assert.equal(pod.volumes[0].name, 'app-config', 'a volume name');
  assert.ok(pod.volumes[0].configMap.name instanceof TplScalar);
  assert.equal(d.spec.template.spec.containers[0].env[0].value, 'app-jobmanager', 'the input is not changed');
});

test('release text: only strings built with the tokens have a release-relative form', () => {
  const t = new ReleaseTexts('job', 'logs');
  const lit = t.literal({ expr: `up{namespace="${CLUSTER_NAMESPACE}",flink_cluster="${CLUSTER_NAME}"}`, text: 'the job failed', list: [`flink.${CLUSTER_NAME}`] });
  assert.deepEqual(lit, { expr: 'up{namespace="logs",flink_cluster="job"}', text: 'the job failed', list: ['flink.job'] });
  assert.deepEqual(t.parts(lit.expr), [{ text: 'up{namespace="' }, { token: 'namespace' }, { text: '",flink_cluster="' }, { token: 'name' }, { text: '"}' }]);
  assert.equal(t.parts('the job failed'), undefined);
  assert.equal(t.parts('job'), undefined);
});

test('charts: an application named "job": no alert runbook follows the release', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  p.addApplication('job', { job: SQL });
  const [u] = synthesizePlatform(p);
  const rules = objectTemplate(u.chart, 'PrometheusRule', '-alerts');
  const runbooks = rules.split('\n').filter((l) => l.trim().startsWith('runbook:'));
  assert.ok(runbooks.length >= 5 && runbooks.some((l) => /\bjob\b/.test(l)));
  assert.deepEqual(runbooks.filter((l) => l.includes('.Release.')), []);
  assert.match(rules, /flink_cluster=\\"\{\{ \.Release\.Name \}\}\\"/, 'the selectors do');
});

test('values: a value without a default is refused naming it; a reactive HPA patched to a memory metric gives that metric as loadable values', () => {
  assert.throws(() => renderValues({ a: { doc: 'A.', children: { b: { doc: 'B.', value: undefined, schema: {} } } } }, '# x'), /^Error: values\.yaml: a\.b has no default value$/m);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  const app = p.addApplication('reactive', { job: SQL, reactive: true });
  app.autoscaler!.addJsonPatch(JsonPatch.replace('/spec/metrics', [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString('3Gi') } } }]));
  const [u] = synthesizePlatform(p);
  const { minReplicas, maxReplicas, metrics } = parse(u.chart['values.yaml']).taskManager.autoscaling;
  assert.deepEqual({ minReplicas, maxReplicas, metrics }, { minReplicas: 1, maxReplicas: 4, metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '3Gi' } } }] });
  assert.doesNotMatch(objectTemplate(u.chart, 'HorizontalPodAutoscaler', '-taskmanager'), /targetCpuUtilization/);
  assert.doesNotMatch(u.chart['values.schema.json'], /targetCpuUtilization/);
});

test('charts: a Flink configuration file patched through the escape hatch is refused in one line naming it; other keys added to the ConfigMap pass', () => {
  const unit = (patch: JsonPatch) => {
    const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
    p.addApplication('patched', { job: SQL }).configMap.addJsonPatch(patch);
    return synthesizePlatform(p)[0];
  };
  assert.throws(() => unit(JsonPatch.replace('/data/config.yaml', 'x: 1\n')).chart,
    /^ValidationError: patched: configMap\.data\["config\.yaml"\]: "changed by a JSON patch" cannot be carried into the chart; expected Flink keys through flinkConfiguration or addFlinkConfiguration$/m);
  assert.match(unit(JsonPatch.add('/data/extra.txt', 'hello')).chart['templates/flink-config.yaml'], /extra\.txt: hello/);
});
