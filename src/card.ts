import { GuardInputError, failAll, issue, type GuardIssue } from './errors.js';
import { luhnValid } from './pan.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';

/**
 * Card input → the material the card key is hashed from, plus the display
 * digits we are allowed to keep (BIN, last 4). The material holds the PAN, so
 * it lives only for the duration of one call: it is hashed and dropped.
 */
export interface CardFacts {
  /** Fed to the keyed hash, never stored. */
  material: string;
  bin?: string;
  last4?: string;
}

// Sensitive authentication data: never needed to detect a duplicate, and
// PCI DSS forbids keeping it after authorisation. Refused wherever it appears.
// Matched on the field name lower-cased without `-` and `_`: `track2_data`,
// `Track2Data`, `pinBlock`, `cvv2`.
const FORBIDDEN =
  /^(cvv|cvc|cav|cid|csc|cvn)\d?$|^(card)?(security|verification)(code|value)$|^pin(block|data)?$|^track\d?(data)?$|^magstripe(data)?$|^(emv|icc)(data)?$/;

const forbiddenMessage = (field: string) =>
  `\`${field}\` is refused: CVV, PIN blocks and track data are never needed to detect a duplicate and must not be passed to the guard`;

/** What can be wrong with a card, or with a sale because of card data in it. */
export type CardIssue = GuardIssue<'INVALID_CARD' | 'SENSITIVE_DATA'>;

/** True for a CVV / PIN / track key: reported by {@link sensitiveIssues}, so not again as an unknown field. */
export const isSensitive = (key: string): boolean => FORBIDDEN.test(key.toLowerCase().replace(/[-_]/g, ''));

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * One issue per CVV / PIN / track field among `value`'s keys, in key order.
 * The fields of `shape` (the Sale's or the card's own, none of them
 * sensitive) are passed over without a look: every begin reads them.
 */
export function sensitiveIssues(value: object, prefix: string, shape?: Shape): GuardIssue<'SENSITIVE_DATA'>[] {
  return Object.keys(value)
    .filter((key) => !(shape && hasOwn(shape, key)) && isSensitive(key))
    .map((key) => {
      const field = prefix + key;
      return { code: 'SENSITIVE_DATA', field, rule: forbiddenMessage(field).slice(field.length + 3), message: forbiddenMessage(field) };
    });
}

/** Throws on any CVV / PIN / track field among `value`'s keys, naming them all. */
export function refuseSensitiveFields(value: object, prefix: string): void {
  const found = sensitiveIssues(value, prefix);
  if (found.length > 0) failAll(GuardInputError, found);
}

// One definition of a card number for the whole guard (pan.ts); exported here too, where it always was.
export { luhnValid };

/** Spaces and dashes are how PANs get typed and printed; anything else is an error. */
export function normalisePan(pan: string): string {
  return pan.replace(/[\s-]/g, '');
}

/** Card facts, or what is wrong with the card: never both. */
type Checked = { facts: CardFacts; issues?: undefined } | { issues: CardIssue[] };

const bad = (field: string, rule: string): { issues: CardIssue[] } => ({ issues: [issue('INVALID_CARD', field, rule)] });

function panFacts(pan: unknown): Checked {
  if (typeof pan !== 'string') return bad('card.pan', 'must be a string of 12-19 digits');
  // Track 1/2 data pasted from a reader (";4111…=2512…?", "%B4111…^NAME^…").
  if (/[;%=^?]/.test(pan)) {
    const rule = `${forbiddenMessage('card.pan').slice('`card.pan` '.length)} (this looks like track data: pass the card number only)`;
    return { issues: [issue('SENSITIVE_DATA', 'card.pan', rule)] };
  }
  const digits = normalisePan(pan);
  if (!/^\d{12,19}$/.test(digits)) return bad('card.pan', 'must be 12-19 digits (spaces and dashes allowed)');
  // China UnionPay (62…) issues numbers that are not all Luhn-valid; a
  // China-facing till must accept them.
  if (!digits.startsWith('62') && !luhnValid(digits)) {
    return bad('card.pan', 'must pass the Luhn check: a digit is probably mistyped, check the card number');
  }
  // BIN and last 4 of a short PAN would leave too few digits hidden (10 of
  // 12 shown, ~10 candidates with Luhn): keep the BIN only from 15 digits up,
  // where at least 5 stay hidden.
  const facts = { material: `pan:${digits}`, ...(digits.length >= 15 ? { bin: digits.slice(0, 6) } : {}), last4: digits.slice(-4) };
  return { facts };
}

function tokenFacts(token: unknown): Checked {
  if (typeof token !== 'string' || token.trim() === '' || token.length > 512) {
    return bad('card.token', 'must be a non-empty string of at most 512 characters');
  }
  return { facts: { material: `tok:${token}` } };
}

function maskedFacts(card: Record<string, unknown>): Checked {
  const { last4, bin, expiry } = card;
  // Each field is checked on its own, so a card with several bad fields names them all.
  const issues: CardIssue[] = [];
  if (typeof last4 !== 'string' || !/^\d{4}$/.test(last4)) issues.push(issue('INVALID_CARD', 'card.last4', 'must be exactly 4 digits'));
  if (bin !== undefined && (typeof bin !== 'string' || !/^\d{6,8}$/.test(bin))) {
    issues.push(issue('INVALID_CARD', 'card.bin', 'must be 6-8 digits'));
  }
  if (expiry !== undefined && (typeof expiry !== 'string' || !/^(0[1-9]|1[0-2])\/?\d{2}$/.test(expiry))) {
    issues.push(issue('INVALID_CARD', 'card.expiry', 'must be MM/YY or MMYY'));
  }
  if (issues.length > 0) return { issues };
  // Expiry narrows the card key (two cards sharing BIN and last 4 rarely share
  // it) but is never stored.
  const exp = typeof expiry === 'string' ? expiry.replace('/', '') : '';
  // Checked above: last4 is 4 digits, bin absent or 6-8 digits.
  const [four, six] = [last4 as string, (bin as string | undefined) ?? ''];
  const facts: CardFacts = { material: `l4:${six}:${four}:${exp}`, last4: four };
  if (typeof bin === 'string') facts.bin = bin.slice(0, 6);
  return { facts };
}

/** The fields of a card, for the plain copy taken at the boundary (snapshot.ts). */
export const CARD_SHAPE: Shape = { pan: 'value', token: 'value', last4: 'value', bin: 'value', expiry: 'value' };

const SHAPES: Record<string, readonly string[]> = {
  pan: ['pan'],
  token: ['token'],
  last4: ['last4', 'bin', 'expiry'],
};

/**
 * Checks `sale.card` (SPEC §4): what may be hashed and kept, or every
 * problem found. Card values are never echoed back: its messages name the
 * field and the rule only. A getter or Proxy that throws is still thrown
 * at once (`INVALID_CARD`): the card cannot be read, so nothing more can be said.
 */
export function checkCard(input: unknown): Checked {
  const card = snapshot(input, CARD_SHAPE, { root: 'card', prefix: 'card.' }, (field, cause) => {
    throw new GuardInputError('INVALID_CARD', unreadableMessage(field), { field, cause });
  });
  if (typeof card !== 'object' || card === null || Array.isArray(card)) {
    return bad('card', 'must be an object: { pan }, { token } or { last4, bin?, expiry? }');
  }
  const issues: CardIssue[] = sensitiveIssues(card, 'card.', CARD_SHAPE);
  const record = card as Record<string, unknown>;
  const kinds = Object.keys(SHAPES).filter((k) => record[k] !== undefined);
  if (kinds.length !== 1) return { issues: [...issues, ...bad('card', 'must have exactly one of `pan`, `token` or `last4`').issues] };
  const kind = kinds[0] as keyof typeof SHAPES;
  const allowed = SHAPES[kind] as readonly string[];
  for (const key of Object.keys(record)) {
    // The key itself may be card data put in the wrong place.
    if (!allowed.includes(key) && !isSensitive(key)) {
      issues.push(issue('INVALID_CARD', `card.${redact(key)}`, `is not a field of a \`${kind}\` card (allowed: ${allowed.join(', ')})`));
    }
  }
  const checked = kind === 'pan' ? panFacts(record.pan) : kind === 'token' ? tokenFacts(record.token) : maskedFacts(record);
  return issues.length === 0 ? checked : { issues: [...issues, ...(checked.issues ?? [])] };
}

/** {@link checkCard}, throwing every problem as one `GuardInputError`. */
export function cardFacts(input: unknown): CardFacts {
  const checked = checkCard(input);
  return checked.issues === undefined ? checked.facts : failAll(GuardInputError, checked.issues);
}
