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
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64url, secretBytes } from '../fingerprint.js';
import type { JournalEntry, JournalHead, JournalSeal, SealedJournalEntry } from '../types.js';

/** The metadata key under which a store keeps its journal head, as `JSON.stringify({ seq, hash })`. */
export const JOURNAL_HEAD = 'journal-head';

/**
 * The metadata key under which a file store keeps, as a decimal string, the
 * first `seq` its journal files must hold from on: the first entry of the
 * file it rotates to `<path>.journal.1`, made durable before the rename. So
 * an emptied or shortened `.journal.1` reads as `missing`, not as rotated.
 */
export const JOURNAL_FROM = 'journal-from';

/** A stored `journal-from`, or undefined if there is none or it is not a seq. */
export function parseJournalFrom(text: string | undefined): number | undefined {
  const seq = text === undefined || !/^[1-9]\d{0,15}$/.test(text) ? undefined : Number(text);
  return seq !== undefined && Number.isSafeInteger(seq) ? seq : undefined;
}

// Derived, not the secret itself: the fingerprint key is never reused for another purpose.
const KEY_LABEL = 'pos-duplicate-guard journal v1';

/**
 * The entry as the chain hashes it: keys sorted (recursively), no
 * whitespace, `undefined` fields absent, the entry's own `hash` left out.
 */
export const canonicalJson = (entry: JournalEntry): string => canonical(entry, true);

// Built as one string, without copies of the entry or arrays of its keys: it runs once per journal entry.
function canonical(value: unknown, top = false): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonical(item))).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  let text = '';
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && !(top && key === 'hash')) text += `${text ? ',' : ''}${JSON.stringify(key)}:${canonical(field)}`;
  }
  return `{${text}}`;
}

/**
 * Hashes entries of the chain keyed by `secret`: `hash(entry, previousHash)`
 * is the HMAC that entry must carry, in unpadded base64url (43 characters).
 * Not hex: a hex digest has a run of 12 or more decimal digits about one time
 * in fourteen, which PAN scans of the journal (ours, a DLP tool's) would flag.
 */
export function journalHasher(secret: string | Uint8Array): (entry: JournalEntry, previousHash: string) => string {
  // Keyed once; each entry's HMAC starts from a copy of that state made into
  // one reused instance (`_cloneInto`), so sealing allocates no hash objects.
  const keyed = hmac.create(sha256, hmac(sha256, secretBytes(secret), utf8ToBytes(KEY_LABEL)));
  const [scratch, digest] = [keyed.clone(), new Uint8Array(32)];
  return (entry, previousHash) => {
    keyed
      ._cloneInto(scratch)
      .update(utf8ToBytes(`${previousHash}\n${canonicalJson(entry)}`))
      .digestInto(digest);
    return base64url(digest);
  };
}

/** The seal a guard keyed by `secret` hands its store (see JournalSeal). */
export function journalSeal(secret: string | Uint8Array): JournalSeal {
  const hash = journalHasher(secret);
  return (entry, previous) => {
    // One copy of the entry; a stale seq or hash it carried is replaced (and `hash` is never hashed).
    // Object.assign, not `{ ...entry, seq, hash }`: V8 gives a spread that adds keys a property store
    // several times its size, and a memoryStore keeps 10k sealed entries (589 B each against 149 B).
    const sealed: SealedJournalEntry = Object.assign({}, entry, { seq: (previous?.seq ?? 0) + 1, hash: '' });
    sealed.hash = hash(sealed, previous?.hash ?? '');
    return sealed;
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
