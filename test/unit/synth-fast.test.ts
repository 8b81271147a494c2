/**
 * The YAML emitter's fast paths (block and quoting shortcuts, memoized scalars) give exactly
 * what the plain rendering gives.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { emitTemplate, emitYaml, TplString } from '../../lib/synth/yaml';
import { generatedPlatform } from '../../bench/workload';

test('yaml: every object of the examples and of 60 generated jobs reads back equal, with the scalar memo cold and warm', () => {
  const platforms = [buildLogPlatform(PRODUCTION), generatedPlatform(60)];
  let objects = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (const platform of platforms) {
      for (const unit of platform.releaseUnits) {
        for (const obj of unit.chart.toJson()) {
          const text = emitYaml(obj);
          const docs = parseAllDocuments(text, { version: '1.1' });
          assert.equal(docs.length, 1);
          assert.deepEqual(docs[0].toJS(), obj, `${unit.name}: ${obj.kind}/${obj.metadata?.name}`);
          assert.deepEqual(parseAllDocuments(text)[0].toJS(), obj, `${unit.name}: ${obj.kind}/${obj.metadata?.name} (YAML 1.2)`);
          objects++;
        }
      }
    }
  }
  assert.ok(objects > 500, `${objects} objects`);
});

test('yaml: literal blocks indent every non-empty line, with and without empty lines; blanks at line ends force quotes', () => {
  assert.equal(emitYaml({ a: { b: 'x\ny\n' } }), '\na:\n  b: |\n    x\n    y\n');
  assert.equal(emitYaml({ a: 'x\n\ny\n\n' }), '\na: |+\n  x\n\n  y\n\n');
  assert.equal(emitYaml({ a: '\nx' }), '\na: |-\n\n  x\n');
  assert.equal(emitYaml({ a: '  x\ny' }), '\na: |2-\n    x\n  y\n');
  assert.equal(emitYaml({ a: 'x \ny' }), '\na: "x \\ny"\n');
  assert.equal(emitYaml({ a: 'x\ny\t' }), '\na: "x\\ny\\t"\n');
  assert.equal(emitYaml({ a: 'x\ry\n' }), '\na: "x\\ry\\n"\n');
});

test('yaml: template strings put every action in once, also when the text holds the token mark', () => {
  const t = new TplString(['ns-', '.Release.Name', '\nrest {{ x }}\n', '.Release.Namespace', '']);
  assert.equal(emitTemplate({ a: t }), '\na: |-\n  ns-{{ .Release.Name }}\n  rest {{ "{{" }} x {{ "}}" }}\n  {{ .Release.Namespace }}\n');
  const marked = new TplString(['\u00a7\u00a73\u00a7\u00a7 ', '.Release.Name', ' and ', '.Release.Namespace', '']);
  assert.equal(emitTemplate({ a: marked }), '\na: "{{ .Release.Namespace }} {{ .Release.Name }} and {{ .Release.Namespace }}"\n');
  // memoized renderings differ between plain YAML and templates
  assert.equal(emitYaml({ k: '{{x}}' }), '\nk: "{{x}}"\n');
  assert.equal(emitTemplate({ k: '{{x}}' }), '\nk: "{{ "{{" }}x{{ "}}" }}"\n');
  assert.equal(emitYaml({ k: '{{x}}' }), '\nk: "{{x}}"\n');
});
