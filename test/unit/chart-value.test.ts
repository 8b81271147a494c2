/**
 * Chart values in the model (lib/chart-value.ts): a field's literal in the object's JSON (dist/
 * and any plain cdk8s App), its template expression in the chart, the user's value where an
 * escape hatch changed it. On the synthesized objects alone (no helm).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiObject, App, Chart, JsonPatch, Testing } from 'cdk8s';
import { bindChartValues, renderChartValues, Tpl, unpatchedJson } from '../../lib/chart-value';
import { FlinkApplication, JobSource } from '../../lib';
import { TplBlock, TplScalar } from '../../lib/synth/yaml';

function object(build?: (o: ApiObject) => void): { obj: ApiObject; chart: Chart } {
  const chart = new Chart(new App(), 'c', { disableResourceNameHashes: true });
  const obj = new ApiObject(chart, 'd', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'main', image: 'flink:2.2.1' }, { name: 'side', image: 'busybox:1.36' }] } } },
  } as any);
  bindChartValues(obj, [
    { path: 'spec.replicas', expression: () => Tpl.scalar('{{ .Values.replicas }}') },
    { path: 'spec.template.spec.containers[name=main].image', expression: (c, literal) => Tpl.scalar(`{{ include "${c}.image" $ }}|${literal}`) },
    { path: 'spec.template.spec.nodeSelector', expression: () => Tpl.yamlIfSet('.Values.nodeSelector'), last: true },
    { path: 'spec.paused', expression: () => undefined },
  ]);
  build?.(obj);
  return { obj, chart };
}

const chartOf = (obj: ApiObject) => {
  const json = obj.toJson();
  return renderChartValues(obj, json, 'logs', unpatchedJson(obj, json));
};

test('chart values: the object\'s JSON holds the literals (a plain cdk8s App, dist/); the chart holds the expressions', () => {
  const { obj, chart } = object();
  const [json] = Testing.synth(chart);
  assert.equal(json.spec.replicas, 2);
  assert.equal(json.spec.template.spec.containers[0].image, 'flink:2.2.1');
  assert.ok(!('nodeSelector' in json.spec.template.spec));
  const rendered = chartOf(obj);
  assert.ok(rendered.spec.replicas instanceof TplScalar);
  assert.equal(rendered.spec.template.spec.containers[0].image.expr, '{{ include "logs.image" $ }}|flink:2.2.1', 'the expression gets the chart name and the literal');
  assert.deepEqual(rendered.spec.template.spec.containers[1], { name: 'side', image: 'busybox:1.36' }, 'only the named container');
  assert.deepEqual(Object.keys(rendered.spec.template.spec), ['containers', 'nodeSelector'], 'a field the model left out is added, last');
  assert.ok(!('paused' in rendered.spec), 'an expression of nothing adds nothing');
  assert.deepEqual(json, obj.toJson(), 'rendering the chart leaves the object as it was');
});

test('chart values: a field a JSON patch changed, added or removed stays the user\'s; the others still render from values', () => {
  const { obj } = object((o) => o.addJsonPatch(
    JsonPatch.replace('/spec/replicas', 5),
    JsonPatch.add('/spec/template/spec/nodeSelector', { pool: 'a' }),
  ));
  const rendered = chartOf(obj);
  assert.equal(rendered.spec.replicas, 5);
  assert.deepEqual(rendered.spec.template.spec.nodeSelector, { pool: 'a' });
  assert.ok(rendered.spec.template.spec.containers[0].image instanceof TplScalar);
  assert.deepEqual(obj.toJson().spec.replicas, 5, 'the patches are back in place');
  const removed = object((o) => o.addJsonPatch(JsonPatch.remove('/spec/template/spec/containers/0/image'))).obj;
  assert.ok(!('image' in chartOf(removed).spec.template.spec.containers[0]), 'a removed field is not put back');
});

test('chart values: bindings given as a function are read at rendering (items added after construction)', () => {
  const { obj } = object();
  const names: string[] = [];
  bindChartValues(obj, () => names.map((n) => ({ path: `spec.template.spec.containers[name=${n}].image`, expression: () => Tpl.block(`x ${n}`) })));
  names.push('side');
  const side = chartOf(obj).spec.template.spec.containers[1].image;
  assert.ok(side instanceof TplBlock);
  assert.equal(side.expr, 'x side');
});

test('chart values: an application declares its Deployments\' values where it builds them; a patched field stays literal unless its value defaults to it', () => {
  const chart = new Chart(new App(), 'c', { disableResourceNameHashes: true });
  const app = new FlinkApplication(chart, 'logs', { job: JobSource.jar({ entryClass: 'x.Y' }), checkpointDirectory: 's3://b/cp' });
  app.taskManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/imagePullPolicy', 'Always'));
  app.taskManagerDeployment.addJsonPatch(JsonPatch.replace('/spec/replicas', 3));
  const tm = chartOf(app.taskManagerDeployment);
  const flink = tm.spec.template.spec.containers.find((x: any) => x.name === 'taskmanager');
  assert.equal(flink.imagePullPolicy, 'Always');
  assert.equal(flink.image.expr, '{{ include "logs.image" $ }}');
  assert.equal(flink.resources.expr, 'include "logs.resources" .Values.taskManager.resources');
  assert.equal(tm.spec.replicas.expr, '{{ if eq .Values.job.state "suspended" }}0{{ else }}{{ .Values.taskManager.replicas }}{{ end }}', 'patched, but its value defaults to the field as rendered');
  const jm = chartOf(app.jobManagerDeployment);
  assert.equal(jm.spec.template.spec.containers[0].args.expr, 'include "logs.jobManagerArgs" .');
  assert.equal(jm.spec.template.spec.containers[0].imagePullPolicy.expr, '{{ .Values.image.pullPolicy }}');
});
