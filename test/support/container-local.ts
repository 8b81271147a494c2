import * as fs from 'fs';
import * as path from 'path';

/**
 * Turns a synthesized cluster's Kubernetes objects into what local Flink processes need, the
 * way the kubelet and the image would: the ConfigMap's files written into a conf dir (as the
 * init container copies them), job files where the pod mounts them, `$(VAR)` in container args
 * expanded from the container env (kubelet semantics), and container paths of the mounted
 * volumes mapped to local folders.
 */
export interface LocalCluster {
  readonly confDir: string;
  readonly configFile: string;
  readonly jobManager: LocalContainer;
  readonly taskManager: LocalContainer & { readonly replicas: number };
}

export interface LocalContainer {
  /** The container args, expanded and with mount paths mapped. */
  readonly args: string[];
  /** Plain (non-secret) env values. */
  readonly env: Record<string, string>;
}

export function localCluster(objects: any[], name: string, work: string, podEnv: Record<string, string> = { POD_IP: '127.0.0.1', POD_NAMESPACE: 'default' }): LocalCluster {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-config`);
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-jobmanager`);
  const tm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-taskmanager`);
  if (!cm || !jm || !tm) throw new Error(`${name}: ConfigMap or Deployments missing`);
  const confDir = path.join(work, 'conf');
  const jobDir = path.join(work, 'job');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(jobDir, { recursive: true });
  const configFile = cm.data['config.yaml'] !== undefined ? 'config.yaml' : 'flink-conf.yaml';
  // The init container copies exactly the config file and log4j-console.properties.
  const init = jm.spec.template.spec.initContainers[0].command[2] as string;
  for (const f of [configFile, 'log4j-console.properties']) {
    if (!init.includes(`/${f}`)) throw new Error(`init container does not copy ${f}: ${init}`);
    fs.writeFileSync(path.join(confDir, f), cm.data[f]);
  }
  const jobVolume = jm.spec.template.spec.volumes.find((v: any) => v.name === 'flink-job');
  for (const item of jobVolume?.configMap.items ?? []) fs.writeFileSync(path.join(jobDir, item.path), cm.data[item.key]);
  const mounts: Record<string, string> = { '/opt/flink/job': jobDir, '/opt/flink/conf': confDir };

  const container = (d: any, which: string): LocalContainer => {
    const c = d.spec.template.spec.containers.find((x: any) => x.name === which);
    const env: Record<string, string> = {};
    for (const e of c.env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = podEnv.POD_IP;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = podEnv.POD_NAMESPACE;
    }
    const args = (c.args as string[]).map((a) => {
      let out = a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => (v in env ? env[v] : m));
      for (const [from, to] of Object.entries(mounts)) if (out.startsWith(`${from}/`)) out = to + out.slice(from.length);
      return out;
    });
    return { args, env };
  };
  return {
    confDir,
    configFile,
    jobManager: container(jm, 'jobmanager'),
    taskManager: { ...container(tm, 'taskmanager'), replicas: tm.spec.replicas ?? 1 },
  };
}
