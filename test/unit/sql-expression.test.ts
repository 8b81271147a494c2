import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FieldType, FlinkVersion, LogPipeline, Sink, ValidationError } from '../../lib';
import { checkSqlExpression } from '../../lib/pipeline/sql-check';
import { parseSqlExpression, SqlExpressionError } from '../../lib/pipeline/sql-expression';

const refusal = (text: string): SqlExpressionError => {
  try {
    parseSqlExpression(text);
  } catch (e) {
    if (e instanceof SqlExpressionError) return e;
    throw e;
  }
  throw new assert.AssertionError({ message: `${JSON.stringify(text)} was accepted` });
};

test('SQL expression parser: every construct of a filter or derived column parses, with the kind of value it yields', () => {
  const cases: [string, string][] = [
    ["level = 'ERROR'", 'condition'],
    ["msg = 'it''s'", 'condition'],
    ['status >= 500 AND NOT (latency_ms < 1.5e3 OR `bytes` IS NULL)', 'condition'],
    ['a IS NOT DISTINCT FROM b', 'condition'],
    ['a IS NOT TRUE', 'condition'],
    ['n NOT BETWEEN SYMMETRIC -1 AND +1', 'condition'],
    ["level NOT IN ('DEBUG', 'TRACE')", 'condition'],
    ["path LIKE '/api/!%%' ESCAPE '!'", 'condition'],
    ["path NOT SIMILAR TO '/(a|b)%'", 'condition'],
    ["ts > TIMESTAMP '2026-01-01 00:00:00' - INTERVAL '1 02:00:00' DAY TO SECOND", 'condition'],
    ["d = DATE '2026-01-01' OR t = TIME '10:00:00'", 'condition'],
    ['ok', 'column'],
    ['TRUE', 'condition'],
    ["CASE WHEN level = 'ERROR' THEN TRUE ELSE FALSE END", 'condition'],
    ['CAST(flag AS BOOLEAN)', 'condition'],
    ["JSON_EXISTS(msg, '$.user')", 'condition'],
    ['42', 'value'],
    ['-n', 'value'],
    ["service || '-' || host", 'value'],
    ['(a + b) * c % 7', 'value'],
    ['NULL', 'value'],
    ["x'0F'", 'value'],
    ["CASE level WHEN 'ERROR', 'FATAL' THEN 'high' ELSE 'normal' END", 'unknown'],
    ['CAST(n AS DECIMAL(10, 2))', 'value'],
    ['TRY_CAST(msg AS MAP<STRING, ARRAY<INT NOT NULL>>)', 'value'],
    ['CAST(ts AS TIMESTAMP(3) WITH LOCAL TIME ZONE)', 'value'],
    ['CAST(r AS ROW<`x` INT, y STRING> ARRAY)', 'value'],
    ['UPPER(service)', 'unknown'],
    ['COUNT(DISTINCT service)', 'unknown'],
    ['COUNT(*)', 'unknown'],
    ['my_catalog.my_db.f(a => 1, b => msg)', 'unknown'],
    ['`my function`()', 'unknown'],
    ['CURRENT_TIMESTAMP', 'value'],
    ['CURRENT_TIMESTAMP(3)', 'unknown'],
    ['EXTRACT(HOUR FROM ts)', 'value'],
    ['FLOOR(ts TO MINUTE)', 'value'],
    ['TIMESTAMPDIFF(SECOND, a, b)', 'value'],
    ["TRIM(LEADING '0' FROM code)", 'value'],
    ["POSITION('x' IN msg)", 'value'],
    ['SUBSTRING(msg FROM 2 FOR 3)', 'value'],
    ["OVERLAY(msg PLACING '***' FROM 1 FOR 3)", 'value'],
    ["JSON_VALUE(msg, '$.n' RETURNING INT)", 'value'],
    ["tags['env']", 'unknown'],
    ['ARRAY[1, 2][1]', 'unknown'],
    ["MAP['a', 1]", 'value'],
    ['ROW(a, b).f0', 'unknown'],
    ['((((a))))', 'column'],
    ['`select`', 'column'],
    ['source.status', 'column'],
  ];
  for (const [text, kind] of cases) assert.equal(parseSqlExpression(text).kind, kind, text);
});

test('SQL expression parser: columns are the identifiers that name columns, never functions, types, units, parameters or ROW fields', () => {
  const { columns } = parseSqlExpression(
    "CAST(a AS ROW<x INT>) IS NOT NULL AND EXTRACT(DAY FROM `b c`) > 1 AND f(p => source.d) AND UPPER(e) = CURRENT_USER AND TIMESTAMPADD(HOUR, 1, g) < CURRENT_TIMESTAMP AND h['k'].sub = 1",
  );
  assert.deepEqual(columns.map((c) => [c.path.join('.'), c.position]), [['a', 6], ['b c', 56], ['source.d', 78], ['e', 98], ['g', 142], ['h', 169]]);
});

test('SQL expression parser: break-outs and non-expressions are refused at the token where they start, with what is expected', () => {
  const cases: [string, number, string, RegExp][] = [
    ["level = 'x') OR (1 = 1", 12, '")"', /closes a parenthesis the expression did not open, which would end the clause/],
    [') OR (TRUE', 1, '")"', /expected an expression before "\)"/],
    ["level = 'x' -- AND n > 1", 13, '"--"', /a comment, which would hide the rest of the clause/],
    ["level = 'x' /* */", 13, '"/*"', /a comment/],
    ["level = 'x'; DROP TABLE t", 12, '";"', /a ";" would end the statement/],
    ["level = 'x', n", 12, '","', /a "," would start another item of the clause/],
    ["level = 'x' UNION SELECT 1", 13, '"UNION"', /UNION is a set operator, which would start another query/],
    ["level = 'x' INTERSECT SELECT 1", 13, '"INTERSECT"', /set operator/],
    ['n IN (SELECT n FROM t)', 7, '"SELECT"', /subqueries are not allowed/],
    ['(SELECT 1) = 1', 2, '"SELECT"', /subqueries are not allowed/],
    ['EXISTS (SELECT 1)', 1, '"EXISTS"', /subqueries are not allowed/],
    ['n = ANY (1, 2)', 5, '"ANY"', /quantified comparisons/],
    ['SELECT 1', 1, '"SELECT"', /starts a statement or clause, not an expression/],
    ['msg AS STRING) AS x, (msg', 5, '"AS"', /expected the end of the expression/],
    ["a = 'x' b = 'y'", 9, '"b"', /expected the end of the expression/],
    ['COUNT(*) OVER (PARTITION BY a)', 10, '"OVER"', /window aggregates/],
    ["level = 'x", 9, '"\'x"', /the string literal is never closed/],
    ['`level = 1', 1, '"`level = 1"', /the quoted identifier is never closed/],
    ['"level" = 1', 1, '"\\""', /double quotes are neither strings nor identifiers/],
    ['(a = 1', 7, 'the end', /expected "\)"/],
    ['a = 1 AND', 10, 'the end', /expected an expression/],
    ['a != 1', 3, '"!="', /expected "<>"/],
    ['value = 1', 1, '"value"', /VALUE is a reserved word in Flink SQL; expected an expression \(write `value` for a column of that name\)/],
    ['CAST(a AS TEXT)', 11, '"TEXT"', /TEXT is not a Flink SQL data type/],
    ['CAST(a AS INT NOT NULL)', 15, '"NOT"', /expected "\)" closing CAST/],
    ["INTERVAL '1' WEEK", 14, '"WEEK"', /expected an interval unit/],
    ["INTERVAL '1' MONTH TO SECOND", 23, '"SECOND"', /expected no TO after MONTH TO/],
    ['EXTRACT(FORTNIGHT FROM ts)', 9, '"FORTNIGHT"', /expected a time unit in EXTRACT/],
    ["'a' 'b'", 5, '"\'b\'"', /adjacent string literals/],
    ["_UTF8'x'", 1, '"_UTF8\'"', /character set or escape prefix/],
    ['(1, 2)', 3, '","', /"\(a, b\)" rows are not allowed here/],
    ['a # b', 3, '"#"', /not a character of a Flink SQL expression/],
    ['a = ?', 5, '"?"', /not a character/],
    ["x'0G'", 1, '"x\'0G\'"', /pairs of hex digits/],
    ['', 1, 'the end', /expected an expression/],
  ];
  for (const [text, position, token, problem] of cases) {
    const e = refusal(text);
    assert.equal(e.position, position, `${text}: ${e.message}`);
    assert.equal(e.token, token, `${text}: ${e.message}`);
    assert.match(e.problem, problem, text);
    assert.doesNotMatch(e.message, /\n/);
  }
});

test('SQL expression parser: deep nesting is refused with a message, not a stack overflow', () => {
  assert.equal(parseSqlExpression(`${'('.repeat(40)}a = 1${')'.repeat(40)}`).kind, 'condition');
  for (const text of [`${'('.repeat(100_000)}a`, `${'NOT '.repeat(5_000)}a`, `${'- '.repeat(5_000)}1`, `${'f('.repeat(5_000)}1${')'.repeat(5_000)}`]) {
    const e = refusal(text);
    assert.match(e.problem, /nests deeper than 100 levels/);
  }
});

test('SQL expression parser: the first problem in reading order is reported, whether the tokenizer or the grammar finds it', () => {
  assert.equal(refusal('UPPER(msg)) AS x; DROP TABLE t').position, 11);
  assert.equal(refusal("(msg = 'x' -- )").position, 12);
  assert.equal(refusal('CAST x; y').position, 1);
});

const FIELDS = { msg: 'STRING', n: 'INT', ok: 'BOOLEAN', ts: 'TIMESTAMP(3)' };
const checkError = (text: unknown, what: 'condition' | 'expression' = 'condition'): string => {
  try {
    checkSqlExpression('pipeline.filters[2]', text, what, FIELDS);
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    return e.message;
  }
  return 'accepted';
};

test('SQL check: one line naming the field, the value, the position and token, and what is expected', () => {
  assert.equal(checkError("msg = 'x') OR (TRUE"),
    'pipeline.filters[2]: "msg = \'x\') OR (TRUE" is not one SQL condition: at position 10, ")": this ")" closes a parenthesis the expression did not open, which would end the clause; expected the end of the expression');
  assert.equal(checkError('UPPER(msg) --', 'expression'),
    'pipeline.filters[2]: "UPPER(msg) --" is not one SQL expression: at position 12, "--": a comment, which would hide the rest of the clause; expected the expression without comments');
  assert.equal(checkError(' '), 'pipeline.filters[2]: " " is invalid; expected one SQL condition, e.g. level = \'ERROR\'');
  assert.equal(checkError(7), 'pipeline.filters[2]: 7 is invalid; expected one SQL condition, e.g. level = \'ERROR\'');
  assert.equal(checkError("msg = 'a\nb' ;"), 'pipeline.filters[2]: "msg = \'a\\nb\' ;" is not one SQL condition: at position 13, ";": a ";" would end the statement; expected one expression without ";"');
});

test('SQL check: columns must be source fields, by their exact name, optionally qualified by the source table', () => {
  assert.equal(checkError("level = 'x'"), 'pipeline.filters[2]: "level = \'x\'" reads an unknown column: at position 1, "level" is not a source field; expected one of msg, n, ok, ts (derived columns and the count are computed alongside, not readable here)');
  assert.match(checkError('N > 1'), /at position 1, "N" is not a source field \(names are case-sensitive: the field is n\)/);
  assert.match(checkError('source.nope > 1'), /"source.nope" is not a source field/);
  assert.match(checkError('other.n > 1'), /"other.n" is not a source field/);
  assert.match(checkError('msg.x = 1'), /"msg.x" reads a part of the STRING field msg, which has none/);
  assert.match(checkError('UPPER(constructor) = 1'), /"constructor" is not a source field/);
  for (const ok of ['source.n > 1', '`n` > 1', 'PI > n', 'pi < 4', "UPPER(msg) = 'X'", 'TIMESTAMPADD(DAY, 1, ts) > CURRENT_TIMESTAMP', 'ok', 'NOT ok', 'ok AND n > 1', 'CAST(msg AS BOOLEAN)', 'CASE WHEN n > 1 THEN ok ELSE FALSE END']) {
    assert.equal(checkError(ok), 'accepted', ok);
  }
});

test('SQL check: a filter must be able to be a condition; a derived column may be any expression', () => {
  assert.equal(checkError('n + 1'), 'pipeline.filters[2]: "n + 1" is a value, not a condition; expected one SQL condition that is TRUE or FALSE, e.g. status >= 500');
  assert.match(checkError("'yes'"), /is a value, not a condition/);
  assert.match(checkError('NULL'), /is a value, not a condition/);
  assert.match(checkError('CAST(n AS INT)'), /is a value, not a condition/);
  assert.equal(checkError('msg'), 'pipeline.filters[2]: "msg" is the STRING field msg, not a condition; expected one SQL condition that is TRUE or FALSE, or a BOOLEAN field');
  assert.match(checkError('(source.n)'), /is the INT field n, not a condition/);
  for (const ok of ['n + 1', "'yes'", 'msg', 'ok', 'NULL']) assert.equal(checkError(ok, 'expression'), 'accepted', ok);
});

test('SQL check: the pipeline splices the checked expressions unchanged into one clause each', () => {
  const p = new LogPipeline({
    source: { bootstrapServers: 'k:9092', topic: 't', groupId: 'g', fields: { msg: FieldType.STRING, method: FieldType.STRING, n: FieldType.INT } },
    filters: ["`method` = 'GET'", "msg NOT LIKE '%)%' ESCAPE '\\'"],
    derive: { up: "CASE WHEN n > 1 THEN UPPER(msg) ELSE 'x'';--' END" },
    sinks: [Sink.fileSystem({ path: 'file:///tmp/out' })],
  });
  const sql = p.toSql('job', FlinkVersion.V1_20);
  assert.match(sql, /WHERE \(`method` = 'GET'\) AND \(msg NOT LIKE '%\)%' ESCAPE '\\'\);/);
  assert.match(sql, /CAST\(CASE WHEN n > 1 THEN UPPER\(msg\) ELSE 'x'';--' END AS STRING\) AS `up`/);
  assert.throws(() => new LogPipeline({ ...p.props, derive: { up: 'UPPER(up)' } }), /^ValidationError: pipeline.derive.up: "UPPER\(up\)" reads an unknown column/);
});
