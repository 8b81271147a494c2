import { ValidationError } from '../errors';

/**
 * A Flink release line the toolkit renders configuration for. Use the constants
 * (`FlinkVersion.V1_20`, `FlinkVersion.V2_2`) or `FlinkVersion.of('2.1.1')` for a patch release.
 */
export class FlinkVersion {
  public static readonly V1_18 = new FlinkVersion(1, 18, 1);
  public static readonly V1_19 = new FlinkVersion(1, 19, 3);
  public static readonly V1_20 = new FlinkVersion(1, 20, 5);
  public static readonly V2_0 = new FlinkVersion(2, 0, 1);
  public static readonly V2_1 = new FlinkVersion(2, 1, 1);
  public static readonly V2_2 = new FlinkVersion(2, 2, 1);

  /** Every release line the toolkit supports, oldest first. */
  public static readonly SUPPORTED: readonly FlinkVersion[] = [
    FlinkVersion.V1_18, FlinkVersion.V1_19, FlinkVersion.V1_20,
    FlinkVersion.V2_0, FlinkVersion.V2_1, FlinkVersion.V2_2,
  ];

  /** Parses `"1.20"` (the line's current patch release) or `"1.20.1"`. */
  public static of(version: string): FlinkVersion {
    const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(version);
    const line = m && FlinkVersion.SUPPORTED.find((v) => v.major === Number(m[1]) && v.minor === Number(m[2]));
    if (!m || !line) {
      throw new ValidationError('flinkVersion', version,
        `is not supported; expected one of ${FlinkVersion.SUPPORTED.map((v) => v.line).join(', ')} (optionally with a patch number, e.g. "1.20.3")`);
    }
    return m[3] === undefined ? line : new FlinkVersion(line.major, line.minor, Number(m[3]));
  }

  private constructor(public readonly major: number, public readonly minor: number, public readonly patch: number) {}

  /** `"1.20"`. */
  public get line(): string { return `${this.major}.${this.minor}`; }

  /** `"1.20.3"`. */
  public toString(): string { return `${this.line}.${this.patch}`; }

  /** Flink 2.0 removed and renamed many configuration keys. */
  public get is2x(): boolean { return this.major >= 2; }

  /** True when this version is at least `major.minor`. */
  public atLeast(major: number, minor: number): boolean {
    return this.major > major || (this.major === major && this.minor >= minor);
  }

  /**
   * The configuration file this version reads: 1.19 and later read `config.yaml` (standard
   * YAML); 1.18 and older only the legacy `flink-conf.yaml`.
   */
  public get configFileName(): 'config.yaml' | 'flink-conf.yaml' {
    return this.atLeast(1, 19) ? 'config.yaml' : 'flink-conf.yaml';
  }

  /**
   * The JVM flags Flink's own distribution passes on Java 17 (its conf/config.yaml sets them);
   * a configuration that replaces that file must carry them, or Flink fails at job submission
   * with InaccessibleObjectException.
   */
  public get jvmModuleOptions(): string {
    const exports = [
      ...(this.is2x ? [] : ['java.base/sun.net.util']),
      'java.rmi/sun.rmi.registry', 'jdk.compiler/com.sun.tools.javac.api', 'jdk.compiler/com.sun.tools.javac.file',
      'jdk.compiler/com.sun.tools.javac.parser', 'jdk.compiler/com.sun.tools.javac.tree', 'jdk.compiler/com.sun.tools.javac.util',
      'java.security.jgss/sun.security.krb5',
    ];
    const opens = [
      'java.base/java.lang', 'java.base/java.net', 'java.base/java.io', 'java.base/java.nio', 'java.base/sun.nio.ch',
      'java.base/java.lang.reflect', 'java.base/java.text', 'java.base/java.time', 'java.base/java.util',
      'java.base/java.util.concurrent', 'java.base/java.util.concurrent.atomic', 'java.base/java.util.concurrent.locks',
    ];
    return [...exports.map((e) => `--add-exports=${e}=ALL-UNNAMED`), ...opens.map((o) => `--add-opens=${o}=ALL-UNNAMED`)].join(' ');
  }

  /** The key that carries `jvmModuleOptions`, leaving `env.java.opts.all` to users. */
  public get jvmDefaultOptionsKey(): string {
    return this.atLeast(1, 19) ? 'env.java.default-opts.all' : 'env.java.opts.all';
  }

  /** The official image tag for this release on Java 17, e.g. `flink:1.20.5-java17`. */
  public get defaultImage(): string {
    return `flink:${this.toString()}-java17`;
  }
}
