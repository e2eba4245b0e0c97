/**
 * atk21: the hasher's reused ASCII buffer (6f6d169). Every HMAC must equal
 * a one-shot `hmac(sha256, key, utf8(text))` whatever came before it (longer
 * text, text that left ASCII part way, another guard's hashing, a begin
 * started from inside an event listener), and no card number may be left
 * in anything a begin hands back, emits, stores or journals.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Decision, type GuardEvent, type Sale } from '../../src/index.js';
import { base64url, createHasher } from '../../src/fingerprint.js';
import { TEST_PANS, cardNumberLeaks } from '../helpers/cards.js';

const SECRET = 'atk21-hasher-secret-0123456789';
const KEY = utf8ToBytes(SECRET);
const oneShot = (text: string) => base64url(hmac(sha256, KEY, utf8ToBytes(text)), 12);
const cardKeyOf = (material: string) => oneShot(`card\u0000${material}`);
const fingerprintOf = (amount: number, material: string, merchantId = 'M1', kind = 'sale', currency = 'CNY') =>
  oneShot(`sale\u0000${merchantId}\u0000${kind}\u0000${currency}\u0000${amount}\u0000${cardKeyOf(material)}`);

// `card\0` is 5 characters: a material of 251 makes the hashed text exactly 256, the buffer's size.
const TEXTS: Record<string, string> = {
  empty: '',
  ascii: 'pan:4111111111111111',
  'DEL and NUL': 'tok:\u007f\u0000x',
  'latin-1 (0x80-0xff is not ASCII)': 'tok:caf\u00e9\u0080\u00ff',
  'leaves ASCII at the last character': `tok:${'a'.repeat(200)}é`,
  'leaves ASCII part way': `pan:4111111111111111${'\u4e2d'}tail`,
  'lone high surrogate': 'tok:ab\ud800cd',
  'lone low surrogate at the end': 'tok:ab\udc00',
  'astral character': 'tok:\u{1f4b3}',
  'exactly 256 with the prefix': `tok:${'7'.repeat(251 - 4)}`,
  'exactly 257 with the prefix': `tok:${'7'.repeat(252 - 4)}`,
  '300+ token holding a PAN': `tok:${'x'.repeat(150)}4111111111111111${'y'.repeat(150)}`,
};

describe('atk21: every HMAC equals a one-shot hmac(sha256, key, utf8(text))', () => {
  it.each(Object.entries(TEXTS))('%s, alone and after every other text', (_name, material) => {
    const hasher = createHasher(SECRET);
    expect(hasher.cardKey(material)).toBe(cardKeyOf(material));
    for (const before of Object.values(TEXTS)) {
      hasher.cardKey(before);
      expect(hasher.cardKey(material)).toBe(cardKeyOf(material));
      expect(hasher.refundKey(material)).toBe(oneShot(`refund\u0000${material}`));
    }
  });

  it('a short text after a 256-character one, and after one that left ASCII at character 255, hashes only its own bytes', () => {
    const hasher = createHasher(SECRET);
    for (const before of [`tok:${'9'.repeat(247)}`, `tok:${'9'.repeat(246)}é`, `tok:${'9'.repeat(500)}`]) {
      hasher.cardKey(before);
      expect(hasher.cardKey('pan:4111')).toBe(cardKeyOf('pan:4111'));
      expect(hasher.cardKey('')).toBe(cardKeyOf(''));
    }
  });

  it('two hashers with different secrets, interleaved, each give their own one-shot value', () => {
    const a = createHasher(SECRET);
    const b = createHasher('another-secret-for-atk21-0123');
    const otherShot = (text: string) => base64url(hmac(sha256, utf8ToBytes('another-secret-for-atk21-0123'), utf8ToBytes(text)), 12);
    for (const pan of TEST_PANS) {
      const materialA = `pan:${pan}`;
      const materialB = `tok:${pan}é`;
      const ka = a.cardKey(materialA);
      const kb = b.cardKey(materialB);
      expect([ka, kb]).toEqual([cardKeyOf(materialA), otherShot(`card\u0000${materialB}`)]);
    }
  });
});

describe("atk21: a begin's fingerprint is the one-shot value, however the till re-enters", () => {
  const saleFor = (pan: string, amount: number): Sale => ({ amount, currency: 'CNY', card: { pan } });

  it('PANs of 12-19 digits, UnionPay, typed with spaces or dashes: the fingerprint of the digits alone', async () => {
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore() });
    try {
      const pans = [...TEST_PANS, '411111111117', '4111 1111 1111 1111 110', '6212-3456-7890-1234'];
      for (const [i, pan] of pans.entries()) {
        const digits = pan.replace(/[\s-]/g, '');
        const d = await guard.peek(saleFor(pan, 100 + i));
        expect([pan, d.fingerprint]).toEqual([pan, fingerprintOf(100 + i, `pan:${digits}`)]);
      }
    } finally {
      await guard.close();
    }
  });

  it('the same sale begun twice without awaiting: one allow, one IN_FLIGHT, the same fingerprint', async () => {
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore() });
    try {
      const sale = saleFor(TEST_PANS[0], 1_250);
      const [first, second] = await Promise.all([guard.begin(sale), guard.begin(sale)]);
      expect([first.verdict, second.verdict]).toEqual(['allow', 'block']);
      expect(second.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
      expect(first.fingerprint).toBe(fingerprintOf(1_250, `pan:${TEST_PANS[0]}`));
      expect(second.fingerprint).toBe(first.fingerprint);
    } finally {
      await guard.close();
    }
  });

  it("a begin started from a 'decision' listener, mid-begin, and a second guard hashing in between: all fingerprints one-shot", async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const other = await createGuard({ merchantId: 'M1', secret: 'another-secret-for-atk21-0123', store: memoryStore() });
    const inner: Promise<Decision>[] = [];
    const otherRuns: Promise<Decision>[] = [];
    const events: GuardEvent[] = [];
    guard.on('decision', (event) => {
      events.push(event);
      if (inner.length < 3) {
        // Re-entered synchronously from inside the emitting begin, with another guard's begin in between.
        otherRuns.push(other.peek({ amount: 7, currency: 'CNY', card: { token: `tok-é-${inner.length}-${'z'.repeat(260)}` } }));
        inner.push(guard.begin(saleFor(TEST_PANS[(inner.length + 1) % TEST_PANS.length] as string, 2_000 + inner.length)));
      }
    });
    try {
      const outer = await guard.begin(saleFor(TEST_PANS[0], 1_999));
      // Each inner begin's own decision event starts the next: wait for all three.
      for (let done = 0; done < inner.length; done++) await inner[done];
      expect(inner).toHaveLength(3);
      const decisions = [outer, ...(await Promise.all(inner))];
      await Promise.all(otherRuns);
      expect(decisions.map((d) => d.fingerprint)).toEqual([
        fingerprintOf(1_999, `pan:${TEST_PANS[0]}`),
        ...[0, 1, 2].map((i) => fingerprintOf(2_000 + i, `pan:${TEST_PANS[(i + 1) % TEST_PANS.length]}`)),
      ]);
      expect(decisions.every((d) => d.verdict === 'allow')).toBe(true);
      const records = await Promise.all(decisions.map((d) => guard.get(d.attempt?.id as string)));
      expect(cardNumberLeaks([decisions, events, records, store.journal()])).toEqual([]);
    } finally {
      await guard.close();
      await other.close();
    }
  });

  it('nothing a begin hands back, emits, stores or journals holds a PAN digit run, nor does its refusal', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const events: GuardEvent[] = [];
    guard.on('decision', (e) => events.push(e));
    const thrown: unknown[] = [];
    try {
      const decisions: Decision[] = [];
      for (const [i, pan] of [...TEST_PANS, '4111-1111-1111-1111', '6222 0202 0011 2233 446'].entries()) {
        decisions.push(await guard.begin(saleFor(pan, 300 + i)));
        // A bad sale around a card: refused, and the refusal names no digits.
        await guard.begin({ amount: -1, currency: 'CNY', card: { pan }, cvv: '123' } as never).catch((e: unknown) => thrown.push(e));
        await guard.begin({ amount: 1, currency: 'CNY', card: { pan: `${pan}0` } }).catch((e: unknown) => thrown.push(e));
      }
      const long = `tok:${'x'.repeat(150)}4111111111111111${'y'.repeat(150)}`;
      decisions.push(await guard.begin({ amount: 5, currency: 'CNY', card: { token: long.slice(4) } }));
      const records = await guard.attempts();
      expect(thrown.length).toBeGreaterThanOrEqual(TEST_PANS.length + 2);
      expect(cardNumberLeaks([decisions, events, records, store.journal(), thrown])).toEqual([]);
    } finally {
      await guard.close();
    }
  });
});

describe('atk21: no byte array the hasher sliced still holds the card number after begin', () => {
  // subarray lives on %TypedArray%.prototype: shadowed on Uint8Array.prototype, and the shadow deleted after.
  const original = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, 'subarray') as PropertyDescriptor;
  const unshadow = () => delete (Uint8Array.prototype as unknown as Record<string, unknown>).subarray;
  afterEach(unshadow);

  /** Whether `bytes` holds the ASCII digits of `pan` in a row. */
  const holds = (bytes: Uint8Array, pan: string): boolean => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(pan);

  /** Every array subarray() is called on from now until `unshadow()`: the ASCII buffer is one of them. */
  function watchSubarrays(): Set<Uint8Array> {
    const seen = new Set<Uint8Array>();
    const subarray = original.value as (this: Uint8Array, start?: number, end?: number) => Uint8Array;
    Object.defineProperty(Uint8Array.prototype, 'subarray', {
      ...original,
      value(this: Uint8Array, start?: number, end?: number) {
        seen.add(this);
        return subarray.call(this, start, end);
      },
    });
    return seen;
  }

  it('a card key hashed last leaves no card number in the shared ASCII buffer (it is zeroed, not just overwritten by the next text)', () => {
    // Within a begin the sale's fingerprint text follows the card's at once and is longer: only a
    // card key hashed last (here, directly) shows whether the buffer is zeroed after each use.
    const seen = watchSubarrays();
    try {
      const hasher = createHasher(SECRET);
      for (const pan of TEST_PANS) {
        hasher.cardKey(`pan:${pan}`);
        expect([...seen].filter((bytes) => bytes.length === 256).length).toBeGreaterThan(0);
        expect([...seen].filter((bytes) => holds(bytes, pan))).toEqual([]);
      }
    } finally {
      unshadow();
    }
  });

  it('no array the hasher sliced (the shared ASCII buffer among them) holds the card number after each begin, refusal and peek', async () => {
    const seen = watchSubarrays();
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore() });
    try {
      for (const [i, pan] of TEST_PANS.entries()) {
        await guard.begin({ amount: 500 + i, currency: 'CNY', card: { pan } });
        await guard.peek({ amount: 600 + i, currency: 'CNY', card: { token: pan } });
        // Refused after the card was read: nothing hashed, nothing left.
        await guard.begin({ amount: 0, currency: 'CNY', card: { pan } }).catch(() => undefined);
        const sharedBuffers = [...seen].filter((bytes) => bytes.length === 256);
        expect(sharedBuffers.length).toBeGreaterThan(0);
        expect([...seen].filter((bytes) => holds(bytes, pan))).toEqual([]);
      }
    } finally {
      unshadow();
      await guard.close();
    }
  });
});
