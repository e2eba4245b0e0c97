/**
 * atk10: refunds made outside the guard with no amount ("the rest") on both
 * sides of a cut-off, and double-tapped: the merge (keptRefunds /
 * withRefundsOf) must stop the sum at the sale, list each refund once, and
 * report the money to recover once, on all lanes together.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_rest' };
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);
const listedSum = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + r.amount, 0);

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

async function settleDown({ time }: Lanes) {
  for (let i = 0; i < 3; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
}

async function rowOf({ db }: Lanes, saleId: string) {
  const [row] = await db.remote('observer').get('M1', [saleId]);
  return row!.record;
}

function overJournal({ db }: Lanes, saleId: string) {
  return db
    .journal('M1')
    .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
    .map(({ entry }) => entry.amount ?? 0);
}

async function expectAll(l: Lanes, refunded: number, over: number, listed: number) {
  const row = await rowOf(l, l.saleId);
  expect([row.refunded, overOf(row), listedSum(row), row.status]).toEqual([
    refunded,
    over,
    listed,
    refunded >= 1_000 ? 'refunded' : 'approved',
  ]);
  for (const g of l.guards) {
    const seen = (await g.get(l.saleId))!;
    expect([seen.refunded, overOf(seen)]).toEqual([refunded, over]);
  }
  const journaled = overJournal(l, l.saleId);
  expect(journaled.reduce((a, b) => a + b, 0)).toBe(over);
}

describe('atk10: "the rest" refunded outside the guard across a cut-off', () => {
  it('the rest on both lanes (T2 cut off first): refunded 1 000, 1 000 over, reported once', async () => {
    const l = await threeLanes();
    const { db, stores, guards, saleId, time } = l;
    db.disconnect('T2');
    await guards[1]!.settle(saleId, { status: 'refunded' });
    await time.advance(1_000);
    await guards[0]!.settle(saleId, { status: 'refunded' });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    await expectAll(l, 1_000, 1_000, 2_000);
    expect((await rowOf(l, saleId)).refunds).toHaveLength(2);
  });

  it('the rest on both lanes after a partial 300 both knew: refunded 1 000, 700 over', async () => {
    const l = await threeLanes();
    const { db, stores, guards, saleId, time } = l;
    await guards[2]!.settle(saleId, { status: 'refunded', amount: 300 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await guards[0]!.settle(saleId, { status: 'refunded' });
    await time.advance(1_000);
    await guards[1]!.settle(saleId, { status: 'refunded' });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    await expectAll(l, 1_000, 700, 1_700);
  });

  it('two lanes cut off, each the rest, a third an attempt of 200; catch-ups at once: 1 000 counted, 1 200 over, each over reported once (not the 200 twice)', async () => {
    const l = await threeLanes();
    const { db, stores, guards, saleId, time } = l;
    db.disconnect('T2');
    await time.advance(500);
    db.disconnect('T3');
    await guards[1]!.settle(saleId, { status: 'refunded' });
    await time.advance(500);
    await guards[2]!.settle(saleId, { status: 'refunded' });
    const r = await guards[0]!.begin(refundOf(saleId, 200, 'tok_atk10_rest_r'));
    expect(r.verdict).toBe('allow');
    await guards[0]!.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    db.reconnect('T3');
    await Promise.all([stores[1]!.sync(), stores[2]!.sync()]);
    await settleDown(l);
    await expectAll(l, 1_000, 1_200, 2_200);
    expect(codes(await guards[0]!.peek(refundOf(saleId, 1, 'tok_atk10_rest_past')))).not.toEqual([]);
  });

  it('double tap of an external 400 on the cut-off lane and a 400 on the connected one: 1 000 counted, 200 over', async () => {
    const l = await threeLanes();
    const { db, stores, guards, saleId, time } = l;
    db.disconnect('T2');
    await guards[1]!.settle(saleId, { status: 'refunded', amount: 400 });
    await guards[1]!.settle(saleId, { status: 'refunded', amount: 400 });
    await guards[0]!.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await stores[1]!.sync();
    await settleDown(l);
    await expectAll(l, 1_000, 200, 1_200);
  });

  it('a 500 both knew reversed on the connected lane (then 600 more there) while the cut-off lane refunds the rest: 100 over, reported as 100, not 600', async () => {
    const l = await threeLanes();
    const { db, stores, guards, saleId, time } = l;
    const r = await guards[0]!.begin(refundOf(saleId, 500, 'tok_atk10_rest_r5'));
    await guards[0]!.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await guards[1]!.settle(saleId, { status: 'refunded' }); // the rest: 500
    await time.advance(1_000);
    await guards[0]!.settle(r.attempt!.id, { status: 'voided' });
    await guards[0]!.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    db.reconnect('T2');
    await stores[1]!.sync();
    await settleDown(l);
    await expectAll(l, 1_000, 100, 1_100);
  });
});
