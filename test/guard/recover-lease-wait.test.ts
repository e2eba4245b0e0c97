/**
 * A lane that learnt another lane's recover lease, then had its clock set
 * back: the lease, a wall time read on the clock as it was, must not hold
 * this lane back for the size of the correction.
 */
import { expect, test } from 'vitest';
import { createGuard, memoryStore, type RecoverAnswer } from '../../src/index.js';
import { RECOVER_LEASE_MS } from '../../src/guard/recover.js';
import { sharedVirtualTime, type TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';

const START = Date.parse('2026-04-02T01:30:00Z');
const sale = { amount: 3800, currency: 'CNY', card: { token: 'tok_lane' } };

test("a lane whose clock is set back an hour after it learnt a dead lane's lease tries once the lease ran out, not an hour later", async () => {
  const time = sharedVirtualTime(START);
  const db = sharedMemoryDatabase(() => time.now());
  const calls: { lane: string; at: number }[] = [];
  const open = (t: TerminalTime, lane: string, recoverAfter: string) =>
    createGuard({
      merchantId: 'M1',
      terminalId: lane,
      secret: 'atk-lease-wait-secret-0123456789',
      store: sharedStore(db.remote(lane), { local: memoryStore() }),
      clock: t.clock,
      scheduler: t.scheduler,
      recoverAfter,
      recoverTries: 5,
      recover: () => {
        calls.push({ lane, at: time.now() - START });
        // Lane 2's call never answers (its process dies); lane 1's answers "still unknown".
        return lane === 'T2' ? new Promise<RecoverAnswer>(() => undefined) : Promise.resolve(undefined);
      },
    });
  const t1 = time.terminal();
  const t2 = time.terminal();
  const g1 = await open(t1, 'T1', '20s');
  await open(t2, 'T2', '5s');
  const id = (await g1.begin(sale)).attempt!.id;
  await time.advance(1_000);
  await g1.settle(id, { status: 'unknown' });
  for (let i = 0; i < 20 && calls.length === 0; i++) await time.advance(1_000);
  expect(calls.map((c) => c.lane)).toEqual(['T2']); // lane 2 took the lease and asks
  const leased = calls[0]!.at;
  t2.restart(); // lane 2's process dies mid-call: its lease stays until it runs out
  await time.advance(25_000); // lane 1's first try: refused, the lease learnt
  expect(calls.map((c) => c.lane)).toEqual(['T2']);
  t1.jump(-3_600_000); // lane 1's clock ran an hour fast: set right
  await time.advance(RECOVER_LEASE_MS + 60_000);
  const first = calls.find((c) => c.lane === 'T1');
  expect(first?.at).toBeLessThanOrEqual(leased + RECOVER_LEASE_MS + 20_000);
});
