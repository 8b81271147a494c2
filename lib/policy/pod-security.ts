/**
 * The Kubernetes "restricted" Pod Security Standard (v1.27+), checked on every pod template
 * of a set of objects: what the API server's Pod Security admission enforces with
 * `pod-security.kubernetes.io/enforce: restricted`. Returns one line per violation.
 */
/** The volume types the restricted standard allows. */
export const RESTRICTED_VOLUME_TYPES: readonly string[] = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

export function restrictedViolations(objects: any[]): string[] {
  const out: string[] = [];
  for (const obj of objects) {
    const pod = podSpecOf(obj);
    if (!pod) continue;
    const where = `${obj.kind}/${obj.metadata?.name}`;
    const psc = pod.securityContext ?? {};
    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push(`${where}: host namespaces are not allowed`);
    for (const v of pod.volumes ?? []) {
      const type = Object.keys(v).find((k) => k !== 'name');
      if (type && !RESTRICTED_VOLUME_TYPES.includes(type)) out.push(`${where}: volume ${v.name} has restricted type ${type}`);
    }
    if (psc.sysctls?.length) out.push(`${where}: sysctls are not allowed`);
    for (const c of containers) {
      const csc = c.securityContext ?? {};
      const cw = `${where} container ${c.name}`;
      if (csc.privileged) out.push(`${cw}: privileged`);
      if (csc.allowPrivilegeEscalation !== false) out.push(`${cw}: securityContext.allowPrivilegeEscalation must be false`);
      const runAsNonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
      if (runAsNonRoot !== true) out.push(`${cw}: runAsNonRoot must be true (pod or container)`);
      const uid = csc.runAsUser ?? psc.runAsUser;
      if (uid === 0) out.push(`${cw}: runAsUser must not be 0`);
      const seccomp = csc.seccompProfile?.type ?? psc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${cw}: seccompProfile.type must be RuntimeDefault or Localhost`);
      const drop: string[] = csc.capabilities?.drop ?? [];
      if (!drop.includes('ALL')) out.push(`${cw}: capabilities must drop ALL`);
      const add: string[] = csc.capabilities?.add ?? [];
      if (add.some((a) => a !== 'NET_BIND_SERVICE')) out.push(`${cw}: capabilities may add only NET_BIND_SERVICE`);
      for (const p of c.ports ?? []) if (p.hostPort) out.push(`${cw}: hostPort ${p.hostPort} is not allowed`);
      if (csc.procMount && csc.procMount !== 'Default') out.push(`${cw}: procMount must be Default`);
      if (csc.seLinuxOptions?.type && !['container_t', 'container_init_t', 'container_kvm_t'].includes(csc.seLinuxOptions.type)) {
        out.push(`${cw}: seLinuxOptions.type ${csc.seLinuxOptions.type} is not allowed`);
      }
    }
  }
  return out;
}

/** The pod spec inside a workload object (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob). */
export function podSpecOf(obj: any): any | undefined {
  switch (obj?.kind) {
    case 'Pod': return obj.spec;
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job': return obj.spec?.template?.spec;
    case 'CronJob': return obj.spec?.jobTemplate?.spec?.template?.spec;
    default: return undefined;
  }
}
