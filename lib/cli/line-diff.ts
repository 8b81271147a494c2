import { structuredPatch } from 'diff';

/**
 * A unified diff of two texts with `context` lines of context, hunks only (the caller writes
 * the `---`/`+++` header). jsdiff's Myers diff: time and memory grow with the size of the
 * change, not with the product of the two lengths, so a small change to a large manifest is
 * cheap.
 */
export function lineDiff(a: string, b: string, context = 3): string {
  const patch = structuredPatch('a', 'b', withNewline(a), withNewline(b), undefined, undefined, { context });
  let out = '';
  for (const h of patch.hunks) {
    out += `@@ -${h.oldLines ? h.oldStart : h.oldStart - (h.oldStart > 0 ? 1 : 0)},${h.oldLines} +${h.newLines ? h.newStart : h.newStart - (h.newStart > 0 ? 1 : 0)},${h.newLines} @@\n`;
    for (const line of h.lines) if (!line.startsWith('\\')) out += `${line}\n`;
  }
  return out;
}

/** Both sides end with a newline, so a missing final newline is no change of its own. */
function withNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : `${s}\n`;
}
