/**
 * A YAML emitter for JSON data (objects, arrays, strings, numbers, booleans, null), in the
 * block style kubectl and Helm print. It is several times faster than a general YAML library
 * on manifests, which matters at thousands of jobs. Strings are written plain only when no
 * YAML 1.1 or 1.2 reader could take them for anything else; multi-line strings become
 * literal blocks; everything else is double-quoted JSON, which is valid YAML.
 */
export function emitYaml(value: unknown): string {
  const out: string[] = [];
  template = false;
  emit(value, 0, out, false);
  return out.join('');
}

/**
 * Emits a Helm template: like `emitYaml`, but the Tpl* nodes below become template actions,
 * and every literal `{{` or `}}` in the data is escaped so Helm prints it unchanged.
 */
export function emitTemplate(value: unknown): string {
  const out: string[] = [];
  template = true;
  try {
    emit(value, 0, out, false);
  } finally {
    template = false;
  }
  return out.join('');
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

/** A map entry present only when the template condition holds. */
export class TplIf {
  constructor(public readonly cond: string, public readonly value: unknown) {}
}

let template = false;

/** `{{` and `}}` in data, escaped for Helm. */
export function escapeTemplate(s: string): string {
  return s.replace(/\{\{|\}\}/g, (m) => (m === '{{' ? '{{ "{{" }}' : '{{ "}}" }}'));
}

const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./=+:@-]*(?:[ ][A-Za-z0-9_./=+(),-]+)*$/;
// Scalars a YAML 1.1 or 1.2 reader resolves to something other than a string.
const SPECIAL = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?|=|<<|---.*|\.\.\..*)$/;

function scalar(s: string): string {
  if (s.length > 0 && PLAIN.test(s) && !SPECIAL.test(s) && !/:( |$)/.test(s)) return s;
  // JSON leaves U+0085, U+2028 and U+2029 raw; YAML 1.1 reads them as line breaks.
  return JSON.stringify(s).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whether a multi-line string survives a literal block unchanged. */
function blockable(s: string): boolean {
  if (/[\r\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(s)) return false;
  // Lines of only blanks, or ending in blanks, are easy to lose in review tools: quote those strings.
  return !/[ \t](\n|$)/.test(s);
}

function key(k: string): string {
  return template ? escapeTemplate(scalar(k)) : scalar(k);
}

function emit(v: unknown, indent: number, out: string[], inSeq: boolean): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) { out.push('[]\n'); return; }
    if (!inSeq) out.push('\n');
    let first = inSeq;
    for (const item of v) {
      if (!first) out.push(pad);
      first = false;
      out.push('- ');
      emitInline(item, indent + 2, out);
    }
    return;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) { out.push('{}\n'); return; }
    if (!inSeq) out.push('\n');
    let first = inSeq;
    for (const [k, raw] of entries) {
      let x = raw;
      let cond: string | undefined;
      if (x instanceof TplIf) {
        cond = x.cond;
        x = x.value;
        // `{{-` trims the line break before it; the entry then starts on a fresh line.
        out.push(first ? '' : pad, `{{- if ${cond} }}\n`);
        first = false;
      }
      if (!first) out.push(pad);
      first = false;
      out.push(key(k), ':');
      if (x instanceof TplBlock) {
        out.push('\n', pad, '  ', `{{- ${x.expr} | nindent ${indent + 2} }}\n`);
      } else if (x instanceof TplLiteral) {
        out.push(' |\n', pad, '  ', `{{- ${x.expr} | nindent ${indent + 2} }}\n`);
      } else if (Array.isArray(x) && x.length > 0) {
        // Sequences under a key are indented by two, as kubectl does.
        out.push('\n');
        for (const item of x) {
          out.push(pad, '  - ');
          emitInline(item, indent + 4, out);
        }
      } else if (x !== null && typeof x === 'object' && !(x instanceof TplScalar) && !(x instanceof TplString) && Object.keys(x).some((kk) => (x as any)[kk] !== undefined)) {
        emit(x, indent + 2, out, false);
      } else {
        out.push(' ');
        emitInline(x, indent + 2, out);
      }
      if (cond !== undefined) out.push(pad, '{{- end }}\n');
    }
    return;
  }
  emitInline(v, indent, out);
}

/** Emits a value that starts on the current line (after "key: " or "- "). */
function emitInline(v: unknown, indent: number, out: string[]): void {
  if (v === null || v === undefined) { out.push('null\n'); return; }
  if (v instanceof TplScalar) { out.push(v.expr, '\n'); return; }
  if (v instanceof TplString) {
    // Render with tokens for the actions, escape the literal text, then put the actions in.
    const token = (i: number) => `\u00a7\u00a7${i}\u00a7\u00a7`;
    const text = v.parts.map((p, i) => (i % 2 ? token(i) : p)).join('');
    let rendered = text.includes('\n') && blockable(text) ? escapeTemplate(block(text, indent)) : `${escapeTemplate(JSON.stringify(text))}\n`;
    v.parts.forEach((p, i) => { if (i % 2) rendered = rendered.split(token(i)).join(`{{ ${p} }}`); });
    out.push(rendered);
    return;
  }
  if (typeof v === 'boolean') { out.push(v ? 'true\n' : 'false\n'); return; }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    out.push(String(v), '\n');
    return;
  }
  if (typeof v === 'string') {
    if (v.includes('\n') && blockable(v)) {
      out.push(template ? escapeTemplate(block(v, indent)) : block(v, indent));
      return;
    }
    out.push(template ? escapeTemplate(scalar(v)) : scalar(v), '\n');
    return;
  }
  if (Array.isArray(v) || typeof v === 'object') {
    emit(v, indent, out, true);
    return;
  }
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

/** A literal block scalar keeping the string exactly (chomping and indentation indicators as needed). */
function block(s: string, indent: number): string {
  let trailing = 0;
  while (trailing < s.length && s.charCodeAt(s.length - 1 - trailing) === 10) trailing++;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing === 0 ? s : s.slice(0, s.length - trailing);
  const lines = body.split('\n');
  const pad = ' '.repeat(indent);
  const indicator = /^[ \t]/.test(lines[0]) ? String(2) : '';
  const extra = trailing > 1 ? '\n'.repeat(trailing - 1) : '';
  const padded = indicator ? ' '.repeat(indent) : pad;
  return `|${indicator}${chomp}\n${lines.map((l) => (l.length ? padded + l : '')).join('\n')}\n${extra}`;
}
