import { planPlatform, Resources } from '../../plan';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { APP_OPTION, Command, JSON_OPTION, str } from '../command';
import { table } from '../../command-line/table';

const fmt = (r: Resources) => `${(r.cpuMillis / 1000).toFixed(2)} CPU / ${(r.memoryMiB / 1024).toFixed(1)} GiB`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'compare CPU and memory per job as an application cluster and as a session job',
  examples: ['cdk8s-flink plan', 'cdk8s-flink plan --json > plan.json'],
  options: [APP_OPTION, JSON_OPTION],
  run(args) {
    const plan = planPlatform(loadPlatform(resolveAppPath(str(args.options.app))));
    if (args.options.json) {
      process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(table(['JOB', 'NOW', 'P', 'AS APPLICATION', 'AS SESSION JOB', 'RECOMMENDED', 'WHY'],
      plan.jobs.map((j) => [j.name, j.mode, j.parallelism, fmt(j.asApplication) + (j.standby ? ` (spare ${fmt(j.standby)})` : ''), fmt(j.asSession), j.recommendation, j.reason])));
    for (const j of plan.jobs) {
      const a = j.autoscaling;
      if (a) process.stdout.write(`\n${j.name}: ${a.mode} autoscaling, ${a.minTaskManagers} to ${a.maxTaskManagers} TaskManagers (${fmt(j.asApplication)} to ${fmt(a.atMax)}); each scale event is ${a.scaleEvent}\n`);
    }
    process.stdout.write(`\ntotal requested as declared: ${fmt(plan.declared)}\n`);
    if (plan.standby.memoryMiB > 0) process.stdout.write(`of which spare capacity:  ${fmt(plan.standby)} (standby TaskManagers and spare slots, for recovery)\n`);
    process.stdout.write(`every job as an application: ${fmt(plan.allApplication)}\n`);
    process.stdout.write(`every job as a session job:  ${fmt(plan.allSession)} (plus idle session slots)\n`);
    return 0;
  },
};
