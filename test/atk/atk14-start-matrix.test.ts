/**
 * atk14: a take-over that fails at each store call of its start-up (SPEC §6: a second guard on the
 * same store takes over, as after a crash; a failed start leaves nothing).
 *
 * P12 'a take-over failing at its Nth store call leaves the running guard whole': for every N
 *     until the start succeeds, the guard it tried to fence still decides, settles, recovers on its
 *     schedule, and nothing of the failed start is journaled (no 'start', no pending → unknown for
 *     the running guard's charge in flight). Passes on the current code: pinned because nobody
 *     had walked every call (atk13 tried load, warnings and getMeta only).
 * P13 the same on a shared store (the running guard's store object: a restart in one process),
 *     each call of the take-over failing in turn, the database reachable.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore, type RecoverAnswer } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

const SECRET = 'atk14-start-matrix-secret-0123456789';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_matrix' } };

/** `inner`, whose `n`-th call once armed throws (synchronously for sync methods, else a rejection). */
function failingAt<T extends object>(inner: T, state: { armed: boolean; calls: number; n: number; names: string[] }): T {
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.armed) {
          state.names.push(String(name));
          if (++state.calls === state.n) {
            if (name === 'subscribe' || name === 'warnings') throw new Error(`store failed in ${String(name)}`);
            return Promise.reject(new Error(`store failed in ${String(name)}`));
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('atk14: a take-over failing at each store call of its start-up', () => {
  it('P12: memoryStore: the running guard stays whole, and the failed start journals nothing', async () => {
    let succeededAt: number | undefined;
    for (let n = 1; n < 40 && succeededAt === undefined; n++) {
      const time = virtualTime(START);
      const inner = memoryStore();
      const state = { armed: false, calls: 0, n, names: [] as string[] };
      const store = failingAt(inner as GuardStore, state);
      const recovered: string[] = [];
      const recover = (attempt: { id: string }): RecoverAnswer => {
        recovered.push(attempt.id);
        return undefined;
      };
      const options = { merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler, recover };
      const a = await createGuard(options);
      const unknown = await a.begin(sale);
      await unknown.attempt!.markUnknown();
      const charging = await a.begin({ ...sale, amount: 2_000 }); // in flight on A
      const approved = await a.begin({ ...sale, amount: 3_000 });
      await approved.attempt!.approve();
      await a.begin({ ...sale, kind: 'refund', amount: 500, refundOf: approved.attempt!.id }).then((d) => d.attempt!.approve());
      await flush();
      const journaled = inner.journal().length;
      state.armed = true;
      const b = await createGuard(options).then(
        (g) => g,
        (e: unknown) => e,
      );
      state.armed = false;
      if (!(b instanceof Error)) {
        succeededAt = n;
        await (b as Awaited<ReturnType<typeof createGuard>>).close();
        break;
      }
      await flush();
      const where = `failing at call ${n} (${state.names.at(-1)})`;
      expect(inner.journal().length, where).toBe(journaled);
      expect((await a.begin({ ...sale, amount: 4_000 })).verdict, where).toBe('allow');
      await charging.attempt!.approve();
      const trail = inner.journal().filter((e) => e.attemptId === charging.attempt!.id && e.type === 'settle');
      expect(
        trail.map((e) => `${e.from}->${e.to}`),
        where,
      ).toEqual(['pending->approved']);
      await time.advance(60_000);
      expect(recovered, where).toContain(unknown.attempt!.id);
      expect(
        (await a.peek({ ...sale, amount: 3_000 })).reasons.map((r) => r.code),
        where,
      ).toContain('DUPLICATE_CHARGE');
      await a.close();
    }
    expect(succeededAt).toBeGreaterThan(3);
  });

  it('P13: shared store (the same store object): the running guard stays whole, and the failed start journals nothing', async () => {
    let succeededAt: number | undefined;
    for (let n = 1; n < 40 && succeededAt === undefined; n++) {
      const { time, db } = lanes();
      const terminal = time.terminal();
      const state = { armed: false, calls: 0, n, names: [] as string[] };
      const store = failingAt(sharedStore(db.remote('T1'), { local: memoryStore() }) as GuardStore, state);
      const options = { merchantId: 'M1', terminalId: 'T1', secret: SECRET, store, clock: terminal.clock, scheduler: terminal.scheduler };
      const a = await createGuard(options);
      const charging = await a.begin({ ...sale, amount: 2_000 });
      await flush();
      const journaled = db.journal('M1').length;
      state.armed = true;
      const b = await createGuard(options).then(
        (g) => g,
        (e: unknown) => e,
      );
      state.armed = false;
      if (!(b instanceof Error)) {
        succeededAt = n;
        break;
      }
      await flush();
      const where = `failing at call ${n} (${state.names.at(-1)})`;
      expect(db.journal('M1').length, where).toBe(journaled);
      const d = await a.begin({ ...sale, amount: 4_000 }).catch((e: unknown) => e);
      expect(d, where).toMatchObject({ verdict: 'allow' });
      await charging.attempt!.approve();
      await flush();
      const rows = await db.remote('observer').get('M1', [charging.attempt!.id]);
      expect(
        rows.map((r) => r.record.status),
        where,
      ).toEqual(['approved']);
      const trail = db.journal('M1').filter(({ entry }) => entry.attemptId === charging.attempt!.id && entry.type === 'settle');
      expect(
        trail.map(({ entry }) => `${entry.from}->${entry.to}`),
        where,
      ).toEqual(['pending->approved']);
      await a.close();
    }
    expect(succeededAt).toBeGreaterThan(2);
  });
});
