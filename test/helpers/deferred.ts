import type { DeferredRecords } from '../../src/deferred.js';
import type { AttemptRecord } from '../../src/types.js';

/** `deferred`'s methods on a plain object, with its `decode` replaced: to count builds, or to make one fail. */
export function withDecode(deferred: DeferredRecords, decode: (slot: number) => AttemptRecord): DeferredRecords {
  return {
    slots: deferred.slots,
    live: (slot) => deferred.live(slot),
    id: (slot) => deferred.id(slot),
    status: (slot) => deferred.status(slot),
    kind: (slot) => deferred.kind(slot),
    updatedAt: (slot) => deferred.updatedAt(slot),
    approvedAt: (slot) => deferred.approvedAt(slot),
    find: (id) => deferred.find(id),
    ordersOf: (merchantId, orderId) => deferred.ordersOf(merchantId, orderId),
    decode,
  };
}
