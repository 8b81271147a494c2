import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { ValidationError } from '../../lib';
import { operatorResources } from '../../lib/operator/operator-resources';
import Ajv from 'ajv';
import { bundledValidator, checkObjects, FORMATS, goRegExp, objectProblems, readBundle } from '../../lib/schema/validate';
import { synthesizePlatform } from '../../lib/synth/synthesize';
import { KUBERNETES_VERSION } from '../support/versions';

/** The example platform's objects, and its units (synthesis itself validates: this must not throw). */
const units = synthesizePlatform(buildLogPlatform(PRODUCTION));
const objects = units.flatMap((u) => u.objects);
const clone = <T>(o: T): T => structuredClone(o);
const deployment = () => clone(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'access-logs-jobmanager'));
const find = (kind: string) => clone(objects.find((o) => o.kind === kind));

/** The one line `checkObjects` refuses `obj` with (unit "u"). */
function refusal(obj: any): string {
  try {
    checkObjects('u', [obj]);
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail(`accepted: ${JSON.stringify(obj).slice(0, 200)}`);
}

test('schema bundle: Kubernetes v1.34 and every kind the toolkit generates, for manifests and --target operator', () => {
  const b = readBundle();
  assert.equal(b.kubernetesVersion, KUBERNETES_VERSION);
  const v = bundledValidator();
  const operator = units.flatMap((u) => operatorResources(buildLogPlatform(PRODUCTION).unit(u.name)!, u.objects, { sqlRunnerJarUri: 'https://a.example.com/r.jar' }));
  for (const o of [...objects, ...operator]) assert.ok(v.knows(o.apiVersion, o.kind), `${o.apiVersion}/${o.kind}`);
  for (const k of ['flink.apache.org/v1beta1/FlinkDeployment', 'flink.apache.org/v1beta1/FlinkSessionJob', 'monitoring.coreos.com/v1/ServiceMonitor', 'apps/v1/StatefulSet', 'v1/Secret']) {
    assert.ok(v.kinds.includes(k), k);
  }
  assert.deepEqual(objectProblems('u', [...objects, ...operator]), []);
});

test('schema validator: good objects pass, including the forms the API server accepts', () => {
  const d = deployment();
  d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } };
  d.spec.template.spec.containers[0].resources.requests = { cpu: 0.5, memory: 1073741824 };
  d.metadata.annotations = { 'any.domain/with-any_key': 'a value with spaces: and "quotes"' };
  d.metadata.labels['example.com/team'] = '';
  assert.deepEqual(bundledValidator().validate(d), []);
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kafka.creds' }, data: { '.hidden': Buffer.from('v').toString('base64') }, stringData: { 'a_b-c.d': 'x' } };
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'system:flink' }, rules: [] };
  const custom = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'b' } }, spec: { anything: [1, { x: true }] } };
  for (const o of [secret, role, custom]) assert.deepEqual(bundledValidator().validate(o), [], o.kind);
});

test('schema validator: each class of error is refused with one line naming the object, the field, the value and the expectation', () => {
  const D = 'u: Deployment/access-logs-jobmanager: spec.template.spec';
  const P = 'spec.template.spec';
  const cases: [string, (d: any) => any, string | RegExp][] = [
    ['unknown field', (d) => (d.spec.template.spec.containers[0].readinesProbe = {}, d), `${D}.containers[0].readinesProbe: {} is an unknown field of Container; did you mean "readinessProbe"?`],
    ['unknown field, no near name', (d) => (d.spec.zzz = 1, d), /^u: Deployment\/access-logs-jobmanager: spec.zzz: 1 is an unknown field of DeploymentSpec; expected one of minReadySeconds, paused, /],
    ['wrong type', (d) => (d.spec.replicas = 'two', d), 'u: Deployment/access-logs-jobmanager: spec.replicas: "two" is invalid; expected an integer (got a string)'],
    ['object where a list belongs', (d) => (d.spec.template.spec.containers = { name: 'x' }, d), `${D}.containers: {"name":"x"} is invalid; expected an array (got an object)`],
    ['required field', (d) => (delete d.spec.template.spec.containers[0].name, d), `${D}.containers[0].name: (missing) is required in Container`],
    ['enum', (d) => (d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes', d), `${D}.containers[0].imagePullPolicy: "Sometimes" is invalid; expected one of "Always", "IfNotPresent", "Never"`],
    ['int32 range', (d) => (d.spec.template.spec.containers[0].ports[0].containerPort = 2 ** 31, d), `${D}.containers[0].ports[0].containerPort: 2147483648 is out of range; expected an int32 (-2147483648 to 2147483647)`],
    ['quantity', (d) => (d.spec.template.spec.containers[0].resources.limits.memory = '1.5GB', d), `${D}.containers[0].resources.limits.memory: "1.5GB" is not a Kubernetes quantity; expected a number with an optional suffix such as "500m", "1.5", "512Mi" or "2G"`],
    ['duplicate container name', (d) => (d.spec.template.spec.containers.push({ ...d.spec.template.spec.containers[0] }), d), `${D}.containers[1].name: "jobmanager" duplicates ${P}.containers[0]; expected each name once in containers`],
    ['container named like an init container', (d) => (d.spec.template.spec.containers[0].name = 'flink-config', d), `${D}.containers[0].name: "flink-config" is also the name of ${P}.initContainers[0]; expected container names unique across the pod`],
    ['duplicate env name', (d) => (d.spec.template.spec.containers[0].env.push({ ...d.spec.template.spec.containers[0].env[0] }), d), /containers\[0\]\.env\[\d+\]\.name: "[A-Z_]+" duplicates .*containers\[0\]\.env\[0\]; expected each name once in env$/],
    ['duplicate port (containerPort + default protocol)', (d) => (d.spec.template.spec.containers[0].ports.push({ containerPort: d.spec.template.spec.containers[0].ports[0].containerPort, protocol: 'TCP', name: 'again' }), d), /containers\[0\]\.ports\[\d+\]: \{"containerPort":\d+,"protocol":"TCP"\} duplicates .*ports\[0\]; expected each containerPort \+ protocol once in ports$/],
    ['label value', (d) => (d.metadata.labels.team = 'a b', d), 'u: Deployment/access-logs-jobmanager: metadata.labels.team: "a b" is not a valid label value; expected at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric'],
    ['label key', (d) => (d.spec.template.metadata.labels['bad key'] = 'x', d), 'u: Deployment/access-logs-jobmanager: spec.template.metadata.labels key: "bad key" is not a valid label key; expected an optional DNS prefix and "/", then at most 63 characters of [A-Za-z0-9-_.]'],
    ['annotation key', (d) => (d.metadata.annotations = { 'a/b/c': 'x' }, d), /^u: Deployment\/access-logs-jobmanager: metadata.annotations key: "a\/b\/c" is not a valid label key/],
    ['selector label value', (d) => (d.spec.selector.matchLabels['app.kubernetes.io/name'] = '-x', d), /^u: Deployment\/access-logs-jobmanager: spec.selector.matchLabels\["app.kubernetes.io\/name"\]: "-x" is not a valid label value/],
    ['namespace', (d) => (d.metadata.namespace = 'Team_A', d), /^u: Deployment\/access-logs-jobmanager: metadata.namespace: "Team_A" is not a valid name; expected a DNS-1123 label/],
    ['object name', (d) => (d.metadata.name = 'Access-Logs', d), 'u: Deployment/Access-Logs: metadata.name: "Access-Logs" is not a valid object name; expected a DNS subdomain: lower-case letters, digits, "-" and ".", at most 253 characters'],
    ['container name', (d) => (d.spec.template.spec.containers[0].name = 'job.manager', d), /^u: Deployment\/access-logs-jobmanager: spec.template.spec.containers\[0\].name: "job.manager" is not a valid name; expected a DNS-1123 label/],
    ['port name', (d) => (d.spec.template.spec.containers[0].ports[0].name = 'rest-api-endpoint', d), /containers\[0\]\.ports\[0\]\.name: "rest-api-endpoint" is not a valid port name; expected an IANA service name: at most 15/],
    ['probe port name', (d) => (d.spec.template.spec.containers[0].livenessProbe = { tcpSocket: { port: 'RPC' } }, d), /containers\[0\]\.livenessProbe\.tcpSocket\.port: "RPC" is not a valid port name/],
    ['volume name', (d) => (d.spec.template.spec.volumes[0].name = 'Flink_Conf', d), /volumes\[0\]\.name: "Flink_Conf" is not a valid name; expected a DNS-1123 label/],
    ['duplicate volume name', (d) => (d.spec.template.spec.volumes.push(d.spec.template.spec.volumes[0]), d), /volumes\[6\]\.name: "flink-config-template" duplicates .*volumes\[0\]; expected each name once in volumes$/],
  ];
  for (const [what, mutate, expected] of cases) {
    const msg = refusal(mutate(deployment()));
    if (typeof expected === 'string') assert.equal(msg, expected, what);
    else assert.match(msg, expected, what);
  }
  const others: [string, any, string | RegExp][] = [
    ['Service name (DNS-1035)', { ...find('Service'), metadata: { name: '1-rest' } }, /^u: Service\/1-rest: metadata.name: "1-rest" is not a valid name; expected a DNS-1035 label/],
    ['Service port name', (() => { const s = find('Service'); s.spec.ports[0].name = 'REST'; return s; })(), /^u: Service\/[-a-z]+: spec.ports\[0\].name: "REST" is not a valid name; expected a DNS-1123 label/],
    ['Service selector', (() => { const s = find('Service'); s.spec.selector = { component: 'job manager' }; return s; })(), /spec.selector.component: "job manager" is not a valid label value/],
    ['Role name (path segment)', { ...find('Role'), metadata: { name: 'a/b' } }, /^u: Role\/a\/b: metadata.name: "a\/b" is not a valid name; expected a path segment/],
    ['Job name above 63 characters', { ...find('Job'), metadata: { name: 'j'.repeat(64) } }, /^u: Job\/j{64}: metadata.name: "j{64}" is too long for a Job; expected at most 63 characters$/],
    ['ConfigMap key', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'conf/flink.yaml': 'x' } }, 'u: ConfigMap/c: data key: "conf/flink.yaml" is not a valid Secret or ConfigMap key; expected at most 253 characters of [-._a-zA-Z0-9], not "." and not starting with ".."'],
    ['ConfigMap key in data and binaryData', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x' }, binaryData: { a: 'eA==' } }, 'u: ConfigMap/c: binaryData key: "a" is also a key of data; expected each key in data or binaryData, not both'],
    ['Secret key', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { '..x': 'y' } }, /^u: Secret\/s: stringData key: "\.\.x" is not a valid Secret or ConfigMap key/],
    ['Secret data not base64', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'not base64!' } }, 'u: Secret/s: data.k: "not base64!" is not base64; expected base64-encoded data'],
    ['no name', { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, 'u: ConfigMap/<no name>: metadata.name: (missing) is required; expected a name'],
    ['no kind', { apiVersion: 'v1', metadata: { name: 'x' } }, 'u: <no kind>/x: kind: (missing) is required; expected a non-empty string'],
    ['not an object', 'apiVersion: v1', 'u: <no kind>/<no name>: (root): "apiVersion: v1" is not a Kubernetes object; expected an object with apiVersion, kind and metadata'],
    ['custom resource: pattern of its CRD', (() => { const pm = find('PodMonitor'); pm.spec.podMetricsEndpoints[0].interval = '15 seconds'; return pm; })(), /^u: PodMonitor\/[-a-z]+: spec.podMetricsEndpoints\[0\].interval: "15 seconds" is invalid; expected a match of \//],
    ['custom resource: unknown field', (() => { const pr = find('PrometheusRule'); pr.spec.groups[0].rulez = []; return pr; })(), /^u: PrometheusRule\/[-a-z]+: spec.groups\[0\].rulez: \[\] is an unknown field of PrometheusRule; did you mean "rules"\?$/],
    ['kind without a schema: its metadata', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'Widget_1' }, spec: {} }, /^u: Widget\/Widget_1: metadata.name: "Widget_1" is not a valid object name/],
  ];
  for (const [what, obj, expected] of others) {
    const msg = refusal(obj);
    if (typeof expected === 'string') assert.equal(msg, expected, what);
    else assert.match(msg, expected, what);
  }
});

test('schema validator: objectProblems lists every problem of every object, one line each', () => {
  const d = deployment();
  d.spec.replicas = -1.5;
  d.metadata.labels.team = 'a b';
  const problems = objectProblems('u', [d, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok' }, data: { a: 1 } }]);
  assert.deepEqual(problems, [
    'u: Deployment/access-logs-jobmanager: metadata.labels.team: "a b" is not a valid label value; expected at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric',
    'u: Deployment/access-logs-jobmanager: spec.replicas: -1.5 is invalid; expected an integer (got a number)',
    'u: ConfigMap/ok: data.a: 1 is invalid; expected a string (got a number)',
  ]);
});

/** The bundle compiled by ajv, an independent JSON Schema engine: the oracle for the schema part of the validator. */
function ajvValidator(): (obj: any) => boolean {
  const b = readBundle();
  const ajv = new Ajv({ allErrors: false, strict: false, validateSchema: false, inlineRefs: false, code: { regExp: Object.assign((p: string) => goRegExp(p), { code: 'goRegExp' }) as any } });
  for (const [name, f] of Object.entries(FORMATS)) ajv.addFormat(name, { validate: f.test });
  ajv.addKeyword({
    keyword: 'k8sListMapKeys', type: 'array', schemaType: 'array',
    validate: (keys: string[], data: any[]) => {
      const seen = new Set(data.filter((i) => i && typeof i === 'object').map((i) => JSON.stringify(keys.map((k) => i[k] ?? (k === 'protocol' ? 'TCP' : null)))));
      return seen.size === data.filter((i) => i && typeof i === 'object').length;
    },
  });
  ajv.addSchema({ $id: 'https://bundle.invalid/k8s.json', definitions: b.definitions });
  const compiled = new Map<string, (o: any) => boolean>();
  return (obj) => {
    const def = b.kinds[`${obj.apiVersion}/${obj.kind}`];
    if (!compiled.has(def)) compiled.set(def, ajv.compile({ $ref: `https://bundle.invalid/k8s.json#/definitions/${def.replace(/~/g, '~0').replace(/\//g, '~1')}` }) as (o: any) => boolean);
    return compiled.get(def)!(obj);
  };
}

test('schema validator: agrees with ajv on the bundle for every example object and 1500 type, unknown-field and removal mutations of them', () => {
  const ajvValid = ajvValidator();
  const ours = bundledValidator();
  const operator = units.flatMap((u) => operatorResources(buildLogPlatform(PRODUCTION).unit(u.name)!, u.objects, { sqlRunnerJarUri: 'https://a.example.com/r.jar' }));
  const all = [...objects, ...operator];
  for (const o of all) assert.equal(ajvValid(o), true, `${o.kind}/${o.metadata.name}`);
  // A deterministic pseudo-random walk (xorshift) to a node of an object, then one mutation there.
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let invalid = 0;
  for (let i = 0; i < 1500; i++) {
    const obj = clone(all[rand(all.length)]);
    let parent: any = obj;
    let key: string | number = Object.keys(obj)[rand(Object.keys(obj).length)];
    for (let depth = rand(8); depth > 0; depth--) {
      const v: any = parent[key];
      if (v === null || typeof v !== 'object') break;
      const keys: (string | number)[] = Array.isArray(v) ? v.map((_, j) => j) : Object.keys(v);
      if (keys.length === 0) break;
      parent = v;
      key = keys[rand(keys.length)];
    }
    if (['metadata', 'name', 'apiVersion', 'kind'].includes(String(key)) && parent === obj) continue;
    const v = parent[key];
    const kind = rand(3);
    if (kind === 0) parent[key] = typeof v === 'string' ? 123 : typeof v === 'number' ? 'x' : typeof v === 'boolean' ? 'true' : Array.isArray(v) ? { a: 1 } : [1];
    else if (kind === 1 && v !== null && typeof v === 'object' && !Array.isArray(v)) v.zzzUnknown = 1;
    else if (!Array.isArray(parent) && key !== 'name') delete parent[key];
    else continue;
    const a = ajvValid(obj);
    const problems = ours.validate(obj);
    if (!a) invalid++;
    assert.equal(problems.length === 0, a, `${obj.kind} at ${String(key)} (mutation ${kind}): ajv ${a ? 'accepts' : 'refuses'}, ours says ${JSON.stringify(problems).slice(0, 300)}`);
  }
  assert.ok(invalid > 250, `${invalid} of the mutations are invalid`);
});
