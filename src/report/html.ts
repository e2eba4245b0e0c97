/**
 * The journal report as one self-contained HTML page: inline CSS, an inline
 * SVG bar chart of prompts and blocks per hour, the overrides and the unknown
 * outcomes as tables. No script, no font, no image, no link: it opens from a
 * mail attachment or a USB stick, offline, and its Content-Security-Policy
 * forbids loading anything at all.
 *
 * Every piece of journal text (operator and supervisor names, reasons,
 * details, even attempt ids and codes) is hostile input: a till's operator
 * field is typed by people. All of it goes through `esc`.
 */
import type { Locale } from '../types.js';
import { localTime } from './period.js';
import type { HourCount, JournalSummary } from './summary.js';
import { cleanText, reportWords, showAfter, showAmount, visible, type ReportWords } from './words.js';

export interface HtmlReportOptions {
  locale: Locale;
  /** The till's currency, to show amounts as money; without it amounts are minor units. */
  currency?: string;
}

/** Text for HTML content or a quoted attribute; a control or bidi character (a code is journal text too) shown as `�`. */
export function esc(text: string): string {
  return visible(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Journal free text: card numbers masked, control characters replaced, then escaped. */
function safe(text: string, max = 200): string {
  return esc(cleanText(text, max));
}

export function formatHtmlReport(summary: JournalSummary, { locale, currency }: HtmlReportOptions): string {
  const w = reportWords(locale);
  const { tz } = summary.period;
  const time = (at: number): string => esc(localTime(at, tz));
  const { decisions, overrides, unknownTotals, refunds } = summary;
  const tiles: [string, number, string][] = [
    [w.prompt, decisions.byVerdict.prompt, 'prompt'],
    [w.block, decisions.byVerdict.block, 'block'],
    [w.overrides, overrides.total, ''],
    [w.unknowns, unknownTotals.total, unknownTotals.open > 0 ? 'block' : ''],
    [w.conflicts, summary.conflicts.length, summary.conflicts.length > 0 ? 'block' : ''],
    [w.clockAnomalies, summary.clockAnomalies.length, ''],
    [w.storage, summary.storage.length, summary.storage.length > 0 ? 'block' : ''],
  ];

  const body = [
    `<header><h1>${esc(w.title)}</h1><p class="period">${esc(w.period(summary.period.from, summary.period.to, tz))}</p><p class="muted">${esc(w.journalLine(summary.journal, tz))}</p></header>`,
    `<section class="tiles">${tiles.map(([label, n, tone]) => `<div class="tile ${tone}"><span class="n">${n}</span><span>${esc(label)}</span></div>`).join('')}</section>`,
    `<section id="chart"><h2>${esc(w.perHour)}</h2>${chart(decisions.perHour, tz, w)}</section>`,
    `<section id="reasons"><h2>${esc(w.decisions)}</h2><p class="muted">${esc(w.decisionsNote)}</p>${table(
      [w.reason, w.prompt, w.block],
      decisions.byReason.map((r) => [esc(r.code), String(r.prompt), String(r.block)]),
      w.none,
      [false, true, true],
    )}</section>`,
    `<section id="overrides"><h2>${esc(w.overrides)} <span class="count">${overrides.total}</span></h2>${
      overrides.total === 0
        ? `<p class="none">${esc(w.none)}</p>`
        : `<h3>${esc(w.byPerson)}</h3>${table(
            [w.operator, w.supervisor, w.count, w.reasons],
            overrides.byPerson.map((p) => [
              safe(p.operator),
              p.supervisor === null ? '–' : safe(p.supervisor),
              String(p.count),
              p.reasons.map((r) => safe(r, 120)).join('<br>'),
            ]),
            w.none,
            [false, false, true, false],
          )}${table(
            [w.time, w.operator, w.supervisor, w.lifted, w.reason],
            overrides.list.map((o) => [
              time(o.at),
              safe(o.operator),
              o.supervisor === null ? '–' : safe(o.supervisor),
              o.codes.map((c) => esc(c)).join(', '),
              safe(o.reason),
            ]),
            w.none,
          )}`
    }</section>`,
    `<section id="unknowns"><h2>${esc(w.unknowns)}</h2><p class="muted">${esc(w.unknownTotals(unknownTotals))}</p>${table(
      [w.attempt, w.since, w.resolvedBy, w.after, w.outcome, w.tries],
      summary.unknowns.map((u) => {
        const by = u.resolvedBy ?? (u.outcome === 'pruned' ? 'pruned' : 'open');
        return [
          `<code>${safe(u.attemptId, 60)}</code>`,
          `${time(u.unknownAt)}${u.unknownAtExact ? '' : ` <span class="muted">${esc(w.approximate)}</span>`}`,
          `<span class="tag ${by}">${esc(w.resolver[by])}</span>`,
          esc(showAfter(u.resolvedAfterMs, locale)),
          esc(u.outcome ?? '–'),
          String(u.recoverTries),
        ];
      }),
      w.none,
      [false, false, false, false, false, true],
    )}<p class="muted">${esc(w.recovery(summary.recovery))}</p></section>`,
    `<section id="refunds"><h2>${esc(w.refunds)}</h2>${table(
      [w.refunds, w.count],
      [
        [esc(w.refundsRecorded), `${refunds.recorded} (${esc(showAmount(refunds.amount, currency, locale))})`],
        [esc(w.fullyRefunded), String(refunds.fullyRefunded)],
        [esc(w.refundsFlagged), String(refunds.flagged)],
        [esc(w.overRefunds), String(refunds.overRefunds.length)],
      ],
      w.none,
      [false, true],
    )}${
      refunds.overRefunds.length === 0
        ? ''
        : table(
            [w.time, w.attempt, w.amount, w.detail],
            refunds.overRefunds.map((o) => [
              time(o.at),
              `<code>${safe(o.attemptId ?? '?', 60)}</code>`,
              esc(showAmount(o.amount, currency, locale)),
              safe(o.detail),
            ]),
            w.none,
          )
    }</section>`,
    events(
      'clock',
      w.clockAnomalies,
      summary.clockAnomalies.map((c) => [time(c.at), safe(c.detail)]),
      [w.time, w.detail],
      w.none,
    ),
    events(
      'storage',
      w.storage,
      summary.storage.map((s) => [time(s.at), safe(s.detail)]),
      [w.time, w.detail],
      w.none,
    ),
    events(
      'conflicts',
      w.conflicts,
      summary.conflicts.map((c) => [time(c.at), esc(c.code ?? '?'), c.attempts.map((a) => `<code>${safe(a, 60)}</code>`).join(' / ')]),
      [w.time, w.reason, w.attempt],
      w.none,
    ),
    summary.reconciliation.length === 0
      ? ''
      : events(
          'reconciliation',
          w.reconciliation,
          summary.reconciliation.map((r) => [
            time(r.at),
            `<code>${safe(r.attemptId ?? '?', 60)}</code>`,
            safe(r.finding, 60),
            esc(`${r.from ?? '?'} → ${r.to ?? '?'}`),
          ]),
          [w.time, w.attempt, w.finding, w.outcome],
          w.none,
        ),
  ].join('\n');

  return `<!doctype html>
<html lang="${locale === 'zh-CN' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(w.title)} · ${esc(w.period(summary.period.from, summary.period.to, tz))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function events(id: string, title: string, rows: string[][], header: string[], none: string): string {
  return `<section id="${id}"><h2>${esc(title)} <span class="count">${rows.length}</span></h2>${table(header, rows, none)}</section>`;
}

/** A table of cells already escaped (`rows`) under plain-text headings. */
function table(header: string[], rows: string[][], none: string, numeric: boolean[] = []): string {
  if (rows.length === 0) return `<p class="none">${esc(none)}</p>`;
  const cls = (i: number): string => (numeric[i] ? ' class="num"' : '');
  return `<div class="table"><table><thead><tr>${header.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${cell}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

const CHART = { width: 960, height: 260, left: 40, right: 10, top: 16, bottom: 40 } as const;

/**
 * Prompts and blocks per local hour as an inline SVG: two bars an hour,
 * scaled into a fixed viewBox so a week of hours fits the page as well as a
 * day (the SVG is as wide as its column, never wider). Each bar has a
 * `<title>`, a tooltip without script.
 */
function chart(hours: HourCount[], tz: string, w: ReportWords): string {
  if (hours.length === 0) return `<p class="none">${esc(w.none)}</p>`;
  const plotW = CHART.width - CHART.left - CHART.right;
  const plotH = CHART.height - CHART.top - CHART.bottom;
  const max = Math.max(1, ...hours.map((h) => Math.max(h.prompts, h.blocks)));
  const slot = plotW / hours.length;
  const bar = Math.max(0.5, Math.min(18, (slot * 0.8) / 2));
  const y = (n: number): number => CHART.top + plotH - (n / max) * plotH;
  const manyDays = localTime(hours[0]?.hour ?? 0, tz, 'yyyy-MM-dd') !== localTime(hours.at(-1)?.hour ?? 0, tz, 'yyyy-MM-dd');
  const labelEvery = Math.max(1, Math.ceil(hours.length / (manyDays ? 8 : 12)));
  const parts: string[] = [];
  for (const tick of [...new Set([0, Math.round(max / 2), max])]) {
    parts.push(
      `<line class="grid" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/>`,
      `<text class="axis" x="${CHART.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick}</text>`,
    );
  }
  hours.forEach((h, i) => {
    const x = CHART.left + i * slot + (slot - bar * 2) / 2;
    const label = localTime(h.hour, tz, manyDays ? 'MM-dd HH:00' : 'HH:00');
    const tip = `${label}: ${w.prompt} ${h.prompts}, ${w.block} ${h.blocks}`;
    parts.push(
      `<rect class="bar-prompt" data-hour="${esc(label)}" x="${x.toFixed(1)}" y="${y(h.prompts).toFixed(1)}" width="${bar.toFixed(1)}" height="${(CHART.top + plotH - y(h.prompts)).toFixed(1)}"><title>${esc(tip)}</title></rect>`,
      `<rect class="bar-block" data-hour="${esc(label)}" x="${(x + bar).toFixed(1)}" y="${y(h.blocks).toFixed(1)}" width="${bar.toFixed(1)}" height="${(CHART.top + plotH - y(h.blocks)).toFixed(1)}"><title>${esc(tip)}</title></rect>`,
    );
    if (i % labelEvery === 0) {
      parts.push(
        `<text class="axis" x="${(CHART.left + (i + 0.5) * slot).toFixed(1)}" y="${CHART.height - CHART.bottom + 16}" text-anchor="middle">${esc(label)}</text>`,
      );
    }
  });
  const legend = `<p class="legend"><span class="key prompt"></span>${esc(w.prompt)} <span class="key block"></span>${esc(w.block)}</p>`;
  return `<svg viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${esc(w.perHour)}">${parts.join('')}</svg>${legend}`;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1d2430;background:#f4f6f9}
main{max-width:1040px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:14px;margin:12px 0 6px;color:#4a5566}
header{margin-bottom:16px}
.period{font-weight:600;margin:0}
.muted{color:#5f6b7c;font-size:13px;margin:4px 0}
section{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:16px;margin:0 0 16px;min-width:0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:8px;background:none;border:0;padding:0}
.tile{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 12px;display:flex;flex-direction:column;font-size:13px;color:#4a5566}
.tile .n{font-size:24px;font-weight:700;color:#1d2430}
.tile.prompt .n{color:#b06d00}
.tile.block .n{color:#c0262d}
.count{font-weight:400;color:#5f6b7c;font-size:14px}
svg{display:block;width:100%;height:auto}
.grid{stroke:#e3e7ee;stroke-width:1}
.axis{font-size:11px;fill:#5f6b7c}
.bar-prompt{fill:#f0a020}
.bar-block{fill:#d6333a}
.legend{font-size:13px;color:#4a5566;margin:6px 0 0}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:middle}
.key.prompt{background:#f0a020}
.key.block{background:#d6333a}
.table{max-width:100%}
table{width:100%;border-collapse:collapse;font-size:13px;table-layout:auto}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #edf0f4;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{color:#4a5566;font-weight:600;background:#f8f9fb}
.num{text-align:right;white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.none{color:#5f6b7c;margin:0}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#eef1f5}
.tag.recovery{background:#e3f4e8;color:#1d6b34}
.tag.reconciliation{background:#e5eefb;color:#1f4f99}
.tag.manual{background:#f3ecfb;color:#5b3296}
.tag.open{background:#fde8e8;color:#a11d24}
.tag.pruned{background:#f1f1f1;color:#555}
@media print{body{background:#fff}section{break-inside:avoid}}
`;
