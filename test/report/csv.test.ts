import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, formatCsvReport } from '../../src/report/csv.js';
import { summary } from './hostile-day.js';

describe('formatCsvReport', () => {
  it('is one table with a section column, CRLF lines, quoted cells and defused formulas', () => {
    const csv = formatCsvReport(summary);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines.at(-1)).toBe('');
    const override = lines.find((l) => l.includes('pdg_b')) ?? '';
    // A formula becomes text ('), its quotes doubled inside a quoted cell; the newline is gone.
    expect(override).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(override).not.toContain('\n');
    const unknown = lines.find((l) => l.startsWith('unknown,')) ?? '';
    expect(unknown).toBe('unknown,2026-03-01T09:05:00+08:00,pdg_c,,,0,,,,,manual,65000,approved,');
    expect(lines).toContain('decisions,,,prompt,,1,,,,,,,,');
    expect(lines).toContain('hour,2026-03-01T09:00:00+08:00,,prompt,,1,,,,,,,,');
  });
});
