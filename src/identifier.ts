/**
 * What an identifier (merchantId, terminalId, orderId, operator, refundOf)
 * must not hold beyond its type and length: one list for a Sale's fields
 * (sale.ts, as zod refinements) and createGuard's own ids (options.ts), so a
 * guard cannot be created with an id none of its own sales could carry.
 */
import { NO_CARD_NUMBER, containsCardNumber } from './pan.js';
import { UNPRINTABLE } from './redact.js';

export interface IdentifierRule {
  /** True when `text` breaks the rule. */
  readonly broken: (text: string) => boolean;
  /** The rule, for messages: "`field` RULE". */
  readonly rule: string;
}

export const IDENTIFIER_RULES: readonly IdentifierRule[] = [
  { broken: (text) => text.trim() !== text, rule: 'must not have leading or trailing spaces' },
  // Identifiers are stored, indexed and shown as they are. One holding a card
  // number (a PAN scanned into the order field) is refused, not masked: two
  // masked ids could then match each other.
  { broken: containsCardNumber, rule: NO_CARD_NUMBER },
  // Shown on screens and in reports as it is: an ESC sequence or a bidi override would rewrite them.
  { broken: (text) => UNPRINTABLE.test(text), rule: 'must not contain control characters or bidirectional overrides' },
];
