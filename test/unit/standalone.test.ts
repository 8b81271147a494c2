/**
 * The repository stands alone: a clone with nothing beside it has every file its code and tests
 * read. No tracked source refers to a folder outside the repository, and the CRDs the tests
 * validate against and install are the repository's own.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { crdDirs } from '../support/k8s-schema';

const root = path.resolve(__dirname, '..', '..', '..');

test('standalone: no tracked source refers to a folder beside or above the repository', () => {
  const files = execFileSync('git', ['ls-files', '-z', '--', 'lib', 'test', 'scripts', 'bench', 'runtime', '.ci', 'examples', 'package.json', 'tsconfig.json', 'cdk8s.yaml'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && /\.(ts|js|json|sh|ya?ml|py|java|xml)$|(^|\/)(run|Dockerfile)$/.test(f));
  assert.ok(files.length > 50, `found only ${files.length} tracked files`);
  const outside = /(\.\.\/)+shared\b|\/work\/shared|\/work\/main/;
  const hits = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    return text.split('\n').flatMap((line, i) => (outside.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : []));
  });
  assert.deepEqual(hits, []);
});

test('standalone: the CRDs come from the repository, one per custom resource kind the toolkit emits or reads', () => {
  const dirs = process.env.CDK8S_FLINK_CRDS ? [path.join(root, 'test', 'support', 'crds')] : crdDirs();
  assert.deepEqual(dirs.map((d) => path.relative(root, d)), [path.join('test', 'support', 'crds')]);
  const names = fs.readdirSync(dirs[0]).filter((n) => /\.ya?ml$/.test(n)).sort();
  const readme = fs.readFileSync(path.join(dirs[0], 'README.md'), 'utf8');
  for (const n of names) assert.ok(readme.includes(`\`${n}\``), `test/support/crds/README.md names ${n} and its origin`);
  const kinds = names.map((n) => /\bkind: "?(\w+)"?/.exec(fs.readFileSync(path.join(dirs[0], n), 'utf8').split('names:')[1] ?? '')?.[1]);
  assert.deepEqual(kinds.sort(), ['FlinkDeployment', 'FlinkSessionJob', 'PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
});
