/**
 * Text from a settlement file or a store, made safe to print on a manager's
 * terminal: a transaction id is whatever the file says, and a cell holding
 * `ESC ]0;…` or `ESC [2J` would retitle or clear the terminal, or hide a
 * line of the report; a bidi override would show an id backwards.
 */

// C0 controls but the line break, DEL, C1 controls (ESC's 8-bit forms: CSI is U+009B), and the bidi overrides and isolates.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written out as `\uXXXX`: visible, and inert. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
