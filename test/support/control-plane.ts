/**
 * A real Kubernetes control plane for tests, on 127.0.0.1 only, without containers:
 *
 * - real: etcd, kube-apiserver (RBAC, admission incl. PodSecurity, field validation, CRDs),
 *   kube-controller-manager (Deployments -> ReplicaSets -> Pods, Jobs, garbage collection,
 *   service accounts, namespaces, ...) and kube-scheduler, all built from the Go module proxy
 *   at KUBERNETES_VERSION (test/support/control-plane/k8s/go.mod) and cached;
 * - simulated: the nodes and what kubelets do. kwok (KWOK_VERSION, test/support/control-plane/kwok)
 *   manages `nodes` fake Node objects (Ready, with leases) and plays its default "fast" stages on
 *   the pods bound to them: pod-ready (Running + Ready, pod IPs, container statuses; no container
 *   runs), pod-complete (a Running pod owned by a Job turns Succeeded, exit code 0) and
 *   pod-delete (a pod being deleted is removed at once). No image is pulled, no probe runs, no
 *   volume is mounted, exec/logs/port-forward do not work.
 *
 * The CRDs of test/support/crds (PodMonitor, ServiceMonitor, PrometheusRule, FlinkDeployment,
 * FlinkSessionJob) are installed and Established before startControlPlane() resolves.
 *
 * Every process is started through `cp-helper exec`, which makes the kernel SIGKILL it when the
 * test process dies, whatever the cause; stop() and process exit stop them too.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { cacheDir, withLock } from './cache';
import { ensureKubectl, which } from './tools';
import { ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION } from './versions';

// ---------------------------------------------------------------------------------------------
// public API

export interface ControlPlaneOptions {
  /** Fake nodes managed by kwok (default 3). */
  nodes?: number;
  /** Directory of CRD manifests to install (default: $CDK8S_FLINK_CRDS, else the repository's
   *  test/support/crds); false for none. */
  crds?: string | false;
  /** Bound on the whole start-up, binaries already built (default 180 s). */
  startTimeoutMs?: number;
  /** Keep the work directory (certificates, kubeconfigs, etcd data, logs) after stop(). */
  keepWorkDir?: boolean;
  /** Log verbosity of the Kubernetes components (default 1). */
  verbosity?: number;
  /** Serve a real node (test/support/node.ts) instead of, or beside, the fake ones. */
  realNode?: RealNodeAccess;
}

/** What the API server needs to serve a real node whose pods reach it. */
export interface RealNodeAccess {
  /** The node's name (its kubelet's client certificate is system:node:<name>). */
  name: string;
  /** An address of this machine that the node's pods reach (the node bridge's): the API server
   *  listens on every address (the node's firewall drops its port for anything but loopback
   *  and the pod range) and advertises this one as the `kubernetes` Service's endpoint. */
  advertiseAddress: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Path of an admin kubeconfig (O=system:masters client cert), for kubectl and helm. */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** The work directory (certificates, kubeconfigs, etcd data, logs/). */
  readonly workDir: string;
  /** Names of the fake nodes. */
  readonly nodes: string[];
  /** Runs kubectl against this control plane; never rejects on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Creates a namespace (labelled for Pod Security admission) and waits for its default
   *  ServiceAccount, so pods can be created in it right away. */
  createNamespace(name: string, opts?: { podSecurity?: 'restricted' | 'baseline' | 'privileged' }): Promise<void>;
  /** The pid of each process (the components are exec'd by cp-helper, so these are theirs). */
  pids(): Record<string, number>;
  /** Resident memory of each process, in MiB (from /proc). */
  memory(): Record<string, number>;
  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the work directory. */
  stop(): Promise<void>;
  /** The last lines of each component's log, for diagnostics. */
  logs(lines?: number): string;
  /** How long each start-up phase took, in ms. */
  readonly timings: Record<string, number>;
  /** With `realNode`: the kubeconfigs of its kubelet (system:node:<name>) and kube-proxy
   *  (system:kube-proxy), and the cluster CA that signs the clients of its kubelet. */
  readonly realNode?: { kubeletKubeconfig: string; kubeProxyKubeconfig: string; caFile: string; apiPort: number };
}

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  cpHelper: string;
  kwok: string;
  /** kwok configuration: its default node and pod stages, from the kwok module's sources. */
  kwokConfig: string;
}

const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.0/16';
const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

// ---------------------------------------------------------------------------------------------
// building the binaries (once, cached)

const GO_DIR = path.join(__dirname, 'control-plane');

/** The sources of test/support/control-plane (next to this file in the repo, not in build/). */
export function goSourceDir(): string {
  // compiled to build/test/support/control-plane.js; the Go sources stay in test/support/
  for (const dir of [GO_DIR, path.join(repoRoot(), 'test', 'support', 'control-plane')]) {
    if (fs.existsSync(path.join(dir, 'k8s', 'go.mod'))) return dir;
  }
  throw new Error(`test/support/control-plane/k8s/go.mod not found (from ${__dirname})`);
}

function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`repository root not found above ${__dirname}`);
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          code = typeof e.code === 'number' ? e.code : 1;
          if (e.killed) stderr = `${stderr}\n(killed after ${opts.timeoutMs ?? 120_000} ms)`;
          else if (typeof e.code === 'string') stderr = `${stderr}\n${e.message}`;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function mustExec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-80).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${out}`);
  }
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



export function goBinary(): string {
  const go = which('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('the Go toolchain (go) is needed to build the control plane (kube-apiserver, etcd, kwok)');
  return go;
}

/**
 * Runs a `go build` while no other build of the tests runs, in this process or another: each one
 * uses every core, and two side by side compile the packages they share twice (the Kubernetes
 * binaries of the control plane and of the node share most of theirs), where one after the other
 * the second takes them from Go's build cache.
 */
/**
 * The flags of every `go build` of the tests: paths trimmed, and no DWARF from the compiler (the
 * linker's `-w`, in every build's ldflags, leaves it out of the binaries anyway; skipping it
 * saves about a fifth of the compile time). Not part of the caches' keys: the binaries do the
 * same with or without it.
 */
export const GO_BUILD_FLAGS = ['-trimpath', '-gcflags=all=-dwarf=false'];

export function withGoBuild<T>(fn: () => Promise<T>): Promise<T> {
  return withLock('go-build', 120 * 60_000, fn);
}

export function hashFiles(files: string[], extra: string): string {
  const h = crypto.createHash('sha256');
  for (const f of files) {
    h.update(path.basename(f));
    h.update(fs.readFileSync(f, 'utf8'));
  }
  h.update(extra);
  return h.digest('hex').slice(0, 16);
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

/** -ldflags for the Kubernetes binaries: stripped, and the version they report (as hack/lib/version.sh sets it). */
export function kubeLdflags(): string {
  const m = /^v(\d+)\.(\d+)\.(\d+)/.exec(KUBERNETES_VERSION);
  if (!m) throw new Error(`bad KUBERNETES_VERSION ${KUBERNETES_VERSION}`);
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(`-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`, `-X ${pkg}.gitMajor=${m[1]}`, `-X ${pkg}.gitMinor=${m[2]}`, `-X ${pkg}.gitTreeState=clean`);
  }
  return flags.join(' ');
}

export function goEnv(): NodeJS.ProcessEnv {
  // static binaries, as Kubernetes and etcd release them; GOFLAGS keeps what the caller set
  return { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() };
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Reads `require`d versions out of a go.mod file. */
export function goModRequires(file: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*(?:require\s+)?([A-Za-z0-9._~\-/]+\.[A-Za-z0-9._~\-/]+)\s+(v[^\s]+)(?:\s*\/\/.*)?$/gm)) {
    out.set(m[1], m[2]);
  }
  return out;
}

export interface BuildReport {
  /** ms spent in all (0 when cached) */
  buildMs: number;
  /** ms of each step: go mod download and go build, per module (absent when cached) */
  steps: Record<string, number>;
  sizes: Record<string, number>;
  commands: string[];
}

let lastBuild: BuildReport | undefined;
/** What the last ensureControlPlaneBinaries() of this process did. */
export function lastBuildReport(): BuildReport | undefined {
  return lastBuild;
}

let binariesPromise: Promise<ControlPlaneBinaries> | undefined;

/**
 * Builds (once; cached under cacheDir('k8s', KUBERNETES_VERSION) and cacheDir('kwok', KWOK_VERSION))
 * and returns the control plane's binaries. A cold build takes tens of minutes on 2 cores.
 */
export function ensureControlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  if (!binariesPromise) {
    binariesPromise = buildBinaries();
    binariesPromise.catch(() => (binariesPromise = undefined));
  }
  return binariesPromise;
}

async function buildBinaries(): Promise<ControlPlaneBinaries> {
  const go = goBinary();
  const src = goSourceDir();
  const k8sMod = path.join(src, 'k8s');
  const kwokMod = path.join(src, 'kwok');
  const report: BuildReport = { buildMs: 0, steps: {}, sizes: {}, commands: [] };
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      report.steps[step] = Date.now() - t;
    }
  };

  // the wrapper modules must match versions.ts
  const k8sReq = goModRequires(path.join(k8sMod, 'go.mod'));
  if (k8sReq.get('k8s.io/kubernetes') !== KUBERNETES_VERSION) {
    throw new Error(`${k8sMod}/go.mod requires k8s.io/kubernetes ${k8sReq.get('k8s.io/kubernetes')}, versions.ts says ${KUBERNETES_VERSION}: run ${k8sMod}/gen-go-mod.sh ${KUBERNETES_VERSION}`);
  }
  if (k8sReq.get('go.etcd.io/etcd/server/v3') !== ETCD_VERSION) {
    throw new Error(`${k8sMod}/go.mod has go.etcd.io/etcd/server/v3 ${k8sReq.get('go.etcd.io/etcd/server/v3')}, versions.ts says ETCD_VERSION ${ETCD_VERSION}`);
  }
  if (goModRequires(path.join(kwokMod, 'go.mod')).get('sigs.k8s.io/kwok') !== KWOK_VERSION) {
    throw new Error(`${kwokMod}/go.mod does not require sigs.k8s.io/kwok ${KWOK_VERSION} (versions.ts KWOK_VERSION)`);
  }
  const goVersion = (await mustExec(go, ['env', 'GOVERSION'])).stdout.trim();

  // --- kube-apiserver, kube-controller-manager, kube-scheduler, etcd, cp-helper: one go build
  const k8sDir = cacheDir('k8s', KUBERNETES_VERSION);
  const ldflags = kubeLdflags();
  const k8sKey = hashFiles(listFiles(k8sMod).filter((f) => /(\.go|go\.mod|go\.sum)$/.test(f)), `${goVersion}\n${ldflags}`);
  const k8sBin = path.join(k8sDir, 'bin');
  const k8sNames = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'cp-helper'];
  const k8sStamp = path.join(k8sBin, 'stamp');
  const k8sReady = () => k8sNames.every((n) => isFile(path.join(k8sBin, n))) && fs.existsSync(k8sStamp) && fs.readFileSync(k8sStamp, 'utf8').trim() === k8sKey;
  const k8sArgs = [
    'build',
    ...GO_BUILD_FLAGS,
    `-ldflags=${ldflags}`,
    '-o',
    '<out>/',
    'k8s.io/kubernetes/cmd/kube-apiserver',
    'k8s.io/kubernetes/cmd/kube-controller-manager',
    'k8s.io/kubernetes/cmd/kube-scheduler',
    'go.etcd.io/etcd/server/v3',
    './cmd/cp-helper',
  ];
  report.commands.push(`(cd test/support/control-plane/k8s && CGO_ENABLED=0 go ${k8sArgs.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')})`);

  // --- kwok
  const kwokDir = cacheDir('kwok', KWOK_VERSION);
  const kwokKey = hashFiles(listFiles(kwokMod).filter((f) => /(\.go|go\.mod|go\.sum)$/.test(f)), goVersion);
  const kwokBin = path.join(kwokDir, 'bin');
  const kwokStamp = path.join(kwokBin, 'stamp');
  const kwokReady = () => isFile(path.join(kwokBin, 'kwok')) && isFile(path.join(kwokBin, 'kwok.yaml')) && fs.existsSync(kwokStamp) && fs.readFileSync(kwokStamp, 'utf8').trim() === kwokKey;
  const kwokArgs = ['build', ...GO_BUILD_FLAGS, '-ldflags=-s -w', '-o', '<out>/kwok', 'sigs.k8s.io/kwok/cmd/kwok'];
  report.commands.push(`(cd test/support/control-plane/kwok && CGO_ENABLED=0 go ${kwokArgs.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')})`);

  const t0 = Date.now();
  if (!k8sReady()) {
    await withLock(`k8s-${KUBERNETES_VERSION}`, 90 * 60_000, async () => {
      if (k8sReady()) return;
      const tmp = fs.mkdtempSync(path.join(k8sDir, '.tmp-'));
      try {
        await timed('k8s: go mod download', () => mustExec(go, ['mod', 'download'], { cwd: k8sMod, env: goEnv(), timeoutMs: 30 * 60_000 }));
        await timed('k8s: go build', () => withGoBuild(() => mustExec(go, k8sArgs.map((a) => a.replace('<out>', tmp)), { cwd: k8sMod, env: goEnv(), timeoutMs: 80 * 60_000 })));
        // `go build` names the binary of the module path go.etcd.io/etcd/server/v3 "server"
        fs.renameSync(path.join(tmp, 'server'), path.join(tmp, 'etcd'));
        fs.writeFileSync(path.join(tmp, 'stamp'), `${k8sKey}\n`);
        fs.rmSync(k8sBin, { recursive: true, force: true });
        fs.renameSync(tmp, k8sBin);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
  if (!kwokReady()) {
    await withLock(`kwok-${KWOK_VERSION}`, 60 * 60_000, async () => {
      if (kwokReady()) return;
      const tmp = fs.mkdtempSync(path.join(kwokDir, '.tmp-'));
      try {
        await timed('kwok: go mod download', () => mustExec(go, ['mod', 'download'], { cwd: kwokMod, env: goEnv(), timeoutMs: 30 * 60_000 }));
        await timed('kwok: go build', () => withGoBuild(() => mustExec(go, kwokArgs.map((a) => a.replace('<out>', tmp)), { cwd: kwokMod, env: goEnv(), timeoutMs: 60 * 60_000 })));
        // kwok's own default stages (what kwokctl configures for a kwok it runs), from the module source
        const info = JSON.parse((await mustExec(go, ['mod', 'download', '-json', `sigs.k8s.io/kwok@${KWOK_VERSION}`], { cwd: kwokMod, env: goEnv() })).stdout) as { Dir: string };
        const stages = [
          'kustomize/stage/node/fast/node-initialize.yaml',
          'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
          'kustomize/stage/pod/fast/pod-ready.yaml',
          'kustomize/stage/pod/fast/pod-complete.yaml',
          'kustomize/stage/pod/fast/pod-delete.yaml',
        ].map((f) => `# ${f} of sigs.k8s.io/kwok@${KWOK_VERSION}\n${fs.readFileSync(path.join(info.Dir, f), 'utf8').trim()}\n`);
        fs.writeFileSync(path.join(tmp, 'kwok.yaml'), stages.join('---\n'));
        fs.writeFileSync(path.join(tmp, 'stamp'), `${kwokKey}\n`);
        fs.rmSync(kwokBin, { recursive: true, force: true });
        fs.renameSync(tmp, kwokBin);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
  report.buildMs = Date.now() - t0;

  const bins: ControlPlaneBinaries = {
    etcd: path.join(k8sBin, 'etcd'),
    kubeApiserver: path.join(k8sBin, 'kube-apiserver'),
    kubeControllerManager: path.join(k8sBin, 'kube-controller-manager'),
    kubeScheduler: path.join(k8sBin, 'kube-scheduler'),
    cpHelper: path.join(k8sBin, 'cp-helper'),
    kwok: path.join(kwokBin, 'kwok'),
    kwokConfig: path.join(kwokBin, 'kwok.yaml'),
  };
  for (const [k, p] of Object.entries(bins)) report.sizes[k] = fs.statSync(p).size;
  lastBuild = report;
  return bins;
}

// ---------------------------------------------------------------------------------------------
// processes

export interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

/** Every live control-plane process of this test process: killed on exit, whatever happens. */
const live = new Set<Proc>();
/** Work directories to remove when the test process exits without stop(). */
const workDirs = new Set<string>();
/** Synchronous clean-ups to run when the test process exits or is interrupted. */
const exitCleanups = new Set<() => void>();
let hooksInstalled = false;

/** Runs fn (synchronously) if the test process exits or is interrupted, after every process
 *  started by startProcess is killed; the returned function unregisters it. */
export function onExitCleanup(fn: () => void): () => void {
  installExitHooks();
  exitCleanups.add(fn);
  return () => exitCleanups.delete(fn);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const p of live) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const fn of exitCleanups) {
      try {
        fn();
      } catch {
        // the others still run
      }
    }
    exitCleanups.clear();
    for (const d of workDirs) fs.rmSync(d, { recursive: true, force: true });
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      // the default action, now that our handler is gone
      process.kill(process.pid, sig);
    });
  }
}

export function startProcess(helper: string, name: string, cmd: string, args: string[], logDir: string, env?: NodeJS.ProcessEnv): Proc {
  installExitHooks();
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  fs.writeSync(fd, `# ${cmd} ${args.join(' ')}\n`);
  const child = spawn(helper, ['exec', String(process.pid), '--', cmd, ...args], {
    stdio: ['ignore', fd, fd],
    env: env ?? process.env,
  });
  fs.closeSync(fd);
  const proc: Proc = {
    name,
    child,
    log,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        proc.exitCode = code ?? (signal ? -1 : null);
        live.delete(proc);
        resolve(code);
      });
      child.once('error', () => {
        proc.exitCode = -1;
        live.delete(proc);
        resolve(-1);
      });
    }),
  };
  live.add(proc);
  // never keep the test process alive just for these
  child.unref();
  return proc;
}

export async function stopProcess(p: Proc, graceMs = 10_000): Promise<void> {
  if (p.exitCode !== undefined) return;
  p.child.kill('SIGTERM');
  const done = await Promise.race([p.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    p.child.kill('SIGKILL');
    await Promise.race([p.exited, sleep(5_000)]);
  }
}

export function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch (e) {
    return `(${(e as Error).message})`;
  }
}

export function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Free TCP ports on 127.0.0.1 (held open together, so they are distinct). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

// ---------------------------------------------------------------------------------------------
// the API, directly (readiness polls; faster than spawning kubectl)

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function apiRequest(port: number, tls: Tls, method: string, p: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        timeout: timeoutMs,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (out += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** GET over http, or https without verifying the server (self-signed serving certs of the
 *  controller-manager and scheduler; only /healthz and /readyz are read). */
function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? (u: string, o: https.RequestOptions, cb: (res: http.IncomingMessage) => void) => https.get(u, { ...o, rejectUnauthorized: false }, cb) : http.get;
    const req = get(url, { timeout: timeoutMs }, (res: http.IncomingMessage) => {
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (out += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

interface Conditioned {
  status?: { conditions?: { type: string; status: string }[] };
}

function hasCondition(o: Conditioned, type: string): boolean {
  return o.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

// ---------------------------------------------------------------------------------------------
// kubeconfigs

function kubeconfigYaml(server: string, caFile: string, user: string, certFile: string, keyFile: string): string {
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: cdk8s-flink-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caFile)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(certFile)}`,
    `    client-key-data: ${b64(keyFile)}`,
    'contexts:',
    `- name: ${user}@cdk8s-flink-test`,
    '  context:',
    '    cluster: cdk8s-flink-test',
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${user}@cdk8s-flink-test`,
    '',
  ].join('\n');
}

function defaultCrdDir(): string {
  return process.env.CDK8S_FLINK_CRDS ?? path.join(repoRoot(), 'test', 'support', 'crds');
}

// ---------------------------------------------------------------------------------------------
// start

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1,
 * creates the fake nodes, installs the CRDs and resolves once nodes are Ready, the default
 * ServiceAccount exists and the CRDs are Established. Builds the binaries first if needed.
 */
export function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return retryOnPortRace(() => startOnce(opts));
}

/**
 * The free ports are picked before the processes bind them: another process may have taken one
 * in between. Tries once more with new ports; the failed attempt's folder (a failed start keeps
 * it for its logs, as the error's `workDir`) is removed, since the retry's is the one to read.
 */
export async function retryOnPortRace<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (!/address already in use/.test((e as Error).message)) throw e;
    const failed = (e as { workDir?: string }).workDir;
    if (failed) fs.rmSync(failed, { recursive: true, force: true });
    return start();
  }
}

async function startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = now - t;
    t = now;
  };
  const [bins, kubectlBin] = await Promise.all([ensureControlPlaneBinaries(), ensureKubectl()]);
  lap('binaries');
  const started = Date.now();
  const deadline = started + (opts.startTimeoutMs ?? 180_000);
  const v = String(opts.verbosity ?? 1);
  const nodeCount = opts.nodes ?? 3;
  const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-cp-'));
  installExitHooks();
  if (!opts.keepWorkDir) workDirs.add(work);
  const pki = path.join(work, 'pki');
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir);
  const procs: Proc[] = [];
  let stopped = false;
  let keepWorkDir = opts.keepWorkDir ?? false;

  const logs = (lines = 40) =>
    procs
      .map((p) => `===== ${p.name} (pid ${p.child.pid}, ${p.exitCode === undefined ? 'running' : `exited ${p.exitCode}`}) ${p.log}\n${tail(p.log, lines)}`)
      .join('\n');

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // reverse start order: kwok and the controllers first, etcd last
    for (const p of [...procs].reverse()) await stopProcess(p);
    workDirs.delete(work);
    if (!keepWorkDir) fs.rmSync(work, { recursive: true, force: true });
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort, kwokPort, kcmPort, schedulerPort] = await freePorts(6);
    const server = `https://127.0.0.1:${apiPort}`;

    await mustExec(bins.cpHelper, [
      'pki',
      '-dir',
      pki,
      '-service-ip',
      SERVICE_IP,
      '-client',
      'admin=kubernetes-admin/system:masters',
      '-client',
      'controller-manager=system:kube-controller-manager',
      '-client',
      'scheduler=system:kube-scheduler',
      '-client',
      'kwok=system:kwok-controller/system:masters',
      '-client',
      'front-proxy-client=front-proxy-client',
      ...(opts.realNode ? ['-client', `kubelet=system:node:${opts.realNode.name}/system:nodes`, '-client', 'kube-proxy=system:kube-proxy'] : []),
    ]);
    const f = (n: string) => path.join(pki, n);
    const kubeconfigs: Record<string, string> = {};
    for (const [user, file] of [
      ['admin', 'admin'],
      ['system:kube-controller-manager', 'controller-manager'],
      ['system:kube-scheduler', 'scheduler'],
      ['kwok', 'kwok'],
      ...(opts.realNode ? ([[`system:node:${opts.realNode.name}`, 'kubelet'], ['system:kube-proxy', 'kube-proxy']] as const) : []),
    ] as const) {
      kubeconfigs[file] = path.join(work, `${file}.kubeconfig`);
      fs.writeFileSync(kubeconfigs[file], kubeconfigYaml(server, f('ca.crt'), user, f(`${file}.crt`), f(`${file}.key`)), { mode: 0o600 });
    }
    const kubeconfig = kubeconfigs.admin;
    const tls: Tls = { ca: fs.readFileSync(f('ca.crt')), cert: fs.readFileSync(f('admin.crt')), key: fs.readFileSync(f('admin.key')) };
    lap('pki');

    const failIfDead = () => {
      const dead = procs.find((p) => p.exitCode !== undefined);
      if (dead) throw new Error(`${dead.name} exited (${dead.exitCode}) during start-up`);
    };
    const waitFor = async (what: string, check: () => Promise<boolean>) => {
      for (;;) {
        failIfDead();
        try {
          if (await check()) return;
        } catch {
          // not yet
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(200);
      }
    };

    // --- etcd: throwaway data, no fsync
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    procs.push(
      startProcess(
        bins.cpHelper,
        'etcd',
        bins.etcd,
        [
          '--name=cp',
          `--data-dir=${path.join(work, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=cp=${peerUrl}`,
          '--unsafe-no-fsync=true',
          '--log-level=warn',
        ],
        logDir,
      ),
    );
    await waitFor('etcd /health', async () => (await httpGet(`${etcdUrl}/health`)).body.includes('"health":"true"'));
    lap('etcd');

    // --- kube-apiserver
    procs.push(
      startProcess(
        bins.cpHelper,
        'kube-apiserver',
        bins.kubeApiserver,
        [
          ...(opts.realNode
            ? [
                // pods reach the API through the `kubernetes` Service, whose endpoint is the node
                // bridge's address (the node's firewall keeps everyone else out)
                '--bind-address=0.0.0.0',
                `--advertise-address=${opts.realNode.advertiseAddress}`,
                // logs, exec and port-forward: the kubelet at the node's InternalIP (the bridge),
                // never its name through the machine's DNS; as a system:masters client
                '--kubelet-preferred-address-types=InternalIP',
                `--kubelet-client-certificate=${f('admin.crt')}`,
                `--kubelet-client-key=${f('admin.key')}`,
              ]
            : // a loopback address is not a valid endpoint of the kubernetes Service
              ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none']),
          `--secure-port=${apiPort}`,
          `--etcd-servers=${etcdUrl}`,
          `--tls-cert-file=${f('apiserver.crt')}`,
          `--tls-private-key-file=${f('apiserver.key')}`,
          `--client-ca-file=${f('ca.crt')}`,
          // the aggregation layer's front proxy (as kubeadm sets it up; one CA here)
          `--requestheader-client-ca-file=${f('ca.crt')}`,
          '--requestheader-allowed-names=front-proxy-client',
          '--requestheader-username-headers=X-Remote-User',
          '--requestheader-group-headers=X-Remote-Group',
          '--requestheader-extra-headers-prefix=X-Remote-Extra-',
          `--proxy-client-cert-file=${f('front-proxy-client.crt')}`,
          `--proxy-client-key-file=${f('front-proxy-client.key')}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${f('sa.pub')}`,
          `--service-account-signing-key-file=${f('sa.key')}`,
          '--authorization-mode=Node,RBAC',
          // the default plugins (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity,
          // ResourceQuota, DefaultStorageClass, the webhooks, ...) plus NodeRestriction
          '--enable-admission-plugins=NodeRestriction',
          '--allow-privileged=true',
          '--profiling=false',
          `--v=${v}`,
        ],
        logDir,
      ),
    );
    await waitFor('kube-apiserver /readyz', async () => (await apiRequest(apiPort, tls, 'GET', '/readyz', undefined, 5_000)).status === 200);
    lap('kube-apiserver');

    // --- controllers, scheduler, kwok
    procs.push(
      startProcess(
        bins.cpHelper,
        'kube-controller-manager',
        bins.kubeControllerManager,
        [
          `--kubeconfig=${kubeconfigs['controller-manager']}`,
          `--authentication-kubeconfig=${kubeconfigs['controller-manager']}`,
          `--authorization-kubeconfig=${kubeconfigs['controller-manager']}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${path.join(work, 'kube-controller-manager')}`,
          '--leader-elect=false',
          '--use-service-account-credentials=true',
          '--controllers=*',
          `--root-ca-file=${f('ca.crt')}`,
          `--service-account-private-key-file=${f('sa.key')}`,
          `--cluster-signing-cert-file=${f('ca.crt')}`,
          `--cluster-signing-key-file=${f('ca.key')}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--cluster-name=cdk8s-flink-test',
          `--v=${v}`,
        ],
        logDir,
      ),
    );
    procs.push(
      startProcess(
        bins.cpHelper,
        'kube-scheduler',
        bins.kubeScheduler,
        [
          `--kubeconfig=${kubeconfigs.scheduler}`,
          `--authentication-kubeconfig=${kubeconfigs.scheduler}`,
          `--authorization-kubeconfig=${kubeconfigs.scheduler}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${schedulerPort}`,
          `--cert-dir=${path.join(work, 'kube-scheduler')}`,
          '--leader-elect=false',
          `--v=${v}`,
        ],
        logDir,
      ),
    );
    procs.push(
      startProcess(
        bins.cpHelper,
        'kwok',
        bins.kwok,
        [
          `--kubeconfig=${kubeconfigs.kwok}`,
          `--config=${bins.kwokConfig}`,
          '--manage-all-nodes=false',
          `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
          `--server-address=127.0.0.1:${kwokPort}`,
          '--node-ip=127.0.0.1',
          '--node-lease-duration-seconds=40',
          `--cidr=${POD_CIDR.replace('.0/16', '.1/16')}`,
          `--v=${opts.verbosity !== undefined && opts.verbosity > 1 ? 'DEBUG' : 'INFO'}`,
        ],
        logDir,
        // kwok reads its default config from $HOME/.kwok
        { ...process.env, HOME: work },
      ),
    );

    const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
      exec(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs: o.timeoutMs ?? 120_000, input: o.input, env: { ...process.env, KUBECONFIG: kubeconfig } });
    const mustKubectl = async (args: string[], input?: string) => {
      const r = await kubectl(args, { input });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r;
    };

    // --- fake nodes and CRDs, in parallel with the controllers' start
    const nodeList = {
      apiVersion: 'v1',
      kind: 'List',
      items: nodes.map((name) => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [FAKE_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/arch': 'amd64',
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'node-role.kubernetes.io/agent': '',
            type: 'kwok',
          },
        },
      })),
    };
    const crdDir = opts.crds === false ? undefined : (opts.crds ?? defaultCrdDir());
    if (crdDir && !fs.existsSync(crdDir)) throw new Error(`no CRD directory at ${crdDir} (set CDK8S_FLINK_CRDS or pass crds: false)`);
    const crdFiles = crdDir ? fs.readdirSync(crdDir).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(crdDir, n)) : [];

    await Promise.all([
      nodeCount > 0 ? mustKubectl(['apply', '--server-side', '--field-manager=cdk8s-flink-test', '-f', '-'], JSON.stringify(nodeList)) : undefined,
      (async () => {
        if (crdFiles.length === 0) return;
        const r = await mustKubectl(['apply', '--server-side', '--field-manager=cdk8s-flink-test', ...crdFiles.flatMap((c) => ['-f', c]), '-o', 'name']);
        // (kubectl wait fails at once on an object that has no conditions yet)
        const names = r.stdout.split('\n').map((l) => l.trim().replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, '')).filter(Boolean);
        await Promise.all(
          names.map((n) =>
            waitFor(`CRD ${n} Established`, async () => {
              const crd = JSON.parse((await apiRequest(apiPort, tls, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}`)).body) as Conditioned;
              return hasCondition(crd, 'Established');
            }),
          ),
        );
      })(),
    ]);
    lap('nodes+crds');

    await Promise.all([
      waitFor(`${nodeCount} Ready nodes (kwok)`, async () => {
        const r = await apiRequest(apiPort, tls, 'GET', '/api/v1/nodes');
        const items = (JSON.parse(r.body) as { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }).items.filter((n) => nodes.includes(n.metadata.name));
        return items.length === nodeCount && items.every((n) => hasCondition(n, 'Ready'));
      }),
      // the serviceaccount controller (kube-controller-manager) is up
      waitFor('the default ServiceAccount', async () => (await apiRequest(apiPort, tls, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200),
      waitFor('kube-controller-manager /healthz', async () => (await httpGet(`https://127.0.0.1:${kcmPort}/healthz`)).status === 200),
      // readyz includes the scheduler's informer sync
      waitFor('kube-scheduler /readyz', async () => (await httpGet(`https://127.0.0.1:${schedulerPort}/readyz`)).status === 200),
    ]);
    lap('ready');
    timings.startup = Date.now() - started;

    const createNamespace = async (name: string, o: { podSecurity?: 'restricted' | 'baseline' | 'privileged' } = {}) => {
      const labels: Record<string, string> = {};
      if (o.podSecurity) {
        for (const mode of ['enforce', 'warn', 'audit']) {
          labels[`pod-security.kubernetes.io/${mode}`] = o.podSecurity;
          labels[`pod-security.kubernetes.io/${mode}-version`] = 'latest';
        }
      }
      await mustKubectl(['apply', '--server-side', '--field-manager=cdk8s-flink-test', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }));
      const until = Date.now() + 60_000;
      for (;;) {
        const r = await apiRequest(apiPort, tls, 'GET', `/api/v1/namespaces/${encodeURIComponent(name)}/serviceaccounts/default`);
        if (r.status === 200) return;
        if (Date.now() > until) throw new Error(`namespace ${name}: no default ServiceAccount after 60 s\n${logs(20)}`);
        await sleep(100);
      }
    };

    const memory = () => Object.fromEntries(procs.map((p) => [p.name, p.exitCode === undefined ? rssMiB(p.child.pid) : 0]));

    return {
      kubeconfig,
      server,
      workDir: work,
      nodes,
      kubectl,
      createNamespace,
      pids: () => Object.fromEntries(procs.map((p) => [p.name, p.child.pid ?? 0])),
      memory,
      stop,
      logs,
      timings,
      realNode: opts.realNode ? { kubeletKubeconfig: kubeconfigs.kubelet, kubeProxyKubeconfig: kubeconfigs['kube-proxy'], caFile: f('ca.crt'), apiPort } : undefined,
    };
  } catch (e) {
    const msg = `${(e as Error).message}\n--- control-plane logs (${work}) ---\n${logs(30)}`;
    keepWorkDir = true; // keep the logs of a failed start
    await stop();
    throw Object.assign(new Error(msg), { workDir: work });
  }
}
