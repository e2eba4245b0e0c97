/**
 * atk9: the catch-up's refund recount (recountSent in src/guard/settle.ts)
 * racing other work on the same sale: the other lane reversing the refund
 * the recount is about to add, the cut-off lane reversing its own, and
 * guard.close() (then a new guard over the same store, as after a restart
 * of the app) while the recount is under way.
 */
import { describe, expect, it } from 'vitest';
import { GuardError, memoryStore, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { approvedOnTwoLanes, codes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_race' };
type Setup = Awaited<ReturnType<typeof approvedOnTwoLanes>>;

/** Cut off, a refund of 300 on lane 1, then one of 600 on lane 2 (its row the later one). */
async function bothSides(setup: Setup) {
  const { time, db, g1, g2, saleId } = setup;
  db.disconnect('T2');
  const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_race_r1'));
  await g1.settle(r1.attempt!.id, { status: 'approved' });
  await time.advance(1_000);
  const r2 = await g2.begin(refundOf(saleId, 600, 'tok_atk9_race_r2'));
  expect(r2.verdict).toBe('allow');
  await g2.settle(r2.attempt!.id, { status: 'approved' });
  await time.advance(1_000);
  db.reconnect('T2');
  return { r1: r1.attempt!.id, r2: r2.attempt!.id };
}

async function settled(ps: Promise<unknown>[]) {
  const results = await Promise.allSettled(ps);
  for (const r of results) if (r.status === 'rejected') expect(r.reason, String(r.reason)).toBeInstanceOf(GuardError);
  return results;
}

async function expectRefunded({ db, time, saleId }: Setup, guards: Guard[], sum: number) {
  await flush();
  await time.advance(5_000);
  await flush();
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect(row!.record.refunded).toBe(sum);
  for (const g of guards) {
    expect((await g.get(saleId))?.refunded).toBe(sum);
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum, 'tok_atk9_race_fit')))).toEqual([]);
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum + 1, 'tok_atk9_race_past')))).toEqual(['REFUND_EXCEEDS_CHARGE']);
  }
}

/** approvedOnTwoLanes, lane 2's `local` kept: `reopen()` is a new store and guard over it, after close(). */
async function reopenable() {
  const durable = memoryStore();
  const setup = await approvedOnTwoLanes(card, (remote) => remote);
  const { db, open, time } = setup;
  // Lane 2 again, over a `local` this test keeps.
  await setup.g2.close();
  const store2 = sharedStore(db.remote('T2'), { local: durable });
  const g2 = await open(time.terminal(), 'T2', { store: store2 });
  await flush();
  const reopen = async () => {
    const store = sharedStore(db.remote('T2'), { local: durable });
    const g = await open(time.terminal(), 'T2', { store });
    await store.sync();
    return g;
  };
  return { ...setup, g2, store2, reopen };
}

describe('atk9: the recount racing other work on the sale', () => {
  it('lane 1 reverses its refund while lane 2 catches up and recounts: only lane 2 refund counts', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { g1, g2, store2 } = setup;
    const { r1 } = await bothSides(setup);
    await settled([store2.sync(), setup.g1.settle(r1, { status: 'voided' })]);
    await expectRefunded(setup, [g1, g2], 600);
  });

  it('lane 2 reverses its own refund right as it catches up: only lane 1 refund counts', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { g1, g2, store2 } = setup;
    const { r2 } = await bothSides(setup);
    await settled([store2.sync(), g2.settle(r2, { status: 'voided' })]);
    await expectRefunded(setup, [g1, g2], 300);
  });

  it('both lanes reverse their refunds while lane 2 catches up: nothing refunded', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { g1, g2, store2 } = setup;
    const { r1, r2 } = await bothSides(setup);
    await settled([store2.sync(), g1.settle(r1, { status: 'voided' }), g2.settle(r2, { status: 'voided' })]);
    await expectRefunded(setup, [g1, g2], 0);
  });

  it('lane 2 closed as it catches up, a new guard opened over its store: both refunds count', async () => {
    const setup = await reopenable();
    const { g1, g2, store2, reopen } = setup;
    await bothSides(setup);
    await settled([store2.sync(), g2.close()]);
    const g2b = await reopen();
    await expectRefunded(setup, [g1, g2b], 900);
  });

  it('lane 2 closed as it catches up after reversing a refund the kept row lists, reopened: the reversal counts', async () => {
    const setup = await reopenable();
    const { time, db, g1, g2, store2, reopen, saleId } = setup;
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_race_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_race_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await settled([store2.sync(), g2.close()]);
    const g2b = await reopen();
    await expectRefunded(setup, [g1, g2b], 300);
  });
});
