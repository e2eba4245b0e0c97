/**
 * The journal report as one JSON document (`--json`): the summary as it is,
 * for a script. JSON.stringify escapes C0 controls but writes DEL, the C1
 * controls (U+009B is an 8-bit CSI), the bidi overrides and the other format
 * characters raw, and `--json` is printed to a terminal as often as piped:
 * those are written as `\uXXXX` escapes too. The same document to a parser,
 * inert to a terminal.
 */
import type { JournalSummary } from './summary.js';

export function formatJsonReport(summary: JournalSummary): string {
  const json = JSON.stringify(summary, null, 2);
  // They can only be inside strings: JSON's own syntax is ASCII.
  return `${json.replace(/[\u007f-\u009f\p{Cf}\u2028\u2029]/gu, escape)}\n`;
}

/** `\uXXXX` for each UTF-16 unit: a format character beyond the BMP (a flag's tag letters) is a surrogate pair. */
function escape(char: string): string {
  let out = '';
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
