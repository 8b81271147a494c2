/**
 * The Elasticsearch sink's document ids: with `documentId` the sink table declares that column
 * as its primary key (the connector then upserts by it: a record written again after a restore
 * replaces its own document) and only records with an id are inserted; without it, the table has
 * no key (the index assigns ids). The example's error-logs job keys its documents by the log id.
 * Bad values are refused with one line. Rendering only (no Flink, no server).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FieldType, FlinkSessionJob, FlinkVersion, LogPipeline, Sink, ValidationError } from '../../lib';

const SOURCE = { bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g', fields: { id: FieldType.STRING, level: FieldType.STRING, n: FieldType.INT } };
const sql = (sink: Sink) => new LogPipeline({ source: SOURCE, filters: ["level = 'ERROR'"], sinks: [sink] }).toSql('errors', FlinkVersion.V1_20);
const statement = (script: string, start: string) => script.split('\n\n').map((s) => s.trim()).find((s) => s.startsWith(start)) ?? '';

test('Elasticsearch sink with documentId: the column is the primary key, and records without it are not inserted', () => {
  const script = sql(Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'logs-errors', documentId: 'id' }));
  assert.equal(statement(script, 'CREATE TABLE `sink_0`'), [
    'CREATE TABLE `sink_0` (',
    '  `id` STRING,',
    '  `level` STRING,',
    '  `n` INT,',
    '  PRIMARY KEY (`id`) NOT ENFORCED',
    ') WITH (',
    "  'connector' = 'elasticsearch-7',",
    "  'hosts' = 'http://es:9200',",
    "  'index' = 'logs-errors',",
    "  'sink.flush-on-checkpoint' = 'true'",
    ');',
  ].join('\n'));
  assert.equal(statement(script, 'INSERT INTO `sink_0`'), 'INSERT INTO `sink_0`\nSELECT `id`, `level`, `n`\nFROM `filtered`\nWHERE `id` IS NOT NULL;');
});

test('Elasticsearch sink without documentId: no key (the index assigns ids), every record inserted', () => {
  const script = sql(Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'logs-errors' }));
  assert.doesNotMatch(script, /PRIMARY KEY/);
  assert.equal(statement(script, 'INSERT INTO `sink_0`'), 'INSERT INTO `sink_0`\nSELECT `id`, `level`, `n`\nFROM `filtered`;');
});

test("the example's error-logs job keys its Elasticsearch documents by the log id", () => {
  const job = buildLogPlatform(PRODUCTION).unit('error-logs')!.construct as FlinkSessionJob;
  assert.match(job.boundJob.sqlScript!, /CREATE TABLE `sink_0` \([^;]*PRIMARY KEY \(`id`\) NOT ENFORCED\n\) WITH \(\n  'connector' = 'elasticsearch-7'/);
  assert.match(job.boundJob.sqlScript!, /INSERT INTO `sink_0`\nSELECT [^;]*\nWHERE `id` IS NOT NULL;/);
});

test('Elasticsearch documentId: a name that is not a column name, or not an output column, is refused with one line', () => {
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ValidationError, String(e));
      return (e as Error).message;
    }
    return assert.fail('not refused');
  };
  assert.equal(refusal(() => Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'e', documentId: 'id; DROP' })),
    'Sink.elasticsearch documentId: "id; DROP" is not a column name; expected letters, digits and _');
  assert.equal(refusal(() => sql(Sink.elasticsearch({ hosts: ['http://es:9200'], index: 'e', documentId: 'uuid' }))),
    'Sink.elasticsearch documentId: "uuid" is not an output column; expected one of id, level, n');
});
