/**
 * What a card number looks like, in a `card.pan` and anywhere else: the one
 * definition that validation (card.ts), identifiers (sale.ts, options.ts)
 * and masking (redact.ts) share, so no two of them can disagree.
 */

/** Luhn mod-10 over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * What the guard takes as a card number: 12-19 digits that pass Luhn, or a
 * China UnionPay number (62…), not all of which do.
 */
export function isCardNumber(digits: string): boolean {
  return /^\d{12,19}$/.test(digits) && (digits.startsWith('62') || luhnValid(digits));
}

/**
 * The rule an identifier (orderId, operator, merchantId…) must meet, for
 * messages. By this rule an all-digit id of 12-19 digits that passes Luhn
 * cannot be told from a card number, and is refused like one.
 */
export const NO_CARD_NUMBER =
  'must not contain a card number (12-19 digits that pass the Luhn check, or a UnionPay 62… number, however separated): card numbers are never stored';

// A digit as typed: ASCII, or full-width from a CJK input method.
const DIGIT = '[0-9\\uff10-\\uff19]';
// What people and systems put between the digits of a card number: any
// space (no-break, ideographic, zero-width), dashes, dots, slashes and
// underscores, ASCII or full-width. Not commas or colons: amounts and
// times use them, and a card number is never written with them.
const SEPARATOR = '[\\s\\u200b-\\u200d\\u2060\\-\\u2010-\\u2015\\u2212\\ufe58\\ufe63\\uff0d._\\u00b7\\u2022\\u30fb\\u3002\\uff0e/\\\\\\uff0f]';

/** Digits with at most 3 separators between each two: how a card number is written. */
export const DIGIT_RUN = new RegExp(`${DIGIT}(?:${SEPARATOR}{0,3}${DIGIT})*`, 'g');
/** A run holding 12 digits or more: masked whole in free text (redact.ts). */
export const LONG_DIGIT_RUN = new RegExp(`${DIGIT}(?:${SEPARATOR}{0,3}${DIGIT}){11,}`, 'g');
const GROUP = new RegExp(`${DIGIT}+`, 'g');

/** Full-width digits as ASCII. */
export function asciiDigits(text: string): string {
  return text.replace(/[\uff10-\uff19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
}

/**
 * Where the card numbers are in one digit run: the [start, end) spans of
 * the consecutive digit groups that together make one. Groups are judged
 * whole ("20260301-4111111111111111" holds one, its second group), so an
 * order number of 20 digits or more is never mistaken for a card number
 * that happens to sit inside it.
 */
function cardSpans(run: string): [number, number][] {
  const groups = [...run.matchAll(GROUP)].map((m) => ({ start: m.index, end: m.index + m[0].length, digits: asciiDigits(m[0]) }));
  const spans: [number, number][] = [];
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    for (let j = i; j < groups.length && digits.length < 19; j++) {
      digits += (groups[j] as (typeof groups)[number]).digits;
      if (isCardNumber(digits)) spans.push([(groups[i] as (typeof groups)[number]).start, (groups[j] as (typeof groups)[number]).end]);
    }
  }
  return spans;
}

/** `text` with every card number (by {@link isCardNumber}, however written) replaced by `mask`. */
export function maskCardNumbers(text: string, mask: string): string {
  return text.replace(DIGIT_RUN, (run) => {
    const spans = cardSpans(run);
    if (spans.length === 0) return run;
    // Overlapping spans merge: one mask for one number, however it was found.
    const hidden = new Uint8Array(run.length);
    for (const [start, end] of spans) hidden.fill(1, start, end);
    let out = '';
    for (let i = 0; i < run.length; i++) {
      if (!hidden[i]) out += run[i];
      else if (i === 0 || !hidden[i - 1]) out += mask;
    }
    return out;
  });
}

/** True when `text` holds a card number, however written. */
export function containsCardNumber(text: string): boolean {
  for (const run of text.match(DIGIT_RUN) ?? []) if (run.length >= 12 && cardSpans(run).length > 0) return true;
  return false;
}
