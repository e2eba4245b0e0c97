/**
 * The journal report as one CSV table for a spreadsheet: one row per counted
 * thing, the `section` column saying which (RFC 4180, CRLF line ends).
 * Journal free text is hostile input: a cell that a spreadsheet would read as
 * a formula (`=`, `+`, `-`, `@` first, or after blanks; tab and CR are
 * already `�` or a space) is prefixed with `'`.
 */
import { isoTime } from './period.js';
import type { JournalSummary } from './summary.js';
import { cleanText } from './words.js';

export const CSV_COLUMNS = [
  'section',
  'time',
  'attemptId',
  'verdict',
  'code',
  'count',
  'amount',
  'operator',
  'supervisor',
  'reason',
  'resolvedBy',
  'resolvedAfterMs',
  'outcome',
  'detail',
] as const;

type Row = Partial<Record<(typeof CSV_COLUMNS)[number], string | number | null>>;

export function formatCsvReport(summary: JournalSummary): string {
  const { tz } = summary.period;
  const time = (at: number): string => isoTime(at, tz);
  const rows: Row[] = [];
  for (const verdict of ['prompt', 'block'] as const) {
    rows.push({ section: 'decisions', verdict, count: summary.decisions.byVerdict[verdict] });
  }
  for (const r of summary.decisions.byReason) {
    for (const verdict of ['prompt', 'block'] as const) {
      if (r[verdict] > 0) rows.push({ section: 'reason', verdict, code: r.code, count: r[verdict] });
    }
  }
  for (const h of summary.decisions.perHour) {
    rows.push(
      { section: 'hour', time: time(h.hour), verdict: 'prompt', count: h.prompts },
      { section: 'hour', time: time(h.hour), verdict: 'block', count: h.blocks },
    );
  }
  for (const s of summary.settles) rows.push({ section: 'settle', code: `${s.from ?? ''}>${s.to}`, count: s.count });
  for (const o of summary.overrides.list) {
    rows.push({
      section: 'override',
      time: time(o.at),
      attemptId: o.attemptId,
      code: o.codes.join(' '),
      operator: o.operator,
      supervisor: o.supervisor,
      reason: o.reason,
    });
  }
  for (const u of summary.unknowns) {
    rows.push({
      section: 'unknown',
      time: time(u.unknownAt),
      attemptId: u.attemptId,
      resolvedBy: u.resolvedBy,
      resolvedAfterMs: u.resolvedAfterMs,
      outcome: u.outcome,
      count: u.recoverTries,
      detail: u.unknownAtExact ? null : 'unknownAt is when it was first seen unknown',
    });
  }
  const { refunds } = summary;
  rows.push({ section: 'refunds', code: 'recorded', count: refunds.recorded, amount: refunds.amount });
  rows.push(
    { section: 'refunds', code: 'fully-refunded', count: refunds.fullyRefunded },
    { section: 'refunds', code: 'flagged', count: refunds.flagged },
  );
  for (const o of refunds.overRefunds) {
    rows.push({ section: 'over-refund', time: time(o.at), attemptId: o.attemptId, amount: o.amount, detail: o.detail });
  }
  for (const c of summary.clockAnomalies) rows.push({ section: 'clock-anomaly', time: time(c.at), amount: c.driftMs, detail: c.detail });
  for (const s of summary.storage) rows.push({ section: 'storage', time: time(s.at), code: s.source, detail: s.detail });
  for (const c of summary.conflicts) {
    rows.push({ section: 'conflict', time: time(c.at), attemptId: c.attempts.join(' '), code: c.code, detail: c.detail });
  }
  for (const r of summary.reconciliation) {
    rows.push({
      section: 'reconcile',
      time: time(r.at),
      attemptId: r.attemptId,
      code: r.finding,
      outcome: r.to,
      detail: `${r.from ?? ''}>${r.to ?? ''}`,
    });
  }
  const lines = [CSV_COLUMNS.join(','), ...rows.map((row) => CSV_COLUMNS.map((column) => cell(row[column])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

function cell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  // Card numbers masked; a newline becomes a space and other control characters U+FFFD (no row is forged).
  let text = cleanText(value.replace(/\r\n?|\n/g, ' '), 2000);
  // After any blanks too: a newline first became a space, and some spreadsheets trim a cell before reading it.
  if (/^[\s\uFFFD]*[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
