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
  for (const [file, texts] of kinds) out[file] = texts.join('---\n');
  return out;
}
