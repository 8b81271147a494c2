import { checkInt, ValidationError } from './errors';
import { JOB_FILES_DIR } from './cluster/flink-cluster';
import { EnvValue, ExtraVolume } from './cluster/options';
import { FlinkVersion } from './config/flink-version';
import { LogPipeline } from './pipeline/pipeline';
import { envReferences } from './pipeline/sql-check';

/** The entry class of the SQL runner in the toolkit's runtime image. */
export const SQL_RUNNER_CLASS = 'org.cdk8sflink.runner.SqlRunner';

export interface JarJobOptions {
  /** The job's main class. */
  readonly entryClass: string;
  /**
   * The jar file. In application mode it must be in the image under /opt/flink/usrlib (Flink
   * puts that folder on the classpath of every process). For a session job it is uploaded by
   * the submitter: a path inside the operations image, or an http(s) URL.
   * @default - application mode: found on the classpath from /opt/flink/usrlib
   */
  readonly jarFile?: string;
  /** Program arguments. @default - none */
  readonly args?: string[];
}

/** A job source bound to its job's name and Flink version. */
export interface BoundJob {
  readonly kind: 'jar' | 'sql';
  readonly entryClass: string;
  /** The program arguments the job's main class receives. */
  readonly programArgs: string[];
  /** Files the job needs next to it (mounted under /opt/flink/job). */
  readonly files: Record<string, string>;
  /** Environment the job's containers need (credentials from Secrets). */
  readonly env: Record<string, EnvValue>;
  /** Read-only volumes the job's containers need (Kafka certificate authorities from Secrets). */
  readonly volumes: ExtraVolume[];
  readonly jarFile?: string;
  readonly sqlScript?: string;
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

  /** A typed log pipeline (Kafka in; filters, enrichment; sinks), rendered to SQL for the job's Flink version. */
  public static pipeline(pipeline: LogPipeline): JobSource {
    if (!(pipeline instanceof LogPipeline)) {
      throw new ValidationError('job', pipeline, 'is invalid; expected a LogPipeline');
    }
    return new SqlJobSource(undefined, undefined, pipeline);
  }

  public abstract readonly kind: 'jar' | 'sql';
  public abstract readonly entryClass: string;
  /** The pipeline, for jobs declared with `JobSource.pipeline`. */
  public readonly pipeline?: LogPipeline;

  /** The source as it runs for job `name` on `version`. */
  public abstract bind(name: string, version: FlinkVersion): BoundJob;
}

const CLASS_NAME = /^([A-Za-z_$][A-Za-z0-9_$]*\.)*[A-Za-z_$][A-Za-z0-9_$]*$/;

class JarJobSource extends JobSource {
  public readonly kind = 'jar' as const;
  public readonly entryClass: string;
  private readonly programArgs: string[];
  private readonly jarFile?: string;
  constructor(o: JarJobOptions) {
    super();
    if (typeof o.entryClass !== 'string' || !CLASS_NAME.test(o.entryClass)) {
      throw new ValidationError('job.entryClass', o.entryClass, 'is not a Java class name; expected e.g. "com.example.logs.AccessLogJob"');
    }
    if (o.jarFile !== undefined && (typeof o.jarFile !== 'string' || !(/^\/\S+\.jar$/.test(o.jarFile) || /^https?:\/\/\S+$/.test(o.jarFile)))) {
      throw new ValidationError('job.jarFile', o.jarFile, 'is invalid; expected an absolute path to a .jar file or an http(s) URL');
    }
    (o.args ?? []).forEach((a, i) => {
      if (typeof a !== 'string') throw new ValidationError(`job.args[${i}]`, a, 'is invalid; expected a string');
    });
    this.entryClass = o.entryClass;
    this.jarFile = o.jarFile;
    this.programArgs = [...(o.args ?? [])];
  }
  public bind(): BoundJob {
    return { kind: 'jar', entryClass: this.entryClass, programArgs: this.programArgs, files: {}, env: {}, volumes: [], jarFile: this.jarFile };
  }
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
