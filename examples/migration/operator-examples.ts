/**
 * The Flink Kubernetes Operator's examples (`examples/` of apache/flink-kubernetes-operator),
 * each written with this toolkit: one platform per example, its clusters named as the example's
 * resources. From an app module exporting one (`module.exports.platform = basic()`),
 * `cdk8s-flink synth --target operator` writes the operator's resources again and
 * `cdk8s-flink synth` Deployments and charts. README "Migrating from the operator's examples"
 * says, per example, what carries over and what this toolkit does differently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  Autoscaling, AutoscalingMetric, FlinkApplicationProps, FlinkConfigValue, FlinkPlatform, FlinkPlatformProps, FlinkVersion, JobSource, LogConfig, MetricResource,
  FlinkClusterProps, RuntimeImage, ServiceAccountRef, UpgradeMode, VolumeSource,
} from '../../lib';

/** What every example asks for: 2 GiB and one CPU per JobManager and TaskManager; the ServiceAccount `flink` the operator's chart creates. */
const RESOURCES = {
  jobManagerMemory: Size.mebibytes(2048),
  jobManagerCpu: Cpu.units(1),
  taskManagerMemory: Size.mebibytes(2048),
  taskManagerCpu: Cpu.units(1),
  serviceAccount: ServiceAccountRef.existing('flink'),
};

const STATE_MACHINE = 'local:///opt/flink/examples/streaming/StateMachineExample.jar';

/** Flink 2.2 from the official image, as the examples run it. */
const FLINK_2_2: Partial<FlinkClusterProps> = { flinkVersion: FlinkVersion.V2_2, image: 'flink:2.2', ...RESOURCES };

/** The examples without storage take no checkpoints (the toolkit checkpoints by default, to durable storage). */
const NO_CHECKPOINTS: Partial<FlinkClusterProps> = { checkpointing: false };

/**
 * The examples keep checkpoints, savepoints and HA metadata under `file:///flink-data` on a
 * hostPath volume; here a PersistentVolumeClaim is mounted there instead (writable).
 */
const FLINK_DATA: Partial<FlinkClusterProps> = {
  volumes: [{ name: 'flink-volume', mountPath: '/flink-data', source: VolumeSource.persistentVolumeClaim('flink-data'), readOnly: false }],
  checkpointing: true,
  checkpointDirectory: 'file:///flink-data/checkpoints',
  savepointDirectory: 'file:///flink-data/savepoints',
};
const FLINK_DATA_HA: Partial<FlinkClusterProps> = { ...FLINK_DATA, highAvailability: true, highAvailabilityStorageDir: 'file:///flink-data/ha' };

/** A platform of one application cluster, without monitoring (the examples set up none). */
function application(name: string, props: FlinkApplicationProps, platform: FlinkPlatformProps = {}): FlinkPlatform {
  const p = new FlinkPlatform({ monitoring: false, ...platform });
  p.addApplication(name, props);
  return p;
}

/** basic.yaml: an application cluster running the StateMachine example from the image. */
export function basic(): FlinkPlatform {
  return application('basic-example', {
    ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerSlots: 2,
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2, upgradeMode: UpgradeMode.STATELESS,
  });
}

/** basic-checkpoint-ha.yaml: checkpoints, savepoints and Kubernetes HA on a mounted volume, savepoint upgrades. */
export function checkpointHa(): FlinkPlatform {
  return application('basic-checkpoint-ha-example', {
    ...FLINK_2_2, ...FLINK_DATA_HA, taskManagerSlots: 2,
    flinkConfiguration: { 'kubernetes.operator.savepoint.format.type': 'NATIVE' },
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2, upgradeMode: UpgradeMode.SAVEPOINT,
  });
}

/** basic-reactive.yaml: reactive mode (standalone), HA, savepoint upgrades. */
export function reactive(): FlinkPlatform {
  return application('basic-reactive-example', {
    ...FLINK_2_2, ...FLINK_DATA_HA, taskManagerSlots: 2,
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    upgradeMode: UpgradeMode.SAVEPOINT,
    autoscaling: Autoscaling.reactive({ min: 1, max: 1 }),
  });
}

/** basic-session-deployment-and-job.yaml: a session cluster and two jar jobs fetched over https. */
export function sessionAndJobs(): FlinkPlatform {
  const p = new FlinkPlatform({ monitoring: false });
  const cluster = p.addSessionCluster('basic-session-deployment-example', { ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerReplicas: 3 });
  const maven = 'https://repo1.maven.org/maven2/org/apache/flink/flink-examples-streaming/2.2.0';
  p.addSessionJob('basic-session-job-example', {
    cluster, job: JobSource.jar({ jarFile: `${maven}/flink-examples-streaming-2.2.0-TopSpeedWindowing.jar` }),
    parallelism: 4, upgradeMode: UpgradeMode.STATELESS,
  });
  p.addSessionJob('basic-session-job-example2', {
    cluster,
    job: JobSource.jar({ jarFile: `${maven}/flink-examples-streaming-2.2.0.jar`, entryClass: 'org.apache.flink.streaming.examples.statemachine.StateMachineExample' }),
    parallelism: 2, upgradeMode: UpgradeMode.STATELESS,
  });
  return p;
}

/** pod-template.yaml: a log-forwarding sidecar on both pods, an init container fetching the jar on the JobManager. */
export function podTemplate(): FlinkPlatform {
  return application('pod-template-example', {
    ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerSlots: 2,
    podTemplate: {
      volumes: [{ name: 'downloads', source: VolumeSource.emptyDir() }],
      sidecars: [{
        name: 'fluentbit', image: 'fluent/fluent-bit:1.9.6-debug',
        command: ['sh', '-c', '/fluent-bit/bin/fluent-bit -i tail -p path=/flink-logs/*.log -p multiline.parser=java -o stdout'],
        volumeMounts: [{ volume: 'flink-log', mountPath: '/flink-logs' }],
      }],
      flinkContainer: { volumeMounts: [{ volume: 'downloads', mountPath: '/opt/flink/downloads' }] },
    },
    jobManagerPodTemplate: {
      initContainers: [{
        name: 'busybox', image: 'busybox:1.35.0',
        command: ['/bin/sh', '-c', 'wget -O /opt/flink/downloads/flink-examples-streaming.jar https://repo1.maven.org/maven2/org/apache/flink/flink-examples-streaming/2.2.0/flink-examples-streaming-2.2.0.jar'],
        volumeMounts: [{ volume: 'downloads', mountPath: '/opt/flink/downloads', readOnly: false }],
      }],
    },
    job: JobSource.jar({ jarFile: 'local:///opt/flink/downloads/flink-examples-streaming.jar', entryClass: 'org.apache.flink.streaming.examples.statemachine.StateMachineExample' }),
    parallelism: 2,
  });
}

/** basic-ingress.yaml: the REST API and web UI behind an Ingress on the cluster's own host name. */
export function ingress(): FlinkPlatform {
  return application('basic-ingress', {
    ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerSlots: 2,
    ingress: { host: 'basic-ingress.default.flink.k8s.io' },
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2,
  }, { namespace: 'default' });
}

/**
 * autoscaling/autoscaling.yaml: the operator's job autoscaler with the example's settings: a
 * 1-minute stabilization, a 3-minute metrics window, a 10% utilization boundary, vertices up to
 * the job's maximum parallelism (24), starting at parallelism 1.
 */
export function autoscaling(): FlinkPlatform {
  return application('autoscaling-example', {
    flinkVersion: FlinkVersion.V1_20, image: 'autoscaling-example:1.0', ...RESOURCES, ...FLINK_DATA_HA,
    jobManagerCpu: Cpu.millis(500), taskManagerSlots: 4,
    maxParallelism: 24,
    parallelism: 1,
    checkpointing: true, checkpointInterval: Duration.minutes(1),
    job: JobSource.jar({ jarFile: 'local:///opt/flink/usrlib/autoscaling.jar', args: ['10'] }),
    upgradeMode: UpgradeMode.LAST_STATE,
    jobAutoscaler: { maxParallelism: 24, utilizationBoundary: 10, stabilization: Duration.minutes(1), metricsWindow: Duration.minutes(3) },
  });
}

/** hpa/basic-hpa.yaml: an HPA on TaskManager memory scaling a reactive application. */
export function hpa(): FlinkPlatform {
  return application('basic', {
    ...FLINK_2_2, ...FLINK_DATA, taskManagerSlots: 2,
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    autoscaling: Autoscaling.reactive({ min: 1, max: 3, metrics: [AutoscalingMetric.resourceAverageValue(MetricResource.MEMORY, '10Mi')] }),
  }, { namespace: 'default' });
}

/** flink-python-example/python-example.yaml: a PyFlink script in the example's image, run by Flink's PythonDriver. */
export function python(): FlinkPlatform {
  return application('python-example', {
    // The example's image: Flink 2.2.0 with Python and apache-flink 2.2.0 (its Dockerfile).
    ...FLINK_2_2, flinkVersion: FlinkVersion.of('2.2.0'), image: RuntimeImage.custom('flink-python-example:1.0', { python: true }),
    ...NO_CHECKPOINTS, taskManagerSlots: 1,
    job: JobSource.python({ pythonFile: '/opt/flink/usrlib/python_demo.py', pythonExecutable: '/usr/bin/python3' }),
    parallelism: 1, upgradeMode: UpgradeMode.STATELESS,
  });
}

/** The example's SQL script, as the operator example's image carries it. */
export const SIMPLE_SQL = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'operator-examples', 'flink-sql-runner-example', 'sql-scripts', 'simple.sql'), 'utf8');

/** flink-sql-runner-example/sql-example.yaml: the script run by the toolkit's SQL runner. */
export function sql(): FlinkPlatform {
  return application('sql-example', {
    flinkVersion: FlinkVersion.V1_20, ...RESOURCES, ...NO_CHECKPOINTS, taskManagerSlots: 1,
    job: JobSource.sql(SIMPLE_SQL),
    parallelism: 1, upgradeMode: UpgradeMode.STATELESS,
  });
}

/** The example's log4j2 configuration, carried whole. */
export const CUSTOM_LOG4J = [
  'rootLogger.level = DEBUG',
  'rootLogger.appenderRef.file.ref = LogFile',
  'rootLogger.appenderRef.console.ref = LogConsole',
  'appender.file.name = LogFile',
  'appender.file.type = File',
  'appender.file.append = false',
  'appender.file.fileName = ${sys:log.file}',
  'appender.file.layout.type = PatternLayout',
  'appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n',
  'appender.console.name = LogConsole',
  'appender.console.type = CONSOLE',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n',
  'logger.akka.name = akka',
  'logger.akka.level = INFO',
  'logger.kafka.name= org.apache.kafka',
  'logger.kafka.level = INFO',
  'logger.hadoop.name = org.apache.hadoop',
  'logger.hadoop.level = INFO',
  'logger.zookeeper.name = org.apache.zookeeper',
  'logger.zookeeper.level = INFO',
  'logger.netty.name = org.apache.flink.shaded.akka.org.jboss.netty.channel.DefaultChannelPipeline',
  'logger.netty.level = OFF',
  '',
].join('\n');

/** custom-logging.yaml: a whole log4j2 configuration. */
export function customLogging(): FlinkPlatform {
  return application('custom-logging-example', {
    ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerSlots: 2,
    logging: LogConfig.fromString(CUSTOM_LOG4J),
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2, upgradeMode: UpgradeMode.STATELESS,
  });
}

/**
 * flink-tls-example/basic-secure.yaml: TLS between Flink's processes with the key and trust
 * stores of the cert-manager Secret `basic-secure-cert`, the passwords read from a Secret. The
 * operator target refuses it: its pods cannot take Flink options from Secrets.
 */
export function tls(): FlinkPlatform {
  const password = FlinkConfigValue.fromSecret('basic-secure-cert-secret-creds', 'password');
  return application('basic-secure', {
    ...FLINK_2_2, ...NO_CHECKPOINTS, taskManagerSlots: 2,
    volumes: [{ name: 'tls-cert', mountPath: '/opt/flink/tls-cert', source: VolumeSource.secret('basic-secure-cert') }],
    flinkConfiguration: {
      'security.ssl.internal.enabled': true,
      'security.ssl.truststore': '/opt/flink/tls-cert/truststore.jks',
      'security.ssl.truststore-password': password,
      'security.ssl.keystore': '/opt/flink/tls-cert/keystore.jks',
      'security.ssl.keystore-password': password,
      'security.ssl.key-password': password,
    },
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2, upgradeMode: UpgradeMode.STATELESS,
  });
}

/** snapshot/job-from-savepoint.yaml: the job starts from an existing savepoint. */
export function jobFromSavepoint(): FlinkPlatform {
  return application('example-deployment', {
    ...FLINK_2_2, ...FLINK_DATA,
    job: JobSource.jar({ jarFile: STATE_MACHINE }),
    parallelism: 2, upgradeMode: UpgradeMode.SAVEPOINT,
    initialSavepointPath: 'file:///flink-data/savepoints/savepoint-45305c-d867504446e0',
  });
}

/** Each operator example (its path under the operator's `examples/`) and its definition here. */
export const OPERATOR_EXAMPLES: Record<string, () => FlinkPlatform> = {
  'basic.yaml': basic,
  'basic-checkpoint-ha.yaml': checkpointHa,
  'basic-reactive.yaml': reactive,
  'basic-session-deployment-and-job.yaml': sessionAndJobs,
  'pod-template.yaml': podTemplate,
  'basic-ingress.yaml': ingress,
  'autoscaling/autoscaling.yaml': autoscaling,
  'hpa/basic-hpa.yaml': hpa,
  'flink-python-example/python-example.yaml': python,
  'flink-sql-runner-example/sql-example.yaml': sql,
  'custom-logging.yaml': customLogging,
  'flink-tls-example/basic-secure.yaml': tls,
  'snapshot/job-from-savepoint.yaml': jobFromSavepoint,
};
