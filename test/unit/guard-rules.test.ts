import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FlinkApplication } from '../../lib/application';
import { ValidationError } from '../../lib/errors';
import * as YAML from 'yaml';
import {
  AUTOSCALER_PARALLELISM_RANGE, AUTOSCALER_TASK_MANAGERS_RANGE, GuardRule, IMAGE_PINNED, JOB_MANAGER_HEAP_MINIMUM, LAST_STATE_NEEDS_HA_CHECKPOINTS, PARALLELISM_WITHIN_AUTOSCALING, PARALLELISM_WITHIN_SLOTS, POOL_MIN_WITHIN_MAX, SAVEPOINT_NEEDS_DIRECTORY, SPARE_SLOTS_HOLD_THE_JOB, SUSPEND_NEEDS_DIRECTORY, TASK_HEAP_MINIMUM,
} from '../../lib/rules/guards';
import { FlinkPlatform, JobSource, UpgradeMode } from '../../lib';
import { checkImage } from '../../lib/cluster/image-ref';
import { handoff } from '../../lib/ops/handoff';
import { OpsError } from '../../lib/ops/errors';
import { minimumJobManagerMiB, minimumTaskManagerMiB } from '../../lib/config/memory';
import { checkJobManagerMemory, checkTaskManagerMemory } from '../../lib/cluster/memory-checks';
import { synthesizePlatform, synthesizeUnit } from '../../lib/synth/synthesize';
import { assertRendersDist, helm, writeChart } from '../support/helm-chart';
import { ensureHelm } from '../support/tools';

/** Renders a chart of one template with `values`; helm's exit code and output. */
function renderTemplate(bin: string, template: string, values: Record<string, unknown>): { code: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-guard-'));
  try {
    const chart = writeChart({
      name: 'guard',
      chart: {
        'Chart.yaml': 'apiVersion: v2\nname: guard\nversion: 0.1.0\n',
        'values.yaml': `${JSON.stringify(values)}\n`,
        'templates/check.yaml': template,
      },
    }, dir);
    return helm(bin, ['template', 'guard', chart]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders a chart whose one template fails when `condition` holds; true when helm accepts the values. */
function helmAccepts(bin: string, condition: string, values: Record<string, unknown>, assignments = ''): boolean {
  const r = renderTemplate(bin, `${assignments}{{- if ${condition} -}}{{- fail "refused" -}}{{- end -}}\n`, values);
  if (r.code !== 0) assert.match(r.stderr, /refused/, `helm failed for another reason: ${r.stderr}`);
  return r.code === 0;
}

/**
 * Helm's verdict on each of many values in one render: the rule's assignments and condition in a
 * range over `.Values.cases`, each case's verdict a key of a ConfigMap. `p` gives the rule's
 * parameters from the case's Go variable.
 */
function helmVerdicts<P>(bin: string, rule: GuardRule<any, P>, p: (v: string) => P, cases: unknown[]): boolean[] {
  const params = p('$v');
  const r = renderTemplate(bin, `apiVersion: v1
kind: ConfigMap
metadata:
  name: verdicts
data:
{{- range $i, $v := .Values.cases }}
${rule.assignments?.(params) ?? ''}  {{ printf "c%d" $i }}: {{ if ${rule.refusedWhen(params)} }}refused{{ else }}accepted{{ end }}
{{- end }}
`, { cases });
  assert.equal(r.code, 0, r.stderr);
  const data = YAML.parse(r.stdout.replace(/^---.*\n(# Source.*\n)?/, '')).data;
  return cases.map((_, i) => ({ accepted: true, refused: false } as Record<string, boolean>)[data[`c${i}`]]);
}

test('guard rules: the constructs\' check and the chart\'s template condition give the same verdict on the same values', async () => {
  const bin = await ensureHelm(3);
  let accepted = 0;
  let refused = 0;
  const agree = (what: string, ts: boolean, chart: boolean) => {
    assert.equal(chart, ts, `${what}: TypeScript ${ts ? 'accepts' : 'refuses'}, the chart ${chart ? 'accepts' : 'refuses'}`);
    if (ts) accepted++; else refused++;
  };
  for (const slots of [1, 2, 3]) {
    for (const replicas of [1, 2, 4]) {
      for (const parallelism of [1, replicas * slots - 1, replicas * slots, replicas * slots + 1].filter((p) => p >= 1)) {
        agree(`parallelism ${parallelism}, ${replicas} x ${slots} slots`,
          PARALLELISM_WITHIN_SLOTS.holds({ parallelism, totalSlots: replicas * slots }),
          helmAccepts(bin, PARALLELISM_WITHIN_SLOTS.refusedWhen({ slotsPerTaskManager: slots }), { job: { parallelism }, taskManager: { replicas } }));
        agree(`adaptive parallelism ${parallelism}, at most ${replicas} x ${slots} slots`,
          PARALLELISM_WITHIN_AUTOSCALING.holds({ parallelism, maxSlots: replicas * slots }),
          helmAccepts(bin, PARALLELISM_WITHIN_AUTOSCALING.refusedWhen({ slotsPerTaskManager: slots }), { job: { parallelism }, taskManager: { autoscaling: { maxReplicas: replicas } } }));
      }
    }
  }
  for (const slotsPerTaskManager of [2, 3]) {
    for (const replicas of [1, 2, 3, 4]) {
      for (const parallelism of [1, 2, 3, 4, 5, 6, 7, 9, 10]) {
        agree(`spare slots: parallelism ${parallelism}, ${replicas} x ${slotsPerTaskManager} slots`,
          SPARE_SLOTS_HOLD_THE_JOB.holds({ parallelism, replicas, slotsPerTaskManager }),
          helmAccepts(bin, SPARE_SLOTS_HOLD_THE_JOB.refusedWhen({ slotsPerTaskManager }), { job: { parallelism }, taskManager: { replicas } }));
      }
    }
  }
  for (const upgradeMode of ['savepoint', 'stateless', 'last-state']) {
    for (const savepointDirectory of ['', 's3://b/sp']) {
      agree(`upgradeMode ${upgradeMode}, savepointDirectory "${savepointDirectory}"`,
        SAVEPOINT_NEEDS_DIRECTORY.holds({ upgradeMode, savepointDirectory: savepointDirectory || undefined }),
        helmAccepts(bin, SAVEPOINT_NEEDS_DIRECTORY.refusedWhen(), { job: { upgradeMode, savepointDirectory } }));
    }
  }
  for (const min of [0, 1, 3, 4]) {
    for (const max of [1, 3]) {
      agree(`TaskManager pool ${min} to ${max}`, POOL_MIN_WITHIN_MAX.holds({ min, max }),
        helmAccepts(bin, POOL_MIN_WITHIN_MAX.refusedWhen(), { taskManager: { pool: { min, max } } }));
    }
  }
  for (const parallelism of [1, 3, 8, 9]) {
    for (const [minParallelism, maxParallelism] of [[1, 8], [2, 8], [4, 4]]) {
      agree(`job autoscaler ${minParallelism}-${maxParallelism}, parallelism ${parallelism}`, AUTOSCALER_PARALLELISM_RANGE.holds({ parallelism, minParallelism, maxParallelism }),
        helmAccepts(bin, AUTOSCALER_PARALLELISM_RANGE.refusedWhen(), { job: { parallelism }, taskManager: { jobAutoscaler: { minParallelism, maxParallelism } } }));
      agree(`a session job's autoscaler ${minParallelism}-${maxParallelism}, parallelism ${parallelism}`, AUTOSCALER_PARALLELISM_RANGE.holds({ parallelism, minParallelism, maxParallelism }),
        helmAccepts(bin, AUTOSCALER_PARALLELISM_RANGE.refusedWhen({ values: '.Values.jobAutoscaler' }), { job: { parallelism }, jobAutoscaler: { minParallelism, maxParallelism } }));
    }
  }
  for (const minTaskManagers of [1, 3, 4]) {
    for (const maxTaskManagers of [1, 3]) {
      agree(`job autoscaler TaskManagers ${minTaskManagers} to ${maxTaskManagers}`, AUTOSCALER_TASK_MANAGERS_RANGE.holds({ minTaskManagers, maxTaskManagers }),
        helmAccepts(bin, AUTOSCALER_TASK_MANAGERS_RANGE.refusedWhen(), { taskManager: { jobAutoscaler: { minTaskManagers, maxTaskManagers } } }));
    }
  }
  assert.ok(accepted >= 10 && refused >= 10, `both verdicts exercised (${accepted} accepted, ${refused} refused)`);
});

/** The construct's verdict: its memory check throws a ValidationError or not. */
function constructAccepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    return false;
  }
}

test('guard rules: the TaskManager memory minimum gives the same verdict in the construct and in helm for every size around the minimum, over managed fractions', async () => {
  const bin = await ensureHelm(3);
  let accepted = 0;
  let refused = 0;
  for (const managedFraction of [0, 0.05, 0.1, 0.29, 0.4, 0.5, 0.693, 0.75, 0.8, 0.85, 0.9, 0.123456789]) {
    const min = minimumTaskManagerMiB(managedFraction);
    // Every MiB within 300 of the minimum (the dips just above the first size that holds), and coarse sizes from 1 MiB to 64 GiB.
    const sizes = [...Array.from({ length: 601 }, (_, i) => min - 300 + i), ...[1, 256, 512, 896, 1024, 1536, 2048, 4096, 8192, 16384, 65536]].filter((x) => x >= 1);
    const chart = helmVerdicts(bin, TASK_HEAP_MINIMUM, (v) => ({ managedFraction, processMiB: `int ${v}` }), sizes);
    sizes.forEach((processMiB, i) => {
      const ts = constructAccepts(() => checkTaskManagerMemory('taskManagerMemory', processMiB, managedFraction));
      assert.equal(ts, TASK_HEAP_MINIMUM.holds({ processMiB, managedFraction }));
      assert.equal(chart[i], ts, `fraction ${managedFraction}, ${processMiB}Mi: the construct ${ts ? 'accepts' : 'refuses'}, helm ${chart[i] ? 'accepts' : 'refuses'}`);
      if (ts) accepted++; else refused++;
    });
  }
  assert.ok(accepted > 3000 && refused > 3000, `both verdicts exercised (${accepted} accepted, ${refused} refused)`);
  // The dips above the first size that holds are in the grid: at 0.75, 3116Mi holds and 3117Mi does not.
  assert.deepEqual([3116, 3117, 3121].map((processMiB) => TASK_HEAP_MINIMUM.holds({ processMiB, managedFraction: 0.75 })), [true, false, true]);
});

test('guard rules: the JobManager memory minimum gives the same verdict in the construct and in helm', async () => {
  const bin = await ensureHelm(3);
  const min = minimumJobManagerMiB();
  const sizes = [1, 512, ...Array.from({ length: 201 }, (_, i) => min - 100 + i), 2048, 65536];
  const chart = helmVerdicts(bin, JOB_MANAGER_HEAP_MINIMUM, (v) => ({ processMiB: `int ${v}` }), sizes);
  sizes.forEach((processMiB, i) => {
    const ts = constructAccepts(() => checkJobManagerMemory('jobManagerMemory', processMiB));
    assert.equal(chart[i], ts, `${processMiB}Mi`);
  });
  assert.deepEqual(chart.filter((x) => !x).length, 102);
});

const SHA256 = `sha256:${'a'.repeat(64)}`;
const SHA512 = `sha512:${'b'.repeat(128)}`;

test('guard rules: image pinning gives the same verdict in the constructs\' image check and in helm over tags and digests', async () => {
  const bin = await ensureHelm(3);
  const cases = ['', 'latest', '1.20.3-java17', 'LATEST', 'latest-java17'].flatMap((tag) => ['', SHA256, SHA512].map((digest) => ({ tag, digest })));
  const chart = helmVerdicts(bin, IMAGE_PINNED, (v) => ({ values: v }), cases);
  cases.forEach(({ tag, digest }, i) => {
    const image = `registry.example.com/flink${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
    const ts = constructAccepts(() => checkImage('image', image));
    assert.equal(chart[i], ts, `${image}: the construct ${ts ? 'accepts' : 'refuses'}, helm ${chart[i] ? 'accepts' : 'refuses'}`);
  });
  assert.deepEqual([chart.filter((x) => x).length, chart.filter((x) => !x).length], [13, 2], 'refused: no tag and "latest", both without a digest');
});

test('guard rules: an application chart renders the definition\'s image as given, digest included, and refuses an unpinned one by values', async () => {
  const bin = await ensureHelm(3);
  for (const image of [`registry.example.com/flink:1.20.3@${SHA256}`, `registry.example.com/flink@${SHA512}`, 'registry.example.com/flink:1.20.3']) {
    const p = new FlinkPlatform({ storageBaseDirectory: 's3://b/f', namespace: 'logs' });
    p.addApplication('pinned', { job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"), image });
    const [u] = synthesizePlatform(p);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-guard-'));
    try {
      // Default values render dist/ (the Flink containers' image included).
      assertRendersDist(bin, u);
      const chartDir = writeChart(u, dir);
      const values = path.join(dir, 'values.yaml');
      const withImage = (tag: string, digest: string) => {
        fs.writeFileSync(values, JSON.stringify({ image: { tag, digest } }));
        return helm(bin, ['template', 'pinned', chartDir, '-f', values]);
      };
      assert.match(withImage('latest', '').stderr, /image\.tag: "latest" does not pin the image; expected a tag other than "latest", or image\.digest/, image);
      assert.match(withImage('', '').stderr, /image\.tag: "" does not pin the image/, image);
      assert.equal(withImage('latest', SHA256).code, 0, `${image}: a digest pins the image whatever the tag`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('guard rules: a last-state upgrade needs high availability and a checkpoint directory, in the construct and in helm', async () => {
  const bin = await ensureHelm(3);
  let refused = 0;
  for (const highAvailability of [false, true]) {
    for (const checkpointDirectory of [undefined, 's3://b/cp']) {
      for (const upgradeMode of ['stateless', 'savepoint', 'last-state']) {
        const ts = LAST_STATE_NEEDS_HA_CHECKPOINTS.holds({ upgradeMode, highAvailability, checkpointDirectory });
        const chart = helmAccepts(bin, LAST_STATE_NEEDS_HA_CHECKPOINTS.refusedWhen({ highAvailability, checkpointDirectory }), { job: { upgradeMode } });
        assert.equal(chart, ts, `${upgradeMode}, HA ${highAvailability}, checkpoints ${checkpointDirectory}`);
        if (!ts) refused++;
      }
    }
  }
  assert.equal(refused, 3);
  // The construct applies the rule: last-state without HA is refused naming the prop.
  const app = (highAvailability: boolean) => () => new FlinkPlatform({ storageBaseDirectory: 's3://b/f' })
    .addApplication('ls', { job: JobSource.sql("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t VALUES (1);\n"), highAvailability, upgradeMode: UpgradeMode.LAST_STATE });
  assert.equal(constructAccepts(app(true)), true);
  assert.throws(app(false), (e: Error) => e instanceof ValidationError && /^upgradeMode: "last-state" needs highAvailability and a checkpointDirectory/.test(e.message));
});

test('guard rules: suspending needs a savepoint directory, in the operations tool\'s hand-off and in helm', async () => {
  const bin = await ensureHelm(3);
  const touched = new Error('past the check');
  const store = { where: 'test', read: async () => { throw touched; }, write: async () => { throw touched; } };
  for (const state of ['running', 'suspended'] as const) {
    for (const savepointDirectory of ['', 's3://b/sp']) {
      const ts = SUSPEND_NEEDS_DIRECTORY.holds({ state, savepointDirectory: savepointDirectory || undefined });
      const chart = helmAccepts(bin, SUSPEND_NEEDS_DIRECTORY.refusedWhen(), { job: { state, savepointDirectory } });
      assert.equal(chart, ts, `${state}, "${savepointDirectory}"`);
      // The hand-off refuses before it reads anything, or goes on to read the hand-off.
      await assert.rejects(handoff({} as any, store, {
        event: 'upgrade', upgradeMode: 'stateless', state, revision: 2, savepointDir: savepointDirectory, release: 'r', namespace: 'n', timeoutMs: 1000, log: () => undefined,
      }), ts ? touched : (e: Error) => e instanceof OpsError && /^--state suspended needs --savepoint-dir \(job\.savepointDirectory\)/.test(e.message));
    }
  }
});

test('guard rules: every application chart\'s validate helper fails on the declared conditions', () => {
  let apps = 0;
  for (const unit of buildLogPlatform(PRODUCTION).releaseUnits) {
    if (!(unit.construct instanceof FlinkApplication)) continue;
    apps++;
    const helpers = synthesizeUnit(unit).chart['templates/_helpers.tpl'];
    assert.ok(helpers.includes(`{{- if ${SAVEPOINT_NEEDS_DIRECTORY.refusedWhen()} -}}`), unit.name);
    assert.ok(helpers.includes(`{{- if ${SUSPEND_NEEDS_DIRECTORY.refusedWhen()} -}}`), unit.name);
    assert.ok(helpers.includes(`{{- if ${IMAGE_PINNED.refusedWhen({ values: '.Values.image' })} -}}`), unit.name);
    const lastState = LAST_STATE_NEEDS_HA_CHECKPOINTS.refusedWhen({ highAvailability: unit.construct.highAvailability, checkpointDirectory: unit.construct.checkpointDirectory });
    assert.equal(helpers.includes(`{{- if ${lastState} -}}`), lastState !== 'false', unit.name);
    const tm = { managedFraction: Number(unit.construct.configuration.get('taskmanager.memory.managed.fraction')), processMiB: `include "${unit.name}.mebibytes" .Values.taskManager.resources.memory | atoi` };
    assert.ok(helpers.includes(`${TASK_HEAP_MINIMUM.assignments!(tm)}{{- if ${TASK_HEAP_MINIMUM.refusedWhen(tm)} -}}`), unit.name);
    assert.ok(helpers.includes(`{{- if ${JOB_MANAGER_HEAP_MINIMUM.refusedWhen({ processMiB: `include "${unit.name}.mebibytes" .Values.jobManager.resources.memory | atoi` })} -}}`), unit.name);
    if (!unit.construct.reactive) {
      assert.ok(helpers.includes(`{{- if ${PARALLELISM_WITHIN_SLOTS.refusedWhen({ slotsPerTaskManager: unit.construct.taskManagerSlots })} -}}`), unit.name);
    }
  }
  assert.ok(apps >= 2);
});
