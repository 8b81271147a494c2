import { test } from 'node:test';
import * as fs from 'fs';
import * as assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import {
  AntiAffinity, EnvValue, FlinkApplication, FlinkSessionCluster, FlinkSessionJob, FlinkVersion, IngressPathType, JobSource, restrictedViolations,
  RestartStrategy, ServiceAccountRef, StateBackend, VolumeSource,
} from '../../lib';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { buildSchemaBundle, bundleText, loadValidator } from '../support/k8s-schema';
import { objectProblems, SCHEMA_BUNDLE_FILE } from '../../lib/schema/validate';
import { KUBERNETES_VERSION } from '../support/versions';
import { synth } from '../support/synth';

/** Every variant the constructs can produce, beside the examples. */
function variants(): any[] {
  const jar = JobSource.jar({ entryClass: 'com.example.Job', jarFile: '/opt/flink/usrlib/job.jar' });
  const dirs = { checkpointDirectory: 's3://b/cp', savepointDirectory: 's3://b/sp' };
  return synth((s) => {
    for (const v of FlinkVersion.SUPPORTED) {
      new FlinkApplication(s, `app-${v.line.replace('.', '-')}`, {
        job: jar, ...dirs, flinkVersion: v, highAvailability: true, highAvailabilityStorageDir: 's3://b/ha', reactive: true,
        stateBackend: StateBackend.ROCKSDB, taskManagerAntiAffinity: AntiAffinity.REQUIRED, namespace: 'team-a',
        tolerations: [{ key: 'flink', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
        env: { TZ: EnvValue.fromValue('UTC'), POOL: EnvValue.fromConfigMap('settings', 'pool'), NODE: EnvValue.fromField('spec.nodeName') },
        volumes: [
          { name: 'tls', mountPath: '/etc/tls', source: VolumeSource.secret('tls') },
          { name: 'scratch', mountPath: '/scratch', source: VolumeSource.emptyDir(), readOnly: false },
          { name: 'data', mountPath: '/data', source: VolumeSource.persistentVolumeClaim('data', true) },
        ],
        imagePullSecrets: ['registry'], restartStrategy: RestartStrategy.failureRate(3, Duration.minutes(5), Duration.seconds(10)),
      });
    }
    const c = new FlinkSessionCluster(s, 'session', { ...dirs, taskManagerReplicas: 2, metrics: false, podDisruptionBudget: false });
    new FlinkSessionJob(s, 'session-jar', { cluster: c, job: jar, opsImage: 'ops:1.0.0', initialSavepointPath: 's3://b/sp/1', allowNonRestoredState: true });
    // Identity and access: an annotated generated ServiceAccount and a full Ingress; an existing ServiceAccount with HA.
    new FlinkApplication(s, 'app-ingress', {
      job: jar, ...dirs, namespace: 'team-a', serviceAccount: ServiceAccountRef.generated({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/flink' }),
      ingress: { className: 'nginx', host: 'flink.example.com', path: '/', pathType: IngressPathType.PREFIX, tlsSecretName: 'flink-tls', annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic' } },
    });
    new FlinkSessionCluster(s, 'session-sa', {
      ...dirs, highAvailability: true, highAvailabilityStorageDir: 's3://b/ha', serviceAccount: ServiceAccountRef.existing('flink-irsa'),
      allowRemoteCodeExecutionViaRestApi: true, ingress: { host: 'session.example.com' },
    });
  });
}

test(`schema: every generated object is valid against the Kubernetes ${KUBERNETES_VERSION} OpenAPI schema (strict: unknown fields fail)`, async () => {
  const validate = await loadValidator();
  const objects = [
    ...synthesizePlatform(buildLogPlatform(PRODUCTION)).flatMap((u) => u.objects),
    ...variants(),
  ];
  assert.ok(objects.length > 60);
  const errors = objects.flatMap((o) => validate(o));
  assert.deepEqual(errors, []);
  // The shipped bundle (what synth checks with) accepts them too.
  assert.deepEqual(objectProblems('variants', objects), []);
  // The validator is strict: a typo deep inside a generated pod template is caught.
  const broken = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'Deployment')));
  broken.spec.template.spec.containers[0].readinesProbe = broken.spec.template.spec.containers[0].readinessProbe;
  assert.match(validate(broken).join('\n'), /containers\[0\]\.readinesProbe: \{.* is an unknown field of Container; did you mean "readinessProbe"\?/);
});

test(`schema bundle: lib/schema/kubernetes-v1.34.json is what scripts/k8s-schema.js makes of the Kubernetes ${KUBERNETES_VERSION} spec and test/support/crds today`, async () => {
  const committed = fs.readFileSync(SCHEMA_BUNDLE_FILE, 'utf8');
  const fresh = bundleText(await buildSchemaBundle());
  assert.ok(committed === fresh, 'lib/schema/kubernetes-v1.34.json is stale: run `npm run schema` and commit it');
  // The test sees a change of any one definition.
  const bundle = JSON.parse(committed);
  bundle.definitions['io.k8s.api.core.v1.Container'].properties.name.type = 'integer';
  assert.notEqual(bundleText(bundle), fresh);
});

test('pod security: every pod of every example and variant meets the restricted standard', () => {
  const objects = [...synthesizePlatform(buildLogPlatform(PRODUCTION)).flatMap((u) => u.objects), ...variants()];
  const pods = objects.filter((o) => ['Deployment', 'Job'].includes(o.kind));
  assert.ok(pods.length >= 20);
  assert.deepEqual(restrictedViolations(objects), []);
  for (const o of pods) {
    const spec = o.spec.template.spec;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, `${o.metadata.name}/${c.name}`);
      assert.ok(c.resources.limits.memory, `${o.metadata.name}/${c.name} has a memory limit`);
      assert.equal(c.resources.limits.memory, c.resources.requests.memory, `${o.metadata.name}/${c.name} request = limit`);
      assert.ok(!/:latest$/.test(c.image) && /[:@]/.test(c.image), `${c.image} pinned`);
    }
  }
});

test('pod security: the checker reports each way a pod can break the restricted standard', () => {
  const pod = (container: any, podSc: any = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, extra: any = {}) => ({
    kind: 'Deployment', metadata: { name: 'x' },
    spec: { template: { spec: { securityContext: podSc, containers: [{ name: 'c', ...container }], ...extra } } },
  });
  const good = { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } };
  assert.deepEqual(restrictedViolations([pod(good)]), []);
  const cases: [any, RegExp][] = [
    [pod({ securityContext: { ...good.securityContext, privileged: true } }), /privileged/],
    [pod({ securityContext: { capabilities: { drop: ['ALL'] } } }), /allowPrivilegeEscalation must be false/],
    [pod(good, { seccompProfile: { type: 'RuntimeDefault' } }), /runAsNonRoot must be true/],
    [pod(good, { runAsNonRoot: true, runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } }), /runAsUser must not be 0/],
    [pod(good, { runAsNonRoot: true }), /seccompProfile.type must be RuntimeDefault/],
    [pod({ securityContext: { allowPrivilegeEscalation: false } }), /capabilities must drop ALL/],
    [pod({ securityContext: { ...good.securityContext, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }), /may add only NET_BIND_SERVICE/],
    [pod({ ...good, ports: [{ containerPort: 80, hostPort: 80 }] }), /hostPort 80/],
    [pod(good, undefined, { hostNetwork: true }), /host namespaces/],
    [pod(good, undefined, { volumes: [{ name: 'h', hostPath: { path: '/' } }] }), /restricted type hostPath/],
  ];
  for (const [obj, re] of cases) assert.match(restrictedViolations([obj]).join('\n'), re);
});
