import { emitTemplate, TplIf } from '../synth/yaml';
import { B, Ctx, HOOK_UID, T } from './context';

/** The hooks of an application chart (hand-off, preflight, cleanup, their RBAC) and its helm test. */

/** Upgrade, rollback and cleanup hooks, their RBAC, and the test, for an application chart. */
export function applicationHooks(ctx: Ctx): Record<string, string> {
  const { c, app } = ctx;
  const a = app!;
  const labels = (component: string) => B(`include "${c}.labels" (dict "ctx" $ "component" "${component}")`);
  const md = (suffix: string, component: string, annotations?: Record<string, string>) => ({
    name: T(`{{ include "${c}.fullname" . }}${suffix}`),
    namespace: T('{{ .Release.Namespace }}'),
    labels: labels(component),
    ...(annotations ? { annotations } : {}),
  });
  const restUrl = T(`http://{{ include "${c}.fullname" . }}-rest.{{ .Release.Namespace }}.svc:8081`);
  const security = {
    allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
  };
  const podSecurity = { runAsNonRoot: true, runAsUser: HOOK_UID, runAsGroup: HOOK_UID, seccompProfile: { type: 'RuntimeDefault' } };
  const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } };
  const haRule = a.highAvailability ? [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [T(`{{ include "${c}.fullname" . }}-cluster-config-map`)], verbs: ['get'] }] : [];
  const rbac = (suffix: string, component: string, rules: any[], hook?: Record<string, string>) => ({
    [`templates/serviceaccount${suffix}.yaml`]: emitTemplate({
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: md(suffix, component, hook && { ...hook, 'helm.sh/hook-weight': '-20' }), automountServiceAccountToken: true,
    }).replace(/^\n/, ''),
    [`templates/role${suffix}.yaml`]: emitTemplate({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: md(suffix, component, hook && { ...hook, 'helm.sh/hook-weight': '-20' }), rules,
    }).replace(/^\n/, ''),
    [`templates/rolebinding${suffix}.yaml`]: emitTemplate({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: md(suffix, component, hook && { ...hook, 'helm.sh/hook-weight': '-15' }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: T(`{{ include "${c}.fullname" . }}${suffix}`) },
      subjects: [{ kind: 'ServiceAccount', name: T(`{{ include "${c}.fullname" . }}${suffix}`), namespace: T('{{ .Release.Namespace }}') }],
    }).replace(/^\n/, ''),
  });
  /**
   * A hook Job running the operations tool. With a ServiceAccount suffix it gets that account's
   * token; without one it gets no API access at all (the preflight, which runs at pre-install,
   * before the release's own accounts exist).
   */
  const job = (suffix: string, hook: string, weight: string, args: unknown[], sa: string | undefined,
    o: { container?: string; env?: unknown[]; deadlineSeconds?: unknown; kafkaCa?: boolean } = {}) => emitTemplate({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: md(suffix, 'hooks', { 'helm.sh/hook': hook, 'helm.sh/hook-weight': weight, 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' }),
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: o.deadlineSeconds ?? T('{{ .Values.hooks.timeoutSeconds }}'),
      template: {
        metadata: { labels: labels('hooks') },
        spec: {
          restartPolicy: 'Never',
          ...(sa !== undefined ? { serviceAccountName: T(`{{ include "${c}.fullname" . }}${sa}`) } : {}),
          automountServiceAccountToken: sa !== undefined,
          enableServiceLinks: false,
          securityContext: podSecurity,
          containers: [{
            name: o.container ?? 'ops',
            image: T('{{ .Values.hooks.image }}'),
            imagePullPolicy: 'IfNotPresent',
            args,
            ...(o.env?.length ? { env: o.env } : {}),
            securityContext: security,
            resources,
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(o.kafkaCa ? caMounts : [])],
          }],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...(o.kafkaCa ? caVolumes : [])],
        },
      },
    },
  }).replace(/^\n/, '');
  const handoffArgs = (event: string) => [
    'handoff', '--event', event,
    '--rest-url', restUrl,
    '--namespace', T('{{ .Release.Namespace }}'),
    '--configmap', T(`{{ include "${c}.fullname" . }}-handoff`),
    '--upgrade-mode', T('{{ .Values.job.upgradeMode }}'),
    '--state', T('{{ .Values.job.state }}'),
    '--revision', T('{{ .Release.Revision | quote }}'),
    '--savepoint-dir', T('{{ .Values.job.savepointDirectory | quote }}'),
    ...(a.highAvailability ? ['--ha-configmap', T(`{{ include "${c}.fullname" . }}-cluster-config-map`)] : []),
    '--timeout', T('{{ printf "%ds" (sub (int .Values.hooks.timeoutSeconds) 30) | quote }}'),
  ];
  const kafka = a.job.pipeline;
  const src = kafka?.props.source;
  // The source's CA (KAFKA_SOURCE_CA_FILE names the file), for the hooks that talk to its brokers.
  const ca = src?.tls?.volume();
  const caMounts = ca ? [{ name: ca.name, mountPath: ca.mountPath, readOnly: true }] : [];
  const caVolumes = src?.tls ? [src.tls._chartVolume()] : [];
  const caEnv = src?.tls ? [{ name: 'KAFKA_SOURCE_CA_FILE', value: src.tls.caFile }] : [];
  const sink = kafka?.props.sinks.map((s) => (s as any).p).find((p: any) => p && typeof p.topic === 'string' && p.bootstrapServers);
  const testArgs = [
    'smoke', '--rest-url', restUrl, '--job-name', c, '--require-checkpoint',
    ...(src && sink ? ['--kafka-bootstrap', src.bootstrapServers, '--source-topic', src.topic, '--sink-topic', sink.topic] : []),
    '--timeout', '240s',
  ];
  const testEnv = [...Object.entries(a.boundJob.env).filter(([k]) => k.startsWith('KAFKA_')).map(([k, v]) => v._toEnvVar(k)), ...caEnv];
  // Before the job's pods change: its source topics exist and its parallelism fits their
  // partitions; the Kafka sink topics on the same brokers exist (or are created when allowed).
  // A pre-install hook runs before the release's own ServiceAccount exists: it needs no API access.
  const sinkTopics = src ? [...new Set(kafka!.props.sinks.map((x) => (x as any).p)
    .filter((p: any) => p && typeof p.topic === 'string' && p.bootstrapServers === src.bootstrapServers).map((p: any) => p.topic as string))] : [];
  const sourceEnv = [...Object.entries(a.boundJob.env).filter(([k]) => k.startsWith('KAFKA_SOURCE_')).map(([k, v]) => v._toEnvVar(k)), ...caEnv];
  const preflight: Record<string, string> = src ? {
    'templates/job-preflight.yaml': `{{- if and .Values.hooks.preflight .Values.hooks.preflight.enabled }}\n${job('-preflight', 'pre-install,pre-upgrade', '-5', [
      'preflight', '--kafka-bootstrap', src.bootstrapServers, '--source-topic', src.topic,
      ...sinkTopics.flatMap((t) => ['--sink-topic', t]),
      '--parallelism', T('{{ .Values.job.parallelism | quote }}'),
      new TplIf('.Values.hooks.preflight.createSinkTopics', '--create-sink-topics'),
      '--timeout', '90s',
    ], undefined, { container: 'preflight', env: sourceEnv, deadlineSeconds: 120, kafkaCa: true })}{{- end }}\n`,
  } : {};
  return {
    ...preflight,
    ...rbac('-hooks', 'hooks', [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [T(`{{ include "${c}.fullname" . }}-handoff`)], verbs: ['get', 'update', 'patch'] },
      ...haRule,
    ]),
    'templates/job-pre-upgrade.yaml': job('-pre-upgrade', 'pre-upgrade', '0', handoffArgs('upgrade'), '-hooks'),
    'templates/job-pre-rollback.yaml': job('-pre-rollback', 'pre-rollback', '0', handoffArgs('rollback'), '-hooks'),
    // After uninstall the release's own RBAC is gone: the cleanup hook brings its own, as hooks.
    ...rbac('-cleanup', 'hooks', [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [T(`{{ include "${c}.fullname" . }}-handoff`)], verbs: ['get', 'delete'] },
      // Deleting the HA ConfigMaps by label needs a rule no name can narrow: only when asked for.
      ...(a.highAvailability ? [new TplIf('.Values.hooks.cleanupHaConfigMaps', { apiGroups: [''], resources: ['configmaps'], verbs: ['deletecollection'] })] : []),
    ], { 'helm.sh/hook': 'post-delete', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' }),
    'templates/job-post-delete.yaml': job('-cleanup', 'post-delete', '0', [
      'cleanup', '--namespace', T('{{ .Release.Namespace }}'), '--configmap', T(`{{ include "${c}.fullname" . }}-handoff`),
      // "" unless the user asks to drop the HA metadata too.
      ...(a.highAvailability ? ['--ha-cluster-id', T(`"{{ if .Values.hooks.cleanupHaConfigMaps }}{{ include "${c}.fullname" . }}{{ end }}"`)] : []),
    ], '-cleanup'),
    'templates/tests/pod-test.yaml': emitTemplate({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: md('-test', 'test', { 'helm.sh/hook': 'test', 'helm.sh/hook-delete-policy': 'before-hook-creation' }),
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurity,
        containers: [{
          name: 'smoke', image: T('{{ .Values.hooks.image }}'), imagePullPolicy: 'IfNotPresent', args: testArgs,
          ...(testEnv.length ? { env: testEnv } : {}),
          securityContext: security, resources, volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...caMounts],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }, ...caVolumes],
      },
    }).replace(/^\n/, ''),
  };
}
