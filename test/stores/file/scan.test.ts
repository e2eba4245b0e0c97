import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../../src/record.js';
import { AT as F } from '../../../src/stores/file/layout.js';
import { FIELD_SLOTS, bytesEqual, integerAt, scanRecordLine } from '../../../src/stores/file/scan.js';
import { recordLine } from '../../../src/stores/file/jsonl.js';
import type { AttemptRecord, AttemptStatus } from '../../../src/types.js';

/*
 * The start-up reader may refuse any line (the line then goes the JSON.parse
 * way), but a line it takes is filed without ever being parsed: what it
 * reads must be exactly what JSON.parse reads. That is the property below;
 * the rest checks it takes the lines the guard actually writes, since
 * refusing them all would be correct and useless.
 */

const starts = new Int32Array(FIELD_SLOTS);
const ends = new Int32Array(FIELD_SLOTS);

/** Scans `bytes[start, end)` with slots full of junk, so a field the reader forgets to set shows. */
function scan(bytes: Buffer, start = 0, end = bytes.length): number {
  starts.fill(-7);
  ends.fill(-7);
  return scanRecordLine(bytes, start, end, starts, ends);
}
const scanText = (line: string): number => scan(Buffer.from(line, 'utf8'));

/** What each position must hold, as scan.ts documents it (its NEEDS table). */
type Need = { type: 'number' | 'string'; nullable: boolean };
const NEEDS: readonly Need[] = [
  ...['number', 'string', 'string', 'string', 'string', 'number', 'string', 'string', 'number', 'number', 'number', 'number'].map(
    (type) => ({ type, nullable: false }) as Need,
  ),
  { type: 'number', nullable: true },
  ...Array.from({ length: 5 }, (): Need => ({ type: 'string', nullable: true })),
];

/** Rare fields the record check reads as strings, and the one it reads as a number. */
const STRING_RARE = ['idempotencyKey', 'operator', 'refundOf', 'processorRef', 'code', 'message'];

/**
 * The central check. Returns whether the line was taken; when it was,
 * JSON.parse must agree field by field, and the line must have the shape a
 * record line has: 12..18 positional fields of the documented types and, if
 * the reader takes one at all, the rare fields' object after the 18th.
 */
function agreesWithJsonParse(bytes: Buffer, start: number, end: number): boolean {
  const n = scan(bytes, start, end);
  if (n < 0) {
    expect(n).toBe(-1);
    return false;
  }
  const text = bytes.toString('utf8', start, end);
  const wrong = (what: string) => expect.fail(`${what}, in a line the reader took: ${text}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    wrong('not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== n) wrong(`not an array of ${n}`);
  const array = parsed as unknown[];
  if (n < 12 || n > FIELD_SLOTS) wrong(`${n} fields`);
  for (let i = 0; i < n; i++) {
    const value = array[i];
    const need = NEEDS[i];
    const from = starts[i] as number;
    const to = ends[i] as number;
    if (from === -1) {
      if (value !== null || !need?.nullable) wrong(`field ${i} read as null`);
      continue;
    }
    // Field bounds lie inside the line: the reader must not have read past `end`.
    if (!(start < from && from <= to && to < end)) wrong(`field ${i} at [${from}, ${to})`);
    if (!need) {
      // Past the positional fields only the rare fields' object: flat, and typed as the record check wants.
      if (i !== NEEDS.length || typeof value !== 'object' || value === null || Array.isArray(value)) wrong(`field ${i} is not the rare fields' object`);
      expect(JSON.parse(bytes.toString('utf8', from, to))).toEqual(value);
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string' && typeof v !== 'number') wrong(`rare field ${key} nests`);
        if (key === 'override' || key === 'refunds') wrong(`rare field ${key} taken`);
        if (STRING_RARE.includes(key) && typeof v !== 'string') wrong(`rare field ${key} not a string`);
        if (key === 'orderTotal' && !Number.isSafeInteger(v)) wrong('orderTotal not an integer');
      }
    } else if (typeof value === 'string') {
      if (need.type !== 'string') wrong(`field ${i} is a string`);
      if (bytes.toString('latin1', from, to) !== value) wrong(`field ${i} read as ${bytes.toString('latin1', from, to)}`);
    } else {
      if (typeof value !== 'number' || need.type !== 'number') wrong(`field ${i} is ${JSON.stringify(value)}`);
      if (integerAt(bytes, from, to) !== value) wrong(`field ${i} read as ${integerAt(bytes, from, to)}`);
    }
  }
  return true;
}

const checkLine = (line: string): boolean => agreesWithJsonParse(Buffer.from(line, 'utf8'), 0, Buffer.byteLength(line));

// ── generators ──────────────────────────────────────────────────────────

/** Numbers around every edge the reader has: digits, sign, fraction, exponent, 15/16 digits, unsafe integers. */
const number = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: -1000, max: -1 }),
  fc.maxSafeNat(),
  fc.integer({ min: 1e14, max: 1e15 + 10 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1.5, 1e21, 1e-7, 999_999_999_999_999, 1_000_000_000_000_000, 9_007_199_254_740_993, 2 ** 53, -1, 1_700_000_000_000),
);

/** Strings the reader must refuse (escapes, control characters, unicode) or take (plain ASCII). */
const string = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  fc.string({ unit: 'binary-ascii', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', '"', '\\', 'a"b', 'a\\b', '\u0000', '\n', '\u007f', '\u0080', 'é', '日本', '\ud83d\ude00', 'null', '1', '[1]', ',', ']'),
);

const anyValue = fc.oneof(
  { weight: 4, arbitrary: number },
  { weight: 4, arbitrary: string },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Any JSON array of 0..20 elements. Mostly refused: the shaped arrays below are where lines get taken. */
const anyArray = fc.array(anyValue, { maxLength: 20, size: 'max' });

/** A flat object of rare fields (and a few unknown keys), values of the right type or not. */
const rareObject = fc.dictionary(
  fc.oneof(fc.constantFrom(...STRING_RARE, 'orderTotal', 'override', 'refunds', 'somethingNew'), fc.string({ unit: 'binary-ascii', maxLength: 4 })),
  fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), fc.nat(), number, string, fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
  { maxKeys: 4 },
);

/** A value of the type a position needs, most of the time; anything at all otherwise. */
function shapedValue(position: number): fc.Arbitrary<unknown> {
  const need = NEEDS[position];
  if (!need) return fc.oneof(rareObject, anyValue);
  const right = fc.oneof(
    { weight: 6, arbitrary: need.type === 'number' ? fc.oneof(fc.nat(), fc.integer({ min: 0, max: 999_999_999_999_999 })) : fc.string({ unit: 'grapheme-ascii', maxLength: 10 }) },
    { weight: need.nullable ? 2 : 0, arbitrary: fc.constant(null) },
  );
  return fc.oneof({ weight: 40, arbitrary: right }, { weight: 1, arbitrary: anyValue });
}
const shapedArray = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 12, max: 19 }) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 21 }) }).chain((length) => fc.tuple(...Array.from({ length }, (_, i) => shapedValue(i))));

/** Edits of a line's text: whitespace anywhere, or a character the JSON grammar cares about, put in or taken out. */
const edit = fc.record({
  at: fc.nat(),
  remove: fc.boolean(),
  text: fc.constantFrom(' ', '\t', '\n', '\r', '"', '\\', ',', '[', ']', '{', '}', '0', '9', '-', '.', 'e', 'n', 'u', 'l', '\u007f', 'é', '\u0000'),
});
function applyEdits(line: string, edits: readonly { at: number; remove: boolean; text: string }[]): string {
  let out = line;
  for (const { at, remove, text } of edits) {
    const i = at % (out.length + 1);
    out = remove ? out.slice(0, i) + out.slice(i + 1) : out.slice(0, i) + text + out.slice(i);
  }
  return out;
}
/** JSON's four whitespace characters, put between any two characters. */
const whitespace = fc.array(fc.record({ at: fc.nat(), text: fc.constantFrom(' ', '\t', '\n', '\r', '  ') }), { minLength: 1, maxLength: 3 });

describe('scanRecordLine reads what JSON.parse reads', () => {
  it('for any JSON array, as JSON.stringify writes it or with whitespace put in', () => {
    fc.assert(
      fc.property(anyArray, whitespace, (array, spaces) => {
        const line = JSON.stringify(array);
        checkLine(line);
        checkLine(JSON.stringify(array, null, 1));
        // Whitespace put in anywhere, inside strings too: JSON.parse stays the judge of what the line means.
        checkLine(applyEdits(line, spaces.map((s) => ({ ...s, remove: false }))));
      }),
      { numRuns: 2000 },
    );
  });

  it('for arrays shaped like record lines, edited, and inside a bigger buffer', () => {
    let taken = 0;
    let takenEdited = 0;
    fc.assert(
      fc.property(
        shapedArray,
        fc.array(edit, { maxLength: 3 }),
        fc.string({ unit: 'binary-ascii', maxLength: 6 }),
        fc.oneof(fc.constantFrom('', '\n', ']', ',1]', 'ull]', '"]', '0]', '\n[1,"x"]'), fc.string({ unit: 'binary-ascii', maxLength: 6 })),
        (array, edits, prefix, suffix) => {
          const line = JSON.stringify(array);
          if (checkLine(line)) taken++;
          const edited = applyEdits(line, edits);
          // The line sits between other bytes: the reader must keep to [start, end) however they look.
          const bytes = Buffer.from(prefix + edited + suffix, 'utf8');
          const start = Buffer.byteLength(prefix);
          if (agreesWithJsonParse(bytes, start, start + Buffer.byteLength(edited)) && edits.length > 0) takenEdited++;
        },
      ),
      { numRuns: 2000 },
    );
    // Not vacuous: plenty of the shaped lines were taken, and some edited ones (an edit inside a string, say).
    expect(taken).toBeGreaterThan(300);
    expect(takenEdited).toBeGreaterThan(50);
  });
});

// ── the lines the guard writes ──────────────────────────────────────────

const STATUSES: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];
/** Printable ASCII but `"` and `\`: what JSON.stringify writes without an escape. */
const PLAIN_CHARS = Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '"' && c !== '\\');
const plainChar = fc.constantFrom(...PLAIN_CHARS);
const plain = (minLength = 0) => fc.string({ unit: plainChar, minLength, maxLength: 24 });
/** Integers of up to 15 digits: amounts, counts and epoch-ms times. */
const integer = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), fc.integer({ min: 0, max: 999_999_999_999_999 }));
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });

/** An ordinary record: the common fields only, the idempotency key its id. */
const ordinaryRecord = fc
  .record({
    id: plain(1),
    fingerprint: plain(),
    status: fc.constantFrom(...STATUSES),
    kind: fc.constantFrom('sale' as const, 'refund' as const),
    amount: integer,
    currency: plain(),
    merchantId: plain(),
    createdAt: integer,
    updatedAt: integer,
    pendingSince: integer,
    refunded: integer,
    approvedAt: optional(integer),
    authCode: optional(plain()),
    bin: optional(plain()),
    last4: optional(plain()),
    orderId: optional(plain()),
    terminalId: optional(plain()),
  })
  .map((f) => makeRecord({ v: 1, idempotencyKey: f.id, ...f }));

/** One flat rare field, with a value the guard could write. */
const flatRareField: fc.Arbitrary<Partial<AttemptRecord>> = fc.oneof(
  plain(1).map((operator) => ({ operator })),
  integer.map((orderTotal) => ({ orderTotal })),
  plain(1).map((refundOf) => ({ refundOf })),
  plain().map((processorRef) => ({ processorRef })),
  plain().map((code) => ({ code })),
  plain().map((message) => ({ message })),
  plain(1).map((idempotencyKey) => ({ idempotencyKey: `${idempotencyKey}~` })),
);
/** The rare fields whose values nest: an override note, a refund list. */
const nestedRareField: fc.Arbitrary<Partial<AttemptRecord>> = fc.oneof(
  fc.record({ operator: plain(1), reason: plain() }).map((o) => ({ override: { ...o, lifted: Object.freeze(['DUPLICATE_CHARGE' as const]) } })),
  fc.array(fc.record({ id: plain(1), amount: integer }), { maxLength: 3 }).map((refunds) => ({ refunds })),
);

const COMMON = ['id', 'fingerprint', 'status', 'kind', 'amount', 'currency', 'merchantId', 'createdAt', 'updatedAt', 'pendingSince', 'refunded', 'approvedAt', 'authCode', 'bin', 'last4', 'orderId', 'terminalId'] as const;

describe('scanRecordLine and the lines recordLine writes', () => {
  it('takes every ordinary record line, so start-up really defers them', () => {
    fc.assert(
      fc.property(ordinaryRecord, (record) => {
        const line = recordLine(record);
        const n = scanText(line);
        expect(n).toBeGreaterThanOrEqual(12);
        expect(checkLine(line)).toBe(true);
        // Fields sit where RECORD_FIELDS puts them: the columns read status, times, merchant and order by position.
        const bytes = Buffer.from(line);
        scan(bytes);
        const read = COMMON.slice(0, n - 1).map((_, i) => {
          const at = i + 1;
          if (starts[at] === -1) return undefined;
          return NEEDS[at]?.type === 'string' ? bytes.toString('latin1', starts[at], ends[at]) : integerAt(bytes, starts[at] as number, ends[at] as number);
        });
        expect(read).toEqual(COMMON.slice(0, n - 1).map((field) => record[field]));
        // Left-off trailing fields are the absent ones.
        expect(COMMON.slice(n - 1).every((field) => record[field] === undefined)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a record line with an override or a refund list: nested values go the JSON.parse way', () => {
    fc.assert(
      fc.property(ordinaryRecord, nestedRareField, fc.option(flatRareField, { nil: undefined }), (record, nested, flat) => {
        expect(scanText(recordLine(makeRecord({ ...record, ...flat, ...nested })))).toBe(-1);
      }),
      { numRuns: 500 },
    );
  });

  it('takes a record line with flat rare fields: real tills write a processorRef, a code, an operator', () => {
    fc.assert(
      fc.property(ordinaryRecord, fc.array(flatRareField, { minLength: 1, maxLength: 3 }), (record, rare) => {
        const line = recordLine(makeRecord(Object.assign({ ...record }, ...rare)));
        expect(checkLine(line)).toBe(true);
        expect(scanText(line)).toBe(FIELD_SLOTS);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an otherwise ordinary record whose strings need escapes or whose numbers are not plain', () => {
    const record = makeRecord({
      v: 1, id: 'a', idempotencyKey: 'a', fingerprint: 'f', merchantId: 'm', kind: 'sale', amount: 1250, currency: 'CNY',
      status: 'approved', createdAt: 1, updatedAt: 2, pendingSince: 1, refunded: 0,
    });
    expect(scanText(recordLine(record))).toBe(12);
    expect(scanText(recordLine({ ...record, merchantId: 'Café' }))).toBe(-1);
    expect(scanText(recordLine({ ...record, orderId: 'say "hi"' }))).toBe(-1);
    expect(scanText(recordLine({ ...record, terminalId: 'T\t1' }))).toBe(-1);
    expect(scanText(recordLine({ ...record, amount: 12.5 }))).toBe(-1);
    expect(scanText(recordLine({ ...record, refunded: -1 }))).toBe(-1);
    expect(scanText(recordLine({ ...record, amount: Number.MAX_SAFE_INTEGER }))).toBe(-1);
  });
});

// ── by example ──────────────────────────────────────────────────────────

/** A 12-field record line with `fields` in place of the defaults, written as raw JSON text. */
function line12(replace: Record<number, string> = {}): string {
  const fields = ['1', '"id-1"', '"fp"', '"approved"', '"sale"', '1250', '"CNY"', '"m-1"', '1700000000000', '1700000000001', '1700000000000', '0'];
  for (const [at, text] of Object.entries(replace)) fields[Number(at)] = text;
  return `[${fields.join(',')}]`;
}

/** A line of all 18 positional fields and then `rare`, the rare fields' object as raw JSON text. */
const line18 = (rare: string): string => `${line12().slice(0, -1)},null,null,null,null,null,null,${rare}]`;

describe('scanRecordLine by example', () => {
  it('takes a 12-field line and an 18-field one, nulls and empty strings included', () => {
    expect(checkLine(line12())).toBe(true);
    expect(scanText(line12())).toBe(12);
    const full = '[1,"id","fp","pending","refund",1,"CNY","m",1,2,3,0,null,"","123456",null,"o-1","T-1"]';
    expect(checkLine(full)).toBe(true);
    expect(scanText(full)).toBe(18);
    expect(starts[F.approvedAt]).toBe(-1);
    expect(ends[F.approvedAt]).toBe(-1);
    expect(starts[13]).toBe(ends[13]);
    expect(starts[15]).toBe(-1);
  });

  it.each([
    ['a trailing comma', line12().replace(/]$/, ',]')],
    ['a missing ]', line12().slice(0, -1)],
    ['a space after ]', `${line12()} `],
    ['a space after [', line12().replace('[', '[ ')],
    ['a space after a comma', line12().replace(',', ', ')],
    ['a leading zero', line12({ 5: '01' })],
    ['16 digits', line12({ 5: '1234567890123456' })],
    ['a minus sign', line12({ 5: '-1' })],
    ['a fraction', line12({ 5: '1.5' })],
    ['an exponent', line12({ 5: '1e3' })],
    ['a digit then a letter', line12({ 5: '12a' })],
    ['nul', `${line12().slice(0, -1)},nul]`],
    ['nulll', `${line12().slice(0, -1)},nulll]`],
    ['nulx', `${line12().slice(0, -1)},nulx]`],
    ['nu', `${line12().slice(0, -1)},nu]`],
    ['null where a number must be', line12({ 5: 'null' })],
    ['null where a string must be', line12({ 1: 'null' })],
    ['a string where a number must be', line12({ 5: '"1250"' })],
    ['a number where a string must be', line12({ 6: '156' })],
    ['true', line12({ 11: 'true' })],
    ['an escaped quote in a string', line12({ 2: '"f\\"p"' })],
    ['an escaped backslash in a string', line12({ 2: '"f\\\\p"' })],
    ['a tab in a string', line12({ 2: '"f\tp"' })],
    ['DEL in a string', line12({ 2: '"f\u007fp"' })],
    ['a byte >= 0x80 in a string (UTF-8)', line12({ 7: '"Café"' })],
    ['an object where a positional field must be', `${line12().slice(0, -1)},{}]`],
    ['an object past the positional fields, with an override in it', `${line12().slice(0, -1)},null,null,null,null,null,null,{"override":{"operator":"o"}}]`],
    ['an object past the positional fields, with a refund list in it', `${line12().slice(0, -1)},null,null,null,null,null,null,{"refunds":[]}]`],
    // By key, whatever the value: overrides and refund lists are objects and arrays when the guard writes them.
    ['an override key', line18('{"override":"x"}')],
    ['a refunds key', line18('{"refunds":5}')],
    ['a string orderTotal', line18('{"orderTotal":"5"}')],
    ['a numeric refundOf', line18('{"refundOf":1}')],
    ['a numeric operator', line18('{"operator":1}')],
    ['a nested value under a new key', line18('{"new":{"a":1}}')],
    ['a null rare value', line18('{"code":null}')],
    ['an escaped key', line18('{"co\\u0064e":"x"}')],
    ['a rare object without its close', line18('{"code":"x"')],
    ['a rare object with a trailing comma', line18('{"code":"x",}')],
    ['a rare object with a space', line18('{"code": "x"}')],
    ['a second object', `${line18('{}').slice(0, -1)},{}]`],
    ['an array field', line12({ 2: '["fp"]' })],
    ['19 fields', `${line12().slice(0, -1)},1,"a","b","c","d","e","f"]`],
    ['11 fields', line12().replace(/,0]$/, ']')],
    ['no fields', '[]'],
    ['an object line', '{"op":"delete","id":"a"}'],
    ['an empty line', ''],
  ])('refuses %s', (_, line) => {
    expect(scanText(line)).toBe(-1);
  });

  it('refuses a latin1 byte >= 0x80 in a string, which JSON.parse would read as U+FFFD', () => {
    const bytes = Buffer.from(line12({ 7: '"m-1"' }), 'latin1');
    bytes[bytes.indexOf('m-1')] = 0x80;
    expect(scan(bytes)).toBe(-1);
    expect(agreesWithJsonParse(bytes, 0, bytes.length)).toBe(false);
  });

  it('takes a flat rare fields\' object as field 19, and only after all 18 positional ones', () => {
    for (const rare of ['{}', '{"operator":"o-1"}', '{"processorRef":"P-1","code":"05","message":"","orderTotal":2500,"refundOf":"a","idempotencyKey":"k"}', '{"new":7,"newer":"x"}']) {
      expect(checkLine(line18(rare))).toBe(true);
      expect(scanText(line18(rare))).toBe(19);
      expect(JSON.parse(Buffer.from(line18(rare)).toString('latin1', starts[18], ends[18]))).toEqual(JSON.parse(rare));
    }
    expect(scanText(`${line12().slice(0, -1)},{}]`)).toBe(-1);
    expect(scanText(`${line12().slice(0, -1)},null,null,null,null,null,{}]`)).toBe(-1);
  });

  it('takes 15 digits exactly, and zero alone', () => {
    expect(checkLine(line12({ 5: '999999999999999', 11: '0' }))).toBe(true);
    scanText(line12({ 5: '999999999999999' }));
    expect(integerAt(Buffer.from(line12({ 5: '999999999999999' })), starts[F.amount] as number, ends[F.amount] as number)).toBe(999_999_999_999_999);
  });

  it('takes exactly 18 fields and refuses 19', () => {
    const eighteen = `${line12().slice(0, -1)},1,"a","b","c","d","e"]`;
    expect(scanText(eighteen)).toBe(18);
    expect(scanText(`${eighteen.slice(0, -1)},"f"]`)).toBe(-1);
    expect(scanText(`${eighteen.slice(0, -1)},null]`)).toBe(-1);
  });

  it('reads a line in the middle of a bigger buffer, and nothing past its end', () => {
    const line = line12();
    const bytes = Buffer.from(`{"op":"header"}\n${line}\n${line12({ 1: '"id-2"' })}\n`);
    const start = bytes.indexOf('\n') + 1;
    const end = bytes.indexOf('\n', start);
    expect(agreesWithJsonParse(bytes, start, end)).toBe(true);
    expect(scan(bytes, start, end)).toBe(12);
    expect(bytes.toString('latin1', starts[F.id], ends[F.id])).toBe('id-1');
    expect(starts[F.id]).toBe(start + 4);
    // The same line cut short by `end` is refused, though the bytes after it would complete it.
    expect(scan(bytes, start, end - 1)).toBe(-1);
    expect(scan(bytes, start, end + 1)).toBe(-1);
    expect(scan(bytes, start, start)).toBe(-1);
    expect(scan(bytes, start, start + 1)).toBe(-1);
  });

  it('does not complete a field from the bytes after the end', () => {
    const line = `${line12().slice(0, -1)},null]`;
    const bytes = Buffer.from(`${line}\n`);
    // End just after the `n` of null, or inside a string, with the rest right there in the buffer.
    const n = line.lastIndexOf('null');
    expect(scan(bytes, 0, n + 1)).toBe(-1);
    expect(scan(Buffer.from('[1,"id-1"]'), 0, 5)).toBe(-1);
    expect(scan(Buffer.from(`${line12()}5]`), 0, line12().length - 1)).toBe(-1);
    // A number cut by the end, its other digits and the `]` right after it.
    const cut = line12({ 11: '12' });
    expect(scan(Buffer.from(cut), 0, cut.length - 2)).toBe(-1);
  });
});

describe('integerAt and bytesEqual', () => {
  const bytes = Buffer.from('x0,7,1250,999999999999999,1700000000000y');
  it('reads the digits in [start, end)', () => {
    expect(integerAt(bytes, 1, 2)).toBe(0);
    expect(integerAt(bytes, 3, 4)).toBe(7);
    expect(integerAt(bytes, 5, 9)).toBe(1250);
    expect(integerAt(bytes, 5, 7)).toBe(12);
    expect(integerAt(bytes, 10, 25)).toBe(999_999_999_999_999);
    expect(integerAt(bytes, 26, 39)).toBe(1_700_000_000_000);
    expect(integerAt(bytes, 5, 5)).toBe(0);
  });

  it('is Number() of the digits for any integer of up to 15 digits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), fc.string({ unit: 'grapheme-ascii', maxLength: 4 }), (n, pad) => {
        const text = `${pad}${n}${pad}`;
        expect(integerAt(Buffer.from(text), pad.length, pad.length + String(n).length)).toBe(n);
      }),
    );
  });

  it('compares bytes with ASCII text', () => {
    const b = Buffer.from('["approved","approve"]');
    expect(bytesEqual(b, 2, 10, 'approved')).toBe(true);
    expect(bytesEqual(b, 2, 10, 'approvee')).toBe(false);
    expect(bytesEqual(b, 2, 10, 'approve')).toBe(false);
    expect(bytesEqual(b, 2, 9, 'approved')).toBe(false);
    expect(bytesEqual(b, 13, 20, 'approve')).toBe(true);
    expect(bytesEqual(b, 3, 3, '')).toBe(true);
    expect(bytesEqual(b, 2, 3, '')).toBe(false);
    // A char code past one byte never equals a byte.
    expect(bytesEqual(Buffer.from([0x41]), 0, 1, '\u0141')).toBe(false);
  });
});
