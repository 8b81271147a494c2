/**
 * Local process helpers for tests that run real Flink (and Kafka) processes on 127.0.0.1.
 *
 * - startJobManager / startTaskManager / startFlinkProcess: run the Flink start scripts in the
 *   foreground the way the official image's docker-entrypoint.sh does: the container args start
 *   with a mode word, `jobmanager` -> bin/jobmanager.sh start-foreground, `standalone-job` ->
 *   bin/standalone-job.sh start-foreground, `taskmanager` -> bin/taskmanager.sh start-foreground,
 *   and the rest of the args is passed on unchanged.
 * - every process is started in its own process group and killed (the whole group) when the test
 *   process exits, also on failure; a small watchdog shell kills it even if the test process
 *   itself is killed with SIGKILL.
 * - waitFor (bounded polling), restGet (HTTP GET returning JSON), freePort.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

// ---------------------------------------------------------------------------------------------
// Managed processes

export interface ManagedProcess {
  readonly pid: number;
  /** SIGTERM to the process group, then SIGKILL after timeoutMs (default 15 s). */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL to the process group, right away. */
  kill(): void;
  /** The process's stdout and stderr so far (the last ~2 MB). */
  logs(): string;
  /** undefined while running, else the exit code (null when killed by a signal). */
  exitCode(): number | null | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnManagedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** also append stdout/stderr to this file */
  logFile?: string;
  /**
   * Let the process outlive this one (the CLI's `local up`): output goes only to logFile, and
   * neither the exit hooks nor the watchdog kill it. Stop it with `kill -- -<pid>` (its group).
   */
  detached?: boolean;
}

const LOG_LIMIT = 2 * 1024 * 1024;
const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) if (c.pid) killGroup(c.pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const c of live) if (c.pid) killGroup(c.pid, 'SIGKILL');
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Starts a command in its own process group, captures its output, and makes sure it does not
 * outlive the test process.
 */
export function spawnManaged(name: string, cmd: string, args: string[], opts: SpawnManagedOptions = {}): ManagedProcess {
  if (opts.detached) return spawnDetached(name, cmd, args, opts);
  installExitHooks();
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true, // own process group: kill(-pid) reaches the JVM and anything it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error(`${name}: could not start ${cmd}`);
  }
  const pid = child.pid;
  live.add(child);

  // Watchdog: kills the group when this test process is gone (even after SIGKILL); ends by
  // itself as soon as either the test process or the group is gone.
  const wd = spawn(
    'bash',
    ['-c', 'while kill -0 "$0" 2>/dev/null && kill -0 -- "-$1" 2>/dev/null; do sleep 2; done; kill -9 -- "-$1" 2>/dev/null; exit 0', String(process.pid), String(pid)],
    { detached: true, stdio: 'ignore' },
  );
  wd.unref();

  let buf = '';
  const logStream = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const onData = (d: Buffer) => {
    const s = d.toString('utf8');
    buf += s;
    if (buf.length > LOG_LIMIT) buf = buf.slice(buf.length - LOG_LIMIT);
    logStream?.write(d);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  let code: number | null | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (c, signal) => {
      code = c;
      live.delete(child);
      // the group may still hold children of the script: clean them up too
      killGroup(pid, 'SIGKILL');
      logStream?.end();
      resolve({ code: c, signal });
    });
  });
  child.on('error', (e) => {
    onData(Buffer.from(`\n[${name}] spawn error: ${e.message}\n`));
  });

  return {
    pid,
    exited,
    logs: () => buf,
    exitCode: () => code,
    kill: () => killGroup(pid, 'SIGKILL'),
    stop: async (timeoutMs = 15_000) => {
      if (code !== undefined) return;
      killGroup(pid, 'SIGTERM');
      const t = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(t);
      }
    },
  };
}

function spawnDetached(name: string, cmd: string, args: string[], opts: SpawnManagedOptions): ManagedProcess {
  if (!opts.logFile) throw new Error(`${name}: a detached process needs a log file`);
  const fd = fs.openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const pid = child.pid;
  let code: number | null | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (c, signal) => { code = c; resolve({ code: c, signal }); });
  });
  child.unref();
  const logs = () => {
    try {
      const s = fs.readFileSync(opts.logFile!, 'utf8');
      return s.length > LOG_LIMIT ? s.slice(s.length - LOG_LIMIT) : s;
    } catch {
      return '';
    }
  };
  return {
    pid,
    exited,
    logs,
    exitCode: () => code,
    kill: () => killGroup(pid, 'SIGKILL'),
    stop: (timeoutMs = 15_000) => stopGroup(pid, timeoutMs),
  };
}

/** Whether a process (group leader) is alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM to a process group, then SIGKILL after timeoutMs; resolves once the leader is gone.
 * Works for groups started by another process (polls, as there is no exit event to wait on).
 */
export async function stopGroup(pid: number, timeoutMs = 15_000): Promise<void> {
  if (!processAlive(pid)) return;
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (processAlive(pid)) {
    killGroup(pid, 'SIGKILL');
    const hard = Date.now() + 5_000;
    while (processAlive(pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Flink processes

export interface FlinkProcessOptions {
  /** a Flink home, e.g. from layoutFlinkHome() */
  flinkHome: string;
  /** directory with config.yaml and log4j-console.properties (FLINK_CONF_DIR) */
  confDir: string;
  /**
   * The container args: `["jobmanager", ...]`, `["standalone-job", "--job-classname", X, ...]` or
   * `["taskmanager", ...]`. The first word picks the script; the rest is passed on unchanged.
   */
  args: string[];
  /**
   * Dynamic properties, passed as `-D key=value` pairs right AFTER the mode word (not at the end:
   * after a standalone job's own arguments they would be handed to the job's main method instead).
   * They override config.yaml, in Flink 1.20 and 2.x alike. Both `-D k=v` and `-Dk=v` work for
   * standalone-job and taskmanager, but bin/jobmanager.sh (session mode) takes a first argument
   * that is not exactly "-D" as the legacy `<host> [<webui-port>]` and then fails to start: hence
   * the separate "-D" token here.
   */
  dynamicProperties?: Record<string, string | number | boolean>;
  /** extra environment (e.g. JOB_MANAGER_RPC_ADDRESS); FLINK_CONF_DIR/FLINK_LOG_DIR are set for you */
  env?: Record<string, string>;
  /** FLINK_LOG_DIR; the console output also goes to <logDir>/<name>.console.log */
  logDir: string;
  /**
   * The process's temporary folder, as the pod's `/tmp` emptyDir is the container's own:
   * `io.tmp.dirs` (unless `dynamicProperties` set it) and Java's `java.io.tmpdir` (the web
   * upload and table planner folders). Flink's spill, shuffle, cache and working folders go there,
   * not into the machine's /tmp, and are removed with the folder.
   * @default <logDir>/tmp
   */
  tmpDir?: string;
  /** a name for messages and the console log file (default: the mode word) */
  name?: string;
  /** outlive this process (see SpawnManagedOptions.detached) */
  detached?: boolean;
}

export interface FlinkProcess extends ManagedProcess {
  readonly name: string;
  /** contents of the Flink log file(s) (log.file, written by the rolling file appender) */
  logFile(): string;
}

const SCRIPTS: Record<string, string> = {
  jobmanager: 'jobmanager.sh',
  'standalone-job': 'standalone-job.sh',
  taskmanager: 'taskmanager.sh',
};

/** `{a: 1}` -> `["-D", "a=1"]`: the form every Flink start script accepts (see dynamicProperties). */
export function dynamicProperties(props: Record<string, string | number | boolean> = {}): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(props)) out.push('-D', `${k}=${v}`);
  return out;
}

/** The script and its arguments for container args, as the official docker-entrypoint maps them. */
export function flinkCommand(flinkHome: string, args: string[], props?: Record<string, string | number | boolean>): { script: string; argv: string[] } {
  const [mode, ...rest] = args;
  const script = mode === undefined ? undefined : SCRIPTS[mode];
  if (!script) {
    throw new Error(`unknown Flink container mode '${mode}': expected one of ${Object.keys(SCRIPTS).join(', ')}`);
  }
  return { script: path.join(flinkHome, 'bin', script), argv: ['start-foreground', ...dynamicProperties(props), ...rest] };
}

/** Starts any of jobmanager / standalone-job / taskmanager, by args[0]. */
export async function startFlinkProcess(opts: FlinkProcessOptions): Promise<FlinkProcess> {
  const tmpDir = opts.tmpDir ?? path.join(opts.logDir, 'tmp');
  const { script, argv } = flinkCommand(opts.flinkHome, opts.args, { 'io.tmp.dirs': tmpDir, ...opts.dynamicProperties });
  const name = opts.name ?? opts.args[0];
  fs.mkdirSync(opts.logDir, { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  if (!fs.existsSync(path.join(opts.confDir, 'config.yaml')) && !fs.existsSync(path.join(opts.confDir, 'flink-conf.yaml'))) {
    throw new Error(`${name}: no config.yaml in ${opts.confDir}`);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLINK_HOME: opts.flinkHome,
    FLINK_CONF_DIR: opts.confDir,
    FLINK_LOG_DIR: opts.logDir,
    FLINK_PID_DIR: opts.logDir,
    ...opts.env,
  };
  // bin/jobmanager.sh, standalone-job.sh and taskmanager.sh add their own JVM_ARGS to these
  env.JVM_ARGS = [env.JVM_ARGS, `-Djava.io.tmpdir=${tmpDir}`].filter(Boolean).join(' ');
  delete env.FLINK_LIB_DIR;
  delete env.FLINK_OPT_DIR;
  delete env.FLINK_PLUGINS_DIR;
  const p = spawnManaged(name, 'bash', [script, ...argv], {
    env,
    cwd: opts.logDir,
    logFile: path.join(opts.logDir, `${name}.console.log`),
    detached: opts.detached,
  });
  // fail fast when the script dies right away (bad args, missing java, ...)
  await new Promise((r) => setTimeout(r, 300));
  if (p.exitCode() !== undefined) {
    throw new Error(`${name} exited at once with code ${p.exitCode()}:\n${p.logs().slice(-4000)}`);
  }
  const logFile = () => {
    try {
      return fs
        .readdirSync(opts.logDir)
        .filter((f) => f.endsWith('.log') && !f.endsWith('.console.log'))
        .map((f) => fs.readFileSync(path.join(opts.logDir, f), 'utf8'))
        .join('\n');
    } catch {
      return '';
    }
  };
  return Object.assign(p, { name, logFile });
}

/** A JobManager: args[0] must be "jobmanager" or "standalone-job". */
export async function startJobManager(opts: FlinkProcessOptions): Promise<FlinkProcess> {
  if (opts.args[0] !== 'jobmanager' && opts.args[0] !== 'standalone-job') {
    throw new Error(`startJobManager: args[0] must be 'jobmanager' or 'standalone-job', got '${opts.args[0]}'`);
  }
  return startFlinkProcess(opts);
}

/** A TaskManager: args[0] must be "taskmanager" (defaults to ["taskmanager"]). */
export async function startTaskManager(opts: Omit<FlinkProcessOptions, 'args'> & { args?: string[] }): Promise<FlinkProcess> {
  const args = opts.args ?? ['taskmanager'];
  if (args[0] !== 'taskmanager') {
    throw new Error(`startTaskManager: args[0] must be 'taskmanager', got '${args[0]}'`);
  }
  return startFlinkProcess({ ...opts, args });
}

// ---------------------------------------------------------------------------------------------
// Polling, HTTP, ports

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** what is waited for, for the timeout message */
  what: string;
  /** called on every round; throw from it to stop waiting (e.g. the process died) */
  abortIf?: () => string | undefined;
}

/**
 * Calls fn until it returns a value other than undefined, null or false, and returns that value.
 * Exceptions from fn count as "not yet" (the last one is reported on timeout), except those with
 * a property `fatal: true`, which end the wait at once.
 */
export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitOptions): Promise<T> {
  const interval = opts.intervalMs ?? 500;
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort) throw new Error(`gave up waiting for ${opts.what}: ${abort}`);
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
      last = undefined;
    } catch (e) {
      if (e && typeof e === 'object' && (e as { fatal?: unknown }).fatal === true) throw e;
      last = e;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `; last error: ${last.message}` : last !== undefined ? `; last error: ${String(last)}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, url: string) {
    super(`GET ${url}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** HTTP GET; parses JSON when the response is JSON, else returns the text. Bounded by timeoutMs. */
export function restGet<T = any>(url: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400) return reject(new HttpError(res.statusCode ?? 0, body, url));
        if ((res.headers['content-type'] ?? '').includes('json')) {
          try {
            return resolve(JSON.parse(body) as T);
          } catch (e) {
            return reject(e);
          }
        }
        resolve(body as unknown as T);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * A TCP port that is free on 127.0.0.1 right now, for a server started next.
 *
 * It is taken below the kernel's ephemeral range (and below 30000, where Kubernetes NodePorts
 * start): a port the kernel hands out to listen(0) is also one it hands to outgoing
 * connections, and a connection that takes it between this check and the server's bind makes
 * the server fail with "Address already in use". Ports are drawn at random from that range,
 * each checked by binding it, and one process never hands out the same port twice within a
 * minute. Where the ephemeral range leaves no room below it, the kernel's choice is used.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = FIXED_RANGE;
  if (hi - lo >= 1000) {
    for (let i = 0; i < 50; i++) {
      const port = lo + Math.floor(Math.random() * (hi - lo));
      const last = handedOut.get(port);
      if (last !== undefined && Date.now() - last < 60_000) continue;
      if (await canBind(port)) {
        handedOut.set(port, Date.now());
        return port;
      }
    }
  }
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Ports this process handed out, with when. */
const handedOut = new Map<number, number>();

/** [low, high): the ports below the ephemeral range, from 20000, and below 30000. */
const FIXED_RANGE: [number, number] = (() => {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the usual default
  }
  return [20000, Math.min(30000, ephemeralLow)];
})();

/** Whether a server can listen on 127.0.0.1:port and on every address's port right now. */
function canBind(port: number): Promise<boolean> {
  const one = (host: string) => new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
  return one('127.0.0.1').then((ok) => (ok ? one('0.0.0.0') : false));
}

/** The lines of a log that say why a process stopped: errors, exceptions and their causes (the last `max`), after ":\n"; empty when there is none. */
export function why(log: string, max = 12): string {
  const lines = log.split('\n').filter((l) => /\b(ERROR|FATAL)\b|Exception|^Caused by:/.test(l)).map((l) => l.slice(0, 400));
  return lines.length ? `:\n${lines.slice(-max).join('\n')}` : '';
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let i = 0; out.size < n && i < n * 20; i++) out.add(await freePort());
  if (out.size < n) throw new Error(`could not find ${n} free ports`);
  return [...out];
}
