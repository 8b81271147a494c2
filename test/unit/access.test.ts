/**
 * Identity and access: the pods' ServiceAccount (generated, annotated, or existing) and the
 * Ingress for the REST API and web UI, with the NetworkPolicy rule it needs and the session
 * cluster's opt-in.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkApplication, FlinkPlatform, FlinkSessionCluster, IngressPathType, JobSource, NetworkPeer, restrictedViolations, ServiceAccountRef, synthesizePlatform } from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import { find, synth } from '../support/synth';

const JAR = JobSource.jar({ entryClass: 'com.example.Job' });
const DIRS = { checkpointDirectory: 's3://b/cp', savepointDirectory: 's3://b/sp' };
const HA = { highAvailability: true, highAvailabilityStorageDir: 's3://b/ha' };

test('serviceAccount: annotations reach the generated ServiceAccount (cloud IAM bindings); the pods run as it', () => {
  const ann = { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/flink', 'iam.gke.io/gcp-service-account': 'flink@p.iam.gserviceaccount.com' };
  const objects = synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, serviceAccount: ServiceAccountRef.generated(ann) }));
  assert.deepEqual(find(objects, 'ServiceAccount', 'j-flink').metadata.annotations, ann);
  for (const c of ['jobmanager', 'taskmanager']) assert.equal(find(objects, 'Deployment', `j-${c}`).spec.template.spec.serviceAccountName, 'j-flink');
  const plain = synth((s) => new FlinkApplication(s, 'k', { job: JAR, ...DIRS }));
  assert.equal(find(plain, 'ServiceAccount', 'k-flink').metadata.annotations, undefined);
});

test('serviceAccount: an existing one is not generated; the pods run as it and the HA Role is bound to it', () => {
  let cluster!: FlinkSessionCluster;
  const objects = synth((s) => { cluster = new FlinkSessionCluster(s, 'sc', { ...DIRS, ...HA, namespace: 'team', serviceAccount: ServiceAccountRef.existing('flink-irsa') }); });
  assert.ok(!objects.some((o) => o.kind === 'ServiceAccount'), 'no ServiceAccount generated');
  assert.equal(cluster.serviceAccount, undefined);
  assert.equal(cluster.serviceAccountName, 'flink-irsa');
  for (const c of ['jobmanager', 'taskmanager']) {
    const pod = find(objects, 'Deployment', `sc-${c}`).spec.template.spec;
    assert.equal(pod.serviceAccountName, 'flink-irsa');
    assert.equal(pod.automountServiceAccountToken, true, 'HA needs the token');
  }
  assert.deepEqual(find(objects, 'RoleBinding', 'sc-flink-ha').subjects, [{ kind: 'ServiceAccount', name: 'flink-irsa', namespace: 'team', apiGroup: '' }]);
  assert.deepEqual(restrictedViolations(objects), []);
});

test('serviceAccount: bad names and annotation keys are refused with one line naming the value', () => {
  assert.throws(() => ServiceAccountRef.existing('Flink_SA'), /^ValidationError: serviceAccount name: "Flink_SA" is not a valid ServiceAccount name; expected a DNS-1123 subdomain/);
  assert.throws(() => ServiceAccountRef.generated({ 'bad key!': 'x' }), /serviceAccount annotations key: "bad key!" is not a valid label key/);
  assert.throws(() => synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, serviceAccount: 'flink' as any })), /serviceAccount: "flink" is invalid; expected ServiceAccountRef/);
});

test('ingress: class, host, path, pathType, TLS and annotations route to the REST Service; the controller may call the REST port', () => {
  const objects = synth((s) => new FlinkApplication(s, 'j', {
    job: JAR, ...DIRS, ingress: {
      className: 'nginx', host: 'flink.example.com', path: '/ui', pathType: IngressPathType.EXACT, tlsSecretName: 'flink-tls',
      annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic' }, controller: NetworkPeer.pods({ 'app.kubernetes.io/name': 'traefik' }, { 'kubernetes.io/metadata.name': 'traefik' }),
    },
  }));
  const ing = find(objects, 'Ingress', 'j-rest');
  assert.deepEqual(ing.metadata.annotations, { 'nginx.ingress.kubernetes.io/auth-type': 'basic' });
  assert.deepEqual(ing.spec, {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['flink.example.com'], secretName: 'flink-tls' }],
    rules: [{ host: 'flink.example.com', http: { paths: [{ path: '/ui', pathType: 'Exact', backend: { service: { name: 'j-rest', port: { name: 'rest' } } } }] } }],
  });
  const rest = find(objects, 'NetworkPolicy', 'j').spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === 8081));
  assert.deepEqual(rest.from.at(-1), { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } });

  const defaults = synth((s) => new FlinkApplication(s, 'd', { job: JAR, ...DIRS, ingress: {} }));
  assert.deepEqual(find(defaults, 'Ingress', 'd-rest').spec, { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'd-rest', port: { name: 'rest' } } } }] } }] });
  const dRest = find(defaults, 'NetworkPolicy', 'd').spec.ingress[1];
  assert.deepEqual(dRest.from.at(-1), { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
  const none = synth((s) => new FlinkApplication(s, 'n', { job: JAR, ...DIRS }));
  assert.ok(!none.some((o) => o.kind === 'Ingress'));
  assert.ok(!find(none, 'NetworkPolicy', 'n').spec.ingress[1].from.some((p: any) => p.namespaceSelector), 'no controller peer without an Ingress');
});

test('ingress: a session cluster needs allowRemoteCodeExecutionViaRestApi (jar upload and run); bad fields are refused in one line', () => {
  assert.throws(() => synth((s) => new FlinkSessionCluster(s, 'sc', { ...DIRS, ingress: { host: 'x.example.com' } })),
    /^ValidationError: ingress: "x.example.com" exposes the session cluster's REST API \(jar upload and run: code execution\) through an ingress controller; set allowRemoteCodeExecutionViaRestApi: true/);
  const ok = synth((s) => new FlinkSessionCluster(s, 'sc', { ...DIRS, allowRemoteCodeExecutionViaRestApi: true, ingress: { host: 'x.example.com' } }));
  find(ok, 'Ingress', 'sc-rest');
  assert.deepEqual(find(ok, 'NetworkPolicy', 'sc').spec.ingress[1].from.at(-1), { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }, 'the controller may call REST');
  const bad: [object, RegExp][] = [
    [{ path: 'ui' }, /^ValidationError: ingress.path: "ui" is invalid; expected an absolute URL path/],
    [{ pathType: 'Regex' }, /^ValidationError: ingress.pathType: "Regex" is unknown; expected one of Prefix, Exact, ImplementationSpecific$/],
    [{ host: 'https://flink.example.com' }, /^ValidationError: ingress.host: "https:\/\/flink.example.com" is invalid; expected a DNS name/],
    [{ tlsSecretName: 'TLS' }, /^ValidationError: ingress.tlsSecretName: "TLS" is not a valid name/],
    [{ controller: 'ingress-nginx' }, /^ValidationError: ingress.controller: "ingress-nginx" is invalid; expected a NetworkPeer/],
  ];
  for (const [ingress, re] of bad) assert.throws(() => synth((s) => new FlinkApplication(s, 'j', { job: JAR, ...DIRS, ingress: ingress as any })), re);
});

test('serviceAccount: the operator output runs the FlinkDeployment as the existing or annotated account', () => {
  const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f' });
  p.addSessionCluster('own', { serviceAccount: ServiceAccountRef.existing('flink-irsa') });
  p.addSessionCluster('gen', { serviceAccount: ServiceAccountRef.generated({ 'iam.gke.io/gcp-service-account': 'f@p.iam.gserviceaccount.com' }) });
  const out = Object.fromEntries(synthesizePlatform(p).map((u) => [u.name, operatorResources(p.unit(u.name)!, u.objects)]));
  assert.ok(!out.own.some((o: any) => o.kind === 'ServiceAccount'));
  assert.equal(out.own.find((o: any) => o.kind === 'FlinkDeployment').spec.serviceAccount, 'flink-irsa');
  assert.equal(out.own.find((o: any) => o.kind === 'RoleBinding').subjects[0].name, 'flink-irsa');
  assert.deepEqual(out.gen.find((o: any) => o.kind === 'ServiceAccount').metadata.annotations, { 'iam.gke.io/gcp-service-account': 'f@p.iam.gserviceaccount.com' });
  assert.equal(out.gen.find((o: any) => o.kind === 'FlinkDeployment').spec.serviceAccount, 'gen-flink');
});
