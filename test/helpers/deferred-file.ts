import type { DeferredRecords } from '../../src/deferred.js';
import { parseLine } from '../../src/stores/file/jsonl.js';
import type { AttemptRecord } from '../../src/types.js';

/**
 * A file store's lines handed over through the deferred protocol of
 * src/deferred.ts, which the file store no longer speaks (it keeps history
 * instead: get, byOrder, prune): the last line of each record, every record
 * deferred and built from its line, a new object, each time it is decoded.
 * For the core's tests of that protocol, until the core drops it.
 */
export function replay(bytes: Buffer): { live: { records: AttemptRecord[]; deferred: DeferredRecords }; meta: Map<string, string> } {
  const latest = new Map<string, string>();
  const meta = new Map<string, string>();
  for (const text of bytes.toString('utf8').split('\n')) {
    const line = text === '' ? 'empty' : parseLine(text);
    if (typeof line === 'string') continue;
    if (line.op === 'record') latest.delete(line.record.id), latest.set(line.record.id, text);
    else if (line.op === 'delete') latest.delete(line.id);
    else if (line.op === 'meta') meta.set(line.key, line.value);
  }
  const lines = [...latest.values()];
  const decode = (slot: number): AttemptRecord => (parseLine(lines[slot] as string) as { record: AttemptRecord }).record;
  const records = lines.map((_, slot) => decode(slot));
  const at = (slot: number) => records[slot] as AttemptRecord;
  const deferred: DeferredRecords = {
    slots: records.length,
    live: () => true,
    id: (slot) => at(slot).id,
    status: (slot) => at(slot).status,
    kind: (slot) => at(slot).kind,
    updatedAt: (slot) => at(slot).updatedAt,
    approvedAt: (slot) => at(slot).approvedAt ?? Number.NaN,
    find: (id) => records.findIndex((record) => record.id === id),
    ordersOf: (merchantId, orderId) => records.flatMap((record, slot) => (record.merchantId === merchantId && record.orderId === orderId ? [slot] : [])),
    decode,
  };
  return { live: { records: [], deferred }, meta };
}
