/**
 * The journal's hash chain (SPEC §12): each entry carries a gap-free `seq`
 * and `hash`, an HMAC-SHA-256 of the previous entry's hash and this entry's
 * canonical JSON, so someone with the journal but not the secret cannot edit,
 * drop, reorder or insert an entry unnoticed. Pure: no I/O, no clock, and no
 * `crypto.subtle` (the same synchronous @noble/hashes HMAC as fingerprints,
 * so it works on `http://` pages). See docs/journal.md.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { secretBytes } from '../fingerprint.js';
import type { JournalEntry, JournalHead, JournalSeal } from '../types.js';

/** The metadata key under which a store keeps its journal head, as `JSON.stringify({ seq, hash })`. */
export const JOURNAL_HEAD = 'journal-head';

// Derived, not the secret itself: the fingerprint key is never reused for another purpose.
const KEY_LABEL = 'pos-duplicate-guard journal v1';

/**
 * The entry as the chain hashes it: keys sorted (recursively), no
 * whitespace, `undefined` fields absent, the entry's own `hash` left out.
 */
export function canonicalJson(entry: JournalEntry): string {
  const { hash: _hash, ...rest } = entry;
  return canonical(rest);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonical(item))).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  const fields = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
  return `{${fields.join(',')}}`;
}

/** Hashes entries of the chain keyed by `secret`: `hash(entry, previousHash)` is the hex HMAC that entry must carry. */
export function journalHasher(secret: string | Uint8Array): (entry: JournalEntry, previousHash: string) => string {
  // Keyed once, then cloned per entry: two SHA-256 compressions fewer each time.
  const keyed = hmac.create(sha256, hmac(sha256, secretBytes(secret), utf8ToBytes(KEY_LABEL)));
  return (entry, previousHash) =>
    bytesToHex(
      keyed
        .clone()
        .update(utf8ToBytes(`${previousHash}\n${canonicalJson(entry)}`))
        .digest(),
    );
}

/** The seal a guard keyed by `secret` hands its store (see JournalSeal). */
export function journalSeal(secret: string | Uint8Array): JournalSeal {
  const hash = journalHasher(secret);
  return (entry, previous) => {
    const { hash: _stale, ...rest } = entry;
    const sealed = { ...rest, seq: (previous?.seq ?? 0) + 1 };
    return { ...sealed, hash: hash(sealed, previous?.hash ?? '') };
  };
}

/** A stored head, or undefined if there is none or it is not one (a damaged value seals as if there were none). */
export function parseJournalHead(text: string | undefined): JournalHead | undefined {
  if (text === undefined) return undefined;
  try {
    const { seq, hash } = JSON.parse(text) as Partial<JournalHead>;
    return Number.isSafeInteger(seq) && (seq as number) > 0 && typeof hash === 'string' ? { seq: seq as number, hash } : undefined;
  } catch {
    return undefined;
  }
}

/** The head of a sealed entry, as a store keeps it under JOURNAL_HEAD. */
export const headText = (head: JournalHead): string => JSON.stringify({ seq: head.seq, hash: head.hash });

/** The head a journal entry carries, if it is sealed. */
export function headOf(entry: JournalEntry): JournalHead | undefined {
  return Number.isSafeInteger(entry.seq) && typeof entry.hash === 'string' ? { seq: entry.seq as number, hash: entry.hash } : undefined;
}
