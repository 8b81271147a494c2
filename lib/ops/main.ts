#!/usr/bin/env node
/**
 * cdk8s-flink-ops: the program the charts' hooks and `helm test` run, and the session job
 * submitter. Logs go to stderr; a failure is one line and a non-zero exit.
 */
import * as fs from 'fs';
import { parseArgs, UsageError } from '../cli/args';
import { OpsError, parseDuration } from './errors';
import { FlinkRest } from './flink-rest';
import { ConfigMapHandoff, DirHandoff, handoff, HandoffStore } from './handoff';
import { Kube } from './kube';
import { smoke } from './smoke';
import { submit } from './submit';

const log = (m: string) => process.stderr.write(`${m}\n`);
const USAGE = `usage: cdk8s-flink-ops <command> [options]
  handoff  --event upgrade|rollback --rest-url URL --upgrade-mode M --state S --revision N --savepoint-dir URI
           (--configmap NAME --namespace NS [--kubeconfig FILE] | --handoff-dir DIR) [--ha-configmap NAME] [--timeout 9m]
  cleanup  --namespace NS --configmap NAME [--ha-cluster-id ID] [--kubeconfig FILE]
  smoke    --rest-url URL --job-name NAME [--require-checkpoint] [--kafka-bootstrap B --source-topic T --sink-topic T --marker JSON --id-field F] [--timeout 4m]
  submit   --spec FILE [--handoff-dir DIR] [--timeout 4m]`;

const OPTIONS = ['event', 'rest-url', 'upgrade-mode', 'state', 'revision', 'savepoint-dir', 'configmap', 'namespace', 'kubeconfig', 'handoff-dir',
  'ha-configmap', 'timeout', 'ha-cluster-id', 'job-name', 'kafka-bootstrap', 'source-topic', 'sink-topic', 'marker', 'id-field', 'spec', 'release']
  .map((name) => ({ name, value: 'v', description: '' }));

function need(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '' && !['savepoint-dir', 'ha-cluster-id'].includes(k)) throw new UsageError(`--${k} is required`);
  return v as string;
}

function oneOf<T extends string>(field: string, v: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new OpsError(`--${field}: ${JSON.stringify(v)} is invalid; expected one of ${allowed.join(', ')}`);
  return v as T;
}

export async function ops(argv: string[]): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === '--help' || cmd === '-h') { process.stdout.write(`${USAGE}\n`); return cmd ? 0 : 2; }
    const { options: o } = parseArgs(rest, [...OPTIONS, { name: 'require-checkpoint', description: '' }]);
    const timeoutMs = parseDuration('--timeout', (o.timeout as string) ?? '240s');
    const kube = () => (o.kubeconfig ? Kube.fromKubeconfig(o.kubeconfig as string) : Kube.inCluster());
    switch (cmd) {
      case 'handoff': {
        const rest = new FlinkRest(need(o, 'rest-url'));
        const namespace = (o.namespace as string) ?? 'default';
        const store: HandoffStore = o['handoff-dir'] ? new DirHandoff(o['handoff-dir'] as string) : new ConfigMapHandoff(kube(), namespace, need(o, 'configmap'));
        const configmap = (o.configmap as string) ?? 'local-handoff';
        const revision = Number(need(o, 'revision'));
        if (!Number.isInteger(revision) || revision < 1) throw new OpsError(`--revision: ${JSON.stringify(o.revision)} is invalid; expected a positive integer`);
        const ha = o['ha-configmap'] as string | undefined;
        const next = await handoff(rest, store, {
          event: oneOf('event', need(o, 'event'), ['upgrade', 'rollback'] as const),
          upgradeMode: oneOf('upgrade-mode', need(o, 'upgrade-mode'), ['stateless', 'savepoint', 'last-state'] as const),
          state: oneOf('state', need(o, 'state'), ['running', 'suspended'] as const),
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
        const ns = need(o, 'namespace');
        const cm = need(o, 'configmap');
        log(await k.deleteConfigMap(ns, cm) ? `deleted ConfigMap ${ns}/${cm}` : `ConfigMap ${ns}/${cm} was already gone`);
        const cid = o['ha-cluster-id'] as string | undefined;
        if (cid) {
          await k.deleteConfigMaps(ns, `app=${cid},configmap-type=high-availability`);
          log(`deleted the Flink HA ConfigMaps of cluster ${cid}`);
        }
        return 0;
      }
      case 'smoke': {
        const rest = new FlinkRest(need(o, 'rest-url'));
        const bootstrap = o['kafka-bootstrap'] as string | undefined;
        const user = process.env.KAFKA_SOURCE_USERNAME;
        await smoke(rest, {
          jobName: need(o, 'job-name'),
          requireCheckpoint: o['require-checkpoint'] === true,
          timeoutMs,
          kafka: bootstrap ? {
            bootstrap, sourceTopic: need(o, 'source-topic'), sinkTopic: need(o, 'sink-topic'),
            marker: o.marker ? JSON.parse(o.marker as string) : {}, idField: (o['id-field'] as string) ?? 'id',
            ...(user ? { sasl: { mechanism: 'scram-sha-512' as const, username: user, password: process.env.KAFKA_SOURCE_PASSWORD ?? '' } } : {}),
          } : undefined,
          log,
        });
        return 0;
      }
      case 'submit': {
        const file = need(o, 'spec');
        if (!fs.existsSync(file)) throw new OpsError(`--spec: ${file} does not exist`);
        await submit(JSON.parse(fs.readFileSync(file, 'utf8')), file, { timeoutMs, handoffDir: o['handoff-dir'] as string | undefined, log });
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) { log(`cdk8s-flink-ops: ${e.message}\n${USAGE}`); return 2; }
    if (e instanceof OpsError) { log(`cdk8s-flink-ops: error: ${e.message}`); return e.exitCode; }
    log(`cdk8s-flink-ops: ${(e as Error).message ?? String(e)}`);
    if (process.env.CDK8S_FLINK_VERBOSE) log((e as Error).stack ?? '');
    return 1;
  }
}

if (require.main === module) {
  ops(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
