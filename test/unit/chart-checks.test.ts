import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkConfiguration, FlinkConfigValue, FlinkVersion } from '../../lib';
import { FlinkCluster } from '../../lib/cluster/flink-cluster';
import { KEY } from '../../lib/config/flink-configuration';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { OptionCatalog } from '../../lib/config/catalog';
import { checkOptionValue, ENUM_WHAT, enumExpected, inRange, MAP_RULE, NUMBER_THEN_UNIT, PLACEHOLDER, RANGES, VALUE_RULES } from '../../lib/config/option-values';
import { describe } from '../../lib/errors';
import { ChartOptionRules, chartOptionRules, chartOptionType, keyCode, optionValueChecks } from '../../lib/helm/option-checks';

test('config: the managed keys are those typed props set, reserved and Secret-fed ones, never raw plain keys', () => {
  const c = new FlinkConfiguration(FlinkVersion.V2_2);
  c.set('taskmanager.numberOfTaskSlots', 2, 'taskManagerSlots');
  c.set('state.backend', 'rocksdb', 'stateBackend');
  c.reserve('execution.state-recovery.path', 'initialSavepointPath');
  c.setRaw('flinkConfiguration', { 'pipeline.object-reuse': true, 's3.secret-key': FlinkConfigValue.fromSecret('s3', 'key') });
  assert.deepEqual([...c.managed], [
    ['execution.state-recovery.path', 'initialSavepointPath'],
    ['s3.secret-key', 'flinkConfiguration["s3.secret-key"]'],
    ['state.backend.type', 'stateBackend'],
    ['taskmanager.numberOfTaskSlots', 'taskManagerSlots'],
  ]);
});

test('charts: every Flink key a cluster\'s model manages is refused in flinkConfiguration, naming its owner', () => {
  const platform = buildLogPlatform(PRODUCTION);
  let clusters = 0;
  for (const unit of platform.releaseUnits) {
    if (!(unit.construct instanceof FlinkCluster)) continue;
    clusters++;
    const managed = unit.construct.configuration.managed;
    assert.ok(managed.has('taskmanager.numberOfTaskSlots') && managed.has('rest.port'), `${unit.name}: slots and REST port are managed`);
    const helpers = synthesizeUnit(unit).chart['templates/_helpers.tpl'];
    const dict = /\{\{- \$managed := dict (.*) \}\}/.exec(helpers)?.[1] ?? '';
    for (const [k, owner] of managed) assert.ok(dict.includes(`${JSON.stringify(k)} ${JSON.stringify(owner)}`), `${unit.name}: ${k} (${owner})`);
  }
  assert.ok(clusters >= 4);
});

// ---------------------------------------------------------------------------------------------
// flinkConfiguration values: the chart's table against checkOptionValue

/**
 * The chart's check of one value, read from the table as the template reads it (key trie →
 * code → type → VALUE_RULES, RANGES, enums, maps); the message it fails with, or undefined.
 */
function chartVerdict(rules: ChartOptionRules, key: string, value: string | number | boolean): string | undefined {
  const code = keyCode(rules, key);
  if (!code || (typeof value === 'string' && PLACEHOLDER.test(value))) return undefined;
  const t = typeof value === 'string' ? value : JSON.stringify(value);
  const shown = describe(value);
  const type = rules.types[rules.codes.indexOf(code)];
  const split = !/['"]/.test(t);
  const not = (what: string, expected: string) => `flinkConfiguration["${key}"]: ${shown} is not ${what}; ${expected}`;
  if (type.kind === 'Map') {
    for (const entry of split ? t.split(',') : []) if (entry.trim() && entry.split(':').length !== 2) return not(MAP_RULE.what, MAP_RULE.expected);
    return undefined;
  }
  if (type.kind.startsWith('Enum')) {
    const accepted = type.values!.join(',').toUpperCase().split(',');
    for (const item of type.kind === 'EnumList' ? (split ? t.split(';') : []) : [t]) {
      if ((type.kind === 'Enum' || item.trim()) && !accepted.includes(item.toUpperCase())) return not(ENUM_WHAT, enumExpected(type.values!));
    }
    return undefined;
  }
  const rule = VALUE_RULES[type.kind];
  let u = rule.trim ? t.trim() : t;
  if (rule.lower) u = u.toLowerCase();
  let ok = new RegExp(rule.pattern).test(u);
  if (ok && rule.max) {
    const m = NUMBER_THEN_UNIT.exec(u.replace(/^[+-]/, ''))!;
    const digits = m[1].replace(/^0*/, '');
    const limit = String(u.startsWith('-') ? rule.max[''] + 1n : rule.max[m[2]] ?? rule.max['']);
    ok = digits.length < limit.length || (digits.length === limit.length && digits <= limit);
  }
  if (!ok) return not(rule.what, rule.expected);
  if (type.range === undefined) return undefined;
  const r = RANGES[type.range];
  return inRange(r, Number(u.replace(/[fFdD]$/, ''))) ? undefined : `flinkConfiguration["${key}"]: ${shown} is out of range; ${r.expected}`;
}

/** Values to try per kind: valid ones in Flink's spellings, and what Flink refuses. */
const VALUES: Record<string, (string | number | boolean)[]> = {
  Boolean: [true, false, 'TRUE', 'False', 'yes', '1', 0, ' true', ''],
  Integer: [4, '4', '+7', '-1', 0, -2, '2147483647', '-2147483648', '2147483648', '-2147483649', '0002147483647', '4.0', 1.5, '1e3', ' 4', 'two', '', 40000, 32768, 32769],
  Long: ['9223372036854775807', '-9223372036854775808', '9223372036854775808', 10_000_000_000, '10 s', true],
  Double: ['0.5', '.5', '5.', '1e-3', '-3', 0.25, '0.5d', ' 0.5 ', 'NaN', 'Infinity', 'half', '10%', '0,5', '1e', 1, '1.0', -0.1, '0.99', '0.15f'],
  Duration: ['500', 500, '500ms', '30 s', '30s', '1min', '10 SECONDS', '2 Minutes', '1d', '5µs', ' 30 s ', '1.5s', '-10s', '2 weeks', '1 month', 's', '', 'PT10S', '10 mins',
    '9223372036854775807ms', '9223372036854775808ms', '0009223372036854775807'],
  MemorySize: ['1024', 1024, '512mb', '512 MB', '64 kibibytes', '2g', '1t', '512Mi', '2GiB', '1.5g', '-1m', 'lots', '', '9000000tb', '8388607t', '8388608t', '9223372036854775807', '9223372036854775808', '8796093022207 m', '8796093022208m'],
  Map: ['a:1', 'a:1,b:2', '', 'a:1,', "'a:b':c", 'a=1', 'a:1,b', 'a:1:2'],
  Enum: ['x', '', ' x'],
  EnumList: ['x;y', ';', '"x"'],
};

test('charts: the flinkConfiguration value table agrees with checkOptionValue, key by key and value by value (1.20, 2.0, 2.2)', () => {
  for (const version of [FlinkVersion.V1_20, FlinkVersion.V2_0, FlinkVersion.V2_2]) {
    const rules = chartOptionRules(version)!;
    const catalog = OptionCatalog.for(version)!;
    // Every name the catalog types maps to its type's code, and names that take any text to none.
    let typed = 0;
    for (const [key, option] of catalog.typedKeys()) {
      const code = keyCode(rules, key);
      const type = chartOptionType(option);
      assert.deepEqual(code ? rules.types[rules.codes.indexOf(code)] : undefined, type, `${version.line} ${key}`);
      if (type) typed++;
    }
    assert.ok(typed > 600, `${version.line}: ${typed} typed keys`);
    // Keys the catalog does not know, and near misses of known ones, get no type. The trie
    // writes dots as "/", which no key passes the chart's key check with.
    assert.ok(!KEY.test('pipeline/object-reuse'));
    for (const key of ['my.connector.option', 'pipeline.object-reus', 'pipeline.object-reuse.x', 'pipelineXobject-reuse', 'pipeline', 'metrics.reporter.prom.port', 'toString', '__proto__', '']) {
      assert.equal(keyCode(rules, key), '', `${version.line} ${key}`);
    }
    // A sample of keys per type (every type, up to three keys each), each value of its kind.
    const byCode = new Map<string, string[]>();
    for (const [key, option] of catalog.typedKeys()) {
      const type = chartOptionType(option);
      if (!type) continue;
      const code = rules.codes[rules.types.findIndex((t) => JSON.stringify(t) === JSON.stringify(type))];
      const keys = byCode.get(code) ?? [];
      if (keys.length < 3) byCode.set(code, [...keys, key]);
    }
    assert.equal(byCode.size, rules.types.length);
    let compared = 0;
    let refused = 0;
    for (const [code, keys] of byCode) {
      const type = rules.types[rules.codes.indexOf(code)];
      const kind = type.kind === 'Float' ? 'Double' : type.kind;
      const values = [...VALUES[kind], ...(type.values ?? []).flatMap((v) => [v, v.toLowerCase(), `${v};${v.toLowerCase()}`])];
      for (const key of keys) {
        for (const value of [...values, '${env:X}']) {
          let ts: string | undefined;
          try {
            checkOptionValue(`flinkConfiguration["${key}"]`, catalog.option(key)!, value);
          } catch (e) {
            ts = (e as Error).message;
          }
          assert.equal(chartVerdict(rules, key, value), ts, `${version.line} ${key} = ${JSON.stringify(value)}`);
          compared++;
          if (ts) refused++;
        }
      }
    }
    assert.ok(compared > 1000 && refused > 400, `${version.line}: ${compared} compared, ${refused} refused`);
  }
});

test('charts: every chart carries its Flink version\'s value table, and a version without a catalog none', () => {
  const platform = buildLogPlatform(PRODUCTION);
  for (const unit of platform.releaseUnits) {
    const helpers = synthesizeUnit(unit).chart['templates/_helpers.tpl'];
    const version = (unit.construct as any).version ?? (unit.construct as any).cluster.version;
    const rules = chartOptionRules(version)!;
    assert.ok(helpers.includes(`{{- $flinkKeys := dict${Object.entries(rules.keys).map(([first, re]) => ` ${JSON.stringify(first)} ${JSON.stringify(re)}`).join('')} -}}`), `${unit.name}: the key tries of Flink ${version.line}`);
    assert.ok(helpers.includes(JSON.stringify(rules.codes)), `${unit.name}: the codes`);
  }
  assert.equal(chartOptionRules(FlinkVersion.V1_18), undefined);
  assert.deepEqual(optionValueChecks(FlinkVersion.V1_19), { tables: '', check: '' });
});
