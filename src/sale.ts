import * as z from 'zod/mini';
import { CARD_SHAPE, cardFacts, refuseSensitiveFields, type CardFacts } from './card.js';
import { GuardInputError, fail } from './errors.js';
import { issueRule, valueAt } from './issues.js';
import { NO_CARD_NUMBER, containsCardNumber } from './pan.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { Sale, SaleKind } from './types.js';

/** A validated sale with defaults applied. `card` still holds card material: hash it and drop it. */
export interface ValidSale {
  amount: number;
  currency: string;
  kind: SaleKind;
  merchantId: string;
  terminalId?: string;
  orderId?: string;
  orderTotal?: number;
  refundOf?: string;
  operator?: string;
  card: CardFacts;
}

const MINOR_UNITS = 'a safe integer number of minor units from 1 to 9007199254740991 (1250 = 12.50)';
const idText = (max: number) =>
  z.string({ error: `must be a string of 1-${max} characters` }).check(
    z.minLength(1, { error: 'must not be empty' }),
    z.maxLength(max, { error: `must be at most ${max} characters` }),
    z.refine((s) => s.trim() === s, { error: 'must not have leading or trailing spaces' }),
    // Identifiers are stored, indexed and shown as they are. One holding a
    // card number (a PAN scanned into the order field) is refused, not
    // masked: two masked ids could then match each other.
    z.refine((s) => !containsCardNumber(s), { error: NO_CARD_NUMBER }),
  );

// Messages say the rule; the field name and the bad value are added by `fail`.
const CURRENCY = "must be an ISO 4217 code of 3 capital letters, e.g. 'CNY'";
const amountSchema = z.int({ error: `must be ${MINOR_UNITS}` }).check(z.minimum(1, { error: `must be ${MINOR_UNITS}` }));

export const saleSchema = z.strictObject({
  amount: amountSchema,
  currency: z.string({ error: CURRENCY }).check(z.regex(/^[A-Z]{3}$/, { error: CURRENCY })),
  card: z.custom<object>((v) => typeof v === 'object' && v !== null, {
    error: 'must be an object: { pan }, { token } or { last4, bin?, expiry? }',
  }),
  kind: z.optional(z.enum(['sale', 'refund'], { error: "must be 'sale' or 'refund'" })),
  merchantId: z.optional(idText(128)),
  terminalId: z.optional(idText(128)),
  orderId: z.optional(idText(128)),
  orderTotal: z.optional(amountSchema),
  refundOf: z.optional(idText(255)),
  operator: z.optional(idText(128)),
});

/** The fields of a Sale, for the plain copy taken at the boundary (snapshot.ts). */
const SALE_SHAPE: Shape = {
  amount: 'value',
  currency: 'value',
  card: CARD_SHAPE,
  kind: 'value',
  merchantId: 'value',
  terminalId: 'value',
  orderId: 'value',
  orderTotal: 'value',
  refundOf: 'value',
  operator: 'value',
};

// Only these fields' values are quoted back in messages: anything else might
// be card data in the wrong place (a `pan` field, a card number as the sale).
const ECHOED = new Set(['amount', 'orderTotal', 'currency', 'kind']);

/** The first thing wrong with a Sale, as a GuardInputError naming the field and the rule. */
function refuse(issue: z.core.$ZodIssue, input: object): never {
  // A Sale has no arrays: a path is dotted keys. Of several unknown keys, the first.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
  const field = path.join('.');
  const value = valueAt(input, path);
  const rule = issueRule(issue, value, { container: 'a Sale' });
  // An unknown field's name is the caller's text: it may be a card number.
  return fail(GuardInputError, 'INVALID_SALE', redact(field || 'sale'), rule, ...(ECHOED.has(field) && value !== undefined ? [value] : []));
}

/**
 * The boundary: everything after this trusts its input. Throws
 * `GuardInputError` naming the field and the rule; never records anything.
 */
/** The guard's own ids, for sales that do not name theirs. */
export interface SaleDefaults {
  merchantId: string;
  terminalId: string | undefined;
}

export function validateSale(raw: unknown, defaults: SaleDefaults): ValidSale {
  const input = snapshot(raw, SALE_SHAPE, { root: 'sale', prefix: '' }, (field, cause) => {
    throw new GuardInputError('INVALID_SALE', unreadableMessage(field), { field, cause });
  });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(GuardInputError, 'INVALID_SALE', 'sale', 'must be an object with amount, currency and card');
  }
  // Checked first so a CVV is refused as such, not as "unknown field".
  refuseSensitiveFields(input, '');
  const parsed = saleSchema.safeParse(input);
  if (!parsed.success) refuse(parsed.error.issues[0] as z.core.$ZodIssue, input);
  const sale: Sale = parsed.data as Sale;
  const kind = sale.kind ?? 'sale';
  if (sale.refundOf !== undefined && kind !== 'refund') fail(GuardInputError, 'INVALID_SALE', 'refundOf', "is only for `kind: 'refund'`");
  // An amount above orderTotal is not bad input: it is an overpay, which the
  // ORDER_ALREADY_PAID rule blocks (and a supervisor may lift).
  if (sale.orderTotal !== undefined && sale.orderId === undefined) {
    fail(GuardInputError, 'INVALID_SALE', 'orderTotal', 'needs an `orderId`');
  }
  const valid: ValidSale = {
    amount: sale.amount,
    currency: sale.currency,
    kind,
    merchantId: sale.merchantId ?? defaults.merchantId,
    card: cardFacts(sale.card),
  };
  const terminalId = sale.terminalId ?? defaults.terminalId;
  if (terminalId !== undefined) valid.terminalId = terminalId;
  if (sale.orderId !== undefined) valid.orderId = sale.orderId;
  if (sale.orderTotal !== undefined) valid.orderTotal = sale.orderTotal;
  if (sale.refundOf !== undefined) valid.refundOf = sale.refundOf;
  if (sale.operator !== undefined) valid.operator = sale.operator;
  return valid;
}
