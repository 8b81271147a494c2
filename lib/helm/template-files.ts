/** The one template file that holds every object of a chart but those kept apart (see templatesInOneFile). */
export const OBJECTS_TEMPLATE = 'templates/resources.yaml';

/**
 * The chart's object templates in one file: `templates/resources.yaml` holds every object,
 * generated or added, as documents ordered by kind and then by the name each object's own file
 * would have had (`<kind>-<name>.yaml`, `added-<kind>-<name>.yaml`, `<kind>.yaml`). Helm sorts a
 * release's objects by kind only, keeping their order within a kind, so `helm template` gives
 * the same objects in the same order as with one file per object or per kind; only its
 * `# Source:` comments name the one file. Fewer files make a synthesis of many charts faster
 * (creating a file costs more than its bytes: bench/README.md). `_helpers.tpl`, `NOTES.txt`,
 * tests and the files in `keep` (a template another one reads, such as the Flink configuration
 * the pods' checksum hashes) stay files of their own.
 */
export function templatesInOneFile(files: Record<string, string>, keep: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const docs: { kind: string; file: string; text: string }[] = [];
  for (const f of Object.keys(files).sort()) {
    const m = /^templates\/(?:added-)?([a-z0-9]+)(?:-[^/]*)?\.yaml$/.exec(f);
    if (!m || keep.includes(f)) {
      out[f] = files[f];
      continue;
    }
    if (f === OBJECTS_TEMPLATE) throw new Error(`${f} is the chart's one objects template; no template of its own may have that name`);
    docs.push({ kind: m[1], file: f, text: files[f].endsWith('\n') ? files[f] : `${files[f]}\n` });
  }
  docs.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  if (docs.length) out[OBJECTS_TEMPLATE] = docs.map((d, i) => (i === 0 ? d.text : separated(d.text))).join('');
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
