/**
 * The journal report as plain text: headed sections of aligned tables, the
 * daily summary a store manager reads in a terminal or a mail. Columns are
 * aligned by display width, so Chinese text (two columns a character) lines up.
 */
import type { Locale } from '../types.js';
import { localTime } from './period.js';
import type { JournalSummary } from './summary.js';
import { cleanText, reportWords, showAfter, showAmount, visible } from './words.js';

export interface TextReportOptions {
  locale: Locale;
  /** The till's currency, to show amounts as money; without it amounts are minor units. */
  currency?: string;
}

export function formatTextReport(summary: JournalSummary, { locale, currency }: TextReportOptions): string {
  const w = reportWords(locale);
  const { tz } = summary.period;
  const time = (at: number): string => localTime(at, tz);
  const out: string[] = [];
  const section = (title: string, note?: string): void => {
    const heading = note === undefined ? title : `${title} (${note})`;
    out.push('', heading, '-'.repeat(Math.min(72, displayWidth(heading))));
  };

  out.push(w.title, w.period(summary.period.from, summary.period.to, tz), w.journalLine(summary.journal, tz));

  const { decisions } = summary;
  section(w.decisions, w.decisionsNote);
  out.push(
    ...table(
      [
        [w.prompt, String(decisions.byVerdict.prompt)],
        [w.block, String(decisions.byVerdict.block)],
      ],
      [false, true],
    ),
  );
  if (decisions.byReason.length > 0) {
    out.push('');
    out.push(
      ...table(
        [[w.reason, w.prompt, w.block], ...decisions.byReason.map((r) => [r.code, String(r.prompt), String(r.block)])],
        [false, true, true],
      ),
    );
  }
  const busy = decisions.perHour.filter((h) => h.prompts + h.blocks > 0);
  if (busy.length > 0) {
    out.push('', `${w.perHour}:`);
    out.push(
      ...table(
        [[w.time, w.prompt, w.block], ...busy.map((h) => [localTime(h.hour, tz, 'yyyy-MM-dd HH:00'), String(h.prompts), String(h.blocks)])],
        [false, true, true],
      ),
    );
  }

  section(w.settles);
  out.push(
    ...orNone(
      summary.settles.map((s) => [`${s.from ?? '?'} → ${s.to}`, String(s.count)]),
      [false, true],
      w.none,
    ),
  );

  const { overrides } = summary;
  section(w.overrides, String(overrides.total));
  if (overrides.total === 0) out.push(w.none);
  else {
    out.push(`${w.byPerson}:`);
    out.push(
      ...table(
        [
          [w.operator, w.supervisor, w.count, w.reasons],
          ...overrides.byPerson.map((p) => [
            cleanText(p.operator),
            p.supervisor === null ? '–' : cleanText(p.supervisor),
            String(p.count),
            p.reasons.map((r) => cleanText(r, 60)).join('; '),
          ]),
        ],
        [false, false, true, false],
      ),
    );
    out.push('');
    out.push(
      ...table(
        [
          [w.time, w.operator, w.supervisor, w.lifted, w.reason],
          ...overrides.list.map((o) => [
            time(o.at),
            cleanText(o.operator),
            o.supervisor === null ? '–' : cleanText(o.supervisor),
            o.codes.join(', '),
            cleanText(o.reason),
          ]),
        ],
        [false, false, false, false, false],
      ),
    );
  }

  section(w.unknowns, w.unknownTotals(summary.unknownTotals));
  out.push(
    ...orNone(
      summary.unknowns.map((u) => [
        cleanText(u.attemptId, 40),
        `${time(u.unknownAt)}${u.unknownAtExact ? '' : ` (${w.approximate})`}`,
        w.resolver[u.resolvedBy ?? (u.outcome === 'pruned' ? 'pruned' : 'open')],
        showAfter(u.resolvedAfterMs, locale),
        u.outcome ?? '–',
        String(u.recoverTries),
      ]),
      [false, false, false, false, false, true],
      w.none,
      [w.attempt, w.since, w.resolvedBy, w.after, w.outcome, w.tries],
    ),
  );
  out.push(w.recovery(summary.recovery));

  const { refunds } = summary;
  section(w.refunds);
  out.push(
    ...table(
      [
        [w.refundsRecorded, `${refunds.recorded} (${showAmount(refunds.amount, currency, locale)})`],
        [w.fullyRefunded, String(refunds.fullyRefunded)],
        [w.refundsFlagged, String(refunds.flagged)],
        [w.overRefunds, String(refunds.overRefunds.length)],
      ],
      [false, false],
    ),
  );
  for (const o of refunds.overRefunds) {
    out.push(`  ${time(o.at)}  ${cleanText(o.attemptId ?? '?', 40)}  ${showAmount(o.amount, currency, locale)}  ${cleanText(o.detail)}`);
  }

  section(w.clockAnomalies, String(summary.clockAnomalies.length));
  out.push(
    ...orNone(
      summary.clockAnomalies.map((c) => [time(c.at), cleanText(c.detail)]),
      [false, false],
      w.none,
    ),
  );
  section(w.storage, String(summary.storage.length));
  out.push(
    ...orNone(
      summary.storage.map((s) => [time(s.at), cleanText(s.detail)]),
      [false, false],
      w.none,
    ),
  );
  section(w.conflicts, String(summary.conflicts.length));
  out.push(
    ...orNone(
      summary.conflicts.map((c) => [time(c.at), c.code ?? '?', c.attempts.map((a) => cleanText(a, 40)).join(' / ')]),
      [false, false, false],
      w.none,
    ),
  );
  if (summary.reconciliation.length > 0) {
    section(w.reconciliation, String(summary.reconciliation.length));
    out.push(
      ...table(
        [
          [w.time, w.attempt, w.finding, w.outcome],
          ...summary.reconciliation.map((r) => [
            time(r.at),
            cleanText(r.attemptId ?? '?', 40),
            cleanText(r.finding, 40),
            `${r.from ?? '?'} → ${r.to ?? '?'}`,
          ]),
        ],
        [false, false, false, false],
      ),
    );
  }
  // Not only free text is journal text: a reason code or a status is whatever the file says. Nothing leaves
  // unseen that a terminal would obey (visible keeps the width, so the columns stay aligned).
  return `${out.map(visible).join('\n')}\n`;
}

function orNone(rows: string[][], right: boolean[], none: string, header?: string[]): string[] {
  if (rows.length === 0) return [none];
  return table(header ? [header, ...rows] : rows, right);
}

/** Rows as aligned columns, two spaces apart; `right` right-aligns a column (numbers). */
function table(rows: string[][], right: boolean[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - displayWidth(cell));
        if (right[i]) return pad + cell;
        return i === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** Terminal columns: East Asian wide and fullwidth characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += WIDE.test(char) ? 2 : 1;
  return width;
}

const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;
