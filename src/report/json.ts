/**
 * The journal report as one JSON document (`--json`): the summary as it is,
 * for a script, printable on a terminal (see printableJson).
 */
import { printableJson } from '../cli/printable.js';
import type { JournalSummary } from './summary.js';

export function formatJsonReport(summary: JournalSummary): string {
  return `${printableJson(summary)}\n`;
}
