import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Turns a synthesized cluster's Kubernetes objects into what local Flink processes need, the
 * way the kubelet and the image would: the ConfigMap's files written into a conf dir (as the
 * init container copies them), job files where the pod mounts them, `$(VAR)` in container args
 * expanded from the container env (kubelet semantics), env from the ConfigMaps and Secrets among
 * the objects, and container paths of the mounted volumes mapped to local folders.
 */
export interface LocalCluster {
  /** Runs the init container again and re-reads env from the (possibly rewritten) hand-off. */
  prepare(): LocalCluster;
  readonly confDir: string;
  /** Where the hand-off ConfigMap is projected (rewrite it and rerun `prepare` to restore). */
  readonly handoffDir: string;
  readonly configFile: string;
  readonly jobManager: LocalContainer;
  readonly taskManager: LocalContainer & { readonly replicas: number };
}

export interface LocalContainer {
  /** The container args, expanded and with mount paths mapped. */
  readonly args: string[];
  /** The env values: plain ones, and those from Secrets that are among the objects. */
  readonly env: Record<string, string>;
}

export function localCluster(objects: any[], name: string, work: string, podEnv: Record<string, string> = { POD_IP: '127.0.0.1', POD_NAMESPACE: 'default' },
  /** More container paths mapped to local folders (e.g. the image's usrlib, a jar fetch's emptyDir). */
  extraMounts: Record<string, string> = {}): LocalCluster {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-config`);
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-jobmanager`);
  const tm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-taskmanager`);
  if (!cm || !jm || !tm) throw new Error(`${name}: ConfigMap or Deployments missing`);
  const confDir = path.join(work, 'conf');
  const jobDir = path.join(work, 'job');
  const templateDir = path.join(work, 'conf-template');
  const handoffDir = path.join(work, 'handoff');
  for (const d of [confDir, jobDir, templateDir, handoffDir]) fs.mkdirSync(d, { recursive: true });
  const configFile = cm.data['config.yaml'] !== undefined ? 'config.yaml' : 'flink-conf.yaml';
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data as Record<string, string>]));
  // Secrets' values, decoded (`data` is base64, `stringData` plain).
  const secrets = new Map<string, Record<string, string>>(objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, {
    ...Object.fromEntries(Object.entries((o.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
    ...(o.stringData ?? {}),
  }]));
  // ConfigMap volumes as the kubelet projects them.
  const project = (pod: any, volume: string, dir: string) => {
    const v = pod.spec.template.spec.volumes.find((x: any) => x.name === volume);
    if (!v) return;
    const data = configMaps.get(v.configMap.name);
    if (!data) throw new Error(`ConfigMap ${v.configMap.name} of volume ${volume} is not among the objects`);
    const items: { key: string; path: string }[] = v.configMap.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
    for (const i of items) fs.writeFileSync(path.join(dir, i.path), data[i.key]);
  };
  project(jm, 'flink-config-template', templateDir);
  project(jm, 'flink-job', jobDir);
  project(jm, 'flink-handoff', handoffDir);
  // The hand-off is live: env and the init container read what is in its folder now.
  const handoffName = jm.spec.template.spec.volumes.find((x: any) => x.name === 'flink-handoff')?.configMap.name;
  const liveData = (cmName: string): Record<string, string> | undefined => {
    if (cmName !== handoffName) return configMaps.get(cmName);
    return Object.fromEntries(fs.readdirSync(handoffDir).filter((f) => !f.startsWith('.')).map((f) => [f, fs.readFileSync(path.join(handoffDir, f), 'utf8')]));
  };
  // Mount paths, longest first so /opt/flink/conf-template is not taken for /opt/flink/conf.
  const mounts: [string, string][] = [
    ['/opt/flink/conf-template', templateDir], ['/opt/flink/handoff', handoffDir], ['/opt/flink/conf', confDir], ['/opt/flink/job', jobDir],
    ...Object.entries(extraMounts),
  ].sort(([a], [b]) => b.length - a.length) as [string, string][];
  const mapPaths = (s: string) => mounts.reduce((acc, [from, to]) => acc.split(from).join(to), s);
  // Run the init container's own command with the volumes mapped to local folders.
  const init = jm.spec.template.spec.initContainers[0];
  const runInit = () => {
    const r = spawnSync(init.command[0], [init.command[1], mapPaths(init.command[2])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`init container command failed (${r.status}): ${r.stderr}`);
    if (!fs.existsSync(path.join(confDir, configFile))) throw new Error(`init container did not write ${configFile}`);
  };

  const container = (d: any, which: string): LocalContainer => {
    const c = d.spec.template.spec.containers.find((x: any) => x.name === which);
    const env: Record<string, string> = {};
    for (const e of c.env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = podEnv.POD_IP;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = podEnv.POD_NAMESPACE;
      else if (e.valueFrom?.secretKeyRef) {
        // As the kubelet does, from a Secret among the objects (tests add one as `kubectl apply` would);
        // a Secret that is not among them is left out, as before.
        const ref = e.valueFrom.secretKeyRef;
        const data = secrets.get(ref.name);
        if (!data) continue;
        if (data[ref.key] === undefined) throw new Error(`env ${e.name}: Secret ${ref.name} key ${ref.key} not found`);
        env[e.name] = data[ref.key];
      } else if (e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.configMapKeyRef;
        const v = liveData(ref.name)?.[ref.key];
        if (v === undefined) throw new Error(`env ${e.name}: ConfigMap ${ref.name} key ${ref.key} not found`);
        env[e.name] = v;
      }
    }
    const args = (c.args as string[]).map((a) => mapPaths(a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => (v in env ? env[v] : m))));
    return { args, env };
  };
  const prepare = (): LocalCluster => {
    runInit();
    return {
      prepare,
      confDir,
      handoffDir,
      configFile,
      jobManager: container(jm, 'jobmanager'),
      taskManager: { ...container(tm, 'taskmanager'), replicas: tm.spec.replicas ?? 1 },
    };
  };
  return prepare();
}
