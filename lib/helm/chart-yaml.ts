import { emitYaml } from '../synth/yaml';
import { PACKAGE_VERSION } from '../version';

/** Chart.yaml of a release unit's chart. */
export function chartYaml(name: string, appVersion: string, description: string): string {
  return emitYaml({
    apiVersion: 'v2',
    name,
    description,
    type: 'application',
    version: PACKAGE_VERSION,
    appVersion,
    keywords: ['flink', 'streaming', 'cdk8s-flink'],
    annotations: { 'cdk8s-flink/generated': 'true' },
  }).replace(/^\n/, '');
}
