/**
 * Found by atk4: a lane restarted while cut off holds its sales from its
 * `local` copy, and the version order of HeldTimes (e045f81) knows nothing of
 * them: a void from a lane 900 ms behind is dropped once it is back.
 *
 * HeldTimes hands a newer version an `updatedAt` no earlier than the newest
 * one it handed the guard or wrote for it (`#latest`), so that a settle from a
 * clock under a second behind (not moved: SAME_CLOCK_MS) is not taken for an
 * older version by the guard, which keeps the later `updatedAt`. But `#latest`
 * lives in memory. A lane whose process restarts while the database cannot be
 * reached loads its sales from `local` (the mirror of what it wrote); the
 * store never read their rows, so `#latest` is empty. Another lane, 900 ms
 * behind, voids one of them meanwhile, stamped 600 ms before the approval by
 * its clock. Back online, the catch-up hands the void with its own
 * `updatedAt`, the guard keeps the approval it loaded as the later version,
 * and the re-charge of the voided sale is prompted as DUPLICATE_CHARGE.
 *
 * Expected: the re-charge is allowed (as it is without the restart, and with
 * the void stamped a second later). A row read from the database once the
 * catch-up sent the outbox is never older than the copy `local` holds of it.
 *
 * The same gap let a lane that ran fast, restarted while cut off and set
 * right meanwhile, move its own sale on the database: its copy's times are on
 * the fast clock, the row read back (on the clock as it is now) looked older
 * and was dropped, and the next write of the sale (a partial refund) wrote the
 * copy's createdAt and approvedAt as times of the corrected clock: 40 s or
 * 10 minutes later than they were, on every lane.
 *
 * Fixed: the store tells HeldTimes of each record it hands over from `local`
 * while cut off (none of the outbox: those are newer than the database's),
 * and the first version read of it has an updatedAt no earlier than the
 * copy's, so the guard takes it, with its times as read and paired with
 * their database times.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

describe('a lane restarted while cut off', () => {
  it('a void on the lane 900 ms behind, made while it was away, reaches it once back: its re-charge goes through', async () => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    t2.jump(-900); // one clock, as far as skews go (under a second): its times are not moved
    const local = memoryStore();
    const g1 = await open(t1, 'T1', { store: sharedStore(db.remote('T1'), { local }) });
    const g2 = await open(t2, 'T2');
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_restart_900' } };
    const d = await g1.begin(sale);
    await time.advance(200);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(100);
    await flush();
    // Lane 1 loses the database and restarts: it holds the approval from `local`.
    db.disconnect('T1');
    await g1.close();
    t1.restart();
    const store = sharedStore(db.remote('T1'), { local });
    const restarted = await open(t1, 'T1', { store });
    // The manager voids it on lane 2, stamped 600 ms before the approval by lane 2's clock.
    await g2.settle(d.attempt!.id, { status: 'voided' });
    await time.advance(100);
    db.reconnect('T1');
    await store.sync();
    await flush();
    const again = await restarted.begin(sale);
    expect(again.reasons.map((r) => r.code)).toEqual([]); // actual: ['DUPLICATE_CHARGE']
    expect(again.verdict).toBe('allow');
  });

  it.for([40_000, 600_000])(
    'a lane %i ms fast, set right while it was away: a partial refund keeps its sale where it was on the database',
    async (fast) => {
      const { time, db, open } = lanes();
      const t1 = time.terminal();
      t1.jump(fast);
      const local = memoryStore();
      const g1 = await open(t1, 'T1', { store: sharedStore(db.remote('T1'), { local }) });
      const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_restart_fast' } };
      const d = await g1.begin(sale);
      await time.advance(200);
      await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
      const [before] = await db.remote('observer').get('M1', [d.attempt!.id]);
      await time.advance(100);
      await flush();
      db.disconnect('T1');
      await g1.close();
      t1.restart();
      t1.jump(-fast); // NTP sets it right while the lane is away
      const store = sharedStore(db.remote('T1'), { local });
      const restarted = await open(t1, 'T1', { store });
      await time.advance(1_000);
      db.reconnect('T1');
      await store.sync();
      await flush();
      await restarted.settle(d.attempt!.id, { status: 'refunded', amount: 100 });
      const [after] = await db.remote('observer').get('M1', [d.attempt!.id]);
      const onDatabase = (row: typeof before) => [row!.record.createdAt + row!.skew, row!.record.approvedAt! + row!.skew];
      expect(onDatabase(after)).toEqual(onDatabase(before)); // actual: both `fast` later
    },
  );
});
