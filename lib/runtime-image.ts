/**
 * What a Flink image serves: the storage schemes of the URIs Flink writes to (checkpoints,
 * savepoints, HA metadata, file sinks) and the table connectors of its jobs' SQL. The
 * toolkit's runtime images declare theirs in runtime/artifacts.json (one declaration, from
 * which the Dockerfiles and the local test homes are made too); a user's own image declares
 * what it adds. A definition that needs what its image does not serve is refused at synth.
 */
import artifacts from '../runtime/artifacts.json';
import { EnvValue } from './cluster/options';
import { FlinkConfigValue } from './config/flink-configuration';
import { FlinkVersion } from './config/flink-version';
import { checkDataKey, checkObjectName, describe, HTTP_ENDPOINT, S3_REGION, ValidationError } from './errors';
import type { BoundJob } from './job-source';

/** What an image serves beyond what it builds on. */
export interface ImageCapabilities {
  /** URI schemes Flink can read and write, e.g. `gs` (a file system plugin). @default - none */
  readonly schemes?: string[];
  /** Table connectors, as the SQL `'connector'` option names them, e.g. `jdbc`. @default - none */
  readonly connectors?: string[];
  /**
   * The image has a Python interpreter with the `apache-flink` package of its Flink version,
   * which `JobSource.python` jobs need.
   * @default - as `base`; false for the official and the cdk8s-flink images
   */
  readonly python?: boolean;
}

export interface CustomImageOptions extends ImageCapabilities {
  /**
   * The image it is built from; it serves what that one serves plus `schemes` and `connectors`.
   * @default - the official Flink image: Flink's own `file://` file system and built-in connectors
   */
  readonly base?: RuntimeImage;
}

interface Serves { schemes?: string[]; connectors?: string[] }
interface ArtifactsDeclaration {
  distribution: Required<Serves>;
  lines: Record<string, {
    flinkVersion: string;
    lib: Array<{ maven?: string; serves?: Serves }>;
    usrlib: Array<{ serves?: Serves }>;
    plugins: Array<{ name: string; serves?: Serves }>;
    lacks?: Record<string, string>;
  }>;
}
const DECLARED = artifacts as unknown as ArtifactsDeclaration;

const SCHEME = /^[a-z][a-z0-9+.-]*$/;
const CONNECTOR = /^[a-z][a-z0-9._-]*$/;

/** The Flink lines the toolkit builds runtime images for (runtime/artifacts.json), e.g. ["1.20", "2.2"]. */
export const RUNTIME_IMAGE_LINES: readonly string[] = Object.keys(DECLARED.lines).sort();

/** What the toolkit's runtime image of a line serves: the distribution plus every entry's `serves`. */
export function runtimeLineServes(line: string): { schemes: string[]; connectors: string[]; lacks: Record<string, string> } {
  const l = DECLARED.lines[line];
  if (!l) throw new Error(`runtime/artifacts.json has no line '${line}'`);
  const entries: Array<{ serves?: Serves }> = [...l.lib, ...l.usrlib, ...l.plugins];
  const union = (k: keyof Serves) => [...new Set([...DECLARED.distribution[k], ...entries.flatMap((e) => e.serves?.[k] ?? [])])].sort();
  return { schemes: union('schemes'), connectors: union('connectors'), lacks: { ...(l.lacks ?? {}) } };
}

function checkList(field: string, list: unknown, pattern: RegExp, example: string): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && pattern.test(s))) {
    throw new ValidationError(field, list, `is invalid; expected a list of lower-case names such as ${example}`);
  }
  return list;
}

/**
 * A container image for the JobManager and TaskManagers, with what it serves. Pass one as
 * `image` and the toolkit refuses, at synth, a checkpoint, savepoint or HA directory whose
 * scheme, or a job whose connector, the image cannot serve. (A plain string `image` is taken
 * as it is: the toolkit does not know what it carries and checks nothing.)
 */
export class RuntimeImage {
  /** The official Flink image of the version (`flink:<version>-java17`): `file://` and Flink's built-in connectors only. */
  public static official(version: FlinkVersion): RuntimeImage {
    const d = DECLARED.distribution;
    return new RuntimeImage(version.defaultImage, `the official Flink ${version.line} image`, d.schemes, d.connectors, {}, version.line);
  }

  /**
   * The cdk8s-flink runtime image of the version's line, built from runtime/images/flink-<line>
   * and pushed as `reference`: the official image plus what runtime/artifacts.json lists (the
   * Kafka and, where Maven Central has one, Elasticsearch connectors; Hadoop's client for
   * `hdfs://`; the S3 file system plugin for `s3://`; the SQL runner).
   */
  public static cdk8sFlink(reference: string, version: FlinkVersion): RuntimeImage {
    if (!(version instanceof FlinkVersion)) throw new ValidationError('RuntimeImage.cdk8sFlink version', version, 'is invalid; expected a FlinkVersion');
    if (!RUNTIME_IMAGE_LINES.includes(version.line)) {
      throw new ValidationError('RuntimeImage.cdk8sFlink version', version.toString(), `has no cdk8s-flink runtime image; expected a Flink line of runtime/artifacts.json: ${RUNTIME_IMAGE_LINES.join(', ')}`);
    }
    const s = runtimeLineServes(version.line);
    return new RuntimeImage(reference, `the cdk8s-flink runtime image for Flink ${version.line}`, s.schemes, s.connectors, s.lacks, version.line);
  }

  /** A user's own image: what `base` serves plus the schemes and connectors it adds. */
  public static custom(reference: string, options: CustomImageOptions = {}): RuntimeImage {
    const base = options.base;
    if (base !== undefined && !(base instanceof RuntimeImage)) {
      throw new ValidationError('RuntimeImage.custom base', base, 'is invalid; expected a RuntimeImage, e.g. RuntimeImage.cdk8sFlink(...)');
    }
    const schemes = checkList('RuntimeImage.custom schemes', options.schemes, SCHEME, '["gs"]');
    const connectors = checkList('RuntimeImage.custom connectors', options.connectors, CONNECTOR, '["jdbc"]');
    if (options.python !== undefined && typeof options.python !== 'boolean') {
      throw new ValidationError('RuntimeImage.custom python', options.python, 'is invalid; expected true (the image has Python with apache-flink) or false');
    }
    const d = DECLARED.distribution;
    const python = options.python ?? base?.python ?? false;
    const added = [...schemes, ...connectors, ...(python && !base?.python ? ['Python'] : [])];
    return new RuntimeImage(reference,
      `a custom image${base ? ` built on ${base.description}` : ''}${added.length ? ` adding ${added.join(', ')}` : ''}`,
      [...new Set([...(base?.schemes ?? d.schemes), ...schemes])].sort(),
      [...new Set([...(base?.connectors ?? d.connectors), ...connectors])].sort(),
      Object.fromEntries(Object.entries(base?.lacks ?? {}).filter(([k]) => !added.includes(k))),
      base?.line, python);
  }

  private constructor(
    /** The image reference the pods run. */
    public readonly reference: string,
    /** What the image is, for messages. */
    public readonly description: string,
    /** The URI schemes it serves. */
    public readonly schemes: readonly string[],
    /** The table connectors it serves. */
    public readonly connectors: readonly string[],
    private readonly lacks: Readonly<Record<string, string>>,
    /** The Flink line it is made for, when known. */
    public readonly line?: string,
    /** It has Python with apache-flink (`JobSource.python`). */
    public readonly python: boolean = false,
  ) {}

  /** Refuses a Python job on an image without Python. @internal */
  public _requirePython(field: string, version: FlinkVersion): void {
    if (this.python) return;
    throw new ValidationError(field, 'JobSource.python', `needs Python with apache-flink ${version} in the image, which image ${describe(this.reference)} (${this.description}) does not have; expected an image that adds them: RuntimeImage.custom(reference, { base, python: true })`);
  }

  /** Refuses a URI whose scheme the image does not serve. @internal */
  public _requireScheme(field: string, uri: string): void {
    const scheme = uri.slice(0, uri.indexOf(':'));
    if (this.schemes.includes(scheme)) return;
    throw new ValidationError(field, uri, `has scheme ${scheme}, which image ${describe(this.reference)} (${this.description}) does not serve${this.why(scheme)}; expected one of ${this.schemes.join(', ')}, or an image that adds it: RuntimeImage.custom(reference, { schemes: ["${scheme}"] })`);
  }

  /** Refuses a table connector the image does not serve. @internal */
  public _requireConnector(field: string, connector: string): void {
    if (this.connectors.includes(connector)) return;
    throw new ValidationError(field, connector, `is a connector that image ${describe(this.reference)} (${this.description}) does not serve${this.why(connector)}; expected one of ${this.connectors.join(', ')}, or an image that adds it: RuntimeImage.custom(reference, { connectors: ["${connector}"] })`);
  }

  private why(what: string): string {
    return this.lacks[what] ? ` (${this.lacks[what]})` : '';
  }
}

/** The reference of an `image` prop. */
export function imageReference(image: string | RuntimeImage | undefined): string | undefined {
  return image instanceof RuntimeImage ? image.reference : image;
}

/** What a cluster stores and where, for the check against its image. */
export interface StorageUris {
  readonly checkpointDirectory?: string;
  readonly savepointDirectory?: string;
  readonly highAvailabilityStorageDir?: string;
  readonly initialSavepointPath?: string;
}

/**
 * Refuses, with one line naming the field, the value and the image, a storage URI whose scheme
 * or a job table whose connector (or file system path) `image` cannot serve, a Python job on an
 * image without Python, and an image made for another Flink line than `version`. Nothing is
 * checked for a plain-string image.
 */
export function checkImageServes(image: RuntimeImage | undefined, version: FlinkVersion, storage: StorageUris, job: Pick<BoundJob, 'sqlScript' | 'python'> = {}, pipeline?: boolean): void {
  if (!image) return;
  if (image.line !== undefined && image.line !== version.line) {
    throw new ValidationError('image', image.reference, `is ${image.description} but flinkVersion is ${version}; expected an image of the ${version.line} line`);
  }
  if (job.python) image._requirePython('job', version);
  const sqlScript = job.sqlScript;
  for (const [field, uri] of Object.entries(storage)) {
    // A value that is no URI is left to the field's own check, which names what is expected.
    if (typeof uri === 'string' && /^[a-z][a-z0-9+.-]*:\/\//.test(uri)) image._requireScheme(field, uri);
  }
  if (sqlScript === undefined) return;
  for (const t of sqlTables(sqlScript)) {
    const field = pipeline ? pipelineField(t.name) : `job.sql table ${t.name}`;
    if (t.connector !== undefined) image._requireConnector(`${field} connector`, t.connector);
    if (t.path !== undefined && /^[a-z][a-z0-9+.-]*:/.test(t.path)) image._requireScheme(`${field} path`, t.path);
  }
}

function pipelineField(table: string): string {
  if (table === 'source') return 'pipeline.source';
  const m = /^sink_(\d+)$/.exec(table);
  return m ? `pipeline.sinks[${m[1]}]` : `pipeline table ${table}`;
}

/** The tables a Flink SQL script creates, with their `connector` and `path` options. */
export function sqlTables(script: string): Array<{ name: string; connector?: string; path?: string }> {
  const text = script.replace(/--[^\n]*/g, '');
  const starts = [...text.matchAll(/\bCREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(`(?:[^`]|``)+`|[A-Za-z_][\w.]*)/gi)];
  return starts.map((m, i) => {
    const body = text.slice(m.index!, i + 1 < starts.length ? starts[i + 1].index : text.length);
    const option = (key: string) => {
      const o = new RegExp(`'${key}'\\s*=\\s*'((?:[^']|'')*)'`, 'i').exec(body);
      return o ? o[1].replace(/''/g, "'") : undefined;
    };
    return { name: m[1].replace(/^`|`$/g, '').replace(/``/g, '`'), connector: option('connector'), path: option('path') };
  });
}

// ---------------------------------------------------------------------------------------------
// credentials of the storage

export interface S3CredentialsProps {
  /** The Secret holding the access key pair. */
  readonly secretName: string;
  /** @default 'access-key' */
  readonly accessKeyKey?: string;
  /** @default 'secret-key' */
  readonly secretKeyKey?: string;
  /** An S3-compatible endpoint (`s3.endpoint`), e.g. `http://minio.storage.svc:9000`. @default - AWS */
  readonly endpoint?: string;
  /** Path-style bucket addressing (`s3.path.style.access`), which most S3-compatible servers need. @default - false (virtual-host style) */
  readonly pathStyleAccess?: boolean;
  /**
   * The region of the buckets: Hadoop S3A's `fs.s3a.endpoint.region` (which Flink's S3 file
   * system passes on), and the region an `s3://` job jar's fetch signs its request for.
   * @default - the S3 client's own resolution (the fetch: us-east-1)
   */
  readonly region?: string;
}

/** Where an S3 store is, for credentials that come from the pod's identity (no Secret). */
export interface S3WebIdentityProps {
  /** An S3-compatible endpoint (`s3.endpoint`). @default - AWS */
  readonly endpoint?: string;
  /** Path-style bucket addressing (`s3.path.style.access`). @default - false (virtual-host style) */
  readonly pathStyleAccess?: boolean;
  /** The region of the buckets (`fs.s3a.endpoint.region`; the region a job jar's fetch signs for). @default - the S3 client's own resolution (the fetch: us-east-1) */
  readonly region?: string;
}

/** The Hadoop S3A credentials provider (AWS SDK v1, in flink-s3-fs-hadoop 1.20 and 2.2) that reads a web identity. */
export const S3A_WEB_IDENTITY_PROVIDER = 'com.amazonaws.auth.WebIdentityTokenCredentialsProvider';

/** The Flink configuration and fetch options of where an S3 store is (endpoint, path style, region), checked. */
function s3Location(what: string, props: S3WebIdentityProps): { config: Record<string, FlinkConfigValue>; fetchArgs: string[] } {
  const config: Record<string, FlinkConfigValue> = {};
  if (props.endpoint !== undefined) {
    if (typeof props.endpoint !== 'string' || !HTTP_ENDPOINT.test(props.endpoint)) {
      throw new ValidationError(`${what} endpoint`, props.endpoint, 'is invalid; expected an http(s) URL without user or password, such as "http://minio.storage.svc:9000" (credentials never go in the URL)');
    }
    config['s3.endpoint'] = props.endpoint;
  }
  if (props.pathStyleAccess !== undefined) {
    if (typeof props.pathStyleAccess !== 'boolean') throw new ValidationError(`${what} pathStyleAccess`, props.pathStyleAccess, 'is invalid; expected true or false');
    config['s3.path.style.access'] = props.pathStyleAccess;
  }
  if (props.region !== undefined) {
    if (typeof props.region !== 'string' || !S3_REGION.test(props.region)) {
      throw new ValidationError(`${what} region`, props.region, 'is not a region; expected lower-case letters, digits and "-", such as "eu-west-1"');
    }
    config['fs.s3a.endpoint.region'] = props.region;
  }
  const fetchArgs = [
    ...(props.endpoint !== undefined ? ['--s3-endpoint', props.endpoint] : []),
    ...(props.pathStyleAccess === true ? ['--s3-path-style'] : []),
    ...(props.region !== undefined ? ['--s3-region', props.region] : []),
  ];
  return { config, fetchArgs };
}

/**
 * Credentials of a cluster's storage. Secrets reach the containers only as environment
 * variables from Kubernetes Secrets, never through the ConfigMap that carries the Flink
 * configuration.
 */
export class StorageCredentials {
  /**
   * S3 access keys from a Secret, as `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`: the S3
   * file system (flink-s3-fs-hadoop, Hadoop's S3A) finds them through its default credential
   * chain, so `s3.access-key` and `s3.secret-key` are never written into the configuration.
   * The endpoint and path-style access are not secret: they become `s3.endpoint` and
   * `s3.path.style.access`.
   */
  public static s3(props: S3CredentialsProps): StorageCredentials {
    if (typeof props !== 'object' || props === null) throw new ValidationError('StorageCredentials.s3', props, 'is invalid; expected { secretName, accessKeyKey?, secretKeyKey?, endpoint?, pathStyleAccess?, region? }');
    const secret = checkObjectName('StorageCredentials.s3 secretName', props.secretName);
    const env = {
      AWS_ACCESS_KEY_ID: EnvValue.fromSecret(secret, checkDataKey('StorageCredentials.s3 accessKeyKey', props.accessKeyKey ?? 'access-key')),
      AWS_SECRET_ACCESS_KEY: EnvValue.fromSecret(secret, checkDataKey('StorageCredentials.s3 secretKeyKey', props.secretKeyKey ?? 'secret-key')),
    };
    const { config, fetchArgs } = s3Location('StorageCredentials.s3', props);
    // The fetch of an s3:// job jar reaches the same store with the same keys.
    return new StorageCredentials('s3', env, config, fetchArgs);
  }

  /**
   * S3 with the pods' own identity instead of keys: EKS's IAM roles for service accounts (annotate
   * the ServiceAccount with `eks.amazonaws.com/role-arn`, see `serviceAccount`), whose webhook
   * gives every container `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`. No Secret is
   * referenced. Flink's S3 file system is set to Hadoop S3A's web-identity provider
   * (`fs.s3a.aws.credentials.provider`); the fetch of an `s3://` job jar exchanges the token at
   * STS (`AssumeRoleWithWebIdentity`) for temporary keys.
   */
  public static s3WebIdentity(props: S3WebIdentityProps = {}): StorageCredentials {
    if (typeof props !== 'object' || props === null) throw new ValidationError('StorageCredentials.s3WebIdentity', props, 'is invalid; expected { endpoint?, pathStyleAccess?, region? }');
    const { config, fetchArgs } = s3Location('StorageCredentials.s3WebIdentity', props);
    return new StorageCredentials('s3', {}, { ...config, 'fs.s3a.aws.credentials.provider': S3A_WEB_IDENTITY_PROVIDER }, fetchArgs);
  }

  /**
   * The user HDFS sees under simple authentication (no Kerberos): `HADOOP_USER_NAME`, a plain
   * value or from a Secret. Without it Hadoop's client uses the process user (`flink` in the image).
   */
  public static hdfsUser(user: string | EnvValue): StorageCredentials {
    if (typeof user === 'string' && !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(user)) {
      throw new ValidationError('StorageCredentials.hdfsUser user', user, 'is not a user name; expected letters, digits, "_", "." or "-"');
    }
    return new StorageCredentials('hdfs', { HADOOP_USER_NAME: typeof user === 'string' ? EnvValue.fromValue(user) : user }, {});
  }

  private constructor(
    /** The scheme these credentials are for. */
    public readonly scheme: string,
    private readonly env: Record<string, EnvValue>,
    private readonly config: Record<string, FlinkConfigValue>,
    /** The options of the operations tool's S3 reads (`s3` only). */
    private readonly s3FetchArgs?: string[],
  ) {}

  /**
   * What the fetch of the `s3://` job jar `uri` takes from a cluster's credentials: those of its
   * `StorageCredentials.s3`, which it requires. @internal
   */
  public static _s3FetchOf(uri: string, creds: readonly StorageCredentials[] | undefined): { env: Record<string, EnvValue>; args: string[] } {
    const s3 = Array.isArray(creds) ? creds.map((c) => (c instanceof StorageCredentials ? c._s3Fetch() : undefined)).find((x) => x !== undefined) : undefined;
    if (!s3) {
      throw new ValidationError('job.jarFile', uri, 'is an S3 URI and storageCredentials has no StorageCredentials.s3(...) or s3WebIdentity(...); expected one: the jar is fetched with its credentials, endpoint and region');
    }
    return s3;
  }

  /**
   * What the fetch of an `s3://` job jar (the operations image's `fetch-artifact`) needs from
   * these credentials: the keys as environment from the Secret, and the endpoint, path style and
   * region as its options; undefined for credentials of another scheme. @internal
   */
  public _s3Fetch(): { env: Record<string, EnvValue>; args: string[] } | undefined {
    return this.s3FetchArgs ? { env: { ...this.env }, args: [...this.s3FetchArgs] } : undefined;
  }

  /**
   * Props with the credentials' environment and configuration added; refuses a name the
   * props already set. @internal
   */
  public static _apply<P extends { env?: Record<string, EnvValue>; flinkConfiguration?: Record<string, FlinkConfigValue>; storageCredentials?: StorageCredentials[] }>(props: P): P {
    const creds = props.storageCredentials ?? [];
    if (!Array.isArray(creds) || !creds.every((c) => c instanceof StorageCredentials)) {
      throw new ValidationError('storageCredentials', creds, 'is invalid; expected a list of StorageCredentials.s3(...), StorageCredentials.s3WebIdentity(...) or StorageCredentials.hdfsUser(...)');
    }
    if (creds.length === 0) return props;
    const env: Record<string, EnvValue> = {};
    const config: Record<string, FlinkConfigValue> = {};
    for (const c of creds) {
      for (const k of Object.keys(c.env)) {
        if (k in env || (props.env && k in props.env)) throw new ValidationError('storageCredentials', c.scheme, `sets ${k}, which ${k in env ? 'other storage credentials' : 'env'} already set; expected one source per variable`);
        env[k] = c.env[k];
      }
      for (const k of Object.keys(c.config)) {
        if (k in config || (props.flinkConfiguration && k in props.flinkConfiguration)) throw new ValidationError('storageCredentials', c.scheme, `sets ${k}, which flinkConfiguration already sets; expected one source per key`);
        config[k] = c.config[k];
      }
    }
    return { ...props, env: { ...env, ...props.env }, flinkConfiguration: { ...config, ...props.flinkConfiguration } };
  }
}
