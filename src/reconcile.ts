/**
 * `pos-duplicate-guard/reconcile`: the guard's attempts against the
 * processor's records (对账). Its own entry point: matching and
 * file reading add nothing to the core bundle; the core's part is
 * `guard.applyReconciliation(report)`, which only settles.
 *
 * @example
 * import { reconcile, readTransactions } from 'pos-duplicate-guard/reconcile';
 * const transactions = await readTransactions('settlement.csv', { format: 'wechat' });
 * const report = reconcile(await guard.attempts(), transactions, { tolerance: '2m', window: '10m' });
 * await guard.applyReconciliation(report); // settles what the processor's records prove
 *
 * @module pos-duplicate-guard/reconcile
 */
export { reconcile, FINDING_CODES } from './reconcile/match.js';
export type { ReconcileOptions } from './reconcile/match.js';
export { readTransactions, parseTransactions } from './reconcile/read.js';
export type { ReadTransactionsOptions } from './reconcile/read.js';
export { TRANSACTION_FORMATS } from './reconcile/presets.js';
export type { TransactionFormat } from './reconcile/presets.js';
export { toMinorUnits, currencyExponent } from './reconcile/amount.js';
export type {
  AppliedFinding,
  Finding,
  FindingAction,
  FindingCode,
  FindingTotal,
  ProcessorTransaction,
  ReconcileReport,
} from './reconcile/types.js';
