// read_committed as Kafka's Java consumer does it, installed before kafkajs loads
import './read-committed';
import * as fs from 'fs';
import { Kafka, KafkaConfig, logLevel } from 'kafkajs';
import { OpsError } from './errors';

export interface KafkaSasl {
  readonly mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
  readonly username: string;
  readonly password: string;
}

const MECHANISMS: Record<string, KafkaSasl['mechanism']> = { 'SCRAM-SHA-512': 'scram-sha-512', 'SCRAM-SHA-256': 'scram-sha-256', 'PLAIN': 'plain' };

/**
 * SASL over TLS when KAFKA_SOURCE_USERNAME is set (the env the charts give the job's containers
 * from the credentials Secret); KAFKA_SOURCE_SASL_MECHANISM picks SCRAM-SHA-512 (default),
 * SCRAM-SHA-256 or PLAIN.
 */
export function saslFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSasl | undefined {
  const username = env.KAFKA_SOURCE_USERNAME;
  if (!username) return undefined;
  const m = env.KAFKA_SOURCE_SASL_MECHANISM || 'SCRAM-SHA-512';
  const mechanism = MECHANISMS[m.toUpperCase()];
  if (!mechanism) throw new OpsError(`KAFKA_SOURCE_SASL_MECHANISM: ${JSON.stringify(m)} is invalid; expected one of ${Object.keys(MECHANISMS).join(', ')}`);
  return { mechanism, username, password: env.KAFKA_SOURCE_PASSWORD ?? '' };
}

/** TLS settings of the Kafka client: the certificate authorities it trusts. */
export interface KafkaTlsOptions {
  readonly ca: Buffer[];
}

/**
 * TLS trusting the certificate authorities of a PEM file (--kafka-ca-file; the charts mount it
 * from the pipeline's KafkaTls Secret and set KAFKA_SOURCE_CA_FILE), else undefined: without
 * it TLS trusts Node's built-in authorities only.
 */
export function tlsFromFile(file: string | undefined): KafkaTlsOptions | undefined {
  if (!file) return undefined;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (e: any) {
    throw new OpsError(`--kafka-ca-file: ${JSON.stringify(file)} cannot be read (${e.code ?? e.message}); expected a PEM certificate file`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new OpsError(`--kafka-ca-file: ${JSON.stringify(file)} holds no PEM certificate; expected "-----BEGIN CERTIFICATE-----" blocks`);
  }
  return { ca: [pem] };
}

/** Checks a bootstrap list: host:port[,host:port...]. */
export function checkBootstrap(field: string, v: string): string[] {
  const brokers = v.split(',').map((b) => b.trim());
  for (const b of brokers) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new OpsError(`--${field}: ${JSON.stringify(v)} is invalid; expected host:port[,host:port...]`);
    }
  }
  return brokers;
}

/** Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..". */
export function checkTopic(field: string, v: string): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(v) || v === '.' || v === '..') {
    throw new OpsError(`--${field}: ${JSON.stringify(v)} is not a valid Kafka topic name; expected 1 to 249 of a-z A-Z 0-9 . _ -`);
  }
  return v;
}

/**
 * A quiet kafkajs client whose connections and requests are bounded: connecting gives up
 * after `connectionTimeout`, each request after `requestTimeout`, and retries are few and short
 * so that an unreachable broker fails well within the command's --timeout.
 */
export function kafkaClient(clientId: string, brokers: string[], timeoutMs: number, sasl?: KafkaSasl, tls?: KafkaTlsOptions): Kafka {
  return new Kafka(kafkaConfig(clientId, brokers, timeoutMs, sasl, tls));
}

/** The configuration of `kafkaClient`. */
export function kafkaConfig(clientId: string, brokers: string[], timeoutMs: number, sasl?: KafkaSasl, tls?: KafkaTlsOptions): KafkaConfig {
  return {
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.max(500, Math.min(5000, Math.floor(timeoutMs / 4))),
    requestTimeout: Math.max(1000, Math.min(15_000, Math.floor(timeoutMs / 2))),
    enforceRequestTimeout: true,
    retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 2000 },
    // SASL always over TLS; TLS alone (SSL) when a CA is given.
    ...(sasl || tls ? { ssl: tls ? { ca: tls.ca } : true } : {}),
    ...(sasl ? { sasl } as Partial<KafkaConfig> : {}),
  };
}

/** One line for a kafkajs failure: the innermost message (retries wrap the cause). */
export function kafkaReason(e: unknown): string {
  let cur: any = e;
  for (let i = 0; i < 5 && cur?.originalError; i++) cur = cur.originalError;
  const parts: string[] = [];
  if (Array.isArray(cur?.errors) && cur.errors.length) {
    for (const x of cur.errors) parts.push(`${x.topic ? `${x.topic}: ` : ''}${x.message ?? String(x)}`);
  } else {
    parts.push(cur?.message ?? String(cur));
  }
  return parts.join('; ').split('\n')[0];
}

/** Runs `fn` and fails with `onTimeout()` once `timeoutMs` has passed; `cleanup` runs either way (bounded too). */
export async function bounded<T>(timeoutMs: number, fn: () => Promise<T>, onTimeout: () => Error, cleanup?: () => Promise<unknown>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), timeoutMs); });
  try {
    return await Promise.race([fn(), expired]);
  } finally {
    clearTimeout(timer);
    if (cleanup) {
      let t2: NodeJS.Timeout | undefined;
      await Promise.race([cleanup().catch(() => undefined), new Promise((r) => { t2 = setTimeout(r, 1000); })]);
      clearTimeout(t2);
    }
  }
}
