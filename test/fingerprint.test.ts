import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cardFacts } from '../src/card.js';
import { GuardConfigError } from '../src/errors.js';
import { base64url, createHasher, randomId, secretBytes, type FingerprintParts } from '../src/fingerprint.js';

const SECRET = 'test-secret-0123456789abcdef';
const URL_SAFE = /^[A-Za-z0-9_-]+$/;
const encoder = new TextEncoder();

// Fingerprints are truncated digests; at least 96 bits keeps collisions out of any till's history.
const MIN_DIGEST_BYTES = 12;
/** How many digest bytes an unpadded base64url string of this length carries. */
const bytesIn = (encoded: string) => Math.floor((encoded.length * 3) / 4);

/** The reference: a one-shot HMAC-SHA-256, truncated to `bytes`, as base64url. */
function referenceMac(secret: string | Uint8Array, message: string, bytes: number): string {
  const key = typeof secret === 'string' ? encoder.encode(secret) : secret;
  return Buffer.from(hmac(sha256, key, encoder.encode(message)).subarray(0, bytes)).toString('base64url');
}

/** Asserts `actual` is the keyed reference MAC of `message`, truncated to whole bytes. */
function expectMac(actual: string, secret: string | Uint8Array, message: string): void {
  expect(bytesIn(actual)).toBeGreaterThanOrEqual(MIN_DIGEST_BYTES);
  expect(actual).toBe(referenceMac(secret, message, bytesIn(actual)));
}

const parts = (patch: Partial<FingerprintParts> = {}): FingerprintParts => ({
  merchantId: 'M-0001',
  kind: 'sale',
  currency: 'CNY',
  amount: 1250,
  cardKey: createHasher(SECRET).cardKey(cardFacts({ pan: '4111 1111 1111 1111' }).material),
  ...patch,
});

describe('createHasher', () => {
  it('equals a one-shot HMAC-SHA-256 under the secret, so the cloned keyed state is sound', () => {
    const hasher = createHasher(SECRET);
    const material = cardFacts({ pan: '4111 1111 1111 1111' }).material;
    expectMac(hasher.cardKey(material), SECRET, `card\u0000${material}`);
    const p = parts();
    expectMac(
      hasher.fingerprint(p),
      SECRET,
      `sale\u0000${p.merchantId}\u0000${p.kind}\u0000${p.currency}\u0000${p.amount}\u0000${p.cardKey}`,
    );
    expectMac(hasher.keyCheck, SECRET, 'pos-duplicate-guard key check v1');
  });

  it('keeps matching the one-shot HMAC over many calls on one hasher (property)', () => {
    // Reusing one keyed state across calls must not leak one message into the next.
    const hasher = createHasher(SECRET);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'grapheme', maxLength: 40 })), (material) => {
        expectMac(hasher.cardKey(material), SECRET, `card\u0000${material}`);
      }),
      { numRuns: 300 },
    );
  });

  it('matches it for ASCII, for text that leaves ASCII part way, and for text longer than its ASCII buffer (property)', () => {
    // ASCII is copied into one reused buffer; anything else is UTF-8 encoded. A call
    // that leaves ASCII part way, or one too long for the buffer, must not hash what
    // an earlier call left in it.
    const hasher = createHasher(SECRET);
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }))
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(text, text, (first, second) => {
        expectMac(hasher.cardKey(first), SECRET, `card\u0000${first}`);
        expectMac(hasher.cardKey(second), SECRET, `card\u0000${second}`);
      }),
      { numRuns: 300 },
    );
  });

  it('is keyed: another secret gives other fingerprints for the same sale', () => {
    const a = createHasher(SECRET);
    const b = createHasher('another-secret-0123456789abcdef');
    const material = cardFacts({ pan: '4111 1111 1111 1111' }).material;
    expect(a.cardKey(material)).not.toBe(b.cardKey(material));
    const p = parts({ cardKey: 'same-card-key' });
    expect(a.fingerprint(p)).not.toBe(b.fingerprint(p));
    expect(a.keyCheck).not.toBe(b.keyCheck);
    // And it is not a plain SHA-256 of the input.
    const plain = Buffer.from(sha256(encoder.encode(`card\u0000${material}`))).toString('base64url');
    expect(plain.startsWith(a.cardKey(material).slice(0, 16))).toBe(false);
  });

  it('is deterministic for one secret', () => {
    expect(createHasher(SECRET).fingerprint(parts())).toBe(createHasher(SECRET).fingerprint(parts()));
  });

  it.each([
    ['merchantId', { merchantId: 'M-0002' }],
    ['kind', { kind: 'refund' }],
    ['currency', { currency: 'USD' }],
    ['amount', { amount: 1251 }],
    ['cardKey', { cardKey: 'another-card' }],
  ] as const)('changes when %s changes', (_field, patch) => {
    const hasher = createHasher(SECRET);
    expect(hasher.fingerprint(parts(patch))).not.toBe(hasher.fingerprint(parts()));
  });

  it('separates fields, so shifting characters between them changes the fingerprint', () => {
    const hasher = createHasher(SECRET);
    expect(hasher.fingerprint(parts({ merchantId: 'M-1', currency: 'CNY' }))).not.toBe(
      hasher.fingerprint(parts({ merchantId: 'M-1C', currency: 'NY' })),
    );
  });

  it('tells card kinds apart: a token that spells a PAN is another card', () => {
    const hasher = createHasher(SECRET);
    expect(hasher.cardKey(cardFacts({ pan: '4111111111111111' }).material)).not.toBe(
      hasher.cardKey(cardFacts({ token: '4111111111111111' }).material),
    );
  });

  it('produces URL-safe fingerprints and card keys of one fixed length that hold no card digits', () => {
    const hasher = createHasher(SECRET);
    const cardKey = hasher.cardKey(cardFacts({ pan: '4111 1111 1111 1111' }).material);
    for (const value of [cardKey, hasher.fingerprint(parts({ cardKey })), hasher.keyCheck]) {
      expect(value).toMatch(URL_SAFE);
      expect(value).toHaveLength(cardKey.length);
      expect(bytesIn(value)).toBeGreaterThanOrEqual(MIN_DIGEST_BYTES);
      expect(value).not.toContain('4111111111111111');
    }
  });

  it('accepts a Uint8Array secret, equal to the same bytes given as a string', () => {
    const bytes = encoder.encode(SECRET);
    expect(createHasher(bytes).keyCheck).toBe(createHasher(SECRET).keyCheck);
    const random = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255);
    expectMac(createHasher(random).cardKey('x'), random, 'card\u0000x');
  });
});

describe('secretBytes', () => {
  it('rejects secrets under 16 bytes with GuardConfigError naming `secret`', () => {
    for (const secret of ['short', 'x'.repeat(15), new Uint8Array(15), new Uint8Array(0)]) {
      let caught: unknown;
      try {
        secretBytes(secret);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(GuardConfigError);
      expect((caught as GuardConfigError).field).toBe('secret');
      expect((caught as GuardConfigError).code).toBe('INVALID_SECRET');
      expect((caught as Error).message).toContain('`secret`');
      expect((caught as Error).message).toContain('16 bytes');
    }
    expect(() => createHasher('x'.repeat(15))).toThrow(GuardConfigError);
  });

  it('counts bytes, not characters', () => {
    // 6 characters, 18 UTF-8 bytes.
    expect(secretBytes('密钥密钥密钥')).toHaveLength(18);
    expect(secretBytes('x'.repeat(16))).toHaveLength(16);
    expect(secretBytes(new Uint8Array(16))).toHaveLength(16);
  });

  it('rejects a missing or non-string, non-byte secret', () => {
    // 12345678901234567 is past Number.MAX_SAFE_INTEGER on purpose: a number is no secret, however long.
    // eslint-disable-next-line no-loss-of-precision
    for (const secret of [undefined, null, 1234567890123456789n, 12345678901234567, ['x'.repeat(16)], new ArrayBuffer(32)]) {
      expect(() => secretBytes(secret)).toThrow(GuardConfigError);
    }
  });
});

describe('base64url', () => {
  it("matches Node's Buffer base64url for any bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
      { numRuns: 500 },
    );
  });

  it('encodes only the first `length` bytes when asked (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (bytes, n) => {
        const length = n % (bytes.length + 1);
        expect(base64url(bytes, length)).toBe(Buffer.from(bytes.subarray(0, length)).toString('base64url'));
      }),
      { numRuns: 500 },
    );
  });

  it('puts a prefix in front when given one (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.stringMatching(/^[a-z_]{0,8}$/), (bytes, prefix) => {
        expect(base64url(bytes, bytes.length, prefix)).toBe(prefix + Buffer.from(bytes).toString('base64url'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('randomId', () => {
  it('gives idempotency keys of 16-255 URL-safe characters, unique over 10k draws', () => {
    const keys = Array.from({ length: 10_000 }, () => randomId('pdg_', 18));
    const malformed = keys.filter((key) => key.length < 16 || key.length > 255 || !URL_SAFE.test(key) || !key.startsWith('pdg_'));
    expect(malformed).toEqual([]);
    expect(new Set(keys).size).toBe(10_000);
  });

  it('carries `bytes` of entropy: 18 bytes are 24 base64url characters', () => {
    expect(randomId('', 18)).toHaveLength(24);
    expect(randomId('att_', 12)).toMatch(/^att_[A-Za-z0-9_-]{16}$/);
  });
});
