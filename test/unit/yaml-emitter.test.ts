import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as YAML from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { emitYaml } from '../../lib/synth/yaml';

const TRICKY = [
  '', ' ', 'a', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'null', '~', 'true', 'False', '1', '-1', '+1', '1.5', '1e3', '.5', '0x1F', '0o17', '017',
  '1_000', '12:30', '12:30:45.5', '2026-11-22', '2026-11-22T10:00:00Z', '.inf', '-.Inf', '.nan', '=', '<<', '---', '...', '--- a', '... b',
  'a: b', 'a:b', 'x:', 's3://bucket/p', 'hdfs://nn:8020/x', 'user@host', '1:2', 'a #b', '#x', '- x', '-x', '?x', '? x', ':x', '[a]', '{a}', '*a', '&a', '!a', '|a', '>a', "'a'", '"a"', '%a', '@a', '`a`',
  'a\nb', 'a\nb\n', 'a\nb\n\n', '\na', ' a\nb', 'a \nb', 'a\n\nb\n', 'tab\there', 'ctl\u0001x', 'cr\r\nx', 'ls\u2028x', 'nel\u0085x',
  'bom\ufeffx', 'ünï', '0.0.0.0', '1.20.3', '2048m', '60s', 'flink:1.20.3-java17', 'app.kubernetes.io/name', '$(POD_IP)',
  '-Djobmanager.rpc.address=$(POD_IP)', '${env:X}', 'a,b', 'x=y', 'path/to/file.yaml', ' lead', 'trail ', 'a  b', 'a - b', 'a b c',
];

test('yaml: every tricky string survives emit -> parse under YAML 1.2 and 1.1', () => {
  const doc = { plain: Object.fromEntries(TRICKY.map((s, i) => [`k${i}`, s])), keys: Object.fromEntries(TRICKY.filter((s) => !s.includes('\n')).map((s) => [s, s])), list: TRICKY };
  const text = emitYaml(doc);
  assert.deepEqual(YAML.parse(text), doc);
  assert.deepEqual(YAML.parse(text, { version: '1.1' }), doc);
});

test('yaml: numbers, booleans, null, empty collections and nesting round-trip', () => {
  const doc = { a: 1, b: -2.5, c: true, d: false, e: null, f: [], g: {}, h: [[1, [2]], { x: [{ y: 'z' }] }], i: [{}, []], j: { k: { l: { m: 'n' } } } };
  assert.deepEqual(YAML.parse(emitYaml(doc)), doc);
});

test('yaml: every example object round-trips and the output is block style like kubectl', () => {
  for (const u of synthesizePlatform(buildLogPlatform(PRODUCTION))) {
    for (const obj of u.objects) {
      const text = emitYaml(obj);
      assert.deepEqual(YAML.parse(text), obj, `${obj.kind}/${obj.metadata.name}`);
      assert.equal(YAML.parseDocument(text, { uniqueKeys: true }).errors.length, 0);
    }
  }
  assert.equal(emitYaml({ spec: { args: ['a', 'b'], cm: 'x\ny\n' } }), '\nspec:\n  args:\n    - a\n    - b\n  cm: |\n    x\n    y\n');
});
