import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FlinkApplication } from '../../lib/application';
import { ValidationError } from '../../lib/errors';
import * as YAML from 'yaml';
import { GuardRule, JOB_MANAGER_HEAP_MINIMUM, PARALLELISM_WITHIN_SLOTS, SAVEPOINT_NEEDS_DIRECTORY, TASK_HEAP_MINIMUM } from '../../lib/rules/guards';
import { minimumJobManagerMiB, minimumTaskManagerMiB } from '../../lib/config/memory';
import { checkJobManagerMemory, checkTaskManagerMemory } from '../../lib/cluster/memory-checks';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { helm, writeChart } from '../support/helm-chart';
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

test('guard rules: every application chart\'s validate helper fails on the declared conditions', () => {
  let apps = 0;
  for (const unit of buildLogPlatform(PRODUCTION).releaseUnits) {
    if (!(unit.construct instanceof FlinkApplication)) continue;
    apps++;
    const helpers = synthesizeUnit(unit).chart['templates/_helpers.tpl'];
    assert.ok(helpers.includes(`{{- if ${SAVEPOINT_NEEDS_DIRECTORY.refusedWhen()} -}}`), unit.name);
    const tm = { managedFraction: Number(unit.construct.configuration.get('taskmanager.memory.managed.fraction')), processMiB: `include "${unit.name}.mebibytes" .Values.taskManager.resources.memory | atoi` };
    assert.ok(helpers.includes(`${TASK_HEAP_MINIMUM.assignments!(tm)}{{- if ${TASK_HEAP_MINIMUM.refusedWhen(tm)} -}}`), unit.name);
    assert.ok(helpers.includes(`{{- if ${JOB_MANAGER_HEAP_MINIMUM.refusedWhen({ processMiB: `include "${unit.name}.mebibytes" .Values.jobManager.resources.memory | atoi` })} -}}`), unit.name);
    if (!unit.construct.reactive) {
      assert.ok(helpers.includes(`{{- if ${PARALLELISM_WITHIN_SLOTS.refusedWhen({ slotsPerTaskManager: unit.construct.taskManagerSlots })} -}}`), unit.name);
    }
  }
  assert.ok(apps >= 2);
});
