import { ResolvedPool } from '../cluster/task-manager-pool';
import { FlinkCluster } from '../cluster/flink-cluster';
import { ResolvedJobAutoscaler, ResolvedScaling } from '../job-autoscaler';
import { PINNED_IMAGE_SCHEMA } from '../cluster/image-ref';
import { emitTemplate } from '../synth/yaml';
import { baseMetadata, Ctx } from './context';
import { releaseReferences } from './references';
import { ValueTree } from './values';

/**
 * The loop of the operations tool that owns a cluster's TaskManager count (lib/cluster/task-manager-pool.ts):
 * a session cluster's pool (values `taskManager.pool`) or an application's job autoscaler (values
 * `taskManager.jobAutoscaler`): its values and its four objects as templates.
 */

/** The pool of a session cluster, or undefined. */
export function poolOf(cluster: FlinkCluster): { pool: ResolvedPool; objects: readonly { kind: string; name: string }[] } | undefined {
  const c = cluster as FlinkCluster & { taskManagerPool?: ResolvedPool; poolObjects?: Record<string, { kind: string; name: string }> };
  return c.taskManagerPool && c.poolObjects ? { pool: c.taskManagerPool, objects: Object.values(c.poolObjects) } : undefined;
}

/** The job autoscaler of an application, or undefined. */
export function jobAutoscalerOf(cluster: FlinkCluster): { autoscaler: ResolvedJobAutoscaler; objects: readonly { kind: string; name: string }[] } | undefined {
  const c = cluster as FlinkCluster & { jobAutoscaler?: ResolvedJobAutoscaler; jobAutoscalerObjects?: Record<string, { kind: string; name: string }> };
  return c.jobAutoscaler && c.jobAutoscalerObjects ? { autoscaler: c.jobAutoscaler, objects: Object.values(c.jobAutoscalerObjects) } : undefined;
}

/** The loop that owns the cluster's TaskManager count: its pod's component, its values key under taskManager, its objects. */
export function countControllerOf(cluster: FlinkCluster): { component: 'pool' | 'autoscaler'; key: 'pool' | 'jobAutoscaler'; objects: readonly { kind: string; name: string }[] } | undefined {
  const pool = poolOf(cluster);
  if (pool) return { component: 'pool', key: 'pool', objects: pool.objects };
  const auto = jobAutoscalerOf(cluster);
  return auto ? { component: 'autoscaler', key: 'jobAutoscaler', objects: auto.objects } : undefined;
}

/** Whether `o` (an object of dist/) is one of the pool's or the job autoscaler's objects (by identity with the model's). */
export function isPoolObject(o: any, ctx: Ctx): boolean {
  return countControllerOf(ctx.cluster)?.objects.some((x) => x.kind === o.kind && x.name === o.metadata.name) ?? false;
}

const SECONDS = { type: 'string', pattern: '^[0-9]+s$' };
/** A value leaf: an integer within a range. */
const int = (doc: string, value: number, minimum: number, maximum: number) => ({ doc, value, schema: { type: 'integer', minimum, maximum } });
/** A value leaf: whole seconds, as "300s". */
const secs = (doc: string, seconds: number) => ({ doc, value: `${seconds}s`, schema: SECONDS });

/** `taskManager.pool` values. */
export function poolValues(pool: ResolvedPool): ValueTree {
  return {
    pool: {
      doc: 'The TaskManager pool that follows demand: it owns the TaskManager count (the Deployment has no replicas);\nas many TaskManagers as the active jobs\' slots need plus spareSlots, within min and max.',
      children: {
        min: int('Fewest TaskManagers, also with no job.', pool.min, 0, 1000),
        max: int('Most TaskManagers.', pool.max, 1, 1000),
        spareSlots: int('Free slots kept beyond what the jobs need.', pool.spareSlots, 0, 10000),
        scaleDownDelay: secs('How long the pool must be larger than needed before idle TaskManagers go (seconds, e.g. 300s).', pool.scaleDownDelaySeconds),
        interval: secs('How often the pool reads the JobManager (seconds, e.g. 10s).', pool.intervalSeconds),
        image: { doc: 'Image of the operations tool that runs the pool (built from runtime/).', value: pool.opsImage, schema: PINNED_IMAGE_SCHEMA },
      },
    },
  };
}

/** `taskManager.jobAutoscaler` values. */
export function jobAutoscalerValues(j: ResolvedJobAutoscaler): ValueTree {
  return {
    jobAutoscaler: {
      doc: 'The job autoscaler: sets each job vertex\'s parallelism from its busy time and its sources\' backlog\n(adaptive scheduler: the job rescales in place from its latest checkpoint), and owns the TaskManager\ncount (the Deployment has no replicas): as many as the declared parallelism\'s slots need.',
      children: {
        ...scalingValues(j),
        minTaskManagers: int('Fewest TaskManagers.', j.minTaskManagers, 1, 1000),
        maxTaskManagers: int('Most TaskManagers.', j.maxTaskManagers, 1, 1000),
        image: { doc: 'Image of the operations tool that runs the autoscaler (built from runtime/).', value: j.opsImage, schema: PINNED_IMAGE_SCHEMA },
      },
    },
  };
}

/** How the job autoscaler decides, as values (an application's `taskManager.jobAutoscaler`, a session job's `jobAutoscaler`). */
export function scalingValues(j: ResolvedScaling): ValueTree {
  return {
    minParallelism: int('Lowest parallelism of any vertex.', j.minParallelism, 1, 32768),
    maxParallelism: int('Highest parallelism of any vertex.', j.maxParallelism, 1, 32768),
    targetUtilization: int('Busy time to aim for, percent.', j.targetUtilization, 10, 100),
    utilizationBoundary: int('No change while every vertex is within the target +/- this, percent.', j.utilizationBoundary, 0, 90),
    maxScaleDown: int('At most this much lower per decision, percent.', j.maxScaleDown, 1, 100),
    catchUp: secs('Time in which a source\'s pending records should be read on top of its input (seconds, e.g. 300s).', j.catchUpSeconds),
    metricsWindow: secs('Metrics averaged over this long before a decision (seconds).', j.metricsWindowSeconds),
    stabilization: secs('Metrics ignored for this long after the job (re)starts or rescales (seconds).', j.stabilizationSeconds),
    interval: secs('Time between samples (seconds).', j.intervalSeconds),
  };
}

/**
 * One of the pool's objects as a template: release-based names (the image, arguments, selectors
 * and RBAC names are its chart values, lib/cluster/task-manager-pool.ts).
 */
export function templatizePool(o: any, ctx: Ctx): { file: string; text: string } {
  const { name, c } = ctx;
  const ctl = countControllerOf(ctx.cluster)!;
  const out = releaseReferences({ ...o, metadata: baseMetadata(o, name, c) }, o.kind, name, c, ctx.generated);
  return { file: `templates/${o.kind.toLowerCase()}-${ctl.component}.yaml`, text: emitTemplate(out).replace(/^\n/, '') };
}

/** The pool's (or job autoscaler's) pod labels: the recommended ones, and the label a session cluster's NetworkPolicy admits to the REST API. */
export function poolPodLabelsHelper(c: string, restClientLabel: string, component = 'pool'): string {
  return `
{{/* The ${component}'s pod labels: the cluster's NetworkPolicy lets ${component === 'pool' ? `${restClientLabel} pods` : 'it'} call its REST API. */}}
{{- define "${c}.${component}PodLabels" -}}
{{ include "${c}.labels" (dict "ctx" $ "component" "${component}") }}
${restClientLabel}: {{ include "${c}.fullname" . }}
{{- end -}}
`;
}
