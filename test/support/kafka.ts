/**
 * A real single-node KRaft Kafka broker for tests, run from Maven Central jars
 * (org.apache.kafka:kafka_2.13 and its runtime dependencies, resolved with mvn into
 * cacheDir('kafka', version)). Listens on 127.0.0.1 only, on free ports; internal topics
 * (offsets, transaction state) have replication factor 1 so transactional producers and
 * Flink's exactly-once Kafka sink work.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { ensureMavenLibs, run } from './flink-dist';
import { freePorts, ManagedProcess, spawnManaged, waitFor } from './flink-proc';

export const KAFKA_VERSION = '3.9.1';
export const KAFKA_SCALA = '2.13';

/** The broker's jars (classpath directory), downloaded on first use. */
export function ensureKafkaJars(version = KAFKA_VERSION): Promise<string> {
  return ensureMavenLibs('kafka', version, [
    `org.apache.kafka:kafka_${KAFKA_SCALA}:${version}`,
    // a logging backend, as the binary distribution ships (slf4j + reload4j)
    'org.slf4j:slf4j-reload4j:1.7.36',
  ]);
}

export interface KafkaBroker {
  /** "127.0.0.1:<port>" */
  bootstrap: string;
  /** "127.0.0.1:<port>" of the SSL listener, when started with `ssl` */
  sslBootstrap?: string;
  createTopic(name: string, partitions: number): Promise<void>;
  /** a kafkajs client for this broker (quiet logging) */
  client(clientId?: string): Kafka;
  /** broker output so far (stdout/stderr and its server.log) */
  logs(): string;
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** parent directory for the broker's data (default: a new temp dir); removed by stop() */
  dataDir?: string;
  /** default false: topics must be created with createTopic */
  autoCreateTopics?: boolean;
  /** max heap, default 512m */
  heap?: string;
  /** how long to wait for the broker to answer, default 90 s */
  readyTimeoutMs?: number;
  /** also an SSL listener on 127.0.0.1 with this key and certificate chain (PKCS12) */
  ssl?: { keystoreFile: string; keystorePassword: string };
}

/** Kafka's random cluster id format: 16 random bytes, URL-safe base64, no padding. */
/** A random Kafka cluster id (URL-safe base64 of 16 bytes); never starting with '-', as Kafka's Uuid.randomUuid does, since StorageTool would take it for an option. */
export function clusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    if (!id.startsWith('-')) return id;
  }
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const libs = await ensureKafkaJars();
  const [port, controllerPort, sslPort] = await freePorts(opts.ssl ? 3 : 2);
  const base = opts.dataDir ? path.resolve(opts.dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-kafka-'));
  const root = path.join(base, `kafka-${port}`);
  const logDirs = path.join(root, 'data');
  fs.mkdirSync(logDirs, { recursive: true });
  const bootstrap = `127.0.0.1:${port}`;
  const sslBootstrap = opts.ssl ? `127.0.0.1:${sslPort}` : undefined;
  const ssl: Record<string, string> = opts.ssl ? {
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SSL://${sslBootstrap}`,
    'advertised.listeners': `PLAINTEXT://${bootstrap},SSL://${sslBootstrap}`,
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL',
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': opts.ssl.keystoreFile,
    'ssl.keystore.password': opts.ssl.keystorePassword,
  } : {};

  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${bootstrap}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDirs,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': opts.autoCreateTopics ?? false,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'log.flush.interval.messages': 10000,
    ...ssl,
  };
  const serverProps = path.join(root, 'server.properties');
  fs.writeFileSync(serverProps, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const log4j = path.join(root, 'log4j.properties');
  fs.writeFileSync(
    log4j,
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${path.join(root, 'server.log')}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      'log4j.logger.state.change.logger=WARN',
      '',
    ].join('\n'),
  );
  const classpath = path.join(libs, '*');
  const jvm = [`-Xmx${opts.heap ?? '512m'}`, '-Xms128m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`, '-cp', classpath];

  await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', serverProps, '--ignore-formatted'], { timeoutMs: 120_000 });

  const proc: ManagedProcess = spawnManaged(`kafka-${port}`, 'java', [...jvm, 'kafka.Kafka', serverProps], {
    cwd: root,
    logFile: path.join(root, 'console.log'),
  });
  const serverLog = () => {
    try {
      return fs.readFileSync(path.join(root, 'server.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const logs = () => `${proc.logs()}\n${serverLog()}`;

  const client = (clientId = 'cdk8s-flink-test') =>
    new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 200 }, connectionTimeout: 3000 });

  let admin: Admin | undefined;
  const stop = async () => {
    try {
      await admin?.disconnect();
    } catch {
      /* ignore */
    }
    await proc.stop(20_000);
    fs.rmSync(root, { recursive: true, force: true });
    if (!opts.dataDir) fs.rmSync(base, { recursive: true, force: true });
  };

  try {
    admin = client('cdk8s-flink-test-admin').admin();
    await waitFor(
      async () => {
        await admin!.connect();
        await admin!.listTopics();
        return true;
      },
      {
        timeoutMs: opts.readyTimeoutMs ?? 90_000,
        intervalMs: 500,
        what: `Kafka ${KAFKA_VERSION} at ${bootstrap}`,
        abortIf: () => (proc.exitCode() !== undefined ? `the broker exited with code ${proc.exitCode()}:\n${logs().slice(-4000)}` : undefined),
      },
    );
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    bootstrap,
    sslBootstrap,
    client,
    logs,
    stop,
    async createTopic(name: string, partitions: number) {
      // kafkajs's own waitForLeaders gives up on the first "does not host this topic-partition"
      // a busy broker answers while the topic's metadata propagates: wait here instead.
      const created = await admin!.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false, timeout: 30_000 });
      if (!created) throw new Error(`topic ${name} already exists`);
      await waitFor(
        async () => {
          const t = (await admin!.fetchTopicMetadata({ topics: [name] })).topics[0];
          return t && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `leaders for topic ${name}` },
      );
    },
  };
}
