import { PORTS } from '../cluster/flink-cluster';
import { emitTemplate, TplBlock, TplIf, TplLiteral, TplScalar, TplString } from '../synth/yaml';
import { B, Ctx, goString, NAME_FIELDS, SUFFIXES, T } from './context';
import { LABELS } from './values';

/** The objects of dist/ as chart templates: release-based names and labels, values for images, resources, scheduling and switches, monitoring and network policy. */

/** Replaces references to this unit's objects (name fields, the JobManager address) with release-based names. */
export function templatizeNames(node: any, name: string, c: string, parentKey?: string): any {
  if (Array.isArray(node)) return node.map((x) => templatizeNames(x, name, c));
  if (node === null || typeof node !== 'object' || node instanceof TplScalar || node instanceof TplBlock || node instanceof TplLiteral || node instanceof TplString) return node;
  if (node instanceof TplIf) return new TplIf(node.cond, templatizeNames(node.value, name, c));
  const out: any = {};
  for (const [k, v] of Object.entries(node)) {
    const isRef = typeof v === 'string' && (NAME_FIELDS.has(k) || (k === 'value' && node.name === 'JOB_MANAGER_RPC_ADDRESS'))
      && SUFFIXES.some((s) => v === `${name}${s}`) && !(parentKey === 'ports' || parentKey === 'containers' || parentKey === 'initContainers');
    out[k] = isRef ? T(`{{ include "${c}.fullname" $ }}${(v as string).slice(name.length)}`) : templatizeNames(v, name, c, k);
  }
  return out;
}

export function baseMetadata(o: any, name: string, c: string, extra: Record<string, unknown> = {}): any {
  const component = o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
  // Labels beyond the recommended ones (grafana_dashboard, ...) stay; `release` comes from values.
  const others = Object.entries(o.metadata.labels ?? {}).filter(([k]) => !k.startsWith('app.kubernetes.io/') && k !== 'release');
  const extraLabels = others.length ? ` "extra" (dict ${others.map(([k, v]) => `${JSON.stringify(k)} ${JSON.stringify(v)}`).join(' ')})` : '';
  return {
    name: T(`{{ include "${c}.fullname" . }}${o.metadata.name.slice(name.length)}`),
    namespace: T('{{ .Release.Namespace }}'),
    labels: B(`include "${c}.labels" (dict "ctx" $ "component" "${component}"${extraLabels})`),
    ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
    ...extra,
  };
}

/**
 * Strings that name this release's cluster or namespace (PromQL selectors, rule group names,
 * dashboard ids and titles) as release-relative templates.
 */
export function releaseRelative(node: any, name: string, ns: string | undefined): any {
  if (Array.isArray(node)) return node.map((x) => releaseRelative(x, name, ns));
  if (node && typeof node === 'object' && node.constructor === Object) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, releaseRelative(v, name, ns)]));
  }
  if (typeof node !== 'string') return node;
  const esc = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const b = '(?<![A-Za-z0-9_-])';
  const e = '(?![A-Za-z0-9_-])';
  // The namespace only where it names this cluster: namespace="<ns>", or <ns>/<name>, <ns>.<name>, <ns>-<name>.
  const alts = [
    ...(ns ? [`namespace="(${esc(ns)})"`, `${b}(${esc(ns)})(?=[/.-]${esc(name)}${e})`] : []),
    `${b}(${esc(name)})${e}`,
  ];
  const re = new RegExp(alts.join('|'), 'g');
  const parts: string[] = [];
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(node)) !== null) {
    const isName = m[m.length - 1] !== undefined;
    const word = isName ? name : ns!;
    const at = m.index + m[0].indexOf(word);
    parts.push(node.slice(last, at), isName ? '.Release.Name' : '.Release.Namespace');
    last = at + word.length;
  }
  if (parts.length === 0) return node;
  parts.push(node.slice(last));
  return new TplString(parts);
}

/** Monitoring objects: release-relative selectors and queries, the `release` label, switches. */
export function templatizeMonitoring(o: any, ctx: Ctx): { file: string; text: string } {
  const { name, c } = ctx;
  const ns = o.metadata.namespace as string | undefined;
  const switchOf: Record<string, string> = {
    PodMonitor: 'scrape', ServiceMonitor: 'scrape', Service: 'scrape', PrometheusRule: 'alerts',
  };
  const suffix = o.metadata.name.slice(name.length + 1);
  const which = o.kind === 'ConfigMap' ? (/dashboard/.test(suffix) ? 'dashboard' : 'alerts') : switchOf[o.kind] ?? 'scrape';
  const sel = B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "")`);
  let out: any = { ...o, metadata: baseMetadata(o, name, c) };
  if (o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor') out.spec = { ...o.spec, selector: { ...o.spec.selector, matchLabels: sel } };
  if (o.kind === 'Service') out.spec = { ...o.spec, selector: sel };
  out = { ...out, ...Object.fromEntries(Object.entries(out).filter(([k]) => k !== 'metadata' && k !== 'apiVersion' && k !== 'kind').map(([k, v]) => [k, releaseRelative(v, name, ns)])) };
  if (o.kind === 'ConfigMap' && o.data) {
    // Data keys that carry the name (the dashboard file) stay as synthesized: Grafana reads any key.
    out.data = Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, releaseRelative(v, name, ns)]));
  }
  out = templatizeNames(out, name, c);
  return {
    file: `templates/${o.kind.toLowerCase()}-${suffix}.yaml`,
    text: `{{- if .Values.monitoring.${which} }}
${emitTemplate(out).replace(/^\n/, '')}{{- end }}
`,
  };
}

/** Names of the pod volumes holding a Kafka certificate authority (KafkaTls.volume()). */
const KAFKA_CA_VOLUME = /^kafka-ca-[0-9a-f]{10}$/;

/** A volume as KafkaTls.volume() makes it: its name, a Secret, one key. */
export function isKafkaCaVolume(v: any): boolean {
  return KAFKA_CA_VOLUME.test(v?.name ?? '') && v.secret?.items?.length === 1;
}

/** A Kafka CA volume with its Secret name and key from values `kafkaTls.<volume>`; other volumes as they are. */
export function templatizeKafkaCa(v: any): any {
  if (!isKafkaCaVolume(v)) return v;
  const at = `(index .Values.kafkaTls ${goString(v.name)})`;
  return { name: v.name, secret: { secretName: T(`{{ ${at}.secretName | quote }}`), items: [{ key: T(`{{ ${at}.key | quote }}`), path: v.secret.items[0].path }] } };
}

/** A Deployment's pod template, with values for image, resources, scheduling and labels. */
export function templatizeDeployment(o: any, ctx: Ctx): any {
  const { c, app } = ctx;
  const component: string = o.metadata.labels['app.kubernetes.io/component'];
  const isJm = component === 'jobmanager';
  const pod = o.spec.template.spec;
  const suspended = app ? 'eq .Values.job.state "suspended"' : undefined;
  const spec: any = { ...o.spec };
  if (isJm) {
    spec.replicas = suspended ? T(`{{ if ${suspended} }}0{{ else }}${o.spec.replicas}{{ end }}`) : o.spec.replicas;
  } else if (o.spec.replicas !== undefined) {
    spec.replicas = suspended
      ? T(`{{ if ${suspended} }}0{{ else }}{{ .Values.taskManager.replicas }}{{ end }}`)
      : T('{{ .Values.taskManager.replicas }}');
  } else if (suspended) {
    spec.replicas = new TplIf(suspended, 0);
  }
  spec.selector = { matchLabels: B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}")`) };
  const { nodeSelector: _n, tolerations: _t, affinity, ...podRest } = pod;
  void _n; void _t;
  const values = isJm ? '.Values.jobManager' : '.Values.taskManager';
  const main = podRest.containers.map((ct: any) => ({
    ...ct,
    image: T(`{{ include "${c}.image" $ }}`),
    imagePullPolicy: T('{{ .Values.image.pullPolicy }}'),
    resources: B(`include "${c}.resources" ${values}.resources`),
    ...(isJm && app ? { args: B(`include "${c}.jobManagerArgs" .`) } : {}),
  }));
  const init = (podRest.initContainers ?? []).map((ct: any) => ({ ...ct, image: T(`{{ include "${c}.image" $ }}`), imagePullPolicy: T('{{ .Values.image.pullPolicy }}') }));
  spec.template = {
    metadata: {
      labels: B(`include "${c}.podLabels" (dict "ctx" $ "component" "${component}")`),
      annotations: B(`include "${c}.podAnnotations" (dict "ctx" $ "component" "${component}")`),
    },
    spec: {
      ...podRest,
      serviceAccountName: T(`{{ include "${c}.serviceAccountName" $ }}`),
      initContainers: init,
      containers: main,
      ...(podRest.volumes ? { volumes: podRest.volumes.map(templatizeKafkaCa) } : {}),
      nodeSelector: new TplIf('.Values.nodeSelector', B('toYaml .Values.nodeSelector')),
      tolerations: new TplIf('.Values.tolerations', B('toYaml .Values.tolerations')),
      affinity: affinity
        ? B(`include "${c}.${isJm ? 'jobManager' : 'taskManager'}Affinity" .`)
        : new TplIf('.Values.affinity', B('toYaml .Values.affinity')),
    },
  };
  return { ...o, metadata: baseMetadata(o, ctx.name, c), spec };
}

export function templatizeObject(o: any, ctx: Ctx, configFile: string): { file: string; text: string } {
  const { name, c } = ctx;
  if (o.metadata.labels?.['app.kubernetes.io/component'] === 'monitoring') return templatizeMonitoring(o, ctx);
  const suffix = o.metadata.name.slice(name.length).replace(/^-/, '');
  let out: any;
  let file = `${o.kind.toLowerCase()}${suffix ? `-${suffix}` : ''}.yaml`;
  let prefix = '';
  let suffixText = '';
  switch (o.kind) {
    case 'Deployment':
      out = templatizeDeployment(o, ctx);
      break;
    case 'ConfigMap':
      if (suffix === 'config') {
        file = 'configmap.yaml';
        prefix = `{{- include "${c}.validate" . }}\n`;
        out = { ...o, metadata: baseMetadata(o, name, c), data: { ...o.data, [configFile]: new TplLiteral(`include "${c}.flinkConfig" .`) } };
      } else if (suffix === 'handoff') {
        // Installed once by a hook and never overwritten: upgrade hooks rewrite it.
        out = {
          ...o,
          metadata: baseMetadata(o, name, c, {
            annotations: { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-10', 'helm.sh/hook-delete-policy': 'before-hook-creation' },
          }),
          data: {
            jobId: T(`{{ include "${c}.jobId" . }}`),
            // The revision whose code the JobManager runs: what a rollback finds its state by.
            revision: T('{{ .Release.Revision | quote }}'),
            savepointPath: T('{{ .Values.job.initialSavepointPath | quote }}'),
            allowNonRestoredState: T('{{ .Values.job.allowNonRestoredState | toString | quote }}'),
          },
        };
      } else {
        out = { ...o, metadata: baseMetadata(o, name, c) };
      }
      break;
    case 'Service':
      out = { ...o, metadata: baseMetadata(o, name, c), spec: { ...o.spec, selector: B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "${o.spec.selector['app.kubernetes.io/component']}")`) } };
      break;
    case 'PodDisruptionBudget':
      out = { ...o, metadata: baseMetadata(o, name, c), spec: { ...o.spec, selector: { matchLabels: B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "${o.spec.selector.matchLabels['app.kubernetes.io/component']}")`) } } };
      if (ctx.app) {
        prefix = '{{- if eq .Values.job.state "running" }}\n';
        suffixText = '{{- end }}\n';
      }
      break;
    case 'ServiceAccount':
      // The pods' ServiceAccount: created with the values' name and annotations, or an existing one.
      prefix = '{{- if .Values.serviceAccount.create }}\n';
      suffixText = '{{- end }}\n';
      out = {
        ...o,
        metadata: {
          ...baseMetadata(o, name, c),
          name: T(`{{ include "${c}.serviceAccountName" . }}`),
          annotations: new TplIf('.Values.serviceAccount.annotations', B('toYaml .Values.serviceAccount.annotations')),
        },
      };
      break;
    case 'RoleBinding':
      out = {
        ...o, metadata: baseMetadata(o, name, c),
        subjects: o.subjects.map((x: any) => ({ ...x, name: T(`{{ include "${c}.serviceAccountName" $ }}`), namespace: T('{{ .Release.Namespace }}') })),
      };
      break;
    case 'NetworkPolicy':
      prefix = '{{- if .Values.networkPolicy.enabled }}\n';
      suffixText = '{{- end }}\n';
      out = { ...o, metadata: baseMetadata(o, name, c), spec: networkPolicySpec(o.spec, ctx) };
      break;
    case 'HorizontalPodAutoscaler':
      prefix = '{{- if eq .Values.job.state "running" }}\n';
      suffixText = '{{- end }}\n';
      out = {
        ...o, metadata: baseMetadata(o, name, c),
        spec: {
          ...o.spec,
          minReplicas: T('{{ .Values.taskManager.autoscaling.minReplicas }}'),
          maxReplicas: T('{{ .Values.taskManager.autoscaling.maxReplicas }}'),
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: T('{{ .Values.taskManager.autoscaling.targetCpuUtilization }}') } } }],
        },
      };
      break;
    default:
      out = { ...o, metadata: baseMetadata(o, name, c) };
  }
  out = templatizeNames(out, name, c);
  return { file: `templates/${file}`, text: prefix + emitTemplate(out).replace(/^\n/, '') + suffixText };
}

/**
 * The NetworkPolicy's spec: release-based selectors; the REST clients and metrics scrapers from
 * values, after the cluster's own clients.
 */
export function networkPolicySpec(spec: any, ctx: Ctx): any {
  const { c } = ctx;
  const own = { ...spec.podSelector, matchLabels: B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "")`) };
  const [peers, rest] = spec.ingress;
  return {
    ...spec,
    podSelector: own,
    ingress: [
      { ...peers, from: [{ podSelector: own }] },
      { ...rest, from: B(`include "${c}.restClients" .`) },
      ...(ctx.cluster.metricsEnabled
        ? [new TplIf('.Values.networkPolicy.metricsScrapers', { from: B('toYaml .Values.networkPolicy.metricsScrapers'), ports: METRICS_PORTS })]
        : []),
    ],
  };
}

/** The metrics rule's ports (also when the definition's scrapers are empty and dist/ has no such rule). */
export const METRICS_PORTS = [{ protocol: 'TCP', port: PORTS.metrics }];

/** A NetworkPolicy peer in values: pods, namespaces or an address block, never an empty selector. */
export const NETWORK_PEER = (() => {
  const selector = {
    type: 'object', additionalProperties: false, minProperties: 1,
    properties: { matchLabels: { ...LABELS, minProperties: 1 }, matchExpressions: { type: 'array', minItems: 1, items: { type: 'object', required: ['key', 'operator'] } } },
  };
  return {
    type: 'array',
    items: {
      type: 'object', additionalProperties: false, minProperties: 1,
      properties: {
        podSelector: selector,
        namespaceSelector: selector,
        ipBlock: { type: 'object', additionalProperties: false, required: ['cidr'], properties: { cidr: { type: 'string', minLength: 1 }, except: { type: 'array', items: { type: 'string' } } } },
      },
    },
  };
})();
