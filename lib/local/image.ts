/**
 * The container images of runtime/images/, generated from the same sources the rest of the
 * toolkit uses, so they cannot drift:
 *
 * - runtime/images/flink-<line>/Dockerfile: the official Flink image of the line plus every entry
 *   of imageLayout(line) (lib/local/flink-dist.ts, from runtime/artifacts.json), the list
 *   layoutFlinkHome lays the local test homes out from.
 * - runtime/images/flink/prepare-config.sh: the script of the charts' init container
 *   "flink-config", taken from a synthesized FlinkApplication; cdk8s-flink-entrypoint.sh runs it
 *   before the official entrypoint when the pod has no init container.
 * - runtime/images/ops/Dockerfile: this package (bin cdk8s-flink-ops) and the SQL runner jar
 *   where `cdk8s-flink-ops submit` reads it.
 *
 * Usage: node build/lib/local/image.js [--check]   (--check: exit 1 naming every stale file)
 */
import * as fs from 'fs';
import * as path from 'path';
import { FlinkApplication, UpgradeMode } from '../application';
import { FLINK_HOME, HANDOFF_DIR } from '../cluster/flink-cluster';
import { FlinkVersion } from '../config/flink-version';
import { JobSource } from '../job-source';
import { FlinkPlatform } from '../platform';
import { SQL_RUNNER_JAR } from '../ops/submit';
import { synthesizeUnit } from '../synth/synthesize';
import { BuildLayoutEntry, imageLayout, LayoutEntry, readArtifacts, repoRoot, runtimeLine } from './flink-dist';

/** The user and group the official Flink images create (`useradd --uid=9999 ... flink`). */
export const FLINK_IMAGE_UID = 9999;
/** The operations image's user and group (the hooks' and submit Jobs' runAsUser). */
export const OPS_IMAGE_UID = 10001;
/** Where the runtime image keeps its own scripts. */
export const IMAGE_SCRIPTS_DIR = '/opt/cdk8s-flink';
export const ENTRYPOINT_SCRIPT = `${IMAGE_SCRIPTS_DIR}/cdk8s-flink-entrypoint.sh`;
export const PREPARE_SCRIPT = `${IMAGE_SCRIPTS_DIR}/prepare-config.sh`;
/** The official images' entrypoint. */
export const OFFICIAL_ENTRYPOINT = '/docker-entrypoint.sh';
/** Where the operations image installs this package. */
export const OPS_PACKAGE_DIR = '/opt/cdk8s-flink/package';
export const OPS_BIN = 'cdk8s-flink-ops';
const MAVEN_IMAGE = (java: number) => `maven:3-eclipse-temurin-${java}`;
const NODE_IMAGE = 'node:20-bookworm-slim';
const BUILD_DIR = '/build';
const REGENERATE = 'node build/lib/local/image.js';
const DOCKERFILE_SYNTAX = '# syntax=docker/dockerfile:1.7';

export interface GeneratedFile {
  /** repository-relative, with forward slashes */
  readonly path: string;
  readonly content: string;
  /** file mode for scripts */
  readonly mode?: number;
}

// ---------------------------------------------------------------------------------------------
// the init container script, from a synthesized application

export interface InitContainerScripts {
  /** The JobManager's: copy the configuration, then apply the savepoint hand-off. */
  readonly jobManager: string;
  /** The TaskManager's: copy the configuration. */
  readonly taskManager: string;
  /** Where the pods mount the configuration template (the ConfigMap). */
  readonly templateDir: string;
  /** The config file the version reads. */
  readonly configFile: string;
}

function initScript(objects: any[], deployment: string): { script: string; templateDir: string } {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment);
  const init = d?.spec.template.spec.initContainers?.find((c: any) => c.name === 'flink-config');
  if (!init) throw new Error(`${deployment}: no init container "flink-config" in the synthesized objects`);
  const cmd = init.command as string[];
  if (cmd.length !== 3 || cmd[0] !== 'sh' || cmd[1] !== '-c') throw new Error(`${deployment}: init container command ${JSON.stringify(cmd)} is not ["sh", "-c", <script>]`);
  const mount = (init.volumeMounts as any[]).find((m) => m.name === 'flink-config-template');
  if (!mount) throw new Error(`${deployment}: init container has no flink-config-template mount`);
  return { script: cmd[2], templateDir: mount.mountPath };
}

/** The init container scripts of a FlinkApplication of the given Flink version, as synthesized. */
export function initContainerScripts(flinkVersion: string): InitContainerScripts {
  const version = FlinkVersion.of(flinkVersion);
  const platform = new FlinkPlatform({ storageBaseDirectory: 's3://runtime-image/state' });
  platform.addApplication('runtime-image', {
    flinkVersion: version,
    image: `flink:${flinkVersion}-java17`,
    job: JobSource.sql('INSERT INTO sink SELECT 1;'),
    upgradeMode: UpgradeMode.SAVEPOINT,
  });
  const unit = platform.unit('runtime-image')!;
  if (!(unit.construct instanceof FlinkApplication)) throw new Error('runtime-image: not an application');
  const objects = synthesizeUnit(unit).objects;
  const jm = initScript(objects, 'runtime-image-jobmanager');
  const tm = initScript(objects, 'runtime-image-taskmanager');
  return { jobManager: jm.script, taskManager: tm.script, templateDir: jm.templateDir, configFile: version.configFileName };
}

/** The one init container script of every line of runtime/artifacts.json (they must agree). */
export function sharedInitScripts(): InitContainerScripts {
  const lines = Object.entries(readArtifacts().lines);
  const [first, ...rest] = lines.map(([line, l]) => ({ line, s: initContainerScripts(l.flinkVersion) }));
  for (const r of rest) {
    if (JSON.stringify(r.s) !== JSON.stringify(first.s)) {
      throw new Error(`the init container scripts of lines ${first.line} and ${r.line} differ; runtime/images/flink/prepare-config.sh can hold only one`);
    }
  }
  // The TaskManager's script is the JobManager's without the hand-off: with no hand-off
  // mounted, the JobManager's script does exactly what the TaskManager's does.
  if (!first.s.jobManager.startsWith(`${first.s.taskManager} && `)) {
    throw new Error(`the JobManager's init script does not start with the TaskManager's:\n${first.s.jobManager}\n${first.s.taskManager}`);
  }
  return first.s;
}

// ---------------------------------------------------------------------------------------------
// scripts

export function prepareConfigScript(s: InitContainerScripts): string {
  return `#!/bin/sh
# The script of the charts' init container "flink-config" (JobManager and TaskManager pods):
# copies the configuration template mounted at ${s.templateDir} into the writable
# ${FLINK_HOME}/conf and, when ${HANDOFF_DIR}/savepointPath is set (the JobManager's
# hand-off ConfigMap), appends the keys that restore from that savepoint.
# Generated by lib/local/image.ts from a synthesized FlinkApplication: do not edit.
${s.jobManager}
`;
}

export function entrypointScript(s: InitContainerScripts): string {
  const template = `${s.templateDir}/${s.configFile}`;
  return `#!/bin/sh
# The cdk8s-flink runtime image's entrypoint.
# Generated by lib/local/image.ts: do not edit.
#
# For pods without the charts' init container "flink-config": when the configuration
# template is mounted (${template}), first runs the init container's
# script (${PREPARE_SCRIPT}). The charts keep the init container and mount the
# template only into it, so in their pods this step is skipped. Then runs the official
# entrypoint with the container's arguments.
set -eu
if [ -f ${template} ]; then
  if ! /bin/sh ${PREPARE_SCRIPT}; then
    echo "cdk8s-flink: could not prepare ${FLINK_HOME}/conf from ${s.templateDir} (is ${FLINK_HOME}/conf writable?)" >&2
    exit 1
  fi
fi
exec ${OFFICIAL_ENTRYPOINT} "$@"
`;
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles

/** A build stage per Maven project of the layout; returns the stage text and each jar's path in it. */
function buildStages(projects: BuildLayoutEntry[], java: number): { text: string; jarPath: Map<string, string>; stage: Map<string, string> } {
  const jarPath = new Map<string, string>();
  const stage = new Map<string, string>();
  const parts: string[] = [];
  for (const p of projects) {
    if (stage.has(p.project)) {
      jarPath.set(`${p.project}/${p.jar}`, `${BUILD_DIR}/${p.project}/target/${p.jar}`);
      continue;
    }
    const name = path.posix.basename(p.project).replace(/[^a-z0-9-]/g, '-');
    stage.set(p.project, name);
    jarPath.set(`${p.project}/${p.jar}`, `${BUILD_DIR}/${p.project}/target/${p.jar}`);
    parts.push(`# ${p.project}: \`mvn package\` builds ${p.jar} and runs its unit tests.
FROM ${MAVEN_IMAGE(java)} AS ${name}
WORKDIR ${BUILD_DIR}
COPY ${p.project}/pom.xml ${p.project}/pom.xml
COPY ${p.project}/src ${p.project}/src
RUN mvn -B -ntp -q -f ${p.project}/pom.xml package
`);
  }
  return { text: parts.join('\n'), jarPath, stage };
}

function header(title: string[], dockerfile: string, tag: string): string {
  return `${DOCKERFILE_SYNTAX}
${title.map((t) => `# ${t}`).join('\n')}
#
# Generated by lib/local/image.ts: do not edit. Regenerate with \`${REGENERATE}\`.
# Build from the repository root (${dockerfile}.dockerignore keeps the context small):
#   docker build -f ${dockerfile} -t ${tag} .
`;
}

/** The runtime image of a line of runtime/artifacts.json (entries: imageLayout(line) unless given). */
export function flinkDockerfile(line: string, entries: LayoutEntry[] = imageLayout(line)): string {
  const l = runtimeLine(line) as ReturnType<typeof runtimeLine> & { baseImage?: string; java?: number };
  if (typeof l.baseImage !== 'string' || !l.baseImage) throw new Error(`runtime/artifacts.json lines.${line}.baseImage: ${JSON.stringify(l.baseImage)}; expected the official image tag, e.g. "flink:${l.flinkVersion}-scala_2.12-java17"`);
  const java = l.java ?? 17;
  const builds = buildStages(entries.filter((e): e is BuildLayoutEntry => e.kind === 'build'), java);
  const uid = `${FLINK_IMAGE_UID}:${FLINK_IMAGE_UID}`;
  const added = entries.filter((e) => e.kind !== 'plugin').map((e) => e.dest);
  const dirs = [...new Set(added.map((d) => path.posix.dirname(d)))].sort();
  const out: string[] = [
    header([`The cdk8s-flink runtime image for Flink ${l.flinkVersion}: ${l.baseImage} plus what`, `runtime/artifacts.json lists for the ${line} line.`],
      `runtime/images/flink-${line}/Dockerfile`, `flink-runtime:${l.flinkVersion}`),
    builds.text,
    `FROM ${l.baseImage}`,
    `# Every step, every file added and the running container: the image's flink user.`,
    `USER ${uid}`,
    '',
    `# What the image adds must not already be in the base image.`,
    `RUN set -eu; for f in ${added.join(' ')}; do \\`,
    `      if [ -e "${FLINK_HOME}/$f" ]; then echo "${FLINK_HOME}/$f is already in ${l.baseImage}" >&2; exit 1; fi; \\`,
    `    done; \\`,
    `    mkdir -p ${dirs.map((d) => `${FLINK_HOME}/${d}`).join(' ')}`,
    '',
  ];
  for (const e of entries) {
    const dest = `${FLINK_HOME}/${e.dest}`;
    if (e.kind === 'maven') {
      if (!e.sha256 || !/^[0-9a-f]{64}$/.test(e.sha256)) {
        throw new Error(`runtime/artifacts.json lines.${line}: ${e.coords} has sha256 ${JSON.stringify(e.sha256)}; expected the jar's sha256 (64 hex digits), which the Dockerfile checks`);
      }
      // ADD --checksum is BuildKit's alone (buildah 1.28 and Docker's legacy builder refuse it):
      // the download is checked by a RUN step that every builder runs the same way.
      out.push(`# ${e.coords} (Maven Central; the build fails unless the jar has the sha256 of runtime/artifacts.json)`);
      out.push(`ADD --chown=${uid} --chmod=0644 ${e.url} ${dest}`);
      out.push(`RUN echo "${e.sha256}  ${dest}" | sha256sum -c -`);
    } else if (e.kind === 'build') {
      out.push(`# ${e.jar}, built above from ${e.project}${e.mainClass ? ` (main class ${e.mainClass})` : ''}`);
      out.push(`COPY --from=${builds.stage.get(e.project)} --chown=${uid} --chmod=0644 ${builds.jarPath.get(`${e.project}/${e.jar}`)} ${dest}`);
    } else {
      const src = `${FLINK_HOME}/${e.source}`;
      out.push(`# plugin ${e.name}: in the distribution at ${e.source}; Flink loads it from ${path.posix.dirname(e.dest)}/`);
      if (src === dest) {
        out.push(`RUN test -f ${dest} || { echo "${dest} is not in ${l.baseImage}" >&2; exit 1; }`);
      } else {
        out.push(`RUN set -eu; test -f ${src} || { echo "${src} is not in ${l.baseImage}" >&2; exit 1; }; \\`);
        out.push(`    mkdir -p ${path.posix.dirname(dest)}; test -f ${dest} || cp ${src} ${dest}`);
      }
    }
    out.push('');
  }
  out.push(
    `# The charts' init container script, and the entrypoint that runs it for pods without one.`,
    `COPY --chown=${uid} --chmod=0755 runtime/images/flink/prepare-config.sh runtime/images/flink/cdk8s-flink-entrypoint.sh ${IMAGE_SCRIPTS_DIR}/`,
    `ENTRYPOINT ["${ENTRYPOINT_SCRIPT}"]`,
    `CMD ["help"]`,
    '',
  );
  return out.join('\n');
}

function dockerignore(keep: string[]): string {
  return `# The build context of the Dockerfile beside this file: everything but what it copies.
# Generated by lib/local/image.ts: do not edit.
*
${keep.map((k) => `!${k}`).join('\n')}
`;
}

interface PackageJson {
  version: string;
  bin?: Record<string, string>;
}

function readPackageJson(): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as PackageJson;
}

/** The ops image's SQL runner: the usrlib jar of the runtime layout whose main class runs SQL. */
function sqlRunnerEntry(): BuildLayoutEntry {
  const found: BuildLayoutEntry[] = [];
  for (const line of Object.keys(readArtifacts().lines)) {
    for (const e of imageLayout(line)) if (e.kind === 'build' && e.dest.startsWith('usrlib/')) found.push(e);
  }
  const distinct = [...new Map(found.map((e) => [`${e.project}/${e.jar}`, e])).values()];
  if (distinct.length !== 1) throw new Error(`runtime/artifacts.json: expected one usrlib build entry (the SQL runner) across lines, found ${distinct.map((e) => `${e.project}/${e.jar}`).join(', ') || 'none'}`);
  return distinct[0];
}

/** The operations image: this package's `cdk8s-flink-ops` and the SQL runner jar. */
export function opsDockerfile(): string {
  if (process.env.CDK8S_FLINK_SQL_RUNNER_JAR !== undefined) {
    throw new Error('CDK8S_FLINK_SQL_RUNNER_JAR is set; unset it to generate the images (the ops image keeps the jar where submit looks by default)');
  }
  const pkg = readPackageJson();
  const bin = pkg.bin?.[OPS_BIN];
  if (!bin) throw new Error(`package.json bin: no "${OPS_BIN}"; expected the operations tool's entry point`);
  const runner = sqlRunnerEntry();
  const builds = buildStages([runner], 17);
  const uid = OPS_IMAGE_UID;
  const main = `${OPS_PACKAGE_DIR}/${bin}`;
  return [
    header([
      'The cdk8s-flink operations image: this package, whose `cdk8s-flink-ops` the charts\' Helm hooks,',
      '`helm test` and session-job submit Jobs run (they pass only arguments: the ENTRYPOINT is the tool),',
      `and the SQL runner jar that \`cdk8s-flink-ops submit\` uploads for SQL session jobs (${SQL_RUNNER_JAR}).`,
    ], 'runtime/images/ops/Dockerfile', `cdk8s-flink-ops:${pkg.version}`),
    builds.text,
    `# The package: npm ci, compile lib/ only (tsconfig.json also includes examples, tests and`,
    `# benchmarks), then drop the dev dependencies and the sources.`,
    `FROM ${NODE_IMAGE} AS package`,
    `WORKDIR ${OPS_PACKAGE_DIR}`,
    `COPY package.json package-lock.json tsconfig.json ./`,
    `RUN npm ci --no-audit --no-fund`,
    `COPY lib lib`,
    `# What the runtime images serve (lib/runtime-image.ts imports it; tsc copies it into build/).`,
    `COPY runtime/artifacts.json runtime/artifacts.json`,
    `RUN printf '%s\\n' '{ "extends": "./tsconfig.json", "include": ["lib/**/*.ts"] }' > tsconfig.image.json \\`,
    ` && npx tsc -p tsconfig.image.json \\`,
    ` && npm prune --omit=dev --no-audit --no-fund \\`,
    ` && rm -rf lib runtime tsconfig.json tsconfig.image.json`,
    '',
    `FROM ${NODE_IMAGE}`,
    `RUN groupadd --system --gid ${uid} cdk8s-flink \\`,
    ` && useradd --system --uid ${uid} --gid ${uid} --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cdk8s-flink`,
    `COPY --from=package ${OPS_PACKAGE_DIR} ${OPS_PACKAGE_DIR}`,
    `COPY --from=${builds.stage.get(runner.project)} ${builds.jarPath.get(`${runner.project}/${runner.jar}`)} ${SQL_RUNNER_JAR}`,
    `RUN chmod 0755 ${main} \\`,
    ` && ln -s ${main} /usr/local/bin/${OPS_BIN} \\`,
    ` && test -s ${SQL_RUNNER_JAR}`,
    `ENV NODE_ENV=production`,
    `# Files are root's and read-only to the tool's user; it writes only to /tmp (an emptyDir in the charts).`,
    `USER ${uid}:${uid}`,
    `ENTRYPOINT ["${OPS_BIN}"]`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// all files, write, check

/** Every generated file of runtime/images/, in a fixed order. */
export function runtimeImageFiles(): GeneratedFile[] {
  const scripts = sharedInitScripts();
  const files: GeneratedFile[] = [];
  for (const line of Object.keys(readArtifacts().lines).sort()) {
    const entries = imageLayout(line);
    const projects = [...new Set(entries.flatMap((e) => (e.kind === 'build' ? [e.project] : [])))].sort();
    files.push({ path: `runtime/images/flink-${line}/Dockerfile`, content: flinkDockerfile(line) });
    files.push({
      path: `runtime/images/flink-${line}/Dockerfile.dockerignore`,
      content: dockerignore([...projects.flatMap((p) => [`${p}/pom.xml`, `${p}/src/`]), 'runtime/images/flink/prepare-config.sh', 'runtime/images/flink/cdk8s-flink-entrypoint.sh']),
    });
  }
  files.push({ path: 'runtime/images/flink/prepare-config.sh', content: prepareConfigScript(scripts), mode: 0o755 });
  files.push({ path: 'runtime/images/flink/cdk8s-flink-entrypoint.sh', content: entrypointScript(scripts), mode: 0o755 });
  const runner = sqlRunnerEntry();
  files.push({ path: 'runtime/images/ops/Dockerfile', content: opsDockerfile() });
  files.push({
    path: 'runtime/images/ops/Dockerfile.dockerignore',
    content: dockerignore(['package.json', 'package-lock.json', 'tsconfig.json', 'lib/', 'runtime/artifacts.json', `${runner.project}/pom.xml`, `${runner.project}/src/`]),
  });
  return files;
}

/** The generated files whose committed copy under root differs (or is missing). */
export function staleImageFiles(root: string = repoRoot(), files: GeneratedFile[] = runtimeImageFiles()): string[] {
  return files.filter((f) => {
    const p = path.join(root, ...f.path.split('/'));
    return !fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== f.content;
  }).map((f) => f.path);
}

/** Writes the generated files under root; returns the paths that changed. */
export function writeImageFiles(root: string = repoRoot(), files: GeneratedFile[] = runtimeImageFiles()): string[] {
  const changed = staleImageFiles(root, files);
  for (const f of files) {
    const p = path.join(root, ...f.path.split('/'));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (changed.includes(f.path)) fs.writeFileSync(p, f.content);
    if (f.mode !== undefined) fs.chmodSync(p, f.mode);
  }
  return changed;
}

export function main(argv: string[]): number {
  const usage = `usage: ${REGENERATE} [--check]\n  writes runtime/images/ from runtime/artifacts.json, package.json and a synthesized application;\n  --check changes nothing and exits 1 naming every stale file`;
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(`${usage}\n`); return 0; }
  if (unknown.length) { process.stderr.write(`image: unknown argument ${JSON.stringify(unknown[0])}\n${usage}\n`); return 1; }
  try {
    if (check) {
      const stale = staleImageFiles();
      for (const f of stale) {
        const missing = !fs.existsSync(path.join(repoRoot(), ...f.split('/')));
        process.stderr.write(`image: ${f} is ${missing ? 'missing' : 'stale'}; regenerate with \`${REGENERATE}\`\n`);
      }
      if (!stale.length) process.stderr.write('image: runtime/images/ is up to date\n');
      return stale.length ? 1 : 0;
    }
    const changed = writeImageFiles();
    for (const f of changed) process.stderr.write(`image: wrote ${f}\n`);
    if (!changed.length) process.stderr.write('image: runtime/images/ is up to date\n');
    return 0;
  } catch (e) {
    process.stderr.write(`image: error: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
