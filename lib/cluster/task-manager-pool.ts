import { Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { durationMs } from '../config/units';
import { checkInt, ValidationError } from '../errors';
import { POOL_MIN_WITHIN_MAX } from '../rules/guards';
import { checkImage } from './image-ref';
import { selectorLabels, selectorValue } from './labels';
import { bindChartValues, Tpl } from '../chart-value';
import type { TplScalar } from '../synth/yaml';
import { PORTS } from './layout';
import { REST_CLIENT_LABEL } from './network-policy';
import { restrictedSecurityContext } from './pod-customization';
import type { Metadata } from './services';

/**
 * A session cluster's TaskManager pool that follows demand: the operations tool's `pool` command
 * (lib/ops/pool.ts) in a Deployment of its own, with a ServiceAccount allowed to read and set
 * the scale of the TaskManager Deployment (by name) and to list and annotate the namespace's
 * pods (the deletion cost that makes a scale-down remove idle TaskManagers).
 */
export interface TaskManagerPoolProps {
  /** Fewest TaskManagers, also with no job. @default 1 */
  readonly min?: number;
  /** Most TaskManagers. */
  readonly max: number;
  /**
   * Free slots kept beyond what the jobs need: room for the next job without waiting for a
   * TaskManager to start, and for a lost TaskManager's tasks. @default 0
   */
  readonly spareSlots?: number;
  /** How long the pool must be larger than needed before it shrinks. @default Duration.minutes(5) */
  readonly scaleDownDelay?: Duration;
  /** How often the pool reads the JobManager. @default Duration.seconds(10) */
  readonly interval?: Duration;
  /**
   * The image of the operations tool that runs the pool (built from runtime/).
   * @default the platform's opsImage, else `cdk8s-flink-ops:<package version>`
   */
  readonly opsImage?: string;
}

/** The pool's settings, checked, with their defaults. */
export interface ResolvedPool {
  readonly min: number;
  readonly max: number;
  readonly spareSlots: number;
  readonly scaleDownDelaySeconds: number;
  readonly intervalSeconds: number;
  readonly opsImage: string;
}

/** The ops image's user (runtime/images/ops/Dockerfile). */
export const OPS_UID = 10001;

export function resolvePool(p: TaskManagerPoolProps, defaultOpsImage: string): ResolvedPool {
  if (p === null || typeof p !== 'object') throw new ValidationError('taskManagerPool', p, 'is invalid; expected { max, min?, spareSlots?, scaleDownDelay?, interval?, opsImage? }');
  const max = checkInt('taskManagerPool.max', p.max, 1, 1000);
  const min = checkInt('taskManagerPool.min', p.min ?? 1, 0, 1000);
  if (!POOL_MIN_WITHIN_MAX.holds({ min, max })) throw new ValidationError('taskManagerPool.min', min, `is above taskManagerPool.max (${max}); expected at most ${max}`);
  const seconds = (field: string, d: Duration | undefined, dflt: Duration, minS: number, maxS: number) => {
    const ms = durationMs(field, d ?? dflt, 0);
    if (ms % 1000 !== 0 || ms < minS * 1000 || ms > maxS * 1000) throw new ValidationError(field, `${ms}ms`, `is invalid; expected whole seconds between ${minS}s and ${maxS}s`);
    return ms / 1000;
  };
  return {
    min, max,
    spareSlots: checkInt('taskManagerPool.spareSlots', p.spareSlots ?? 0, 0, 10_000),
    scaleDownDelaySeconds: seconds('taskManagerPool.scaleDownDelay', p.scaleDownDelay, Duration.minutes(5), 0, 86_400),
    intervalSeconds: seconds('taskManagerPool.interval', p.interval, Duration.seconds(10), 1, 3600),
    opsImage: checkImage('taskManagerPool.opsImage', p.opsImage ?? defaultOpsImage),
  };
}

/**
 * The pool container's arguments. The chart renders the same list with its values and release
 * name in place of the literals (lib/helm/pool-chart.ts), so both come from here.
 */
export function poolArgs<V = string>(a: Readonly<Record<'restUrl' | 'deployment' | 'selector' | 'slots' | 'min' | 'max' | 'spareSlots' | 'scaleDownDelay' | 'interval', string | V>>): (string | V)[] {
  return [
    'pool', '--rest-url', a.restUrl, '--deployment', a.deployment, '--selector', a.selector, '--slots-per-task-manager', a.slots,
    '--min', a.min, '--max', a.max, '--spare-slots', a.spareSlots, '--scale-down-delay', a.scaleDownDelay, '--interval', a.interval,
  ];
}

/** The label selector of the cluster's TaskManager pods, as the pool's --selector. */
export function taskManagerSelector(name: string): string {
  return Object.entries(selectorLabels(name, 'taskmanager')).map(([k, v]) => `${k}=${v}`).join(',');
}

export interface PoolObjects {
  readonly deployment: k8s.KubeDeployment;
  readonly serviceAccount: k8s.KubeServiceAccount;
  readonly role: k8s.KubeRole;
  readonly roleBinding: k8s.KubeRoleBinding;
}

/** The pool's ServiceAccount, Role, RoleBinding and Deployment (construct ids Pool*), named `<name>-pool`. */
export function taskManagerPool(scope: Construct, md: Metadata, o: { name: string; slots: number; pool: ResolvedPool; pullPolicy: string }): PoolObjects {
  const p = o.pool;
  return taskManagerController(scope, md, {
    name: o.name, component: 'pool', idPrefix: 'Pool', image: p.opsImage, pullPolicy: o.pullPolicy, valuesKey: 'pool', slots: o.slots,
    args: (t, v) => poolArgs({
      ...t,
      min: v('min', String(p.min), true), max: v('max', String(p.max), true), spareSlots: v('spareSlots', String(p.spareSlots), true),
      scaleDownDelay: v('scaleDownDelay', `${p.scaleDownDelaySeconds}s`), interval: v('interval', `${p.intervalSeconds}s`),
    }),
  });
}

/** What a count controller's arguments name: the cluster's REST Service, its TaskManager Deployment and their pods, the slots per TaskManager. */
export type ControllerTargets<V> = Readonly<Record<'restUrl' | 'deployment' | 'selector' | 'slots', string | V>>;

/**
 * A count controller's arguments, declared once: rendered with the literal targets and values
 * (dist/), and with the release's targets and `taskManager.<valuesKey>.<key>` values (charts/).
 * `value(key, literal, quote)` stands for one of its values.
 */
export type ControllerArgs = <V>(targets: ControllerTargets<V>, value: (key: string, literal: string, quote?: boolean) => string | V) => (string | V)[];

/**
 * A loop of the operations tool that owns the TaskManager count (a session cluster's pool, an
 * application's job autoscaler): its ServiceAccount, Role, RoleBinding and Deployment (construct
 * ids `<idPrefix>*`), named `<name>-<component>`. The Role reads and sets the scale of the
 * TaskManager Deployment (by name) and lists and annotates the namespace's pods (the deletion
 * cost that makes a scale-down remove idle TaskManagers), and with `events` creates Events; the
 * pod's label lets it call the cluster's REST API through the NetworkPolicy.
 */
export function taskManagerController(scope: Construct, md: Metadata, o: {
  name: string; component: string; idPrefix: string; image: string; pullPolicy: string; valuesKey: string; slots: number; args: ControllerArgs; events?: boolean;
}): PoolObjects {
  const meta = md(`-${o.component}`, o.component);
  const id = (x: string) => `${o.idPrefix}${x}`;
  const serviceAccount = new k8s.KubeServiceAccount(scope, id('ServiceAccount'), { metadata: meta, automountServiceAccountToken: true });
  const role = new k8s.KubeRole(scope, id('Role'), {
    metadata: meta,
    rules: [
      // the TaskManager Deployment's count, and nothing else of it
      { apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: [`${o.name}-taskmanager`], verbs: ['get', 'patch'] },
      // the pods' deletion cost: the Role cannot name pods whose names the ReplicaSet picks
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'patch'] },
      // the Events that record its changes (the job autoscaler's), create only
      ...(o.events ? [{ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] }] : []),
    ],
  });
  const roleBinding = new k8s.KubeRoleBinding(scope, id('RoleBinding'), {
    metadata: meta,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, ...(meta.namespace ? { namespace: meta.namespace } : {}) }],
  });
  const deployment = new k8s.KubeDeployment(scope, id('Deployment'), {
    metadata: meta,
    spec: {
      replicas: 1,
      // never two at once: the old one stops before the new one starts
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(o.name, o.component) },
      template: {
        // The cluster's NetworkPolicy lets pods with this label call its REST API.
        metadata: { labels: { ...meta.labels, [REST_CLIENT_LABEL]: o.name } },
        spec: {
          serviceAccountName: serviceAccount.name,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          securityContext: { runAsNonRoot: true, runAsUser: OPS_UID, runAsGroup: OPS_UID, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: o.component,
            image: o.image,
            imagePullPolicy: o.pullPolicy,
            args: o.args<never>({
              // the REST Service of its own namespace
              restUrl: `http://${o.name}-rest:${PORTS.rest}`, deployment: `${o.name}-taskmanager`, selector: taskManagerSelector(o.name), slots: String(o.slots),
            }, (_k, literal) => literal),
            securityContext: restrictedSecurityContext(),
            resources: {
              requests: { cpu: k8s.Quantity.fromString('20m'), memory: k8s.Quantity.fromString('96Mi') },
              limits: { memory: k8s.Quantity.fromString('96Mi') },
            },
          }],
        },
      },
    },
  });
  // In the chart: the release's names, the image and the arguments' values from taskManager.<valuesKey>.
  const container = `spec.template.spec.containers[name=${o.component}]`;
  bindChartValues(deployment, [
    { path: 'spec.selector.matchLabels', expression: selectorValue(o.component) },
    { path: 'spec.template.metadata', expression: (c) => ({ labels: Tpl.block(`include "${c}.${o.component}PodLabels" .`) }) },
    { path: `${container}.image`, expression: () => Tpl.scalar(`{{ .Values.taskManager.${o.valuesKey}.image }}`) },
    {
      path: `${container}.args`,
      expression: (c) => {
        const fullname = `{{ include "${c}.fullname" $ }}`;
        return o.args<TplScalar>({
          restUrl: Tpl.scalar(`http://${fullname}-rest:${PORTS.rest}`),
          deployment: Tpl.scalar(`${fullname}-taskmanager`),
          selector: Tpl.scalar(`app.kubernetes.io/name=${c},app.kubernetes.io/instance={{ .Release.Name }},app.kubernetes.io/component=taskmanager`),
          slots: String(o.slots),
        }, (k, _literal, quote) => Tpl.scalar(`{{ .Values.taskManager.${o.valuesKey}.${k}${quote ? ' | quote' : ''} }}`));
      },
    },
  ]);
  bindChartValues(role, [{ path: 'rules[].resourceNames', expression: (c, names) => (names ? [Tpl.scalar(`{{ include "${c}.fullname" . }}-taskmanager`)] : undefined) }]);
  bindChartValues(roleBinding, [{ path: 'subjects[kind=ServiceAccount].namespace', expression: () => Tpl.scalar('{{ .Release.Namespace }}') }]);
  return { deployment, serviceAccount, role, roleBinding };
}
