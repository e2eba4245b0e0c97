import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { GuardConfigError } from './errors.js';
import type { SaleKind } from './types.js';

/**
 * Keyed fingerprints (SPEC §5). Plain SHA-256 of a PAN is brute-forceable in
 * minutes (the BIN and Luhn digit leave ~10^9 candidates), so every hash is an
 * HMAC under the merchant's secret. The pure-JS HMAC of @noble/hashes is
 * synchronous and needs no `crypto.subtle`, which is missing on `http://` and
 * `file://` pages: that is also what lets `begin` reserve before its first await.
 */
export interface Hasher {
  /** Keyed hash of the card material alone. */
  cardKey(material: string): string;
  /** Keyed hash of (merchantId, kind, currency, amount, card key). */
  fingerprint(parts: FingerprintParts): string;
  /**
   * Keyed hash of a processor's reference of a refund made outside the guard,
   * as given: what names it on its sale. Keyed, as the reference may hold a card number.
   */
  refundKey(processorRef: string): string;
  /** A key check value: tells whether a store was written under this secret. */
  readonly keyCheck: string;
}

export interface FingerprintParts {
  merchantId: string;
  kind: SaleKind;
  currency: string;
  amount: number;
  cardKey: string;
}

const MIN_SECRET_BYTES = 16;
// 96 bits: a collision is ~2^-64 likely even at 10^8 retained attempts, and
// the 16-character string is a quarter of a hex digest's memory.
const DIGEST_BYTES = 12;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Unpadded base64url: URL-safe, so it can be an idempotency key as is. */
export function base64url(bytes: Uint8Array, length = bytes.length, prefix = ''): string {
  // Built from char codes in one go: `+=` (or `prefix + rest`) would leave a
  // chain of cons strings behind every id, several times the flat size.
  const codes: number[] = [];
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  for (let i = 0; i < length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((i + 1 < length ? (bytes[i + 1] ?? 0) : 0) << 8) | (i + 2 < length ? (bytes[i + 2] ?? 0) : 0);
    codes.push(B64URL.charCodeAt((n >> 18) & 63), B64URL.charCodeAt((n >> 12) & 63));
    if (i + 1 < length) codes.push(B64URL.charCodeAt((n >> 6) & 63));
    if (i + 2 < length) codes.push(B64URL.charCodeAt(n & 63));
  }
  return String.fromCharCode(...codes);
}

export function secretBytes(secret: unknown): Uint8Array {
  const bytes = typeof secret === 'string' ? utf8ToBytes(secret) : secret instanceof Uint8Array ? secret : undefined;
  if (!bytes) {
    // Only the type is said, never the value: it is the merchant's key.
    const rule =
      secret === undefined
        ? 'is required: a string or Uint8Array of at least 16 bytes'
        : `must be a string or Uint8Array of at least 16 bytes, got ${secret === null ? 'null' : `a ${typeof secret}`}`;
    throw new GuardConfigError('INVALID_SECRET', `\`secret\` ${rule}`, { field: 'secret' });
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new GuardConfigError('INVALID_SECRET', `\`secret\` must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`, {
      field: 'secret',
    });
  }
  return bytes;
}

/**
 * One buffer for the text of every HMAC: `mac` is synchronous, so no two
 * calls share it at once. What is hashed is nearly always ASCII (ids,
 * amounts, tokens, card numbers), and copying it here by hand costs a
 * fraction of a `TextEncoder` call and its new array, twice per begin.
 */
const ASCII_BUFFER = new Uint8Array(256);

/** `text` as bytes in {@link ASCII_BUFFER} when it is ASCII and fits; undefined otherwise (then UTF-8 encode it). */
function asciiBytes(text: string): Uint8Array | undefined {
  if (text.length > ASCII_BUFFER.length) return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      ASCII_BUFFER.fill(0, 0, i);
      return undefined;
    }
    ASCII_BUFFER[i] = code;
  }
  return ASCII_BUFFER.subarray(0, text.length);
}

export function createHasher(secret: string | Uint8Array): Hasher {
  // Keying HMAC once and cloning the keyed state skips two of the four
  // SHA-256 compressions a one-shot `hmac()` spends per call.
  const keyed = hmac.create(sha256, secretBytes(secret));
  // And the keyed state is copied into one working instance rather than a new
  // one per call: two hash objects and their buffers less per fingerprint
  // (each begin takes two), which a till then does not have to collect.
  const working = keyed.clone();
  const digest = new Uint8Array(working.outputLen);
  const mac = (text: string) => {
    const ascii = asciiBytes(text);
    keyed
      ._cloneInto(working)
      .update(ascii ?? utf8ToBytes(text))
      .digestInto(digest);
    // The card's material passed through the buffer: it is not left there until the next call.
    if (ascii) ascii.fill(0);
    return base64url(digest, DIGEST_BYTES);
  };
  return {
    cardKey: (material) => mac(`card\u0000${material}`),
    fingerprint: (p) => mac(`sale\u0000${p.merchantId}\u0000${p.kind}\u0000${p.currency}\u0000${p.amount}\u0000${p.cardKey}`),
    refundKey: (processorRef) => mac(`refund\u0000${processorRef}`),
    keyCheck: mac('pos-duplicate-guard key check v1'),
  };
}

/**
 * Random bytes drawn once in a block and handed out in order, each byte
 * once: a call of the platform's CSPRNG costs a few microseconds however
 * few bytes it fills (15 µs on a till that was idle between sales), and
 * every begin draws an id. The block is drawn lazily, so loading the module
 * draws nothing. (Node's own `crypto.randomUUID` keeps such a cache too. A
 * process restored twice from one memory snapshot would hand out the same
 * bytes in both copies, as it would any generator state it held.)
 */
const RANDOM_BLOCK = 4_096;
let randomBlock = new Uint8Array(0);
let randomOffset = 0;

/** A fresh random URL-safe string: `bytes` of entropy, ~4/3 as many characters. */
export function randomId(prefix: string, bytes: number): string {
  if (randomOffset + bytes > randomBlock.length) {
    randomBlock = randomBytes(Math.max(RANDOM_BLOCK, bytes));
    randomOffset = 0;
  }
  const drawn = randomBlock.subarray(randomOffset, (randomOffset += bytes));
  return base64url(drawn, bytes, prefix);
}
