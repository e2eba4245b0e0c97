/**
 * `recover` (SPEC §10) where it is hardest: a call that never answers, a
 * restart with a call in flight, the till's button used for the last try,
 * two terminals taking turns, start-up on a shared store, and hostile
 * answers. Each case found by recover.properties.test.ts or by reading
 * recover.ts, kept here as a plain example.
 */
import { describe, expect, test } from 'vitest';
import { createGuard, memoryStore, type AttemptRecord, type RecoverAnswer } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';

const secret = 'recover-adversity-secret-0123456789';
const sale = { amount: 5000, currency: 'CNY', card: { token: 'tok_recover' } };
const START = Date.parse('2026-03-01T09:00:00Z');

/** A `recover` that logs its calls (start and end, virtual ms) and answers as the test says. */
function scripted(now: () => number, answer: (call: number, attempt: AttemptRecord) => RecoverAnswer | Promise<RecoverAnswer>) {
  const calls: { id: string; start: number; end?: number; guard?: string }[] = [];
  const recover = (guard: string) => (attempt: AttemptRecord) => {
    const call = { id: attempt.id, start: now(), guard };
    calls.push(call);
    const done = () => ((call as { end?: number }).end = now());
    try {
      const result = answer(calls.length, attempt);
      if (result instanceof Promise) return result.finally(done);
      done();
      return result;
    } catch (error) {
      done();
      throw error;
    }
  };
  return { calls, recover };
}

describe('a shared store at start-up', () => {
  test('a pending found at start-up (the process died mid-charge) is tried, and keeps reading unknown', async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const db = sharedMemoryDatabase(time.clock.now);
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const options = {
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: recover('g'),
    };
    const first = await createGuard(options);
    const id = (await first.begin(sale)).attempt?.id as string;
    const restarted = await createGuard(options);
    expect((await restarted.get(id))?.status).toBe('unknown');
    await time.advance(5_000);
    expect(calls).toHaveLength(1);
    expect((await restarted.get(id))?.status).toBe('unknown');
    // A retry of the sale is blocked as an unknown outcome, not held as a charge in flight.
    expect((await restarted.begin(sale)).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
  });
});
