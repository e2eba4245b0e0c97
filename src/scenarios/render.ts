import { printable } from '../cli/printable.js';
import { refuseSensitiveFields } from '../card.js';
import { DIGIT_RUN } from '../pan.js';
import { redact } from '../redact.js';

/**
 * Scenario content shown to people: the step under a failure, names, quoted
 * values and error texts. A scenario file is input we do not control: a value
 * may be nested 100,000 levels deep or be megabytes long, and a Sale holds
 * (test) card numbers. So rendering is bounded in depth, width and length —
 * the work as well as the output, never recursion a file can drive — and card
 * data is masked (SPEC §5: a PAN, an expiry, CVV or track data is never logged).
 */

/** Enough to see what a step was; a step past this is cut with `…`. */
const LIMITS = { depth: 6, entries: 20, string: 120, total: 1_000 } as const;

/** What `redact` can miss, found by field name: a PAN written with dots, a number, an array. */
const CARD_NUMBER_FIELDS = new Set(['pan', 'cardnumber']);
const EXPIRY_FIELDS = new Set(['expiry', 'expirydate']);

function maskFor(key: string): string | undefined {
  const plain = key.toLowerCase().replace(/[-_]/g, '');
  if (CARD_NUMBER_FIELDS.has(plain)) return '[card number removed]';
  if (EXPIRY_FIELDS.has(plain)) return '[expiry removed]';
  // The guard's own list of CVV / PIN / track fields, so the two never disagree.
  try {
    refuseSensitiveFields({ [key]: true }, '');
    return undefined;
  } catch {
    return '[removed]';
  }
}

/** A digit run at the very end of a text: what a cut may have cut short. */
const TRAILING_DIGIT_RUN = new RegExp(`(?:${DIGIT_RUN.source})[^\\p{L}\\p{N}]*$`, 'u');

/**
 * Free text (a name, an error message) made safe to print: card data masked,
 * at most `max` characters. Only a window of the text is read, wide enough
 * that a card number cut at the edge is still masked before it is cut.
 */
export function safeText(text: string, max: number = 500): string {
  // 37 characters: a card number grouped in fours with a few separators. A
  // number written longer than that (many separators, marks) and cut at the
  // window's edge is dropped whole: its digits would not be seen as one.
  const window = text.length > max ? text.slice(0, max + 37) : text;
  const cut = window.length < text.length;
  const clean = cut ? redact(window).replace(TRAILING_DIGIT_RUN, '') : redact(window);
  return clean.length > max || cut ? `${clean.slice(0, max)}…` : clean;
}

/**
 * A file path made safe to print: card data masked, never shortened (a cut
 * path would name another file). A QA folder or file may be named after the
 * test card it exercises ("card-4111-1111-1111-1111/").
 */
export function safePath(path: string): string {
  return redact(path);
}

/**
 * Text on one line of a terminal or a CI log: a line break in it would pass
 * for another line of the output (a scenario's, a TAP `ok`, a GitHub
 * `::error` command, which Actions runs from any stdout line), and
 * `ESC [2J` in it would clear the screen. Both are written out, visible and inert.
 */
export function oneLine(text: string): string {
  return printable(text)
    .replace(/\n/g, '\\n')
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * A file path shown where a line of output starts (leading spaces aside),
 * on one line: a path that begins with `::` (a file named
 * `::error title=…::x.json`, run from its own folder) would be read by
 * GitHub Actions as a workflow command, so it is shown as `./::…`, the same file.
 */
export function pathAtLineStart(path: string): string {
  const shown = oneLine(safePath(path));
  return shown.trimStart().startsWith('::') ? `./${shown}` : shown;
}

/**
 * A value as one line of JSON, `JSON.stringify` for an ordinary step, with
 * card data masked and anything past the limits cut with `…`: deeper levels
 * as `{…}` / `[…]`, extra entries as `…`, long strings and keys end in `…`.
 */
export function renderValue(value: unknown): string {
  const out = new Output(LIMITS.total);
  write(value, 0, out);
  return out.text();
}

class Output {
  #parts: string[] = [];
  #left: number;
  #cut = false;

  constructor(max: number) {
    this.#left = max;
  }

  /** `false` once the budget is spent: the caller stops walking. */
  add(text: string): boolean {
    if (this.#cut) return false;
    if (text.length > this.#left) {
      this.#parts.push(text.slice(0, this.#left));
      this.#cut = true;
      return false;
    }
    this.#parts.push(text);
    this.#left -= text.length;
    return true;
  }

  get full(): boolean {
    return this.#cut;
  }

  text(): string {
    return this.#parts.join('') + (this.#cut ? '…' : '');
  }
}

// JSON.stringify escapes C0 controls only: a C1 control (CSI is U+009B) or a bidi override would reach a terminal raw.
// Written out as `\uXXXX`, which is still the same JSON string.
const quote = (text: string): string => printable(JSON.stringify(safeText(text, LIMITS.string)));

/** Recursion, but at most LIMITS.depth levels whatever the value. */
function write(value: unknown, depth: number, out: Output): void {
  if (typeof value === 'string') {
    out.add(quote(value));
  } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    out.add(redact(JSON.stringify(value)));
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.add('[]');
    else if (depth >= LIMITS.depth) out.add('[…]');
    else writeEntries('[', ']', value.length, (i) => writeItem(value[i], depth, out), out);
  } else if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Own keys only, `__proto__` included: what JSON.parse produced. Undefined
    // values are left out, as JSON.stringify does.
    const keys = Object.keys(record).filter((key) => record[key] !== undefined);
    if (keys.length === 0) out.add('{}');
    else if (depth >= LIMITS.depth) out.add('{…}');
    else {
      writeEntries(
        '{',
        '}',
        keys.length,
        (i) => {
          const key = keys[i] as string;
          if (!out.add(`${quote(key)}:`)) return;
          const mask = maskFor(key);
          if (mask === undefined) write(record[key], depth + 1, out);
          else out.add(JSON.stringify(mask));
        },
        out,
      );
    }
  } else {
    // Not from JSON (undefined in an array, a function): as JSON.stringify would.
    out.add('null');
  }
}

function writeItem(value: unknown, depth: number, out: Output): void {
  write(value === undefined ? null : value, depth + 1, out);
}

function writeEntries(open: string, close: string, count: number, each: (index: number) => void, out: Output): void {
  if (!out.add(open)) return;
  const shown = Math.min(count, LIMITS.entries);
  for (let i = 0; i < shown && !out.full; i++) {
    if (i > 0 && !out.add(',')) return;
    each(i);
  }
  if (count > shown) out.add(',…');
  out.add(close);
}
