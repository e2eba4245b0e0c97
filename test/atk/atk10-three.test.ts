/**
 * atk10: three lanes, two cut off at different times, each mixing refunds
 * made outside the guard, refund attempts and reversals, then catching up
 * at once: the merges (keptRefunds, #reversedHere) and the recounts
 * (recountSent) race over one sale. The sum must end at what was really
 * paid back, the same on every lane, with a fitting refund allowed and one
 * more unit refused.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_three' };
let tokens = 0;
const refundOf = (saleId: string, amount: number) => ({
  amount,
  currency: 'CNY',
  card: { token: `tok_atk10_three_${++tokens}` },
  kind: 'refund' as const,
  refundOf: saleId,
});
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

async function threeLanes() {
  const { time, db, open } = lanes();
  const stores = ['T1', 'T2', 'T3'].map((id) => sharedStore(db.remote(id), { local: memoryStore() }));
  const guards: Guard[] = [];
  for (const [i, store] of stores.entries()) guards.push(await open(time.terminal(), `T${i + 1}`, { store }));
  const [g1] = guards as [Guard];
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  for (const g of guards) if ((await g.get(saleId))?.status !== 'approved') throw new Error('a lane did not hear of the sale');
  return { time, db, stores, guards, saleId };
}
type Lanes = Awaited<ReturnType<typeof threeLanes>>;

async function refund({ guards, time }: Lanes, lane: number, saleId: string, amount: number) {
  const g = guards[lane]!;
  const r = await g.begin(refundOf(saleId, amount));
  expect(codes(r)).not.toContain('REFUND_EXCEEDS_CHARGE');
  await g.settle(r.attempt!.id, { status: 'approved' });
  await time.advance(300);
  return r.attempt!.id;
}

async function bothBack(l: Lanes) {
  const { db, stores, time } = l;
  db.reconnect('T2');
  db.reconnect('T3');
  await Promise.all([stores[1]!.sync(), stores[2]!.sync()]);
  for (let i = 0; i < 4; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
}

async function expectRefunded(l: Lanes, sum: number, over = 0) {
  const [row] = await l.db.remote('observer').get('M1', [l.saleId]);
  expect([row!.record.refunded, overOf(row!.record)]).toEqual([sum, over]);
  for (const g of l.guards) {
    const seen = (await g.get(l.saleId))!;
    expect([seen.refunded, overOf(seen)]).toEqual([sum, over]);
  }
  if (sum < 1_000) expect(codes(await l.guards[0]!.peek(refundOf(l.saleId, 1_000 - sum)))).toEqual([]);
  expect(codes(await l.guards[0]!.peek(refundOf(l.saleId, 1_000 - sum + 1)))).toContain('REFUND_EXCEEDS_CHARGE');
}

describe('atk10: three lanes, two cut off at different times', () => {
  it('a 300 all knew reversed on T2 (cut off), T3 (cut off later) refunds 200 outside the guard, T1 an attempt of 100: 300 counted', async () => {
    const l = await threeLanes();
    const { db, guards, saleId, time } = l;
    const r = await refund(l, 0, saleId, 300);
    await flush();
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await guards[1]!.settle(r, { status: 'voided' });
    await time.advance(500);
    db.disconnect('T3');
    await guards[2]!.settle(saleId, { status: 'refunded', amount: 200 });
    await refund(l, 0, saleId, 100);
    await bothBack(l);
    await expectRefunded(l, 300);
  });

  it('the same 300 reversed on both cut-off lanes, each refunding 250 outside the guard: 500 counted', async () => {
    const l = await threeLanes();
    const { db, guards, saleId, time } = l;
    const r = await refund(l, 0, saleId, 300);
    await flush();
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await guards[1]!.settle(r, { status: 'voided' });
    await guards[1]!.settle(saleId, { status: 'refunded', amount: 250 });
    await time.advance(500);
    db.disconnect('T3');
    await guards[2]!.settle(r, { status: 'voided' });
    await guards[2]!.settle(saleId, { status: 'refunded', amount: 250 });
    await time.advance(500);
    await bothBack(l);
    await expectRefunded(l, 500);
  });

  it('T2 refunds 600 outside the guard then reverses an attempt; T3 reverses a 200 from T1 and refunds the rest outside: all counted once', async () => {
    const l = await threeLanes();
    const { db, guards, saleId, time } = l;
    const a = await refund(l, 0, saleId, 200);
    await flush();
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await guards[1]!.settle(saleId, { status: 'refunded', amount: 600 });
    const b = await refund(l, 1, saleId, 100);
    await guards[1]!.settle(b, { status: 'voided' });
    await time.advance(500);
    db.disconnect('T3');
    await guards[2]!.settle(a, { status: 'voided' });
    await guards[2]!.settle(saleId, { status: 'refunded' }); // the rest there: 1 000
    await time.advance(500);
    await bothBack(l);
    // Paid back: 600 (T2) + 1 000 (T3); a reversed on T3, b reversed on T2.
    await expectRefunded(l, 1_000, 600);
  });

  it('catch-ups one after the other, the second cut off again at once and back: the sum settles to both sides', async () => {
    const l = await threeLanes();
    const { db, guards, saleId, time, stores } = l;
    db.disconnect('T2');
    db.disconnect('T3');
    await guards[1]!.settle(saleId, { status: 'refunded', amount: 300 });
    await guards[2]!.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(500);
    db.reconnect('T3');
    await stores[2]!.sync();
    db.disconnect('T3');
    db.reconnect('T2');
    await stores[1]!.sync();
    await flush();
    await time.advance(3_000);
    db.reconnect('T3');
    await stores[2]!.sync();
    await bothBack(l);
    await expectRefunded(l, 700);
  });
});
