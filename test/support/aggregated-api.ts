/**
 * A host process behind the API server's aggregation layer, as an extension API server's pod
 * would be (metrics-server, prometheus-adapter; test/support/metrics-server.ts,
 * test/support/prometheus-adapter.ts): AggregatedApiServer starts it (the cluster
 * administrator's kubeconfig for the API server and the delegated authentication and
 * authorization of the requests the aggregation layer forwards, serving on the node's bridge
 * address), waits until it serves what its caller needs, and stop() removes it and:
 *
 * - a Service without a selector in kube-system and an EndpointSlice naming the process's address
 *   (the node's bridge address) and port, as a pod's would;
 * - one APIService per group version it serves, created only once kube-proxy routes the Service
 *   to the process (the aggregation layer keeps its connections: one opened before that would go
 *   elsewhere). The processes serve their own self-signed certificates, as their release
 *   manifests accept them (`insecureSkipTLSVerify`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { exec, freePorts, sleep } from './control-plane';
import { HostProcess } from './host-process';
import { RealNode } from './node';

export interface GroupVersion {
  readonly group: string;
  readonly version: string;
}

/** The Service, EndpointSlice and APIServices that put a process at address:port behind `apis`. */
function aggregatedApiObjects(name: string, address: string, port: number, apis: readonly GroupVersion[]): unknown[] {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'cdk8s-flink-tests' };
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'kube-system', labels }, spec: { ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name, namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'cdk8s-flink-tests' } },
      addressType: 'IPv4', endpoints: [{ addresses: [address], conditions: { ready: true } }], ports: [{ name: 'https', port, protocol: 'TCP' }],
    },
    ...apis.map(({ group, version }) => ({
      apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: `${version}.${group}`, labels },
      spec: { group, version, service: { name, namespace: 'kube-system', port: 443 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
    })),
  ];
}

/**
 * Registers the process listening on node.ip:port (serving `/livez`) for `apis`; resolves once
 * the APIServices exist. The returned function removes every object it created.
 */
async function registerAggregatedApi(node: RealNode, name: string, port: number, apis: readonly GroupVersion[]): Promise<() => Promise<void>> {
  const objects = aggregatedApiObjects(name, node.ip, port, apis);
  const unregister = async () => {
    await node.cluster.kubectl(['delete', '--ignore-not-found', '--wait=false', ...apis.map((a) => `apiservice/${a.version}.${a.group}`)], { timeoutMs: 30_000 });
    await node.cluster.kubectl(['-n', 'kube-system', 'delete', '--ignore-not-found', '--wait=false', `service/${name}`, `endpointslice.discovery.k8s.io/${name}`], { timeoutMs: 30_000 });
  };
  const apply = async (items: unknown[]) => {
    const applied = await node.cluster.kubectl(['apply', '-f', '-'], { input: items.map((o) => JSON.stringify(o)).join('\n') });
    if (applied.code !== 0) throw new Error(`${name} objects: ${applied.stderr}`);
  };
  try {
    await apply(objects.slice(0, 2));
    const clusterIp = JSON.parse((await node.cluster.kubectl(['-n', 'kube-system', 'get', 'service', name, '-o', 'json'])).stdout).spec.clusterIP;
    let routed = false;
    for (const until = Date.now() + 60_000; !routed && Date.now() < until; await sleep(routed ? 0 : 1000)) {
      routed = (await exec('curl', ['-sk', '--max-time', '3', `https://${clusterIp}:443/livez`], { timeoutMs: 5_000 })).stdout.trim() === 'ok';
    }
    if (!routed) throw new Error(`the Service ${clusterIp}:443 did not reach ${name} at ${node.ip}:${port} within 60 s`);
    await apply(objects.slice(2));
    return unregister;
  } catch (e) {
    await unregister();
    throw e;
  }
}

export interface AggregatedApiServerOptions {
  /** Its Service's name, its folder's prefix, in its errors. */
  readonly name: string;
  readonly binary: string;
  /** Its arguments besides the common ones, given its folder (which holds `files`). */
  readonly args: (dir: string) => string[];
  /** Files written into its folder before it starts, by name. @default - none */
  readonly files?: Record<string, string>;
  /** The group versions it serves. */
  readonly apis: readonly GroupVersion[];
  readonly logFile: string;
  /** undefined once it serves what the caller needs, else what it answered instead (for the error). */
  readonly ready: () => Promise<string | undefined>;
  /** What ready waits for, for the error: "metrics.k8s.io served no usage of node x". */
  readonly waitingFor: string;
  /** @default 120_000 */
  readonly timeoutMs?: number;
}

/** An extension API server as a process of this machine; stop() removes it, its objects and its folder. */
export class AggregatedApiServer {
  static async start(node: RealNode, o: AggregatedApiServerOptions): Promise<AggregatedApiServer> {
    const [port] = await freePorts(1);
    const dir = fs.mkdtempSync(path.join(node.workDir, `${o.name}-`));
    for (const [file, text] of Object.entries(o.files ?? {})) fs.writeFileSync(path.join(dir, file), text);
    const kubeconfig = node.cluster.kubeconfig;
    const proc = HostProcess.start(o.binary, [
      `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${node.ip}`, `--secure-port=${port}`, `--cert-dir=${dir}`, ...o.args(dir),
    ], o.logFile);
    const server = new AggregatedApiServer(proc, dir);
    try {
      server.unregister = await registerAggregatedApi(node, o.name, port, o.apis);
      const timeoutMs = o.timeoutMs ?? 120_000;
      let last = '';
      for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(2000)) {
        if (proc.exitCode !== null) throw new Error(`${o.name} exited (${proc.exitCode}):\n${server.logs(30)}`);
        const answer = await o.ready();
        if (answer === undefined) return server;
        last = answer;
      }
      throw new Error(`${o.waitingFor} within ${timeoutMs / 1000} s (last answer: ${last.trim().slice(0, 500)}):\n${server.logs(30)}`);
    } catch (e) {
      await server.stop();
      throw e;
    }
  }

  private unregister?: () => Promise<void>;

  private constructor(private readonly proc: HostProcess, private readonly dir: string) {}

  logs(lines: number): string {
    return this.proc.logs(lines);
  }

  async stop(): Promise<void> {
    await this.unregister?.();
    await this.proc.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
