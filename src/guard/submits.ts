/**
 * The charges whose `submit` is out: the processor is working on them, so
 * no one in this process may ask it about them (SPEC §10's `recover` would
 * hear "not found" for a charge still on its way, and free the sale for a
 * second charge). Kept per store, process-wide, as the tries in progress
 * are: a guard that took the store over (a re-login, a hot reload) sees what
 * its predecessor still has out.
 */
import type { GuardStore } from '../types.js';
import { lineage, type GuardContext } from './context.js';

interface Submit {
  /** The guard whose `charge` submitted it: close() waits for its own. */
  readonly ctx: GuardContext;
  /** Settles once the charge recorded its answer (or gave up on it). */
  readonly done: Promise<unknown>;
}

const out = new WeakMap<GuardStore, Map<string, Submit>>();

function submitsOf(store: GuardStore): Map<string, Submit> {
  let map = out.get(store);
  if (!map) out.set(store, (map = new Map<string, Submit>()));
  return map;
}

/** Whether a `charge` in this process has attempt `id` out with the processor. */
export function isSubmitting(ctx: GuardContext, id: string): boolean {
  // Over this store, or a store it superseded (the file a guard before a hot reload is still charging on).
  return lineage(ctx.o.store).some((store) => submitsOf(store).has(id));
}

/** Registers `done` as attempt `id`'s charge, until it settles; resolves what `done` does. */
export function submitting<T>(ctx: GuardContext, id: string, done: Promise<T>, after: () => void): Promise<T> {
  const map = submitsOf(ctx.o.store);
  const entry: Submit = { ctx, done };
  map.set(id, entry);
  void done
    .finally(() => {
      if (map.get(id) === entry) map.delete(id);
      after();
    })
    .catch(() => undefined);
  return done;
}

/** What close() waits for: the charges `ctx` has out, their answers recorded. */
export function submitsOfGuard(ctx: GuardContext): Promise<unknown>[] {
  return [...submitsOf(ctx.o.store).values()].filter((entry) => entry.ctx === ctx).map((entry) => entry.done);
}
