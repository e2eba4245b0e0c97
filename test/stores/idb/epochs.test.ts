/**
 * GuardTime.toWall dates a guard-time stamp by the epoch *that guard time
 * falls in*, which is right only for stamps this process took. A record
 * adopted from another tab is converted by today's gap (fromWall); when the
 * record is older than the current epoch (it was written before the sleep
 * that started it), its converted guard time lands in an earlier epoch, and
 * toWall then subtracts the whole sleep again. Any write-back of such a record
 * (a partial refund, an applied refund attempt, a 'wiped' restore) dates its
 * approval hours/minutes earlier than it happened. After a restart, or in
 * any other tab, the approval is past `window` too early: DUPLICATE_CHARGE
 * is lost and the repeat is allowed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGuard } from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { MINUTE, ManualClock, sale } from '../../helpers/guard.js';
import { OPTIONS, freshDb, tab } from '../../helpers/tabs.js';

afterEach(() => vi.unstubAllGlobals());

describe('a record adopted across an epoch change keeps its wall-clock times', () => {
  it("tab A refunds part of tab B's sale after a sleep; the stored approval must still be dated when it happened", async () => {
    vi.stubGlobal('BroadcastChannel', undefined); // tab A learns of B's approval from its next claim
    const db = freshDb();
    const a = await tab(db, new ManualClock());
    const b = await tab(db, new ManualClock());
    const paid = await b.guard.begin(sale());
    await paid.attempt?.approve();
    const approvedAt = b.clock.wall;

    // The tablet's screen goes off for 5 minutes: the monotonic clocks pause.
    a.clock.jump(5 * MINUTE);
    b.clock.jump(5 * MINUTE);

    const seen = await a.guard.begin(sale()); // the claim hands B's approval to tab A
    expect(seen.verdict).toBe('prompt');
    await a.guard.settle(paid.attempt?.id ?? '', { status: 'refunded', amount: 100 }); // a partial refund at tab A

    const stored = (await a.store.load()).find((r) => r.id === paid.attempt?.id);
    expect(stored?.approvedAt).toBe(approvedAt);
  });

  it('after a reload one minute later, the repeat still prompts DUPLICATE_CHARGE (6 of 10 minutes)', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db, new ManualClock());
    const b = await tab(db, new ManualClock());
    const paid = await b.guard.begin(sale());
    await paid.attempt?.approve();
    a.clock.jump(5 * MINUTE);
    b.clock.jump(5 * MINUTE);
    await a.guard.begin(sale());
    await a.guard.settle(paid.attempt?.id ?? '', { status: 'refunded', amount: 100 });

    a.clock.advance(MINUTE);
    const reloaded = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: a.clock.afterRestart() });
    const repeat = await reloaded.peek(sale());
    expect(repeat.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });
});

describe('a clock set back while a sale is being charged', () => {
  it("a tab's own pending, re-read by its next claim, still ages from when it began: unknown after pendingTimeout, not IN_FLIGHT for an hour", async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db, new ManualClock());
    const first = await a.guard.begin(sale());
    expect(first.verdict).toBe('allow');
    // The till's time is corrected an hour back while the charge is out.
    a.clock.advance(10_000);
    a.clock.jump(-60 * MINUTE);
    const held = await a.guard.begin(sale()); // the claim re-reads this tab's own pending
    expect(held.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
    a.clock.advance(3 * MINUTE); // past pendingTimeout (2m)
    const later = await a.guard.begin(sale());
    expect(later.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    expect(later.reasons.map((r) => r.code)).not.toContain('IN_FLIGHT');
  });
});
