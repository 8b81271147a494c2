/**
 * `synth --target operator`: the Flink Kubernetes Operator's FlinkDeployment and FlinkSessionJob
 * for the example platform, valid against the operator's CRDs (strict) and carrying what the
 * toolkit decides, checked field by field against the toolkit's own objects.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as YAML from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { Autoscaling, AutoscalingMetric, EnvValue, FlinkApplication, JobSource, LogConfig, LogLevel, StorageCredentials, VolumeSource } from '../../lib';
import { OPERATOR_MAIN_CONTAINER, OPERATOR_OWNED_KEYS, operatorResources } from '../../lib/operator/operator-resources';
import { FlinkPlatform } from '../../lib/platform';
import { restrictedViolations } from '../../lib/policy/pod-security';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { loadValidator } from '../support/k8s-schema';
import { flinkConfig } from '../support/synth';

const RUNNER = 'https://artifacts.example.com/cdk8s-flink-sql-runner-0.1.0.jar';

function operatorPlatform() {
  const platform = buildLogPlatform(PRODUCTION);
  return synthesizePlatform(platform).map((u) => ({ u, unit: platform.unit(u.name)!, out: operatorResources(platform.unit(u.name)!, u.objects, { sqlRunnerJarUri: RUNNER }) }));
}

test('operator: every resource of the example platform is valid against the operator CRDs and Kubernetes (strict)', async () => {
  const validate = await loadValidator();
  const all = operatorPlatform().flatMap((x) => x.out);
  assert.equal(all.filter((o) => o.kind === 'FlinkDeployment').length, 4, 'three applications and one session cluster');
  assert.equal(all.filter((o) => o.kind === 'FlinkSessionJob').length, 2);
  assert.deepEqual(all.flatMap((o) => validate(o)), []);
  // strict: a misspelled field inside the pod template is caught
  const fd = JSON.parse(JSON.stringify(all.find((o) => o.kind === 'FlinkDeployment')));
  fd.spec.jobManager.podTemplate.spec.containers[0].securityContex = {};
  assert.match(validate(fd).join('\n'), /securityContex: .* is an unknown field of FlinkDeployment; did you mean "securityContext"\?/);
});

test('operator: pod templates (sidecars, init containers, volumes of every type, the Flink container\'s env and mounts, the priority class) carry into podTemplate and validate against the CRD (strict)', async () => {
  const validate = await loadValidator();
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  p.addApplication('shipped', {
    job: JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' }),
    podTemplate: {
      priorityClassName: 'flink-high',
      volumes: [
        { name: 'state', source: VolumeSource.emptyDir(Size.mebibytes(128)) },
        { name: 'vault', source: VolumeSource.csi('secrets-store.csi.k8s.io', { readOnly: true, volumeAttributes: { secretProviderClass: 'kafka' } }) },
      ],
      sidecars: [{
        name: 'log-shipper', image: 'fluent/fluent-bit:3.1.9', args: ['-c', '/fluent-bit/etc/fluent-bit.conf'], ports: [{ number: 2020, name: 'shipper-http' }],
        env: { TOKEN: EnvValue.fromSecret('shipper', 'token') }, resources: { cpu: Cpu.millis(100), memory: Size.mebibytes(128) },
        volumeMounts: [{ volume: 'flink-log', mountPath: '/flink/log' }, { volume: 'state', mountPath: '/state', readOnly: false }],
      }],
      flinkContainer: { env: { VAULT_DIR: EnvValue.fromValue('/mnt/vault') }, volumeMounts: [{ volume: 'vault', mountPath: '/mnt/vault' }] },
    },
    taskManagerPodTemplate: { initContainers: [{ name: 'wait', image: 'busybox:1.36', command: ['sh', '-c', 'true'] }] },
  });
  const [u] = synthesizePlatform(p);
  const out = operatorResources(p.unit('shipped')!, u.objects);
  assert.deepEqual(out.flatMap((o) => validate(o)), []);
  const fd = out.find((o) => o.kind === 'FlinkDeployment');
  for (const [key, component] of [['jobManager', 'jobmanager'], ['taskManager', 'taskmanager']] as const) {
    const t = fd.spec[key].podTemplate;
    const own = u.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `shipped-${component}`).spec.template.spec;
    assert.deepEqual(t.spec.containers.find((c: any) => c.name === 'log-shipper'), own.containers.find((c: any) => c.name === 'log-shipper'), key);
    assert.equal(t.spec.priorityClassName, 'flink-high');
    assert.ok(t.spec.containers[0].env.some((e: any) => e.name === 'VAULT_DIR'), key);
    assert.ok(t.spec.containers[0].volumeMounts.some((m: any) => m.name === 'vault' && m.readOnly), key);
    for (const v of ['state', 'vault', 'flink-log']) assert.ok(t.spec.volumes.some((x: any) => x.name === v), `${key} ${v}`);
    assert.deepEqual(restrictedViolations([{ kind: 'Deployment', metadata: { name: `shipped-${component}` }, spec: { template: t } }]), []);
  }
  assert.deepEqual(fd.spec.taskManager.podTemplate.spec.initContainers.map((c: any) => c.name), ['wait']);
  assert.equal(fd.spec.jobManager.podTemplate.spec.initContainers, undefined);
  // strict: a misspelled field of an added container is caught
  const bad = JSON.parse(JSON.stringify(fd));
  bad.spec.taskManager.podTemplate.spec.containers[1].volumeMount = [];
  assert.match(validate(bad).join('\n'), /volumeMount: .* is an unknown field of FlinkDeployment; did you mean "volumeMounts"\?/);
});

test('operator: a FlinkDeployment carries the image, version, configuration, resources, job and upgrade mode of its application', () => {
  for (const { u, unit, out } of operatorPlatform()) {
    if (unit.kind !== 'application') continue;
    const app = unit.construct as FlinkApplication;
    const fd = out.find((o) => o.kind === 'FlinkDeployment');
    assert.equal(fd.metadata.name, u.name);
    assert.equal(fd.spec.image, app.image);
    assert.equal(fd.spec.flinkVersion, `v${app.version.toString().split('.').slice(0, 2).join('_')}`);
    assert.equal(fd.spec.job.upgradeMode, app.upgradeMode);
    assert.equal(fd.spec.job.entryClass, app.boundJob.entryClass);
    assert.deepEqual(fd.spec.job.args, app.boundJob.programArgs);
    assert.equal(fd.spec.job.jarURI, 'local:///opt/flink/usrlib/cdk8s-flink-sql-runner.jar');
    if (app.reactive) {
      assert.equal(fd.spec.mode, 'standalone');
      assert.equal(fd.spec.flinkConfiguration['scheduler-mode'], 'reactive');
      assert.equal(fd.spec.job.parallelism, undefined);
    } else {
      assert.equal(fd.spec.mode, 'native');
      assert.equal(fd.spec.job.parallelism, app.parallelism);
    }
    assert.deepEqual(fd.spec.jobManager.resource, { cpu: app.jobManagerCpuMillis / 1000, memory: `${app.jobManagerMemoryMiB}m` });
    assert.deepEqual(fd.spec.taskManager.resource, { cpu: app.taskManagerCpuMillis / 1000, memory: `${app.taskManagerMemoryMiB}m` });
    assert.equal(fd.spec.jobManager.replicas, app.jobManagerReplicas);
    // Every toolkit key but those the operator owns, as strings.
    const own = flinkConfig(u.objects, u.name);
    for (const [k, v] of Object.entries(app.configuration.toObject())) {
      if (OPERATOR_OWNED_KEYS.includes(k)) assert.ok(!(k in fd.spec.flinkConfiguration) || k === 'scheduler-mode', `${k} left to the operator`);
      else assert.equal(fd.spec.flinkConfiguration[k], String(v), k);
    }
    assert.ok(Object.keys(own).length > 10);
    // The pipeline's SQL reaches the pods from a ConfigMap of its own.
    const files = out.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${u.name}-job-files`);
    assert.equal(files.data['pipeline.sql'], app.boundJob.files['pipeline.sql']);
    const t = fd.spec.jobManager.podTemplate;
    assert.deepEqual(t.spec.volumes.find((v: any) => v.name === 'flink-job'), { name: 'flink-job', configMap: { name: `${u.name}-job-files` } });
    assert.ok(t.spec.containers[0].volumeMounts.some((m: any) => m.name === 'flink-job' && m.mountPath === '/opt/flink/job' && m.readOnly));
  }
});

test('operator: pod templates keep the restricted security context, labels, env from Secrets and the metrics port; the configuration hand-off is the operator\'s', () => {
  for (const { u, unit, out } of operatorPlatform()) {
    if (unit.kind === 'session-job') continue;
    const fd = out.find((o) => o.kind === 'FlinkDeployment');
    for (const component of ['jobmanager', 'taskmanager'] as const) {
      const t = fd.spec[component === 'jobmanager' ? 'jobManager' : 'taskManager'].podTemplate;
      const own = u.objects.find((o) => o.kind === 'Deployment' && o.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
      const main = t.spec.containers[0];
      assert.equal(main.name, OPERATOR_MAIN_CONTAINER);
      assert.deepEqual(t.spec.securityContext, own.spec.template.spec.securityContext);
      assert.deepEqual(main.securityContext, own.spec.template.spec.containers[0].securityContext);
      assert.deepEqual(t.metadata.labels, own.spec.template.metadata.labels, 'the monitors and policies select these labels');
      assert.deepEqual(main.ports, [{ containerPort: 9249, name: 'metrics' }]);
      const secretEnv = own.spec.template.spec.containers[0].env.filter((e: any) => e.valueFrom?.secretKeyRef);
      for (const e of secretEnv) assert.ok(main.env.some((x: any) => JSON.stringify(x) === JSON.stringify(e)), `${u.name} ${component}: ${e.name}`);
      assert.ok(!main.env.some((e: any) => ['FLINK_JOB_ID', 'JOB_MANAGER_RPC_ADDRESS'].includes(e.name)));
      assert.ok(!(t.spec.initContainers ?? []).some((i: any) => i.name === 'flink-config'));
      assert.ok(!t.spec.volumes.some((v: any) => ['flink-conf', 'flink-config-template', 'flink-handoff'].includes(v.name)));
      assert.equal(t.spec.automountServiceAccountToken, undefined, 'a native JobManager needs its token');
      assert.deepEqual(restrictedViolations([{ kind: 'Deployment', metadata: { name: `${u.name}-${component}` }, spec: { template: t } }]), []);
    }
    assert.equal(fd.spec.serviceAccount, `${u.name}-flink`);
    const role = out.find((o) => o.kind === 'Role');
    assert.ok(role.rules.some((r: any) => r.resources.includes('pods') && r.verbs.includes('create')), 'native TaskManagers');
    assert.ok(!role.rules.some((r: any) => r.verbs.includes('*') || r.resources.includes('secrets')));
    assert.ok(u.objects.some((o) => o.kind === 'NetworkPolicy') && !out.some((o) => o.kind === 'NetworkPolicy'), 'the toolkit\'s policy would shut the operator out of the REST API');
    for (const kind of ['PodMonitor', 'PrometheusRule']) {
      assert.deepEqual(out.find((o) => o.kind === kind), u.objects.find((o) => o.kind === kind), `${kind} carried unchanged`);
    }
  }
});

test('operator: session jobs become FlinkSessionJobs on their cluster, SQL through the runner jar with the script inline', () => {
  for (const { u, unit, out } of operatorPlatform()) {
    if (unit.kind !== 'session-job') continue;
    const sj = out.find((o) => o.kind === 'FlinkSessionJob');
    const spec = JSON.parse(u.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${u.name}-job`).data['job.json']);
    assert.equal(sj.spec.deploymentName, 'shared-logs');
    assert.equal(sj.spec.job.jarURI, RUNNER);
    assert.equal(sj.spec.job.parallelism, spec.parallelism);
    assert.equal(sj.spec.job.upgradeMode, spec.upgradeMode);
    assert.equal(sj.spec.job.args[0], '--script-base64');
    const sql = u.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${u.name}-job`).data['pipeline.sql'];
    assert.equal(Buffer.from(sj.spec.job.args[1], 'base64').toString(), sql);
    for (const [k, v] of Object.entries(spec.flinkConfiguration)) assert.equal(sj.spec.flinkConfiguration[k], String(v));
    assert.equal(out.filter((o) => !['PodMonitor', 'PrometheusRule', 'ServiceMonitor'].includes(o.kind) && o.kind !== 'FlinkSessionJob').length, 0, 'no submitter Job: the operator submits');
  }
});

test('operator: what the operator cannot fetch is refused with one line naming the field', () => {
  const platform = buildLogPlatform(PRODUCTION);
  const [job] = synthesizePlatform(platform).filter((u) => u.kind === 'session-job');
  assert.throws(() => operatorResources(platform.unit(job.name)!, job.objects), /^ValidationError: --sql-runner-jar: \(missing\) is required for the operator target: session job "error-logs" runs SQL/m);
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  p.addApplication('jar-app', { job: JobSource.jar({ entryClass: 'com.example.Job' }) });
  const [u] = synthesizePlatform(p);
  assert.throws(() => operatorResources(p.unit('jar-app')!, u.objects), (e: Error) => /job\.jarFile/.test(e.message) && /jar-app/.test(e.message));
  const q = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  q.addApplication('jar-app', { job: JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' }) });
  const [v] = synthesizePlatform(q);
  assert.equal(operatorResources(q.unit('jar-app')!, v.objects).find((o) => o.kind === 'FlinkDeployment').spec.job.jarURI, 'local:///opt/flink/usrlib/job.jar');
  // A session job's jar the operator fetches itself: https, or s3 (the operator's S3 plugin); a path in the image it cannot.
  const r = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  const pool = r.addSessionCluster('pool', { storageCredentials: [StorageCredentials.s3({ secretName: 's3-keys' })] });
  r.addSessionJob('from-s3', { cluster: pool, job: JobSource.jar({ jarFile: 's3://jobs-bucket/a/job.jar' }) });
  r.addSessionJob('from-file', { cluster: pool, job: JobSource.jar({ jarFile: 'file:///opt/jobs/job.jar' }) });
  const units = synthesizePlatform(r);
  const sessionJob = (name: string) => operatorResources(r.unit(name)!, units.find((x) => x.name === name)!.objects).find((o) => o.kind === 'FlinkSessionJob');
  assert.equal(sessionJob('from-s3').spec.job.jarURI, 's3://jobs-bucket/a/job.jar');
  assert.throws(() => sessionJob('from-file'), /^ValidationError: job\.jarFile: "file:\/\/\/opt\/jobs\/job\.jar" is not a URI the operator can fetch for session job "from-file"; expected an https URL or s3:\/\/bucket\/key$/m);
});

test('operator: `synth --target operator` writes one file of resources per release unit; a bad runner URI exits 1 with one line, a bad target is a usage error (64)', () => {
  const root = path.resolve(__dirname, '..', '..', '..');
  const main = path.join(root, 'build', 'lib', 'cli', 'main.js');
  const app = path.join(root, 'build', 'examples', 'main.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-cli-'));
  try {
    execFileSync(process.execPath, [main, 'synth', '--app', app, '--target', 'operator', '--sql-runner-jar', RUNNER], { cwd: dir, stdio: 'pipe' });
    const expected = operatorPlatform();
    // The jobs' units, and the platform dashboard's (a ConfigMap, the same with or without the operator).
    const board = 'log-platform-dashboards';
    assert.deepEqual(fs.readdirSync(path.join(dir, 'dist-operator')).filter((n) => !n.startsWith('.')).sort(), [...expected.map((x) => x.u.name), board].sort());
    const boardDocs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, 'dist-operator', board, `${board}.operator.yaml`), 'utf8')).map((d) => d.toJS());
    assert.deepEqual(boardDocs.map((d) => [d.kind, d.metadata.labels.grafana_dashboard]), [['ConfigMap', '1']]);
    for (const { u, out } of expected) {
      const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, 'dist-operator', u.name, `${u.name}.operator.yaml`), 'utf8')).map((d) => d.toJS());
      assert.deepEqual(docs, out, u.name);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'charts')) && !fs.existsSync(path.join(dir, 'dist')), 'no charts, no plain manifests');
    for (const [args, message, status, lines] of [
      // a value the command refuses: exit 1, one line; a value outside the option's declared choices: a usage error (64), the line and the synopsis
      [['--sql-runner-jar', 'file:///x.jar'], /^cdk8s-flink: error: --sql-runner-jar: "file:\/\/\/x\.jar" is not a jar URI the operator can fetch/, 1, 1],
      [['--target', 'helm'], /^cdk8s-flink: error: --target: "helm" is invalid; expected one of manifests, operator\nUsage: cdk8s-flink synth /, 64, 2],
    ] as const) {
      const r = spawnSync(process.execPath, [main, 'synth', '--app', app, '--target', 'operator', ...args, '--out', 'other'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, status);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, lines);
      assert.ok(!fs.existsSync(path.join(dir, 'other')), 'nothing written');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('operator: reactive autoscaling carries its HPA (metrics and behavior as defined) onto the FlinkDeployment\'s scale subresource; the adaptive scheduler runs native with its configuration and no HPA', async () => {
  const validate = await loadValidator();
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  const JOB = JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' });
  const lag = AutoscalingMetric.external({ name: 'kafka_consumergroup_lag', selector: { topic: 'logs' }, averageValue: '10k' });
  p.addApplication('reactive', { job: JOB, autoscaling: Autoscaling.reactive({ min: 2, max: 6, metrics: [AutoscalingMetric.memoryUtilization(80), lag] }) });
  p.addApplication('adaptive', { job: JOB, taskManagerSlots: 2, autoscaling: Autoscaling.adaptive({ min: 1, max: 3, metrics: [lag] }) });
  const out = Object.fromEntries(synthesizePlatform(p).map((u) => [u.name, { u, out: operatorResources(p.unit(u.name)!, u.objects) }]));
  assert.deepEqual(Object.values(out).flatMap(({ out: o }) => o.flatMap((x) => validate(x))), []);

  const reactive = out.reactive;
  const fd = reactive.out.find((o) => o.kind === 'FlinkDeployment');
  assert.equal(fd.spec.mode, 'standalone');
  assert.equal(fd.spec.flinkConfiguration['scheduler-mode'], 'reactive');
  assert.equal(fd.spec.taskManager.replicas, 2);
  const hpa = reactive.out.find((o) => o.kind === 'HorizontalPodAutoscaler');
  const own = reactive.u.objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', name: 'reactive' });
  assert.deepEqual({ ...hpa.spec, scaleTargetRef: undefined }, { ...own.spec, scaleTargetRef: undefined });
  assert.equal(hpa.spec.metrics.length, 2);

  const adaptive = out.adaptive.out;
  const afd = adaptive.find((o) => o.kind === 'FlinkDeployment');
  assert.equal(afd.spec.mode, 'native');
  assert.equal(afd.spec.flinkConfiguration['jobmanager.scheduler'], 'adaptive');
  assert.equal(afd.spec.flinkConfiguration['scheduler-mode'], undefined);
  assert.equal(afd.spec.job.parallelism, 6, 'the maximum: 3 TaskManagers x 2 slots');
  assert.equal(adaptive.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
});

test('operator: the Ingress becomes spec.ingress (host and path as the template, class, annotations, TLS) and the log4j2 file spec.logConfiguration', async () => {
  const validate = await loadValidator();
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://state/flink' });
  const job = JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' });
  p.addApplication('exposed', {
    job, logging: LogConfig.of({ rootLevel: LogLevel.WARN }),
    ingress: { className: 'nginx', host: 'flink.example.com', path: '/exposed', tlsSecretName: 'flink-tls', annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic' } },
  });
  p.addApplication('plain', { job, ingress: {} });
  const out = Object.fromEntries(synthesizePlatform(p).map((u) => [u.name, { u, out: operatorResources(p.unit(u.name)!, u.objects) }]));
  assert.deepEqual(Object.values(out).flatMap(({ out: o }) => o.flatMap((x) => validate(x))), []);
  const fd = out.exposed.out.find((o) => o.kind === 'FlinkDeployment');
  assert.deepEqual(fd.spec.ingress, {
    template: 'flink.example.com/exposed', className: 'nginx', annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic' },
    tls: [{ hosts: ['flink.example.com'], secretName: 'flink-tls' }],
  });
  const config = out.exposed.u.objects.find((o) => o.kind === 'ConfigMap' && o.data?.['log4j-console.properties']);
  assert.deepEqual(fd.spec.logConfiguration, { 'log4j-console.properties': config.data['log4j-console.properties'] });
  assert.match(fd.spec.logConfiguration['log4j-console.properties'], /rootLogger\.level\s*=\s*WARN/);
  assert.deepEqual(out.plain.out.find((o) => o.kind === 'FlinkDeployment').spec.ingress, { template: '/' });
  assert.ok(!out.exposed.out.some((o) => o.kind === 'Ingress'), 'the operator creates the Ingress');
});
