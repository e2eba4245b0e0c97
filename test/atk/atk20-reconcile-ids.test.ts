/**
 * atk20: reconcile's report now names transactions through
 * redactProcessorRef. A processor whose transaction ids are all digits (an
 * Adyen PSP reference: 16 digits, 1 in 10 pass Luhn, as transactions.ts
 * itself says) gets ids that are masked, so two distinct charges read the
 * same: the till cannot tell which one to refund.
 */
import { describe, expect, test } from 'vitest';
import { reconcile } from '../../src/reconcile.js';
import { luhnValid } from '../../src/pan.js';
import { SECOND } from '../helpers/guard.js';
import { chargeOf, till } from '../helpers/till.js';

// Two 16-digit PSP references that pass Luhn (as 1 in 10 do).
function luhnId(prefix: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(prefix + d)) return prefix + d;
  throw new Error('unreachable');
}
const PSP1 = luhnId('881565896176525');
const PSP2 = luhnId('881565896176631');

describe('atk20: transaction ids in a reconcile report', () => {
  test('CHARGED_TWICE with two all-digit PSP references: the report names each charge as the processor does, so the extra one can be refunded', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved');
    const one = chargeOf(a, { id: PSP1 });
    const two = chargeOf(a, { id: PSP2, at: a.pendingSince + 30 * SECOND });
    const report = reconcile(await t.attempts(), [one, two]);
    const finding = report.findings.find((f) => f.code === 'CHARGED_TWICE');
    expect(finding).toBeDefined();
    // Two distinct transactions stay distinct: the action is "refund-one", which one must be said.
    expect(new Set(finding!.transactions).size).toBe(2);
    expect(finding!.transactions).toEqual([PSP1, PSP2]);
  });

  test('UNKNOWN_WAS_CHARGED by an all-digit PSP reference: the report gives the id that the processor lists', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const charge = chargeOf(a, { id: PSP1 });
    const report = reconcile(await t.attempts(), [charge]);
    expect(report.findings.map((f) => f.transactions)).toEqual([[PSP1]]);
  });
});
