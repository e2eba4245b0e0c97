import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord } from '../../src/index.js';
import { OVERS_DUE, OversDue } from '../../src/shared/overs-due.js';
import { dyingLane, overReports } from '../helpers/lanes.js';

const sale = (refunds: { id: string; amount: number; over?: number }[]): AttemptRecord =>
  ({ id: 'a1', kind: 'sale', status: 'refunded', amount: 1_000, refunded: 1_000, refunds, updatedAt: 5 }) as unknown as AttemptRecord;

describe('OversDue: money to recover a merge found, kept until reported', () => {
  it('keeps nothing for a merge that finds no money to recover', async () => {
    const local = memoryStore();
    const due = new OversDue(local);
    await due.keep(sale([{ id: 'r1', amount: 300 }]), [sale([])]);
    expect(await local.getMeta(OVERS_DUE)).toBeUndefined();
    expect(due.baseline('a1')).toBeUndefined();
  });

  it('keeps the first merge’s baseline through a later merge of the same sale, and lets go once reported', async () => {
    const local = memoryStore();
    const due = new OversDue(local);
    const first = sale([
      { id: 'r1', amount: 700 },
      { id: 'r2', amount: 600, over: 300 },
    ]);
    await due.keep(first, [sale([{ id: 'r1', amount: 700 }])]);
    const second = sale([
      { id: 'r1', amount: 700 },
      { id: 'r2', amount: 600, over: 300 },
      { id: 'r3', amount: 10, over: 10 },
    ]);
    // Merged again over its own landed row, which lists r2's over: the baseline is still the first one's.
    await due.keep(second, [first]);
    expect(due.baseline('a1')?.refunds).toEqual([]);
    // Its own write landed, perhaps merged over since (every refund it lists is there): what it lists up to the
    // kept write's over is this till's to report; what another lane's merge added to a refund is known.
    const overOfEach = (r: AttemptRecord) => (r.refunds ?? []).map((e) => e.over ?? 0);
    const r1 = { id: 'r1', amount: 700 };
    const r3 = { id: 'r3', amount: 10, over: 10 };
    expect(overOfEach(due.asKnown(second))).toEqual([0, 0, 0]);
    expect(overOfEach(due.asKnown(sale([r1, { id: 'r2', amount: 600, over: 400 }, r3, { id: 'r4', amount: 50, over: 50 }])))).toEqual([
      0, 100, 0, 50,
    ]);
    // A row that does not list all of them was not written over it: known as it is.
    expect(overOfEach(due.asKnown(sale([r1, { id: 'r2', amount: 600, over: 300 }])))).toEqual([0, 300]);
    await due.reported(first); // an older write's report: the later merge is still to report
    expect(due.baseline('a1')).toBeDefined();
    await due.reported(second);
    expect(due.baseline('a1')).toBeUndefined();
    expect(JSON.parse((await local.getMeta(OVERS_DUE)) ?? 'null')).toEqual([]);
  });

  it('tells what an earlier run kept once, unless this catch-up sent that sale again', async () => {
    const saved = JSON.stringify([
      { record: sale([{ id: 'r2', amount: 600, over: 300 }]), known: [] },
      { record: { ...sale([]), id: 'a2' }, known: [] },
    ]);
    const due = new OversDue(memoryStore());
    due.read(saved);
    expect(due.earlier).toBe(true);
    expect(due.takeEarlier(new Set(['a2'])).map(({ record }) => record.id)).toEqual(['a1']);
    expect(due.earlier).toBe(false);
    expect(due.takeEarlier(new Set())).toEqual([]);
  });

  it('reads a damaged value as nothing kept (the sale itself still lists the over)', () => {
    const due = new OversDue(memoryStore());
    for (const saved of ['{', '"x"', '[null, 3, {"record": {}}]', undefined]) {
      due.read(saved);
      expect(due.earlier).toBe(false);
    }
  });
});

describe('a till killed after the catch-up uploaded a merged sale, before it reported the money to recover', () => {
  it('reports it once after the restart (the sale already left the outbox)', async () => {
    // Dies at the recount's claim: the upload landed and the outbox was let go of, the report not made.
    const lane = await dyingLane({ token: 'tok_overs_due' }, 1, 'claim');
    const { time, db, g1, g2, saleId } = lane;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    const g3 = await lane.restart();
    expect(lane.state.uploads).toBe(1);
    expect((await g3.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });
});
