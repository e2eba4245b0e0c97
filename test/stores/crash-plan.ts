/**
 * The script the crash child follows, shared with the parent so both agree
 * on what sale number k is and how it should end.
 */
import type { GuardOptions, Sale } from '../../src/index.js';
import type { FileStoreOptions } from '../../src/node.js';

export const CRASH_GUARD = {
  merchantId: 'M-CRASH',
  secret: 'crash-test-secret-0123456789abcdef',
  // Long enough that nothing pending turns stale on its own during the run:
  // every `unknown` the parent sees comes from a crash or a planned settle.
  pendingTimeout: '10m',
} satisfies Omit<GuardOptions, 'store'>;

// Small thresholds so compactions happen (and get killed) during the run.
export const CRASH_STORE: FileStoreOptions = { compactAfter: { deadLines: 150, deadRatio: 0.5 } };

const CARDS = ['4111 1111 1111 1111', '6222 0202 0011 2233 446'] as const;

/** Sale k: a distinct amount per k, so every sale has its own fingerprint. */
export function saleFor(k: number): Sale {
  return { amount: 100 + k, currency: 'CNY', card: { pan: CARDS[k % 2] as string } };
}

/** How the processor answers sale k: half approved, three in ten declined, two in ten lost. */
export function plannedOutcome(k: number): 'approved' | 'declined' | 'unknown' {
  const slot = k % 10;
  return slot < 5 ? 'approved' : slot < 8 ? 'declined' : 'unknown';
}
