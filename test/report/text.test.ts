import { describe, expect, it } from 'vitest';
import { displayWidth, formatTextReport } from '../../src/report/text.js';
import { summary } from './hostile-day.js';

describe('formatTextReport', () => {
  it('shows each section in English, times in the store zone and amounts as money with a currency', () => {
    const text = formatTextReport(summary, { locale: 'en', currency: 'CNY' });
    for (const heading of [
      'Decisions',
      'Charges and settles',
      'Overrides (2)',
      'Unknown outcomes',
      'Refunds',
      'Clock anomalies (0)',
      'Storage errors (0)',
      'Cross-terminal conflicts (0)',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toContain('2026-03-01 09:05:00');
    expect(text).toMatch(/pdg_c\s+2026-03-01 09:05:00\s+by hand\s+1 minute\s+approved/);
    expect(text).toContain('CN¥12.50');
    expect(formatTextReport(summary, { locale: 'en' })).toMatch(/Refunds recorded\s+1 \(1250\)/);
  });

  it('speaks Chinese and aligns columns by display width', () => {
    const text = formatTextReport(summary, { locale: 'zh-CN', currency: 'CNY' });
    expect(text).toContain('人工放行 (2)');
    expect(text).toContain('结果未知的交易');
    expect(text).toContain('1 分钟');
    const rows = text
      .split('\n')
      .filter((l) => (l.startsWith('2026') && l.includes('顾客买了两份')) || (l.startsWith('时间') && l.includes('原因')));
    // The reason column starts at the same display column on the heading row and the Chinese row.
    const column = (l: string, word: string) => displayWidth(l.slice(0, l.lastIndexOf(word)));
    expect(rows).toHaveLength(2);
    expect(column(rows[1] ?? '', '顾客')).toBe(column(rows[0] ?? '', '原因'));
  });

  it('never lets journal text move the cursor or forge a line', () => {
    const text = formatTextReport(summary, { locale: 'en' });
    expect(text).not.toContain('\u001b');
    expect(text).not.toMatch(/^forged row/m);
    expect(text).toContain('eve\uFFFD[2J\uFFFDforged row');
  });
});
