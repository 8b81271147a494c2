/**
 * An ingress controller for the tests' real node: Traefik (TRAEFIK_VERSION, its
 * `kubernetesIngress` provider), built from the Go module proxy (test/support/node/traefik) and
 * run as a pod of an image holding only its static binary, under the restricted Pod Security
 * Standard, with the ClusterRole its documentation gives that provider. It reads the Ingresses of
 * its IngressClass (and their TLS Secrets) from the API server and proxies to the Services'
 * endpoints (pod addresses, so a NetworkPolicy sees the controller's pod as the client).
 */
import * as path from 'path';
import { ensureBinaryImage, goBuildCached, goModule, ociArchive, RealNode } from './node';
import { TRAEFIK_VERSION } from './versions';

const MODULE = 'github.com/traefik/traefik/v3';
export const TRAEFIK_IMAGE = `localhost/cdk8s-flink-test/traefik:${TRAEFIK_VERSION}`;
/** Traefik's controller name for IngressClasses. */
export const TRAEFIK_CONTROLLER = 'traefik.io/ingress-controller';
/** The entry points: plain HTTP, HTTPS (every router on it is TLS, certificates by SNI from the Ingresses' Secrets), ping. */
export const TRAEFIK_PORTS = { web: 8000, websecure: 8443, ping: 8080 } as const;

/** The binary, built once, cached; then the image of it, in the tests' buildah store. */
export async function ensureTraefikImage(): Promise<{ name: string; buildMs: Record<string, number> }> {
  const buildMs: Record<string, number> = {};
  const bin = await goBuildCached(goModule('traefik', MODULE, TRAEFIK_VERSION), ['node', 'traefik', TRAEFIK_VERSION], ['traefik'], [`${MODULE}/cmd/traefik`],
    `-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION}`, buildMs);
  await ensureBinaryImage(TRAEFIK_IMAGE, path.join(bin, 'traefik'), ['/traefik'], '65532:65532');
  return { name: TRAEFIK_IMAGE, buildMs };
}

/** Imports the image into the node's containerd. */
export async function importTraefik(node: RealNode): Promise<void> {
  await node.importImage(await ociArchive(TRAEFIK_IMAGE));
}

/** The labels of a controller's pod. */
export const traefikLabels = (ingressClass: string) => ({ 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': ingressClass });

/**
 * One controller: its IngressClass `ingressClass` (controller TRAEFIK_CONTROLLER), a
 * ServiceAccount in `namespace` bound to the shared ClusterRole, and its pod, which serves only
 * Ingresses of that class. Nothing it does leaves the machine (no version check, no usage data).
 */
export function traefikObjects(namespace: string, ingressClass: string, image = TRAEFIK_IMAGE): any[] {
  const name = `traefik-${ingressClass}`;
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'traefik-ingress' },
      rules: [
        { apiGroups: [''], resources: ['services', 'secrets', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
      ],
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'traefik-ingress' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: ingressClass }, spec: { controller: TRAEFIK_CONTROLLER } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: traefikLabels(ingressClass) },
      spec: {
        serviceAccountName: name,
        terminationGracePeriodSeconds: 2,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'traefik',
          image,
          imagePullPolicy: 'Never',
          args: [
            '--global.checkNewVersion=false',
            '--global.sendAnonymousUsage=false',
            '--log.level=INFO',
            '--accessLog=true',
            `--entryPoints.web.address=:${TRAEFIK_PORTS.web}`,
            `--entryPoints.websecure.address=:${TRAEFIK_PORTS.websecure}`,
            '--entryPoints.websecure.http.tls=true',
            `--entryPoints.traefik.address=:${TRAEFIK_PORTS.ping}`,
            '--ping=true',
            '--providers.kubernetesIngress=true',
            `--providers.kubernetesIngress.ingressClass=${ingressClass}`,
            // a backend that drops the connection answers 504 within seconds, not after 30
            '--serversTransport.forwardingTimeouts.dialTimeout=3s',
          ],
          ports: Object.entries(TRAEFIK_PORTS).map(([n, p]) => ({ name: n, containerPort: p })),
          readinessProbe: { httpGet: { path: '/ping', port: TRAEFIK_PORTS.ping }, periodSeconds: 2 },
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        }],
      },
    },
  ];
}
