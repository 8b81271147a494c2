/**
 * The pipeline's SQL expression parser (lib/pipeline/sql-expression.ts) against Flink's own:
 * every expression of the corpus below goes to both, and they must agree on accept or reject,
 * on Flink 1.20.5 and 2.2.1. Flink's side is its table planner's parser (FlinkSqlParserImpl
 * with Lex.JAVA and the default conformance, as the planner sets it up) called through
 * SqlParser.parseExpression by a small Java class (test/support/flink-sql) compiled with javac
 * against the cached distribution's jars; the planner jar is taken out of
 * flink-table-planner-loader, which hides it. The column and condition checks are held against
 * Flink's validator (a batch TableEnvironment explaining the SELECT a filter or derived column
 * becomes part of), and a pipeline's generated source table and view are executed by it. Where our parser is stricter on purpose, the case
 * is listed in STRICTER with the reason, and the test asserts that Flink does accept it (so the
 * list cannot go stale). The reserved-word lists of lib/pipeline/sql-keywords.ts are compared
 * with the parser's own metadata of both versions.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FieldType, LogPipeline, Sink, sqlIdent } from '../../lib/pipeline/pipeline';
import { FlinkVersion } from '../../lib/config/flink-version';
import { checkSqlExpression } from '../../lib/pipeline/sql-check';
import { parseSqlExpression } from '../../lib/pipeline/sql-expression';
import { CONTEXT_VARIABLES, RESERVED_FUNCTION_NAMES, RESERVED_WORDS } from '../../lib/pipeline/sql-keywords';
import { distJavaOpts, ensureFlink, repoRoot, run } from '../support/flink-dist';

const VERSIONS = ['1.20.5', '2.2.1'] as const;
type Version = typeof VERSIONS[number];

/** Expressions both parsers see, by construct. */
const CORPUS: string[] = [
  // literals
  '42', '-1.5e3', '.5', '1.', "'it''s'", "''", "x'0F'", 'TRUE', 'FALSE', 'UNKNOWN', 'NULL',
  "DATE '2026-01-01'", "TIME '10:00:00'", "TIMESTAMP '2026-01-01 10:00:00.123'",
  "INTERVAL '5' SECOND", "INTERVAL '1' DAY TO SECOND", "INTERVAL '1:30' HOUR TO MINUTE", "INTERVAL '1' SECOND(3)", "INTERVAL -'1' DAY",
  "INTERVAL '2' DAYS", "INTERVAL '1-2' YEAR TO MONTH", "INTERVAL '2' DAY(3) TO HOUR", 'INTERVAL 1 DAY',
  "INTERVAL '2' MONTH TO SECOND", "INTERVAL '2' MILLISECOND", '1e', '0x10', "x'0G'", "'a' 'b'", "N'abc'", "_UTF8'x'", "U&'x'",
  "INTERVAL '1' WEEK", "INTERVAL '2' QUARTER", "E'x'", "TIMESTAMP_LTZ '2020-01-01 00:00:00'",
  // identifiers, qualified names, reserved words
  'status', '`status`', '`a``b` = 1', '`my col` > 1', '$a = 1', 'a$b = 1', '_a = 1', 'Ä = 1', 'source.status', 'a.b.c = 1', 'a.`b c` = 1',
  '1a = 1', '`` = 1', 'value = 1', '`value` = 1', 'method = 1', '`method` = 1', 'level = 1', 'monday = 1', 'model = 1', 'bytes > 1',
  // operators and precedence
  'a + b * c - d / e % f', '-a', '+a', '- - 1', '- \'x\'', 'a * -1', 'a || b', "a || 'x' = 'y'", 'a = 1 AND b = 2 OR NOT c = 3',
  'NOT NOT a', 'a = NOT b', '1 = 1 = TRUE', 'a < b < c', 'a <> b', 'a <= b', 'a >= b', 'a != 1', 'a <=> b', 'a == b', 'a = = b',
  '((a))', '((a) = (1))', '(a = 1) OR ((b = 2) AND NOT (c = 3))', 'a = 1 AND', 'AND a', 'NOT', 'a +', '(a', 'a)', '()',
  // IS, BETWEEN, IN, LIKE, SIMILAR
  'a IS NULL', 'a IS NOT NULL', 'a IS TRUE', 'a IS NOT FALSE', 'a IS NOT UNKNOWN', 'a IS DISTINCT FROM b', 'a IS NOT DISTINCT FROM b',
  'a = 1 IS TRUE', 'NOT a IS NULL', 'a IS NULL IS NULL', 'a IS 1', 'a IS NOT',
  'a BETWEEN 1 AND 2', 'a NOT BETWEEN 1 AND 2', 'a BETWEEN SYMMETRIC 1 AND 2', 'a NOT BETWEEN ASYMMETRIC 1 AND 2', 'a BETWEEN 1 AND 2 AND b',
  'a BETWEEN 1', 'a BETWEEN 1 OR 2',
  "a IN ('x', 'y')", 'a NOT IN (b, c + 1)', 'a IN (1, 2, (3))', 'a IN ()', 'a IN 1', 'a NOT IN (1,)',
  "a LIKE 'x%'", "a NOT LIKE 'x!%' ESCAPE '!'", "a ILIKE 'x'", "a NOT ILIKE 'x'", "a RLIKE 'x'", "a SIMILAR TO 'x'", "a NOT SIMILAR TO 'x' ESCAPE '\\'",
  "a LIKE ANY ('x')", "a LIKE 'x' ESCAPE", "a SIMILAR 'x'",
  // CASE, CAST
  "CASE a WHEN 1, 2 THEN 'x' END", "CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END", 'CASE a WHEN 1 THEN 2 ELSE 3 END',
  'CASE END', 'CASE WHEN a THEN 1 ELSE 2', 'CASE WHEN a 1 END', 'CASE a THEN 1 END',
  'CAST(a AS STRING)', 'CAST(a AS VARCHAR(10))', 'CAST(a AS DECIMAL(10, 2))', 'CAST(a AS TIMESTAMP(3))', 'CAST(a AS TIMESTAMP(3) WITH LOCAL TIME ZONE)',
  'CAST(a AS TIMESTAMP WITHOUT TIME ZONE)', 'CAST(a AS TIMESTAMP_LTZ(3))', 'CAST(a AS TIME(3))', 'CAST(a AS DOUBLE PRECISION)', 'CAST(a AS CHARACTER VARYING(3))',
  'CAST(a AS BYTES)', 'CAST(a AS BOOLEAN)', 'CAST(a AS INTERVAL DAY TO SECOND)', 'CAST(a AS ARRAY<INT>)', 'CAST(a AS ARRAY<INT NOT NULL>)',
  'CAST(a AS MAP<STRING, ARRAY<INT>>)', 'CAST(a AS INT ARRAY)', 'CAST(a AS ROW<x INT, y STRING>)', 'CAST(a AS ROW(x INT, y STRING))', 'CAST(a AS MULTISET<INT>)',
  'TRY_CAST(a AS INT)', 'CAST(a AS INT NOT NULL)', 'CAST(a AS FLOAT(5))', 'CAST(a AS NULL)', 'CAST(a)', 'CAST(a AS)', 'CAST(a, INT)', 'CAST a AS INT',
  'CAST(a AS FOO)', 'CAST(a AS ANY)', "CAST(a AS RAW('a', 'b'))",
  // function calls and special syntax
  'f()', 'UPPER(a)', 'COUNT(*)', 'COUNT(DISTINCT a)', 'COUNT(ALL a)', 'COUNT(DISTINCT a, b)', 'f(*)', 'f(DISTINCT *)', 'db.f(a)', '`my fn`(a)',
  'f(a => 1)', 'f(a, )', 'f(,a)', 'f(a', 'LEFT(s, 2)', 'HOUR(ts)', 'YEAR(ts)', 'DAY(ts)', 'IF(a, 1, 2)', 'NULLIF(a, 1)', 'COALESCE(a, b)',
  "SPLIT_INDEX(msg, ',', 0)", 'CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP(3)', 'LOCALTIMESTAMP', 'CURRENT_DATE', 'USER', 'CURRENT_USER', 'NOW()', 'PROCTIME()',
  'EXTRACT(DAY FROM ts)', 'EXTRACT(EPOCH FROM ts)', 'EXTRACT(DAY, ts)', 'EXTRACT(FORTNIGHT FROM ts)', 'EXTRACT(DAYS FROM t)',
  'FLOOR(ts TO HOUR)', 'CEIL(ts TO DAY)', 'FLOOR(x)', 'CEIL(x TO)',
  'TIMESTAMPADD(DAY, 1, ts)', 'TIMESTAMPDIFF(SECOND, a, b)', 'TIMESTAMPADD(SQL_TSI_DAY, 1, t)', 'TIMESTAMPADD(1, DAY, ts)',
  'TIMESTAMPADD(MILLISECOND, 1, t)', 'TIMESTAMPDIFF(DAYS, a, b)',
  "TRIM(BOTH 'x' FROM s)", 'TRIM(s)', 'TRIM(LEADING FROM s)', "TRIM('x' FROM s)", 'TRIM(BOTH s)',
  "POSITION('a' IN s)", "POSITION('a' IN s FROM 2)", "POSITION('a', s)",
  'SUBSTRING(s FROM 1 FOR 2)', 'SUBSTRING(s, 1, 2)', 'SUBSTRING(s FROM 1)', "OVERLAY(s PLACING 't' FROM 1 FOR 2)", "OVERLAY(s PLACING 't')",
  "JSON_VALUE(m, '$.a')", "JSON_VALUE(m, '$.a' RETURNING INT)", "JSON_EXISTS(m, '$.a')", "JSON_QUERY(m, '$.a')",
  "JSON_VALUE(m, '$.a' DEFAULT 1 ON EMPTY)", "JSON_OBJECT('a' VALUE 1)", 'CONVERT(a USING utf8)',
  // constructors and access
  "x['k']", 'x[1][2]', "x['k'].f", 'f(a)[1]', '(a)[1]', "MAP['a', 1]['a']", 'ARRAY[1, 2]', "MAP['a', 1]", 'ARRAY[]', 'ROW(1, 2)', 'ROW()',
  'x[1', 'x[]', 'ARRAY()', '(1, 2)',
  // more of each, and malformed ones
  "CASE WHEN a THEN b END IS NULL", "-INTERVAL '1' DAY", "ts - INTERVAL '1' SECOND > ts", 'x[1].f.g', 'ARRAY[1][1]', 'CAST(a AS INT)[1]', 'a.f(1)',
  "'abc'[1]", 'ROW(1)', 'MAP[]', 'CURRENT_ROW_TIMESTAMP()', 'CURRENT_ROLE', 'LOCALTIME', 'CURRENT_TIME', 'CURRENT_USER()', 'CAST(a AS DATE ARRAY)',
  'CAST(a AS TIMESTAMP_LTZ)', 'CAST(a AS VARCHAR)', 'CAST(a AS BINARY(3))', 'CAST(a AS CHARACTER)', "CAST(a AS ROW<`x` INT 'comment'>)",
  'CAST(a AS INTERVAL SECOND(3))', 'EXTRACT(QUARTER FROM t)', 'FLOOR(t TO WEEK)', 'TIMESTAMPADD(WEEK, 1, t)', 'SUBSTRING(s, 1)',
  "OVERLAY(s PLACING 't' FROM 1)", "CONCAT(a, b) LIKE '%x%'", 'a BETWEEN 1 AND 2 BETWEEN 3 AND 4', 'a = b = c', 'TRIM(FROM s)', 'DATE', 'INTERVAL',
  "INTERVAL 'x'", 'TIMESTAMP', 'f(a)(b)', 'a..b', 'a.', '.a', 'a.1', 'a[1]]', "a = 'x'''", '`a`b', 'a = 1e+', 'a = 1.2.3', 'TRUE TRUE',
  // what could break out of the clause, or is not an expression at all
  'a = 1 -- c', 'a = 1 /* x */', 'a = 1; DROP TABLE t', "a = 'x'; DROP TABLE t", 'a) OR (1 = 1', ') OR (1 = 1', "a = 'x') OR (TRUE",
  'a = 1 UNION SELECT 1', 'a = 1 EXCEPT SELECT 1', 'a = 1) UNION (SELECT 1', '(SELECT 1)', 'a IN (SELECT b FROM t)', 'EXISTS (SELECT 1)',
  'a = ANY (1)', '1 < ALL (2)', 'COUNT(*) OVER ()', 'a MEMBER OF b', "a = 1 AS x", 'a AS STRING) AS b, (c', 'UPPER(a)) AS x FROM t; SELECT (1',
  'SELECT a FROM t', 'a FROM t', 'a WHERE b', "a = 'x' GROUP BY a", 'TRUE ORDER BY a LIMIT 1', "a = 'x' b = 'y'", "a = 'x', b",
  '"abc" = a', "a = 'unterminated", 'a = `unterminated', 'a # 1', 'a = ?', "'x' COLLATE c", 'a = 1 ;',
];

/** Cases Flink's parser accepts and ours refuses on purpose, with the reason and, if only some, the versions. */
const STRICTER: Record<string, { readonly why: string; readonly versions?: readonly Version[] }> = {
  "'a' 'b'": { why: 'adjacent string literals are joined by Flink; a definition has no need for them, and they hide a missing operator' },
  "N'abc'": { why: 'character set and escape prefixes on strings are not supported' },
  "_UTF8'x'": { why: 'character set and escape prefixes on strings are not supported' },
  "U&'x'": { why: 'character set and escape prefixes on strings are not supported' },
  "E'x'": { why: 'character set and escape prefixes on strings are not supported', versions: ['2.2.1'] },
  "INTERVAL '1' WEEK": { why: 'interval units are those both Flink lines accept; 1.20 has no WEEK', versions: ['2.2.1'] },
  "INTERVAL '2' QUARTER": { why: 'interval units are those both Flink lines accept; 1.20 has no QUARTER', versions: ['2.2.1'] },
  'EXTRACT(DAYS FROM t)': { why: 'units are those both Flink lines accept; 1.20 refuses DAYS here', versions: ['2.2.1'] },
  'TIMESTAMPADD(MILLISECOND, 1, t)': { why: 'units are those both Flink lines accept; 1.20 refuses MILLISECOND here', versions: ['2.2.1'] },
  'TIMESTAMPDIFF(DAYS, a, b)': { why: 'units are those both Flink lines accept; 1.20 refuses DAYS here', versions: ['2.2.1'] },
  'ARRAY()': { why: 'a function only 2.2 parses; ARRAY[...] is the constructor on both', versions: ['2.2.1'] },
  'monday = 1': { why: 'words either Flink line reserves are refused unquoted (2.2 reserves MONDAY)', versions: ['1.20.5'] },
  'model = 1': { why: 'words either Flink line reserves are refused unquoted (1.20 reserves MODEL)', versions: ['2.2.1'] },
  'a = 1 -- c': { why: 'comments are refused: a comment can hide the rest of the clause' },
  'a = 1 /* x */': { why: 'comments are refused: a comment can hide the rest of the clause' },
  '(SELECT 1)': { why: 'subqueries are not expressions over one record' },
  'a IN (SELECT b FROM t)': { why: 'subqueries are not expressions over one record' },
  'EXISTS (SELECT 1)': { why: 'subqueries are not expressions over one record' },
  'a = ANY (1)': { why: 'quantified comparisons take subqueries' },
  '1 < ALL (2)': { why: 'quantified comparisons take subqueries' },
  'COUNT(*) OVER ()': { why: 'window aggregates are not row expressions' },
  'a MEMBER OF b': { why: 'multiset membership is not supported' },
  'a = ?': { why: 'dynamic parameters have no value in a definition' },
  'EXTRACT(FORTNIGHT FROM ts)': { why: 'units are those both Flink lines accept; 2.2 takes any name as a custom time frame', versions: ['2.2.1'] },
  '(1, 2)': { why: 'implicit rows are refused; ROW(1, 2) is the row constructor' },
  'CAST(a AS FOO)': { why: 'Flink parses any name as a type and fails later; only Flink SQL data types are accepted' },
  'CAST(a AS ANY)': { why: 'only Flink SQL data types are accepted' },
  "CAST(a AS RAW('a', 'b'))": { why: 'RAW types need a serializer snapshot; not for a definition' },
  "JSON_VALUE(m, '$.a' DEFAULT 1 ON EMPTY)": { why: 'the ON EMPTY/ON ERROR clauses of the JSON functions are not supported' },
  "JSON_OBJECT('a' VALUE 1)": { why: 'JSON constructors are not supported' },
  'CONVERT(a USING utf8)': { why: 'character set conversion is not supported' },
};

function ours(expr: string): boolean {
  try {
    parseSqlExpression(expr);
    return true;
  } catch (e) {
    if ((e as Error).name !== 'SqlExpressionError') throw e;
    return false;
  }
}

interface FlinkParser {
  readonly version: Version;
  readonly keywords: Map<string, string>;
  /** Flink's answer ("OK <kind>" or "ERR <message>") for each expression of CORPUS. */
  readonly results: Map<string, string>;
  /** Flink's validator on whole SELECT statements: "OK" or "ERR <message>" each. */
  validate(statements: string[]): Promise<string[]>;
  /** DDL statements executed in turn ("OK" or "ERR <message>" each), then the columns of `table`. */
  execute(statements: string[], table: string): Promise<{ answers: string[]; columns: string[] }>;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-sql-parse-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const parsers = new Map<Version, Promise<FlinkParser>>();

/** Flink `version`'s parser and validator, through test/support/flink-sql, compiled once per run. */
function flinkParser(version: Version): Promise<FlinkParser> {
  if (!parsers.has(version)) parsers.set(version, startParser(version));
  return parsers.get(version)!;
}

async function startParser(version: Version): Promise<FlinkParser> {
  const home = await ensureFlink(version);
  const dir = path.join(work, version);
  fs.mkdirSync(path.join(dir, 'classes'), { recursive: true });
  // The planner's parser is inside flink-table-planner-loader, as a jar of its own.
  await run('jar', ['xf', path.join(home, 'lib', `flink-table-planner-loader-${version}.jar`), 'flink-table-planner.jar'], { cwd: dir, timeoutMs: 120_000 });
  const cp = [path.join(dir, 'flink-table-planner.jar'), path.join(home, 'lib', `flink-table-api-java-uber-${version}.jar`), path.join(home, 'lib', `flink-dist-${version}.jar`)].join(':');
  const sources = ['FlinkExpressionParser.java', 'FlinkSqlValidator.java'].map((f) => path.join(repoRoot(), 'test', 'support', 'flink-sql', f));
  await run('javac', ['-nowarn', '-cp', cp, '-d', path.join(dir, 'classes'), ...sources], { timeoutMs: 240_000 });
  const java = (classPath: string, main: string, args: string[]) => run('java', [...distJavaOpts(home).split(/\s+/), '-cp', `${path.join(dir, 'classes')}:${classPath}`, main, ...args], { timeoutMs: 240_000 });
  const lines = async (classPath: string, main: string, args: string[], texts: string[], more: string[] = []) => {
    const input = path.join(dir, `${main}-${args.join('-')}-${texts.length}.b64`);
    fs.writeFileSync(input, texts.map((e) => Buffer.from(e, 'utf8').toString('base64')).join('\n') + '\n');
    const out = (await java(classPath, main, [...args, input, ...more])).stdout.trim().split('\n');
    assert.ok(out.length >= texts.length, `Flink ${version} answered every line`);
    return out;
  };
  const keywords = new Map<string, string>();
  for (const line of (await java(cp, 'FlinkExpressionParser', ['keywords'])).stdout.trim().split('\n')) {
    const [word, flags] = line.split(' ');
    keywords.set(word, flags);
  }
  const out = await lines(cp, 'FlinkExpressionParser', ['parse'], CORPUS);
  return {
    version,
    keywords,
    results: new Map(CORPUS.map((e, i) => [e, out[i]])),
    validate: (statements) => lines(path.join(home, 'lib', '*'), 'FlinkSqlValidator', [], statements),
    execute: async (statements, table) => {
      const out = await lines(path.join(home, 'lib', '*'), 'FlinkSqlValidator', ['execute'], statements, [table]);
      const last = out.pop()!;
      assert.match(last, /^COLUMNS /);
      return { answers: out, columns: last.split(' ').slice(1) };
    },
  };
}

test('SQL expressions: our parser and Flink 1.20.5\'s and 2.2.1\'s own SQL parser agree on every expression of the corpus, except the listed stricter cases', { timeout: 8 * 60_000 }, async () => {
    assert.equal(new Set(CORPUS).size, CORPUS.length, 'the corpus has no duplicates');
    for (const e of Object.keys(STRICTER)) assert.ok(CORPUS.includes(e), `STRICTER case ${e} is in the corpus`);
    const accepted = CORPUS.filter(ours);
    assert.ok(accepted.length >= 60 && CORPUS.length - accepted.length >= 60, `at least 60 valid and 60 invalid expressions (${accepted.length} accepted, ${CORPUS.length - accepted.length} refused)`);

    const parsers: FlinkParser[] = [];
    for (const v of VERSIONS) parsers.push(await flinkParser(v));
    const disagreements: string[] = [];
    for (const p of parsers) {
      for (const e of CORPUS) {
        const flink = p.results.get(e)!;
        const flinkOk = flink.startsWith('OK ');
        const mine = ours(e);
        const stricter = STRICTER[e];
        if (stricter && (stricter.versions ?? VERSIONS).includes(p.version)) {
          if (mine || !flinkOk) disagreements.push(`${p.version}: ${JSON.stringify(e)} is listed as stricter (${stricter.why}) but ours ${mine ? 'accepts' : 'refuses'} and Flink ${flink}`);
        } else if (mine !== flinkOk) {
          disagreements.push(`${p.version}: ${JSON.stringify(e)}: ours ${mine ? 'accepts' : 'refuses'}, Flink: ${flink.slice(0, 160)}`);
        }
      }
    }
    assert.deepEqual(disagreements, [], disagreements.join('\n'));

    // The reserved words come from both parsers' metadata: reserved (R), function names (F), context variables (C).
    const words = (flag: (f: string) => boolean) => [...new Set(parsers.flatMap((p) => [...p.keywords].filter(([, f]) => flag(f)).map(([w]) => w)))].sort();
    assert.deepEqual([...RESERVED_WORDS].sort(), words((f) => f === 'R--'), 'RESERVED_WORDS are the words either Flink line reserves that are neither function names nor context variables');
    assert.deepEqual([...RESERVED_FUNCTION_NAMES].sort(), words((f) => f[1] === 'F'), 'RESERVED_FUNCTION_NAMES are Flink\'s reserved function names');
    assert.deepEqual([...CONTEXT_VARIABLES].sort(), words((f) => f[2] === 'C'), 'CONTEXT_VARIABLES are Flink\'s context variables');
});

const FIELDS: Record<string, string> = { msg: 'STRING', n: 'INT', ok: 'BOOLEAN', ts: 'TIMESTAMP(3)', method: 'STRING' };
/** The source record as the generated view reads it: a table `source` with FIELDS as columns. */
const SOURCE = `(VALUES (${Object.values(FIELDS).map((t) => `CAST(NULL AS ${t})`).join(', ')})) AS source(${Object.keys(FIELDS).map(sqlIdent).join(', ')})`;

/** Filters and derived columns our parser accepts, which our column and condition checks accept or refuse. */
const CHECKED: ['condition' | 'expression', string][] = [
  ['condition', "msg = 'x'"], ['condition', 'n > 1'], ['condition', 'ok'], ['condition', 'NOT ok'], ['condition', "`method` = 'GET'"],
  ['condition', 'source.n BETWEEN 1 AND 2'], ['condition', "UPPER(msg) LIKE 'X%'"], ['condition', "ts > LOCALTIMESTAMP - INTERVAL '1' DAY"],
  ['condition', 'PI > n'], ['condition', 'pi < 4'], ['condition', 'CASE WHEN n > 1 THEN ok ELSE FALSE END'], ['condition', 'CAST(msg AS BOOLEAN)'],
  ['condition', "JSON_EXISTS(msg, '$.a')"], ['condition', 'EXTRACT(HOUR FROM ts) = 1'], ['condition', 'TIMESTAMPADD(DAY, 1, ts) > ts'],
  ['condition', 'CHAR_LENGTH(msg) > n'], ['condition', 'COALESCE(ok, FALSE)'], ['condition', 'msg IS NULL OR n IN (1, 2)'], ['condition', '(((ok)))'],
  ['condition', "level = 'x'"], ['condition', 'N > 1'], ['condition', 'source.nope = 1'], ['condition', 'other.n = 1'], ['condition', 'msg.x = 1'],
  ['condition', 'UPPER(up) = 1'], ['condition', 'E > 1'], ['condition', 'proc_time IS NULL'],
  ['condition', 'n + 1'], ['condition', "'yes'"], ['condition', 'msg'], ['condition', 'n'], ['condition', '(source.n)'], ['condition', 'CAST(n AS INT)'],
  ['condition', "msg || 'x'"], ['condition', '-n'], ['condition', "DATE '2026-01-01'"],
  ['expression', 'UPPER(msg)'], ['expression', 'n + 1'], ['expression', 'PI * n'], ['expression', "CASE n WHEN 1 THEN 'a' END"], ['expression', 'EXTRACT(DAY FROM ts)'],
  ['expression', "JSON_VALUE(msg, '$.a')"], ['expression', 'msg'], ['expression', '`method`'], ['expression', 'source.msg'], ['expression', 'CURRENT_TIMESTAMP'],
  ['expression', "DATE_FORMAT(ts, 'yyyy')"], ['expression', 'ok'], ['expression', "tsx['k']"],
  ['expression', 'UPPER(up)'], ['expression', 'Msg'], ['expression', 'source.up'], ['expression', 'proc_time'], ['expression', 'msg.len'],
];

function ourCheck(what: 'condition' | 'expression', text: string): string {
  try {
    checkSqlExpression('x', text, what, FIELDS);
    return 'OK';
  } catch (e) {
    return (e as Error).message;
  }
}

test('SQL expressions: the column and condition checks refuse what Flink\'s validator refuses and accept what it accepts, on 1.20.5 and 2.2.1', { timeout: 8 * 60_000 }, async () => {
  const statements = CHECKED.map(([what, text]) => what === 'condition' ? `SELECT msg FROM ${SOURCE} WHERE (${text})` : `SELECT CAST(${text} AS STRING) AS x FROM ${SOURCE}`);
  const refused = CHECKED.filter(([what, text]) => ourCheck(what, text) !== 'OK').length;
  assert.ok(refused >= 20 && CHECKED.length - refused >= 20, `both outcomes are covered (${refused} of ${CHECKED.length} refused)`);
  for (const v of VERSIONS) {
    const answers = await (await flinkParser(v)).validate(statements);
    const disagreements: string[] = [];
    CHECKED.forEach(([what, text], i) => {
      const mine = ourCheck(what, text);
      const flink = answers[i];
      if ((mine === 'OK') !== (flink === 'OK')) disagreements.push(`${what} ${JSON.stringify(text)}: ours ${mine}; Flink ${flink.slice(0, 200)}`);
      else if (/reads an unknown column/.test(mine) && !/not found/.test(flink)) disagreements.push(`${what} ${JSON.stringify(text)}: ours finds an unknown column, Flink refuses for another reason: ${flink.slice(0, 200)}`);
    });
    assert.deepEqual(disagreements, [], `Flink ${v}:\n${disagreements.join('\n')}`);
  }
});

test('SQL expressions: a pipeline\'s generated source table and view, with filters and derived columns holding SQL look-alikes in strings and names, run in Flink as written', { timeout: 8 * 60_000 }, async () => {
  const pipeline = new LogPipeline({
    source: {
      bootstrapServers: 'kafka:9092', topic: 'logs', groupId: 'g',
      fields: { ts: FieldType.TIMESTAMP, service: FieldType.STRING, method: FieldType.STRING, status: FieldType.INT, ok: FieldType.BOOLEAN, latency_ms: FieldType.DOUBLE },
    },
    filters: ["`method` <> 'a'') OR (TRUE; --'", "service NOT LIKE '%/*%' ESCAPE '\\'", 'status BETWEEN 200 AND 599', 'ok IS NOT FALSE OR latency_ms > PI', "ts > LOCALTIMESTAMP - INTERVAL '1' DAY"],
    derive: {
      kind: "CASE WHEN status >= 500 THEN 'error' ELSE 'ok' END",
      route: "service || ') AS x, (' || `method`",
      user_id: "JSON_VALUE(service, '$.user')",
      hour: 'EXTRACT(HOUR FROM source.ts)',
      code: 'TRY_CAST(`method` AS INT)',
    },
    sinks: [Sink.fileSystem({ path: 'file:///tmp/out' })],
  });
  for (const [v, version] of [['1.20.5', FlinkVersion.V1_20], ['2.2.1', FlinkVersion.V2_2]] as const) {
    // The statements the runtime's SQL runner executes first: the source table and the view the
    // filters and derived columns are in, as generated, but for the source's connector options
    // (Kafka's connector is not in the distribution; a bounded datagen table, which is, has the same columns).
    const statements = pipeline.toSql('job', version).split('\n\n').map((st) => st.replace(/;\s*$/, '')).filter((st) => /^CREATE (TABLE `source`|TEMPORARY VIEW `filtered`)/.test(st));
    assert.equal(statements.length, 2);
    assert.match(statements[0], /\) WITH \([^]*\)$/);
    statements[0] = statements[0].replace(/\) WITH \([^]*\)$/, ") WITH ('connector' = 'datagen', 'number-of-rows' = '1')");
    const { answers, columns } = await (await flinkParser(v)).execute(statements, 'filtered');
    assert.deepEqual(answers, ['OK', 'OK'], `Flink ${v} runs the generated DDL:\n${answers.join('\n')}`);
    assert.deepEqual(columns, pipeline.outputColumns().map(([c]) => c), `Flink ${v}: the view has exactly the declared columns`);
  }
});
