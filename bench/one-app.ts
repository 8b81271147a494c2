/**
 * The alternative the platform avoids, measured side by side in one run: the same jobs as
 * charts of ONE cdk8s App, synthesized with app.synth() (cdk8s' own writer), against the
 * platform (one App per job, our writer). Manifests only, same definitions.
 *
 *   node build/bench/one-app.js 100 300
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { FlinkApplication, FlinkVersion, JobSource } from '../lib';
import { synthesizePlatform } from '../lib/synth/synthesize';
import { replaceDirs } from '../lib/synth/write';
import { FlinkPlatform } from '../lib/platform';

const job = (i: number) => ({
  flinkVersion: i % 2 ? FlinkVersion.V2_2 : FlinkVersion.V1_20,
  job: JobSource.jar({ entryClass: 'com.example.Job', args: ['--n', String(i)] }),
  checkpointDirectory: `s3://bench/${i}/cp`, savepointDirectory: `s3://bench/${i}/sp`, parallelism: 2,
});

async function run(mode: string, n: number): Promise<number> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-oneapp-'));
  const t0 = process.hrtime.bigint();
  if (mode === 'one-app') {
    const app = new App({ outdir: out });
    for (let i = 0; i < n; i++) new FlinkApplication(new Chart(app, `job-${i}`, { disableResourceNameHashes: true }), `job-${i}`, job(i));
    app.synth();
  } else {
    const p = new FlinkPlatform({ monitoring: false });
    for (let i = 0; i < n; i++) p.addApplication(`job-${i}`, job(i));
    const units = synthesizePlatform(p);
    await replaceDirs(path.join(out, 'dist'), Object.fromEntries(units.map((u) => [u.name, u.files])), true);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.rmSync(out, { recursive: true, force: true });
  return ms;
}

if (require.main === module) {
  if (process.argv[2] === '--child') {
    run(process.argv[3], Number(process.argv[4])).then((ms) => process.stdout.write(String(ms)));
  } else {
    const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
    console.log('jobs   one App (app.synth)   one App per job (platform)   ratio   [median of 3, ms]');
    for (const n of sizes.length ? sizes : [100, 300]) {
      const med = (mode: string) => {
        const xs = [0, 1, 2].map(() => Number(spawnSync(process.execPath, [__filename, '--child', mode, String(n)], { encoding: 'utf8' }).stdout)).sort((a, b) => a - b);
        return xs[1];
      };
      const a = med('one-app');
      const b = med('platform');
      console.log(`${String(n).padEnd(6)} ${a.toFixed(0).padEnd(21)} ${b.toFixed(0).padEnd(28)} ${(a / b).toFixed(1)}x`);
    }
    console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
}
