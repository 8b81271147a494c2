/**
 * A YAML emitter for JSON data (objects, arrays, strings, numbers, booleans, null), in the
 * block style kubectl and Helm print. It is several times faster than a general YAML library
 * on manifests, which matters at thousands of jobs. Strings are written plain only when no
 * YAML 1.1 or 1.2 reader could take them for anything else; multi-line strings become
 * literal blocks; everything else is double-quoted JSON, which is valid YAML.
 *
 * Output is appended to one string (V8 joins the pieces once, at the end), and the rendering
 * of short strings is remembered: keys and most values repeat across objects and jobs.
 */
export function emitYaml(value: unknown): string {
  template = false;
  buf = '';
  try {
    emit(value, 0, false);
    return buf;
  } finally {
    buf = '';
  }
}

/**
 * Emits a Helm template: like `emitYaml`, but the Tpl* nodes below become template actions,
 * and every literal `{{` or `}}` in the data is escaped so Helm prints it unchanged.
 */
export function emitTemplate(value: unknown): string {
  template = true;
  buf = '';
  try {
    emit(value, 0, false);
    return buf;
  } finally {
    template = false;
    buf = '';
  }
}

/** A scalar computed by a template action, written as is: `replicas: {{ .Values.replicas }}`. */
export class TplScalar {
  constructor(public readonly expr: string) {}
}

/** A mapping or list computed by a template: `key:` then `{{- expr | nindent N }}`. */
export class TplBlock {
  constructor(public readonly expr: string) {}
}

/** A multi-line string computed by a template: `key: |` then `{{- expr | nindent N }}`. */
export class TplLiteral {
  constructor(public readonly expr: string) {}
}

/**
 * A string mixing literal text and template actions: `parts` alternate literal text (escaped)
 * and action expressions (`{{ expr }}`), starting with text.
 */
export class TplString {
  constructor(public readonly parts: string[]) {}
}

/** A map entry, or an item of a sequence under a key, present only when the template condition holds. */
export class TplIf {
  constructor(public readonly cond: string, public readonly value: unknown) {}
}

let template = false;
let buf = '';

/** `{{` and `}}` in data, escaped for Helm. */
export function escapeTemplate(s: string): string {
  if (s.indexOf('{{') < 0 && s.indexOf('}}') < 0) return s;
  return s.replace(/\{\{|\}\}/g, (m) => (m === '{{' ? '{{ "{{" }}' : '{{ "}}" }}'));
}

const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./=+:@-]*(?:[ ][A-Za-z0-9_./=+(),-]+)*$/;
// Scalars a YAML 1.1 or 1.2 reader resolves to something other than a string.
const SPECIAL = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?|=|<<|---.*|\.\.\..*)$/;

// Rendered short strings: the plain or quoted form, and its template-escaped form. Bounded:
// cleared when full, so memory stays flat however many jobs are synthesized.
const MEMO_MAX_LENGTH = 200;
const MEMO_MAX_ENTRIES = 50_000;
const scalarMemo = new Map<string, string>();
const templateMemo = new Map<string, string>();

function renderScalar(s: string): string {
  if (s.length > 0 && PLAIN.test(s) && !SPECIAL.test(s) && !/:( |$)/.test(s)) return s;
  // JSON leaves U+0085, U+2028 and U+2029 raw; YAML 1.1 reads them as line breaks.
  return JSON.stringify(s).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A single-line string as YAML: plain, else double-quoted (template-escaped in templates). */
function scalar(s: string): string {
  if (s.length > MEMO_MAX_LENGTH) return template ? escapeTemplate(renderScalar(s)) : renderScalar(s);
  const memo = template ? templateMemo : scalarMemo;
  let r = memo.get(s);
  if (r === undefined) {
    r = template ? escapeTemplate(renderScalar(s)) : renderScalar(s);
    if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
    memo.set(s, r);
  }
  return r;
}

/** Whether a multi-line string survives a literal block unchanged. */
function blockable(s: string): boolean {
  // Control characters change in a block.
  if (/[\r\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(s)) return false;
  // Lines of only blanks, or ending in blanks, are easy to lose in review tools: quote those strings.
  const last = s.charCodeAt(s.length - 1);
  return last !== 32 && last !== 9 && s.indexOf(' \n') < 0 && s.indexOf('\t\n') < 0;
}

const PADS: string[] = [];
function pad(n: number): string {
  return PADS[n] ??= ' '.repeat(n);
}

/** The index of the first key whose value is not undefined, or -1. */
function firstDefined(o: Record<string, unknown>, keys: string[]): number {
  for (let i = 0; i < keys.length; i++) if (o[keys[i]] !== undefined) return i;
  return -1;
}

function emit(v: unknown, indent: number, inSeq: boolean): void {
  if (Array.isArray(v)) {
    if (v.length === 0) { buf += '[]\n'; return; }
    if (!inSeq) buf += '\n';
    const p = pad(indent);
    let first = inSeq;
    for (const item of v) {
      if (!first) buf += p;
      first = false;
      buf += '- ';
      emitInline(item, indent + 2);
    }
    return;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const from = firstDefined(o, keys);
    if (from < 0) { buf += '{}\n'; return; }
    if (!inSeq) buf += '\n';
    emitMapping(o, keys, from, indent, inSeq);
    return;
  }
  emitInline(v, indent);
}

/** The entries of a mapping with at least one defined value (keys[from] is the first). */
function emitMapping(o: Record<string, unknown>, keys: string[], from: number, indent: number, inSeq: boolean): void {
  const p = pad(indent);
  let first = inSeq;
  for (let i = from; i < keys.length; i++) {
    const k = keys[i];
    let x = o[k];
    if (x === undefined) continue;
    let cond: string | undefined;
    if (x instanceof TplIf) {
      cond = x.cond;
      x = x.value;
      // `{{-` trims the line break before it; the entry then starts on a fresh line.
      buf += `${first ? '' : p}{{- if ${cond} }}\n`;
      first = false;
    }
    if (!first) buf += p;
    first = false;
    buf += scalar(k);
    buf += ':';
    if (x instanceof TplBlock) {
      buf += `\n${p}  {{- ${x.expr} | nindent ${indent + 2} }}\n`;
    } else if (x instanceof TplLiteral) {
      buf += ` |\n${p}  {{- ${x.expr} | nindent ${indent + 2} }}\n`;
    } else if (Array.isArray(x) && x.length > 0) {
      // Sequences under a key are indented by two, as kubectl does.
      buf += '\n';
      for (const item of x) {
        // An item that only some values render: `{{- if cond }}` on its own line around it.
        if (item instanceof TplIf) {
          buf += `${p}  {{- if ${item.cond} }}\n${p}  - `;
          emitInline(item.value, indent + 4);
          buf += `${p}  {{- end }}\n`;
          continue;
        }
        buf += p;
        buf += '  - ';
        emitInline(item, indent + 4);
      }
    } else if (x !== null && typeof x === 'object' && !(x instanceof TplScalar) && !(x instanceof TplString)) {
      const xo = x as Record<string, unknown>;
      const xk = Object.keys(xo);
      const xf = firstDefined(xo, xk);
      if (xf >= 0) {
        buf += '\n';
        emitMapping(xo, xk, xf, indent + 2, false);
      } else {
        buf += ' ';
        emitInline(x, indent + 2);
      }
    } else {
      buf += ' ';
      emitInline(x, indent + 2);
    }
    if (cond !== undefined) buf += `${p}{{- end }}\n`;
  }
}

/** Emits a value that starts on the current line (after "key: " or "- "). */
function emitInline(v: unknown, indent: number): void {
  if (typeof v === 'string') {
    if (v.indexOf('\n') >= 0 && blockable(v)) {
      buf += template ? escapeTemplate(block(v, indent)) : block(v, indent);
      return;
    }
    buf += scalar(v);
    buf += '\n';
    return;
  }
  if (v === null || v === undefined) { buf += 'null\n'; return; }
  if (typeof v === 'boolean') { buf += v ? 'true\n' : 'false\n'; return; }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    buf += `${v}\n`;
    return;
  }
  if (v instanceof TplScalar) { buf += `${v.expr}\n`; return; }
  if (v instanceof TplString) { buf += tplString(v, indent); return; }
  if (typeof v === 'object') {
    emit(v, indent, true);
    return;
  }
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

const TOKEN_MARK = '\u00a7\u00a7';
const TOKENS = /\u00a7\u00a7(\d+)\u00a7\u00a7/g;

/** A TplString: its text rendered with tokens for the actions and escaped, then the actions put in. */
function tplString(v: TplString, indent: number): string {
  const token = (i: number) => `${TOKEN_MARK}${i}${TOKEN_MARK}`;
  const text = v.parts.map((p, i) => (i % 2 ? token(i) : p)).join('');
  const rendered = text.indexOf('\n') >= 0 && blockable(text) ? escapeTemplate(block(text, indent)) : `${escapeTemplate(JSON.stringify(text))}\n`;
  // Neither rendering splits or repeats a token. When no part holds the token mark, each token
  // occurs once and is ours: put every action in with one pass.
  if (v.parts.every((p) => p.indexOf('\u00a7') < 0)) {
    return rendered.replace(TOKENS, (m, i: string) => (Number(i) % 2 && Number(i) < v.parts.length ? `{{ ${v.parts[Number(i)]} }}` : m));
  }
  let out = rendered;
  v.parts.forEach((p, i) => { if (i % 2) out = out.split(token(i)).join(`{{ ${p} }}`); });
  return out;
}

/** A literal block scalar keeping the string exactly (chomping and indentation indicators as needed). */
function block(s: string, indent: number): string {
  let trailing = 0;
  while (trailing < s.length && s.charCodeAt(s.length - 1 - trailing) === 10) trailing++;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing === 0 ? s : s.slice(0, s.length - trailing);
  const p = pad(indent);
  const first = body.charCodeAt(0);
  const indicator = first === 32 || first === 9 ? '2' : '';
  const extra = trailing > 1 ? '\n'.repeat(trailing - 1) : '';
  // Every line that is not empty, indented.
  const lead = body.length > 0 && first !== 10 ? p : '';
  // Without empty lines every line break is followed by a line to indent.
  const lines = body.indexOf('\n\n') < 0 ? body.replaceAll('\n', `\n${p}`) : body.replace(/\n(?=[^\n])/g, `\n${p}`);
  return `|${indicator}${chomp}\n${lead}${lines}\n${extra}`;
}
