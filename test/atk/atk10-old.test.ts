/**
 * atk10: the money to recover a catch-up's merge finds ('sent'.over,
 * reported by recountSent) on a sale past `window`, which memory lets go:
 * recountSent reports it on `ctx.index.get(saleId)` when its own recount
 * changes nothing, and drops it when the index no longer holds the sale.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_old' };
const MIN = 60_000;
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

async function later({ time }: Setup, ms: number) {
  for (let t = 0; t < ms; t += MIN) {
    await time.advance(MIN);
    await flush();
  }
}

describe('atk10: over found by the merge on a sale past window', () => {
  for (const wait of [0, 15 * MIN]) {
    it(`both lanes refund outside the guard (600 + 500 after 100), ${wait / MIN} min later: 1 000, 200 over, journaled once`, async () => {
      const setup = await approvedOnTwoLanes(card);
      const { time, db, g1, g2, store2, saleId } = setup;
      // The cut-off lane wrote the sale itself: it can refund it by id while cut off.
      await g2.settle(saleId, { status: 'refunded', amount: 100 });
      await later(setup, wait);
      db.disconnect('T2');
      await g2.settle(saleId, { status: 'refunded', amount: 600 });
      await time.advance(1_000);
      await g1.settle(saleId, { status: 'refunded', amount: 500 });
      await time.advance(1_000);
      db.reconnect('T2');
      await store2.sync();
      await flush();
      await later(setup, 2 * MIN);
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 200]);
      for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
      const journaled = db
        .journal('M1')
        .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
        .map(({ entry }) => entry.amount ?? 0);
      expect(journaled.reduce((a, b) => a + b, 0)).toBe(200);
    });
  }
});
