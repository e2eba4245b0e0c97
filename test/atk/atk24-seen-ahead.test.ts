/**
 * atk24: the sighting AttemptIndex keeps of an open attempt first seen dated
 * ahead (a clock set back, 58191d9), attacked. The sighting is keyed by the
 * attempt's id and `pendingSince` only: a later pending version that carried
 * the same `pendingSince` (a resume stamped, to the millisecond, at the time
 * the dead tab stamped an hour earlier) inherited the old sighting and read an
 * hour old while its charge was in flight. Fixed: a resume forgets the
 * sighting (AttemptIndex.forgetSighting). Another tab's resume at that very
 * millisecond carries the same stamps as the version seen, and cannot be told
 * from it: a one-in-60,000-a-minute chance left open (docs/recovery.md).
 */
import { describe, expect, it, vi } from 'vitest';
import type { RecoverAnswer, Sale } from '../../src/index.js';
import { MINUTE, ManualClock, sale } from '../helpers/guard.js';
import { closedAfterEach, codes, deadTabThenSetBack, freshDb, settle, supervisorOverride, tab } from '../helpers/tabs.js';

const open = closedAfterEach();

describe('atk24 seen ahead: a later pending version with the same pendingSince inherits the old sighting', () => {
  it('B resumes the dead tab’s attempt at the very millisecond of its old pendingSince: one second into B’s own charge, Pay again reads UNKNOWN_OUTCOME and a supervisor override charges the customer twice', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock);
    const s: Sale = sale({ amount: 5230 });
    const first = await a.guard.begin(s);
    expect(first.verdict).toBe('allow');
    const id = first.attempt!.id;
    const T = (await a.guard.get(id))!.pendingSince;
    // Tab A's page is gone mid-charge; the clock is corrected an hour back.
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    const b = await tab(db, clock.afterRestart(), { authorize: () => true });
    open.push(b);
    // B saw A's pending dated ahead at start-up. An hour later (at the millisecond of A's stamp) the
    // operator, told by the bank the first charge never landed, resumes it: B's charge is in flight now.
    b.clock.advance(T - b.clock.wall);
    await b.guard.resume(id);
    expect((await b.guard.get(id))?.pendingSince).toBe(T);
    await settle(30);
    b.clock.advance(1_000);
    // One second into B's own charge, the cashier taps Pay again: in flight, never liftable.
    const again = await b.guard.begin(s);
    const over = await supervisorOverride(b, again);
    expect({ again: codes(again), over, status: (await b.guard.get(id))?.status }).toEqual({
      again: ['IN_FLIGHT'],
      over: 'GuardOverrideError',
      status: 'pending',
    });
  });

  it('B resumes the dead tab’s attempt at the very millisecond of its old pendingSince: B calls recover on its own charge one second in, and the processor’s “not found” settles it cancelled while it is on its way', async () => {
    const asked: string[] = [];
    let answer: 'unreachable' | 'cancelled' = 'unreachable';
    const recover = (attempt: { id: string }): RecoverAnswer => {
      asked.push(attempt.id);
      if (answer === 'unreachable') throw new Error('processor unreachable');
      return { status: 'cancelled' };
    };
    const {
      time,
      b,
      id,
      stamped: T,
    } = await deadTabThenSetBack({ amount: 991, currency: 'CNY', card: { token: 'tok_24_ahead' } }, recover);
    await time.advance(T - time.clock.now());
    await settle();
    const before = asked.length;
    // The processor answers again; B's operator resumes the attempt: B's charge is in flight.
    answer = 'cancelled';
    await b.resume(id);
    await settle();
    await time.advance(1_000);
    await settle();
    expect({ recoverCalls: asked.length - before, status: (await b.get(id))?.status }).toEqual({ recoverCalls: 0, status: 'pending' });
    await b.close();
  });
});

describe('atk24 seen ahead: what held', () => {
  it('a live tab’s charge dated ahead: B reloaded three times, 100 s after each reload (within its pendingTimeout) a supervisor override is refused', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock, { authorize: () => true });
    open.push(a);
    const s: Sale = sale({ amount: 5270 });
    await a.guard.begin(s);
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    const overs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await tab(db, clock, { authorize: () => true });
      clock.advance(100_000);
      overs.push(await supervisorOverride(b, await b.guard.begin(s)));
      await b.guard.close();
      await settle(30);
    }
    expect(overs).toEqual(['block', 'block', 'block']);
  });

  it('B started before the set-back, A’s charge begun before it: a minute after the set-back B holds it IN_FLIGHT and refuses the override', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const b = await tab(db, clock, { authorize: () => true });
    open.push(b);
    clock.advance(5_000);
    const a = await tab(db, clock, { authorize: () => true });
    open.push(a);
    const s: Sale = sale({ amount: 5250 });
    await a.guard.begin(s);
    await settle(30);
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    clock.advance(MINUTE);
    const again = await b.guard.begin(s);
    expect(codes(again)).toContain('IN_FLIGHT');
    expect(await supervisorOverride(b, again)).toBe('GuardOverrideError');
  });
  it('a dead tab’s charge dated ahead, stale 3 minutes after B saw it: a double-tapped override in B and one in tab C opened then let one charge through, not two', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock);
    const s: Sale = sale({ amount: 5290 });
    await a.guard.begin(s);
    clock.advance(10_000);
    clock.jump(-60 * MINUTE);
    const b = await tab(db, clock.afterRestart(), { authorize: () => true });
    open.push(b);
    b.clock.advance(3 * MINUTE);
    const c = await tab(db, b.clock, { authorize: () => true });
    open.push(c);
    const heldB = await b.guard.begin(s);
    const heldC = await c.guard.begin(s);
    const verdicts = await Promise.all([supervisorOverride(b, heldB), supervisorOverride(b, heldB), supervisorOverride(c, heldC)]);
    expect(verdicts.filter((v) => v === 'allow')).toHaveLength(1);
  });
});
