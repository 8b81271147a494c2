/**
 * How the pipelines' Kafka clients connect: SASL credentials from Secrets and the certificate
 * authority they trust, as the SQL connector's properties and the pods' volumes.
 */
import { createHash } from 'crypto';
import { Tpl } from '../chart-value';
import { EnvValue, ExtraVolume, VolumeSource } from '../cluster/options';
import { checkDataKey, checkObjectName, ValidationError } from '../errors';

/** How the pipeline authenticates to Kafka. The password always comes from a Secret. */
export class KafkaCredentials {
  /** SASL/SCRAM-SHA-512 over TLS, user name and password from a Secret. */
  public static scram(secretName: string, usernameKey = 'username', passwordKey = 'password'): KafkaCredentials {
    checkObjectName('KafkaCredentials.scram secretName', secretName);
    checkDataKey('KafkaCredentials.scram usernameKey', usernameKey);
    checkDataKey('KafkaCredentials.scram passwordKey', passwordKey);
    return new KafkaCredentials('SCRAM-SHA-512', 'org.apache.kafka.common.security.scram.ScramLoginModule', secretName, usernameKey, passwordKey);
  }
  /** SASL/PLAIN over TLS, user name and password from a Secret. */
  public static plain(secretName: string, usernameKey = 'username', passwordKey = 'password'): KafkaCredentials {
    checkObjectName('KafkaCredentials.plain secretName', secretName);
    checkDataKey('KafkaCredentials.plain usernameKey', usernameKey);
    checkDataKey('KafkaCredentials.plain passwordKey', passwordKey);
    return new KafkaCredentials('PLAIN', 'org.apache.kafka.common.security.plain.PlainLoginModule', secretName, usernameKey, passwordKey);
  }
  private constructor(
    public readonly mechanism: string,
    private readonly loginModule: string,
    public readonly secretName: string,
    private readonly usernameKey: string,
    private readonly passwordKey: string,
  ) {}

  /** Environment variables the containers get from the Secret. @internal */
  public _env(prefix: string): Record<string, EnvValue> {
    return {
      [`${prefix}_USERNAME`]: EnvValue.fromSecret(this.secretName, this.usernameKey),
      [`${prefix}_PASSWORD`]: EnvValue.fromSecret(this.secretName, this.passwordKey),
    };
  }

  /** Kafka client properties; `${env:...}` is filled in by the SQL runner at start. @internal */
  public _properties(prefix: string): Record<string, string> {
    return {
      'properties.security.protocol': 'SASL_SSL',
      'properties.sasl.mechanism': this.mechanism,
      'properties.sasl.jaas.config': `${this.loginModule} required username="\${env:${prefix}_USERNAME}" password="\${env:${prefix}_PASSWORD}";`,
    };
  }
}

/** Where the Kafka certificate authorities are mounted in the job's and the hooks' containers. */
export const KAFKA_CA_DIR = '/etc/kafka-ca';

/** The volume sources KafkaTls.volume() made, with their CA. */
const CA_SOURCES = new WeakMap<VolumeSource, KafkaTls>();

/**
 * The certificate authority a TLS connection to Kafka trusts: a PEM certificate (or bundle)
 * from a Secret, mounted read-only into the JobManager, TaskManager and hook containers. Without
 * it the clients trust only the image's system store, which a private CA is not in.
 */
export class KafkaTls {
  /** The CA certificate(s), PEM, under `key` of Secret `secretName`. */
  public static caFromSecret(secretName: string, key = 'ca.crt'): KafkaTls {
    checkObjectName('KafkaTls.caFromSecret secretName', secretName);
    checkDataKey('KafkaTls.caFromSecret key', key);
    return new KafkaTls(secretName, key);
  }
  /** The pod volume's name, `kafka-ca-<hash of the Secret and key>`. */
  public readonly volumeName: string;
  private constructor(public readonly secretName: string, public readonly key: string) {
    this.volumeName = `kafka-ca-${createHash('sha256').update(`${secretName}/${key}`).digest('hex').slice(0, 10)}`;
  }
  /** The PEM file in the containers. */
  public get caFile(): string {
    return `${KAFKA_CA_DIR}/${this.volumeName}/ca.pem`;
  }
  /** The read-only volume holding only this key of the Secret (for a session cluster running the job). */
  public volume(): ExtraVolume {
    const source = VolumeSource.secret(this.secretName, { [this.key]: 'ca.pem' });
    source._chartForm = () => this._chartVolume();
    CA_SOURCES.set(source, this);
    return { name: this.volumeName, mountPath: `${KAFKA_CA_DIR}/${this.volumeName}`, source, readOnly: true };
  }
  /** The pod volume in a chart: its Secret name and key from the values `kafkaTls.<volume>`. @internal */
  public _chartVolume(): Record<string, unknown> {
    const at = `(index .Values.kafkaTls ${JSON.stringify(this.volumeName)})`;
    return { name: this.volumeName, secret: { secretName: Tpl.scalar(`{{ ${at}.secretName | quote }}`), items: [{ key: Tpl.scalar(`{{ ${at}.key | quote }}`), path: 'ca.pem' }] } };
  }
  /**
   * The CA a volume declares: the one whose volume() made it (by the identity of its source,
   * under the CA's volume name), else undefined, whatever the volume is named. @internal
   */
  public static _declaredBy(volume: ExtraVolume): KafkaTls | undefined {
    const tls = CA_SOURCES.get(volume.source);
    return tls && volume.name === tls.volumeName ? tls : undefined;
  }
}

export interface KafkaConnection {
  /** `host:port[,host:port]`. */
  readonly bootstrapServers: string;
  /** SASL over TLS. @default - none (unauthenticated) */
  readonly credentials?: KafkaCredentials;
  /**
   * TLS trusting this certificate authority (with `credentials`: SASL_SSL, else SSL).
   * @default - TLS with the image's system trust store when `credentials` are set, else plaintext
   */
  readonly tls?: KafkaTls;
}

/** The security properties of a Kafka table: SASL (`${env:<prefix>_...}`) and the trusted CA. @internal */
export function kafkaSecurity(c: KafkaConnection, prefix: string): Record<string, string> {
  return {
    ...(c.tls && !c.credentials ? { 'properties.security.protocol': 'SSL' } : {}),
    ...(c.credentials ? c.credentials._properties(prefix) : {}),
    ...(c.tls ? { 'properties.ssl.truststore.type': 'PEM', 'properties.ssl.truststore.location': c.tls.caFile } : {}),
  };
}

export function checkTls(field: string, t: unknown): void {
  if (t !== undefined && !(t instanceof KafkaTls)) throw new ValidationError(field, t, 'is invalid; expected KafkaTls.caFromSecret(secretName, key)');
}
