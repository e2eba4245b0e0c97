import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, journalHasher, journalSeal, parseJournalHead } from '../../src/journal/chain.js';
import type { JournalEntry } from '../../src/index.js';

const SECRET = 'journal-test-secret-0123456789';

describe('canonicalJson', () => {
  it('sorts keys recursively, drops undefined fields and the hash, and has no whitespace', () => {
    const entry = {
      type: 'decision',
      at: 1,
      verdict: 'block',
      codes: ['IN_FLIGHT', 'DUPLICATE_CHARGE'],
      operator: undefined,
      hash: 'ff',
      seq: 2,
      nested: { b: 1, a: [{ z: 0, y: undefined }] },
    } as unknown as JournalEntry;
    expect(canonicalJson(entry)).toBe(
      '{"at":1,"codes":["IN_FLIGHT","DUPLICATE_CHARGE"],"nested":{"a":[{"z":0}],"b":1},"seq":2,"type":"decision","verdict":"block"}',
    );
  });

  it('keeps non-ASCII text as UTF-8 characters, escaped only where JSON must', () => {
    expect(canonicalJson({ at: 0, type: 'override', reason: '顾客要求 "重试"\n' })).toBe(
      '{"at":0,"reason":"顾客要求 \\"重试\\"\\n","type":"override"}',
    );
  });

  it('is the same for any order of the same fields', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (fields) => {
        const reversed = Object.fromEntries(Object.entries(fields).reverse());
        expect(canonicalJson(reversed as unknown as JournalEntry)).toBe(canonicalJson(fields as unknown as JournalEntry));
      }),
    );
  });
});

describe('the chain', () => {
  // Computed independently with node:crypto: key = HMAC(secret, label); hash = HMAC(key, previous + "\n" + canonical).
  const reference = (entry: JournalEntry, previous: string) => {
    const key = createHmac('sha256', SECRET).update('pos-duplicate-guard journal v1').digest();
    return createHmac('sha256', key)
      .update(`${previous}\n${canonicalJson(entry)}`, 'utf8')
      .digest('base64url');
  };

  // The vector was computed apart, with Python's hmac and base64 modules, from the canonical text {"at":1772355600000,"detail":"loaded 0","seq":1,"type":"start"}.
  it('matches a known vector', () => {
    const seal = journalSeal(SECRET);
    const first = seal({ at: 1_772_355_600_000, type: 'start', detail: 'loaded 0' }, undefined);
    const second = seal({ at: 1_772_355_601_000, type: 'decision', verdict: 'prompt', codes: ['IN_FLIGHT'], amount: 1250 }, first);
    expect(first).toStrictEqual({
      at: 1_772_355_600_000,
      type: 'start',
      detail: 'loaded 0',
      seq: 1,
      hash: 'XSWxGlGluWse_-ZtfS01e1msIr74Utbo2Ev2Eiglf0M',
    });
    expect(second.seq).toBe(2);
    expect(first.hash).toBe(reference({ ...first, hash: undefined }, ''));
    expect(second.hash).toBe(reference(second, first.hash));
  });

  it('links each entry to the one before: the same entry after another head hashes differently', () => {
    const hash = journalHasher(SECRET);
    const entry: JournalEntry = { at: 5, type: 'settle', seq: 3 };
    expect(hash(entry, 'a')).not.toBe(hash(entry, 'b'));
    expect(hash(entry, 'a')).toMatch(/^[\w-]{43}$/);
  });

  it('is keyed: another secret seals another hash', () => {
    const entry: JournalEntry = { at: 5, type: 'settle' };
    expect(journalSeal(SECRET)(entry, undefined).hash).not.toBe(journalSeal(`${SECRET}x`)(entry, undefined).hash);
  });

  it('reseals an entry that carried a stale seq and hash', () => {
    const seal = journalSeal(SECRET);
    const sealed = seal({ at: 5, type: 'settle', seq: 99, hash: 'bad' }, { seq: 4, hash: 'h4' });
    expect(sealed.seq).toBe(5);
    expect(sealed.hash).toBe(reference(sealed, 'h4'));
  });
});

describe('parseJournalHead', () => {
  it('reads a stored head, and nothing else', () => {
    expect(parseJournalHead('{"seq":3,"hash":"ab"}')).toStrictEqual({ seq: 3, hash: 'ab' });
    for (const text of [undefined, '', 'nope', '{"seq":0,"hash":"ab"}', '{"seq":1.5,"hash":"ab"}', '{"seq":2}', 'null']) {
      expect(parseJournalHead(text)).toBeUndefined();
    }
  });
});
