/**
 * A read that answers an older version than the one this lane just wrote
 * (a `get` in flight while a settle's write lands: reads are not queued behind
 * writes) must not make HeldTimes forget the database times of the version
 * the guard holds: after a correction of the clock, the next version written
 * (a recover lease keeps `updatedAt`) moved the unknown 40 s into the future
 * for every other lane, which then dropped the processor's approval as older.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type RecoverAnswer } from '../../src/index.js';
import { sharedVirtualTime, type TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import type { Remote, SharedRow } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';

const START = Date.parse('2026-04-02T01:30:00Z');
const secret = 'atk2-stale-read-secret-0123456789ab';
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('HeldTimes and a read answered with an older version', () => {
  it("a fast lane set right after a stale read: another lane still learns the processor's approval", async () => {
    const time = sharedVirtualTime(START);
    const db = sharedMemoryDatabase(() => time.now());
    let hold = false;
    let held: (() => void) | undefined;
    const slowGet = (remote: Remote): Remote => ({
      ...remote,
      // Read at the database now, answered when `held` is called.
      get: (merchantId, ids) => {
        const done = remote.get(merchantId, ids);
        if (!hold) return done;
        hold = false;
        return new Promise<readonly SharedRow[]>((resolve) => (held = () => void done.then(resolve)));
      },
    });
    const stores = { T1: sharedStore(slowGet(db.remote('T1')), { local: memoryStore() }) };
    const open = (t: TerminalTime, id: 'T1' | 'T2', recover?: () => Promise<RecoverAnswer>) =>
      createGuard({
        merchantId: 'M1',
        terminalId: id,
        secret,
        store: id === 'T1' ? stores.T1 : sharedStore(db.remote(id), { local: memoryStore() }),
        clock: t.clock,
        scheduler: t.scheduler,
        recoverAfter: '5s',
        ...(recover ? { recover } : {}),
      });
    const t1 = time.terminal();
    const t2 = time.terminal();
    let answer: (a: RecoverAnswer) => void = () => undefined;
    const g1 = await open(t1, 'T1', () => new Promise<RecoverAnswer>((resolve) => (answer = resolve)));
    const g2 = await open(t2, 'T2');
    const sale = { amount: 3_800, currency: 'CNY', card: { token: 'tok_stale' } };
    const d = await g1.begin(sale);
    const id = d.attempt!.id;
    await time.advance(1_000);
    hold = true;
    const reading = stores.T1.get!(id); // reads the pending at the database…
    await flush();
    await g1.settle(id, { status: 'unknown' }); // …the unknown lands…
    held?.(); // …and the read answers the pending after it
    expect((await reading)?.status).toBe('pending');
    t1.jump(-40_000); // lane 1 ran 40 s fast: NTP sets it right
    await time.advance(6_000); // the inquiry's lease is written
    const [row] = await db.remote('T2').get('M1', [id]);
    expect(row!.record.updatedAt + row!.skew).toBe(START + 1_000); // the unknown's time on the database's clock
    answer({ status: 'approved', authCode: '123456' });
    await flush();
    await time.advance(1_000);
    expect((await g2.begin(sale)).reasons.map((x) => x.code)).toContain('DUPLICATE_CHARGE');
  });
});
