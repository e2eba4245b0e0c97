/**
 * atk9: over-refunds made across a cut-off (two refunds approved on both
 * sides, together more than the sale), counted again by the catch-up's
 * recount (recountSent / recounted in src/guard/settle.ts): the sum stops at
 * the sale, the excess listed once as `over`, reported once (journal and
 * settle event) on all lanes together, whatever the number of lanes, of
 * catch-ups, or of reconnections; and a reversal afterwards frees the room.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_over' };
async function threeLanes() {
  const { time, db, open } = lanes();
  const stores = ['T1', 'T2', 'T3'].map((id) => sharedStore(db.remote(id), { local: memoryStore() }));
  const guards: Guard[] = [];
  for (const [i, store] of stores.entries()) guards.push(await open(time.terminal(), `T${i + 1}`, { store }));
  const events: { lane: number; record: AttemptRecord }[] = [];
  guards.forEach((g, lane) => g.on('settle', (e) => void events.push({ lane, record: (e as { record: AttemptRecord }).record })));
  const [g1] = guards as [Guard];
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  for (const g of guards) if ((await g.get(saleId))?.status !== 'approved') throw new Error('a lane did not hear of the sale');
  events.length = 0;
  return { time, db, stores, guards, events, saleId };
}

type Lanes = Awaited<ReturnType<typeof threeLanes>>;

async function refund({ guards, time }: Lanes, lane: number, saleId: string, amount: number) {
  const g = guards[lane]!;
  const r = await g.begin(refundOf(saleId, amount, `tok_atk9_over_${lane}_${amount}`));
  expect(r.verdict).toBe('allow');
  await g.settle(r.attempt!.id, { status: 'approved' });
  await time.advance(500);
  return r.attempt!.id;
}

async function settleDown({ time }: Lanes) {
  await flush();
  await time.advance(5_000);
  await flush();
  await time.advance(5_000);
  await flush();
}

/** The over-refund journal entries of the sale on every lane, and the settle events that list an over. */
function overReports({ db, events }: Lanes, saleId: string) {
  const emitted = events.filter(({ record }) => record.id === saleId && overOf(record) > 0);
  expect(emitted).toHaveLength(1);
  const journaled = db
    .journal('M1')
    .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
    .map(({ entry }) => `${entry.detail}:${entry.amount}`);
  return journaled.sort();
}

async function rowOf({ db }: Lanes, saleId: string) {
  const [row] = await db.remote('observer').get('M1', [saleId]);
  return row!.record;
}

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

describe('atk9: over-refunds across a cut-off', () => {
  it('one lane cut off, 700 there and 600 on a connected lane: refunded 1 000, 300 over, reported once', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, guards } = l;
    db.disconnect('T2');
    const r2 = await refund(l, 1, saleId, 700);
    const r1 = await refund(l, 0, saleId, 600);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([1_000, 300, 2]);
    for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(l, saleId)).toHaveLength(1);
    expect([r1, r2]).toContain(overReports(l, saleId)[0]!.split(':')[0]!.replace('over-refund by ', ''));
  });

  it('the cut-off lane reconnecting twice (a second cut-off with a sale between): the over reported once', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, guards, time } = l;
    db.disconnect('T2');
    await refund(l, 1, saleId, 700);
    await refund(l, 0, saleId, 600);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    db.disconnect('T2');
    const other = await guards[1]!.begin({ amount: 50, currency: 'CNY', card: { token: 'tok_atk9_over_other' } });
    await guards[1]!.settle(other.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await stores[1]!.sync();
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row)]).toEqual([1_000, 300]);
    expect(overReports(l, saleId)).toHaveLength(1);
  });

  it('two lanes cut off at once, each refunding, both catching up at once: refunded 1 000, over 300, reported once', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, guards } = l;
    db.disconnect('T2');
    db.disconnect('T3');
    await refund(l, 1, saleId, 700);
    await refund(l, 2, saleId, 600);
    db.reconnect('T2');
    db.reconnect('T3');
    await Promise.all([stores[1]!.sync(), stores[2]!.sync()]);
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([1_000, 300, 2]);
    for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(l, saleId)).toHaveLength(1);
  });

  it('three lanes each refunding 500, two of them cut off: refunded 1 000, over 500 in all, reported once per over-refund', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, guards } = l;
    db.disconnect('T2');
    db.disconnect('T3');
    await refund(l, 1, saleId, 500);
    await refund(l, 2, saleId, 500);
    await refund(l, 0, saleId, 500);
    db.reconnect('T3');
    db.reconnect('T2');
    await Promise.all([stores[2]!.sync(), stores[1]!.sync()]);
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([1_000, 500, 3]);
    for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(l, saleId)).toHaveLength(1);
  });

  it('lanes cut off in turn (T2 then T1), each refunding while cut off: refunded 1 000, over 300, reported once', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, time } = l;
    db.disconnect('T2');
    await refund(l, 1, saleId, 700);
    db.disconnect('T1');
    await refund(l, 0, saleId, 600);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    await time.advance(1_000);
    db.reconnect('T1');
    await stores[0]!.sync();
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([1_000, 300, 2]);
    expect(overReports(l, saleId)).toHaveLength(1);
  });

  for (const which of ['the counted one', 'the over one'] as const) {
    it(`then ${which} reversed on its lane: the other counted in full, nothing over`, async () => {
      const l = await threeLanes();
      const { db, stores, saleId, guards } = l;
      db.disconnect('T2');
      const r2 = await refund(l, 1, saleId, 700);
      const r1 = await refund(l, 0, saleId, 600);
      db.reconnect('T2');
      await stores[1]!.sync();
      await settleDown(l);
      const before = await rowOf(l, saleId);
      const overId = before.refunds!.find((r) => (r as { over?: number }).over)!.id;
      const reversed = which === 'the over one' ? overId : overId === r1 ? r2 : r1;
      const lane = reversed === r1 ? 0 : 1;
      await guards[lane]!.settle(reversed, { status: 'voided' });
      await settleDown(l);
      const row = await rowOf(l, saleId);
      const kept = reversed === r1 ? 700 : 600;
      expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([kept, 0, 1]);
      for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(kept);
    });
  }

  it('the over one reversed on the cut-off lane while cut off a second time: the other counted in full after the catch-up', async () => {
    const l = await threeLanes();
    const { db, stores, saleId, guards, time } = l;
    db.disconnect('T2');
    const r2 = await refund(l, 1, saleId, 700);
    await refund(l, 0, saleId, 600);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    db.disconnect('T2');
    await guards[1]!.settle(r2, { status: 'voided' });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    const row = await rowOf(l, saleId);
    expect([row.refunded, overOf(row), row.refunds?.length]).toEqual([600, 0, 1]);
    for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(600);
  });
});
