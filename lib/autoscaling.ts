import { Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { checkInt, LABEL_KEY, ValidationError } from './errors';
import { wholeSeconds } from './config/units';

/**
 * Autoscaling of an application cluster's TaskManagers: a HorizontalPodAutoscaler (autoscaling/v2)
 * sets the TaskManager Deployment's replicas from the metrics, and Flink's adaptive scheduler
 * (standalone application mode) rescales the job to the slots that exist. Every scale event
 * restarts the job from its latest checkpoint, keeping its state.
 */

/** How the job uses the TaskManagers the HorizontalPodAutoscaler gives it. */
export enum AutoscalingMode {
  /** `scheduler-mode: reactive`: the job always takes every slot; the parallelism follows the TaskManager count. */
  REACTIVE = 'reactive',
  /**
   * `jobmanager.scheduler: adaptive`: the job's parallelism is its upper bound, and it runs with
   * the slots that exist, up to that bound.
   */
  ADAPTIVE = 'adaptive',
}

/** A Kubernetes quantity: digits with an optional decimal part and suffix ("500m", "2", "1.5k", "64Mi"). */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** The values schema of a quantity (strings as above, or a plain number). */
export const QUANTITY_SCHEMA = { anyOf: [{ type: 'string', pattern: QUANTITY.source }, { type: 'number', exclusiveMinimum: 0 }] };

function checkQuantity(field: string, value: unknown): k8s.Quantity {
  if (typeof value !== 'string' || !QUANTITY.test(value) || !/[1-9]/.test(value)) {
    throw new ValidationError(field, value, 'is not a positive Kubernetes quantity; expected e.g. "500m", "2", "1k" or "256Mi"');
  }
  return k8s.Quantity.fromString(value);
}

function checkUtilization(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 10 || value > 100) {
    throw new ValidationError(field, value, 'is out of range; expected an integer percent of the request between 10 and 100');
  }
  return value;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:.\-/]*$/;

function checkMetricName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !METRIC_NAME.test(value) || value.length > 253) {
    throw new ValidationError(field, value, 'is not a metric name; expected the name the metrics adapter serves, e.g. "flink_taskmanager_job_task_backPressuredTimeMsPerSecond"');
  }
  return value;
}

function checkSelector(field: string, value: Record<string, string> | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || !Object.keys(value).length) {
    throw new ValidationError(field, value, 'is not a label selector; expected a non-empty map of label names to values, or none');
  }
  for (const [k, v] of Object.entries(value)) {
    if (!LABEL_KEY.test(k) || typeof v !== 'string' || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v) || v.length > 63) {
      throw new ValidationError(`${field}[${JSON.stringify(k)}]`, v, 'is not a label value for a label name; expected a label value of at most 63 characters');
    }
  }
  return { ...value };
}

/** A resource the HPA measures per TaskManager pod. */
export enum MetricResource {
  CPU = 'cpu',
  MEMORY = 'memory',
}

/** A per-pod metric: its name, and the average over the TaskManager pods to aim for. */
export interface PodsMetricOptions {
  /** The metric's name, as the custom metrics API (a metrics adapter) serves it. */
  readonly name: string;
  /** Average value per TaskManager pod to aim for, a quantity such as "100" or "500m". */
  readonly averageValue: string;
  /** Labels that narrow the metric's series. @default - none */
  readonly selector?: Record<string, string>;
}

/** A metric from outside the cluster's objects (a queue's lag, a cloud service's metric): its name and a target. */
export interface ExternalMetricOptions {
  /** The metric's name, as the external metrics API (a metrics adapter) serves it. */
  readonly name: string;
  /** Labels that pick the metric's series (e.g. a topic and consumer group). @default - none */
  readonly selector?: Record<string, string>;
  /** The metric's value to aim for, whatever the TaskManager count. Exactly one of value and averageValue. @default - none */
  readonly value?: string;
  /** The metric's value divided by the TaskManager count to aim for. Exactly one of value and averageValue. @default - none */
  readonly averageValue?: string;
}

/** One metric the HorizontalPodAutoscaler follows (HPA v2 `MetricSpec`); the HPA scales to the largest count any metric asks for. */
export class AutoscalingMetric {
  /** CPU utilization of the TaskManagers, in percent of their CPU request (10 to 100). */
  public static cpuUtilization(percent: number): AutoscalingMetric {
    return AutoscalingMetric.resourceUtilization(MetricResource.CPU, percent);
  }

  /** Memory utilization of the TaskManagers, in percent of their memory request (10 to 100). */
  public static memoryUtilization(percent: number): AutoscalingMetric {
    return AutoscalingMetric.resourceUtilization(MetricResource.MEMORY, percent);
  }

  /** A resource's utilization, in percent of the TaskManagers' request (10 to 100). */
  public static resourceUtilization(resource: MetricResource, percent: number): AutoscalingMetric {
    const name = checkResource(resource);
    return new AutoscalingMetric('Resource', (field) => ({
      type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization: checkUtilization(`${field}.utilization`, percent) } },
    }));
  }

  /** A resource's average use per TaskManager pod, as a quantity ("1500m" CPU, "3Gi" memory). */
  public static resourceAverageValue(resource: MetricResource, averageValue: string): AutoscalingMetric {
    const name = checkResource(resource);
    return new AutoscalingMetric('Resource', (field) => ({
      type: 'Resource', resource: { name, target: { type: 'AverageValue', averageValue: checkQuantity(`${field}.averageValue`, averageValue) } },
    }));
  }

  /** A custom metric of the TaskManager pods (the custom metrics API), averaged over them. */
  public static pods(options: PodsMetricOptions): AutoscalingMetric {
    return new AutoscalingMetric('Pods', (field) => {
      const o = options ?? ({} as PodsMetricOptions);
      if (o.averageValue === undefined) throw new ValidationError(`${field}.averageValue`, undefined, `is required for pods metric ${JSON.stringify(o.name)}; expected the average per TaskManager pod to aim for, e.g. "100"`);
      const selector = checkSelector(`${field}.selector`, o.selector);
      return {
        type: 'Pods',
        pods: { metric: { name: checkMetricName(`${field}.name`, o.name), ...(selector ? { selector: { matchLabels: selector } } : {}) }, target: { type: 'AverageValue', averageValue: checkQuantity(`${field}.averageValue`, o.averageValue) } },
      };
    });
  }

  /** A metric from outside the cluster's objects (the external metrics API): a value, or an average per TaskManager. */
  public static external(options: ExternalMetricOptions): AutoscalingMetric {
    return new AutoscalingMetric('External', (field) => {
      const o = options ?? ({} as ExternalMetricOptions);
      if ((o.value === undefined) === (o.averageValue === undefined)) {
        throw new ValidationError(`${field}.value`, o.value, `${o.value === undefined ? 'and averageValue are both missing' : 'is set with averageValue'} for external metric ${JSON.stringify(o.name)}; expected exactly one target: value (the metric's total) or averageValue (per TaskManager)`);
      }
      const selector = checkSelector(`${field}.selector`, o.selector);
      const target = o.value !== undefined
        ? { type: 'Value', value: checkQuantity(`${field}.value`, o.value) }
        : { type: 'AverageValue', averageValue: checkQuantity(`${field}.averageValue`, o.averageValue) };
      return { type: 'External', external: { metric: { name: checkMetricName(`${field}.name`, o.name), ...(selector ? { selector: { matchLabels: selector } } : {}) }, target } };
    });
  }

  private constructor(
    /** The HPA metric type: Resource, Pods or External. */
    public readonly type: string,
    private readonly render: (field: string) => k8s.MetricSpecV2,
  ) {}

  /** @internal The HPA v2 MetricSpec; `field` names the metric in errors. */
  public _toSpec(field: string): k8s.MetricSpecV2 {
    return this.render(field);
  }
}

function checkResource(resource: MetricResource): string {
  if (!Object.values(MetricResource).includes(resource)) {
    throw new ValidationError('autoscaling.metrics resource', resource, `is not a resource the HPA measures; expected one of ${Object.values(MetricResource).join(', ')}`);
  }
  return resource;
}

/** How a scaling policy counts. */
export enum ScalingPolicyType {
  /** A number of TaskManagers per period. */
  PODS = 'Pods',
  /** A percent of the current TaskManagers per period. */
  PERCENT = 'Percent',
}

/** How much the HPA may change the TaskManager count within a period. */
export interface ScalingPolicy {
  readonly type: ScalingPolicyType;
  /** TaskManagers (PODS) or percent of the current count (PERCENT), at least 1. */
  readonly value: number;
  /** The period the limit applies to, 1 s to 30 min. */
  readonly period: Duration;
}

/** Which policy wins when several allow different changes. */
export enum SelectPolicy {
  /** The policy allowing the largest change. */
  MAX = 'Max',
  /** The policy allowing the smallest change. */
  MIN = 'Min',
  /** No scaling in this direction. */
  DISABLED = 'Disabled',
}

/** Rules for one direction of scaling. */
export interface ScalingRules {
  /** How long the HPA looks back for the highest (scale down) or lowest (scale up) recommendation, at most 1 h. @default - the direction's default below */
  readonly stabilizationWindow?: Duration;
  /** Limits on each change. @default - the direction's default below */
  readonly policies?: ScalingPolicy[];
  /** @default SelectPolicy.MAX */
  readonly selectPolicy?: SelectPolicy;
}

/** How fast the HPA scales each way. */
export interface ScalingBehavior {
  /** @default - a 2 min window, at most 2 TaskManagers every 2 min */
  readonly scaleUp?: ScalingRules;
  /** @default - a 10 min window, at most 1 TaskManager every 5 min */
  readonly scaleDown?: ScalingRules;
}

/** The toolkit's default behavior: each scale event restarts the job, so scale down slowly and never in bursts. */
const DEFAULT_RULES = {
  scaleUp: { stabilizationWindowSeconds: 120, policies: [{ type: 'Pods', value: 2, periodSeconds: 120 }] },
  scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }] },
};

export interface AutoscalingOptions {
  /** Fewest TaskManagers (1 to 1000). @default 1 */
  readonly min?: number;
  /** Most TaskManagers (1 to 1000, at least min). @default 4 */
  readonly max?: number;
  /** What the HPA follows; it scales to the largest count any metric asks for. @default [AutoscalingMetric.cpuUtilization(70)] */
  readonly metrics?: AutoscalingMetric[];
  /** How fast it scales each way. @default - scale up by at most 2 TaskManagers every 2 min, down by 1 every 5 min after a 10 min window */
  readonly behavior?: ScalingBehavior;
  /**
   * How long the scheduler waits for more TaskManagers, once it has enough to run, before it
   * (re)starts the job with what it has (`jobmanager.adaptive-scheduler.resource-stabilization-timeout`).
   * @default Duration.minutes(1)
   */
  readonly stabilizationTimeout?: Duration;
}

/** The HPA's spec and the scheduler's settings, checked. */
export interface ResolvedAutoscaling {
  readonly mode: AutoscalingMode;
  readonly min: number;
  readonly max: number;
  readonly metrics: k8s.MetricSpecV2[];
  readonly behavior: k8s.HorizontalPodAutoscalerBehaviorV2;
  readonly stabilizationTimeout: Duration;
}

/**
 * Autoscaling of an application cluster: `Autoscaling.reactive({...})` or
 * `Autoscaling.adaptive({...})`, with the TaskManager range, the metrics and the behavior of the
 * HorizontalPodAutoscaler.
 */
export class Autoscaling {
  /** Reactive mode: the job always runs on every slot; each TaskManager added or removed rescales it. */
  public static reactive(options: AutoscalingOptions = {}): Autoscaling {
    return new Autoscaling(AutoscalingMode.REACTIVE, options);
  }

  /** The adaptive scheduler: the job's parallelism is its upper bound, and it runs with the slots there are, up to it. */
  public static adaptive(options: AutoscalingOptions = {}): Autoscaling {
    return new Autoscaling(AutoscalingMode.ADAPTIVE, options);
  }

  private constructor(public readonly mode: AutoscalingMode, public readonly options: AutoscalingOptions) {}

  /** @internal Checks the options; `field` names them in errors (`autoscaling`, or the reactive* props). */
  public _resolve(field = 'autoscaling', names: { min?: string; max?: string } = {}): ResolvedAutoscaling {
    const o = this.options ?? {};
    const minField = names.min ?? `${field}.min`;
    const maxField = names.max ?? `${field}.max`;
    const min = checkInt(minField, o.min ?? 1, 1, 1000);
    const max = checkInt(maxField, o.max ?? 4, 1, 1000);
    if (max < min) throw new ValidationError(maxField, max, `is below ${minField} (${min}); expected max >= min`);
    if (o.metrics !== undefined && (!Array.isArray(o.metrics) || !o.metrics.length)) {
      throw new ValidationError(`${field}.metrics`, o.metrics, 'has no metric; expected at least one, e.g. [AutoscalingMetric.cpuUtilization(70)], or leave it out for that default');
    }
    const metrics = (o.metrics ?? [AutoscalingMetric.cpuUtilization(70)]).map((m, i) => {
      if (!(m instanceof AutoscalingMetric)) throw new ValidationError(`${field}.metrics[${i}]`, m, 'is not a metric; expected AutoscalingMetric.cpuUtilization(...), .pods({...}), .external({...}), ...');
      return m._toSpec(`${field}.metrics[${i}]`);
    });
    const stabilizationTimeout = o.stabilizationTimeout ?? Duration.minutes(1);
    if (!(stabilizationTimeout instanceof Duration)) throw new ValidationError(`${field}.stabilizationTimeout`, stabilizationTimeout, 'is not a Duration; expected e.g. Duration.minutes(1)');
    return { mode: this.mode, min, max, metrics, behavior: resolveBehavior(`${field}.behavior`, o.behavior), stabilizationTimeout };
  }
}

function resolveBehavior(field: string, b: ScalingBehavior | undefined): k8s.HorizontalPodAutoscalerBehaviorV2 {
  const out: Record<string, k8s.HpaScalingRulesV2> = {};
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const r = b?.[dir];
    const def = DEFAULT_RULES[dir];
    if (r === undefined) {
      out[dir] = def;
      continue;
    }
    const f = `${field}.${dir}`;
    const window = r.stabilizationWindow === undefined ? def.stabilizationWindowSeconds : wholeSeconds(`${f}.stabilizationWindow`, r.stabilizationWindow, 0, 3600);
    if (r.policies !== undefined && (!Array.isArray(r.policies) || !r.policies.length)) {
      throw new ValidationError(`${f}.policies`, r.policies, 'is empty; expected at least one policy, or leave it out for the default');
    }
    const policies = r.policies === undefined ? def.policies : r.policies.map((p, i) => {
      const pf = `${f}.policies[${i}]`;
      if (!Object.values(ScalingPolicyType).includes(p?.type)) throw new ValidationError(`${pf}.type`, p?.type, `is unknown; expected one of ${Object.values(ScalingPolicyType).join(', ')}`);
      return { type: p.type, value: checkInt(`${pf}.value`, p.value, 1, 1000), periodSeconds: wholeSeconds(`${pf}.period`, p.period, 1, 1800) };
    });
    if (r.selectPolicy !== undefined && !Object.values(SelectPolicy).includes(r.selectPolicy)) {
      throw new ValidationError(`${f}.selectPolicy`, r.selectPolicy, `is unknown; expected one of ${Object.values(SelectPolicy).join(', ')}`);
    }
    out[dir] = { stabilizationWindowSeconds: window, ...(r.selectPolicy ? { selectPolicy: r.selectPolicy } : {}), policies };
  }
  return out;
}


/** The chart values' schema of one metric target: its type and the field that type reads. */
function targetSchema(type: string, field: string, fieldSchema: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: ['type', field], properties: { type: { const: type }, [field]: fieldSchema } };
}
const UTILIZATION_TARGET = targetSchema('Utilization', 'averageUtilization', { type: 'integer', minimum: 10, maximum: 100 });
const AVERAGE_VALUE_TARGET = targetSchema('AverageValue', 'averageValue', QUANTITY_SCHEMA);
const VALUE_TARGET = targetSchema('Value', 'value', QUANTITY_SCHEMA);
const METRIC_IDENTIFIER = {
  type: 'object', additionalProperties: false, required: ['name'],
  properties: { name: { type: 'string', pattern: METRIC_NAME.source, maxLength: 253 }, selector: { type: 'object' } },
};

/** One metric source of the values schema: `{ type: <Type>, <key>: { ...source } }`. */
function metricSchema(type: string, key: string, source: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: ['type', key], properties: { type: { const: type }, [key]: source } };
}

/**
 * The chart values' schema of `taskManager.autoscaling.metrics`: HPA v2 MetricSpecs, with the
 * same limits as the definition's checks (utilization 10 to 100, positive quantities, a target on
 * every pods and external metric). ContainerResource and Object metrics (from a patch) pass as objects.
 */
export const METRICS_SCHEMA = {
  type: 'array', minItems: 1,
  items: {
    anyOf: [
      metricSchema('Resource', 'resource', {
        type: 'object', additionalProperties: false, required: ['name', 'target'],
        properties: { name: { enum: Object.values(MetricResource) }, target: { anyOf: [UTILIZATION_TARGET, AVERAGE_VALUE_TARGET] } },
      }),
      metricSchema('Pods', 'pods', { type: 'object', additionalProperties: false, required: ['metric', 'target'], properties: { metric: METRIC_IDENTIFIER, target: AVERAGE_VALUE_TARGET } }),
      metricSchema('External', 'external', { type: 'object', additionalProperties: false, required: ['metric', 'target'], properties: { metric: METRIC_IDENTIFIER, target: { anyOf: [VALUE_TARGET, AVERAGE_VALUE_TARGET] } } }),
      metricSchema('ContainerResource', 'containerResource', { type: 'object' }),
      metricSchema('Object', 'object', { type: 'object' }),
    ],
  },
};

const SCALING_RULES_SCHEMA = {
  type: 'object', additionalProperties: false,
  properties: {
    stabilizationWindowSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
    selectPolicy: { enum: Object.values(SelectPolicy) },
    policies: {
      type: 'array', minItems: 1,
      items: {
        type: 'object', additionalProperties: false, required: ['type', 'value', 'periodSeconds'],
        properties: { type: { enum: Object.values(ScalingPolicyType) }, value: { type: 'integer', minimum: 1, maximum: 1000 }, periodSeconds: { type: 'integer', minimum: 1, maximum: 1800 } },
      },
    },
  },
};

/** The chart values' schema of `taskManager.autoscaling.behavior` (HPA v2 behavior; {} for Kubernetes' defaults). */
export const BEHAVIOR_SCHEMA = { type: 'object', additionalProperties: false, properties: { scaleUp: SCALING_RULES_SCHEMA, scaleDown: SCALING_RULES_SCHEMA } };
