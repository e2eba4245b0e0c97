/**
 * atk23: two tabs of the POS open on one tablet (the till and its back
 * office). Each notices every wake and writes it: the same step twice, at two
 * `at`s a moment apart ("kept twice: held longer", by design). So 16 stored
 * steps are reached after 8 naps, and from then on every write compounds the
 * merged step (see atk23-union): after a morning of naps the store holds a
 * stamp far longer than both tabs' steps together, and the next tab opened
 * (a reload) holds every approval of the morning that long.
 *
 * Fixed: a guard writes only the steps it noticed since its last write.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, heldLongerBy, parseClockSteps } from '../../src/clock-steps.js';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { OPTIONS, freshDb } from '../helpers/tabs.js';

const MINUTE = 60_000;
const T = Date.parse('2026-02-02T08:00:00Z');
const wake = { amount: 1, currency: 'EUR', card: { token: 'tok_atk23_two_tabs_wake' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);
const flush = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('atk23: two tabs through a morning of naps', () => {
  async function morning() {
    const db = freshDb();
    const time = virtualTime(T);
    const tabOf = () => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    const till = await tabOf();
    const office = await tabOf();
    const coffee = { amount: 350, currency: 'EUR', card: { token: 'tok_atk23_two_tabs_regular' } };
    const first = await till.begin(coffee);
    await first.attempt!.approve();
    const naps = 16; // 4 hours: asleep 5 minutes in every 15
    for (let i = 1; i <= naps; i++) {
      await time.advance(10 * MINUTE);
      time.jump(5 * MINUTE);
      await till.peek(wake);
      await flush();
      await time.advance(40); // the back office tab notices the wake a moment later
      await office.peek(wake);
      await flush();
    }
    return { db, tabOf, till, office, coffee, naps };
  }

  it('the store holds no stamp longer than both tabs’ steps together (each nap counted twice)', async () => {
    const { db, till, office, naps } = await morning();
    const steps = parseClockSteps(await indexedDbStore(db).getMeta(CLOCK_STEPS));
    expect(heldLongerBy(steps, T) / MINUTE).toBeLessThanOrEqual(2 * naps * 5); // 570 now
    await till.close();
    await office.close();
  });

  it('a reload after the morning does not prompt DUPLICATE_CHARGE for the first coffee', async () => {
    const { tabOf, till, office, coffee } = await morning();
    // The till page is reloaded: 4 h after the coffee, 80 min of naps since: long past its 10-minute window.
    expect((await till.peek(coffee)).verdict).toBe('allow');
    const reloaded = await tabOf();
    expect(codes(await reloaded.peek(coffee))).not.toContain('DUPLICATE_CHARGE');
    await reloaded.close();
    await till.close();
    await office.close();
  });
});
