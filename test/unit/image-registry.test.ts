/**
 * One registry setting for every image of a release: FlinkPlatform's `imageRegistry` gives each
 * cluster the runtime image and each hook, test pod and submitter the operations image, fully
 * qualified; a cluster's or job's own image wins.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import Ajv from 'ajv';
import { checkImage, PINNED_IMAGE_SCHEMA } from '../../lib/cluster/image-ref';
import { FlinkPlatform, FlinkVersion, JobSource, RuntimeImage } from '../../lib';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { PACKAGE_VERSION } from '../../lib/version';

const DIRS = { checkpointDirectory: 's3://state/cp', savepointDirectory: 's3://state/sp' };

function platform(registry: string) {
  const p = new FlinkPlatform({ imageRegistry: registry });
  p.addApplication('app', { flinkVersion: FlinkVersion.V2_2, job: JobSource.sql('INSERT INTO t SELECT 1'), ...DIRS });
  p.addApplication('own', { image: 'other.example.com/flink:2.2.1', opsImage: 'other.example.com/ops:1', flinkVersion: FlinkVersion.V2_2, job: JobSource.sql('INSERT INTO t SELECT 1'), ...DIRS });
  const s = p.addSessionCluster('pool', { flinkVersion: FlinkVersion.V1_20, ...DIRS });
  p.addSessionJob('job', { cluster: s, job: JobSource.sql('INSERT INTO t SELECT 1') });
  return p;
}

test('imageRegistry: every pod and hook of every release runs an image of that registry, fully qualified', () => {
  const p = platform('registry.example.com/logs/');
  const units = synthesizePlatform(p);
  const images = (name: string) => units.find((u) => u.name === name)!.objects
    .flatMap((o) => { const t = o.spec?.template?.spec; return t ? [...(t.initContainers ?? []), ...t.containers].map((c: any) => c.image) : []; });
  assert.deepEqual([...new Set(images('app'))], [`registry.example.com/logs/flink-runtime:2.2.1-${PACKAGE_VERSION}`]);
  assert.deepEqual([...new Set(images('pool'))], [`registry.example.com/logs/flink-runtime:1.20.5-${PACKAGE_VERSION}`]);
  assert.deepEqual([...new Set(images('job'))], [`registry.example.com/logs/cdk8s-flink-ops:${PACKAGE_VERSION}`]);
  assert.match(units.find((u) => u.name === 'app')!.chart['values.yaml'], new RegExp(`\\n  image: registry\\.example\\.com/logs/cdk8s-flink-ops:${PACKAGE_VERSION.replace(/\./g, '\\.')}\\n`), 'the chart\'s hooks');
  // The runtime image says what it serves: a scheme it cannot serve is refused at synth.
  assert.ok((p.unit('app')!.construct as any).runtimeImage instanceof RuntimeImage);
  // A cluster's or job's own images win.
  assert.deepEqual([...new Set(images('own'))], ['other.example.com/flink:2.2.1']);
  assert.match(units.find((u) => u.name === 'own')!.chart['values.yaml'], /\n  image: other\.example\.com\/ops:1\n/);
});

test('imageRegistry: a name that is not a registry is refused with one line naming it', () => {
  for (const bad of ['logs', 'Registry.Example.com', 'registry.example.com//x', 'registry.example.com/x:1', 'https://registry.example.com']) {
    assert.throws(() => new FlinkPlatform({ imageRegistry: bad }), (e: Error) => e.message.startsWith(`imageRegistry: ${JSON.stringify(bad)} is not a registry`) && !e.message.includes('\n'), bad);
  }
  for (const good of ['registry.example.com', 'localhost:5000/team', 'localhost', '10.0.0.1:5000']) new FlinkPlatform({ imageRegistry: good });
});

test('a pinned image in one value: the constructs\' check and the charts\' values schema give the same verdict', () => {
  const schema = new Ajv({ strict: false }).compile(PINNED_IMAGE_SCHEMA);
  const hex = (n: number) => 'ab12'.repeat(n / 4);
  const cases = [
    'flink:1.20', 'flink', 'flink:latest', 'registry.example.com:5000/logs/ops:0.1.0', 'localhost/ops:1', '10.0.0.1:5000/ops:1',
    `ops@sha256:${hex(64)}`, `reg.example.com/ops:0.1.0@sha256:${hex(64)}`, `ops:latest@sha256:${hex(64)}`, `ops@sha512:${hex(128)}`,
    'ops@sha256:abc', `ops@md5:${hex(64)}`, 'Flink:1.0', 'ops:', 'ops:-bad', 'a//b:1', 'ops:1.0 ', '', 'ops:1@', `ops:${'x'.repeat(128)}`, `ops:${'x'.repeat(129)}`,
    'my_reg/ops:1', 'reg.example.com/Ops:1', 'reg.example.com/a__b/c-d.e:1_0',
  ];
  let accepted = 0;
  for (const image of cases) {
    let ts = true;
    try { checkImage('hooks.image', image); } catch { ts = false; }
    assert.equal(schema(image), ts, `${JSON.stringify(image)}: the constructs ${ts ? 'accept' : 'refuse'} it, the values schema ${ts ? 'refuses' : 'accepts'} it`);
    if (ts) accepted++;
  }
  assert.ok(accepted >= 8 && cases.length - accepted >= 8, `both verdicts exercised (${accepted} accepted)`);
});
