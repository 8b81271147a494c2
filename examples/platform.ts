/**
 * A log-processing platform modelled on a large messaging company's: access, application and
 * audit logs arrive in Kafka; Flink jobs archive them to HDFS, index errors in Elasticsearch
 * and publish enriched events back to Kafka.
 *
 * - access-logs   application cluster, Flink 2.2: access logs -> HDFS, partitioned by day and hour
 * - audit-logs    application cluster, Flink 1.20: audit events -> Kafka (exactly-once) + HDFS archive,
 *                 with a per-service running count (keyed state)
 * - log-enricher  application cluster, Flink 2.2, HA + reactive scaling, RocksDB: app logs enriched
 *                 with per-service counts -> Kafka (exactly-once)
 * - shared-logs   session cluster, Flink 1.20, HA, shared by:
 *   - error-logs      ERROR/FATAL app logs -> Elasticsearch, one document per log id (upserts)
 *   - slow-requests   access logs slower than 1 s -> Kafka
 */
import { Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  DeliveryGuarantee, EnvValue, FieldType, FlinkPlatform, FlinkPlatformProps, FlinkVersion, JobSource, KafkaCredentials,
  LogPipeline, Sink, StateBackend, UpgradeMode,
} from '../lib';

export interface LogPlatformOptions {
  /** Kafka bootstrap servers. */
  readonly kafkaBootstrap: string;
  /** SASL credentials (a Secret), or none for an unauthenticated listener. */
  readonly kafkaCredentials?: KafkaCredentials;
  /** Base URI of checkpoints, savepoints and HA metadata. */
  readonly stateBase: string;
  /** Base URI of the log archive. */
  readonly archiveBase: string;
  readonly elasticsearch: string;
  readonly namespace?: string;
  /**
   * Where the images built from runtime/ are pushed: every cluster runs
   * `<imageRegistry>/flink-runtime:<Flink version>-<toolkit version>` (checked at synth against
   * what its jobs use: storage schemes, connectors) and every hook, test pod and submitter
   * `<imageRegistry>/cdk8s-flink-ops:<toolkit version>`.
   */
  readonly imageRegistry: string;
  /** Monitoring settings for every cluster (FlinkPlatform's `monitoring`). */
  readonly monitoring?: FlinkPlatformProps['monitoring'];
}

export const PRODUCTION: LogPlatformOptions = {
  kafkaBootstrap: 'logs-kafka-bootstrap.kafka.svc:9093',
  kafkaCredentials: KafkaCredentials.scram('logs-kafka-flink'),
  stateBase: 'hdfs://namenode.hadoop.svc:8020/flink',
  archiveBase: 'hdfs://namenode.hadoop.svc:8020/logs',
  elasticsearch: 'https://logs-es-http.elastic.svc:9200',
  namespace: 'logs',
  imageRegistry: 'registry.example.com/logs',
};

const ACCESS_LOG = {
  ts: FieldType.TIMESTAMP,
  service: FieldType.STRING,
  host: FieldType.STRING,
  method: FieldType.STRING,
  path: FieldType.STRING,
  status: FieldType.INT,
  bytes: FieldType.BIGINT,
  latency_ms: FieldType.DOUBLE,
};

const APP_LOG = {
  id: FieldType.STRING,
  ts: FieldType.TIMESTAMP,
  service: FieldType.STRING,
  level: FieldType.STRING,
  message: FieldType.STRING,
};

export function buildLogPlatform(o: LogPlatformOptions): FlinkPlatform {
  const kafka = { bootstrapServers: o.kafkaBootstrap, credentials: o.kafkaCredentials };
  const platform = new FlinkPlatform({
    namespace: o.namespace,
    partOf: 'log-platform',
    storageBaseDirectory: o.stateBase,
    monitoring: o.monitoring,
    imageRegistry: o.imageRegistry,
  });

  platform.addApplication('access-logs', {
    flinkVersion: FlinkVersion.V2_2,
    job: JobSource.pipeline(new LogPipeline({
      source: { ...kafka, topic: 'logs.access', groupId: 'flink-access-logs', fields: ACCESS_LOG },
      sinks: [Sink.fileSystem({ path: `${o.archiveBase}/access`, partitionBy: ['dt', 'hr'] })],
    })),
    parallelism: 4,
    taskManagerSlots: 2,
    checkpointing: true,
  });

  platform.addApplication('audit-logs', {
    flinkVersion: FlinkVersion.V1_20,
    job: JobSource.pipeline(new LogPipeline({
      source: { ...kafka, topic: 'logs.audit', groupId: 'flink-audit-logs', fields: APP_LOG },
      filters: ['id IS NOT NULL'],
      countPerKey: { key: 'service' },
      sinks: [
        Sink.kafka({ ...kafka, topic: 'logs.audit.counted', deliveryGuarantee: DeliveryGuarantee.EXACTLY_ONCE }),
        Sink.fileSystem({ path: `${o.archiveBase}/audit`, partitionBy: ['dt'] }),
      ],
    })),
    parallelism: 2,
    taskManagerSlots: 2,
    upgradeMode: UpgradeMode.SAVEPOINT,
  });

  platform.addApplication('log-enricher', {
    flinkVersion: FlinkVersion.V2_2,
    job: JobSource.pipeline(new LogPipeline({
      source: { ...kafka, topic: 'logs.app', groupId: 'flink-log-enricher', fields: APP_LOG },
      derive: { severity: "CASE WHEN level IN ('ERROR', 'FATAL') THEN 'high' ELSE 'normal' END" },
      countPerKey: { key: 'service', as: 'service_events' },
      sinks: [Sink.kafka({ ...kafka, topic: 'logs.enriched' })],
    })),
    highAvailability: true,
    reactive: true,
    reactiveMinTaskManagers: 2,
    reactiveMaxTaskManagers: 6,
    stateBackend: StateBackend.ROCKSDB,
    taskManagerMemory: Size.gibibytes(4),
    taskManagerCpu: Cpu.units(2),
    upgradeMode: UpgradeMode.LAST_STATE,
  });

  const credentialsEnv: Record<string, EnvValue> = o.kafkaCredentials ? {
    KAFKA_SOURCE_USERNAME: EnvValue.fromSecret(o.kafkaCredentials.secretName, 'username'),
    KAFKA_SOURCE_PASSWORD: EnvValue.fromSecret(o.kafkaCredentials.secretName, 'password'),
    KAFKA_SINK_0_USERNAME: EnvValue.fromSecret(o.kafkaCredentials.secretName, 'username'),
    KAFKA_SINK_0_PASSWORD: EnvValue.fromSecret(o.kafkaCredentials.secretName, 'password'),
  } : {};
  const shared = platform.addSessionCluster('shared-logs', {
    flinkVersion: FlinkVersion.V1_20,
    highAvailability: true,
    taskManagerReplicas: 3,
    taskManagerSlots: 4,
    taskManagerMemory: Size.gibibytes(4),
    taskManagerCpu: Cpu.units(2),
    env: credentialsEnv,
  });

  platform.addSessionJob('error-logs', {
    cluster: shared,
    parallelism: 2,
    job: JobSource.pipeline(new LogPipeline({
      source: { ...kafka, topic: 'logs.app', groupId: 'flink-error-logs', fields: APP_LOG },
      filters: ["level IN ('ERROR', 'FATAL')"],
      sinks: [Sink.elasticsearch({ hosts: [o.elasticsearch], index: 'logs-errors', documentId: 'id' })],
    })),
  });

  platform.addSessionJob('slow-requests', {
    cluster: shared,
    parallelism: 2,
    job: JobSource.pipeline(new LogPipeline({
      source: { ...kafka, topic: 'logs.access', groupId: 'flink-slow-requests', fields: ACCESS_LOG },
      filters: ['latency_ms > 1000'],
      sinks: [Sink.kafka({ ...kafka, topic: 'logs.slow-requests', deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
    })),
  });

  return platform;
}
