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

  on<T extends GuardEventType>(type: T, listener: Listener<T>): () => void {
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(EVENT_TYPES, type)) {
      fail(GuardInputError, 'INVALID_LISTENER', 'type', `must be one of ${Object.keys(EVENT_TYPES).join(', ')}`, type);
    }
    if (typeof listener !== 'function') fail(GuardInputError, 'INVALID_LISTENER', 'listener', 'must be a function', listener);
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    const wrapped = listener as (event: GuardEvent) => void;
    set.add(wrapped);
    return () => set.delete(wrapped);
  }

  has(type: GuardEventType): boolean {
    return (this.#listeners.get(type)?.size ?? 0) > 0;
  }

  emit(event: GuardEvent): void {
    const set = this.#listeners.get(event.type);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (error) {
        // A listener-error listener that throws too is dropped: reporting it would loop.
        if (event.type !== 'listener-error') this.#report(error, event.type);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
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
