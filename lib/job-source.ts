import { checkDataKey, checkInt, checkObjectName, redactUrl, S3_BUCKET, ValidationError } from './errors';
import { JOB_FILES_DIR } from './cluster/flink-cluster';
import { JAR_CA_DIR, JAR_CA_VOLUME } from './cluster/layout';
import { EnvValue, ExtraVolume } from './cluster/options';
import { FlinkVersion } from './config/flink-version';
import { LogPipeline } from './pipeline/pipeline';
import { envReferences } from './pipeline/sql-check';

/** The entry class of the SQL runner in the toolkit's runtime image. */
export const SQL_RUNNER_CLASS = 'org.cdk8sflink.runner.SqlRunner';

export interface JarJobOptions {
  /**
   * The job's main class.
   * @default - the `Main-Class` (or `program-class`) of the jar's manifest; required without `jarFile`
   */
  readonly entryClass?: string;
  /**
   * Where the job's jar is, as a URI:
   * - `local:///opt/flink/usrlib/job.jar`: in the Flink image (application mode); Flink's
   *   standalone entry point runs it with `--jars`. A plain absolute path means the same.
   * - `file:///path/job.jar`: application mode, as `local://`; a session job, in the
   *   operations image, whose submitter uploads it.
   * - `https://host/path/job.jar`: fetched with `jarSha256` checked; in application mode by an
   *   init container of the JobManager pod (the operations image's `fetch-artifact`) into an
   *   emptyDir at /opt/flink/artifacts, for a session job by the submitter.
   * - `s3://bucket/key.jar`: fetched as an https jar is (init container or submitter), signed
   *   with the keys (from their Secret), endpoint, path style and region of the cluster's
   *   `StorageCredentials.s3`, which it requires (a session job: the session cluster's).
   * `http://` (no TLS) is refused, and so are `s3a://` and `s3p://` (write `s3://`).
   * @default - application mode: the jars of /opt/flink/usrlib on the classpath (entryClass required)
   */
  readonly jarFile?: string;
  /**
   * The sha256 of an https or s3 jar (64 hex digits): the fetch refuses a jar with another digest, and
   * the job does not start.
   * @default - not checked
   */
  readonly jarSha256?: string;
  /**
   * A private certificate authority (PEM, in a key of a Secret) to trust for an https or s3 jar,
   * on top of the public ones: for an artifact server or object store whose certificate an
   * in-house authority signed. The fetching container (the JobManager's init container, or a
   * session job's submitter) mounts that key read-only and reads it through NODE_EXTRA_CA_CERTS;
   * no other container sees it.
   * @default - the operations image's trust store
   */
  readonly jarCaSecret?: JarCaSecret;
  /** Program arguments. @default - none */
  readonly args?: string[];
}

/**
 * What a container that fetches a jar needs to trust its private authority: the Secret's key
 * mounted read-only under JAR_CA_DIR and NODE_EXTRA_CA_CERTS naming it (Node reads it at start).
 */
export function jarCaTrust(ca: { readonly secretName: string; readonly key: string }): { env: { name: string; value: string }; volumeMount: Record<string, unknown>; volume: Record<string, unknown> } {
  return {
    env: { name: 'NODE_EXTRA_CA_CERTS', value: `${JAR_CA_DIR}/${ca.key}` },
    volumeMount: { name: JAR_CA_VOLUME, mountPath: JAR_CA_DIR, readOnly: true },
    volume: { name: JAR_CA_VOLUME, secret: { secretName: ca.secretName, items: [{ key: ca.key, path: ca.key }] } },
  };
}

/**
 * The environment of the container that fetches a jar: the S3 keys it signs with (sorted by
 * name), then its private authority's NODE_EXTRA_CA_CERTS.
 */
export function jarFetchEnv(jar: JarLocation | undefined, s3?: { env: Record<string, EnvValue> }): Array<Record<string, unknown>> {
  return [
    ...(s3 ? Object.keys(s3.env).sort().map((k) => s3.env[k]._toEnvVar(k)) : []),
    ...(jar?.ca ? [jarCaTrust(jar.ca).env] : []),
  ];
}

/** A certificate authority in a key of a Secret (JarJobOptions.jarCaSecret). */
export interface JarCaSecret {
  readonly secretName: string;
  /** @default "ca.crt" */
  readonly key?: string;
}

/** The class Flink runs a Python job with (from `opt/flink-python-<version>.jar`). */
export const PYTHON_DRIVER_CLASS = 'org.apache.flink.client.python.PythonDriver';

/**
 * A PyFlink job (Table API, SQL or DataStream in Python), run in application mode by Flink's
 * PythonDriver: the JobManager starts the interpreter on the job's script (the client), and the
 * TaskManagers start it for Python functions. The image needs the interpreter with the
 * `apache-flink` package of the cluster's Flink version; declare such an image with
 * `RuntimeImage.custom(reference, { python: true })` and the toolkit checks it at synth.
 * Give exactly one of `script`, `pythonFile` and `module`.
 */
export interface PythonJobOptions {
  /**
   * The job's script itself: written into the job's ConfigMap and run from
   * /opt/flink/job/job.py, so that a change of the script is a change of the release.
   */
  readonly script?: string;
  /** A script in the image, as `local:///opt/flink/usrlib/job.py` or an absolute path. */
  readonly pythonFile?: string;
  /** A module to run (`python -m`), found on the interpreter's path or in `pyFiles`, e.g. `"logs.errors"`. */
  readonly module?: string;
  /** More Python files, folders, .zip or .whl files in the image, put on the job's Python path. @default - none */
  readonly pyFiles?: string[];
  /**
   * The interpreter, in the image: the client's (`-pyclientexec`) and the Python workers'
   * (`python.executable`). An absolute path or a command on the image's PATH.
   * @default "python3"
   */
  readonly pythonExecutable?: string;
  /** Arguments of the script (`sys.argv[1:]`). @default - none */
  readonly args?: string[];
  /** Environment the job's containers need (credentials from Secrets, for example). @default - none */
  readonly env?: Record<string, EnvValue>;
}

/** Where a jar job's jar comes from, parsed from `jarFile`. */
export interface JarLocation {
  /** `image`: a path in the image (`local://`, `file://` or a plain absolute path); `https` and `s3`: fetched. */
  readonly kind: 'image' | 'https' | 's3';
  /** The URI as given. */
  readonly uri: string;
  /** The absolute path, for `image`. */
  readonly path?: string;
  /** The expected sha256 (lower-case hex), for `https` and `s3`. */
  readonly sha256?: string;
  /** A private authority to trust when fetching it (`https` and `s3`). */
  readonly ca?: { readonly secretName: string; readonly key: string };
}

/** A job source bound to its job's name and Flink version. */
export interface BoundJob {
  readonly kind: 'jar' | 'sql';
  /** The main class; undefined for a jar whose manifest names it. */
  readonly entryClass?: string;
  /** The program arguments the job's main class receives. */
  readonly programArgs: string[];
  /** Files the job needs next to it (mounted under /opt/flink/job). */
  readonly files: Record<string, string>;
  /** Environment the job's containers need (credentials from Secrets). */
  readonly env: Record<string, EnvValue>;
  /** Read-only volumes the job's containers need (Kafka certificate authorities from Secrets). */
  readonly volumes: ExtraVolume[];
  readonly jarFile?: string;
  /** Where the jar comes from (jar jobs with a jarFile). */
  readonly jar?: JarLocation;
  readonly sqlScript?: string;
  /**
   * Arguments of the entry class that come before `programArgs` and are no user arguments (a
   * Python job's `-pyclientexec ... -py ...`): charts keep them fixed.
   */
  readonly driverArgs?: string[];
  /** A Python job: its interpreter in the image. */
  readonly python?: { readonly executable: string };
}

/** What a job runs: a jar's main class, SQL, or a typed log pipeline, both executed by the runtime's SQL runner. */
export abstract class JobSource {
  /** A user jar and its main class. */
  public static jar(options: JarJobOptions): JobSource {
    return new JarJobSource(options);
  }

  /**
   * A Flink SQL script (DDL plus INSERT statements, which run as one job) executed by the SQL
   * runner of the toolkit's runtime image. `${env:NAME}` in the script is replaced at start with
   * the container's environment variable NAME, so credentials stay in Secrets.
   */
  public static sql(script: string, env: Record<string, EnvValue> = {}): JobSource {
    return new SqlJobSource(script, env);
  }

  /** A PyFlink job run by Flink's PythonDriver (application mode; the image needs Python and apache-flink). */
  public static python(options: PythonJobOptions): JobSource {
    return new PythonJobSource(options);
  }

  /** A typed log pipeline (Kafka in; filters, enrichment; sinks), rendered to SQL for the job's Flink version. */
  public static pipeline(pipeline: LogPipeline): JobSource {
    if (!(pipeline instanceof LogPipeline)) {
      throw new ValidationError('job', pipeline, 'is invalid; expected a LogPipeline');
    }
    return new SqlJobSource(undefined, undefined, pipeline);
  }

  /** `python` jobs bind as jar jobs of Flink's PythonDriver. */
  public abstract readonly kind: 'jar' | 'sql' | 'python';
  /** The main class; undefined for a jar whose manifest names it. */
  public abstract readonly entryClass?: string;
  /** The pipeline, for jobs declared with `JobSource.pipeline`. */
  public readonly pipeline?: LogPipeline;

  /** The source as it runs for job `name` on `version`. */
  public abstract bind(name: string, version: FlinkVersion): BoundJob;
}

class JarJobSource extends JobSource {
  public readonly kind = 'jar' as const;
  public readonly entryClass?: string;
  private readonly programArgs: string[];
  private readonly jarFile?: string;
  private readonly jar?: JarLocation;
  constructor(o: JarJobOptions) {
    super();
    if (o.entryClass !== undefined) this.entryClass = checkClassName('job.entryClass', o.entryClass);
    if (o.jarFile !== undefined) {
      this.jar = parseJarUri('job.jarFile', o.jarFile, o.jarSha256);
    } else if (o.jarSha256 !== undefined) {
      throw new ValidationError('job.jarSha256', o.jarSha256, 'is set without jarFile; expected it with an https:// or s3:// jarFile');
    }
    if (o.jarCaSecret !== undefined) {
      const ca = o.jarCaSecret;
      if (ca === null || typeof ca !== 'object') throw new ValidationError('job.jarCaSecret', ca, 'is invalid; expected { secretName, key? }');
      if (this.jar?.kind !== 'https' && this.jar?.kind !== 's3') {
        throw new ValidationError('job.jarCaSecret', ca.secretName, `is set for ${o.jarFile === undefined ? 'no jarFile' : `jarFile "${redactUrl(String(o.jarFile))}", which is not fetched`}; expected it with an https:// or s3:// jarFile`);
      }
      this.jar = { ...this.jar, ca: { secretName: checkObjectName('job.jarCaSecret.secretName', ca.secretName), key: checkDataKey('job.jarCaSecret.key', ca.key ?? 'ca.crt') } };
    }
    if (this.entryClass === undefined && this.jar === undefined) {
      throw new ValidationError('job.entryClass', undefined, 'is required without jarFile: the jars of /opt/flink/usrlib name no single main class; expected e.g. "com.example.logs.AccessLogJob", or a jarFile whose manifest names it');
    }
    (o.args ?? []).forEach((a, i) => {
      if (typeof a !== 'string') throw new ValidationError(`job.args[${i}]`, a, 'is invalid; expected a string');
    });
    this.jarFile = o.jarFile;
    this.programArgs = [...(o.args ?? [])];
  }
  public bind(): BoundJob {
    return {
      kind: 'jar', entryClass: this.entryClass, programArgs: this.programArgs, files: {}, env: {}, volumes: [],
      ...(this.jar ? { jarFile: this.jarFile, jar: this.jar } : {}),
    };
  }
}

class PythonJobSource extends JobSource {
  public readonly kind = 'python' as const;
  public readonly entryClass = PYTHON_DRIVER_CLASS;
  private readonly main: string[];
  private readonly script?: string;
  private readonly executable: string;
  private readonly programArgs: string[];
  private readonly jobEnv: Record<string, EnvValue>;
  constructor(o: PythonJobOptions) {
    super();
    if (o === null || typeof o !== 'object') throw new ValidationError('job', o, 'is invalid; expected JobSource.python({ script | pythonFile | module, ... })');
    const given = (['script', 'pythonFile', 'module'] as const).filter((k) => o[k] !== undefined);
    const oneOf = 'expected exactly one of script, pythonFile (a .py file in the image) or module';
    if (given.length === 0) throw new ValidationError('job.script', undefined, `is required: a Python job runs one entry; ${oneOf}`);
    if (given.length > 1) throw new ValidationError(`job.${given[1]}`, o[given[1]], `is set together with ${given[0]}; ${oneOf}`);
    if (o.script !== undefined) {
      if (typeof o.script !== 'string' || !o.script.trim()) throw new ValidationError('job.script', o.script, 'is empty; expected the Python source of the job');
      this.script = o.script.endsWith('\n') ? o.script : o.script + '\n';
      this.main = ['-py', `${JOB_FILES_DIR}/${PYTHON_SCRIPT_FILE}`];
    } else if (o.pythonFile !== undefined) {
      this.main = ['-py', imagePath('job.pythonFile', o.pythonFile, /\.py$/, 'a .py file in the image, e.g. "local:///opt/flink/usrlib/job.py"')];
    } else {
      if (typeof o.module !== 'string' || !PYTHON_MODULE.test(o.module)) {
        throw new ValidationError('job.module', o.module, 'is not a Python module name; expected dotted identifiers such as "logs.errors"');
      }
      this.main = ['-pym', o.module];
    }
    if (!Array.isArray(o.pyFiles ?? [])) throw new ValidationError('job.pyFiles', o.pyFiles, 'is invalid; expected a list of paths in the image');
    const pyFiles = (o.pyFiles ?? []).map((f, i) => imagePath(`job.pyFiles[${i}]`, f, /^[^,]*$/, 'a file or folder in the image without a comma (Flink\'s -pyfs separator), e.g. "/opt/flink/usrlib/lib.zip"'));
    if (pyFiles.length) this.main = [...this.main, '-pyfs', pyFiles.join(',')];
    this.executable = o.pythonExecutable ?? 'python3';
    if (typeof this.executable !== 'string' || !PYTHON_EXECUTABLE.test(this.executable)) {
      throw new ValidationError('job.pythonExecutable', o.pythonExecutable, 'is not an interpreter; expected an absolute path such as "/usr/bin/python3" or a command such as "python3"');
    }
    (o.args ?? []).forEach((a, i) => {
      if (typeof a !== 'string') throw new ValidationError(`job.args[${i}]`, a, 'is invalid; expected a string');
    });
    this.programArgs = [...(o.args ?? [])];
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (!(v instanceof EnvValue)) throw new ValidationError(`job.env.${k}`, v, 'is invalid; expected an EnvValue, e.g. EnvValue.fromSecret("logs-es", "password")');
    }
    this.jobEnv = { ...(o.env ?? {}) };
  }
  public bind(): BoundJob {
    return {
      kind: 'jar', entryClass: PYTHON_DRIVER_CLASS, programArgs: this.programArgs,
      driverArgs: ['-pyclientexec', this.executable, ...this.main],
      files: this.script !== undefined ? { [PYTHON_SCRIPT_FILE]: this.script } : {},
      env: this.jobEnv, volumes: [],
      python: { executable: this.executable },
    };
  }
}

/** The file name of a Python job's inline script under /opt/flink/job. */
export const PYTHON_SCRIPT_FILE = 'job.py';
const PYTHON_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PYTHON_EXECUTABLE = /^(\/[A-Za-z0-9._+-]+)+$|^[A-Za-z0-9._+-]+$/;

/** A path in the image (`local:///p` or `/p`), matching `suffix`; a one-line error otherwise. */
function imagePath(field: string, uri: unknown, suffix: RegExp, expected: string): string {
  const m = typeof uri === 'string' ? /^(?:local:\/\/)?(\/[^\s]*)$/.exec(uri) : null;
  if (!m || !suffix.test(m[1]) || m[1].split('/').slice(1).some((p) => p === '' || p === '.' || p === '..')) {
    throw new ValidationError(field, uri, `is not an absolute path in the image; expected ${expected}`);
  }
  return m[1];
}

const CLASS_NAME = /^([A-Za-z_$][A-Za-z0-9_$]*\.)*[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A Java class name, or a one-line error naming `field`. */
export function checkClassName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !CLASS_NAME.test(name)) {
    throw new ValidationError(field, name, 'is not a Java class name; expected e.g. "com.example.logs.AccessLogJob"');
  }
  return name;
}

/** A sha256 digest: 64 hex digits, returned in lower case. */
export function checkSha256(field: string, digest: unknown): string {
  if (typeof digest !== 'string' || !/^[0-9a-fA-F]{64}$/.test(digest)) {
    throw new ValidationError(field, digest, 'is not a sha256 digest; expected 64 hex digits (sha256sum job.jar)');
  }
  return digest.toLowerCase();
}

/**
 * Parses a jar's location: `local:///p.jar`, `file:///p.jar` or `/p.jar` (a path in an image),
 * `https://host/path` or `s3://bucket/key` (fetched; `sha256` checked). One-line errors for anything else.
 */
export function parseJarUri(field: string, uri: unknown, sha256?: unknown): JarLocation {
  const expected = 'expected local:///path/in/image.jar, file:///path/job.jar, an absolute path, https://host/path/job.jar or s3://bucket/key.jar';
  if (typeof uri !== 'string' || uri === '' || /[\s\x00-\x1f\x7f]/.test(uri)) {
    throw new ValidationError(field, uri, `is not a jar URI; ${expected}`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1].toLowerCase();
  const digest = sha256 === undefined ? undefined : checkSha256('job.jarSha256', sha256);
  if (scheme === undefined || scheme === 'local' || scheme === 'file') {
    const m = scheme === undefined ? /^(\/.*)$/.exec(uri) : /^[a-z]+:\/\/(\/.*)$/i.exec(uri);
    if (!m || !/^(\/[^/]+)+\.jar$/.test(m[1]) || m[1].split('/').some((p) => p === '..' || p === '.')) {
      throw new ValidationError(field, uri, `is not an absolute path to a .jar file${scheme ? ` after ${scheme}://` : ''}; ${expected}`);
    }
    if (digest !== undefined) {
      throw new ValidationError('job.jarSha256', sha256, `is set for ${uri}, a jar in an image (trusted with the image); expected it only with an https:// or s3:// jarFile`);
    }
    return { kind: 'image', uri, path: m[1] };
  }
  if (scheme === 'http') {
    throw new ValidationError(field, redactUrl(uri), 'uses plain http, which anyone on the path can change (the jar is code the cluster runs); expected https://');
  }
  if (scheme === 's3a' || scheme === 's3p') {
    throw new ValidationError(field, uri, `uses scheme "${scheme}", which names a Flink file system, not an S3 object; expected s3://bucket/key.jar`);
  }
  if (scheme === 's3') {
    if (!new RegExp(`^s3://${S3_BUCKET}/`).test(uri)) {
      throw new ValidationError(field, uri, 'does not start with a bucket name (3-63 lower-case letters, digits, "." or "-"); expected s3://bucket/key.jar');
    }
    if (!/^s3:\/\/[^/]+\/\S*[^/\s]$/.test(uri) || uri.split('/').slice(3).some((p) => p === '' || p === '.' || p === '..')) {
      throw new ValidationError(field, uri, 'names no object key (or an empty, "." or ".." part in it); expected s3://bucket/key.jar');
    }
    return { kind: 's3', uri, ...(digest ? { sha256: digest } : {}) };
  }
  if (scheme !== 'https') {
    throw new ValidationError(field, redactUrl(uri), `uses scheme "${scheme}"; ${expected}`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ValidationError(field, uri, `is not a valid URL; ${expected}`);
  }
  if (url.username || url.password) {
    throw new ValidationError(field, redactUrl(uri), 'carries credentials in the URL; expected a URL without user:password@ (a presigned URL carries its own signature)');
  }
  if (url.pathname === '/' || url.pathname.endsWith('/')) {
    throw new ValidationError(field, uri, `names no file; ${expected}`);
  }
  return { kind: 'https', uri, ...(digest ? { sha256: digest } : {}) };
}

class SqlJobSource extends JobSource {
  public readonly kind = 'sql' as const;
  public readonly entryClass = SQL_RUNNER_CLASS;
  /** The script and its env as given (JobSource.sql), or the pipeline that renders both (JobSource.pipeline): data, not closures, so that the job's inputs can be hashed. */
  constructor(
    private readonly script: string | undefined,
    private readonly scriptEnv: Record<string, EnvValue> | undefined,
    public readonly pipeline?: LogPipeline,
  ) {
    super();
    if (!pipeline) checkScript(script);
  }
  public bind(name: string, version: FlinkVersion): BoundJob {
    const script = checkScript(this.pipeline ? this.pipeline.toSql(name, version) : this.script);
    const sqlScript = script.endsWith('\n') ? script : script + '\n';
    return {
      kind: 'sql',
      entryClass: SQL_RUNNER_CLASS,
      programArgs: ['--script', `${JOB_FILES_DIR}/pipeline.sql`],
      files: { 'pipeline.sql': sqlScript },
      env: this.pipeline ? this.pipeline.env(name, version) : this.scriptEnv ?? {},
      volumes: this.pipeline?.volumes() ?? [],
      sqlScript,
    };
  }
}

/** Environment variables every Flink container of the toolkit has. */
export const TOOLKIT_ENV = ['POD_IP', 'POD_NAMESPACE', 'JOB_MANAGER_RPC_ADDRESS'];

/**
 * Refuses a script whose `${env:NAME}` references name no variable in `provided` (the pod's
 * env): the SQL runner would stop at start. `where` names who provides env.
 */
export function checkEnvReferences(field: string, script: string | undefined, provided: readonly string[], where: string): void {
  for (const ref of envReferences(script ?? '')) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref)) {
      throw new ValidationError(field, `\${env:${ref}}`, 'is not a valid reference; expected ${env:NAME} with NAME a C identifier such as KAFKA_PASSWORD');
    }
    if (!provided.includes(ref) && !TOOLKIT_ENV.includes(ref)) {
      throw new ValidationError(field, `\${env:${ref}}`, `reads environment variable ${ref}, which ${where} does not set; expected it in env (e.g. EnvValue.fromSecret("<secret>", "<key>")) or in JobSource.sql(script, env)`);
    }
  }
}

function checkScript(script: unknown): string {
  if (typeof script !== 'string' || !/\binsert\s+into\b/i.test(script)) {
    throw new ValidationError('job.sql', typeof script === 'string' ? script.slice(0, 60) : script, 'has no INSERT INTO statement; expected a script whose INSERT statements form the job');
  }
  return script;
}

/** A Flink job id: 32 lower-case hex digits. */
export function checkJobId(field: string, id: unknown): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) {
    throw new ValidationError(field, id, 'is not a Flink job id; expected 32 lower-case hex digits');
  }
  if (/^0+$/.test(id)) {
    throw new ValidationError(field, id, 'is the all-zero id Flink uses when none is set; expected a distinct id per job');
  }
  return id;
}

export function checkParallelism(field: string, p: unknown): number {
  return checkInt(field, p, 1, 32768);
}
