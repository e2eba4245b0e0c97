/**
 * From the SPEC audit: CLOCK_ANOMALY (SPEC §3, a warning on the first
 * decision after a jump, and an event) was checked only on decisions that
 * went on past the cut-off and storage policies: a till cut off under
 * `onSharedUnavailable: 'prompt'` or `'block'`, or whose history read
 * failed under `onStorageError` other than `'allow'`, never reported a
 * jump for as long as it stayed so, though a till offline is where a clock
 * is most likely wrong.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardEventOf, type SharedUnavailablePolicy } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { memoryStore } from '../../src/stores/memory.js';

const secret = 'shared-store-secret-0123456789';
const HOUR = 3_600_000;

describe('a clock jump while cut off', () => {
  it.each<SharedUnavailablePolicy>(['prompt', 'block', 'allow'])(
    "is reported on the first decision after it under onSharedUnavailable '%s', once",
    async (policy) => {
      let jump = 0;
      const db = sharedMemoryDatabase(() => Date.now());
      const clock = { now: () => Date.now() + jump, monotonic: () => performance.now() };
      const store = sharedStore(db.remote('T1'), { local: memoryStore(), retryMs: 100_000 });
      const guard = await createGuard({ merchantId: 'M1', terminalId: 'T1', secret, clock, onSharedUnavailable: policy, store });
      const heard: GuardEventOf<'clock-anomaly'>[] = [];
      guard.on('clock-anomaly', (event) => heard.push(event));
      await guard.peek({ amount: 1, currency: 'CNY', card: { token: 'tok_anomaly' } });
      db.disconnect('T1');
      // The store knows it is cut off (a claim failed), and decisions are held back from here.
      const cut = await guard.begin({ amount: 50, currency: 'CNY', card: { token: 'tok_anomaly' } });
      expect(cut.reasons.map((r) => r.code)).toEqual(['SHARED_UNAVAILABLE']);
      expect(store.cutOff?.()).toBe(true);
      jump = HOUR;
      const first = await guard.begin({ amount: 100, currency: 'CNY', card: { token: 'tok_anomaly' } });
      const second = await guard.begin({ amount: 101, currency: 'CNY', card: { token: 'tok_anomaly' } });
      expect(first.reasons.map((r) => r.code).sort()).toEqual(['CLOCK_ANOMALY', 'SHARED_UNAVAILABLE']);
      expect(first.verdict).toBe(policy);
      expect(second.reasons.map((r) => r.code)).toEqual(['SHARED_UNAVAILABLE']);
      expect(heard).toHaveLength(1);
      expect(Math.abs(heard[0]!.driftMs - HOUR)).toBeLessThan(1_000);
      await guard.close();
    },
  );
});
