import { table } from '../../command-line/table';
import { UsageError, ValidationError } from '../../errors';
import { listStates, localDown, localUp } from '../../local/runner';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { APP_OPTION, Command, JSON_OPTION, list, log, num, str } from '../command';

const DIR_OPTION = { name: 'dir', value: 'dir', description: 'where local state, config and logs go (default: .cdk8s-flink/local)', env: 'CDK8S_FLINK_LOCAL_DIR' };

function properties(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new ValidationError('-D', v, 'is invalid; expected key=value, e.g. -D parallelism.default=1');
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export const localCommand: Command = {
  name: 'local',
  summary: 'run a job\'s JobManager and TaskManagers as local processes with its generated config (up, down, status)',
  examples: [
    'cdk8s-flink local up audit-logs                 # fetch and cache Flink, start the job, wait until it runs',
    'cdk8s-flink local up shared-logs && cdk8s-flink local up error-logs   # a session cluster, then a job on it',
    'cdk8s-flink local up access-logs --flink-home /opt/flink-2.2.1 -D parallelism.default=1',
    'cdk8s-flink local status',
    'cdk8s-flink local down audit-logs',
  ],
  positionals: [
    { name: 'action', description: 'up, down or status', required: true, choices: ['up', 'down', 'status'] },
    { name: 'name', description: 'a job, session cluster or session job' },
  ],
  options: [
    APP_OPTION,
    DIR_OPTION,
    { name: 'flink-home', value: 'dir', description: 'a Flink distribution laid out like the runtime image (default: fetch Flink and the runtime jars and cache them; needs Java 17, Maven and pip)', env: 'FLINK_HOME' },
    { name: 'taskmanagers', value: 'n', type: 'integer', min: 1, max: 16, description: 'how many TaskManagers to start (default: the declared replicas)' },
    { name: 'property', short: 'D', value: 'key=value', repeat: true, description: 'a Flink property for every process, over the generated config (repeatable)' },
    { name: 'no-wait', description: 'return once the processes started, without waiting for the job to run' },
    { name: 'timeout', type: 'duration', min: 1000, description: 'how long to wait for the job to run (default: 4m)' },
    JSON_OPTION,
  ],
  async run(args) {
    const o = args.options;
    const [action, name] = args.positionals;
    const dir = str(o.dir) ?? '.cdk8s-flink/local';
    switch (action) {
      case 'up': {
        if (!name) throw new UsageError('local up needs a job, session cluster or session job name');
        const platform = loadPlatform(resolveAppPath(str(o.app)));
        const unit = platform.unit(name);
        if (!unit) throw new ValidationError('job', name, `is not defined; expected one of ${platform.releaseUnits.map((u) => u.name).join(', ')}`);
        const state = await localUp(unit, {
          dir,
          flinkHome: str(o['flink-home']),
          taskManagers: num(o.taskmanagers),
          properties: properties(list(o.property)),
          wait: !o['no-wait'],
          timeoutMs: num(o.timeout) ?? 240_000,
          log,
        });
        process.stdout.write(o.json ? JSON.stringify(state, null, 2) + '\n' : `${state.name}: ${state.rest}${state.jobId ? ` job ${state.jobId}` : ''}\n`);
        return 0;
      }
      case 'down': {
        if (!name) throw new UsageError('local down needs the name given to local up');
        if (!(await localDown(dir, name, log))) throw new ValidationError('job', name, `is not up locally (no state under ${dir}); "cdk8s-flink local status" lists what is`);
        return 0;
      }
      case 'status': {
        const states = listStates(dir).filter((s) => !name || s.name === name);
        if (o.json) {
          process.stdout.write(JSON.stringify(states, null, 2) + '\n');
          return 0;
        }
        if (!states.length) {
          log(`nothing is up locally under ${dir}`);
          return 0;
        }
        process.stdout.write(table(['NAME', 'KIND', 'FLINK', 'REST', 'PROCESSES', 'JOB'], states.map((s) => [
          s.name, s.kind, s.flinkVersion, s.rest,
          s.kind === 'session-job' ? `on ${s.cluster}` : `${s.alive.filter(Boolean).length}/${s.processes.length} alive`,
          s.jobId ?? '',
        ])));
        return 0;
      }
      default:
        throw new Error(`unreachable: local action ${action}`);
    }
  },
};
