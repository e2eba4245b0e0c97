/**
 * atk19b: two tabs over one IndexedDB with no BroadcastChannel and no Web
 * Locks (an old WebView on http://): what one tab learnt from the other
 * through a claim goes stale, and the claim's transaction must be the truth.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Sale } from '../../src/index.js';
import { MINUTE, ManualClock, deferred, sale } from '../helpers/guard.js';
import { freshDb, settle, tab, type Tab } from '../helpers/tabs.js';

const open: Tab[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.guard.close().catch(() => undefined)));
  vi.unstubAllGlobals();
});

async function twoTabs(extra = {}) {
  vi.stubGlobal('BroadcastChannel', undefined);
  vi.stubGlobal('navigator', { ...(globalThis.navigator ?? {}), locks: undefined });
  const db = freshDb();
  const clock = new ManualClock();
  const a = await tab(db, clock, extra);
  const b = await tab(db, clock, extra);
  open.push(a, b);
  return { a, b, clock, db };
}

/** The cashier turns to the other tab: the writes have long landed, 20 s have passed. */
async function quiet(clock: ManualClock): Promise<void> {
  await settle(30);
  clock.advance(20_000);
}

const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

describe('atk19b tabs without BroadcastChannel', () => {
  it('a sale voided in tab A after tab B was prompted for it: B begins it again and is allowed (voided: as if it never happened)', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4200 });
    const first = await a.guard.begin(s);
    await first.attempt!.approve({ authCode: 'A1' });
    const seen = await b.guard.begin(s);
    expect(seen.verdict).toBe('prompt');
    await first.attempt!.void();
    await quiet(clock);
    const again = await b.guard.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });

  it('a sale declined in tab A after tab B saw it in flight: B retries the declined card and is allowed', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4300 });
    const first = await a.guard.begin(s);
    const seen = await b.guard.begin(s);
    expect(codes(seen)).toContain('IN_FLIGHT');
    await first.attempt!.decline({ code: '51' });
    await quiet(clock);
    const again = await b.guard.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });

  it('an order whose payment tab A voided after tab B was blocked: B pays the order again and is allowed', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4400, orderId: 'ORD-19b' });
    const first = await a.guard.begin(s);
    await first.attempt!.approve();
    const seen = await b.guard.begin(s);
    expect(codes(seen)).toContain('ORDER_ALREADY_PAID');
    await first.attempt!.void();
    await quiet(clock);
    const again = await b.guard.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });

  it('an unknown settled cancelled in tab A after tab B saw UNKNOWN_OUTCOME: B is allowed (cancelled never blocks)', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4500 });
    const first = await a.guard.begin(s);
    await first.attempt!.markUnknown();
    const seen = await b.guard.begin(s);
    expect(codes(seen)).toContain('UNKNOWN_OUTCOME');
    await a.guard.settle(first.attempt!.id, { status: 'cancelled' });
    await quiet(clock);
    const again = await b.guard.begin(s);
    expect(again.verdict).toBe('allow');
  });

  it('peek in tab B after tab A voided the payment B heard of says allow, as begin would', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4600 });
    const first = await a.guard.begin(s);
    await first.attempt!.approve();
    expect((await b.guard.begin(s)).verdict).toBe('prompt');
    await first.attempt!.void();
    await quiet(clock);
    expect((await b.guard.peek(s)).verdict).toBe('allow');
  });

  it('a refund in tab A of a sale tab B refunds too: together never more than the sale', async () => {
    const { a, b } = await twoTabs();
    const paid = await a.guard.begin(sale({ amount: 5000 }));
    await paid.attempt!.approve();
    const ra = await a.guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: paid.attempt!.id }));
    expect(ra.verdict).toBe('allow');
    const rb = await b.guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: paid.attempt!.id }));
    expect(rb.verdict).toBe('block');
    expect(codes(rb)).toContain('REFUND_EXCEEDS_CHARGE');
  });

  it('a prompt in tab B for a payment tab A then voided: B confirms (override) and gets an attempt', async () => {
    const { a, b } = await twoTabs();
    const s: Sale = sale({ amount: 4700 });
    const first = await a.guard.begin(s);
    await first.attempt!.approve();
    const seen = await b.guard.begin(s);
    expect(seen.verdict).toBe('prompt');
    await first.attempt!.void();
    const over = await b.guard.override(seen, { operator: 'c1', reason: 'customer wants two' });
    expect(over.verdict).toBe('allow');
  });
});

describe('atk19b tabs without BroadcastChannel: how long the stale hold lasts', () => {
  it('a card declined in tab A is still refused in tab B ten minutes later: B should allow the retry (declined never blocks)', async () => {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 4800 });
    const first = await a.guard.begin(s);
    expect(codes(await b.guard.begin(s))).toContain('IN_FLIGHT');
    await first.attempt!.decline({ code: '51', message: 'insufficient funds' });
    await settle(30);
    clock.advance(10 * MINUTE);
    const again = await b.guard.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });
});

describe('atk19b tabs: double taps across tabs', () => {
  it('two tabs confirm the same DUPLICATE_CHARGE prompt at once: one gets an attempt, the other does not', async () => {
    const { a, b } = await twoTabs();
    const s: Sale = sale({ amount: 4900 });
    const first = await a.guard.begin(s);
    await first.attempt!.approve();
    const pa = await a.guard.begin(s);
    const pb = await b.guard.begin(s);
    expect([pa.verdict, pb.verdict]).toEqual(['prompt', 'prompt']);
    const [oa, ob] = await Promise.all([
      a.guard.override(pa, { operator: 'c1', reason: 'buys two' }),
      b.guard.override(pb, { operator: 'c2', reason: 'buys two' }),
    ]);
    expect([oa.verdict, ob.verdict].filter((v) => v === 'allow').length).toBe(1);
  });

  it('a partial refund settled twice at once from two tabs (double tap on "Refund 30.00"): the second is refused, the sale is refunded 3000 once', async () => {
    const { a, b } = await twoTabs();
    const paid = await a.guard.begin(sale({ amount: 5000 }));
    await paid.attempt!.approve();
    await settle(30);
    const results = await Promise.allSettled([
      a.guard.settle(paid.attempt!.id, { status: 'refunded', amount: 3000 }),
      b.guard.settle(paid.attempt!.id, { status: 'refunded', amount: 3000 }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await a.store.get(paid.attempt!.id))?.refunded).toBe(3000);
  });

  it('two tabs void one sale at once: both resolve voided (a retried call is a no-op)', async () => {
    const { a, b } = await twoTabs();
    const paid = await a.guard.begin(sale({ amount: 5100 }));
    await paid.attempt!.approve();
    await settle(30);
    const results = await Promise.allSettled([
      a.guard.settle(paid.attempt!.id, { status: 'voided' }),
      b.guard.settle(paid.attempt!.id, { status: 'voided' }),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.status : String(r.reason)))).toEqual(['voided', 'voided']);
  });

  it('two tabs each begin a refund of one sale at once, 3000 + 3000 of 5000: one is allowed, one is held back', async () => {
    const { a, b } = await twoTabs();
    const paid = await a.guard.begin(sale({ amount: 5000 }));
    await paid.attempt!.approve();
    await settle(30);
    const [ra, rb] = await Promise.all([
      a.guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: paid.attempt!.id })),
      b.guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: paid.attempt!.id })),
    ]);
    expect([ra.verdict, rb.verdict].filter((v) => v === 'allow').length).toBe(1);
  });
});

describe('atk19b tabs: a dead tab’s charge dated ahead by a clock set back', () => {
  // Was a known limit: the claim read A's pending by its stamp, an hour ahead. Its age now counts from when B first saw it.
  it('tab A dies mid-charge, the machine clock is set back an hour, tab B opens: 3 minutes later (past pendingTimeout) a supervisor override of UNKNOWN_OUTCOME gets an attempt, not an hour of IN_FLIGHT', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock, { authorize: () => true });
    const s: Sale = sale({ amount: 5200 });
    const first = await a.guard.begin(s);
    expect(first.verdict).toBe('allow');
    // Tab A's page is gone (crash, reload); the clock is corrected an hour back.
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    const b = await tab(db, clock.afterRestart(), { authorize: () => true });
    open.push(b);
    b.clock.advance(3 * MINUTE);
    const held = await b.guard.begin(s);
    expect(codes(held)).toContain('UNKNOWN_OUTCOME');
    const over = await b.guard.override(held, { operator: 'c1', reason: 'checked with the bank', supervisor: 's1' });
    expect(codes(over)).not.toContain('IN_FLIGHT');
    expect(over.verdict).toBe('allow');
  });
  it('tab A is alive and charging when the clock is set back an hour; tab B opens: within pendingTimeout of seeing it, the charge is IN_FLIGHT (never lifted)', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock, { authorize: () => true });
    open.push(a);
    const s: Sale = sale({ amount: 5210 });
    expect((await a.guard.begin(s)).verdict).toBe('allow');
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    const b = await tab(db, clock, { authorize: () => true });
    open.push(b);
    clock.advance(MINUTE);
    const held = await b.guard.begin(s);
    const over = await b.guard.override(held, { operator: 'c1', reason: 'checked with the bank', supervisor: 's1' });
    expect(codes(over)).toContain('IN_FLIGHT');
    expect(over.verdict).toBe('block');
  });
});

describe('atk19b tabs: Pay double-tapped in two tabs at once, no Web Locks, no BroadcastChannel', () => {
  it('two charge() calls of one sale from two tabs at the same instant: one submit', async () => {
    const { a, b } = await twoTabs();
    const s: Sale = sale({ amount: 5300 });
    const submits: string[] = [];
    // The charge stays out until the other tab's call has answered: on a loaded
    // machine a fixed delay let the second begin land after the approval, which
    // rightly prompts (DUPLICATE_CHARGE) instead of blocking IN_FLIGHT.
    const otherAnswered = deferred<void>();
    const submit = async (attempt: { id: string }) => {
      submits.push(attempt.id);
      await otherAnswered.promise;
      return { approved: true as const };
    };
    const answered = <T>(p: Promise<T>) => p.finally(() => otherAnswered.resolve());
    const [ra, rb] = await Promise.all([answered(a.guard.charge(s, submit)), answered(b.guard.charge(s, submit))]);
    expect(submits.length).toBe(1);
    expect([ra.status, rb.status].sort()).toEqual(['approved', 'blocked']);
  });

  it('a tab whose first begin is still out (double tap) and another tab: three begins of one sale, one allow', async () => {
    const { a, b } = await twoTabs();
    const s: Sale = sale({ amount: 5400 });
    const ds = await Promise.all([a.guard.begin(s), a.guard.begin(s), b.guard.begin(s)]);
    expect(ds.filter((d) => d.verdict === 'allow').length).toBe(1);
    expect(ds.filter((d) => d.verdict !== 'allow').every((d) => codes(d).includes('IN_FLIGHT'))).toBe(true);
  });
});

describe('atk19b tabs: acting on a stale copy (no BroadcastChannel)', () => {
  async function staleUnknown() {
    const { a, b, clock } = await twoTabs();
    const s: Sale = sale({ amount: 5500 });
    const first = await a.guard.begin(s);
    await first.attempt!.markUnknown();
    expect(codes(await b.guard.begin(s))).toContain('UNKNOWN_OUTCOME');
    await a.guard.settle(first.attempt!.id, { status: 'approved', authCode: 'A1' });
    await quiet(clock);
    return { a, b, id: first.attempt!.id, s };
  }

  it('tab B cancels (from its stale unknown) the attempt tab A approved: refused, the stored approval stands', async () => {
    const { a, b, id, s } = await staleUnknown();
    const r = await b.guard.settle(id, { status: 'cancelled' }).then(
      (x) => x.status,
      (e: Error) => e.name,
    );
    expect(r).toBe('GuardStateError');
    expect((await a.store.get(id))?.status).toBe('approved');
    expect(codes(await b.guard.begin(s))).toContain('DUPLICATE_CHARGE');
  });

  it('tab B resumes (from its stale unknown) the attempt tab A approved: refused, the stored approval stands', async () => {
    const { a, b, id } = await staleUnknown();
    const r = await b.guard.resume(id).then(
      (x) => x.status,
      (e: Error) => e.name,
    );
    expect(r).toBe('GuardStateError');
    expect((await a.store.get(id))?.status).toBe('approved');
  });
});
