/**
 * atk9: the catch-up's refund recount (recountSent / recounted in
 * src/guard/settle.ts) on a sale older than `window` (not hot: memory lets
 * it go, the shared store's history keeps it), after a cut-off longer than
 * `window`: the recount must still find the sale and every refund it lists.
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, codes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_old' };
const MIN = 60_000;
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

async function later({ time }: Setup, ms: number) {
  for (let t = 0; t < ms; t += MIN) {
    await time.advance(MIN);
    await flush();
  }
}

async function catchUp(setup: Setup) {
  const { db, store2 } = setup;
  db.reconnect('T2');
  await store2.sync();
  await flush();
  await later(setup, 2 * MIN);
}

async function expectRefunded({ db, g1, g2, saleId }: Setup, sum: number) {
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect([row!.record.refunded, (await g1.get(saleId))?.refunded, (await g2.get(saleId))?.refunded]).toEqual([sum, sum, sum]);
  for (const g of [g1, g2]) {
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum, 'tok_atk9_old_fit')))).toEqual([]);
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum + 1, 'tok_atk9_old_past')))).toEqual(['REFUND_EXCEEDS_CHARGE']);
  }
}

describe('atk9: the recount of a sale past window, after a long cut-off', () => {
  it('a refund reversed on the cut-off lane, another approved elsewhere, 15 min cut off: only the latter counts', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_old_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await later(setup, 15 * MIN);
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_old_r1'));
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await later(setup, 15 * MIN);
    await catchUp(setup);
    await expectRefunded(setup, 300);
  });

  it('a refund approved elsewhere, then one on the cut-off lane, 15 min cut off: both count', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    await later(setup, 15 * MIN);
    db.disconnect('T2');
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_old_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    // Cut off, lane 2 no longer holds the old sale (another lane's write, not in its local): the cashier confirms.
    const p2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_old_r2'));
    expect(codes(p2)).toContain('REFUND_ORIGINAL_NOT_FOUND');
    const r2 = await g2.override(p2, { operator: 'ann', reason: 'receipt in hand' });
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await later(setup, 15 * MIN);
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('an old refund reversed on the connected lane while the cut-off lane refunds again: only the latter counts', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    const r1 = await g1.begin(refundOf(saleId, 400, 'tok_atk9_old_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await later(setup, 15 * MIN);
    db.disconnect('T2');
    await g1.settle(r1.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const p2 = await g2.begin(refundOf(saleId, 300, 'tok_atk9_old_r2'));
    expect(codes(p2)).toContain('REFUND_ORIGINAL_NOT_FOUND');
    const r2 = await g2.override(p2, { operator: 'ann', reason: 'receipt in hand' });
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await later(setup, 15 * MIN);
    await catchUp(setup);
    await expectRefunded(setup, 300);
  });
});
