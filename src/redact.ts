import { maskCardNumbers, maskLongNumbers } from './pan.js';

/**
 * Free text that reaches storage or a log (processor messages, override
 * reasons, thrown errors, bad values quoted back) may carry card data the
 * caller never meant to pass — "Declined: card 4111.1111.1111.1111 exp 12/29".
 * It is masked on the way in.
 */

// Track 1 (%B<pan>^NAME^YYMM…?) and track 2 (;<pan>=YYMM…?, or D for = as
// EMV tag 57 writes it) as a card reader emits them: all of it is card data.
// A reader may write track 1's number in groups ("%B4111 1111 1111 1111^…").
const TRACK = /%?B\d(?:[ -]?\d){11,18}\^[^^\n]{0,26}\^\d{4}[^\s?]*\??|;?\d{12,19}[=D]\d{4}[^\s?]*\??/g;
const EXPIRY = /\b(?:0[1-9]|1[0-2])\s?\/\s?(?:\d{2}|\d{4})\b/g;
// MMYY, MM-YY, MM.YYYY, YYYY-MM… are too common to mask alone, but not after
// a label: "exp", "exp12/29", "expiry date 1229", "valid thru", 有效期. The
// label may run onto the date; a word such as "expected" never matches (no
// digits follow "exp" in it), nor a full date ("expires 2026-12-31": a day
// follows, so it is no card's expiry).
const NAMED_EXPIRY =
  /(\bexp(?:iry|ires|iration)?(?:\s+date)?|\bvalid\s+thru|\bgood\s+thru|有效期(?:至|到)?)(\W{0,3})(?:(?:0[1-9]|1[0-2])[/\-. ]?(?:\d{4}|\d{2})|(?:19|20)\d{2}[/\-. ]?(?:0[1-9]|1[0-2]))(?![-/.]?\d)/gi;
// "CVV 123", "CVV is 123", "CVV number: 123", "security code: 1234", 安全码 123.
const SECURITY_CODE =
  /(\b(?:cvv2?|cvc2?|cvn|csc|cid|pin|security\s+code|card\s+code)(?:\s+(?:code|number|no|value))?\b|安全码|安全碼|验证码|驗證碼|校验码)((?:\s+(?:is|was|of))?\W{0,3})\d{3,6}(?!\d)/gi;
const CARD_NUMBER = '[card number removed]';

/**
 * Masks card data in prose: track data, every card number and every other
 * number of 12 digits or more written like one (a mistyped card number is
 * still one; pan.ts says what "written like one" is, so amounts and dates
 * next to each other are not), expiry dates and security codes. Control
 * characters are kept: free text is stored as typed, and whatever prints it
 * (the CLI, the reports) writes them out.
 */
export function redact(text: string): string {
  return text
    .replace(TRACK, '[track data removed]')
    .replace(/[^]+/, (all) => maskLongNumbers(all, CARD_NUMBER))
    .replace(EXPIRY, '[expiry removed]')
    .replace(NAMED_EXPIRY, '$1$2[expiry removed]')
    .replace(SECURITY_CODE, '$1$2[removed]');
}

/** What an identifier may not hold: any control character (tab and newline included) or bidi override (see sale.ts). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

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
