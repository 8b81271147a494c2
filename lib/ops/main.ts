#!/usr/bin/env node
/**
 * cdk8s-flink-ops: the program the charts' hooks and `helm test` run, the session job
 * submitter, and the Flink lifecycle and Kafka checks an operator runs by hand. Data goes to
 * stdout, logs to stderr; a failure is one line and a non-zero exit.
 */
import * as fs from 'fs';
import { CommandDecl, list, num, OptionDecl, OptionValue, ParsedArgs, ProgramDecl, str } from '../command-line/declaration';
import { durationMs } from '../command-line/parse';
import { exitQuietlyOnEpipe, runProgram, USAGE_EXIT_CODE } from '../command-line/run';
import { table } from '../command-line/table';
import { HTTP_ENDPOINT, S3_REGION, UsageError } from '../errors';
import { PACKAGE_VERSION } from '../version';
import { OpsError } from './errors';
import { FlinkRest } from './flink-rest';
import { ConfigMapHandoff, DirHandoff, handoff, HandoffStore } from './handoff';
import { checkBootstrap, checkTopic, saslFromEnv, tlsFromFile } from './kafka';
import { haConfigMapSelector, Kube } from './kube';
import { cancelJob, checkJobId, checkpointReport, formatCheckpointReport, JobSelector, listJobs, stopJob, stopOnUninstall, takeSavepoint } from './lifecycle';
import { formatPreflight, preflight } from './preflight';
import { smoke } from './smoke';
import { submit } from './submit';
import { fetchArtifact } from './artifact';
import { S3Access } from './s3';
import { runPool } from './pool';
import { runAutoscaler } from './autoscale';

const log = (m: string) => process.stderr.write(`${m}\n`);
const out = (s: string) => process.stdout.write(s);

const opt = (name: string, value: string | undefined, description: string, extra: Partial<OptionDecl> = {}): OptionDecl => ({ name, value, description, ...extra });
const REST_URL = opt('rest-url', 'url', 'the JobManager REST endpoint, e.g. http://<cluster>-rest.<namespace>.svc:8081', { required: true });
const JOB_ID = opt('job-id', 'id', 'the job to act on (32 hex digits); any job the JobManager knows');
const JOB_NAME = opt('job-name', 'name', 'the job to act on by name: the one active (not finished) job of that name');
const SAVEPOINT_DIR = opt('savepoint-dir', 'uri', "where to write the savepoint (default: the cluster's execution.checkpointing.savepoint-dir)");
const JSON_OUT = opt('json', undefined, 'print JSON on stdout');
const NAMESPACE = opt('namespace', 'ns', 'the release namespace');
const CONFIGMAP = opt('configmap', 'name', "the release's hand-off ConfigMap");
const KUBECONFIG = opt('kubeconfig', 'file', 'a kubeconfig, outside a pod (default: the pod\'s service account)');
const HANDOFF_DIR = opt('handoff-dir', 'dir', 'a folder instead of the hand-off ConfigMap (local runs)');
const KAFKA_BOOTSTRAP = opt('kafka-bootstrap', 'host:port,...', 'the brokers');
const KAFKA_CA_FILE = opt('kafka-ca-file', 'file', "TLS trusting this PEM certificate authority file (SSL, or SASL_SSL with KAFKA_SOURCE_USERNAME); default: TLS only with SASL, trusting Node's built-in authorities", { env: 'KAFKA_SOURCE_CA_FILE' });
const TIMEOUT = (d: string) => opt('timeout', 'duration', `overall bound for the command, e.g. 90s, 10m (default ${d}); REST requests time out and connection failures are retried a few times within it`, { type: 'duration' });
/** The options of a command that reads an s3:// jar. */
const S3_OPTIONS = [
  opt('s3-endpoint', 'url', 'for an s3:// jar: the S3-compatible store, e.g. http://minio.storage.svc:9000 (default: AWS, https://s3.<region>.amazonaws.com)'),
  opt('s3-region', 'region', 'for an s3:// jar: the region the request is signed for (default: AWS_REGION, else us-east-1)'),
  opt('s3-path-style', undefined, 'for an s3:// jar: path-style addressing (<endpoint>/<bucket>/<key>), which most S3-compatible stores need'),
];
const SELECT_NOTE = 'Without --job-id or --job-name the command acts on the only active job (an application cluster runs one).';

/** How the S3 options reach the store; one-line errors for a bad endpoint or region. */
function s3Access(o: Readonly<Record<string, OptionValue>>): S3Access {
  const endpoint = str(o['s3-endpoint']);
  if (endpoint !== undefined && !HTTP_ENDPOINT.test(endpoint)) {
    throw new OpsError(`--s3-endpoint: "${endpoint}" is not an http(s) URL without user or password; expected e.g. http://minio.storage.svc:9000`);
  }
  const region = str(o['s3-region']) ?? (process.env.AWS_REGION || undefined);
  if (region !== undefined && !S3_REGION.test(region)) throw new OpsError(`--s3-region: "${region}" is not a region; expected e.g. eu-west-1`);
  return { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), pathStyle: o['s3-path-style'] === true };
}

/** The hooks' commands keep accepting every option any of them ever did (ignored where they do not apply). */
const HOOK_OPTIONS = ['event', 'rest-url', 'upgrade-mode', 'state', 'revision', 'savepoint-dir', 'configmap', 'namespace', 'kubeconfig', 'handoff-dir',
  'ha-configmap', 'ha-cluster-id', 'job-name', 'kafka-bootstrap', 'kafka-ca-file', 'source-topic', 'sink-topic', 'marker', 'id-field', 'spec', 'release',
  'stop', 'on-savepoint-failure'];

interface OpsCommand {
  readonly name: string;
  readonly summary: string;
  readonly details?: string;
  readonly options: OptionDecl[];
  readonly example: string;
  /** The default --timeout. */
  readonly timeout: string;
  /** A hook's command: accepts every option of the hooks. */
  readonly hook?: boolean;
  run(o: ParsedArgs['options'], timeoutMs: number): Promise<void>;
}

/** The command's declaration: its options, --timeout with its default, and for hooks the options they keep accepting. */
function command(c: OpsCommand): CommandDecl {
  const declared = [...c.options, TIMEOUT(c.timeout)];
  const kept = c.hook ? HOOK_OPTIONS.filter((n) => !declared.some((o) => o.name === n)).map((n) => opt(n, 'value', '', { hidden: true })) : [];
  return {
    name: c.name,
    summary: c.summary,
    details: c.details,
    options: [...declared, ...kept],
    examples: [c.example],
    async run(args) {
      await c.run(args.options, num(args.options.timeout) ?? durationMs(c.timeout)!);
      return 0;
    },
  };
}

const progress = (o: ParsedArgs['options']) => (o.verbose ? log : () => undefined);
const kube = (o: ParsedArgs['options']) => (str(o.kubeconfig) ? Kube.fromKubeconfig(str(o.kubeconfig)!) : Kube.inCluster());

function selector(o: ParsedArgs['options']): JobSelector {
  const jobId = str(o['job-id']);
  const jobName = str(o['job-name']);
  if (jobName === '') throw new OpsError('--job-name: "" is invalid; expected a job name');
  return { jobId: jobId === undefined ? undefined : checkJobId('job-id', jobId), jobName };
}

/** A required option's value: for the options a command needs only in some of its modes. */
function need(o: ParsedArgs['options'], name: string): string {
  const v = str(o[name]);
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

const lifecycle: OpsCommand[] = [
  {
    name: 'jobs',
    summary: 'list the jobs of a cluster: id, name, state and start time, newest first',
    options: [REST_URL, JSON_OUT],
    example: 'cdk8s-flink-ops jobs --rest-url http://audit-logs-rest.logs.svc:8081',
    timeout: '30s',
    async run(o, timeoutMs) {
      const jobs = await listJobs(new FlinkRest(str(o['rest-url'])!).within(timeoutMs));
      if (o.json) out(`${JSON.stringify(jobs, null, 2)}\n`);
      else out(table(['JOB ID', 'NAME', 'STATE', 'STARTED'], jobs.map((j) => [j.id, j.name, j.state, j.startTime ?? '-'])));
    },
  },
  {
    name: 'savepoint',
    summary: 'trigger a savepoint, wait for it and print its path; the job keeps running',
    details: `Trigger a savepoint, wait for it and print its path on stdout; the job keeps running. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, SAVEPOINT_DIR],
    example: 'cdk8s-flink-ops savepoint --rest-url http://audit-logs-rest.logs.svc:8081 --savepoint-dir s3://flink-state/logs/audit-logs/savepoints',
    timeout: '10m',
    async run(o, timeoutMs) {
      const flink = new FlinkRest(str(o['rest-url'])!).within(timeoutMs);
      const { job, location } = await takeSavepoint(flink, selector(o), str(o['savepoint-dir']) || undefined, { timeoutMs, log: progress(o) });
      progress(o)(`savepoint of job ${job.jid} "${job.name}" completed; the job keeps running`);
      out(`${location}\n`);
    },
  },
  {
    name: 'stop',
    summary: 'stop the job with a savepoint and print the savepoint\'s path',
    details: `Stop the job with a savepoint, wait until it is FINISHED and print the savepoint's path on stdout. A savepoint that fails leaves the job running. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, SAVEPOINT_DIR, opt('drain', undefined, 'emit MAX_WATERMARK first (fires every event-time timer and window); for a final stop, not an upgrade')],
    example: 'cdk8s-flink-ops stop --rest-url http://audit-logs-rest.logs.svc:8081 --job-name audit-logs',
    timeout: '10m',
    async run(o, timeoutMs) {
      const flink = new FlinkRest(str(o['rest-url'])!).within(timeoutMs);
      const { job, location, state } = await stopJob(flink, selector(o), str(o['savepoint-dir']) || undefined, o.drain === true, { timeoutMs, log: progress(o) });
      progress(o)(`job ${job.jid} "${job.name}" is ${state}`);
      out(`${location}\n`);
    },
  },
  {
    name: 'cancel',
    summary: 'cancel the job without a savepoint and wait until it is CANCELED',
    details: 'Cancel the job without a savepoint and wait until it is CANCELED (state since the last checkpoint is lost unless checkpoints are retained). --job-id or --job-name is required.',
    options: [REST_URL, JOB_ID, JOB_NAME],
    example: 'cdk8s-flink-ops cancel --rest-url http://shared-logs-rest.logs.svc:8081 --job-name error-logs',
    timeout: '2m',
    async run(o, timeoutMs) {
      const sel = selector(o);
      if (!sel.jobId && !sel.jobName) throw new UsageError('--job-id or --job-name is required: cancel names the job it loses');
      const { job, state } = await cancelJob(new FlinkRest(str(o['rest-url'])!).within(timeoutMs), sel, { timeoutMs, log: progress(o) });
      out(`job ${job.jid} "${job.name}" ${state}\n`);
    },
  },
  {
    name: 'checkpoints',
    summary: 'checkpoint status: counts, the latest completed, failed and savepoint, what the job restored from',
    details: `Checkpoint status: counts (completed, failed, in progress, restored), the latest completed, failed and savepoint, and what the job restored from. ${SELECT_NOTE}`,
    options: [REST_URL, JOB_ID, JOB_NAME, JSON_OUT],
    example: 'cdk8s-flink-ops checkpoints --rest-url http://audit-logs-rest.logs.svc:8081 --json',
    timeout: '30s',
    async run(o, timeoutMs) {
      const report = await checkpointReport(new FlinkRest(str(o['rest-url'])!).within(timeoutMs), selector(o));
      out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckpointReport(report));
    },
  },
];

const kafka: OpsCommand[] = [{
  name: 'preflight',
  summary: 'check Kafka before a release: source and sink topics, partitions, a parallelism recommendation',
  details: 'Check Kafka before a release: every source topic exists (else exit 1 and create nothing), the partitions per topic, '
    + 'a parallelism recommendation (a warning when the parallelism leaves source subtasks idle or unevenly loaded), and every sink topic exists; '
    + 'with --create-sink-topics missing sink topics are created after the broker validated them. '
    + 'KAFKA_SOURCE_USERNAME and KAFKA_SOURCE_PASSWORD in the environment select SASL over TLS (KAFKA_SOURCE_SASL_MECHANISM: SCRAM-SHA-512, the default, SCRAM-SHA-256 or PLAIN).',
  options: [
    { ...KAFKA_BOOTSTRAP, required: true },
    KAFKA_CA_FILE,
    opt('source-topic', 'topic', 'a topic the job reads; repeat for several (at least one)', { repeat: true, required: true }),
    opt('sink-topic', 'topic', 'a topic the job writes; repeat for several', { repeat: true }),
    opt('parallelism', 'n', "the job's parallelism, checked against the source partitions", { type: 'integer', min: 1, max: 100_000 }),
    opt('create-sink-topics', undefined, 'create the sink topics that do not exist'),
    opt('sink-partitions', 'n', "partitions of created sink topics (default: the broker's num.partitions)", { type: 'integer', min: 1, max: 10_000 }),
    opt('replication-factor', 'n', "replication factor of created sink topics (default: the broker's default.replication.factor)", { type: 'integer', min: 1, max: 32 }),
    JSON_OUT,
  ],
  example: 'cdk8s-flink-ops preflight --kafka-bootstrap kafka:9092 --source-topic logs.audit --sink-topic logs.audit.counted --parallelism 2 --create-sink-topics --sink-partitions 2',
  timeout: '60s',
  async run(o, timeoutMs) {
    const brokers = checkBootstrap('kafka-bootstrap', str(o['kafka-bootstrap'])!);
    const sources = list(o['source-topic'])!.map((t) => checkTopic('source-topic', t));
    const sinks = (list(o['sink-topic']) ?? []).map((t) => checkTopic('sink-topic', t));
    const both = sources.filter((t) => sinks.includes(t));
    if (both.length) throw new OpsError(`--sink-topic: "${both[0]}" is also a source topic; a job that writes what it reads loops forever`);
    const create = o['create-sink-topics'] === true;
    const sinkPartitions = num(o['sink-partitions']);
    const replicationFactor = num(o['replication-factor']);
    if (!create && (sinkPartitions !== undefined || replicationFactor !== undefined)) {
      throw new OpsError(`--${sinkPartitions !== undefined ? 'sink-partitions' : 'replication-factor'} applies only with --create-sink-topics`);
    }
    const report = await preflight({
      brokers, sourceTopics: [...new Set(sources)], sinkTopics: [...new Set(sinks)],
      parallelism: num(o.parallelism), createSinkTopics: create, sinkPartitions, replicationFactor,
      timeoutMs, sasl: saslFromEnv(), tls: tlsFromFile(str(o['kafka-ca-file'])), log: progress(o),
    });
    for (const w of report.warnings) log(`cdk8s-flink-ops: warning: ${w}`);
    out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatPreflight(report));
  },
}];

const hooks: OpsCommand[] = [
  {
    name: 'handoff',
    summary: 'the pre-upgrade and pre-rollback hook: stop with a savepoint and hand the next job id and savepoint over',
    details: "The pre-upgrade and pre-rollback hook: stops the job with a savepoint (savepoint mode or a suspend), checks the HA metadata (last-state) or cancels (stateless), and writes the next job id and savepoint into the release's hand-off ConfigMap through the Kubernetes API with the pod's service account. A failed savepoint fails the release and writes nothing. --configmap is required unless --handoff-dir is given.",
    options: [opt('event', undefined, 'what the release does', { choices: ['upgrade', 'rollback'], required: true }), REST_URL,
      opt('upgrade-mode', undefined, 'the job\'s upgrade mode', { choices: ['stateless', 'savepoint', 'last-state'], required: true }),
      opt('state', undefined, 'the state the release asks for', { choices: ['running', 'suspended'], required: true }),
      opt('revision', 'n', 'the revision being installed', { type: 'integer', min: 1, required: true }), opt('savepoint-dir', 'uri', 'where savepoints go (empty: none)'),
      CONFIGMAP, { ...NAMESPACE, description: 'the release namespace (default: default)' }, KUBECONFIG, HANDOFF_DIR,
      opt('ha-configmap', 'name', 'the Flink HA ConfigMap (last-state)'), opt('release', 'name', 'the release (default: the ConfigMap\'s name without -handoff)')],
    example: 'cdk8s-flink-ops handoff --event upgrade --rest-url http://audit-logs-rest.logs.svc:8081 --namespace logs --configmap audit-logs-handoff --upgrade-mode savepoint --state running --revision 3 --savepoint-dir s3://flink-state/logs/audit-logs/savepoints',
    timeout: '240s',
    hook: true,
    async run(o, timeoutMs) {
      const rest = new FlinkRest(str(o['rest-url'])!);
      const namespace = str(o.namespace) ?? 'default';
      const store: HandoffStore = str(o['handoff-dir']) ? new DirHandoff(str(o['handoff-dir'])!) : new ConfigMapHandoff(kube(o), namespace, need(o, 'configmap'));
      const configmap = str(o.configmap) ?? 'local-handoff';
      const ha = str(o['ha-configmap']);
      const next = await handoff(rest, store, {
        event: str(o.event) as 'upgrade' | 'rollback',
        upgradeMode: str(o['upgrade-mode']) as 'stateless' | 'savepoint' | 'last-state',
        state: str(o.state) as 'running' | 'suspended',
        revision: num(o.revision)!,
        savepointDir: str(o['savepoint-dir']) ?? '',
        release: str(o.release) ?? configmap.replace(/-handoff$/, ''),
        namespace,
        timeoutMs,
        haMetadata: ha ? () => kube(o).getConfigMap(namespace, ha) : undefined,
        log,
      });
      log(`hand-off written to ${store.where}: ${JSON.stringify(next)}`);
    },
  },
  {
    name: 'cleanup',
    summary: "the post-delete hook: delete the release's hand-off ConfigMap and the cluster's HA ConfigMaps",
    details: "The post-delete hook: deletes the release's hand-off ConfigMap, and the Flink HA ConfigMaps of the cluster when --ha-cluster-id is not empty.",
    options: [{ ...NAMESPACE, required: true }, { ...CONFIGMAP, required: true }, opt('ha-cluster-id', 'id', 'the Flink cluster id whose HA ConfigMaps go too (empty: none)'), KUBECONFIG],
    example: 'cdk8s-flink-ops cleanup --namespace logs --configmap audit-logs-handoff',
    timeout: '240s',
    hook: true,
    async run(o) {
      const k = kube(o);
      const ns = str(o.namespace)!;
      const cm = str(o.configmap)!;
      log(await k.deleteConfigMap(ns, cm) ? `deleted ConfigMap ${ns}/${cm}` : `ConfigMap ${ns}/${cm} was already gone`);
      const cid = str(o['ha-cluster-id']);
      if (cid) {
        await k.deleteConfigMaps(ns, haConfigMapSelector(cid));
        log(`deleted the Flink HA ConfigMaps of cluster ${cid}`);
      }
    },
  },
  {
    name: 'smoke',
    summary: 'what `helm test` runs: the job is RUNNING, a checkpoint completed, a marker record goes through',
    details: 'What `helm test` runs: the REST API answers, the job is RUNNING, a checkpoint completed, and a marker record sent to the source topic arrives in the sink topic (read_committed). '
      + 'With --kafka-bootstrap, --source-topic and --sink-topic are required. KAFKA_SOURCE_USERNAME/PASSWORD select SASL over TLS, as for preflight.',
    options: [REST_URL, opt('job-name', 'name', 'the job that must be RUNNING', { required: true }), opt('require-checkpoint', undefined, 'wait for a completed checkpoint'),
      opt('kafka-bootstrap', 'host:port,...', 'send a marker through the job'), KAFKA_CA_FILE, opt('source-topic', 'topic', 'where the marker is sent'), opt('sink-topic', 'topic', 'where the marker must arrive'),
      opt('marker', 'json', 'the marker record (its id field is set to a unique id)'), opt('id-field', 'field', 'the marker\'s id field (default: id)')],
    example: 'cdk8s-flink-ops smoke --rest-url http://audit-logs-rest.logs.svc:8081 --job-name audit-logs --require-checkpoint',
    timeout: '240s',
    hook: true,
    async run(o, timeoutMs) {
      const bootstrap = str(o['kafka-bootstrap']);
      const sasl = saslFromEnv();
      const tls = tlsFromFile(str(o['kafka-ca-file']));
      await smoke(new FlinkRest(str(o['rest-url'])!), {
        jobName: str(o['job-name'])!,
        requireCheckpoint: o['require-checkpoint'] === true,
        timeoutMs,
        kafka: bootstrap ? {
          bootstrap, sourceTopic: need(o, 'source-topic'), sinkTopic: need(o, 'sink-topic'),
          marker: str(o.marker) ? JSON.parse(str(o.marker)!) : {}, idField: str(o['id-field']) ?? 'id',
          ...(sasl ? { sasl } : {}),
          ...(tls ? { tls } : {}),
        } : undefined,
        log,
      });
    },
  },
  {
    name: 'uninstall',
    summary: "a session job's pre-delete hook: stop the job with a savepoint (or cancel it) before its release goes",
    details: "A session job's pre-delete hook: stops the active job of that name on the session cluster before `helm uninstall` removes its release. "
      + '--stop savepoint stops it with a savepoint and prints the savepoint\'s path (restore it later with initialSavepointPath); --stop cancel cancels it. '
      + 'No active job of that name (cancelled by hand, already stopped) is a success. A failed savepoint fails the hook and leaves the job as it is, '
      + 'unless --on-savepoint-failure cancel.',
    options: [REST_URL, opt('job-name', 'name', "the job's name on the cluster", { required: true }),
      opt('stop', undefined, 'how the job stops', { choices: ['savepoint', 'cancel'], required: true }), SAVEPOINT_DIR,
      opt('on-savepoint-failure', undefined, 'what a failed savepoint does (default: fail)', { choices: ['fail', 'cancel'] })],
    example: 'cdk8s-flink-ops uninstall --rest-url http://shared-logs-rest.logs.svc:8081 --job-name error-logs --stop savepoint --savepoint-dir s3://flink-state/logs/shared-logs/savepoints',
    timeout: '210s',
    hook: true,
    async run(o, timeoutMs) {
      const jobName = str(o['job-name'])!;
      if (jobName === '') throw new OpsError('--job-name: "" is invalid; expected a job name');
      const r = await stopOnUninstall(new FlinkRest(str(o['rest-url'])!).within(timeoutMs), {
        jobName,
        mode: str(o.stop) as 'savepoint' | 'cancel',
        savepointDir: str(o['savepoint-dir']) || undefined,
        onSavepointFailure: (str(o['on-savepoint-failure']) ?? 'fail') as 'fail' | 'cancel',
        timeoutMs,
        log,
      });
      if (r.savepoint) out(`${r.savepoint}\n`);
    },
  },
  {
    name: 'submit',
    summary: "a session job's submitter: upload the jar (or the SQL runner) and run the job on the session cluster",
    details: "A session job's submitter: uploads the jar (or the SQL runner) and runs the job on the session cluster with the spec's job id and savepoint; a job with that id already running is left alone. "
      + 'An s3://bucket/key jar is read with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN when set).',
    options: [opt('spec', 'file', 'the job spec (JSON) the chart mounts', { required: true }), HANDOFF_DIR, ...S3_OPTIONS],
    example: 'cdk8s-flink-ops submit --spec /opt/cdk8s-flink/spec/job.json',
    timeout: '240s',
    hook: true,
    async run(o, timeoutMs) {
      const file = str(o.spec)!;
      if (!fs.existsSync(file)) throw new OpsError(`--spec: ${file} does not exist`);
      await submit(JSON.parse(fs.readFileSync(file, 'utf8')), file, { timeoutMs, handoffDir: str(o['handoff-dir']), log, s3: s3Access(o) });
    },
  },
];

const artifacts: OpsCommand[] = [{
  name: 'fetch-artifact',
  summary: "an application JobManager's init container: fetch the job's https or s3 jar into the pod, its sha256 checked",
  details: 'Fetches an https jar (redirects to https only), or an s3://bucket/key jar signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN when set), '
    + 'into a .part file next to --dest, checks its sha256 when --sha256 is not empty '
    + '(and with --require-main-class that its manifest names a Main-Class), then renames it to --dest. A jar that fails a check is removed and the command exits 1: '
    + 'the pod does not start. A --dest that is already there is kept when it passes the same checks, never replaced. '
    + 'Trust for a private certificate authority: NODE_EXTRA_CA_CERTS=<pem file>.',
  options: [
    opt('url', 'url', 'the jar (https:// or s3://bucket/key)', { required: true }),
    opt('sha256', 'hex', 'the expected sha256 (64 hex digits; empty: not checked)'),
    opt('dest', 'file', 'where the jar goes, e.g. /opt/flink/artifacts/job.jar', { required: true }),
    opt('require-main-class', undefined, "refuse a jar whose manifest names no Main-Class (the job gives no entry class)"),
    ...S3_OPTIONS,
  ],
  example: 'cdk8s-flink-ops fetch-artifact --url https://artifacts.example.com/logs/audit-logs-1.4.0.jar --sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --dest /opt/flink/artifacts/job.jar',
  timeout: '5m',
  async run(o, timeoutMs) {
    const sha = str(o.sha256) ?? '';
    if (sha !== '' && !/^[0-9a-fA-F]{64}$/.test(sha)) throw new OpsError(`--sha256: "${sha}" is not a sha256 digest; expected 64 hex digits`);
    await fetchArtifact({
      url: str(o.url)!, s3: s3Access(o), sha256: sha === '' ? undefined : sha.toLowerCase(), dest: str(o.dest)!,
      requireMainClass: o['require-main-class'] === true, timeoutMs, log,
    });
  },
}];

const sessions: OpsCommand[] = [{
  name: 'pool',
  summary: "a session cluster's TaskManager pool: keep the TaskManager Deployment as large as its jobs need, between --min and --max",
  details: 'Runs until stopped (SIGTERM) or for --timeout when that is not 0. Every --interval it reads the JobManager\'s jobs and TaskManagers and sets the replicas of the '
    + 'TaskManager Deployment: the slots its active jobs need (each job its most parallel operator; under the adaptive scheduler its declared parallelism, read every round), or the slots in use when that is more, plus --spare-slots, '
    + 'in TaskManagers of --slots-per-task-manager slots. It grows at once; it shrinks after the pool has been larger than needed for --scale-down-delay, and only by TaskManagers '
    + 'with no slot in use (it sets the pods\' controller.kubernetes.io/pod-deletion-cost first, so the ReplicaSet removes idle ones). '
    + 'A failed round is logged and retried. Needs get and patch on deployments/scale of that Deployment, and list and patch on pods.',
  options: [
    REST_URL,
    opt('deployment', 'name', 'the TaskManager Deployment', { required: true }),
    opt('selector', 'labels', 'the label selector of its pods, e.g. app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=taskmanager', { required: true }),
    opt('slots-per-task-manager', 'n', 'taskmanager.numberOfTaskSlots of the cluster', { type: 'integer', min: 1, max: 1024, required: true }),
    opt('min', 'n', 'fewest TaskManagers (default 1)', { type: 'integer', min: 0, max: 1000 }),
    opt('max', 'n', 'most TaskManagers', { type: 'integer', min: 1, max: 1000, required: true }),
    opt('spare-slots', 'n', 'free slots kept beyond what the jobs need (default 0)', { type: 'integer', min: 0, max: 10000 }),
    opt('scale-down-delay', 'duration', 'how long the pool must be larger than needed before it shrinks (default 5m)', { type: 'duration' }),
    opt('interval', 'duration', 'time between rounds (default 10s)', { type: 'duration', min: 100 }),
    { ...NAMESPACE, description: "the Deployment's namespace (default: the pod's own)" },
    KUBECONFIG,
  ],
  example: 'cdk8s-flink-ops pool --rest-url http://shared-logs-rest.logs.svc:8081 --deployment shared-logs-taskmanager --selector app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=taskmanager --slots-per-task-manager 2 --min 1 --max 6',
  timeout: '0s',
  async run(o, timeoutMs) {
    const min = num(o.min) ?? 1;
    const max = num(o.max)!;
    if (max < Math.max(1, min)) throw new UsageError(`--max: ${max} is below --min (${min}); expected at least ${Math.max(1, min)}`);
    const k = kube(o);
    let stopped = false;
    const stop = () => { stopped = true; };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await runPool(new FlinkRest(str(o['rest-url'])!), k, {
      spec: {
        min, max, slotsPerTaskManager: num(o['slots-per-task-manager'])!, spareSlots: num(o['spare-slots']) ?? 0,
        scaleDownDelayMs: num(o['scale-down-delay']) ?? 300_000,
      },
      target: { namespace: str(o.namespace) ?? Kube.podNamespace(), deployment: str(o.deployment)!, selector: str(o.selector)! },
      intervalMs: num(o.interval) ?? 10_000,
      until: timeoutMs > 0 ? Date.now() + timeoutMs : undefined,
      stopped: () => stopped,
      log,
    });
  },
}];

const scaling: OpsCommand[] = [{
  name: 'autoscale',
  summary: "a job autoscaler (an application's or a session job's): set each job vertex's parallelism from its busy time and its sources' backlog (adaptive scheduler)",
  details: 'Runs until stopped (SIGTERM) or for --timeout when that is not 0. Once the job has run for --stabilization, it averages every vertex\'s busy time, '
    + 'and its sources\' pending records and rates, over --window; a vertex whose load (busy time x the catch-up factor of the sources upstream) is outside '
    + '--target-utilization +/- --utilization-boundary gets ceil(parallelism x load / target), at most --max-scale-down percent lower, within --min-parallelism and '
    + '--max-parallelism (keyed vertices rounded up to a divisor of their max parallelism). The new parallelism is declared with PUT /jobs/<id>/resource-requirements: '
    + 'the adaptive scheduler (jobmanager.scheduler: adaptive, Flink 1.18 or later) rescales the job in place from its latest checkpoint. '
    + 'With --deployment it also sizes the TaskManager Deployment to the slots the job needs (before a scale-up; idle ones after a scale-down; needs get and patch on '
    + 'deployments/scale of it, and list and patch on pods); without, the job rescales within the slots there are (on a session cluster whose TaskManager pool counts '
    + 'each job at its declared parallelism, the pool follows). On a session cluster select the job with --job-name or --job-id. A failed round is logged and retried.',
  options: [
    REST_URL,
    opt('job-id', 'id', 'the job to scale (32 hex digits; default: the cluster\'s one running job)'),
    opt('job-name', 'name', 'the job to scale by name, on a session cluster: its active job of that name (a session job\'s pipeline.name)'),
    opt('target-utilization', 'percent', 'busy time to aim for, in percent (default 70)', { type: 'integer', min: 10, max: 100 }),
    opt('utilization-boundary', 'percent', 'no change while every vertex is within the target +/- this, in percent (default 20)', { type: 'integer', min: 0, max: 90 }),
    opt('min-parallelism', 'n', 'lowest parallelism of any vertex (default 1)', { type: 'integer', min: 1, max: 32768 }),
    opt('max-parallelism', 'n', 'highest parallelism of any vertex', { type: 'integer', min: 1, max: 32768, required: true }),
    opt('max-scale-down', 'percent', 'at most this much lower per decision, in percent (default 60)', { type: 'integer', min: 1, max: 100 }),
    opt('catch-up', 'duration', 'time in which a source\'s pending records should be read on top of its input (default 5m)', { type: 'duration', min: 1000 }),
    opt('window', 'duration', 'metrics averaged over this long before a decision (default 5m)', { type: 'duration', min: 1000 }),
    opt('stabilization', 'duration', 'metrics ignored for this long after the job (re)starts (default 2m)', { type: 'duration' }),
    opt('interval', 'duration', 'time between samples (default 10s)', { type: 'duration', min: 100 }),
    opt('deployment', 'name', 'the TaskManager Deployment to size (default: none)'),
    opt('selector', 'labels', 'the label selector of its pods (with --deployment)'),
    opt('slots-per-task-manager', 'n', 'taskmanager.numberOfTaskSlots of the cluster (with --deployment)', { type: 'integer', min: 1, max: 1024 }),
    opt('min-task-managers', 'n', 'fewest TaskManagers (with --deployment; default 1)', { type: 'integer', min: 1, max: 1000 }),
    opt('max-task-managers', 'n', 'most TaskManagers (with --deployment; default: what --max-parallelism needs)', { type: 'integer', min: 1, max: 1000 }),
    { ...NAMESPACE, description: "the Deployment's namespace (default: the pod's own)" },
    KUBECONFIG,
  ],
  example: 'cdk8s-flink-ops autoscale --rest-url http://log-enricher-rest.logs.svc:8081 --max-parallelism 8 --deployment log-enricher-taskmanager --selector app.kubernetes.io/instance=log-enricher,app.kubernetes.io/component=taskmanager --slots-per-task-manager 2',
  timeout: '0s',
  async run(o, timeoutMs) {
    const minP = num(o['min-parallelism']) ?? 1;
    const maxP = num(o['max-parallelism'])!;
    if (maxP < minP) throw new UsageError(`--max-parallelism: ${maxP} is below --min-parallelism (${minP}); expected at least ${minP}`);
    const jobId = str(o['job-id']) === undefined ? undefined : checkJobId('job-id', str(o['job-id'])!);
    const jobName = str(o['job-name']);
    if (jobName === '') throw new UsageError('--job-name: "" is invalid; expected a job name');
    const deployment = str(o.deployment);
    const slots = num(o['slots-per-task-manager']);
    if (deployment !== undefined && (slots === undefined || str(o.selector) === undefined)) {
      throw new UsageError(`--deployment: "${deployment}" is given without ${slots === undefined ? '--slots-per-task-manager' : '--selector'}; expected both with it`);
    }
    const minTm = num(o['min-task-managers']) ?? 1;
    const maxTm = num(o['max-task-managers']) ?? (slots ? Math.max(minTm, Math.ceil(maxP / slots)) : minTm);
    if (maxTm < minTm) throw new UsageError(`--max-task-managers: ${maxTm} is below --min-task-managers (${minTm}); expected at least ${minTm}`);
    let stopped = false;
    const stop = () => { stopped = true; };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const pct = (k: string, d: number) => (num(o[k]) ?? d) / 100;
    await runAutoscaler(new FlinkRest(str(o['rest-url'])!), deployment ? kube(o) : undefined, {
      spec: {
        targetUtilization: pct('target-utilization', 70), utilizationBoundary: pct('utilization-boundary', 20),
        minParallelism: minP, maxParallelism: maxP, maxScaleDown: pct('max-scale-down', 60),
        catchUpMs: num(o['catch-up']) ?? 300_000, windowMs: num(o.window) ?? 300_000, stabilizationMs: num(o.stabilization) ?? 120_000,
      },
      jobId,
      jobName,
      taskManagers: deployment ? {
        namespace: str(o.namespace) ?? Kube.podNamespace(), deployment, selector: str(o.selector)!, slotsPerTaskManager: slots!, min: minTm, max: maxTm,
      } : undefined,
      intervalMs: num(o.interval) ?? 10_000,
      until: timeoutMs > 0 ? Date.now() + timeoutMs : undefined,
      stopped: () => stopped,
      log,
    });
  },
}];

export const OPS_PROGRAM: ProgramDecl = {
  name: 'cdk8s-flink-ops',
  title: 'Flink job lifecycle, Kafka checks, and the Helm hooks of cdk8s-flink charts',
  version: PACKAGE_VERSION,
  groups: [
    { title: "Flink job lifecycle (the JobManager's REST API)", commands: lifecycle.map(command) },
    { title: 'Kafka', commands: kafka.map(command) },
    { title: 'Hooks and helm test', commands: hooks.map(command) },
    { title: 'Init containers', commands: artifacts.map(command) },
    { title: 'Session clusters', commands: sessions.map(command) },
    { title: 'Application clusters', commands: scaling.map(command) },
  ],
  globalOptions: [
    opt('help', undefined, 'show help', { short: 'h' }),
    opt('verbose', undefined, 'progress on stderr, and the stack trace of an unexpected error', { short: 'v', env: 'CDK8S_FLINK_VERBOSE' }),
  ],
  notes: 'Every command takes --timeout <duration>, an overall bound: REST requests time out and connection failures are retried a few times within it.',
  exitCodes: [
    [0, 'success'],
    [1, 'a runtime failure (JobManager or Kafka unreachable, a savepoint that failed, a missing topic, ...) or an invalid value the command checks itself '
      + '(a URL, a topic name, a job id): one line on stderr naming what failed and why; nothing was changed unless that line says so'],
    USAGE_EXIT_CODE,
  ],
};

/** Runs the operations tool; returns the exit code. */
export function ops(argv: string[]): Promise<number> {
  return runProgram(OPS_PROGRAM, argv);
}

if (require.main === module) {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  ops(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything the command started has been awaited; a client still retrying in the
    // background (kafkajs after a --timeout) must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  });
}
