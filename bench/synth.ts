/**
 * Synthesis at scale: N generated jobs (two thirds application clusters, one third session
 * jobs on shared session clusters of 10 jobs each), synthesized and written to disk (plain
 * manifests and Helm charts), each size in its own process so peak memory is that size's own.
 *
 *   npm run bench:synth               # 1, 10, 100, 1000 jobs, 3 runs each
 *   npm run bench:synth -- 1000 5000  # chosen sizes
 *   BENCH_CHARTS=0 npm run bench:synth  # plain manifests only (charts are still synthesized in memory)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FlinkPlatform, FlinkVersion, JobSource, FieldType, LogPipeline, Sink } from '../lib';
import { synthesizePlatform } from '../lib/synth/synthesize';
import { replaceDirs } from '../lib/synth/write';

export function generatedPlatform(jobs: number): FlinkPlatform {
  const p = new FlinkPlatform({ namespace: 'bench', storageBaseDirectory: 's3://bench/flink' });
  const pipeline = (i: number) => JobSource.pipeline(new LogPipeline({
    source: { bootstrapServers: 'kafka:9092', topic: `logs.t${i % 50}`, groupId: `g${i}`, fields: { id: FieldType.STRING, service: FieldType.STRING, msg: FieldType.STRING } },
    filters: ["msg IS NOT NULL"],
    sinks: [Sink.kafka({ bootstrapServers: 'kafka:9092', topic: `out.t${i}` }), Sink.fileSystem({ path: `s3://archive/t${i}`, partitionBy: ['dt'] })],
  }));
  let cluster;
  for (let i = 0; i < jobs; i++) {
    const version = i % 2 ? FlinkVersion.V2_2 : FlinkVersion.V1_20;
    if (i % 3 === 2) {
      if (!cluster || i % 30 === 2) cluster = p.addSessionCluster(`session-${i}`, { flinkVersion: FlinkVersion.V1_20, taskManagerReplicas: 10, taskManagerSlots: 4 });
      p.addSessionJob(`job-${i}`, { cluster, job: pipeline(i), parallelism: 2, opsImage: 'ops:1.0.0' });
    } else {
      p.addApplication(`job-${i}`, { flinkVersion: version, image: `flink:${version}-java17`, job: pipeline(i), parallelism: 2, highAvailability: i % 5 === 0 });
    }
  }
  return p;
}

const withCharts = process.env.BENCH_CHARTS !== '0';

async function measureOnce(jobs: number): Promise< { jobs: number; ms: number; buildMs: number; synthMs: number; writeMs: number; peakMiB: number; files: number }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-bench-'));
  const t0 = process.hrtime.bigint();
  const platform = generatedPlatform(jobs);
  const t1 = process.hrtime.bigint();
  const units = synthesizePlatform(platform);
  const t2 = process.hrtime.bigint();
  await replaceDirs(path.join(out, 'dist'), Object.fromEntries(units.map((u) => [u.name, u.files])), true);
  if (withCharts) await replaceDirs(path.join(out, 'charts'), Object.fromEntries(units.map((u) => [u.name, u.chart])), true);
  const t3 = process.hrtime.bigint();
  const files = units.reduce((n, u) => n + Object.keys(u.files).length + (withCharts ? Object.keys(u.chart).length : 0), 0);
  fs.rmSync(out, { recursive: true, force: true });
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  return { jobs, ms: ms(t0, t3), buildMs: ms(t0, t1), synthMs: ms(t1, t2), writeMs: ms(t2, t3), peakMiB: process.resourceUsage().maxRSS / 1024, files };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (require.main === module) {
  if (process.argv[2] === '--child') {
    measureOnce(Number(process.argv[3])).then((r) => process.stdout.write(JSON.stringify(r)));
  } else {
    const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
    const runs = Number(process.env.BENCH_RUNS ?? 3);
    const rows = [];
    for (const n of sizes.length ? sizes : [1, 10, 100, 1000]) {
      const samples = [];
      for (let r = 0; r < runs; r++) {
        const res = spawnSync(process.execPath, [__filename, '--child', String(n)], { encoding: 'utf8' });
        if (res.status !== 0) throw new Error(res.stderr);
        samples.push(JSON.parse(res.stdout));
      }
      const ms = samples.map((x) => x.ms);
      rows.push({
        jobs: n, files: samples[0].files, medianMs: Math.round(median(ms)), minMs: Math.round(Math.min(...ms)), maxMs: Math.round(Math.max(...ms)),
        buildMs: Math.round(median(samples.map((x) => x.buildMs))), synthMs: Math.round(median(samples.map((x) => x.synthMs))), writeMs: Math.round(median(samples.map((x) => x.writeMs))),
        peakMiB: Math.round(median(samples.map((x) => x.peakMiB))), msPerJob: +(median(ms) / n).toFixed(2),
      });
      process.stderr.write(`${n} jobs: median ${Math.round(median(ms))} ms over ${runs} runs\n`);
    }
    console.log(`jobs     files   median ms (min-max)    build  synth  write   ms/job   peak RSS MiB`);
    for (const r of rows) {
      console.log(`${String(r.jobs).padEnd(8)} ${String(r.files).padEnd(7)} ${`${r.medianMs} (${r.minMs}-${r.maxMs})`.padEnd(22)} ${String(r.buildMs).padEnd(6)} ${String(r.synthMs).padEnd(6)} ${String(r.writeMs).padEnd(7)} ${String(r.msPerJob).padEnd(8)} ${r.peakMiB}`);
    }
    console.log(`written: ${withCharts ? 'dist/ and charts/' : 'dist/ only'}; machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
}
