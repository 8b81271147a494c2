/**
 * A tokenizer-level check of SQL text spliced into generated statements (a pipeline's filters
 * and derived columns): the text must stay one expression where it is put. It is not a SQL
 * parser: it follows string literals ('...'), quoted identifiers (`...` and "...") and
 * parentheses the way the runtime's SQL runner splits scripts, and refuses what could end the
 * clause or hide the rest of it, so an error in the expression itself is still Flink's to
 * report, but it cannot turn into another clause or statement.
 */

/** Why `text` cannot be spliced as one expression, or undefined when it can. */
export function sqlFragmentProblem(text: string, allowTopLevelComma: boolean): string | undefined {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "'" || c === '"' || c === '`') {
      // A quote ends at the next lone quote of its kind; a doubled one is an escaped quote.
      let j = i + 1;
      for (;;) {
        const k = text.indexOf(c, j);
        if (k < 0) return `has an unbalanced ${c} quote`;
        if (text[k + 1] === c) { j = k + 2; continue; }
        i = k + 1;
        break;
      }
      continue;
    }
    if (c === '-' && next === '-') return 'has a "--" comment, which hides the rest of the clause';
    if (c === '/' && next === '*') return 'has a "/*" comment, which hides the rest of the clause';
    if (c === ';') return 'has ";", which ends the statement';
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) return 'closes a parenthesis it did not open, which ends the clause';
    if (c === ',' && depth === 0 && !allowTopLevelComma) return 'has a "," outside parentheses, which starts another item of the clause';
    i++;
  }
  if (depth > 0) return 'leaves a parenthesis open';
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
