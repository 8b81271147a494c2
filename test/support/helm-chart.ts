/** Writing a synthesized chart out and rendering it with a real helm binary, for the chart tests. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { OBJECTS_TEMPLATE } from '../../lib/helm/template-files';
import { SynthesizedUnit } from '../../lib/synth/synthesize';
import { scratchDir } from './scratch';

/** Writes a unit's chart into `dir/<unit>` (a new temporary folder by default); returns the chart's folder. */
export function writeChart(u: Pick<SynthesizedUnit, 'name' | 'chart'>, dir = scratchDir('cdk8s-flink-chart-')): string {
  const root = path.join(dir, u.name);
  for (const [f, text] of Object.entries(u.chart)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

/** Runs a helm binary with its cache and configuration in the temporary folder (never the user's). */
export function helm(bin: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'helm-cache'), HELM_CONFIG_HOME: path.join(os.tmpdir(), 'helm-config') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function render(bin: string, chart: string, release: string, set: string[] = [], ns = 'logs'): any[] {
  const r = helm(bin, ['template', release, chart, '--namespace', ns, ...set.flatMap((s) => ['--set', s])]);
  assert.equal(r.code, 0, r.stderr);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON()).filter(Boolean);
}

export function renderError(bin: string, chart: string, set: string[]): string {
  const r = helm(bin, ['template', 'x', chart, '--namespace', 'logs', ...set.flatMap((s) => ['--set', s])]);
  assert.notEqual(r.code, 0, `expected helm template to fail with ${set.join(' ')}`);
  return r.stderr;
}

export const find = (objs: any[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} rendered`);
  return o;
};

/** Removes what Helm adds by design: its own labels, hook annotations, the checksum's value. */
export function normalize(o: any): any {
  const x = JSON.parse(JSON.stringify(o));
  for (const labels of [x.metadata.labels, x.spec?.template?.metadata?.labels]) {
    if (!labels) continue;
    delete labels['helm.sh/chart'];
    delete labels['app.kubernetes.io/managed-by'];
  }
  if (x.metadata.annotations) {
    for (const k of Object.keys(x.metadata.annotations)) if (k.startsWith('helm.sh/')) delete x.metadata.annotations[k];
    if (Object.keys(x.metadata.annotations).length === 0) delete x.metadata.annotations;
  }
  const pa = x.spec?.template?.metadata?.annotations;
  if (pa?.['checksum/config']) pa['checksum/config'] = 'sha256';
  return x;
}

/** Rendered objects equal the synthesized ones, up to what Helm adds by design. */
export function assertRendersDist(bin: string, u: SynthesizedUnit): any[] {
  const rendered = render(bin, writeChart(u), u.name).map(normalize);
  for (const d of u.objects.map(normalize)) {
    const r = rendered.find((o) => o.kind === d.kind && o.metadata.name === d.metadata.name);
    assert.ok(r, `${u.name}: ${d.kind}/${d.metadata.name} rendered`);
    assert.deepEqual(r, d, `${u.name}: ${d.kind}/${d.metadata.name} equals dist`);
  }
  assert.equal(rendered.length, render(bin, writeChart(u), u.name).length);
  return rendered;
}

/**
 * The template of one object in a chart (whose objects are documents of one template file, see
 * lib/helm/template-files.ts): the document of that kind whose name is the release's full name
 * followed by `suffix` (`-jobmanager`, `-preflight`, ...). Throws when there is none, naming the
 * documents of that kind there are.
 */
export function objectTemplate(chart: Record<string, string>, kind: string, suffix: string): string {
  const docs = (chart[OBJECTS_TEMPLATE] ?? '').split(/^---\n/m).filter((d) => new RegExp(`^kind: ${kind}$`, 'm').test(d));
  const name = (d: string) => /^ {2}name: \{\{ include "[^"]+\.fullname" [.$] \}\}(\S*)$/m.exec(d)?.[1];
  const doc = docs.find((d) => name(d) === suffix);
  if (doc === undefined) throw new Error(`${OBJECTS_TEMPLATE}: no ${kind} named <fullname>${suffix}; there are ${docs.map((d) => `<fullname>${name(d) ?? '?'}`).join(', ') || 'none'}`);
  return doc;
}
