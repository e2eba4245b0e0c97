/**
 * Card numbers typed every way a person or a gateway writes them, and a
 * scanner that finds one in whatever the guard kept, said or threw.
 */

/** Test card numbers: Visa, Mastercard, Amex (15), Discover, JCB, UnionPay 19 (Luhn-valid) and UnionPay 16 (not Luhn-valid). */
export const TEST_PANS = [
  '4111111111111111',
  '5555555555554444',
  '378282246310005',
  '6011111111111117',
  '3530111333300000',
  '6222020200112233446',
  '6212345678901234',
] as const;

/** What people and systems put between the digits of a card number. */
export const SEPARATORS: Readonly<Record<string, string>> = {
  none: '',
  space: ' ',
  dash: '-',
  dot: '.',
  slash: '/',
  underscore: '_',
  'two spaces': '  ',
  'spaced dash': ' - ',
  tab: '\t',
  newline: '\n',
  'no-break space': '\u00a0',
  'ideographic space': '\u3000',
  'en dash': '\u2013',
  'full-width hyphen': '\uff0d',
  'full-width full stop': '\uff0e',
};

/** `digits` in groups of 4 joined by `separator`. */
export function grouped(digits: string, separator: string): string {
  return digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
}

/** `digits` as a CJK keyboard types them: full-width. */
export function fullWidth(text: string): string {
  return text.replace(/\d/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
}

/** Every way of writing each test PAN: each separator, and full-width. */
export function panVariants(pans: readonly string[] = TEST_PANS): string[] {
  const out: string[] = [];
  for (const pan of pans) {
    for (const separator of Object.values(SEPARATORS)) out.push(grouped(pan, separator));
    out.push(fullWidth(grouped(pan, ' ')));
  }
  return out;
}

const SEPARATOR_CHARS = [...new Set(Object.values(SEPARATORS).join(''))]
  .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  .join('');
const BETWEEN_DIGITS = new RegExp(`(?<=\\d)[${SEPARATOR_CHARS}]{1,3}(?=\\d)`, 'g');

/** The text with full-width digits made ASCII and separators between digits removed. */
function squeezed(text: string): string {
  return text.replace(/[\uff10-\uff19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(BETWEEN_DIGITS, '');
}

/** Every 12-digit window of a PAN: a leak of any of them is a leak. */
export function panWindows(pan: string): string[] {
  const digits = pan.replace(/\D/g, '');
  const out = new Set<string>();
  for (let i = 0; i + 12 <= digits.length; i++) out.add(digits.slice(i, i + 12));
  return [...out];
}

/** Every string inside `value` (objects, arrays, Errors with their message, stack and cause, Maps). */
export function strings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
  else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    if (value instanceof Error) strings([value.message, value.stack, (value as { cause?: unknown }).cause, { ...value }], out, seen);
    else if (value instanceof Map) strings([...value], out, seen);
    else if (Array.isArray(value)) value.forEach((v) => strings(v, out, seen));
    else Object.values(value).forEach((v) => strings(v, out, seen));
  }
  return out;
}

/** The strings inside `value` that hold 12 or more digits in a row of one of `pans`, however separated. */
export function cardNumberLeaks(value: unknown, pans: readonly string[] = TEST_PANS): string[] {
  const windows = pans.flatMap(panWindows);
  return strings(value).filter((text) => {
    const plain = squeezed(text);
    return windows.some((w) => plain.includes(w));
  });
}
