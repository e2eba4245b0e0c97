import type { AttemptRecord } from '../../src/index.js';

/** A record as the guard writes it: no card data, only keyed hashes and BIN/last 4. */
export function sampleRecord(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    v: 1,
    id,
    idempotencyKey: `pdg_${id}_0123456789abcdef`,
    fingerprint: `fp_${id}`,
    merchantId: 'M-TEST',
    kind: 'sale',
    amount: 1250,
    currency: 'CNY',
    status: 'pending',
    createdAt: 1_767_225_600_000,
    updatedAt: 1_767_225_600_000,
    pendingSince: 1_767_225_600_000,
    refunded: 0,
    last4: '3446',
    ...patch,
  };
}
