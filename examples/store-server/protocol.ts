/**
 * What run.ts and its processes (the two tills, the back office) say to each
 * other over Node's IPC channel (`child_process.fork`). Plain JSON: a
 * `Decision` is sent as a `DecisionView`, its reasons as the guard gave them.
 */
import type {
  AttemptRecord,
  AttemptStatus,
  ChargeResult,
  ConflictCode,
  OverrideRequest,
  ReasonCode,
  Sale,
  Verdict,
} from '../../src/index.js';

/** How a till process is set up: the environment variable STORE_SERVER_CONFIG, as JSON (not argv: `ps` shows argv to everyone). */
export interface TillConfig {
  merchantId: string;
  terminalId: string;
  secret: string;
  /** The database as this till reaches it (lane 2: through its cable). */
  databaseUrl: string;
  schema: string;
  /** The till's own fileStore: where it keeps taking payments while cut off. */
  localFile: string;
  /** The back office's card gateway, e.g. `http://127.0.0.1:41234`. */
  gatewayUrl: string;
}

/** How the back office is set up: STORE_SERVER_CONFIG, as JSON. */
export interface BackOfficeConfig {
  merchantId: string;
  secret: string;
  databaseUrl: string;
  schema: string;
}

/** One attempt, as much as a screen shows of it. */
export interface AttemptView {
  id: string;
  terminalId?: string;
  status: AttemptStatus;
  amount: number;
  currency: string;
  last4?: string;
  orderId?: string;
  authCode?: string;
  override?: { operator: string; reason: string; lifted: readonly ReasonCode[] };
}

export interface ReasonView {
  code: ReasonCode;
  message: string;
  /** The earlier attempt the reason is about, read back from the guard (whichever lane made it). */
  about?: AttemptView;
}

export interface DecisionView {
  verdict: Verdict;
  reasons: ReasonView[];
}

/** What `pay` answers: every decision the guard made on the way, and how the charge ended. */
export interface PayResult {
  /** The decision the cashier was asked about (a prompt or a block), if any. */
  asked?: DecisionView;
  /** What the cashier answered, if asked. */
  answer?: CashierAnswer;
  /** `guard.charge(…)`'s status and decision. */
  status: ChargeResult['status'];
  decision: DecisionView;
  attempt?: AttemptView;
}

/** The cashier's answer to a prompt (`confirm`) or a block (`escalate`): an override, or no. */
export type CashierAnswer = OverrideRequest | false;

export type Command = { op: 'pay'; sale: Sale } | { op: 'reconnect' } | { op: 'close' };

export type ToChild = ({ type: 'request'; id: number } & Command) | { type: 'answer'; ask: number; answer: CashierAnswer };

export type FromChild =
  | { type: 'ready'; url?: string }
  /** A till asks its cashier about a prompt or a block. */
  | { type: 'ask'; ask: number; decision: DecisionView }
  /** Something the guard reported by itself (a `conflict` event). */
  | { type: 'conflict'; code: ConflictCode; own: AttemptView | string; other: AttemptView | string }
  | { type: 'reply'; id: number; ok: true; result?: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

export function attemptView(record: AttemptRecord): AttemptView {
  return {
    id: record.id,
    ...(record.terminalId === undefined ? {} : { terminalId: record.terminalId }),
    status: record.status,
    amount: record.amount,
    currency: record.currency,
    ...(record.last4 === undefined ? {} : { last4: record.last4 }),
    ...(record.orderId === undefined ? {} : { orderId: record.orderId }),
    ...(record.authCode === undefined ? {} : { authCode: record.authCode }),
    ...(record.override === undefined
      ? {}
      : { override: { operator: record.override.operator, reason: record.override.reason, lifted: record.override.lifted } }),
  };
}

/** `process.send` for a forked child: this file's messages only. */
export function send(message: FromChild): void {
  process.send?.(message);
}
