/**
 * Stamps read ahead of the guard when the record's `updatedAt` is not: begun
 * at 10:00, the clock set back an hour, the charge timed out (updatedAt
 * 09:00), the app restarted. Its createdAt and pendingSince lie an hour ahead
 * of the new guard; a sleep must not move them.
 */
import { expect, it } from 'vitest';
import { GuardTime } from '../src/guard-time.js';
import { makeRecord, withChanges } from '../src/record.js';
import type { AttemptRecord } from '../src/types.js';
import { HOUR, MINUTE, ManualClock } from './helpers/guard.js';

function unknownRecord(begun: number, timedOut: number): AttemptRecord {
  return makeRecord({
    v: 1,
    id: 'pdg_x',
    idempotencyKey: 'pdg_x',
    fingerprint: 'f',
    status: 'unknown',
    kind: 'sale',
    amount: 1,
    currency: 'CNY',
    merchantId: 'M',
    createdAt: begun,
    updatedAt: timedOut,
    pendingSince: begun,
    refunded: 0,
  });
}

it('keeps the stamps of a loaded record that lie ahead, when its updatedAt does not, through a later sleep', () => {
  const clock = new ManualClock();
  const begun = clock.wall;
  clock.jump(-HOUR);
  clock.advance(30_000);
  const written = unknownRecord(begun, clock.wall);
  const restarted = clock.afterRestart();
  const time = new GuardTime(restarted);
  time.now();
  const loaded = time.fromWall(written);
  restarted.jump(8 * HOUR); // a night on the shelf
  restarted.advance(MINUTE);
  time.now();
  expect(time.toWall(loaded)).toEqual(written);
  // Its lease, written later, is the version stored with a recovery state: still the same times.
  const leased = withChanges(loaded, { recovery: { tries: 1 } });
  expect(time.toWall(leased)).toMatchObject({ createdAt: begun, pendingSince: begun, updatedAt: written.updatedAt });
});
