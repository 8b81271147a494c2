import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parse } from 'yaml';
import { defaults, renderValues, ValueTree } from '../../lib/helm/values';
import * as yamlEmitter from '../../lib/synth/yaml';

const leaf = (value: unknown) => ({ doc: 'A value.', value, schema: {} });

/** Values whose text is easy to get wrong: strings that read as other types, line breaks kept, odd keys. */
const TRICKY: ValueTree = {
  image: { doc: 'The image.', children: { tag: leaf('1.20'), pullPolicy: leaf('IfNotPresent'), yes: leaf('yes'), nothing: leaf('null') } },
  text: leaf('line one\nline two\n'),
  keep: leaf('kept\n\n\n'),
  strip: leaf('  indented\nno break'),
  numbers: leaf([1, 2.5, '3', 0]),
  empty: { doc: 'Empty ones.', children: { map: leaf({}), list: leaf([]), string: leaf('') } },
  annotations: leaf({ 'example.com/key': 'v: x', '# not a comment': '#', 'a b': true }),
};

test('values.yaml reads back as the defaults, for values whose text is easy to get wrong (both read-back paths)', () => {
  // each value's text is read back on its own
  const { keep: _keep, ...composable } = TRICKY;
  const text = renderValues(composable, '# header');
  assert.deepEqual(parse(text, { schema: 'core' }), defaults(composable));
  // `keep` ends in a block that keeps its line breaks, which the file's layout trims: the whole
  // file is read back, and it is refused rather than shipped as another value
  assert.throws(() => renderValues(TRICKY, '# header'), /^Error: values\.yaml: the rendered text reads back as other values than the definition's defaults:/);
  // a subtree key that is not a plain word: the whole file again
  const odd = { 'odd key': { doc: 'Odd.', children: { x: leaf('y') } } } as ValueTree;
  assert.deepEqual(parse(renderValues(odd, '# h'), { schema: 'core' }), { 'odd key': { x: 'y' } });
});

test('a value whose text reads back as something else is refused, naming it (each read-back path)', (t) => {
  const real = yamlEmitter.emitYaml;
  t.after(() => { (yamlEmitter as { emitYaml: unknown }).emitYaml = real; });
  // An emitter that forgets to quote a string that reads as a boolean.
  (yamlEmitter as { emitYaml: unknown }).emitYaml = (o: Record<string, unknown>) => {
    const [k, v] = Object.entries(o)[0] ?? [];
    return v === 'true' ? `${k}: true\n` : real(o);
  };
  const tree: ValueTree = { job: { doc: 'The job.', children: { mode: leaf('true'), name: leaf('x') } } };
  assert.throws(() => renderValues(tree, '# h'), /^Error: values\.yaml: job\.mode reads back as another value than the definition's default:\nmode: true$/);
  const odd = { 'odd key': { doc: 'Odd.', children: { mode: leaf('true') } } } as ValueTree;
  assert.throws(() => renderValues(odd, '# h'), /^Error: values\.yaml: the rendered text reads back as other values than the definition's defaults:/);
});
