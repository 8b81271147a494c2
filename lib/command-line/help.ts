import { CommandDecl, OptionDecl, ProgramDecl } from './declaration';
import { placeholder, takesValue } from './parse';

const WIDTH = 100;

/** Words of `text` in lines of at most WIDTH characters, each indented by `indent`. */
export function wrap(text: string, indent = ''): string {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && indent.length + line.length + 1 + word.length > WIDTH) {
        lines.push(indent + line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(indent + line);
  }
  return lines.join('\n');
}

/** Aligned two-column rows; a long second column wraps under itself, a first column wider than 30 characters stands on a line of its own. */
function columns(rows: [string, string][]): string {
  const w = Math.min(30, Math.max(...rows.map(([a]) => a.length)));
  const indent = ' '.repeat(w + 4);
  return rows.map(([a, b]) => {
    const text = wrap(b, indent);
    return (a.length > w ? `  ${a}\n${text}` : `  ${a.padEnd(w)}  ${text.slice(indent.length)}`).trimEnd();
  }).join('\n');
}

/** The option rows of a help text: `-n, --namespace <ns>  what it is [env X]`. */
export function formatOptions(options: readonly OptionDecl[]): string {
  return columns(options.filter((o) => !o.hidden).map((o) => [
    `${o.short ? `-${o.short}, ` : '    '}--${o.name}${takesValue(o) ? ` ${placeholder(o)}` : ''}`,
    [o.description, o.type === 'integer' && o.min !== undefined ? `(${o.max === undefined ? `>= ${o.min}` : `${o.min} to ${o.max}`})` : '', o.required ? '(required)' : '', o.repeat && !/repeat/.test(o.description) ? '(repeatable)' : '', o.env ? `[env ${o.env}]` : ''].filter(Boolean).join(' '),
  ]));
}

/** `cdk8s-flink deploy <job> [options]`: positionals and required options from the declaration. */
export function synopsis(program: ProgramDecl, c: CommandDecl): string {
  const positionals = (c.positionals ?? []).map((p) => {
    const name = p.choices ? p.choices.join('|') : p.name;
    return p.required ? `<${name}>` : `[${name}]`;
  });
  const required = c.options.filter((o) => o.required).map((o) => `--${o.name} ${placeholder(o)}`);
  return [program.name, c.name, ...positionals, ...required, '[options]'].join(' ');
}

function exitCodes(program: ProgramDecl): string {
  return `Exit codes:\n${columns(program.exitCodes.map(([code, meaning]) => [String(code), meaning]))}`;
}

/** The overview: every command with its summary, the global options, the exit codes. */
export function programHelp(program: ProgramDecl): string {
  const all = program.groups.flatMap((g) => g.commands);
  const w = Math.max(...all.map((c) => c.name.length));
  const groups = program.groups.map((g) => `${g.title ? `${g.title}:` : 'Commands:'}\n${g.commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}`);
  return [
    `${program.name} ${program.version}: ${program.title}`,
    `Usage: ${program.name} <command> [options]`,
    ...groups,
    `Options:\n${formatOptions([...program.globalOptions, { name: 'version', description: 'print the version' }])}`,
    ...(program.notes ? [wrap(program.notes)] : []),
    `Run "${program.name} <command> --help" for a command's options and examples.`,
    exitCodes(program),
  ].join('\n\n') + '\n';
}

/** One command's help: summary, usage, details, options (its own, then the global ones), examples, exit codes. */
export function commandHelp(program: ProgramDecl, c: CommandDecl): string {
  return [
    c.summary,
    `Usage: ${synopsis(program, c)}`,
    ...(c.details ? [wrap(c.details)] : []),
    `Options:\n${formatOptions([...c.options, ...program.globalOptions])}`,
    `Examples:\n${c.examples.map((e) => `  ${e}`).join('\n')}`,
    exitCodes(program),
  ].join('\n\n') + '\n';
}
