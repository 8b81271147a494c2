/**
 * The checks of SQL text spliced into generated statements (a pipeline's filters and derived
 * columns): each must parse as exactly one Flink SQL expression (./sql-expression), a filter one
 * that can be a condition, and read only the source's fields.
 */
import { ValidationError } from '../errors';
import { parseSqlExpression, SqlColumnReference, SqlExpressionError } from './sql-expression';

/** The table the generated view reads, by which a column may be qualified (`source.status`). */
const SOURCE_TABLE = 'source';
/**
 * Functions Flink's validator calls without parentheses when no column has the name (Calcite's
 * function-identifier syntax, any case); the other such names are context variables, which the
 * parser knows as reserved words.
 */
const NILADIC_FUNCTIONS = ['PI'];

/**
 * Checks `text` at `field` as one SQL condition (a filter) or expression (a derived column)
 * over the source fields `fields` (name -> SQL type), throwing a ValidationError that names the
 * position and token where it goes wrong. Filters and derived columns are computed in one step
 * from the source record, so neither can read a derived column or the count.
 */
export function checkSqlExpression(field: string, text: unknown, what: 'condition' | 'expression', fields: Readonly<Record<string, string>>): void {
  const expected = `one SQL ${what}`;
  if (typeof text !== 'string' || text.trim() === '') throw new ValidationError(field, text, `is invalid; expected ${expected}, e.g. ${what === 'condition' ? "level = 'ERROR'" : 'UPPER(service)'}`);
  let parsed;
  try {
    parsed = parseSqlExpression(text);
  } catch (e) {
    if (!(e instanceof SqlExpressionError)) throw e;
    throw new ValidationError(field, text, `is not ${expected}: at position ${e.position}, ${e.token}: ${e.problem}`);
  }
  for (const ref of parsed.columns) {
    const problem = columnProblem(ref, fields);
    if (problem) throw new ValidationError(field, text, `reads an unknown column: at position ${ref.position}, ${problem}`);
  }
  if (what === 'condition') {
    if (parsed.kind === 'value') throw new ValidationError(field, text, 'is a value, not a condition; expected one SQL condition that is TRUE or FALSE, e.g. status >= 500');
    const column = parsed.column?.path[parsed.column.path.length - 1];
    if (parsed.kind === 'column' && column !== undefined && fields[column] !== 'BOOLEAN') {
      throw new ValidationError(field, text, `is the ${fields[column]} field ${column}, not a condition; expected one SQL condition that is TRUE or FALSE, or a BOOLEAN field`);
    }
  }
}

function columnProblem(ref: SqlColumnReference, fields: Readonly<Record<string, string>>): string | undefined {
  const path = ref.path.length > 1 && ref.path[0] === SOURCE_TABLE && ref.path[1] in fields ? ref.path.slice(1) : ref.path;
  const [name, ...rest] = path;
  const shown = ref.path.join('.');
  const names = Object.keys(fields);
  if (!Object.prototype.hasOwnProperty.call(fields, name)) {
    if (ref.path.length === 1 && NILADIC_FUNCTIONS.includes(name.toUpperCase())) return undefined;
    const other = names.find((n) => n.toLowerCase() === name.toLowerCase());
    return `${JSON.stringify(shown)} is not a source field${other ? ` (names are case-sensitive: the field is ${other})` : ''}; expected one of ${names.join(', ')} (derived columns and the count are computed alongside, not readable here)`;
  }
  if (rest.length) return `${JSON.stringify(shown)} reads a part of the ${fields[name]} field ${name}, which has none; expected a source field (${names.join(', ')})`;
  return undefined;
}

/** Names `NAME` of the `${env:NAME}` references in a script, in order of appearance, unique. */
export function envReferences(script: string): string[] {
  const out: string[] = [];
  for (const m of script.matchAll(/\$\{env:([^}]*)\}/g)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}

/** Column names the generated SQL uses itself, which a field or derived column may not take. */
export const SQL_RESERVED_COLUMNS = ['proc_time'];
