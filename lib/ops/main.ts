#!/usr/bin/env node
/**
 * cdk8s-flink-ops: the program the charts' hooks and `helm test` run, the session job
 * submitter, and the Flink lifecycle and Kafka checks an operator runs by hand. Data goes to
 * stdout, logs to stderr; a failure is one line and a non-zero exit.
 */
import * as fs from 'fs';
import { formatOptions, OptionSpec, parseArgs, UsageError } from '../cli/args';
import { table } from '../cli/table';
import { OpsError, parseDuration } from './errors';
import { FlinkRest } from './flink-rest';
import { ConfigMapHandoff, DirHandoff, handoff, HandoffStore } from './handoff';
import { checkBootstrap, checkTopic, saslFromEnv } from './kafka';
import { Kube } from './kube';
import { cancelJob, checkJobId, checkpointReport, formatCheckpointReport, JobSelector, listJobs, stopJob, takeSavepoint } from './lifecycle';
import { formatPreflight, preflight } from './preflight';
import { smoke } from './smoke';
import { submit } from './submit';

const log = (m: string) => process.stderr.write(`${m}\n`);
const out = (s: string) => process.stdout.write(s);

const EXIT_CODES = `exit codes:
  0  success
  1  a runtime failure (JobManager or Kafka unreachable, a savepoint that failed, a missing topic, ...)
     or an invalid option value: one line on stderr naming what failed and why; nothing was
     changed unless that line says so
  2  usage: an unknown command or option, or a required option missing (the usage follows)`;

const opt = (name: string, value: string | undefined, description: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({ name, value, description, ...extra });
const REST_URL = opt('rest-url', 'url', 'the JobManager REST endpoint, e.g. http://<cluster>-rest.<namespace>.svc:8081 (required)');
const JOB_ID = opt('job-id', 'id', 'the job to act on (32 hex digits); any job the JobManager knows');
const JOB_NAME = opt('job-name', 'name', 'the job to act on by name: the one active (not finished) job of that name');
const SAVEPOINT_DIR = opt('savepoint-dir', 'uri', "where to write the savepoint (default: the cluster's execution.checkpointing.savepoint-dir)");
const JSON_OUT = opt('json', undefined, 'print JSON on stdout');
const TIMEOUT = (d: string) => opt('timeout', 'duration', `overall bound for the command, e.g. 90s, 10m (default ${d})`);
const VERBOSE = opt('verbose', undefined, 'progress on stderr');
const HELP = opt('help', undefined, 'this help', { short: 'h' });

interface Command {
  readonly synopsis: string;
  readonly summary: string;
  readonly options: OptionSpec[];
  readonly example: string;
  readonly timeout: string;
}

const SELECT_NOTE = 'Without --job-id or --job-name the command acts on the only active job (an application cluster runs one).';

const COMMANDS: Record<string, Command> = {
  jobs: {
    synopsis: 'jobs --rest-url URL [--json]',
    summary: 'List the jobs of a cluster: id, name, state and start time, newest first.',
    options: [REST_URL, JSON_OUT],
    example: 'cdk8s-flink-ops jobs --rest-url http://audit-logs-rest.logs.svc:8081',
    timeout: '30s',
  },
  savepoint: {
    synopsis: 'savepoint --rest-url URL [--job-id ID | --job-name NAME] [--savepoint-dir URI]',
    summary: `Trigger a savepoint, wait for it and print its path on stdout; the job keeps running. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, SAVEPOINT_DIR],
    example: 'cdk8s-flink-ops savepoint --rest-url http://audit-logs-rest.logs.svc:8081 --savepoint-dir s3://flink-state/logs/audit-logs/savepoints',
    timeout: '10m',
  },
  stop: {
    synopsis: 'stop --rest-url URL [--job-id ID | --job-name NAME] [--savepoint-dir URI] [--drain]',
    summary: `Stop the job with a savepoint, wait until it is FINISHED and print the savepoint's path on stdout. A savepoint that fails leaves the job running. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, SAVEPOINT_DIR, opt('drain', undefined, 'emit MAX_WATERMARK first (fires every event-time timer and window); for a final stop, not an upgrade')],
    example: 'cdk8s-flink-ops stop --rest-url http://audit-logs-rest.logs.svc:8081 --job-name audit-logs',
    timeout: '10m',
  },
  cancel: {
    synopsis: 'cancel --rest-url URL (--job-id ID | --job-name NAME)',
    summary: 'Cancel the job without a savepoint and wait until it is CANCELED (state since the last checkpoint is lost unless checkpoints are retained).',
    options: [REST_URL, JOB_ID, JOB_NAME],
    example: 'cdk8s-flink-ops cancel --rest-url http://shared-logs-rest.logs.svc:8081 --job-name error-logs',
    timeout: '2m',
  },
  checkpoints: {
    synopsis: 'checkpoints --rest-url URL [--job-id ID | --job-name NAME] [--json]',
    summary: `Checkpoint status: counts (completed, failed, in progress, restored), the latest completed, failed and savepoint, and what the job restored from. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, JSON_OUT],
    example: 'cdk8s-flink-ops checkpoints --rest-url http://audit-logs-rest.logs.svc:8081 --json',
    timeout: '30s',
  },
  preflight: {
    synopsis: 'preflight --kafka-bootstrap B --source-topic T... [--sink-topic T...] [--parallelism N] [--create-sink-topics [--sink-partitions N] [--replication-factor N]] [--json]',
    summary: 'Check Kafka before a release: every source topic exists (else exit 1 and create nothing), the partitions per topic, '
      + 'a parallelism recommendation (a warning when the parallelism leaves source subtasks idle or unevenly loaded), and every sink topic exists; '
      + 'with --create-sink-topics missing sink topics are created after the broker validated them. '
      + 'KAFKA_SOURCE_USERNAME and KAFKA_SOURCE_PASSWORD in the environment select SASL over TLS (KAFKA_SOURCE_SASL_MECHANISM: SCRAM-SHA-512, the default, SCRAM-SHA-256 or PLAIN).',
    options: [
      opt('kafka-bootstrap', 'host:port,...', 'the brokers (required)'),
      opt('source-topic', 'topic', 'a topic the job reads; repeat for several (at least one)', { repeat: true }),
      opt('sink-topic', 'topic', 'a topic the job writes; repeat for several', { repeat: true }),
      opt('parallelism', 'n', "the job's parallelism, checked against the source partitions"),
      opt('create-sink-topics', undefined, 'create the sink topics that do not exist'),
      opt('sink-partitions', 'n', "partitions of created sink topics (default: the broker's num.partitions)"),
      opt('replication-factor', 'n', "replication factor of created sink topics (default: the broker's default.replication.factor)"),
      JSON_OUT,
    ],
    example: 'cdk8s-flink-ops preflight --kafka-bootstrap kafka:9092 --source-topic logs.audit --sink-topic logs.audit.counted --parallelism 2 --create-sink-topics --sink-partitions 2',
    timeout: '60s',
  },
  smoke: {
    synopsis: 'smoke --rest-url URL --job-name NAME [--require-checkpoint] [--kafka-bootstrap B --source-topic T --sink-topic T --marker JSON --id-field F]',
    summary: "What `helm test` runs: the REST API answers, the job is RUNNING, a checkpoint completed, and a marker record sent to the source topic arrives in the sink topic (read_committed). KAFKA_SOURCE_USERNAME/PASSWORD select SASL over TLS, as for preflight.",
    options: [REST_URL, opt('job-name', 'name', 'the job that must be RUNNING (required)'), opt('require-checkpoint', undefined, 'wait for a completed checkpoint'),
      opt('kafka-bootstrap', 'host:port,...', 'send a marker through the job'), opt('source-topic', 'topic', ''), opt('sink-topic', 'topic', ''),
      opt('marker', 'json', 'the marker record (its id field is set to a unique id)'), opt('id-field', 'field', 'default id')],
    example: 'cdk8s-flink-ops smoke --rest-url http://audit-logs-rest.logs.svc:8081 --job-name audit-logs --require-checkpoint',
    timeout: '240s',
  },
  handoff: {
    synopsis: 'handoff --event upgrade|rollback --rest-url URL --upgrade-mode M --state S --revision N --savepoint-dir URI (--configmap NAME --namespace NS [--kubeconfig FILE] | --handoff-dir DIR) [--ha-configmap NAME]',
    summary: "The pre-upgrade and pre-rollback hook: stops the job with a savepoint (savepoint mode or a suspend), checks the HA metadata (last-state) or cancels (stateless), and writes the next job id and savepoint into the release's hand-off ConfigMap through the Kubernetes API with the pod's service account. A failed savepoint fails the release and writes nothing.",
    options: [opt('event', 'upgrade|rollback', ''), REST_URL, opt('upgrade-mode', 'stateless|savepoint|last-state', ''), opt('state', 'running|suspended', ''),
      opt('revision', 'n', 'the revision being installed'), opt('savepoint-dir', 'uri', ''), opt('configmap', 'name', 'the hand-off ConfigMap'), opt('namespace', 'ns', ''),
      opt('kubeconfig', 'file', 'outside a pod'), opt('handoff-dir', 'dir', 'a folder instead of the ConfigMap (local runs)'), opt('ha-configmap', 'name', 'the Flink HA ConfigMap (last-state)'), opt('release', 'name', '')],
    example: 'cdk8s-flink-ops handoff --event upgrade --rest-url http://audit-logs-rest.logs.svc:8081 --namespace logs --configmap audit-logs-handoff --upgrade-mode savepoint --state running --revision 3 --savepoint-dir s3://flink-state/logs/audit-logs/savepoints',
    timeout: '240s',
  },
  cleanup: {
    synopsis: 'cleanup --namespace NS --configmap NAME [--ha-cluster-id ID] [--kubeconfig FILE]',
    summary: "The post-delete hook: deletes the release's hand-off ConfigMap, and the Flink HA ConfigMaps of the cluster when --ha-cluster-id is not empty.",
    options: [opt('namespace', 'ns', ''), opt('configmap', 'name', ''), opt('ha-cluster-id', 'id', ''), opt('kubeconfig', 'file', '')],
    example: 'cdk8s-flink-ops cleanup --namespace logs --configmap audit-logs-handoff',
    timeout: '240s',
  },
  submit: {
    synopsis: 'submit --spec FILE [--handoff-dir DIR]',
    summary: "A session job's submitter: uploads the jar (or the SQL runner) and runs the job on the session cluster with the spec's job id and savepoint; a job with that id already running is left alone.",
    options: [opt('spec', 'file', 'the job spec (JSON) the chart mounts'), opt('handoff-dir', 'dir', '')],
    example: 'cdk8s-flink-ops submit --spec /opt/cdk8s-flink/spec/job.json',
    timeout: '240s',
  },
};

const LIFECYCLE = ['jobs', 'savepoint', 'stop', 'cancel', 'checkpoints'];
const col = (s: string) => `  ${s}`;
const USAGE = `usage: cdk8s-flink-ops <command> [options]      (cdk8s-flink-ops <command> --help for details)

Flink job lifecycle (the JobManager's REST API):
${LIFECYCLE.map((c) => col(COMMANDS[c].synopsis)).join('\n')}
Kafka:
${col(COMMANDS.preflight.synopsis)}
Hooks and helm test:
${['handoff', 'cleanup', 'smoke', 'submit'].map((c) => col(COMMANDS[c].synopsis)).join('\n')}

Every command takes --timeout DURATION (an overall bound; REST requests time out and connection
failures are retried a few times within it), --verbose and --help.

${EXIT_CODES}`;

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  return `usage: cdk8s-flink-ops ${c.synopsis}

${c.summary}

options:
${formatOptions([...c.options, TIMEOUT(c.timeout), VERBOSE, HELP])}

example:
  ${c.example}

${EXIT_CODES}`;
}

// The hooks' commands keep accepting every option they ever did.
const LEGACY_OPTIONS = ['event', 'rest-url', 'upgrade-mode', 'state', 'revision', 'savepoint-dir', 'configmap', 'namespace', 'kubeconfig', 'handoff-dir',
  'ha-configmap', 'timeout', 'ha-cluster-id', 'job-name', 'kafka-bootstrap', 'source-topic', 'sink-topic', 'marker', 'id-field', 'spec', 'release']
  .map((name) => opt(name, 'v', ''));

function need(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '' && !['savepoint-dir', 'ha-cluster-id'].includes(k)) throw new UsageError(`--${k} is required`);
  return v as string;
}

function oneOf<T extends string>(field: string, v: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new OpsError(`--${field}: ${JSON.stringify(v)} is invalid; expected one of ${allowed.join(', ')}`);
  return v as T;
}

function positiveInt(field: string, v: unknown, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || !Number.isInteger(n) || n < 1 || n > max) throw new OpsError(`--${field}: ${JSON.stringify(v)} is invalid; expected an integer from 1 to ${max}`);
  return n;
}

function selector(o: Record<string, unknown>): JobSelector {
  const jobId = o['job-id'] as string | undefined;
  const jobName = o['job-name'] as string | undefined;
  if (jobName === '') throw new OpsError('--job-name: "" is invalid; expected a job name');
  return { jobId: jobId === undefined ? undefined : checkJobId('job-id', jobId), jobName };
}

class CommandUsageError extends UsageError {
  constructor(message: string, public readonly command?: string) {
    super(message);
  }
}

export async function ops(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') { process.stdout.write(`${USAGE}\n`); return cmd ? 0 : 2; }
    const spec = COMMANDS[cmd];
    if (!spec) throw new CommandUsageError(`unknown command ${JSON.stringify(cmd)}`);
    if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(`${commandHelp(cmd)}\n`); return 0; }
    const legacy = !LIFECYCLE.includes(cmd) && cmd !== 'preflight';
    let o: Record<string, string | string[] | boolean | undefined>;
    try {
      o = parseArgs(rest, legacy
        ? [...LEGACY_OPTIONS, opt('require-checkpoint', undefined, ''), VERBOSE]
        : [...spec.options, TIMEOUT(spec.timeout), VERBOSE]).options;
    } catch (e) {
      throw new CommandUsageError((e as Error).message, cmd);
    }
    const required = (k: string) => {
      try { return need(o, k); } catch (e) { throw new CommandUsageError((e as Error).message, cmd); }
    };
    const timeoutMs = parseDuration('--timeout', (o.timeout as string) ?? spec.timeout);
    const progress = o.verbose ? log : () => undefined;
    const kube = () => (o.kubeconfig ? Kube.fromKubeconfig(o.kubeconfig as string) : Kube.inCluster());
    switch (cmd) {
      case 'jobs': {
        const jobs = await listJobs(new FlinkRest(required('rest-url')).within(timeoutMs));
        if (o.json) out(`${JSON.stringify(jobs, null, 2)}\n`);
        else out(table(['JOB ID', 'NAME', 'STATE', 'STARTED'], jobs.map((j) => [j.id, j.name, j.state, j.startTime ?? '-'])));
        return 0;
      }
      case 'savepoint': {
        const flink = new FlinkRest(required('rest-url')).within(timeoutMs);
        const { job, location } = await takeSavepoint(flink, selector(o), (o['savepoint-dir'] as string) || undefined, { timeoutMs, log: progress });
        progress(`savepoint of job ${job.jid} "${job.name}" completed; the job keeps running`);
        out(`${location}\n`);
        return 0;
      }
      case 'stop': {
        const flink = new FlinkRest(required('rest-url')).within(timeoutMs);
        const { job, location, state } = await stopJob(flink, selector(o), (o['savepoint-dir'] as string) || undefined, o.drain === true, { timeoutMs, log: progress });
        progress(`job ${job.jid} "${job.name}" is ${state}`);
        out(`${location}\n`);
        return 0;
      }
      case 'cancel': {
        const url = required('rest-url');
        const sel = selector(o);
        if (!sel.jobId && !sel.jobName) throw new CommandUsageError('--job-id or --job-name is required: cancel names the job it loses', cmd);
        const { job, state } = await cancelJob(new FlinkRest(url).within(timeoutMs), sel, { timeoutMs, log: progress });
        out(`job ${job.jid} "${job.name}" ${state}\n`);
        return 0;
      }
      case 'checkpoints': {
        const report = await checkpointReport(new FlinkRest(required('rest-url')).within(timeoutMs), selector(o));
        out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckpointReport(report));
        return 0;
      }
      case 'preflight': {
        const brokers = checkBootstrap('kafka-bootstrap', required('kafka-bootstrap'));
        const sources = ((o['source-topic'] as string[] | undefined) ?? []).map((t) => checkTopic('source-topic', t));
        if (!sources.length) throw new CommandUsageError('--source-topic is required (at least one)', cmd);
        const sinks = ((o['sink-topic'] as string[] | undefined) ?? []).map((t) => checkTopic('sink-topic', t));
        const both = sources.filter((t) => sinks.includes(t));
        if (both.length) throw new OpsError(`--sink-topic: "${both[0]}" is also a source topic; a job that writes what it reads loops forever`);
        const create = o['create-sink-topics'] === true;
        const sinkPartitions = positiveInt('sink-partitions', o['sink-partitions'], 10_000);
        const replicationFactor = positiveInt('replication-factor', o['replication-factor'], 32);
        if (!create && (sinkPartitions !== undefined || replicationFactor !== undefined)) {
          throw new OpsError(`--${sinkPartitions !== undefined ? 'sink-partitions' : 'replication-factor'} applies only with --create-sink-topics`);
        }
        const report = await preflight({
          brokers, sourceTopics: [...new Set(sources)], sinkTopics: [...new Set(sinks)],
          parallelism: positiveInt('parallelism', o.parallelism, 100_000), createSinkTopics: create, sinkPartitions, replicationFactor,
          timeoutMs, sasl: saslFromEnv(), log: progress,
        });
        for (const w of report.warnings) log(`cdk8s-flink-ops: warning: ${w}`);
        out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatPreflight(report));
        return 0;
      }
      case 'handoff': {
        const rest = new FlinkRest(required('rest-url'));
        const namespace = (o.namespace as string) ?? 'default';
        const store: HandoffStore = o['handoff-dir'] ? new DirHandoff(o['handoff-dir'] as string) : new ConfigMapHandoff(kube(), namespace, required('configmap'));
        const configmap = (o.configmap as string) ?? 'local-handoff';
        const revision = Number(required('revision'));
        if (!Number.isInteger(revision) || revision < 1) throw new OpsError(`--revision: ${JSON.stringify(o.revision)} is invalid; expected a positive integer`);
        const ha = o['ha-configmap'] as string | undefined;
        const next = await handoff(rest, store, {
          event: oneOf('event', required('event'), ['upgrade', 'rollback'] as const),
          upgradeMode: oneOf('upgrade-mode', required('upgrade-mode'), ['stateless', 'savepoint', 'last-state'] as const),
          state: oneOf('state', required('state'), ['running', 'suspended'] as const),
          revision,
          savepointDir: (o['savepoint-dir'] as string) ?? '',
          release: (o.release as string) ?? configmap.replace(/-handoff$/, ''),
          namespace,
          timeoutMs,
          haMetadata: ha ? () => kube().getConfigMap(namespace, ha) : undefined,
          log,
        });
        log(`hand-off written to ${store.where}: ${JSON.stringify(next)}`);
        return 0;
      }
      case 'cleanup': {
        const k = kube();
        const ns = required('namespace');
        const cm = required('configmap');
        log(await k.deleteConfigMap(ns, cm) ? `deleted ConfigMap ${ns}/${cm}` : `ConfigMap ${ns}/${cm} was already gone`);
        const cid = o['ha-cluster-id'] as string | undefined;
        if (cid) {
          await k.deleteConfigMaps(ns, `app=${cid},configmap-type=high-availability`);
          log(`deleted the Flink HA ConfigMaps of cluster ${cid}`);
        }
        return 0;
      }
      case 'smoke': {
        const rest = new FlinkRest(required('rest-url'));
        const bootstrap = o['kafka-bootstrap'] as string | undefined;
        const sasl = saslFromEnv();
        await smoke(rest, {
          jobName: required('job-name'),
          requireCheckpoint: o['require-checkpoint'] === true,
          timeoutMs,
          kafka: bootstrap ? {
            bootstrap, sourceTopic: required('source-topic'), sinkTopic: required('sink-topic'),
            marker: o.marker ? JSON.parse(o.marker as string) : {}, idField: (o['id-field'] as string) ?? 'id',
            ...(sasl ? { sasl } : {}),
          } : undefined,
          log,
        });
        return 0;
      }
      case 'submit': {
        const file = required('spec');
        if (!fs.existsSync(file)) throw new OpsError(`--spec: ${file} does not exist`);
        await submit(JSON.parse(fs.readFileSync(file, 'utf8')), file, { timeoutMs, handoffDir: o['handoff-dir'] as string | undefined, log });
        return 0;
      }
      default:
        throw new CommandUsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      const c = e instanceof CommandUsageError ? e.command : undefined;
      log(`cdk8s-flink-ops: error: ${e.message}\n\n${c ? commandHelp(c) : USAGE}`);
      return 2;
    }
    if (e instanceof OpsError) { log(`cdk8s-flink-ops: error: ${e.message}`); return e.exitCode; }
    log(`cdk8s-flink-ops: error: ${((e as Error).message ?? String(e)).split('\n')[0]}`);
    if (process.env.CDK8S_FLINK_VERBOSE || argv.includes('--verbose')) log((e as Error).stack ?? '');
    return 1;
  }
}

if (require.main === module) {
  ops(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything the command started has been awaited; a client still retrying in the
    // background (kafkajs after a --timeout) must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  });
}
