import type { AttemptRecord, AttemptStatus, GuardStore, SaleKind } from './types.js';

/**
 * A store's records at start-up, most of them not built yet.
 *
 * Building 100k records (parse, strings, numbers, freezing) cost the file
 * store most of SPEC §8's 300 ms start-up budget, yet most of a till's
 * history is settled sales past their window that no decision reads again
 * before they expire. So a store may hand those over as columns: the few
 * fields the index files a record by, plus `decode` to build it the first
 * time a rule, a query or an update reads it. The guard still builds at once
 * every record a decision can match by fingerprint (open ones, approvals in
 * their window) and every approved refund (start-up repairs them).
 *
 * A store offers this through `LOAD_DEFERRED` instead of `load()`; stores
 * that do not are loaded as before. The protocol is internal (the file
 * store is its one user): the guard files deferred records by these
 * methods without checking them, and checks each record `decode` builds.
 */
export interface DeferredRecords {
  /** Deferred records are numbered `0 <= slot < slots`; only `live` ones count. */
  readonly slots: number;
  live(slot: number): boolean;
  id(slot: number): string;
  status(slot: number): AttemptStatus;
  kind(slot: number): SaleKind;
  updatedAt(slot: number): number;
  /** `NaN` where the record has none. */
  approvedAt(slot: number): number;
  /** The live slot holding `id`, or -1. */
  find(id: string): number;
  /** The live slots on this merchant's order, whatever their status. */
  ordersOf(merchantId: string, orderId: string): readonly number[];
  /** Builds the record of `slot`, frozen, with the fields the other methods report. */
  readonly decode: (slot: number) => AttemptRecord;
}

/** The store method the guard calls instead of `load()` when a store has it. */
export const LOAD_DEFERRED: unique symbol = Symbol.for('pos-duplicate-guard.loadDeferred');

/** A store's records at start-up: those built already, and the deferred rest. */
export interface LoadedRecords {
  records: readonly AttemptRecord[];
  deferred?: DeferredRecords;
}

export interface DeferringStore {
  [LOAD_DEFERRED](): Promise<Required<LoadedRecords>>;
}

export function canDefer(store: object): store is DeferringStore {
  return typeof (store as Partial<DeferringStore>)[LOAD_DEFERRED] === 'function';
}

/** A store's records at start-up: deferred where the store offers it, else every record built. */
export async function loadStore(store: GuardStore): Promise<LoadedRecords> {
  return canDefer(store) ? store[LOAD_DEFERRED]() : { records: await store.load() };
}

/** Every record, the deferred ones built: what `load()` returns for a store that defers. */
export function buildAll({ records: built, deferred }: Required<LoadedRecords>): AttemptRecord[] {
  const records = [...built];
  for (let slot = 0; slot < deferred.slots; slot++) if (deferred.live(slot)) records.push(deferred.decode(slot));
  return records;
}

/** The ids of every record, deferred ones included. */
export function allIds({ records, deferred }: LoadedRecords): string[] {
  const ids = records.map((record) => record.id);
  for (let slot = 0; deferred && slot < deferred.slots; slot++) if (deferred.live(slot)) ids.push(deferred.id(slot));
  return ids;
}
