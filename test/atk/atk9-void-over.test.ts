/**
 * atk9: a sale voided on one side of a cut-off and refunded on the other.
 * The catch-up's upload makes every refund of it money to recover (keptVoid
 * in src/shared/store.ts: voidedOver lists each one all `over`), and SPEC
 * §2/§3 / src/refunds.ts: an over-refund is journaled and emitted.
 *
 * Mechanism: keptVoid writes the `over` entries inside the store's upload,
 * where nothing is journaled or emitted; the guard's recount afterwards
 * (recountSent / recounted in src/guard/settle.ts) finds every approved
 * refund already listed, so applyRefund returns undefined and overRefund is
 * never called: the money to recover is never reported on any lane.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import { approvedOnTwoLanes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_void_over' };
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

function listen({ g1, g2 }: Setup) {
  const events: AttemptRecord[] = [];
  for (const g of [g1, g2]) g.on('settle', (e) => void events.push((e as { record: AttemptRecord }).record));
  return events;
}

async function catchUp({ time, db, store2 }: Setup) {
  await time.advance(1_000);
  db.reconnect('T2');
  await store2.sync();
  await flush();
  await time.advance(5_000);
  await flush();
  await time.advance(5_000);
  await flush();
}

async function expectReportedOnce(setup: Setup, events: AttemptRecord[], refundId: string, over: number) {
  const { db, saleId } = setup;
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect(row!.record.status).toBe('voided');
  expect(row!.record.refunds).toEqual([{ id: refundId, amount: over, over }]);
  const journaled = db.journal('M1').filter(({ entry }) => entry.attemptId === saleId && entry.detail === `over-refund by ${refundId}`);
  const emitted = events.filter((r) => r.id === saleId && r.refunds?.some((x) => x.id === refundId && (x as { over?: number }).over));
  expect([journaled.length, emitted.length]).toEqual([1, 1]);
  expect(journaled[0]!.entry.amount).toBe(over);
}

describe('atk9: the over-refunds a void across a cut-off makes are reported', () => {
  it('voided on the connected lane, a refund approved on the cut-off lane: the over journaled and emitted once', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    const events = listen(setup);
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g2.begin(refundOf(saleId, 300));
    expect(r.verdict).toBe('allow');
    await g2.settle(r.attempt!.id, { status: 'approved' });
    await catchUp(setup);
    await expectReportedOnce(setup, events, r.attempt!.id, 300);
  });

  it('voided on the cut-off lane, a refund approved on the connected lane: the over journaled and emitted once', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    const events = listen(setup);
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g1.begin(refundOf(saleId, 300));
    expect(r.verdict).toBe('allow');
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await catchUp(setup);
    await expectReportedOnce(setup, events, r.attempt!.id, 300);
  });

  it('the void of the sale on the connected lane racing the catch-up of a refund: voided with it over, or refused; never both lost', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, store2, saleId } = setup;
    db.disconnect('T2');
    const r = await g2.begin(refundOf(saleId, 300));
    await g2.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    const [, voided] = await Promise.allSettled([store2.sync(), g1.settle(saleId, { status: 'voided' })]);
    if (voided.status === 'rejected') expect((voided.reason as { code?: string }).code).toBe('HAS_REFUNDS');
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    if (voided.status === 'fulfilled') {
      expect(row!.record.status).toBe('voided');
      expect(row!.record.refunds).toEqual([{ id: r.attempt!.id, amount: 300, over: 300 }]);
    } else {
      expect([row!.record.status, row!.record.refunded]).toEqual(['approved', 300]);
    }
    for (const g of [g1, g2]) expect((await g.get(saleId))?.status).toBe(row!.record.status);
  });
});
