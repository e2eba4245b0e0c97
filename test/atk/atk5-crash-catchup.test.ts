/**
 * atk5: a till killed during its catch-up after a cut-off, then restarted on
 * the same `local`.
 *
 * Finding: the conflict found by the catch-up (SPEC §9: "the guard reports
 * it: a conflict event and a journal entry naming both attempts") is lost
 * for good when the till dies just after the approval's upload.
 *
 * Mechanism (src/shared/store.ts #sendOutbox): after `upload` answers the
 * other live rows, the conflict is emitted (the guard's journal() is not
 * awaited: src/guard/writes.ts), and at once the id is shifted off the
 * outbox and the outbox is written to `local` (awaited). The conflict's
 * journal entry reaches `local` (the kept journal backlog, via
 * appendJournal → #flushJournal → #keepJournal) only several turns later,
 * after the outbox write was issued. A crash in between leaves the outbox
 * without the approval (so the restarted till never uploads it again and
 * never meets the conflict) and no journal entry of it anywhere: the double
 * charge is never reported. The outbox should only lose an id once what its
 * upload found is durable (or the upload be re-checked after a restart).
 *
 * Fixed: the id stays in the outbox until the guard's journal entry of the
 * conflict is kept (before the guard listens, the catch-up stops there and
 * runs again once it subscribes); a till that dies before uploads it again
 * on restarting, which writes nothing twice and finds the conflict again.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type GuardEvent, type GuardStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, mortal, never } from '../helpers/lanes.js';

describe('atk5: killed right after the catch-up uploaded an approval', () => {
  it('the double charge it found is still reported (journal entry or conflict event after the restart)', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const state = { dead: false, calls: 0, dieAt: Number.POSITIVE_INFINITY };
    const durable = memoryStore();
    const local = mortal(durable, state, false) as GuardStore;
    const t2 = time.terminal();
    const inner = db.remote('T2');
    // Dies at the first call to the database after the approval's upload answered.
    const remote2 = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (state.dead) return never();
          if (state.calls === 1) {
            state.dead = true;
            return never();
          }
          const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (name === 'upload') state.calls = 1;
          return result;
        };
      },
    });
    const store2 = sharedStore(remote2, { local });
    const g2 = await open(t2, 'T2', { store: store2 });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_crash' } };
    db.disconnect('T2');
    const a = await g2.begin(sale);
    await g2.settle(a.attempt!.id, { status: 'approved', authCode: '111111' });
    await g2.begin({ ...sale, amount: 500 }); // a second write in the outbox
    await time.advance(500);
    const b = await g1.begin(sale);
    expect(b.verdict).toBe('allow');
    await g1.settle(b.attempt!.id, { status: 'approved', authCode: '222222' });
    await time.advance(500);
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    expect(state.dead).toBe(true);
    // Restarted on what `local` holds.
    t2.restart();
    const events: GuardEvent[] = [];
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    g3.on('conflict', (e) => events.push(e));
    await store3.settled();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [a.attempt!.id]);
    expect(row?.record.status).toBe('approved'); // the approval landed
    const reported = db.journal('M1').some((line) => line.entry.type === 'conflict');
    expect(reported || events.length > 0).toBe(true); // actual: neither
  });
});
