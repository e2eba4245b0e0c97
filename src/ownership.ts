/**
 * Who owns a resource in this process, for code that lets a newer owner take
 * a resource over from an older one (SPEC §6: a restart after a crash) and
 * fences the older: a guard over a store, a file store over a path, a lock
 * over a lock file. A resource has at most one owner; only the owner gives it
 * up, so an older owner closing late never frees what its successor holds.
 *
 *     const owners = Owners.weak<GuardStore, Guard>();
 *     const previous = owners.take(store, guard); // fence `previous`
 *     owners.holds(store, guard);                 // false once fenced
 *     owners.release(store, guard);               // on close: a no-op if fenced
 */

/** The part of `Map` and `WeakMap` the registry needs. */
interface Slots<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
  delete(key: K): boolean;
}

export class Owners<K, V> {
  readonly #slots: Slots<K, V>;

  /** Keys held strongly (a `Map`): for string keys, such as paths and lock files. */
  constructor(slots: Slots<K, V> = new Map<K, V>()) {
    this.#slots = slots;
  }

  /** Keys held weakly (a `WeakMap`): a resource nobody else references is not kept alive by its entry. */
  static weak<K extends object, V>(): Owners<K, V> {
    return new Owners<K, V>(new WeakMap<K, V>());
  }

  /** The current owner of `key`, if any. */
  owner(key: K): V | undefined {
    return this.#slots.get(key);
  }

  /** Whether `owner` owns `key` now (false once another took it over, or it released it). */
  holds(key: K, owner: V): boolean {
    return this.#slots.get(key) === owner;
  }

  /** `owner` takes `key` over. Returns the owner it took it from, to fence (and to hand back if the take fails). */
  take(key: K, owner: V): V | undefined {
    const previous = this.#slots.get(key);
    this.#slots.set(key, owner);
    return previous;
  }

  /**
   * `owner` gives `key` up, if it still owns it; `handBack` becomes the owner
   * again instead of none (a take-over that failed returns the resource to the
   * owner it fenced, when that one is still open). True if it owned `key`.
   */
  release(key: K, owner: V, handBack?: V): boolean {
    if (this.#slots.get(key) !== owner) return false;
    if (handBack === undefined) this.#slots.delete(key);
    else this.#slots.set(key, handBack);
    return true;
  }
}
