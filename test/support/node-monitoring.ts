/**
 * The Prometheus Operator and a Prometheus it manages, for the monitoring test on the real node
 * (test/support/node.ts):
 *
 * - the operator (`cmd/operator`) and its config reloader (`cmd/prometheus-config-reloader`) of
 *   PROMETHEUS_OPERATOR_VERSION, built from the Go module proxy (test/support/node/promop) and
 *   cached; the operator runs as a process of this machine against the node's API server (its
 *   kubeconfig, the cluster's administrator), its web listener on 127.0.0.1; it is not a pod;
 * - a stand-in for the official Prometheus image: Prometheus PROMETHEUS_VERSION (the operator's
 *   default version; its Go module is the one the operator's module requires) built from the Go
 *   module proxy (test/support/node/prometheus) as `/bin/prometheus`, the official image's
 *   entrypoint, on a Debian root filesystem. Debian's `prometheus` package, which the local
 *   monitoring tests run, cannot stand in: it is built without Kubernetes service discovery
 *   (`kubernetes_sd_configs` is an unknown field to it). Unlike the official image it has no web
 *   UI assets (not built with `builtinassets`): the HTTP API is all the test uses;
 * - the config reloader's image: its static binary as `/bin/prometheus-config-reloader` (the
 *   command the operator gives that container) on the same root filesystem;
 * - the Prometheus CR in a namespace of its own (Pod Security `restricted`), its ServiceAccount,
 *   and a Role and RoleBinding in each namespace it discovers targets in (pods, services,
 *   endpoints, endpointslices: get, list, watch), nothing cluster-wide.
 */
import * as path from 'path';
import { exec, freePorts, sleep } from './control-plane';
import { HostProcess } from './host-process';
import { commitStandIn, ensureRootfs, ImageBuild, LOCAL_REGISTRY } from './images';
import { buildah, goBuildCached, goModule } from './node';
import { sha } from './node-services';
import { sha256File } from './flink-dist';

/** The Prometheus Operator's release: its binaries and the CRDs in test/support/crds (one version). */
export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.0';
/** Prometheus, as told to the operator (`spec.version`), and its Go module's version. */
export const PROMETHEUS_VERSION = 'v3.13.1';
const PROMETHEUS_MODULE_VERSION = 'v0.313.1';
/**
 * Prometheus's own build tags (plugins/plugin_*.go): every service discovery but Kubernetes's
 * (and the always-built file and HTTP) left out, which the operator's configuration needs alone;
 * the cloud SDKs of the others are most of a cold build's time.
 */
const PROMETHEUS_BUILD_TAGS = ['remove_all_sd', 'enable_kubernetes_sd'];
export const PROMETHEUS_IMAGE = `${LOCAL_REGISTRY}/prometheus:${PROMETHEUS_VERSION}`;
export const RELOADER_IMAGE = `${LOCAL_REGISTRY}/prometheus-config-reloader:${PROMETHEUS_OPERATOR_VERSION}`;
/** The uid of Prometheus's pod (the official image's `nobody`). */
const PROMETHEUS_UID = 65534;
const OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator';

export interface OperatorBinaries {
  operator: string;
  reloader: string;
  prometheus: string;
  /** ms each build took (absent when cached) */
  buildMs: Record<string, number>;
}

/** -ldflags of a stripped binary reporting `version` (Prometheus's common version package). */
const versionLdflags = (version: string) => `-s -w -X github.com/prometheus/common/version.Version=${version.slice(1)}`;

/** The operator, the config reloader and Prometheus, built once each from test/support/node/{promop,prometheus}, cached. */
export async function ensureOperatorBinaries(): Promise<OperatorBinaries> {
  const buildMs: Record<string, number> = {};
  // one after the other: each go build uses every core
  const bin = await goBuildCached(goModule('promop', OPERATOR_MODULE, PROMETHEUS_OPERATOR_VERSION), ['node', 'prometheus-operator', PROMETHEUS_OPERATOR_VERSION],
    ['operator', 'prometheus-config-reloader'], [`${OPERATOR_MODULE}/cmd/operator`, `${OPERATOR_MODULE}/cmd/prometheus-config-reloader`],
    versionLdflags(PROMETHEUS_OPERATOR_VERSION), buildMs);
  const prometheus = await ensurePrometheusBinary(buildMs);
  return { operator: path.join(bin, 'operator'), reloader: path.join(bin, 'prometheus-config-reloader'), prometheus, buildMs };
}

/**
 * Prometheus (PROMETHEUS_VERSION, with Kubernetes service discovery, which Debian's package
 * lacks), built once from test/support/node/prometheus, cached; its build time goes to buildMs.
 */
export async function ensurePrometheusBinary(buildMs: Record<string, number> = {}): Promise<string> {
  const prom = await goBuildCached(goModule('prometheus', 'github.com/prometheus/prometheus', PROMETHEUS_MODULE_VERSION), ['node', 'prometheus', PROMETHEUS_VERSION],
    ['prometheus'], ['github.com/prometheus/prometheus/cmd/prometheus'], versionLdflags(PROMETHEUS_VERSION), buildMs, PROMETHEUS_BUILD_TAGS);
  return path.join(prom, 'prometheus');
}

/** The Prometheus stand-in and the config reloader's image (built when their inputs changed). */
export async function ensureMonitoringImages(bins: OperatorBinaries): Promise<ImageBuild[]> {
  const rootfs = await ensureRootfs('node');
  const { prometheus, reloader } = bins;
  const prom = await commitStandIn(PROMETHEUS_IMAGE, sha(rootfs, sha256File(prometheus)), async (ctr) => {
    await buildah(['copy', '--chmod', '0755', ctr, prometheus, '/bin/prometheus']);
    await buildah(['run', ctr, '--', 'sh', '-c', `mkdir -p /prometheus /etc/prometheus && chown ${PROMETHEUS_UID}:${PROMETHEUS_UID} /prometheus`]);
    await buildah(['config', '--user', `${PROMETHEUS_UID}:${PROMETHEUS_UID}`, '--workingdir', '/prometheus',
      '--entrypoint', JSON.stringify(['/bin/prometheus']), '--cmd', '', ctr]);
  }, rootfs);
  const rel = await commitStandIn(RELOADER_IMAGE, sha(rootfs, sha256File(reloader)), async (ctr) => {
    await buildah(['copy', '--chmod', '0755', ctr, reloader, '/bin/prometheus-config-reloader']);
    await buildah(['config', '--user', `${PROMETHEUS_UID}:${PROMETHEUS_UID}`, '--entrypoint', JSON.stringify(['/bin/prometheus-config-reloader']), '--cmd', '', ctr]);
  }, rootfs);
  return [prom, rel];
}

/** The operator as a process of this machine; stop() ends it (also run when the test process exits). */
export class OperatorProcess {
  static async start(binary: string, kubeconfig: string, namespaces: string[], logFile: string): Promise<OperatorProcess> {
    const [port] = await freePorts(1);
    const proc = HostProcess.start(binary, [
      `--web.listen-address=127.0.0.1:${port}`,
      `--namespaces=${namespaces.join(',')}`,
      `--prometheus-config-reloader=${RELOADER_IMAGE}`,
      '--log-level=info',
    ], logFile, { ...process.env, KUBECONFIG: kubeconfig });
    const p = new OperatorProcess(proc, port);
    // ready once its web listener answers (it starts it after the API checks)
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500)) {
      if (proc.exitCode !== null) throw new Error(`the operator exited (${proc.exitCode}):\n${p.logs(30)}`);
      if ((await exec('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/healthz`], { timeoutMs: 5_000 })).code === 0) return p;
    }
    await p.stop();
    throw new Error(`the operator did not answer on 127.0.0.1:${port} within 60 s:\n${p.logs(30)}`);
  }

  private constructor(private readonly proc: HostProcess, readonly port: number) {}

  get logFile(): string {
    return this.proc.logFile;
  }

  logs(lines: number): string {
    return this.proc.logs(lines);
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

export interface PrometheusOptions {
  /** where Prometheus runs (created restricted by the caller) */
  readonly namespace: string;
  /** the CR's name; its pod is `prometheus-<name>-0` */
  readonly name: string;
  /** the namespaces whose PodMonitors, ServiceMonitors and PrometheusRules it selects and whose pods it scrapes */
  readonly targetNamespaces: string[];
  /** the `release` label the monitors and rules carry (kube-prometheus-stack's convention) */
  readonly releaseLabel: string;
  /** scrape and rule evaluation interval @default '5s' */
  readonly interval?: string;
}

/** The Prometheus CR, its ServiceAccount and the namespaced discovery RBAC, as one List. */
export function prometheusManifests(o: PrometheusOptions): Record<string, unknown> {
  const sa = 'prometheus';
  const selectRelease = { matchLabels: { release: o.releaseLabel } };
  const selectNamespaces = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: o.targetNamespaces }] };
  const rbac = o.targetNamespaces.flatMap((ns) => [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'prometheus-discovery', namespace: ns },
      rules: [
        { apiGroups: [''], resources: ['pods', 'services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'prometheus-discovery', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'prometheus-discovery' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: o.namespace }],
    },
  ]);
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: o.namespace } },
      ...rbac,
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'Prometheus',
        metadata: { name: o.name, namespace: o.namespace },
        spec: {
          image: PROMETHEUS_IMAGE,
          version: PROMETHEUS_VERSION,
          imagePullPolicy: 'Never',
          replicas: 1,
          serviceAccountName: sa,
          scrapeInterval: o.interval ?? '5s',
          evaluationInterval: o.interval ?? '5s',
          podMonitorSelector: selectRelease,
          podMonitorNamespaceSelector: selectNamespaces,
          serviceMonitorSelector: selectRelease,
          serviceMonitorNamespaceSelector: selectNamespaces,
          ruleSelector: selectRelease,
          ruleNamespaceSelector: selectNamespaces,
          probeSelector: null,
          securityContext: {
            runAsNonRoot: true, runAsUser: PROMETHEUS_UID, runAsGroup: PROMETHEUS_UID, fsGroup: PROMETHEUS_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '512Mi' } },
        },
      },
    ],
  };
}
