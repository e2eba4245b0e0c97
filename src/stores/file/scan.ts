/**
 * A byte-level reader for the common record line, so start-up can file a
 * record without `JSON.parse` and without building it (see `DeferredRecords`
 * in ../../deferred.ts). At 100k attempts, parsing every line and building
 * every record was two thirds of start-up; most of those records are never
 * read again before they expire.
 *
 * It accepts a strict subset of version 2 record lines, the ones the guard
 * writes for an ordinary sale: printable ASCII strings without escapes,
 * integers without sign, fraction or exponent, `null`, no whitespace and no
 * trailing object of rare fields. For such a line `JSON.parse` yields
 * exactly the bytes between the quotes and the digits' value, and every
 * field has the type `recordProblem` asks for, so the line decodes later
 * without fail. Any other line returns `-1` and goes the `JSON.parse` way at
 * once: this reader decides speed, never meaning.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const N = 0x6e;

/** Values of a line's fields, by position (see `RECORD_FIELDS` in ./jsonl.ts). */
export const F = { layout: 0, id: 1, fingerprint: 2, status: 3, kind: 4, amount: 5, currency: 6, merchantId: 7, createdAt: 8, updatedAt: 9, pendingSince: 10, refunded: 11, approvedAt: 12, orderId: 16 } as const;

/** Fields 0..17 of a version 2 line; 18 would be the rare-field object. */
const MAX_FIELDS = 18;
/** The length `starts` and `ends` must have. */
export const FIELD_SLOTS = MAX_FIELDS;
/** Up to `refunded`: `recordLine` never leaves off a field before it. */
const MIN_FIELDS = F.refunded + 1;
/** Integers of up to 15 digits are exact in a double, as `JSON.parse` reads them. */
const MAX_DIGITS = 15;

const NUMBER = 1;
const STRING = 2;
const NULL = 3;
/** What each position must hold for the line to be taken: a number, a string, or either with null. */
const NEEDS: readonly number[] = [
  NUMBER, STRING, STRING, STRING, STRING, NUMBER, STRING, STRING, NUMBER, NUMBER, NUMBER, NUMBER,
  NUMBER | NULL << 2, STRING | NULL << 2, STRING | NULL << 2, STRING | NULL << 2, STRING | NULL << 2, STRING | NULL << 2,
];

/**
 * Where each field of the line in `bytes[start, end)` is: a string's
 * content, a number's digits, or `start[i] = -1` for `null`. Returns how
 * many fields the line has, or -1 when the line is not one this reader takes.
 */
export function scanRecordLine(bytes: Uint8Array, start: number, end: number, starts: Int32Array, ends: Int32Array): number {
  if (bytes[start] !== OPEN) return -1;
  let at = start + 1;
  let field = 0;
  for (;;) {
    if (field === MAX_FIELDS) return -1;
    const need = NEEDS[field] as number;
    const c = bytes[at];
    if (c === QUOTE) {
      if ((need & 3) !== STRING) return -1;
      const from = ++at;
      for (;;) {
        if (at >= end) return -1;
        const d = bytes[at] as number;
        if (d === QUOTE) break;
        // Escapes, control characters and anything past ASCII: JSON.parse's business.
        if (d === BACKSLASH || d < 0x20 || d > 0x7e) return -1;
        at++;
      }
      starts[field] = from;
      ends[field] = at;
      at++;
    } else if (c !== undefined && c >= ZERO && c <= NINE) {
      if ((need & 3) !== NUMBER) return -1;
      const from = at++;
      while (at < end && (bytes[at] as number) >= ZERO && (bytes[at] as number) <= NINE) at++;
      // A leading zero is not JSON, and long runs may not be exact: leave both to JSON.parse.
      if ((c === ZERO && at - from > 1) || at - from > MAX_DIGITS) return -1;
      starts[field] = from;
      ends[field] = at;
    } else if (c === N) {
      if (need >> 2 !== NULL || bytes[at + 1] !== 0x75 || bytes[at + 2] !== 0x6c || bytes[at + 3] !== 0x6c) return -1;
      starts[field] = -1;
      ends[field] = -1;
      at += 4;
    } else return -1;
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
