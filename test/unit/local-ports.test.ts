/**
 * The local runner's free ports and its report of a process that died: ports come from below the
 * kernel's ephemeral range (where outgoing connections cannot take them before the server binds),
 * are distinct, and are really free; a died process's message carries the log lines that say why.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import { freePort, freePorts, why } from '../../lib/local/flink-proc';
import { firstDied } from '../../lib/local/local-flink';

const ephemeralLow = (() => {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
})();

test('free ports: below the ephemeral range and below the NodePort range, distinct, and bindable', async (t) => {
  if (ephemeralLow - 20000 < 1000) {
    t.skip(`the ephemeral range starts at ${ephemeralLow}: no room below it`);
    return;
  }
  const ports = [...(await freePorts(8)), await freePort(), await freePort()];
  assert.equal(new Set(ports).size, ports.length, `distinct: ${ports.join(', ')}`);
  for (const p of ports) assert.ok(p >= 20000 && p < Math.min(30000, ephemeralLow), `${p} is in [20000, ${Math.min(30000, ephemeralLow)})`);
  // each is free: a server binds it
  for (const p of ports.slice(0, 3)) {
    await new Promise<void>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve()));
    });
  }
});

/** Runs `body` with Math.random answering `values` in turn (then the real one): draws land where the test says. */
async function withRandom<T>(values: number[], body: () => Promise<T>): Promise<T> {
  const real = Math.random;
  let k = 0;
  Math.random = () => (k < values.length ? values[k++] : real());
  try {
    return await body();
  } finally {
    Math.random = real;
  }
}
const RANGE = [20000, Math.min(30000, ephemeralLow)];
const drawOf = (port: number) => (port - RANGE[0] + 0.5) / (RANGE[1] - RANGE[0]);

test('free ports: a port a server holds is passed over for the next draw', async (t) => {
  if (ephemeralLow - 20000 < 1000) {
    t.skip(`the ephemeral range starts at ${ephemeralLow}: no room below it`);
    return;
  }
  // A server holds one port of the range; the first draw lands on it, the second on a free one.
  const listenOn = (srv: net.Server, port: number) => new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => resolve(true));
  });
  const srv = net.createServer();
  let held = RANGE[0] + 4000;
  while (!(await listenOn(srv, held))) assert.ok(++held < RANGE[0] + 5000, 'a port to hold');
  const probe = net.createServer();
  let other = held + 1;
  while (!(await listenOn(probe, other))) other++;
  await new Promise((r) => probe.close(r));
  try {
    const got = await withRandom([drawOf(held), drawOf(other)], () => freePort());
    assert.equal(got, other, `the held port ${held} was passed over`);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('free ports: one process never hands out the same port twice within a minute', async (t) => {
  if (ephemeralLow - 20000 < 1000) {
    t.skip(`the ephemeral range starts at ${ephemeralLow}: no room below it`);
    return;
  }
  // Nothing listens on it: the second draw of the same port is passed over because it was handed out.
  const port = RANGE[0] + 6123;
  const first = await withRandom([drawOf(port)], () => freePort());
  assert.equal(first, port);
  const second = await withRandom([drawOf(port), drawOf(port + 1)], () => freePort());
  assert.equal(second, port + 1, 'a port already handed out is drawn again and passed over');
});

test('a died process: the message names the errors and causes of its log, the last ones, bounded', () => {
  const log = [
    'INFO  Starting StandaloneApplicationClusterEntryPoint',
    'INFO  Loading configuration property: rest.port, 20123',
    'ERROR Could not start cluster entrypoint StandaloneApplicationClusterEntryPoint.',
    'org.apache.flink.runtime.entrypoint.ClusterEntrypointException: Failed to initialize the cluster entrypoint',
    '\tat org.apache.flink.runtime.entrypoint.ClusterEntrypoint.startCluster(ClusterEntrypoint.java:255)',
    'Caused by: java.net.BindException: Could not start rest endpoint on any port in port range 20123',
    'Caused by: java.net.BindException: Address already in use',
  ].join('\n');
  const text = why(log);
  assert.match(text, /^:\n/);
  assert.match(text, /Could not start cluster entrypoint/);
  assert.match(text, /Caused by: java.net.BindException: Address already in use$/);
  assert.doesNotMatch(text, /INFO|\tat /);
  assert.equal(why('INFO all is well\n'), '');
  assert.equal(why(Array.from({ length: 50 }, (_, i) => `ERROR line ${i}`).join('\n')).split('\n').length, 13);
});

test('a died process: the first one not killed on purpose is named, with its code and why', () => {
  const proc = (name: string, code: number | undefined, log: string) => ({ name, exitCode: () => code, logs: () => log, logFile: () => '' }) as any;
  const jm = proc('jobmanager', 1, 'INFO start\nCaused by: java.net.BindException: Address already in use');
  const tm = proc('taskmanager-0', 137, 'ERROR killed');
  const live = proc('taskmanager-1', undefined, 'ERROR not dead');
  assert.equal(firstDied([live, tm, jm], new Set([tm])), 'jobmanager exited with 1:\nCaused by: java.net.BindException: Address already in use');
  assert.equal(firstDied([live, tm], new Set([tm])), undefined);
  // Flink's own log file is read first when it has content.
  const withFile = { ...jm, logFile: () => 'ERROR from the log file' };
  assert.equal(firstDied([withFile], new Set()), 'jobmanager exited with 1:\nERROR from the log file');
});
