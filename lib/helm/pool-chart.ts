import { poolArgs, ResolvedPool } from '../cluster/task-manager-pool';
import { FlinkCluster } from '../cluster/flink-cluster';
import { PINNED_IMAGE_SCHEMA } from '../cluster/image-ref';
import { PORTS } from '../cluster/layout';
import { emitTemplate, TplScalar } from '../synth/yaml';
import { B, baseMetadata, Ctx, T } from './context';
import { releaseReferences } from './references';
import { ValueTree } from './values';

/** A session chart's TaskManager pool: its values and its four objects as templates (lib/cluster/task-manager-pool.ts). */

/** The pool of a session cluster, or undefined. */
export function poolOf(cluster: FlinkCluster): { pool: ResolvedPool; objects: readonly { kind: string; name: string }[] } | undefined {
  const c = cluster as FlinkCluster & { taskManagerPool?: ResolvedPool; poolObjects?: Record<string, { kind: string; name: string }> };
  return c.taskManagerPool && c.poolObjects ? { pool: c.taskManagerPool, objects: Object.values(c.poolObjects) } : undefined;
}

/** Whether `o` (an object of dist/) is one of the pool's objects (by identity with the model's). */
export function isPoolObject(o: any, ctx: Ctx): boolean {
  return poolOf(ctx.cluster)?.objects.some((x) => x.kind === o.kind && x.name === o.metadata.name) ?? false;
}

const SECONDS = { type: 'string', pattern: '^[0-9]+s$' };

/** `taskManager.pool` values. */
export function poolValues(pool: ResolvedPool): ValueTree {
  return {
    pool: {
      doc: 'The TaskManager pool that follows demand: it owns the TaskManager count (the Deployment has no replicas);\nas many TaskManagers as the active jobs\' slots need plus spareSlots, within min and max.',
      children: {
        min: { doc: 'Fewest TaskManagers, also with no job.', value: pool.min, schema: { type: 'integer', minimum: 0, maximum: 1000 } },
        max: { doc: 'Most TaskManagers.', value: pool.max, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        spareSlots: { doc: 'Free slots kept beyond what the jobs need.', value: pool.spareSlots, schema: { type: 'integer', minimum: 0, maximum: 10000 } },
        scaleDownDelay: { doc: 'How long the pool must be larger than needed before idle TaskManagers go (seconds, e.g. 300s).', value: `${pool.scaleDownDelaySeconds}s`, schema: SECONDS },
        interval: { doc: 'How often the pool reads the JobManager (seconds, e.g. 10s).', value: `${pool.intervalSeconds}s`, schema: SECONDS },
        image: { doc: 'Image of the operations tool that runs the pool (built from runtime/).', value: pool.opsImage, schema: PINNED_IMAGE_SCHEMA },
      },
    },
  };
}

/** One of the pool's objects as a template: release-based names and selectors, the values in its arguments and image. */
export function templatizePool(o: any, ctx: Ctx): { file: string; text: string } {
  const { name, c } = ctx;
  let out: any = { ...o, metadata: baseMetadata(o, name, c) };
  if (o.kind === 'Deployment') {
    const v = (k: string) => T(`{{ .Values.taskManager.pool.${k} }}`);
    const fullname = `{{ include "${c}.fullname" $ }}`;
    const pod = o.spec.template.spec;
    const [container] = pod.containers;
    out = {
      ...out,
      spec: {
        ...o.spec,
        selector: { matchLabels: B(`include "${c}.selectorLabels" (dict "ctx" $ "component" "pool")`) },
        template: {
          metadata: { labels: B(`include "${c}.poolPodLabels" .`) },
          spec: {
            ...pod,
            containers: [{
              ...container,
              image: T('{{ .Values.taskManager.pool.image }}'),
              args: poolArgs<TplScalar>({
                restUrl: T(`http://${fullname}-rest:${PORTS.rest}`),
                deployment: T(`${fullname}-taskmanager`),
                selector: T(`app.kubernetes.io/name=${c},app.kubernetes.io/instance={{ .Release.Name }},app.kubernetes.io/component=taskmanager`),
                slots: String(ctx.cluster.taskManagerSlots),
                min: T('{{ .Values.taskManager.pool.min | quote }}'),
                max: T('{{ .Values.taskManager.pool.max | quote }}'),
                spareSlots: T('{{ .Values.taskManager.pool.spareSlots | quote }}'),
                scaleDownDelay: v('scaleDownDelay'),
                interval: v('interval'),
              }),
            }],
          },
        },
      },
    };
  } else if (o.kind === 'RoleBinding') {
    out = { ...out, subjects: o.subjects.map((x: any) => ({ ...x, namespace: T('{{ .Release.Namespace }}') })) };
  } else if (o.kind === 'Role') {
    out = { ...out, rules: o.rules.map((r: any) => (r.resourceNames ? { ...r, resourceNames: [T(`{{ include "${c}.fullname" . }}-taskmanager`)] } : r)) };
  }
  out = releaseReferences(out, o.kind, name, c, ctx.generated);
  return { file: `templates/${o.kind.toLowerCase()}-pool.yaml`, text: emitTemplate(out).replace(/^\n/, '') };
}

/** The pool pod's labels: the recommended ones, and the label the cluster's NetworkPolicy admits to the REST API. */
export function poolPodLabelsHelper(c: string, restClientLabel: string): string {
  return `
{{/* The pool's pod labels: the cluster's NetworkPolicy lets ${restClientLabel} pods call its REST API. */}}
{{- define "${c}.poolPodLabels" -}}
{{ include "${c}.labels" (dict "ctx" $ "component" "pool") }}
${restClientLabel}: {{ include "${c}.fullname" . }}
{{- end -}}
`;
}
