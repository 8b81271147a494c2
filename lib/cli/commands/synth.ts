import * as path from 'path';
import { operatorResources } from '../../operator/operator-resources';
import { checkObjects } from '../../schema/validate';
import { checkOutputDir, checkOutputDirs, OUTPUT_MARKER } from '../../synth/output-dir';
import { spawnSync } from 'child_process';
import { DeferredUnitChangedError } from '../../platform';
import { withDeferral } from '../../synth/deferral';
import { incrementalContext, jobsOnly, manifestFileName, selectedDashboard, synthesizeDashboard, SynthesisResult, synthesizeInto, synthesizePlatform, toYaml } from '../../synth/synthesize';
import { replaceDirs } from '../../synth/write';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { DEFAULT_MIN_UNITS } from '../../synth/parallel';
import { APP_OPTION, Command, JOB_OPTION, JSON_OPTION, list, log, num, OUT_OPTION, str } from '../command';

export const synthCommand: Command = {
  name: 'synth',
  summary: 'write the manifests of every job to dist/<job>/ and its Helm chart to charts/<job>/',
  details: `Writes only into folders it owns: absent or empty ones (created with a ${OUTPUT_MARKER} marker) or ones holding that marker. It refuses the working directory and its ancestors, files, folders of other content, and overlapping --out and --charts. Incremental: only units whose inputs (objects, toolkit, package-lock.json) or files changed are rewritten; --force rewrites all.`,
  examples: [
    'cdk8s-flink synth                      # every job of the app in cdk8s.yaml',
    'cdk8s-flink synth --job access-logs    # one job; other folders are left alone',
    'cdk8s-flink synth --app build/platform.js --out manifests',
    'cdk8s-flink synth --target operator --sql-runner-jar https://artifacts.example.com/cdk8s-flink-sql-runner.jar   # FlinkDeployment/FlinkSessionJob into dist-operator/',
  ],
  options: [APP_OPTION, JOB_OPTION, OUT_OPTION, { name: 'charts', value: 'dir', description: 'where Helm charts go (default: charts)', env: 'CDK8S_FLINK_CHARTS' },
    { name: 'force', description: 'write every unit, also those whose inputs did not change' },
    { name: 'threads', value: 'n', type: 'integer', min: 1, max: 64, env: 'CDK8S_FLINK_SYNTH_THREADS', description: `threads that render units (default 1); each extra thread loads the app itself and is started only when at least ${DEFAULT_MIN_UNITS} units are rendered. On 2 CPUs it gave no gain (V8's own threads already use the second one); measure before raising it` },
    { name: 'target', choices: ['manifests', 'operator'], description: 'manifests (plain manifests and Helm charts, the default) or operator (the Flink Kubernetes Operator\'s FlinkDeployment and FlinkSessionJob, into dist-operator/ unless --out says otherwise; no charts)' },
    { name: 'sql-runner-jar', value: 'uri', description: 'with --target operator: where the operator fetches the SQL runner jar for SQL session jobs', env: 'CDK8S_FLINK_SQL_RUNNER_JAR' },
    JSON_OPTION],
  async run(args) {
    const started = Date.now();
    const appPath = resolveAppPath(str(args.options.app));
    const only = list(args.options.job);
    const target = str(args.options.target) ?? 'manifests';
    if (target === 'operator') {
      const platform = loadPlatform(appPath);
      const out = checkOutputDir({ option: '--out', value: str(args.options.out) ?? 'dist-operator' });
      const units = synthesizePlatform(platform, jobsOnly(platform, only));
      const options = { sqlRunnerJarUri: str(args.options['sql-runner-jar']) };
      const trees = Object.fromEntries(units.map((u) => {
        const resources = operatorResources(platform.unit(u.name)!, u.objects, options);
        checkObjects(u.name, resources);
        return [u.name, { [`${u.name}.operator.yaml`]: resources.map((o) => toYaml(o)).join('---\n') }];
      }));
      // The platform dashboard (a ConfigMap) is the same with or without the operator.
      const board = selectedDashboard(platform, only);
      if (board) trees[board.name] = { [`${board.name}.operator.yaml`]: Object.values(synthesizeDashboard(board).files).join('') };
      await replaceDirs(out, trees, !only);
      log(`synthesized ${units.length} release unit(s) for the Flink Kubernetes Operator into ${path.relative(process.cwd(), out) || '.'}/ in ${Date.now() - started} ms`);
      return 0;
    }
    const dirs = { out: str(args.options.out) ?? 'dist', charts: str(args.options.charts) ?? 'charts' };
    const force = args.options.force === true;
    // Units whose inputs are those recorded in the output folders are not even built (see
    // FlinkPlatform); the app is loaded knowing them. In a child run after a deferred unit
    // changed after its declaration (eager), every unit is built as declared.
    const context = process.env[EAGER_ENV] === '1' ? undefined : incrementalContext({ ...dirs, force });
    const platform = context ? withDeferral(context, () => loadPlatform(appPath)) : loadPlatform(appPath);
    const [out, charts] = checkOutputDirs([
      { option: '--out', value: dirs.out },
      { option: '--charts', value: dirs.charts },
    ]);
    const threads = num(args.options.threads) ?? 1;
    let r: SynthesisResult;
    try {
      const parallel = { workers: threads - 1, loader: { module: require.resolve('../app-loader'), exportName: 'loadPlatform', arg: appPath }, context };
      r = await synthesizeInto(platform, { out, charts, only, force, toolkit: context?.toolkit, parallel });
    } catch (e) {
      if (!(e instanceof DeferredUnitChangedError)) throw e;
      return synthesizeEagerly(e, [appPath, out, charts, only, force, args.options.json === true, threads]);
    }
    const units = [...r.units, ...(r.dashboard ? [{ ...r.dashboard, kind: 'dashboard' }] : [])];
    const objects = r.objects + (r.dashboard?.objects.length ?? 0);
    const ms = Date.now() - started;
    const rel = (d: string) => `${path.relative(process.cwd(), d) || '.'}/`;
    const written = new Set([...r.dist.written, ...r.charts.written]);
    const removed = new Set([...r.dist.removed, ...r.charts.removed]);
    const counts = `${written.size} written, ${units.length - written.size} unchanged${removed.size ? `, ${removed.size} removed` : ''}`;
    const shared = r.parallel ? `; ${r.parallel.here + r.parallel.workers} rendered by ${r.parallel.threads} threads, ${r.parallel.workers} by workers` : '';
    log(`synthesized ${units.length} release unit(s), ${objects} objects, into ${rel(out)} and ${rel(charts)} (${counts}${shared}) in ${ms} ms`);
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ out, units: units.map((u) => ({ name: u.name, kind: u.kind, files: [manifestFileName(u.name)] })), written: [...written], removed: [...removed], built: r.built, ...(r.parallel ? { threads: r.parallel } : {}), ms }, null, 2) + '\n');
    }
    return 0;
  },
};

/** Set in a child synthesis that builds every unit as declared. */
const EAGER_ENV = 'CDK8S_FLINK_SYNTH_EAGER';

/**
 * Runs the synthesis again in a child process that builds every unit when declared: what a
 * deferred unit needs when the app changed it after declaring it (its props, or a library).
 */
function synthesizeEagerly(why: Error, [app, out, charts, only, force, json, threads]: [string, string, string, string[] | undefined, boolean, boolean, number]): number {
  log(`${why.message}; synthesizing again with every unit built as declared`);
  const argv = [path.join(__dirname, '..', 'main.js'), 'synth', '--app', app, '--out', out, '--charts', charts,
    ...(only ?? []).flatMap((j) => ['--job', j]), ...(force ? ['--force'] : []), ...(json ? ['--json'] : []), '--threads', String(threads)];
  const r = spawnSync(process.execPath, argv, { stdio: 'inherit', env: { ...process.env, [EAGER_ENV]: '1' } });
  return r.status ?? 1;
}
