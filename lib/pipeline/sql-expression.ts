/**
 * A parser for the Flink SQL expressions a pipeline's filters and derived columns hold: the text
 * must be exactly one expression, so once spliced into the generated statement it stays one
 * clause. Anything after the expression (a second clause, a `)` that closes the generated
 * parenthesis, `;`, a comment, a set operator) and anything that is not an expression (a
 * subquery) is refused at the token where it starts.
 *
 * The grammar is the expression grammar of Flink's parser (Calcite's, with Flink's lexical
 * settings: backquoted identifiers, case-sensitive names, `<>` rather than `!=`), for what a
 * filter or a computed column needs: literals (numbers, strings with '' escapes, X'..', TRUE,
 * FALSE, UNKNOWN, NULL, DATE/TIME/TIMESTAMP '..', INTERVAL '..' unit [TO unit]), identifiers
 * (plain, backquoted, qualified), arithmetic, `||`, comparison and logical operators with
 * Calcite's precedence, IS [NOT] NULL/TRUE/FALSE/UNKNOWN/DISTINCT FROM, [NOT] BETWEEN
 * [SYMMETRIC], [NOT] IN (list), [NOT] LIKE/ILIKE/SIMILAR TO [ESCAPE], RLIKE, CASE (simple and
 * searched), CAST/TRY_CAST (x AS type), function calls (DISTINCT/ALL, `*`, named arguments),
 * EXTRACT, FLOOR/CEIL .. TO, TIMESTAMPADD/TIMESTAMPDIFF, TRIM, POSITION, SUBSTRING, OVERLAY,
 * JSON_VALUE/JSON_QUERY/JSON_EXISTS (path [RETURNING type]), ARRAY[..], MAP[..], ROW(..) and
 * `x['k']`/`x[1]` access. It is stricter than Flink's parser where Flink would accept text that
 * is not a plain expression or is spelled in a way a definition has no use for: comments,
 * subqueries (`(SELECT ..)`, `EXISTS`, `IN (SELECT ..)`, `= ANY (..)`), window aggregates
 * (`OVER`), `(a, b)` rows, chains of adjacent string literals, character set prefixes
 * (`_UTF8'..'`, `N'..'`, `U&'..'`), type names Flink does not define, words either Flink line
 * reserves. test/e2e/sql-expression-flink.test.ts proves the agreement with Flink's own parser.
 */
import { CONTEXT_VARIABLES, RESERVED_FUNCTION_NAMES, RESERVED_WORDS } from './sql-keywords';

/** Why a text is not one expression: where (1-based character position), at which token. */
export class SqlExpressionError extends Error {
  constructor(
    public readonly position: number,
    public readonly token: string,
    public readonly problem: string,
  ) {
    super(`at position ${position} (${token}): ${problem}`);
    this.name = 'SqlExpressionError';
  }
}

/** What a parsed expression yields, as far as its syntax tells. */
export type SqlValueKind = 'condition' | 'value' | 'column' | 'unknown';

/** A column an expression reads: the identifier's parts (`source.status` -> ['source', 'status']). */
export interface SqlColumnReference {
  readonly path: string[];
  readonly position: number;
}

export interface SqlExpression {
  /** 'condition' for comparisons, logic and boolean literals, 'value' for what is surely not boolean. */
  readonly kind: SqlValueKind;
  /** When the whole expression is one column reference (in any parentheses), that column. */
  readonly column?: SqlColumnReference;
  readonly columns: SqlColumnReference[];
}

type TokenType = 'number' | 'string' | 'binary' | 'ident' | 'quoted' | 'op' | 'eof' | 'error';

interface Token {
  readonly type: TokenType;
  readonly text: string;
  /** The upper-cased word for 'ident', the identifier for 'quoted'. */
  readonly value: string;
  readonly pos: number;
  /** For 'error': why the text cannot go on as tokens here (reported when the parser gets here). */
  readonly error?: SqlExpressionError;
}

const OPERATORS = ['<>', '<=', '>=', '||', '=>', '(', ')', '[', ']', ',', '.', '*', '/', '%', '+', '-', '=', '<', '>'];
const IDENT_START = /[\p{L}_$]/u;
const IDENT_PART = /[\p{L}\p{N}_$]/u;

/** The tokens of `text`, up to an 'error' token where it stops being tokens of an expression. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  try {
    tokensInto(text, out);
  } catch (e) {
    if (!(e instanceof SqlExpressionError)) throw e;
    out.push({ type: 'error', text: e.token, value: '', pos: e.position, error: e });
  }
  return out;
}

function tokensInto(text: string, out: Token[]): void {
  let i = 0;
  const fail = (pos: number, tok: string, problem: string): never => {
    throw new SqlExpressionError(pos + 1, JSON.stringify(tok), problem);
  };
  const quoted = (start: number, q: string, what: string): [string, number] => {
    let j = start + 1;
    let value = '';
    for (;;) {
      const k = text.indexOf(q, j);
      if (k < 0) fail(start, text.slice(start, start + 20), `the ${what} is never closed; expected a closing ${q}`);
      value += text.slice(j, k);
      if (text[k + 1] === q) { value += q; j = k + 2; continue; }
      return [value, k + 1];
    }
  };
  while (i < text.length) {
    const c = text[i];
    const two = text.slice(i, i + 2);
    if (/\s/.test(c)) { i++; continue; }
    if (two === '--' || two === '/*') fail(i, two, 'a comment, which would hide the rest of the clause; expected the expression without comments');
    if (c === ';') fail(i, c, 'a ";" would end the statement; expected one expression without ";"');
    if (two === '!=') fail(i, two, 'Flink SQL does not allow "!="; expected "<>"');
    if (c === '"') fail(i, c, 'double quotes are neither strings nor identifiers in Flink SQL; expected \'text\' for a string or `name` for a column');
    if (c === "'") {
      const [value, end] = quoted(i, "'", 'string literal');
      out.push({ type: 'string', text: text.slice(i, end), value, pos: i + 1 });
      i = end;
      continue;
    }
    if (c === '`') {
      const [value, end] = quoted(i, '`', 'quoted identifier');
      if (value === '') fail(i, '``', 'an empty quoted identifier; expected a name between the backquotes');
      out.push({ type: 'quoted', text: text.slice(i, end), value, pos: i + 1 });
      i = end;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      out.push({ type: 'number', text: m[0], value: m[0], pos: i + 1 });
      i += m[0].length;
      continue;
    }
    if ((c === 'x' || c === 'X') && text[i + 1] === "'") {
      const [value, end] = quoted(i + 1, "'", 'binary literal');
      if (!/^([0-9a-fA-F]{2})*$/.test(value)) fail(i, text.slice(i, end), 'a binary literal holds pairs of hex digits; expected X\'0F\'');
      out.push({ type: 'binary', text: text.slice(i, end), value, pos: i + 1 });
      i = end;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j])) j++;
      const word = text.slice(i, j);
      if (text[j] === "'" || (text[j] === '&' && text[j + 1] === "'")) {
        fail(i, text.slice(i, j + 1), 'a string with a character set or escape prefix; expected a plain \'...\' string');
      }
      out.push({ type: 'ident', text: word, value: word.toUpperCase(), pos: i + 1 });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) fail(i, c, 'not a character of a Flink SQL expression outside quotes');
    out.push({ type: 'op', text: op!, value: op!, pos: i + 1 });
    i += op!.length;
  }
  out.push({ type: 'eof', text: '', value: '', pos: text.length + 1 });
}

/** Units of INTERVAL literals and types (both Flink lines), and what may follow `TO`. */
const INTERVAL_UNITS: Record<string, string[]> = {
  YEAR: ['MONTH'], MONTH: [], DAY: ['HOUR', 'MINUTE', 'SECOND'], HOUR: ['MINUTE', 'SECOND'], MINUTE: ['SECOND'], SECOND: [],
};
const INTERVAL_PLURALS = ['YEARS', 'MONTHS', 'DAYS', 'HOURS', 'MINUTES', 'SECONDS'];
/** Units of EXTRACT and FLOOR/CEIL .. TO. */
const DATETIME_UNITS = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND', 'NANOSECOND',
  'DOW', 'DOY', 'ISODOW', 'ISOYEAR', 'EPOCH', 'DECADE', 'CENTURY', 'MILLENNIUM'];
/** Units of TIMESTAMPADD/TIMESTAMPDIFF. */
const TIMESTAMP_UNITS = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND'].flatMap((u) => [u, `SQL_TSI_${u}`]);

const SET_OPERATORS = ['UNION', 'EXCEPT', 'INTERSECT', 'MINUS'];
const STATEMENT_WORDS = ['SELECT', 'VALUES', 'WITH', 'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'INSERT', 'CREATE', 'DROP', 'ALTER', 'DELETE', 'UPDATE', 'SET', 'AS'];

// Binding strengths, as in Calcite's operator table.
const P_OR = 22;
const P_AND = 24;
const P_NOT = 26;
const P_IS = 28;
const P_COMPARE = 30;
const P_PREDICATE = 32;
const P_ADD = 40;
const P_MULTIPLY = 60;
const P_PREFIX = 80;

interface Node {
  readonly kind: SqlValueKind;
  readonly column?: SqlColumnReference;
}
const CONDITION: Node = { kind: 'condition' };
const VALUE: Node = { kind: 'value' };
const UNKNOWN: Node = { kind: 'unknown' };

/** How deep expressions may nest (parentheses, operands, arguments), far beyond any real filter. */
const MAX_DEPTH = 100;

class Parser {
  private i = 0;
  private depth = 0;
  public readonly columns: SqlColumnReference[] = [];
  constructor(private readonly tokens: Token[]) {}

  private get t(): Token {
    return this.tokens[this.i];
  }
  private peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)];
  }
  private isWord(w: string, t: Token = this.t): boolean {
    return t.type === 'ident' && t.value === w;
  }
  private isOp(o: string, t: Token = this.t): boolean {
    return t.type === 'op' && t.value === o;
  }
  private fail(problem: string, t: Token = this.t): never {
    if (t.error) throw t.error;
    throw new SqlExpressionError(t.pos, t.type === 'eof' ? 'the end' : JSON.stringify(t.text.length > 30 ? `${t.text.slice(0, 27)}...` : t.text), problem);
  }
  private expectOp(o: string, what = `"${o}"`): void {
    if (!this.isOp(o)) this.fail(`expected ${what}`);
    this.i++;
  }
  private expectWord(w: string, context: string): void {
    if (!this.isWord(w)) this.fail(`expected ${w} ${context}`);
    this.i++;
  }
  private acceptWord(w: string): boolean {
    if (!this.isWord(w)) return false;
    this.i++;
    return true;
  }
  private acceptOp(o: string): boolean {
    if (!this.isOp(o)) return false;
    this.i++;
    return true;
  }

  /** The whole text: one expression, then nothing. */
  public parseAll(): Node {
    const node = this.expr(0);
    const t = this.t;
    if (t.type === 'eof') return node;
    if (this.isOp(')')) this.fail('this ")" closes a parenthesis the expression did not open, which would end the clause; expected the end of the expression');
    if (this.isOp(',')) this.fail('a "," would start another item of the clause; expected the end of the expression');
    if (t.type === 'ident' && SET_OPERATORS.includes(t.value)) this.fail(`${t.value} is a set operator, which would start another query; expected the end of the expression`);
    if (t.type === 'ident' && t.value === 'OVER') this.fail('window aggregates (OVER) are not row expressions; expected the end of the expression');
    if (t.type === 'string' && this.i > 0 && this.tokens[this.i - 1].type === 'string') this.fail('adjacent string literals; expected one \'...\' string (join strings with ||)');
    return this.fail('expected the end of the expression (an operator such as AND, OR, =, + or ||, or nothing)');
  }

  private expr(minPrec: number): Node {
    if (++this.depth > MAX_DEPTH) this.fail(`the expression nests deeper than ${MAX_DEPTH} levels; expected a simpler expression`);
    try {
      return this.operators(minPrec);
    } finally {
      this.depth--;
    }
  }

  private operators(minPrec: number): Node {
    let left = this.prefix();
    for (;;) {
      const t = this.t;
      if (t.type === 'op') {
        const op = t.value;
        let prec = 0;
        if (['=', '<>', '<', '>', '<=', '>='].includes(op)) prec = P_COMPARE;
        else if (op === '+' || op === '-') prec = P_ADD;
        else if (op === '*' || op === '/' || op === '%' || op === '||') prec = P_MULTIPLY;
        if (prec === 0 || prec < minPrec) return left;
        this.i++;
        if (prec === P_COMPARE && (this.isWord('ANY') || this.isWord('ALL') || this.isWord('SOME'))) {
          this.fail('quantified comparisons (ANY, ALL, SOME) take subqueries; expected a value to compare with, or IN (...)');
        }
        this.expr(prec + 1);
        left = prec === P_COMPARE ? CONDITION : VALUE;
        continue;
      }
      if (t.type !== 'ident') return left;
      const w = t.value;
      if (w === 'OR' || w === 'AND') {
        const prec = w === 'OR' ? P_OR : P_AND;
        if (prec < minPrec) return left;
        this.i++;
        this.expr(prec + 1);
        left = CONDITION;
        continue;
      }
      if (w === 'IS') {
        if (P_IS < minPrec) return left;
        this.i++;
        this.acceptWord('NOT');
        if (this.acceptWord('DISTINCT')) {
          this.expectWord('FROM', 'after IS [NOT] DISTINCT');
          this.expr(P_IS + 1);
        } else if (!['NULL', 'TRUE', 'FALSE', 'UNKNOWN'].some((x) => this.acceptWord(x))) {
          this.fail('expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS [NOT]');
        }
        left = CONDITION;
        continue;
      }
      const negated = w === 'NOT';
      const pred = negated ? this.peek() : t;
      if (pred.type !== 'ident' || !['BETWEEN', 'IN', 'LIKE', 'ILIKE', 'RLIKE', 'SIMILAR'].includes(pred.value)) {
        if (negated) this.fail('NOT here must be followed by BETWEEN, IN, LIKE, ILIKE, RLIKE or SIMILAR TO');
        return left;
      }
      if (P_PREDICATE < minPrec) return left;
      this.i += negated ? 2 : 1;
      this.predicate(pred.value);
      left = CONDITION;
    }
  }

  /** The rest of `x [NOT] BETWEEN|IN|LIKE|...` after the keyword. */
  private predicate(kind: string): void {
    if (kind === 'BETWEEN') {
      if (!this.acceptWord('SYMMETRIC')) this.acceptWord('ASYMMETRIC');
      this.expr(P_PREDICATE + 1);
      this.expectWord('AND', 'between the bounds of BETWEEN');
      this.expr(P_PREDICATE + 1);
    } else if (kind === 'IN') {
      this.expectOp('(', '"(" and a list of values after IN');
      if (this.isWord('SELECT') || this.isWord('VALUES') || this.isWord('WITH')) this.fail('subqueries are not allowed; expected a list of values');
      this.list(')');
    } else {
      if (kind === 'SIMILAR') this.expectWord('TO', 'after SIMILAR');
      if (this.isWord('ANY') || this.isWord('ALL') || this.isWord('SOME')) this.fail(`expected a pattern after ${kind === 'SIMILAR' ? 'SIMILAR TO' : kind}`);
      this.expr(P_PREDICATE + 1);
      if (kind !== 'RLIKE' && this.acceptWord('ESCAPE')) this.expr(P_PREDICATE + 1);
    }
  }

  /** Comma-separated expressions up to `close` (at least one). */
  private list(close: string): void {
    do this.expr(0); while (this.acceptOp(','));
    this.expectOp(close, `"," or "${close}"`);
  }

  private prefix(): Node {
    const t = this.t;
    if (this.isWord('NOT')) {
      this.i++;
      this.expr(P_NOT);
      return CONDITION;
    }
    if (this.isOp('-') || this.isOp('+')) {
      this.i++;
      this.expr(P_PREFIX);
      return VALUE;
    }
    if (this.isWord('EXISTS')) this.fail('subqueries are not allowed; expected an expression over the record\'s fields', t);
    return this.postfix(this.primary());
  }

  /** `x[i]` item access and `.field` access after a value. */
  private postfix(node: Node): Node {
    let out = node;
    for (;;) {
      if (this.acceptOp('[')) {
        this.expr(0);
        this.expectOp(']', '"]" closing the index');
      } else if (this.acceptOp('.')) {
        this.name('a field name after "."');
      } else {
        return out;
      }
      out = UNKNOWN;
    }
  }

  /** An identifier that names something other than a column (a field of a ROW, a parameter). */
  private name(what: string): string {
    const t = this.t;
    if (t.type === 'quoted') { this.i++; return t.value; }
    if (t.type === 'ident' && !RESERVED_WORDS.has(t.value) && !RESERVED_FUNCTION_NAMES.has(t.value) && !CONTEXT_VARIABLES.has(t.value)) { this.i++; return t.text; }
    if (t.type === 'ident') this.fail(`${t.value} is a reserved word in Flink SQL; expected ${what} (write \`${t.text}\` for a name)`);
    return this.fail(`expected ${what}`);
  }

  private primary(): Node {
    const t = this.t;
    switch (t.type) {
      case 'number':
      case 'binary':
        this.i++;
        return VALUE;
      case 'string':
        this.i++;
        return VALUE;
      case 'quoted':
        return this.identifier();
      case 'eof':
        return this.fail('expected an expression');
      case 'op':
        if (this.isOp('(')) {
          this.i++;
          if (this.isWord('SELECT') || this.isWord('VALUES') || this.isWord('WITH')) this.fail('subqueries are not allowed; expected an expression over the record\'s fields');
          const inner = this.expr(0);
          if (this.isOp(',')) this.fail('"(a, b)" rows are not allowed here; expected ")" (use ROW(a, b) for a row)');
          this.expectOp(')', '")"');
          return inner;
        }
        if (this.isOp(')')) this.fail('expected an expression before ")"');
        return this.fail('expected an expression');
      default:
    }
    const w = t.value;
    const next = this.peek();
    const call = this.isOp('(', next);
    switch (w) {
      case 'TRUE':
      case 'FALSE':
      case 'UNKNOWN':
        this.i++;
        return CONDITION;
      case 'NULL':
        this.i++;
        return VALUE;
      case 'DATE':
      case 'TIME':
      case 'TIMESTAMP':
        if (next.type === 'string') {
          this.i += 2;
          return VALUE;
        }
        break;
      case 'INTERVAL':
        this.i++;
        if (!this.acceptOp('-')) this.acceptOp('+');
        if (this.t.type !== 'string' && this.t.type !== 'number') this.fail('expected a quoted amount after INTERVAL, e.g. INTERVAL \'5\' SECOND');
        this.i++;
        this.intervalQualifier();
        return VALUE;
      case 'CASE':
        return this.caseExpr();
      case 'CAST':
      case 'TRY_CAST':
        if (!call) break;
        this.i += 2;
        this.expr(0);
        this.expectWord('AS', `in ${w}(value AS type)`);
        {
          const boolean = this.isWord('BOOLEAN');
          this.type(false);
          this.expectOp(')', `")" closing ${w}`);
          return boolean ? CONDITION : VALUE;
        }
      case 'EXTRACT':
        if (!call) break;
        this.i += 2;
        this.unit(DATETIME_UNITS, 'EXTRACT');
        this.expectWord('FROM', 'in EXTRACT(unit FROM value)');
        this.expr(0);
        this.expectOp(')', '")" closing EXTRACT');
        return VALUE;
      case 'FLOOR':
      case 'CEIL':
      case 'CEILING':
        if (!call) break;
        this.i += 2;
        this.expr(0);
        if (this.acceptWord('TO')) this.unit(DATETIME_UNITS, `${w} .. TO`);
        this.expectOp(')', `")" closing ${w}`);
        return VALUE;
      case 'TIMESTAMPADD':
      case 'TIMESTAMPDIFF':
        if (!call) break;
        this.i += 2;
        this.unit(TIMESTAMP_UNITS, w);
        this.expectOp(',', `"," after the unit of ${w}`);
        this.expr(0);
        this.expectOp(',', `"," between the values of ${w}`);
        this.expr(0);
        this.expectOp(')', `")" closing ${w}`);
        return VALUE;
      case 'TRIM':
        if (!call) break;
        this.i += 2;
        {
          // TRIM([BOTH|LEADING|TRAILING] [characters] [FROM] value)
          const side = ['BOTH', 'LEADING', 'TRAILING'].some((s) => this.acceptWord(s));
          if (!(side && this.acceptWord('FROM'))) {
            this.expr(0);
            if (this.acceptWord('FROM')) this.expr(0);
          } else {
            this.expr(0);
          }
        }
        this.expectOp(')', '")" closing TRIM');
        return VALUE;
      case 'POSITION':
        if (!call) break;
        this.i += 2;
        this.expr(P_PREDICATE + 1);
        this.expectWord('IN', 'in POSITION(part IN value)');
        this.expr(0);
        if (this.acceptWord('FROM')) this.expr(0);
        this.expectOp(')', '")" closing POSITION');
        return VALUE;
      case 'SUBSTRING':
        if (!call) break;
        this.i += 2;
        this.expr(0);
        if (this.acceptWord('FROM')) {
          this.expr(0);
          if (this.acceptWord('FOR')) this.expr(0);
          this.expectOp(')', '")" closing SUBSTRING');
        } else {
          this.expectOp(',', '"," or FROM in SUBSTRING');
          this.list(')');
        }
        return VALUE;
      case 'OVERLAY':
        if (!call) break;
        this.i += 2;
        this.expr(0);
        this.expectWord('PLACING', 'in OVERLAY(value PLACING text FROM start [FOR length])');
        this.expr(0);
        this.expectWord('FROM', 'in OVERLAY(value PLACING text FROM start [FOR length])');
        this.expr(0);
        if (this.acceptWord('FOR')) this.expr(0);
        this.expectOp(')', '")" closing OVERLAY');
        return VALUE;
      case 'JSON_VALUE':
      case 'JSON_QUERY':
      case 'JSON_EXISTS':
        if (!call) break;
        this.i += 2;
        this.expr(0);
        this.expectOp(',', `"," and a JSON path in ${w}`);
        this.expr(0);
        if (w === 'JSON_VALUE' && this.acceptWord('RETURNING')) this.type(false);
        this.expectOp(')', `")" closing ${w} (the ON EMPTY/ON ERROR clauses are not supported here)`);
        return w === 'JSON_EXISTS' ? CONDITION : VALUE;
      case 'ARRAY':
      case 'MAP':
        if (this.isOp('[', next)) {
          this.i += 2;
          if (!this.acceptOp(']')) this.list(']');
          return VALUE;
        }
        break;
      case 'ROW':
        if (!call) break;
        this.i += 2;
        this.list(')');
        return VALUE;
      default:
    }
    if (CONTEXT_VARIABLES.has(w) && !(call && RESERVED_FUNCTION_NAMES.has(w))) {
      this.i++;
      return VALUE;
    }
    return this.identifier();
  }

  /** A column reference, a qualified name or a function call. */
  private identifier(): Node {
    const start = this.t;
    const path: string[] = [];
    for (;;) {
      const t = this.t;
      const call = this.isOp('(', this.peek());
      if (t.type === 'ident' && (RESERVED_WORDS.has(t.value) || ((RESERVED_FUNCTION_NAMES.has(t.value) || CONTEXT_VARIABLES.has(t.value)) && !(call && path.length === 0)))) {
        if (STATEMENT_WORDS.includes(t.value)) this.fail(`${t.value} starts a statement or clause, not an expression; expected one expression over the record's fields`);
        this.fail(`${t.value} is a reserved word in Flink SQL; expected an expression (write \`${t.text}\` for a column of that name)`);
      }
      if (t.type !== 'ident' && t.type !== 'quoted') this.fail('expected a name after "."');
      path.push(t.type === 'quoted' ? t.value : t.text);
      this.i++;
      if (this.isOp('(')) {
        this.i++;
        this.args();
        return UNKNOWN;
      }
      if (!this.isOp('.')) break;
      this.i++;
    }
    const column: SqlColumnReference = { path, position: start.pos };
    this.columns.push(column);
    return { kind: 'column', column };
  }

  /** Function arguments after "(", through ")". */
  private args(): void {
    if (this.acceptOp(')')) return;
    if (this.acceptOp('*')) {
      this.expectOp(')', '")" after (*)');
      return;
    }
    if (!this.acceptWord('DISTINCT')) this.acceptWord('ALL');
    do {
      if ((this.t.type === 'ident' || this.t.type === 'quoted') && this.isOp('=>', this.peek())) this.i += 2;
      this.expr(0);
    } while (this.acceptOp(','));
    this.expectOp(')', '"," or ")" in the argument list');
  }

  private caseExpr(): Node {
    this.i++;
    const simple = !this.isWord('WHEN');
    if (simple) this.expr(0);
    if (!this.isWord('WHEN')) this.fail('expected WHEN after CASE');
    let result: SqlValueKind | undefined;
    const merge = (n: Node) => { result = result === undefined || result === n.kind ? n.kind : 'unknown'; };
    while (this.acceptWord('WHEN')) {
      if (simple) do this.expr(0); while (this.acceptOp(','));
      else this.expr(0);
      this.expectWord('THEN', 'after the WHEN condition');
      merge(this.expr(0));
    }
    if (this.acceptWord('ELSE')) merge(this.expr(0));
    this.expectWord('END', 'closing CASE (or WHEN, ELSE)');
    return result === 'condition' ? CONDITION : UNKNOWN;
  }

  private unit(units: string[], where: string): void {
    const t = this.t;
    if (t.type !== 'ident' || !units.includes(t.value)) this.fail(`expected a time unit in ${where}: ${units.join(', ')}`);
    this.i++;
  }

  private precision(max: number): void {
    if (!this.acceptOp('(')) return;
    let n = 0;
    do {
      if (this.t.type !== 'number' || !/^[0-9]+$/.test(this.t.value)) this.fail('expected a whole number (a precision or length)');
      this.i++;
      n++;
    } while (n < max && this.acceptOp(','));
    this.expectOp(')', '")" after the precision');
  }

  /** `unit [(p)] [TO unit [(p)]]`, of an INTERVAL literal or type. */
  private intervalQualifier(): void {
    const t = this.t;
    if (t.type === 'ident' && INTERVAL_PLURALS.includes(t.value)) { this.i++; return; }
    if (t.type !== 'ident' || !(t.value in INTERVAL_UNITS)) this.fail(`expected an interval unit: ${Object.keys(INTERVAL_UNITS).join(', ')}`);
    this.i++;
    this.precision(t.value === 'SECOND' ? 2 : 1);
    if (this.acceptWord('TO')) {
      const to = this.t;
      if (to.type !== 'ident' || !INTERVAL_UNITS[t.value].includes(to.value)) this.fail(`expected ${INTERVAL_UNITS[t.value].join(', ') || 'no TO'} after ${t.value} TO`);
      this.i++;
      if (to.value === 'SECOND') this.precision(1);
    }
  }

  /** A Flink SQL data type; `nested` types (inside ARRAY<..>, ROW<..>) may say NOT NULL. */
  private type(nested: boolean): void {
    const t = this.t;
    if (t.type !== 'ident') this.fail('expected a data type, e.g. STRING, INT, DECIMAL(10, 2), TIMESTAMP(3)');
    this.i++;
    switch (t.value) {
      case 'CHARACTER':
        this.acceptWord('VARYING');
        this.precision(1);
        break;
      case 'CHAR': case 'VARCHAR': case 'BINARY': case 'VARBINARY': case 'TIMESTAMP_LTZ':
        this.precision(1);
        break;
      case 'DECIMAL': case 'DEC': case 'NUMERIC':
        this.precision(2);
        break;
      case 'STRING': case 'BOOLEAN': case 'BYTES': case 'TINYINT': case 'SMALLINT': case 'INT': case 'INTEGER': case 'BIGINT':
      case 'FLOAT': case 'REAL': case 'DATE':
        break;
      case 'DOUBLE':
        this.acceptWord('PRECISION');
        break;
      case 'TIME':
      case 'TIMESTAMP':
        this.precision(1);
        if (this.acceptWord('WITHOUT')) {
          this.expectWord('TIME', 'in WITHOUT TIME ZONE');
          this.expectWord('ZONE', 'in WITHOUT TIME ZONE');
        } else if (t.value === 'TIMESTAMP' && this.acceptWord('WITH')) {
          this.expectWord('LOCAL', 'in WITH LOCAL TIME ZONE');
          this.expectWord('TIME', 'in WITH LOCAL TIME ZONE');
          this.expectWord('ZONE', 'in WITH LOCAL TIME ZONE');
        }
        break;
      case 'INTERVAL':
        this.intervalQualifier();
        break;
      case 'ARRAY':
      case 'MULTISET':
        this.expectOp('<', `"<" and the element type after ${t.value}`);
        this.type(true);
        this.expectOp('>', `">" closing ${t.value}<...>`);
        break;
      case 'MAP':
        this.expectOp('<', '"<" and the key and value types after MAP');
        this.type(true);
        this.expectOp(',', '"," between the key and value types of MAP');
        this.type(true);
        this.expectOp('>', '">" closing MAP<...>');
        break;
      case 'ROW': {
        const close = this.isOp('(') ? ')' : '>';
        if (!this.acceptOp('(')) this.expectOp('<', '"<" or "(" and the fields after ROW');
        do {
          this.name('a field name of the ROW type');
          this.type(true);
          if (this.t.type === 'string') this.i++;
        } while (this.acceptOp(','));
        this.expectOp(close, `"," or "${close}" in the ROW type`);
        break;
      }
      default:
        this.fail(`${t.text} is not a Flink SQL data type; expected e.g. STRING, INT, BIGINT, DOUBLE, BOOLEAN, DECIMAL(10, 2), TIMESTAMP(3), DATE`, t);
    }
    while (this.acceptWord('ARRAY') || this.acceptWord('MULTISET'));
    if (nested) {
      if (this.acceptWord('NOT')) this.expectWord('NULL', 'after NOT in a type');
      else this.acceptWord('NULL');
    }
  }
}

/**
 * Parses `text` as exactly one Flink SQL expression; throws SqlExpressionError naming the
 * position and token where it stops being one.
 */
export function parseSqlExpression(text: string): SqlExpression {
  const parser = new Parser(tokenize(text));
  const node = parser.parseAll();
  return { kind: node.kind, column: node.column, columns: parser.columns };
}
