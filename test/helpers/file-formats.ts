/**
 * Lines of the file store's format version 2, written by hand as the
 * previous release wrote them: what the migration tests open.
 */
import type { AttemptRecord } from '../../src/index.js';

export const v2Header = JSON.stringify({ op: 'header', format: 'pos-duplicate-guard/file', version: 2 });
/** A version 2 record line: an array of the fields by position, the rare ones in a trailing object. */
export function v2Line(r: AttemptRecord): string {
  const fields = [
    r.id,
    r.fingerprint,
    r.status,
    r.kind,
    r.amount,
    r.currency,
    r.merchantId,
    r.createdAt,
    r.updatedAt,
    r.pendingSince,
    r.refunded,
    r.approvedAt,
    r.authCode,
    r.bin,
    r.last4,
    r.orderId,
    r.terminalId,
  ];
  const rare = Object.fromEntries(
    Object.entries({
      idempotencyKey: r.idempotencyKey === r.id ? undefined : r.idempotencyKey,
      operator: r.operator,
      orderTotal: r.orderTotal,
      refundOf: r.refundOf,
      processorRef: r.processorRef,
      code: r.code,
      message: r.message,
      override: r.override,
      refunds: r.refunds,
    }).filter(([, v]) => v !== undefined),
  );
  const line: unknown[] = [1, ...fields.map((v) => v ?? null)];
  if (Object.keys(rare).length > 0) line.push(rare);
  else while (line[line.length - 1] === null) line.pop();
  return JSON.stringify(line);
}
