/**
 * atk2: a lane cut off settles its sale unknown (kept locally); meanwhile
 * another lane, finding the sale's pending stale, takes recover's lease (try
 * 1) and asks the processor. The cut-off lane's write, sent on reconnect,
 * replaced the row with one carrying no recovery: the lease and the count
 * were gone, the lane took "try 1" again and asked the processor a second
 * time at once; the first lane's answer then gave back the second lane's
 * lease (leases are named by their try) and took try 2: a third inquiry
 * while the second ran. The row's recovery is kept when it has more tries.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type RecoverAnswer } from '../../src/index.js';
import { sharedVirtualTime, type TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';

const START = Date.parse('2026-04-02T01:30:00Z');
const secret = 'atk2-lease-same-try-0123456789abcd';
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('two leases with one try count', () => {
  it("a write sent after a cut-off keeps another lane's lease: one inquiry at a time", async () => {
    const time = sharedVirtualTime(START);
    const db = sharedMemoryDatabase(() => time.now());
    const answers: { T1: ((a: RecoverAnswer) => void)[]; T2: ((a: RecoverAnswer) => void)[] } = { T1: [], T2: [] };
    const open = (t: TerminalTime, id: 'T1' | 'T2') =>
      createGuard({
        merchantId: 'M1',
        terminalId: id,
        secret,
        store: sharedStore(db.remote(id), { local: memoryStore(), retryMs: 1_000 }),
        clock: t.clock,
        scheduler: t.scheduler,
        recoverAfter: '5s',
        pendingTimeout: '30s',
        recover: () => new Promise<RecoverAnswer>((resolve) => answers[id].push(resolve)),
      });
    const t1 = time.terminal();
    const t2 = time.terminal();
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const sale = { amount: 4_400, currency: 'CNY', card: { token: 'tok_same_try' } };
    const d = await g1.begin(sale);
    const id = d.attempt!.id;
    expect((await g2.begin(sale)).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']); // lane 2 holds the pending
    db.disconnect('T1');
    await time.advance(1_000);
    await g1.settle(id, { status: 'unknown' }); // kept locally
    await time.advance(40_000);
    expect(answers.T2).toHaveLength(1); // lane 2's try 1 is under way
    const [leased] = await db.remote('o').get('M1', [id]);
    expect(leased!.record.recovery?.tries).toBe(1);
    db.reconnect('T1');
    await time.advance(2_000);
    const [sent] = await db.remote('o').get('M1', [id]);
    expect(sent!.record.status).toBe('unknown');
    expect(sent!.record.recovery).toEqual(leased!.record.recovery);
    await time.advance(6_000);
    expect(answers.T1).toHaveLength(0); // no second inquiry while lane 2's runs
    answers.T2.shift()?.(undefined);
    await flush();
    await time.advance(6_000);
    expect(answers.T1.length + answers.T2.length).toBe(1); // the next try, by one lane
  });
});
