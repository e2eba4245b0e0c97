/**
 * A claim that times out is retracted on reconnect (written back `cancelled`)
 * when it may have reached the database: meant for a new sale's reservation
 * the guard did not go on with. A claim over a row the database holds already
 * (a recover lease taken or given back on an unknown attempt) is no
 * reservation: cancelling it erased the unknown charge for every lane, and the
 * same sale went through again on another lane without UNKNOWN_OUTCOME.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type RecoverAnswer } from '../../src/index.js';
import { sharedVirtualTime, type TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import type { Remote } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';

const START = Date.parse('2026-04-02T01:30:00Z');
const secret = 'atk2-retract-secret-0123456789abcdef';

describe('a claim over a row the database holds, timed out', () => {
  it.each([false, true])('is not written back as cancelled (local store: %s)', async (withLocal) => {
    const time = sharedVirtualTime(START);
    const db = sharedMemoryDatabase(() => time.now());
    let hang = false;
    const slow = (remote: Remote): Remote => ({
      ...remote,
      // The claim commits, but its answer never comes back (a network holding the reply).
      claim: (...args) => {
        const done = remote.claim(...args);
        return hang ? new Promise(() => void done) : done;
      },
    });
    const open = (t: TerminalTime, id: string, remote: Remote, recover?: () => Promise<RecoverAnswer>) =>
      createGuard({
        merchantId: 'M1',
        terminalId: id,
        secret,
        store: sharedStore(remote, withLocal ? { local: memoryStore() } : {}),
        clock: t.clock,
        scheduler: t.scheduler,
        recoverAfter: '5s',
        ...(recover ? { recover } : {}),
      });
    const t1 = time.terminal();
    const t2 = time.terminal();
    const g1 = await open(t1, 'T1', slow(db.remote('T1')), () => new Promise<RecoverAnswer>(() => undefined));
    const g2 = await open(t2, 'T2', db.remote('T2'));
    const sale = { amount: 5_200, currency: 'CNY', card: { token: 'tok_retract' } };
    const d = await g1.begin(sale);
    await time.advance(1_000);
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    await time.advance(1_000);
    hang = true; // the recover lease's claim lands, unanswered
    await time.advance(5_000);
    hang = false;
    for (let i = 0; i < 10; i++) await time.advance(2_000); // timed out, cut off, reconnected
    const [row] = await db.remote('T2').get('M1', [d.attempt!.id]);
    expect(row?.record.status).toBe('unknown');
    expect((await g2.begin(sale)).reasons.map((x) => x.code)).toContain('UNKNOWN_OUTCOME');
  });
});
