import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadValidator, validateYaml } from '../support/k8s-schema';
import { ensureHelm, ensureKubectl, ensurePrometheus, ensurePromtool, run } from '../support/tools';
import { HELM_LAYERS } from '../support/versions';

const labels = { 'app.kubernetes.io/name': 'wordcount', 'app.kubernetes.io/instance': 'wc' };

function deployment(): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'wc-jobmanager',
      namespace: 'flink',
      labels,
      annotations: { 'prometheus.io/scrape': 'true', 'checksum/config': 'abc' },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: 'wc',
          securityContext: { runAsNonRoot: true, runAsUser: 9999, fsGroup: 9999 },
          containers: [
            {
              name: 'jobmanager',
              image: 'flink:1.20',
              imagePullPolicy: 'IfNotPresent',
              args: ['standalone-job'],
              env: [
                { name: 'FLINK_PROPERTIES', value: 'a: b' },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              ports: [
                { name: 'rpc', containerPort: 6123 },
                { name: 'rest', containerPort: 8081, protocol: 'TCP' },
              ],
              resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '1600Mi' } },
              livenessProbe: { tcpSocket: { port: 6123 }, initialDelaySeconds: 30 },
              readinessProbe: { httpGet: { path: '/overview', port: 'rest' } },
              volumeMounts: [{ name: 'conf', mountPath: '/opt/flink/conf' }],
            },
          ],
          volumes: [{ name: 'conf', configMap: { name: 'wc-config', items: [{ key: 'config.yaml', path: 'config.yaml' }] } }],
        },
      },
    },
  };
}

const valid: Record<string, any> = {
  Deployment: deployment(),
  Service: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'wc-rest', labels },
    spec: {
      type: 'ClusterIP',
      selector: labels,
      ports: [
        { name: 'rest', port: 8081, targetPort: 'rest' },
        { name: 'rpc', port: 6123, targetPort: 6123, protocol: 'TCP' },
      ],
    },
  },
  ConfigMap: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'wc-config' },
    data: { 'config.yaml': 'jobmanager.rpc.address: wc\n', 'log4j-console.properties': 'rootLogger.level = INFO\n' },
  },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'wc' }, automountServiceAccountToken: false },
  Role: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'wc' },
    rules: [{ apiGroups: [''], resources: ['configmaps', 'pods'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] }],
  },
  RoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'wc' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'wc' },
    subjects: [{ kind: 'ServiceAccount', name: 'wc', namespace: 'flink' }],
  },
  PodDisruptionBudget: {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'wc-taskmanager' },
    spec: { maxUnavailable: '50%', selector: { matchLabels: labels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  },
  HorizontalPodAutoscaler: {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'wc-taskmanager' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'wc-taskmanager' },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1500Mi' } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
  },
  Job: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'wc-preflight', annotations: { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-5' } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 300,
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'preflight', image: 'node:20', command: ['node', 'preflight.js'] }] },
      },
    },
  },
  PodMonitor: {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: 'wc', labels },
    spec: {
      selector: { matchLabels: labels },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }],
    },
  },
  PrometheusRule: {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'wc' },
    spec: {
      groups: [
        {
          name: 'wc.rules',
          rules: [
            {
              alert: 'FlinkJobRestarting',
              expr: 'increase(flink_jobmanager_job_numRestarts[10m]) > 3',
              for: '5m',
              labels: { severity: 'warning' },
              annotations: { summary: 'Job {{ $labels.job_name }} restarts' },
            },
          ],
        },
      ],
    },
  },
  FlinkDeployment: {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: { name: 'wc' },
    spec: {
      image: 'flink:1.20',
      flinkVersion: 'v1_20',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2', 'state.backend.type': 'rocksdb' },
      serviceAccount: 'flink',
      jobManager: { resource: { memory: '2048m', cpu: 1 } },
      taskManager: { resource: { memory: '2048m', cpu: 1 }, replicas: 2 },
      podTemplate: { spec: { containers: [{ name: 'flink-main-container', env: [{ name: 'A', value: 'b' }] }] } },
      job: { jarURI: 'local:///opt/flink/usrlib/wc.jar', parallelism: 2, upgradeMode: 'stateless' },
    },
  },
};

test('the validator accepts valid objects of every kind the charts use', async () => {
  const validate = await loadValidator();
  for (const [kind, obj] of Object.entries(valid)) {
    assert.equal(obj.kind, kind);
    assert.deepEqual(validate(obj), [], `${kind} should be valid`);
  }
});

test('the validator accepts int-or-string, quantities as numbers, free-form maps and preserve-unknown-fields', async () => {
  const validate = await loadValidator();
  const d = deployment();
  d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } };
  d.spec.template.spec.containers[0].resources = { requests: { cpu: 0.5, memory: 1073741824 } };
  d.metadata.annotations['any.domain/with-any_key'] = '{"json": "inside"}';
  assert.deepEqual(validate(d), []);
  const fd = structuredClone(valid.FlinkDeployment);
  fd.spec.flinkConfiguration = { 'a.b.c': 'x', nested: { anything: [1, 2] } };
  assert.deepEqual(validate(fd), []);
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from('v').toString('base64') } };
  assert.deepEqual(validate(secret), []);
});

test('the validator rejects an unknown top-level field', async () => {
  const validate = await loadValidator();
  const cm = { ...valid.ConfigMap, dat: { a: 'b' } };
  assert.deepEqual(validate(cm), ['ConfigMap/wc-config: dat: {"a":"b"} is an unknown field of ConfigMap; did you mean "data"?']);
});

test('the validator rejects an unknown field deep in a pod template container', async () => {
  const validate = await loadValidator();
  const d = deployment();
  d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
  assert.deepEqual(validate(d), ['Deployment/wc-jobmanager: spec.template.spec.containers[0].imagePullPolicyy: "Always" is an unknown field of Container; did you mean "imagePullPolicy"?']);
});

test('the validator rejects a wrong type', async () => {
  const validate = await loadValidator();
  const d = deployment();
  d.spec.replicas = 'two';
  const errors = validate(d);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /^Deployment\/wc-jobmanager: spec\.replicas: "two" is invalid; expected an integer \(got a string\)$/);
});

test('the validator rejects a container without a name (missing required field)', async () => {
  const validate = await loadValidator();
  const d = deployment();
  delete d.spec.template.spec.containers[0].name;
  assert.deepEqual(validate(d), ['Deployment/wc-jobmanager: spec.template.spec.containers[0].name: (missing) is required in Container']);
});

test('the validator rejects a kind it has no schema for', async () => {
  const validate = await loadValidator();
  assert.deepEqual(validate({ apiVersion: 'v1', kind: 'Deploymnet', metadata: { name: 'x' } }), [
    'Deploymnet/x: kind: "Deploymnet" has no schema for apiVersion v1; expected one of the known kinds',
  ]);
  assert.deepEqual(validate({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } }), [
    'Deployment/x: kind: "Deployment" has no schema for apiVersion apps/v1beta1; expected one of the known kinds',
  ]);
  assert.deepEqual(validate({ apiVersion: 'v1', metadata: { name: 'x' } }), ['<no kind>/x: kind: (missing) is required; expected a non-empty string']);
});

test('the validator rejects enum, quantity, base64, int-or-string and duplicate-key violations', async () => {
  const validate = await loadValidator();
  const d = deployment();
  const c = d.spec.template.spec.containers[0];
  c.imagePullPolicy = 'Sometimes';
  c.resources.limits.memory = '1.5GB';
  c.env.push({ name: 'FLINK_PROPERTIES', value: 'again' });
  c.livenessProbe.tcpSocket.port = 61.23;
  assert.deepEqual(validate(d), [
    'Deployment/wc-jobmanager: spec.template.spec.containers[0].env[2].name: "FLINK_PROPERTIES" duplicates spec.template.spec.containers[0].env[0]; expected each name once in env',
    'Deployment/wc-jobmanager: spec.template.spec.containers[0].imagePullPolicy: "Sometimes" is invalid; expected one of "Always", "IfNotPresent", "Never"',
    'Deployment/wc-jobmanager: spec.template.spec.containers[0].livenessProbe.tcpSocket.port: 61.23 is invalid; expected an integer or a string (got a number)',
    'Deployment/wc-jobmanager: spec.template.spec.containers[0].resources.limits.memory: "1.5GB" is not a Kubernetes quantity; expected a number with an optional suffix such as "500m", "1.5", "512Mi" or "2G"',
  ]);
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'not base64!' } };
  assert.deepEqual(validate(secret), ['Secret/s: data.k: "not base64!" is not base64; expected base64-encoded data']);
  assert.deepEqual(validate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { a: 1 } }), [
    'ConfigMap/<no name>: data.a: 1 is invalid; expected a string (got a number)',
    'ConfigMap/<no name>: metadata.name: (missing) is required; expected a name',
  ]);
});

test('the validator checks custom resources strictly against their CRDs', async () => {
  const validate = await loadValidator();
  const pm = structuredClone(valid.PodMonitor);
  pm.spec.podMetricsEndpoints[0].intervall = '15s';
  pm.spec.podMetricsEndpoints[0].scheme = 'ftp';
  assert.deepEqual(validate(pm), [
    'PodMonitor/wc: spec.podMetricsEndpoints[0].intervall: "15s" is an unknown field of PodMonitor; did you mean "interval"?',
    'PodMonitor/wc: spec.podMetricsEndpoints[0].scheme: "ftp" is invalid; expected one of "http", "https", "HTTP", "HTTPS"',
  ]);
  const pr = structuredClone(valid.PrometheusRule);
  pr.metadata.labelz = {};
  delete pr.spec.groups[0].name;
  assert.deepEqual(validate(pr), [
    'PrometheusRule/wc: metadata.labelz: {} is an unknown field of ObjectMeta; did you mean "labels"?',
    'PrometheusRule/wc: spec.groups[0].name: (missing) is required in PrometheusRule',
  ]);
  const fd = structuredClone(valid.FlinkDeployment);
  fd.spec.flinkVersion = 'v1_99';
  fd.spec.podTemplate.spec.containers[0].imagePullPolicyy = 'Always';
  fd.spec.job.upgradeMode = 'whenever';
  const errors = validate(fd);
  assert.equal(errors.length, 3, errors.join('\n'));
  assert.match(errors.join('\n'), /FlinkDeployment\/wc: spec\.flinkVersion: "v1_99" is invalid; expected one of .*"v1_20"/);
  assert.match(errors.join('\n'), /FlinkDeployment\/wc: spec\.podTemplate\.spec\.containers\[0\]\.imagePullPolicyy: "Always" is an unknown field of FlinkDeployment; did you mean "imagePullPolicy"\?/);
  assert.match(errors.join('\n'), /FlinkDeployment\/wc: spec\.job\.upgradeMode: "whenever" is invalid; expected one of .*"savepoint"/);
});

test('validateYaml validates every document of a stream and reports YAML errors such as duplicate keys', async () => {
  const stream = [
    '---',
    '# Source: tiny/templates/sa.yaml',
    'apiVersion: v1',
    'kind: ServiceAccount',
    'metadata:',
    '  name: wc',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: a',
    '  name: b',
    '---',
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - apiVersion: v1',
    '    kind: Service',
    '    metadata: { name: s }',
    '    spec: { ports: [{ port: 80 }], selectr: {} }',
    '',
  ].join('\n');
  const errors = await validateYaml(stream, 'out.yaml');
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0], /^out\.yaml: document 1: Map keys must be unique/);
  assert.equal(errors[1], 'Service/s: spec.selectr: {} is an unknown field of ServiceSpec; did you mean "selector"?');
});

function tinyChart(dir: string, template: string): string {
  const chart = path.join(dir, 'tiny');
  fs.mkdirSync(path.join(chart, 'templates'), { recursive: true });
  fs.writeFileSync(
    path.join(chart, 'Chart.yaml'),
    'apiVersion: v2\nname: tiny\ndescription: A tiny chart\ntype: application\nversion: 0.1.0\nappVersion: "1.0"\nicon: https://example.com/icon.png\n',
  );
  fs.writeFileSync(path.join(chart, 'values.yaml'), 'greeting: hello\n');
  fs.writeFileSync(path.join(chart, 'templates', 'configmap.yaml'), template);
  return chart;
}

const goodTemplate = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: {{ .Release.Name }}-tiny',
  '  labels:',
  '    app.kubernetes.io/name: {{ .Chart.Name }}',
  '    app.kubernetes.io/instance: {{ .Release.Name }}',
  'data:',
  '  greeting: {{ .Values.greeting | quote }}',
  '',
].join('\n');

for (const major of [3, 4] as const) {
  test(`helm ${major} is a real helm ${major}.x whose lint --strict passes a good chart and fails a broken one`, async () => {
    const helm = await ensureHelm(major);
    const { stdout } = await run(helm, ['version', '--template', '{{.Version}}']);
    assert.equal(stdout.trim(), HELM_LAYERS[major].helm);
    assert.match(stdout.trim(), new RegExp(`^v${major}\\.`));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `helm${major}-`));
    try {
      const env = { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir };
      const good = tinyChart(path.join(dir, 'good'), goodTemplate);
      const lint = await run(helm, ['lint', '--strict', good], { env });
      assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      const bad = tinyChart(path.join(dir, 'bad'), goodTemplate.replace('.Values.greeting', '.Values.missing.greeting'));
      await assert.rejects(run(helm, ['lint', '--strict', bad], { env }), /nil pointer|1 chart\(s\) failed/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('kubectl is the pinned client version', async () => {
  const kubectl = await ensureKubectl();
  const { stdout } = await run(kubectl, ['version', '--client', '-o', 'json']);
  assert.equal(JSON.parse(stdout).clientVersion.gitVersion, HELM_LAYERS[4].kubectl);
});

test('promtool check rules accepts a valid rule file and rejects an invalid PromQL expression', async () => {
  const promtool = await ensurePromtool();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  try {
    const rule = (expr: string) =>
      [
        'groups:',
        '  - name: flink',
        '    rules:',
        '      - alert: FlinkJobRestarting',
        `        expr: ${JSON.stringify(expr)}`,
        '        for: 5m',
        '        labels:',
        '          severity: warning',
        '        annotations:',
        '          summary: "{{ $labels.job_name }} restarts"',
        '',
      ].join('\n');
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, rule('increase(flink_jobmanager_job_numRestarts[10m]) > 3'));
    const ok = await run(promtool, ['check', 'rules', good]);
    assert.match(ok.stdout, /SUCCESS: 1 rules found/);
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, rule('increase(flink_jobmanager_job_numRestarts[10m] > 3'));
    await assert.rejects(run(promtool, ['check', 'rules', bad]), (e: Error & { stdout?: string; stderr?: string }) => {
      assert.match(`${e.stdout}${e.stderr}`, /FAILED/);
      assert.match(`${e.stdout}${e.stderr}`, /parse error/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the prometheus server binary is installed alongside promtool', async () => {
  const prometheus = await ensurePrometheus();
  const r = await run(prometheus, ['--version']);
  assert.match(`${r.stdout}${r.stderr}`, /prometheus, version \d+\.\d+\.\d+/);
});
