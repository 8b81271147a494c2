import { createHash } from 'crypto';
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
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
import { currentDeferral, DeferralContext } from './synth/deferral';
import { serializeInputs, unchangedSince } from './synth/inputs';

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
 * A unit as the platform keeps it. Outside `cdk8s-flink synth` every unit is built when
 * declared (`built`) and the app sees its construct. During an incremental synthesis
 * (DeferralContext), the app sees a proxy of it instead: a unit whose inputs hash to what the
 * previous synthesis recorded is built only when something uses it, and any use by the app
 * (`touched`) makes its output depend on more than its inputs.
 */
interface UnitRecord {
  readonly name: string;
  readonly kind: UnitKind;
  built?: ReleaseUnit;
  /** Builds a deferred unit. */
  build?: () => ReleaseUnit;
  /** What the public API returns: the unit itself, or with deferral a view of it. */
  view: ReleaseUnit;
  /** With deferral: the inputs as declared (undefined when they cannot be written completely). */
  readonly inputs?: string;
  /** `inputs:<sha256 of the toolkit fingerprint and inputs>`. */
  readonly inputHash?: string;
  /** The inputs written again (at synthesis: unchanged since the declaration?). */
  readonly inputsNow?: () => string | undefined;
  /** Units whose constructs its inputs refer to (a session job's cluster). */
  readonly deps: UnitRecord[];
  touched: boolean;
  /** Its construct was built at some point (it may have been let go of since: see _release). */
  wasBuilt: boolean;
  claims: Claim[];
  /** A deferred unit's object count, as recorded. */
  recordedObjects?: number;
}

/** One unit as synthesis sees it. @internal */
export interface SynthesisUnit {
  readonly name: string;
  readonly kind: UnitKind;
  /**
   * The hash of the unit's inputs, when its output provably depends on nothing else: its
   * inputs could be written completely and did not change after its declaration, neither it nor
   * a unit it refers to was used by the app after its declaration, and no library was patched.
   * Otherwise undefined: hash its synthesized objects.
   */
  readonly inputHash?: string;
  /** Its claims (see FlinkPlatform.checkClaims), to record with the inputHash. */
  readonly claims: readonly unknown[];
  /** A deferred unit's object count, as the previous synthesis recorded it. */
  readonly recordedObjects?: number;
  /** The unit, built now if it was deferred. */
  unit(): ReleaseUnit;
}

/**
 * How many new units a synthesis holds as built from their declaration; beyond, a unit is built
 * again when written. Building again costs about 0.5 ms of CPU per unit; holding costs about
 * 55 KB of live heap per unit, which the garbage collector walks again and again and lets grow
 * several times over (5000 generated jobs: peak 0.70 GiB instead of 1.9-2.0 GiB, at 0.96-1.11
 * of the wall time; held all, 1000 jobs keep their speed). `CDK8S_FLINK_TEST_HELD_UNITS` sets
 * it for tests.
 */
const HELD_UNITS = 1000;
const heldUnits = () => Number(process.env.CDK8S_FLINK_TEST_HELD_UNITS || HELD_UNITS);

/** A deferred unit was changed after its declaration: it cannot be built as declared. */
export class DeferredUnitChangedError extends Error {}

/**
 * A platform of Flink jobs: the registry the CLI synthesizes. Each application, session
 * cluster and session job is its own cdk8s App and Chart (one release unit), which keeps
 * synthesis linear in the number of jobs; cdk8s' whole-App work per chart makes one App
 * with thousands of charts quadratic.
 */
export class FlinkPlatform {
  private readonly units = new Map<string, UnitRecord>();
  /** What the units use that no other may use in the same place (see checkClaims). */
  private readonly claims = new Map<string, Claim[]>();
  /** Units built when declared and held since (see declare). */
  private held = 0;
  /** With deferral: the unit behind each proxy the app was given. */
  private readonly proxies = new WeakMap<object, UnitRecord>();
  private readonly deferral?: DeferralContext;

  /** The platform dashboard's unit, unless monitoring or the dashboard is off. */
  public readonly dashboardUnit?: DashboardUnit;

  constructor(public readonly props: FlinkPlatformProps = {}) {
    if (props.namespace !== undefined) checkName('namespace', props.namespace, 63);
    if (props.storageBaseDirectory !== undefined) checkUri('storageBaseDirectory', props.storageBaseDirectory);
    if (props.imageRegistry !== undefined) checkRegistry(props.imageRegistry);
    // A subclass may build units differently (newApp): its units are always built and hashed by their objects.
    if (new.target === FlinkPlatform) this.deferral = currentDeferral();
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
    return this.declare(name, 'application', props, (chart, p) => {
      const withOps = { ...p, ...(p.opsImage === undefined && this.opsImage ? { opsImage: this.opsImage } : {}) };
      return this.monitor(chart, new FlinkApplication(chart, name, this.clusterProps(name, withOps)));
    });
  }

  /** Declares a session cluster that session jobs can run on. */
  public addSessionCluster(name: string, props: FlinkSessionClusterProps = {}): FlinkSessionCluster {
    return this.declare(name, 'session-cluster', props, (chart, p) => {
      const pool = p.taskManagerPool && p.taskManagerPool.opsImage === undefined && this.opsImage ? { taskManagerPool: { ...p.taskManagerPool, opsImage: this.opsImage } } : {};
      return this.monitor(chart, new FlinkSessionCluster(chart, name, this.clusterProps(name, { ...p, ...pool })));
    });
  }

  /** Declares a job that runs on a session cluster. */
  public addSessionJob(name: string, props: FlinkSessionJobProps): FlinkSessionJob {
    return this.declare(name, 'session-job', props, (chart, p) => {
      const ops = p.opsImage === undefined && this.opsImage ? { opsImage: this.opsImage } : {};
      const cluster = this.proxies.get(p.cluster);
      return new FlinkSessionJob(chart, name, { partOf: this.props.partOf, ...p, ...(cluster ? { cluster: this.built(cluster).construct as FlinkSessionCluster } : {}), ...ops, name });
    });
  }

  /** Every release unit, in declaration order. */
  public get releaseUnits(): ReleaseUnit[] {
    return [...this.units.values()].map((u) => u.view);
  }

  public unit(name: string): ReleaseUnit | undefined {
    return this.units.get(name)?.view;
  }

  /** The units whose constructs exist (built when declared, or since). @internal */
  public _builtUnits(): string[] {
    return [...this.units.values()].filter((r) => r.wasBuilt).map((r) => r.name);
  }

  /**
   * Synthesis wrote the unit, whose output provably depends on its inputs alone (see
   * SynthesisUnit.inputHash): let go of its construct, so that a synthesis holds a few units'
   * constructs at a time. Building it again (a later use) gives the same objects. @internal
   */
  public _release(name: string): void {
    const r = this.units.get(name);
    if (r?.build && !r.touched) r.built = undefined;
  }

  /**
   * The units to synthesize (all, or those named), for synthesizeInto. Throws
   * DeferredUnitChangedError when a deferred unit cannot be built as it was declared. @internal
   */
  public _synthesisUnits(only?: string[]): SynthesisUnit[] | undefined {
    const records = only ? only.map((n) => this.units.get(n)) : [...this.units.values()];
    if (records.some((r) => !r)) return undefined;
    const apiUnchanged = this.deferral !== undefined && unchangedSince(this.deferral.snapshot);
    const pure = new Map<UnitRecord, boolean>();
    const isPure = (r: UnitRecord): boolean => {
      let p = pure.get(r);
      if (p === undefined) {
        p = apiUnchanged && r.inputHash !== undefined && !r.touched && r.inputsNow!() === r.inputs && r.deps.every(isPure);
        pure.set(r, p);
      }
      return p;
    };
    return (records as UnitRecord[]).map((r) => {
      const provable = isPure(r);
      if (!provable && !r.built) {
        throw new DeferredUnitChangedError(`${r.name}: its definition or a library it uses changed after it was declared, so it cannot be built as declared`);
      }
      return { name: r.name, kind: r.kind, inputHash: provable ? r.inputHash : undefined, claims: r.claims, recordedObjects: r.recordedObjects, unit: () => this.built(r) };
    });
  }

  /**
   * Checks across units that no single construct can see: returns problems as one-line
   * messages (the CLI's `validate` reports them and exits 2).
   */
  public crossCheck(): string[] {
    const problems: string[] = [];
    const byCluster = new Map<string, { slots: number; used: number; jobs: string[] }>();
    const units = new Map([...this.units.values()].map((r) => [r.name, this.built(r)]));
    for (const u of units.values()) {
      if (u.construct instanceof FlinkSessionJob) {
        const c = u.construct.cluster;
        const local = units.get(c.name);
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

  private checkNewName(name: string): void {
    checkName('job name', name, MAX_NAME_LENGTH);
    if (name === this.dashboardUnit?.name) {
      throw new ValidationError('job name', name, 'is the name of the platform dashboard\'s unit; expected another name, or dashboard.name set to another');
    }
    if (this.units.has(name)) {
      throw new ValidationError('job name', name, `is declared twice (as ${this.units.get(name)!.kind} and again); expected unique names across applications, session clusters and session jobs`);
    }
  }

  /**
   * The App of a new unit's chart: a new one per unit, so each synthesizes alone. (The
   * benchmark overrides it to put every chart in one App, the layout this class avoids.)
   */
  protected newApp(): App {
    return new App();
  }

  /**
   * Declares a unit: builds it (its chart and construct, `make`) and checks its claims. With
   * deferral, a unit whose inputs hash to what the previous synthesis recorded is built only
   * when used, and the claims recorded then stand for it; the app gets a proxy either way.
   */
  private declare<T extends ReleaseUnit['construct'], P extends object>(name: string, kind: UnitKind, props: P, make: (chart: Chart, props: P) => T): T {
    this.checkNewName(name);
    const build = (): ReleaseUnit => {
      const chart = new Chart(this.newApp(), name, { disableResourceNameHashes: true });
      return { name, kind, chart, construct: make(chart, props) };
    };
    const d = this.deferral;
    if (!d) {
      const unit = build();
      const claims = claimsOf(name, unit.construct);
      this.checkClaims(name, claims);
      this.units.set(name, { name, kind, built: unit, view: unit, deps: [], touched: false, wasBuilt: true, claims });
      return unit.construct as T;
    }
    const deps: UnitRecord[] = [];
    // Everything the unit is made from: the platform's props, its own, its kind and name (the
    // toolkit's code and the project's lock are in the fingerprint).
    const write = (into: UnitRecord[]) => serializeInputs([kind, name, this.props, props], (o) => this.inputRef(o, into));
    const inputs = write(deps);
    const inputHash = inputs === undefined ? undefined : `inputs:${createHash('sha256').update(`${d.toolkit}\n${inputs}`).digest('hex')}`;
    const previous = inputHash === undefined ? undefined : d.previous.get(name);
    const record: UnitRecord = { name, kind, inputs, inputHash, inputsNow: () => write([]), deps, touched: false, wasBuilt: false, claims: [], view: undefined as unknown as ReleaseUnit };
    if (previous && previous.hash === inputHash) {
      record.build = build;
      record.claims = previous.claims as Claim[];
      record.recordedObjects = previous.objects;
    } else {
      const unit = build();
      record.wasBuilt = true;
      record.claims = claimsOf(name, unit.construct);
      // Complete inputs: it can be built again as declared (as an unchanged unit is). Beyond the
      // first HELD_UNITS such units, one is let go of once its claims are known and built again
      // when synthesized, so that memory stops growing with the declared units' constructs.
      if (inputHash !== undefined) record.build = build;
      if (inputHash === undefined || this.held++ < heldUnits()) record.built = unit;
    }
    this.checkClaims(name, record.claims);
    const proxy = this.proxy(record);
    record.view = {
      name, kind, construct: proxy as T,
      get chart() {
        return use().chart;
      },
    };
    const use = () => {
      this.touch(record);
      return this.built(record);
    };
    this.units.set(name, record);
    return proxy as T;
  }

  /** How a unit's inputs refer to an object: another unit (by its input hash), or unknown (false) for any other construct. */
  private inputRef(o: object, deps: UnitRecord[]): string | false | undefined {
    const r = this.proxies.get(o);
    if (r) {
      if (r.inputHash === undefined) return false;
      deps.push(r);
      return `unit ${r.name} ${r.inputHash}`;
    }
    return Construct.isConstruct(o) ? false : undefined;
  }

  /** The unit, built if it was deferred (without counting as a use by the app). */
  private built(r: UnitRecord): ReleaseUnit {
    if (!r.built) {
      r.built = r.build!();
      r.wasBuilt = true;
    }
    return r.built;
  }

  /** The app used the unit: its output may now depend on anything (also that of units it refers to). */
  private touch(r: UnitRecord): void {
    if (r.touched) return;
    r.touched = true;
    r.deps.forEach((d) => this.touch(d));
  }

  /**
   * What the app holds instead of a unit's construct while synthesis defers units: the
   * construct itself to every use (built on the first), each use marking the unit as touched.
   * Methods are bound to the construct.
   */
  private proxy(r: UnitRecord): object {
    const real = () => {
      this.touch(r);
      return this.built(r).construct;
    };
    const bound = new Map<PropertyKey, [(...a: unknown[]) => unknown, (...a: unknown[]) => unknown]>();
    const proxy = new Proxy({}, {
      get: (_t, key) => {
        const c = real();
        const v = Reflect.get(c, key, c);
        if (typeof v !== 'function') return v;
        const b = bound.get(key);
        if (b && b[0] === v) return b[1];
        const f = v.bind(c);
        bound.set(key, [v, f]);
        return f;
      },
      set: (_t, key, v) => Reflect.set(real(), key, v),
      has: (_t, key) => Reflect.has(real(), key),
      ownKeys: () => Reflect.ownKeys(real()),
      getOwnPropertyDescriptor: (_t, key) => {
        const desc = Reflect.getOwnPropertyDescriptor(real(), key);
        return desc && { ...desc, configurable: true };
      },
      defineProperty: (_t, key, desc) => Reflect.defineProperty(real(), key, desc),
      deleteProperty: (_t, key) => Reflect.deleteProperty(real(), key),
      getPrototypeOf: () => Reflect.getPrototypeOf(real()),
      setPrototypeOf: (_t, proto) => Reflect.setPrototypeOf(real(), proto),
    });
    this.proxies.set(proxy, r);
    return proxy;
  }

  /**
   * Refuses a unit that uses what another unit of the platform (or another part of itself)
   * already uses where sharing breaks jobs: a Kubernetes HA cluster id in one namespace, an
   * exactly-once sink's transactional-id prefix or a consumer group on the same brokers. A
   * consumer group may be shared when both jobs name each other in `sharedGroupWith`.
   */
  private checkClaims(name: string, claims: readonly Claim[]): void {
    // Indexed by kind, value and place, so declaring n jobs stays linear.
    const added = new Map<string, Claim[]>();
    for (const c of claims) {
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
