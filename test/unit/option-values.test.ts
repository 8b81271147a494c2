import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkConfiguration, FlinkConfigValue, FlinkVersion, ValidationError } from '../../lib';
import { checkOptionValue, OptionType } from '../../lib/config/option-values';

/** The message checkOptionValue gives, or undefined when it accepts the value. */
function refusal(type: string, value: string | number | boolean, key = 'some.option', enumValues?: string[]): string | undefined {
  const option: OptionType = { key, type, enumValues };
  try {
    checkOptionValue(`flinkConfiguration["${key}"]`, option, value);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    assert.ok(!e.message.includes('\n'), e.message);
    return e.message;
  }
}

function accepts(type: string, values: (string | number | boolean)[], key?: string, enumValues?: string[]): void {
  for (const v of values) assert.equal(refusal(type, v, key, enumValues), undefined, `${type} ${JSON.stringify(v)} is accepted`);
}

function refuses(type: string, values: (string | number | boolean)[], expected: RegExp, key?: string, enumValues?: string[]): void {
  for (const v of values) assert.match(refusal(type, v, key, enumValues) ?? '(accepted)', expected, `${type} ${JSON.stringify(v)} is refused`);
}

test('option values: Boolean is "true" or "false" in any case (ConfigurationUtils.convertToBoolean)', () => {
  accepts('Boolean', [true, false, 'true', 'FALSE', 'True']);
  refuses('Boolean', ['yes', '1', 0, 'on', ' true', ''], /^flinkConfiguration\["some.option"\]: .* is not a Boolean; expected true or false$/);
});

test('option values: Integer and Long are Java int and long (Integer.parseInt, Long.parseLong)', () => {
  accepts('Integer', [4, '4', '-1', '+7', '2147483647', '-2147483648']);
  refuses('Integer', ['two', '2147483648', '-2147483649', '4.0', 1.5, '1e3', ' 4', '0x10', ''], /is not an Integer; expected a whole number such as 4 \(at most 2147483647\)$/);
  accepts('Long', ['9223372036854775807', '-9223372036854775808', 10_000_000_000]);
  refuses('Long', ['9223372036854775808', '10 s', true], /is not a Long; expected a whole number such as 4$/);
});

test('option values: Double and Float are Java decimal numbers (Double.parseDouble)', () => {
  accepts('Double', ['0.5', '.5', '5.', '1e-3', '2E10', '-3', 0.25, '0.5d', ' 0.5 ', 'NaN', 'Infinity']);
  accepts('Float', ['0.4f', '1F']);
  refuses('Double', ['half', '10%', '0,5', '1e', ''], /is not a Double; expected a number such as 0.5$/);
  refuses('Float', ['0.4 f'], /is not a Float/);
});

test('option values: Duration follows TimeUtils.parseDuration (labels, long names and plurals, any case, no unit = ms)', () => {
  accepts('Duration', ['500', 500, '500ms', '500 ms', '1 milli', '2 millis', '3 millisecond', '4 milliseconds', '30s', '1 sec', '2 secs', '1 second', '10 SECONDS',
    '10min', '10m', '1 minute', '2 Minutes', '2h', '1 hour', '3 hours', '1d', '1 day', '7 days', '5µs', '5 micro', '5 microseconds', '5ns', '5 nanos', '5 nanosecond', ' 30 s ']);
  refuses('Duration', ['1.5s', '-10s', '2 weeks', '1 month', 's', '', 'PT10S', '10 sekunden', '10 mins', '10 hrs', true, '99999999999999999999ms'],
    /is not a Duration; expected a whole number with a unit such as 500ms, 30s, 10min, 2h or 1d/);
});

test('option values: MemorySize follows MemorySize.parse (b/k/m/g/t, kb..tb, long names, any case, no unit = bytes)', () => {
  accepts('MemorySize', ['1024', 1024, '1b', '2 bytes', '64k', '64kb', '64 kibibytes', '512m', '512MB', '512 mebibytes', '2g', '2 GB', '2 Gibibytes', '1t', '1tb', '1 tebibytes']);
  refuses('MemorySize', ['512Mi', '2GiB', '1.5g', '-1m', 'lots', '', '9000000tb', '9223372036854775808', '2 gigabytes'],
    /is not a MemorySize; expected a whole number with a unit such as 512mb or 2g \(units: b\/bytes, k\/kb\/kibibytes, m\/mb\/mebibytes, g\/gb\/gibibytes, t\/tb\/tebibytes; no unit means bytes\)$/);
});

test('option values: enums match names case-insensitively (ConfigurationUtils.convertToEnum); lists split at ";"', () => {
  const modes = ['EXACTLY_ONCE', 'AT_LEAST_ONCE'];
  accepts('CheckpointingMode', ['EXACTLY_ONCE', 'exactly_once', 'At_Least_Once'], 'execution.checkpointing.mode', modes);
  refuses('CheckpointingMode', ['ONCE', 'exactly-once', ' EXACTLY_ONCE', ''], /^flinkConfiguration\["execution.checkpointing.mode"\]: .* is not an accepted value; expected one of EXACTLY_ONCE, AT_LEAST_ONCE \(case-insensitive\)$/,
    'execution.checkpointing.mode', modes);
  const codecs = ['NO_COMPRESSION', 'SNAPPY_COMPRESSION', 'LZ4_COMPRESSION'];
  accepts('List<CompressionType>', ['SNAPPY_COMPRESSION', 'no_compression;lz4_compression', 'SNAPPY_COMPRESSION;'], 'k', codecs);
  refuses('List<CompressionType>', ['SNAPPY_COMPRESSION;GZIP', 'SNAPPY_COMPRESSION,LZ4_COMPRESSION'], /is not an accepted value; expected one of NO_COMPRESSION/, 'k', codecs);
});

test('option values: maps are k:v pairs separated by commas; strings and string lists take anything', () => {
  accepts('Map', ['a:1', 'a:1,b:2', '', 'a:1,', "'a:b':c"]);
  refuses('Map', ['a=1', 'a:1,b', 'a:1:2'], /is not a Map; expected key:value pairs separated by commas, such as k1:v1,k2:v2$/);
  accepts('String', ['anything', 4, true]);
  accepts('List<String>', ['a;b;c']);
  accepts('List<Map>', ['key:a,operator:Equal;key:b']);
});

test('option values: the ranges Flink enforces (slots, parallelism, max parallelism, memory fractions)', () => {
  accepts('Integer', [1, 8, -1], 'taskmanager.numberOfTaskSlots');
  refuses('Integer', [0, -2], /^flinkConfiguration\["taskmanager.numberOfTaskSlots"\]: -?\d is out of range; expected a whole number >= 1$/, 'taskmanager.numberOfTaskSlots');
  accepts('Integer', [1, 32768, -1], 'pipeline.max-parallelism');
  refuses('Integer', [0, 32769], /is out of range; expected a whole number between 1 and 32768/, 'pipeline.max-parallelism');
  refuses('Integer', [0, -3], /is out of range; expected a whole number >= 1 \(or -1 for the default\)$/, 'parallelism.default');
  for (const key of ['taskmanager.memory.managed.fraction', 'taskmanager.memory.network.fraction', 'taskmanager.memory.jvm-overhead.fraction', 'jobmanager.memory.jvm-overhead.fraction']) {
    accepts('Float', [0, '0.1', '0.99'], key);
    refuses('Float', [1, '1.0', -0.1, 'NaN'], /is out of range; expected a fraction >= 0 and below 1, such as 0.1$/, key);
  }
  // Other options of the same types have no range here.
  accepts('Integer', [0, -5], 'rest.server.numThreads');
});

test('option values: placeholders substituted at start pass unchecked', () => {
  accepts('Integer', ['${env:SLOTS}', '${SLOTS}'], 'taskmanager.numberOfTaskSlots');
  accepts('Duration', ['${env:TIMEOUT}']);
});

test('option values: FlinkConfiguration.setRaw checks values by the catalog, also under deprecated names, and leaves reporter patterns, unknown keys and Secrets alone', () => {
  const conf = () => new FlinkConfiguration(FlinkVersion.V2_2);
  assert.throws(() => conf().setRaw('flinkConfiguration', { 'heartbeat.timeout': '1.5s' }), /ValidationError: flinkConfiguration\["heartbeat.timeout"\]: "1.5s" is not a Duration/);
  // 1.20 reads the deprecated name; the value is checked as the option it names.
  assert.throws(() => new FlinkConfiguration(FlinkVersion.V1_20).setRaw('flinkConfiguration', { 'taskmanager.network.memory.fraction': 'half' }), /"half" is not a Float/);
  const ok = conf();
  // Reporter keys under a <name> pattern are not checked: the Prometheus reporter's port takes a range.
  ok.setRaw('flinkConfiguration', { 'heartbeat.timeout': '2 minutes', 'my.plugin.size': 'huge', 'metrics.reporter.prom.port': '9250-9260', 'security.ssl.rest.keystore-password': FlinkConfigValue.fromSecret('tls', 'p') });
  assert.equal(ok.get('heartbeat.timeout'), '2 minutes');
  // Versions without a catalog pass values through as before.
  new FlinkConfiguration(FlinkVersion.of('1.18')).setRaw('flinkConfiguration', { 'heartbeat.timeout': '1.5s' });
});
