/**
 * The example charts on the real node: what every node test file shares.
 *
 * `ChartNode.start()` builds (or takes from the cache) the node's binaries, the project's images
 * (test/support/images.ts) and the service images (test/support/node-services.ts), derives the
 * Flink and ops images that trust the tests' Kafka authority (trustingImage: the examples' Kafka
 * sources name no truststore), starts one real node (test/support/node.ts, one per machine at a
 * time) and imports the images. Then:
 * - `ensureServers()`: the examples' servers as pods, once per file: Kafka (KRaft, SASL_SSL with a
 *   SCRAM-SHA-512 user) as `logs-kafka-bootstrap.kafka.svc:9093` and HDFS as
 *   `namenode.hadoop.svc:8020`, and the Secret with the Kafka credentials the charts read;
 * - kubectl and helm against the node's API server, pods run to their end, a Kafka client pod;
 * - the Flink REST API through the API server's service proxy (job states, restores);
 * - `withDiagnostics()`: a failure carries the namespace's pods, events and logs.
 * `stop()` removes what start() and ensureServers() added, and writes the file's report.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheDir } from './cache';
import { buildTimes, ensureProjectImages, ImageBuild } from './images';
import { failureCount, numRestarts } from './flink-rest';
import { ensureNodeBinaries, ociArchive, RealNode, startRealNode } from './node';
import { ensureHdfsImage, ensureKafkaImage, hdfsManifests, kafkaClientPod, kafkaManifests, kafkaTls, KafkaTls, trustingImage } from './node-services';
import { run } from './tools';
import { scratchDir } from './scratch';

export const KAFKA_SERVICE = 'logs-kafka-bootstrap';
export const BOOTSTRAP = `${KAFKA_SERVICE}.kafka.svc:9093`;
/** The Secret with the Kafka credentials that the example charts read but do not create. */
export const KAFKA_SECRET = 'logs-kafka-flink';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface JobOverview { jid: string; name: string; state: string; tasks: { total: number; running: number } }

export interface ChartImages {
  /** the project's images as built from runtime/images/*\/Dockerfile */
  readonly flink: Record<'2.2' | '1.20', string>;
  readonly ops: string;
  /** the same images, trusting the tests' Kafka authority */
  readonly trusting: { readonly flink: string; readonly flink120: string; readonly ops: string };
}

export interface ChartNodeOptions {
  /** the namespace the charts go to (Pod Security `restricted`) */
  readonly namespace: string;
  /** the report file's name under <cache>/node (the environment variable overrides its path) */
  readonly reportName: string;
  readonly reportEnv?: string;
  /** more images to build and import (their builds run beside the others) */
  readonly extraImages?: () => Promise<ImageBuild[]>;
  /** more images built from the project's runtime images (by line), once those are built */
  readonly runtimeDerivedImages?: (flink: Record<string, string>) => Promise<ImageBuild[]>;
}

/** helm with its home (cache, configuration, data) under `home`, against a node's API server; never rejects. */
export function helmOnNode(node: RealNode, bin: string, args: string[], home: string, timeoutMs = 600_000): Promise<{ code: number; out: string }> {
  const env = { ...process.env, HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
  return run(bin, [...args, '--kubeconfig', node.cluster.kubeconfig], { env, timeoutMs }).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
    (e: Error & { stdout?: string; stderr?: string }) => ({ code: 1, out: `${e.stdout ?? ''}${e.stderr ?? e.message}` }),
  );
}

/** Runs fn; on failure adds the namespaces' pods, events and logs and the node's last `logLines` log lines to the error. */
export async function withNodeDiagnostics<T>(node: RealNode, namespaces: string[], fn: () => Promise<T>, logLines = 30): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const parts: string[] = [];
    for (const ns of namespaces) parts.push(`--- ${ns} ---\n${await node.diagnostics(ns).catch((d: Error) => `(diagnostics failed: ${d.message})`)}`);
    (e as Error).message = `${(e as Error).message}\n${parts.join('\n')}\n--- node ---\n${node.logs(logLines)}`;
    throw e;
  }
}

export class ChartNode {
  /** Builds what is missing, starts the node, imports the images; records times in `report`. */
  static async start(o: ChartNodeOptions): Promise<ChartNode> {
    const report: Record<string, unknown> = { started: new Date().toISOString() };
    // removed by stop(), or when the process exits if the start fails half-way
    const work = scratchDir('cdk8s-flink-node-charts-');
    // the Go builds (CPU) and the image builds (mostly downloads at first) side by side
    const t0 = Date.now();
    const [bins, built, services, extra] = await Promise.all([
      ensureNodeBinaries().then((b) => ((report.nodeBinariesMs = Date.now() - t0), b)),
      ensureProjectImages(['2.2', '1.20']).then(async (i) => {
        report.imagesMs = Date.now() - t0;
        const derived = await (o.runtimeDerivedImages?.(i.flink) ?? Promise.resolve([]));
        if (derived.length) report.runtimeDerivedImagesMs = Date.now() - t0;
        return { ...i, derived };
      }),
      Promise.all([ensureKafkaImage(), ensureHdfsImage()]).then((i) => ((report.serviceImagesMs = Date.now() - t0), i)),
      (o.extraImages?.() ?? Promise.resolve([])).then((i) => ((report.extraImagesMs = Date.now() - t0), i)),
    ]);
    const tls = await kafkaTls(path.join(work, 'tls'), [`${KAFKA_SERVICE}.kafka.svc`, `${KAFKA_SERVICE}.kafka.svc.cluster.local`]);
    const derived: ImageBuild[] = [];
    for (const name of [built.flink['2.2'], built.ops, built.flink['1.20']]) derived.push(await trustingImage(name, tls.caFile));
    const images: ChartImages = {
      flink: { '2.2': built.flink['2.2'], '1.20': built.flink['1.20'] },
      ops: built.ops,
      trusting: { flink: derived[0].name, ops: derived[1].name, flink120: derived[2].name },
    };
    report.nodeBinariesBuildMs = bins.buildMs;
    report.imageBuilds = [...built.builds, ...built.derived, ...services, ...extra, ...derived];
    report.buildTimes = buildTimes;
    let t = Date.now();
    const node = await startRealNode();
    const self = new ChartNode(node, o, images, tls, work, report);
    try {
      report.nodeStartMs = Date.now() - t;
      report.nodeTimings = node.timings;
      t = Date.now();
      const names = [images.flink['2.2'], images.ops, ...Object.values(images.trusting), ...services.map((i) => i.name), ...extra.map((i) => i.name), ...built.derived.map((i) => i.name)];
      for (const name of names) await node.importImage(await ociArchive(name));
      report.importMs = Date.now() - t;
      await node.cluster.createNamespace(o.namespace, { podSecurity: 'restricted' });
    } catch (e) {
      await self.stop();
      throw e;
    }
    return self;
  }

  readonly namespace: string;
  private servers?: Promise<void>;
  private readonly topics = new Map<string, Promise<void>>();

  private constructor(
    readonly node: RealNode,
    private readonly o: ChartNodeOptions,
    readonly images: ChartImages,
    readonly tls: KafkaTls,
    private readonly work: string,
    readonly report: Record<string, unknown>,
  ) {
    this.namespace = o.namespace;
  }

  /** Removes the servers' namespaces, stops the node, writes the report. */
  async stop(): Promise<void> {
    if (this.servers) for (const ns of ['kafka', 'hadoop']) await this.node.cluster.kubectl(['delete', 'namespace', ns, '--wait=false'], { timeoutMs: 60_000 }).catch(() => undefined);
    await this.node.stop();
    fs.rmSync(this.work, { recursive: true, force: true });
    const file = (this.o.reportEnv && process.env[this.o.reportEnv]) || path.join(cacheDir('node'), this.o.reportName);
    fs.writeFileSync(file, `${JSON.stringify({ ...this.report, finished: new Date().toISOString() }, null, 2)}\n`);
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    const r = await this.node.cluster.kubectl(args, { input, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** helm (a private home) against the node's API server; never rejects. */
  helm(bin: string, args: string[], timeoutMs = 600_000): Promise<{ code: number; out: string }> {
    return helmOnNode(this.node, bin, args, path.join(os.tmpdir(), `cdk8s-flink-helm-${process.pid}`), timeoutMs);
  }

  /** Runs fn; on failure adds the namespaces' pods, events and logs to the error. */
  withDiagnostics<T>(fn: () => Promise<T>, namespaces: string[] = [this.namespace]): Promise<T> {
    return withNodeDiagnostics(this.node, namespaces, fn, 30);
  }

  /** Values that point a cluster chart at the local images and fit its requests on 2 CPUs. */
  values(extra: string[] = [], imgs: { flink: string; ops: string } = { flink: this.images.flink['2.2'], ops: this.images.ops }): string[] {
    const [repo, tag] = splitImage(imgs.flink);
    return [
      `image.repository=${repo}`,
      `image.tag=${tag}`,
      'image.pullPolicy=Never',
      `hooks.image=${imgs.ops}`,
      'jobManager.resources.cpu=100m',
      'taskManager.resources.cpu=100m',
      ...extra,
    ].flatMap((s) => ['--set', s]);
  }

  async podsOf(selector: string, namespace = this.namespace): Promise<any[]> {
    return JSON.parse(await this.kubectl(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json'])).items;
  }

  /** Applies a pod, waits (bounded) for it to end, returns its log; rejects unless it succeeded. */
  async runPod(pod: any, timeoutMs: number): Promise<string> {
    const { name, namespace } = pod.metadata;
    await this.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    const until = Date.now() + timeoutMs;
    let phase = '';
    while (Date.now() < until) {
      phase = (await this.kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}'])).trim();
      if (phase === 'Succeeded' || phase === 'Failed') break;
      await sleep(1000);
    }
    const log = await this.kubectl(['-n', namespace, 'logs', name]).catch((e: Error) => e.message);
    assert.equal(phase, 'Succeeded', `pod ${namespace}/${name}: ${phase}\n${log}`);
    await this.kubectl(['-n', namespace, 'delete', 'pod', name, '--wait=false']);
    return log;
  }

  /** A Kafka client pod (runtime/ops kafka client commands) of the ops image trusting the test authority, with the charts' credentials. */
  client(name: string, args: string[], ms = 360_000): Promise<string> {
    return this.runPod(kafkaClientPod(this.namespace, name, this.images.trusting.ops, BOOTSTRAP, KAFKA_SECRET, args), ms);
  }

  /**
   * The servers the examples talk to, once per file (their namespaces go in stop()): Kafka and
   * HDFS as pods, and the Secret with the Kafka credentials the charts read but do not create.
   */
  ensureServers(steps: Record<string, number>): Promise<void> {
    this.servers ??= (async () => {
      const t = Date.now();
      await this.node.cluster.createNamespace('kafka', { podSecurity: 'restricted' });
      await this.node.cluster.createNamespace('hadoop', { podSecurity: 'restricted' });
      const password = crypto.randomBytes(12).toString('hex');
      await this.kubectl(['apply', '-f', '-'], JSON.stringify(kafkaManifests({ namespace: 'kafka', service: KAFKA_SERVICE, tls: this.tls, username: 'flink', password })));
      // the archive and Flink's state belong to the Flink image's user
      await this.kubectl(['apply', '-f', '-'], JSON.stringify(hdfsManifests('hadoop', 'namenode', 'flink:/logs,/flink')));
      for (const [ns, pod] of [['kafka', 'kafka-0'], ['hadoop', 'hdfs-0']]) {
        const w = await this.node.cluster.kubectl(['-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=300s'], { timeoutMs: 320_000 });
        if (w.code !== 0) throw new Error(`${ns}/${pod} not Ready: ${w.stderr}\n${await this.node.diagnostics(ns)}`);
      }
      steps.serversReadyMs = Date.now() - t;
      await this.kubectl(['-n', this.namespace, 'create', 'secret', 'generic', KAFKA_SECRET, '--from-literal=username=flink', `--from-literal=password=${password}`]);
    })();
    return this.servers;
  }

  /** A topic of `partitions` partitions, created once per file. */
  topic(name: string, partitions: number): Promise<void> {
    let p = this.topics.get(name);
    if (!p) {
      p = this.client(`kafka-topic-${name.replace(/[^a-z0-9-]/g, '-')}`, ['topic', name, String(partitions)]).then((log) => {
        assert.match(log, new RegExp(`partitions ${partitions}`));
      });
      this.topics.set(name, p);
    }
    return p;
  }

  /** The job states the REST API reports through the API server's service proxy, or its error. */
  async jobStates(svc: string): Promise<{ states: string; jobs: JobOverview[] }> {
    const r = await this.node.cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${this.namespace}/services/${svc}:rest/proxy/jobs/overview`], { timeoutMs: 20_000 });
    if (r.code !== 0) return { states: r.stderr.trim(), jobs: [] };
    const jobs = (JSON.parse(r.stdout) as { jobs: JobOverview[] }).jobs;
    return { states: jobs.map((j) => j.state).join(','), jobs };
  }

  /** A REST resource of the JobManager (through the API server's service proxy). */
  async rest(svc: string, resource: string): Promise<any> {
    return JSON.parse(await this.kubectl(['get', '--raw', `/api/v1/namespaces/${this.namespace}/services/${svc}:rest/proxy${resource}`]));
  }

  /** How many numRestarts() reads found no value and were repeated. */
  metricReadsWithoutValue = 0;

  /** Every subtask of the job, with its status and attempt number (a restart raises each attempt). */
  async subtasks(svc: string, jid: string): Promise<{ status: string; attempt: number }[]> {
    const out: { status: string; attempt: number }[] = [];
    for (const v of (await this.rest(svc, `/jobs/${jid}`)).vertices as { id: string }[]) out.push(...(await this.rest(svc, `/jobs/${jid}/vertices/${v.id}`)).subtasks);
    return out;
  }

  /** How many failures the job's exception history holds (see failureCount in flink-rest.ts). */
  failures(svc: string, jid: string): Promise<number> {
    return failureCount((r) => this.rest(svc, r), jid);
  }

  /** The job's `numRestarts` (see numRestarts in flink-rest.ts). */
  numRestarts(svc: string, jid: string): Promise<number> {
    return numRestarts((r) => this.rest(svc, r), jid, { onGap: () => this.metricReadsWithoutValue++ });
  }

  /**
   * Waits (bounded) until the job of id `job.jid` or name `job.name` (or any job) is RUNNING with
   * every task running (a savepoint is refused while a task still deploys); returns its id.
   */
  async untilRunning(svc: string, job: { jid?: string; name?: string } = {}, timeoutMs = 600_000): Promise<string> {
    let seen = { states: '', jobs: [] as JobOverview[] };
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(1000)) {
      seen = await this.jobStates(svc);
      const running = seen.jobs.find((j) => j.state === 'RUNNING' && j.tasks.running === j.tasks.total && (!job.jid || j.jid === job.jid) && (!job.name || j.name === job.name));
      if (running) return running.jid;
    }
    assert.fail(`job ${job.jid ?? job.name ?? '(any)'} did not reach RUNNING with all tasks within ${timeoutMs / 1000} s (last seen: ${seen.jobs.map((j) => `${j.jid} ${j.state} ${j.tasks.running}/${j.tasks.total}`).join(', ') || seen.states})`);
  }

  /**
   * What a running job restored from (its checkpoint statistics' `latest.restored`, which Flink
   * fills in once the restore is done: bounded wait) and its vertices' parallelism.
   */
  async restoreOf(svc: string, jid: string): Promise<{ restoredFrom?: string; isSavepoint?: boolean; parallelism: number[] }> {
    let restored: { external_path?: string; is_savepoint?: boolean } | undefined;
    for (const until = Date.now() + 60_000; Date.now() < until && !restored; await sleep(1000)) {
      restored = (await this.rest(svc, `/jobs/${jid}/checkpoints`)).latest?.restored ?? undefined;
    }
    const parallelism = ((await this.rest(svc, `/jobs/${jid}`)).vertices as { parallelism: number }[]).map((v) => v.parallelism);
    return { restoredFrom: restored?.external_path, isSavepoint: restored?.is_savepoint, parallelism };
  }

  /** The `<release>-handoff` ConfigMap's data. */
  async handoffData(release: string): Promise<Record<string, string>> {
    return JSON.parse(await this.kubectl(['-n', this.namespace, 'get', 'configmap', `${release}-handoff`, '-o', 'json'])).data ?? {};
  }

  /** How often each value of `field` occurs in the JSON lines of HDFS files matching `glob`. */
  async hdfsCounts(glob: string, field: string): Promise<Map<string, number>> {
    const cat = await this.node.cluster.kubectl(['-n', 'hadoop', 'exec', 'hdfs-0', '--', '/opt/hdfs/fs', '-cat', glob], { timeoutMs: 180_000 });
    assert.equal(cat.code, 0, `reading ${glob}: ${cat.stderr}`);
    const counts = new Map<string, number>();
    for (const line of cat.stdout.split('\n').filter((l) => l.trim())) {
      const v = String((JSON.parse(line) as Record<string, unknown>)[field]);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return counts;
  }
}

export function splitImage(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return [name.slice(0, i), name.slice(i + 1)];
}
