/**
 * The example app: `cdk8s-flink synth` loads this module (see cdk8s.yaml) and synthesizes the
 * platform it exports. Run directly (`node build/examples/main.js`), it synthesizes itself.
 */
import { main } from '../lib/cli/main';
import { buildLogPlatform, PRODUCTION } from './platform';

export const platform = buildLogPlatform(PRODUCTION);

if (require.main === module) {
  main(['synth', '--app', __filename, ...process.argv.slice(2)]).then((code) => { process.exitCode = code; });
}
