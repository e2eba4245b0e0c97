/**
 * Free text that reaches storage or a log (processor messages, thrown errors,
 * bad values quoted back) may carry card data the caller never meant to pass
 * — "Declined: card 4111 1111 1111 1111 exp 12/29". It is masked on the way in.
 */
const CARD_NUMBER = /\d(?:[ -]?\d){11,18}/g;
const EXPIRY = /\b(?:0[1-9]|1[0-2])\s?\/\s?(?:\d{2}|\d{4})\b/g;
const SECURITY_CODE = /\b(cvv2?|cvc2?|csc|cid|pin)\b(\W{0,3})\d{3,6}\b/gi;

export function redact(text: string): string {
  return text
    .replace(CARD_NUMBER, '[card number removed]')
    .replace(EXPIRY, '[expiry removed]')
    .replace(SECURITY_CODE, '$1$2[removed]');
}
