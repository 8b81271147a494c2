import { checkLabels, NAME_RULES, ValidationError } from '../errors';
import { NetworkPeer } from './network-policy';

/**
 * The ServiceAccount the JobManager and TaskManager pods run as: one the cluster generates
 * (`<name>-flink`, optionally annotated for a cloud IAM binding), or one that already exists
 * in the namespace.
 */
export class ServiceAccountRef {
  /**
   * The generated ServiceAccount `<name>-flink`, with annotations, e.g.
   * `{ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/flink' }` (EKS IRSA) or
   * `{ 'iam.gke.io/gcp-service-account': 'flink@project.iam.gserviceaccount.com' }` (GKE
   * Workload Identity).
   */
  public static generated(annotations: Record<string, string> = {}): ServiceAccountRef {
    return new ServiceAccountRef(undefined, checkLabels('serviceAccount annotations', annotations, false));
  }

  /**
   * A ServiceAccount that exists in the cluster's namespace: none is generated, the pods run as
   * it and, with high availability, the Role for Flink's HA ConfigMaps is bound to it.
   */
  public static existing(name: string): ServiceAccountRef {
    if (typeof name !== 'string' || !NAME_RULES.dnsSubdomain.test(name)) {
      throw new ValidationError('serviceAccount name', name, 'is not a valid ServiceAccount name; expected a DNS-1123 subdomain of at most 253 characters');
    }
    return new ServiceAccountRef(name, {});
  }

  private constructor(
    /** The existing ServiceAccount's name; undefined when the cluster generates one. */
    public readonly existingName: string | undefined,
    /** Annotations of the generated ServiceAccount. */
    public readonly annotations: Record<string, string>,
  ) {}
}

/** How an Ingress path matches (networking.k8s.io/v1 `pathType`). */
export enum IngressPathType {
  PREFIX = 'Prefix',
  EXACT = 'Exact',
  IMPLEMENTATION_SPECIFIC = 'ImplementationSpecific',
}

/** An Ingress in front of the REST API and web UI (the `<name>-rest` Service). */
export interface IngressOptions {
  /** The IngressClass, e.g. `nginx`. @default - the cluster's default IngressClass */
  readonly className?: string;
  /** The host name, e.g. `flink.example.com`. @default - every host */
  readonly host?: string;
  /** @default '/' */
  readonly path?: string;
  /** @default IngressPathType.PREFIX */
  readonly pathType?: IngressPathType;
  /** A Secret with the TLS certificate and key for `host` (type kubernetes.io/tls). @default - no TLS */
  readonly tlsSecretName?: string;
  /** Annotations of the Ingress (the controller's options: authentication, rewrites). @default - none */
  readonly annotations?: Record<string, string>;
  /**
   * The ingress controller's pods: the NetworkPolicy lets them call the REST API (without this
   * rule the controller's requests are dropped). Use `NetworkPeer.pods(...)` with the controller's
   * labels to narrow it to the controller itself.
   * @default NetworkPeer.namespace('ingress-nginx'): every pod of ingress-nginx's usual namespace
   */
  readonly controller?: NetworkPeer;
}

/** An Ingress's options, checked, with defaults. */
export interface ResolvedIngress {
  readonly className?: string;
  readonly host?: string;
  readonly path: string;
  readonly pathType: IngressPathType;
  readonly tlsSecretName?: string;
  readonly annotations: Record<string, string>;
  readonly controller: NetworkPeer;
}

/** The default ingress controller peer. */
export function defaultIngressController(): NetworkPeer {
  return NetworkPeer.namespace('ingress-nginx');
}

export function resolveIngress(o: IngressOptions): ResolvedIngress {
  if (o === null || typeof o !== 'object') throw new ValidationError('ingress', o, 'is invalid; expected IngressOptions such as { host: "flink.example.com" }');
  const path = o.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/') || /\s/.test(path)) {
    throw new ValidationError('ingress.path', path, 'is invalid; expected an absolute URL path such as "/"');
  }
  const pathType = o.pathType ?? IngressPathType.PREFIX;
  if (!Object.values(IngressPathType).includes(pathType)) {
    throw new ValidationError('ingress.pathType', pathType, `is unknown; expected one of ${Object.values(IngressPathType).join(', ')}`);
  }
  if (o.host !== undefined && (typeof o.host !== 'string' || !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(o.host) || o.host.length > 253)) {
    throw new ValidationError('ingress.host', o.host, 'is invalid; expected a DNS name such as "flink.example.com" (no scheme, port or IP address)');
  }
  for (const [f, v] of [['ingress.className', o.className], ['ingress.tlsSecretName', o.tlsSecretName]] as const) {
    if (v !== undefined && (typeof v !== 'string' || !NAME_RULES.dnsSubdomain.test(v))) {
      throw new ValidationError(f, v, 'is not a valid name; expected a DNS-1123 subdomain');
    }
  }
  const controller = o.controller ?? defaultIngressController();
  if (!(controller instanceof NetworkPeer)) {
    throw new ValidationError('ingress.controller', controller, 'is invalid; expected a NetworkPeer such as NetworkPeer.namespace("ingress-nginx")');
  }
  return {
    ...(o.className !== undefined ? { className: o.className } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    path, pathType,
    ...(o.tlsSecretName !== undefined ? { tlsSecretName: o.tlsSecretName } : {}),
    annotations: checkLabels('ingress.annotations', o.annotations, false),
    controller,
  };
}
