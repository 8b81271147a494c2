import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';

/** Builds constructs in a fresh chart and returns the synthesized objects. */
export function synth(build: (scope: Construct) => void): any[] {
  const chart = new Chart(new App(), 'test', { disableResourceNameHashes: true });
  build(chart);
  return chart.toJson();
}

export function find(objects: any[], kind: string, name: string): any {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

export function container(obj: any, name: string): any {
  const c = obj.spec.template.spec.containers.find((x: any) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** Parses the rendered Flink configuration of a cluster's ConfigMap. */
export function flinkConfig(objects: any[], clusterName: string): Record<string, unknown> {
  const cm = find(objects, 'ConfigMap', `${clusterName}-config`);
  const text = cm.data['config.yaml'] ?? cm.data['flink-conf.yaml'];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml');
  if (cm.data['config.yaml']) return YAML.parse(text);
  return Object.fromEntries(text.trim().split('\n').map((l: string) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
}
