/**
 * A small evaluator of Kubernetes NetworkPolicy ingress semantics (networking.k8s.io/v1), for
 * tests that ask "may this source reach this port of this pod?" without an enforcing network
 * plugin. What it models:
 * - a pod is isolated for ingress when a policy of its namespace selects it (spec.podSelector)
 *   and that policy's policyTypes include Ingress (absent policyTypes mean Ingress);
 * - an isolated pod admits a connection when any rule of any selecting policy admits it; a pod
 *   no policy selects admits everything;
 * - a rule admits a connection when a `from` peer matches (absent or empty `from`: every source)
 *   and a `ports` entry matches (absent or empty: every port); a port entry matches by protocol
 *   (default TCP) and number, or the range port..endPort;
 * - peers: podSelector alone = pods of the policy's namespace; namespaceSelector alone = every
 *   pod of the matching namespaces; both = matching pods in matching namespaces; ipBlock = the
 *   source address in cidr and in no `except` block (IPv4);
 * - label selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); an empty
 *   selector matches everything; namespaces carry `kubernetes.io/metadata.name`.
 * Named ports and traffic from the pod's own node (always allowed) are outside it.
 */

export interface Selector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Where a connection comes from: a pod (namespace and labels, and its address) or an outside address. */
export interface Source {
  readonly namespace?: string;
  readonly namespaceLabels?: Record<string, string>;
  readonly podLabels?: Record<string, string>;
  readonly ip?: string;
}

/** The pod a connection goes to. */
export interface Target {
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

export function selects(sel: Selector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(labels[e.key])) return false; break;
      case 'NotIn': if (has && (e.values ?? []).includes(labels[e.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: throw new Error(`unknown selector operator ${e.operator}`);
    }
  }
  return true;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = Number(bits);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return ((ipv4(ip) & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
}

function namespaceLabels(s: Source): Record<string, string> {
  return { ...(s.namespaceLabels ?? {}), ...(s.namespace ? { 'kubernetes.io/metadata.name': s.namespace } : {}) };
}

function peerMatches(peer: any, policyNamespace: string, s: Source): boolean {
  if (peer.ipBlock) {
    if (!s.ip) return false;
    return inCidr(s.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((e: string) => inCidr(s.ip!, e));
  }
  if (s.namespace === undefined || s.podLabels === undefined) return false; // not a pod
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, namespaceLabels(s))) return false;
  } else if (s.namespace !== policyNamespace) {
    return false;
  }
  return peer.podSelector ? selects(peer.podSelector, s.podLabels) : true;
}

function portMatches(p: any, port: number, protocol: string): boolean {
  if ((p.protocol ?? 'TCP') !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port !== 'number') throw new Error(`named port ${p.port} is not modelled`);
  return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
}

/** Whether `source` may open a connection to `port` of the pod `target`, under `policies`. */
export function ingressAllowed(policies: any[], target: Target, source: Source, port: number, protocol = 'TCP'): boolean {
  const selecting = policies.filter((p) => p.kind === 'NetworkPolicy'
    && (p.metadata.namespace ?? 'default') === target.namespace
    && selects(p.spec.podSelector, target.labels)
    && (p.spec.policyTypes ?? ['Ingress']).includes('Ingress'));
  if (selecting.length === 0) return true;
  return selecting.some((p) => (p.spec.ingress ?? []).some((rule: any) =>
    (!rule.from?.length || rule.from.some((peer: any) => peerMatches(peer, target.namespace, source)))
    && (!rule.ports?.length || rule.ports.some((x: any) => portMatches(x, port, protocol)))));
}
