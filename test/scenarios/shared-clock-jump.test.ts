import { describe, expect, test } from 'vitest';
import { createGuard, type Guard } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { memoryStore } from '../../src/stores/memory.js';

/**
 * Found by the bundled scenarios 83 and 84 (a lane whose clock is wrong):
 * SPEC §9, "a till whose clock is wrong can neither free another till's sale
 * early nor hold it forever". `sharedStore` measures its skew (the
 * database's clock minus the terminal's) at `attach` and on a reconnect
 * only, so a wall clock that jumps while the terminal runs leaves the skew
 * stale: every row it writes afterwards carries the old skew, and the other
 * terminals read its times off by the size of the jump.
 *
 * These fail until src/shared/store.ts notices the jump (the owner's clock
 * gives wall and monotonic: a change of wall minus monotonic is a jump, by
 * which the skew can be corrected before the next write).
 */

const secret = 'shared-clock-jump-secret-0123456789';
const sale = { amount: 9900, currency: 'CNY', card: { pan: '6222 0202 0011 2233 446' } };
const MINUTE = 60_000;

async function lanes() {
  let shared = Date.parse('2026-03-14T00:30:00Z');
  const offsets = { T1: 0, T2: 0 };
  const db = sharedMemoryDatabase(() => shared);
  const guards: Record<string, Guard> = {};
  for (const terminalId of ['T1', 'T2'] as const) {
    guards[terminalId] = await createGuard({
      merchantId: 'M1',
      terminalId,
      secret,
      pendingTimeout: '2m',
      store: sharedStore(db.remote(terminalId), { local: memoryStore() }),
      clock: { now: () => shared + offsets[terminalId], monotonic: () => shared },
    });
  }
  return {
    t1: guards.T1 as Guard,
    t2: guards.T2 as Guard,
    jump: (terminal: 'T1' | 'T2', ms: number) => (offsets[terminal] += ms),
    advance: (ms: number) => (shared += ms),
  };
}

const codes = (decision: { reasons: readonly { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('sharedStore: a terminal whose wall clock jumps after it attached', () => {
  test('5 minutes back: its pending is still IN_FLIGHT on the other terminal, not UNKNOWN_OUTCOME at once', async () => {
    const { t1, t2, jump } = await lanes();
    jump('T1', -5 * MINUTE);
    expect((await t1.begin(sale)).verdict).toBe('allow');
    // Fails today: T1's row carries the skew measured before the jump (0),
    // so T2 reads a pending that began 5 minutes ago: UNKNOWN_OUTCOME.
    expect(codes(await t2.begin(sale))).toEqual(['IN_FLIGHT']);
  });

  test('10 minutes ahead: its pending is UNKNOWN_OUTCOME on the other terminal after pendingTimeout, not IN_FLIGHT for 12 minutes', async () => {
    const { t1, t2, jump, advance } = await lanes();
    jump('T2', 10 * MINUTE);
    expect((await t2.begin(sale)).verdict).toBe('allow');
    expect(codes(await t1.begin(sale))).toEqual(['IN_FLIGHT']);
    advance(2 * MINUTE + 1_000);
    // Fails today: T2's pending is stamped 10 minutes ahead of the database's clock.
    expect(codes(await t1.begin(sale))).toEqual(['UNKNOWN_OUTCOME']);
  });

  test('the control: the same 5 minutes back before the terminal attaches is measured, and the pending stays IN_FLIGHT for pendingTimeout', async () => {
    // A restarted terminal measures its skew afresh: what the store would
    // have to do after a jump too.
    let shared = Date.parse('2026-03-14T00:30:00Z');
    const db = sharedMemoryDatabase(() => shared);
    const make = (terminalId: string, offset: number) =>
      createGuard({
        merchantId: 'M1',
        terminalId,
        secret,
        pendingTimeout: '2m',
        store: sharedStore(db.remote(terminalId), { local: memoryStore() }),
        clock: { now: () => shared + offset, monotonic: () => shared },
      });
    const t1 = await make('T1', -5 * MINUTE);
    const t2 = await make('T2', 0);
    await t1.begin(sale);
    expect(codes(await t2.begin(sale))).toEqual(['IN_FLIGHT']);
    shared += 2 * MINUTE + 1_000;
    expect(codes(await t2.begin(sale))).toEqual(['UNKNOWN_OUTCOME']);
  });
});
