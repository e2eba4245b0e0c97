import { AT, POSITION_TYPES, RARE_FIELDS, RARE_FIELD_TYPES } from './layout.js';

/**
 * A byte-level reader for the common record line, so start-up can file a
 * record without `JSON.parse` and without building it (see `DeferredRecords`
 * in ../../deferred.ts). At 100k attempts, parsing every line and building
 * every record was two thirds of start-up; most of those records are never
 * read again before they expire.
 *
 * It accepts a strict subset of version 2 record lines, the ones the guard
 * writes for ordinary sales, declines, voids and refunds: printable ASCII
 * strings without escapes, integers without sign, fraction or exponent,
 * `null`, no whitespace, and a flat object of rare fields (processorRef,
 * code, message, operator, orderTotal, refundOf) but no override or refund
 * list. For such a line `JSON.parse` yields exactly the bytes between the
 * quotes and the digits' value, and every field has the type
 * `recordProblem` asks for, so the line decodes later without fail. Any
 * other line returns `-1` and goes the `JSON.parse` way at once: this
 * reader decides speed, never meaning.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const N = 0x6e;
const BRACE = 0x7b;
const BRACE_CLOSE = 0x7d;
const COLON = 0x3a;

/** The positional fields of a line (the layout tag and the record fields); the rare fields' object follows them. */
const MAX_FIELDS = POSITION_TYPES.length;
/** The length `starts` and `ends` must have. */
export const FIELD_SLOTS = MAX_FIELDS + 1;
/** Up to `refunded`: `recordLine` never leaves off a field before it. */
const MIN_FIELDS = AT.refunded + 1;
/** Integers of up to 15 digits are exact in a double, as `JSON.parse` reads them. */
const MAX_DIGITS = 15;

const NUMBER = 1;
const STRING = 2;
const NULL = 3;
const CODE = { number: NUMBER, string: STRING, 'number?': NUMBER | (NULL << 2), 'string?': STRING | (NULL << 2) } as const;
/** What each position must hold for the line to be taken: a number, a string, or either with null. */
const NEEDS: readonly number[] = POSITION_TYPES.map((type) => CODE[type]);

/**
 * Where each field of the line in `bytes[start, end)` is: a string's
 * content, a number's digits, `start[i] = -1` for `null`, or for the rare
 * fields' object (field 18) its braces. Returns how many fields the line
 * has, or -1 when the line is not one this reader takes.
 */
export function scanRecordLine(bytes: Uint8Array, start: number, end: number, starts: Int32Array, ends: Int32Array): number {
  if (bytes[start] !== OPEN) return -1;
  let at = start + 1;
  let field = 0;
  for (;;) {
    const c = bytes[at];
    if (field === MAX_FIELDS) {
      // Only the rare fields' object may follow the positional ones.
      if (c !== BRACE) return -1;
      const close = scanRareFields(bytes, at, end);
      if (close < 0) return -1;
      starts[field] = at;
      ends[field] = at = close + 1;
    } else {
      const need = NEEDS[field] as number;
      if (c === QUOTE) {
        const close = (need & 3) === STRING ? scanString(bytes, at, end) : -1;
        if (close < 0) return -1;
        starts[field] = at + 1;
        ends[field] = close;
        at = close + 1;
      } else if (c === N) {
        if (need >> 2 !== NULL || bytes[at + 1] !== 0x75 || bytes[at + 2] !== 0x6c || bytes[at + 3] !== 0x6c) return -1;
        starts[field] = -1;
        ends[field] = -1;
        at += 4;
      } else {
        const after = (need & 3) === NUMBER ? scanInteger(bytes, at, end) : -1;
        if (after < 0) return -1;
        starts[field] = at;
        ends[field] = at = after;
      }
    }
    field++;
    const next = bytes[at];
    if (next === COMMA && at + 1 < end) {
      at++;
      continue;
    }
    if (next === CLOSE && at + 1 === end && field >= MIN_FIELDS) return field;
    return -1;
  }
}

/** The index of the closing quote of the string that opens at `at`; -1 if it is not a plain ASCII one. */
function scanString(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at + 1; i < end; i++) {
    const d = bytes[i] as number;
    if (d === QUOTE) return i;
    // Escapes, control characters and anything past ASCII: JSON.parse's business.
    if (d === BACKSLASH || d < 0x20 || d > 0x7e) return -1;
  }
  return -1;
}

/** The index after the unsigned integer that starts at `at`; -1 if there is none there, or it is not exact. */
function scanInteger(bytes: Uint8Array, at: number, end: number): number {
  const first = bytes[at];
  if (first === undefined || first < ZERO || first > NINE) return -1;
  let i = at + 1;
  while (i < end && (bytes[i] as number) >= ZERO && (bytes[i] as number) <= NINE) i++;
  // A leading zero is not JSON, and long runs may not be exact: leave both to JSON.parse.
  if ((first === ZERO && i - at > 1) || i - at > MAX_DIGITS) return -1;
  return i;
}

/**
 * The index of the closing brace of the rare fields' object that opens at
 * `at`: flat, ASCII keys, each value a plain string or an integer of the
 * type the record check wants for its key (`orderTotal` a number, the
 * others strings). Overrides and refund lists (nested values) are refused.
 * -1 when it is not one this reader takes.
 */
function scanRareFields(bytes: Uint8Array, at: number, end: number): number {
  let i = at + 1;
  if (bytes[i] === BRACE_CLOSE) return i;
  for (;;) {
    if (bytes[i] !== QUOTE) return -1;
    const keyEnd = scanString(bytes, i, end);
    if (keyEnd < 0 || bytes[keyEnd + 1] !== COLON) return -1;
    const wants = rareFieldType(bytes, i + 1, keyEnd);
    if (wants === REFUSED) return -1;
    i = keyEnd + 2;
    const isString = bytes[i] === QUOTE;
    const after = isString ? scanString(bytes, i, end) + 1 : scanInteger(bytes, i, end);
    if (after <= 0 || (wants === STRING && !isString) || (wants === NUMBER && isString)) return -1;
    i = after;
    if (bytes[i] === BRACE_CLOSE) return i;
    if (bytes[i] !== COMMA) return -1;
    i++;
  }
}

const REFUSED = -1;
const RARE_CODE = { number: NUMBER, string: STRING, nested: REFUSED } as const;
/** What `recordProblem` wants a rare field to be, by its key; any other key (a newer release's) may be either. */
function rareFieldType(bytes: Uint8Array, start: number, end: number): number {
  for (const field of RARE_FIELDS) if (bytesEqual(bytes, start, end, field)) return RARE_CODE[RARE_FIELD_TYPES[field]];
  return NUMBER | STRING;
}

/** The integer a scanned number field holds. */
export function integerAt(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let at = start; at < end; at++) value = value * 10 + ((bytes[at] as number) - ZERO);
  return value;
}

/** Whether `bytes[start, end)` spells `text` (ASCII). */
export function bytesEqual(bytes: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return true;
}
