/**
 * atk9: refunds made outside the guard (`settle(saleId, { status:
 * 'refunded', amount })`) on either side of a cut-off, mixed with refund
 * attempts, and the recount after the catch-up (recountSent in
 * src/guard/settle.ts).
 *
 * Mechanism: Remote.upload keeps the later of two rows of a sale, and the
 * recount only re-adds refund ATTEMPTS missing from the kept row's list. An
 * external refund is a bare `refunded` sum with no list entry: when the row
 * that carries it is the one the upload drops, it is lost for good (SPEC
 * §10: "Everything written while cut off reaches the database ... nothing is
 * lost"), and a refund past what was really paid back is allowed.
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, codes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_external' };
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

async function catchUp({ time, db, store2 }: Setup) {
  await time.advance(1_000);
  db.reconnect('T2');
  await store2.sync();
  await flush();
  await time.advance(5_000);
  await flush();
}

async function expectRefunded(setup: Setup, sum: number) {
  const { db, g1, g2, saleId } = setup;
  const [row] = await db.remote('observer').get('M1', [saleId]);
  const seen = [row!.record.refunded, (await g1.get(saleId))?.refunded, (await g2.get(saleId))?.refunded];
  expect(seen).toEqual([sum, sum, sum]);
  // What remains (1 000 - sum) fits; one more unit does not.
  const fits = await g1.peek(refundOf(saleId, 1_000 - sum, 'tok_atk9_ext_fit'));
  expect(codes(fits)).toEqual([]);
  const past = await g1.peek(refundOf(saleId, 1_000 - sum + 1, 'tok_atk9_ext_past'));
  expect(codes(past)).toEqual(['REFUND_EXCEEDS_CHARGE']);
}

describe('atk9: external refunds across a cut-off', () => {
  it('external on the cut-off lane first, external on the connected lane later: both count', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 300 });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('external on the connected lane first, external on the cut-off lane later: both count', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'refunded', amount: 300 });
    await time.advance(1_000);
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('external on the connected lane first, a refund attempt on the cut-off lane later: both count', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'refunded', amount: 300 });
    await time.advance(1_000);
    const r2 = await g2.begin(refundOf(saleId, 400));
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('external on the cut-off lane first, a refund attempt on the connected lane later: both count', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300));
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('a refund attempt on the cut-off lane first, external on the connected lane later: both count (passes)', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    const r2 = await g2.begin(refundOf(saleId, 400));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 300 });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('a refund attempt on the connected lane first, external on the cut-off lane later: both count (passes)', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    const r1 = await g1.begin(refundOf(saleId, 300));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await catchUp(setup);
    await expectRefunded(setup, 700);
  });

  it('an external refund on the cut-off lane, then a refund attempt of it reversed there: the external part stays', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 200 });
    const r2 = await g2.begin(refundOf(saleId, 300));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(500);
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(500);
    const r1 = await g1.begin(refundOf(saleId, 100, 'tok_atk9_ext_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await catchUp(setup);
    await expectRefunded(setup, 300);
  });
});
