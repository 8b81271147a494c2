import { restrictedViolations } from '../../policy/pod-security';
import { synthesizePlatform } from '../../synth/synthesize';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { APP_OPTION, Command, JOB_OPTION, JSON_OPTION, list, log, str } from '../command';

/** Exit code of `validate` when the definitions build but break a rule across objects. */
export const EXIT_POLICY = 2;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check every definition without writing anything',
  examples: ['cdk8s-flink validate', 'cdk8s-flink validate --job access-logs --json'],
  options: [APP_OPTION, JOB_OPTION, JSON_OPTION],
  run(args) {
    const platform = loadPlatform(resolveAppPath(str(args.options.app)));
    const units = synthesizePlatform(platform, list(args.options.job));
    const problems = [
      ...platform.crossCheck(),
      ...units.flatMap((u) => restrictedViolations(u.objects).map((v) => `${u.name}: ${v} (restricted Pod Security Standard)`)),
    ];
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ valid: problems.length === 0, units: units.length, problems }, null, 2) + '\n');
    }
    for (const p of problems) log(`cdk8s-flink: ${p}`);
    if (problems.length) return EXIT_POLICY;
    log(`${units.length} release unit(s) valid`);
    return 0;
  },
};
