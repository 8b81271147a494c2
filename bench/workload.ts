/**
 * The platforms the benchmarks build.
 *
 * - `generatedPlatform(n)`: n jobs for the synthesis benchmark. Two thirds are application
 *   clusters (Flink 1.20 and 2.2 alternating, every fifth with high availability), one third
 *   session jobs on session clusters of ten jobs each; every cluster has monitoring (a
 *   PodMonitor, 14 alert rules; Grafana reads the platform's one dashboard), so every unit has
 *   a chart of about 20 templates.
 * - `examplePlatform(n)`: the five jobs of examples/platform.ts (three application clusters,
 *   two session jobs on a shared session cluster), repeated until there are n jobs, for the
 *   cost model: the same sizes, parallelism, HA, reactive scaling and state backends.
 */
import { App, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  DeliveryGuarantee, FieldType, FlinkPlatform, FlinkPlatformProps, FlinkSessionCluster, FlinkVersion, JobSource,
  LogPipeline, Sink, StateBackend, UpgradeMode,
} from '../lib';

const pipeline = (i: number) => JobSource.pipeline(new LogPipeline({
  source: { bootstrapServers: 'kafka:9092', topic: `logs.t${i % 50}`, groupId: `g${i}`, fields: { id: FieldType.STRING, service: FieldType.STRING, msg: FieldType.STRING } },
  filters: ['msg IS NOT NULL'],
  sinks: [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: `out.t${i}` }), Sink.fileSystem({ path: `s3://archive/t${i}`, partitionBy: ['dt'] })],
}));

/**
 * Adds the generated jobs to a platform (see the file comment). The first `changed` jobs get
 * parallelism 3 instead of 2 (an edit of that many jobs, for the incremental benchmark).
 */
export function addGeneratedJobs(p: FlinkPlatform, jobs: number, changed = 0): FlinkPlatform {
  let cluster: FlinkSessionCluster | undefined;
  for (let i = 0; i < jobs; i++) {
    const version = i % 2 ? FlinkVersion.V2_2 : FlinkVersion.V1_20;
    if (i % 3 === 2) {
      if (!cluster || i % 30 === 2) cluster = p.addSessionCluster(`session-${i}`, { flinkVersion: FlinkVersion.V1_20, taskManagerReplicas: 10, taskManagerSlots: 4 });
      p.addSessionJob(`job-${i}`, { cluster, job: pipeline(i), parallelism: i < changed ? 3 : 2, opsImage: 'ops:1.0.0' });
    } else {
      p.addApplication(`job-${i}`, { flinkVersion: version, image: `flink:${version}-java17`, job: pipeline(i), parallelism: i < changed ? 3 : 2, highAvailability: i % 5 === 0 });
    }
  }
  return p;
}

const GENERATED_PROPS: FlinkPlatformProps = { namespace: 'bench', storageBaseDirectory: 's3://bench/flink' };

/** n generated jobs, each unit its own App (what `cdk8s-flink synth` synthesizes); `props` change the platform's. */
export function generatedPlatform(jobs: number, changed = 0, props: FlinkPlatformProps = {}): FlinkPlatform {
  return addGeneratedJobs(new FlinkPlatform({ ...GENERATED_PROPS, ...props }), jobs, changed);
}

/** generatedPlatform(jobs, changed) from `"<jobs>,<changed>"`: how a synthesis worker thread loads the workload. */
export function generatedPlatformFromArg(arg: string): FlinkPlatform {
  const [jobs, changed] = arg.split(',').map(Number);
  return generatedPlatform(jobs, changed);
}

/** The same definitions, every unit a chart of one shared App (the layout FlinkPlatform avoids). */
export class OneAppPlatform extends FlinkPlatform {
  private shared?: App;

  constructor(private readonly outdir: string, props: FlinkPlatformProps) {
    super(props);
  }

  public get app(): App {
    return (this.shared ??= new App({ outdir: this.outdir }));
  }

  protected newApp(): App {
    return this.app;
  }
}

/** n generated jobs as charts of one App that writes to `outdir` on `app.synth()`. */
export function generatedOneApp(jobs: number, outdir: string): OneAppPlatform {
  return addGeneratedJobs(new OneAppPlatform(outdir, GENERATED_PROPS), jobs) as OneAppPlatform;
}

/** The number of release units (charts, Helm releases) of n generated jobs. */
export function generatedUnits(jobs: number): number {
  return generatedPlatform(jobs).releaseUnits.length;
}

// ---------------------------------------------------------------------------
// the examples, repeated

const APP_LOG = { id: FieldType.STRING, ts: FieldType.TIMESTAMP, service: FieldType.STRING, level: FieldType.STRING, message: FieldType.STRING };
const ACCESS_LOG = { ts: FieldType.TIMESTAMP, service: FieldType.STRING, status: FieldType.INT, latency_ms: FieldType.DOUBLE };
const KAFKA = 'logs-kafka-bootstrap.kafka.svc:9093';
const image = (v: FlinkVersion) => `registry.example.com/logs/flink-runtime:${v}-0.1.0`;
/** Session jobs per session cluster: the example's cluster (3 TaskManagers x 4 slots) holds six jobs of parallelism 2. */
export const EXAMPLE_JOBS_PER_SESSION_CLUSTER = 6;

/**
 * The example platform's jobs, in its order, repeated until there are n jobs: `access-logs`,
 * `audit-logs`, `log-enricher` (application clusters) and `error-logs`, `slow-requests`
 * (session jobs), with a suffix from the second round on. Session jobs fill session clusters
 * shaped like `shared-logs`, six jobs each. Pipelines are shortened; what the cost model reads
 * (versions, sizes, parallelism, slots, HA, reactive scaling, state backend) is the example's.
 */
export function examplePlatform(jobs: number): FlinkPlatform {
  const p = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform', storageBaseDirectory: 'hdfs://namenode.hadoop.svc:8020/flink' });
  const sfx = (round: number) => (round === 0 ? '' : `-${round}`);
  let cluster: FlinkSessionCluster | undefined;
  let onCluster = 0;
  let clusters = 0;
  const sessionCluster = () => {
    if (!cluster || onCluster === EXAMPLE_JOBS_PER_SESSION_CLUSTER) {
      cluster = p.addSessionCluster(`shared-logs${sfx(clusters++)}`, {
        flinkVersion: FlinkVersion.V1_20, image: image(FlinkVersion.V1_20), highAvailability: true,
        taskManagerReplicas: 3, taskManagerSlots: 4, taskManagerMemory: Size.gibibytes(4), taskManagerCpu: Cpu.units(2),
      });
      onCluster = 0;
    }
    onCluster++;
    return cluster;
  };
  const source = (topic: string, groupId: string, fields: Record<string, FieldType>) => ({ bootstrapServers: KAFKA, topic, groupId, fields });
  const make: ((s: string) => void)[] = [
    (s) => p.addApplication(`access-logs${s}`, {
      flinkVersion: FlinkVersion.V2_2, image: image(FlinkVersion.V2_2), parallelism: 4, taskManagerSlots: 2, checkpointing: true,
      job: JobSource.pipeline(new LogPipeline({ source: source('logs.access', `flink-access-logs${s}`, ACCESS_LOG), sinks: [Sink.fileSystem({ path: 'hdfs://namenode.hadoop.svc:8020/logs/access', partitionBy: ['dt', 'hr'] })] })),
    }),
    (s) => p.addApplication(`audit-logs${s}`, {
      flinkVersion: FlinkVersion.V1_20, image: image(FlinkVersion.V1_20), parallelism: 2, taskManagerSlots: 2, upgradeMode: UpgradeMode.SAVEPOINT,
      job: JobSource.pipeline(new LogPipeline({
        source: source('logs.audit', `flink-audit-logs${s}`, APP_LOG), filters: ['id IS NOT NULL'], countPerKey: { key: 'service' },
        sinks: [Sink.kafka({ bootstrapServers: KAFKA, topic: 'logs.audit.counted', deliveryGuarantee: DeliveryGuarantee.EXACTLY_ONCE })],
      })),
    }),
    (s) => p.addApplication(`log-enricher${s}`, {
      flinkVersion: FlinkVersion.V2_2, image: image(FlinkVersion.V2_2), highAvailability: true, reactive: true, reactiveMinTaskManagers: 2, reactiveMaxTaskManagers: 6,
      stateBackend: StateBackend.ROCKSDB, taskManagerMemory: Size.gibibytes(4), taskManagerCpu: Cpu.units(2), upgradeMode: UpgradeMode.LAST_STATE,
      job: JobSource.pipeline(new LogPipeline({ source: source('logs.app', `flink-log-enricher${s}`, APP_LOG), countPerKey: { key: 'service', as: 'service_events' }, sinks: [Sink.kafka({ bootstrapServers: KAFKA, topic: 'logs.enriched' })] })),
    }),
    (s) => p.addSessionJob(`error-logs${s}`, {
      cluster: sessionCluster(), opsImage: 'registry.example.com/logs/cdk8s-flink-ops:0.1.0', parallelism: 2,
      job: JobSource.pipeline(new LogPipeline({ source: source('logs.app', `flink-error-logs${s}`, APP_LOG), filters: ["level IN ('ERROR', 'FATAL')"], sinks: [Sink.elasticsearch({ hosts: ['https://logs-es-http.elastic.svc:9200'], index: 'logs-errors' })] })),
    }),
    (s) => p.addSessionJob(`slow-requests${s}`, {
      cluster: sessionCluster(), opsImage: 'registry.example.com/logs/cdk8s-flink-ops:0.1.0', parallelism: 2,
      job: JobSource.pipeline(new LogPipeline({ source: source('logs.access', `flink-slow-requests${s}`, ACCESS_LOG), filters: ['latency_ms > 1000'], sinks: [Sink.kafka({ bootstrapServers: KAFKA, topic: 'logs.slow-requests', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })] })),
    }),
  ];
  for (let i = 0; i < jobs; i++) make[i % make.length](sfx(Math.floor(i / make.length)));
  return p;
}

/**
 * The app module `cdk8s-flink plan --app` loads: the example jobs repeated to
 * BENCH_PLAN_JOBS jobs (see examplePlatform).
 */
export default function (): FlinkPlatform {
  const n = Number(process.env.BENCH_PLAN_JOBS);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_PLAN_JOBS: ${JSON.stringify(process.env.BENCH_PLAN_JOBS)} is invalid; expected a positive number of jobs`);
  return examplePlatform(n);
}
