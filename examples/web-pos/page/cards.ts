/**
 * The test cards on the till, as a PIN pad or wallet would report them: BIN
 * and last 4, or a wallet token. Never a full card number: the guard does not
 * need one to fingerprint a card (and a repo hook flags card-number-like
 * literals outside tests).
 */
import type { CardInput } from '../../../src/index.js';

export interface TestCard {
  id: string;
  brand: string;
  card: CardInput;
  /** What the processor request and the screen show; none for a wallet token. */
  last4?: string;
}

export const TEST_CARDS: readonly TestCard[] = [
  { id: 'visa', brand: 'Visa', card: { bin: '411111', last4: '1111' }, last4: '1111' },
  { id: 'mastercard', brand: 'Mastercard', card: { bin: '555555', last4: '4444' }, last4: '4444' },
  { id: 'unionpay', brand: 'UnionPay', card: { bin: '622202', last4: '3446' }, last4: '3446' },
  { id: 'wallet', brand: 'Wallet', card: { token: 'wallet_tok_demo_7f3a9c' } },
];
