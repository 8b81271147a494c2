/**
 * The README's picture of the platform dashboard's layout (docs/dashboard.png): the dashboard JSON's grid
 * positions, titles, panel types and units drawn as SVG (lib/monitoring/dashboard-layout.ts)
 * and converted to PNG by a real `rsvg-convert` (Debian's librsvg2-bin, installed on demand).
 * A missing picture is written (UPDATE_SNAPSHOTS=1 rewrites it); a committed one must have
 * the size of a fresh rendering, so a changed layout shows up.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlinkPlatform } from '../../lib';
import { dashboardLayoutSvg } from '../../lib/monitoring';
import { run, which } from '../support/tools';

const PNG = path.join(__dirname, '..', '..', '..', 'docs', 'dashboard.png');

async function ensureRsvgConvert(): Promise<string> {
  const found = which('rsvg-convert');
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', 'librsvg2-bin'], { env, timeoutMs: 10 * 60_000 });
  try {
    await install();
  } catch {
    await run('apt-get', ['update', '-o', 'DPkg::Lock::Timeout=600'], { env, timeoutMs: 10 * 60_000 });
    await install();
  }
  const p = which('rsvg-convert');
  if (!p) throw new Error('rsvg-convert not found after installing librsvg2-bin');
  return p;
}

function pngSize(buf: Buffer): { width: number; height: number } {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'a PNG signature');
  assert.equal(buf.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('docs/dashboard.png: the platform dashboard\'s layout rendered by rsvg-convert, every panel drawn with its title and type', async () => {
  const d = new FlinkPlatform({ namespace: 'logs', partOf: 'log-platform' }).dashboardUnit!.construct.dashboard;
  const svg = dashboardLayoutSvg(d);
  for (const p of d.panels) {
    assert.ok(svg.includes(`>${p.type}<`), `${p.title}: type drawn`);
    assert.ok(svg.includes(`#${p.id}<`), `${p.title}: id drawn`);
  }
  assert.equal((svg.match(/<rect [^>]*rx="6"/g) ?? []).length, d.panels.length, 'one box per panel');
  assert.ok(svg.includes('$namespace  $cluster  $job'), 'the variables drawn');

  const rsvg = await ensureRsvgConvert();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-picture-'));
  try {
    fs.writeFileSync(path.join(dir, 'dashboard.svg'), svg);
    await run(rsvg, ['--format', 'png', '--output', 'dashboard.png', 'dashboard.svg'], { cwd: dir, timeoutMs: 60_000 });
    const fresh = fs.readFileSync(path.join(dir, 'dashboard.png'));
    const size = pngSize(fresh);
    assert.equal(size.width, 1200, '24 columns of 50 px');
    assert.ok(size.height > 600 && size.height < 2000, `height ${size.height}`);
    if (process.env.UPDATE_SNAPSHOTS === '1' || (!fs.existsSync(PNG) && process.env.CI !== 'true')) {
      fs.mkdirSync(path.dirname(PNG), { recursive: true });
      fs.copyFileSync(path.join(dir, 'dashboard.png'), PNG);
    }
    assert.ok(fs.existsSync(PNG), 'docs/dashboard.png is committed (run the test once without CI=true)');
    assert.deepEqual(pngSize(fs.readFileSync(PNG)), size, 'docs/dashboard.png matches the current layout (UPDATE_SNAPSHOTS=1 to redraw)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
