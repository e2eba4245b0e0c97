/**
 * Checking a journal against its chain: entries in the order the
 * journal holds them, the secret, and the head the store kept. Pure: the
 * caller reads the entries (`readJournal` from `pos-duplicate-guard/node`
 * for a file store's journal, `store.journal()` for a memory store's).
 */
import { GuardInputError, describeValue, invalidOption } from '../errors.js';
import type { JournalEntry, JournalHead } from '../types.js';
import { headOf, journalHasher } from './chain.js';

/** What is wrong with a journal, at the first bad `seq`. */
export type JournalProblem = 'edited' | 'missing' | 'reordered' | 'truncated';

export interface VerifyJournalOptions {
  /** The guard's `secret`: the chain's key is derived from it. */
  secret: string | Uint8Array;
  /** The head the store kept (`'journal-head'` in its metadata). Without it a cut tail cannot be seen. */
  head?: JournalHead;
  /**
   * The journal's oldest entries may be gone by design: a file store's
   * rotated past `journalMaxBytes` (`<path>.journal.1` exists), a memory or
   * IndexedDB store's trimmed past `journalLimit`. Then the first entry
   * present anchors the chain (its own content is not proven). Without it
   * the chain must start at seq 1, so a cut start is `missing`.
   * @default false
   */
  rotated?: boolean;
  /**
   * The first `seq` the journal must hold whole from on (a file store's
   * `'journal-from'`, kept when it rotates): the chain may start at or
   * before it (its anchor), never after, or that seq is `missing`. Implies
   * `rotated`.
   */
  from?: number;
}

export type JournalVerification =
  | {
      ok: true;
      /** Entries read, unsealed ones included. */
      entries: number;
      /** Entries without `seq` and `hash` before the chain: written by a release before the chain, not proven. */
      unsealed: number;
      /**
       * The first `seq` present (undefined: no sealed entry). Above 1 (only
       * with `rotated`) the journal's start was rotated or trimmed away: that
       * entry anchors the chain, and what follows it is proven, not the
       * anchor's own content.
       */
      from: number | undefined;
      /** The last entry's `{ seq, hash }`: may be past the stored head, which is allowed to lag. */
      last: JournalHead | undefined;
    }
  | {
      ok: false;
      /** The first bad `seq`: the entry edited or out of place, the first one missing, or the first one cut off. */
      seq: number;
      problem: JournalProblem;
    };

/**
 * Checks entries one at a time, so a long journal is never held in memory:
 * `add` each in the journal's order (`corrupt` for a line that is not an
 * entry at all), then `result()`. Checks `seq` first: a gap is `missing`
 * (or `reordered`, if the missing entry turns up later), a step back is
 * `reordered`; then the hash (`edited`); a journal that ends before the head
 * is `truncated`. Unsealed entries are accepted only before the chain.
 */
export function journalVerifier(options: VerifyJournalOptions): {
  add(entry: JournalEntry): void;
  corrupt(): void;
  result(): JournalVerification;
} {
  checkOptions(options);
  const hash = journalHasher(options.secret);
  const { head } = options;
  const rotated = options.rotated === true || options.from !== undefined;
  let [entries, unsealed] = [0, 0];
  let [from, last]: [number | undefined, JournalHead | undefined] = [undefined, undefined];
  let failure: { seq: number; problem: JournalProblem } | undefined;
  // After a gap: the seq that should have come, looked for in the rest (found: reordered; never: missing).
  let awaited: number | undefined;
  // After a step back behind a rotated start's anchor: the anchor was out of place; the lowest seq is where the journal starts.
  let lowest: number | undefined;
  const expected = () => (last ? last.seq + 1 : 1);
  const fail = (seq: number, problem: JournalProblem) => void (failure ??= { seq, problem });

  const add = (entry: JournalEntry | null): void => {
    entries++;
    if (failure) return;
    try {
      check(entry);
    } catch {
      // Not an entry the chain can hash (a cycle, a throwing getter): damage, as a line that is not JSON.
      fail(expected(), 'edited');
    }
  };
  const check = (entry: JournalEntry | null): void => {
    const seq = (entry as Partial<JournalEntry> | null)?.seq;
    if (awaited !== undefined) return void (seq === awaited && fail(awaited, 'reordered'));
    if (lowest !== undefined) return void (Number.isSafeInteger(seq) && (lowest = Math.min(lowest, seq as number)));
    const sealed = typeof entry === 'object' && entry ? headOf(entry) : undefined;
    if (!sealed || sealed.seq < 1) {
      // Before any sealed entry, an entry with neither field is an older release's; anything else (a line that is not an entry) is damage.
      const old = !last && typeof entry === 'object' && entry && seq === undefined && entry.hash === undefined;
      return old ? void unsealed++ : fail(expected(), 'edited');
    }
    if (last === undefined) {
      // The chain's first entry: seq 1 unless the start was rotated or trimmed away. Unsealed entries
      // before it do not change that: an IndexedDB journal lists a release-before-the-chain tab's entries
      // first, whenever written, and with `rotated` they prove no less than a start simply dropped.
      if (sealed.seq !== 1 && !rotated) return void (awaited = 1);
      from = sealed.seq;
      // A start rotated or trimmed away: nothing to link this one to, so it anchors the chain.
      if (sealed.seq === 1 && hash(entry as JournalEntry, '') !== sealed.hash) return fail(1, 'edited');
    } else if (sealed.seq > last.seq + 1) {
      return void (awaited = last.seq + 1);
    } else if (sealed.seq <= last.seq) {
      return sealed.seq < (from as number) ? void (lowest = sealed.seq) : fail(sealed.seq, 'reordered');
    } else if (hash(entry as JournalEntry, last.hash) !== sealed.hash) {
      return fail(sealed.seq, 'edited');
    }
    // Past the anchor the chain proves this entry; the head must be one of them.
    if (head && sealed.seq === head.seq && sealed.hash !== head.hash) return fail(sealed.seq, 'edited');
    last = sealed;
  };

  return {
    add,
    corrupt: () => add(null),
    result: () => {
      if (failure) return { ok: false, ...failure };
      if (awaited !== undefined) return { ok: false, seq: awaited, problem: 'missing' };
      if (lowest !== undefined) return { ok: false, seq: lowest, problem: 'reordered' };
      // Rotated away only up to where the store said, when it rotated, the journal must start.
      if (options.from !== undefined && (from ?? Infinity) > options.from) return { ok: false, seq: options.from, problem: 'missing' };
      if (head && (last?.seq ?? 0) < head.seq) return { ok: false, seq: expected(), problem: 'truncated' };
      return { ok: true, entries, unsealed, from, last };
    },
  };
}

/**
 * Checks a journal's entries, in the order the journal holds them, against
 * its chain: `{ ok: true, entries, … }`, or the first bad `seq`
 * and what is wrong there (`edited`, `missing`, `reordered`, `truncated`).
 * Pass the store's `head` to see a cut tail. It proves, to whoever holds the
 * secret, that the entries are the ones the guard wrote, in order, none
 * missing, added or changed; it proves nothing against someone who holds
 * the secret too (the chain is an HMAC, not a signature).
 * @example
 * const head = parseJournalHead(await store.getMeta('journal-head'));
 * const result = verifyJournal(store.journal(), { secret, head });
 */
export function verifyJournal(entries: Iterable<JournalEntry>, options: VerifyJournalOptions): JournalVerification {
  const verifier = journalVerifier(options);
  // A string is iterable too (the file's text, not its entries): every character would read as damage.
  if (
    typeof entries === 'string' ||
    typeof (entries as Partial<Iterable<JournalEntry>> | null | undefined)?.[Symbol.iterator] !== 'function'
  ) {
    throw new GuardInputError(
      'INVALID_JOURNAL',
      `\`entries\` must be an iterable of journal entries (an array), got ${describeValue(entries)}`,
      {
        field: 'entries',
      },
    );
  }
  for (const entry of entries) verifier.add(entry);
  return verifier.result();
}

/** Options a caller built by hand are checked: a head passed as the stored text would verify as no head at all. */
function checkOptions(options: VerifyJournalOptions): void {
  if (typeof options !== 'object' || options === null) {
    invalidOption('options', 'an object: { secret, head?, rotated?, from? }', options);
  }
  const { head, rotated, from } = options;
  const seq = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1;
  if (head !== undefined && (typeof head !== 'object' || head === null || !seq(head.seq) || typeof head.hash !== 'string')) {
    invalidOption('head', "{ seq, hash }: the stored text parsed with parseJournalHead(await store.getMeta('journal-head'))", head);
  }
  if (rotated !== undefined && typeof rotated !== 'boolean') invalidOption('rotated', 'a boolean', rotated);
  if (from !== undefined && !seq(from)) {
    invalidOption('from', "a seq (an integer from 1): parseJournalFrom(await store.getMeta('journal-from'))", from);
  }
}
