/**
 * A till for reconciliation tests: attempts made through the public API
 * (createGuard over a memoryStore, on a clock the test moves), and
 * processor transactions built beside them.
 */
import { createGuard, memoryStore, type AttemptRecord, type Guard, type GuardStore } from '../../src/index.js';
import type { ProcessorTransaction } from '../../src/reconcile.js';
import { ManualClock, SECRET, START } from './guard.js';

export type Ending = 'approved' | 'declined' | 'unknown' | 'pending' | 'cancelled' | 'voided';

export interface Till {
  guard: Guard;
  clock: ManualClock;
  /** Begins a sale (card ending `last4`) and settles it as `ending`; the clock then moves on `gapMs`. */
  sale(
    amount: number,
    ending: Ending,
    options?: { last4?: string; currency?: string; gapMs?: number; authCode?: string; processorRef?: string },
  ): Promise<AttemptRecord>;
  attempts(): Promise<AttemptRecord[]>;
}

export async function till(
  options: { store?: GuardStore; clock?: ManualClock; terminalId?: string; pendingTimeout?: string; window?: string } = {},
): Promise<Till> {
  const clock = options.clock ?? new ManualClock();
  const guard = await createGuard({
    merchantId: 'M-0001',
    ...(options.terminalId ? { terminalId: options.terminalId } : {}),
    secret: SECRET,
    store: options.store ?? memoryStore(),
    clock,
    pendingTimeout: options.pendingTimeout ?? '1h',
    ...(options.window ? { window: options.window } : {}),
  });
  let n = 0;
  return {
    guard,
    clock,
    async sale(amount, ending, { last4 = String(1000 + (n++ % 9000)), currency = 'CNY', gapMs = 1_000, authCode, processorRef } = {}) {
      const decision = await guard.begin({
        amount,
        currency,
        card: { last4 },
        ...(options.terminalId ? { terminalId: options.terminalId } : {}),
      });
      const attempt = decision.attempt;
      if (!attempt) throw new Error(`begin answered ${decision.verdict}: ${decision.reasons.map((r) => r.code).join(', ')}`);
      if (ending !== 'pending') {
        const details = { ...(authCode ? { authCode } : {}), ...(processorRef ? { processorRef } : {}) };
        if (ending === 'voided') {
          await guard.settle(attempt.id, { status: 'approved', ...details });
          await guard.settle(attempt.id, { status: 'voided' });
        } else await guard.settle(attempt.id, { status: ending, ...details });
      }
      const record = (await guard.get(attempt.id))!;
      clock.advance(gapMs);
      return record;
    },
    attempts: () => guard.attempts(),
  };
}

let serial = 0;

/** A succeeded charge of `attempt` (by default: by reference, at its pendingSince + 5 s). */
export function chargeOf(attempt: AttemptRecord, fields: Partial<ProcessorTransaction> = {}): ProcessorTransaction {
  return {
    id: `ch_${++serial}`,
    type: 'charge',
    status: 'succeeded',
    amount: attempt.amount,
    currency: attempt.currency,
    at: attempt.pendingSince + 5_000,
    reference: attempt.idempotencyKey,
    ...(attempt.last4 ? { last4: attempt.last4 } : {}),
    ...fields,
  };
}

export function transaction(fields: Partial<ProcessorTransaction> & Pick<ProcessorTransaction, 'type'>): ProcessorTransaction {
  return { id: `tx_${++serial}`, status: 'succeeded', amount: 1250, currency: 'CNY', at: START, ...fields };
}

export { START };
