import { FlinkApplication, UpgradeMode } from '../application';
import { FlinkCluster, PORTS, REVISION_ANNOTATION } from '../cluster/flink-cluster';
import { defaultIngressController } from '../cluster/access';
import { REST_CLIENT_LABEL } from '../cluster/network-policy';
import { jobManagerHeapMiB, minimumTaskManagerMiB, MIN_JOB_MANAGER_HEAP_MIB } from '../config/memory';
import { keyFor, NEW_NAME_SINCE, RENAMED_IN_2 } from '../config/keys';
import { KEY, NOT_SECRET_KEY, SECRET_KEY } from '../config/flink-configuration';
import { REPOSITORY_PATTERN } from '../cluster/image-ref';
import { URL_CREDENTIALS } from '../errors';
import { ReleaseUnit } from '../platform';
import { FlinkSessionJob } from '../session';
import { emitTemplate, emitYaml, TplBlock, TplIf, TplLiteral, TplScalar, TplString } from '../synth/yaml';
import { PACKAGE_VERSION } from '../version';
import { LABELS, QUANTITY_CPU, QUANTITY_MEMORY, renderSchema, renderValues, URI_OR_EMPTY, ValueTree } from './values';

/** Object-name suffixes the toolkit generates; a string `<name><suffix>` in a name field is a reference. */
const SUFFIXES = ['', '-jobmanager', '-taskmanager', '-rest', '-config', '-flink', '-flink-ha', '-handoff', '-job', '-submitter', '-hooks', '-metrics'];
const NAME_FIELDS = new Set(['name', 'serviceAccountName']);
const HOOK_UID = 10001;

/** The Helm chart of one release unit: file path (relative to charts/<name>/) -> content. */
export function synthesizeChart(unit: ReleaseUnit, objects: any[]): Record<string, string> {
  const c = unit.construct;
  if (c instanceof FlinkSessionJob) return sessionJobChart(unit.name, c, objects);
  return clusterChart(unit.name, c as FlinkCluster, objects);
}

const T = (expr: string) => new TplScalar(expr);
const B = (expr: string) => new TplBlock(expr);

function clone<X>(x: X): X {
  return JSON.parse(JSON.stringify(x));
}

/** Replaces references to this unit's objects (name fields, the JobManager address) with release-based names. */
function templatizeNames(node: any, name: string, c: string, parentKey?: string): any {
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

function baseMetadata(o: any, name: string, c: string, extra: Record<string, unknown> = {}): any {
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
function releaseRelative(node: any, name: string, ns: string | undefined): any {
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
function templatizeMonitoring(o: any, ctx: Ctx): { file: string; text: string } {
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

interface Ctx {
  readonly name: string;
  readonly c: string;
  readonly app?: FlinkApplication;
  readonly cluster: FlinkCluster;
}

/** A Deployment's pod template, with values for image, resources, scheduling and labels. */
function templatizeDeployment(o: any, ctx: Ctx): any {
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
      nodeSelector: new TplIf('.Values.nodeSelector', B('toYaml .Values.nodeSelector')),
      tolerations: new TplIf('.Values.tolerations', B('toYaml .Values.tolerations')),
      affinity: affinity
        ? B(`include "${c}.${isJm ? 'jobManager' : 'taskManager'}Affinity" .`)
        : new TplIf('.Values.affinity', B('toYaml .Values.affinity')),
    },
  };
  return { ...o, metadata: baseMetadata(o, ctx.name, c), spec };
}

function templatizeObject(o: any, ctx: Ctx, configFile: string): { file: string; text: string } {
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
function networkPolicySpec(spec: any, ctx: Ctx): any {
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
const METRICS_PORTS = [{ protocol: 'TCP', port: PORTS.metrics }];

/** A NetworkPolicy peer in values: pods, namespaces or an address block, never an empty selector. */
const NETWORK_PEER = (() => {
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

function splitImage(image: string): { repository: string; tag: string; digest: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), tag: '', digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  return { repository: image.slice(0, colon), tag: image.slice(colon + 1), digest: '' };
}

/** The image values both kinds of chart share: repository, a pinned tag, an optional digest. */
function imageValues(image: { repository: string; tag: string; digest: string }): ValueTree {
  return {
    repository: { doc: 'Image repository.', value: image.repository, schema: { type: 'string', pattern: REPOSITORY_PATTERN } },
    tag: { doc: 'Image tag, pinned (never "latest"); ignored when digest is set.', value: image.tag, schema: { type: 'string', pattern: '^[\\w][\\w.-]{0,127}$', not: { const: 'latest' } } },
    digest: { doc: 'Image digest ("sha256:..."); wins over the tag when set.', value: image.digest, schema: { type: 'string', pattern: '^(sha256:[a-f0-9]{64})?$' } },
  };
}

/** A Go template string literal. */
function goString(s: string): string {
  return JSON.stringify(s);
}

function clusterChart(name: string, cluster: FlinkCluster, objects: any[]): Record<string, string> {
  const c = name;
  const app = cluster instanceof FlinkApplication ? cluster : undefined;
  const ctx: Ctx = { name, c, app, cluster };
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-config`);
  const configFile = cm.data['config.yaml'] !== undefined ? 'config.yaml' : 'flink-conf.yaml';
  const files: Record<string, string> = {};
  // The chart can create the ServiceAccount even when the definition names an existing one.
  const sa = objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === `${name}-flink`) ? [] : [{
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: { name: `${name}-flink`, labels: Object.fromEntries(Object.entries(objects[0].metadata.labels).filter(([k]) => k !== 'app.kubernetes.io/component')) },
    automountServiceAccountToken: cluster.highAvailability,
  }];
  for (const o of [...objects.filter((x) => x.kind !== 'Ingress'), ...sa]) {
    const t = templatizeObject(o, ctx, configFile);
    if (files[t.file]) throw new Error(`chart ${name}: two objects would be written to ${t.file}`);
    files[t.file] = t.text;
  }
  if (app) Object.assign(files, applicationHooks(ctx));
  files['templates/ingress.yaml'] = ingressTemplate(c);
  files['templates/_helpers.tpl'] = helpers(ctx, objects, configFile, files);
  files['templates/NOTES.txt'] = notes(ctx);
  const values = clusterValues(ctx, objects);
  files['values.yaml'] = renderValues(values, `# Values of the ${app ? 'Flink application' : 'Flink session cluster'} "${name}", generated by cdk8s-flink ${PACKAGE_VERSION}.
# The defaults are what the TypeScript definition says: with them, "helm template ${name}" renders
# the same objects as dist/${name}/. Change per release or environment with -f or --set.`);
  files['values.schema.json'] = renderSchema(values, `${name} values`);
  files['Chart.yaml'] = chartYaml(name, cluster.version.toString(), app
    ? `Flink ${cluster.version.line} application cluster running the job "${name}"`
    : `Flink ${cluster.version.line} session cluster "${name}"`);
  files['.helmignore'] = '*.tgz\n.DS_Store\n';
  return files;
}

function chartYaml(name: string, appVersion: string, description: string): string {
  return emitYaml({
    apiVersion: 'v2',
    name,
    description,
    type: 'application',
    version: PACKAGE_VERSION,
    appVersion,
    keywords: ['flink', 'streaming', 'cdk8s-flink'],
    annotations: { 'cdk8s-flink/generated': 'true' },
  }).replace(/^\n/, '');
}

function clusterValues(ctx: Ctx, objects: any[]): ValueTree {
  const { cluster, app } = ctx;
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${ctx.name}-jobmanager`);
  const tm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${ctx.name}-taskmanager`);
  const jmRes = jm.spec.template.spec.containers[0].resources;
  const tmRes = tm.spec.template.spec.containers[0].resources;
  const pod = tm.spec.template.spec;
  const image = splitImage(cluster.image);
  const tree: any = {
    image: {
      doc: 'The Flink image (the runtime image built from runtime/ for SQL and pipeline jobs).',
      children: {
        ...imageValues(image),
        pullPolicy: { doc: 'Image pull policy.', value: jm.spec.template.spec.containers[0].imagePullPolicy, schema: { type: 'string', enum: ['IfNotPresent', 'Always', 'Never'] } },
      },
    },
  };
  if (app) {
    tree.job = {
      doc: 'The job and how releases carry its state.',
      children: {
        state: { doc: 'running, or suspended: stop with a savepoint and scale to zero; running again restores from it.', value: 'running', schema: { type: 'string', enum: ['running', 'suspended'] } },
        upgradeMode: { doc: 'How an upgrade carries state: stateless (start over), savepoint (stop with a savepoint, restore from it), last-state (restore the latest checkpoint through HA metadata).', value: app.upgradeMode, schema: { type: 'string', enum: Object.values(UpgradeMode) } },
        parallelism: { doc: 'Default parallelism of the job; at most taskManager.replicas x slots per TaskManager.', value: app.parallelism, schema: { type: 'integer', minimum: 1, maximum: 32768 } },
        args: { doc: app.boundJob.kind === 'sql' ? 'Extra program arguments, after the SQL runner\'s --script.' : 'Program arguments of the job\'s main class.', value: app.boundJob.kind === 'sql' ? [] : app.boundJob.programArgs, schema: { type: 'array', items: { type: 'string' } } },
        initialSavepointPath: { doc: 'Savepoint or retained checkpoint the first install restores from ("" for none).', value: app.initialSavepointPath ?? '', schema: URI_OR_EMPTY },
        allowNonRestoredState: { doc: 'Let a restore skip state that maps to no operator.', value: app.allowNonRestoredState, schema: { type: 'boolean' } },
        savepointDirectory: { doc: 'Where upgrade and suspend savepoints go ("" for none: then only stateless upgrades).', value: app.savepointDirectory ?? '', schema: URI_OR_EMPTY },
      },
    };
  }
  tree.jobManager = {
    doc: 'The JobManager.',
    children: {
      resources: {
        doc: 'CPU request and memory; the memory is Flink\'s process size and the container\'s request and limit.',
        children: {
          cpu: { doc: 'CPU request.', value: jmRes.requests.cpu, schema: QUANTITY_CPU },
          memory: { doc: 'Memory request = limit = jobmanager.memory.process.size (Mi or Gi).', value: jmRes.requests.memory, schema: QUANTITY_MEMORY },
        },
      },
    },
  };
  const tmChildren: any = {};
  if (tm.spec.replicas !== undefined) {
    const standby = app?.standbyTaskManagers ? `, ${app.standbyTaskManagers} of them standby beyond what job.parallelism needs` : '';
    tmChildren.replicas = { doc: `Number of TaskManagers (${cluster.taskManagerSlots} slots each${standby}).`, value: tm.spec.replicas, schema: { type: 'integer', minimum: app ? 1 : 0, maximum: 1000 } };
  }
  tmChildren.resources = {
    doc: 'CPU request, optional CPU limit, and memory of each TaskManager.',
    children: {
      cpu: { doc: 'CPU request.', value: tmRes.requests.cpu, schema: QUANTITY_CPU },
      cpuLimit: { doc: 'CPU limit ("" for none: a limit throttles Flink\'s timers and heartbeats).', value: tmRes.limits.cpu ?? '', schema: { anyOf: [QUANTITY_CPU, { const: '' }] } },
      memory: { doc: 'Memory request = limit = taskmanager.memory.process.size (Mi or Gi).', value: tmRes.requests.memory, schema: QUANTITY_MEMORY },
    },
  };
  if (app?.autoscaler) {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
    tmChildren.autoscaling = {
      doc: 'Reactive mode: the HorizontalPodAutoscaler owns the TaskManager count.',
      children: {
        minReplicas: { doc: 'Fewest TaskManagers.', value: hpa.spec.minReplicas, schema: { type: 'integer', minimum: 1 } },
        maxReplicas: { doc: 'Most TaskManagers.', value: hpa.spec.maxReplicas, schema: { type: 'integer', minimum: 1 } },
        targetCpuUtilization: { doc: 'CPU utilization (percent of the request) to aim for.', value: hpa.spec.metrics[0].resource.target.averageUtilization, schema: { type: 'integer', minimum: 10, maximum: 100 } },
      },
    };
  }
  tree.taskManager = { doc: 'The TaskManagers.', children: tmChildren };
  tree.flinkConfiguration = {
    doc: 'Flink configuration keys merged over the generated configuration. Keys the toolkit manages\n(addresses, memory, parallelism, restore) are set through their own values and rejected here.',
    value: {},
    schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  };
  tree.podLabels = { doc: 'Extra labels on the pods.', value: {}, schema: LABELS };
  const podAnnotations = Object.fromEntries(Object.entries(tm.spec.template.metadata.annotations ?? {}).filter(([k]) => k !== 'checksum/config' && k !== REVISION_ANNOTATION));
  tree.podAnnotations = { doc: 'Extra annotations on the pods (with annotation scraping, the prometheus.io/* ones).', value: podAnnotations, schema: LABELS };
  tree.nodeSelector = { doc: 'Node labels the pods must match.', value: pod.nodeSelector ?? {}, schema: LABELS };
  tree.tolerations = { doc: 'Taints the pods tolerate.', value: pod.tolerations ?? [], schema: { type: 'array', items: { type: 'object' } } };
  tree.affinity = { doc: 'Affinity of the pods; when set it replaces the generated TaskManager anti-affinity.', value: {}, schema: { type: 'object' } };
  tree.serviceAccount = {
    doc: 'The ServiceAccount of the JobManager and TaskManager pods' + (cluster.highAvailability ? ' (bound to the HA Role)' : '') + '.',
    children: {
      create: { doc: 'Create it; false uses the existing ServiceAccount serviceAccount.name.', value: cluster.serviceAccount !== undefined, schema: { type: 'boolean' } },
      name: { doc: 'Its name ("" with create: <release>-flink).', value: cluster.serviceAccount ? '' : cluster.serviceAccountName, schema: { type: 'string', maxLength: 253, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$' } },
      annotations: { doc: 'Annotations of the created ServiceAccount: cloud IAM bindings such as eks.amazonaws.com/role-arn\nor iam.gke.io/gcp-service-account.', value: cluster.serviceAccountAnnotations, schema: LABELS },
    },
  };
  const ing = cluster.ingressOptions;
  tree.ingress = {
    doc: 'An Ingress for the REST API and web UI (the <release>-rest Service); it opens the REST port to\nthe ingress controller in the NetworkPolicy.' + (app ? '' : ' On this session cluster it exposes jar upload and run\n(code execution) and needs networkPolicy.allowRemoteCodeExecutionViaRestApi.'),
    children: {
      enabled: { doc: 'Create the Ingress.', value: ing !== undefined, schema: { type: 'boolean' } },
      className: { doc: 'The IngressClass ("" for the cluster\'s default).', value: ing?.className ?? '', schema: { type: 'string' } },
      host: { doc: 'The host name ("" for every host).', value: ing?.host ?? '', schema: { type: 'string', pattern: '^((\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$' } },
      path: { doc: 'The URL path.', value: ing?.path ?? '/', schema: { type: 'string', pattern: '^/\\S*$' } },
      pathType: { doc: 'How the path matches.', value: ing?.pathType ?? 'Prefix', schema: { type: 'string', enum: ['Prefix', 'Exact', 'ImplementationSpecific'] } },
      tls: {
        doc: 'TLS termination at the ingress controller.',
        children: {
          secretName: { doc: 'A kubernetes.io/tls Secret for host ("" for no TLS).', value: ing?.tlsSecretName ?? '', schema: { type: 'string' } },
        },
      },
      annotations: { doc: 'Annotations of the Ingress (the controller\'s options: authentication, rewrites).', value: ing?.annotations ?? {}, schema: LABELS },
      controller: {
        doc: 'The ingress controller\'s pods (a NetworkPolicyPeer), allowed to call the REST API when the Ingress is enabled.',
        value: (ing?.controller ?? defaultIngressController())._toPeer(),
        schema: NETWORK_PEER.items,
      },
    },
  };
  const access = cluster.networkAccess;
  tree.networkPolicy = {
    doc: 'Ingress to the pods: Flink RPC, blob and data ports only from this release\'s JobManager and\nTaskManager pods; the REST API only from ' + (app ? 'the hooks, the test pod' : 'the session jobs\' submitters\n(pods labelled cdk8s-flink/rest-client: <release>)') + ' and restClients; metrics only from\nmetricsScrapers. Egress is not restricted.',
    children: {
      enabled: { doc: 'Create the NetworkPolicy; false leaves every port open to every pod of the cluster.', value: access.enabled, schema: { type: 'boolean' } },
      restClients: {
        doc: 'More peers (NetworkPolicyPeer: podSelector, namespaceSelector, ipBlock) allowed to call the REST API.' + (app ? '' : '\nAn ipBlock needs allowRemoteCodeExecutionViaRestApi.'),
        value: access.restClients.map((p) => p._toPeer()),
        schema: NETWORK_PEER,
      },
      ...(cluster.metricsEnabled ? {
        metricsScrapers: {
          doc: 'Peers allowed to scrape the metrics port ([] closes it). The default is kube-prometheus-stack\'s Prometheus\n(app.kubernetes.io/name: prometheus) in the namespace "monitoring".',
          value: access.metricsScrapers.map((p) => p._toPeer()),
          schema: NETWORK_PEER,
        },
      } : {}),
      ...(app ? {} : {
        allowRemoteCodeExecutionViaRestApi: {
          doc: 'Allow ipBlock restClients: addresses outside the cluster reach the REST API, whose jar upload and run\nexecute code in pods that hold the jobs\' credentials.',
          value: access.restExposureAllowed,
          schema: { type: 'boolean' },
        },
      }),
    },
  };
  const mon = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'monitoring');
  const release = mon.map((o) => o.metadata.labels.release).find(Boolean) ?? '';
  tree.monitoring = {
    doc: 'Prometheus and Grafana wiring; each part can be switched off.',
    children: {
      scrape: { doc: 'The PodMonitor or ServiceMonitor (and its metrics Service).', value: mon.some((o) => ['PodMonitor', 'ServiceMonitor'].includes(o.kind)), schema: { type: 'boolean' } },
      alerts: { doc: 'The alerting rules (PrometheusRule, or a rules ConfigMap with annotation scraping).', value: mon.some((o) => o.kind === 'PrometheusRule' || /prometheus-rules$/.test(o.metadata.name)), schema: { type: 'boolean' } },
      dashboard: { doc: 'The Grafana dashboard ConfigMap (labelled grafana_dashboard: "1").', value: mon.some((o) => /dashboard$/.test(o.metadata.name)), schema: { type: 'boolean' } },
      releaseLabel: { doc: 'The release label kube-prometheus-stack selects monitors and rules by ("" for none).', value: release, schema: { type: 'string', pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$', maxLength: 63 } },
    },
  };
  if (app) {
    tree.hooks = {
      doc: 'The upgrade, rollback, cleanup and test hooks (the operations tool).',
      children: {
        image: { doc: 'Image of the operations tool (built from runtime/).', value: app.opsImage, schema: { type: 'string', pattern: `${REPOSITORY_PATTERN.slice(0, -1)}(:[\\w][\\w.-]{0,127}|@sha256:[a-f0-9]{64})$`, not: { pattern: ':latest$' } } },
        timeoutSeconds: { doc: 'How long a hook may run (stop with savepoint included) before it fails the release.', value: 600, schema: { type: 'integer', minimum: 30, maximum: 7200 } },
        cleanupHaConfigMaps: { doc: 'On uninstall, also delete the Flink HA ConfigMaps (the job\'s recovery metadata).', value: false, schema: { type: 'boolean' } },
        ...(app.job.pipeline ? {
          preflight: {
            doc: 'The Kafka preflight before install and upgrade: source topics exist, the parallelism fits their partitions, sink topics exist.',
            children: {
              enabled: { doc: 'Run the preflight; a failed check fails the install or upgrade before anything changes.', value: true, schema: { type: 'boolean' } },
              createSinkTopics: { doc: 'Create missing Kafka sink topics (on the source brokers) instead of failing.', value: false, schema: { type: 'boolean' } },
            },
          },
        } : {}),
      },
    };
  }
  return tree;
}

/**
 * Keys the toolkit manages (what the model set through typed props, reserved for start or fed
 * from Secrets, and what the chart sets from its own values), under every name Flink reads
 * them by, with the prop or value that owns each: `flinkConfiguration` may not set them.
 */
function managedKeys(cluster: FlinkCluster): Map<string, string> {
  const v = cluster.version;
  const owners = new Map(cluster.configuration.managed);
  const own: Record<string, string> = {
    'jobmanager.rpc.address': 'the release name', 'rest.address': 'the release name', 'kubernetes.cluster-id': 'the release name',
    'jobmanager.memory.process.size': 'jobManager.resources.memory', 'taskmanager.memory.process.size': 'taskManager.resources.memory',
    ...(cluster instanceof FlinkApplication ? { 'parallelism.default': 'job.parallelism', 'execution.checkpointing.savepoint-dir': 'job.savepointDirectory' } : {}),
  };
  for (const [k, owner] of Object.entries(own)) if (!owners.has(keyFor(v, k))) owners.set(keyFor(v, k), owner);
  // Other names of the same options (pre-2.0 names, newer names).
  for (const alias of [...Object.keys(RENAMED_IN_2), ...Object.values(RENAMED_IN_2), ...Object.keys(NEW_NAME_SINCE)]) {
    const owner = owners.get(keyFor(v, alias));
    if (owner !== undefined && !owners.has(alias)) owners.set(alias, owner);
  }
  return new Map([...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The checks of `flinkConfiguration`, as the TypeScript side applies them to the raw escape
 * hatch (same key and credential patterns): keys are Flink keys, none the toolkit manages, none
 * a credential; values are one line and carry no credentials in a URL.
 */
function flinkConfigurationChecks(managed: Map<string, string>): string {
  return `{{- $managed := dict${[...managed].map(([k, o]) => ` ${goString(k)} ${goString(o)}`).join('')} }}
{{- range $k, $v := .Values.flinkConfiguration -}}
{{- if not (regexMatch ${goString(KEY.source)} $k) -}}
{{- fail (printf "flinkConfiguration[%q]: is not a Flink configuration key; expected dotted words such as \\"pipeline.max-parallelism\\"" $k) -}}
{{- end -}}
{{- if hasKey $managed $k -}}
{{- fail (printf "flinkConfiguration[%q]: is managed by the toolkit (set from %s); expected a key it does not set" $k (get $managed $k)) -}}
{{- end -}}
{{- if and (regexMatch ${goString('(?i)' + SECRET_KEY.source)} $k) (not (regexMatch ${goString(NOT_SECRET_KEY.source)} $k)) -}}
{{- fail (printf "flinkConfiguration[%q]: looks like a credential, and the Flink configuration lives in a ConfigMap; expected no credentials here (feed them from a Secret with FlinkConfigValue.fromSecret in the definition)" $k) -}}
{{- end -}}
{{- if regexMatch "[\\x00-\\x1f\\x7f]" (toString $v) -}}
{{- fail (printf "flinkConfiguration[%q]: %q contains a line break or control character; expected one line" $k (toString $v)) -}}
{{- end -}}
{{- if regexMatch ${goString('(?i)' + URL_CREDENTIALS.source)} (toString $v) -}}
{{- fail (printf "flinkConfiguration[%q]: carries credentials in a URL, and the Flink configuration lives in a ConfigMap; expected a URL without user:password@ (feed credentials from a Secret with FlinkConfigValue.fromSecret in the definition)" $k) -}}
{{- end -}}
{{- end -}}
`;
}

/** Checks of the TaskManagers' values: a CPU limit at least the request, autoscaling max at least min. */
function taskManagerChecks(ctx: Ctx): string {
  const { c, app } = ctx;
  return `{{- with .Values.taskManager.resources.cpuLimit -}}
{{- if lt (include "${c}.millicores" . | atoi) (include "${c}.millicores" $.Values.taskManager.resources.cpu | atoi) -}}
{{- fail (printf "taskManager.resources.cpuLimit: %s is below the CPU request taskManager.resources.cpu (%s); expected at least the request" . $.Values.taskManager.resources.cpu) -}}
{{- end -}}
{{- end -}}
${app?.autoscaler ? `{{- if lt (int .Values.taskManager.autoscaling.maxReplicas) (int .Values.taskManager.autoscaling.minReplicas) -}}
{{- fail (printf "taskManager.autoscaling.maxReplicas: %d is below taskManager.autoscaling.minReplicas (%d); expected at least minReplicas" (int .Values.taskManager.autoscaling.maxReplicas) (int .Values.taskManager.autoscaling.minReplicas)) -}}
{{- end -}}
` : ''}`;
}

/**
 * The release-based object name. The release name prefixes every object name: it must be a DNS
 * label (Service names are) short enough that the longest name the chart derives from it stays
 * within 63 characters (Service names, and Job names, which become label values).
 */
function fullnameHelper(c: string, files: Record<string, string>): string {
  const re = new RegExp(`include "${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.fullname" [.$] \\}\\}([-a-z0-9]*)`, 'g');
  const suffixes = Object.values(files).flatMap((t) => [...t.matchAll(re)].map((m) => m[1]));
  const longest = suffixes.reduce((a, b) => (b.length > a.length ? b : a), '');
  const max = 63 - longest.length;
  return `{{- define "${c}.fullname" -}}
{{- if or (gt (len .Release.Name) ${max}) (not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" .Release.Name)) -}}
{{- fail (printf "release name %q cannot prefix this chart's object names; expected a DNS label (lowercase letters, digits and \\"-\\", starting with a letter) of at most ${max} characters, so that %s${longest} stays within 63" .Release.Name .Release.Name) -}}
{{- end -}}
{{- .Release.Name -}}
{{- end -}}`;
}

/** _helpers.tpl: names, labels, image, resources, the Flink configuration and the checks. */
function helpers(ctx: Ctx, objects: any[], configFile: string, files: Record<string, string>): string {
  const { c, cluster, app, name } = ctx;
  const labels = objects[0].metadata.labels as Record<string, string>;
  const extraLabels = Object.entries(labels).filter(([k]) => !k.startsWith('app.kubernetes.io/'));
  const config = cluster.configuration.toObject();
  const v = cluster.version;
  const dynamic: Record<string, string> = {
    [keyFor(v, 'jobmanager.rpc.address')]: `(printf "%s-jobmanager" (include "${c}.fullname" .))`,
    [keyFor(v, 'rest.address')]: `(printf "%s-rest" (include "${c}.fullname" .))`,
    [keyFor(v, 'jobmanager.memory.process.size')]: `(include "${c}.flinkMemory" .Values.jobManager.resources.memory)`,
    [keyFor(v, 'taskmanager.memory.process.size')]: `(include "${c}.flinkMemory" .Values.taskManager.resources.memory)`,
  };
  if (config[keyFor(v, 'kubernetes.cluster-id')] === name) dynamic[keyFor(v, 'kubernetes.cluster-id')] = `(include "${c}.fullname" .)`;
  if (app) dynamic[keyFor(v, 'parallelism.default')] = '(toString .Values.job.parallelism)';
  const spKey = keyFor(v, 'execution.checkpointing.savepoint-dir');
  const lines: string[] = [];
  for (const [k, val] of Object.entries(config)) {
    if (k in dynamic || (app && k === spKey)) continue;
    const text = configFile === 'config.yaml' ? emitYaml({ v: val }).replace(/^\nv: /, '').replace(/\n$/, '') : String(val);
    lines.push(`{{- $_ := set $c ${goString(k)} ${goString(text)} }}`);
  }
  for (const [k, expr] of Object.entries(dynamic)) if (k in config) lines.push(`{{- $_ := set $c ${goString(k)} ${expr} }}`);
  if (app) lines.push(`{{- with .Values.job.savepointDirectory }}{{ $_ := set $c ${goString(spKey)} . }}{{ end }}`);
  const jmArgs = app ? jobManagerArgsHelper(ctx, objects) : '';
  const slots = cluster.taskManagerSlots;
  const minTm = minimumTaskManagerMiB(Number(config['taskmanager.memory.managed.fraction']));
  let minJm = 512;
  while (jobManagerHeapMiB(minJm) < MIN_JOB_MANAGER_HEAP_MIB) minJm += 16;
  const deployment = (component: string) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-${component}`);
  const affinityHelper = (component: 'jobmanager' | 'taskmanager', what: string) => {
    const aff = deployment(component).spec.template.spec.affinity;
    return aff ? `
{{/* ${what} affinity: the values' affinity, else the generated anti-affinity across nodes. */}}
{{- define "${c}.${component === 'jobmanager' ? 'jobManager' : 'taskManager'}Affinity" -}}
{{- if .Values.affinity -}}
{{ toYaml .Values.affinity }}
{{- else -}}
${affinityTemplate(aff, c, component)}
{{- end -}}
{{- end -}}
` : '';
  };
  const restClients = app
    ? ['hooks', 'test'].map((component) => `- podSelector:
    matchLabels:
      {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 6 }}`).join('\n')
    : `- podSelector:
    matchLabels:
      ${REST_CLIENT_LABEL}: {{ include "${c}.fullname" . }}`;
  return `{{/* Generated by cdk8s-flink ${PACKAGE_VERSION}. */}}

{{/* Object names start with the release name, so two releases of this chart never collide. */}}
${fullnameHelper(c, files)}

{{/* Selector labels: stable across versions. Call with (dict "ctx" $ "component" "..."). */}}
{{- define "${c}.selectorLabels" -}}
app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* The recommended labels. Call with (dict "ctx" $ "component" "..."). */}}
{{- define "${c}.labels" -}}
${extraLabels.map(([k, val]) => `${k}: ${JSON.stringify(val)}\n`).join('')}app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
app.kubernetes.io/part-of: ${cluster.partOf}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 }}
{{- if and (eq .component "monitoring") .ctx.Values.monitoring.releaseLabel }}
release: {{ .ctx.Values.monitoring.releaseLabel | quote }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "${c}.podLabels" -}}
{{ include "${c}.labels" . }}
{{- with .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the user's, a checksum of the configuration (pods roll when it changes) and, on the JobManager, the release revision (it restarts on every release to pick up the hand-off). */}}
{{- define "${c}.podAnnotations" -}}
{{- with .ctx.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
checksum/config: {{ include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | sha256sum }}
${app ? `{{- if eq .component "jobmanager" }}
${REVISION_ANNOTATION}: {{ .ctx.Release.Revision | quote }}
{{- end }}
` : ''}{{- end -}}

${imageHelper(c)}

{{/* Container resources: memory request = limit; a CPU limit only when asked. */}}
{{- define "${c}.resources" -}}
requests:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
limits:
  memory: {{ .memory | quote }}
  {{- with .cpuLimit }}
  cpu: {{ . | quote }}
  {{- end }}
{{- end -}}

{{/* A Kubernetes quantity (Mi or Gi) as a Flink memory size. */}}
{{- define "${c}.flinkMemory" -}}
{{- if hasSuffix "Gi" . -}}
{{ mul (trimSuffix "Gi" . | atoi) 1024 }}m
{{- else -}}
{{ trimSuffix "Mi" . }}m
{{- end -}}
{{- end -}}

{{/* A CPU quantity (plain cores or millicores) in millicores. */}}
{{- define "${c}.millicores" -}}
{{- if hasSuffix "m" (toString .) -}}{{ trimSuffix "m" (toString .) | atoi }}{{- else -}}{{ mulf (float64 .) 1000 | int }}{{- end -}}
{{- end -}}

{{- define "${c}.mebibytes" -}}
{{- if hasSuffix "Gi" . -}}{{ mul (trimSuffix "Gi" . | atoi) 1024 }}{{- else -}}{{ trimSuffix "Mi" . }}{{- end -}}
{{- end -}}

{{/* The Flink configuration file: the generated keys, the values that change them, then flinkConfiguration. */}}
{{- define "${c}.flinkConfig" -}}
{{- $c := dict }}
${lines.join('\n')}
{{- range $k, $v := .Values.flinkConfiguration }}{{ $_ := set $c $k (toJson $v) }}{{ end }}
{{- range $i, $k := keys $c | sortAlpha }}{{ if $i }}{{ "\\n" }}{{ end }}{{ $k }}: {{ get $c $k }}{{ end }}
{{- end -}}

{{/* Checks values the schema cannot express; fails the release with one line. */}}
{{- define "${c}.validate" -}}
{{- if lt (include "${c}.mebibytes" .Values.taskManager.resources.memory | atoi) ${minTm} -}}
{{- fail (printf "taskManager.resources.memory: %s is below Flink's minimum; expected at least ${minTm}Mi" .Values.taskManager.resources.memory) -}}
{{- end -}}
{{- if lt (include "${c}.mebibytes" .Values.jobManager.resources.memory | atoi) ${minJm} -}}
{{- fail (printf "jobManager.resources.memory: %s is below Flink's minimum; expected at least ${minJm}Mi" .Values.jobManager.resources.memory) -}}
{{- end -}}
${taskManagerChecks(ctx)}${flinkConfigurationChecks(managedKeys(cluster))}${app ? appValidation(ctx, slots) : sessionValidation()}{{- end -}}
${app ? `
{{/* The job id of the first install: sha256("cdk8s-flink/<namespace>/<release>"), as the toolkit derives it. Upgrade hooks rotate it. */}}
{{- define "${c}.jobId" -}}
${app.jobIdGiven ? app.jobId : `{{- sha256sum (printf "cdk8s-flink/%s/%s" .Release.Namespace .Release.Name) | trunc 32 -}}`}
{{- end -}}
${jmArgs}` : ''}${affinityHelper('jobmanager', 'JobManager (standbys)')}${affinityHelper('taskmanager', 'TaskManager')}
{{/* Peers allowed to call the REST API: ${app ? 'the hooks and the test pod' : 'the session jobs\' submitters'}, the ingress controller with an Ingress, then networkPolicy.restClients. */}}

{{/* The pods' ServiceAccount: serviceAccount.name, else <release>-flink when the chart creates it. */}}
{{- define "${c}.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (printf "%s-flink" (include "${c}.fullname" .)) .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.name -}}
{{ .Values.serviceAccount.name }}
{{- else -}}
{{- fail "serviceAccount.name: \\"\\" is empty while serviceAccount.create is false; expected the name of an existing ServiceAccount" -}}
{{- end -}}
{{- end -}}

{{- define "${c}.restClients" -}}
${restClients}
{{- if .Values.ingress.enabled }}
- {{- toYaml .Values.ingress.controller | nindent 2 }}
{{- end }}
{{- with .Values.networkPolicy.restClients }}
{{ toYaml . }}
{{- end }}
{{- end -}}
`;
}

/** The image from repository and tag, or repository and digest when one is set. */
function imageHelper(c: string): string {
  return `{{- define "${c}.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}`;
}

function affinityTemplate(aff: any, c: string, component: string): string {
  const anti = aff.podAntiAffinity;
  if (anti.requiredDuringSchedulingIgnoredDuringExecution) {
    return `podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 10 }}`;
  }
  return `podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 12 }}`;
}

/** A session cluster's REST API runs uploaded jars: address blocks among its clients need the opt-in. */
function sessionValidation(): string {
  return `{{- if not .Values.networkPolicy.allowRemoteCodeExecutionViaRestApi -}}
{{- if .Values.ingress.enabled -}}
{{- fail "ingress.enabled: true exposes the session cluster's REST API (jar upload and run: code execution) through an ingress controller; expected networkPolicy.allowRemoteCodeExecutionViaRestApi: true to accept that, or ingress.enabled: false" -}}
{{- end -}}
{{- range $i, $p := .Values.networkPolicy.restClients -}}
{{- if $p.ipBlock -}}
{{- fail (printf "networkPolicy.restClients[%d].ipBlock: %v opens the session cluster's REST API (jar upload and run: code execution) to addresses outside the cluster; expected podSelector or namespaceSelector peers, or networkPolicy.allowRemoteCodeExecutionViaRestApi: true" $i $p.ipBlock.cidr) -}}
{{- end -}}
{{- end -}}
{{- end -}}
`;
}

function appValidation(ctx: Ctx, slots: number): string {
  const app = ctx.app!;
  const reactive = app.reactive;
  return `${reactive ? '' : `{{- if gt (int .Values.job.parallelism) (mul (int .Values.taskManager.replicas) ${slots}) -}}
{{- fail (printf "job.parallelism: %d exceeds the %d slots of %d TaskManagers x ${slots} slots; raise taskManager.replicas" (int .Values.job.parallelism) (mul (int .Values.taskManager.replicas) ${slots}) (int .Values.taskManager.replicas)) -}}
{{- end -}}
`}{{- if and (eq .Values.job.state "suspended") (not .Values.job.savepointDirectory) -}}
{{- fail "job.state: \\"suspended\\" needs job.savepointDirectory: suspending stops the job with a savepoint" -}}
{{- end -}}
{{- if and (eq .Values.job.upgradeMode "savepoint") (not .Values.job.savepointDirectory) -}}
{{- fail "job.upgradeMode: \\"savepoint\\" needs job.savepointDirectory" -}}
{{- end -}}
${app.highAvailability ? '' : `{{- if eq .Values.job.upgradeMode "last-state" -}}
{{- fail "job.upgradeMode: \\"last-state\\" needs high availability, which this job was not built with; use savepoint" -}}
{{- end -}}
`}`;
}

/** The JobManager's args: the generated ones, then job.args. */
function jobManagerArgsHelper(ctx: Ctx, objects: any[]): string {
  const { c, app, name } = ctx;
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-jobmanager`);
  const args: string[] = jm.spec.template.spec.containers[0].args;
  const fixed = app!.boundJob.kind === 'sql' ? args : args.slice(0, args.length - app!.boundJob.programArgs.length);
  return `
{{/* The JobManager's container args: the generated ones, then job.args. */}}
{{- define "${c}.jobManagerArgs" -}}
{{- $args := list ${fixed.map(goString).join(' ')} }}
{{- toYaml (concat $args .Values.job.args) }}
{{- end -}}
`;
}

/** The Ingress for the REST API and web UI, from the values (off unless the definition has one). */
function ingressTemplate(c: string): string {
  return `{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "${c}.fullname" . }}-rest
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "${c}.labels" (dict "ctx" $ "component" "jobmanager") | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . | quote }}
  {{- end }}
  {{- with .Values.ingress.tls.secretName }}
  tls:
    - secretName: {{ . | quote }}
      {{- with $.Values.ingress.host }}
      hosts:
        - {{ . | quote }}
      {{- end }}
  {{- end }}
  rules:
    - http:
        paths:
          - path: {{ .Values.ingress.path | quote }}
            pathType: {{ .Values.ingress.pathType }}
            backend:
              service:
                name: {{ include "${c}.fullname" . }}-rest
                port:
                  name: rest
      {{- with .Values.ingress.host }}
      host: {{ . | quote }}
      {{- end }}
{{- end }}
`;
}

function notes(ctx: Ctx): string {
  const { c, app, cluster } = ctx;
  return `{{ .Release.Name }}: Flink ${cluster.version} ${app ? `application cluster running the job "${c}"` : `session cluster "${c}"`} in namespace {{ .Release.Namespace }}.
${app ? `Job state: {{ .Values.job.state }}; upgrade mode: {{ .Values.job.upgradeMode }}.
` : ''}
Web UI and REST API:
  kubectl -n {{ .Release.Namespace }} port-forward svc/{{ include "${c}.fullname" . }}-rest 8081:8081
  then open http://localhost:8081

${app ? `The job's state and checkpoints:
  curl -s http://localhost:8081/jobs/overview
  kubectl -n {{ .Release.Namespace }} logs deploy/{{ include "${c}.fullname" . }}-jobmanager

Prove it end to end:
  helm test {{ .Release.Name }} -n {{ .Release.Namespace }}

Suspend (stop with a savepoint, scale to zero) and resume:
  helm upgrade {{ .Release.Name }} <chart> --reuse-values --set job.state=suspended
  helm upgrade {{ .Release.Name }} <chart> --reuse-values --set job.state=running
` : `Jobs on this cluster:
  curl -s http://localhost:8081/jobs/overview
${cluster.highAvailability ? '' : `
Without high availability an upgrade that restarts the JobManager cancels every job on this cluster.
`}`}`;
}

/** Upgrade, rollback and cleanup hooks, their RBAC, and the test, for an application chart. */
function applicationHooks(ctx: Ctx): Record<string, string> {
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
    o: { container?: string; env?: unknown[]; deadlineSeconds?: unknown } = {}) => emitTemplate({
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
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: {} }],
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
  const sink = kafka?.props.sinks.map((s) => (s as any).p).find((p: any) => p && typeof p.topic === 'string' && p.bootstrapServers);
  const testArgs = [
    'smoke', '--rest-url', restUrl, '--job-name', c, '--require-checkpoint',
    ...(src && sink ? ['--kafka-bootstrap', src.bootstrapServers, '--source-topic', src.topic, '--sink-topic', sink.topic] : []),
    '--timeout', '240s',
  ];
  const testEnv = Object.entries(a.boundJob.env).filter(([k]) => k.startsWith('KAFKA_')).map(([k, v]) => v._toEnvVar(k));
  // Before the job's pods change: its source topics exist and its parallelism fits their
  // partitions; the Kafka sink topics on the same brokers exist (or are created when allowed).
  // A pre-install hook runs before the release's own ServiceAccount exists: it needs no API access.
  const sinkTopics = src ? [...new Set(kafka!.props.sinks.map((x) => (x as any).p)
    .filter((p: any) => p && typeof p.topic === 'string' && p.bootstrapServers === src.bootstrapServers).map((p: any) => p.topic as string))] : [];
  const sourceEnv = Object.entries(a.boundJob.env).filter(([k]) => k.startsWith('KAFKA_SOURCE_')).map(([k, v]) => v._toEnvVar(k));
  const preflight: Record<string, string> = src ? {
    'templates/job-preflight.yaml': `{{- if and .Values.hooks.preflight .Values.hooks.preflight.enabled }}\n${job('-preflight', 'pre-install,pre-upgrade', '-5', [
      'preflight', '--kafka-bootstrap', src.bootstrapServers, '--source-topic', src.topic,
      ...sinkTopics.flatMap((t) => ['--sink-topic', t]),
      '--parallelism', T('{{ .Values.job.parallelism | quote }}'),
      new TplIf('.Values.hooks.preflight.createSinkTopics', '--create-sink-topics'),
      '--timeout', '90s',
    ], undefined, { container: 'preflight', env: sourceEnv, deadlineSeconds: 120 })}{{- end }}\n`,
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
          securityContext: security, resources, volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    }).replace(/^\n/, ''),
  };
}

/** A session job's chart: the spec ConfigMap, the submitter (a post-install/post-upgrade hook) and its account. */
function sessionJobChart(name: string, job: FlinkSessionJob, objects: any[]): Record<string, string> {
  const c = name;
  const files: Record<string, string> = {};
  for (const o of objects) {
    let out: any = { ...clone(o), metadata: baseMetadata(o, name, c) };
    let file = `templates/${o.kind.toLowerCase()}-${o.metadata.name.slice(name.length + 1)}.yaml`;
    if (o.kind === 'Job') {
      file = 'templates/job-submit.yaml';
      out.metadata = {
        ...baseMetadata({ metadata: { ...o.metadata, name: `${name}-submit` } }, name, c),
        annotations: { 'helm.sh/hook': 'post-install,post-upgrade', 'helm.sh/hook-weight': '0', 'helm.sh/hook-delete-policy': 'before-hook-creation' },
      };
      const ct = out.spec.template.spec.containers[0];
      ct.image = T(`{{ include "${c}.image" $ }}`);
      out.spec.template.metadata.labels = B(`include "${c}.podLabels" (dict "ctx" $)`);
      out.spec.activeDeadlineSeconds = T('{{ .Values.submitTimeoutSeconds }}');
    }
    if (o.kind === 'ConfigMap') {
      out.data = { ...o.data, 'job.json': new TplLiteral(`include "${c}.spec" .`) };
    }
    out = templatizeNames(out, name, c);
    files[file] = emitTemplate(out).replace(/^\n/, '');
  }
  const spec = job.spec as any;
  const image = splitImage(objects.find((o) => o.kind === 'Job').spec.template.spec.containers[0].image);
  const values: ValueTree = {
    image: {
      doc: 'The operations tool image that submits the job (built from runtime/).',
      children: imageValues(image),
    },
    job: {
      doc: 'The job on the session cluster.',
      children: {
        parallelism: { doc: 'Parallelism of the job.', value: job.parallelism, schema: { type: 'integer', minimum: 1, maximum: 32768 } },
        args: { doc: 'Program arguments (jar jobs).', value: spec.programArgs ?? [], schema: { type: 'array', items: { type: 'string' } } },
        upgradeMode: { doc: 'stateless or savepoint.', value: job.upgradeMode, schema: { type: 'string', enum: ['stateless', 'savepoint'] } },
        initialSavepointPath: { doc: 'Savepoint the first submission restores from ("" for none).', value: spec.initialSavepointPath ?? '', schema: URI_OR_EMPTY },
        allowNonRestoredState: { doc: 'Let a restore skip state that maps to no operator.', value: spec.allowNonRestoredState ?? false, schema: { type: 'boolean' } },
      },
    },
    flinkConfiguration: { doc: 'Job-level Flink configuration sent with the submission.', value: spec.flinkConfiguration, schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } } },
    submitTimeoutSeconds: { doc: 'How long the submitter may run.', value: objects.find((o) => o.kind === 'Job').spec.activeDeadlineSeconds, schema: { type: 'integer', minimum: 10, maximum: 7200 } },
  };
  files['values.yaml'] = renderValues(values, `# Values of the Flink session job "${name}" on session cluster "${job.cluster.name}", generated by cdk8s-flink ${PACKAGE_VERSION}.`);
  files['values.schema.json'] = renderSchema(values, `${name} values`);
  files['templates/_helpers.tpl'] = `{{/* Generated by cdk8s-flink ${PACKAGE_VERSION}. */}}

${fullnameHelper(c, files)}

{{- define "${c}.labels" -}}
app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: session-job
app.kubernetes.io/part-of: ${objects[0].metadata.labels['app.kubernetes.io/part-of']}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 }}
{{- end -}}

{{/* The submitter's labels: the session cluster's NetworkPolicy lets ${REST_CLIENT_LABEL} pods call its REST API. */}}
{{- define "${c}.podLabels" -}}
{{ include "${c}.labels" . }}
${REST_CLIENT_LABEL}: ${job.cluster.name}
{{- end -}}

${imageHelper(c)}

{{/* Checks flinkConfiguration as the toolkit checks the definition's; fails the release with one line. */}}
{{- define "${c}.validate" -}}
${flinkConfigurationChecks(new Map())}{{- end -}}

{{/* The submission spec the operations tool reads (keys sorted, as the toolkit writes them). */}}
{{- define "${c}.spec" -}}
{{- include "${c}.validate" . }}
{{- $s := dict ${Object.entries(spec).filter(([k]) => !['parallelism', 'programArgs', 'upgradeMode', 'initialSavepointPath', 'allowNonRestoredState', 'flinkConfiguration', 'jobId', 'name'].includes(k)).map(([k, val]) => `${goString(k)} ${goString(String(val))}`).join(' ')} }}
{{- $_ := set $s "name" (include "${c}.fullname" .) }}
{{- $_ := set $s "jobId" ${job.jobIdGiven ? goString(job.jobId) : `(sha256sum (printf "cdk8s-flink/%s/%s" .Release.Namespace .Release.Name) | trunc 32)`} }}
{{- $_ := set $s "parallelism" (int .Values.job.parallelism) }}
{{- $_ := set $s "upgradeMode" .Values.job.upgradeMode }}
{{- $_ := set $s "flinkConfiguration" .Values.flinkConfiguration }}
${spec.kind === 'jar' ? '{{- $_ := set $s "programArgs" .Values.job.args }}\n' : ''}{{- with .Values.job.initialSavepointPath }}
{{- $_ := set $s "initialSavepointPath" . }}
{{- $_ := set $s "allowNonRestoredState" $.Values.job.allowNonRestoredState }}
{{- end }}
{{- toPrettyJson $s }}
{{- end -}}
`;
  files['templates/NOTES.txt'] = `{{ .Release.Name }}: Flink job "${c}" on session cluster "${job.cluster.name}" ({{ .Values.job.upgradeMode }} upgrades).

The submitter's log:
  kubectl -n {{ .Release.Namespace }} logs job/{{ include "${c}.fullname" . }}-submit
The cluster's jobs:
  kubectl -n {{ .Release.Namespace }} port-forward svc/${job.cluster.name}-rest 8081:8081
  curl -s http://localhost:8081/jobs/overview
`;
  files['Chart.yaml'] = chartYaml(name, job.cluster.version.toString(), `Flink ${job.cluster.version.line} job "${name}" on session cluster "${job.cluster.name}"`);
  files['.helmignore'] = '*.tgz\n.DS_Store\n';
  return files;
}
