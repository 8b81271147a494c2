import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { toYaml } from '../../lib/synth/synthesize';

const DIR = path.join(__dirname, '..', '..', '..', 'test', '__snapshots__');

/**
 * Compares `value` (as YAML) with test/__snapshots__/<name>.yaml. A missing snapshot is
 * written (and fails under CI=true, where it must already be committed); UPDATE_SNAPSHOTS=1
 * rewrites them.
 */
export function matchSnapshot(name: string, value: unknown): void {
  const file = path.join(DIR, `${name}.yaml`);
  const text = Array.isArray(value) ? value.map((v) => toYaml(v)).join('---\n') : toYaml(value);
  if (process.env.UPDATE_SNAPSHOTS === '1' || (!fs.existsSync(file) && process.env.CI !== 'true')) {
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.ok(fs.existsSync(file), `snapshot ${name} is missing: run the tests once without CI=true and commit test/__snapshots__/${name}.yaml`);
  assert.equal(text, fs.readFileSync(file, 'utf8'), `snapshot ${name} differs (UPDATE_SNAPSHOTS=1 to accept)`);
}
