import { GuardInputError, fail } from './errors.js';
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

/** Throws on any CVV / PIN / track field among `keys`. */
export function refuseSensitiveFields(value: object, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.test(key.toLowerCase().replace(/[-_]/g, ''))) {
      throw new GuardInputError('SENSITIVE_DATA', forbiddenMessage(prefix + key), { field: prefix + key });
    }
  }
}

// One definition of a card number for the whole guard (pan.ts); exported here too, where it always was.
export { luhnValid };

/** Spaces and dashes are how PANs get typed and printed; anything else is an error. */
export function normalisePan(pan: string): string {
  return pan.replace(/[\s-]/g, '');
}

function panFacts(pan: unknown): CardFacts {
  if (typeof pan !== 'string') return fail(GuardInputError, 'INVALID_CARD', 'card.pan', 'must be a string of 12-19 digits');
  // Track 1/2 data pasted from a reader (";4111…=2512…?", "%B4111…^NAME^…").
  if (/[;%=^?]/.test(pan)) {
    throw new GuardInputError('SENSITIVE_DATA', forbiddenMessage('card.pan') + ' (this looks like track data: pass the card number only)', {
      field: 'card.pan',
    });
  }
  const digits = normalisePan(pan);
  if (!/^\d{12,19}$/.test(digits)) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.pan', 'must be 12-19 digits (spaces and dashes allowed)');
  }
  // China UnionPay (62…) issues numbers that are not all Luhn-valid; a
  // China-facing till must accept them.
  if (!digits.startsWith('62') && !luhnValid(digits)) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.pan', 'fails the Luhn check (mistyped card number?)');
  }
  // BIN and last 4 of a short PAN would leave too few digits hidden (10 of
  // 12 shown, ~10 candidates with Luhn): keep the BIN only from 15 digits up,
  // where at least 5 stay hidden.
  return { material: `pan:${digits}`, ...(digits.length >= 15 ? { bin: digits.slice(0, 6) } : {}), last4: digits.slice(-4) };
}

function tokenFacts(token: unknown): CardFacts {
  if (typeof token !== 'string' || token.trim() === '' || token.length > 512) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.token', 'must be a non-empty string of at most 512 characters');
  }
  return { material: `tok:${token}` };
}

function maskedFacts(card: Record<string, unknown>): CardFacts {
  const { last4, bin, expiry } = card;
  if (typeof last4 !== 'string' || !/^\d{4}$/.test(last4)) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.last4', 'must be exactly 4 digits');
  }
  if (bin !== undefined && (typeof bin !== 'string' || !/^\d{6,8}$/.test(bin))) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.bin', 'must be 6-8 digits');
  }
  if (expiry !== undefined && (typeof expiry !== 'string' || !/^(0[1-9]|1[0-2])\/?\d{2}$/.test(expiry))) {
    return fail(GuardInputError, 'INVALID_CARD', 'card.expiry', 'must be MM/YY or MMYY');
  }
  // Expiry narrows the card key (two cards sharing BIN and last 4 rarely share
  // it) but is never stored.
  const exp = typeof expiry === 'string' ? expiry.replace('/', '') : '';
  const facts: CardFacts = { material: `l4:${bin ?? ''}:${last4}:${exp}`, last4 };
  if (typeof bin === 'string') facts.bin = bin.slice(0, 6);
  return facts;
}

/** The fields of a card, for the plain copy taken at the boundary (snapshot.ts). */
export const CARD_SHAPE: Shape = { pan: 'value', token: 'value', last4: 'value', bin: 'value', expiry: 'value' };

const SHAPES: Record<string, readonly string[]> = {
  pan: ['pan'],
  token: ['token'],
  last4: ['last4', 'bin', 'expiry'],
};

/**
 * Validates `sale.card` (SPEC §4) and returns what may be hashed and kept.
 * Card values are never echoed back: its messages name the field and the rule only.
 */
export function cardFacts(input: unknown): CardFacts {
  const card = snapshot(input, CARD_SHAPE, { root: 'card', prefix: 'card.' }, (field, cause) => {
    throw new GuardInputError('INVALID_CARD', unreadableMessage(field), { field, cause });
  });
  if (typeof card !== 'object' || card === null || Array.isArray(card)) {
    return fail(GuardInputError, 'INVALID_CARD', 'card', 'must be an object: { pan }, { token } or { last4, bin?, expiry? }');
  }
  refuseSensitiveFields(card, 'card.');
  const record = card as Record<string, unknown>;
  const kinds = Object.keys(SHAPES).filter((k) => record[k] !== undefined);
  if (kinds.length !== 1) return fail(GuardInputError, 'INVALID_CARD', 'card', 'must have exactly one of `pan`, `token` or `last4`');
  const kind = kinds[0] as keyof typeof SHAPES;
  const allowed = SHAPES[kind] as readonly string[];
  for (const key of Object.keys(record)) {
    // The key itself may be card data put in the wrong place.
    if (!allowed.includes(key)) {
      fail(GuardInputError, 'INVALID_CARD', `card.${redact(key)}`, `is not a field of a \`${kind}\` card (allowed: ${allowed.join(', ')})`);
    }
  }
  if (kind === 'pan') return panFacts(record.pan);
  if (kind === 'token') return tokenFacts(record.token);
  return maskedFacts(record);
}
