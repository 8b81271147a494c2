import { checkLabels, checkName, ValidationError } from '../errors';

/**
 * The pod label the session jobs' submitters carry: `cdk8s-flink/rest-client: <cluster name>`.
 * A session cluster's NetworkPolicy lets pods with it call the REST API.
 */
export const REST_CLIENT_LABEL = 'cdk8s-flink/rest-client';

/** The label Kubernetes (1.22+) puts on every namespace: its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * A source of traffic a cluster's NetworkPolicy lets in: pods (by labels, in the cluster's
 * namespace or in namespaces chosen by labels), every pod of some namespaces, or an address
 * block. One peer is one entry of a NetworkPolicy rule's `from` list.
 */
export class NetworkPeer {
  /**
   * Pods with these labels: in the cluster's namespace, or, with `namespaceLabels`, in the
   * namespaces with those labels (use `{ 'kubernetes.io/metadata.name': 'ns' }` for one namespace).
   */
  public static pods(podLabels: Record<string, string>, namespaceLabels?: Record<string, string>): NetworkPeer {
    const pods = nonEmptyLabels('NetworkPeer.pods podLabels', podLabels);
    const ns = namespaceLabels === undefined ? undefined : nonEmptyLabels('NetworkPeer.pods namespaceLabels', namespaceLabels);
    return new NetworkPeer({ podSelector: { matchLabels: pods }, ...(ns ? { namespaceSelector: { matchLabels: ns } } : {}) });
  }

  /** Every pod of the namespaces with these labels. */
  public static namespaces(namespaceLabels: Record<string, string>): NetworkPeer {
    return new NetworkPeer({ namespaceSelector: { matchLabels: nonEmptyLabels('NetworkPeer.namespaces namespaceLabels', namespaceLabels) } });
  }

  /** Every pod of the namespace with this name. */
  public static namespace(name: string): NetworkPeer {
    return NetworkPeer.namespaces({ [NAMESPACE_NAME_LABEL]: checkName('NetworkPeer.namespace name', name, 63) });
  }

  /**
   * Addresses in a CIDR block, such as a load balancer's or an office network's range. Pod
   * addresses are not stable, so this is for peers outside the cluster.
   */
  public static ipBlock(cidr: string, except: string[] = []): NetworkPeer {
    checkCidr('NetworkPeer.ipBlock cidr', cidr);
    except.forEach((e, i) => checkCidr(`NetworkPeer.ipBlock except[${i}]`, e));
    return new NetworkPeer({ ipBlock: { cidr, ...(except.length ? { except } : {}) } });
  }

  /**
   * The Prometheus pods of kube-prometheus-stack (prometheus-operator labels them
   * `app.kubernetes.io/name: prometheus`) in the namespace the stack is installed in, by
   * convention `monitoring`.
   */
  public static kubePrometheusStack(namespace = 'monitoring'): NetworkPeer {
    checkName('NetworkPeer.kubePrometheusStack namespace', namespace, 63);
    return new NetworkPeer({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } }, namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } });
  }

  private constructor(private readonly peer: Record<string, any>) {}

  /** Whether the peer is an address block: traffic from outside the cluster. */
  public get outsideCluster(): boolean {
    return this.peer.ipBlock !== undefined;
  }

  /** The NetworkPolicyPeer object. @internal */
  public _toPeer(): Record<string, any> {
    return JSON.parse(JSON.stringify(this.peer));
  }
}

/** Who may reach which ports of a Flink cluster's pods. */
export interface NetworkPolicyOptions {
  /**
   * Whether the cluster gets a NetworkPolicy. Without one, any pod in the Kubernetes cluster can
   * reach the unauthenticated Flink RPC, blob, data and REST ports.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Peers allowed to call the REST API (port 8081) besides the cluster's own: the chart's hooks
   * and test pod (application), the session jobs' submitters (session cluster, by the
   * `cdk8s-flink/rest-client` label). An address block on a session cluster needs
   * `allowRemoteCodeExecutionViaRestApi`.
   * @default - none
   */
  readonly restClients?: NetworkPeer[];
  /**
   * Peers allowed to scrape the Prometheus reporter (port 9249); an empty list closes the port.
   * @default [NetworkPeer.kubePrometheusStack()]: Prometheus pods in the namespace `monitoring`
   */
  readonly metricsScrapers?: NetworkPeer[];
}

function nonEmptyLabels(field: string, labels: Record<string, string>): Record<string, string> {
  const checked = checkLabels(field, labels);
  if (Object.keys(checked).length === 0) {
    throw new ValidationError(field, labels, 'is empty; expected at least one label (an empty selector matches every pod or namespace)');
  }
  return checked;
}

function checkCidr(field: string, cidr: unknown): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(String(cidr));
  const ok4 = v4 && v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
  const ok6 = typeof cidr === 'string' && /^[0-9a-fA-F:]+:[0-9a-fA-F:]*\/(\d{1,3})$/.test(cidr) && Number(cidr.split('/')[1]) <= 128;
  if (typeof cidr !== 'string' || !(ok4 || ok6)) {
    throw new ValidationError(field, cidr, 'is invalid; expected a CIDR block such as "10.0.0.0/16"');
  }
  return cidr;
}
