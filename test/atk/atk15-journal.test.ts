/**
 * atk15: the tamper-evident journal (SPEC §12) attacked: a cut tail on
 * PostgreSQL, hostile strings in entries, entries spliced from another
 * terminal's chain, an old chain replayed, two guards journaling at once.
 *
 * Findings (tests that FAIL on current code):
 *
 * 1. On `postgresStore` a terminal's chain has no head kept apart from its
 *    rows: `sharedStore` reads the head from the database's LAST JOURNAL ROW
 *    of the terminal (`remote.lastJournal`), and `getMeta('journal-head')`
 *    gives nothing for it. So someone who can write the journal table but
 *    does not hold the secret (a DBA, a compromised back office) deletes the
 *    tail of a till's chain — the override, the refund, the manual settle
 *    they want gone — and nothing notices: `verifyJournal` has no head to
 *    check against, and once the till restarts it reads its head from the
 *    new last row and seals its next entries onto the cut, reusing the
 *    deleted seqs. The cut is healed for good. SPEC §12 ("the store's
 *    metadata keeps the last seq and hash, so a cut tail is noticed too")
 *    and `GuardStore.appendJournal`'s contract ("keeps the head … in its
 *    metadata under 'journal-head'") are not met on PostgreSQL.
 *
 * Guarantees pinned here that nobody had tested (PASS):
 * - edits invisible to the eye are caught: a lone surrogate turned into
 *   U+FFFD, a NUL into another control character, an own `__proto__` key
 *   injected into a journal line (all as JSON, as a file store keeps them);
 * - T2's entry spliced into T1's chain at the same seq, and T2's whole
 *   chain presented as T1's against T1's head, are caught; an old prefix of
 *   the chain replayed against the current head reads `truncated`;
 * - a guard taken over in one process (a restart) while its journal
 *   writes are in flight, both journaling: one gap-free chain.
 */
import { describe, expect, it } from 'vitest';
import {
  createGuard,
  memoryStore,
  parseJournalHead,
  verifyJournal,
  type Guard,
  type JournalEntry,
  type JournalHead,
} from '../../src/index.js';
import { DEFAULT_SCHEMA } from '../../src/postgres.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { MASTERCARD, VISA } from '../helpers/guard.js';
import { pgTerminals } from '../helpers/pg-terminals.js';

const SECRET = 'atk15-journal-secret-0123456789abcdef';
const MERCHANT = 'M-ATK15';
const sale = (amount: number, pan = VISA) => ({ amount, currency: 'CNY', card: { pan } });

/** A sale approved, then begun again (a prompt: journaled), then overridden by a supervisor: the entries someone may want gone. */
async function busyDay(guard: Guard, amount: number) {
  await (await guard.begin(sale(amount))).attempt!.approve();
  const again = await guard.begin(sale(amount));
  expect(again.verdict).toBe('prompt');
  const overridden = await guard.override(again, { operator: 'op-7', reason: 'customer bought two' });
  await overridden.attempt!.approve();
}

describe('atk15: a cut tail on PostgreSQL', () => {
  const { pool, open, rows } = pgTerminals('atk15_journal', MERCHANT, SECRET);

  it("the tail of a till's chain deleted in the database is noticed (against the head the store keeps), even after the till restarted", async () => {
    const first = await open('T1');
    await busyDay(first.guard, 1_000);
    await busyDay(first.guard, 2_000);
    await first.guard.close();
    const before = await rows('T1');
    expect(verifyJournal(before, { secret: SECRET })).toMatchObject({ ok: true });
    const lastSeq = before.at(-1)!.seq as number;
    expect(lastSeq).toBeGreaterThanOrEqual(8);

    // Someone with write access to the table, not the secret: the second day's override is made to vanish.
    const overrides = before.filter((e) => e.type === 'override');
    const cutFrom = overrides.at(-1)!.seq as number;
    await pool().query(`DELETE FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2 AND seq >= $3`, [
      MERCHANT,
      'T1',
      cutFrom,
    ]);

    // The till restarts and works on.
    const second = await open('T1');
    await busyDay(second.guard, 3_000);
    // What the store keeps as the journal's head (SPEC §12; GuardStore.appendJournal's contract).
    const head: JournalHead | undefined = parseJournalHead(await second.store.getMeta('journal-head'));
    await second.guard.close();

    const after = await rows('T1');
    const result = verifyJournal(after, { secret: SECRET, ...(head ? { head } : {}) });
    // Today: { ok: true } — no head is kept apart from the rows, and the restarted till sealed
    // its entries onto the cut (the deleted seqs reused), so the chain reads whole.
    expect(result.ok).toBe(false);
  });
});

describe('atk15: edits invisible to the eye (pins, pass)', () => {
  it('a lone surrogate turned into U+FFFD, a NUL into SOH, an own __proto__ key injected: each is an edit at its seq', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    await (await guard.begin(sale(1_000))).attempt!.approve();
    const prompt = await guard.begin(sale(1_000));
    await guard.override(prompt, { operator: '__proto__', reason: 'a\u0000b \ud800 \u202e two coffees' });
    await guard.close();
    const head = parseJournalHead(await store.getMeta('journal-head'));
    // As a file store keeps them: one JSON line each.
    const lines = store.journal().map((e) => JSON.stringify(e));
    const parse = (all: string[]) => all.map((l) => JSON.parse(l) as JournalEntry);
    expect(verifyJournal(parse(lines), { secret: SECRET, head })).toMatchObject({ ok: true });
    const at = lines.findIndex((l) => l.includes('"type":"override"'));
    const seq = (JSON.parse(lines[at] as string) as JournalEntry).seq;
    const edits = [
      (l: string) => l.replace('\\ud800', '\\ufffd'),
      (l: string) => l.replace('\\ud800', '\uFFFD'),
      (l: string) => l.replace('\\u0000', '\\u0001'),
      (l: string) => l.replace('{', '{"__proto__":{"to":"declined"},'),
      (l: string) => l.replace('"reason":', '"__proto__":{"reason":"x"},"reason":'),
    ];
    for (const edit of edits) {
      const changed = lines.map((l, i) => (i === at ? edit(l) : l));
      expect(changed[at]).not.toBe(lines[at]);
      expect(verifyJournal(parse(changed), { secret: SECRET, head })).toEqual({ ok: false, seq, problem: 'edited' });
    }
  });
});

describe('atk15: splices and replays across terminals (pins, pass)', () => {
  async function twoChains() {
    const db = sharedMemoryDatabase(() => Date.now());
    const open = (terminalId: string) =>
      createGuard({ merchantId: 'M1', terminalId, secret: SECRET, store: sharedStore(db.remote(terminalId), { local: memoryStore() }) });
    const [g1, g2] = [await open('T1'), await open('T2')];
    await busyDay(g1, 1_000);
    await busyDay(g2, 2_000);
    await busyDay(g1, 3_000);
    await busyDay(g2, 4_000);
    await busyDay(g2, 5_000);
    await Promise.all([g1.close(), g2.close()]);
    const reader = db.remote('auditor');
    const [c1, c2] = [await reader.journal('M1', 'T1'), await reader.journal('M1', 'T2')];
    const headOf = (chain: readonly JournalEntry[]): JournalHead => ({
      seq: chain.at(-1)!.seq as number,
      hash: chain.at(-1)!.hash as string,
    });
    return { c1, c2, h1: headOf(c1), h2: headOf(c2) };
  }

  it("T2's entry spliced into T1's chain at the same seq is an edit; T2's chain shown as T1's is caught against T1's head; an old prefix replayed is truncated", async () => {
    const { c1, c2, h1 } = await twoChains();
    expect(verifyJournal(c1, { secret: SECRET, head: h1 })).toMatchObject({ ok: true });
    expect(c2.length).toBeGreaterThan(c1.length);
    // Same secret on every lane: the splice is sealed with the right key, at the right seq.
    const i = 3;
    const spliced = c1.map((e, k) => (k === i ? (c2[k] as JournalEntry) : e));
    expect((spliced[i] as JournalEntry).seq).toBe((c1[i] as JournalEntry).seq);
    expect(verifyJournal(spliced, { secret: SECRET, head: h1 })).toMatchObject({ ok: false, problem: 'edited' });
    // T2's whole (longer) chain as T1's: its entry at T1's head seq is not T1's head.
    expect(verifyJournal(c2, { secret: SECRET, head: h1 })).toEqual({ ok: false, seq: h1.seq, problem: 'edited' });
    // Yesterday's copy of T1's chain against today's head.
    expect(verifyJournal(c1.slice(0, 4), { secret: SECRET, head: h1 })).toEqual({ ok: false, seq: 5, problem: 'truncated' });
  });
});

describe('atk15: two guards journaling at once in one process (pin, passes)', () => {
  it('a guard taken over by a new one (a restart) while its journal writes are in flight: one gap-free chain that verifies', async () => {
    const store = memoryStore();
    const a = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const inFlight = [a.begin(sale(100)), a.begin(sale(200, MASTERCARD)), a.begin(sale(300))];
    const b = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    await Promise.allSettled(inFlight);
    const prompts = await Promise.all([b.begin(sale(100)), b.begin(sale(400)), b.begin(sale(500, MASTERCARD))]);
    for (const d of prompts) await d.attempt?.approve().catch(() => undefined);
    await Promise.allSettled([a.close(), b.close()]);
    const entries = store.journal();
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    const head = parseJournalHead(await store.getMeta('journal-head'));
    expect(verifyJournal(entries, { secret: SECRET, head })).toMatchObject({ ok: true, entries: entries.length });
  });
});
