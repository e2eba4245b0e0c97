import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { GuardInputError } from '../../src/errors.js';
import { readJournal } from '../../src/stores/file/journal-read.js';
import { summarizeJournal, type JournalSummary } from '../../src/report/summary.js';
import type { JournalEntry } from '../../src/types.js';
import { DAY_START, HOUR, MINUTE, playJournalDay, type JournalDay } from '../helpers/journal-day.js';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

async function entriesOf(storePath: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(storePath)) entries.push(entry);
  return entries;
}

const at = (iso: string): number => Date.parse(iso);
const prompt = (when: number, codes: JournalEntry['codes'] = ['DUPLICATE_CHARGE']): JournalEntry => ({
  at: when,
  type: 'decision',
  verdict: 'prompt',
  codes,
  amount: 100,
});
const block = (when: number): JournalEntry => ({ at: when, type: 'decision', verdict: 'block', codes: ['UNKNOWN_OUTCOME'], amount: 100 });

describe('summarizeJournal over a day played through the public API', () => {
  let day: JournalDay;
  let summary: JournalSummary;
  beforeAll(async () => {
    day = await playJournalDay();
    summary = summarizeJournal(await entriesOf(day.storePath), { tz: 'Asia/Shanghai' });
  }, 30_000);

  it('counts decisions by verdict and by reason code, and per local hour', () => {
    expect(summary.decisions.byVerdict).toEqual({ allow: 0, prompt: 1, block: 1 });
    expect(summary.decisions.byReason).toEqual([
      { code: 'DUPLICATE_CHARGE', prompt: 1, block: 0, allow: 0 },
      { code: 'UNKNOWN_OUTCOME', prompt: 0, block: 1, allow: 0 },
    ]);
    // 09:05 and 11:02 in Shanghai: three hours, the empty 10:00 one included.
    expect(summary.decisions.perHour).toEqual([
      { hour: at('2026-03-01T01:00:00Z'), prompts: 1, blocks: 0 },
      { hour: at('2026-03-01T02:00:00Z'), prompts: 0, blocks: 0 },
      { hour: at('2026-03-01T03:00:00Z'), prompts: 0, blocks: 1 },
    ]);
  });

  it('lists overrides with operator, supervisor, reason and lifted codes, and groups them by person', () => {
    expect(summary.overrides.list).toEqual([
      {
        at: DAY_START + 5 * MINUTE + 20_000,
        attemptId: day.ids.doubleTapSecond,
        operator: 'alice',
        supervisor: null,
        reason: 'customer bought two',
        codes: ['DUPLICATE_CHARGE'],
      },
      expect.objectContaining({
        attemptId: day.ids.overridden,
        operator: 'carol',
        supervisor: 'bob',
        reason: 'processor portal shows no charge',
        codes: ['UNKNOWN_OUTCOME'],
      }),
    ]);
    expect(summary.overrides.byPerson).toEqual([
      { operator: 'alice', supervisor: null, count: 1, reasons: ['customer bought two'] },
      { operator: 'carol', supervisor: 'bob', count: 1, reasons: ['processor portal shows no charge'] },
    ]);
  });

  it('says how and how fast each unknown outcome was resolved', () => {
    const byId = new Map(summary.unknowns.map((u) => [u.attemptId, u]));
    expect(summary.unknowns.map((u) => u.attemptId)).toEqual([day.ids.timedOut, day.ids.leftForPerson, day.ids.crashed, day.ids.stillOpen]);
    // A charge timeout, found approved by the background recovery on its first try (recoverAfter 5 s).
    expect(byId.get(day.ids.timedOut)).toMatchObject({
      unknownAt: day.at.timedOut,
      unknownAtExact: true,
      resolvedBy: 'recovery',
      resolvedAfterMs: 5_000,
      outcome: 'approved',
      recoverTries: 1,
    });
    // Recovery found nothing; a person declined it an hour later.
    expect(byId.get(day.ids.leftForPerson)).toMatchObject({ resolvedBy: 'manual', resolvedAfterMs: HOUR, outcome: 'declined' });
    // Pending at the crash: unknown from the restart, settled by reconciliation a minute later.
    expect(byId.get(day.ids.crashed)).toMatchObject({
      unknownAt: day.at.restart,
      unknownAtExact: true,
      resolvedBy: 'reconciliation',
      resolvedAfterMs: MINUTE,
      outcome: 'approved',
    });
    expect(byId.get(day.ids.stillOpen)).toMatchObject({
      resolvedBy: null,
      resolvedAt: null,
      resolvedAfterMs: null,
      outcome: null,
      recoveryExhausted: true,
    });
    expect(summary.unknownTotals).toEqual({ total: 4, recovery: 1, reconciliation: 1, manual: 1, open: 1, pruned: 0 });
  });

  it('counts refunds, clock anomalies, storage errors, conflicts and restarts', () => {
    expect(summary.refunds).toEqual({ recorded: 2, amount: 1250, fullyRefunded: 1, flagged: 0, overRefunds: [] });
    expect(summary.clockAnomalies).toEqual([expect.objectContaining({ driftMs: 10 * MINUTE })]);
    expect(summary.storage).toEqual([expect.objectContaining({ source: 'storage', detail: expect.stringContaining('cleared') })]);
    expect(summary.conflicts).toEqual([
      expect.objectContaining({ code: 'DUPLICATE_CHARGE', attempts: [day.ids.doubleTapSecond, 'pdg_other_terminal'] }),
    ]);
    expect(summary.journal.starts).toBe(2);
    expect(summary.settles).toContainEqual({ from: 'pending', to: 'unknown', count: 4 });
    expect(summary.reconciliation).toEqual([
      expect.objectContaining({ attemptId: day.ids.crashed, finding: 'UNKNOWN_WAS_CHARGED', to: 'approved' }),
    ]);
  });

  it('covers the whole journal without --from/--to, and nothing on a day without entries', async () => {
    expect(summary.journal.inPeriod).toBe(summary.journal.entries);
    const before = summarizeJournal(await entriesOf(day.storePath), { tz: 'Asia/Shanghai', from: '2026-02-28', to: '2026-02-28' });
    expect(before.journal.inPeriod).toBe(0);
    expect(before.unknowns).toEqual([]);
    expect(before.decisions.perHour).toEqual([]);
  });
});

describe('resolvedBy, from the entries alone', () => {
  const T = at('2026-03-01T01:00:00Z');
  const summarize = (entries: JournalEntry[]) => summarizeJournal(entries, { tz: 'UTC' }).unknowns;

  it('recovery: its settle, then its own recover entry', () => {
    expect(
      summarize([
        { at: T, type: 'settle', attemptId: 'a', from: 'pending', to: 'unknown' },
        { at: T + 5_000, type: 'recover', attemptId: 'a', to: 'unknown', detail: 'try 1: still unknown' },
        { at: T + 15_000, type: 'settle', attemptId: 'a', from: 'unknown', to: 'voided' },
        { at: T + 15_000, type: 'recover', attemptId: 'a', to: 'voided', detail: "try 2: settled voided from the processor's answer" },
      ]),
    ).toEqual([expect.objectContaining({ resolvedBy: 'recovery', resolvedAfterMs: 15_000, outcome: 'voided', recoverTries: 2 })]);
  });

  it('reconciliation: a reconcile entry, with or without a settle before it', () => {
    expect(
      summarize([
        { at: T, type: 'settle', attemptId: 'a', from: 'pending', to: 'unknown' },
        { at: T + 60_000, type: 'reconcile', attemptId: 'a', from: 'unknown', to: 'cancelled', detail: 'UNKNOWN_NOT_CHARGED no charge' },
        { at: T, type: 'settle', attemptId: 'b', from: 'pending', to: 'unknown' },
        { at: T + 90_000, type: 'settle', attemptId: 'b', from: 'unknown', to: 'approved' },
        { at: T + 90_000, type: 'reconcile', attemptId: 'b', from: 'unknown', to: 'approved', detail: 'UNKNOWN_WAS_CHARGED' },
      ]),
    ).toEqual([
      expect.objectContaining({ attemptId: 'a', resolvedBy: 'reconciliation', resolvedAfterMs: 60_000, outcome: 'cancelled' }),
      expect.objectContaining({ attemptId: 'b', resolvedBy: 'reconciliation', resolvedAfterMs: 90_000, outcome: 'approved' }),
    ]);
  });

  it('manual: a settle from unknown, or the settle of a resumed retry; a later recover entry does not take it over', () => {
    expect(
      summarize([
        { at: T, type: 'settle', attemptId: 'a', from: 'pending', to: 'unknown' },
        { at: T + 1_000, type: 'settle', attemptId: 'a', from: 'unknown', to: 'declined' },
        {
          at: T + 2_000,
          type: 'recover',
          attemptId: 'a',
          to: 'declined',
          detail: 'try 1, answered declined after the attempt became declined: dropped',
        },
        { at: T, type: 'settle', attemptId: 'b', from: 'pending', to: 'unknown' },
        { at: T + 3_000, type: 'resume', attemptId: 'b', from: 'unknown', to: 'pending' },
        { at: T + 4_000, type: 'settle', attemptId: 'b', from: 'pending', to: 'approved' },
      ]),
    ).toEqual([
      expect.objectContaining({ attemptId: 'a', resolvedBy: 'manual', resolvedAfterMs: 1_000 }),
      expect.objectContaining({ attemptId: 'b', resolvedBy: 'manual', resolvedAfterMs: 4_000, outcome: 'approved' }),
    ]);
  });

  it('null while open, and for one pruned unsettled after 7 days', () => {
    expect(
      summarize([
        { at: T, type: 'settle', attemptId: 'a', from: 'pending', to: 'unknown' },
        { at: T, type: 'settle', attemptId: 'b', from: 'pending', to: 'unknown' },
        { at: T + 7 * 24 * HOUR, type: 'prune', attemptId: 'b', from: 'unknown', detail: 'unreconciled after 7 days' },
      ]),
    ).toEqual([
      expect.objectContaining({ attemptId: 'a', resolvedBy: null, resolvedAfterMs: null, outcome: null }),
      expect.objectContaining({ attemptId: 'b', resolvedBy: null, resolvedAfterMs: null, outcome: 'pruned' }),
    ]);
  });

  it('dates an unknown the journal never saw begin (a pending grown stale) from its first entry, and says so', () => {
    expect(
      summarize([
        { at: T + 5_000, type: 'recover', attemptId: 'a', to: 'unknown', detail: 'try 1: still unknown' },
        { at: T + 65_000, type: 'settle', attemptId: 'a', from: 'unknown', to: 'approved' },
      ]),
    ).toEqual([expect.objectContaining({ unknownAt: T + 5_000, unknownAtExact: false, resolvedBy: 'manual', resolvedAfterMs: 60_000 })]);
  });

  it('an unknown open across midnight is in both days, with when it began', () => {
    const entries: JournalEntry[] = [
      { at: at('2026-03-01T23:00:00Z'), type: 'settle', attemptId: 'a', from: 'pending', to: 'unknown' },
      { at: at('2026-03-02T01:00:00Z'), type: 'settle', attemptId: 'a', from: 'unknown', to: 'approved' },
      { at: at('2026-03-01T10:00:00Z'), type: 'settle', attemptId: 'b', from: 'pending', to: 'unknown' },
      { at: at('2026-03-01T10:01:00Z'), type: 'settle', attemptId: 'b', from: 'unknown', to: 'declined' },
    ];
    const day1 = summarizeJournal(entries, { tz: 'UTC', from: '2026-03-01', to: '2026-03-01' }).unknowns;
    const day2 = summarizeJournal(entries, { tz: 'UTC', from: '2026-03-02', to: '2026-03-02' }).unknowns;
    expect(day1.map((u) => u.attemptId)).toEqual(['b', 'a']);
    expect(day2).toEqual([expect.objectContaining({ attemptId: 'a', unknownAt: at('2026-03-01T23:00:00Z'), resolvedAfterMs: 2 * HOUR })]);
  });
});

describe('periods: YYYY-MM-DD, inclusive, day boundaries in --tz', () => {
  const count = (entries: JournalEntry[], tz: string, from?: string, to?: string) =>
    summarizeJournal(entries, { tz, ...(from ? { from } : {}), ...(to ? { to } : {}) }).decisions.byVerdict.prompt;

  it('Asia/Shanghai: the local day runs 16:00 UTC to 16:00 UTC', () => {
    const entries = [prompt(at('2026-03-01T15:59:59.999Z')), prompt(at('2026-03-01T16:00:00Z'))];
    expect(count(entries, 'Asia/Shanghai', '2026-03-01', '2026-03-01')).toBe(1);
    expect(count(entries, 'Asia/Shanghai', '2026-03-02', '2026-03-02')).toBe(1);
    expect(count(entries, 'Asia/Shanghai', '2026-03-01', '2026-03-02')).toBe(2);
    // The same instants in UTC are both on March 1st.
    expect(count(entries, 'UTC', '2026-03-01', '2026-03-01')).toBe(2);
  });

  it('America/New_York: the spring-forward day has 23 hours, the fall-back day 25', () => {
    // 2026-03-08 runs 05:00Z to 2026-03-09T04:00Z (EST then EDT).
    const spring = [
      prompt(at('2026-03-08T04:59:59Z')),
      prompt(at('2026-03-08T05:00:00Z')),
      prompt(at('2026-03-09T03:59:59Z')),
      prompt(at('2026-03-09T04:00:00Z')),
    ];
    expect(count(spring, 'America/New_York', '2026-03-08', '2026-03-08')).toBe(2);
    expect(summarizeJournal(spring, { tz: 'America/New_York', from: '2026-03-08', to: '2026-03-08' }).period).toMatchObject({
      start: at('2026-03-08T05:00:00Z'),
      end: at('2026-03-09T04:00:00Z'),
    });
    // 2026-11-01 runs 04:00Z to 2026-11-02T05:00Z (EDT then EST).
    const fall = [
      prompt(at('2026-11-01T03:59:59Z')),
      prompt(at('2026-11-01T04:00:00Z')),
      prompt(at('2026-11-02T04:30:00Z')),
      prompt(at('2026-11-02T05:00:00Z')),
    ];
    expect(count(fall, 'America/New_York', '2026-11-01', '2026-11-01')).toBe(2);
  });

  it('per hour follows local hours through DST: no 02:00 in spring, two 01:00 hours in the fall', () => {
    const spring = summarizeJournal([prompt(at('2026-03-08T06:30:00Z')), block(at('2026-03-08T07:30:00Z'))], { tz: 'America/New_York' });
    // 01:30 EST, then 03:30 EDT: consecutive local hours, 02:00 does not exist.
    expect(spring.decisions.perHour.map((h) => h.hour)).toEqual([at('2026-03-08T06:00:00Z'), at('2026-03-08T07:00:00Z')]);
    const fall = summarizeJournal([prompt(at('2026-11-01T05:30:00Z')), prompt(at('2026-11-01T06:30:00Z'))], { tz: 'America/New_York' });
    // 01:30 EDT and 01:30 EST: the same clock hour twice, two buckets.
    expect(fall.decisions.perHour).toEqual([
      { hour: at('2026-11-01T05:00:00Z'), prompts: 1, blocks: 0 },
      { hour: at('2026-11-01T06:00:00Z'), prompts: 1, blocks: 0 },
    ]);
  });

  it('per hour in a half-hour zone (Asia/Kolkata) starts at :30 UTC', () => {
    const india = summarizeJournal([prompt(at('2026-03-01T04:45:00Z')), prompt(at('2026-03-01T05:29:00Z'))], { tz: 'Asia/Kolkata' });
    expect(india.decisions.perHour).toEqual([{ hour: at('2026-03-01T04:30:00Z'), prompts: 2, blocks: 0 }]);
  });

  it('refuses a date that is not YYYY-MM-DD or does not exist, a period that ends before it starts, and an unknown zone', () => {
    for (const [options, field] of [
      [{ tz: 'UTC', from: '2026-02-30' }, 'from'],
      [{ tz: 'UTC', to: '2026-3-1' }, 'to'],
      [{ tz: 'UTC', from: '2026-03-02', to: '2026-03-01' }, 'to'],
      [{ tz: 'Mars/Olympus_Mons' }, 'tz'],
    ] as const) {
      let error: unknown;
      try {
        summarizeJournal([], options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GuardInputError);
      expect(error).toMatchObject({ code: 'INVALID_OPTION', field });
    }
  });

  it('daily reports add up to the whole journal, in any zone (property)', () => {
    const START = at('2026-03-07T00:00:00Z');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 * 24 * 60 - 1 }), fc.boolean()), { maxLength: 60 }),
        fc.constantFrom('UTC', 'Asia/Shanghai', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'),
        (minutes, tz) => {
          const entries = minutes.map(([m, isPrompt]) => (isPrompt ? prompt(START + m * MINUTE) : block(START + m * MINUTE)));
          const whole = summarizeJournal(entries, { tz });
          const days = ['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10', '2026-03-11'].map((d) =>
            summarizeJournal(entries, { tz, from: d, to: d }),
          );
          const sum = (pick: (s: JournalSummary) => number) => days.reduce((n, s) => n + pick(s), 0);
          expect(sum((s) => s.decisions.byVerdict.prompt)).toBe(whole.decisions.byVerdict.prompt);
          expect(sum((s) => s.decisions.byVerdict.block)).toBe(whole.decisions.byVerdict.block);
          expect(whole.decisions.perHour.reduce((n, h) => n + h.prompts, 0)).toBe(whole.decisions.byVerdict.prompt);
          expect(whole.decisions.perHour.reduce((n, h) => n + h.blocks, 0)).toBe(whole.decisions.byVerdict.block);
          // Hours are strictly increasing, an hour apart or less (a DST or half-hour shift), never more than 3 h (a gap is filled).
          for (let i = 1; i < whole.decisions.perHour.length; i++) {
            const step = (whole.decisions.perHour[i]?.hour ?? 0) - (whole.decisions.perHour[i - 1]?.hour ?? 0);
            expect(step).toBeGreaterThanOrEqual(30 * MINUTE);
            expect(step).toBeLessThanOrEqual(HOUR);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('a 100k-line journal', () => {
  it('is summarised in one pass, every entry counted (its speed is for a benchmark, not a timed test)', () => {
    const entries: JournalEntry[] = [];
    const T = at('2026-03-01T00:00:00Z');
    for (let i = 0; i < 100_000; i++) {
      const when = T + i * 900;
      const id = `pdg_${i % 20_000}`;
      switch (i % 10) {
        case 0:
          entries.push(prompt(when));
          break;
        case 1:
          entries.push(block(when));
          break;
        case 2:
          entries.push({
            at: when,
            type: 'override',
            attemptId: id,
            operator: `op${i % 7}`,
            reason: 'confirmed at the till',
            codes: ['DUPLICATE_CHARGE'],
          });
          break;
        case 3:
          entries.push({ at: when, type: 'settle', attemptId: id, from: 'pending', to: 'unknown' });
          break;
        case 4:
          entries.push({ at: when, type: 'recover', attemptId: id, to: 'approved', detail: 'try 1: settled approved' });
          break;
        default:
          entries.push({ at: when, type: 'settle', attemptId: `pdg_x${i}`, from: 'pending', to: 'approved' });
      }
    }
    const summary = summarizeJournal(entries, { tz: 'Asia/Shanghai', from: '2026-03-01', to: '2026-03-02' });
    expect(summary.journal.entries).toBe(100_000);
    expect(summary.decisions.byVerdict).toMatchObject({ prompt: 10_000, block: 10_000 });
  });
});

describe('summarizeJournal: a refund recorded on two lanes', () => {
  it('counts a refund recorded with its processor reference once, however many lanes journaled it', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes({ token: 'tok_summary_ref' });
    db.disconnect('T2');
    // The back office's refund, recorded on both lanes while one was cut off; and one without a reference.
    await g2.settle(saleId, { status: 'refunded', amount: 400, processorRef: 'ACQ-REF-1' });
    await g1.settle(saleId, { status: 'refunded', amount: 400, processorRef: 'ACQ-REF-1' });
    await g1.settle(saleId, { status: 'refunded', amount: 100 });
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    await time.advance(5_000);
    await flush();
    const entries = db.journal('M1').map(({ entry }) => entry);
    expect(entries.filter((e) => e.attemptId === saleId && e.amount === 400 && e.type === 'settle')).toHaveLength(2);
    const summary = summarizeJournal(entries, { tz: 'Asia/Shanghai' });
    expect(summary.refunds).toMatchObject({ recorded: 2, amount: 500 });
    expect((await g1.get(saleId))?.refunded).toBe(500);
  });
});
