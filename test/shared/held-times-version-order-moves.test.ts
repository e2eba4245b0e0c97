/**
 * Found by atk4: the updatedAt HeldTimes moves a newer version to (e045f81)
 * is a time the guard already holds for another database time, and the next
 * write of the attempt sends that one to the moved version's: the sale's
 * approvedAt moves on the database.
 *
 * `#inVersionOrder` hands a newer version whose updatedAt reads earlier than
 * the newest one handed an updatedAt equal to that one's (`latest.updatedAt`,
 * L), and pairs L with the new version's database time, first in the pairs.
 * But L is the updatedAt of the version before, and often another time of
 * the attempt as well: the approval's updatedAt is its approvedAt. The pairs map one
 * held time to one database time, the first found: written back, approvedAt
 * L goes to the database as the newer version's updatedAt.
 *
 * Lane 2 refunds part of a sale lane 1 approved, stamped earlier than the
 * approval by lane 1's clock: lane 1 ran 500 ms fast (one clock, not moved),
 * or ran an hour fast and was set right after the approval (its approval is
 * held on the clock it was stamped by). Lane 1 then refunds another part:
 * approvedAt reaches the database 200 ms or 61 s later than it was. Later,
 * not earlier (the newer version was written after), so windows run longer,
 * never shorter. (A reservation's createdAt, also L, keeps its own: a read of
 * the same version lists createdAt's pair before updatedAt's, and the first
 * found wins; approvedAt's comes after, and loses.)
 *
 * Expected (the HeldTimes property): createdAt and approvedAt never move on
 * the database's clock. Fixed: the moved updatedAt is a held time no other
 * time of the attempt holds for another database time (a millisecond on,
 * for a newer version; back, for an older one).
 */
import { describe, expect, it } from 'vitest';
import { flush, lanes } from '../helpers/lanes.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

async function approvedAtMoves(fast: number, setRight: boolean): Promise<number> {
  const { time, db, open } = lanes();
  const t1 = time.terminal();
  t1.jump(fast);
  const g1 = await open(t1, 'T1');
  const g2 = await open(time.terminal(), 'T2');
  const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_moved_updated' } };
  const d = await g1.begin(sale);
  await time.advance(200);
  await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  const [before] = await db.remote('observer').get('M1', [d.attempt!.id]);
  await time.advance(setRight ? MINUTE : 100);
  if (setRight) t1.jump(-fast); // NTP sets lane 1 right
  await time.advance(setRight ? 1_000 : 100);
  await g1.peek({ ...sale, amount: 3 });
  await g2.settle(d.attempt!.id, { status: 'refunded', amount: 100 });
  await time.advance(100);
  await flush();
  await g1.settle(d.attempt!.id, { status: 'refunded', amount: 100 });
  const [after] = await db.remote('observer').get('M1', [d.attempt!.id]);
  expect(after!.record.refunded).toBe(200);
  return after!.record.approvedAt! + after!.skew - (before!.record.approvedAt! + before!.skew);
}

describe("a newer version moved to the newest one's updatedAt", () => {
  it('lane 1 500 ms fast: its second partial refund keeps the approval where it was on the database', async () => {
    expect(await approvedAtMoves(500, false)).toBe(0); // actual: 200
  });

  it('lane 1 an hour fast, set right after the approval: its second partial refund keeps the approval where it was', async () => {
    expect(await approvedAtMoves(HOUR, true)).toBe(0); // actual: 61 000
  });
});
