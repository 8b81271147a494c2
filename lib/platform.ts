import { App, Chart } from 'cdk8s';
import { FlinkApplication, FlinkApplicationProps } from './application';
import { FlinkClusterProps, MAX_NAME_LENGTH } from './cluster/flink-cluster';
import { FlinkMonitoring, FlinkMonitoringProps } from './monitoring/flink-monitoring';
import { FlinkPlatformDashboard, FlinkPlatformDashboardProps } from './monitoring/platform-dashboard';
import { KafkaClaim } from './pipeline/pipeline';
import { envReferences } from './pipeline/sql-check';
import { TOOLKIT_ENV } from './job-source';
import { checkName, checkUri, ValidationError } from './errors';
import { FlinkSessionCluster, FlinkSessionClusterProps, FlinkSessionJob, FlinkSessionJobProps } from './session';
import { FlinkVersion } from './config/flink-version';
import { RuntimeImage } from './runtime-image';
import { PACKAGE_VERSION } from './version';

/**
 * An image registry with its path, as the first part of an image reference: a host with a dot
 * or a port (or `localhost`), then optional path components.
 */
function checkRegistry(value: string): string {
  if (typeof value !== 'string' || !/^(localhost|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:[0-9]+|localhost:[0-9]+)(\/[a-z0-9]+([._-][a-z0-9]+)*)*\/?$/.test(value)) {
    throw new ValidationError('imageRegistry', value, 'is not a registry with an optional path; expected a host with a dot or a port, such as "registry.example.com/logs" or "localhost:5000"');
  }
  return value;
}

export interface FlinkPlatformProps {
  /** The namespace of every object. @default - none: the namespace `kubectl` or `helm` is told */
  readonly namespace?: string;
  /** Written to `app.kubernetes.io/part-of` on every object. @default 'flink' */
  readonly partOf?: string;
  /**
   * A durable base URI under which each cluster gets `<name>/checkpoints`, `<name>/savepoints`
   * and (with HA) `<name>/ha`, unless it sets its own directories.
   * @default - none: each cluster sets its directories
   */
  readonly storageBaseDirectory?: string;
  /** Props every application and session cluster starts from; a cluster's own props win. @default - none */
  readonly defaults?: Omit<FlinkClusterProps, 'name'>;
  /**
   * Prometheus wiring (monitor, alert rules) for every application and session cluster, or false
   * for none (and no platform dashboard). A cluster with `metrics: false` gets none. Grafana
   * reads the platform's one dashboard (`dashboard`); `dashboard: true` here adds a dashboard
   * of its own to each cluster's unit as well.
   * @default - on, with FlinkMonitoring's defaults (a PodMonitor, alerts) but no per-cluster dashboard
   */
  readonly monitoring?: Omit<FlinkMonitoringProps, 'cluster'> | false;
  /**
   * The platform's Grafana dashboard: one ConfigMap for the Grafana sidecar whose variables pick
   * the namespace, cluster and job, in a release unit of its own (`dist/<name>/`,
   * `charts/<name>/`), or false for none.
   * @default - on when `monitoring` is, named `<partOf>-dashboards`
   */
  readonly dashboard?: PlatformDashboardProps | false;
  /**
   * The registry (and path) every release's images come from, e.g. `registry.example.com/logs`:
   * a cluster without its own `image` runs `<imageRegistry>/flink-runtime:<Flink version>-<toolkit
   * version>` (the runtime image of runtime/, as a RuntimeImage that says what it serves), and the
   * hooks, `helm test` and session-job submitters run `<imageRegistry>/cdk8s-flink-ops:<toolkit
   * version>`, unless a job sets its own `opsImage`. Push the images built from runtime/ there.
   * @default - none: each cluster's `image` (else the official Flink image) and `opsImage`
   * (else `cdk8s-flink-ops:<version>`, which no cluster can pull until it is pushed and named)
   */
  readonly imageRegistry?: string;
}

/** A resource a unit uses that no other unit may use in the same place. */
interface Claim {
  readonly unit: string;
  readonly kind: 'HA cluster id' | KafkaClaim['kind'];
  readonly field: string;
  readonly value: string;
  /** Where the value must be unique: "in namespace x", "on broker host:port". */
  readonly places: string[];
  readonly sharedWith: string[];
}

const COLLISION_HARM: Record<Claim['kind'], string> = {
  'HA cluster id': 'clusters with one id share leader election and job graphs',
  'consumer group': 'jobs committing offsets to one group overwrite each other\'s positions',
  'transactional-id prefix': 'exactly-once producers with one prefix fence each other\'s transactions',
};

function claimsOf(unit: string, c: ReleaseUnit['construct']): Claim[] {
  const out: Claim[] = [];
  if ((c instanceof FlinkApplication || c instanceof FlinkSessionCluster) && c.highAvailability) {
    out.push({
      unit, kind: 'HA cluster id', field: 'highAvailabilityClusterId', value: String(c.configuration.get('kubernetes.cluster-id')),
      places: [c.namespace ? `in namespace ${c.namespace}` : 'in the release namespace'], sharedWith: [],
    });
  }
  const pipeline = c instanceof FlinkSessionCluster ? undefined : c.job.pipeline;
  for (const k of pipeline?._kafkaClaims(unit) ?? []) {
    out.push({ unit, kind: k.kind, field: k.field, value: k.value, places: k.brokers.map((b) => `on broker ${b}`), sharedWith: k.sharedWith });
  }
  return out;
}

/** The platform dashboard's settings (FlinkPlatformDashboard's, its name and namespace from the platform by default). */
export interface PlatformDashboardProps extends Omit<FlinkPlatformDashboardProps, 'name' | 'namespace' | 'partOf'> {
  /** The unit's name: its folders, chart, Helm release and ConfigMap. @default - `<partOf>-dashboards` */
  readonly name?: string;
}

/** The platform dashboard's release unit: one chart, one `dist/<name>/` folder, one Helm release. */
export interface DashboardUnit {
  readonly name: string;
  readonly chart: Chart;
  readonly construct: FlinkPlatformDashboard;
}

/** What one release unit is: one chart, one `dist/<name>/` folder, one Helm release. */
export type UnitKind = 'application' | 'session-cluster' | 'session-job';

export interface ReleaseUnit {
  readonly name: string;
  readonly kind: UnitKind;
  readonly chart: Chart;
  readonly construct: FlinkApplication | FlinkSessionCluster | FlinkSessionJob;
}

/**
 * A platform of Flink jobs: the registry the CLI synthesizes. Each application, session
 * cluster and session job is its own cdk8s App and Chart (one release unit), which keeps
 * synthesis linear in the number of jobs; cdk8s' whole-App work per chart makes one App
 * with thousands of charts quadratic.
 */
export class FlinkPlatform {
  private readonly units = new Map<string, ReleaseUnit>();
  /** What the units use that no other may use in the same place (see checkCollisions). */
  private readonly claims = new Map<string, Claim[]>();

  /** The platform dashboard's unit, unless monitoring or the dashboard is off. */
  public readonly dashboardUnit?: DashboardUnit;

  constructor(public readonly props: FlinkPlatformProps = {}) {
    if (props.namespace !== undefined) checkName('namespace', props.namespace, 63);
    if (props.storageBaseDirectory !== undefined) checkUri('storageBaseDirectory', props.storageBaseDirectory);
    if (props.imageRegistry !== undefined) checkRegistry(props.imageRegistry);
    if (props.monitoring !== false && props.dashboard !== false) {
      const d = props.dashboard ?? {};
      const partOf = props.partOf ?? 'flink';
      const name = checkName('dashboard.name', d.name ?? `${partOf}-dashboards`, 53);
      // An App of its own also where newApp() is overridden: a subclass is not constructed yet.
      const chart = new Chart(new App(), name, { disableResourceNameHashes: true });
      const construct = new FlinkPlatformDashboard(chart, 'Dashboard', { ...d, name, namespace: props.namespace, partOf });
      this.dashboardUnit = { name, chart, construct };
    }
  }

  /** Declares a job in its own application cluster. */
  public addApplication(name: string, props: FlinkApplicationProps): FlinkApplication {
    const chart = this.newChart(name);
    const withOps = { ...props, ...(props.opsImage === undefined && this.opsImage ? { opsImage: this.opsImage } : {}) };
    return this.register(name, 'application', chart, this.monitor(chart, new FlinkApplication(chart, name, this.clusterProps(name, withOps))));
  }

  /** Declares a session cluster that session jobs can run on. */
  public addSessionCluster(name: string, props: FlinkSessionClusterProps = {}): FlinkSessionCluster {
    const chart = this.newChart(name);
    return this.register(name, 'session-cluster', chart, this.monitor(chart, new FlinkSessionCluster(chart, name, this.clusterProps(name, props))));
  }

  /** Declares a job that runs on a session cluster. */
  public addSessionJob(name: string, props: FlinkSessionJobProps): FlinkSessionJob {
    const chart = this.newChart(name);
    const ops = props.opsImage === undefined && this.opsImage ? { opsImage: this.opsImage } : {};
    return this.register(name, 'session-job', chart, new FlinkSessionJob(chart, name, { partOf: this.props.partOf, ...props, ...ops, name }));
  }

  /** Every release unit, in declaration order. */
  public get releaseUnits(): ReleaseUnit[] {
    return [...this.units.values()];
  }

  public unit(name: string): ReleaseUnit | undefined {
    return this.units.get(name);
  }

  /**
   * Checks across units that no single construct can see: returns problems as one-line
   * messages (the CLI's `validate` reports them and exits 2).
   */
  public crossCheck(): string[] {
    const problems: string[] = [];
    const byCluster = new Map<string, { slots: number; used: number; jobs: string[] }>();
    for (const u of this.units.values()) {
      if (u.construct instanceof FlinkSessionJob) {
        const c = u.construct.cluster;
        const local = this.units.get(c.name);
        if (!local || !(local.construct instanceof FlinkSessionCluster)) {
          problems.push(`session job "${u.name}": cluster "${c.name}" is not a session cluster of this platform; its slots and version cannot be checked here`);
          continue;
        }
        if (local.construct.version.toString() !== u.construct.cluster.version.toString()) {
          problems.push(`session job "${u.name}": built for Flink ${u.construct.cluster.version} but cluster "${c.name}" runs ${local.construct.version}`);
        }
        const clusterEnv = local.construct.envNames;
        const missing = [...Object.keys(u.construct.boundJob.env), ...envReferences(u.construct.boundJob.sqlScript ?? '')]
          .filter((k, i, all) => !clusterEnv.includes(k) && !TOOLKIT_ENV.includes(k) && all.indexOf(k) === i);
        if (missing.length) {
          problems.push(`session job "${u.name}": its pipeline reads ${missing.join(', ')} from the environment, which cluster "${c.name}" does not set; add them to the cluster's env (from the same Secrets)`);
        }
        const clusterVolumes = local.construct.volumeNames;
        for (const v of u.construct.boundJob.volumes.filter((x) => !clusterVolumes.includes(x.name))) {
          problems.push(`session job "${u.name}": its pipeline reads ${v.mountPath}, which cluster "${c.name}" does not mount; add the pipeline's KafkaTls.volume() to the cluster's volumes`);
        }
        const e = byCluster.get(c.name) ?? { slots: local.construct.totalSlots, used: 0, jobs: [] };
        e.used += u.construct.parallelism;
        e.jobs.push(u.name);
        byCluster.set(c.name, e);
      }
    }
    for (const [name, e] of byCluster) {
      if (e.used > e.slots) {
        problems.push(`session cluster "${name}": its jobs (${e.jobs.join(', ')}) need ${e.used} slots but it has ${e.slots}; add TaskManagers or lower parallelism`);
      }
    }
    return problems;
  }

  /** The cluster's monitoring objects, in its chart (the id is fixed: it is part of generated names). */
  private monitor<C extends FlinkApplication | FlinkSessionCluster>(chart: Chart, cluster: C): C {
    if (this.props.monitoring !== false && cluster.metricsEnabled) {
      new FlinkMonitoring(chart, 'Monitoring', { dashboard: false, ...(this.props.monitoring ?? {}), cluster });
    }
    return cluster;
  }

  private newChart(name: string): Chart {
    checkName('job name', name, MAX_NAME_LENGTH);
    if (name === this.dashboardUnit?.name) {
      throw new ValidationError('job name', name, 'is the name of the platform dashboard\'s unit; expected another name, or dashboard.name set to another');
    }
    if (this.units.has(name)) {
      throw new ValidationError('job name', name, `is declared twice (as ${this.units.get(name)!.kind} and again); expected unique names across applications, session clusters and session jobs`);
    }
    return new Chart(this.newApp(), name, { disableResourceNameHashes: true });
  }

  /**
   * The App of a new unit's chart: a new one per unit, so each synthesizes alone. (The
   * benchmark overrides it to put every chart in one App, the layout this class avoids.)
   */
  protected newApp(): App {
    return new App();
  }

  private register<T extends ReleaseUnit['construct']>(name: string, kind: UnitKind, chart: Chart, construct: T): T {
    this.checkCollisions(name, construct);
    this.units.set(name, { name, kind, chart, construct });
    return construct;
  }

  /**
   * Refuses a unit that uses what another unit of the platform (or another part of itself)
   * already uses where sharing breaks jobs: a Kubernetes HA cluster id in one namespace, an
   * exactly-once sink's transactional-id prefix or a consumer group on the same brokers. A
   * consumer group may be shared when both jobs name each other in `sharedGroupWith`.
   */
  private checkCollisions(name: string, construct: ReleaseUnit['construct']): void {
    // Indexed by kind, value and place, so declaring n jobs stays linear.
    const added = new Map<string, Claim[]>();
    for (const c of claimsOf(name, construct)) {
      for (const place of c.places) {
        const key = JSON.stringify([c.kind, c.value, place]);
        const others = [...(this.claims.get(key) ?? []), ...(added.get(key) ?? [])];
        const other = others.find((o) => !(c.kind === 'consumer group' && o.unit !== name && c.sharedWith.includes(o.unit) && o.sharedWith.includes(name)));
        if (other) {
          const whose = other.unit === name ? `${other.field} of "${name}"` : `the ${other.kind} of "${other.unit}"`;
          throw new ValidationError(`${name}: ${c.field}`, c.value, `is also ${whose} ${place}; ${COLLISION_HARM[c.kind]}; expected ${c.kind === 'consumer group'
            ? `a distinct groupId, or sharedGroupWith: ["${other.unit}"] on "${name}" and ["${name}"] on "${other.unit}" to share it on purpose`
            : `a distinct ${c.kind === 'HA cluster id' ? 'highAvailabilityClusterId' : 'transactionalIdPrefix'}`}`);
        }
        added.set(key, [...(added.get(key) ?? []), c]);
      }
    }
    for (const [k, cs] of added) this.claims.set(k, [...(this.claims.get(k) ?? []), ...cs]);
  }

  /** The operations image of every job, from `imageRegistry`. */
  private get opsImage(): string | undefined {
    return this.props.imageRegistry ? `${this.props.imageRegistry.replace(/\/+$/, '')}/cdk8s-flink-ops:${PACKAGE_VERSION}` : undefined;
  }

  private clusterProps<P extends FlinkClusterProps>(name: string, props: P): P {
    const base = this.props.storageBaseDirectory?.replace(/\/+$/, '');
    const merged: P = { ...(this.props.defaults ?? {}), partOf: this.props.partOf, ...props, name } as P;
    if (merged.image === undefined && this.props.imageRegistry) {
      const version = merged.flinkVersion ?? FlinkVersion.V1_20;
      Object.assign(merged, { image: RuntimeImage.cdk8sFlink(`${this.props.imageRegistry.replace(/\/+$/, '')}/flink-runtime:${version}-${PACKAGE_VERSION}`, version) });
    }
    const dirs: Partial<FlinkClusterProps> = {
      ...(this.props.namespace !== undefined && merged.namespace === undefined ? { namespace: this.props.namespace } : {}),
    };
    if (base) {
      if (merged.checkpointDirectory === undefined && merged.checkpointing !== false) Object.assign(dirs, { checkpointDirectory: `${base}/${name}/checkpoints` });
      if (merged.savepointDirectory === undefined) Object.assign(dirs, { savepointDirectory: `${base}/${name}/savepoints` });
      if (merged.highAvailability && merged.highAvailabilityStorageDir === undefined) Object.assign(dirs, { highAvailabilityStorageDir: `${base}/${name}/ha` });
    }
    return { ...merged, ...dirs };
  }
}
