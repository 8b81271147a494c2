/**
 * The generated log4j2 configuration on real Flink (local processes, 127.0.0.1): a session
 * cluster's JobManager started with the ConfigMap's log4j-console.properties, exactly as
 * synthesized. Per-logger levels take effect in its console output (what `kubectl logs` shows),
 * the JSON layout writes one ECS object per line where the distribution ships
 * log4j-layout-template-json (Flink 2.2; 1.20 does not, and the toolkit refuses it there), and
 * the rolling file is what the REST API's log view (the web UI's log tab) serves.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlinkSessionCluster, FlinkVersion, LogConfig, LogLayout, LogLevel } from '../../lib';
import { restGet, waitFor } from '../support/flink-proc';
import { runCluster } from '../support/local-flink';
import { live } from '../support/live';
import { synth } from '../support/synth';

const CASES = [
  { dist: '1.20.5', line: '1.20', version: FlinkVersion.V1_20, layout: LogLayout.PATTERN },
  { dist: '2.2.1', line: '2.2', version: FlinkVersion.V2_2, layout: LogLayout.JSON },
];
const ENTRYPOINT = 'org.apache.flink.runtime.entrypoint';
const PATTERN_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+)\s+(\S+)\s/;

/** The (level, logger) of each log line in some output, in either layout. */
function parse(text: string, layout: LogLayout): { level: string; logger: string }[] {
  const out: { level: string; logger: string }[] = [];
  for (const line of text.split('\n')) {
    if (layout === LogLayout.JSON) {
      if (!line.startsWith('{')) continue;
      const o = JSON.parse(line);
      out.push({ level: o['log.level'], logger: o['log.logger'] });
    } else {
      const m = PATTERN_LINE.exec(line);
      if (m) out.push({ level: m[1], logger: m[2] });
    }
  }
  return out;
}

for (const c of CASES) {
  test(`logging on real Flink ${c.dist}: root WARN, ${ENTRYPOINT} at INFO, pekko WARN (a default raised), ${c.layout} layout, in the console and the UI's log file`, { timeout: 5 * 60_000 }, async (t) => {
    await live(t, `logging-${c.line}`, async (run) => {
      const home = await run.flinkHome(c.dist, c.line);
      const objects = synth((s) => new FlinkSessionCluster(s, 'logs', {
        flinkVersion: c.version, checkpointing: false, taskManagerReplicas: 1,
        logging: LogConfig.of({ rootLevel: LogLevel.WARN, loggers: { [ENTRYPOINT]: LogLevel.INFO, 'org.apache.pekko': LogLevel.WARN }, layout: c.layout }),
      }));
      const cluster = run.keep(await runCluster(objects, 'logs', run.work, home, { taskManagers: 0 }));
      const { rest } = cluster;
      const jm = cluster.procs[0];
      await waitFor(() => restGet(`${rest}/overview`).catch(() => undefined), { timeoutMs: 120_000, intervalMs: 1000, what: 'the REST API', abortIf: cluster.died });

      // The console (kubectl logs): only the entrypoint logs at INFO; everything else at WARN or above.
      const console = parse(jm.logs(), c.layout);
      const info = console.filter((l) => l.level === 'INFO');
      assert.ok(info.length >= 5, `INFO lines from ${ENTRYPOINT} in the console (got ${info.length} of ${console.length} lines)`);
      assert.deepEqual([...new Set(info.map((l) => l.logger).filter((n) => !n.startsWith(`${ENTRYPOINT}.`)))], [], 'no INFO from other loggers (root is WARN)');
      assert.ok(!console.some((l) => l.level === 'DEBUG'));
      if (c.layout === LogLayout.JSON) {
        assert.ok(!jm.logs().split('\n').some((l) => PATTERN_LINE.test(l)), 'no pattern-layout lines');
      }

      // The rolling file (log.file), as the REST API's log view serves it to the web UI.
      const file = await restGet<string>(`${rest}/jobmanager/log`);
      assert.equal(typeof file, 'string');
      const fromFile = parse(file, c.layout);
      assert.ok(fromFile.some((l) => l.level === 'INFO' && l.logger.startsWith(`${ENTRYPOINT}.`)), 'the rolling file has the entrypoint\'s lines');
      t.diagnostic(`${console.length} console lines, ${info.length} at INFO, ${fromFile.length} lines in the rolling file`);
    });
  });
}

test('logging: JSON layout is refused on Flink 1.20 (its distribution has no log4j-layout-template-json)', () => {
  assert.throws(() => synth((s) => new FlinkSessionCluster(s, 'x', { checkpointing: false, flinkVersion: FlinkVersion.V1_20, logging: LogConfig.of({ layout: LogLayout.JSON }) })),
    /^ValidationError: logging.layout: "json" needs log4j-layout-template-json, which the Flink 1.20.5 distribution does not ship in lib\/; expected Flink 2.2 or later/);
});
