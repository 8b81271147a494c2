import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { templatesByKind } from '../../lib/helm/template-files';

// One template file per kind: the documents keep the order one file each would give, a switched
// document carries its own separator, and files that others read stay alone.

test('template files: one per kind, documents in the order of their old file names, the others untouched', () => {
  const files = {
    'templates/service-rest.yaml': 'kind: Service # rest\n',
    'templates/added-service-mine.yaml': 'kind: Service # mine',
    'templates/service-jobmanager.yaml': 'kind: Service # jobmanager\n',
    'templates/role-hooks.yaml': 'kind: Role # hooks\n',
    'templates/flink-config.yaml': 'kind: ConfigMap # config\n',
    'templates/configmap-handoff.yaml': 'kind: ConfigMap # handoff\n',
    'templates/_helpers.tpl': '{{- define "x" }}{{ end }}\n',
    'templates/NOTES.txt': 'notes\n',
    'templates/tests/pod-test.yaml': 'kind: Pod\n',
    'values.yaml': 'a: 1\n',
  };
  const out = templatesByKind(files, ['templates/flink-config.yaml']);
  assert.deepEqual(Object.keys(out).sort(), [
    'templates/NOTES.txt', 'templates/_helpers.tpl', 'templates/configmap.yaml', 'templates/flink-config.yaml',
    'templates/role.yaml', 'templates/service.yaml', 'templates/tests/pod-test.yaml', 'values.yaml',
  ]);
  assert.equal(out['templates/service.yaml'], 'kind: Service # mine\n---\nkind: Service # jobmanager\n---\nkind: Service # rest\n');
  assert.equal(out['templates/flink-config.yaml'], files['templates/flink-config.yaml']);
  assert.equal(out['templates/configmap.yaml'], files['templates/configmap-handoff.yaml']);
});

test('template files: a document that is one {{- if }} has its separator inside it; one that only begins with an if has it outside', () => {
  const out = templatesByKind({
    'templates/serviceaccount-a.yaml': 'kind: ServiceAccount # a\n',
    'templates/serviceaccount-b.yaml': '{{- if .Values.b }}\nkind: ServiceAccount # b\n{{- end }}\n',
    'templates/serviceaccount-c.yaml': '{{- if .Values.c }}\nx: 1\n{{- end }}\nkind: ServiceAccount # c\n{{- if .Values.d }}\ny: 2\n{{- end }}\n',
  });
  assert.equal(out['templates/serviceaccount.yaml'], 'kind: ServiceAccount # a\n'
    + '{{- if .Values.b }}\n---\nkind: ServiceAccount # b\n{{- end }}\n'
    + '---\n{{- if .Values.c }}\nx: 1\n{{- end }}\nkind: ServiceAccount # c\n{{- if .Values.d }}\ny: 2\n{{- end }}\n');
});
