/**
 * atk11: a damaged `shared-overs-due` value in `local` (OversDue.read: "a
 * damaged value is dropped"). Only its outer shape is checked (record.id a
 * string, known an array): an entry inside `known` that is no object, or a
 * record whose refunds are no list, reached overGrown / isOwnWrite, which
 * threw, and the catch-up of the sale it names failed on every retry; fixed
 * by checking every entry's shape in OversDue.read.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord } from '../../src/index.js';
import { OVERS_DUE } from '../../src/shared/overs-due.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, overReports } from '../helpers/lanes.js';

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

async function withDamaged(damage: (saleId: string) => unknown[]) {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1');
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_atk11_damaged' } });
  const saleId = s.attempt!.id;
  await g1.settle(saleId, { status: 'approved', authCode: '123456' });
  const durable = memoryStore();
  await durable.setMeta(OVERS_DUE, JSON.stringify(damage(saleId)));
  const store2 = sharedStore(db.remote('T2'), { local: durable });
  const g2 = await open(time.terminal(), 'T2', { store: store2 });
  await time.advance(1_000);
  await flush();
  expect((await g2.get(saleId))?.status).toBe('approved');
  db.disconnect('T2');
  await g2.settle(saleId, { status: 'refunded', amount: 700 });
  await time.advance(1_000);
  await g1.settle(saleId, { status: 'refunded', amount: 600 });
  await time.advance(1_000);
  db.reconnect('T2');
  await store2.sync().catch(() => undefined);
  for (let i = 0; i < 4; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect(store2.cutOff!()).toBe(false);
  expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
  for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
  expect(overReports(db, saleId)).toEqual(['T2:300']);
}

describe('atk11: a damaged shared-overs-due value', () => {
  it('a kept entry of another sale, well formed: ignored for this one (passes)', async () => {
    await withDamaged(() => [{ record: { id: 'pdg_other', kind: 'sale', status: 'refunded', refunds: [] }, known: [] }]);
  });

  it('an entry whose known lists null: dropped, the catch-up still sends the sale and reports 300', async () => {
    await withDamaged((saleId) => [{ record: { id: saleId, kind: 'sale', status: 'refunded', refunds: [] }, known: [null] }]);
  });

  it('an entry whose record lists its refunds as a string: dropped, the catch-up still sends the sale', async () => {
    await withDamaged((saleId) => [{ record: { id: saleId, kind: 'sale', status: 'approved', refunds: 'x' }, known: [] }]);
  });
});
