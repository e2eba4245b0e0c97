/**
 * Found by atk3: a clock stepped back while the shared store measures its
 * skew makes the skew half the step off, and another lane's approval is read
 * half an hour old: a second charge of it is allowed.
 *
 * `#measureSkew` (src/shared/store.ts) reads the database's clock over
 * SKEW_SAMPLES round trips, each between two readings of the terminal's wall
 * clock, and keeps the sample with the shortest trip. A step of the wall
 * clock between the two readings of a sample (NTP setting it right, most
 * likely just after a sleep, which is exactly when `#freshSkew` measures)
 * is not noticed: stepped back, that sample's trip is negative, the shortest
 * of all, and its skew is (before + after) / 2 off, half the step. The lane
 * reads another lane's approval 2 s old through it as 30 minutes old, outside
 * the window; HeldTimes then keeps that time for it, even once the skew is
 * measured right. (Stepped forward, a sample from before the step wins and
 * the skew is the old one, which GuardTime reads by the old epoch: right.)
 *
 * Fixed in two parts: #measureSkew keeps only the readings after the last
 * step it meets (a reading whose wall-clock trip is not its monotonic trip
 * met one), and the guard reads the time the store hands over by the clock
 * as it is now (GuardStore.timesOnOwnerClock), not by the epoch before the
 * step it also fits, an hour earlier (see store-clock.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import type { TerminalTime } from '../../src/scenarios/virtual-time.js';
import { lanes } from '../helpers/lanes.js';

const HOUR = 3_600_000;
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_a' } };

async function secondCharge(step: number, during = 1) {
  const lane2: { terminal?: TerminalTime } = {};
  let stepDuring = 0; // the reading of the database's clock (1: the first) during which the step comes
  let asleep = false;
  // Lane 2 hears nothing while asleep; its clock is stepped during a reading of the database's clock after it woke.
  const remote = (inner: Remote, terminalId: string): Remote =>
    terminalId !== 'T2'
      ? inner
      : new Proxy(inner, {
          get(target, name, receiver) {
            if (name === 'noticed') return async (...args: Parameters<Remote['noticed']>) => (asleep ? [] : target.noticed(...args));
            if (name !== 'clock') return Reflect.get(target, name, receiver) as unknown;
            return async () => {
              const at = await target.clock();
              if (stepDuring > 0 && --stepDuring === 0) lane2.terminal?.jump(step);
              return at;
            };
          },
        });
  const { time, open } = lanes({ remote });
  const t2 = time.terminal();
  lane2.terminal = t2;
  let lost = 0; // lane 2 sleeps 2 s: its monotonic clock stops, and its store measures the skew again on waking
  const sleepy = { ...t2, clock: { now: () => t2.clock.now(), monotonic: () => t2.clock.monotonic() - lost } };
  const g1 = await open(time.terminal(), 'T1');
  const g2 = await open(sleepy, 'T2');
  await g2.begin({ ...sale, amount: 5 });
  await time.advance(5_000);
  asleep = true;
  const d = await g1.begin(sale);
  await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(2_000);
  lost += 2_000;
  asleep = false;
  stepDuring = during;
  return g2.begin(sale);
}

describe('a clock step while the shared store measures its skew', () => {
  it("stepped back an hour during a reading, another lane's approval 2 s old is still a DUPLICATE_CHARGE", async () => {
    const again = await secondCharge(-HOUR);
    expect(again.verdict).not.toBe('allow'); // actual: allow
    expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  it.each([
    ['forward an hour during the first reading', HOUR, 1],
    ['forward an hour during the second reading', HOUR, 2],
    ['back 2 s during the first reading (1 s off, inside the window)', -2_000, 1],
  ])('stepped %s: still a DUPLICATE_CHARGE', async (_, step, during) => {
    const again = await secondCharge(step, during);
    expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });
});
