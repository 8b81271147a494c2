import { Duration } from 'cdk8s';
import { FlinkVersion } from '../config/flink-version';
import { durationMs } from '../config/units';
import { EnvValue, ExtraVolume } from '../cluster/options';
import { checkInt, checkObjectName, checkUri, hasUrlCredentials, redactUrl, ValidationError } from '../errors';
import { checkSqlExpression, SQL_RESERVED_COLUMNS } from './sql-check';
import { checkTls, KafkaConnection, kafkaSecurity, KafkaTls } from './kafka-security';

export { KAFKA_CA_DIR, KafkaConnection, KafkaCredentials, kafkaSecurity, KafkaTls } from './kafka-security';

/** SQL column types a log field can have. */
export enum FieldType {
  STRING = 'STRING',
  INT = 'INT',
  BIGINT = 'BIGINT',
  DOUBLE = 'DOUBLE',
  BOOLEAN = 'BOOLEAN',
  /** Millisecond timestamp, ISO-8601 local date-time text in JSON (`2026-11-22T10:15:30.123`). */
  TIMESTAMP = 'TIMESTAMP(3)',
}

export enum StartingOffsets {
  EARLIEST = 'earliest-offset',
  LATEST = 'latest-offset',
  /** Committed group offsets, falling back to earliest. */
  GROUP = 'group-offsets',
}

export interface KafkaSourceProps extends KafkaConnection {
  readonly topic: string;
  readonly groupId: string;
  /** The JSON fields read from each record (other fields are ignored). */
  readonly fields: Record<string, FieldType>;
  /** A TIMESTAMP field that drives event time and watermarks. @default - processing time */
  readonly eventTimeField?: string;
  /** How late records may arrive. @default Duration.seconds(5) */
  readonly maxOutOfOrderness?: Duration;
  /** @default StartingOffsets.GROUP */
  readonly startingOffsets?: StartingOffsets;
  /**
   * Other jobs of the platform that commit offsets to the same consumer group on the same
   * brokers on purpose (e.g. a replacement job taking over from the old one's offsets). Both
   * jobs must name each other; any other shared group is refused, since jobs committing to one
   * group overwrite each other's positions.
   * @default - none: the group is this job's alone
   */
  readonly sharedGroupWith?: string[];
}

/** A Kafka resource a job uses that no other job may use on the same brokers. @internal */
export interface KafkaClaim {
  readonly kind: 'consumer group' | 'transactional-id prefix';
  readonly field: string;
  readonly value: string;
  /** The brokers, as `host:port` in lower case. */
  readonly brokers: string[];
  /** Jobs this one declares it shares the resource with. */
  readonly sharedWith: string[];
}

export enum DeliveryGuarantee {
  EXACTLY_ONCE = 'exactly-once',
  AT_LEAST_ONCE = 'at-least-once',
}

export interface ElasticsearchSinkProps {
  /** `http(s)://host:port` URLs, without credentials. */
  readonly hosts: string[];
  readonly index: string;
  /** A Secret with `username` and `password` for basic authentication. @default - none */
  readonly credentialsSecret?: string;
  /**
   * The output column whose value is each document's `_id`: the sink table's
   * `PRIMARY KEY (...) NOT ENFORCED`, so the connector upserts by it and a record written again
   * after a restore replaces its own document. Records whose column is NULL are not written to
   * this sink (a document needs an id).
   * @default - none: the index assigns ids, and a record written again after a restore is a second document
   */
  readonly documentId?: string;
}

/** Where records go. */
export abstract class Sink {
  /** A Kafka topic, JSON records. Exactly-once uses Kafka transactions committed on checkpoints. */
  public static kafka(props: KafkaConnection & { readonly topic: string; readonly deliveryGuarantee?: DeliveryGuarantee; readonly transactionalIdPrefix?: string }): Sink {
    return new KafkaSink(props);
  }
  /** Files under a directory (`hdfs://`, `s3://`, `file://`), JSON lines, partitioned. Files are committed on checkpoints. */
  public static fileSystem(props: { readonly path: string; readonly partitionBy?: string[]; readonly rollInterval?: Duration }): Sink {
    return new FileSystemSink(props);
  }
  /**
   * An Elasticsearch 7 index. Writes are at-least-once: pending bulk requests are flushed on
   * every checkpoint, and the records after the last checkpoint are written again after a
   * restore. With `documentId` a replayed record updates its own document, so the index holds
   * each record once.
   */
  public static elasticsearch(props: ElasticsearchSinkProps): Sink {
    return new ElasticsearchSink(props);
  }
  /** @internal */
  public abstract _ddl(table: string, columns: string, ctx: RenderContext): string;
  /** @internal */
  public abstract _env(ctx: RenderContext): Record<string, EnvValue>;
  /** @internal */
  public abstract readonly _kind: string;
}

/** @internal */
export interface RenderContext {
  readonly name: string;
  readonly version: FlinkVersion;
  readonly index: number;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function checkTopic(field: string, t: unknown): string {
  if (typeof t !== 'string' || !TOPIC.test(t) || t === '.' || t === '..') {
    throw new ValidationError(field, t, 'is not a Kafka topic name; expected 1-249 characters of [A-Za-z0-9._-]');
  }
  return t;
}

function checkBootstrap(field: string, b: unknown): string {
  if (typeof b !== 'string' || !b.split(',').every((hp) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(hp.trim()))) {
    throw new ValidationError(field, b, 'is invalid; expected host:port[,host:port]');
  }
  return b;
}

/** The brokers of a bootstrap list, lower-cased `host:port`, for comparing clusters. */
export function brokerList(bootstrap: string): string[] {
  return bootstrap.split(',').map((b) => b.trim().toLowerCase()).filter(Boolean);
}

function withOptions(opts: Record<string, string>): string {
  return Object.entries(opts).map(([k, v]) => `  ${sqlString(k)} = ${sqlString(v)}`).join(',\n');
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(s: string): string {
  return `\`${s.replace(/`/g, '``')}\``;
}

class KafkaSink extends Sink {
  public readonly _kind = 'kafka';
  constructor(private readonly p: KafkaConnection & { topic: string; deliveryGuarantee?: DeliveryGuarantee; transactionalIdPrefix?: string }) {
    super();
    checkTopic('Sink.kafka topic', p.topic);
    checkBootstrap('Sink.kafka bootstrapServers', p.bootstrapServers);
    checkTls('Sink.kafka tls', p.tls);
    if (p.deliveryGuarantee !== undefined && !Object.values(DeliveryGuarantee).includes(p.deliveryGuarantee)) {
      throw new ValidationError('Sink.kafka deliveryGuarantee', p.deliveryGuarantee, `is unknown; expected one of ${Object.values(DeliveryGuarantee).join(', ')}`);
    }
    if (p.transactionalIdPrefix !== undefined) {
      if (p.deliveryGuarantee === DeliveryGuarantee.AT_LEAST_ONCE) {
        throw new ValidationError('Sink.kafka transactionalIdPrefix', p.transactionalIdPrefix, 'is set but deliveryGuarantee is at-least-once, which uses no transactions; remove it');
      }
      if (typeof p.transactionalIdPrefix !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(p.transactionalIdPrefix)) {
        throw new ValidationError('Sink.kafka transactionalIdPrefix', p.transactionalIdPrefix, 'is invalid; expected 1-200 characters of [A-Za-z0-9._-]');
      }
    }
  }
  public _ddl(table: string, columns: string, ctx: RenderContext): string {
    const eo = (this.p.deliveryGuarantee ?? DeliveryGuarantee.EXACTLY_ONCE) === DeliveryGuarantee.EXACTLY_ONCE;
    return `CREATE TABLE ${sqlIdent(table)} (\n${columns}\n) WITH (\n${withOptions({
      'connector': 'kafka',
      'topic': this.p.topic,
      'properties.bootstrap.servers': this.p.bootstrapServers,
      'format': 'json',
      'json.timestamp-format.standard': 'ISO-8601',
      'sink.delivery-guarantee': eo ? 'exactly-once' : 'at-least-once',
      ...(eo ? {
        'sink.transactional-id-prefix': this.transactionalIdPrefix(ctx.name, ctx.index)!,
        // Kafka brokers cap transactions at transaction.max.timeout.ms (15 min by default); Flink's default is 1 h.
        'properties.transaction.timeout.ms': '900000',
      } : {}),
      ...kafkaSecurity(this.p, `KAFKA_SINK_${ctx.index}`),
    })}\n);`;
  }
  public _env(ctx: RenderContext): Record<string, EnvValue> {
    return this.p.credentials ? this.p.credentials._env(`KAFKA_SINK_${ctx.index}`) : {};
  }
  /** The transactional-id prefix of an exactly-once sink of job `name`, else undefined. */
  public transactionalIdPrefix(name: string, index: number): string | undefined {
    const eo = (this.p.deliveryGuarantee ?? DeliveryGuarantee.EXACTLY_ONCE) === DeliveryGuarantee.EXACTLY_ONCE;
    return eo ? this.p.transactionalIdPrefix ?? `${name}-${index}` : undefined;
  }
  public get topic(): string {
    return this.p.topic;
  }
  public get brokers(): string[] {
    return brokerList(this.p.bootstrapServers);
  }
  public get tls(): KafkaTls | undefined {
    return this.p.tls;
  }
}

class FileSystemSink extends Sink {
  public readonly _kind = 'filesystem';
  constructor(private readonly p: { path: string; partitionBy?: string[]; rollInterval?: Duration }) {
    super();
    checkUri('Sink.fileSystem path', p.path);
    if (p.rollInterval !== undefined) {
      const ms = durationMs('Sink.fileSystem rollInterval', p.rollInterval);
      if (ms < 1000 || ms % 1000 !== 0) {
        throw new ValidationError('Sink.fileSystem rollInterval', p.rollInterval.toHumanString(), 'is invalid; expected a whole number of seconds, at least 1 (files roll at most once per check, every minute)');
      }
    }
    const parts = p.partitionBy ?? [];
    if (!Array.isArray(parts)) throw new ValidationError('Sink.fileSystem partitionBy', parts, 'is invalid; expected an array of column names');
    const dup = parts.find((c, i) => parts.indexOf(c) !== i);
    if (dup !== undefined) throw new ValidationError('Sink.fileSystem partitionBy', dup, 'is listed twice; expected each partition column once');
  }
  public _ddl(table: string, columns: string): string {
    const parts = this.p.partitionBy ?? [];
    return `CREATE TABLE ${sqlIdent(table)} (\n${columns}\n)${parts.length ? ` PARTITIONED BY (${parts.map(sqlIdent).join(', ')})` : ''} WITH (\n${withOptions({
      'connector': 'filesystem',
      'path': this.p.path,
      'format': 'json',
      'json.timestamp-format.standard': 'ISO-8601',
      'sink.rolling-policy.rollover-interval': `${Math.round(durationMs('Sink.fileSystem rollInterval', this.p.rollInterval ?? Duration.minutes(15)) / 1000)} s`,
      'sink.rolling-policy.check-interval': '1 min',
      ...(parts.length ? { 'sink.partition-commit.policy.kind': 'success-file', 'sink.partition-commit.trigger': 'process-time' } : {}),
    })}\n);`;
  }
  public _env(): Record<string, EnvValue> {
    return {};
  }
  public get partitionBy(): string[] {
    return this.p.partitionBy ?? [];
  }
}

class ElasticsearchSink extends Sink {
  public readonly _kind = 'elasticsearch';
  constructor(private readonly p: ElasticsearchSinkProps) {
    super();
    if (!Array.isArray(p.hosts) || p.hosts.length === 0 || !p.hosts.every((h) => /^https?:\/\/[^\s;]+$/.test(h))) {
      throw new ValidationError('Sink.elasticsearch hosts', p.hosts, 'is invalid; expected one or more http(s) URLs');
    }
    const withCredentials = p.hosts.find(hasUrlCredentials);
    if (withCredentials !== undefined) {
      throw new ValidationError('Sink.elasticsearch hosts', redactUrl(withCredentials), 'carries credentials in the URL, which would land in a ConfigMap; expected credentialsSecret naming a Secret with username and password');
    }
    if (typeof p.index !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(p.index)) {
      throw new ValidationError('Sink.elasticsearch index', p.index, 'is not an index name; expected lower-case letters, digits, ".", "_" or "-"');
    }
    if (p.credentialsSecret !== undefined) checkObjectName('Sink.elasticsearch credentialsSecret', p.credentialsSecret);
    if (p.documentId !== undefined && (typeof p.documentId !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.documentId))) {
      throw new ValidationError('Sink.elasticsearch documentId', p.documentId, 'is not a column name; expected letters, digits and _');
    }
  }
  public get documentId(): string | undefined {
    return this.p.documentId;
  }
  public _ddl(table: string, columns: string, ctx: RenderContext): string {
    const key = this.p.documentId ? `,\n  PRIMARY KEY (${sqlIdent(this.p.documentId)}) NOT ENFORCED` : '';
    return `CREATE TABLE ${sqlIdent(table)} (\n${columns}${key}\n) WITH (\n${withOptions({
      'connector': 'elasticsearch-7',
      'hosts': this.p.hosts.join(';'),
      'index': this.p.index,
      // flink-sql-connector-elasticsearch7 (3.0.1) registers the SinkFunction-based table factory
      // for 'elasticsearch-7', which refuses 'sink.delivery-guarantee'; this is its at-least-once.
      'sink.flush-on-checkpoint': 'true',
      ...(this.p.credentialsSecret ? { username: `\${env:ES_SINK_${ctx.index}_USERNAME}`, password: `\${env:ES_SINK_${ctx.index}_PASSWORD}` } : {}),
    })}\n);`;
  }
  public _env(ctx: RenderContext): Record<string, EnvValue> {
    return this.p.credentialsSecret ? {
      [`ES_SINK_${ctx.index}_USERNAME`]: EnvValue.fromSecret(this.p.credentialsSecret, 'username'),
      [`ES_SINK_${ctx.index}_PASSWORD`]: EnvValue.fromSecret(this.p.credentialsSecret, 'password'),
    } : {};
  }
}

/** A keyed, stateful enrichment: a running count of records per key, added as a column. */
export interface CountPerKey {
  /** The field to key by, e.g. `service`. */
  readonly key: string;
  /** The name of the added column. @default '<key>_count' */
  readonly as?: string;
}

export interface LogPipelineProps {
  readonly source: KafkaSourceProps;
  /** SQL boolean conditions on the source fields, all of which must hold, e.g. `level = 'ERROR'`. @default - none */
  readonly filters?: string[];
  /** Extra computed columns: name -> SQL expression over the source fields. @default - none */
  readonly derive?: Record<string, string>;
  /** Keyed running counts (exact under exactly-once checkpointing). @default - none */
  readonly countPerKey?: CountPerKey;
  /** At least one sink; every sink receives every record that passes. */
  readonly sinks: Sink[];
}

/**
 * A log pipeline: Kafka JSON records, filtered, enriched, written to one or more sinks.
 * Rendered to a Flink SQL script for the runtime's SQL runner; all sinks run in one job.
 */
export class LogPipeline {
  constructor(public readonly props: LogPipelineProps) {
    const s = props.source;
    if (!s) throw new ValidationError('pipeline.source', s, 'is required; expected a Kafka source');
    checkTopic('pipeline.source.topic', s.topic);
    checkBootstrap('pipeline.source.bootstrapServers', s.bootstrapServers);
    checkTls('pipeline.source.tls', s.tls);
    if (typeof s.groupId !== 'string' || s.groupId.length === 0) throw new ValidationError('pipeline.source.groupId', s.groupId, 'is required; expected a consumer group id');
    const fields = Object.entries(s.fields ?? {});
    if (fields.length === 0) throw new ValidationError('pipeline.source.fields', s.fields, 'is empty; expected at least one field, e.g. { message: FieldType.STRING }');
    for (const [f, t] of fields) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f)) throw new ValidationError('pipeline.source.fields key', f, 'is not a column name; expected letters, digits and _');
      if (!Object.values(FieldType).includes(t)) throw new ValidationError(`pipeline.source.fields.${f}`, t, `is unknown; expected one of ${Object.keys(FieldType).join(', ')}`);
    }
    if (s.eventTimeField !== undefined && s.fields[s.eventTimeField] !== FieldType.TIMESTAMP) {
      throw new ValidationError('pipeline.source.eventTimeField', s.eventTimeField, 'is not a TIMESTAMP field of the source');
    }
    if (s.maxOutOfOrderness !== undefined) durationMs('pipeline.source.maxOutOfOrderness', s.maxOutOfOrderness);
    if (s.startingOffsets !== undefined && !Object.values(StartingOffsets).includes(s.startingOffsets)) {
      throw new ValidationError('pipeline.source.startingOffsets', s.startingOffsets, `is not a Kafka startup mode; expected one of ${Object.values(StartingOffsets).join(', ')}`);
    }
    if (s.sharedGroupWith !== undefined && (!Array.isArray(s.sharedGroupWith) || !s.sharedGroupWith.every((j) => typeof j === 'string' && j.length > 0))) {
      throw new ValidationError('pipeline.source.sharedGroupWith', s.sharedGroupWith, 'is invalid; expected the names of the other jobs that share the consumer group');
    }
    if (props.countPerKey && !(props.countPerKey.key in s.fields)) {
      throw new ValidationError('pipeline.countPerKey.key', props.countPerKey.key, `is not a source field; expected one of ${Object.keys(s.fields).join(', ')}`);
    }
    for (const [name, expr] of Object.entries(props.derive ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ValidationError('pipeline.derive key', name, 'is not a column name; expected letters, digits and _');
      checkSqlExpression(`pipeline.derive.${name}`, expr, 'expression', s.fields);
    }
    (props.filters ?? []).forEach((f, i) => checkSqlExpression(`pipeline.filters[${i}]`, f, 'condition', s.fields));
    if (props.countPerKey?.as !== undefined && (typeof props.countPerKey.as !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(props.countPerKey.as))) {
      throw new ValidationError('pipeline.countPerKey.as', props.countPerKey.as, 'is not a column name; expected letters, digits and _');
    }
    // Output columns: unique, and none the generated SQL uses itself.
    const columns: [string, string][] = [
      ...Object.keys(s.fields).map((c): [string, string] => [c, 'pipeline.source.fields']),
      ...Object.keys(props.derive ?? {}).map((c): [string, string] => [c, 'pipeline.derive']),
      ...(props.countPerKey ? [[props.countPerKey.as ?? `${props.countPerKey.key}_count`, 'pipeline.countPerKey.as'] as [string, string]] : []),
    ];
    const seen = new Map<string, string>();
    for (const [c, field] of columns) {
      const where = field === 'pipeline.countPerKey.as' ? field : `${field} key`;
      if (seen.has(c)) {
        throw new ValidationError(where, c, `is already a column (from ${seen.get(c)}); expected unique output column names`);
      }
      if (props.countPerKey && SQL_RESERVED_COLUMNS.includes(c)) {
        throw new ValidationError(where, c, `is a column the generated SQL adds itself with countPerKey; expected a name other than ${SQL_RESERVED_COLUMNS.join(', ')}`);
      }
      seen.set(c, field);
    }
    if (!Array.isArray(props.sinks) || props.sinks.length === 0) throw new ValidationError('pipeline.sinks', props.sinks, 'is empty; expected at least one sink');
    checkInt('pipeline.sinks length', props.sinks.length, 1, 16);
    const cols = this.outputColumns().map(([c]) => c);
    for (const sink of props.sinks) {
      if (!(sink instanceof Sink)) throw new ValidationError('pipeline.sinks[]', sink, 'is invalid; expected Sink.kafka(...), Sink.fileSystem(...) or Sink.elasticsearch(...)');
      if (sink instanceof KafkaSink && sink.topic === s.topic && sink.brokers.some((b) => brokerList(s.bootstrapServers).includes(b))) {
        throw new ValidationError('Sink.kafka topic', sink.topic, `is the pipeline's source topic on the same brokers (${s.bootstrapServers}); every record written would be read again; expected another topic`);
      }
      if (sink instanceof ElasticsearchSink && sink.documentId !== undefined && !cols.includes(sink.documentId)) {
        throw new ValidationError('Sink.elasticsearch documentId', sink.documentId, `is not an output column; expected one of ${cols.join(', ')}`);
      }
      if (sink instanceof FileSystemSink) {
        for (const p of sink.partitionBy) {
          if (!cols.includes(p) && p !== 'dt' && p !== 'hr') {
            throw new ValidationError('Sink.fileSystem partitionBy', p, `is neither an output column (${cols.join(', ')}) nor a time partition (dt, hr)`);
          }
        }
      }
    }
  }

  /** Environment variables (from Secrets) the job's containers need. */
  public env(name: string, version: FlinkVersion): Record<string, EnvValue> {
    const src = this.props.source.credentials ? this.props.source.credentials._env('KAFKA_SOURCE') : {};
    return Object.assign(src, ...this.props.sinks.map((s, index) => s._env({ name, version, index })));
  }

  /** The read-only CA volumes the job's containers need, one per Secret and key. */
  public volumes(): ExtraVolume[] {
    const all = [this.props.source.tls, ...this.props.sinks.map((s) => (s instanceof KafkaSink ? s.tls : undefined))];
    const byName = new Map<string, KafkaTls>();
    for (const t of all) if (t) byName.set(t.volumeName, t);
    return [...byName.values()].map((t) => t.volume());
  }

  /** The consumer group and the transactional-id prefixes job `name` uses. @internal */
  public _kafkaClaims(name: string): KafkaClaim[] {
    const s = this.props.source;
    const claims: KafkaClaim[] = [{
      kind: 'consumer group', field: 'pipeline.source.groupId', value: s.groupId, brokers: brokerList(s.bootstrapServers), sharedWith: s.sharedGroupWith ?? [],
    }];
    this.props.sinks.forEach((sink, index) => {
      const prefix = sink instanceof KafkaSink ? sink.transactionalIdPrefix(name, index) : undefined;
      if (prefix !== undefined && sink instanceof KafkaSink) {
        claims.push({ kind: 'transactional-id prefix', field: `pipeline.sinks[${index}].transactionalIdPrefix`, value: prefix, brokers: sink.brokers, sharedWith: [] });
      }
    });
    return claims;
  }

  /** The output columns: the source fields, derived columns and the count. */
  public outputColumns(): [string, string][] {
    const s = this.props.source;
    const cols: [string, string][] = Object.entries(s.fields).map(([f, t]) => [f, t]);
    for (const name of Object.keys(this.props.derive ?? {})) cols.push([name, 'STRING']);
    if (this.props.countPerKey) cols.push([this.props.countPerKey.as ?? `${this.props.countPerKey.key}_count`, 'BIGINT']);
    return cols;
  }

  /** The Flink SQL script: source and sink tables, a view, one INSERT per sink (one job). */
  public toSql(name: string, version: FlinkVersion): string {
    const s = this.props.source;
    const srcCols = Object.entries(s.fields).map(([f, t]) => `  ${sqlIdent(f)} ${t}`);
    if (s.eventTimeField) {
      const lateMs = durationMs('pipeline.source.maxOutOfOrderness', s.maxOutOfOrderness ?? Duration.seconds(5));
      srcCols.push(`  WATERMARK FOR ${sqlIdent(s.eventTimeField)} AS ${sqlIdent(s.eventTimeField)} - INTERVAL '${(lateMs / 1000).toFixed(3)}' SECOND`);
    }
    const parts: string[] = [`-- ${name}: generated by cdk8s-flink for Flink ${version.line}`];
    parts.push(`CREATE TABLE ${sqlIdent('source')} (\n${srcCols.join(',\n')}\n) WITH (\n${withOptions({
      'connector': 'kafka',
      'topic': s.topic,
      'properties.bootstrap.servers': s.bootstrapServers,
      'properties.group.id': s.groupId,
      // Read only committed records from transactional producers upstream.
      'properties.isolation.level': 'read_committed',
      'scan.startup.mode': s.startingOffsets ?? StartingOffsets.GROUP,
      ...((s.startingOffsets ?? StartingOffsets.GROUP) === StartingOffsets.GROUP ? { 'properties.auto.offset.reset': 'earliest' } : {}),
      'format': 'json',
      'json.ignore-parse-errors': 'true',
      'json.timestamp-format.standard': 'ISO-8601',
      ...kafkaSecurity(s, 'KAFKA_SOURCE'),
    })}\n);`);
    const select: string[] = Object.keys(s.fields).map(sqlIdent);
    for (const [n, expr] of Object.entries(this.props.derive ?? {})) select.push(`CAST(${expr} AS STRING) AS ${sqlIdent(n)}`);
    const where = (this.props.filters ?? []).map((f) => `(${f})`).join(' AND ');
    parts.push(`CREATE TEMPORARY VIEW ${sqlIdent('filtered')} AS\nSELECT ${select.join(', ')}\nFROM ${sqlIdent('source')}${where ? `\nWHERE ${where}` : ''};`);
    let last = 'filtered';
    if (this.props.countPerKey) {
      const k = this.props.countPerKey;
      const as = k.as ?? `${k.key}_count`;
      // A keyed running count: an OVER aggregation per key, unbounded preceding, in arrival order.
      parts.push(`CREATE TEMPORARY VIEW ${sqlIdent('enriched')} AS\nSELECT *, COUNT(*) OVER (PARTITION BY ${sqlIdent(k.key)} ORDER BY ${sqlIdent('proc_time')} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${sqlIdent(as)}\nFROM (SELECT *, PROCTIME() AS ${sqlIdent('proc_time')} FROM ${sqlIdent('filtered')});`);
      last = 'enriched';
    }
    const cols = this.outputColumns();
    this.props.sinks.forEach((sink, index) => {
      const extra = sink instanceof FileSystemSink ? sink.partitionBy.filter((p) => !cols.some(([c]) => c === p)) : [];
      const columns = [...cols, ...extra.map((p) => [p, 'STRING'] as [string, string])].map(([c, t]) => `  ${sqlIdent(c)} ${t}`).join(',\n');
      parts.push(sink._ddl(`sink_${index}`, columns, { name, version, index }));
    });
    this.props.sinks.forEach((sink, index) => {
      const extra = sink instanceof FileSystemSink ? sink.partitionBy.filter((p) => !cols.some(([c]) => c === p)) : [];
      const proj = [...cols.map(([c]) => sqlIdent(c)), ...extra.map((p) => partitionExpr(p))].join(', ');
      // A document id column is the table's primary key, NOT NULL: a record without one is not written there.
      const keyed = sink instanceof ElasticsearchSink && sink.documentId !== undefined ? `\nWHERE ${sqlIdent(sink.documentId)} IS NOT NULL` : '';
      parts.push(`INSERT INTO ${sqlIdent(`sink_${index}`)}\nSELECT ${proj}\nFROM ${sqlIdent(last)}${keyed};`);
    });
    return parts.join('\n\n') + '\n';
  }
}

/** Time partitions computed at write time: `dt` (yyyy-MM-dd) and `hr` (HH). */
function partitionExpr(p: string): string {
  if (p === 'dt') return `DATE_FORMAT(LOCALTIMESTAMP, 'yyyy-MM-dd') AS ${sqlIdent(p)}`;
  if (p === 'hr') return `DATE_FORMAT(LOCALTIMESTAMP, 'HH') AS ${sqlIdent(p)}`;
  throw new ValidationError('Sink.fileSystem partitionBy', p, 'is neither an output column nor a time partition (dt, hr)');
}
