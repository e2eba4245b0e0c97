/**
 * Found by atk4: GuardTime's bound on pins (PIN_LIMIT, 6411ddf) drops the
 * pins of an attempt the guard still holds, and its times are written back
 * to the shared database moved by a night.
 *
 * With a shared store (timesOnOwnerClock) every time from another lane that
 * falls before the current epoch's start is pinned when read, half a
 * millisecond off (#fromOutside): after a sleep, every time stamped before
 * the wake. Past 20 000 the oldest pins go, oldest by when they were pinned,
 * whatever still holds them. Lane 2's charge turns unknown during lane 1's
 * first night; lane 1 reads it on waking (UNKNOWN_OUTCOME: pinned) and holds
 * it all day. During the second night the other lanes write 11 000 attempts
 * (a sale every 2.6 s across a 24-hour merchant's lanes): read by the
 * catch-up on waking, their times pin 22 000 times, and the unknown's pins,
 * the oldest, go. Its guard times then read by the epoch before the first
 * sleep: 8 h early and half a millisecond off. Lane 1 settles it approved
 * (the cashier saw the processor's answer), and the row's createdAt and
 * pendingSince reach the database, and every lane, moved 8 h earlier.
 * (A recover lease, which keeps updatedAt too, would move that as well.)
 *
 * Expected (the HeldTimes property): createdAt never moves on the database's
 * clock. Fixed: past the bound GuardTime sweeps the pins no record the guard
 * holds uses (the guard marks them), not the oldest.
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import { flush, lanes, sleepy } from '../helpers/lanes.js';
import { sampleRecord } from '../helpers/records.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('pins past the bound', () => {
  it("a held unknown of another lane keeps its createdAt after a night's catch-up pinned 22 000 times", async () => {
    const lane1: { sleepy?: ReturnType<typeof sleepy> } = {};
    const remote = (inner: Remote, id: string): Remote =>
      id !== 'T1'
        ? inner
        : new Proxy(inner, {
            get: (target, name, receiver) =>
              name === 'noticed'
                ? async (...args: Parameters<Remote['noticed']>) => (lane1.sleepy?.asleep() ? [] : target.noticed(...args))
                : (Reflect.get(target, name, receiver) as unknown),
          });
    const { time, db, open } = lanes({ remote });
    const t1 = sleepy(time, time.terminal());
    lane1.sleepy = t1;
    const g1 = await open(t1.terminal, 'T1');
    const g2 = await open(time.terminal(), 'T2');
    await g1.begin({ amount: 5, currency: 'CNY', card: { token: 'tok_own' } });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_held_unknown' } };
    t1.sleep(); // the first night
    await time.advance(8 * HOUR);
    const s = await g2.begin(sale);
    await g2.settle(s.attempt!.id, { status: 'unknown' });
    const [stored] = await db.remote('observer').get('M1', [s.attempt!.id]);
    const createdAt = stored!.record.createdAt + stored!.skew;
    await time.advance(MINUTE);
    t1.wake();
    await time.advance(10);
    expect((await g1.begin(sale)).reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME'); // read, and pinned
    await time.advance(8 * HOUR);
    t1.sleep(); // the second night: the other lanes' attempts, written straight to the database
    const writer = db.remote('T2');
    for (let i = 0; i < 11_000; i++) {
      await time.advance(2);
      const at = time.now();
      const record = sampleRecord(`pdg_night_${i}`, {
        merchantId: 'M1',
        status: 'declined',
        createdAt: at - 1,
        updatedAt: at,
        pendingSince: at - 1,
      });
      await writer.put('M1', { record, skew: 0, keys: [], notice: 'with-write' });
    }
    await time.advance(8 * HOUR);
    t1.wake();
    await time.advance(10);
    db.disconnect('T1'); // the connection a night's sleep killed, back: the catch-up reads the night
    db.reconnect('T1');
    await flush();
    await flush();
    await time.advance(10);
    await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
    const [row] = await db.remote('observer').get('M1', [s.attempt!.id]);
    expect(row!.record.createdAt + row!.skew).toBe(createdAt); // was 8 h (less 5 s) earlier, and .5 ms off
  }, 60_000);
});
