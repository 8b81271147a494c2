/**
 * The migration guide from the Flink Kubernetes Operator: each operator example (copied unedited
 * under test/fixtures/operator-examples) against its definition in
 * examples/migration/operator-examples.ts, synthesized for the operator. Every leaf the example
 * sets must be in the output with the same value, unless README "Migrating from the operator's
 * examples" lists its path under that example as handled differently; a listed path that does
 * not differ fails too, so the guide and the definitions cannot drift apart. Every output object
 * is valid against the operator's CRDs and Kubernetes (strict).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as YAML from 'yaml';
import { OPERATOR_EXAMPLES } from '../../examples/migration/operator-examples';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { loadValidator } from '../support/k8s-schema';
import { compare, covered, guideDifferences, Json } from '../support/operator-compare';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'operator-examples');

function readExample(name: string): Json[] {
  return YAML.parseAllDocuments(fs.readFileSync(path.join(FIXTURES, name), 'utf8')).map((d) => d.toJS()).filter((d) => d);
}

function operatorOutput(name: string): Json[] {
  const platform = OPERATOR_EXAMPLES[name]();
  return synthesizePlatform(platform).flatMap((u) => operatorResources(platform.unit(u.name)!, u.objects));
}

const GUIDE = () => guideDifferences(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

/** An example whose guide lists the whole `FlinkDeployment`: the operator target refuses its definition, with one line. */
function refusedByOperatorTarget(listed: string[]): boolean {
  return listed.includes('FlinkDeployment');
}

test('migration: every operator example has a definition, a fixture and a section in the README guide', () => {
  const guide = GUIDE();
  assert.deepEqual([...guide.keys()].sort(), Object.keys(OPERATOR_EXAMPLES).sort());
  for (const name of Object.keys(OPERATOR_EXAMPLES)) assert.ok(readExample(name).length > 0, name);
});

test('migration: each definition carries every field its operator example sets, except the paths the guide lists with a reason, and each listed path does differ', () => {
  const guide = GUIDE();
  let total = 0;
  for (const name of Object.keys(OPERATOR_EXAMPLES)) {
    const listed = guide.get(name) ?? [];
    let output: Json[] = [];
    if (refusedByOperatorTarget(listed)) {
      assert.throws(() => operatorOutput(name), (e: Error) => e.name === 'ValidationError' && / is not possible for the operator target /.test(e.message) && !e.message.includes('\n'), name);
    } else {
      output = operatorOutput(name);
    }
    const { differing, compared } = compare(readExample(name), output);
    total += compared;
    const unexplained = differing.filter((d) => !covered(d.path, listed));
    assert.deepEqual(unexplained, [], `${name}: fields of the example the output does not carry, and the README guide does not list`);
    const stale = listed.filter((l) => !differing.some((d) => covered(d.path, [l])));
    assert.deepEqual(stale, [], `${name}: paths the README guide lists as handled differently that the output carries`);
  }
  assert.equal(total, 288, 'leaves the thirteen examples set');
});

test('migration: every object of every definition is valid against the operator CRDs and Kubernetes (strict)', async () => {
  const validate = await loadValidator();
  const guide = GUIDE();
  for (const name of Object.keys(OPERATOR_EXAMPLES)) {
    if (refusedByOperatorTarget(guide.get(name)!)) continue;
    const out = operatorOutput(name);
    assert.ok(out.some((o) => o.kind === 'FlinkDeployment'), name);
    assert.deepEqual(out.flatMap((o) => validate(o)), [], name);
  }
});

test('migration: the comparison sees a dropped field, a changed value and a nested configuration key', () => {
  const example = [{ kind: 'FlinkDeployment', metadata: { name: 'x' }, spec: {
    flinkConfiguration: { state: { 'checkpoints.dir': 'file:///c' }, 'taskmanager.numberOfTaskSlots': 2 },
    jobManager: { resources: { requests: { cpu: '1', memory: '2048m' } } },
    podTemplate: { spec: { containers: [{ name: 'flink-main-container', volumeMounts: [{ mountPath: '/d', name: 'v' }] }] } },
  } }];
  const main = { name: 'flink-main-container', volumeMounts: [{ mountPath: '/d', name: 'v' }] };
  const good = { kind: 'FlinkDeployment', metadata: { name: 'x' }, spec: {
    flinkConfiguration: { 'state.checkpoints.dir': 'file:///c', 'taskmanager.numberOfTaskSlots': '2' },
    jobManager: { resource: { cpu: 1, memory: '2048m' }, podTemplate: { spec: { containers: [main] } } },
    taskManager: { podTemplate: { spec: { containers: [main] } } },
  } };
  assert.deepEqual(compare(example, [good]).differing, []);
  const dropped = structuredClone(good);
  delete (dropped.spec.flinkConfiguration as Json)['state.checkpoints.dir'];
  dropped.spec.taskManager.podTemplate.spec.containers = [];
  dropped.spec.jobManager.resource.cpu = 2;
  assert.deepEqual(compare(example, [dropped]).differing.map((d) => d.path), [
    'FlinkDeployment.spec.flinkConfiguration["state.checkpoints.dir"]',
    'FlinkDeployment.spec.jobManager.resource.cpu',
    'FlinkDeployment.spec.podTemplate.spec.containers[flink-main-container].name',
    'FlinkDeployment.spec.podTemplate.spec.containers[flink-main-container].volumeMounts[/d].mountPath',
    'FlinkDeployment.spec.podTemplate.spec.containers[flink-main-container].volumeMounts[/d].name',
  ]);
});

test('migration: the guide\'s lists are read per example, a listed path covers the leaves under it and no other', () => {
  const readme = [
    '## Before', '', '### Migrating from the operator\'s examples', '', 'intro', '',
    '#### `a.yaml`', '', 'carries over.', '',
    '#### `b/c.yaml`', '', '| handled differently | why |', '|---|---|',
    '| `FlinkDeployment.spec.x`, `FlinkDeployment.spec.flinkConfiguration["a.b"]` | reason with `code` |', '| `FlinkStateSnapshot` | gone |', '',
    '## After', '', '#### `not-in-the-guide.yaml`', '| `FlinkDeployment.spec.y` | no |',
  ].join('\n');
  const guide = guideDifferences(readme);
  assert.deepEqual([...guide.entries()], [['a.yaml', []], ['b/c.yaml', ['FlinkDeployment.spec.x', 'FlinkDeployment.spec.flinkConfiguration["a.b"]', 'FlinkStateSnapshot']]]);
  const listed = guide.get('b/c.yaml')!;
  for (const p of ['FlinkDeployment.spec.x', 'FlinkDeployment.spec.x.y', 'FlinkDeployment.spec.x[0]', 'FlinkStateSnapshot.spec.savepoint.path', 'FlinkDeployment.spec.flinkConfiguration["a.b"]']) {
    assert.ok(covered(p, listed), p);
  }
  for (const p of ['FlinkDeployment.spec.xy', 'FlinkDeployment.spec', 'FlinkDeployment.spec.flinkConfiguration["a.bc"]', 'FlinkSessionJob.spec.x']) {
    assert.equal(covered(p, listed), undefined, p);
  }
});

test('migration: the TLS example, which the operator target refuses, runs on the toolkit\'s own manifests with its stores mounted and its passwords from the Secret', () => {
  const platform = OPERATOR_EXAMPLES['flink-tls-example/basic-secure.yaml']();
  const [u] = synthesizePlatform(platform);
  assert.throws(() => operatorResources(platform.unit(u.name)!, u.objects),
    /^ValidationError: flinkConfiguration\["security\.ssl\.key-password"\]: "FlinkConfigValue\.fromSecret\('basic-secure-cert-secret-creds', 'password'\)" is not possible for the operator target \("basic-secure"\): the operator's pods mount Flink's configuration read-only/);
  const config = YAML.parse(u.objects.find((o) => o.kind === 'ConfigMap' && o.data?.['config.yaml']).data['config.yaml']);
  const flat = (o: Json, p = ''): Record<string, unknown> => Object.assign({}, ...Object.entries(o).map(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? flat(v, `${p}${k}.`) : { [`${p}${k}`]: v })));
  const options = flat(config);
  assert.equal(options['security.ssl.internal.enabled'], true);
  assert.equal(options['security.ssl.keystore'], '/opt/flink/tls-cert/keystore.jks');
  assert.equal(options['security.ssl.truststore'], '/opt/flink/tls-cert/truststore.jks');
  assert.ok(!Object.keys(options).some((k) => /password/.test(k)), 'no password in the ConfigMap');
  for (const component of ['jobmanager', 'taskmanager']) {
    const pod = u.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `basic-secure-${component}`).spec.template.spec;
    const main = pod.containers.find((c: Json) => c.name === component);
    const properties: string = main.env.find((e: Json) => e.name === 'FLINK_PROPERTIES').value;
    for (const key of ['security.ssl.key-password', 'security.ssl.keystore-password', 'security.ssl.truststore-password']) {
      const variable = properties.match(new RegExp(`^${key.replace(/\./g, '\\.')}: \\$\\{(\\w+)\\}$`, 'm'))?.[1];
      assert.ok(variable, `${component}: ${key}`);
      assert.deepEqual(main.env.find((e: Json) => e.name === variable).valueFrom, { secretKeyRef: { name: 'basic-secure-cert-secret-creds', key: 'password' } });
    }
    assert.deepEqual(main.volumeMounts.find((m: Json) => m.mountPath === '/opt/flink/tls-cert'), { name: 'tls-cert', mountPath: '/opt/flink/tls-cert', readOnly: true });
    assert.deepEqual(pod.volumes.find((v: Json) => v.name === 'tls-cert').secret.secretName, 'basic-secure-cert');
  }
});
