/**
 * Text from a settlement file or a store, made safe to print on a manager's
 * terminal: a transaction id is whatever the file says, and a cell holding
 * `ESC ]0;…` or `ESC [2J` would retitle or clear the terminal, or hide a
 * line of the report; a bidi override would show an id backwards.
 */

// C0 controls but the line feed, DEL, C1 controls (ESC's 8-bit forms: CSI is U+009B), the bidi overrides and
// isolates, and U+2028 / U+2029, which terminals and log viewers break lines on.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written out as `\uXXXX`: visible, and inert. Its line feeds are kept: reports print lines through it. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeUnits);
}

/**
 * `text` printed on one line (a cell of a table, a title): its line feeds
 * written out too. A transaction id is whatever a settlement file says, and
 * one holding a line break would write a line of the file's own choosing
 * into the report, e.g. a forged "Nothing to do".
 */
export function printableLine(text: string): string {
  return printable(text).replaceAll('\n', '\\u000a');
}

// In JSON text these can only stand inside strings (JSON's own syntax is ASCII). JSON.stringify escapes the C0
// controls but writes DEL, the C1 controls (U+009B is an 8-bit CSI), the format characters (bidi overrides,
// zero-width marks, tag letters) and the line separators raw.
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

/**
 * `value` as JSON (indented by `indent`, one line with 0), those characters
 * written as `\uXXXX`: the same document to a parser, inert on the terminal
 * that `--json` is printed to as often as it is piped.
 */
export function printableJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON, escapeUnits);
}

/** `\uXXXX` for each UTF-16 unit: a format character beyond the BMP (a flag's tag letters) is a surrogate pair. */
function escapeUnits(char: string): string {
  let out = '';
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
