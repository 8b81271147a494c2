/**
 * The throughput attribution's plan (bench/runtime/attribute.ts): which differences between the
 * generated and the stock configuration it measures, how each variant takes a key back, and the
 * per-round ratios. The stock file here stands in for the distribution's conf/config.yaml (the
 * keys the benchmark copies from the generated file, the JVM flags and the failover strategy it
 * sets); the benchmark itself reads the real one.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DeliveryGuarantee } from '../../lib';
import { attributionPoints, attributionVariants, formatAttribution, parseAttributionArgs } from '../../bench/runtime/attribute';
import { benchObjects, configDifferences, generatedConfig, STOCK_KEEPS } from '../../bench/runtime/job';
import { LifetimeResult } from '../../bench/runtime/lifetime';

const generatedFor = (delivery: DeliveryGuarantee) => generatedConfig(benchObjects({
  bootstrap: '127.0.0.1:9092', sourceTopic: 'in', sinkTopic: 'out', groupId: 'g', transactionalIdPrefix: 'tx', delivery, stateBase: 'file:///tmp/state',
}));

function stockLike(generated: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return {
    ...Object.fromEntries(Object.keys(STOCK_KEEPS).map((k) => [k, generated[k]])),
    'env.java.opts.all': '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
    'jobmanager.execution.failover-strategy': 'region',
    'jobmanager.rpc.address': 'localhost',
    'rest.address': 'localhost',
  };
}

test('attribution: every difference is a candidate or excluded with a reason; each candidate gets its own variant', () => {
  const generated = generatedFor(DeliveryGuarantee.EXACTLY_ONCE);
  const stock = stockLike(generated);
  const plan = attributionVariants(configDifferences(generated, stock), stock);
  assert.deepEqual(plan.candidates, ['execution.checkpointing.min-pause', 'metrics.reporter.prom.factory.class', 'taskmanager.memory.managed.fraction']);
  assert.ok(plan.excluded.every((e) => e.reason.length > 10), 'a reason for each excluded key');
  assert.ok(plan.excluded.some((e) => e.key === 'heartbeat.interval'));
  assert.deepEqual(plan.variants.map((v) => v.name), [
    'stock', 'generated',
    'without execution.checkpointing.min-pause', 'without metrics.reporter.prom.factory.class', 'without taskmanager.memory.managed.fraction',
    'without all candidates',
  ]);
  const minPause = plan.variants[2];
  assert.equal(minPause.config, 'generated');
  assert.deepEqual(minPause.without, ['execution.checkpointing.min-pause'], 'stock has no such key: removed, so Flink\'s default applies');
  assert.deepEqual(minPause.overrides, {});
  assert.deepEqual(plan.variants[5].without, plan.candidates);
});

test('attribution: a key stock sets is taken back as an override; --keys narrows; unknown and unclassified keys are refused', () => {
  const generated = generatedFor(DeliveryGuarantee.EXACTLY_ONCE);
  const stock = { ...stockLike(generated), 'taskmanager.memory.managed.fraction': 0.4 };
  const plan = attributionVariants(configDifferences(generated, stock), stock, ['taskmanager.memory.managed.fraction']);
  assert.deepEqual(plan.variants.map((v) => v.name), ['stock', 'generated', 'without taskmanager.memory.managed.fraction'], 'one candidate: no all-candidates variant');
  assert.deepEqual(plan.variants[2].overrides, { 'taskmanager.memory.managed.fraction': 0.4 });
  assert.deepEqual(plan.variants[2].without, []);
  assert.throws(() => attributionVariants(configDifferences(generated, stock), stock, ['heartbeat.interval']), /^Error: --keys: "heartbeat.interval" is not a candidate; expected one of /);
  const odd = { ...stockLike(generated), 'taskmanager.network.memory.fraction': 0.2 };
  assert.throws(() => attributionVariants(configDifferences(generated, odd), odd), /taskmanager\.network\.memory\.fraction: stock sets it and the generated file does not; classify it/);
});

test('attribution: the at-least-once file is classified as well', () => {
  const generated = generatedFor(DeliveryGuarantee.AT_LEAST_ONCE);
  const stock = stockLike(generated);
  const plan = attributionVariants(configDifferences(generated, stock), stock);
  assert.ok(plan.candidates.includes('execution.checkpointing.min-pause'));
});

test('attribution: ratios are taken within a round; a missing lifetime leaves its round out', () => {
  const life = (recordsPerSec: number): LifetimeResult => ({
    config: 'generated', delivery: DeliveryGuarantee.EXACTLY_ONCE, tag: 't', preloadRecordsPerSec: 1, startupMs: 1,
    throughput: { records: 1, ms: 1, recordsPerSec, firstOutputMs: 1, cpuMs: 1, cpuUsPerRecord: 100 },
    checkpoints: { completed: 1, failed: 0, avgEndToEndMs: 50 }, jobManagerKeys: 1, loadAverage: [0, 0],
  });
  const names = ['stock', 'generated', 'without x'];
  const points = attributionPoints(names, [
    { stock: life(1000), generated: life(800), 'without x': life(1000) },
    { stock: life(2000), generated: life(2000), 'without x': undefined },
    { stock: life(500), generated: life(450), 'without x': life(600) },
  ]);
  const x = points.find((p) => p.name === 'without x')!;
  assert.deepEqual(x.ofGenerated.runs, [1.25, 1.333]);
  assert.deepEqual(x.ofStock.runs, [1, 1.2]);
  assert.equal(points[1].ofStock.median, 0.9);
  const text = formatAttribution({
    kind: 'runtime-attribution', startedAt: '', durationMs: 0, command: '', quick: false, runs: 3, records: 1, delivery: DeliveryGuarantee.EXACTLY_ONCE,
    machine: { cpus: 2, loadAverageBefore: [], loadAverageAfter: [] }, versions: { flink: '2.2.1', kafka: '3.9.1' }, method: '',
    candidates: ['x'], excluded: [], variants: [], points, lifetimes: [], errors: ['r2-v2 (without x): boom'],
  });
  assert.match(text, /^without x {2}800\/s \[600-1000\] {2}of stock 1\.1 \[1-1\.2\] {2}of generated 1\.29 \[1\.25-1\.33\]/m);
  assert.match(text, /errors: r2-v2 \(without x\): boom$/);
});

test('attribution: arguments are checked, one line naming the value', () => {
  assert.deepEqual(parseAttributionArgs(['--runs', '2', '--keys', 'a,b', '--delivery', 'at-least-once']), { quick: false, runs: 2, delivery: DeliveryGuarantee.AT_LEAST_ONCE, keys: ['a', 'b'] });
  assert.throws(() => parseAttributionArgs(['--runs', '0']), /^Error: --runs: 0 is invalid; expected a whole number from 1 to 20$/);
  assert.throws(() => parseAttributionArgs(['--delivery', 'twice']), /^Error: --delivery: twice is invalid; expected one of /);
  assert.throws(() => parseAttributionArgs(['--out']), /^Error: --out: \(missing\) is invalid/);
  assert.throws(() => parseAttributionArgs(['--fast']), /^Error: --fast: unknown argument/);
});
