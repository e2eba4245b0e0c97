/**
 * atk5: records written while cut off, then the writer's wall clock is
 * stepped BEFORE it reconnects.
 *
 * Mechanism (src/shared/store.ts): while cut off, `claim`/`put` write the
 * record to `local` as the guard stamped it (wall times of the clock as it
 * was then) and put its id in the outbox; nothing pairs those times with a
 * database time (HeldTimes never sees them, #freshSkew returns early while
 * `#down`). On reconnect, `#reconnect` first re-measures `#skew` (now the
 * skew of the stepped clock) and `#sendOutbox` uploads each kept record
 * through `#write(record)`, i.e. with `skew: this.#skew` and times as held:
 * `HeldTimes.write` finds no pair and uses `held + skew`. So every time
 * stamped before the step lands on the database's clock off by the step.
 * (A record whose claim was tried before the store knew it was cut off is
 * paired in HeldTimes with the old skew, which saves it, but only within
 * the process: a till rebooted before the database is back, its clock set
 * right by NTP at boot, the commonest case, loses those pairs too.)
 *
 * - clock set right forward (it was slow): the approval made while cut off
 *   lands `step` ms older on every other lane: a second charge of it on
 *   another lane, a few seconds later, is outside the DUPLICATE_CHARGE
 *   window and allowed (money-moving), and the catch-up's conflict check
 *   (conflictsOf, same shifted times) misses another lane's approval.
 * - a pending made while cut off lands `step` ms older: another lane sees
 *   UNKNOWN_OUTCOME (overridable) instead of IN_FLIGHT for a charge that is
 *   still on its way; set back, it is held IN_FLIGHT for `step` longer.
 *
 * Fixed: the outbox keeps, with each id, the skew its record was stamped
 * with when that was known (the wall clock had not moved since the skew was
 * measured), in `local` too, and the catch-up sends it with that skew.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type GuardEvent } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

const MIN = 60_000;
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

async function setup(initialOffset: number) {
  const { time, db, open } = lanes();
  const t1 = time.terminal();
  const t2 = time.terminal();
  t2.jump(initialOffset);
  const g1 = await open(t1, 'T1');
  const store2 = sharedStore(db.remote('T2'), { local: memoryStore() });
  const g2 = await open(t2, 'T2', { store: store2 });
  const events: GuardEvent[] = [];
  g2.on('conflict', (e) => events.push(e));
  return { time, db, t1, t2, g1, g2, store2, events };
}

describe('atk5: written while cut off, clock stepped before the catch-up', () => {
  it('approval made cut off on a lane 10 min slow, set right before reconnecting: the same sale on another lane 5 s later is still a DUPLICATE_CHARGE', async () => {
    const { time, db, t2, g1, g2, store2 } = await setup(-10 * MIN);
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_step_fwd' } };
    db.disconnect('T2');
    const d = await g2.begin(sale);
    expect(d.verdict).toBe('allow');
    await time.advance(3_000); // the customer taps the card
    await g2.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(1_000);
    t2.jump(10 * MIN); // NTP sets the slow clock right while the lane is still cut off
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(3_000);
    const again = await g1.begin(sale);
    expect(codes(again)).toContain('DUPLICATE_CHARGE'); // actual: [] (allow: a second charge)
    expect(again.verdict).not.toBe('allow');
    // Why: on the database's clock the approval, 5 s old, is stored 10 min older.
    const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(time.now() - (row!.record.approvedAt! + row!.skew)).toBeLessThan(10_000);
  });

  it('approvals on both lanes while one is cut off and its clock is set right forward by 10 min: the catch-up still reports the double charge', async () => {
    const { time, db, t2, g1, g2, store2, events } = await setup(-10 * MIN);
    const sale = { amount: 2_000, currency: 'CNY', card: { token: 'tok_atk5_step_conflict' } };
    db.disconnect('T2');
    const d2 = await g2.begin(sale);
    await time.advance(3_000);
    await g2.settle(d2.attempt!.id, { status: 'approved', authCode: '111111' });
    await time.advance(2_000);
    const d1 = await g1.begin(sale);
    expect(d1.verdict).toBe('allow');
    await g1.settle(d1.attempt!.id, { status: 'approved', authCode: '222222' });
    await time.advance(1_000);
    t2.jump(10 * MIN);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    expect(events).toEqual([{ type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: [d2.attempt!.id, d1.attempt!.id] }]);
  });

  it('a pending begun cut off, clock set right forward by 3 min before reconnecting: another lane 10 s later sees IN_FLIGHT, not UNKNOWN_OUTCOME', async () => {
    const { time, db, t2, g1, g2, store2 } = await setup(-3 * MIN);
    const sale = { amount: 3_000, currency: 'CNY', card: { token: 'tok_atk5_step_pending' } };
    db.disconnect('T2');
    await g2.peek({ ...sale, amount: 1 }); // an earlier call found the database unreachable
    await g2.begin({ ...sale, amount: 2 });
    await time.advance(500);
    const d = await g2.begin(sale);
    expect(d.verdict).toBe('allow');
    await time.advance(1_000);
    t2.jump(3 * MIN);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(9_000);
    const other = await g1.begin(sale);
    expect(codes(other)).toEqual(['IN_FLIGHT']);
  });

  it('a pending begun cut off, clock set back 10 min before reconnecting: another lane sees it stale (UNKNOWN_OUTCOME) once pendingTimeout passed on the database clock', async () => {
    const { time, db, t2, g1, g2, store2 } = await setup(10 * MIN);
    const sale = { amount: 4_000, currency: 'CNY', card: { token: 'tok_atk5_step_back' } };
    db.disconnect('T2');
    await g2.peek({ ...sale, amount: 1 }); // an earlier call found the database unreachable
    await g2.begin({ ...sale, amount: 2 });
    await time.advance(500);
    const d = await g2.begin(sale);
    expect(d.verdict).toBe('allow');
    await time.advance(1_000);
    t2.jump(-10 * MIN);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await g2.close(); // the till dies with its charge in flight
    await time.advance(2 * MIN + 5_000);
    const other = await g1.begin(sale);
    expect(codes(other)).toEqual(['UNKNOWN_OUTCOME']);
  });

  it('approval made cut off, then the till reboots and NTP sets its clock right at boot, before the database is back: the same sale on another lane is still a DUPLICATE_CHARGE', async () => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    t2.jump(-10 * MIN); // lane 2 runs 10 min slow
    const g1 = await open(t1, 'T1');
    const local = memoryStore();
    const g2 = await open(t2, 'T2', { store: sharedStore(db.remote('T2'), { local }) });
    const sale = { amount: 5_000, currency: 'CNY', card: { token: 'tok_atk5_reboot' } };
    db.disconnect('T2');
    const d = await g2.begin(sale);
    await time.advance(3_000);
    await g2.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await g2.close();
    t2.restart();
    t2.jump(10 * MIN); // set right at boot
    const store3 = sharedStore(db.remote('T2'), { local });
    await open(t2, 'T2', { store: store3 });
    await time.advance(1_000);
    db.reconnect('T2');
    await store3.sync();
    await flush();
    await time.advance(3_000);
    const again = await g1.begin(sale);
    expect(codes(again)).toContain('DUPLICATE_CHARGE'); // actual: [] (allow)
  });
});
