/** The log4j2 configuration in the ConfigMap: typed common cases, the user's own file, and their checks. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Size } from 'cdk8s';
import { FlinkSessionCluster, FlinkVersion, log4jConsoleProperties, LogConfig, LogLayout, LogLevel } from '../../lib';
import { find, synth } from '../support/synth';

const log4j = (logging?: LogConfig, version = FlinkVersion.V2_2) =>
  find(synth((s) => new FlinkSessionCluster(s, 'c', { checkpointing: false, flinkVersion: version, logging })), 'ConfigMap', 'c-config').data['log4j-console.properties'] as string;

/** The properties as a map. */
function props(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf(' = ')), l.slice(l.indexOf(' = ') + 3)]));
}

test('logging: levels per logger (a default replaced, new ones added), root level, console and rolling file', () => {
  const p = props(log4j(LogConfig.of({ rootLevel: LogLevel.WARN, loggers: { 'org.apache.kafka': LogLevel.INFO, 'com.example.Job': LogLevel.DEBUG }, maxFileSize: Size.mebibytes(20), maxFiles: 3 })));
  assert.equal(p['rootLogger.level'], 'WARN');
  assert.equal(p['logger.kafka.name'], 'org.apache.kafka');
  assert.equal(p['logger.kafka.level'], 'INFO');
  assert.equal(p['logger.user_0.name'], 'com.example.Job');
  assert.equal(p['logger.user_0.level'], 'DEBUG');
  assert.equal(p['rootLogger.appenderRef.rolling.ref'], 'RollingFileAppender');
  assert.equal(p['appender.rolling.fileName'], '${sys:log.file}');
  assert.equal(p['appender.rolling.policies.size.size'], '20MB');
  assert.equal(p['appender.rolling.strategy.max'], '${env:MAX_LOG_FILE_NUMBER:-3}');
  assert.equal(p['appender.console.layout.type'], 'PatternLayout');
  // The default is the distribution's file at the root level: the same as log4jConsoleProperties().
  assert.equal(log4j(undefined), log4jConsoleProperties());
});

test('logging: JSON layout (JsonTemplateLayout, ECS) on both appenders; no rolling file when asked', () => {
  const p = props(log4j(LogConfig.of({ layout: LogLayout.JSON })));
  for (const a of ['console', 'rolling']) {
    assert.equal(p[`appender.${a}.layout.type`], 'JsonTemplateLayout');
    assert.equal(p[`appender.${a}.layout.eventTemplateUri`], 'classpath:EcsLayout.json');
  }
  const noFile = props(log4j(LogConfig.of({ rollingFile: false })));
  assert.equal(noFile['rootLogger.appenderRef.rolling.ref'], undefined);
  assert.ok(!Object.keys(noFile).some((k) => k.startsWith('appender.rolling')));
});

test('logging: the user\'s own file, from a string or a file, verbatim', () => {
  const text = 'rootLogger.level = INFO\nrootLogger.appenderRef.console.ref = C\nappender.console.name = C\nappender.console.type = CONSOLE\n';
  assert.equal(log4j(LogConfig.fromString(text)), text);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-log4j-'));
  try {
    fs.writeFileSync(path.join(dir, 'log4j.properties'), text);
    assert.equal(log4j(LogConfig.fromFile(path.join(dir, 'log4j.properties'))), text);
    assert.throws(() => LogConfig.fromFile(path.join(dir, 'missing.properties')), /^ValidationError: logging file: ".*missing.properties" cannot be read \(ENOENT\); expected a log4j2 properties file$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('logging: bad logger names, levels, layouts and files are refused in one line naming the value', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => LogConfig.of({ loggers: { 'org apache': LogLevel.INFO } }), /^ValidationError: logging.loggers: "org apache" is not a logger name; expected a Java package or class name/],
    [() => LogConfig.of({ loggers: { 'org.apache.kafka': 'VERBOSE' as any } }), /^ValidationError: logging.loggers\["org.apache.kafka"\]: "VERBOSE" is unknown; expected one of OFF, ERROR, WARN, INFO, DEBUG, TRACE$/],
    [() => LogConfig.of({ rootLevel: 'info' as any }), /^ValidationError: logging.rootLevel: "info" is unknown/],
    [() => LogConfig.of({ layout: 'xml' as any }), /^ValidationError: logging.layout: "xml" is unknown; expected one of pattern, json$/],
    [() => LogConfig.of({ maxFiles: 0 }), /logging.maxFiles/],
    [() => LogConfig.fromString(''), /^ValidationError: logging: "" is empty; expected a log4j2 properties configuration$/],
    [() => LogConfig.fromString('<Configuration/>'), /^ValidationError: logging: "<Configuration\/>" has no rootLogger/],
    [() => log4j(LogConfig.of({ layout: LogLayout.JSON }), FlinkVersion.V1_20), /^ValidationError: logging.layout: "json" needs log4j-layout-template-json, which the Flink 1.20.5 distribution does not ship/],
    [() => synth((s) => new FlinkSessionCluster(s, 'c', { checkpointing: false, logLevel: LogLevel.WARN, logging: LogConfig.of() })), /^ValidationError: logLevel: "WARN" is set together with logging; expected one of them/],
    [() => synth((s) => new FlinkSessionCluster(s, 'c', { checkpointing: false, logLevel: 'LOUD' as any })), /^ValidationError: logLevel: "LOUD" is unknown; expected one of OFF, ERROR, WARN, INFO, DEBUG, TRACE$/],
    [() => synth((s) => new FlinkSessionCluster(s, 'c', { checkpointing: false, logging: 'log4j.properties' as any })), /^ValidationError: logging: "log4j.properties" is invalid; expected LogConfig/],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});
