/**
 * Shared fixtures for the guard behaviour tests: a clock the test moves by
 * hand, a guard over a memoryStore() that records every event, and small
 * store wrappers to observe or break writes.
 */
import {
  createGuard,
  memoryStore,
  type AttemptRecord,
  type Guard,
  type GuardEvent,
  type GuardEventType,
  type GuardOptions,
  type GuardStore,
  type MemoryStore,
  type Sale,
} from '../../src/index.js';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const SECRET = 'guard-test-secret-0123456789';
export const START = Date.parse('2026-03-01T09:00:00Z');

// Test card numbers only. UnionPay 62… numbers need not pass Luhn.
export const VISA = '4111 1111 1111 1111';
export const MASTERCARD = '5555 5555 5555 4444';
export const UNIONPAY = '6222 0202 0011 2233 446';

/**
 * Wall and monotonic clocks under the test's control. `advance` moves both
 * (time passing); `jump` moves only the wall clock (NTP, a user changing the
 * date). Guard time equals `wall` until the first jump.
 */
export class ManualClock {
  wall: number;
  mono: number;

  constructor(wall = START, mono = 5_000) {
    this.wall = wall;
    this.mono = mono;
  }

  readonly now = (): number => this.wall;
  readonly monotonic = (): number => this.mono;

  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  jump(ms: number): void {
    this.wall += ms;
  }

  /** The clock a restarted process sees: same wall time, a monotonic clock from a new origin. */
  afterRestart(): ManualClock {
    return new ManualClock(this.wall, 17);
  }
}

const EVENT_TYPES = [
  'decision',
  'override',
  'settle',
  'resume',
  'storage-error',
  'clock-anomaly',
  'prune',
] as const satisfies readonly GuardEventType[];

/** Subscribes to every event type; the returned array fills as events arrive. */
export function recordEvents(guard: Guard): GuardEvent[] {
  const events: GuardEvent[] = [];
  for (const type of EVENT_TYPES) guard.on(type, (event) => events.push(event));
  return events;
}

export interface TestGuard<S extends GuardStore> {
  guard: Guard;
  store: S;
  clock: ManualClock;
  events: GuardEvent[];
}

export type TestGuardOptions<S extends GuardStore> = Partial<Omit<GuardOptions, 'store' | 'clock'>> & { store?: S; clock?: ManualClock };

/** A guard on a manual clock over a memoryStore() (or the given store), recording its events. */
export async function testGuard<S extends GuardStore = MemoryStore>(options: TestGuardOptions<S> = {}): Promise<TestGuard<S>> {
  const { store = memoryStore() as GuardStore as S, clock = new ManualClock(), ...rest } = options;
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, ...rest, store, clock });
  return { guard, store, clock, events: recordEvents(guard) };
}

/** A valid CNY 12.50 sale on the test Visa card, with `patch` applied. */
export function sale(patch: Partial<Sale> = {}): Sale {
  return { amount: 1250, currency: 'CNY', card: { pan: VISA }, ...patch };
}

/** Lets fire-and-forget store writes (journal, deletes) land. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** What `promise` rejected with, or `undefined` if it resolved: for a call that may or may not fail (a start under attack). */
export function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Runs `action` and returns what it threw, synchronously or as a rejection. Fails if it did not throw. */
export async function thrown(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface SpyStore extends MemoryStore {
  /** Every record passed to `put`, in call order (whether or not the write succeeded). */
  readonly puts: AttemptRecord[];
}

/**
 * A memoryStore() whose `put` is observed, and optionally replaced: `put`
 * receives the record and the real write, so it can delay, fail or skip it.
 */
export function spyStore(put?: (record: AttemptRecord, write: () => Promise<void>) => Promise<void>): SpyStore {
  const base = memoryStore();
  const puts: AttemptRecord[] = [];
  return {
    ...base,
    puts,
    put(record) {
      puts.push(record);
      const write = () => base.put(record);
      return put ? put(record, write) : write();
    },
  };
}

/** A revoked Proxy: any read of it throws a TypeError (hostile input). */
export function revokedProxy(): never {
  const p = Proxy.revocable({}, {});
  p.revoke();
  return p.proxy as never;
}

/** An object whose `key` is an enumerable getter that throws (hostile input). */
export function throwingGetter(key: string): never {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get: () => {
      throw new Error('getter');
    },
  }) as never;
}
