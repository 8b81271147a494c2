/**
 * A chart changes only what the definition's model declares (lib/helm/references.ts,
 * lib/release-text.ts, the toolkit's containers by name), under a real helm: a job named like a
 * word of the alert texts, a Secret named like its job, containers, an HPA metric and volumes named
 * like Kafka CA volumes added through escape hatches. Each chart renders dist/ with default values; under another release
 * name only the names the unit generates and the text generated with the cluster's name follow
 * the release.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { Chart, JsonPatch } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { EnvValue, FieldType, FlinkPlatform, FlinkPlatformProps, JobSource, KafkaTls, LogPipeline, ScrapeMode, Sink, VolumeSource } from '../../lib';
import { synthesizePlatform, SynthesizedUnit } from '../../lib/synth/synthesize';
import { assertRendersDist, find, helm, normalize, render, renderError, writeChart } from '../support/helm-chart';
import { ensureHelm } from '../support/tools';

const SQL = JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n");

/** Synthesizes the one unit a platform defines, writes its chart to a temporary folder removed after `fn`. */
async function withUnit(define: (p: FlinkPlatform) => void, fn: (u: SynthesizedUnit, chart: string, bin: string) => void, props: Partial<FlinkPlatformProps> = {}): Promise<void> {
  const bin = await ensureHelm(3);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', ...props });
  define(p);
  const [u] = synthesizePlatform(p);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-owner-'));
  try {
    assertRendersDist(bin, u);
    fn(u, writeChart(u, dir), bin);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const distOf = (u: SynthesizedUnit, kind: string, name: string) => normalize(u.objects.find((o) => o.kind === kind && o.metadata.name === name));

test('charts: an application named "job" keeps the word "job" in its alert texts; only the generated selectors and cluster references follow the release', async () => {
  await withUnit((p) => p.addApplication('job', { job: SQL, namespace: 'logs' }), (u, chart, bin) => {
    const dist = distOf(u, 'PrometheusRule', 'job-alerts').spec.groups;
    const rendered = find(render(bin, chart, 'etl', [], 'team-x'), 'PrometheusRule', 'etl-alerts').spec.groups;
    const texts = dist.flatMap((g: any) => g.rules.flatMap((r: any) => Object.values(r.annotations))) as string[];
    assert.ok(texts.filter((t) => /\bjob\b/.test(t)).length >= 5, 'the alert texts use the word "job"');
    assert.equal(rendered[0].name, 'flink.team-x.etl');
    dist[0].rules.forEach((r: any, i: number) => {
      const got = rendered[0].rules[i];
      assert.equal(got.alert, r.alert);
      assert.equal(got.expr, r.expr.replaceAll('namespace="logs"', 'namespace="team-x"').replaceAll('flink_cluster="job"', 'flink_cluster="etl"'), r.alert);
      // Only where the text names the cluster (<namespace>/<name>) does it follow the release.
      for (const [k, v] of Object.entries(r.annotations)) assert.equal(got.annotations[k], (v as string).replaceAll('logs/job', 'team-x/etl'), `${r.alert} ${k}`);
    });
  });
});

test('charts: a Secret the user names like the job, and a ConfigMap the user adds to its chart, stay as named; the references to the job\'s own objects follow the release', async () => {
  await withUnit((p) => {
    const app = p.addApplication('access-logs', {
      job: SQL, namespace: 'logs',
      env: { PASSWORD: EnvValue.fromSecret('access-logs', 'password'), EXTRA: EnvValue.fromConfigMap('access-logs-extra', 'k') },
    });
    new k8s.KubeConfigMap(Chart.of(app), 'extra', { metadata: { name: 'access-logs-extra', namespace: 'logs' }, data: { k: 'v' } });
  }, (_u, chart, bin) => {
    const objs = render(bin, chart, 'access-b');
    assert.deepEqual(find(objs, 'ConfigMap', 'access-logs-extra').data, { k: 'v' });
    for (const c of ['jobmanager', 'taskmanager']) {
      const pod = find(objs, 'Deployment', `access-b-${c}`).spec.template.spec;
      const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e]));
      assert.deepEqual(env.PASSWORD.valueFrom.secretKeyRef, { name: 'access-logs', key: 'password' }, c);
      assert.deepEqual(env.EXTRA.valueFrom.configMapKeyRef, { name: 'access-logs-extra', key: 'k' }, c);
      assert.equal(env.JOB_MANAGER_RPC_ADDRESS.value, 'access-b-jobmanager', c);
      assert.equal(pod.volumes.find((v: any) => v.name === 'flink-config-template').configMap.name, 'access-b-config', c);
      assert.equal(pod.serviceAccountName, 'access-b-flink', c);
    }
    const jm = find(objs, 'Deployment', 'access-b-jobmanager').spec.template.spec;
    assert.equal(jm.containers[0].env.find((e: any) => e.name === 'FLINK_JOB_ID').valueFrom.configMapKeyRef.name, 'access-b-handoff');
  });
});

test('charts: containers added through the escape hatch keep their image, resources and args; the Flink containers take the values', async () => {
  const q = (x: string) => k8s.Quantity.fromString(x);
  // Quantities as the typed objects carry them (a plain string is dropped by the Deployment's typed rendering).
  const patch = { name: 'log-shipper', image: 'busybox:1.36', args: ['sleep', 'infinity'], resources: { requests: { cpu: q('10m'), memory: q('16Mi') }, limits: { memory: q('16Mi') } } };
  const sidecar = { ...patch, resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } } };
  const init = { name: 'wait-for-kafka', image: 'busybox:1.36', command: ['true'] };
  await withUnit((p) => {
    const app = p.addApplication('sidecars', { job: SQL, namespace: 'logs' });
    app.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', patch), JsonPatch.add('/spec/template/spec/initContainers/-', init));
    // First in the list: the Flink container is found by its name, not its position.
    app.taskManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0', patch));
  }, (_u, chart, bin) => {
    const objs = render(bin, chart, 'sidecars', ['image.tag=other', 'jobManager.resources.memory=2Gi', 'taskManager.resources.memory=3Gi', 'job.args={--extra}']);
    const pod = (c: string) => find(objs, 'Deployment', `sidecars-${c}`).spec.template.spec;
    const byName = (list: any[], name: string) => list.find((x) => x.name === name);
    assert.deepEqual(byName(pod('jobmanager').containers, 'log-shipper'), sidecar);
    assert.deepEqual(byName(pod('taskmanager').containers, 'log-shipper'), sidecar);
    assert.deepEqual(byName(pod('jobmanager').initContainers, 'wait-for-kafka'), init);
    const jm = byName(pod('jobmanager').containers, 'jobmanager');
    assert.match(jm.image, /:other$/);
    assert.equal(jm.resources.limits.memory, '2Gi');
    assert.equal(jm.args.at(-1), '--extra');
    assert.match(byName(pod('jobmanager').initContainers, 'flink-config').image, /:other$/);
    assert.equal(byName(pod('taskmanager').containers, 'taskmanager').resources.limits.memory, '3Gi');
    assert.equal(pod('taskmanager').containers[0].name, 'log-shipper');
  });
});

test('charts: a field the chart takes from values, patched through an escape hatch, is the user\'s in both outputs (a patched TaskManager count is taskManager.replicas\' default); unpatched fields still follow values', async () => {
  await withUnit((p) => {
    const app = p.addApplication('patched', { job: SQL, namespace: 'logs' });
    app.taskManagerDeployment.addJsonPatch(
      JsonPatch.replace('/spec/template/spec/containers/0/imagePullPolicy', 'Always'),
      JsonPatch.replace('/spec/template/spec/serviceAccountName', 'tm-identity'),
      JsonPatch.replace('/spec/replicas', 3),
    );
    app.jobManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/nodeSelector', { pool: 'control' }));
  }, (_u, chart, bin) => {
    // assertRendersDist (in withUnit) has shown the defaults render dist/; values change only the unpatched fields.
    const objs = render(bin, chart, 'other', ['image.pullPolicy=Never', 'nodeSelector.disk=ssd', 'serviceAccount.name=shared-sa', 'serviceAccount.create=false', 'taskManager.replicas=4']);
    const pod = (c: string) => find(objs, 'Deployment', `other-${c}`).spec.template.spec;
    const flink = (c: string) => pod(c).containers.find((x: any) => x.name === c);
    assert.equal(flink('taskmanager').imagePullPolicy, 'Always', 'the patched pull policy');
    assert.equal(flink('jobmanager').imagePullPolicy, 'Never', 'the JobManager\'s from values');
    assert.equal(pod('taskmanager').serviceAccountName, 'tm-identity');
    assert.equal(pod('jobmanager').serviceAccountName, 'shared-sa');
    assert.deepEqual(pod('jobmanager').nodeSelector, { pool: 'control' });
    assert.deepEqual(pod('taskmanager').nodeSelector, { disk: 'ssd' });
    // A value whose default is the field as rendered: the patch is its default, values still change it.
    assert.equal(YAML.parse(_u.chart['values.yaml']).taskManager.replicas, 3);
    assert.equal(find(objs, 'Deployment', 'other-taskmanager').spec.replicas, 4);
  });
});

test('charts: a pod template\'s sidecar and init container render as defined, their images from podTemplate.<component>.<name>.image; the Flink values still reach only the Flink containers', async () => {
  await withUnit((p) => {
    p.addApplication('shipped', {
      job: SQL, namespace: 'logs',
      podTemplate: {
        volumes: [{ name: 'state', source: VolumeSource.emptyDir() }],
        sidecars: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.1.9', volumeMounts: [{ volume: 'flink-log', mountPath: '/flink/log' }, { volume: 'state', mountPath: '/state', readOnly: false }] }],
      },
      taskManagerPodTemplate: { initContainers: [{ name: 'wait', image: 'busybox:1.36', command: ['true'] }] },
    });
  }, (u, chart, bin) => {
    const lint = helm(bin, ['lint', '--strict', chart]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/);
    assert.deepEqual(YAML.parse(u.chart['values.yaml']).podTemplate, {
      jobManager: { 'log-shipper': { image: 'fluent/fluent-bit:3.1.9' } },
      taskManager: { 'log-shipper': { image: 'fluent/fluent-bit:3.1.9' }, wait: { image: 'busybox:1.36' } },
    });
    const objs = render(bin, chart, 'other', [
      'image.tag=other', 'jobManager.resources.memory=2Gi', 'taskManager.resources.memory=3Gi',
      'podTemplate.taskManager.log-shipper.image=mirror.example.com/fluent-bit:3.1.9', 'podTemplate.taskManager.wait.image=mirror.example.com/busybox:1.36',
    ]);
    const pod = (c: string) => find(objs, 'Deployment', `other-${c}`).spec.template.spec;
    const byName = (list: any[], name: string) => list.find((x) => x.name === name);
    const dist = (c: string) => distOf(u, 'Deployment', `shipped-${c}`).spec.template.spec;
    // The JobManager's sidecar as in dist/; the TaskManager's with the mirrored image and nothing else changed.
    assert.deepEqual(byName(pod('jobmanager').containers, 'log-shipper'), byName(dist('jobmanager').containers, 'log-shipper'));
    assert.deepEqual(byName(pod('taskmanager').containers, 'log-shipper'), { ...byName(dist('taskmanager').containers, 'log-shipper'), image: 'mirror.example.com/fluent-bit:3.1.9' });
    assert.deepEqual(byName(pod('taskmanager').initContainers, 'wait'), { ...byName(dist('taskmanager').initContainers, 'wait'), image: 'mirror.example.com/busybox:1.36' });
    assert.deepEqual(byName(pod('jobmanager').volumes, 'state'), { name: 'state', emptyDir: {} });
    assert.match(byName(pod('jobmanager').containers, 'jobmanager').image, /:other$/);
    assert.equal(byName(pod('jobmanager').containers, 'jobmanager').resources.limits.memory, '2Gi');
    assert.equal(byName(pod('taskmanager').containers, 'taskmanager').resources.limits.memory, '3Gi');
    assert.match(byName(pod('taskmanager').initContainers, 'flink-config').image, /:other$/);
    assert.equal(byName(pod('taskmanager').containers, 'log-shipper').resources.limits.memory, '64Mi');
    // The values' schema holds the added images to the same rule as the definition: pinned, never latest.
    assert.match(renderError(bin, chart, ['podTemplate.jobManager.log-shipper.image=fluent/fluent-bit:latest']), /podTemplate.jobManager.log-shipper.image/);
    assert.match(renderError(bin, chart, ['podTemplate.jobManager.other.image=busybox:1.36']), /podTemplate.jobManager|additional properties|other/i);
  });
});

test('charts: an HPA patched to a memory metric loads, renders that metric unchanged from its metrics value, and has no CPU target value', async () => {
  const memory = [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '3Gi' } } }];
  await withUnit((p) => {
    const app = p.addApplication('reactive', { job: SQL, namespace: 'logs', reactive: true });
    const target = { type: 'AverageValue', averageValue: k8s.Quantity.fromString('3Gi') };
    app.autoscaler!.addJsonPatch(JsonPatch.replace('/spec/metrics', [{ type: 'Resource', resource: { name: 'memory', target } }]));
  }, (u, chart, bin) => {
    assert.deepEqual(distOf(u, 'HorizontalPodAutoscaler', 'reactive-taskmanager').spec.metrics, memory);
    assert.deepEqual(YAML.parse(u.chart['values.yaml']).taskManager.autoscaling.metrics, memory);
    const objs = render(bin, chart, 'other', ['taskManager.autoscaling.maxReplicas=9']);
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'other-taskmanager');
    assert.deepEqual(hpa.spec.metrics, memory);
    assert.equal(hpa.spec.maxReplicas, 9);
    assert.match(renderError(bin, chart, ['taskManager.autoscaling.targetCpuUtilization=50']), /targetCpuUtilization/);
  });
});

test('charts: with a ServiceMonitor or scrape annotations, the monitoring objects (found by identity, not by label or name) render as dist/ and switch off by values', async () => {
  for (const scrape of [ScrapeMode.SERVICE_MONITOR, ScrapeMode.ANNOTATIONS]) {
    await withUnit((p) => p.addApplication('scraped', { job: SQL, namespace: 'logs' }), (u, chart, bin) => {
      const kinds = (objs: any[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`);
      const monitoring = u.objects.filter((o) => /-(metrics|prometheus-rules|alerts|dashboard)$/.test(o.metadata.name)).map((o) => `${o.kind}/${o.metadata.name}`);
      // Annotations: the rules' ConfigMap (the pods carry the scrape annotations); ServiceMonitor: also its Service and ServiceMonitor.
      assert.ok(monitoring.length >= (scrape === ScrapeMode.SERVICE_MONITOR ? 3 : 1), `${scrape}: ${monitoring}`);
      const off = kinds(render(bin, chart, 'scraped', ['monitoring.scrape=false', 'monitoring.alerts=false', 'monitoring.dashboard=false']));
      assert.deepEqual(off.filter((k) => monitoring.includes(k)), [], scrape);
      if (scrape === ScrapeMode.SERVICE_MONITOR) {
        const objs = render(bin, chart, 'other');
        assert.equal(find(objs, 'Service', 'other-metrics').spec.selector['app.kubernetes.io/instance'], 'other');
        assert.deepEqual(find(objs, 'ServiceMonitor', 'other-metrics').spec.selector.matchLabels, { 'app.kubernetes.io/name': 'scraped', 'app.kubernetes.io/instance': 'other', 'app.kubernetes.io/component': 'metrics' });
      }
    }, { monitoring: { scrape } });
  }
});

test('charts: volumes of the user named like a Kafka CA volume render as written under any values; the declared CA takes kafkaTls values', async () => {
  const ca = KafkaTls.caFromSecret('corp-kafka-ca');
  // Both with the shape KafkaTls.volume() renders: one key of a Secret as ca.pem.
  const patched = { name: 'kafka-ca-0123456789', secret: { secretName: 'mine', items: [{ key: 'tls.crt', path: 'ca.pem' }] } };
  const extra = { name: 'kafka-ca-abcdefabcd', secret: { secretName: 'theirs', items: [{ key: 'ca.crt', path: 'ca.pem' }] } };
  await withUnit((p) => {
    const app = p.addApplication('tls', {
      namespace: 'logs', parallelism: 1,
      job: JobSource.pipeline(new LogPipeline({
        source: { bootstrapServers: 'kafka:9093', tls: ca, topic: 'logs.in', groupId: 'g', fields: { id: FieldType.STRING } },
        sinks: [Sink.kafka({ bootstrapServers: 'kafka:9093', topic: 'logs.out' })],
      })),
      volumes: [{ name: extra.name, mountPath: '/etc/theirs', source: VolumeSource.secret('theirs', { 'ca.crt': 'ca.pem' }) }],
    });
    app.taskManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/volumes/-', patched));
  }, (u, chart, bin) => {
    assert.deepEqual(Object.keys(YAML.parse(u.chart['values.yaml']).kafkaTls), [ca.volumeName]);
    const objs = render(bin, chart, 'other', [`kafkaTls.${ca.volumeName}.secretName=rotated`, `kafkaTls.${ca.volumeName}.key=bundle.pem`]);
    for (const c of ['jobmanager', 'taskmanager']) {
      const volumes = find(objs, 'Deployment', `other-${c}`).spec.template.spec.volumes;
      const byName = (n: string) => volumes.find((v: any) => v.name === n);
      assert.deepEqual(byName(ca.volumeName), { name: ca.volumeName, secret: { secretName: 'rotated', items: [{ key: 'bundle.pem', path: 'ca.pem' }] } }, c);
      assert.deepEqual(byName(extra.name), extra, c);
      assert.deepEqual(byName(patched.name), c === 'taskmanager' ? patched : undefined, c);
    }
    // A value for a look-alike is no value of the chart.
    assert.match(renderError(bin, chart, [`kafkaTls.${patched.name}.secretName=x`]), /kafkaTls/);
  });
});
