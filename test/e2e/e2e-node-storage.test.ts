/**
 * Object storage and Elasticsearch as pods on the real node (test/support/node.ts), beside the
 * Kafka and HDFS pods of test/support/node-services.ts (images and manifests:
 * test/support/node-storage.ts); everything runs in pods, under the restricted Pod Security
 * Standard, installed with helm 4.
 *
 * S3: moto's server (test/support/s3.ts's version and signature checks) as a pod in namespace
 * `storage`; authentication on, so every request must be signed with the access key pair the test
 * puts into a Secret. The platform is defined here with the library (it is not one of the
 * examples, whose state is on HDFS): one application on Flink 2.2 reading application logs from
 * the cluster's Kafka pod, a per-service running count (keyed state), an exactly-once Kafka sink;
 * `storageBaseDirectory` is `s3://flink-state/flink` and the keys come from the Secret through
 * `StorageCredentials.s3` (the endpoint and path-style access in the configuration). The Kafka
 * authority comes from a Secret too (`KafkaTls.caFromSecret`), and the images are the plain ones
 * built from runtime/ (not the ones that trust the tests' authority): the CA reaches the Flink and
 * hook containers only through the Secret's volume. The definition also brings an existing
 * ServiceAccount, its own log levels (root WARN, the checkpoint logger INFO), an init container
 * writing to an emptyDir and a sidecar reading that file and Flink's log directory. Its chart is
 * synthesized into a temporary folder and installed with the local Flink image (which carries
 * the S3 file system plugin): the job RUNNING, a completed checkpoint listed in the bucket, a
 * `helm upgrade` whose pre-upgrade hook stops the job with a savepoint on S3 that the new job
 * restores, a TaskManager pod deleted mid-stream and the job restored from its latest checkpoint
 * on S3; the sink read back read_committed holds every record exactly once. Then a jar job whose
 * jar is an object in the bucket (`s3://flink-state/jobs/manifest-job.jar`, sha256 given): the
 * JobManager pod's init container fetches it with a signed GET, the keys from the same Secret,
 * and the job runs from the manifest's Main-Class. No ConfigMap holds a key; the pods take them
 * from the Secret; moto refuses a wrong secret. Then the same jar from an https artifact server
 * (a pod in `storage` whose certificate the tests' authority signed): the plain ops image's fetch
 * trusts that authority only through `jarCaSecret` (a Secret mounted in the init container alone),
 * and the job runs.
 *
 * Elasticsearch: 7.10.2 (the jars of test/support/elasticsearch.ts) as a pod in namespace
 * `elastic`, listening on the pod's loopback only. 7.10.2 OSS has no TLS, and the example's sink
 * is `https://logs-es-http.elastic.svc:9200`: a proxy container in the pod (the ops image's Node)
 * terminates TLS with a certificate of the tests' authority for that name, which the trusting
 * Flink image already trusts. The example charts shared-logs (session cluster, Flink 1.20) and
 * error-logs install unedited (values only for images, CPU and the number of TaskManagers):
 * application logs (every 5th an ERROR) from a client pod, the session TaskManager pod deleted
 * while the second batch is indexed; the index holds exactly one document per ERROR id (counted,
 * listed, some fetched by id): writes are at-least-once, upserts by id make replays harmless.
 * Beside it in the same session, the example job slow-requests is installed, upgraded through a
 * savepoint (parallelism 2 -> 1) and uninstalled (its pre-delete hook stops it with a savepoint):
 * error-logs keeps the same job, start time and restart count throughout, and indexes a third
 * batch exactly.
 *
 * Spare capacity: one application (Flink 2.2, parallelism 2 on TaskManagers of one slot, state on
 * the HDFS pod) installed twice, one after the other: without a standby and with
 * `standbyTaskManagers: 1`. In each, a TaskManager pod running one of the job's tasks is deleted;
 * without a standby the job is RUNNING again only once the replacement pod's TaskManager has
 * registered, with one it runs on in the standby's slot before that.
 *
 * Python: a `JobSource.python` application (the script in the chart's ConfigMap, a Python UDF,
 * the print sink) on an image made from the runtime image of line 2.2 with python3 and
 * apache-flink (test/support/node-python.ts), installed with helm 4: the JobManager runs
 * PythonDriver, the TaskManager pod's Python worker runs the UDF; the rows in the TaskManager's
 * log hold every line once with its level and name the interpreter that ran them.
 *
 * The job autoscaler: an application's (the TaskManagers sized by the autoscaler), and a session
 * job's on a session cluster with the adaptive scheduler, whose TaskManager pool follows the
 * parallelism the job's own autoscaler declares.
 *
 * Records written, read back, duplicates, lost and restore times go to the e2e report
 * (`node/storage-s3`, `node/elasticsearch`, `node/recovery-plain`, `node/recovery-standby`,
 * `node/python-job`).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Size } from 'cdk8s';
import {
  DeliveryGuarantee, EnvValue, FieldType, FlinkPlatform, FlinkVersion, JarJobOptions, JobSource, KafkaCredentials, KafkaTls, LogConfig, LogLevel, LogPipeline, RuntimeImage, ServiceAccountRef, Sink, StorageCredentials, synthesizeUnit, UpgradeMode, VolumeSource,
} from '../../lib';
import { recordE2E, tally } from '../support/e2e-report';
import { latestRestored, latestSavepoint } from '../support/flink-rest';
import { writeChart } from '../support/helm-chart';
import { BOOTSTRAP, ChartNode, KAFKA_SECRET, splitImage } from '../support/node-charts';
import { elasticsearchManifests, elasticsearchRequest, ensureElasticsearchImage, ensureMotoImage, JAR_SERVER_PORT, jarServerManifests, S3Pod } from '../support/node-storage';
import { kafkaTls } from '../support/node-services';
import { ELASTICSEARCH_VERSION } from '../support/elasticsearch';
import { MOTO_VERSION, wrongSecret } from '../support/s3';
import { ensureHelm } from '../support/tools';
import { ensureFlink, sha256File } from '../support/flink-dist';
import { buildManifestJar, MANIFEST_JOB_MAIN } from '../support/manifest-job';
import { FETCH_JAR_INIT_CONTAINER } from '../../lib/cluster/flink-cluster';
import { ensurePythonFlinkImage, PYFLINK_VERSION, pythonImageName } from '../support/node-python';
import { PYTHON_UDFS_PRELUDE } from '../support/python-udfs';

const ROOT = path.join(__dirname, '..', '..', '..');
const NS = 'logs';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let h: ChartNode;
/** the namespaces of the servers this file adds */
const serverNamespaces: string[] = [];

before(async () => {
  h = await ChartNode.start({ namespace: NS, reportName: 'report-storage.json', extraImages: () => Promise.all([ensureMotoImage(), ensureElasticsearchImage()]),
    runtimeDerivedImages: (flink) => Promise.all([ensurePythonFlinkImage(flink['2.2'])]) });
}, { timeout: 60 * 60_000 });

after(async () => {
  for (const ns of serverNamespaces) await h?.node.cluster.kubectl(['delete', 'namespace', ns, '--wait=false'], { timeoutMs: 60_000 }).catch(() => undefined);
  await h?.stop();
});

const APP_LOG = { id: FieldType.STRING, ts: FieldType.TIMESTAMP, service: FieldType.STRING, level: FieldType.STRING, message: FieldType.STRING };

/** The values `a-<i>` of field `id` in the client's `consume` output, as the numbers i. */
const consumedIds = (log: string) => log.split('\n').filter((l) => l.startsWith('{')).map((l) => String((JSON.parse(l) as { id: string }).id).replace(/^a-/, ''));

test(`S3 (moto ${MOTO_VERSION}) as a pod: checkpoints and savepoints of a Flink 2.2 application on s3://, keys from a Secret, the Kafka CA from a Secret on the plain images, an existing ServiceAccount, its own log levels, an init container and a sidecar; a helm upgrade through a savepoint on S3, a TaskManager pod deleted and restored from the latest checkpoint on S3, the exactly-once Kafka sink holds every record once`, { timeout: 30 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const APP = 'audit-s3';
  const WORKLOAD_SA = 'flink-s3-workload';
  /** the sidecar: prints what the init container left and the log files Flink writes, every 5 s */
  const LOG_READER = "const fs = require('fs'); const tick = () => console.log(`stamp=${fs.readFileSync('/scratch/stamp', 'utf8')} logs=${fs.readdirSync('/flink/log').filter((f) => f.endsWith('.log')).join(',')}`); tick(); setInterval(tick, 5000);";
  const BUCKET = 'flink-state';
  const SOURCE = 'logs.audit';
  const SINK = 'logs.audit.counted';
  const BATCH = 1_500;
  const steps: Record<string, number> = {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-s3-'));
  let installed = false;
  const JAR_APP = 'jar-from-s3';
  let jarInstalled = false;
  const HTTPS_APP = 'jar-from-https';
  let httpsInstalled = false;
  let s3: S3Pod | undefined;
  try {
    await h.withDiagnostics(async () => {
      let t = Date.now();
      await h.ensureServers(steps);
      serverNamespaces.push('storage');
      s3 = await S3Pod.start(h, 'storage', 's3', [BUCKET]);
      steps.s3ReadyMs = Date.now() - t;
      await h.kubectl(['-n', NS, 'create', 'secret', 'generic', 'flink-s3', `--from-literal=access-key=${s3.keys.accessKeyId}`, `--from-literal=secret-key=${s3.keys.secretAccessKey}`]);
      await h.kubectl(['-n', NS, 'create', 'serviceaccount', WORKLOAD_SA]);
      // the Kafka authority from a Secret (KafkaTls), not baked into the image: the images are the plain ones
      await h.kubectl(['-n', NS, 'create', 'secret', 'generic', 'kafka-ca', `--from-file=ca.crt=${h.tls.caFile}`]);
      await Promise.all([h.topic(SOURCE, 2), h.topic(SINK, 2)]);

      // the platform, defined here (not an example): state on S3, the Kafka pod's source and an exactly-once sink
      const caTls = KafkaTls.caFromSecret('kafka-ca');
      const kafka = { bootstrapServers: BOOTSTRAP, credentials: KafkaCredentials.scram(KAFKA_SECRET), tls: caTls };
      const stateBase = `s3://${BUCKET}/flink`;
      const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', storageBaseDirectory: stateBase, imageRegistry: 'registry.example.com/logs' });
      platform.addApplication(APP, {
        flinkVersion: FlinkVersion.V2_2,
        job: JobSource.pipeline(new LogPipeline({
          source: { ...kafka, topic: SOURCE, groupId: `flink-${APP}`, fields: APP_LOG },
          countPerKey: { key: 'service' },
          sinks: [Sink.kafka({ ...kafka, topic: SINK, deliveryGuarantee: DeliveryGuarantee.EXACTLY_ONCE })],
        })),
        parallelism: 2,
        taskManagerSlots: 2,
        upgradeMode: UpgradeMode.SAVEPOINT,
        checkpointInterval: Duration.seconds(5),
        storageCredentials: [StorageCredentials.s3({ secretName: 'flink-s3', endpoint: s3.endpoint, pathStyleAccess: true })],
        // what a team brings from its own setups: an existing ServiceAccount, its own log levels,
        // an init container and a sidecar that reads Flink's log directory
        serviceAccount: ServiceAccountRef.existing(WORKLOAD_SA),
        logging: LogConfig.of({ rootLevel: LogLevel.WARN, loggers: { 'org.apache.flink.runtime.checkpoint': LogLevel.INFO, 'org.apache.pekko': LogLevel.WARN } }),
        podTemplate: {
          volumes: [{ name: 'scratch', source: VolumeSource.emptyDir(Size.mebibytes(1)) }],
          initContainers: [{
            name: 'stamp', image: h.images.ops, command: ['node', '-e', "require('fs').writeFileSync('/scratch/stamp', 'init ran')"],
            resources: { memory: Size.mebibytes(96) }, volumeMounts: [{ volume: 'scratch', mountPath: '/scratch', readOnly: false }],
          }],
          sidecars: [{
            name: 'log-reader', image: h.images.ops, command: ['node', '-e', LOG_READER],
            resources: { memory: Size.mebibytes(96) }, volumeMounts: [{ volume: 'scratch', mountPath: '/scratch' }, { volume: 'flink-log', mountPath: '/flink/log' }],
          }],
        },
      });
      const unit = synthesizeUnit(platform.unit(APP)!);
      const chart = writeChart(unit, work);
      const checkpoints = `${stateBase}/${APP}/checkpoints`;
      const savepoints = `${stateBase}/${APP}/savepoints`;

      t = Date.now();
      const install = await h.helm(h4, ['install', APP, chart, '-n', NS, ...h.values([]), '--wait', '--timeout', '480s']);
      assert.equal(install.code, 0, `helm install:\n${install.out}`);
      installed = true;
      const REST = `${APP}-rest`;
      const firstJob = await h.untilRunning(REST);
      steps.installToRunningMs = Date.now() - t;

      // the keys reach the pods from the Secret only
      const keys = s3.keys;
      const configMaps = await h.kubectl(['-n', NS, 'get', 'configmaps', '-o', 'json']);
      assert.ok(!configMaps.includes(keys.secretAccessKey) && !configMaps.includes(keys.accessKeyId), 'no access key in any ConfigMap');
      assert.match(configMaps, new RegExp(`s3\\.endpoint: ${s3.endpoint.replace(/\./g, '\\.')}`), 'the endpoint is in the configuration');
      const pods = [...await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=jobmanager`), ...await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=taskmanager`)];
      assert.equal(pods.length, 2, 'a JobManager and a TaskManager');
      for (const p of pods) {
        const env = p.spec.containers[0].env as { name: string; value?: string; valueFrom?: any }[];
        for (const [name, key] of [['AWS_ACCESS_KEY_ID', 'access-key'], ['AWS_SECRET_ACCESS_KEY', 'secret-key']]) {
          assert.deepEqual(env.find((e) => e.name === name), { name, valueFrom: { secretKeyRef: { name: 'flink-s3', key } } }, `${p.metadata.name}: ${name} from the Secret`);
        }
        // the plain image (no authority baked in): the CA reaches the pod from the Secret's volume only
        assert.equal(p.spec.containers[0].image.replace(/^docker\.io\//, ''), h.images.flink['2.2'], `${p.metadata.name}: the plain Flink image`);
        assert.deepEqual(p.spec.volumes.find((v: { name: string }) => v.name === caTls.volumeName)?.secret?.secretName, 'kafka-ca', `${p.metadata.name}: the CA volume from the Secret`);
      }
      // the existing ServiceAccount; the init container ran; the sidecar reads its file and Flink's
      // log directory; only the logger raised to INFO writes INFO lines (a completed checkpoint)
      for (const p of pods) {
        assert.equal(p.spec.serviceAccountName, WORKLOAD_SA, `${p.metadata.name}: the existing ServiceAccount`);
        const init = p.status.initContainerStatuses.find((c: { name: string }) => c.name === 'stamp');
        assert.equal(init?.state?.terminated?.exitCode, 0, `${p.metadata.name}: the init container ran: ${JSON.stringify(init)}`);
        assert.ok(p.status.containerStatuses.some((c: { name: string; ready: boolean }) => c.name === 'log-reader' && c.ready), `${p.metadata.name}: the sidecar runs`);
      }
      let sidecarLog = '';
      for (let i = 0; i < 20 && !/stamp=init ran logs=\S*\.log/.test(sidecarLog); i++, await sleep(2000)) {
        sidecarLog = await h.kubectl(['-n', NS, 'logs', pods[1].metadata.name, '-c', 'log-reader', '--tail=5']);
      }
      assert.match(sidecarLog, /stamp=init ran logs=\S*taskexecutor\S*\.log/, `the TaskManager's sidecar reads the init container's file and Flink's log file:\n${sidecarLog}`);

      // the preflight hook, which checked the broker before the install (its pod is deleted once it succeeded), mounts the CA from the Secret too
      const rendered = await h.helm(h4, ['template', APP, chart, '-n', NS, ...h.values([])]);
      const preflight = rendered.out.split(/^---$/m).find((d) => new RegExp(`name: ${APP}-preflight\\n`).test(d) && /kind: Job/.test(d)) ?? '';
      assert.match(preflight, /secretName: "?kafka-ca"?\n/, `the preflight Job mounts the CA from the Secret:\n${preflight || rendered.out.slice(0, 2000)}`);

      /** records [n * BATCH, (n + 1) * BATCH) into the source; then waits until the job's committed offsets reach `total` */
      const produce = async (n: number) => {
        const b = Date.now();
        assert.match(await h.client(`kafka-produce-${n}`, ['produce-app', SOURCE, String(BATCH), String(n * BATCH)]), new RegExp(`produced ${BATCH}`));
        steps[`produce${n}Ms`] = Date.now() - b;
      };
      const committed = async (n: number, total: number) => {
        const b = Date.now();
        assert.match(await h.client(`kafka-committed-${n}`, ['committed', SOURCE, `flink-${APP}`, String(total)], 420_000), new RegExp(`committed ${total}`));
        steps[`committed${n}Ms`] = Date.now() - b;
      };
      /** the chk-N/_metadata objects of job `jid` in the bucket */
      const checkpointsInBucket = async (jid: string) => (await s3!.list(BUCKET, `flink/${APP}/checkpoints/${jid}/`)).map((o) => /\/(chk-\d+)\/_metadata$/.exec(o.key)?.[1]).filter(Boolean) as string[];

      // 1. a batch, consumed and checkpointed: a completed checkpoint in the bucket
      await produce(0);
      await committed(0, BATCH);
      const firstCheckpoints = await checkpointsInBucket(firstJob);
      assert.ok(firstCheckpoints.length >= 1, `a completed checkpoint of ${firstJob} in the bucket: ${JSON.stringify(await s3.list(BUCKET, 'flink/'))}`);
      // the definition's log levels: only the checkpoint logger, raised to INFO, writes INFO lines
      const jmLog = (await h.kubectl(['-n', NS, 'logs', pods[0].metadata.name, '-c', 'jobmanager'])).split('\n');
      const infoLoggers = new Set(jmLog.map((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO\s+(\S+)/.exec(l)?.[1]).filter(Boolean));
      assert.ok(jmLog.some((l) => / INFO\s+org\.apache\.flink\.runtime\.checkpoint\.\S+\s.*Completed checkpoint/.test(l)), `the checkpoint logger writes INFO: a completed checkpoint:\n${jmLog.slice(-20).join('\n')}`);
      assert.deepEqual([...infoLoggers].filter((c) => !c!.startsWith('org.apache.flink.runtime.checkpoint')), [], 'no other logger writes INFO (root WARN)');

      // 2. helm upgrade (parallelism 2 -> 1): the pre-upgrade hook stops the job with a savepoint on S3, the new job restores it
      t = Date.now();
      const upgrade = await h.helm(h4, ['upgrade', APP, chart, '-n', NS, ...h.values(['job.parallelism=1']), '--wait', '--timeout', '480s']);
      assert.equal(upgrade.code, 0, `helm upgrade:\n${upgrade.out}`);
      const handoff = await h.handoffData(APP);
      const savepoint = handoff.savepointPath ?? '';
      assert.ok(savepoint.startsWith(`${savepoints}/savepoint-`), `the upgrade's savepoint on S3: ${JSON.stringify(handoff)}`);
      const secondJob = await h.untilRunning(REST, { jid: handoff.jobId });
      const fromSavepointMs = Date.now() - t;
      steps.upgradeToRunningMs = fromSavepointMs;
      const upgraded = await h.restoreOf(REST, secondJob);
      assert.deepEqual({ from: upgraded.restoredFrom, savepoint: upgraded.isSavepoint, parallelism: Math.max(...upgraded.parallelism) }, { from: savepoint, savepoint: true, parallelism: 1 }, 'the new job restored the savepoint on S3');
      const savepointKey = `${new URL(savepoint).pathname.slice(1)}/_metadata`;
      assert.ok((await s3.list(BUCKET, 'flink/')).some((o) => o.key === savepointKey), `${savepointKey} in the bucket`);

      // 3. a second batch; a TaskManager pod deleted while the job reads it: the job restores its latest checkpoint on S3
      await produce(1);
      await sleep(2_000);
      const [tm] = (await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=taskmanager`)).filter((p) => !p.metadata.deletionTimestamp);
      const tKill = Date.now();
      await h.kubectl(['-n', NS, 'delete', 'pod', tm.metadata.name, '--wait=false']);
      let restored: { external_path?: string; is_savepoint?: boolean; restore_timestamp?: number } | undefined;
      for (const until = Date.now() + 420_000; Date.now() < until; await sleep(1000)) {
        const r = (await h.rest(REST, `/jobs/${secondJob}/checkpoints`).catch(() => undefined))?.latest?.restored;
        if (r && !r.is_savepoint && (r.restore_timestamp ?? 0) >= tKill - 1000) {
          restored = r;
          break;
        }
      }
      assert.match(restored?.external_path ?? '', new RegExp(`^${checkpoints}/${secondJob}/chk-\\d+$`), `restored from a checkpoint on S3 after the TaskManager's deletion: ${JSON.stringify(restored)}`);
      await h.untilRunning(REST, { jid: secondJob });
      const fromCheckpointMs = Date.now() - tKill;
      // (the restored checkpoint itself may already be subsumed and deleted: the latest completed one, as Flink reports it, is in the bucket)
      let latestInBucket: string | undefined;
      for (let i = 0; i < 10 && !latestInBucket; i++) {
        const latest: string = (await h.rest(REST, `/jobs/${secondJob}/checkpoints`)).latest?.completed?.external_path ?? '';
        if (latest.startsWith(`${checkpoints}/${secondJob}/chk-`) && (await checkpointsInBucket(secondJob)).includes(path.posix.basename(latest))) latestInBucket = latest;
        else await sleep(1000);
      }
      assert.ok(latestInBucket, `the latest completed checkpoint after the restore is in the bucket: ${JSON.stringify(await checkpointsInBucket(secondJob))}`);

      // 4. a third batch; the sink read back read_committed: every record once
      await produce(2);
      await committed(2, 3 * BATCH);
      t = Date.now();
      const consumed = await h.client('kafka-consume-sink', ['consume', SINK, String(3 * BATCH), '180']);
      steps.consumeMs = Date.now() - t;
      const sink = tally(consumedIds(consumed), 3 * BATCH);
      assert.deepEqual(sink, { written: 3 * BATCH, readBack: 3 * BATCH, distinct: 3 * BATCH, duplicates: 0, lost: 0 }, 'the exactly-once sink holds every record once');

      // 5. a jar job whose jar is in the bucket: the JobManager pod's init container (the ops
      // image) fetches s3://, signed with the keys of the same Secret, and checks its sha256; the
      // job runs from the manifest's Main-Class with its arguments
      t = Date.now();
      const jar = buildManifestJar(await ensureFlink('2.2.1'), work);
      const jarSha = sha256File(jar);
      await s3.put(BUCKET, 'jobs/manifest-job.jar', jar);
      /** a jar job from `jarFile`, installed with helm 4 as `name` and RUNNING under the name its argument gives; the fetch init container's log */
      const installJarApp = async (name: string, job: Omit<JarJobOptions, 'args'>, extra: { storageCredentials?: StorageCredentials[] } = {}) => {
        const jarPlatform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', imageRegistry: 'registry.example.com/logs' });
        jarPlatform.addApplication(name, {
          flinkVersion: FlinkVersion.V2_2, checkpointing: false, taskManagerSlots: 1, parallelism: 1, job: JobSource.jar({ ...job, args: [`${name}-run`] }), ...extra,
        });
        const chart = writeChart(synthesizeUnit(jarPlatform.unit(name)!), fs.mkdtempSync(path.join(work, `${name}-`)));
        const install = await h.helm(h4, ['install', name, chart, '-n', NS, ...h.values([]), '--wait', '--timeout', '480s']);
        assert.equal(install.code, 0, `helm install ${name}:\n${install.out}`);
        const jid = await h.untilRunning(`${name}-rest`);
        assert.equal((await h.rest(`${name}-rest`, `/jobs/${jid}`)).name, `${name}-run`, 'the job from the fetched jar, with its arguments');
        const [jm] = await h.podsOf(`app.kubernetes.io/instance=${name},app.kubernetes.io/component=jobmanager`);
        const fetchInit = jm.status.initContainerStatuses.find((c: { name: string }) => c.name === FETCH_JAR_INIT_CONTAINER);
        assert.equal(fetchInit?.state?.terminated?.exitCode, 0, `the fetch init container ran: ${JSON.stringify(fetchInit)}`);
        assert.equal(jm.spec.initContainers.find((c: { name: string }) => c.name === FETCH_JAR_INIT_CONTAINER).image.replace(/^docker\.io\//, ''), h.images.ops, 'the plain ops image');
        const log = await h.kubectl(['-n', NS, 'logs', jm.metadata.name, '-c', FETCH_JAR_INIT_CONTAINER]);
        assert.match(log, new RegExp(`fetched ${job.jarFile!.replace(/\./g, '\\.')} into /opt/flink/artifacts/job\\.jar: \\d+ bytes, sha256 ${jarSha} \\(as expected\\), main class ${MANIFEST_JOB_MAIN.replace(/\./g, '\\.')}`), log);
      };
      jarInstalled = true;
      await installJarApp(JAR_APP, { jarFile: `s3://${BUCKET}/jobs/manifest-job.jar`, jarSha256: jarSha },
        { storageCredentials: [StorageCredentials.s3({ secretName: 'flink-s3', endpoint: s3.endpoint, pathStyleAccess: true, region: 'us-east-1' })] });
      steps.s3JarInstallToRunningMs = Date.now() - t;

      // 6. the same jar from an https artifact server whose certificate the tests' authority
      // signed, which the plain ops image does not trust: the authority comes from a Secret
      // (jarCaSecret), mounted only in the fetch init container
      await h.helm(h4, ['uninstall', JAR_APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
      jarInstalled = false;
      t = Date.now();
      const serverTls = await kafkaTls(path.join(work, 'jars-tls'), ['jars.storage.svc', 'jars.storage.svc.cluster.local']);
      await h.kubectl(['apply', '-f', '-'], JSON.stringify(jarServerManifests({ namespace: 'storage', service: 'jars', tls: serverTls, image: h.images.ops, files: { 'manifest-job.jar': fs.readFileSync(jar) } })));
      const served = await h.node.cluster.kubectl(['-n', 'storage', 'wait', '--for=condition=Ready', 'pod/jars-0', '--timeout=180s'], { timeoutMs: 200_000 });
      assert.equal(served.code, 0, `storage/jars-0 not Ready: ${served.stderr}`);
      await h.kubectl(['-n', NS, 'create', 'secret', 'generic', 'jars-ca', `--from-file=ca.crt=${serverTls.caFile}`]);
      httpsInstalled = true;
      await installJarApp(HTTPS_APP, { jarFile: `https://jars.storage.svc:${JAR_SERVER_PORT}/jobs/manifest-job.jar`, jarSha256: jarSha, jarCaSecret: { secretName: 'jars-ca' } });
      const serverLog = await h.kubectl(['-n', 'storage', 'logs', 'jars-0']);
      assert.match(serverLog, /^200 GET \/jobs\/manifest-job\.jar \d+ bytes$/m, serverLog);
      steps.httpsJarInstallToRunningMs = Date.now() - t;

      // moto checks the signature: another secret is refused
      assert.equal(await s3.probe(BUCKET, wrongSecret(keys)), 'SignatureDoesNotMatch');
      const bucket = await s3.list(BUCKET, 'flink/');
      const count = (re: RegExp) => bucket.filter((o) => re.test(o.key)).length;
      recordE2E('node/storage-s3', {
        server: `moto ${MOTO_VERSION} (pod)`,
        flinkVersion: '2.2',
        checkpoints,
        savepoints,
        records: { [`kafka:${SINK}`]: sink },
        restoreMs: { fromCheckpoint: fromCheckpointMs, fromSavepoint: fromSavepointMs },
        restoredCheckpoint: restored!.external_path,
        upgradeSavepoint: savepoint,
        bucket: { objects: bucket.length, checkpointMetadata: count(/\/chk-\d+\/_metadata$/), savepointMetadata: count(/\/savepoint-[^/]+\/_metadata$/) },
        steps,
      });
    }, [NS, 'storage']);
  } catch (e) {
    if (s3) (e as Error).message += `\n--- moto ---\n${await s3.logs()}`;
    throw e;
  } finally {
    h.report.s3 = steps;
    if (installed) await h.helm(h4, ['uninstall', APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    if (jarInstalled) await h.helm(h4, ['uninstall', JAR_APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    if (httpsInstalled) await h.helm(h4, ['uninstall', HTTPS_APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    await h.node.cluster.kubectl(['-n', NS, 'delete', 'secret', 'flink-s3', 'kafka-ca', 'jars-ca', '--ignore-not-found'], { timeoutMs: 60_000 });
    await h.node.cluster.kubectl(['-n', NS, 'delete', 'serviceaccount', WORKLOAD_SA, '--ignore-not-found'], { timeoutMs: 60_000 });
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test(`Elasticsearch ${ELASTICSEARCH_VERSION} as a pod behind TLS: the example charts shared-logs (session cluster, Flink 1.20) and error-logs, unedited, index one document per error log by id, through a TaskManager pod deleted mid-stream and while slow-requests, a neighbour in the session, is installed, upgraded and uninstalled without touching error-logs`, { timeout: 30 * 60_000 }, async () => {
  const h4 = await ensureHelm(4);
  const ES_NS = 'elastic';
  const ES_SERVICE = 'logs-es-http';
  const SOURCE = 'logs.app';
  const INDEX = 'logs-errors';
  const REST = 'shared-logs-rest';
  const BATCH = 2_000;
  const steps: Record<string, number> = {};
  const installed: string[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-es-'));
  const es = (method: string, p: string, body?: unknown) => elasticsearchRequest(h, ES_NS, method, p, body);
  /** the ids the example's filter and document id let into the index: `a-<i>` for the ERRORs (every 5th) of [0, n) */
  const expectedIds = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 0).map((i) => `a-${i}`);
  /** the index's document count, after a refresh */
  const docCount = async () => {
    await es('POST', `/${INDEX}/_refresh`);
    const r = await es('GET', `/${INDEX}/_count`);
    return r.status === 200 ? Number(r.body.count) : 0;
  };
  const untilCount = async (n: number, timeoutMs: number) => {
    let seen = -1;
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(2000)) {
      seen = await docCount().catch(() => -1);
      if (seen >= n) return seen;
    }
    assert.fail(`${n} documents in ${INDEX} within ${timeoutMs / 1000} s (last count ${seen})`);
  };
  try {
    await h.withDiagnostics(async () => {
      let t = Date.now();
      await h.ensureServers(steps);
      // the node and a TLS proxy with a certificate of the tests' authority (which the trusting images trust)
      serverNamespaces.push(ES_NS);
      await h.node.cluster.createNamespace(ES_NS, { podSecurity: 'restricted' });
      const tls = await kafkaTls(path.join(work, 'tls'), [`${ES_SERVICE}.${ES_NS}.svc`, `${ES_SERVICE}.${ES_NS}.svc.cluster.local`]);
      await h.kubectl(['apply', '-f', '-'], JSON.stringify(elasticsearchManifests({ namespace: ES_NS, service: ES_SERVICE, tls, proxyImage: h.images.ops })));
      const w = await h.node.cluster.kubectl(['-n', ES_NS, 'wait', '--for=condition=Ready', 'pod/elasticsearch-0', '--timeout=300s'], { timeoutMs: 320_000 });
      assert.equal(w.code, 0, `${ES_NS}/elasticsearch-0 not Ready: ${w.stderr}`);
      const main = await es('GET', '/');
      assert.equal(main.body?.version?.number, ELASTICSEARCH_VERSION);
      steps.elasticsearchReadyMs = Date.now() - t;
      await h.topic(SOURCE, 2);

      // the session cluster and the session job as released; values only for images, CPU and the number of TaskManagers
      const [flinkRepo, flinkTag] = splitImage(h.images.trusting.flink120);
      const [opsRepo, opsTag] = splitImage(h.images.trusting.ops);
      t = Date.now();
      const cluster = await h.helm(h4, ['install', 'shared-logs', path.join(ROOT, 'charts', 'shared-logs'), '-n', NS, ...[
        `image.repository=${flinkRepo}`, `image.tag=${flinkTag}`, 'image.pullPolicy=Never',
        'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m', 'taskManager.replicas=1',
      ].flatMap((v) => ['--set', v]), '--wait', '--timeout', '480s']);
      assert.equal(cluster.code, 0, `helm install shared-logs:\n${cluster.out}`);
      installed.push('shared-logs');
      const job = await h.helm(h4, ['install', 'error-logs', path.join(ROOT, 'charts', 'error-logs'), '-n', NS,
        '--set', `image.repository=${opsRepo}`, '--set', `image.tag=${opsTag}`, '--wait', '--timeout', '480s']);
      assert.equal(job.code, 0, `helm install error-logs:\n${job.out}`);
      installed.push('error-logs');
      const jid = await h.untilRunning(REST, { name: 'error-logs' });
      steps.installToRunningMs = Date.now() - t;

      // application logs (every 5th an ERROR): one document per ERROR
      t = Date.now();
      assert.match(await h.client('kafka-produce-app-0', ['produce-app', SOURCE, String(BATCH), '0']), new RegExp(`produced ${BATCH}`));
      await untilCount(expectedIds(BATCH).length, 300_000);
      steps.firstBatchIndexedMs = Date.now() - t;

      // a second batch; the session TaskManager pod deleted while the job indexes it; the job restarts on its replacement
      const gapsBefore = h.metricReadsWithoutValue;
      const restarts = () => h.numRestarts(REST, jid);
      /** the attempt numbers of all of error-logs' subtasks, summed: a restart raises each */
      const attempts = async () => (await h.subtasks(REST, jid)).reduce((n, st) => n + st.attempt, 0);
      const restartsBefore = await restarts();
      assert.match(await h.client('kafka-produce-app-1', ['produce-app', SOURCE, String(BATCH), String(BATCH)]), new RegExp(`produced ${BATCH}`));
      const [tm] = (await h.podsOf('app.kubernetes.io/instance=shared-logs,app.kubernetes.io/component=taskmanager')).filter((p) => !p.metadata.deletionTimestamp);
      const atKill = await docCount();
      const tKill = Date.now();
      await h.kubectl(['-n', NS, 'delete', 'pod', tm.metadata.name, '--wait=false']);
      let restartsAfter = restartsBefore;
      for (const until = Date.now() + 300_000; Date.now() < until && restartsAfter <= restartsBefore; await sleep(1000)) restartsAfter = await restarts().catch(() => restartsBefore);
      assert.ok(restartsAfter > restartsBefore, `the job restarted after the TaskManager's deletion (numRestarts ${restartsBefore} -> ${restartsAfter})`);
      await h.untilRunning(REST, { jid });
      const restoreMs = Date.now() - tKill;
      const restored = (await h.rest(REST, `/jobs/${jid}/checkpoints`)).latest?.restored;

      // the index: exactly the expected documents, each once, fetched by id
      const expected = expectedIds(2 * BATCH);
      await untilCount(expected.length, 300_000);
      await sleep(5_000);
      const count = await docCount();
      const hits = (await es('POST', `/${INDEX}/_search`, { size: 10_000, _source: false, query: { match_all: {} } })).body.hits.hits as { _id: string }[];
      const ids = hits.map((x) => x._id);
      const idSet = new Set(ids);
      const records = {
        written: 2 * BATCH, errors: expected.length, documents: count, readBack: ids.length, distinct: idSet.size,
        duplicates: ids.length - idSet.size, lost: expected.filter((id) => !idSet.has(id)).length, unexpected: ids.filter((id) => !expected.includes(id)).length,
      };
      assert.deepEqual(records, { ...records, documents: expected.length, readBack: expected.length, distinct: expected.length, duplicates: 0, lost: 0, unexpected: 0 }, JSON.stringify(records));
      for (const i of [0, 5, BATCH, 2 * BATCH - 5]) {
        const doc = await es('GET', `/${INDEX}/_doc/a-${i}`);
        assert.equal(doc.status, 200, `a-${i} by id`);
        assert.deepEqual({ id: doc.body._source.id, service: doc.body._source.service, level: doc.body._source.level, message: doc.body._source.message },
          { id: `a-${i}`, service: ['checkout', 'search', 'login'][i % 3], level: 'ERROR', message: `event ${i}` }, `document a-${i}`);
      }
      assert.equal((await es('GET', `/${INDEX}/_doc/a-1`)).status, 404, 'an INFO record is not indexed');
      const stats = (await es('GET', `/${INDEX}/_stats/indexing`)).body._all.primaries.indexing;

      // another job of the session, slow-requests, installed, upgraded through a savepoint and
      // uninstalled beside error-logs: error-logs is untouched (same job, same start, no failure
      // recorded, no task attempt added) and goes on indexing. Restarts are counted from the
      // execution graph (exception history, attempt numbers): the metric store's numRestarts lags
      // by a fetch and was once read lower than an earlier read, so it is reported, not compared.
      const numRestartsReads: number[] = [];
      const errorLogs = async () => {
        const j = await h.rest(REST, `/jobs/${jid}`);
        numRestartsReads.push(await restarts());
        return { state: j.state, startTime: j['start-time'], failures: await h.failures(REST, jid), attempts: await attempts() };
      };
      const before = await errorLogs();
      assert.ok(before.failures >= 1, `the TaskManager's deletion is in error-logs' exception history (${before.failures} failures)`);
      assert.equal(before.state, 'RUNNING');
      const SLOW = path.join(ROOT, 'charts', 'slow-requests');
      await Promise.all([h.topic('logs.access', 2), h.topic('logs.slow-requests', 2)]);
      const slowValues = (extra: string[]) => [`image.repository=${opsRepo}`, `image.tag=${opsTag}`, ...extra].flatMap((v) => ['--set', v]);
      t = Date.now();
      const slow = await h.helm(h4, ['install', 'slow-requests', SLOW, '-n', NS, ...slowValues([]), '--wait', '--timeout', '480s']);
      assert.equal(slow.code, 0, `helm install slow-requests:\n${slow.out}`);
      installed.push('slow-requests');
      const slowFirst = await h.untilRunning(REST, { name: 'slow-requests' });
      steps.neighbourInstallToRunningMs = Date.now() - t;
      t = Date.now();
      const slowUp = await h.helm(h4, ['upgrade', 'slow-requests', SLOW, '-n', NS, ...slowValues(['job.parallelism=1']), '--wait', '--timeout', '480s']);
      assert.equal(slowUp.code, 0, `helm upgrade slow-requests:\n${slowUp.out}`);
      const slowSecond = await h.untilRunning(REST, { name: 'slow-requests' });
      steps.neighbourUpgradeToRunningMs = Date.now() - t;
      assert.notEqual(slowSecond, slowFirst, 'the upgrade started a new run of slow-requests');
      const slowSavepoint = (await latestSavepoint((r) => h.rest(REST, r), slowFirst))?.external_path;
      const slowRestore = await h.restoreOf(REST, slowSecond);
      assert.deepEqual({ from: slowRestore.restoredFrom, parallelism: Math.max(...slowRestore.parallelism) }, { from: slowSavepoint, parallelism: 1 }, 'slow-requests\' new run restored its savepoint');
      assert.deepEqual(await errorLogs(), before, 'error-logs untouched by its neighbour\'s install and upgrade');
      const third = expectedIds(3 * BATCH);
      assert.match(await h.client('kafka-produce-app-2', ['produce-app', SOURCE, String(BATCH), String(2 * BATCH)]), new RegExp(`produced ${BATCH}`));
      await untilCount(third.length, 300_000);
      t = Date.now();
      const slowUn = await h.helm(h4, ['uninstall', 'slow-requests', '-n', NS, '--wait', '--timeout', '300s']);
      assert.equal(slowUn.code, 0, `helm uninstall slow-requests:\n${slowUn.out}`);
      installed.pop();
      steps.neighbourUninstallMs = Date.now() - t;
      assert.equal((await h.jobStates(REST)).jobs.find((j) => j.jid === slowSecond)?.state, 'FINISHED', 'the uninstall stopped slow-requests');
      assert.deepEqual(await errorLogs(), before, 'error-logs untouched by its neighbour\'s uninstall');
      assert.equal(await docCount(), third.length, 'error-logs indexed the third batch exactly');
      recordE2E('node/elasticsearch', {
        server: `Elasticsearch ${ELASTICSEARCH_VERSION} (pod), TLS terminated by a proxy in the pod`,
        flinkVersion: '1.20',
        job: 'error-logs (example chart, session cluster shared-logs)',
        delivery: 'at-least-once writes; upserts by the log id make replays harmless: each document exactly once',
        records,
        indexing: { indexTotal: stats.index_total },
        taskManagerKill: { documentsAtKill: atKill, restarts: restartsAfter - restartsBefore, restoredFrom: restored?.external_path ?? null, restoreMs },
        numRestartsReadsWithoutValue: h.metricReadsWithoutValue - gapsBefore,
        neighbour: { job: 'slow-requests', runs: [slowFirst, slowSecond], upgradeSavepoint: slowSavepoint, errorLogs: before, numRestartsReads, indexedAfter: third.length },
        steps,
      });
    }, [NS, ES_NS]);
  } finally {
    h.report.elasticsearch = steps;
    for (const r of installed.reverse()) await h.helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    await h.node.cluster.kubectl(['-n', NS, 'delete', 'job', 'slow-requests-stop', '--ignore-not-found'], { timeoutMs: 60_000 });
    await h.node.cluster.kubectl(['-n', NS, 'delete', 'configmap', '-l', 'app=shared-logs,configmap-type=high-availability'], { timeoutMs: 60_000 });
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('spare capacity as pods: a TaskManager pod deleted mid-stream; with standbyTaskManagers: 1 the job is RUNNING again in the standby\'s slot before the replacement pod registers, without it only once the replacement has; the same job, one after the other, on Flink 2.2', { timeout: 20 * 60_000 }, async (t0) => {
  const h4 = await ensureHelm(4);
  const SOURCE = 'logs.recovery';
  const BATCH = 1_000;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-spare-'));
  const installed: string[] = [];
  /** per variant, ms after the pod's deletion: Flink's failure, the replacement's registration, every task RUNNING again */
  const results: Record<string, { taskManagers: number; installToRunningMs: number; ranOn: string; failureMs: number; replacementRegisteredMs: number; lossToRunningMs: number; cause: string }> = {};
  try {
    await h.withDiagnostics(async () => {
      await h.ensureServers({});
      await Promise.all([SOURCE, `${SOURCE}.recovery-plain`, `${SOURCE}.recovery-standby`].map((x) => h.topic(x, 2)));
      // the same job twice: two slots' worth of tasks on two TaskManagers of one slot each, with and without a standby
      const kafka = { bootstrapServers: BOOTSTRAP, credentials: KafkaCredentials.scram(KAFKA_SECRET) };
      const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', storageBaseDirectory: 'hdfs://namenode.hadoop.svc:8020/flink', imageRegistry: 'registry.example.com/logs' });
      const variants: [string, number][] = [['recovery-plain', 0], ['recovery-standby', 1]];
      for (const [name, standby] of variants) {
        platform.addApplication(name, {
          flinkVersion: FlinkVersion.V2_2,
          job: JobSource.pipeline(new LogPipeline({
            source: { ...kafka, topic: SOURCE, groupId: `flink-${name}`, fields: APP_LOG },
            countPerKey: { key: 'service' },
            sinks: [Sink.kafka({ ...kafka, topic: `${SOURCE}.${name}`, deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
          })),
          parallelism: 2,
          taskManagerSlots: 1,
          checkpointInterval: Duration.seconds(5),
          standbyTaskManagers: standby,
        });
      }
      const ip = (p: any) => p.status?.podIP as string | undefined;
      let produced = 0;
      for (const [name, standby] of variants) {
        const REST = `${name}-rest`;
        const selector = `app.kubernetes.io/instance=${name},app.kubernetes.io/component=taskmanager`;
        const chart = writeChart(synthesizeUnit(platform.unit(name)!), fs.mkdtempSync(path.join(work, `${name}-`)));
        const tInstall = Date.now();
        const install = await h.helm(h4, ['install', name, chart, '-n', NS, ...h.values([], { flink: h.images.trusting.flink, ops: h.images.trusting.ops }), '--wait', '--timeout', '480s']);
        assert.equal(install.code, 0, `helm install ${name}:\n${install.out}`);
        installed.push(name);
        const jid = await h.untilRunning(REST);
        const installToRunningMs = Date.now() - tInstall;
        const replicas = 2 + standby;
        // every TaskManager registered, the job's two slots taken, the standby's free
        type Tm = { id: string; path: string; slotsNumber: number; freeSlots: number };
        const tms = async () => ((await h.rest(REST, '/taskmanagers')).taskmanagers as Tm[]);
        let before: Tm[] = [];
        for (const until = Date.now() + 180_000; Date.now() < until; await sleep(1000)) {
          before = await tms();
          if (before.length === replicas && before.filter((tm) => tm.freeSlots === 0).length === 2) break;
        }
        assert.deepEqual(before.map((tm) => tm.freeSlots).sort(), [0, 0, ...Array(standby).fill(1)], `${name}: ${replicas} TaskManagers registered, two running the job: ${JSON.stringify(before)}`);
        assert.match(await h.client(`kafka-produce-recovery-${produced / BATCH}`, ['produce-app', SOURCE, String(BATCH), String(produced)]), new RegExp(`produced ${BATCH}`));
        produced += BATCH;

        // a TaskManager running one of the job's tasks, deleted as the other tests delete pods
        const pods = (await h.podsOf(selector)).filter((p) => !p.metadata.deletionTimestamp);
        const busy = before.filter((tm) => tm.freeSlots === 0);
        const victim = pods.find((p) => busy.some((tm) => ip(p) && tm.path.includes(`@${ip(p)}:`)));
        assert.ok(victim, `${name}: the pod of a busy TaskManager among ${pods.map((p) => `${p.metadata.name}@${ip(p)}`).join(', ')} (${busy.map((tm) => tm.path).join(', ')})`);
        const t = Date.now();
        await h.kubectl(['-n', NS, 'delete', 'pod', victim.metadata.name, '--wait=false']);
        // every subtask RUNNING again in a new attempt (the REST API's view, cached for seconds)
        type Sub = { status: string; attempt: number };
        const subtasks = () => h.subtasks(REST, jid);
        const again = (xs: Sub[]) => xs.length > 0 && xs.every((x) => x.status === 'RUNNING' && x.attempt >= 1);
        let subs: Sub[] = [];
        for (const until = Date.now() + 300_000; Date.now() < until && !again(subs); await sleep(250)) subs = await subtasks().catch(() => []);
        assert.ok(again(subs), `${name}: every subtask RUNNING again in a new attempt: ${JSON.stringify(subs)}`);
        const at = await tms();
        // the TaskManagers the job runs on when RUNNING again: survivors only, or a new one
        const known = new Set(before.map((tm) => tm.id));
        const ranOn = at.filter((tm) => tm.freeSlots === 0).every((tm) => known.has(tm.id)) ? 'survivors' : 'the replacement';
        for (const until = Date.now() + 180_000; Date.now() < until && !(await tms()).some((tm) => !known.has(tm.id)); await sleep(500));
        // the times on the JobManager's clock (the same machine's): the failure as Flink recorded it,
        // the replacement's registration, the last subtask RUNNING again
        const ex = (await h.rest(REST, `/jobs/${jid}/exceptions?maxExceptions=1`)).exceptionHistory?.entries?.[0] as { exceptionName?: string; timestamp?: number; stacktrace?: string } | undefined;
        const log = (await h.kubectl(['-n', NS, 'logs', `deployment/${name}-jobmanager`, '-c', 'jobmanager'])).split('\n');
        const stamp = (l: string) => {
          const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) /.exec(l);
          return m ? Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`) : NaN;
        };
        const registeredAt = log.filter((l) => { const m = /Registering TaskManager with ResourceID (\S+)/.exec(l); return m && !known.has(m[1]); }).map(stamp).find((x) => x >= t - 1000);
        const runningAt = Math.max(...log.filter((l) => /_\d+_([1-9]\d*)\) switched from INITIALIZING to RUNNING/.test(l)).map(stamp));
        assert.ok(ex?.timestamp && registeredAt && Number.isFinite(runningAt), `${name}: the failure (${JSON.stringify(ex?.timestamp)}), the replacement's registration (${registeredAt}) and the tasks RUNNING again (${runningAt}) in the JobManager's record`);
        results[name] = {
          taskManagers: replicas, installToRunningMs, ranOn,
          failureMs: ex!.timestamp! - t, replacementRegisteredMs: registeredAt! - t, lossToRunningMs: runningAt - t,
          cause: `${ex!.exceptionName}: ${(ex!.stacktrace ?? '').split('\n')[0].slice(0, 200)}`,
        };
        t0.diagnostic(`${name}: ${JSON.stringify(results[name])}`);
        const un = await h.helm(h4, ['uninstall', name, '-n', NS, '--wait', '--timeout', '300s']);
        assert.equal(un.code, 0, `helm uninstall ${name}:\n${un.out}`);
        installed.pop();
      }
      const plain = results['recovery-plain'];
      const standby = results['recovery-standby'];
      // without a standby the lost task has nowhere to go until the replacement registers
      assert.ok(plain.ranOn === 'the replacement' && plain.lossToRunningMs >= plain.replacementRegisteredMs, `recovery-plain RUNNING again only with the replacement: ${JSON.stringify(plain)}`);
      // with one, it runs on in the standby's slot, before the replacement has registered
      assert.ok(standby.ranOn === 'survivors' && standby.lossToRunningMs < standby.replacementRegisteredMs, `recovery-standby RUNNING again on the survivor and the standby before the replacement registered: ${JSON.stringify(standby)}`);
      const common = {
        flinkVersion: '2.2', job: 'parallelism 2, 1 slot per TaskManager, at-least-once Kafka sink, checkpoints every 5 s on HDFS',
        kill: 'kubectl delete pod (graceful) of a TaskManager running one of the job\'s tasks',
        standbyToPlain: Number((standby.lossToRunningMs / plain.lossToRunningMs).toFixed(2)),
      };
      const steps = (r: typeof plain) => ({ installToRunningMs: r.installToRunningMs, taskManagerLossToRunningMs: r.lossToRunningMs, replacementRegisteredMs: r.replacementRegisteredMs, failureMs: r.failureMs });
      recordE2E('node/recovery-plain', { ...common, result: plain, steps: steps(plain) });
      recordE2E('node/recovery-standby', { ...common, result: standby, steps: steps(standby) });
    }, [NS]);
  } finally {
    for (const r of installed.reverse()) await h.helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/**
 * A PyFlink Table API job with a Python function: lines from datagen (WARN, INFO, ERROR in turn),
 * the level found by a Python UDF that also reports the interpreter it runs in; the print sink
 * writes each row to the TaskManager's stdout (its pod log).
 */
const PYTHON_SCRIPT = `${PYTHON_UDFS_PRELUDE}rate = sys.argv[1]
t.execute_sql(f"""CREATE TABLE gen (n INT) WITH ('connector' = 'datagen', 'rows-per-second' = '{rate}',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '1000000')""")
t.execute_sql("CREATE TABLE out_rows (lvl STRING, line STRING, worker STRING, client STRING) WITH ('connector' = 'print')")
t.execute_sql(f"""INSERT INTO out_rows SELECT level_of(line), line, worker_python(line), '{sys.executable}' FROM (
  SELECT CASE MOD(n, 3) WHEN 0 THEN 'ERROR' WHEN 1 THEN 'WARN' ELSE 'INFO' END || ' request ' || CAST(n AS STRING) AS line FROM gen)""")
`;

test(`a Python job as pods: JobSource.python on an image with python3 and apache-flink ${PYFLINK_VERSION} (the runtime image of line 2.2 plus what a user's Dockerfile adds), installed with helm 4 under the restricted standard: PythonDriver runs the script from the chart's ConfigMap, the TaskManager pod's Python worker runs the UDF, every line once with its level`, { timeout: 20 * 60_000 }, async (t0) => {
  const h4 = await ensureHelm(4);
  const APP = 'py-levels';
  const REST = `${APP}-rest`;
  const ROWS = 30;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-python-'));
  let installed = false;
  const steps: Record<string, number> = {};
  try {
    await h.withDiagnostics(async () => {
      const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', imageRegistry: 'registry.example.com/logs' });
      const app = platform.addApplication(APP, {
        flinkVersion: FlinkVersion.V2_2,
        checkpointing: false,
        parallelism: 1,
        taskManagerSlots: 1,
        image: RuntimeImage.custom('registry.example.com/logs/flink-python:2.2.1', { base: RuntimeImage.cdk8sFlink('registry.example.com/logs/flink:2.2', FlinkVersion.V2_2), python: true }),
        job: JobSource.python({ script: PYTHON_SCRIPT, args: ['5'] }),
      });
      const unit = synthesizeUnit(platform.unit(APP)!);
      const chart = writeChart(unit, fs.mkdtempSync(path.join(work, 'chart-')));
      let t = Date.now();
      const install = await h.helm(h4, ['install', APP, chart, '-n', NS, ...h.values([], { flink: pythonImageName(), ops: h.images.ops }), '--wait', '--timeout', '480s']);
      assert.equal(install.code, 0, `helm install ${APP}:\n${install.out}`);
      installed = true;
      const jid = await h.untilRunning(REST, { jid: app.jobId });
      steps.installToRunningMs = Date.now() - t;
      const jm = (await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=jobmanager`))[0];
      const args: string[] = jm.spec.containers.find((c: any) => c.name === 'jobmanager').args;
      assert.deepEqual(args.slice(-5), ['-pyclientexec', 'python3', '-py', '/opt/flink/job/job.py', '5'], `the JobManager runs PythonDriver with the script from the ConfigMap: ${args.join(' ')}`);
      assert.ok(args.includes('org.apache.flink.client.python.PythonDriver'), `PythonDriver is the entry class: ${args.join(' ')}`);
      // the rows the print sink wrote to the TaskManager's stdout
      const tm = (await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=taskmanager`))[0];
      const rowRe = /^\+I\[([a-z]+), ((ERROR|WARN|INFO) request (\d+)), ([^,\]]+), ([^,\]]+)\]$/;
      let rows: RegExpExecArray[] = [];
      t = Date.now();
      for (const until = Date.now() + 240_000; Date.now() < until; await sleep(2000)) {
        const log = await h.kubectl(['-n', NS, 'logs', tm.metadata.name, '-c', 'taskmanager']);
        rows = log.split('\n').map((l) => rowRe.exec(l.trim())).filter((m): m is RegExpExecArray => !!m);
        if (rows.filter((r) => Number(r[4]) <= ROWS).length >= ROWS) break;
      }
      steps.runningToRowsMs = Date.now() - t;
      const first = rows.filter((r) => Number(r[4]) <= ROWS);
      const expected = Array.from({ length: ROWS }, (_, i) => i + 1).map((n) => {
        const level = ['ERROR', 'WARN', 'INFO'][n % 3];
        return `${level.toLowerCase()},${level} request ${n}`;
      });
      assert.deepEqual(first.map((r) => `${r[1]},${r[2]}`).sort(), expected.sort(), `lines 1..${ROWS} once each, with the level the Python function found (${rows.length} rows read)`);
      assert.deepEqual([...new Set(rows.map((r) => r[5]))], ['/usr/bin/python3'], 'the UDF ran in the image\'s python3 (python.executable)');
      assert.deepEqual([...new Set(rows.map((r) => r[6]))], ['/usr/bin/python3'], 'the client ran in the image\'s python3 (-pyclientexec)');
      assert.equal((await h.jobStates(REST)).jobs.find((j) => j.jid === jid)?.state, 'RUNNING', 'the job runs on');
      const un = await h.helm(h4, ['uninstall', APP, '-n', NS, '--wait', '--timeout', '300s']);
      assert.equal(un.code, 0, `helm uninstall ${APP}:\n${un.out}`);
      installed = false;
      t0.diagnostic(`${rows.length} rows; ${JSON.stringify(steps)}`);
      recordE2E('node/python-job', { flinkVersion: PYFLINK_VERSION, image: 'runtime image 2.2 + python3 (Debian) + apache-flink (PyPI)', rows: rows.length, steps });
    }, [NS]);
  } finally {
    if (installed) await h.helm(h4, ['uninstall', APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/** The job autoscaler's declarations in its log, in order: each vertex's parallelism before and after. */
function declarationsIn(log: string): Array<{ was: number[]; to: number[]; text: string }> {
  return [...log.matchAll(/declared parallelism ([\d, ]+) \(was ([\d, ]+)\)/g)].map((m) => ({ to: m[1].split(', ').map(Number), was: m[2].split(', ').map(Number), text: `${m[2]} -> ${m[1]}` }));
}

/**
 * An idle job's scale-down in the autoscaler's log: declarations from every vertex at `from` to
 * every vertex at `to`, each following the one before, lowering at least one vertex and raising
 * none. Usually one; two when the first window still reads a vertex busy from the job's last
 * (re)start (a source at 0.40 on a loaded machine: kept, aligned to its partitions).
 */
function assertScaleDownChain(log: string, from: number, to: number): Array<{ was: number[]; to: number[]; text: string }> {
  const ds = declarationsIn(log);
  const chain = ds.map((d) => d.text).join('; ');
  assert.ok(ds.length >= 1 && ds[0].was.every((x) => x === from) && ds[ds.length - 1].to.every((x) => x === to), `every vertex declared from ${from} to ${to} (${chain}):\n${log}`);
  assert.ok(ds.every((d, i) => d.to.every((x, k) => x <= d.was[k]) && d.to.some((x, k) => x < d.was[k]) && (i === 0 || d.was.join() === ds[i - 1].to.join())), `each declaration lowers and follows the one before (${chain}):\n${log}`);
  return ds;
}

/**
 * A backlog on `topic` that lasts until the autoscaler has raised the source: `first` records,
 * then `round` more whenever fewer than `round` are left unread (by the group's committed
 * offsets), until the autoscaler's log (`autoscalerLog`) ends with a declaration that raises the
 * source, `max` records in all, or `ms`. A fixed backlog can be read before
 * the autoscaler's window has seen it: a source reading 2,219 records/s got through 150,000 and
 * was declared up on its busy time alone, with nothing pending. Returns the records written
 * (ids a-0 up, in order).
 */
async function backlogUntilRaised(name: string, topic: string, group: string, autoscalerLog: () => Promise<string>, o: { first: number; round: number; max: number; ms: number }): Promise<number> {
  const raised = async () => {
    const d = declarationsIn(await autoscalerLog()).pop();
    return d !== undefined && d.to[0] > d.was[0];
  };
  let produced = 0;
  const produce = async (n: number) => {
    assert.match(await h.client(`${name}-${produced}`, ['produce-app', topic, String(n), String(produced)]), new RegExp(`produced ${n}`));
    produced += n;
  };
  await produce(o.first);
  // bounded by `ms`; past it, the caller's own wait for the rescale reports what was seen
  for (const end = Date.now() + o.ms; Date.now() < end && !(await raised().catch(() => false)); await sleep(2000)) {
    if (produced + o.round > o.max) continue;
    const read = await h.client(`${name}-read-${produced}-${Date.now() % 100_000}`, ['committed', topic, group, '0']);
    const committed = Number(/committed (-?\d+)/.exec(read)?.[1] ?? NaN);
    assert.ok(Number.isFinite(committed), `the group's committed offsets: ${read}`);
    if (produced - committed < o.round) await produce(o.round);
  }
  return produced;
}

/** Polls `ok` every second for `ms`; on timeout fails with the controllers' logs that `logs` reads. */
async function untilOrLogs(what: string, ms: number, ok: () => Promise<boolean>, logs: () => Promise<string>): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(1000)) if (await ok().catch(() => false)) return;
  throw new Error(`timed out after ${ms} ms waiting for ${what}; ${await logs()}`);
}

test('the job autoscaler as pods: an idle Kafka job declared at parallelism 4 gets its two TaskManagers from the autoscaler, then both its vertices are scaled down in place (same job id, from a checkpoint on HDFS), and the TaskManager Flink leaves idle is removed, not a busy one; then a backlog scales the source back to the topic\'s 4 partitions on two TaskManagers, and the job reads it to its end; helm 4, restricted', { timeout: 20 * 60_000 }, async (t0) => {
  const h4 = await ensureHelm(4);
  const APP = 'vertex-scaled';
  const REST = `${APP}-rest`;
  const TM = `${APP}-taskmanager`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-autoscaler-'));
  let installed = false;
  const steps: Record<string, number> = {};
  try {
    await h.withDiagnostics(async () => {
      await h.ensureServers({});
      const SOURCE = 'logs.autoscale';
      await h.topic(SOURCE, 4);
      await h.topic(`${SOURCE}.counted`, 2);
      const kafka = { bootstrapServers: BOOTSTRAP, credentials: KafkaCredentials.scram(KAFKA_SECRET) };
      const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', storageBaseDirectory: 'hdfs://namenode.hadoop.svc:8020/flink', imageRegistry: 'registry.example.com/logs' });
      const app = platform.addApplication(APP, {
        flinkVersion: FlinkVersion.V2_2,
        // an idle topic: the Kafka source (FLIP-27, busy time reported) and the keyed count idle
        job: JobSource.pipeline(new LogPipeline({
          source: { ...kafka, topic: SOURCE, groupId: `flink-${APP}`, fields: APP_LOG },
          // always true, and costly: a SHA-512 over about 200 KB per record, so that the source
          // reads slower (about 1,000 records/s per subtask here) than the test's producer writes
          filters: ['CHAR_LENGTH(SHA512(REPEAT(message, 20000))) = 128'],
          countPerKey: { key: 'service' },
          sinks: [Sink.kafka({ ...kafka, topic: `${SOURCE}.counted`, deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
        })),
        parallelism: 4,
        taskManagerSlots: 2,
        checkpointInterval: Duration.seconds(5),
        jobAutoscaler: {
          minParallelism: 2, maxParallelism: 4, maxScaleDown: 50, catchUp: Duration.seconds(30),
          stabilization: Duration.seconds(10), metricsWindow: Duration.seconds(20), interval: Duration.seconds(5),
        },
      });
      const unit = synthesizeUnit(platform.unit(APP)!);
      const chart = writeChart(unit, fs.mkdtempSync(path.join(work, 'chart-')));
      const replicas = async () => Number(await h.kubectl(['-n', NS, 'get', 'deployment', TM, '-o', 'jsonpath={.spec.replicas}']));
      const parallelism = async (jid: string) => ((await h.rest(REST, `/jobs/${jid}`)).vertices as Array<{ parallelism: number; status: string }>);
      const until = (what: string, ms: number, ok: () => Promise<boolean>) => untilOrLogs(what, ms, ok,
        async () => `the autoscaler's log:\n${await h.kubectl(['-n', NS, 'logs', `deployment/${APP}-autoscaler`]).catch((e) => String(e))}`);
      let t = Date.now();
      const install = await h.helm(h4, ['install', APP, chart, '-n', NS, ...h.values([`taskManager.jobAutoscaler.image=${h.images.trusting.ops}`], { flink: h.images.trusting.flink, ops: h.images.trusting.ops }), '--wait', '--timeout', '480s']);
      assert.equal(install.code, 0, `helm install ${APP}:\n${install.out}`);
      installed = true;
      const jid = await h.untilRunning(REST, { jid: app.jobId });
      // The Deployment starts at Kubernetes' default of one pod; the autoscaler raises it to the declared 4 slots' two.
      await until('two TaskManagers and the job at parallelism 4', 300_000, async () => (await replicas()) === 2 && (await parallelism(jid)).every((v) => v.parallelism === 4 && v.status === 'RUNNING'));
      steps.installToParallelism4Ms = Date.now() - t;
      const cpBefore = (await h.rest(REST, `/jobs/${jid}/checkpoints`)).latest?.completed?.id ?? 0;
      t = Date.now();
      // Idle: each vertex to ceil(4 x 0.5) = 2 (the 50% scale-down limit, and minParallelism), which one
      // TaskManager holds once Flink releases the slots the job no longer uses (slot.idle.timeout).
      await until('the job at parallelism 2 on one TaskManager', 300_000, async () => (await parallelism(jid)).every((v) => v.parallelism === 2 && v.status === 'RUNNING') && (await replicas()) === 1);
      steps.scaleDownMs = Date.now() - t;
      const log = await h.kubectl(['-n', NS, 'logs', `deployment/${APP}-autoscaler`]);
      // the declarations while idle: from 4, 4 to 2, 2
      const declarations = assertScaleDownChain(log, 4, 2);
      steps.declarations = declarations.length;
      assert.match(log, new RegExp(`${TM}: 1 -> 2 TaskManager\\(s\\) for 4 slot\\(s\\)`), log);
      assert.match(log, new RegExp(`${TM}: 2 -> 1 TaskManager\\(s\\) for 2 slot\\(s\\): 1 idle removed`), log);
      // the same changes as Events regarding the TaskManager Deployment (its Role may create them)
      const events = (JSON.parse(await h.kubectl(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.kind=Deployment,involvedObject.name=${TM}`, '-o', 'json'])).items as any[])
        .filter((e) => e.reportingComponent === 'cdk8s-flink.io/job-autoscaler').map((e) => `${e.reason}: ${e.message}`);
      const rescaled = events.filter((e) => e.startsWith('Rescaled: ')).map((e) => /declared parallelism ([\d, ]+) \(was ([\d, ]+)\)/.exec(e)?.slice(1, 3).reverse().join(' -> '));
      assert.deepEqual(rescaled.sort(), declarations.map((d) => d.text).sort(), `each rescale as an Event:\n${events.join('\n')}`);
      assert.ok(events.includes(`TaskManagersScaled: ${TM}: 1 -> 2 TaskManager(s) for 4 slot(s)`) && events.includes(`TaskManagersScaled: ${TM}: 2 -> 1 TaskManager(s) for 2 slot(s): 1 idle removed`), `both TaskManager changes as Events:\n${events.join('\n')}`);
      const restored = await latestRestored((r) => h.rest(REST, r), jid, { atLeast: cpBefore });
      assert.ok(restored && restored.id >= cpBefore && /^hdfs:/.test(restored.external_path ?? ''), `restored from a checkpoint on HDFS at or after ${cpBefore}: ${JSON.stringify(restored)}`);
      // the remaining TaskManager runs the job: the removed one was idle
      await sleep(5000);
      const subs = await h.subtasks(REST, jid);
      assert.ok(subs.length === 2 * (await parallelism(jid)).length && subs.every((x) => x.status === 'RUNNING'), `every subtask RUNNING on the remaining TaskManager: ${JSON.stringify(subs)}`);
      const tms = (await h.rest(REST, '/taskmanagers')).taskmanagers as Array<{ slotsNumber: number; freeSlots: number }>;
      assert.deepEqual(tms.map((x) => [x.slotsNumber, x.freeSlots]), [[2, 0]], 'one TaskManager, both slots in use');
      assert.deepEqual((await h.jobStates(REST)).jobs.map((j) => j.jid), [jid], 'one job, the same job id');
      const pod = (await h.podsOf(`app.kubernetes.io/instance=${APP},app.kubernetes.io/component=autoscaler`))[0];
      assert.equal(pod.metadata.labels['cdk8s-flink/rest-client'], APP);

      // Under load: a backlog in the topic keeps the source busy; the autoscaler raises the source
      // to the topic's 4 partitions (a divisor of them, no more), the TaskManagers first (1 -> 2),
      // and the job reads the backlog to its end.
      t = Date.now();
      const BACKLOG = await backlogUntilRaised('kafka-produce-autoscale', SOURCE, `flink-${APP}`, () => h.kubectl(['-n', NS, 'logs', `deployment/${APP}-autoscaler`]), { first: 150_000, round: 50_000, max: 400_000, ms: 240_000 });
      steps.backlog = BACKLOG;
      steps.produceBacklogMs = Date.now() - t;
      await until('the source scaled up under the backlog, the job RUNNING at it on two TaskManagers', 300_000, async () => {
        const v = await parallelism(jid);
        return v[0].parallelism === 4 && v.every((x) => x.status === 'RUNNING') && (await replicas()) === 2;
      });
      steps.backlogToScaledUpMs = Date.now() - t;
      const upLog = await h.kubectl(['-n', NS, 'logs', `deployment/${APP}-autoscaler`]);
      const up = declarationsIn(upLog).pop();
      assert.ok(up && up.to[0] === 4 && up.was[0] === 2, `the source declared from 2 to 4:\n${upLog}`);
      const decision = upLog.split('\n').filter((l) => /Source: .*at parallelism 2, 4 partitions: to 4/.test(l)).pop();
      assert.ok(decision, `the source's decision, reading 4 partitions:\n${upLog}`);
      const load = /load ([\d.]+) \(busy ([\d.]+), catch-up x([\d.]+)/.exec(decision!)!;
      assert.ok(Number(load[1]) > 0.9, `the source's load above the band: ${decision}`);
      t0.diagnostic(`under load: ${decision}`);
      assert.equal([...upLog.matchAll(new RegExp(`${TM}: 1 -> 2 TaskManager\\(s\\) for 4 slot\\(s\\)`, 'g'))].length, 2, `the TaskManagers raised again before the rescale:\n${upLog}`);
      assert.match(await h.client('kafka-committed-autoscale', ['committed', SOURCE, `flink-${APP}`, String(BACKLOG)]), new RegExp(`committed ${BACKLOG}`));
      steps.backlogReadMs = Date.now() - t;
      assert.deepEqual((await h.jobStates(REST)).jobs.map((j) => j.jid), [jid], 'still one job, the same job id');
      const un = await h.helm(h4, ['uninstall', APP, '-n', NS, '--wait', '--timeout', '300s']);
      assert.equal(un.code, 0, `helm uninstall ${APP}:\n${un.out}`);
      installed = false;
      t0.diagnostic(`${JSON.stringify(steps)}\n${log}`);
      recordE2E('node/job-autoscaler', { flinkVersion: '2.2', steps });
    }, [NS]);
  } finally {
    if (installed) await h.helm(h4, ['uninstall', APP, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('a session job\'s autoscaler and the session\'s pool as pods: an idle Kafka job on a session cluster with the adaptive scheduler, submitted at parallelism 2 (the pool grows to two TaskManagers of one slot), is declared down to 1 by its own chart\'s autoscaler (same job id, from a checkpoint on HDFS), and the pool then removes the TaskManager left idle; a backlog then declares it back to 2, the pool adds a TaskManager, and the job reads the backlog to its end; helm 4, restricted', { timeout: 20 * 60_000 }, async (t0) => {
  const h4 = await ensureHelm(4);
  const SESSION = 'scaled-session';
  const JOB = 'tail-logs';
  const REST = `${SESSION}-rest`;
  const TM = `${SESSION}-taskmanager`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-session-autoscaler-'));
  const installed: string[] = [];
  const steps: Record<string, number> = {};
  try {
    await h.withDiagnostics(async () => {
      await h.ensureServers({});
      const SOURCE = 'logs.session-autoscale';
      await h.topic(SOURCE, 4);
      await h.topic(`${SOURCE}.out`, 2);
      const kafka = { bootstrapServers: BOOTSTRAP, credentials: KafkaCredentials.scram(KAFKA_SECRET) };
      const platform = new FlinkPlatform({ namespace: NS, partOf: 'log-platform', storageBaseDirectory: 'hdfs://namenode.hadoop.svc:8020/flink', imageRegistry: 'registry.example.com/logs' });
      const secret = (key: string) => EnvValue.fromSecret(KAFKA_SECRET, key);
      const cluster = platform.addSessionCluster(SESSION, {
        // one slot per TaskManager: whichever slot the job keeps, a scale-down leaves a whole TaskManager idle
        flinkVersion: FlinkVersion.V2_2, taskManagerSlots: 1, checkpointInterval: Duration.seconds(5),
        flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' },
        taskManagerPool: { min: 1, max: 2, scaleDownDelay: Duration.seconds(10), interval: Duration.seconds(2) },
        // the session's jobs read and write Kafka with the credentials of the Secret
        env: { KAFKA_SOURCE_USERNAME: secret('username'), KAFKA_SOURCE_PASSWORD: secret('password'), KAFKA_SINK_0_USERNAME: secret('username'), KAFKA_SINK_0_PASSWORD: secret('password') },
      });
      const job = platform.addSessionJob(JOB, {
        cluster, parallelism: 2,
        job: JobSource.pipeline(new LogPipeline({
          source: { ...kafka, topic: SOURCE, groupId: `flink-${JOB}`, fields: APP_LOG },
          // always true, and costly (a SHA-512 over about 200 KB per record): under the backlog
          // below, the source reads slower than the producer writes
          filters: ['CHAR_LENGTH(SHA512(REPEAT(message, 20000))) = 128'],
          sinks: [Sink.kafka({ ...kafka, topic: `${SOURCE}.out`, deliveryGuarantee: DeliveryGuarantee.AT_LEAST_ONCE })],
        })),
        jobAutoscaler: { minParallelism: 1, maxParallelism: 2, maxScaleDown: 50, stabilization: Duration.seconds(10), metricsWindow: Duration.seconds(20), interval: Duration.seconds(5) },
      });
      const chartOf = (name: string) => writeChart(synthesizeUnit(platform.unit(name)!), fs.mkdtempSync(path.join(work, 'chart-')));
      const replicas = async () => Number(await h.kubectl(['-n', NS, 'get', 'deployment', TM, '-o', 'jsonpath={.spec.replicas}']));
      const vertices = async (jid: string) => ((await h.rest(REST, `/jobs/${jid}`)).vertices as Array<{ parallelism: number; status: string }>);
      const logsOf = (d: string) => h.kubectl(['-n', NS, 'logs', `deployment/${d}`]).catch((e) => String(e));
      const until = (what: string, ms: number, ok: () => Promise<boolean>) => untilOrLogs(what, ms, ok,
        async () => `the autoscaler's log:\n${await logsOf(`${JOB}-autoscaler`)}\nthe pool's log:\n${await logsOf(`${SESSION}-pool`)}`);
      let t = Date.now();
      const [flinkRepo, flinkTag] = splitImage(h.images.trusting.flink);
      const c = await h.helm(h4, ['install', SESSION, chartOf(SESSION), '-n', NS, ...[
        `image.repository=${flinkRepo}`, `image.tag=${flinkTag}`, 'image.pullPolicy=Never',
        'jobManager.resources.cpu=100m', 'taskManager.resources.cpu=100m', `taskManager.pool.image=${h.images.trusting.ops}`,
      ].flatMap((v) => ['--set', v]), '--wait', '--timeout', '480s']);
      assert.equal(c.code, 0, `helm install ${SESSION}:\n${c.out}`);
      installed.push(SESSION);
      const [opsRepo, opsTag] = splitImage(h.images.trusting.ops);
      const j = await h.helm(h4, ['install', JOB, chartOf(JOB), '-n', NS, '--set', `image.repository=${opsRepo}`, '--set', `image.tag=${opsTag}`, '--wait', '--timeout', '480s']);
      assert.equal(j.code, 0, `helm install ${JOB}:\n${j.out}`);
      installed.push(JOB);
      const jid = await h.untilRunning(REST, { name: JOB });
      // the pool grows for the 2 slots the job is declared at
      await until('two TaskManagers and the job at parallelism 2', 300_000, async () => (await replicas()) === 2 && (await vertices(jid)).every((v) => v.parallelism === 2 && v.status === 'RUNNING'));
      steps.installToParallelism2Ms = Date.now() - t;
      const cpBefore = (await h.rest(REST, `/jobs/${jid}/checkpoints`)).latest?.completed?.id ?? 0;
      t = Date.now();
      // idle: the job's autoscaler declares 1 (the 50% limit); once Flink releases the unused slot
      // (slot.idle.timeout) the pool removes the TaskManager left idle
      await until('the job at parallelism 1 on one TaskManager', 360_000, async () => (await vertices(jid)).every((v) => v.parallelism === 1 && v.status === 'RUNNING') && (await replicas()) === 1);
      steps.scaleDownMs = Date.now() - t;
      const log = await logsOf(`${JOB}-autoscaler`);
      const declarations = assertScaleDownChain(log, 2, 1);
      assert.match(log, new RegExp(`job ${jid} `), 'it found the job by name');
      assert.doesNotMatch(log, /TaskManager\(s\)/, 'it sizes no TaskManagers: the pool does');
      const poolLog = await logsOf(`${SESSION}-pool`);
      assert.match(poolLog, /scaling down by 1 idle TaskManager\(s\)/, poolLog);
      const restored = await latestRestored((r) => h.rest(REST, r), jid, { atLeast: cpBefore });
      assert.ok(restored && restored.id >= cpBefore && /^hdfs:/.test(restored.external_path ?? ''), `restored from a checkpoint on HDFS at or after ${cpBefore}: ${JSON.stringify(restored)}`);
      await sleep(5000);
      const tms = (await h.rest(REST, '/taskmanagers')).taskmanagers as Array<{ slotsNumber: number; freeSlots: number }>;
      assert.deepEqual(tms.map((x) => [x.slotsNumber, x.freeSlots]), [[1, 0]], 'one TaskManager, its slot in use: the removed one was idle');
      assert.deepEqual((await h.jobStates(REST)).jobs.filter((x) => x.state === 'RUNNING').map((x) => x.jid), [jid], 'the same job id runs');
      // the autoscaler's pod: the job's operations image, no token, the session's REST client label
      const pod = (await h.podsOf(`app.kubernetes.io/instance=${JOB},app.kubernetes.io/component=autoscaler`))[0];
      assert.equal(pod.metadata.labels['cdk8s-flink/rest-client'], SESSION);
      assert.equal(pod.spec.automountServiceAccountToken, false);

      // Under load: a backlog keeps the source busy; the autoscaler declares the job back to 2 (its
      // maximum, a divisor of the 4 partitions), the pool grows by a TaskManager for the slot the
      // job now asks for, the job rescales onto it in place, and reads the backlog to its end.
      t = Date.now();
      // the source at 1 (about 1,300 records/s here) still behind when the autoscaler's window has
      // read it busy and the pool's new TaskManager has started
      const BACKLOG = await backlogUntilRaised('kafka-produce-session-autoscale', SOURCE, `flink-${JOB}`, () => logsOf(`${JOB}-autoscaler`), { first: 200_000, round: 50_000, max: 400_000, ms: 240_000 });
      steps.backlog = BACKLOG;
      steps.produceBacklogMs = Date.now() - t;
      await until('the source scaled up under the backlog, the job RUNNING at it on two TaskManagers', 300_000, async () => {
        const v = await vertices(jid);
        return v[0].parallelism === 2 && v.every((x) => x.status === 'RUNNING') && (await replicas()) === 2;
      });
      steps.backlogToScaledUpMs = Date.now() - t;
      const upLog = await logsOf(`${JOB}-autoscaler`);
      const up = declarationsIn(upLog).pop();
      assert.ok(up && up.was[0] === 1 && up.to[0] === 2, `the source declared from 1 to 2:\n${upLog}`);
      const decision = upLog.split('\n').filter((l) => /at parallelism 1, 4 partitions: to 2/.test(l)).pop();
      assert.ok(decision, `the source's decision, reading 4 partitions:\n${upLog}`);
      t0.diagnostic(`under load: ${decision}`);
      const grown = await logsOf(`${SESSION}-pool`);
      assert.ok([...grown.matchAll(/: scaling up/g)].length >= 2, `the pool grew again for the declared slot:\n${grown}`);
      assert.match(await h.client('kafka-committed-session-autoscale', ['committed', SOURCE, `flink-${JOB}`, String(BACKLOG)]), new RegExp(`committed ${BACKLOG}`));
      steps.backlogReadMs = Date.now() - t;
      assert.deepEqual((await h.jobStates(REST)).jobs.filter((x) => x.state === 'RUNNING').map((x) => x.jid), [jid], 'still the same job id');
      for (const r of [JOB, SESSION]) {
        const un = await h.helm(h4, ['uninstall', r, '-n', NS, '--wait', '--timeout', '300s']);
        assert.equal(un.code, 0, `helm uninstall ${r}:\n${un.out}`);
        installed.splice(installed.indexOf(r), 1);
      }
      t0.diagnostic(`${JSON.stringify(steps)} declarations ${declarations.map((d) => d.text).join('; ')}`);
      recordE2E('node/session-job-autoscaler', { flinkVersion: '2.2', steps, declarations: declarations.length, jobParallelism: job.parallelism });
    }, [NS]);
  } finally {
    for (const r of installed.reverse()) await h.helm(h4, ['uninstall', r, '-n', NS, '--no-hooks', '--wait', '--timeout', '180s']);
    fs.rmSync(work, { recursive: true, force: true });
  }
});
