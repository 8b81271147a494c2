/**
 * The setup shared by live tests (real processes on 127.0.0.1): a work folder per test, a Flink
 * home laid out in it, the started processes' log tails printed when the test fails, and
 * everything stopped and removed at the end, also on failure.
 */
import { after } from 'node:test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { layoutFlinkHome } from './flink-dist';
import { KafkaBroker, startKafka } from './kafka';

/** Something a live test started: stopped at the end; its logs printed if the test fails. */
export interface Stoppable {
  stop(): Promise<void> | void;
  logs?(): string;
}

export interface LiveRun {
  /** A fresh folder under the OS temp folder, removed at the end. */
  readonly work: string;
  /** A Flink distribution laid out as a home at `<work>/flink`. */
  flinkHome(dist: string, line: string): Promise<string>;
  /**
   * Keeps `it` until the end of the test: stopped then (last kept, first stopped), and its log
   * tail (`logs`, by default `it.logs()`) printed as a diagnostic if the test fails.
   */
  keep<T extends Stoppable>(it: T, logs?: () => string): T;
}

/**
 * Runs `body` with a fresh work folder (`cdk8s-flink-<name>-*`); on failure prints the kept
 * processes' logs as diagnostics of `t`, in the order they were kept; always stops them all (in
 * reverse order, raising the first stop that failed) and removes the work folder (kept, and
 * named, when CDK8S_FLINK_KEEP_WORK is set).
 */
export async function live<T>(t: { diagnostic(message: string): void }, name: string, body: (run: LiveRun) => Promise<T>): Promise<T> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `cdk8s-flink-${name}-`));
  const kept: { it: Stoppable; logs?: () => string }[] = [];
  const run: LiveRun = {
    work,
    flinkHome: (dist, line) => layoutFlinkHome(dist, line, path.join(work, 'flink')),
    keep(it, logs) {
      kept.push({ it, logs });
      return it;
    },
  };
  let failed = false;
  try {
    return await body(run);
  } catch (e) {
    failed = true;
    for (const k of kept) {
      const text = k.logs ? k.logs() : k.it.logs?.();
      if (text) t.diagnostic(text);
    }
    throw e;
  } finally {
    // Every kept item is stopped even when one refuses; the first refusal is raised afterwards,
    // unless the test already failed (its own error is the one to report).
    let stopError: unknown;
    for (const k of [...kept].reverse()) {
      try {
        await k.it.stop();
      } catch (e) {
        stopError ??= e;
      }
    }
    if (process.env.CDK8S_FLINK_KEEP_WORK) t.diagnostic(`kept ${work} (CDK8S_FLINK_KEEP_WORK)`);
    else fs.rmSync(work, { recursive: true, force: true });
    if (stopError !== undefined && !failed) throw stopError;
  }
}

/**
 * One Kafka broker shared by the tests of a file: started on first use, stopped after the
 * file's tests (registered with node:test's `after`). Call it at the top level of a test file.
 */
export function sharedKafka(): () => Promise<KafkaBroker> {
  let kafka: Promise<KafkaBroker> | undefined;
  after(async () => {
    if (kafka) await (await kafka).stop();
  });
  return () => (kafka ??= startKafka());
}
