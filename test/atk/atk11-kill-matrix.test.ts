/**
 * atk11: a till killed at each await of the catch-up that merges a sale and
 * finds money to recover (700 outside the guard on cut-off T2, 600 on T1:
 * 300 over). After the restart: the row lists the 300 over, every lane counts
 * 1 000 refunded, and the over is journaled exactly once (the only window for
 * a second report is between the journal entry and the let-go in `local`).
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import { dyingLane, flush, overReports } from '../helpers/lanes.js';

const overOf = (record: { refunds?: readonly { over?: number }[] }) => (record.refunds ?? []).reduce((sum, r) => sum + (r.over ?? 0), 0);

const cases: [string, number, keyof Remote | undefined][] = [
  ['at the upload (kept, not sent)', 0, 'upload'],
  ['at the read-back after the upload', 1, 'get'],
  ['at the first call after the upload', 1, undefined],
  ['at reading the changes', 1, 'changes'],
  ['at the recount’s claim', 1, 'claim'],
  ['at the journal’s send', 1, 'appendJournal'],
];

describe('atk11: killed at each step of the catch-up that finds 300 over', () => {
  for (const [name, uploads, diesAt] of cases) {
    it(`${name}: 300 journaled exactly once after the restart`, async () => {
      const lane = await dyingLane({ token: `tok_atk11_kill_${uploads}_${String(diesAt)}` }, uploads, diesAt);
      const { time, db, g1, g2, saleId } = lane;
      db.disconnect('T2');
      await g2.settle(saleId, { status: 'refunded', amount: 700 });
      await time.advance(1_000);
      await g1.settle(saleId, { status: 'refunded', amount: 600 });
      await time.advance(1_000);
      const g3 = await lane.restart();
      for (let i = 0; i < 3; i++) {
        await time.advance(5_000);
        await flush();
      }
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
      for (const g of [g1, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
      const reports = overReports(db, saleId);
      expect(reports).toEqual(['T2:300']);
    });
  }

  it('no kill, then a restart: nothing is re-told (the kept report was let go)', async () => {
    const lane = await dyingLane({ token: 'tok_atk11_kill_none' }, Infinity);
    const { time, db, g1, g2, saleId } = lane;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    await lane.restart();
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });
});
