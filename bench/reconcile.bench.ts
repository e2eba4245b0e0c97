import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AttemptRecord } from '../src/index.js';
import type { ProcessorTransaction } from '../src/reconcile.js';
import { BENCH_SECRET, ManualClock, count, loadCore, percentile, progress, quick, round } from './harness.js';
import type { BenchResult } from './types.js';

/**
 * SPEC §11 / issue 15: `reconcile` of 100k attempts against 100k processor
 * transactions in under 1 s. The attempts are a till's day made through
 * the public API (createGuard + memoryStore, begin then settle: approved,
 * declined, cancelled, unknown); the transactions are what a processor's
 * file would hold for them (charges by reference, charges without one that
 * only a probable match finds, reversals, refunds, a double charge now and
 * then, charges of other devices), padded to the same count.
 */

const BUDGET_MS = 1_000;
type Reconcile = typeof import('../src/reconcile.js');

async function loadReconcile(): Promise<Reconcile> {
  const target = process.env.BENCH_TARGET === 'src' ? '../src/reconcile.ts' : '../dist/reconcile.js';
  const url = new URL(target, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first, or pass --src`);
  return (await import(url.href)) as Reconcile;
}

/** The till's day: `size` attempts, one every 500 ms, through begin and settle. */
async function tillDay(size: number): Promise<AttemptRecord[]> {
  const core = await loadCore();
  const clock = new ManualClock();
  const guard = await core.createGuard({
    merchantId: 'M-BENCH',
    terminalId: 'T-01',
    secret: BENCH_SECRET,
    store: core.memoryStore(),
    clock,
  });
  for (let i = 0; i < size; i++) {
    clock.advance(500);
    const decision = await guard.begin({ amount: 100 + i, currency: 'CNY', card: { last4: String(1000 + (i % 9000)) } });
    const attempt = decision.attempt;
    if (!attempt) throw new Error(`sale #${i} was not allowed: ${decision.verdict}`);
    // 85% approved, 8% declined, 2% cancelled, 5% unknown.
    const roll = i % 100;
    if (roll < 85) await attempt.approve({ authCode: `A${i % 1_000_000}` });
    else if (roll < 93) await attempt.decline({ code: '51' });
    else if (roll < 95) await attempt.cancel();
    else await attempt.markUnknown();
  }
  const attempts = await guard.attempts();
  await guard.close();
  return attempts;
}

function processorFile(attempts: readonly AttemptRecord[], size: number): ProcessorTransaction[] {
  const txs: ProcessorTransaction[] = [];
  for (const [i, a] of attempts.entries()) {
    if (a.status !== 'approved' && a.status !== 'unknown') continue;
    if (a.status === 'unknown' && i % 2 === 0) continue; // half the unknowns never reached the processor
    const charge: ProcessorTransaction = {
      id: `ch_${i}`,
      type: 'charge',
      status: 'succeeded',
      amount: a.amount,
      currency: a.currency,
      at: a.pendingSince + 1_500,
      ...(a.last4 ? { last4: a.last4 } : {}),
      terminalId: 'T-01',
      // Every fifth charge carries no reference: only a probable match finds it.
      ...(i % 5 === 0 ? {} : { reference: a.idempotencyKey }),
    };
    txs.push(charge);
    if (i % 97 === 0) txs.push({ ...charge, id: `ch_${i}_again`, at: (charge.at as number) + 30_000 });
    if (i % 89 === 0) {
      txs.push({
        id: `rv_${i}`,
        type: 'reversal',
        status: 'succeeded',
        amount: a.amount,
        currency: a.currency,
        at: (charge.at as number) + 5_000,
        original: charge.id,
      });
    }
    if (i % 83 === 0) {
      txs.push({
        id: `re_${i}`,
        type: 'refund',
        status: 'succeeded',
        amount: a.amount,
        currency: a.currency,
        at: (charge.at as number) + 60_000,
        original: charge.id,
      });
      if (i % 166 === 0) {
        txs.push({
          id: `re_${i}_b`,
          type: 'refund',
          status: 'succeeded',
          amount: 100,
          currency: a.currency,
          at: (charge.at as number) + 90_000,
          original: charge.id,
        });
      }
    }
  }
  // Charges from other devices, to reach `size` lines.
  const first = attempts[0]?.pendingSince ?? 0;
  for (let k = 0; txs.length < size; k++) {
    txs.push({ id: `other_${k}`, type: 'charge', status: 'succeeded', amount: 7_777 + (k % 100), currency: 'CNY', at: first + k * 400 });
  }
  return txs;
}

export async function run(): Promise<BenchResult[]> {
  const size = quick() ? 10_000 : 100_000;
  const { reconcile } = await loadReconcile();
  progress(`reconcile: a till's day of ${count(size)} attempts through createGuard + memoryStore`);
  const attempts = await tillDay(size);
  const transactions = processorFile(attempts, size);
  progress(`reconcile: ${count(attempts.length)} attempts against ${transactions.length} transactions`);
  const runs = quick() ? 3 : 7;
  const cpu: number[] = [];
  const wall: number[] = [];
  let findings = 0;
  // One warm-up, then timed runs. The value is CPU time (user + system, GC threads included), as the
  // other benches sample it: on a shared machine the wall clock mostly measures the scheduler. Wall is in the detail.
  reconcile(attempts, transactions);
  for (let r = 0; r < runs; r++) {
    const [c, start] = [process.cpuUsage(), performance.now()];
    const report = reconcile(attempts, transactions);
    wall.push(performance.now() - start);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    findings = report.findings.length;
  }
  cpu.sort((a, b) => a - b);
  wall.sort((a, b) => a - b);
  const median = percentile(cpu, 0.5);
  const statuses = new Map<string, number>();
  for (const a of attempts) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
  const mix = [...statuses].map(([status, n]) => `${n} ${status}`).join(', ');
  return [
    {
      name: `reconcile ${count(size)} attempts × ${count(size)} transactions (median)`,
      value: round(median, 1),
      unit: 'ms',
      ...(quick() ? {} : { budget: BUDGET_MS }),
      detail: `CPU time, median of ${runs} after a warm-up (min ${round(cpu[0]!, 1)}, max ${round(cpu.at(-1)!, 1)} ms; wall clock median ${round(percentile(wall, 0.5), 1)} ms); attempts: ${mix}; ${transactions.length} transactions (every fifth charge without a reference, double charges, reversals, refunds, other devices' charges); ${findings} findings`,
    },
  ];
}
