/**
 * atk9: a till killed after its catch-up's last upload and before the
 * refund recount (recountSent in src/guard/settle.ts) runs.
 *
 * Mechanism (src/shared/store.ts #sendOutbox): every outbox record is
 * uploaded and shifted off the outbox (kept in `local`) at once; the
 * StoreChange `sent` that starts recountSent is emitted only at the very end,
 * from the in-memory `#sent`, which is never kept. A till that dies in
 * between restarts with an empty outbox: nothing runs the recount again. The
 * void of a sale was made durable in the upload itself (keptVoid, atk7), the
 * refund recount was not: a refund reversed on the cut-off lane stays counted
 * in the sale's kept (later) row, and a refund that fits is refused on every
 * lane. (An approved refund the kept row misses is re-counted at start-up,
 * which applies approved refunds again: that case passes.)
 */
import { describe, expect, it } from 'vitest';
import type { Guard } from '../../src/index.js';
import { codes, dyingLane, flush, lanes, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_restart' };

async function expectRefunded(db: ReturnType<typeof lanes>['db'], guards: Guard[], saleId: string, sum: number) {
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect(row!.record.refunded).toBe(sum);
  for (const g of guards) {
    expect((await g.get(saleId))?.refunded).toBe(sum);
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum, 'tok_atk9_restart_fit')))).toEqual([]);
  }
}

describe('atk9: killed between the catch-up and its refund recount', () => {
  it('a refund reversed on the cut-off lane, another approved later elsewhere: after the restart only the latter counts', async () => {
    // Outbox: the reversed refund, then its sale: dies after the second upload.
    const { time, db, g1, g2, saleId, restart, state } = await dyingLane(card, 2);
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_restart_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    expect((await g1.get(saleId))?.refunded).toBe(400);
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_restart_r1'));
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const g3 = await restart();
    expect(state.uploads).toBe(2);
    await expectRefunded(db, [g1, g3], saleId, 300);
  });

  it('a refund approved elsewhere first, one on the cut-off lane later: both count after the restart (start-up recount)', async () => {
    // Outbox: the refund, then its sale.
    const { time, db, g1, g2, saleId, restart } = await dyingLane(card, 2);
    db.disconnect('T2');
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_restart_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_restart_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const g3 = await restart();
    await expectRefunded(db, [g1, g3], saleId, 700);
  });
});
