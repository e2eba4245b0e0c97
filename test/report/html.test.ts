import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { esc, formatHtmlReport } from '../../src/report/html.js';
import { readJournal } from '../../src/stores/file/journal-read.js';
import { summarizeJournal, type JournalSummary } from '../../src/report/summary.js';
import type { JournalEntry } from '../../src/types.js';
import { SECRET } from '../helpers/guard.js';
import { playJournalDay } from '../helpers/journal-day.js';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '</style><link rel=stylesheet href=https://evil.example/x.css>',
  '<svg onload=alert(1)>',
  '&lt;already escaped&gt;',
];

async function summaryOf(storePath: string, tz = 'Asia/Shanghai'): Promise<JournalSummary> {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(storePath)) entries.push(entry);
  return summarizeJournal(entries, { tz });
}

/** A journal whose overrides carry hostile operator, supervisor and reason text, written by a real guard. */
async function hostileJournal(): Promise<string> {
  const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-html-')), 'till.jsonl');
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(storePath), authorize: async () => true });
  const sale = { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } };
  await (await guard.begin(sale)).attempt?.approve();
  for (const [i, text] of HOSTILE.entries()) {
    const prompt = await guard.begin(sale);
    const allowed = await guard.override(prompt, { operator: text, reason: `${text} #${i}`, supervisor: text });
    await allowed.attempt?.approve();
  }
  await guard.close();
  return storePath;
}

/** The elements the page itself writes. */
const PAGE_TAGS = [
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'header',
  'h1',
  'h2',
  'h3',
  'p',
  'section',
  'div',
  'span',
].concat(['svg', 'line', 'text', 'rect', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'br', 'code']);

/** Every tag and attribute name in the page: what a browser would build from it. */
function tags(page: string): string[] {
  return [...page.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => (m[1] ?? '').toLowerCase());
}

describe('formatHtmlReport', () => {
  it('escapes hostile operator, supervisor and reason text from a real journal', async () => {
    const summary = await summaryOf(await hostileJournal());
    expect(summary.overrides.total).toBe(HOSTILE.length);
    const page = formatHtmlReport(summary, { locale: 'en' });
    for (const text of HOSTILE) expect(page).toContain(esc(text));
    expect(page).not.toMatch(/<script|<img|<link/i);
    // "onerror=" is there as text; inside a tag, no event handler and no attribute the page did not write.
    const inTags = page.match(/<[^>]*>/g) ?? [];
    expect(inTags.filter((tag) => /\son\w+=|\ssrc=|\shref=/i.test(tag))).toEqual([]);
    // Only the page's own elements: nothing the journal text made.
    for (const tag of tags(page)) expect(PAGE_TAGS).toContain(tag);
    // The text stays readable: the escaped entity shows as "&lt;already escaped&gt;", not as "<already escaped>".
    expect(page).toContain('&#38;lt;already escaped&#38;gt;');
  }, 30_000);

  it('escapes any text put where journal text goes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), (operator, reason) => {
        const entries: JournalEntry[] = [
          { at: 1_772_326_800_000, type: 'decision', verdict: 'prompt', codes: ['DUPLICATE_CHARGE'] },
          {
            at: 1_772_326_800_000,
            type: 'override',
            attemptId: `<${operator}>`,
            operator,
            reason,
            supervisor: reason,
            codes: ['DUPLICATE_CHARGE'],
          },
          { at: 1_772_326_800_000, type: 'storage', detail: `</td>${reason}` },
        ];
        const page = formatHtmlReport(summarizeJournal(entries, { tz: 'UTC' }), { locale: 'zh-CN' });
        const body = page.slice(page.indexOf('<main>'));
        // No '<' but the page's own tags, no quote that could end an attribute early.
        for (const tag of tags(body)) expect(PAGE_TAGS).toContain(tag);
        expect(body).not.toMatch(/<(?![/a-z])/);
      }),
      { numRuns: 200 },
    );
  });

  it('is self-contained: no script, no external URL, a policy that loads nothing', async () => {
    const page = formatHtmlReport(await summaryOf((await playJournalDay()).storePath), { locale: 'en', currency: 'CNY' });
    expect(page).not.toMatch(/https?:|\/\/[a-z]|src=|href=|url\(|@import|<script|<link|<iframe|<object/i);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  }, 30_000);

  it('draws two bars an hour and lists the overrides and unknowns', async () => {
    const summary = await summaryOf((await playJournalDay()).storePath);
    const page = formatHtmlReport(summary, { locale: 'en' });
    const hours = summary.decisions.perHour.length;
    expect(hours).toBe(3);
    expect(page.match(/<rect class="bar-prompt"/g)).toHaveLength(hours);
    expect(page.match(/<rect class="bar-block"/g)).toHaveLength(hours);
    expect(page).toMatch(/<rect class="bar-prompt" data-hour="09:00"[^>]*><title>09:00: Prompt 1, Block 0<\/title>/);
    const overrides = page.slice(page.indexOf('<section id="overrides">'), page.indexOf('<section id="unknowns">'));
    expect(overrides).toContain('customer bought two');
    expect(overrides).toContain('processor portal shows no charge');
    const unknowns = page.slice(page.indexOf('<section id="unknowns">'), page.indexOf('<section id="refunds">'));
    expect(unknowns.match(/<tr>/g)).toHaveLength(1 + 4);
    for (const tag of ['recovery', 'reconciliation', 'manual', 'open']) expect(unknowns).toContain(`class="tag ${tag}"`);
  }, 30_000);

  it('speaks Chinese with --locale zh-CN', () => {
    const page = formatHtmlReport(summarizeJournal([], { tz: 'Asia/Shanghai' }), { locale: 'zh-CN' });
    expect(page).toContain('<html lang="zh-CN">');
    expect(page).toContain('重复扣款防护：日志报告');
    expect(page).toContain('<p class="none">无</p>');
  });
});
