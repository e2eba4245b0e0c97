/**
 * The journal report's numbers: what a store manager reads at the end of a
 * day (SPEC §12). Pure: entries in, one `JournalSummary` out, no I/O and no
 * clock. One pass over the entries with constant work each (maps keyed by
 * attempt, code, person and hour), so a 100k-line journal takes milliseconds.
 *
 * Entries outside the period are skipped for every section but the unknown
 * outcomes, which are followed over the whole journal: an unknown that began
 * yesterday and was resolved today belongs in today's report, with when it began.
 */
import { RECONCILED_BY } from '../reconcile/shared.js';
import { redact } from '../redact.js';
import type { AttemptStatus, JournalEntry, Verdict } from '../types.js';
import { hourStarts, nextHour, periodBounds } from './period.js';

export interface SummaryOptions {
  /** First day, `YYYY-MM-DD`, inclusive, in `tz`. Omitted: from the journal's start. */
  from?: string;
  /** Last day, `YYYY-MM-DD`, inclusive, in `tz`. Omitted: to the journal's end. */
  to?: string;
  /** IANA time zone of the store, for day and hour boundaries (e.g. `Asia/Shanghai`). */
  tz: string;
}

/** How an unknown outcome ended: the background `recover`, reconciliation against the processor's records, or a settle (a person, or the charge's late answer). */
export type UnknownResolver = 'recovery' | 'reconciliation' | 'manual';

export interface UnknownOutcome {
  attemptId: string;
  /** When it became unknown (epoch ms). */
  unknownAt: number;
  /**
   * `true` when the journal says when it became unknown (a timeout, a throw,
   * a `pending` found at start-up); `false` when `unknownAt` is only the first
   * entry that shows it unknown (a `pending` that grew stale is not journaled).
   */
  unknownAtExact: boolean;
  resolvedBy: UnknownResolver | null;
  resolvedAt: number | null;
  resolvedAfterMs: number | null;
  /** What it was settled as; `'pruned'` when it was dropped unsettled after 7 days; `null` while open. */
  outcome: AttemptStatus | 'pruned' | null;
  /** Tries of the background recovery journaled for it. */
  recoverTries: number;
  /** Recovery gave up on it: left for a person. */
  recoveryExhausted: boolean;
}

export interface OverrideRow {
  at: number;
  attemptId: string | null;
  operator: string;
  supervisor: string | null;
  reason: string;
  /** The reason codes it lifted. */
  codes: string[];
}

export interface HourCount {
  /** Start of the local hour (epoch ms). */
  hour: number;
  prompts: number;
  blocks: number;
}

export interface JournalSummary {
  period: { from: string | null; to: string | null; tz: string; start: number | null; end: number | null };
  journal: { entries: number; inPeriod: number; firstAt: number | null; lastAt: number | null; starts: number };
  /** Decisions journaled: only prompts and blocks are (an allow is not a finding). */
  decisions: {
    total: number;
    byVerdict: Record<Verdict, number>;
    byReason: { code: string; prompt: number; block: number; allow: number }[];
    perHour: HourCount[];
  };
  /** Attempt status changes, e.g. pending → approved: the till's charges and their outcomes. */
  settles: { from: string | null; to: string; count: number }[];
  overrides: {
    total: number;
    byPerson: { operator: string; supervisor: string | null; count: number; reasons: string[] }[];
    list: OverrideRow[];
  };
  unknowns: UnknownOutcome[];
  unknownTotals: { total: number; recovery: number; reconciliation: number; manual: number; open: number; pruned: number };
  refunds: {
    /**
     * Refunds recorded with `settle(id, { status: 'refunded', amount })`, and their sum in minor units;
     * one recorded with its `processorRef` counts once, however many lanes journaled it.
     */
    recorded: number;
    amount: number;
    /** Sales that became fully refunded. */
    fullyRefunded: number;
    /** Prompts and blocks with a `REFUND_*` reason. */
    flagged: number;
    /** Refunds paid beyond what remained on their sale. */
    overRefunds: { at: number; attemptId: string | null; amount: number; detail: string }[];
  };
  clockAnomalies: { at: number; driftMs: number | null; detail: string }[];
  storage: { at: number; source: 'storage' | 'start'; detail: string }[];
  conflicts: { at: number; code: string | null; attempts: string[]; detail: string }[];
  recovery: { tries: number; exhausted: number };
  reconciliation: { at: number; attemptId: string | null; from: string | null; to: string | null; finding: string }[];
  prunes: { total: number; unknown: number };
}

/** A recover try that settled the attempt says so ("try 2: settled voided from the processor's answer"); a dropped answer does not. */
const SETTLED_BY_RECOVERY = /\bsettled (approved|declined|cancelled|voided)\b/;

const FINAL = new Set<string>(['approved', 'declined', 'cancelled', 'voided', 'refunded']);

interface Episode extends UnknownOutcome {
  /** Index of the entry that last changed this attempt's status, and of the one that resolved it. */
  lastChange: number;
  resolvedIndex: number;
  /** When it stopped being unknown: resolved, or pruned unsettled. */
  endedAt: number | null;
}

/** Builds a summary from entries fed one at a time (the CLI streams them from the file). */
export function summaryBuilder(options: SummaryOptions): { add(entry: JournalEntry): void; finish(): JournalSummary } {
  const { tz } = options;
  const bounds = periodBounds(options.from, options.to, tz);
  const start = bounds.start ?? -Infinity;
  const end = bounds.end ?? Infinity;
  const hourOf = hourStarts(tz);

  let index = 0;
  let inPeriod = 0;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let starts = 0;
  const byVerdict: Record<Verdict, number> = { allow: 0, prompt: 0, block: 0 };
  const byReason = new Map<string, { code: string; prompt: number; block: number; allow: number }>();
  const perHour = new Map<number, HourCount>();
  const settles = new Map<string, { from: string | null; to: string; count: number }>();
  const overrides: OverrideRow[] = [];
  const byPerson = new Map<string, { operator: string; supervisor: string | null; count: number; reasons: Set<string> }>();
  const episodes = new Map<string, Episode>();
  const refunds: JournalSummary['refunds'] = { recorded: 0, amount: 0, fullyRefunded: 0, flagged: 0, overRefunds: [] };
  const namedRefunds = new Set<string>();
  const clockAnomalies: JournalSummary['clockAnomalies'] = [];
  const storage: JournalSummary['storage'] = [];
  const conflicts: JournalSummary['conflicts'] = [];
  const reconciliation: JournalSummary['reconciliation'] = [];
  const recovery = { tries: 0, exhausted: 0 };
  const prunes = { total: 0, unknown: 0 };

  function follow(entry: JournalEntry, id: string, at: number): void {
    const { type } = entry;
    const to = text(entry.to);
    const from = text(entry.from);
    let episode = episodes.get(id);
    if (!episode && type === 'settle' && to === 'unknown' && from !== 'unknown') {
      episodes.set(id, open(id, at, true));
      return;
    }
    const showsUnknown = from === 'unknown' || type === 'recover';
    if (!episode && showsUnknown) {
      episode = open(id, at, false);
      episodes.set(id, episode);
    }
    if (!episode) return;
    if (type === 'recover') {
      recordTry(episode, entry);
      if (to !== undefined && FINAL.has(to)) resolve(episode, 'recovery', to, at, SETTLED_BY_RECOVERY.test(text(entry.detail) ?? ''));
    } else if (type === 'reconcile') {
      if (to !== undefined && FINAL.has(to)) resolve(episode, 'reconciliation', to, at, true);
    } else if (type === 'settle' && to !== undefined && FINAL.has(to)) {
      // A settle applyReconciliation made says so itself (the reconcile entry after it may be missing: a till killed between).
      resolve(episode, (text(entry.detail) ?? '').startsWith(RECONCILED_BY) ? 'reconciliation' : 'manual', to, at, true);
    } else if (type === 'prune' && episode.outcome === null) {
      episode.outcome = 'pruned';
      episode.endedAt = at;
      episode.lastChange = index;
    } else if (to !== undefined) {
      episode.lastChange = index;
    }
  }

  function open(attemptId: string, at: number, exact: boolean): Episode {
    return {
      attemptId,
      unknownAt: at,
      unknownAtExact: exact,
      resolvedBy: null,
      resolvedAt: null,
      resolvedAfterMs: null,
      outcome: null,
      recoverTries: 0,
      recoveryExhausted: false,
      lastChange: index,
      resolvedIndex: -1,
      endedAt: null,
    };
  }

  function recordTry(episode: Episode, entry: JournalEntry): void {
    const detail = text(entry.detail) ?? '';
    if (detail.startsWith('try ')) episode.recoverTries++;
    if (detail.startsWith('recovery exhausted')) episode.recoveryExhausted = true;
  }

  /** `settledBy`: the entry says it made the settle (a recover try that "settled approved"; a reconcile entry always does). */
  function resolve(episode: Episode, by: UnknownResolver, to: string, at: number, settledBy = false): void {
    if (episode.outcome === null) {
      Object.assign(episode, { resolvedBy: by, resolvedAt: at, resolvedAfterMs: Math.max(0, at - episode.unknownAt) });
      episode.outcome = to as AttemptStatus;
      episode.endedAt = at;
      episode.lastChange = episode.resolvedIndex = index;
    } else if (
      episode.resolvedBy === 'manual' &&
      by !== 'manual' &&
      settledBy &&
      episode.resolvedIndex === episode.lastChange &&
      episode.outcome === to
    ) {
      // Recovery and reconciliation settle first, then say so in their own
      // entry: the settle just before, of the same outcome, was theirs.
      episode.resolvedBy = by;
      episode.lastChange = index;
    } else {
      episode.lastChange = index;
    }
  }

  function count(entry: JournalEntry, at: number): void {
    switch (entry.type) {
      case 'decision':
        return countDecision(entry, at);
      case 'override': {
        const row: OverrideRow = {
          at,
          attemptId: text(entry.attemptId) ?? null,
          operator: text(entry.operator) ?? '',
          supervisor: text(entry.supervisor) ?? null,
          reason: text(entry.reason) ?? '',
          codes: codesOf(entry),
        };
        overrides.push(row);
        const key = `${row.operator}\u0000${row.supervisor ?? ''}`;
        let person = byPerson.get(key);
        if (!person) byPerson.set(key, (person = { operator: row.operator, supervisor: row.supervisor, count: 0, reasons: new Set() }));
        person.count++;
        person.reasons.add(row.reason);
        return;
      }
      case 'settle':
        return countSettle(entry, at);
      case 'clock-anomaly': {
        const detail = text(entry.detail) ?? '';
        const drift = /(-?\d+) ms/.exec(detail);
        clockAnomalies.push({ at, driftMs: drift ? Number(drift[1]) : null, detail });
        return;
      }
      case 'storage':
        storage.push({ at, source: 'storage', detail: text(entry.detail) ?? '' });
        return;
      case 'start': {
        starts++;
        // "loaded 3, kept 3, …; torn last line …": what follows the counts are the store's warnings.
        const [, ...warnings] = (text(entry.detail) ?? '').split('; ');
        for (const warning of warnings) storage.push({ at, source: 'start', detail: warning });
        return;
      }
      case 'conflict': {
        const codes = codesOf(entry);
        const attempts = Array.isArray(entry.attempts) ? entry.attempts.filter((a): a is string => typeof a === 'string') : [];
        conflicts.push({ at, code: codes[0] ?? null, attempts, detail: text(entry.detail) ?? '' });
        return;
      }
      case 'recover':
        recovery.tries += (text(entry.detail) ?? '').startsWith('try ') ? 1 : 0;
        recovery.exhausted += (text(entry.detail) ?? '').startsWith('recovery exhausted') ? 1 : 0;
        return;
      case 'reconcile': {
        const detail = text(entry.detail) ?? '';
        reconciliation.push({
          at,
          attemptId: text(entry.attemptId) ?? null,
          from: text(entry.from) ?? null,
          to: text(entry.to) ?? null,
          finding: detail.split(' ', 1)[0] ?? '',
        });
        return;
      }
      case 'prune':
        prunes.total++;
        if (entry.from === 'unknown') prunes.unknown++;
        return;
      default:
        return;
    }
  }

  function countDecision(entry: JournalEntry, at: number): void {
    const verdict = entry.verdict === 'allow' || entry.verdict === 'prompt' || entry.verdict === 'block' ? entry.verdict : undefined;
    if (!verdict) return;
    byVerdict[verdict]++;
    const codes = codesOf(entry);
    for (const code of codes) {
      let row = byReason.get(code);
      if (!row) byReason.set(code, (row = { code, prompt: 0, block: 0, allow: 0 }));
      row[verdict]++;
    }
    if (codes.some((code) => code.startsWith('REFUND_'))) refunds.flagged++;
    if (verdict === 'allow') return;
    const hour = hourOf(at);
    let bucket = perHour.get(hour);
    if (!bucket) perHour.set(hour, (bucket = { hour, prompts: 0, blocks: 0 }));
    if (verdict === 'prompt') bucket.prompts++;
    else bucket.blocks++;
  }

  function countSettle(entry: JournalEntry, at: number): void {
    const to = text(entry.to);
    const from = text(entry.from) ?? null;
    const amount = typeof entry.amount === 'number' && Number.isFinite(entry.amount) ? entry.amount : undefined;
    const detail = text(entry.detail) ?? '';
    if (amount !== undefined && detail.startsWith('over-refund')) {
      refunds.overRefunds.push({ at, attemptId: text(entry.attemptId) ?? null, amount, detail });
      return;
    }
    if (to === undefined) return; // a note about a settle (a cut detail, a late answer), not a change
    const key = `${from ?? ''}>${to}`;
    let row = settles.get(key);
    if (!row) settles.set(key, (row = { from, to, count: 0 }));
    row.count++;
    // A refund recorded with its processor reference is named (`refund external:…`): recorded on two lanes
    // while one was cut off, it is one refund, counted once.
    const named = detail.startsWith('refund external:') ? `${text(entry.attemptId) ?? ''}\u0000${detail}` : undefined;
    if (amount !== undefined && (named === undefined || !namedRefunds.has(named))) {
      if (named !== undefined) namedRefunds.add(named);
      refunds.recorded++;
      refunds.amount += amount;
    }
    if (to === 'refunded' && from !== 'refunded') refunds.fullyRefunded++;
  }

  return {
    add(entry) {
      if (!reportable(entry)) return;
      const at = entry.at;
      const id = text(entry.attemptId);
      if (id !== undefined) follow(entry, id, at);
      if (at >= start && at < end) {
        inPeriod++;
        if (firstAt === null || at < firstAt) firstAt = at;
        if (lastAt === null || at > lastAt) lastAt = at;
        count(entry, at);
      }
      index++;
    },
    finish() {
      const unknowns = [...episodes.values()]
        // Unknown at some moment of the period: began before its end, and had not ended before its start.
        .filter((e) => e.unknownAt < end && (e.endedAt ?? Infinity) >= start)
        .sort((a, b) => a.unknownAt - b.unknownAt)
        .map(({ lastChange: _change, resolvedIndex: _resolved, endedAt: _ended, ...outcome }) => outcome);
      const unknownTotals = { total: unknowns.length, recovery: 0, reconciliation: 0, manual: 0, open: 0, pruned: 0 };
      for (const u of unknowns) {
        if (u.resolvedBy !== null) unknownTotals[u.resolvedBy]++;
        else if (u.outcome === 'pruned') unknownTotals.pruned++;
        else unknownTotals.open++;
      }
      return maskCardData({
        period: { from: options.from ?? null, to: options.to ?? null, tz, start: bounds.start ?? null, end: bounds.end ?? null },
        journal: { entries: index, inPeriod, firstAt, lastAt, starts },
        decisions: {
          total: byVerdict.allow + byVerdict.prompt + byVerdict.block,
          byVerdict,
          byReason: [...byReason.values()].sort((a, b) => total(b) - total(a) || a.code.localeCompare(b.code)),
          perHour: filledHours(perHour, tz),
        },
        settles: [...settles.values()].sort((a, b) => b.count - a.count),
        overrides: {
          total: overrides.length,
          byPerson: [...byPerson.values()]
            .map((p) => ({ ...p, reasons: [...p.reasons] }))
            .sort((a, b) => b.count - a.count || a.operator.localeCompare(b.operator)),
          list: overrides,
        },
        unknowns,
        unknownTotals,
        refunds,
        clockAnomalies,
        storage,
        conflicts,
        recovery,
        reconciliation,
        prunes,
      });
    },
  };
}

/**
 * Every string of the summary with card data masked (numbers, expiry dates,
 * security codes, track data: `redact`, as the guard masks free text on
 * write). The journal is a file: one an older version or another tool wrote
 * may hold them raw, and the summary is printed as it is by `--json`. Done
 * once on the finished summary, whose strings are few next to the journal's,
 * and memoised: operator names and reasons repeat.
 */
function maskCardData<T>(value: T, cache = new Map<string, string>()): T {
  if (typeof value === 'string') {
    let masked = cache.get(value);
    if (masked === undefined) cache.set(value, (masked = redact(value)));
    return masked as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => maskCardData(item, cache)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskCardData(item as unknown, cache)])) as T;
  }
  return value;
}

/** Date's range: ±100,000,000 days from 1970. A time beyond it has no calendar day, and formatting it throws. */
const MAX_TIME = 8.64e15;

/**
 * Whether a journal entry can be counted: it has a `type`, and an `at` that
 * is a time a calendar can show. A journal is read from a file; an entry
 * that is not (damage, an edit) is left out, not fatal to the whole report.
 */
export function reportable(entry: JournalEntry): boolean {
  const { at, type } = entry as { at: unknown; type: unknown };
  return typeof at === 'number' && Math.abs(at) <= MAX_TIME && typeof type === 'string';
}

/** `summaryBuilder` over entries already in memory. */
export function summarizeJournal(entries: Iterable<JournalEntry>, options: SummaryOptions): JournalSummary {
  const builder = summaryBuilder(options);
  for (const entry of entries) builder.add(entry);
  return builder.finish();
}

/** Every local hour from the first with a prompt or block to the last, empty ones included, so a chart shows the gaps. */
function filledHours(hours: Map<number, HourCount>, tz: string): HourCount[] {
  const counted = [...hours.values()].sort((a, b) => a.hour - b.hour);
  const first = counted[0]?.hour ?? 0;
  const last = counted.at(-1)?.hour ?? 0;
  // A journal over more than about a year (or with a wild timestamp) lists only the hours that have something.
  if (counted.length === 0 || last - first > MAX_FILLED_HOURS * 3_600_000) return counted;
  const filled: HourCount[] = [];
  for (let hour = first; hour <= last; hour = nextHour(hour, tz)) filled.push(hours.get(hour) ?? { hour, prompts: 0, blocks: 0 });
  return filled;
}

const MAX_FILLED_HOURS = 400 * 24;

function total(row: { prompt: number; block: number; allow: number }): number {
  return row.prompt + row.block + row.allow;
}

/** A journal field as text, or `undefined`: a journal is read from a file, so a field may hold anything. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function codesOf(entry: JournalEntry): string[] {
  return Array.isArray(entry.codes) ? (entry.codes as unknown[]).filter((c): c is string => typeof c === 'string') : [];
}
