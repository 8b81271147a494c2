// read_committed as Kafka's Java consumer does it, installed before kafkajs loads
import './read-committed';
import { randomUUID } from 'crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { OpsError, sleep } from './errors';
import { FlinkRest } from './flink-rest';
import { KafkaSasl, KafkaTlsOptions } from './kafka';

export interface SmokeOptions {
  readonly jobName: string;
  readonly requireCheckpoint: boolean;
  readonly timeoutMs: number;
  /** A marker record sent through the job: source topic in, sink topic out (read_committed). */
  readonly kafka?: { bootstrap: string; sourceTopic: string; sinkTopic: string; marker: Record<string, unknown>; idField: string; sasl?: KafkaSasl; tls?: KafkaTlsOptions };
  readonly log: (msg: string) => void;
}

/** What `helm test` proves: the REST API answers, the job runs, checkpoints complete, a marker goes through. */
export async function smoke(rest: FlinkRest, o: SmokeOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const jobs = await rest.jobs();
  const job = jobs.find((j) => j.name === o.jobName && j.state === 'RUNNING');
  if (!job) {
    throw new OpsError(`job "${o.jobName}" is not RUNNING (jobs: ${jobs.map((j) => `${j.name}=${j.state}`).join(', ') || 'none'})`);
  }
  o.log(`job ${job.jid} "${job.name}" is RUNNING`);
  if (o.requireCheckpoint) {
    for (;;) {
      const c = await rest.checkpoints(job.jid);
      if (c.completed > 0) { o.log(`checkpoints: ${c.completed} completed, ${c.failed} failed; latest ${c.lastPath ?? '?'}`); break; }
      if (Date.now() > deadline) throw new OpsError(`job ${job.jid}: no checkpoint completed within ${Math.round(o.timeoutMs / 1000)}s (${c.failed} failed)`);
      await sleep(2000);
    }
  }
  if (!o.kafka) return;
  const k = o.kafka;
  const id = `cdk8s-flink-smoke-${randomUUID()}`;
  const kafka = new Kafka({
    clientId: 'cdk8s-flink-smoke', brokers: k.bootstrap.split(','), logLevel: logLevel.NOTHING,
    ...(k.sasl || k.tls ? { ssl: k.tls ? { ca: k.tls.ca } : true } : {}),
    ...(k.sasl ? { sasl: k.sasl } : {}),
  } as any);
  const consumer = kafka.consumer({ groupId: `cdk8s-flink-smoke-${id}`, readUncommitted: false });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  let seen = false;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: k.sinkTopic, fromBeginning: false });
    await consumer.run({ eachMessage: async ({ message }) => { if (message.value?.toString().includes(id)) seen = true; } });
    await sleep(2000);
    await producer.connect();
    await producer.send({ topic: k.sourceTopic, messages: [{ value: JSON.stringify({ ...k.marker, [k.idField]: id }) }] });
    o.log(`marker ${id} sent to ${k.sourceTopic}; waiting for it in ${k.sinkTopic} (read_committed)`);
    while (!seen && Date.now() < deadline) await sleep(1000);
  } finally {
    await Promise.allSettled([producer.disconnect(), consumer.disconnect()]);
  }
  if (!seen) throw new OpsError(`marker ${id} did not arrive in ${k.sinkTopic} within ${Math.round(o.timeoutMs / 1000)}s`);
  o.log('marker arrived: records flow end to end');
}
