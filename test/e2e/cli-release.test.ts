import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as YAML from 'yaml';
import { ensureHelm } from '../support/tools';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'build', 'lib', 'cli', 'main.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const major of [3, 4] as const) {
  test(`cli deploy --dry-run (helm ${major}): renders the release with the given values on stdout, progress on stderr`, async () => {
    const helm = await ensureHelm(major);
    const r = cli(['deploy', 'audit-logs', '-n', 'logs', '--dry-run', '--helm', helm, '--set', 'image.tag=1.20.5-0.9.9', '--set', 'taskManager.replicas=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^\$ helm template audit-logs .*charts\/audit-logs --namespace logs --set image.tag=1.20.5-0.9.9 --set taskManager.replicas=3\n/);
    const objs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON()).filter(Boolean);
    const tm = objs.find((o: any) => o.kind === 'Deployment' && o.metadata.name === 'audit-logs-taskmanager');
    assert.equal(tm.spec.replicas, 3);
    assert.equal(tm.spec.template.spec.containers[0].image, 'registry.example.com/logs/flink-runtime:1.20.5-0.9.9');
  });
}

test('cli deploy, status, rollback, suspend, resume: helm\'s failure becomes one line and exit 1', async () => {
  const helm = await ensureHelm(4);
  const bad = cli(['deploy', 'audit-logs', '-n', 'logs', '--dry-run', '--helm', helm, '--set', 'job.parallelism=9']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\ncdk8s-flink: error: job\.parallelism: 9 exceeds the 2 slots of 1 TaskManagers x 2 slots; raise taskManager.replicas\n$/);
  const schema = cli(['deploy', 'audit-logs', '--dry-run', '--helm', helm, '--set', 'job.upgradeMode=rolling']);
  assert.equal(schema.code, 1);
  assert.match(schema.stderr.split('\n').filter(Boolean).pop()!, /^cdk8s-flink: error: .*upgradeMode/);
  for (const cmd of [['deploy', 'audit-logs', '--timeout', '5s'], ['status', 'audit-logs'], ['rollback', 'audit-logs'], ['suspend', 'audit-logs'], ['resume', 'audit-logs']]) {
    const r = cli([...cmd, '-n', 'logs', '--helm', helm]);
    assert.equal(r.code, 1, `${cmd[0]}: ${r.stderr}`);
    const last = r.stderr.split('\n').filter(Boolean).pop()!;
    assert.match(last, /^cdk8s-flink: error: kubernetes cluster unreachable/, cmd[0]);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const nochart = cli(['deploy', 'nope', '--helm', helm]);
  assert.equal(nochart.code, 1);
  assert.equal(nochart.stderr, 'cdk8s-flink: error: no chart for "nope" in charts/: run "cdk8s-flink synth" first, or pass --charts\n');
  const rev = cli(['rollback', 'audit-logs', 'two', '--helm', helm]);
  assert.equal(rev.stderr, 'cdk8s-flink: error: revision: "two" is invalid; expected a positive revision number\n');
  const nohelm = cli(['status', 'audit-logs', '--helm', '/nonexistent/helm']);
  assert.equal(nohelm.code, 1);
  assert.match(nohelm.stderr, /^cdk8s-flink: error: --helm: "\/nonexistent\/helm" does not run/);
});
