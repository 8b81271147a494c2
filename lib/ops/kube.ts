import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as YAML from 'yaml';
import { OpsError } from './errors';

/**
 * The few Kubernetes API calls the hooks make, with the pod's service account (in a cluster)
 * or a kubeconfig (elsewhere). Requests are bounded by a timeout.
 */
export class Kube {
  public static inCluster(): Kube {
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    const host = process.env.KUBERNETES_SERVICE_HOST;
    if (!host || !fs.existsSync(`${dir}/token`)) {
      throw new OpsError('no Kubernetes API access: not in a pod with a service account token, and no --kubeconfig given');
    }
    return new Kube(`https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`,
      { ca: fs.readFileSync(`${dir}/ca.crt`) }, () => fs.readFileSync(`${dir}/token`, 'utf8').trim());
  }

  /** The namespace of the pod this runs in (its service account's). */
  public static podNamespace(): string {
    const file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
    if (!fs.existsSync(file)) throw new OpsError('--namespace is required outside a pod (no service account namespace file)');
    return fs.readFileSync(file, 'utf8').trim();
  }

  public static fromKubeconfig(file: string): Kube {
    let cfg: any;
    try {
      cfg = YAML.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new OpsError(`--kubeconfig: ${file} cannot be read: ${(e as Error).message.split('\n')[0]}`);
    }
    const ctx = cfg.contexts?.find((c: any) => c.name === cfg['current-context'])?.context ?? cfg.contexts?.[0]?.context;
    const cluster = cfg.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
    const user = cfg.users?.find((u: any) => u.name === ctx?.user)?.user ?? {};
    if (!cluster?.server) throw new OpsError(`--kubeconfig: ${file} names no cluster server`);
    const b64 = (s?: string) => (s ? Buffer.from(s, 'base64') : undefined);
    const read = (p?: string) => (p ? fs.readFileSync(p) : undefined);
    return new Kube(cluster.server, {
      ca: b64(cluster['certificate-authority-data']) ?? read(cluster['certificate-authority']),
      cert: b64(user['client-certificate-data']) ?? read(user['client-certificate']),
      key: b64(user['client-key-data']) ?? read(user['client-key']),
    }, user.token ? () => user.token : undefined);
  }

  private constructor(
    private readonly server: string,
    private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer },
    private readonly token?: () => string,
    private readonly timeoutMs = 15_000,
  ) {}

  public request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token()}` } : {}),
        },
        timeout: this.timeoutMs,
      }, (res) => {
        let data = '';
        res.on('data', (d) => { data += d; });
        res.on('end', () => {
          let parsed: any = data;
          try { parsed = data ? JSON.parse(data) : {}; } catch { /* keep text */ }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(new OpsError(`Kubernetes API ${method} ${url.pathname} failed: ${e.message}`)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** A ConfigMap's data, or undefined when it does not exist. */
  public async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const r = await this.request<any>('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new OpsError(`reading ConfigMap ${namespace}/${name} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
    return r.body.data ?? {};
  }

  public async patchConfigMap(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    const r = await this.request<any>('PATCH', `/api/v1/namespaces/${namespace}/configmaps/${name}`, { data }, 'application/merge-patch+json');
    if (r.status !== 200) throw new OpsError(`updating ConfigMap ${namespace}/${name} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
  }

  public async deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    const r = await this.request<any>('DELETE', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
    if (r.status === 404) return false;
    if (r.status !== 200) throw new OpsError(`deleting ConfigMap ${namespace}/${name} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
    return true;
  }

  /** A Deployment's scale subresource (its replicas, and the Deployment's own metadata). */
  private async readScale(namespace: string, deployment: string): Promise<any> {
    const r = await this.request<any>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}/scale`);
    if (r.status !== 200) throw new OpsError(`reading the scale of Deployment ${namespace}/${deployment} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
    return r.body;
  }

  /** A Deployment's replicas, from its scale subresource. */
  public async getScale(namespace: string, deployment: string): Promise<number> {
    return (await this.readScale(namespace, deployment)).spec?.replicas ?? 0;
  }

  public async setScale(namespace: string, deployment: string, replicas: number): Promise<void> {
    const r = await this.request<any>('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}/scale`, { spec: { replicas } }, 'application/merge-patch+json');
    if (r.status !== 200) throw new OpsError(`scaling Deployment ${namespace}/${deployment} to ${replicas} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
  }

  /** A Deployment's uid (its scale subresource carries the Deployment's metadata). */
  public async deploymentUid(namespace: string, deployment: string): Promise<string | undefined> {
    return (await this.readScale(namespace, deployment)).metadata?.uid;
  }

  /**
   * Records an Event (events.k8s.io/v1) regarding a Deployment, as `kubectl describe deployment`
   * and `kubectl get events` show it; the note is cut to the API's 1 KB.
   */
  public async createEvent(namespace: string, regarding: { name: string; uid?: string }, e: { reason: string; action: string; note: string; type: 'Normal' | 'Warning'; controller: string }): Promise<void> {
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const r = await this.request<any>('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      // named as Kubernetes names its own: <object>.<unique hex>
      metadata: { name: `${regarding.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      eventTime: now,
      reportingController: e.controller,
      reportingInstance: `${e.controller}-${process.env.HOSTNAME ?? 'local'}`.slice(0, 128),
      action: e.action, reason: e.reason, type: e.type,
      note: e.note.length > 1024 ? `${e.note.slice(0, 1021)}...` : e.note,
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: regarding.name, ...(regarding.uid ? { uid: regarding.uid } : {}) },
    });
    if (r.status !== 201 && r.status !== 200) throw new OpsError(`recording an Event for Deployment ${namespace}/${regarding.name} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
  }

  /** The pods a label selector picks: name, IP and annotations. */
  public async listPods(namespace: string, labelSelector: string): Promise<Array<{ name: string; ip?: string; annotations: Record<string, string> }>> {
    const r = await this.request<any>('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`);
    if (r.status !== 200) throw new OpsError(`listing pods ${labelSelector} in ${namespace} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
    return (r.body.items ?? []).map((p: any) => ({ name: p.metadata.name, ip: p.status?.podIP, annotations: p.metadata.annotations ?? {} }));
  }

  public async annotatePod(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    const r = await this.request<any>('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}`, { metadata: { annotations } }, 'application/merge-patch+json');
    if (r.status !== 200 && r.status !== 404) throw new OpsError(`annotating pod ${namespace}/${name} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
  }

  public async deleteConfigMaps(namespace: string, labelSelector: string): Promise<void> {
    const r = await this.request<any>('DELETE', `/api/v1/namespaces/${namespace}/configmaps?labelSelector=${encodeURIComponent(labelSelector)}`);
    if (r.status !== 200) throw new OpsError(`deleting ConfigMaps ${labelSelector} in ${namespace} failed: ${r.status} ${r.body?.message ?? ''}`.trim());
  }
}

/**
 * The labels Flink's Kubernetes HA puts on the ConfigMaps it writes (`<cluster id>-cluster-config-map`
 * and `<cluster id>-<job id>-config-map`) on 1.x and 2.x alike: `app=<cluster id>` and
 * `type=flink-native-kubernetes`. Flink 1.x also wrote `configmap-type=high-availability`; 2.x
 * (2.2.1 on a real API server) no longer does, so that label selects nothing there.
 */
export function haConfigMapSelector(clusterId: string): string {
  return `app=${clusterId},type=flink-native-kubernetes`;
}
