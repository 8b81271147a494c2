import { Duration } from 'cdk8s';
import { FlinkApplication } from '../application';
import { FlinkCluster, PORTS } from '../cluster/flink-cluster';
import { flinkDurationMs } from '../config/flink-duration';
import { FlinkVersion } from '../config/flink-version';
import { checkInt, checkLabels, checkName, ValidationError } from '../errors';
import { FlinkSessionCluster } from '../session';

/** Whether the cluster runs one job (application mode) or many (session mode). */
export enum ClusterMode {
  /** One job per cluster: "no job running" is an alert; all slots busy is normal. */
  APPLICATION = 'application',
  /** Many jobs share the cluster: rules group by `job_name`; no free slot is an alert. */
  SESSION = 'session',
}

/** What monitoring needs to know about a Flink cluster. `MonitoringTarget.fromCluster()` builds it from the toolkit's clusters. */
export interface IMonitoringTarget {
  /** The cluster's name: the value of its pods' `app.kubernetes.io/instance` label, and the `flink_cluster` label of its series. */
  readonly name: string;
  /** The namespace of the cluster, which every rule and panel matches. @default - none: rules match the cluster name only */
  readonly namespace?: string;
  readonly version: FlinkVersion;
  /**
   * Labels that every pod of the cluster (JobManager and TaskManagers) carries and no other
   * pod does; the scrape selects pods by them.
   */
  readonly selectorLabels: Record<string, string>;
  readonly mode: ClusterMode;
  /** TaskManagers the cluster should have registered (the minimum, with an autoscaler). */
  readonly expectedTaskManagers: number;
  /**
   * The Flink job's name (its `pipeline.name`). In session mode it restricts the job rules
   * and the dashboard to that job; in application mode the cluster runs one job, so rules
   * match the cluster and this only preselects the dashboard's job variable.
   * @default - every job of the cluster
   */
  readonly jobName?: string;
  /** Whether the jobs checkpoint; without checkpointing the checkpoint alerts are left out. @default true */
  readonly checkpointing?: boolean;
  /** The checkpoint interval: the staleness alert allows 3 of them. @default Duration.minutes(1) */
  readonly checkpointInterval?: Duration;
  /** Whether the Prometheus reporter is on. @default true */
  readonly metricsEnabled?: boolean;
  /** The container port of the reporter, named `metrics`. @default 9249 */
  readonly metricsPort?: number;
  /** Written to `app.kubernetes.io/part-of`. @default 'flink' */
  readonly partOf?: string;
}

/** Builds monitoring targets from the toolkit's clusters. */
export class MonitoringTarget {
  /**
   * The target of a `FlinkApplication` (application mode, job name = cluster name) or a
   * `FlinkSessionCluster` (session mode, every job).
   */
  public static fromCluster(cluster: FlinkCluster): IMonitoringTarget {
    if (!(cluster instanceof FlinkCluster)) {
      throw new ValidationError('cluster', describeCluster(cluster), 'is not a Flink cluster; expected a FlinkApplication, a FlinkSessionCluster or an IMonitoringTarget');
    }
    const application = cluster instanceof FlinkApplication;
    const interval = cluster.configuration.get('execution.checkpointing.interval');
    return {
      name: cluster.name,
      namespace: cluster.namespace,
      version: cluster.version,
      selectorLabels: { 'app.kubernetes.io/name': cluster.name, 'app.kubernetes.io/instance': cluster.name },
      mode: application ? ClusterMode.APPLICATION : ClusterMode.SESSION,
      expectedTaskManagers: application || cluster instanceof FlinkSessionCluster ? (cluster as FlinkApplication | FlinkSessionCluster).taskManagerReplicas : 1,
      jobName: application ? cluster.name : undefined,
      checkpointing: interval !== undefined,
      checkpointInterval: interval !== undefined ? Duration.millis(parseFlinkDuration(String(interval))) : undefined,
      metricsEnabled: cluster.metricsEnabled,
      metricsPort: PORTS.metrics,
      partOf: cluster.partOf,
    };
  }
}

/** A target with its defaults filled in and checked. @internal */
export interface ResolvedTarget extends IMonitoringTarget {
  readonly checkpointing: boolean;
  readonly checkpointIntervalMs: number;
  readonly metricsPort: number;
  readonly partOf: string;
}

/** Checks a target and fills in its defaults. @internal */
export function resolveTarget(t: IMonitoringTarget): ResolvedTarget {
  if (t === null || typeof t !== 'object') {
    throw new ValidationError('cluster', t, 'is required; expected a FlinkApplication, FlinkSessionCluster or IMonitoringTarget (MonitoringTarget.fromCluster(cluster))');
  }
  if (t instanceof FlinkCluster) return resolveTarget(MonitoringTarget.fromCluster(t));
  checkName('cluster.name', t.name, 63);
  if (t.namespace !== undefined) checkName('cluster.namespace', t.namespace, 63);
  if (!(t.version instanceof FlinkVersion)) {
    throw new ValidationError('cluster.version', t.version, 'is invalid; expected a FlinkVersion such as FlinkVersion.V1_20');
  }
  if (!Object.values(ClusterMode).includes(t.mode)) {
    throw new ValidationError('cluster.mode', t.mode, `is unknown; expected one of ${Object.values(ClusterMode).join(', ')}`);
  }
  const sel = checkLabels('cluster.selectorLabels', t.selectorLabels);
  if (Object.keys(sel).length === 0) {
    throw new ValidationError('cluster.selectorLabels', t.selectorLabels, 'is empty; expected the labels every pod of the cluster carries, e.g. app.kubernetes.io/instance');
  }
  checkInt('cluster.expectedTaskManagers', t.expectedTaskManagers, 1, 10_000);
  if (t.jobName !== undefined && (typeof t.jobName !== 'string' || t.jobName.length === 0)) {
    throw new ValidationError('cluster.jobName', t.jobName, 'is invalid; expected the job\'s name (pipeline.name)');
  }
  if (t.metricsEnabled === false) {
    throw new ValidationError('cluster', t.name, 'has metrics turned off (metrics: false); expected a cluster with the Prometheus reporter, or no FlinkMonitoring');
  }
  let intervalMs = 60_000;
  if (t.checkpointInterval !== undefined) {
    if (!(t.checkpointInterval instanceof Duration) || !(t.checkpointInterval.toMilliseconds() > 0)) {
      throw new ValidationError('cluster.checkpointInterval', t.checkpointInterval, 'is invalid; expected a positive cdk8s Duration');
    }
    intervalMs = t.checkpointInterval.toMilliseconds();
  }
  return {
    ...t,
    selectorLabels: sel,
    checkpointing: t.checkpointing ?? true,
    checkpointIntervalMs: intervalMs,
    metricsPort: checkInt('cluster.metricsPort', t.metricsPort ?? PORTS.metrics, 1, 65535),
    partOf: t.partOf ?? 'flink',
  };
}

/** Milliseconds of a Flink duration string (`500ms`, `30s`, `10min`, `2h`, or bare ms). */
export function parseFlinkDuration(text: string): number {
  const ms = flinkDurationMs(text);
  if (ms === undefined) throw new ValidationError('execution.checkpointing.interval', text, 'is not a Flink duration; expected e.g. "60s" or "1min"');
  return ms;
}

function describeCluster(c: unknown): unknown {
  return c && typeof c === 'object' && 'name' in c ? (c as { name: unknown }).name : c;
}
