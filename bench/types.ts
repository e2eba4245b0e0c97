/**
 * The contract every `bench/*.bench.ts` module follows, so `bench/run.ts` can
 * find, run and judge them without knowing what they measure.
 *
 * A module exports `async function run(): Promise<BenchResult[]>`. Settings
 * reach it through the environment, because `run()` takes no arguments:
 * - `BENCH_QUICK=1`: a smoke run (`--quick`): fewer samples, smaller fills.
 *   Budgets are still judged, but quick numbers are noisy; trust a full run.
 * - `BENCH_TARGET=dist|src`: what to measure (`--src` picks src); see
 *   `loadCore` in `bench/harness.ts`.
 */
export interface BenchResult {
  /** Stable, human-readable id, e.g. `begin+settle p99 @100k`. */
  name: string;
  value: number;
  /** `µs`, `bytes`, `ms`, `x` (a ratio)… */
  unit: string;
  /** Upper bound `value` must stay under. Rows without a budget are information. */
  budget?: number;
  /** `value < budget`; set by the module or, when absent, by the runner. */
  ok?: boolean;
  /** How it was measured, or where the number comes from. */
  detail?: string;
}

export type BenchModule = { run(): Promise<BenchResult[]> };
