/**
 * A session cluster's TaskManager pool under real tools: its chart renders dist/ with its
 * default values, takes the pool's settings and image from values, refuses bad ones in one line
 * (schema and template check); every object (dist/, the chart with values, the operator target)
 * is valid under the strict Kubernetes and operator schemas, restricted, and accepted by a real
 * API server (`kubectl create --dry-run=server --validate=strict`). The pool scaling pods is the
 * real node's test (test/e2e/e2e-node-ha.test.ts).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { FlinkPlatform, JobSource, restrictedViolations } from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { ControlPlane, startControlPlane } from '../support/control-plane';
import { assertRendersDist, find, render, renderError, writeChart } from '../support/helm-chart';
import { loadValidator } from '../support/k8s-schema';
import { ensureHelm } from '../support/tools';

const NS = 'logs';
const SQL = JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n");

function platform() {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: NS });
  const cluster = p.addSessionCluster('elastic', { taskManagerSlots: 4, taskManagerPool: { min: 2, max: 8, spareSlots: 2, scaleDownDelay: Duration.minutes(3) } });
  p.addSessionJob('errors', { cluster, job: SQL, parallelism: 12 });
  return { p, units: synthesizePlatform(p) };
}

let cp: ControlPlane | undefined;
after(async () => { await cp?.stop(); });

test('session pool chart: default values render dist/; values set the pool\'s bounds, delay and image; bad values are refused in one line', async () => {
  const bin = await ensureHelm(3);
  const u = platform().units.find((x) => x.name === 'elastic')!;
  assertRendersDist(bin, u);
  const chart = writeChart(u);
  const objs = render(bin, chart, 'other', ['taskManager.pool.min=0', 'taskManager.pool.max=20', 'taskManager.pool.spareSlots=0', 'taskManager.pool.scaleDownDelay=600s', 'taskManager.pool.image=registry.example.com/ops:1.2.3']);
  const pool = find(objs, 'Deployment', 'other-pool');
  const args: string[] = pool.spec.template.spec.containers[0].args;
  const arg = (name: string) => args[args.indexOf(name) + 1];
  assert.deepEqual([arg('--min'), arg('--max'), arg('--spare-slots'), arg('--scale-down-delay'), arg('--interval')], ['0', '20', '0', '600s', '10s']);
  assert.equal(arg('--deployment'), 'other-taskmanager', 'the release\'s own TaskManagers');
  assert.equal(arg('--rest-url'), 'http://other-rest:8081');
  assert.equal(arg('--selector'), 'app.kubernetes.io/name=elastic,app.kubernetes.io/instance=other,app.kubernetes.io/component=taskmanager');
  assert.equal(pool.spec.template.spec.containers[0].image, 'registry.example.com/ops:1.2.3');
  assert.equal(pool.spec.template.metadata.labels['cdk8s-flink/rest-client'], 'other', 'the release\'s NetworkPolicy admits it to the REST API');
  assert.deepEqual(find(objs, 'Role', 'other-pool').rules[0].resourceNames, ['other-taskmanager']);
  assert.deepEqual(find(objs, 'RoleBinding', 'other-pool').subjects, [{ kind: 'ServiceAccount', name: 'other-pool', namespace: 'logs' }]);
  assert.equal(find(objs, 'Deployment', 'other-taskmanager').spec.replicas, undefined);
  // the NetworkPolicy's REST clients select the pool's pod
  const rest = find(objs, 'NetworkPolicy', 'other').spec.ingress[1].from;
  assert.ok(rest.some((p: any) => p.podSelector?.matchLabels?.['cdk8s-flink/rest-client'] === 'other'));
  assert.match(renderError(bin, chart, ['taskManager.pool.min=9']), /taskManager\.pool\.min: 9 is above taskManager\.pool\.max \(8\); expected at most max/);
  assert.match(renderError(bin, chart, ['taskManager.pool.scaleDownDelay=5m']), /scaleDownDelay/);
  assert.match(renderError(bin, chart, ['taskManager.pool.max=0']), /max/);
  assert.match(renderError(bin, chart, ['taskManager.replicas=3']), /replicas/, 'no fixed count beside the pool');
});

test('session pool: every object of dist/, the chart and the operator target is strictly valid and restricted, and a real API server accepts the pool\'s objects', async () => {
  const bin = await ensureHelm(3);
  const { p, units } = platform();
  const u = units.find((x) => x.name === 'elastic')!;
  const validate = await loadValidator();
  const rendered = render(bin, writeChart(u), 'elastic');
  const operator = operatorResources(p.unit('elastic')!, u.objects);
  for (const [what, objs] of [['dist/', u.objects], ['chart', rendered], ['operator', operator]] as const) {
    assert.deepEqual(objs.flatMap((o: any) => validate(o)), [], what);
    assert.deepEqual(restrictedViolations(objs as any[]), [], what);
  }
  cp = await startControlPlane({ nodes: 1 });
  await cp.createNamespace(NS, { podSecurity: 'restricted' });
  const pool = u.objects.filter((o) => o.metadata.name === 'elastic-pool' || o.metadata.name === 'elastic-taskmanager');
  assert.deepEqual(pool.map((o) => o.kind).sort(), ['Deployment', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'ServiceAccount']);
  const r = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-f', '-'], { input: pool.map((o) => JSON.stringify(o)).join('\n') });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const kind of ['serviceaccount', 'role.rbac.authorization.k8s.io', 'rolebinding.rbac.authorization.k8s.io', 'deployment.apps']) {
    assert.match(r.stdout, new RegExp(`${kind.replace(/\./g, '\\.')}/elastic-pool created \\(server dry run\\)`));
  }
});
