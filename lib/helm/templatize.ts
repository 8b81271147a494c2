import { isDeepStrictEqual } from 'util';
import { ApiObject } from 'cdk8s';
import { CONFIG_INIT_CONTAINER, FETCH_JAR_INIT_CONTAINER, PORTS } from '../cluster/flink-cluster';
import { emitTemplate, TplIf, TplLiteral, TplString } from '../synth/yaml';
import { ValidationError } from '../errors';
import { KafkaTls } from '../pipeline/pipeline';
import { B, baseMetadata, Ctx, FLINK_CONFIG_TEMPLATE, goString, T } from './context';
import { releaseReferences } from './references';
import { LABELS } from './values';
import { isPoolObject, templatizePool } from './pool-chart';

/** The objects of dist/ as chart templates: release-based names and labels, values for images, resources, scheduling and switches, monitoring and network policy. */


/**
 * The monitoring text generated with the cluster's name or namespace (lib/release-text.ts) as
 * release-relative templates; every other string stays as it is.
 */
export function releaseText(node: any, ctx: Ctx): any {
  if (Array.isArray(node)) return node.map((x) => releaseText(x, ctx));
  if (node && typeof node === 'object' && node.constructor === Object) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, releaseText(v, ctx)]));
  }
  const parts = typeof node === 'string' ? ctx.monitoring?.releaseTexts.parts(node) : undefined;
  if (!parts) return node;
  return new TplString(parts.map((p) => ('text' in p ? p.text : p.token === 'name' ? '.Release.Name' : '.Release.Namespace')));
}

/** The values switch of one of the monitoring construct's objects (by identity), or undefined for any other object. */
export function monitoringSwitch(o: any, ctx: Ctx): 'scrape' | 'alerts' | 'dashboard' | undefined {
  const m = ctx.monitoring;
  const is = (x?: ApiObject) => x !== undefined && x.kind === o.kind && x.name === o.metadata.name;
  if (!m) return undefined;
  if (is(m.podMonitor) || is(m.serviceMonitor) || is(m.metricsService)) return 'scrape';
  if (is(m.prometheusRule) || is(m.rulesConfigMap)) return 'alerts';
  return is(m.dashboardConfigMap) ? 'dashboard' : undefined;
}

/** Monitoring objects: release-relative selectors and queries, the `release` label, switches. */
export function templatizeMonitoring(o: any, ctx: Ctx, which: string): { file: string; text: string } {
  const { name, c } = ctx;
  const suffix = o.metadata.name.slice(name.length + 1);
  const sel = (component = '') => B(`include "${c}.selectorLabels" (dict "ctx" $ "component" ${goString(component)})`);
  let out: any = { ...o, metadata: baseMetadata(o, name, c) };
  if (o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor') out.spec = { ...o.spec, selector: { ...o.spec.selector, matchLabels: sel(o.spec.selector.matchLabels[COMPONENT]) } };
  if (o.kind === 'Service') out.spec = { ...o.spec, selector: sel(o.spec.selector[COMPONENT]) };
  // Values only: data keys that carry the name (the dashboard file) stay as synthesized, Grafana reads any key.
  out = { ...out, ...Object.fromEntries(Object.entries(out).filter(([k]) => k !== 'metadata' && k !== 'apiVersion' && k !== 'kind').map(([k, v]) => [k, releaseText(v, ctx)])) };
  out = releaseReferences(out, o.kind, name, c, ctx.generated);
  return {
    file: `templates/${o.kind.toLowerCase()}-${suffix}.yaml`,
    text: `{{- if .Values.monitoring.${which} }}
${emitTemplate(out).replace(/^\n/, '')}{{- end }}
`,
  };
}

/**
 * The Kafka CA a pod volume of dist/ holds: a volume the model declares (ctx.kafkaCas) as
 * KafkaTls.volume() renders it; undefined for any other volume, whatever its name, and for a
 * declared one an escape hatch changed.
 */
export function declaredKafkaCa(v: any, ctx: Ctx): KafkaTls | undefined {
  const tls = ctx.kafkaCas.get(v?.name);
  return tls && isDeepStrictEqual(v, tls.volume().source._toVolume(tls.volumeName)) ? tls : undefined;
}

/** The pod volume of a Kafka CA with its Secret name and key from values `kafkaTls.<volume>`. */
export function kafkaCaVolume(tls: KafkaTls): any {
  const at = `(index .Values.kafkaTls ${goString(tls.volumeName)})`;
  return { name: tls.volumeName, secret: { secretName: T(`{{ ${at}.secretName | quote }}`), items: [{ key: T(`{{ ${at}.key | quote }}`), path: 'ca.pem' }] } };
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
  // Image, resources and args values apply to the toolkit's containers only (by name); containers
  // added through escape hatches pass through as they are.
  const image = { image: T(`{{ include "${c}.image" $ }}`), imagePullPolicy: T('{{ .Values.image.pullPolicy }}') };
  // Containers of the definition's pod templates take their image from `podTemplate.<component>.<name>.image`.
  const added = addedContainers(ctx, component as 'jobmanager' | 'taskmanager');
  const addedImage = (ct: any) => (added.includes(ct.name) ? { ...ct, image: T(`{{ (index .Values.podTemplate.${isJm ? 'jobManager' : 'taskManager'} ${goString(ct.name)}).image }}`) } : ct);
  const main = podRest.containers.map((ct: any) => (ct.name !== component ? addedImage(ct) : {
    ...ct,
    ...image,
    resources: B(`include "${c}.resources" ${values}.resources`),
    ...(isJm && app ? { args: B(`include "${c}.jobManagerArgs" .`) } : {}),
  }));
  const init = (podRest.initContainers ?? []).map((ct: any) => (ct.name === CONFIG_INIT_CONTAINER ? { ...ct, ...image }
    : ct.name === FETCH_JAR_INIT_CONTAINER && isJm && app ? fetchJarFromValues(ct) : addedImage(ct)));
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
      ...(podRest.volumes ? { volumes: podRest.volumes.map((v: any) => { const tls = declaredKafkaCa(v, ctx); return tls ? kafkaCaVolume(tls) : v; }) } : {}),
      nodeSelector: new TplIf('.Values.nodeSelector', B('toYaml .Values.nodeSelector')),
      tolerations: new TplIf('.Values.tolerations', B('toYaml .Values.tolerations')),
      affinity: affinity
        ? B(`include "${c}.${isJm ? 'jobManager' : 'taskManager'}Affinity" .`)
        : new TplIf('.Values.affinity', B('toYaml .Values.affinity')),
    },
  };
  return { ...o, metadata: baseMetadata(o, ctx.name, c), spec };
}

/** The JobManager's jar fetch init container with the hooks image and the jar's URL and sha256 from values. */
function fetchJarFromValues(ct: any): any {
  const valued = ['--url', '--sha256'];
  const rest = (ct.args as string[]).filter((a, i) => !valued.includes(a) && !valued.includes(ct.args[i - 1]));
  return {
    ...ct,
    image: T('{{ .Values.hooks.image }}'),
    args: [rest[0], '--url', T('{{ .Values.job.jarUri | quote }}'), '--sha256', T('{{ .Values.job.jarSha256 | lower | quote }}'), ...rest.slice(1)],
  };
}

/**
 * Names of the containers a component's pod templates add (sidecars, then init containers), in
 * the pod as synthesized: those an escape hatch removed are left out, those it added are not
 * among them.
 */
export function addedContainers(ctx: Ctx, component: 'jobmanager' | 'taskmanager'): string[] {
  const t = ctx.cluster._podTemplates[component];
  return [...t.sidecars, ...t.initContainers].map((x) => x.name);
}

/** An object a user added to the unit's chart (not generated by the toolkit): in the chart exactly as in dist/. */
export function addedObject(o: any): { file: string; text: string } {
  return { file: `templates/added-${o.kind.toLowerCase()}-${o.metadata.name}.yaml`, text: emitTemplate(o).replace(/^\n/, '') };
}

export function templatizeObject(o: any, ctx: Ctx, configFile: string): { file: string; text: string } {
  const { name, c } = ctx;
  const which = monitoringSwitch(o, ctx);
  if (which) return templatizeMonitoring(o, ctx, which);
  if (isPoolObject(o, ctx)) return templatizePool(o, ctx);
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
        // The chart renders the Flink configuration from the model merged with values; a file
        // patched afterwards could not reach the chart, so it is refused rather than dropped.
        if (o.data[configFile] !== ctx.cluster.configuration.render().content) {
          const e = new ValidationError(`configMap.data["${configFile}"]`, 'changed by a JSON patch', 'cannot be carried into the chart; expected Flink keys through flinkConfiguration or addFlinkConfiguration');
          throw e.withMessage(`${name}: ${e.message}`);
        }
        file = FLINK_CONFIG_TEMPLATE;
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
          // The metrics and behavior are values, as the definition (or a patch of it) gives them.
          metrics: B('toYaml .Values.taskManager.autoscaling.metrics'),
          behavior: new TplIf('.Values.taskManager.autoscaling.behavior', B('toYaml .Values.taskManager.autoscaling.behavior')),
        },
      };
      break;
    default:
      out = { ...o, metadata: baseMetadata(o, name, c) };
  }
  out = releaseReferences(out, o.kind, name, c, ctx.generated);
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

const COMPONENT = 'app.kubernetes.io/component';

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
