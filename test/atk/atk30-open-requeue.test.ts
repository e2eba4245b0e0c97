/**
 * atk30 (keepsOpen / refreshClockSteps): a tab over IndexedDB keeps every
 * open attempt for its first 16 min, then queues their expiry again
 * (AttemptIndex.holdOpenLonger). Attacks on that re-queue.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type Guard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { OPTIONS, codes, freshDb, settle } from '../helpers/tabs.js';

const DAY = 86_400_000;
const MIN = 60_000;
const saleOf = (n: number) => ({ amount: 1_000 + n, currency: 'EUR', card: { token: `tok_atk30_requeue_${n}` } });

/**
 * Tab A (closed afterwards) leaves an unknown outcome X at T0 and a younger one Y at T0 + 3 days,
 * Y's id sorting before or after X's as asked (IndexedDB loads by id: the order memory files them in).
 */
async function leaveTwoUnknowns(yFirst: boolean) {
  const db = freshDb();
  const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
  const open = (): Promise<Guard> => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
  const a = await open();
  const x = await a.begin(saleOf(0));
  await x.attempt!.markUnknown();
  const xId = x.attempt!.id;
  await time.advance(3 * DAY);
  await settle();
  let n = 1;
  for (; n < 200; n++) {
    const y = await a.begin(saleOf(n));
    await y.attempt!.markUnknown();
    if (y.attempt!.id < xId === yFirst) break;
  }
  await a.close();
  return { db, time, open, xSale: saleOf(0), ySale: saleOf(n) };
}

describe('atk30 open attempts re-queued after the 16-min keep', () => {
  // Probe (held): B loads Y (T0 + 3 d) before X (T0) — holdOpenLonger re-queues their expiry in that
  // order (a FIFO queue, src/attempt-index.ts:123) — yet X's retry is let go once X is past 7 days.
  it('X older than 7 days is let go on time after the refresh, whatever order the store loaded X and Y in', async () => {
    const { time, open, xSale } = await leaveTwoUnknowns(true);
    await time.advance(3.9 * DAY);
    await settle();
    const b = await open();
    const early = await b.peek(xSale);
    await time.advance(17 * MIN);
    await b.peek(saleOf(999)); // a call: prune runs the refresh
    await settle();
    await time.advance(5 * 60 * MIN); // T0 + 7 d 2.5 h
    await b.peek(saleOf(998));
    await settle();
    const late = await b.peek(xSale);
    await b.close();
    expect(codes(early)).toContain('UNKNOWN_OUTCOME');
    expect(codes(late)).not.toContain('UNKNOWN_OUTCOME');
  });

  it('control: with X loaded first, X is let go at 7 days after the refresh', async () => {
    const { time, open, xSale, ySale } = await leaveTwoUnknowns(false);
    await time.advance(3.9 * DAY);
    await settle();
    const b = await open();
    const early = await b.peek(xSale);
    await time.advance(17 * MIN);
    await b.peek(saleOf(999));
    await settle();
    await time.advance(5 * 60 * MIN);
    await b.peek(saleOf(998));
    await settle();
    const late = await b.peek(xSale);
    const y = await b.peek(ySale);
    await b.close();
    expect(codes(early)).toContain('UNKNOWN_OUTCOME');
    expect(codes(late)).not.toContain('UNKNOWN_OUTCOME');
    expect(codes(y)).toContain('UNKNOWN_OUTCOME');
  });

  // Probe (held): the refresh of the stored clock steps is started from prune() (a call), not
  // awaited; still the first call an idle tab makes after its 16-min keep lets an 8-day-old unknown go.
  it('an unknown 8 days old is let go by the first call made after the 16-min keep, however long the tab sat idle', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const open = (): Promise<Guard> => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    const a = await open();
    const x = await a.begin(saleOf(0));
    await x.attempt!.markUnknown();
    await a.close();
    await time.advance(8 * DAY);
    await settle();
    const b = await open();
    await time.advance(17 * MIN);
    await settle();
    const first = await b.peek(saleOf(0));
    await settle();
    const second = await b.peek(saleOf(0));
    await b.close();
    expect({ first: codes(first), second: codes(second) }).toEqual({ first: [], second: [] });
  });
});
