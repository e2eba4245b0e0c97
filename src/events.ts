import { GuardInputError, fail } from './errors.js';
import type { GuardEvent, GuardEventOf, GuardEventType } from './types.js';

// Every event type, kept complete by the compiler: a listener for a type the
// guard never emits (a typo, 'settled') would wait forever without a word.
const EVENT_TYPES: Readonly<Record<GuardEventType, true>> = {
  decision: true,
  override: true,
  settle: true,
  resume: true,
  'storage-error': true,
  'clock-anomaly': true,
  prune: true,
  'late-answer': true,
  conflict: true,
  recover: true,
  'recovery-exhausted': true,
  'invalid-submit-result': true,
  'listener-error': true,
};

export type Listener<T extends GuardEventType> = (event: GuardEventOf<T>) => void;

/**
 * A typed event emitter. A listener is the app's code, run inside a charge:
 * its throw must neither break that charge nor end the process (a rethrow,
 * even in a microtask of its own, is an uncaught exception that ends a Node
 * till). So it is reported instead: as a `listener-error` event, or, when
 * nobody listens to those, on `console.error`.
 */
export class Emitter {
  readonly #listeners = new Map<GuardEventType, Set<(event: GuardEvent) => void>>();
  /**
   * What start-up emitted (records pruned, a conflict its catch-up found, a
   * storage error): nobody can listen before `createGuard` resolves, so
   * these are kept and replayed to each listener attached right after
   * (SPEC §4), until `opened`'s grace ends; then dropped.
   */
  #startUp: GuardEvent[] | undefined;
  /** Per type, the listeners start-up's events were replayed to: once each, however often attached, removed and attached again. */
  readonly #replayed = new Map<GuardEventType, Set<(event: GuardEvent) => void>>();
  #starting: boolean;

  /** `starting`: events are kept until `opened` (a guard's, during start-up). */
  constructor(starting = false) {
    this.#starting = starting;
    this.#startUp = starting ? [] : undefined;
  }

  on<T extends GuardEventType>(type: T, listener: Listener<T>): () => void {
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(EVENT_TYPES, type)) {
      fail(GuardInputError, 'INVALID_LISTENER', 'type', `must be one of ${Object.keys(EVENT_TYPES).join(', ')}`, type);
    }
    if (typeof listener !== 'function') fail(GuardInputError, 'INVALID_LISTENER', 'listener', 'must be a function', listener);
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    const wrapped = listener as (event: GuardEvent) => void;
    // A listener attached twice hears each event once, start-up's included.
    set.add(wrapped);
    const found = this.#startUp?.filter((event) => event.type === type);
    if (found?.length) {
      // In a microtask of its own, never inside `on()`: the listener may want what `on()` returns.
      const listening = set;
      let replayed = this.#replayed.get(type);
      if (!replayed) this.#replayed.set(type, (replayed = new Set()));
      const given = replayed;
      queueMicrotask(() => {
        // Given once, by whichever attachment's replay runs first while it is attached; not given if removed since.
        if (!listening.has(wrapped) || given.has(wrapped)) return;
        given.add(wrapped);
        for (const event of found) if (listening.has(wrapped)) this.#call(wrapped, event);
      });
    }
    return () => set.delete(wrapped);
  }

  /**
   * The guard has started: events go to listeners from now on, and what
   * start-up emitted is replayed to the listeners attached until `graceEnds`
   * calls back (the app's code right after `await createGuard(…)`).
   */
  opened(graceEnds: (end: () => void) => void): void {
    this.#starting = false;
    if (this.#startUp?.length === 0) {
      this.#startUp = undefined;
      return;
    }
    graceEnds(() => {
      this.#startUp = undefined;
      this.#replayed.clear();
    });
  }

  has(type: GuardEventType): boolean {
    return (this.#listeners.get(type)?.size ?? 0) > 0;
  }

  emit(event: GuardEvent): void {
    if (this.#starting) {
      this.#startUp?.push(event);
      return;
    }
    const set = this.#listeners.get(event.type);
    if (!set) return;
    for (const listener of set) this.#call(listener, event);
  }

  #call(listener: (event: GuardEvent) => void, event: GuardEvent): void {
    try {
      listener(event);
    } catch (error) {
      // A listener-error listener that throws too is dropped: reporting it would loop.
      if (event.type !== 'listener-error') this.#report(error, event.type);
    }
  }

  clear(): void {
    this.#listeners.clear();
    this.#startUp = undefined;
    this.#replayed.clear();
  }

  #report(error: unknown, type: Exclude<GuardEventType, 'listener-error'>): void {
    if (this.has('listener-error')) {
      this.emit({ type: 'listener-error', error, event: type });
      return;
    }
    try {
      // The error is the app's own (its listener threw it): shown as it is, with its stack.
      globalThis.console?.error(
        `pos-duplicate-guard: a "${type}" listener threw (listen to 'listener-error' to handle these yourself)`,
        error,
      );
    } catch {
      // No console, or a broken one: nowhere left to report to.
    }
  }
}
