import * as fs from 'fs';
import { Size } from 'cdk8s';
import { checkInt, ValidationError } from '../errors';
import { FlinkVersion } from './flink-version';

/** A log level of log4j2. */
export enum LogLevel {
  OFF = 'OFF',
  ERROR = 'ERROR',
  WARN = 'WARN',
  INFO = 'INFO',
  DEBUG = 'DEBUG',
  TRACE = 'TRACE',
}

/** How log lines are written. */
export enum LogLayout {
  /** Flink's own pattern: `2026-01-01 10:00:00,000 INFO  org.apache.flink... - message`. */
  PATTERN = 'pattern',
  /**
   * One JSON object per line in the Elastic Common Schema (log4j2's JsonTemplateLayout with
   * `EcsLayout.json`: `@timestamp`, `log.level`, `log.logger`, `message`, `error.*`). Needs
   * `log4j-layout-template-json` in Flink's lib/: shipped by the Flink 2.2 distribution, not by
   * 1.20 (so refused there).
   */
  JSON = 'json',
}

/** The typed common cases of a log4j2 configuration. */
export interface LogConfigOptions {
  /** @default LogLevel.INFO */
  readonly rootLevel?: LogLevel;
  /**
   * Levels per logger (a package or class name), over the root level and the distribution's
   * defaults (Kafka, Hadoop and ZooKeeper at WARN), e.g. `{ 'org.apache.kafka': LogLevel.INFO }`.
   * @default - none
   */
  readonly loggers?: Record<string, LogLevel>;
  /** Layout of both the console and the rolling file. @default LogLayout.PATTERN */
  readonly layout?: LogLayout;
  /**
   * The rolling file at Flink's `log.file`, which the web UI's per-process log view reads.
   * @default true
   */
  readonly rollingFile?: boolean;
  /** Size at which the rolling file rolls over. @default Size.mebibytes(100) */
  readonly maxFileSize?: Size;
  /** Rolled files kept. @default 10 */
  readonly maxFiles?: number;
}

/**
 * The log4j2 configuration of the Flink processes (`log4j-console.properties` in the ConfigMap):
 * the typed common cases, or a file of the user's own.
 */
export class LogConfig {
  /** The typed common cases: levels, layout, the console (for `kubectl logs`) and a rolling file (for the web UI). */
  public static of(options: LogConfigOptions = {}): LogConfig {
    const o = options ?? {};
    const root = checkLevel('logging.rootLevel', o.rootLevel ?? LogLevel.INFO);
    const loggers: Record<string, LogLevel> = {};
    for (const [name, level] of Object.entries(o.loggers ?? {})) {
      if (!LOGGER_NAME.test(name)) {
        throw new ValidationError('logging.loggers', name, 'is not a logger name; expected a Java package or class name such as "org.apache.kafka"');
      }
      loggers[name] = checkLevel(`logging.loggers["${name}"]`, level);
    }
    const layout = o.layout ?? LogLayout.PATTERN;
    if (!Object.values(LogLayout).includes(layout)) {
      throw new ValidationError('logging.layout', layout, `is unknown; expected one of ${Object.values(LogLayout).join(', ')}`);
    }
    const rolling = o.rollingFile ?? true;
    if (typeof rolling !== 'boolean') throw new ValidationError('logging.rollingFile', rolling, 'is invalid; expected true or false');
    const sizeMiB = o.maxFileSize === undefined ? 100 : o.maxFileSize instanceof Size ? o.maxFileSize.toMebibytes() : NaN;
    checkInt('logging.maxFileSize (MiB)', sizeMiB, 1, 102_400);
    const maxFiles = checkInt('logging.maxFiles', o.maxFiles ?? 10, 1, 1000);
    return new LogConfig((version) => {
      if (layout === LogLayout.JSON && !shipsJsonTemplateLayout(version)) {
        throw new ValidationError('logging.layout', layout,
          `needs log4j-layout-template-json, which the Flink ${version} distribution does not ship in lib/; expected Flink 2.2 or later, or LogConfig.fromString with a layout your image provides`);
      }
      return render(root, loggers, layout, rolling, sizeMiB, maxFiles);
    });
  }

  /** A log4j2 properties configuration of your own, as text. */
  public static fromString(text: string): LogConfig {
    if (typeof text !== 'string' || text.trim() === '') {
      throw new ValidationError('logging', text, 'is empty; expected a log4j2 properties configuration');
    }
    if (!/^\s*rootLogger(\.level)?\s*[=:]/m.test(text)) {
      throw new ValidationError('logging', text.split('\n')[0].slice(0, 60), 'has no rootLogger; expected a log4j2 properties configuration (rootLogger.level = INFO, appenders)');
    }
    return new LogConfig(() => text);
  }

  /** A log4j2 properties file of your own, read at synthesis. */
  public static fromFile(file: string): LogConfig {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e: any) {
      throw new ValidationError('logging file', file, `cannot be read (${e.code ?? e.message}); expected a log4j2 properties file`);
    }
    return LogConfig.fromString(text);
  }

  private constructor(private readonly produce: (version: FlinkVersion) => string) {}

  /** The file's content for a Flink version. @internal */
  public _render(version: FlinkVersion): string {
    return this.produce(version);
  }
}

/** Whether the version's distribution has log4j-layout-template-json in lib/ (checked: 1.20.5 no, 2.2.1 yes). */
function shipsJsonTemplateLayout(v: FlinkVersion): boolean {
  return v.major > 2 || (v.major === 2 && v.minor >= 2);
}

const LOGGER_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

function checkLevel(field: string, level: unknown): LogLevel {
  if (!Object.values(LogLevel).includes(level as LogLevel)) {
    throw new ValidationError(field, level, `is unknown; expected one of ${Object.values(LogLevel).join(', ')}`);
  }
  return level as LogLevel;
}

/** The distribution's defaults (id, logger, level): quiet third-party libraries. */
const DEFAULT_LOGGERS: [string, string, LogLevel][] = [
  ['pekko', 'org.apache.pekko', LogLevel.INFO],
  ['kafka', 'org.apache.kafka', LogLevel.WARN],
  ['hadoop', 'org.apache.hadoop', LogLevel.WARN],
  ['zookeeper', 'org.apache.zookeeper', LogLevel.WARN],
  ['shaded_zookeeper', 'org.apache.flink.shaded.zookeeper3', LogLevel.WARN],
  ['netty', 'org.jboss.netty.channel.DefaultChannelPipeline', LogLevel.OFF],
];

function render(root: LogLevel, loggers: Record<string, LogLevel>, layout: LogLayout, rolling: boolean, sizeMiB: number, maxFiles: number): string {
  // A level given for a default logger replaces the default; other loggers follow as user_<n>.
  const all: [string, string, LogLevel][] = [
    ...DEFAULT_LOGGERS.map(([id, name, level]): [string, string, LogLevel] => [id, name, loggers[name] ?? level]),
    ...Object.entries(loggers).filter(([name]) => !DEFAULT_LOGGERS.some(([, n]) => n === name)).map(([name, level], i): [string, string, LogLevel] => [`user_${i}`, name, level]),
  ];
  const layoutLines = (a: string) => (layout === LogLayout.JSON
    ? [`appender.${a}.layout.type = JsonTemplateLayout`, `appender.${a}.layout.eventTemplateUri = classpath:EcsLayout.json`]
    : [`appender.${a}.layout.type = PatternLayout`, `appender.${a}.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n`]);
  return [
    `# Written by cdk8s-flink: console${rolling ? ' and rolling file' : ''}, as in Flink's own log4j-console.properties.`,
    'monitorInterval = 30',
    `rootLogger.level = ${root}`,
    'rootLogger.appenderRef.console.ref = ConsoleAppender',
    ...(rolling ? ['rootLogger.appenderRef.rolling.ref = RollingFileAppender'] : []),
    '',
    ...all.flatMap(([id, name, level]) => [`logger.${id}.name = ${name}`, `logger.${id}.level = ${level}`]),
    '',
    'appender.console.name = ConsoleAppender',
    'appender.console.type = CONSOLE',
    ...layoutLines('console'),
    'appender.console.filter.threshold.type = ThresholdFilter',
    'appender.console.filter.threshold.level = ${sys:console.log.level:-ALL}',
    ...(rolling ? [
      '',
      'appender.rolling.name = RollingFileAppender',
      'appender.rolling.type = RollingFile',
      'appender.rolling.append = true',
      'appender.rolling.fileName = ${sys:log.file}',
      'appender.rolling.filePattern = ${sys:log.file}.%i',
      ...layoutLines('rolling'),
      'appender.rolling.policies.type = Policies',
      'appender.rolling.policies.size.type = SizeBasedTriggeringPolicy',
      `appender.rolling.policies.size.size = ${sizeMiB}MB`,
      'appender.rolling.policies.startup.type = OnStartupTriggeringPolicy',
      'appender.rolling.strategy.type = DefaultRolloverStrategy',
      `appender.rolling.strategy.max = \${env:MAX_LOG_FILE_NUMBER:-${maxFiles}}`,
    ] : []),
  ].join('\n') + '\n';
}

/**
 * `log4j-console.properties` as the Flink distribution ships it: the console (for
 * `kubectl logs`) and a rolling file at `log.file` (the web UI's per-process log view reads it).
 */
export function log4jConsoleProperties(level: LogLevel = LogLevel.INFO): string {
  return LogConfig.of({ rootLevel: checkLevel('logLevel', level) })._render(FlinkVersion.V1_20);
}
