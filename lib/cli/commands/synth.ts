import * as path from 'path';
import { operatorResources } from '../../operator/operator-resources';
import { synthesizePlatform, toYaml } from '../../synth/synthesize';
import { replaceDirs } from '../../synth/write';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { UsageError } from '../args';
import { APP_OPTION, Command, JOB_OPTION, JSON_OPTION, list, log, OUT_OPTION, str } from '../command';

const TARGETS = ['manifests', 'operator'];

export const synthCommand: Command = {
  name: 'synth',
  summary: 'write the manifests of every job to dist/<job>/ and its Helm chart to charts/<job>/',
  usage: 'cdk8s-flink synth [--app <file>] [--job <name>]... [--out <dir>] [--charts <dir>] [--target manifests|operator] [--sql-runner-jar <uri>]',
  examples: [
    'cdk8s-flink synth                      # every job of the app in cdk8s.yaml',
    'cdk8s-flink synth --job access-logs    # one job; other folders are left alone',
    'cdk8s-flink synth --app build/platform.js --out manifests',
    'cdk8s-flink synth --target operator --sql-runner-jar https://artifacts.example.com/cdk8s-flink-sql-runner.jar   # FlinkDeployment/FlinkSessionJob into dist-operator/',
  ],
  options: [APP_OPTION, JOB_OPTION, OUT_OPTION, { name: 'charts', value: 'dir', description: 'where Helm charts go (default: charts)', env: 'CDK8S_FLINK_CHARTS' },
    { name: 'target', value: 'kind', description: 'manifests (plain manifests and Helm charts, the default) or operator (the Flink Kubernetes Operator\'s FlinkDeployment and FlinkSessionJob, into dist-operator/ unless --out says otherwise; no charts)' },
    { name: 'sql-runner-jar', value: 'uri', description: 'with --target operator: where the operator fetches the SQL runner jar for SQL session jobs', env: 'CDK8S_FLINK_SQL_RUNNER_JAR' },
    JSON_OPTION],
  async run(args) {
    const started = Date.now();
    const platform = loadPlatform(resolveAppPath(str(args.options.app)));
    const only = list(args.options.job);
    const target = str(args.options.target) ?? 'manifests';
    if (!TARGETS.includes(target)) throw new UsageError(`--target: "${target}" is unknown; expected one of ${TARGETS.join(', ')}`);
    const units = synthesizePlatform(platform, only);
    if (target === 'operator') {
      const out = path.resolve(str(args.options.out) ?? 'dist-operator');
      const options = { sqlRunnerJarUri: str(args.options['sql-runner-jar']) };
      const trees = Object.fromEntries(units.map((u) => [u.name, { [`${u.name}.operator.yaml`]: operatorResources(platform.unit(u.name)!, u.objects, options).map((o) => toYaml(o)).join('---\n') }]));
      await replaceDirs(out, trees, !only);
      log(`synthesized ${units.length} release unit(s) for the Flink Kubernetes Operator into ${path.relative(process.cwd(), out) || '.'}/ in ${Date.now() - started} ms`);
      return 0;
    }
    const out = path.resolve(str(args.options.out) ?? 'dist');
    const charts = path.resolve(str(args.options.charts) ?? 'charts');
    await replaceDirs(out, Object.fromEntries(units.map((u) => [u.name, u.files])), !only);
    await replaceDirs(charts, Object.fromEntries(units.map((u) => [u.name, u.chart])), !only);
    const objects = units.reduce((n, u) => n + u.objects.length, 0);
    const ms = Date.now() - started;
    log(`synthesized ${units.length} release unit(s), ${objects} objects, into ${path.relative(process.cwd(), out) || '.'}/ and ${path.relative(process.cwd(), charts) || '.'}/ in ${ms} ms`);
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ out, units: units.map((u) => ({ name: u.name, kind: u.kind, files: Object.keys(u.files) })), ms }, null, 2) + '\n');
    }
    return 0;
  },
};
