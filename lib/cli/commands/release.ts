import { OptionDecl, ParsedArgs } from '../../command-line/declaration';
import { ValidationError } from '../../errors';
import { Command, JOB_ARGUMENT, list, log, str } from '../command';
import { chartDir, helmBinary, helmMajor, runHelm } from '../helm';

const COMMON: OptionDecl[] = [
  { name: 'namespace', short: 'n', value: 'ns', description: 'the namespace (default: helm\'s current one)', env: 'CDK8S_FLINK_NAMESPACE' },
  { name: 'release', value: 'name', description: 'the release name (default: the job name)' },
  { name: 'charts', value: 'dir', description: 'where the charts are (default: charts)', env: 'CDK8S_FLINK_CHARTS' },
  { name: 'helm', value: 'path', description: 'the helm binary (default: helm on PATH)', env: 'HELM_BIN' },
  { name: 'kube-context', value: 'name', description: 'the kubeconfig context' },
  { name: 'timeout', value: 'duration', description: 'how long to wait for the release (default: 10m)' },
];

function target(args: ParsedArgs): string {
  const job = args.positionals[0];
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(job)) throw new ValidationError('job', job, 'is not a job name; expected a DNS label');
  return job;
}

function common(o: ParsedArgs['options']): string[] {
  return [
    ...(str(o.namespace) ? ['--namespace', str(o.namespace)!] : []),
    ...(str(o['kube-context']) ? ['--kube-context', str(o['kube-context'])!] : []),
  ];
}

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'install or upgrade a job\'s release with its chart (helm upgrade --install), waiting for it',
  positionals: [JOB_ARGUMENT],
  examples: [
    'cdk8s-flink deploy access-logs -n logs --set image.tag=$GIT_SHA',
    'cdk8s-flink deploy access-logs -n logs -f prod.yaml --dry-run   # render what would be applied',
  ],
  options: [
    ...COMMON,
    { name: 'values', short: 'f', value: 'file', repeat: true, description: 'a values file (repeatable)' },
    { name: 'set', value: 'key=value', repeat: true, description: 'a value (repeatable)' },
    { name: 'dry-run', description: 'render the manifests (helm template) instead of applying them' },
  ],
  async run(args) {
    const o = args.options;
    const job = target(args);
    const chart = chartDir(str(o.charts) ?? 'charts', job);
    const bin = helmBinary(str(o.helm));
    const release = str(o.release) ?? job;
    const values = [...(list(o.values) ?? []).flatMap((f) => ['--values', f]), ...(list(o.set) ?? []).flatMap((s) => ['--set', s])];
    if (o['dry-run']) {
      process.stdout.write(await runHelm(bin, ['template', release, chart, ...common(o), ...values], true));
      return 0;
    }
    // Atomic: a release that fails (an API server rejection, a failed hook, pods not ready in
    // time) is rolled back by helm itself, so the job keeps running as it was.
    const atomic = helmMajor(bin) >= 4 ? '--rollback-on-failure' : '--atomic';
    await runHelm(bin, ['upgrade', '--install', release, chart, ...common(o), ...values, '--wait', atomic, '--timeout', str(o.timeout) ?? '10m']);
    log(`deployed ${release}`);
    return 0;
  },
};

export const statusCommand: Command = {
  name: 'status',
  summary: 'show a job release\'s status (helm status)',
  positionals: [JOB_ARGUMENT],
  examples: ['cdk8s-flink status access-logs -n logs'],
  options: [...COMMON, { name: 'json', description: 'print helm\'s JSON status on stdout' }],
  async run(args) {
    const o = args.options;
    const job = target(args);
    const bin = helmBinary(str(o.helm));
    const out = await runHelm(bin, ['status', str(o.release) ?? job, ...common(o), '--output', 'json'], true);
    const s = JSON.parse(out);
    if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else process.stdout.write(`${s.name}: revision ${s.version}, ${s.info?.status} (${s.info?.description ?? ''}), namespace ${s.namespace}\n`);
    return 0;
  },
};

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'roll a job back to an earlier revision; the job restores from the savepoint taken by the upgrade it undoes',
  positionals: [JOB_ARGUMENT, { name: 'revision', description: 'the revision to roll back to (default: the previous one)' }],
  examples: ['cdk8s-flink rollback access-logs -n logs', 'cdk8s-flink rollback access-logs 3 -n logs'],
  options: COMMON,
  async run(args) {
    const o = args.options;
    const job = target(args);
    const revision = args.positionals[1];
    if (revision !== undefined && !/^[1-9]\d*$/.test(revision)) throw new ValidationError('revision', revision, 'is invalid; expected a positive revision number');
    const bin = helmBinary(str(o.helm));
    await runHelm(bin, ['rollback', str(o.release) ?? job, ...(revision ? [revision] : []), ...common(o), '--wait', '--timeout', str(o.timeout) ?? '10m']);
    return 0;
  },
};

function stateCommand(name: 'suspend' | 'resume', state: 'suspended' | 'running', summary: string): Command {
  return {
    name,
    summary,
    positionals: [JOB_ARGUMENT],
    examples: [`cdk8s-flink ${name} access-logs -n logs`],
    options: COMMON,
    async run(args) {
      const o = args.options;
      const job = target(args);
      const chart = chartDir(str(o.charts) ?? 'charts', job);
      const bin = helmBinary(str(o.helm));
      const atomic = helmMajor(bin) >= 4 ? '--rollback-on-failure' : '--atomic';
      await runHelm(bin, ['upgrade', str(o.release) ?? job, chart, ...common(o), '--reuse-values', '--set', `job.state=${state}`, '--wait', atomic, '--timeout', str(o.timeout) ?? '10m']);
      log(`${job}: ${state}`);
      return 0;
    },
  };
}

export const suspendCommand = stateCommand('suspend', 'suspended', 'stop a job with a savepoint and scale it to zero');
export const resumeCommand = stateCommand('resume', 'running', 'start a suspended job again from its savepoint');
