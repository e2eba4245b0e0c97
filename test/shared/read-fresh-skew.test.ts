/**
 * Found by atk2's property test (held-times.properties.test.ts): a lane whose
 * clock was just set forward settles another lane's attempt it had not read
 * yet (`get`). The store hands the sale's createdAt over on the new clock;
 * GuardTime, which noticed the jump at the settle's first stamp, found that
 * wall time in no epoch's span, read it by today's gap into the old epoch,
 * and wrote it back by the old epoch's gap: createdAt moved by the jump on
 * every lane (twice over when the store's skew was still the old one).
 * GuardTime now pins such a stamp to the wall time it read (guard-time.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { LANES_START as START, lanes } from '../helpers/lanes.js';

async function settledElsewhere(before: number, after: number): Promise<number> {
  const { time, db, open } = lanes();
  const t1 = time.terminal();
  const t2 = time.terminal();
  const g1 = await open(t1, 'T1');
  const g2 = await open(t2, 'T2');
  await time.advance(before);
  const d = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_fresh' } });
  await time.advance(after);
  t2.jump(2_000); // lane 2's clock set 2 s forward
  await g2.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
  return row!.record.createdAt + row!.skew - START;
}

describe("a lane set forward settles another lane's attempt", () => {
  it('begun 100 ms after start, the jump at once: createdAt stays', async () => {
    expect(await settledElsewhere(100, 0)).toBe(100);
  });

  it('begun at start, the jump 100 ms later: createdAt stays', async () => {
    expect(await settledElsewhere(0, 100)).toBe(0);
  });
});
