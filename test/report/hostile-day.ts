/**
 * A few journal entries of one morning in Shanghai, two of them with hostile
 * free text (terminal escapes and a newline in an operator's name, a
 * spreadsheet formula as a reason): what the text and CSV renderers are
 * tested on.
 */
import { summarizeJournal } from '../../src/report/summary.js';
import type { JournalEntry } from '../../src/types.js';

const T = Date.parse('2026-03-01T01:05:00Z'); // 09:05 in Shanghai
const entries: JournalEntry[] = [
  { at: T, type: 'decision', verdict: 'prompt', codes: ['DUPLICATE_CHARGE'], amount: 1250 },
  { at: T, type: 'override', attemptId: 'pdg_a', operator: '王芳', reason: '顾客买了两份', codes: ['DUPLICATE_CHARGE'] },
  {
    at: T + 1_000,
    type: 'override',
    attemptId: 'pdg_b',
    operator: 'eve\u001b[2J\nforged row',
    reason: '=HYPERLINK("http://x","y")',
    codes: ['DUPLICATE_CHARGE'],
  },
  { at: T, type: 'settle', attemptId: 'pdg_c', from: 'pending', to: 'unknown' },
  { at: T + 65_000, type: 'settle', attemptId: 'pdg_c', from: 'unknown', to: 'approved' },
  { at: T, type: 'settle', attemptId: 'pdg_d', from: 'approved', to: 'refunded', amount: 1250 },
];
export const summary = summarizeJournal(entries, { tz: 'Asia/Shanghai' });
