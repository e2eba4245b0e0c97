/**
 * Adversarial review of the history seam on IndexedDB, two tabs over one
 * database (fake-indexeddb). See test/guard/history-attack.test.ts for the
 * single-guard findings. `FINDING` blocks fail on the code as reviewed;
 * `holds` blocks pin what is right.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AttemptRecord, Guard, Sale } from '../../../src/index.js';
import { DAY, HOUR, MASTERCARD, MINUTE, ManualClock, sale } from '../../helpers/guard.js';
import { freshDb, settle, tab, type Tab } from '../../helpers/tabs.js';

const open: Tab[] = [];
async function opened(db: ReturnType<typeof freshDb>, clock: ManualClock): Promise<Tab> {
  const made = await tab(db, clock);
  open.push(made);
  return made;
}
afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(open.splice(0).map((t) => t.guard.close().catch(() => undefined)));
});

async function approved(guard: Guard, patch: Partial<Sale> = {}): Promise<string> {
  const { attempt } = await guard.begin(sale(patch));
  if (!attempt) throw new Error('expected an allow');
  await attempt.approve({ authCode: 'A1' });
  return attempt.id;
}

/** An hour passes and both tabs decide: every settled record leaves both memories. */
async function leaveMemory(clock: ManualClock, ...tabs: Tab[]): Promise<void> {
  clock.advance(HOUR);
  for (const t of tabs) await t.guard.peek(sale({ amount: 1, card: { token: 'tok_sweep_only' } }));
}

const outcome = (r: PromiseSettledResult<AttemptRecord>) => (r.status === 'fulfilled' ? r.value.status : (r.reason as Error).name);

describe('FINDING I1: a void in one tab and a refund in another of a sale that left both memories both go through', () => {
  // The refund is written through the store's claim, which re-reads the sale
  // in its transaction and re-plans; the void of a sale is a plain put
  // (#settle: `plan.sale` is set only for refunds), planned on the `get` it
  // made before the other tab's refund committed. Both resolve: the customer
  // gets 3000 back and the whole 5000 reversed, and the stored sale (voided,
  // refunded 0) no longer lists the refund.
  it('one of the two is refused', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    const paid = await approved(a.guard, { amount: 5000 });
    await leaveMemory(clock, a, b);
    const results = await Promise.allSettled([
      a.guard.settle(paid, { status: 'refunded', amount: 3000 }),
      b.guard.settle(paid, { status: 'voided' }),
    ]);
    expect(results.map(outcome)).toContain('GuardStateError');
  });
});

describe('FINDING I2: the wall clock set back by more than retention: one tab’s history prune deletes the other tab’s payment', () => {
  // Same mechanism as FINDING 7 of test/guard/history-attack.test.ts
  // (#pruneHistory's cutoff is the wall time of `now - retention` in guard
  // time, above every stamp written since the jump); on IndexedDB the prune
  // of any tab deletes every tab's records, so the order paid in tab B a
  // quarter of an hour ago can be paid again in tab B.
  it('the order stays paid', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    clock.jump(-2 * DAY);
    await a.guard.peek(sale({ amount: 1 }));
    await b.guard.peek(sale({ amount: 1 }));
    const paid = await approved(b.guard, { orderId: 'ORD-9', amount: 5000 });
    clock.advance(15 * MINUTE);
    await a.guard.peek(sale({ amount: 1 })); // tab A's minute prune
    await settle(50);
    expect((await a.store.get(paid))?.status).toBe('approved');
    const again = await b.guard.begin(sale({ orderId: 'ORD-9', amount: 5000 }));
    expect(again.reasons.map((r) => r.code)).toContain('ORDER_ALREADY_PAID');
  });
});

describe('holds: two tabs over history', () => {
  it('two tabs paying one order that left both memories, at once: ORDER_ALREADY_PAID and ORDER_SAME_AMOUNT, no allow', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    const paid = await approved(a.guard, { orderId: 'ORD-1', amount: 5000 });
    await leaveMemory(clock, a, b);
    const [da, dbb] = await Promise.all([
      a.guard.begin(sale({ orderId: 'ORD-1', amount: 5000 })),
      b.guard.begin(sale({ orderId: 'ORD-1', amount: 5000, card: { pan: MASTERCARD } })),
    ]);
    expect(da.reasons.map((r) => [r.code, r.attemptId])).toEqual([['ORDER_ALREADY_PAID', paid]]);
    expect(dbb.reasons.map((r) => [r.code, r.attemptId])).toEqual([['ORDER_SAME_AMOUNT', paid]]);
  });

  it('two tabs refunding 3000 each of a 5000 sale that left both memories, at once: one allow only', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    const paid = await approved(a.guard, { amount: 5000 });
    await leaveMemory(clock, a, b);
    const decisions = await Promise.all([
      a.guard.begin(sale({ kind: 'refund', refundOf: paid, amount: 3000 })),
      b.guard.begin(sale({ kind: 'refund', refundOf: paid, amount: 3000, card: { pan: MASTERCARD } })),
    ]);
    expect(decisions.map((d) => d.verdict).sort()).toEqual(['allow', 'block']);
  });

  it('two tabs settling external refunds of 3000 each on a 5000 sale that left both memories: one refused', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    const paid = await approved(a.guard, { amount: 5000 });
    await leaveMemory(clock, a, b);
    const results = await Promise.allSettled([
      a.guard.settle(paid, { status: 'refunded', amount: 3000 }),
      b.guard.settle(paid, { status: 'refunded', amount: 3000 }),
    ]);
    expect(results.map(outcome).sort()).toEqual(['GuardStateError', 'approved']);
    expect((await a.store.get(paid))?.refunded).toBe(3000);
  });

  it('one tab: a void and a refund of a sale that left memory, double tapped: one refused (the claim re-plans)', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const paid = await approved(a.guard, { amount: 5000 });
    await leaveMemory(clock, a);
    const results = await Promise.allSettled([
      a.guard.settle(paid, { status: 'refunded', amount: 3000 }),
      a.guard.settle(paid, { status: 'voided' }),
    ]);
    expect(results.map(outcome)).toContain('GuardStateError');
  });
});

describe('FINDING I3: a reloaded tab settles an attempt another tab settled meanwhile, over its outcome', () => {
  // Found by the adversity property (seed -1573534706): tab B begins a sale
  // and reloads (its new guard reads the pending attempt as unknown); tab A,
  // which can now read the attempt from the store's history, settles it
  // declined; tab B then settles it approved from its memory's `unknown`,
  // and the plain put wrote the approval over A's decline while A had let a
  // new charge of the same sale through. A settle on a shared store now
  // reads the attempt and writes it in one claim step.
  it('the second, different settle is refused and the first stands', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await opened(db, clock);
    const b = await opened(db, clock);
    const { attempt } = await b.guard.begin(sale({ amount: 3300 }));
    const reloaded = await opened(db, clock.afterRestart());
    expect(await a.guard.settle(attempt?.id ?? '', { status: 'declined' })).toMatchObject({ status: 'declined' });
    const refused = await reloaded.guard.settle(attempt?.id ?? '', { status: 'approved' }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'GuardStateError', code: 'INVALID_TRANSITION' });
    expect((await a.store.get(attempt?.id ?? ''))?.status).toBe('declined');
  });
});
