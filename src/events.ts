import type { GuardEvent, GuardEventOf, GuardEventType } from './types.js';

export type Listener<T extends GuardEventType> = (event: GuardEventOf<T>) => void;

/** A typed event emitter. A throwing listener never breaks a charge: its error is rethrown on its own. */
export class Emitter {
  readonly #listeners = new Map<GuardEventType, Set<(event: GuardEvent) => void>>();

  on<T extends GuardEventType>(type: T, listener: Listener<T>): () => void {
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
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
