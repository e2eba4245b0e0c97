import { NAME } from './scratch.js';

/** Uses every entry point for real, so a type that collapsed to `any` shows up as an unused @ts-expect-error. */
export const CONSUMER = `
import { createGuard, memoryStore, isGuardError, GuardInputError, Guard, type Decision, type Sale } from '${NAME}';
import { fileStore, readJournal } from '${NAME}/node';
import { indexedDbStore } from '${NAME}/idb';
import { postgresStore, type PgPool } from '${NAME}/postgres';
import { reconcile, FINDING_CODES, type TransactionFormat } from '${NAME}/reconcile';
import { runScenario, loadScenarios, type Scenario } from '${NAME}/testing';

export async function checkout(): Promise<Decision['verdict']> {
  const guard = await createGuard({ merchantId: 'M-1', secret: 'a-secret-of-32-characters-at-least', store: memoryStore() });
  const sale: Sale = { amount: 1250, currency: 'EUR', card: { pan: '4242424242424242' } };
  // @ts-expect-error an amount is a number of minor units, not a string
  const wrong: Sale = { amount: '12.50', currency: 'EUR', card: { pan: '4242424242424242' } };
  // @ts-expect-error a card is exactly one of pan, token or last4
  const both: Sale = { amount: 1, currency: 'EUR', card: { pan: '4242424242424242', token: 'tok' } };
  void [wrong, both];
  const decision = await guard.begin(sale);
  await guard.close();
  return decision.verdict;
}

export const stores = [fileStore('/tmp/guard.jsonl'), indexedDbStore()] as const;
export const shared = (pool: PgPool) => postgresStore({ pool });
export const codes: readonly string[] = FINDING_CODES;
export const format: TransactionFormat = 'wechat';
// @ts-expect-error a guard comes from createGuard only: one never hydrated would answer from an empty history
export const unhydrated = () => new Guard();
// @ts-expect-error not a settlement format
export const notAFormat: TransactionFormat = 'paypal';
export const report = reconcile([], []);
export const scenarios: Promise<Array<{ scenario: Scenario }>> = loadScenarios('scenarios');
export const result = (scenario: Scenario) => runScenario(scenario);
export const journal = readJournal('/tmp/guard.jsonl');
export const isError = (error: unknown): boolean => isGuardError(error) && error instanceof GuardInputError;
`;

/** One scratch tsconfig per module resolution; `files` picks the consumer copy whose extension gives the module kind. */
export const RESOLUTIONS = {
  node16: { module: 'node16', moduleResolution: 'node16', files: ['consumer.mts', 'consumer.cts'] },
  node10: { module: 'commonjs', moduleResolution: 'node10', files: ['consumer.ts'] },
  bundler: { module: 'esnext', moduleResolution: 'bundler', files: ['consumer.ts'] },
} as const;
