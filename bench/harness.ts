import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bench, type Fn, type FnOptions, type Statistics, type Task } from 'tinybench';
import type { Clock } from '../src/types.js';

/**
 * Shared plumbing for the bench modules: what to measure, how long, a
 * virtual clock, and heap readings. Settings come from the environment
 * (see `bench/types.ts`), set by `bench/run.ts` from its flags.
 */

export type Core = typeof import('../src/index.js');

export const quick = (): boolean => process.env.BENCH_QUICK === '1';

/**
 * The package under test. By default the built `dist/index.js`: that is the
 * code a till runs (one bundled chunk, as tsup emits it), so budgets are
 * judged on what ships. `BENCH_TARGET=src` (`--src`) measures the sources
 * through tsx instead, for a quick look while editing without a build.
 */
export async function loadCore(): Promise<Core> {
  const target = process.env.BENCH_TARGET === 'src' ? '../src/index.ts' : '../dist/index.js';
  const url = new URL(target, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first, or pass --src`);
  }
  return (await import(url.href)) as Core;
}

export const coreTarget = (): string => (process.env.BENCH_TARGET === 'src' ? 'src (tsx)' : 'dist/index.js');

/** A clock only the bench moves: wall and monotonic advance together, so no CLOCK_ANOMALY. */
export class ManualClock implements Clock {
  #elapsed = 0;
  readonly #start: number;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#start = start;
  }

  now(): number {
    return this.#start + this.#elapsed;
  }

  monotonic(): number {
    return this.#elapsed;
  }

  advance(ms: number): void {
    this.#elapsed += ms;
  }
}

/** Not a real secret: fingerprints made in a bench are thrown away. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';

/** Heap in use after two full collections (the second catches what finalizers freed). */
export function settledHeap(): number {
  if (typeof gc !== 'function') {
    throw new Error('memory benches need `node --expose-gc` (npm run bench passes it)');
  }
  gc();
  gc();
  // Buffers and typed arrays live outside the JS heap: a file store's
  // start-up keeps records it defers in them, and they count as much.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Latency statistics of a finished tinybench task, or a clear error saying why there are none. */
export function latencyOf(task: Task | undefined): Statistics {
  const result = task?.result;
  if (!result) throw new Error('benchmark task not found');
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
    throw new Error(`benchmark task ${task.name} ended ${result.state}`);
  }
  return result.latency;
}

/** `1000` → `1k`, `100000` → `100k`. */
export const count = (n: number): string => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

export interface Contender {
  name: string;
  fn: Fn;
  options?: FnOptions;
}

/**
 * CPU time of this process (user + system), in ms: the clock the latency
 * benches sample with. On a shared machine a wall-clock p99 mostly measures
 * the scheduler (another process took the core for a time slice); CPU time
 * stops while this process waits, and still counts what our calls cost the
 * process, GC threads included. Linux accounts it with µs precision.
 */
export const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Times contenders in alternating rounds, on the CPU clock, and pools each
 * one's samples. Interleaving spreads whatever the machine does meanwhile
 * (a major GC, a burst of another process's work) over all contenders, so
 * the ratios between them stay honest.
 */
export async function interleave(contenders: Contender[], totalTimeMs: number): Promise<Map<string, number[]>> {
  const rounds = quick() ? 3 : 10;
  const pooled = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const bench = new Bench({
        now: cpuNow,
        time: totalTimeMs / rounds,
        // JIT state is shared across rounds: warm up once, then only briefly.
        warmupTime: round === 0 ? (quick() ? 100 : 500) : 20,
        retainSamples: true,
      });
      bench.add(contender.name, contender.fn, contender.options);
      const [task] = await bench.run();
      pooled.get(contender.name)?.push(...(latencyOf(task).samples ?? []));
    }
  }
  for (const samples of pooled.values()) samples.sort((a, b) => a - b);
  return pooled;
}

/** The p-th percentile (0..1) of ascending samples, interpolated between order statistics. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  const at = (sorted.length - 1) * p;
  const lower = sorted[Math.floor(at)] as number;
  const upper = sorted[Math.ceil(at)] as number;
  return lower + (upper - lower) * (at - Math.floor(at));
}

export const mean = (samples: readonly number[]): number => samples.reduce((sum, x) => sum + x, 0) / samples.length;

export const micros = (ms: number): number => ms * 1000;

/** Rounds for display and JSON: two decimals are plenty for these numbers. */
export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** Prints progress on stderr, so stdout stays one JSON document under `--json`. */
export const progress = (message: string): void => {
  process.stderr.write(`  … ${message}\n`);
};
