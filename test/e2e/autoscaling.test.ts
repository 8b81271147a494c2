/**
 * Autoscaling's HorizontalPodAutoscalers under real tools: a chart with pods and external metrics
 * and a custom behavior renders dist/ with its default values, takes other metrics from values,
 * refuses invalid ones in one line (schema and template check), and every HPA the toolkit writes
 * (dist/, the chart with values, the operator target) is accepted by a real API server
 * (`kubectl create --dry-run=server --validate=strict`) and by the strict Kubernetes schema.
 * No HPA controller scales anything here: that needs the real node.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { Autoscaling, AutoscalingMetric, FlinkPlatform, JobSource, MetricResource, restrictedViolations, ScalingPolicyType } from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import { AUTOSCALER_EVENT_CONTROLLER, deploymentEvents } from '../../lib/ops/autoscale';
import { Kube } from '../../lib/ops/kube';
import { synthesizePlatform, SynthesizedUnit } from '../../lib/synth/synthesize';
import { ControlPlane, startControlPlane } from '../support/control-plane';
import { assertRendersDist, find, render, renderError, writeChart } from '../support/helm-chart';
import { loadValidator } from '../support/k8s-schema';
import { ensureHelm } from '../support/tools';

const SQL = JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n");
const NS = 'logs';

function platform(): { p: FlinkPlatform; units: SynthesizedUnit[] } {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: NS });
  p.addApplication('adaptive', {
    job: SQL,
    autoscaling: Autoscaling.adaptive({
      min: 2, max: 5,
      metrics: [
        AutoscalingMetric.resourceAverageValue(MetricResource.MEMORY, '3Gi'),
        AutoscalingMetric.pods({ name: 'flink_taskmanager_job_task_numRecordsInPerSecond', averageValue: '2k' }),
        AutoscalingMetric.external({ name: 'kafka_consumergroup_lag', selector: { topic: 'logs' }, averageValue: '10k' }),
      ],
      behavior: { scaleUp: { stabilizationWindow: Duration.seconds(30), policies: [{ type: ScalingPolicyType.PERCENT, value: 50, period: Duration.minutes(1) }] } },
    }),
  });
  p.addApplication('reactive', { job: SQL, reactive: true, reactiveMaxTaskManagers: 3 });
  return { p, units: synthesizePlatform(p) };
}

let cp: ControlPlane | undefined;
let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-autoscaling-')); });
after(async () => {
  await cp?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('autoscaling chart: default values render dist/ (every metric and the behavior), values replace them, invalid ones are refused in one line', async () => {
  const bin = await ensureHelm(3);
  const { units } = platform();
  const u = units.find((x) => x.name === 'adaptive')!;
  assertRendersDist(bin, u);
  const chart = writeChart(u, path.join(dir, 'adaptive'));
  const cpu = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } } }];
  /** One CPU utilization metric as --set values (a list set by index replaces the list). */
  const cpuSets = (n: number) => ['type=Resource', 'resource.name=cpu', 'resource.target.type=Utilization', `resource.target.averageUtilization=${n}`].map((s) => `taskManager.autoscaling.metrics[0].${s}`);
  const objs = render(bin, chart, 'other', ['taskManager.autoscaling.maxReplicas=8', ...cpuSets(65), 'job.parallelism=16'], NS);
  const hpa = find(objs, 'HorizontalPodAutoscaler', 'other-taskmanager');
  assert.deepEqual(hpa.spec.metrics, cpu);
  assert.equal(hpa.spec.maxReplicas, 8);
  assert.equal(hpa.spec.scaleTargetRef.name, 'other-taskmanager');
  assert.equal(hpa.spec.behavior.scaleUp.policies[0].type, 'Percent');
  // behavior: {} leaves Kubernetes' defaults.
  assert.equal(find(render(bin, chart, 'adaptive', ['taskManager.autoscaling.behavior=null'], NS), 'HorizontalPodAutoscaler', 'adaptive-taskmanager').spec.behavior, undefined);
  assert.match(renderError(bin, chart, cpuSets(150)), /taskManager\.autoscaling\.metrics\.0: Must validate at least one schema/);
  assert.match(renderError(bin, chart, ['taskManager.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=7200']), /taskManager\.autoscaling\.behavior\.scaleDown\.stabilizationWindowSeconds: Must be less than or equal to 3600/);
  // The adaptive scheduler's parallelism is an upper bound the most TaskManagers must offer (the guard in lib/rules/guards.ts).
  assert.match(renderError(bin, chart, ['job.parallelism=11']), /job\.parallelism: 11 exceeds the 10 slots of taskManager\.autoscaling\.maxReplicas \(5\) TaskManagers x 2 slots/);
  // Reactive mode ignores the parallelism: no such check.
  const reactive = writeChart(units.find((x) => x.name === 'reactive')!, path.join(dir, 'reactive'));
  find(render(bin, reactive, 'reactive', ['job.parallelism=100'], NS), 'HorizontalPodAutoscaler', 'reactive-taskmanager');
});

test('autoscaling HPAs of dist/, of the charts with values and of the operator target pass the strict Kubernetes schema and a real API server\'s dry run', async () => {
  const bin = await ensureHelm(3);
  const { p, units } = platform();
  const hpas: any[] = [];
  for (const u of units) {
    hpas.push(...u.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler'));
    const chart = writeChart(u, path.join(dir, `dry-${u.name}`));
    hpas.push(...render(bin, chart, `${u.name}-b`, ['taskManager.autoscaling.minReplicas=3', 'taskManager.autoscaling.maxReplicas=6'], NS).filter((o) => o.kind === 'HorizontalPodAutoscaler'));
    hpas.push(...operatorResources(p.unit(u.name)!, u.objects).filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => ({ ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-op` } })));
  }
  // dist/ and the charts of both units (2 + 2) and the operator's HPA of the reactive one.
  assert.equal(hpas.length, 5);
  assert.ok(hpas.some((h) => h.spec.scaleTargetRef.kind === 'FlinkDeployment'));
  const validate = await loadValidator();
  assert.deepEqual(hpas.flatMap((h) => validate(h)), []);
  // The same strict validator catches a misspelled metric field.
  const typo = JSON.parse(JSON.stringify(hpas[0]));
  typo.spec.metrics[0].resource.targe = typo.spec.metrics[0].resource.target;
  assert.notDeepEqual(validate(typo), []);

  cp = await startControlPlane({ nodes: 1 });
  await cp.createNamespace(NS, { podSecurity: 'restricted' });
  const input = hpas.map((h) => JSON.stringify({ ...h, metadata: { ...h.metadata, namespace: NS } })).join('\n');
  const r = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-f', '-'], { input });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n').filter((l) => /horizontalpodautoscaler\.autoscaling\/\S+ created \(server dry run\)/.test(l)).length, 5, r.stdout);
  // The API server refuses what the definitions refuse: a utilization target of zero, max below min.
  const bad = JSON.parse(JSON.stringify(hpas[0]));
  bad.spec.minReplicas = 4;
  bad.spec.maxReplicas = 2;
  const refused = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-f', '-'], { input: JSON.stringify({ ...bad, metadata: { ...bad.metadata, namespace: NS } }) });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /maxReplicas/);
});

test('job autoscaler chart: default values render dist/; values set its range, target, window and image; bad values are refused in one line; its objects are strictly valid, restricted and accepted by a real API server', async () => {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: NS });
  p.addApplication('vertex-scaled', { job: SQL, checkpointing: true, parallelism: 2, taskManagerSlots: 2, jobAutoscaler: { maxParallelism: 8 } });
  const u = synthesizePlatform(p).find((x) => x.name === 'vertex-scaled')!;
  assertRendersDist(bin, u);
  const chart = writeChart(u, path.join(dir, 'vertex-scaled'));
  const objs = render(bin, chart, 'other', [
    'taskManager.jobAutoscaler.maxParallelism=16', 'taskManager.jobAutoscaler.targetUtilization=60', 'taskManager.jobAutoscaler.metricsWindow=600s',
    'taskManager.jobAutoscaler.maxTaskManagers=8', 'taskManager.jobAutoscaler.image=registry.example.com/ops:1.2.3',
  ], NS);
  const dep = find(objs, 'Deployment', 'other-autoscaler');
  const args: string[] = dep.spec.template.spec.containers[0].args;
  const arg = (name: string) => args[args.indexOf(name) + 1];
  assert.deepEqual(['--max-parallelism', '--target-utilization', '--window', '--max-task-managers', '--min-parallelism', '--stabilization'].map(arg), ['16', '60', '600s', '8', '1', '120s']);
  assert.equal(arg('--deployment'), 'other-taskmanager', 'the release\'s own TaskManagers');
  assert.equal(arg('--rest-url'), 'http://other-rest:8081');
  assert.equal(arg('--selector'), 'app.kubernetes.io/name=vertex-scaled,app.kubernetes.io/instance=other,app.kubernetes.io/component=taskmanager');
  assert.equal(dep.spec.template.spec.containers[0].image, 'registry.example.com/ops:1.2.3');
  assert.deepEqual(find(objs, 'Role', 'other-autoscaler').rules[0].resourceNames, ['other-taskmanager']);
  assert.equal(find(objs, 'Deployment', 'other-taskmanager').spec.replicas, undefined, 'the autoscaler owns the count');
  const rest = find(objs, 'NetworkPolicy', 'other').spec.ingress[1].from;
  assert.ok(rest.some((x: any) => x.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'autoscaler' && x.podSelector.matchLabels['app.kubernetes.io/instance'] === 'other'),
    'the release\'s NetworkPolicy admits the autoscaler to the REST API');
  assert.match(renderError(bin, chart, ['job.parallelism=9']), /job\.parallelism: 9 is outside taskManager\.jobAutoscaler's 1-8; expected a starting parallelism within it/);
  assert.match(renderError(bin, chart, ['taskManager.jobAutoscaler.minTaskManagers=5']), /taskManager\.jobAutoscaler\.minTaskManagers: 5 is above taskManager\.jobAutoscaler\.maxTaskManagers \(4\)/);
  assert.match(renderError(bin, chart, ['taskManager.jobAutoscaler.targetUtilization=5']), /targetUtilization/);
  assert.match(renderError(bin, chart, ['taskManager.jobAutoscaler.metricsWindow=5m']), /metricsWindow/);

  const validate = await loadValidator();
  for (const [what, xs] of [['dist/', u.objects], ['chart', objs]] as const) {
    assert.deepEqual(xs.flatMap((o: any) => validate(o)), [], what);
    assert.deepEqual(restrictedViolations(xs as any[]), [], what);
  }
  cp ??= await startControlPlane({ nodes: 1 });
  await cp.createNamespace('jobscaled', { podSecurity: 'restricted' });
  const own = u.objects.filter((o) => o.metadata.name === 'vertex-scaled-autoscaler' || o.metadata.name === 'vertex-scaled-taskmanager');
  const r = await cp.kubectl(['create', '--dry-run=server', '--validate=strict', '-n', 'jobscaled', '-f', '-'], { input: own.map((o) => JSON.stringify({ ...o, metadata: { ...o.metadata, namespace: 'jobscaled' } })).join('\n') });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const kind of ['serviceaccount', 'role.rbac.authorization.k8s.io', 'rolebinding.rbac.authorization.k8s.io', 'deployment.apps']) {
    assert.match(r.stdout, new RegExp(`${kind.replace(/\./g, '\\.')}/vertex-scaled-autoscaler created \\(server dry run\\)`));
  }

  // Its Events, recorded by the operations tool's client: its Role may create them (and no more of
  // them), and `kubectl describe deployment` finds them by the TaskManager Deployment's uid.
  const moved = own.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'jobscaled' }, ...(o.subjects ? { subjects: o.subjects.map((x: any) => ({ ...x, namespace: 'jobscaled' })) } : {}) }));
  const created = await cp.kubectl(['create', '-n', 'jobscaled', '-f', '-'], { input: moved.map((o) => JSON.stringify(o)).join('\n') });
  assert.equal(created.code, 0, created.stderr);
  const canI = async (verb: string) => (await cp!.kubectl(['auth', 'can-i', verb, 'events.events.k8s.io', '-n', 'jobscaled', '--as=system:serviceaccount:jobscaled:vertex-scaled-autoscaler'])).stdout.trim();
  assert.deepEqual([await canI('create'), await canI('list'), await canI('delete')], ['yes', 'no', 'no']);
  const logs: string[] = [];
  const report = deploymentEvents(Kube.fromKubeconfig(cp.kubeconfig), { namespace: 'jobscaled', deployment: 'vertex-scaled-taskmanager', selector: 'x' }, (m) => logs.push(m));
  await report('Rescaled', 'job j declared parallelism 4, 4 (was 2, 2): Source: logs: load 1.20 (busy 0.95, catch-up x1.26) at parallelism 2: to 4');
  await report('ParallelismNotReached', 'job j runs at parallelism 2, not the declared 4 (too few slots?)', 'Warning');
  assert.deepEqual(logs, [], 'both Events accepted');
  const uid = JSON.parse((await cp.kubectl(['get', 'deployment', 'vertex-scaled-taskmanager', '-n', 'jobscaled', '-o', 'json'])).stdout).metadata.uid;
  const events = JSON.parse((await cp.kubectl(['get', 'events', '-n', 'jobscaled', '--field-selector', 'involvedObject.kind=Deployment,involvedObject.name=vertex-scaled-taskmanager', '-o', 'json'])).stdout).items as any[];
  assert.deepEqual(events.filter((e) => e.reason !== 'ScalingReplicaSet').map((e) => [e.reason, e.type, e.involvedObject.kind, e.involvedObject.uid, e.reportingComponent]).sort(),
    [['ParallelismNotReached', 'Warning', 'Deployment', uid, AUTOSCALER_EVENT_CONTROLLER], ['Rescaled', 'Normal', 'Deployment', uid, AUTOSCALER_EVENT_CONTROLLER]]);
  assert.match((await cp.kubectl(['describe', 'deployment', 'vertex-scaled-taskmanager', '-n', 'jobscaled'])).stdout, /Rescaled .*job j declared parallelism 4, 4 \(was 2, 2\)/);
});
