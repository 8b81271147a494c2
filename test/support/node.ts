/**
 * A real Kubernetes node for the tests' control plane (test/support/control-plane.ts): pods run
 * as containers on this machine, nothing is pulled from a registry.
 *
 * - containerd, runc and the CNI plugins are Debian packages (installed with apt when missing);
 *   kubelet and kube-proxy are built from the same `k8s.io/kubernetes` module and release as the
 *   control plane (test/support/node/k8s), CoreDNS and crictl from the Go module proxy
 *   (test/support/node/tools), a static pause binary for the pod sandboxes; all cached under
 *   cacheDir('node', ...) by a hash of their sources and the Go version.
 * - NetworkPolicies, on request (`networkPolicies`): kube-network-policies of the Go module proxy
 *   (test/support/node/netpol) as a host process beside kubelet, deciding each new pod connection
 *   it reads from a netfilter queue; its nftables table, or on a kernel without the nftables
 *   `queue` expression an iptables NFQUEUE chain of the node, sends them there.
 * - The pause and CoreDNS images are built with buildah from those binaries alone and imported
 *   into containerd, whose CRI plugin then never needs a registry (every workload uses
 *   `IfNotPresent` or `Never` and image garbage collection is off).
 * - Networking: a bridge of this machine only (POD_SUBNET, its gateway the node's address),
 *   the CNI bridge plugin, kube-proxy in iptables mode (NodePorts only on the bridge address),
 *   CoreDNS as a Deployment behind the cluster DNS Service (no upstream: names outside the
 *   cluster domain fail at once). A firewall chain drops forwarding between the bridge and any
 *   other interface (no pod traffic leaves the machine) and the API server's and kubelet's ports
 *   for anything but loopback and the pods.
 *
 * Everything it adds is undone by stop(), and also when the test process exits or is
 * interrupted (the processes die with it; the host changes are undone synchronously on exit) or
 * was killed (a state file under the cache says what a later start must undo first): processes,
 * pod sandboxes and containers, mounts under its work directory, the bridge, the iptables chains
 * of kubelet, kube-proxy (`kube-proxy --cleanup`), CNI and its own, the enforcer's nftables table, the cgroups kubelet made and
 * every sysctl it or kubelet changed (restored to the value it had). One node per machine at a
 * time (a lock under the cache): its bridge, ports and chains are machine-wide.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { cacheDir, withLock } from './cache';
import {
  ControlPlane,
  ControlPlaneOptions,
  ensureControlPlaneBinaries,
  exec,
  ExecResult,
  freePorts,
  goBinary,
  GO_BUILD_FLAGS,
  goEnv,
  goModRequires,
  hashFiles,
  isFile,
  kubeLdflags,
  listFiles,
  mustExec,
  onExitCleanup,
  Proc,
  sleep,
  startControlPlane,
  startProcess,
  stopProcess,
  tail,
  withGoBuild,
} from './control-plane';
import { sha256File } from './flink-dist';
import { COREDNS_VERSION, CRICTL_VERSION, KUBE_NETWORK_POLICIES_VERSION, KUBERNETES_VERSION } from './versions';

export const NODE_NAME = 'cdk8s-flink-node';
/** The bridge: a name and a range used by nothing else on this machine. */
export const BRIDGE = 'cdk8sflink0';
export const POD_SUBNET = '10.244.0.0/24';
export const NODE_IP = '10.244.0.1';
/** The control plane's service range (control-plane.ts) and the cluster DNS Service's address. */
export const CLUSTER_DNS_IP = '10.96.0.10';
const FIREWALL_CHAIN = 'CDK8S-FLINK-NODE';
/** The inet nftables table of the NetworkPolicy enforcer (its own name, removed at the end). */
export const NETPOL_TABLE = 'cdk8s-flink-netpol';
/** The netfilter queue the enforcer reads (an unusual number: the queue is machine-wide). */
const NETPOL_QUEUE = 7311;
/** The mangle chain that hands new pod connections to the enforcer's queue (see startRealNode). */
const NETPOL_CHAIN = `${FIREWALL_CHAIN}-NETPOL`;
const KUBELET_PORT = 10250;
export const PAUSE_IMAGE = `localhost/cdk8s-flink/pause:${KUBERNETES_VERSION}`;
export const COREDNS_IMAGE = `localhost/cdk8s-flink/coredns:${COREDNS_VERSION}`;

/** Debian packages the node and the image builds need, by the command that shows they are there. */
const PACKAGES: Record<string, string> = {
  containerd: '/usr/bin/containerd',
  runc: '/usr/sbin/runc',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  iptables: '/usr/sbin/iptables',
  conntrack: '/usr/sbin/conntrack',
  buildah: '/usr/bin/buildah',
  mmdebstrap: '/usr/bin/mmdebstrap',
  uidmap: '/usr/bin/newuidmap',
};

/** Sysctls the node sets (bridge and forwarding) or kubelet sets (its kernel tunables when
 *  protectKernelDefaults is off): each is restored to the value it had. */
const SYSCTLS_SET: Record<string, string> = {
  'net/ipv4/ip_forward': '1',
  'net/bridge/bridge-nf-call-iptables': '1',
};
const SYSCTLS_KUBELET = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes', 'net/ipv4/conf/all/route_localnet'];

// ---------------------------------------------------------------------------------------------
// packages and binaries

/** Installs the Debian packages the node needs when one is missing (`apt-get update` first);
 *  `extra` adds more, by the same kind of map. */
export async function ensureNodePackages(extra: Record<string, string> = {}): Promise<void> {
  const missing = () => Object.entries({ ...PACKAGES, ...extra }).filter(([, bin]) => !isFile(bin)).map(([p]) => p);
  if (missing().length === 0) return;
  await withLock('apt', 30 * 60_000, async () => {
    const need = missing();
    if (need.length === 0) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await mustExec('apt-get', ['update', '-q'], { env, timeoutMs: 10 * 60_000 });
    await mustExec('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...need], { env, timeoutMs: 20 * 60_000 });
  });
  if (missing().length > 0) throw new Error(`apt-get install did not provide ${missing().join(', ')}`);
}

export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  pause: string;
  coredns: string;
  crictl: string;
  /** ms each build took (absent when cached) */
  buildMs: Record<string, number>;
}

export function nodeGoDir(): string {
  for (const dir of [path.join(__dirname, 'node'), path.join(__dirname, '..', '..', '..', 'test', 'support', 'node')]) {
    if (fs.existsSync(path.join(dir, 'k8s', 'go.mod'))) return dir;
  }
  throw new Error(`test/support/node/k8s/go.mod not found (from ${__dirname})`);
}

/** The Go module of test/support/node/<dir>, checked to require `module` at `version`. */
export function goModule(dir: string, module: string, version: string): string {
  const mod = path.join(nodeGoDir(), dir);
  if (goModRequires(path.join(mod, 'go.mod')).get(module) !== version) {
    throw new Error(`${mod}/go.mod does not require ${module} ${version}: run ${mod}/gen-go-mod.sh ${version}`);
  }
  return mod;
}

/** Builds one Go module's binaries into cacheDir(...cache)/bin unless a build of the same
 *  sources, Go version and flags is there. `tags`: build tags (e.g. to leave out plugins). */
export async function goBuildCached(mod: string, cache: string[], names: string[], pkgs: string[], ldflags: string, buildMs: Record<string, number>, tags: string[] = []): Promise<string> {
  const go = goBinary();
  const goVersion = (await mustExec(go, ['env', 'GOVERSION'])).stdout.trim();
  const tagArgs = tags.length ? [`-tags=${tags.join(',')}`] : [];
  const key = hashFiles(listFiles(mod).filter((f) => /(\.go|go\.mod|go\.sum)$/.test(f)), `${goVersion}\n${ldflags}\n${pkgs.join(' ')}${tags.length ? `\n${tagArgs[0]}` : ''}`);
  const dir = cacheDir(...cache);
  const bin = path.join(dir, 'bin');
  const stamp = path.join(bin, 'stamp');
  const ready = () => names.every((n) => isFile(path.join(bin, n))) && isFile(stamp) && fs.readFileSync(stamp, 'utf8').trim() === key;
  if (ready()) return bin;
  await withLock(cache.join('-'), 90 * 60_000, async () => {
    if (ready()) return;
    const t = Date.now();
    const tmp = fs.mkdtempSync(path.join(dir, '.tmp-'));
    try {
      await mustExec(go, ['mod', 'download'], { cwd: mod, env: goEnv(), timeoutMs: 30 * 60_000 });
      await withGoBuild(() => mustExec(go, ['build', ...GO_BUILD_FLAGS, ...tagArgs, `-ldflags=${ldflags}`, '-o', `${tmp}/`, ...pkgs], { cwd: mod, env: goEnv(), timeoutMs: 80 * 60_000 }));
      fs.writeFileSync(path.join(tmp, 'stamp'), `${key}\n`);
      fs.rmSync(bin, { recursive: true, force: true });
      fs.renameSync(tmp, bin);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    buildMs[cache.join('/')] = Date.now() - t;
  });
  return bin;
}

let binariesPromise: Promise<NodeBinaries> | undefined;

/** kubelet, kube-proxy and pause (test/support/node/k8s, at KUBERNETES_VERSION), CoreDNS and
 *  crictl (test/support/node/tools): built once, cached. */
export function ensureNodeBinaries(): Promise<NodeBinaries> {
  if (!binariesPromise) {
    binariesPromise = (async () => {
      const src = nodeGoDir();
      const k8sMod = path.join(src, 'k8s');
      const toolsMod = path.join(src, 'tools');
      if (goModRequires(path.join(k8sMod, 'go.mod')).get('k8s.io/kubernetes') !== KUBERNETES_VERSION) {
        throw new Error(`${k8sMod}/go.mod does not require k8s.io/kubernetes ${KUBERNETES_VERSION} (versions.ts): run ${k8sMod}/gen-go-mod.sh ${KUBERNETES_VERSION}`);
      }
      const tools = goModRequires(path.join(toolsMod, 'go.mod'));
      if (tools.get('github.com/coredns/coredns') !== COREDNS_VERSION || tools.get('sigs.k8s.io/cri-tools') !== CRICTL_VERSION) {
        throw new Error(`${toolsMod}/go.mod does not require CoreDNS ${COREDNS_VERSION} and cri-tools ${CRICTL_VERSION} (versions.ts): run ${toolsMod}/gen-go-mod.sh ${COREDNS_VERSION} ${CRICTL_VERSION} ${KUBERNETES_VERSION}`);
      }
      const buildMs: Record<string, number> = {};
      // one after the other: each go build uses every core
      const k8sBin = await goBuildCached(k8sMod, ['node', 'k8s', KUBERNETES_VERSION], ['kubelet', 'kube-proxy', 'pause'], ['k8s.io/kubernetes/cmd/kubelet', 'k8s.io/kubernetes/cmd/kube-proxy', './cmd/pause'], kubeLdflags(), buildMs);
      const toolsBin = await goBuildCached(toolsMod, ['node', 'tools', `${COREDNS_VERSION}-${CRICTL_VERSION}`], ['coredns', 'crictl'], ['./cmd/coredns', 'sigs.k8s.io/cri-tools/cmd/crictl'], '-s -w', buildMs);
      return {
        kubelet: path.join(k8sBin, 'kubelet'),
        kubeProxy: path.join(k8sBin, 'kube-proxy'),
        pause: path.join(k8sBin, 'pause'),
        coredns: path.join(toolsBin, 'coredns'),
        crictl: path.join(toolsBin, 'crictl'),
        buildMs,
      };
    })();
    binariesPromise.catch(() => (binariesPromise = undefined));
  }
  return binariesPromise;
}

let enforcerPromise: Promise<{ path: string; buildMs: Record<string, number> }> | undefined;

/**
 * The NetworkPolicy enforcer of the node: `sigs.k8s.io/kube-network-policies` at
 * KUBE_NETWORK_POLICIES_VERSION (nftables + NFQUEUE), its controller run from a command of our
 * own that takes a kubeconfig (test/support/node/netpol): built once, cached.
 */
export function ensureNetworkPolicyEnforcer(): Promise<{ path: string; buildMs: Record<string, number> }> {
  if (!enforcerPromise) {
    enforcerPromise = (async () => {
      const mod = path.join(nodeGoDir(), 'netpol');
      if (goModRequires(path.join(mod, 'go.mod')).get('sigs.k8s.io/kube-network-policies') !== KUBE_NETWORK_POLICIES_VERSION) {
        throw new Error(`${mod}/go.mod does not require sigs.k8s.io/kube-network-policies ${KUBE_NETWORK_POLICIES_VERSION} (versions.ts): run ${mod}/gen-go-mod.sh ${KUBE_NETWORK_POLICIES_VERSION}`);
      }
      const buildMs: Record<string, number> = {};
      const bin = await goBuildCached(mod, ['node', 'netpol', KUBE_NETWORK_POLICIES_VERSION], ['kube-network-policies'], ['./cmd/kube-network-policies'], '-s -w', buildMs);
      return { path: path.join(bin, 'kube-network-policies'), buildMs };
    })();
    enforcerPromise.catch(() => (enforcerPromise = undefined));
  }
  return enforcerPromise;
}

// ---------------------------------------------------------------------------------------------
// images with buildah (a store of the project's own under the cache)

/** buildah with the project's image store (cacheDir('buildah')), never the machine's. */
export function buildahArgs(args: string[]): string[] {
  const root = cacheDir('buildah');
  return ['--root', path.join(root, 'storage'), '--runroot', path.join(root, 'run'), '--storage-driver', 'overlay', ...args];
}

export async function buildah(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  await ensureNodePackages();
  return mustExec('buildah', buildahArgs(args), { cwd: opts.cwd, timeoutMs: opts.timeoutMs ?? 10 * 60_000, env: { ...process.env, BUILDAH_ISOLATION: 'chroot' } });
}

/** The label every image the tests build carries: a hash of its inputs. */
export const INPUTS_LABEL = 'org.cdk8s-flink.test.inputs';

/** The inputs hash an image of the store was built from, or undefined when it is not there. */
export async function imageInputs(name: string): Promise<string | undefined> {
  const r = await exec('buildah', buildahArgs(['inspect', '--type', 'image', name]), { timeoutMs: 60_000 });
  if (r.code !== 0) return undefined;
  const info = JSON.parse(r.stdout) as { OCIv1?: { config?: { Labels?: Record<string, string> } } };
  return info.OCIv1?.config?.Labels?.[INPUTS_LABEL];
}

/** An image of a single static binary (no shell, no libc), as a non-root user. */
export async function ensureBinaryImage(name: string, binary: string, entrypoint: string[], user: string): Promise<void> {
  const inputs = crypto.createHash('sha256').update(sha256File(binary)).update(JSON.stringify([entrypoint, user])).digest('hex').slice(0, 16);
  if ((await imageInputs(name)) === inputs) return;
  await withLock('buildah-binary-images', 10 * 60_000, async () => {
    if ((await imageInputs(name)) === inputs) return;
    const ctr = (await buildah(['from', 'scratch'])).stdout.trim();
    try {
      await buildah(['copy', '--chmod', '0755', ctr, binary, `/${path.basename(binary)}`]);
      await buildah(['config', '--entrypoint', JSON.stringify(entrypoint), '--cmd', '', '--user', user, '--label', `${INPUTS_LABEL}=${inputs}`, ctr]);
      await buildah(['commit', '--rm', ctr, name]);
    } catch (e) {
      await exec('buildah', buildahArgs(['rm', ctr]));
      throw e;
    }
  });
}

/** Writes an image of the store as an OCI archive (cached by the image's id) and returns its path. */
export async function ociArchive(name: string): Promise<string> {
  const id = (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', name])).stdout.trim();
  const file = path.join(cacheDir('images', 'oci'), `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${id.slice(0, 16)}.tar`);
  if (isFile(file)) return file;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  try {
    await buildah(['push', name, `oci-archive:${tmp}:${name}`]);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// host changes and their undoing

/** What a node changed on the host; written to a state file before each change is made. */
interface HostState {
  pid: number;
  workDir: string;
  /** sysctl -> the value it had */
  sysctls: Record<string, string>;
  bridge?: boolean;
  firewall?: boolean;
  kubeProxy?: string;
  runcRoot?: string;
  containerdSocket?: string;
  /** the NetworkPolicy enforcer's nftables table */
  nftTable?: string;
  /** machine-wide directories the components write to whatever they are told, that did not
   *  exist before the node started (removed at the end) */
  newDirs?: string[];
}

/** Where kubelet, containerd and CNI write regardless of the work directory. */
const FIXED_DIRS = ['/var/log/containers', '/var/log/pods', '/var/lib/cni', '/var/lib/kubelet', '/run/containerd', '/etc/cni', '/etc/kubernetes'];

function stateFile(): string {
  return path.join(cacheDir('node'), 'host-state.json');
}

function saveState(s: HostState): void {
  const f = stateFile();
  fs.writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2));
  fs.renameSync(`${f}.tmp`, f);
}

function readSysctl(name: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(name: string, value: string): void {
  fs.writeFileSync(`/proc/sys/${name}`, `${value}\n`);
}

const quiet = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  } catch {
    return '';
  }
};

/** Processes whose command line contains `needle` (by pid; never by a name pattern). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Removes the iptables chains whose names start with one of `prefixes`, with the rules of
 *  other chains that jump to them, in the filter, nat and mangle tables. */
function removeChains(prefixes: string[]): void {
  const ours = (c: string) => prefixes.some((p) => c.startsWith(p));
  for (const table of ['filter', 'nat', 'mangle']) {
    const dump = quiet('iptables-save', ['-t', table]);
    const chains = [...dump.matchAll(/^:(\S+) /gm)].map((m) => m[1]).filter(ours);
    if (chains.length === 0) continue;
    for (const m of dump.matchAll(/^-A (\S+) (.*)$/gm)) {
      const target = /-[jg] (\S+)/.exec(m[2])?.[1];
      if (target && ours(target) && !ours(m[1])) {
        // an iptables-save rule line is valid `iptables -D` arguments (quoted comments aside)
        const args = m[2].match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"(.*)"$/, '$1'));
        quiet('iptables', ['-t', table, '-D', m[1], ...args]);
      }
    }
    for (const c of chains) quiet('iptables', ['-t', table, '-F', c]);
    for (const c of chains) quiet('iptables', ['-t', table, '-X', c]);
  }
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = mp.replace(/\\040/g, ' ');
    if (p === dir || p.startsWith(`${dir}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

function removeCgroups(): void {
  const root = '/sys/fs/cgroup';
  const rmTree = (dir: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      // still in use, or not ours
    }
  };
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync(root);
  } catch {
    return;
  }
  // a process still in the node's pod cgroups is one of its containers that outlived runc
  const killIn = (dir: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
      for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
    for (const e of entries) if (e.isDirectory()) killIn(path.join(dir, e.name));
  };
  for (const c of controllers) killIn(path.join(root, c, 'kubepods'));
  // (a killed process leaves its cgroup a moment later: synchronous waits, for the exit hook)
  for (let i = 0; i < 30; i++) {
    for (const c of controllers) rmTree(path.join(root, c, 'kubepods'));
    if (!controllers.some((c) => fs.existsSync(path.join(root, c, 'kubepods')))) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/**
 * Undoes what a node did to the host, synchronously (so it also runs in an exit handler):
 * containers and their shims, mounts, kube-proxy's rules, every KUBE-/CNI- chain and the node's
 * firewall chain, the bridge, kubelet's cgroups, sysctls, the work directory.
 */
function undoHost(s: HostState): void {
  if (s.runcRoot && fs.existsSync(s.runcRoot)) {
    // the shim keeps each containerd namespace's containers under <Root>/<namespace>
    for (const ns of fs.readdirSync(s.runcRoot)) {
      const root = path.join(s.runcRoot, ns);
      for (const id of quiet('runc', ['--root', root, 'list', '-q']).split('\n').filter(Boolean)) quiet('runc', ['--root', root, 'delete', '-f', id]);
    }
  }
  if (s.containerdSocket) {
    // the shims outlive containerd (they are their own session): end those of this containerd
    for (const pid of pidsWith(s.containerdSocket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const mp of mountsUnder(s.workDir)) quiet('umount', ['-l', mp]);
  if (s.kubeProxy && isFile(s.kubeProxy)) quiet(s.kubeProxy, ['--cleanup']);
  removeChains(['KUBE-', 'CNI-', FIREWALL_CHAIN]);
  if (s.nftTable && quiet('nft', ['list', 'table', 'inet', s.nftTable]) !== '') quiet('nft', ['delete', 'table', 'inet', s.nftTable]);
  if (s.bridge) quiet('ip', ['link', 'delete', BRIDGE]);
  removeCgroups();
  for (const [k, v] of Object.entries(s.sysctls)) {
    try {
      if (readSysctl(k) !== v) writeSysctl(k, v);
    } catch {
      // not writable here
    }
  }
  // kubelet's links to the containers' logs (it removes them only with the containers)
  try {
    for (const l of fs.readdirSync('/var/log/containers')) {
      const p = path.join('/var/log/containers', l);
      if (fs.lstatSync(p).isSymbolicLink() && fs.readlinkSync(p).startsWith(`${s.workDir}/`)) fs.rmSync(p, { force: true });
    }
  } catch {
    // none
  }
  for (const d of s.newDirs ?? []) rmQuietly(d);
  // a mount made meanwhile (by a component that was still running) goes too
  for (let i = 0; i < 3 && fs.existsSync(s.workDir); i++) {
    for (const mp of mountsUnder(s.workDir)) quiet('umount', ['-l', mp]);
    rmQuietly(s.workDir);
  }
  if (!fs.existsSync(s.workDir)) fs.rmSync(stateFile(), { force: true });
}

function rmQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    // busy: the caller tries again, or the next start does (the state file stays)
  }
}

/** A state file of a node whose process is gone (killed): undo what it left. */
function undoStale(): void {
  let s: HostState;
  try {
    s = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as HostState;
  } catch {
    return;
  }
  try {
    process.kill(s.pid, 0);
    throw new Error(`a real node of process ${s.pid} is still running (${stateFile()})`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
  undoHost(s);
}

// ---------------------------------------------------------------------------------------------
// the node

export interface RealNode {
  readonly name: string;
  readonly ip: string;
  /** The cluster the node is part of (its API server serves the node's pods). */
  readonly cluster: ControlPlane;
  readonly workDir: string;
  /** containerd's socket, for ctr and crictl. */
  readonly containerdSocket: string;
  /** Imports an OCI archive into containerd's k8s.io namespace (the name it carries is kept). */
  importImage(archive: string): Promise<void>;
  /** crictl against the node's containerd; never rejects. */
  crictl(args: string[]): Promise<ExecResult>;
  /** Pods with their states, the events and the last lines of every container's log, of a
   *  namespace: what a failing test prints. */
  diagnostics(namespace: string): Promise<string>;
  /** The node's own logs (containerd, kubelet, kube-proxy) and the control plane's. */
  logs(lines?: number): string;
  /** How long each start-up phase took, in ms. */
  readonly timings: Record<string, number>;
  /** With `networkPolicies`: what sends new pod connections to the enforcer's queue, its own
   *  nftables rules or (a kernel without the nftables `queue` expression) iptables NFQUEUE. */
  readonly networkPolicySteering?: 'nftables' | 'iptables';
  /** Stops everything and undoes every host change. */
  stop(): Promise<void>;
}

export interface RealNodeOptions {
  /** Options of the control plane (realNode is set by the node). */
  controlPlane?: Omit<ControlPlaneOptions, 'realNode'>;
  /** Bound on the start-up, binaries and images already built (default 240 s). */
  startTimeoutMs?: number;
  /** Bound on waiting for another node of this machine to stop (default 60 min). */
  lockTimeoutMs?: number;
  /**
   * Enforce NetworkPolicies: kube-network-policies (ensureNetworkPolicyEnforcer) as a host
   * process beside kubelet, with the nftables table NETPOL_TABLE (Debian's nftables is installed
   * for the undoing) or the iptables steering described at its start-up. Without it the CNI
   * bridge lets every pod reach every other.
   * @default false
   */
  networkPolicies?: boolean;
}

/**
 * Starts a control plane with a real node: host setup, the API server advertised on the bridge,
 * containerd, kubelet, kube-proxy and CoreDNS. Resolves when the node is Ready and CoreDNS
 * answers; builds what it needs first (packages, binaries, the pause and CoreDNS images).
 */
export async function startRealNode(opts: RealNodeOptions = {}): Promise<RealNode> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (name: string) => {
    timings[name] = Date.now() - t;
    t = Date.now();
  };
  await ensureNodePackages(opts.networkPolicies ? { nftables: '/usr/sbin/nft' } : {});
  lap('packages');
  const [bins, cpBins] = await Promise.all([ensureNodeBinaries(), ensureControlPlaneBinaries()]);
  const enforcer = opts.networkPolicies ? (await ensureNetworkPolicyEnforcer()).path : undefined;
  lap('binaries');
  await ensureBinaryImage(PAUSE_IMAGE, bins.pause, ['/pause'], '65535:65535');
  await ensureBinaryImage(COREDNS_IMAGE, bins.coredns, ['/coredns'], '65532:65532');
  const archives = await Promise.all([ociArchive(PAUSE_IMAGE), ociArchive(COREDNS_IMAGE)]);
  lap('node images');

  // one node per machine: hold the lock until stop()
  let release!: () => void;
  let acquired!: () => void;
  const isAcquired = new Promise<void>((r) => (acquired = r));
  const lockHeld = withLock('real-node', opts.lockTimeoutMs ?? 60 * 60_000, () => {
    acquired();
    return new Promise<void>((r) => (release = r));
  });
  await Promise.race([isAcquired, lockHeld]);
  lap('lock');

  undoStale();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-node-'));
  const state: HostState = { pid: process.pid, workDir: work, sysctls: {} };
  const procs: Proc[] = [];
  // on exit or interrupt: after the components are killed (kubelet and containerd would redo
  // what is being undone)
  const unregister = onExitCleanup(() => undoHost(state));
  saveState(state);
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir);
  let cp: ControlPlane | undefined;
  let stopped = false;
  let networkPolicySteering: 'nftables' | 'iptables' | undefined;
  const nodeLogs = (lines = 40) => procs.map((p) => `===== ${p.name} (${p.exitCode === undefined ? 'running' : `exited ${p.exitCode}`})\n${tail(p.log, lines)}`).join('\n');

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // kube-proxy and kubelet first (no pod comes back), then the pods, containerd, the rest
    for (const name of ['coredns', 'kube-network-policies', 'kube-proxy', 'kubelet']) {
      const p = procs.find((x) => x.name === name);
      if (p) await stopProcess(p);
    }
    if (isFile(bins.crictl) && fs.existsSync(socket)) {
      await exec(bins.crictl, ['--runtime-endpoint', `unix://${socket}`, 'rmp', '--all', '--force'], { timeoutMs: 120_000 });
    }
    for (const p of [...procs].reverse()) await stopProcess(p);
    if (cp) await cp.stop();
    undoHost(state);
    unregister();
    release?.();
    await lockHeld.catch(() => undefined);
  };

  const socket = path.join(work, 'containerd', 'containerd.sock');
  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 240_000);
    const waitFor = async (what: string, check: () => Promise<boolean>) => {
      for (;;) {
        const dead = procs.find((p) => p.exitCode !== undefined);
        if (dead) throw new Error(`${dead.name} exited (${dead.exitCode}) while waiting for ${what}`);
        try {
          if (await check()) return;
        } catch {
          // not yet
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
      }
    };

    // --- host: sysctls (their values first), the bridge, the firewall
    for (const k of [...Object.keys(SYSCTLS_SET), ...SYSCTLS_KUBELET]) {
      const v = readSysctl(k);
      if (v !== undefined) state.sysctls[k] = v;
    }
    state.newDirs = FIXED_DIRS.filter((d) => !fs.existsSync(d));
    state.runcRoot = path.join(work, 'runc');
    state.containerdSocket = socket;
    state.kubeProxy = bins.kubeProxy;
    if (enforcer) state.nftTable = NETPOL_TABLE;
    state.bridge = true;
    state.firewall = true;
    saveState(state);
    for (const [k, v] of Object.entries(SYSCTLS_SET)) writeSysctl(k, v);
    await mustExec('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await mustExec('ip', ['addr', 'add', `${NODE_IP}/${POD_SUBNET.split('/')[1]}`, 'dev', BRIDGE]);
    await mustExec('ip', ['link', 'set', BRIDGE, 'up']);
    lap('bridge');

    // --- the control plane, its API server reachable from the pods
    cp = await startControlPlane({ nodes: 0, ...opts.controlPlane, realNode: { name: NODE_NAME, advertiseAddress: NODE_IP } });
    const access = cp.realNode!;
    lap('control plane');
    const ipt = (args: string[]) => mustExec('iptables', ['-w', '5', ...args]);
    await ipt(['-N', FIREWALL_CHAIN]);
    for (const port of [access.apiPort, KUBELET_PORT]) {
      await ipt(['-A', FIREWALL_CHAIN, '-p', 'tcp', '--dport', String(port), '-i', 'lo', '-j', 'RETURN']);
      await ipt(['-A', FIREWALL_CHAIN, '-p', 'tcp', '--dport', String(port), '-s', POD_SUBNET, '-i', BRIDGE, '-j', 'RETURN']);
      await ipt(['-A', FIREWALL_CHAIN, '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
    }
    // nothing is forwarded between the bridge and another interface
    await ipt(['-A', FIREWALL_CHAIN, '-i', BRIDGE, '!', '-o', BRIDGE, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']);
    await ipt(['-A', FIREWALL_CHAIN, '-o', BRIDGE, '!', '-i', BRIDGE, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']);
    await ipt(['-I', 'INPUT', '1', '-j', FIREWALL_CHAIN]);
    await ipt(['-I', 'FORWARD', '1', '-j', FIREWALL_CHAIN]);
    lap('firewall');

    // --- containerd (its own root, state, runc root, CNI configuration)
    const cniConf = path.join(work, 'cni', 'net.d');
    fs.mkdirSync(cniConf, { recursive: true });
    fs.writeFileSync(
      path.join(cniConf, '10-cdk8s-flink.conflist'),
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: 'cdk8s-flink',
          plugins: [
            {
              type: 'bridge',
              bridge: BRIDGE,
              isGateway: true,
              // no masquerading: no pod traffic leaves the machine
              ipMasq: false,
              hairpinMode: true,
              ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(work, 'cni', 'ipam') },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        },
        null,
        2,
      ),
    );
    const containerdConf = path.join(work, 'containerd.toml');
    fs.writeFileSync(
      containerdConf,
      [
        'version = 2',
        `root = "${path.join(work, 'containerd', 'root')}"`,
        `state = "${path.join(work, 'containerd', 'state')}"`,
        'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
        '[grpc]',
        `  address = "${socket}"`,
        '[ttrpc]',
        `  address = "${socket}.ttrpc"`,
        '[debug]',
        '  address = ""',
        '[metrics]',
        '  address = ""',
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        // root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj fails every sandbox
        '  restrict_oom_score_adj = true',
        '  enable_selinux = false',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        `        Root = "${state.runcRoot}"`,
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${cniConf}"`,
        '    max_conf_num = 1',
        '',
      ].join('\n'),
    );
    procs.push(startProcess(cpBins.cpHelper, 'containerd', '/usr/bin/containerd', ['--config', containerdConf, '--log-level', 'warn'], logDir));
    const ctr = (args: string[], timeoutMs = 300_000) => mustExec('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { timeoutMs });
    await waitFor('containerd', async () => (await exec('ctr', ['--address', socket, 'version'], { timeoutMs: 5_000 })).code === 0);
    for (const a of archives) await ctr(['images', 'import', a]);
    lap('containerd');

    // --- kubelet
    const [healthzPort, proxyHealthz, proxyMetrics] = await freePorts(3);
    const kubeletDir = path.join(work, 'kubelet');
    fs.mkdirSync(kubeletDir, { recursive: true });
    const kubeletConf = path.join(work, 'kubelet.yaml');
    fs.writeFileSync(
      kubeletConf,
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          address: NODE_IP,
          port: KUBELET_PORT,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort,
          authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: access.caFile } },
          authorization: { mode: 'Webhook' },
          containerRuntimeEndpoint: `unix://${socket}`,
          // cgroup v1 without systemd as PID 1 (containerd 1.6 does not report its driver)
          cgroupDriver: 'cgroupfs',
          failCgroupV1: false,
          failSwapOn: false,
          clusterDNS: [CLUSTER_DNS_IP],
          clusterDomain: 'cluster.local',
          resolvConf: '',
          // images cannot be pulled again: never collect them; evict only when really short
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          evictionHard: { 'memory.available': '256Mi', 'nodefs.available': '2%', 'imagefs.available': '2%', 'nodefs.inodesFree': '2%' },
          serializeImagePulls: false,
          podLogsDir: path.join(work, 'pod-logs'),
          // a test's client pod may print every record of a topic (the exactly-once checks read
          // its log whole): no rotation below that
          containerLogMaxSize: '64Mi',
          staticPodPath: '',
          registerNode: true,
          maxPods: 60,
          syncFrequency: '10s',
          fileCheckFrequency: '10s',
          nodeStatusUpdateFrequency: '5s',
        },
        null,
        2,
      ),
    );
    procs.push(
      startProcess(
        cpBins.cpHelper,
        'kubelet',
        bins.kubelet,
        [
          `--config=${kubeletConf}`,
          `--kubeconfig=${access.kubeletKubeconfig}`,
          `--root-dir=${kubeletDir}`,
          `--cert-dir=${path.join(work, 'kubelet-pki')}`,
          `--hostname-override=${NODE_NAME}`,
          `--node-ip=${NODE_IP}`,
          '--v=1',
        ],
        logDir,
      ),
    );
    await waitFor(`node ${NODE_NAME} Ready`, async () => {
      const r = await cp!.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { timeoutMs: 10_000 });
      return r.stdout.trim() === 'True';
    });
    lap('kubelet');

    // --- kube-proxy
    const proxyConf = path.join(work, 'kube-proxy.yaml');
    fs.writeFileSync(
      proxyConf,
      JSON.stringify(
        {
          apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
          kind: 'KubeProxyConfiguration',
          clientConnection: { kubeconfig: access.kubeProxyKubeconfig },
          mode: 'iptables',
          hostnameOverride: NODE_NAME,
          clusterCIDR: POD_SUBNET,
          bindAddress: NODE_IP,
          healthzBindAddress: `127.0.0.1:${proxyHealthz}`,
          metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
          nodePortAddresses: [`${NODE_IP}/32`],
          // 0: leave the machine's conntrack sysctls alone
          conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
          iptables: { syncPeriod: '10s', minSyncPeriod: '0s' },
        },
        null,
        2,
      ),
    );
    procs.push(startProcess(cpBins.cpHelper, 'kube-proxy', bins.kubeProxy, [`--config=${proxyConf}`, '--v=1'], logDir));
    await waitFor('kube-proxy /healthz', () => httpOk(`http://127.0.0.1:${proxyHealthz}/healthz`));
    lap('kube-proxy');

    // --- the NetworkPolicy enforcer: ready once its table holds the queue rules
    if (enforcer) {
      const args = [`--kubeconfig=${cp.kubeconfig}`, `--hostname-override=${NODE_NAME}`, `--nfqueue-id=${NETPOL_QUEUE}`, `--nftables-table=${NETPOL_TABLE}`, '--v=2'];
      const proc = startProcess(cpBins.cpHelper, 'kube-network-policies', enforcer, args, logDir);
      procs.push(proc);
      // bound to its queue once its caches are synced
      await waitFor(`kube-network-policies on queue ${NETPOL_QUEUE}`, async () => fs.readFileSync('/proc/net/netfilter/nfnetlink_queue', 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[0] === String(NETPOL_QUEUE)));
      // Its own nftables rules send packets to the queue with the `queue` expression, which
      // kernels without CONFIG_NFT_QUEUE lack (its sync then fails with "netlink receive: no such
      // file or directory" and it creates nothing). The same steering as iptables NFQUEUE (xtables,
      // through nft_compat): what its postrouting chain does, for every pod address instead of
      // the set of policy-selected ones (it accepts what no policy selects). Without bypass:
      // nothing passes while it is not reading.
      const sync = /"syncing nftables rules" error/.test(fs.readFileSync(proc.log, 'utf8')) ? 'iptables' : 'nftables';
      if (sync === 'iptables') {
        const ipt = (a: string[]) => mustExec('iptables', ['-w', '5', '-t', 'mangle', ...a]);
        await ipt(['-N', NETPOL_CHAIN]);
        await ipt(['-A', NETPOL_CHAIN, '-p', 'udp', '--dport', '53', '-j', 'RETURN']);
        await ipt(['-A', NETPOL_CHAIN, '-m', 'owner', '--uid-owner', '0', '-j', 'RETURN']);
        await ipt(['-A', NETPOL_CHAIN, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN']);
        for (const dir of ['-s', '-d']) await ipt(['-A', NETPOL_CHAIN, dir, POD_SUBNET, '-j', 'NFQUEUE', '--queue-num', String(NETPOL_QUEUE)]);
        await ipt(['-I', 'POSTROUTING', '1', '-j', NETPOL_CHAIN]);
      }
      networkPolicySteering = sync;
      lap('kube-network-policies');
    }

    // --- CoreDNS
    const apply = await cp.kubectl(['apply', '--server-side', '--field-manager=cdk8s-flink-test', '-f', '-'], { input: JSON.stringify(coreDnsObjects()) });
    if (apply.code !== 0) throw new Error(`CoreDNS objects: ${apply.stderr}`);
    await waitFor('CoreDNS Ready', async () => {
      const r = await cp!.kubectl(['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.readyReplicas}'], { timeoutMs: 10_000 });
      return r.stdout.trim() === '1';
    });
    lap('coredns');
    timings.startup = Object.entries(timings).filter(([k]) => !['packages', 'binaries', 'node images', 'lock'].includes(k)).reduce((a, [, v]) => a + v, 0);

    const crictl = (args: string[]) => exec(bins.crictl, ['--runtime-endpoint', `unix://${socket}`, '--image-endpoint', `unix://${socket}`, '--timeout', '20s', ...args], { timeoutMs: 60_000 });
    const cluster = cp;
    const diagnostics = async (ns: string) => {
      const parts: string[] = [];
      const k = async (args: string[]) => {
        const r = await cluster.kubectl(args, { timeoutMs: 30_000 });
        parts.push(`$ kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
        return r;
      };
      await k(['-n', ns, 'get', 'pods,jobs,deployments,services', '-o', 'wide']);
      await k(['-n', ns, 'get', 'events', '--sort-by=.lastTimestamp']);
      const pods = await cluster.kubectl(['-n', ns, 'get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.name}{" "}{range .spec.initContainers[*]}{.name}{","}{end}{range .spec.containers[*]}{.name}{","}{end}{"\\n"}{end}'], { timeoutMs: 30_000 });
      for (const line of pods.stdout.split('\n').filter(Boolean)) {
        const [pod, containers] = line.split(' ');
        for (const c of (containers ?? '').split(',').filter(Boolean)) await k(['-n', ns, 'logs', pod, '-c', c, '--tail=60']);
      }
      return parts.join('\n');
    };
    return {
      name: NODE_NAME,
      ip: NODE_IP,
      cluster,
      workDir: work,
      containerdSocket: socket,
      importImage: async (archive: string) => {
        await ctr(['images', 'import', archive], 600_000);
      },
      crictl,
      diagnostics,
      logs: (lines = 40) => `${nodeLogs(lines)}\n${cluster.logs(lines)}`,
      timings,
      networkPolicySteering,
      stop,
    };
  } catch (e) {
    const msg = `${(e as Error).message}\n--- node logs (${work}) ---\n${nodeLogs(40)}${cp ? `\n${cp.logs(20)}` : ''}`;
    await stop();
    throw new Error(msg);
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 3_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** CoreDNS as the cluster DNS: its RBAC, Corefile, a Deployment (restricted pod) and the
 *  Service at CLUSTER_DNS_IP. It listens on 1053 (no capability needed); the Service maps 53. */
function coreDnsObjects(): unknown {
  const labels = { 'k8s-app': 'kube-dns' };
  const corefile = ['.:1053 {', '    errors', '    health :8080', '    ready :8181', '    kubernetes cluster.local in-addr.arpa ip6.arpa {', '        pods insecure', '        fallthrough in-addr.arpa ip6.arpa', '    }', '    cache 30', '    loadbalance', '}', ''].join('\n');
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:coredns' },
        rules: [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'system:coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
        subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: corefile } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: 'kube-system', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'coredns',
              dnsPolicy: 'Default',
              securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'coredns',
                  image: COREDNS_IMAGE,
                  imagePullPolicy: 'Never',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 1053, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 1053, protocol: 'TCP' },
                  ],
                  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: labels,
          ports: [
            { name: 'dns', port: 53, targetPort: 1053, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, targetPort: 1053, protocol: 'TCP' },
          ],
        },
      },
    ],
  };
}
