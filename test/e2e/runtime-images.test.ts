/**
 * The container images of runtime/images/ stay in step with what the toolkit synthesizes and
 * with the Flink homes the live tests run on:
 * - the committed files are exactly what lib/local/image.ts generates (and --check says so);
 * - each runtime Dockerfile adds every entry of imageLayout(line), the same list
 *   layoutFlinkHome lays a real home out from (checked against such a home, sha256 included);
 * - prepare-config.sh is the charts' init container script, and the entrypoint wrapper really
 *   prepares the configuration and hands the arguments to the official entrypoint;
 * - the ops image provides the paths and entry point the charts and session jobs use;
 * - pods run as the users the images declare.
 * No Docker engine is involved; nothing starts Flink. Laying out the homes reads the cache of
 * the live tests (it downloads only on a cold cache).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FlinkApplication } from '../../lib/application';
import { FlinkVersion } from '../../lib/config/flink-version';
import { SQL_RUNNER_CLASS } from '../../lib/job-source';
import { synthesizeUnit, SynthesizedUnit } from '../../lib/synth/synthesize';
import { PACKAGE_VERSION } from '../../lib/version';
import {
  ENTRYPOINT_SCRIPT, flinkDockerfile, IMAGE_SCRIPTS_DIR, OFFICIAL_ENTRYPOINT, OPS_BIN, OPS_PACKAGE_DIR, PREPARE_SCRIPT,
  runtimeImageFiles, staleImageFiles,
} from '../../lib/local/image';
import { imageLayout, layoutFlinkHome, LayoutEntry, OPT_STAND_INS, readArtifacts, repoRoot, sha256File } from '../support/flink-dist';

const ROOT = repoRoot();
const LINES = Object.entries(readArtifacts().lines).map(([line, l]) => ({ line, version: l.flinkVersion, baseImage: (l as any).baseImage as string }));
const read = (rel: string) => fs.readFileSync(path.join(ROOT, ...rel.split('/')), 'utf8');
const dockerfile = (line: string) => read(`runtime/images/flink-${line}/Dockerfile`);
const OPS_DOCKERFILE = () => read('runtime/images/ops/Dockerfile');
const OPS_IMAGE = `${PRODUCTION.imageRegistry}/cdk8s-flink-ops:${PACKAGE_VERSION}`;

/** Dockerfile instructions with `\`-continued lines joined and comments dropped. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (!cur && (raw.startsWith('#') || !raw.trim())) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) cur += line.slice(0, -1) + ' ';
    else { out.push((cur + line).replace(/\s+/g, ' ').trim()); cur = ''; }
  }
  return out;
}

/** The numeric user of the final stage (`USER uid:gid`). */
function finalUser(text: string): { uid: number; gid: number } {
  const users = instructions(text).filter((i) => i.startsWith('USER '));
  const m = /^USER (\d+):(\d+)$/.exec(users[users.length - 1] ?? '');
  assert.ok(m, `the final USER is not numeric uid:gid: ${users[users.length - 1]}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

const units = () => {
  const platform = buildLogPlatform(PRODUCTION);
  return platform.releaseUnits.map((u) => ({ unit: u, s: synthesizeUnit(u) }));
};
let synthesized: { unit: ReturnType<typeof buildLogPlatform>['releaseUnits'][number]; s: SynthesizedUnit }[];
before(() => { synthesized = units(); });

const deployments = () => synthesized.flatMap(({ s }) => s.objects.filter((o) => o.kind === 'Deployment'));
const initOf = (d: any) => {
  const c = d.spec.template.spec.initContainers.find((x: any) => x.name === 'flink-config');
  assert.ok(c, `${d.metadata.name}: no init container flink-config`);
  assert.deepEqual(c.command.slice(0, 2), ['sh', '-c']);
  return c;
};

// ---------------------------------------------------------------------------------------------

test('the committed runtime/images files are exactly what lib/local/image.ts generates, and --check says so', () => {
  const files = runtimeImageFiles();
  assert.deepEqual(files.map((f) => f.path), [
    'runtime/images/flink-1.20/Dockerfile', 'runtime/images/flink-1.20/Dockerfile.dockerignore',
    'runtime/images/flink-2.2/Dockerfile', 'runtime/images/flink-2.2/Dockerfile.dockerignore',
    'runtime/images/flink/prepare-config.sh', 'runtime/images/flink/cdk8s-flink-entrypoint.sh',
    'runtime/images/ops/Dockerfile', 'runtime/images/ops/Dockerfile.dockerignore',
  ]);
  assert.deepEqual(runtimeImageFiles(), files, 'generating twice gives the same files');
  for (const f of files) assert.equal(read(f.path), f.content, `${f.path} is stale: run node build/lib/local/image.js`);
  assert.deepEqual(staleImageFiles(), []);

  // The check notices a change and a missing file, naming them.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-images-'));
  try {
    for (const f of files) {
      fs.mkdirSync(path.join(tmp, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(tmp, f.path), f.content);
    }
    assert.deepEqual(staleImageFiles(tmp, files), []);
    fs.appendFileSync(path.join(tmp, 'runtime/images/flink-2.2/Dockerfile'), 'RUN true\n');
    fs.rmSync(path.join(tmp, 'runtime/images/ops/Dockerfile'));
    assert.deepEqual(staleImageFiles(tmp, files), ['runtime/images/flink-2.2/Dockerfile', 'runtime/images/ops/Dockerfile']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const cli = path.join(__dirname, '..', '..', 'lib', 'local', 'image.js');
  const r = spawnSync(process.execPath, [cli, '--check'], { encoding: 'utf8', env: { ...process.env, CDK8S_FLINK_SQL_RUNNER_JAR: '' } });
  assert.equal(r.status, 1, 'generating with CDK8S_FLINK_SQL_RUNNER_JAR set is refused');
  assert.match(r.stderr, /CDK8S_FLINK_SQL_RUNNER_JAR is set/);
  const env = { ...process.env };
  delete env.CDK8S_FLINK_SQL_RUNNER_JAR;
  const ok = spawnSync(process.execPath, [cli, '--check'], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /up to date/);
});

test('each runtime Dockerfile starts from the line\'s official image and adds exactly the entries of imageLayout(line)', () => {
  for (const { line, version, baseImage } of LINES) {
    const text = dockerfile(line);
    const ins = instructions(text);
    const froms = ins.filter((i) => i.startsWith('FROM '));
    assert.equal(froms[froms.length - 1], `FROM ${baseImage}`, `${line}: final stage`);
    assert.match(baseImage, new RegExp(`^flink:${version.replace(/\./g, '\\.')}-`), `${line}: baseImage is of Flink ${version}`);
    const entries = imageLayout(line);
    assert.ok(entries.some((e) => e.kind === 'maven') && entries.some((e) => e.kind === 'build') && entries.some((e) => e.kind === 'plugin'));
    for (const e of entries) {
      const dest = `/opt/flink/${e.dest}`;
      if (e.kind === 'maven') {
        const add = ins.indexOf(`ADD --chown=9999:9999 --chmod=0644 ${e.url} ${dest}`);
        assert.ok(add >= 0, `${line}: no ADD of ${e.coords} to ${dest}`);
        // (instructions() folds runs of spaces: the Dockerfile has the two that sha256sum -c reads)
        assert.equal(ins[add + 1], `RUN echo "${e.sha256} ${dest}" | sha256sum -c -`, `${line}: the ADD of ${e.coords} is not checked right after`);
        assert.ok(!ins.some((i) => i.includes('--checksum')), `${line}: ADD --checksum (BuildKit only) is back`);
        assert.equal(e.url, `https://repo1.maven.org/maven2/${e.coords.split(':')[0].replace(/\./g, '/')}/${e.coords.split(':')[1]}/${e.coords.split(':')[2]}/${path.posix.basename(e.dest)}`);
      } else if (e.kind === 'build') {
        const copy = ins.find((i) => i.startsWith('COPY --from=') && i.endsWith(` ${dest}`));
        assert.ok(copy, `${line}: no COPY of the built ${e.jar} to ${dest}`);
        const stage = /--from=(\S+)/.exec(copy)![1];
        assert.ok(ins.includes(`FROM maven:3-eclipse-temurin-17 AS ${stage}`), `${line}: build stage ${stage}`);
        assert.ok(ins.includes(`RUN mvn -B -ntp -q -f ${e.project}/pom.xml package`), `${line}: ${e.project} is built`);
        assert.ok(copy.includes(` /build/${e.project}/target/${e.jar} `), `${line}: the COPY takes ${e.jar} from the build`);
      } else {
        assert.ok(ins.some((i) => i.startsWith('RUN ') && i.includes(`test -f ${dest}`)), `${line}: plugin ${e.name} is not checked at ${dest}`);
      }
    }
    // Nothing else lands in lib/, usrlib/ or plugins/.
    const placed = ins.filter((i) => /^(ADD|COPY) /.test(i)).map((i) => i.split(' ').pop()!).filter((d) => d.startsWith('/opt/flink/'));
    assert.deepEqual(placed.sort(), entries.filter((e) => e.kind !== 'plugin').map((e) => `/opt/flink/${e.dest}`).sort(), `${line}: files placed under /opt/flink`);
    assert.ok(ins.includes(`ENTRYPOINT ["${ENTRYPOINT_SCRIPT}"]`), `${line}: entrypoint`);
    assert.ok(ins.some((i) => i.startsWith('COPY ') && i.includes('runtime/images/flink/prepare-config.sh') && i.includes('runtime/images/flink/cdk8s-flink-entrypoint.sh') && i.endsWith(` ${IMAGE_SCRIPTS_DIR}/`)));
    // The build context keeps what the Dockerfile copies.
    const ignore = read(`runtime/images/flink-${line}/Dockerfile.dockerignore`);
    for (const keep of ['runtime/sql-runner/pom.xml', 'runtime/sql-runner/src/', 'runtime/images/flink/prepare-config.sh', 'runtime/images/flink/cdk8s-flink-entrypoint.sh']) {
      assert.ok(ignore.split('\n').includes(`!${keep}`), `${line}: the context keeps ${keep}`);
    }
  }
});

test('a Maven jar without a sha256 cannot go into a Dockerfile', () => {
  const entries = imageLayout('2.2');
  const unchecked = entries.map((e) => (e.kind === 'maven' && e.dest.includes('kafka-clients') ? { ...e, sha256: undefined } : e));
  assert.throws(() => flinkDockerfile('2.2', unchecked), /lines\.2\.2: org\.apache\.kafka:kafka-clients:\S+ has sha256 undefined; expected the jar's sha256/);
  const short = entries.map((e) => (e.kind === 'maven' ? { ...e, sha256: 'abc' } : e));
  assert.throws(() => flinkDockerfile('2.2', short), /has sha256 "abc"/);
  assert.equal(flinkDockerfile('2.2', entries), dockerfile('2.2'));
});

// ---------------------------------------------------------------------------------------------

const homes = new Map<string, string>();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-images-home-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('layoutFlinkHome lays out exactly the Dockerfile\'s entries: same files, same bytes the Dockerfile checks', { timeout: 30 * 60_000 }, async () => {
  for (const { line, version } of LINES) {
    const home = await layoutFlinkHome(version, line, path.join(work, line));
    homes.set(line, home);
    const entries: LayoutEntry[] = imageLayout(line, version);
    const marker = JSON.parse(fs.readFileSync(path.join(home, '.cdk8s-flink-layout.json'), 'utf8'));
    const dist = marker.dist as string;
    // The optional file systems of opt/, which PyPI's distribution leaves out, are stand-ins:
    // the nearest patch release Maven Central serves, with the sha256 OPT_STAND_INS pins.
    const standIns = new Set((marker.standIns as { dest: string }[]).map((a) => a.dest));
    for (const e of entries) {
      const p = path.join(home, e.dest);
      assert.ok(fs.existsSync(p) && fs.lstatSync(p).isFile(), `${line}: ${e.dest} is not a file of the laid-out home`);
      if (e.kind === 'maven') assert.equal(sha256File(p), e.sha256, `${line}: ${e.dest} has other bytes than the Dockerfile checks`);
      if (e.kind === 'plugin' && standIns.has(e.dest)) {
        assert.ok(e.source.startsWith('opt/') && !fs.existsSync(path.join(dist, e.source)), `${line}: ${e.dest} has a stand-in though the distribution has ${e.source}`);
        assert.equal(sha256File(p), OPT_STAND_INS[e.source].sha256, `${line}: plugin ${e.name} is the pinned stand-in of ${e.source}`);
      } else if (e.kind === 'plugin') {
        assert.equal(sha256File(p), sha256File(path.join(dist, e.source)), `${line}: plugin ${e.name} is the distribution's jar`);
      }
    }
    // What the home adds to the distribution's lib/ is exactly the layout's lib/ entries; usrlib/ likewise.
    const added = (folder: string) => fs.readdirSync(path.join(home, folder))
      .filter((f) => !fs.lstatSync(path.join(home, folder, f)).isSymbolicLink())
      .map((f) => `${folder}/${f}`).sort();
    const want = (folder: string) => entries.filter((e) => e.kind !== 'plugin' && e.dest.startsWith(`${folder}/`)).map((e) => e.dest).sort();
    assert.deepEqual(added('lib'), want('lib'), `${line}: lib/ additions`);
    assert.deepEqual(added('usrlib'), want('usrlib'), `${line}: usrlib/ contents`);
    // The Dockerfile's checksums are those of the jars the live tests run on.
    const checks = [...dockerfile(line).matchAll(/^RUN echo "([0-9a-f]{64})  \/opt\/flink\/(\S+)" \| sha256sum -c -$/gm)];
    assert.equal(checks.length, entries.filter((e) => e.kind === 'maven').length, `${line}: one sha256 check per Maven jar`);
    for (const m of checks) {
      assert.equal(sha256File(path.join(home, m[2])), m[1], `${line}: ${m[2]}`);
    }
  }
});

test('the usrlib runner of the image holds the main class that synthesized SQL jobs start', () => {
  const classes = new Set(synthesized.flatMap(({ s }) => s.objects)
    .filter((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-jobmanager'))
    .map((d) => d.spec.template.spec.containers[0].args)
    .filter((a: string[]) => a[0] === 'standalone-job')
    .map((a: string[]) => a[a.indexOf('--job-classname') + 1]));
  assert.deepEqual([...classes], [SQL_RUNNER_CLASS]);
  for (const { line } of LINES) {
    const runner = imageLayout(line).find((e) => e.kind === 'build' && e.dest.startsWith('usrlib/'));
    assert.ok(runner && runner.kind === 'build');
    assert.equal(runner.mainClass, SQL_RUNNER_CLASS, `${line}: the runner's main class`);
    const home = homes.get(line);
    if (home) {
      const jar = fs.readFileSync(path.join(home, runner.dest)).toString('latin1');
      assert.ok(jar.includes(`${SQL_RUNNER_CLASS.replace(/\./g, '/')}.class`), `${line}: ${runner.dest} has no ${SQL_RUNNER_CLASS}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------

const SCRIPT_BODY = () => read('runtime/images/flink/prepare-config.sh').split('\n').filter((l) => l && !l.startsWith('#')).join('\n');

test('prepare-config.sh is the init container script of every synthesized example JobManager, and starts with every TaskManager\'s', () => {
  const body = SCRIPT_BODY();
  const apps = synthesized.filter(({ unit }) => unit.construct instanceof FlinkApplication);
  assert.deepEqual(apps.map(({ unit }) => unit.name).sort(), ['access-logs', 'audit-logs', 'log-enricher']);
  const versions = new Set<string>();
  for (const d of deployments()) {
    const script = initOf(d).command[2] as string;
    const app = apps.some(({ s }) => s.objects.includes(d));
    if (d.metadata.name.endsWith('-jobmanager') && app) {
      assert.equal(script, body, `${d.metadata.name}: init container script`);
      versions.add(d.metadata.labels['app.kubernetes.io/version']);
    } else {
      // TaskManagers, and the session JobManager (no hand-off): the copy that prepare-config.sh starts with.
      assert.ok(body.startsWith(`${script} && `), `${d.metadata.name}: ${script}`);
    }
    const mount = initOf(d).volumeMounts.find((m: any) => m.name === 'flink-config-template');
    assert.equal(mount.mountPath, '/opt/flink/conf-template');
  }
  assert.deepEqual([...versions].sort(), ['1.20.5', '2.2.1'], 'both lines are covered');
  // The wrapper tests for the template file every line reads.
  const entry = read('runtime/images/flink/cdk8s-flink-entrypoint.sh');
  for (const { version } of LINES) assert.ok(entry.includes(`if [ -f /opt/flink/conf-template/${FlinkVersion.of(version).configFileName} ]; then`));
  assert.ok(entry.includes(`/bin/sh ${PREPARE_SCRIPT}`) && entry.trimEnd().endsWith(`exec ${OFFICIAL_ENTRYPOINT} "$@"`));
});

/** The image's scripts with their absolute paths mapped into dir, like the kubelet's mounts. */
function mappedScripts(dir: string): { entry: string; fakeEntrypoint: string } {
  const map = (s: string) => s.split(PREPARE_SCRIPT).join(path.join(dir, 'prepare-config.sh'))
    .split(OFFICIAL_ENTRYPOINT).join(path.join(dir, 'docker-entrypoint.sh'))
    .split('/opt/flink/').join(`${dir}/flink/`);
  fs.writeFileSync(path.join(dir, 'prepare-config.sh'), map(read('runtime/images/flink/prepare-config.sh')));
  const entry = path.join(dir, 'cdk8s-flink-entrypoint.sh');
  fs.writeFileSync(entry, map(read('runtime/images/flink/cdk8s-flink-entrypoint.sh')));
  const fakeEntrypoint = path.join(dir, 'docker-entrypoint.sh');
  fs.writeFileSync(fakeEntrypoint, `#!/bin/sh\nprintf 'arg:%s\\n' "$@"\n`, { mode: 0o755 });
  return { entry, fakeEntrypoint };
}

test('the entrypoint wrapper prepares the config and applies the hand-off when the template is mounted, then execs the official entrypoint with the arguments', () => {
  const audit = synthesized.find(({ unit }) => unit.name === 'audit-logs')!.s.objects;
  const cm = audit.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'audit-logs-config');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-entry-'));
  try {
    const { entry } = mappedScripts(dir);
    const flink = path.join(dir, 'flink');
    for (const d of ['conf-template', 'conf', 'handoff']) fs.mkdirSync(path.join(flink, d), { recursive: true });
    fs.writeFileSync(path.join(flink, 'conf-template', 'config.yaml'), cm.data['config.yaml']);
    fs.writeFileSync(path.join(flink, 'conf-template', 'log4j-console.properties'), cm.data['log4j-console.properties']);
    fs.writeFileSync(path.join(flink, 'handoff', 'savepointPath'), 's3://state/audit-logs/savepoints/savepoint-1');
    fs.writeFileSync(path.join(flink, 'handoff', 'allowNonRestoredState'), 'true');
    const args = ['standalone-job', '--job-classname', SQL_RUNNER_CLASS, '--script', '/opt/flink/job/a b.sql'];
    const r = spawnSync('sh', [entry, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), args.map((a) => `arg:${a}`));
    const conf = fs.readFileSync(path.join(flink, 'conf', 'config.yaml'), 'utf8');
    assert.ok(conf.startsWith(cm.data['config.yaml']));
    const parsed = parseYaml(conf);
    assert.equal(parsed['execution.state-recovery.path'], 's3://state/audit-logs/savepoints/savepoint-1');
    assert.equal(parsed['execution.state-recovery.ignore-unclaimed-state'], true);
    assert.equal(fs.readFileSync(path.join(flink, 'conf', 'log4j-console.properties'), 'utf8'), cm.data['log4j-console.properties']);

    // Run twice (init container and wrapper both): the same configuration, not the keys twice.
    assert.equal(spawnSync('sh', [entry, 'jobmanager'], { encoding: 'utf8' }).status, 0);
    assert.equal(fs.readFileSync(path.join(flink, 'conf', 'config.yaml'), 'utf8'), conf);

    // No template mounted (the charts' Flink containers): nothing is touched, arguments pass through.
    fs.rmSync(path.join(flink, 'conf-template'), { recursive: true });
    fs.writeFileSync(path.join(flink, 'conf', 'config.yaml'), 'prepared: by-init-container\n');
    const r2 = spawnSync('sh', [entry, 'taskmanager', '-D', 'k=v'], { encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(r2.stdout.trim().split('\n'), ['arg:taskmanager', 'arg:-D', 'arg:k=v']);
    assert.equal(fs.readFileSync(path.join(flink, 'conf', 'config.yaml'), 'utf8'), 'prepared: by-init-container\n');

    // Template mounted but no writable conf dir: a clear failure, the official entrypoint never runs.
    fs.mkdirSync(path.join(flink, 'conf-template'));
    fs.writeFileSync(path.join(flink, 'conf-template', 'config.yaml'), cm.data['config.yaml']);
    fs.writeFileSync(path.join(flink, 'conf-template', 'log4j-console.properties'), '');
    fs.rmSync(path.join(flink, 'conf'), { recursive: true });
    const r3 = spawnSync('sh', [entry, 'jobmanager'], { encoding: 'utf8' });
    assert.equal(r3.status, 1);
    assert.equal(r3.stdout, '');
    assert.match(r3.stderr, /cdk8s-flink: could not prepare .*conf from .*conf-template/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------

test('the ops image provides the SQL runner where submit reads it and `cdk8s-flink-ops` as its entry point', () => {
  const text = OPS_DOCKERFILE();
  const ins = instructions(text);
  // submit's default path, read from the compiled module without the override variable.
  const env = { ...process.env };
  delete env.CDK8S_FLINK_SQL_RUNNER_JAR;
  const submit = path.join(__dirname, '..', '..', 'lib', 'ops', 'submit.js');
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(submit)}).SQL_RUNNER_JAR)`], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const jarPath = r.stdout;
  assert.match(jarPath, /^\/opt\/cdk8s-flink\/.+\.jar$/);
  const runner = imageLayout(LINES[0].line).find((e) => e.kind === 'build' && e.dest.startsWith('usrlib/'));
  assert.ok(runner && runner.kind === 'build');
  const copy = ins.find((i) => i.startsWith('COPY --from=') && i.endsWith(` ${jarPath}`));
  assert.ok(copy, `no COPY of the SQL runner to ${jarPath}`);
  assert.ok(copy.includes(` /build/${runner.project}/target/${runner.jar} `), 'the same runner the Flink images carry');
  assert.ok(ins.includes(`RUN mvn -B -ntp -q -f ${runner.project}/pom.xml package`));

  // The entry point: package.json's bin, compiled where tsc writes it, linked onto PATH.
  const pkg = JSON.parse(read('package.json'));
  const tsconfig = JSON.parse(read('tsconfig.json'));
  const bin = pkg.bin[OPS_BIN] as string;
  assert.ok(bin.startsWith(`${tsconfig.compilerOptions.outDir}/`), `bin ${bin} is under tsc's outDir`);
  const compiled = path.join(__dirname, '..', '..', path.relative(tsconfig.compilerOptions.outDir, bin));
  assert.ok(fs.readFileSync(compiled, 'utf8').startsWith('#!/usr/bin/env node\n'), `${compiled} has no node shebang`);
  assert.ok(ins.some((i) => i.startsWith('RUN ') && i.includes(`ln -s ${OPS_PACKAGE_DIR}/${bin} /usr/local/bin/${OPS_BIN}`) && i.includes(`chmod 0755 ${OPS_PACKAGE_DIR}/${bin}`)));
  assert.ok(ins.includes(`WORKDIR ${OPS_PACKAGE_DIR}`) && ins.includes(`COPY --from=package ${OPS_PACKAGE_DIR} ${OPS_PACKAGE_DIR}`));
  assert.ok(ins.includes('RUN npm ci --no-audit --no-fund'));
  assert.ok(ins.some((i) => i.includes('npx tsc -p') && i.includes('npm prune --omit=dev')));
  assert.ok(/^FROM node:20[-:]/m.test(text));
  assert.equal(ins[ins.length - 1], `ENTRYPOINT ["${OPS_BIN}"]`);
  const ignore = read('runtime/images/ops/Dockerfile.dockerignore').split('\n');
  for (const keep of ['package.json', 'package-lock.json', 'tsconfig.json', 'lib/', `${runner.project}/pom.xml`, `${runner.project}/src/`]) assert.ok(ignore.includes(`!${keep}`), keep);

  // The ops containers pass only arguments, so the image's ENTRYPOINT is what runs.
  const jobs = synthesized.flatMap(({ s }) => s.objects).filter((o) => o.kind === 'Job');
  assert.ok(jobs.length >= 2);
  for (const j of jobs) {
    const c = j.spec.template.spec.containers[0];
    assert.equal(c.image, OPS_IMAGE);
    assert.equal(c.command, undefined, `${j.metadata.name}: sets a command`);
    assert.equal(c.args[0], 'submit');
  }
  // The hooks and test pods of every chart default to the same fully qualified ops image.
  for (const { s } of synthesized) {
    if (s.kind === 'application') assert.match(s.chart['values.yaml'], new RegExp(`\\n  image: ${OPS_IMAGE.replace(/[./]/g, '\\$&')}\\n`), `${s.name}: hooks.image`);
  }
  let hooks = 0;
  let submits = 0;
  for (const { s } of synthesized) {
    for (const [file, t] of Object.entries(s.chart ?? {})) {
      // One document per object (the objects template holds every kind).
      for (const doc of t.split(/^---\n/m)) {
        if (!/image: \{\{ \.Values\.hooks\.image \}\}/.test(doc) && !(/^kind: Job$/m.test(doc) && /^ {2}name: \{\{ include "[^"]+\.fullname" [.$] \}\}-submit$/m.test(doc))) continue;
        hooks++;
        if (/-submit$/m.test(doc)) submits++;
        assert.doesNotMatch(doc, /^\s*-?\s*command:/m, `${file} sets a command`);
      }
    }
  }
  assert.ok(hooks >= 10, `hook templates found: ${hooks}`);
  assert.ok(submits >= 2, `session jobs' submit Job templates found: ${submits}`);
});

test('pods run as the users the images declare: Flink pods as the flink user, hooks and submit Jobs as the ops user', () => {
  const flinkUsers = LINES.map(({ line }) => finalUser(dockerfile(line)));
  for (const u of flinkUsers) assert.deepEqual(u, flinkUsers[0]);
  const flink = flinkUsers[0];
  const ops = finalUser(OPS_DOCKERFILE());
  assert.notEqual(flink.uid, 0);
  assert.notEqual(ops.uid, 0);
  // The Flink image's user is the official image's flink user (9999), not one we create.
  assert.equal(flink.uid, 9999);
  assert.ok(instructions(OPS_DOCKERFILE()).some((i) => i.includes(`useradd --system --uid ${ops.uid} --gid ${ops.gid}`)));

  let flinkPods = 0;
  let opsPods = 0;
  for (const o of synthesized.flatMap(({ s }) => s.objects)) {
    const pod = o.spec?.template?.spec;
    if (!pod) continue;
    const images = [...(pod.initContainers ?? []), ...pod.containers].map((c: any) => c.image as string);
    const want = o.kind === 'Deployment' ? flink : ops;
    if (o.kind === 'Deployment') {
      flinkPods++;
      for (const img of images) assert.ok(LINES.some(({ version }) => img === `${PRODUCTION.imageRegistry}/flink-runtime:${version}-${PACKAGE_VERSION}`), img);
    } else {
      opsPods++;
      for (const img of images) assert.equal(img, OPS_IMAGE);
    }
    assert.equal(pod.securityContext.runAsUser, want.uid, `${o.kind}/${o.metadata.name} runAsUser`);
    assert.equal(pod.securityContext.runAsGroup, want.gid, `${o.kind}/${o.metadata.name} runAsGroup`);
    assert.equal(pod.securityContext.runAsNonRoot, true);
  }
  assert.ok(flinkPods >= 8 && opsPods >= 2, `${flinkPods} Flink pods, ${opsPods} ops pods`);
  // The charts' templates (hooks and helm test run the ops image).
  let checked = 0;
  for (const { s } of synthesized) {
    // One document per object (the objects template holds every kind): the Deployments run Flink, every other pod the ops image.
    for (const [file, text] of Object.entries(s.chart ?? {})) {
      for (const t of text.split(/^---\n/m)) {
        const uids = [...t.matchAll(/runAsUser: (\d+)/g)].map((m) => Number(m[1]));
        if (!uids.length) continue;
        const kind = /^kind: (\S+)$/m.exec(t)?.[1];
        assert.ok(kind, `${file}: a document with a pod and no kind:\n${t.slice(0, 300)}`);
        const want: number = kind === 'Deployment' ? flink.uid : ops.uid;
        if (want === ops.uid) assert.match(t, /image: \{\{ (\.Values\.hooks\.image|include "[^"]+\.image" \$) \}\}/, file);
        for (const u of uids) assert.equal(u, want, `${file} ${kind} runAsUser`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 20, `chart templates checked: ${checked}`);
});
