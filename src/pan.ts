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
 * China UnionPay number (62…, 16-19 digits: its card lengths), not all of
 * which do. A 12-15 digit number starting 62 is a card number only if it
 * passes Luhn: an ISO 8583 retrieval reference (YDDDHHNNNNNN) issued on
 * days 200-299 of a year ending in 6 starts with 62 and is none.
 */
export function isCardNumber(digits: string): boolean {
  return /^\d{12,19}$/.test(digits) && ((digits.startsWith('62') && digits.length >= 16) || luhnValid(digits));
}

/**
 * The rule an identifier (orderId, operator, merchantId…) must meet, for
 * messages. By this rule an all-digit id of 12-19 digits that passes Luhn
 * cannot be told from a card number, and is refused like one.
 */
export const NO_CARD_NUMBER =
  'must not contain a card number (12-19 digits that pass the Luhn check, or a UnionPay 62… number of 16-19 digits, however written): card numbers are never stored';

/*
 * How a card number is written, and so what is looked for in free text.
 *
 * A digit is any Unicode decimal digit (\p{Nd}: ASCII, full-width,
 * Arabic-Indic, Extended Arabic-Indic, Devanagari…), and the superscript,
 * subscript and circled digits a keyboard or a copy from a PDF produces. Each
 * is read as its value 0-9.
 *
 * Between two digits, two kinds of separator:
 * - invisible ones (format characters such as the soft hyphen, LRM/RLM, zero
 *   width spaces, U+180E, and combining marks: an accent or a keycap on a
 *   digit), any number of them. They do not split a group of digits.
 * - visible ones: any space, any dash, dots, slashes, underscores, middle
 *   dots, `+` (a space, form-encoded) and a percent-escape (`%20`, whatever
 *   it encodes, URL-encoded). At most five in a row; they split the digits
 *   into groups. Not commas or colons: amounts and times use them, and a
 *   card number is never written with them.
 *
 * A card number is written whole or in card groupings, so separated groups
 * are read as one number only when they look like one: every group of 3
 * digits or more (4-4-4-4, 4-6-5, 6-13…), or every group a single digit
 * (4 1 1 1 …), or groups of four with a shorter last group (4-4-4-1 for
 * 13 digits). "100.00 / 150.00 / 200.00" or "2026.03.01 500.00" are not.
 */
// Superscript, subscript and circled digits, each at the index of its value mod 10.
const OTHER_DIGITS = '⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉⓪①②③④⑤⑥⑦⑧⑨';
const DIGIT_CLASS = `\\p{Nd}${OTHER_DIGITS}`;
const DIGIT = `[${DIGIT_CLASS}]`;
const INVISIBLE = '[\\p{Cf}\\p{M}\\u180e]';
const VISIBLE =
  '(?:[\\s\\p{Zs}\\p{Pd}\\u2212\\u30fc\\uff70._\\u00b7\\u2022\\u2027\\u30fb\\u3002\\uff0e/\\\\\\uff0f+\\uff0b]|%[0-9A-Fa-f]{2})';
const GAP = `${INVISIBLE}*(?:${VISIBLE}${INVISIBLE}*){0,5}`;

/** Digits with separators between them as a card number is written (see above). */
export const DIGIT_RUN = new RegExp(`${DIGIT}(?:${GAP}${DIGIT})*`, 'gu');
/** One group of a run: digits with only invisible characters between them; a percent-escape is skipped. */
const GROUP = new RegExp(`%[0-9A-Fa-f]{2}|${DIGIT}(?:${INVISIBLE}*${DIGIT})*`, 'gu');
const ANY_DIGIT = new RegExp(DIGIT, 'gu');
const ND = /\p{Nd}/u;

/**
 * The value of one digit character. Unicode assigns decimal digits (\p{Nd})
 * only in runs of ten, 0 to 9 (its stability policy), some runs adjacent:
 * the value is the distance from the start of the run, mod 10.
 */
function digitValue(ch: string): number {
  const other = OTHER_DIGITS.indexOf(ch);
  if (other >= 0) return other % 10;
  let cp = ch.codePointAt(0) as number;
  let back = 0;
  while (back < 100 && ND.test(String.fromCodePoint(cp - 1))) {
    cp--;
    back++;
  }
  return back % 10;
}

/** Every digit in `text`, of any script (see above), as ASCII; other characters as they are. */
export function asciiDigits(text: string): string {
  return text.replace(ANY_DIGIT, (d) => (d >= '0' && d <= '9' ? d : String(digitValue(d))));
}

interface Group {
  start: number;
  end: number;
  digits: string;
}

function groupsOf(run: string): Group[] {
  const groups: Group[] = [];
  for (const m of run.matchAll(GROUP)) {
    if (m[0].startsWith('%')) continue;
    groups.push({ start: m.index, end: m.index + m[0].length, digits: asciiDigits(m[0]).replace(/[^0-9]/g, '') });
  }
  return groups;
}

/** Whether groups[i..j] (inclusive) are written as a card number is: see above. */
function cardGrouped(groups: Group[], i: number, j: number): boolean {
  if (i === j) return true;
  let allSingle = true;
  let allLong = true;
  let foursThenShort = (groups[j] as Group).digits.length <= 2;
  for (let k = i; k <= j; k++) {
    const n = (groups[k] as Group).digits.length;
    if (n !== 1) allSingle = false;
    if (n < 3) allLong = false;
    if (k < j && n !== 4) foursThenShort = false;
  }
  return allSingle || allLong || foursThenShort;
}

/**
 * Where the card numbers are in one digit run: the [start, end) spans of
 * the consecutive digit groups that together make one. Groups are judged
 * whole (a date, a dash and a 16-digit card number hold one: the second
 * group), so an
 * order number of 20 digits or more is never mistaken for a card number
 * that happens to sit inside it.
 */
function cardSpans(groups: Group[]): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    for (let j = i; j < groups.length && digits.length < 19; j++) {
      digits += (groups[j] as Group).digits;
      if (isCardNumber(digits) && cardGrouped(groups, i, j)) spans.push([(groups[i] as Group).start, (groups[j] as Group).end]);
    }
  }
  return spans;
}

/**
 * The spans of a run holding 12 digits or more written as a card number is
 * (see above), Luhn or not: what redact() masks in prose, where a mistyped
 * card number is still one. Each maximal stretch of card-grouped groups.
 */
function longSpans(groups: Group[]): [number, number][] {
  const spans: [number, number][] = [];
  const size = (k: number): number => (groups[k] as Group).digits.length;
  let i = 0;
  while (i < groups.length) {
    let j = i;
    if (size(i) === 1) while (j + 1 < groups.length && size(j + 1) === 1) j++;
    else if (size(i) >= 3) {
      while (j + 1 < groups.length && size(j + 1) >= 3) j++;
      // 4-4-4-1, 4-4-4-4-2…: a shorter last group after fours.
      if (j + 1 < groups.length && size(j + 1) <= 2 && j - i >= 2 && size(j) === 4 && size(j - 1) === 4 && size(j - 2) === 4) j++;
    }
    let digits = 0;
    for (let k = i; k <= j; k++) digits += size(k);
    if (digits >= 12) spans.push([(groups[i] as Group).start, (groups[j] as Group).end]);
    i = j + 1;
  }
  return spans;
}

function masked(text: string, mask: string, find: (groups: Group[]) => [number, number][]): string {
  return text.replace(DIGIT_RUN, (run) => {
    const spans = find(groupsOf(run));
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

/** `text` with every card number (by {@link isCardNumber}, however written) replaced by `mask`. */
export function maskCardNumbers(text: string, mask: string): string {
  return masked(text, mask, cardSpans);
}

/**
 * `text` with every card number and every other number of 12 digits or more
 * written like one (a mistyped card number is still one) replaced by `mask`.
 */
export function maskLongNumbers(text: string, mask: string): string {
  return masked(text, mask, (groups) => [...longSpans(groups), ...cardSpans(groups)]);
}

/**
 * True when `text` is ASCII (nothing above `~`) with fewer than 12 digits:
 * no card number can be written in it, as in ASCII the only digits are 0-9
 * and a card number has 12 or more. Most identifiers are (`ORD-1042`,
 * `op-7`): they skip the Unicode-wide reading below, two regular
 * expressions per call.
 */
function tooFewDigits(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7e) return false;
    if (code >= 0x30 && code <= 0x39 && ++digits >= 12) return false;
  }
  return true;
}

/** True when `text` holds a card number, however written. */
export function containsCardNumber(text: string): boolean {
  if (tooFewDigits(text)) return false;
  for (const run of text.match(DIGIT_RUN) ?? []) if (cardSpans(groupsOf(run)).length > 0) return true;
  return false;
}
