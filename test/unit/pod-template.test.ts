/**
 * Pod templates: sidecars, init containers, volumes of any type and the Flink container's extra
 * env and mounts, per component, with the restricted security context unless a container opts
 * out; checked on the synthesized objects (API server alone: the restricted checker of
 * lib/policy/pod-security.ts, the operator output).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { JsonPatch, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import {
  ContainerOptions, EnvValue, FlinkApplication, FlinkApplicationProps, FlinkPlatform, FlinkSessionCluster, JobSource, PodTemplateOptions,
  restrictedViolations, synthesizePlatform, ValidationError, VolumeSource,
} from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import { container, find, synth } from '../support/synth';

const OK: FlinkApplicationProps = { job: JobSource.jar({ entryClass: 'com.example.Job' }), checkpointDirectory: 's3://b/cp' };
const SHIPPER: ContainerOptions = {
  name: 'log-shipper',
  image: 'fluent/fluent-bit:3.1.9',
  args: ['-c', '/config/fluent-bit.conf'],
  env: { TOKEN: EnvValue.fromSecret('shipper', 'token'), NODE: EnvValue.fromField('spec.nodeName') },
  ports: [{ number: 2020, name: 'shipper-http' }],
  volumeMounts: [
    { volume: 'flink-log', mountPath: '/flink/log' },
    { volume: 'shipper-config', mountPath: '/config' },
    { volume: 'shipper-state', mountPath: '/state', readOnly: false },
  ],
};
const TEMPLATE: PodTemplateOptions = {
  volumes: [
    { name: 'shipper-config', source: VolumeSource.configMap('shipper-config') },
    { name: 'shipper-state', source: VolumeSource.emptyDir() },
  ],
  sidecars: [SHIPPER],
};
const pod = (objects: any[], name: string) => find(objects, 'Deployment', name).spec.template.spec;
const named = (list: any[] | undefined, name: string) => (list ?? []).find((x) => x.name === name);

test('pod templates: a sidecar of podTemplate reaches both pods with the restricted context, default resources, env from Secrets, its ports and mounts', () => {
  const objects = synth((s) => new FlinkApplication(s, 'logs', { ...OK, podTemplate: TEMPLATE }));
  for (const component of ['jobmanager', 'taskmanager']) {
    const spec = pod(objects, `logs-${component}`);
    assert.equal(spec.containers[0].name, component, 'the Flink container stays first');
    const c = named(spec.containers, 'log-shipper');
    assert.deepEqual(c, {
      name: 'log-shipper',
      image: 'fluent/fluent-bit:3.1.9',
      imagePullPolicy: 'IfNotPresent',
      args: ['-c', '/config/fluent-bit.conf'],
      env: [
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'shipper', key: 'token' } } },
      ],
      ports: [{ name: 'shipper-http', containerPort: 2020 }],
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '64Mi' } },
      securityContext: {
        allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [
        { name: 'flink-log', mountPath: '/flink/log', readOnly: true },
        { name: 'shipper-config', mountPath: '/config', readOnly: true },
        { name: 'shipper-state', mountPath: '/state', readOnly: false },
      ],
    }, component);
    assert.deepEqual(spec.volumes.slice(-2), [
      { name: 'shipper-config', configMap: { name: 'shipper-config' } },
      { name: 'shipper-state', emptyDir: {} },
    ], component);
    assert.equal(spec.priorityClassName, undefined);
  }
  assert.deepEqual(restrictedViolations(objects), []);
});

test('pod templates: a component\'s own template adds to that component only: init containers, volumes of every type, the Flink container\'s env and mounts, the priority class', () => {
  const q = k8s.Quantity.fromString;
  const objects = synth((s) => new FlinkApplication(s, 'logs', {
    ...OK,
    podTemplate: { volumes: [{ name: 'shared', source: VolumeSource.emptyDir() }] },
    taskManagerPodTemplate: {
      priorityClassName: 'flink-high',
      volumes: [
        { name: 'jars', source: VolumeSource.emptyDir(Size.mebibytes(256)) },
        { name: 'claim', source: VolumeSource.persistentVolumeClaim('scratch') },
        { name: 'tls', source: VolumeSource.secret('tls', { 'ca.crt': 'ca.pem' }) },
        { name: 'vault', source: VolumeSource.csi('secrets-store.csi.k8s.io', { readOnly: true, volumeAttributes: { secretProviderClass: 'kafka' } }) },
        { name: 'token', source: VolumeSource.fromK8s({ projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } }] } }) },
        { name: 'cache', source: VolumeSource.fromK8s({ emptyDir: { medium: 'Memory', sizeLimit: q('64Mi') } }) },
      ],
      initContainers: [{
        name: 'fetch-udfs', image: 'curlimages/curl:8.10.1', command: ['sh', '-c', 'curl -fsSo /jars/udf.jar https://artifacts.example.com/udf.jar'],
        resources: { cpu: Cpu.millis(100), cpuLimit: Cpu.units(1), memory: Size.mebibytes(32) },
        volumeMounts: [{ volume: 'jars', mountPath: '/jars', readOnly: false }],
      }],
      flinkContainer: {
        env: { UDF_DIR: EnvValue.fromValue('/opt/flink/udf') },
        volumeMounts: [
          { volume: 'jars', mountPath: '/opt/flink/udf' },
          { volume: 'claim', mountPath: '/scratch', readOnly: false },
          { volume: 'tls', mountPath: '/etc/kafka-tls' },
          { volume: 'vault', mountPath: '/mnt/vault', subPath: 'kafka' },
          { volume: 'token', mountPath: '/var/run/vault' },
          { volume: 'cache', mountPath: '/cache', readOnly: false },
        ],
      },
    },
  }));
  const jm = pod(objects, 'logs-jobmanager');
  const tm = pod(objects, 'logs-taskmanager');
  assert.deepEqual(jm.initContainers.map((c: any) => c.name), ['flink-config']);
  assert.deepEqual(tm.initContainers.map((c: any) => c.name), ['flink-config', 'fetch-udfs'], 'after the configuration init container');
  const init = named(tm.initContainers, 'fetch-udfs');
  assert.deepEqual(init.resources, { requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '1', memory: '32Mi' } });
  assert.deepEqual(init.volumeMounts, [{ name: 'jars', mountPath: '/jars', readOnly: false }]);
  assert.equal(tm.priorityClassName, 'flink-high');
  assert.equal(jm.priorityClassName, undefined);
  assert.deepEqual(jm.volumes.map((v: any) => v.name).slice(-1), ['shared']);
  assert.deepEqual(tm.volumes.slice(-7), [
    { name: 'shared', emptyDir: {} },
    { name: 'jars', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'claim', persistentVolumeClaim: { claimName: 'scratch' } },
    { name: 'tls', secret: { secretName: 'tls', items: [{ key: 'ca.crt', path: 'ca.pem' }] } },
    { name: 'vault', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'kafka' } } },
    { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } }] } },
    { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
  ]);
  const flink = container({ spec: { template: { spec: tm } } }, 'taskmanager');
  assert.deepEqual(flink.env.at(-1), { name: 'UDF_DIR', value: '/opt/flink/udf' });
  assert.ok(!container({ spec: { template: { spec: jm } } }, 'jobmanager').env.some((e: any) => e.name === 'UDF_DIR'));
  assert.deepEqual(flink.volumeMounts.slice(-6), [
    { name: 'jars', mountPath: '/opt/flink/udf', readOnly: true },
    { name: 'claim', mountPath: '/scratch', readOnly: false },
    { name: 'tls', mountPath: '/etc/kafka-tls', readOnly: true },
    { name: 'vault', mountPath: '/mnt/vault', subPath: 'kafka', readOnly: true },
    { name: 'token', mountPath: '/var/run/vault', readOnly: true },
    { name: 'cache', mountPath: '/cache', readOnly: false },
  ]);
  assert.deepEqual(restrictedViolations(objects), []);
});

test('pod templates: what the restricted standard allows needs no opt-out (another user, a writable root, NET_BIND_SERVICE, the cluster\'s volumes)', () => {
  const objects = synth((s) => new FlinkApplication(s, 'logs', {
    ...OK,
    volumes: [{ name: 'certs', mountPath: '/certs', source: VolumeSource.secret('certs') }],
    jobManagerPodTemplate: {
      sidecars: [{
        name: 'proxy', image: 'envoyproxy/envoy:v1.31.2', ports: [{ number: 443, name: 'https' }],
        securityContext: { runAsUser: 101, runAsGroup: 101, readOnlyRootFilesystem: false, addCapabilities: ['NET_BIND_SERVICE'] },
        volumeMounts: [{ volume: 'certs', mountPath: '/etc/envoy/certs' }],
      }],
    },
  }));
  const proxy = named(pod(objects, 'logs-jobmanager').containers, 'proxy');
  assert.deepEqual(proxy.securityContext, {
    allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: false, runAsNonRoot: true, runAsUser: 101, runAsGroup: 101,
    capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(proxy.volumeMounts, [{ name: 'certs', mountPath: '/etc/envoy/certs', readOnly: true }]);
  assert.deepEqual(restrictedViolations(objects), []);
});

test('pod templates: restricted: false lets one container run privileged and mount a hostPath; the restricted checker then refuses the pod, and without the flag synthesis refuses it', () => {
  const agent = (restricted: boolean): PodTemplateOptions => ({
    volumes: [{ name: 'node-logs', source: VolumeSource.hostPath('/var/log') }],
    sidecars: [{
      name: 'node-agent', image: 'busybox:1.36', restricted,
      securityContext: { privileged: true, runAsUser: 0, runAsNonRoot: false },
      volumeMounts: [{ volume: 'node-logs', mountPath: '/host/log' }],
    }],
  });
  const objects = synth((s) => new FlinkApplication(s, 'logs', { ...OK, taskManagerPodTemplate: agent(false) }));
  const violations = restrictedViolations(objects);
  assert.ok(violations.includes('Deployment/logs-taskmanager: volume node-logs has restricted type hostPath'), violations.join('\n'));
  assert.ok(violations.includes('Deployment/logs-taskmanager container node-agent: privileged'), violations.join('\n'));
  assert.ok(violations.includes('Deployment/logs-taskmanager container node-agent: runAsNonRoot must be true (pod or container)'), violations.join('\n'));
  assert.ok(violations.every((v) => v.startsWith('Deployment/logs-taskmanager') && !/container (taskmanager|flink-config)/.test(v)), 'only the opted-out container and its volume');
  assert.throws(() => synth((s) => new FlinkApplication(s, 'logs', { ...OK, taskManagerPodTemplate: agent(true) })),
    (e: Error) => e instanceof ValidationError && /^taskManagerPodTemplate\.sidecars\[0\]\.securityContext\.runAsUser: 0 breaks the restricted Pod Security Standard/.test(e.message));
  // The volume alone, mounted by a restricted container: refused too.
  assert.throws(() => synth((s) => new FlinkApplication(s, 'logs', {
    ...OK, taskManagerPodTemplate: { ...agent(true), sidecars: [{ name: 'reader', image: 'busybox:1.36', volumeMounts: [{ volume: 'node-logs', mountPath: '/host/log' }] }] },
  })), /^ValidationError: taskManagerPodTemplate\.volumes\[0\]\.source: "hostPath" breaks the restricted Pod Security Standard/);
});

test('pod templates: session clusters and platform defaults take them; addEnv and addVolume after construction check against them', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', defaults: { podTemplate: TEMPLATE } });
  p.addApplication('app', { job: JobSource.sql('INSERT INTO t SELECT 1') });
  p.addSessionCluster('shared', {});
  for (const u of synthesizePlatform(p)) {
    for (const d of u.objects.filter((o) => o.kind === 'Deployment')) assert.ok(named(d.spec.template.spec.containers, 'log-shipper'), `${u.name} ${d.metadata.name}`);
    assert.deepEqual(restrictedViolations(u.objects), [], u.name);
  }
  synth((s) => {
    const c = new FlinkSessionCluster(s, 'pool', { checkpointDirectory: 's3://b/cp', podTemplate: { volumes: [{ name: 'scratch', source: VolumeSource.emptyDir() }], flinkContainer: { env: { A: EnvValue.fromValue('1') } } } });
    assert.throws(() => c.addEnv('A', EnvValue.fromValue('2')), /^ValidationError: env name: "A" is already set by a pod template's flinkContainer.env/);
    assert.throws(() => c.addVolume({ name: 'scratch', mountPath: '/x', source: VolumeSource.emptyDir() }), /^ValidationError: volumes\[\]\.name: "scratch" is already used in the pod/);
    c.addEnv('B', EnvValue.fromValue('3'));
  });
});

test('pod templates: the operator output keeps the sidecars, init containers and volumes and finds the Flink container by name, wherever an escape hatch put it', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  const app = p.addApplication('logs', {
    job: JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' }),
    podTemplate: TEMPLATE,
    jobManagerPodTemplate: { priorityClassName: 'flink-high', initContainers: [{ name: 'wait', image: 'busybox:1.36', command: ['true'] }] },
  });
  app.taskManagerDeployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0', { name: 'first', image: 'busybox:1.36' }));
  const [u] = synthesizePlatform(p);
  const fd = operatorResources(p.unit('logs')!, u.objects).find((o) => o.kind === 'FlinkDeployment');
  const jm = fd.spec.jobManager.podTemplate.spec;
  const tm = fd.spec.taskManager.podTemplate.spec;
  assert.deepEqual(jm.containers.map((c: any) => c.name), ['flink-main-container', 'log-shipper']);
  assert.deepEqual(tm.containers.map((c: any) => c.name), ['flink-main-container', 'first', 'log-shipper']);
  assert.ok(tm.containers[0].env.every((e: any) => e.name !== 'JOB_MANAGER_RPC_ADDRESS'), 'the taskmanager container, not the patched-in one, became the main container');
  assert.deepEqual(jm.initContainers.map((c: any) => c.name), ['wait']);
  assert.equal(jm.priorityClassName, 'flink-high');
  assert.deepEqual(named(jm.containers, 'log-shipper'), named(pod(u.objects, 'logs-jobmanager').containers, 'log-shipper'));
  assert.ok(named(jm.volumes, 'flink-log') && named(jm.volumes, 'shipper-state'), 'the log volume the sidecar reads stays');
});
