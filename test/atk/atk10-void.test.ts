/**
 * atk10: a sale voided on one side of a cut-off while refunds were made
 * outside the guard (external:) on the other, and a void racing the
 * catch-up (between its read of the stored row and its upload): the merge
 * (keptRefunds/voidedOver) must keep the void, list every refund as money
 * to recover, report it once, and take no further refund.
 */
import { describe, expect, it } from 'vitest';
import { GuardError, type AttemptRecord } from '../../src/index.js';
import type { Remote } from '../../src/shared/remote.js';
import { approvedOnTwoLanes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_void' };
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

async function catchUp({ time, db, store2 }: Setup) {
  await time.advance(1_000);
  db.reconnect('T2');
  await store2.sync();
  for (let i = 0; i < 3; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
}

async function expectVoidedOver(setup: Setup, over: number) {
  const { db, g1, g2, saleId } = setup;
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect([row!.record.status, row!.record.refunded, overOf(row!.record)]).toEqual(['voided', 0, over]);
  for (const g of [g1, g2]) {
    const seen = (await g.get(saleId))!;
    expect([seen.status, seen.refunded, overOf(seen)]).toEqual(['voided', 0, over]);
    const err = await g.settle(saleId, { status: 'refunded', amount: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    const d = await g.peek(refundOf(saleId, 1, 'tok_atk10_void_next'));
    expect(d.verdict).not.toBe('allow');
  }
  const journaled = db
    .journal('M1')
    .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
    .reduce((sum, { entry }) => sum + (entry.amount ?? 0), 0);
  expect(journaled).toBe(over);
}

describe('atk10: a void and external refunds across a cut-off', () => {
  it('voided on the cut-off lane; 300 then the rest refunded outside the guard on the connected lane: 1 000 over, reported once', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 300 });
    await g1.settle(saleId, { status: 'refunded' });
    await catchUp(setup);
    await expectVoidedOver(setup, 1_000);
  });

  it('voided on the connected lane; 400 refunded outside the guard on the cut-off lane later: 400 over, reported once', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await catchUp(setup);
    await expectVoidedOver(setup, 400);
  });

  it('voided on both lanes: the void kept, nothing over, nothing reported', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'voided' });
    await catchUp(setup);
    await expectVoidedOver(setup, 0);
  });

  it('a void on the connected lane racing the catch-up of an external 400 (between its read and its upload): 400 over, reported once', async () => {
    let hook: (() => Promise<void>) | undefined;
    const remote2 = (remote: Remote): Remote =>
      new Proxy(remote, {
        get(target, name, receiver) {
          const value = Reflect.get(target, name, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (name === 'upload' && hook) {
              const h = hook;
              hook = undefined;
              await h();
            }
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        },
      });
    const setup = await approvedOnTwoLanes(card, remote2);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(1_000);
    hook = async () => {
      await g1.settle(saleId, { status: 'voided' });
      await time.advance(10);
    };
    await catchUp(setup);
    expect(hook).toBeUndefined();
    await expectVoidedOver(setup, 400);
  });

  it('a refund attempt of 300 on the cut-off lane, the sale voided on the connected one, then the refund reversed: nothing over', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    db.disconnect('T2');
    const r = await g2.begin(refundOf(saleId, 300, 'tok_atk10_void_r'));
    await g2.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'voided' });
    await catchUp(setup);
    const [mid] = await db.remote('observer').get('M1', [saleId]);
    expect(overOf(mid!.record)).toBe(300);
    await g2.settle(r.attempt!.id, { status: 'voided' });
    await catchUp(setup);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.status, row!.record.refunded, overOf(row!.record)]).toEqual(['voided', 0, 0]);
    for (const g of [g1, g2]) expect(overOf((await g.get(saleId))!)).toBe(0);
  });
  it('a 300 both knew reversed then the sale voided on the connected lane, while the cut-off lane refunds 200 outside the guard: only the 200 over, journaled as 200', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, saleId } = setup;
    const r = await g1.begin(refundOf(saleId, 300, 'tok_atk10_void_r300'));
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    expect((await g2.get(saleId))?.refunded).toBe(300);
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 200 });
    await time.advance(1_000);
    await g1.settle(r.attempt!.id, { status: 'voided' });
    await g1.settle(saleId, { status: 'voided' });
    await catchUp(setup);
    await expectVoidedOver(setup, 200);
  });
});
