import { isMainThread, parentPort, Worker, workerData } from 'worker_threads';
import { DeferralContext, PreviousUnit, withDeferral } from './deferral';
import { apiSnapshot } from './inputs';

/**
 * Rendering release units on more than one core. Each worker thread loads the app module itself
 * (the definitions are cheap to build: about 0.65 s of the 5.6 s a cold synthesis of 1000 jobs
 * takes on one core) and renders units it takes from a counter shared with this thread, so the
 * threads share the work whatever their speed. What a worker renders is exactly what this thread
 * would render: the same code, the same definitions. A unit a worker did not finish (an error,
 * the app failing to load in the worker, a crash) is left to this thread, which renders it in
 * order and raises its error as a serial synthesis does.
 */
export interface ParallelRender {
  /** Worker threads besides this one (0: none). */
  readonly workers: number;
  /** How a worker loads the platform: `require(module)[exportName](arg)`. */
  readonly loader: { readonly module: string; readonly exportName: string; readonly arg: string };
  /** The deferral context this thread loaded the app with (a worker loads it the same way). */
  readonly context?: DeferralContext;
  /** Fewest units to render before workers are started (default DEFAULT_MIN_UNITS). */
  readonly minUnits?: number;
}

/** A unit's output as a worker rendered it. */
export interface RenderedUnit {
  readonly files: Record<string, string>;
  readonly chart: Record<string, string>;
  readonly objects: number;
}

/** Below this many units to render, a worker's start (modules and the app, 0.3-1 s) does not pay. */
export const DEFAULT_MIN_UNITS = 48;

const MARK = 'cdk8s-flink-render-worker';

interface WorkerInput {
  readonly [MARK]: true;
  readonly loader: ParallelRender['loader'];
  readonly context?: { readonly toolkit: string; readonly previous: [string, PreviousUnit][] };
  /** The `only` of synthesizeInto (undefined: every unit). */
  readonly jobs?: string[];
  /** The units to render, by name; the shared counter indexes them. */
  readonly names: string[];
  readonly counter: SharedArrayBuffer;
}

type WorkerMessage = { k: number; unit: RenderedUnit } | { done: true };

/**
 * Renders the units named in `names` on this thread and `p.workers` worker threads together:
 * `renderHere(k)` renders names[k] in this thread (throwing as synthesis does). Returns what the
 * workers rendered, by index; every other index was rendered here or is left unrendered (after
 * an error) for the caller's serial path.
 */
export async function renderShared(names: string[], jobs: string[] | undefined, p: ParallelRender, renderHere: (k: number) => void): Promise<{ fromWorkers: Map<number, RenderedUnit>; here: number }> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const fromWorkers = new Map<number, RenderedUnit>();
  const input: WorkerInput = {
    [MARK]: true, loader: p.loader, jobs, names, counter: counter.buffer as SharedArrayBuffer,
    context: p.context && { toolkit: p.context.toolkit, previous: [...p.context.previous] },
  };
  const finished = Array.from({ length: p.workers }, () => new Promise<void>((resolve) => {
    // The app's own output (a console.log while it loads) is printed once, by this thread.
    const w = new Worker(__filename, { workerData: input, stdout: true, stderr: true });
    w.stdout.resume();
    w.stderr.resume();
    w.on('message', (m: WorkerMessage) => {
      if ('unit' in m) fromWorkers.set(m.k, m.unit);
      else resolve();
    });
    // A worker that fails to start or load leaves its share to this thread.
    w.on('error', () => resolve());
    w.on('exit', () => resolve());
  }));
  let here = 0;
  // Test hook: `CDK8S_FLINK_TEST_RENDER_HERE=<n>` lets this thread take at most n units from the
  // counter, so that tests can make the workers render (and fail) deterministically.
  const cap = process.env.CDK8S_FLINK_TEST_RENDER_HERE ? Number(process.env.CDK8S_FLINK_TEST_RENDER_HERE) : Infinity;
  while (here < cap) {
    const k = Atomics.add(counter, 0, 1);
    if (k >= names.length) break;
    try {
      renderHere(k);
      here++;
    } catch {
      // Stop every thread; the caller renders what is left in order and raises the first error.
      Atomics.store(counter, 0, names.length);
      break;
    }
  }
  await Promise.all(finished);
  return { fromWorkers, here };
}

/** A worker thread's work: load the app, then render units until the shared counter runs out. */
function workerMain(d: WorkerInput): void {
  // The libraries' surface before the app runs, as this thread's own copy of them sees it.
  const snapshot = apiSnapshot();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = () => require(d.loader.module)[d.loader.exportName](d.loader.arg);
  const platform = d.context ? withDeferral({ toolkit: d.context.toolkit, previous: new Map(d.context.previous), snapshot }, load) : load();
  // Loaded lazily: the synthesis module imports this one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { synthesizeChecked } = require('./synthesize') as typeof import('./synthesize');
  const units = new Map((platform._synthesisUnits(d.jobs) ?? []).map((u: { name: string }) => [u.name, u]));
  const counter = new Int32Array(d.counter);
  for (;;) {
    const k = Atomics.add(counter, 0, 1);
    if (k >= d.names.length) break;
    try {
      const s = synthesizeChecked((units.get(d.names[k]) as any).unit());
      parentPort!.postMessage({ k, unit: { files: s.files, chart: s.chart, objects: s.objects.length } } satisfies WorkerMessage);
    } catch {
      // Stop every thread; the unit is left to the main thread, which raises its error in order.
      Atomics.store(counter, 0, d.names.length);
      break;
    }
  }
  parentPort!.postMessage({ done: true } satisfies WorkerMessage);
}

if (!isMainThread && workerData && (workerData as WorkerInput)[MARK] === true) workerMain(workerData as WorkerInput);
