import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journalSeal } from '../../src/journal/chain.js';
import { journalVerifier } from '../../src/journal/verify.js';
import { verifyJournal, type JournalEntry, type JournalHead, type SealedJournalEntry } from '../../src/index.js';

const SECRET = 'journal-test-secret-0123456789';

/** An honest journal: `n` entries sealed one after another, and the head a store would keep. */
function honest(n: number, first?: JournalHead): { entries: SealedJournalEntry[]; head: JournalHead | undefined } {
  const seal = journalSeal(SECRET);
  const entries: SealedJournalEntry[] = [];
  let head = first;
  for (let i = 0; i < n; i++) {
    const entry = seal({ at: 1_000 + i, type: i % 2 ? 'settle' : 'decision', attemptId: `pdg_${i}`, amount: 100 + i }, head);
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return { entries, head };
}

describe('verifyJournal', () => {
  it('passes an honest journal, saying how many entries and from which seq', () => {
    const { entries, head } = honest(5);
    expect(verifyJournal(entries, { secret: SECRET, head })).toStrictEqual({ ok: true, entries: 5, unsealed: 0, from: 1, last: head });
    expect(verifyJournal([], { secret: SECRET })).toStrictEqual({ ok: true, entries: 0, unsealed: 0, from: undefined, last: undefined });
  });

  it('fails the same journal under another secret', () => {
    const { entries, head } = honest(3);
    expect(verifyJournal(entries, { secret: `${SECRET}!`, head })).toStrictEqual({ ok: false, seq: 1, problem: 'edited' });
  });

  it('reads an old journal: unsealed entries before the chain are counted, not proven', () => {
    const old: JournalEntry[] = [
      { at: 1, type: 'start' },
      { at: 2, type: 'settle' },
    ];
    const { entries, head } = honest(2);
    expect(verifyJournal([...old, ...entries], { secret: SECRET, head })).toMatchObject({ ok: true, entries: 4, unsealed: 2, from: 1 });
    expect(verifyJournal(old, { secret: SECRET })).toMatchObject({ ok: true, entries: 2, unsealed: 2, from: undefined });
  });

  it('calls an unsealed entry inside the chain, or a half-sealed one, an edit', () => {
    const { entries } = honest(3);
    const stripped = { ...entries[1], seq: undefined, hash: undefined } as JournalEntry;
    expect(verifyJournal([entries[0] as JournalEntry, stripped, entries[2] as JournalEntry], { secret: SECRET })).toStrictEqual({
      ok: false,
      seq: 2,
      problem: 'edited',
    });
    const halfSealed = { ...entries[0], hash: undefined } as JournalEntry;
    expect(verifyJournal([halfSealed], { secret: SECRET })).toStrictEqual({ ok: false, seq: 1, problem: 'edited' });
  });

  it('sees a chain whose start was stripped of its seals: after unsealed entries the chain must start at 1', () => {
    const { entries } = honest(4);
    const stripped = entries.slice(0, 2).map(({ seq: _s, hash: _h, ...rest }) => rest);
    expect(verifyJournal([...stripped, ...entries.slice(2)], { secret: SECRET })).toStrictEqual({ ok: false, seq: 1, problem: 'missing' });
    // With `rotated` the start may be gone anyway: the stripped ones are counted as unproven, the chain proven from its anchor.
    const rotated = verifyJournal([...stripped, ...entries.slice(2)], { secret: SECRET, rotated: true });
    expect(rotated).toMatchObject({ ok: true, unsealed: 2, from: 3 });
  });

  it('with `rotated`, verifies a journal whose start was rotated away from its first entry on, and says so', () => {
    const { entries, head } = honest(6);
    const rest = entries.slice(3);
    expect(verifyJournal(rest, { secret: SECRET, head, rotated: true })).toMatchObject({ ok: true, entries: 3, from: 4 });
    expect(verifyJournal(rest, { secret: SECRET, head })).toStrictEqual({ ok: false, seq: 1, problem: 'missing' });
    const edited = rest.map((e) => (e.seq === 5 ? { ...e, amount: 1 } : e));
    expect(verifyJournal(edited, { secret: SECRET, head, rotated: true })).toStrictEqual({ ok: false, seq: 5, problem: 'edited' });
    // An anchor out of place: the journal's true start turns up after it.
    const moved = [entries[5], ...entries.slice(2, 5)] as JournalEntry[];
    expect(verifyJournal(moved, { secret: SECRET, head, rotated: true })).toStrictEqual({ ok: false, seq: 3, problem: 'reordered' });
  });

  it('with `from`, lets the start be rotated away up to that seq, never past it', () => {
    const { entries, head } = honest(6);
    expect(verifyJournal(entries.slice(2), { secret: SECRET, head, from: 3 })).toMatchObject({ ok: true, from: 3 });
    expect(verifyJournal(entries.slice(1), { secret: SECRET, head, from: 3 })).toMatchObject({ ok: true, from: 2 });
    expect(verifyJournal(entries.slice(3), { secret: SECRET, head, from: 3 })).toStrictEqual({ ok: false, seq: 3, problem: 'missing' });
  });

  it('accepts entries past a lagging head, and refuses a head the chain does not reach through', () => {
    const { entries } = honest(5);
    const lagging = { seq: 3, hash: entries[2]?.hash as string };
    expect(verifyJournal(entries, { secret: SECRET, head: lagging })).toMatchObject({ ok: true, entries: 5 });
    expect(verifyJournal(entries, { secret: SECRET, head: { seq: 3, hash: 'other' } })).toStrictEqual({
      ok: false,
      seq: 3,
      problem: 'edited',
    });
    expect(verifyJournal([], { secret: SECRET, head: lagging })).toStrictEqual({ ok: false, seq: 1, problem: 'truncated' });
  });

  it('calls a step back reordered and a seq edited upwards missing', () => {
    const { entries } = honest(4);
    const dup = [entries[0], entries[1], entries[1], entries[2]] as JournalEntry[];
    expect(verifyJournal(dup, { secret: SECRET })).toStrictEqual({ ok: false, seq: 2, problem: 'reordered' });
    const bumped = entries.map((e) => (e.seq === 3 ? { ...e, seq: 7 } : e));
    expect(verifyJournal(bumped, { secret: SECRET })).toStrictEqual({ ok: false, seq: 3, problem: 'missing' });
  });

  it('calls a line that is not an entry an edit at the seq expected there', () => {
    const { entries, head } = honest(3);
    const verifier = journalVerifier({ secret: SECRET, head });
    verifier.add(entries[0] as JournalEntry);
    verifier.corrupt();
    verifier.add(entries[2] as JournalEntry);
    expect(verifier.result()).toStrictEqual({ ok: false, seq: 2, problem: 'edited' });
  });

  type Tamper =
    | { kind: 'edit'; i: number }
    | { kind: 'drop'; i: number }
    | { kind: 'swap'; i: number; j: number }
    | { kind: 'insert'; i: number; detail: string }
    | { kind: 'truncate'; k: number };

  const tampers = (n: number): fc.Arbitrary<Tamper> =>
    fc.oneof(
      fc.nat(n - 1).map((i): Tamper => ({ kind: 'edit', i })),
      fc.nat(n - 1).map((i): Tamper => ({ kind: 'drop', i })),
      // Two distinct positions (a one-entry journal has none: the drop stands in).
      n < 2
        ? fc.constant<Tamper>({ kind: 'drop', i: 0 })
        : fc.tuple(fc.nat(n - 2), fc.nat(n - 2)).map(([a, b]): Tamper => ({ kind: 'swap', i: Math.min(a, b), j: Math.max(a, b) + 1 })),
      fc.tuple(fc.nat(n), fc.string()).map(([i, detail]): Tamper => ({ kind: 'insert', i, detail })),
      fc.integer({ min: 1, max: n }).map((k): Tamper => ({ kind: 'truncate', k })),
    );

  /** The journal after the tamper, and what verification must answer: the problem at the first bad seq. */
  function apply(entries: readonly SealedJournalEntry[], t: Tamper): { journal: JournalEntry[]; seq: number; problem: string } {
    const journal: JournalEntry[] = [...entries];
    const n = entries.length;
    switch (t.kind) {
      case 'edit':
        journal[t.i] = { ...(entries[t.i] as SealedJournalEntry), detail: 'changed', amount: 1 };
        return { journal, seq: t.i + 1, problem: 'edited' };
      case 'drop':
        journal.splice(t.i, 1);
        return { journal, seq: t.i + 1, problem: t.i === n - 1 ? 'truncated' : 'missing' };
      case 'swap':
        [journal[t.i], journal[t.j]] = [journal[t.j] as JournalEntry, journal[t.i] as JournalEntry];
        return { journal, seq: t.i + 1, problem: 'reordered' };
      case 'insert': {
        // A forgery in the place it claims, with the hash of the entry it pushes aside (or of any entry).
        const forged = { at: 5, type: 'override', reason: t.detail, seq: t.i + 1, hash: entries[Math.min(t.i, n - 1)]?.hash ?? '' };
        journal.splice(t.i, 0, forged as JournalEntry);
        return { journal, seq: t.i + 1, problem: 'edited' };
      }
      case 'truncate':
        journal.splice(n - t.k);
        return { journal, seq: n - t.k + 1, problem: 'truncated' };
    }
  }

  it('catches any single edit, drop, swap, insert or truncation, with the right problem and seq', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), tampers(n))),
        ([n, tamper]) => {
          const { entries, head } = honest(n);
          const { journal, seq, problem } = apply(entries, tamper);
          expect(verifyJournal(journal, { secret: SECRET, head })).toStrictEqual({ ok: false, seq, problem });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('without the head, sees everything but a cut tail', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), tampers(n))),
        ([n, tamper]) => {
          const { entries } = honest(n);
          const { journal, seq, problem } = apply(entries, tamper);
          const result = verifyJournal(journal, { secret: SECRET });
          if (problem === 'truncated') expect(result).toMatchObject({ ok: true, entries: journal.length });
          else expect(result).toStrictEqual({ ok: false, seq, problem });
        },
      ),
      { numRuns: 300 },
    );
  });
});
