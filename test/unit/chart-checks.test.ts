import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkConfiguration, FlinkConfigValue, FlinkVersion } from '../../lib';
import { FlinkCluster } from '../../lib/cluster/flink-cluster';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';

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
