/**
 * The project's own images for the tests' real node (test/support/node.ts), built with buildah
 * from runtime/images/*\/Dockerfile unchanged, with nothing pulled from a container registry.
 *
 * The official base images those Dockerfiles name in FROM cannot be pulled here, so local
 * stand-ins are built first and tagged with the exact names the FROM lines use:
 *
 * | FROM                            | stand-in                                                      |
 * |---------------------------------|---------------------------------------------------------------|
 * | flink:<v>-scala_2.12-java17     | Debian bookworm (mmdebstrap, this machine's apt sources) with |
 * |                                 | openjdk-17-jre-headless; the Flink distribution of            |
 * |                                 | ensureFlink(v) (PyPI) in /opt/flink, owned by flink (9999);   |
 * |                                 | opt/flink-s3-fs-hadoop-<v>.jar, which PyPI's lacks, from the  |
 * |                                 | nearest patch release Maven Central serves (OPT_STAND_INS:    |
 * |                                 | 2.2.0 for 2.2.1, 1.20.1 for 1.20.5), pinned by sha256;         |
 * |                                 | /docker-entrypoint.sh written here after the official one's   |
 * |                                 | documented behaviour (jobmanager, taskmanager, standalone-job,|
 * |                                 | history-server, help, pass-through).                          |
 * | maven:3-eclipse-temurin-17      | Debian bookworm with openjdk-17-jdk-headless and maven (3.8). |
 * | node:20-bookworm-slim           | Debian bookworm with this machine's own Node 20 binary and    |
 * |                                 | npm in /usr/local (Debian's nodejs is 18), user node (1000).  |
 *
 * How they can differ from the official images: Debian's OpenJDK build instead of Eclipse
 * Temurin (the official Flink and Maven images are Ubuntu with Temurin), Debian's Maven 3.8
 * rather than the latest 3.x, the Flink distribution from PyPI (the same jars as the Apache
 * release tarball, without examples/ and licenses/; opt/ has only the S3 file system the runtime
 * Dockerfiles use, and that one at an earlier patch release of the same minor), no jemalloc (glibc's allocator), no gosu
 * (setpriv drops root), FLINK_PROPERTIES values taken literally (no envsubst), and Node's build
 * from this machine rather than the official one. They also trust the certificate authorities this
 * machine adds in /usr/local/share/ca-certificates (and Node is told to), so that the builds'
 * Maven and npm steps reach their registries from here.
 *
 * Every image is cached in a buildah store of the project's own (cacheDir('buildah')) with a
 * label holding a hash of its inputs, and rebuilt when an input changes; the mmdebstrap root
 * filesystems are cached as tar files under cacheDir('images', 'rootfs').
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir, withLock } from './cache';
import { exec, isFile, listFiles, mustExec } from './control-plane';
import { ensureFlink, ensureOptJar, imageLayout, OPT_STAND_INS, repoRoot, runtimeLine } from './flink-dist';
import { buildah, buildahArgs, ensureNodePackages, imageInputs, INPUTS_LABEL } from './node';

export interface ImageBuild {
  name: string;
  /** ms the build took; 0 when the cached image was used */
  ms: number;
}

/** Build times of this process, by image (and root filesystem) name. */
export const buildTimes: Record<string, number> = {};

const sha = (...parts: string[]) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};

// ---------------------------------------------------------------------------------------------
// root filesystems

const ROOTFS_PACKAGES = {
  jre: ['openjdk-17-jre-headless', 'ca-certificates', 'procps'],
  maven: ['openjdk-17-jdk-headless', 'maven', 'ca-certificates', 'procps'],
  node: ['ca-certificates', 'procps'],
  python: ['python3', 'ca-certificates'],
} as const;

/** This machine's apt sources (one-line or deb822 files), given to mmdebstrap as is. */
function aptSources(): string[] {
  const out: string[] = [];
  if (isFile('/etc/apt/sources.list') && fs.readFileSync('/etc/apt/sources.list', 'utf8').replace(/#.*$/gm, '').trim()) out.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (fs.existsSync(d)) for (const f of fs.readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) out.push(path.join(d, f));
  if (out.length === 0) throw new Error('no apt sources on this machine (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list|*.sources)');
  return out;
}

/** A Debian bookworm root filesystem (tar) with the packages of `kind`, built by mmdebstrap. */
export async function ensureRootfs(kind: keyof typeof ROOTFS_PACKAGES): Promise<string> {
  // mmdebstrap, buildah and uidmap come with the node's Debian packages (installed when missing)
  await ensureNodePackages();
  const sources = aptSources();
  const mmVersion = (await mustExec('mmdebstrap', ['--version'])).stdout.trim();
  const key = sha(kind, ROOTFS_PACKAGES[kind].join(','), mmVersion, ...sources.map((s) => fs.readFileSync(s, 'utf8')));
  const file = path.join(cacheDir('images', 'rootfs'), `${kind}-${key}.tar`);
  if (isFile(file)) return file;
  return withLock(`rootfs-${kind}`, 30 * 60_000, async () => {
    if (isFile(file)) return file;
    const t = Date.now();
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await mustExec(
        'mmdebstrap',
        [
          '--variant=minbase',
          `--include=${ROOTFS_PACKAGES[kind].join(',')}`,
          '--dpkgopt=path-exclude=/usr/share/man/*',
          '--dpkgopt=path-exclude=/usr/share/doc/*',
          '--dpkgopt=path-exclude=/usr/share/locale/*',
          // without man pages openjdk's postinst fails unless its man1 directory exists
          '--setup-hook=mkdir -p "$1/usr/share/man/man1"',
          '--format=tar',
          'bookworm',
          tmp,
          ...sources,
        ],
        { timeoutMs: 25 * 60_000 },
      );
      fs.renameSync(tmp, file);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    buildTimes[`rootfs ${kind}`] = Date.now() - t;
    return file;
  });
}

// ---------------------------------------------------------------------------------------------
// stand-ins for the official base images

/** The official Flink image's entrypoint, as its documentation describes it, written anew. */
export const FLINK_ENTRYPOINT = `#!/usr/bin/env bash
# /docker-entrypoint.sh of the tests' stand-in for the official Flink image (test/support/images.ts).
# Behaves as the official image's entrypoint is documented to:
#   jobmanager | standalone-job | taskmanager | history-server [ARGS]: the matching
#     bin/*.sh start-foreground ARGS, after writing into conf/config.yaml
#     jobmanager.rpc.address (JOB_MANAGER_RPC_ADDRESS, default: this host's name),
#     blob.server.port 6124, query.server.port 6125, taskmanager.numberOfTaskSlots
#     (TASK_MANAGER_NUMBER_OF_TASK_SLOTS, when set) and every "key: value" line of FLINK_PROPERTIES;
#   help: the usage; anything else runs as given.
# ENABLE_BUILT_IN_PLUGINS (';'-separated jar names of opt/) links those into plugins/;
# jemalloc is preloaded unless DISABLE_JEMALLOC=true (when installed: it is not in this stand-in).
# As root it drops to the flink user (with setpriv; the official image uses gosu).
set -e
: "\${FLINK_HOME:=/opt/flink}"

as_flink() {
  if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=flink --regid=flink --init-groups "$@"; else exec "$@"; fi
}

set_options() {
  # pairs of key value -> config-parser-utils.sh -Dkey=value ...
  local args=()
  while [ $# -ge 2 ]; do args+=("-D$1=$2"); shift 2; done
  if [ \${#args[@]} -gt 0 ]; then
    "$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_HOME/conf" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "\${args[@]}"
  fi
}

configure() {
  local opts=(jobmanager.rpc.address "\${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}" blob.server.port 6124 query.server.port 6125)
  if [ -n "\${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then opts+=(taskmanager.numberOfTaskSlots "$TASK_MANAGER_NUMBER_OF_TASK_SLOTS"); fi
  if [ -n "\${FLINK_PROPERTIES:-}" ]; then
    local line key value
    while IFS= read -r line; do
      line="$(printf '%s' "$line" | tr -d '[:space:]')"
      [ -n "$line" ] || continue
      key="\${line%%:*}"; value="\${line#*:}"
      if command -v envsubst >/dev/null; then value="$(printf '%s' "$value" | envsubst)"; fi
      opts+=("$key" "$value")
    done <<< "$FLINK_PROPERTIES"
  fi
  set_options "\${opts[@]}"
}

plugins() {
  [ -n "\${ENABLE_BUILT_IN_PLUGINS:-}" ] || return 0
  local jar name
  for jar in $(printf '%s' "$ENABLE_BUILT_IN_PLUGINS" | tr ';' ' '); do
    name="\${jar%.jar}"
    if [ ! -e "$FLINK_HOME/opt/$jar" ]; then echo "Plugin $jar does not exist. Exiting." >&2; exit 1; fi
    mkdir -p "$FLINK_HOME/plugins/$name"
    ln -fs "$FLINK_HOME/opt/$jar" "$FLINK_HOME/plugins/$name"
  done
}

if [ "\${DISABLE_JEMALLOC:-false}" = false ]; then
  for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib/x86_64-linux-gnu/libjemalloc.so.2; do
    if [ -f "$lib" ]; then export LD_PRELOAD="\${LD_PRELOAD:+$LD_PRELOAD:}$lib"; break; fi
  done
fi

cmd="\${1:-help}"
case "$cmd" in
  help)
    echo "Usage: $(basename "$0") (jobmanager|standalone-job|taskmanager|history-server)"
    echo "    Or $(basename "$0") help"
    exit 0 ;;
  jobmanager|standalone-job|taskmanager|history-server)
    shift
    plugins
    configure
    case "$cmd" in
      jobmanager) script=jobmanager.sh ;;
      standalone-job) script=standalone-job.sh ;;
      taskmanager) script=taskmanager.sh ;;
      history-server) script=historyserver.sh ;;
    esac
    echo "Starting $cmd"
    as_flink "$FLINK_HOME/bin/$script" start-foreground "$@" ;;
  *)
    plugins
    configure
    as_flink "$@" ;;
esac
`;

/** Starts a buildah working container from a root filesystem tar. */
async function fromRootfs(rootfs: string): Promise<string> {
  const ctr = (await buildah(['from', 'scratch'])).stdout.trim();
  try {
    await buildah(['add', ctr, rootfs, '/'], { timeoutMs: 10 * 60_000 });
  } catch (e) {
    await exec('buildah', buildahArgs(['rm', ctr]));
    throw e;
  }
  return ctr;
}

/** Certificate authorities this machine adds to Debian's (its egress may re-sign TLS): the
 *  stand-ins trust them too, or Maven and npm in the builds cannot reach their registries. */
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';
function localCas(): string[] {
  if (!fs.existsSync(LOCAL_CA_DIR)) return [];
  return listFiles(LOCAL_CA_DIR).filter((f) => f.endsWith('.crt'));
}

async function trustLocalCas(ctr: string): Promise<void> {
  const cas = localCas();
  if (cas.length === 0) return;
  await buildah(['copy', ctr, ...cas, `${LOCAL_CA_DIR}/`]);
  // also rebuilds Java's keystore (ca-certificates-java's hook)
  await buildah(['run', ctr, '--', 'update-ca-certificates']);
}

export async function commitStandIn(name: string, standInInputs: string, build: (ctr: string) => Promise<void>, rootfs: string): Promise<ImageBuild> {
  const inputs = sha(standInInputs, ...localCas().map((f) => fs.readFileSync(f, 'utf8')));
  if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
  return withLock(`image-${name}`, 30 * 60_000, async () => {
    if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
    const t = Date.now();
    const ctr = await fromRootfs(rootfs);
    try {
      await trustLocalCas(ctr);
      await build(ctr);
      await buildah(['config', '--label', `${INPUTS_LABEL}=${inputs}`, ctr]);
      await buildah(['commit', '--rm', ctr, name], { timeoutMs: 10 * 60_000 });
    } catch (e) {
      await exec('buildah', buildahArgs(['rm', ctr]));
      throw e;
    }
    buildTimes[name] = Date.now() - t;
    return { name, ms: buildTimes[name] };
  });
}

/** Docker Hub's full name of an official image short name ("flink:x" -> docker.io/library/flink:x). */
export function officialName(short: string): string {
  return `docker.io/library/${short}`;
}

/** The stand-in for the official Flink image of a runtime line ("1.20", "2.2"). */
export async function ensureFlinkBaseImage(line: string): Promise<ImageBuild> {
  const l = runtimeLine(line) as ReturnType<typeof runtimeLine> & { baseImage: string };
  const [rootfs, home] = await Promise.all([ensureRootfs('jre'), ensureFlink(l.flinkVersion)]);
  const files = listFiles(home).filter((f) => !path.basename(f).startsWith('.cdk8s-flink'));
  // the jars of opt/ the runtime Dockerfile takes from the official image and PyPI's distribution lacks
  const optJars: string[] = [];
  for (const e of imageLayout(line)) {
    if (e.kind === 'plugin' && e.source.startsWith('opt/') && !isFile(path.join(home, e.source))) optJars.push(e.source);
  }
  const opt = await Promise.all(optJars.map((p) => ensureOptJar(l.flinkVersion, p)));
  const inputs = sha(
    rootfs,
    FLINK_ENTRYPOINT,
    ...files.map((f) => `${path.relative(home, f)} ${fs.statSync(f).size}`),
    ...optJars.map((p) => `${p} ${OPT_STAND_INS[p].sha256}`),
  );
  return commitStandIn(
    officialName(l.baseImage),
    inputs,
    async (ctr) => {
      const entry = path.join(cacheDir('images'), `docker-entrypoint-${process.pid}.sh`);
      fs.writeFileSync(entry, FLINK_ENTRYPOINT, { mode: 0o755 });
      try {
        await buildah(['run', ctr, '--', 'sh', '-c', 'groupadd --system --gid=9999 flink && useradd --system --home-dir /opt/flink --uid=9999 --gid=flink flink && mkdir -p /opt/flink']);
        for (const d of fs.readdirSync(home)) {
          if (d.startsWith('.cdk8s-flink') || d === 'usrlib') continue;
          await buildah(['copy', '--chown', '9999:9999', ctr, path.join(home, d), `/opt/flink/${d}`], { timeoutMs: 10 * 60_000 });
        }
        for (const [i, p] of optJars.entries()) await buildah(['copy', '--chown', '9999:9999', '--chmod', '0644', ctr, opt[i], `/opt/flink/${p}`]);
        await buildah(['copy', '--chmod', '0755', ctr, entry, '/docker-entrypoint.sh']);
        // as the official image does: bind the REST and RPC endpoints to the container's interfaces
        await buildah([
          'run',
          ctr,
          '--',
          'bash',
          '-c',
          'cd /opt/flink && bash bin/config-parser-utils.sh conf bin lib -repKV rest.address,localhost,0.0.0.0 -repKV rest.bind-address,localhost,0.0.0.0 -repKV jobmanager.bind-host,localhost,0.0.0.0 -repKV taskmanager.bind-host,localhost,0.0.0.0 -rmKV taskmanager.host=localhost && chown -R 9999:9999 /opt/flink',
        ]);
      } finally {
        fs.rmSync(entry, { force: true });
      }
      await buildah([
        'config',
        '--env',
        'FLINK_HOME=/opt/flink',
        '--env',
        'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64',
        '--env',
        'PATH=/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--workingdir',
        '/opt/flink',
        '--port',
        '6123',
        '--port',
        '8081',
        '--entrypoint',
        '["/docker-entrypoint.sh"]',
        '--cmd',
        'help',
        ctr,
      ]);
    },
    rootfs,
  );
}

/** The stand-in for maven:3-eclipse-temurin-17 (the runtime Dockerfiles' build stage). */
export async function ensureMavenBaseImage(java = 17): Promise<ImageBuild> {
  if (java !== 17) throw new Error(`the Maven stand-in has Java 17 only, not ${java}`);
  const rootfs = await ensureRootfs('maven');
  return commitStandIn(
    officialName(`maven:3-eclipse-temurin-${java}`),
    sha(rootfs),
    async (ctr) => {
      await buildah(['config', '--env', 'JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', '--env', 'MAVEN_HOME=/usr/share/maven', '--cmd', 'mvn', ctr]);
    },
    rootfs,
  );
}

/** The stand-in for node:20-bookworm-slim: Debian plus this machine's Node 20 and npm. */
export async function ensureNodeBaseImage(): Promise<ImageBuild> {
  const node = fs.realpathSync(process.execPath);
  const version = process.versions.node;
  if (!version.startsWith('20.')) throw new Error(`the node:20-bookworm-slim stand-in takes this machine's Node, which is ${version}, not 20.x`);
  const npmDir = ['/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', path.join(path.dirname(node), '..', 'lib', 'node_modules', 'npm')].find((d) => isFile(path.join(d, 'package.json')));
  if (!npmDir) throw new Error(`npm not found beside ${node}`);
  const rootfs = await ensureRootfs('node');
  const npmVersion = (JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  return commitStandIn(
    officialName('node:20-bookworm-slim'),
    sha(rootfs, version, npmVersion),
    async (ctr) => {
      await buildah(['copy', '--chmod', '0755', ctr, node, '/usr/local/bin/node']);
      await buildah(['copy', ctr, npmDir, '/usr/local/lib/node_modules/npm'], { timeoutMs: 5 * 60_000 });
      await buildah([
        'run',
        ctr,
        '--',
        'sh',
        '-c',
        'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version && npm --version',
      ]);
      // Node reads only its own CA list unless told otherwise
      const extra = localCas().length > 0 ? ['--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'] : [];
      await buildah(['config', '--env', `NODE_VERSION=${version}`, ...extra, '--cmd', 'node', ctr]);
    },
    rootfs,
  );
}

// ---------------------------------------------------------------------------------------------
// the project's images

/** The files a Dockerfile's build context holds: what its `<Dockerfile>.dockerignore` lets in. */
function contextFiles(root: string, dockerfile: string): string[] {
  const ignore = fs.readFileSync(`${dockerfile}.dockerignore`, 'utf8');
  const allowed = ignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  const out: string[] = [];
  for (const a of allowed) {
    const p = path.join(root, a);
    if (!fs.existsSync(p)) continue;
    if (fs.statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

export interface ProjectImage extends ImageBuild {
  /** the Dockerfile, relative to the repository root */
  dockerfile: string;
}

/**
 * Builds runtime/images/<dir>/Dockerfile as is with buildah (`--pull=never`: the bases are the
 * stand-ins; `--network=host` for the RUN steps that fetch from Maven Central and npm), cached
 * by a hash of the Dockerfile, its context and its base images. Rejects with buildah's output
 * when the Dockerfile does not build.
 */
export async function buildProjectImage(dir: string, name: string, bases: string[]): Promise<ProjectImage> {
  const root = repoRoot();
  const rel = path.join('runtime', 'images', dir, 'Dockerfile');
  const dockerfile = path.join(root, rel);
  const baseIds: string[] = [];
  for (const b of bases) baseIds.push((await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', b])).stdout.trim());
  const inputs = sha(fs.readFileSync(dockerfile, 'utf8'), ...baseIds, ...contextFiles(root, dockerfile).map((f) => `${path.relative(root, f)}\n${crypto.createHash('sha256').update(fs.readFileSync(f, 'utf8')).digest('hex')}`));
  if ((await imageInputs(name)) === inputs) return { name, dockerfile: rel, ms: 0 };
  return withLock(`image-${name}`, 60 * 60_000, async () => {
    if ((await imageInputs(name)) === inputs) return { name, dockerfile: rel, ms: 0 };
    const t = Date.now();
    await buildah(['bud', '--pull=never', '--network=host', '--layers', '--isolation=chroot', '--label', `${INPUTS_LABEL}=${inputs}`, '-f', rel, '-t', name, '.'], { cwd: root, timeoutMs: 40 * 60_000 });
    buildTimes[name] = Date.now() - t;
    return { name, dockerfile: rel, ms: buildTimes[name] };
  });
}

/** The package's version (the images' tag suffix, as the charts' defaults use it). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Local names of the project's images (the charts' image values point here in the tests). */
export const LOCAL_REGISTRY = 'localhost/cdk8s-flink';

/** The runtime image of a line and the ops image, with the stand-ins they need; build times. */
export async function ensureProjectImages(lines: string[]): Promise<{ flink: Record<string, string>; ops: string; builds: ImageBuild[] }> {
  // the root filesystems first, together: mostly downloads
  await Promise.all((Object.keys(ROOTFS_PACKAGES) as (keyof typeof ROOTFS_PACKAGES)[]).map((k) => ensureRootfs(k)));
  const builds: ImageBuild[] = [];
  builds.push(await ensureMavenBaseImage());
  const flink: Record<string, string> = {};
  for (const line of lines) {
    builds.push(await ensureFlinkBaseImage(line));
    const l = runtimeLine(line) as ReturnType<typeof runtimeLine> & { baseImage: string };
    const name = `${LOCAL_REGISTRY}/flink-runtime:${l.flinkVersion}-${packageVersion()}`;
    builds.push(await buildProjectImage(`flink-${line}`, name, [officialName('maven:3-eclipse-temurin-17'), officialName(l.baseImage)]));
    flink[line] = name;
  }
  builds.push(await ensureNodeBaseImage());
  const ops = `${LOCAL_REGISTRY}/ops:${packageVersion()}`;
  builds.push(await buildProjectImage('ops', ops, [officialName('maven:3-eclipse-temurin-17'), officialName('node:20-bookworm-slim')]));
  return { flink, ops, builds };
}
