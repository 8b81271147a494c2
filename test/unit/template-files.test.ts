import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { OBJECTS_TEMPLATE, templatesInOneFile } from '../../lib/helm/template-files';

// One objects template per chart: the documents keep the order by kind and then by the names one
// file each would have had, a switched document carries its own separator, and files that others
// read stay alone.

test('template files: one objects template, documents by kind and then by their old file names, the others untouched', () => {
  const files = {
    'templates/service-rest.yaml': 'kind: Service # rest\n',
    'templates/added-service-mine.yaml': 'kind: Service # mine',
    'templates/service-jobmanager.yaml': 'kind: Service # jobmanager\n',
    'templates/role-hooks.yaml': 'kind: Role # hooks\n',
    'templates/flink-config.yaml': 'kind: ConfigMap # config\n',
    'templates/configmap-handoff.yaml': 'kind: ConfigMap # handoff\n',
    'templates/added-configmap-a.yaml': 'kind: ConfigMap # added a\n',
    'templates/_helpers.tpl': '{{- define "x" }}{{ end }}\n',
    'templates/NOTES.txt': 'notes\n',
    'templates/tests/pod-test.yaml': 'kind: Pod\n',
    'values.yaml': 'a: 1\n',
  };
  const out = templatesInOneFile(files, ['templates/flink-config.yaml']);
  assert.equal(OBJECTS_TEMPLATE, 'templates/resources.yaml');
  assert.deepEqual(Object.keys(out).sort(), [
    'templates/NOTES.txt', 'templates/_helpers.tpl', 'templates/flink-config.yaml', 'templates/resources.yaml',
    'templates/tests/pod-test.yaml', 'values.yaml',
  ]);
  assert.equal(out[OBJECTS_TEMPLATE], 'kind: ConfigMap # added a\n---\nkind: ConfigMap # handoff\n---\nkind: Role # hooks\n'
    + '---\nkind: Service # mine\n---\nkind: Service # jobmanager\n---\nkind: Service # rest\n');
  assert.equal(out['templates/flink-config.yaml'], files['templates/flink-config.yaml']);
  assert.equal(out['values.yaml'], files['values.yaml']);
});

test('template files: a document that is one {{- if }} has its separator inside it; one that only begins with an if has it outside', () => {
  const out = templatesInOneFile({
    'templates/serviceaccount-a.yaml': 'kind: ServiceAccount # a\n',
    'templates/serviceaccount-b.yaml': '{{- if .Values.b }}\nkind: ServiceAccount # b\n{{- end }}\n',
    'templates/serviceaccount-c.yaml': '{{- if .Values.c }}\nx: 1\n{{- end }}\nkind: ServiceAccount # c\n{{- if .Values.d }}\ny: 2\n{{- end }}\n',
    'templates/ingress.yaml': '{{- if .Values.ingress.enabled }}\nkind: Ingress\n{{- end }}\n',
  });
  assert.equal(out[OBJECTS_TEMPLATE], '{{- if .Values.ingress.enabled }}\nkind: Ingress\n{{- end }}\n'
    + '---\nkind: ServiceAccount # a\n'
    + '{{- if .Values.b }}\n---\nkind: ServiceAccount # b\n{{- end }}\n'
    + '---\n{{- if .Values.c }}\nx: 1\n{{- end }}\nkind: ServiceAccount # c\n{{- if .Values.d }}\ny: 2\n{{- end }}\n');
});

test('template files: a template of its own named like the objects template is refused', () => {
  assert.throws(() => templatesInOneFile({ 'templates/resources.yaml': 'kind: X\n' }), /templates\/resources\.yaml is the chart's one objects template/);
});
