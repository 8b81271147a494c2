import { OptionCatalog } from '../config/catalog';
import { FlinkVersion } from '../config/flink-version';
import { ENUM_WHAT, enumExpected, MAP_RULE, NUMBER_THEN_UNIT, OptionType, PLACEHOLDER, RANGES, VALUE_RULES } from '../config/option-values';
import { goString } from './context';

/**
 * The chart's check of `flinkConfiguration` values: the rules of lib/config/option-values.ts
 * (VALUE_RULES, RANGES, enums, maps), keyed by the catalog of the chart's Flink version, as a
 * compact table in _helpers.tpl that a `fail` reads (one line naming key, value and expectation).
 *
 * Size: the table names ~800 typed keys (current and deprecated names) of types that constrain
 * values (strings need no entry). By their first dotted word, they are a regex each, a trie of
 * the rest of the names, each ending in `=.*<code>`: matched against `<rest of key>=<all codes>`,
 * the match ends at the key's type code. One trie for all types shares the keys' common prefixes
 * across types; dots are written as "/" (which no key holds) in the trie and in the key matched,
 * sparing the escapes; splitting by the first word keeps each regex helm compiles (per key
 * checked, per inclusion of the check) small.
 */

/** A type a key can have: a VALUE_RULES type (with one of RANGES), a map, or an enum (list). */
export interface ChartOptionType {
  readonly kind: string;
  readonly range?: number;
  readonly values?: readonly string[];
}

export interface ChartOptionRules {
  /** One character per type, in the order of `types`. */
  readonly codes: string;
  readonly types: readonly ChartOptionType[];
  /**
   * By a key's first dotted word, a regex matching `<rest of the key>=<codes>` (dots written "/")
   * for every typed key that starts so; the match ends at the key's code.
   */
  readonly keys: Readonly<Record<string, string>>;
}

/** A key's first dotted word, and the rest with dots written "/" (as the table and the template split it). */
export function splitKey(key: string): [string, string] {
  const first = key.replace(/[.].*/, '');
  return [first, key.slice(first.length).replace(/\./g, '/')];
}

/** The code of a key's type in the table (as the template finds it), or "" when its values are not checked. */
export function keyCode(rules: ChartOptionRules, key: string): string {
  const [first, rest] = splitKey(key);
  const re = Object.prototype.hasOwnProperty.call(rules.keys, first) ? rules.keys[first] : '';
  return (new RegExp(re).exec(`${rest}=${rules.codes}`)?.[0] ?? '').slice(-1);
}

const CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&,/:;<>@_~';

/** The type a key's value is checked as, or undefined when its type takes any text. */
export function chartOptionType(option: OptionType): ChartOptionType | undefined {
  if (option.enumValues && option.enumValues.length > 0) {
    return { kind: option.type.startsWith('List<') ? 'EnumList' : 'Enum', values: option.enumValues };
  }
  if (option.type === 'Map') return { kind: 'Map' };
  if (!VALUE_RULES[option.type]) return undefined;
  const range = VALUE_RULES[option.type].numeric ? RANGES.findIndex((r) => r.key.test(option.key)) : -1;
  return range >= 0 ? { kind: option.type, range } : { kind: option.type };
}

interface Compiled { readonly rules: ChartOptionRules; readonly tables: string; readonly check: string }

const cache = new Map<string, Compiled>();

/** The table for a version's catalog, or undefined for versions without one (1.18, 1.19). */
export function chartOptionRules(version: FlinkVersion): ChartOptionRules | undefined {
  return cached(version)?.rules;
}

function cached(version: FlinkVersion): Compiled | undefined {
  const catalog = OptionCatalog.for(version);
  if (!catalog) return undefined;
  const id = catalog.flinkVersion;
  if (!cache.has(id)) {
    const types: ChartOptionType[] = [];
    const ids = new Map<string, number>();
    const entries = new Map<string, string[]>();
    for (const [key, option] of catalog.typedKeys()) {
      const type = chartOptionType(option);
      if (!type) continue;
      const typeId = JSON.stringify(type);
      if (!ids.has(typeId)) {
        if (types.length === CODE_ALPHABET.length) throw new Error(`the Flink ${version.line} catalog has more value types than the chart's table can code`);
        ids.set(typeId, types.length);
        types.push(type);
      }
      const [first, rest] = splitKey(key);
      entries.set(first, [...entries.get(first) ?? [], `${rest}\u0000${CODE_ALPHABET[ids.get(typeId)!]}`]);
    }
    const keys = Object.fromEntries([...entries.keys()].sort().map((first) => [first, `^${trieRegex(entries.get(first)!.sort())}`]));
    const rules = { codes: CODE_ALPHABET.slice(0, types.length), types, keys };
    cache.set(id, { rules, ...templates(rules) });
  }
  return cache.get(id);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Trie { [ch: string]: Trie }

/**
 * A regex that matches exactly the given strings, factored by their common prefixes (plain
 * groups: fewer bytes than `(?:`); NUL is written as `=.*` (the separator, then the codes up
 * to the key's own).
 */
export function trieRegex(words: string[]): string {
  const root: Trie = {};
  for (const w of words) {
    let node = root;
    for (const ch of w) node = node[ch] ??= {};
  }
  const emit = (node: Trie): string => {
    const alternatives = Object.keys(node).sort().map((ch) => (ch === '\u0000' ? '=.*' : escape(ch)) + emit(node[ch]));
    return alternatives.length <= 1 ? alternatives.join('') : `(${alternatives.join('|')})`;
  };
  return emit(root);
}

/**
 * The Go templates of the check: `tables` sets the tables (before the range over
 * flinkConfiguration), `check` checks `$k` and `$v` (inside it). Empty without a catalog.
 */
export function optionValueChecks(version: FlinkVersion): { tables: string; check: string } {
  const c = cached(version);
  return { tables: c?.tables ?? '', check: c?.check ?? '' };
}

function templates(rules: ChartOptionRules): { tables: string; check: string } {
  const used = [...new Set(rules.types.map((t) => t.kind))].filter((k) => VALUE_RULES[k]);
  const valueRules = used.map((name) => {
    const r = VALUE_RULES[name];
    const max = Object.entries(r.max ?? {}).flatMap(([unit, m]) => [goString(unit), goString(String(m))]);
    if (r.max) max.push('"-"', goString(String(r.max[''] + 1n)));
    return ` ${goString(name)} (list ${goString(r.what)} ${goString(r.expected)} ${goString(r.pattern)} ${!!r.trim} ${!!r.lower} (dict${max.map((m) => ` ${m}`).join('')}) ${!!r.numeric})`;
  }).join('');
  const ranges = RANGES.map((r) => ` (list ${goString(String(r.min))} ${goString(r.max === undefined ? '' : String(r.max))} ${goString(r.below === undefined ? '' : String(r.below))} ${!!r.orDefault} ${goString(r.expected)})`).join('');
  const types = rules.types.map((t, i) => ` ${goString(rules.codes[i])} (list ${goString(t.kind)} ${goString(t.range === undefined ? '' : String(t.range))} ${goString((t.values ?? []).join(','))})`).join('');
  const fail = (what: string, expected: string) => `{{- fail (printf "flinkConfiguration[%q]: %s is not %s; %s" $k $shown ${what} ${expected}) -}}`;
  return {
    tables: `{{- $flinkKeys := dict${Object.entries(rules.keys).map(([first, re]) => ` ${goString(first)} ${goString(re)}`).join('')} -}}
{{- $flinkTypes := dict${types} -}}
{{- $valueRules := dict${valueRules} -}}
{{- $ranges := list${ranges} -}}
{{- $numberThenUnit := ${goString(NUMBER_THEN_UNIT.source)} -}}
`,
    check: `{{- $first := regexReplaceAll "[.].*" $k "" -}}
{{- $code := trunc -1 (regexFind (get $flinkKeys $first) (printf "%s=%s" (replace "." "/" (trimPrefix $first $k)) ${goString(rules.codes)})) -}}
{{- if and $code (not (and (kindIs "string" $v) (regexMatch ${goString(PLACEHOLDER.source)} $v))) -}}
{{- $t := ternary $v (toJson $v) (kindIs "string" $v) -}}
{{- $shown := ternary (printf "%q" $v) (toJson $v) (kindIs "string" $v) -}}
{{- $type := get $flinkTypes $code -}}
{{- $kind := index $type 0 -}}
{{- $split := not (regexMatch "['\\"]" $t) -}}
{{- if eq $kind "Map" -}}
{{- range $entry := ternary (splitList "," $t) (list) $split -}}
{{- if and (trim $entry) (ne (len (splitList ":" $entry)) 2) -}}
${fail(goString(MAP_RULE.what), goString(MAP_RULE.expected))}
{{- end -}}
{{- end -}}
{{- else if hasPrefix "Enum" $kind -}}
{{- $accepted := index $type 2 -}}
{{- range $item := ternary (ternary (splitList ";" $t) (list) $split) (list $t) (eq $kind "EnumList") -}}
{{- if and (or (eq $kind "Enum") (trim $item)) (not (has (upper $item) (splitList "," (upper $accepted)))) -}}
${fail(goString(ENUM_WHAT), `(printf ${goString(enumExpected(['%s']))} (replace "," ", " $accepted))`)}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $rule := get $valueRules $kind -}}
{{- $u := $t -}}
{{- if index $rule 3 }}{{ $u = trim $u }}{{ end -}}
{{- if index $rule 4 }}{{ $u = lower $u }}{{ end -}}
{{- $ok := regexMatch (index $rule 2) $u -}}
{{- $max := index $rule 5 -}}
{{- if and $ok $max -}}
{{- $bare := trimPrefix "+" (trimPrefix "-" $u) -}}
{{- $digits := regexReplaceAll "^0*" (regexReplaceAll $numberThenUnit $bare "$\{1}") "" -}}
{{- $limit := ternary (get $max "-") (get $max (regexReplaceAll $numberThenUnit $bare "$\{2}") | default (get $max "")) (hasPrefix "-" $u) -}}
{{- $ok = or (lt (len $digits) (len $limit)) (and (eq (len $digits) (len $limit)) (le $digits $limit)) -}}
{{- end -}}
{{- if not $ok -}}
${fail('(index $rule 0)', '(index $rule 1)')}
{{- end -}}
{{- with index $type 1 -}}
{{- $r := index $ranges (atoi .) -}}
{{- $n := float64 (regexReplaceAll "[fFdD]$" $u "") -}}
{{- if not (or (and (ge $n (float64 (index $r 0))) (or (not (index $r 1)) (le $n (float64 (index $r 1)))) (or (not (index $r 2)) (lt $n (float64 (index $r 2))))) (and (index $r 3) (eq $n -1.0))) -}}
{{- fail (printf "flinkConfiguration[%q]: %s is out of range; %s" $k $shown (index $r 4)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
`,
  };
}
