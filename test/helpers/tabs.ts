/** Two or more tabs over one fake IndexedDB, for tests of what tabs do to each other. */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, vi } from 'vitest';
import { createGuard, type Decision, type Guard, type GuardOptions, type RecoverAnswer, type Sale } from '../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { ManualClock, SECRET, deferred } from './guard.js';

let count = 0;
export function freshDb(): { name: string; indexedDB: IDBFactory } {
  return { name: `pdg-review-${++count}`, indexedDB: new IDBFactory() };
}

export const OPTIONS = { merchantId: 'M-0001', secret: SECRET, window: '10m', pendingTimeout: '2m' } as const;

export interface Tab {
  guard: Guard;
  store: IndexedDbStore;
  clock: ManualClock;
}

export async function tab(
  db: { name: string; indexedDB: IDBFactory },
  clock = new ManualClock(),
  extra: Partial<GuardOptions> = {},
): Promise<Tab> {
  const store = indexedDbStore(db);
  const guard = await createGuard({ ...OPTIONS, ...extra, store, clock });
  return { guard, store, clock };
}

export function deleteDatabase(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = db.indexedDB.deleteDatabase(db.name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error(`deleting IndexedDB "${db.name}" failed`));
  });
}

export const settle = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Tabs over one fresh IndexedDB on virtual time from `start`, whose `recover`
 * calls all wait for `hold`: `calls.most` is the most calls out at once.
 */
export function heldRecoverTabs(start: string) {
  const db = freshDb();
  const time = virtualTime(Date.parse(start));
  const hold = deferred<RecoverAnswer>();
  const calls = { out: 0, most: 0 };
  const recover = (): Promise<RecoverAnswer> => {
    calls.most = Math.max(calls.most, ++calls.out);
    return hold.promise.finally(() => calls.out--);
  };
  const tab = (extra: Partial<GuardOptions> = {}) =>
    createGuard({
      ...OPTIONS,
      store: indexedDbStore(db),
      clock: time.clock,
      scheduler: time.scheduler,
      recover,
      recoverAfter: '1h',
      ...extra,
    });
  return { db, time, hold, calls, tab };
}

/** The tabs a test opens, closed after each test, which also restores the globals it stubbed (BroadcastChannel). */
export function closedAfterEach(): Tab[] {
  const open: Tab[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.guard.close().catch(() => undefined)));
    vi.unstubAllGlobals();
  });
  return open;
}

export const codes = (d: { reasons: { code: string }[] }): string[] => d.reasons.map((r) => r.code);

/** A supervisor's override of `d` in tab `t`: its verdict, or the error's name when it is refused outright (IN_FLIGHT). */
export const supervisorOverride = (t: Tab, d: Decision): Promise<string> =>
  t.guard.override(d, { operator: 'c1', reason: 'checked with the bank', supervisor: 's1' }).then(
    (x) => x.verdict,
    (e: Error) => e.name,
  );

/**
 * Tab A begins `sale` on virtual time and its page is gone mid-charge; 10 s
 * later the machine clock is set back an hour and tab B opens with `recover`
 * (`recoverAfter` 5 s). `stamped`: the pending's `pendingSince`, an hour ahead of B.
 */
export async function deadTabThenSetBack(sale: Sale, recover: (attempt: { id: string }) => RecoverAnswer) {
  const db = freshDb();
  const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
  const a = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
  const id = (await a.begin(sale)).attempt!.id;
  const stamped = (await a.get(id))!.pendingSince;
  await time.advance(10_000);
  time.jump(-3_600_000);
  const b = await createGuard({
    ...OPTIONS,
    store: indexedDbStore(db),
    clock: time.clock,
    scheduler: time.scheduler,
    recover,
    recoverAfter: '5s',
  });
  return { time, b, id, stamped };
}

/** Tabs of `heldRecoverTabs` with tab A (`extraA`) asking the processor about a charge left unknown `past` ms ago (3 min: its charge's own watch over). */
export async function inquiryOut(sale: Sale, extraA: Partial<GuardOptions> = {}, past = 3 * 60_000) {
  const env = heldRecoverTabs('2026-04-01T10:00:00Z');
  const a = await env.tab(extraA);
  const decision = await a.begin(sale);
  await decision.attempt!.markUnknown();
  const id = decision.attempt!.id;
  if (past) await env.time.advance(past);
  await settle();
  const first = a.recoverNow(id).catch(() => undefined);
  await settle();
  return { ...env, a, id, first };
}

/** Each of `tabs` presses "Check with the processor" for `id` every 10 s of `time`, `times` times. */
export async function keepAsking(
  time: { advance(ms: number): Promise<void> },
  tabs: readonly { recoverNow(id: string): Promise<unknown> }[],
  id: string,
  times: number,
): Promise<void> {
  for (let s = 0; s < times; s++) {
    for (const t of tabs) void t.recoverNow(id).catch(() => undefined);
    await time.advance(10_000);
    await settle();
  }
}

/** A scheduler over `time`'s that counts, in `live`, the timers set and not yet run or cancelled. */
export function countedScheduler(time: { scheduler: { after(ms: number, task: () => void): () => void } }) {
  const live = new Set<object>();
  const scheduler = {
    after(ms: number, task: () => void) {
      const token = {};
      live.add(token);
      const cancel = time.scheduler.after(ms, () => {
        live.delete(token);
        task();
      });
      return () => {
        live.delete(token);
        cancel();
      };
    },
  };
  return { live, scheduler };
}

/** The most `recover` calls out at once so far; then the held calls answer `cancelled` and tab A's first ask is awaited. */
export async function mostThenAnswer(env: {
  calls: { most: number };
  hold: { resolve(answer: RecoverAnswer): void };
  first: Promise<unknown>;
}): Promise<number> {
  const most = env.calls.most;
  env.hold.resolve({ status: 'cancelled' });
  await env.first;
  return most;
}

/**
 * Moves `time` on 5 s at a time (each after `ask`, a tab's "Check with the
 * processor", if given) until a second `recover` call is out, or 600 s: the
 * virtual time it got to, counted from `start`.
 */
export async function untilSecondCall(
  time: { advance(ms: number): Promise<void> },
  calls: { most: number },
  ask?: () => unknown,
  start = 0,
): Promise<number> {
  let t = start;
  for (; t < 600_000 && calls.most < 2; t += 5_000) {
    ask?.();
    await time.advance(5_000);
    await settle();
  }
  return t;
}
