/**
 * Where synthesis time goes: one `platform` run (what `cdk8s-flink synth` does) under
 * `node --cpu-prof`, summarized by function (self time) and by area (the code a sample was in).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runChild } from './synth';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly jobs: number;
  readonly wallMs: number;
  readonly sampledMs: number;
  /** Functions by self time. */
  readonly functions: ProfileRow[];
  /** Areas (see AREAS) by self time. */
  readonly areas: ProfileRow[];
}

/** Areas of code, by where a sampled function lives; the first match wins. */
const AREAS: [string, RegExp][] = [
  ['waiting for file writes (idle)', /^\(idle\)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['V8 and native code outside JavaScript ((program))', /^\(program\)$/],
  ['cdk8s: resolve values, sort keys', /node_modules\/cdk8s\/lib\/(resolve|_util|api-object|metadata|lazy|json-patch)\.js/],
  ['cdk8s: dependencies, validation, tree', /node_modules\/(cdk8s\/lib\/(app|chart|dependency|names)|constructs\/)/],
  ['cdk8s-plus: k8s JSON converters', /node_modules\/cdk8s-plus-27\/lib\/imports\//],
  ['cdk8s-plus: constructs', /node_modules\/cdk8s-plus-27\//],
  ['monitoring CRD converters (lib/imports)', /\/lib\/imports\//],
  ['YAML emitter (lib/synth/yaml)', /\/lib\/synth\/yaml\.js/],
  ['fast resolution (lib/synth/resolve)', /\/lib\/synth\/resolve\.js/],
  ['Helm chart templating (lib/helm)', /\/lib\/helm\//],
  ['monitoring: rules, dashboard (lib/monitoring)', /\/lib\/monitoring\//],
  ['Flink constructs and configuration (lib/cluster, lib/config, ...)', /\/lib\/(cluster|config|application|session|platform|pipeline|job-source|errors|policy)/],
  ['writing files (lib/synth/write, fs)', /\/lib\/synth\/write\.js|^node:fs|node:internal\/fs|^(open|close|mkdir|writeBuffer|writeString|rmdir|unlink|lstat|readdir|rename|stat|openFileHandle)$/],
  ['module loading', /node:internal\/modules|^(compileFunction|wrapSafe)$/],
  ['regular expressions (callers above)', /^RegExp:/],
];

function areaOf(fn: string, url: string): string {
  for (const [name, re] of AREAS) if (re.test(url) || re.test(fn)) return name;
  return 'other (native functions, Node internals)';
}

/** Summarizes a .cpuprofile: self time per function and per area. */
export function summarizeProfile(p: CpuProfile, top = 15): { sampledMs: number; functions: ProfileRow[]; areas: ProfileRow[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(build[^/]*)\//, '').replace(/^file:\/\//, '');
    const key = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = areaOf(functionName, url);
    areas.set(a, (areas.get(a) ?? 0) + us);
    total += us;
  }
  const rows = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Number(((100 * us) / total).toFixed(1)) }));
  return { sampledMs: Math.round(total / 1000), functions: rows(fns, top), areas: rows(areas, AREAS.length + 1) };
}

/** Profiles one `platform` run at `jobs` jobs. */
export function profileSynthesis(jobs: number): ProfileSummary {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-profile-'));
  try {
    const run = runChild('platform', jobs, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`node --cpu-prof wrote no profile into ${dir}`);
    const s = summarizeProfile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile);
    return { jobs, wallMs: Math.round(run.wallMs), ...s };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
