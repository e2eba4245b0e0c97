import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Decision, Guard, Sale } from '../src/index.js';
import {
  BENCH_SECRET,
  ManualClock,
  type Core,
  count,
  coreTarget,
  interleave,
  loadCore,
  mean,
  micros,
  percentile,
  progress,
  quick,
  round,
} from './harness.js';
import type { BenchResult } from './types.js';

/**
 * SPEC §8 CPU budgets:
 * - `begin` + `settle` cost does not grow with history: p99 with 100k
 *   retained attempts within 2x of p99 with 1k.
 * - one `begin` within 3x of the floor measured in the same run: two
 *   HMAC-SHA-256 (card, then the sale key) and one Map get/set.
 */

const DAY_MS = 86_400_000; // the default `retention` ('24h')
const MERCHANT = 'M-BENCH';
// The public Visa test number, not a card. A PAN exercises the whole input
// path (normalise, Luhn, BIN/last 4), the one a card-present till takes.
const TEST_PAN = '4111 1111 1111 1111';
const TEST_PAN_DIGITS = TEST_PAN.replace(/ /g, '');

/** The i-th sale of a run: one card, distinct amounts and orders, so every sale is allowed. */
const saleNo = (i: number): Sale => ({ amount: 100 + i, currency: 'CNY', card: { pan: TEST_PAN }, orderId: `ord-${i}` });

function allowed(decision: Decision, i: number): NonNullable<Decision['attempt']> {
  // A bench that measured blocked sales would measure the wrong path: fail loudly.
  if (decision.verdict !== 'allow' || !decision.attempt) {
    throw new Error(`sale #${i} was not allowed: ${decision.verdict} ${decision.reasons.map((r) => r.code).join(',')}`);
  }
  return decision.attempt;
}

/**
 * A guard at steady state with `size` retained attempts: the virtual clock
 * moves one retention period per `size` sales, so each new attempt pushes
 * the oldest past `retention`, as at a real till that sells `size` a day.
 * The history therefore stays at `size` however many samples are taken,
 * and the cost measured includes the pruning a real `begin` does.
 */
class SteadyTill {
  readonly step: number;
  #next = 0;

  private constructor(
    readonly guard: Guard,
    readonly clock: ManualClock,
    readonly size: number,
  ) {
    this.step = DAY_MS / size;
  }

  static async open(core: Core, size: number): Promise<SteadyTill> {
    const clock = new ManualClock();
    const guard = await core.createGuard({ merchantId: MERCHANT, secret: BENCH_SECRET, store: core.memoryStore(), clock });
    const till = new SteadyTill(guard, clock, size);
    for (let i = 0; i < size; i++) await till.sellOne();
    return till;
  }

  nextSale(): { sale: Sale; i: number } {
    const i = this.#next++;
    return { sale: saleNo(i), i };
  }

  async sellOne(): Promise<void> {
    this.clock.advance(this.step);
    const { sale, i } = this.nextSale();
    await allowed(await this.guard.begin(sale), i).approve();
  }

  async retained(): Promise<number> {
    return (await this.guard.attempts()).length;
  }
}

/** Timed milliseconds per contender, spread over the interleaved rounds. */
const timeBudget = (): number => (quick() ? 600 : 4000);

async function historyCost(core: Core): Promise<BenchResult[]> {
  const sizes = [1_000, quick() ? 20_000 : 100_000] as const;
  const tills: SteadyTill[] = [];
  for (const size of sizes) {
    progress(`begin+settle: filling a guard with ${size} approved attempts`);
    tills.push(await SteadyTill.open(core, size));
  }
  progress(`begin+settle: timing at ${sizes.map(count).join(' and ')} retained, interleaved`);
  const samples = await interleave(
    tills.map((till) => ({ name: count(till.size), fn: () => till.sellOne() })),
    timeBudget(),
  );
  const results: BenchResult[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (const till of tills) {
    const pooled = samples.get(count(till.size)) ?? [];
    const detail = `${pooled.length} samples; ${await till.retained()} attempts retained after the run (steady state, memoryStore, ${coreTarget()})`;
    results.push(
      { name: `begin+settle p50 @${count(till.size)}`, value: round(micros(percentile(pooled, 0.5))), unit: 'µs', detail },
      { name: `begin+settle p99 @${count(till.size)}`, value: round(micros(percentile(pooled, 0.99))), unit: 'µs', detail },
    );
    p50.push(percentile(pooled, 0.5));
    p99.push(percentile(pooled, 0.99));
    await till.guard.close();
  }
  const ratio = `${count(sizes[1])}/${count(sizes[0])}`;
  results.push(
    {
      name: `begin+settle p99 ratio ${ratio}`,
      value: round((p99[1] as number) / (p99[0] as number)),
      unit: 'x',
      budget: 2,
      detail: 'SPEC §8: cost does not grow with history',
    },
    {
      name: `begin+settle p50 ratio ${ratio}`,
      value: round((p50[1] as number) / (p50[0] as number)),
      unit: 'x',
      detail: 'no budget; the typical call: a history-bound cost shows here before it reaches the p99',
    },
  );
  return results;
}

/**
 * The floor, written the naive way a reviewer would: one-shot HMACs (no
 * keyed-state reuse), hex strings for the Map key. Messages have the same
 * shape and length as the guard's. Amounts cycle over 1,000 values so the
 * Map holds about as many keys as the 1k guard's index.
 */
function floorTask(): () => void {
  const key = utf8ToBytes(BENCH_SECRET);
  const seen = new Map<string, number>();
  let n = 0;
  return () => {
    const amount = 100 + (n++ % 1000);
    const cardKey = bytesToHex(hmac(sha256, key, utf8ToBytes(`card\u0000pan:${TEST_PAN_DIGITS}`)));
    const saleKey = bytesToHex(hmac(sha256, key, utf8ToBytes(`sale\u0000${MERCHANT}\u0000sale\u0000CNY\u0000${amount}\u0000${cardKey}`)));
    seen.set(saleKey, (seen.get(saleKey) ?? 0) + 1);
  };
}

async function beginVsFloor(core: Core): Promise<BenchResult[]> {
  progress('begin vs floor: filling a guard with 1000 approved attempts');
  const till = await SteadyTill.open(core, 1_000);
  let pending: { decision: Decision; i: number } | undefined;
  progress('begin vs floor: timing, interleaved');
  const samples = await interleave(
    [
      { name: 'floor', fn: floorTask() },
      // Only `begin` is timed: the clock step and the approve that keeps the
      // history at steady state run in tinybench's untimed hooks.
      {
        name: 'begin',
        fn: async () => {
          const { sale, i } = till.nextSale();
          pending = { decision: await till.guard.begin(sale), i };
        },
        options: {
          beforeEach: () => till.clock.advance(till.step),
          afterEach: async () => {
            if (pending) await allowed(pending.decision, pending.i).approve();
            pending = undefined;
          },
        },
      },
    ],
    timeBudget(),
  );
  await till.guard.close();
  const floor = samples.get('floor') ?? [];
  const begin = samples.get('begin') ?? [];
  const [floorP50, beginP50] = [percentile(floor, 0.5), percentile(begin, 0.5)];
  return [
    {
      name: 'floor (2 HMAC-SHA-256 + Map get/set) p50',
      value: round(micros(floorP50)),
      unit: 'µs',
      detail: `mean ${round(micros(mean(floor)))} µs, ${floor.length} samples`,
    },
    {
      name: 'begin p50',
      value: round(micros(beginP50)),
      unit: 'µs',
      detail: `mean ${round(micros(mean(begin)))} µs, ${begin.length} samples, 1k retained, ${coreTarget()}`,
    },
    {
      name: 'begin / floor (p50)',
      value: round(beginP50 / floorP50),
      unit: 'x',
      budget: 3,
      detail: `SPEC §8 per-begin CPU. By means ${round(mean(begin) / mean(floor))}x: means add GC pauses and other processes' bursts, medians mostly do not`,
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const core = await loadCore();
  return [...(await historyCost(core)), ...(await beginVsFloor(core))];
}
