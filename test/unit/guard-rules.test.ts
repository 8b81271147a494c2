import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLogPlatform, PRODUCTION } from '../../examples/platform';
import { FlinkApplication } from '../../lib/application';
import { PARALLELISM_WITHIN_SLOTS, SAVEPOINT_NEEDS_DIRECTORY } from '../../lib/rules/guards';
import { synthesizeUnit } from '../../lib/synth/synthesize';
import { helm, writeChart } from '../support/helm-chart';
import { ensureHelm } from '../support/tools';

/** Renders a chart whose one template fails when `condition` holds; true when helm accepts the values. */
function helmAccepts(bin: string, condition: string, values: Record<string, unknown>): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-guard-'));
  try {
    const chart = writeChart({
      name: 'guard',
      chart: {
        'Chart.yaml': 'apiVersion: v2\nname: guard\nversion: 0.1.0\n',
        'values.yaml': `${JSON.stringify(values)}\n`,
        'templates/check.yaml': `{{- if ${condition} -}}{{- fail "refused" -}}{{- end -}}\n`,
      },
    }, dir);
    const r = helm(bin, ['template', 'guard', chart]);
    if (r.code !== 0) assert.match(r.stderr, /refused/, `helm failed for another reason: ${r.stderr}`);
    return r.code === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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

test('guard rules: every application chart\'s validate helper fails on the declared conditions', () => {
  let apps = 0;
  for (const unit of buildLogPlatform(PRODUCTION).releaseUnits) {
    if (!(unit.construct instanceof FlinkApplication)) continue;
    apps++;
    const helpers = synthesizeUnit(unit).chart['templates/_helpers.tpl'];
    assert.ok(helpers.includes(`{{- if ${SAVEPOINT_NEEDS_DIRECTORY.refusedWhen()} -}}`), unit.name);
    if (!unit.construct.reactive) {
      assert.ok(helpers.includes(`{{- if ${PARALLELISM_WITHIN_SLOTS.refusedWhen({ slotsPerTaskManager: unit.construct.taskManagerSlots })} -}}`), unit.name);
    }
  }
  assert.ok(apps >= 2);
});
