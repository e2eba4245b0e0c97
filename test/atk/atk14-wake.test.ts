/**
 * atk14: sleep/wake and clock steps in the middle of a start-up (SPEC §3 CLOCK_ANOMALY, §9 one
 * clock across terminals): the wall clock stepped between the store's attach (where a shared
 * store measures its skew) and the load.
 *
 * P16 'a clock stepped between attach and load: the sale another lane approved a minute ago is
 *     still DUPLICATE_CHARGE' — both directions, a big step (a tablet that woke with its clock a
 *     day off and NTP stepping it mid-start, or the reverse), database reachable. Also the lane's
 *     own approval kept in `local`, when the database is unreachable at the restart (stepped back
 *     only: stepped forward, records age by the wall clock across a restart, SPEC §3, and a step
 *     before createGuard gives the same answer as one mid-start, so it is no finding).
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes } from '../helpers/lanes.js';

const SECRET = 'shared-lanes-test-secret-0123456789ab';
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_wake' } };
const DAY = 24 * 3_600_000;

/** `inner`, stepping the clock (`step()`) at its first getMeta: after attach, before load. */
function stepsAtFirstGetMeta(inner: GuardStore, step: () => void): GuardStore {
  let stepped = false;
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (name === 'getMeta' && !stepped) {
          stepped = true;
          step();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('atk14: a clock stepped between attach and load', () => {
  for (const jump of [-DAY, -3_600_000, 3_600_000, DAY]) {
    it(`P16: stepped ${jump / 3_600_000}h: another lane's approval a minute ago is still DUPLICATE_CHARGE`, async () => {
      const { time, db, open } = lanes();
      const g1 = await open(time.terminal(), 'T1');
      const d = await g1.begin(sale);
      await d.attempt!.approve();
      await time.advance(60_000);
      const t2 = time.terminal();
      const store = stepsAtFirstGetMeta(sharedStore(db.remote('T2'), { local: memoryStore() }), () => t2.jump(jump));
      const g2 = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret: SECRET, store, clock: t2.clock, scheduler: t2.scheduler });
      expect(codes(await g2.peek(sale))).toContain('DUPLICATE_CHARGE');
      expect(codes(await g2.begin(sale))).toContain('DUPLICATE_CHARGE');
    });

    // Stepped forward while cut off, its own records age by the wall clock as across any restart (SPEC §3): not pinned here.
    if (jump > 0) continue;
    it(`P16: stepped ${jump / 3_600_000}h, cut off: its own approval a minute ago (in local) is still DUPLICATE_CHARGE`, async () => {
      const { time, db, open } = lanes();
      await open(time.terminal(), 'T1');
      const t2 = time.terminal();
      const local = memoryStore();
      const g2 = await open(t2, 'T2', { store: sharedStore(db.remote('T2'), { local }) });
      const d = await g2.begin(sale);
      await d.attempt!.approve();
      await time.advance(60_000);
      await flush();
      db.disconnect('T2');
      t2.restart();
      const store = stepsAtFirstGetMeta(sharedStore(db.remote('T2'), { local }), () => t2.jump(jump));
      const g3 = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret: SECRET, store, clock: t2.clock, scheduler: t2.scheduler });
      expect(codes(await g3.begin(sale))).toContain('DUPLICATE_CHARGE');
    });
  }
});
