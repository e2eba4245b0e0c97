import * as z from 'zod/mini';
import { CARD_SHAPE, checkCard, isSensitive, sensitiveIssues, type CardFacts, type CardIssue } from './card.js';
import { GuardInputError, fail, failAll, issue, type GuardIssue } from './errors.js';
import { issueRule, valueAt } from './issues.js';
import { IDENTIFIER_RULES } from './identifier.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { GuardStore, Sale, SaleKind } from './types.js';

/** A validated sale's own fields with defaults applied: the facts the rules judge, but for the card's. */
export interface SaleFields {
  amount: number;
  currency: string;
  kind: SaleKind;
  merchantId: string;
  terminalId?: string;
  orderId?: string;
  orderTotal?: number;
  refundOf?: string;
  operator?: string;
}

/**
 * A validated sale: its fields, and its card apart (`card` holds card
 * material: hash it and drop it), so that the fields become the decision's
 * facts as they are, with no copy that leaves the card out.
 */
export interface ValidSale {
  fields: SaleFields;
  card: CardFacts;
}

const MINOR_UNITS = 'a safe integer number of minor units from 1 to 9007199254740991 (1250 = 12.50)';
const idText = (max: number) =>
  z
    .string({ error: `must be a string of 1-${max} characters` })
    .check(
      z.minLength(1, { error: 'must not be empty' }),
      z.maxLength(max, { error: `must be at most ${max} characters` }),
      ...IDENTIFIER_RULES.map(({ broken, rule }) => z.refine<string>((s) => !broken(s), { error: rule })),
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
export const SALE_SHAPE: Shape = {
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

/** What can be wrong with a Sale: a field (`INVALID_SALE`), its card (`INVALID_CARD`), card data in it (`SENSITIVE_DATA`). */
type SaleIssue = GuardIssue<'INVALID_SALE'> | CardIssue;

/** Each problem zod found, one per field (the first rule each broke), unknown keys one per key. */
function schemaIssues(issues: readonly z.core.$ZodIssue[], input: object): SaleIssue[] {
  const found: SaleIssue[] = [];
  for (const zodIssue of issues) {
    // A Sale has no arrays: a path is dotted keys. A CVV is reported as such (sensitiveIssues), not as unknown.
    const paths =
      zodIssue.code === 'unrecognized_keys'
        ? zodIssue.keys.filter((key) => !isSensitive(key)).map((key) => [...zodIssue.path, key])
        : [zodIssue.path];
    for (const path of paths) {
      const field = path.join('.');
      const value = valueAt(input, path);
      const rule = issueRule(zodIssue, value, { container: 'a Sale' });
      // An unknown field's name is the caller's text: it may be a card number.
      const echo = ECHOED.has(field) && value !== undefined ? [value] : [];
      found.push(issue('INVALID_SALE', redact(field || 'sale'), rule, ...echo));
    }
  }
  return found;
}

/** The rules that tie two fields together, checked only where neither field is already wrong on its own. */
function crossFieldIssues(input: Record<string, unknown>, wrong: readonly SaleIssue[]): SaleIssue[] {
  const found: SaleIssue[] = [];
  // Searched only when a tie is in play: a valid begin allocates nothing for it.
  const isWrong = (field: string) => wrong.some((i) => i.field === field);
  const kind = input.kind ?? 'sale';
  if (input.refundOf !== undefined && kind !== 'refund' && !isWrong('refundOf') && !isWrong('kind')) {
    found.push(issue('INVALID_SALE', 'refundOf', "is only for `kind: 'refund'`"));
  }
  // An amount above orderTotal is not bad input: it is an overpay, which the
  // ORDER_ALREADY_PAID rule blocks (and a supervisor may lift).
  if (input.orderTotal !== undefined && input.orderId === undefined && !isWrong('orderTotal')) {
    found.push(issue('INVALID_SALE', 'orderTotal', 'needs an `orderId`'));
  }
  return found;
}

// The order issues are listed in: card data first (it must not be passed at
// all), then the fields in the order the Sale type declares them, then
// unknown fields in the order they were given.
// SALE_SHAPE and CARD_SHAPE list the fields in that order.
const FIELD_ORDER = Object.keys(SALE_SHAPE);
const CARD_ORDER = ['card', ...Object.keys(CARD_SHAPE).map((key) => `card.${key}`)];

function rank(found: SaleIssue): number {
  if (found.code === 'SENSITIVE_DATA') return 0;
  const top = FIELD_ORDER.indexOf(found.field.split('.')[0] as string);
  if (top < 0) return 1000;
  const inCard = found.field.startsWith('card') ? CARD_ORDER.indexOf(found.field) : 0;
  return 1 + top * 10 + (inCard < 0 ? CARD_ORDER.length : inCard);
}

/** The first problem per field, in {@link rank} order (a stable sort: ties keep the order found). */
function ordered(found: readonly SaleIssue[]): SaleIssue[] {
  const seen = new Set<string>();
  return found.filter((i) => !seen.has(i.field) && seen.add(i.field)).sort((a, b) => rank(a) - rank(b));
}

/**
 * The boundary: everything after this trusts its input. Throws
 * `GuardInputError` naming the field and the rule; never records anything.
 */
/** The guard's own ids, for sales that do not name theirs. */
export interface SaleDefaults {
  merchantId: string;
  terminalId: string | undefined;
  /** The guard's store: one several terminals share (it has `attach`) holds a sale to the guard's own terminalId. */
  store?: Pick<GuardStore, 'attach'>;
}

/**
 * On a store several terminals share, a record's `terminalId` is whose
 * charge it is: start-up turns only its own terminal's `pending` records
 * `unknown` (SPEC §9), and leaves another live terminal's IN_FLIGHT. A sale
 * naming another terminal would be taken for that terminal's own when it
 * restarts, while it is still being charged here.
 */
function terminalIssues(input: Record<string, unknown>, defaults: SaleDefaults, wrong: readonly SaleIssue[]): SaleIssue[] {
  const named = input.terminalId;
  if (defaults.store?.attach === undefined || named === undefined || named === defaults.terminalId) return [];
  if (wrong.some((i) => i.field === 'terminalId')) return [];
  return [
    issue(
      'INVALID_SALE',
      'terminalId',
      "must be left out or be this guard's own on a store several terminals share (it says which one charges)",
    ),
  ];
}

export function validateSale(raw: unknown, defaults: SaleDefaults): ValidSale {
  const input = snapshot(raw, SALE_SHAPE, { root: 'sale', prefix: '' }, (field, cause) => {
    throw new GuardInputError('INVALID_SALE', unreadableMessage(field), { field, cause });
  });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(GuardInputError, 'INVALID_SALE', 'sale', 'must be an object with amount, currency and card');
  }
  // Every problem is collected, then thrown as one error (zod's way): a
  // till form can mark every bad field at once.
  const found: SaleIssue[] = sensitiveIssues(input, '', SALE_SHAPE);
  const parsed = saleSchema.safeParse(input);
  if (!parsed.success) found.push(...schemaIssues(parsed.error.issues, input));
  const fields = input as Record<string, unknown>;
  // The card is checked even when other fields are wrong, so its problems are listed too.
  const card = typeof fields.card === 'object' && fields.card !== null ? checkCard(fields.card) : undefined;
  if (card?.issues) found.push(...card.issues);
  found.push(...crossFieldIssues(fields, found), ...terminalIssues(fields, defaults, found));
  if (found.length > 0 || !parsed.success || card === undefined || card.issues) return failAll(GuardInputError, ordered(found));
  const sale: Sale = parsed.data as Sale;
  const valid: SaleFields = {
    amount: sale.amount,
    currency: sale.currency,
    kind: sale.kind ?? 'sale',
    merchantId: sale.merchantId ?? defaults.merchantId,
  };
  const terminalId = sale.terminalId ?? defaults.terminalId;
  if (terminalId !== undefined) valid.terminalId = terminalId;
  if (sale.orderId !== undefined) valid.orderId = sale.orderId;
  if (sale.orderTotal !== undefined) valid.orderTotal = sale.orderTotal;
  if (sale.refundOf !== undefined) valid.refundOf = sale.refundOf;
  if (sale.operator !== undefined) valid.operator = sale.operator;
  return { fields: valid, card: card.facts };
}
