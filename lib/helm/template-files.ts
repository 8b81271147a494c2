/**
 * The chart's object templates, one file per kind: `templates/<kind>.yaml` holds every object of
 * that kind, generated or added, as documents in the order of their names
 * (`<kind>-<name>.yaml`, `added-<kind>-<name>.yaml`, `<kind>.yaml`). Helm renders files in path
 * order and then sorts objects by kind only, keeping that order within a kind, so `helm template`
 * gives the same objects in the same order as with one file per object; only its `# Source:`
 * comments name the kind's file. Fewer files make a synthesis of many charts faster (writing
 * a file costs more than its bytes: bench/README.md). `_helpers.tpl`, `NOTES.txt`, tests and the
 * files in `keep` (a template another one reads, such as the Flink configuration) stay files of
 * their own.
 */
export function templatesByKind(files: Record<string, string>, keep: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const kinds = new Map<string, string[]>();
  for (const f of Object.keys(files).sort()) {
    const m = /^templates\/(?:added-)?([a-z0-9]+)(?:-[^/]*)?\.yaml$/.exec(f);
    if (!m || keep.includes(f)) {
      out[f] = files[f];
      continue;
    }
    const file = `templates/${m[1]}.yaml`;
    const text = files[f].endsWith('\n') ? files[f] : `${files[f]}\n`;
    kinds.set(file, [...(kinds.get(file) ?? []), text]);
  }
  for (const [file, texts] of kinds) out[file] = texts.map((t, i) => (i === 0 ? t : separated(t))).join('');
  return out;
}

/**
 * A document after the first of its file, with its `---` separator. A document that is all one
 * `{{- if }}` (a switch such as `serviceAccount.create`) gets the separator inside it: switched
 * off, it leaves no empty document behind (Helm does not split `---` right after `---`, so an
 * empty one would put a literal `---` into the next object's text).
 */
function separated(text: string): string {
  const first = text.indexOf('\n') + 1;
  const whole = /^\{\{- if [^\n]*\}\}\n/.test(text) && text.endsWith('{{- end }}\n') && balanced(text.slice(first, -'{{- end }}\n'.length));
  return whole ? `${text.slice(0, first)}---\n${text.slice(first)}` : `---\n${text}`;
}

/** No `{{ end }}` in `body` closes a block opened before it: the opening `if` spans the whole text. */
function balanced(body: string): boolean {
  let depth = 0;
  for (const m of body.matchAll(/\{\{-?\s*(if|range|with|define|block|end)\b/g)) {
    depth += m[1] === 'end' ? -1 : 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}
