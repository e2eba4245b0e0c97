import { expect } from 'vitest';
import { createGuard, memoryStore, type GuardOptions } from '../../src/index.js';
import { sharedVirtualTime, type TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { RemoteUnreachable, type Remote } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';

/** 2026-04-02 09:30 in Shanghai: where the lanes' virtual time starts. */
export const LANES_START = Date.parse('2026-04-02T01:30:00Z');

/**
 * Lanes of one merchant, `M1`, on one shared in-memory database (PostgreSQL's
 * claim semantics) and one virtual time: `open(time.terminal(), 'T1')` is a
 * guard over a shared store with a `local` of its own, on that terminal's
 * clock and scheduler. `remote` wraps a lane's connection (a slow read, a lost answer).
 */
export function lanes(options: { remote?: (remote: Remote, terminalId: string) => Remote } = {}) {
  const time = sharedVirtualTime(LANES_START);
  const db = sharedMemoryDatabase(() => time.now());
  const open = (terminal: TerminalTime, terminalId: string, guardOptions: Partial<GuardOptions> = {}) =>
    createGuard({
      merchantId: 'M1',
      terminalId,
      secret: 'shared-lanes-test-secret-0123456789ab',
      store: sharedStore(options.remote ? options.remote(db.remote(terminalId), terminalId) : db.remote(terminalId), {
        local: memoryStore(),
      }),
      clock: terminal.clock,
      scheduler: terminal.scheduler,
      ...guardOptions,
    });
  return { time, db, open };
}

/** Lets the promise chains over the in-memory database run to their end. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A terminal whose monotonic clock stops while it sleeps (a tablet on the
 * shelf); its wall clock, like every other clock, runs on. Open a lane on
 * `terminal`; `sleep()` and `wake()` around a `time.advance`.
 */
export function sleepy(time: { now(): number }, terminal: TerminalTime) {
  let lost = 0;
  let since: number | undefined;
  const monotonic = () => terminal.clock.monotonic() - lost - (since === undefined ? 0 : time.now() - since);
  return {
    terminal: { ...terminal, clock: { now: () => terminal.clock.now(), monotonic } },
    asleep: () => since !== undefined,
    sleep: () => void (since = time.now()),
    wake: () => {
      lost += time.now() - (since ?? time.now());
      since = undefined;
    },
  };
}

/** A promise that never settles: a call into a process that is gone. */
export const never = (): Promise<never> => new Promise<never>(() => undefined);

/**
 * A process that can die (a store or a remote seen from it): after `dead`,
 * every call hangs. With `counts`, its `dieAt`-th call lands, and then the
 * process dies before hearing the answer.
 */
export function mortal<T extends object>(inner: T, state: { dead: boolean; calls: number; dieAt: number }, counts: boolean): T {
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.dead) return never();
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (counts && ++state.calls === state.dieAt) {
          state.dead = true;
          return Promise.resolve(result).then(never, never);
        }
        return result;
      };
    },
  });
}

/**
 * Two lanes over one shared database, lane 2 with a `local` store (it keeps
 * taking payments when cut off), and a sale of 1 000 approved on lane 1
 * that lane 2 has heard of: where the tests of a cut-off's catch-up start.
 * `remote2` wraps lane 2's connection (a test that holds its claims).
 */
export async function approvedOnTwoLanes(card: { token: string }, remote2: (remote: Remote) => Remote = (remote) => remote) {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1');
  const store2 = sharedStore(remote2(db.remote('T2')), { local: memoryStore() });
  const g2 = await open(time.terminal(), 'T2', { store: store2 });
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  if ((await g2.get(saleId))?.status !== 'approved') throw new Error('lane 2 did not hear of the sale');
  return { time, db, open, g1, g2, store2, saleId };
}

/** A refund of `amount` (CNY) of the sale `saleId`, on the card `token`. */
export const refundOf = (saleId: string, amount: number, token = 'tok_lanes_refund') => ({
  amount,
  currency: 'CNY',
  card: { token },
  kind: 'refund' as const,
  refundOf: saleId,
});

/**
 * Lanes whose upload lands but whose answer is lost (the lane's connection
 * cut at that moment, as a network that drops right after the commit):
 * `lose(terminalId, times)` arms the lane's next `times` uploads, `left`
 * says how many are still armed, `wrap(remote, terminalId)` is the lane's
 * connection. `db()` names the database whose lane is cut (it may be made after the wrap).
 */
export function losesAnswers(db: () => { disconnect(id: string): void }) {
  const armed = new Map<string, number>();
  const wrap = (remote: Remote, terminalId: string): Remote =>
    new Proxy(remote, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          const left = armed.get(terminalId) ?? 0;
          if (name === 'upload' && left > 0) {
            armed.set(terminalId, left - 1);
            db().disconnect(terminalId);
            throw new RemoteUnreachable('connection reset while reading the answer');
          }
          return result;
        };
      },
    });
  return {
    wrap,
    lose: (terminalId: string, times = 1) => void armed.set(terminalId, times),
    left: (terminalId: string) => armed.get(terminalId) ?? 0,
  };
}

/** The money to recover journaled for `saleId`, as `terminal:amount`. */
export function overReports(
  db: { journal(merchantId: string): readonly { terminalId?: string; entry: { attemptId?: string; detail?: string; amount?: number } }[] },
  saleId: string,
): string[] {
  return db
    .journal('M1')
    .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
    .map(({ terminalId, entry }) => `${terminalId}:${entry.amount}`);
}

/** The codes of a decision's reasons. */
export const codes = (d: { reasons: readonly { code: string }[] }): string[] => d.reasons.map((r) => r.code);

/**
 * `inner`, dead (every call hangs, as on a dead link) from its first call after its `uploads`-th upload (with
 * `diesAt`, its first call of that method): a till killed in the middle of a catch-up. `state.dead` says whether
 * it has died.
 */
export function hangsAfterUploads(inner: Remote, uploads: number, diesAt?: keyof Remote) {
  const state = { dead: false, uploads: 0 };
  const remote = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.dead) return never();
        if (state.uploads >= uploads && (diesAt === undefined || name === diesAt)) {
          state.dead = true;
          return never();
        }
        if (name === 'upload') state.uploads++;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { remote, state };
}

/**
 * A sale of 1 000 approved on lane 1 and seen on lane 2, whose connection dies after its `uploads`-th upload
 * (`hangsAfterUploads`; Infinity: never). `restart()` brings the database back, lets lane 2's catch-up run
 * into its death, and starts lane 2 again over the same `local` (a till restarted after the kill): the new
 * guard, caught up. With `uploads` Infinity, lane 2 itself, caught up.
 */
export async function dyingLane(card: { token: string }, uploads: number, diesAt?: keyof Remote) {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1');
  const durable = memoryStore();
  const t2 = time.terminal();
  const { remote: remote2, state } = hangsAfterUploads(db.remote('T2'), uploads, diesAt);
  const store2 = sharedStore(remote2, { local: durable });
  const g2 = await open(t2, 'T2', { store: store2 });
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  expect((await g2.get(saleId))?.status).toBe('approved');
  const restart = async () => {
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    if (uploads === Infinity) {
      await time.advance(5_000);
      await flush();
      return g2;
    }
    expect(state.dead).toBe(true);
    t2.restart();
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    await store3.settled();
    await time.advance(5_000);
    await flush();
    return g3;
  };
  return { time, db, g1, g2, saleId, restart, state };
}
