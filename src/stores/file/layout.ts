import type { AttemptRecord } from '../../types.js';

/**
 * The record line's layout, in one place: the codec (./jsonl.ts) writes and
 * reads lines by it, and the byte reader (./scan.ts) checks them against it.
 *
 * A record line is `[RECORD_LAYOUT, …fields by position, { rare fields }?]`.
 * Each field is listed with the JSON type its value has; `?` where it may
 * be `null` (absent).
 */
export const RECORD_LAYOUT = 1;

const FIELD_TYPES = {
  id: 'string',
  fingerprint: 'string',
  status: 'string',
  kind: 'string',
  amount: 'number',
  currency: 'string',
  merchantId: 'string',
  createdAt: 'number',
  updatedAt: 'number',
  pendingSince: 'number',
  refunded: 'number',
  approvedAt: 'number?',
  authCode: 'string?',
  bin: 'string?',
  last4: 'string?',
  orderId: 'string?',
  terminalId: 'string?',
} as const satisfies Partial<Record<keyof AttemptRecord, 'string' | 'number' | 'string?' | 'number?'>>;

/**
 * The rare fields, in the trailing object when any is present, with the type
 * `recordProblem` wants each to have; `nested` for the ones whose value is
 * an object or a list.
 */
export const RARE_FIELD_TYPES = {
  idempotencyKey: 'string',
  operator: 'string',
  orderTotal: 'number',
  refundOf: 'string',
  processorRef: 'string',
  code: 'string',
  message: 'string',
  override: 'nested',
  refunds: 'nested',
} as const satisfies Partial<Record<keyof AttemptRecord, 'string' | 'number' | 'nested'>>;

export type RecordField = keyof typeof FIELD_TYPES;
export type RareField = keyof typeof RARE_FIELD_TYPES;

/** Record fields by position, after the layout tag. */
export const RECORD_FIELDS = Object.keys(FIELD_TYPES) as readonly RecordField[];
export const RARE_FIELDS = Object.keys(RARE_FIELD_TYPES) as readonly RareField[];

/** The JSON type each position of a record line holds, the layout tag (a number) first. */
export const POSITION_TYPES: readonly (typeof FIELD_TYPES)[RecordField][] = ['number', ...RECORD_FIELDS.map((field) => FIELD_TYPES[field])];

/** The position of each record field in a line (0 is the layout tag). */
export const AT = Object.freeze(Object.fromEntries(RECORD_FIELDS.map((field, i) => [field, i + 1]))) as Readonly<Record<RecordField, number>>;
