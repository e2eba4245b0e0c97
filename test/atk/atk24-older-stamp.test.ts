/**
 * atk24: a live tab's attempt begun before the wall clock was set back, then
 * settled or resumed after it. Tab B, opened after the set-back, holds the
 * version it read at start-up (the pending it reports `unknown`), stamped an
 * hour ahead; A's later versions carry `updatedAt` an hour earlier, and B's
 * adopt dropped every one of them as older than what it holds, by the claim
 * and by BroadcastChannel alike. B then judged the sale on a stale `unknown`:
 * UNKNOWN_OUTCOME, which a supervisor may lift (since 58191d9 read that
 * pending stale). Fixed in tabs.ts `adopt`: a version held dated ahead of the
 * guard's clock is older than one that is not.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Sale } from '../../src/index.js';
import { MINUTE, ManualClock, sale } from '../helpers/guard.js';
import { closedAfterEach, codes, freshDb, settle, supervisorOverride, tab } from '../helpers/tabs.js';

const open = closedAfterEach();

/** Tab A begins `s`; 10 s later the clock is set back an hour; tab B opens; 30 s pass. */
async function setBackWithLiveTab(s: Sale, broadcast: boolean) {
  if (!broadcast) vi.stubGlobal('BroadcastChannel', undefined);
  const db = freshDb();
  const clock = new ManualClock();
  const a = await tab(db, clock, { authorize: () => true });
  open.push(a);
  const first = await a.guard.begin(s);
  expect(first.verdict).toBe('allow');
  clock.advance(10_000);
  clock.jump(-60 * MINUTE);
  const b = await tab(db, clock, { authorize: () => true });
  open.push(b);
  clock.advance(30_000);
  return { a, b, clock, attempt: first.attempt! };
}

describe('atk24 a live tab’s attempt changed after the clock was set back', () => {
  for (const broadcast of [true, false]) {
    it(`A’s charge times out and A resumes it; 30 s into that charge B’s Pay reads UNKNOWN_OUTCOME, not IN_FLIGHT, and a supervisor override puts a second charge in flight (BroadcastChannel: ${broadcast})`, async () => {
      const s = sale({ amount: 5260 });
      const { a, b, clock, attempt } = await setBackWithLiveTab(s, broadcast);
      await attempt.markUnknown();
      await settle(30);
      clock.advance(2 * MINUTE);
      await a.guard.resume(attempt.id);
      await settle(30);
      clock.advance(30_000);
      const again = await b.guard.begin(s);
      expect({ again: codes(again), over: await supervisorOverride(b, again), seenByB: (await b.guard.get(attempt.id))?.status }).toEqual({
        again: ['IN_FLIGHT'],
        over: 'GuardOverrideError',
        seenByB: 'pending',
      });
    });

    it(`A’s charge is approved; 30 s later B’s Pay reads UNKNOWN_OUTCOME (“outcome unknown”, liftable), not DUPLICATE_CHARGE, and B reports the paid attempt unknown (BroadcastChannel: ${broadcast})`, async () => {
      const s = sale({ amount: 5280 });
      const { b, clock, attempt } = await setBackWithLiveTab(s, broadcast);
      await attempt.approve({ authCode: 'A1' });
      await settle(30);
      clock.advance(30_000);
      const again = await b.guard.begin(s);
      expect({ again: codes(again), seenByB: (await b.guard.get(attempt.id))?.status }).toEqual({
        again: ['DUPLICATE_CHARGE'],
        seenByB: 'approved',
      });
    });
  }
});
