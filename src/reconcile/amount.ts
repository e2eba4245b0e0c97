/**
 * Money as exports write it (`12.50`, `1,234.00`, `-0.10`, full-width
 * `１２．５０`) to integer minor units, by the currency's exponent (JPY 0,
 * CNY 2, KWD 3), with string arithmetic only: `Number('0.1') * 100` is not
 * how money is counted.
 */

const exponents = new Map<string, number>();

/**
 * Minor-unit digits of an ISO 4217 currency, as `Intl` knows them (the same
 * table `formatMoney` divides by, so what is read prints back the same).
 * `undefined` for a code `Intl` does not know (RMB, ABC: see below).
 */
export function currencyExponent(currency: string): number | undefined {
  let exponent = exponents.get(currency);
  if (exponent === undefined) {
    if (!/^[A-Z]{3}$/.test(currency)) return undefined;
    try {
      exponent = new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      return undefined;
    }
    // Intl formats any three letters (RMB, ABC) with 2 decimals: for a code it does not know, 2 is a guess, and a
    // wrong guess is money read 100 times too large or small. Known means listed, or given digits of its own (CLF: 4).
    if (exponent === 2 && !listed().has(currency)) return undefined;
    exponents.set(currency, exponent);
  }
  return exponent;
}

let currencies: ReadonlySet<string> | undefined;

/** The currencies `Intl` knows; where it cannot list them (an old engine), every code it formats counts, as before. */
function listed(): ReadonlySet<string> {
  currencies ??=
    typeof Intl.supportedValuesOf === 'function'
      ? new Set(Intl.supportedValuesOf('currency'))
      : ({ has: () => true, size: 0 } as unknown as ReadonlySet<string>);
  return currencies;
}

/** Full-width digits and signs (Chinese exports, IME input) to ASCII; other text as it is. */
export function toHalfWidth(text: string): string {
  return text.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

// Digits not grouped, or grouped in threes by commas or by spaces (any width: 1 234,50 exports use no-break and
// thin ones), one separator throughout; a leading group never starts with 0 (0,500 is no thousands).
// An optional fraction.
const MAJOR = /^([+-]?)(\d+|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d{0,2}(?:[ \u00a0\u2009\u202f]\d{3})+)(?:\.(\d*))?$/;

/**
 * `'1,234.50'` in `CNY` → `123450`. Returns a sentence saying what is wrong
 * instead (the caller names the file, line and column): more fraction digits
 * than the currency has (unless they are zeros), a value beyond
 * `Number.MAX_SAFE_INTEGER` minor units, or anything that is not a plain
 * decimal number. Currency signs (`¥`, `$`, `€`…) and spaces are allowed.
 */
export function toMinorUnits(text: string, currency: string): number | string {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) return `the currency ${JSON.stringify(currency)} is not an ISO 4217 code`;
  // Currency signs anywhere, spaces around the number and after its sign; spaces inside it only as MAJOR groups them
  // (removing them all read '12 50' as 1250).
  let value = toHalfWidth(text)
    .replace(/[¥￥$€£]/g, '')
    .trim()
    .replace(/^([+-]?)\s+/, '$1');
  // Accounting negatives: (12.50).
  if (/^\(.*\)$/.test(value)) value = `-${value.slice(1, -1).trim()}`;
  const match = MAJOR.exec(value);
  if (!match) return `${JSON.stringify(text.slice(0, 40))} is not an amount (like 12.50 or 1,234.00)`;
  const [, sign, whole = '', fraction = ''] = match;
  const kept = fraction.slice(0, exponent);
  if (/[^0]/.test(fraction.slice(exponent))) {
    return `${JSON.stringify(text.slice(0, 40))} has more decimals than ${currency} has (${exponent})`;
  }
  const digits = (whole.replace(/[^\d]/g, '') + kept.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  const minor = Number(digits);
  if (!Number.isSafeInteger(minor)) return `${JSON.stringify(text.slice(0, 40))} is too large`;
  return sign === '-' && minor !== 0 ? -minor : minor;
}
