import * as path from 'path';
import { jobsOnly, selectedDashboard, synthesizeDashboard, synthesizePlatform } from '../../synth/synthesize';
import { readTree } from '../../synth/write';
import { loadPlatform, resolveAppPath } from '../app-loader';
import { APP_OPTION, Command, JOB_OPTION, JSON_OPTION, list, log, OUT_OPTION, str } from '../command';
import { lineDiff } from '../line-diff';

/** Exit code of `diff --exit-code` when something would change. */
export const EXIT_CHANGED = 3;

export const diffCommand: Command = {
  name: 'diff',
  summary: 'show what synth would change against the last synthesized output',
  examples: ['cdk8s-flink diff', 'cdk8s-flink diff --job access-logs --exit-code   # exit 3 when it would change'],
  options: [APP_OPTION, JOB_OPTION, OUT_OPTION, JSON_OPTION, { name: 'exit-code', description: `exit ${EXIT_CHANGED} when there are differences` }],
  run(args) {
    const platform = loadPlatform(resolveAppPath(str(args.options.app)));
    const only = list(args.options.job);
    const board = selectedDashboard(platform, only);
    const units = [...synthesizePlatform(platform, jobsOnly(platform, only)), ...(board ? [synthesizeDashboard(board)] : [])];
    const out = path.resolve(str(args.options.out) ?? 'dist');
    const before = readTree(out);
    const after: Record<string, string> = {};
    for (const u of units) for (const [f, c] of Object.entries(u.files)) after[`${u.name}/${f}`] = c;
    const scope = only ? (f: string) => only.includes(f.split('/')[0]) : () => true;
    const files = [...new Set([...Object.keys(before).filter(scope), ...Object.keys(after)])].sort();
    const changes: { file: string; change: 'added' | 'removed' | 'changed' }[] = [];
    let text = '';
    for (const f of files) {
      const a = before[f];
      const b = after[f];
      if (a === b) continue;
      const change = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
      changes.push({ file: f, change });
      text += `--- ${a === undefined ? '/dev/null' : `a/${f}`}\n+++ ${b === undefined ? '/dev/null' : `b/${f}`}\n${lineDiff(a ?? '', b ?? '')}`;
    }
    // A session job no longer defined: its files go, but its job keeps running until its release is uninstalled.
    const gone = [...new Set(Object.keys(before).filter(scope).map((f) => f.split('/')[0]))].filter((u) => !units.some((x) => x.name === u));
    const sessionJobs = gone.filter((u) => Object.entries(before).some(([f, t]) => f.startsWith(`${u}/`) && /app\.kubernetes\.io\/component: session-job\b/.test(t)));
    if (args.options.json) process.stdout.write(JSON.stringify({ changes, ...(sessionJobs.length ? { removedSessionJobs: sessionJobs } : {}) }, null, 2) + '\n');
    else process.stdout.write(text);
    for (const u of sessionJobs) {
      log(`session job "${u}" is no longer defined: its job keeps running on its session cluster until its release is uninstalled (helm uninstall ${u} -n <namespace>; the chart's pre-delete hook stops it)`);
    }
    log(changes.length ? `${changes.length} file(s) would change` : 'no changes');
    return changes.length && args.options['exit-code'] ? EXIT_CHANGED : 0;
  },
};
