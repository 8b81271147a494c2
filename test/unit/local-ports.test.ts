/**
 * The local runner's free ports and its report of a process that died: ports come from below the
 * kernel's ephemeral range (where outgoing connections cannot take them before the server binds),
 * are distinct, and are really free; a died process's message carries the log lines that say why.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import { freePort, freePorts } from '../../lib/local/flink-proc';
import { why } from '../../lib/local/local-flink';

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

test('free ports: a port a server holds is never handed out', async () => {
  // Hold every port of a small window, then ask many times: none of the held ones comes back.
  const held: net.Server[] = [];
  const heldPorts = new Set<number>();
  try {
    for (let p = 20000; p < 20200; p++) {
      await new Promise<void>((resolve) => {
        const srv = net.createServer();
        srv.once('error', () => resolve());
        srv.listen(p, '127.0.0.1', () => { held.push(srv); heldPorts.add(p); resolve(); });
      });
    }
    for (let i = 0; i < 200; i++) {
      const p = await freePort();
      assert.ok(!heldPorts.has(p), `${p} is held by a server`);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
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
