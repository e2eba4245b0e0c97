import { maskCardNumbers, maskLongNumbers } from './pan.js';

/**
 * Free text that reaches storage or a log (processor messages, override
 * reasons, thrown errors, bad values quoted back) may carry card data the
 * caller never meant to pass — "Declined: card 4111.1111.1111.1111 exp 12/29".
 * It is masked on the way in.
 */

// Track 1 (%B<pan>^NAME^YYMM…?) and track 2 (;<pan>=YYMM…?, or D for = as
// EMV tag 57 writes it) as a card reader emits them: all of it is card data.
const TRACK = /%?B\d{12,19}\^[^^\n]{0,26}\^\d{4}[^\s?]*\??|;?\d{12,19}[=D]\d{4}[^\s?]*\??/g;
const EXPIRY = /\b(?:0[1-9]|1[0-2])\s?\/\s?(?:\d{2}|\d{4})\b/g;
// MMYY, MM-YY, MM.YYYY… are too common to mask alone, but not after "exp".
const NAMED_EXPIRY = /\b(exp(?:iry|ires|iration)?|valid\s+thru|good\s+thru)\b(\W{0,3})(?:0[1-9]|1[0-2])[/\-. ]?(?:\d{4}|\d{2})\b/gi;
const SECURITY_CODE = /\b(cvv2?|cvc2?|cvn|csc|cid|pin)\b(\W{0,3})\d{3,6}\b/gi;
const CARD_NUMBER = '[card number removed]';

/**
 * Masks card data in prose: track data, every card number and every other
 * number of 12 digits or more written like one (a mistyped card number is
 * still one; pan.ts says what "written like one" is, so amounts and dates
 * next to each other are not), expiry dates and security codes.
 */
export function redact(text: string): string {
  return text
    .replace(TRACK, '[track data removed]')
    .replace(/[^]+/, (all) => maskLongNumbers(all, CARD_NUMBER))
    .replace(EXPIRY, '[expiry removed]')
    .replace(NAMED_EXPIRY, '$1$2[expiry removed]')
    .replace(SECURITY_CODE, '$1$2[removed]');
}

/**
 * Masks track data and card numbers only (by the guard's rule, pan.ts),
 * leaving other digits alone. For a processor reference (`processorRef`),
 * whose digits reconciliation matches on — a 12-digit retrieval reference
 * number, a 28-digit wallet transaction id — and as the last safeguard on
 * every GuardError message, which may hold ids, amounts and times.
 */
export function redactCardNumbers(text: string): string {
  return maskCardNumbers(text.replace(TRACK, '[track data removed]'), CARD_NUMBER);
}

/**
 * A processor reference as it is kept: {@link redactCardNumbers}, except
 * that a reference of exactly 12 ASCII digits is kept whole. That is an
 * ISO 8583 retrieval reference number (field 37, YDDDHHNNNNNN), which
 * reconciliation matches on; 1 in 10 pass Luhn by chance, and no network
 * issues 12-digit card numbers in practice. A 12-digit number inside longer
 * text, or a card number of 13-19 digits, is still masked.
 */
export function redactProcessorRef(ref: string): string {
  return /^[0-9]{12}$/.test(ref) ? ref : redactCardNumbers(ref);
}
