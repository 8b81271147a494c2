import { FlinkApplication } from '../../application';
import { FlinkSessionCluster, FlinkSessionJob } from '../../session';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { APP_OPTION, Command, JSON_OPTION, str } from '../command';
import { table } from '../../command-line/table';

export const listCommand: Command = {
  name: 'list',
  summary: 'list the jobs, session clusters and session jobs of the app',
  examples: ['cdk8s-flink list', 'cdk8s-flink list --json | jq -r ".[].name"'],
  options: [APP_OPTION, JSON_OPTION],
  run(args) {
    const platform = loadPlatform(resolveAppPath(str(args.options.app)));
    const rows = platform.releaseUnits.map((u) => {
      const c = u.construct;
      if (c instanceof FlinkApplication) {
        return { name: u.name, kind: u.kind, flink: c.version.toString(), parallelism: c.parallelism, taskManagers: c.autoscaling ? `${c.autoscaling.min}-${c.autoscaling.max} (${c.autoscaling.mode})` : c.taskManagerReplicas, slots: c.totalSlots, cluster: '-', upgradeMode: c.upgradeMode, ha: c.highAvailability };
      }
      if (c instanceof FlinkSessionCluster) {
        return { name: u.name, kind: u.kind, flink: c.version.toString(), parallelism: '-', taskManagers: c.taskManagerReplicas, slots: c.totalSlots, cluster: '-', upgradeMode: '-', ha: c.highAvailability };
      }
      const j = c as FlinkSessionJob;
      return { name: u.name, kind: u.kind, flink: j.cluster.version.toString(), parallelism: j.parallelism, taskManagers: '-', slots: '-', cluster: j.cluster.name, upgradeMode: j.upgradeMode, ha: '-' };
    });
    if (args.options.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    } else {
      process.stdout.write(table(['NAME', 'KIND', 'FLINK', 'PARALLELISM', 'TASKMANAGERS', 'SLOTS', 'CLUSTER', 'UPGRADE', 'HA'],
        rows.map((r) => [r.name, r.kind, r.flink, r.parallelism, r.taskManagers, r.slots, r.cluster, r.upgradeMode, r.ha])));
    }
    return 0;
  },
};
