/**
 * One lane's till, as a process of its own: a guard over `postgresStore`
 * (the store's shared history) with a `fileStore` of its own as `local`, so
 * that it keeps taking payments if it loses the database. Cards are charged
 * through the back office's gateway.
 *
 * run.ts starts it with fork() and plays its cashier over the IPC channel:
 * `pay` rings up a sale (`guard.charge`); a prompt or a block is put to the
 * cashier (`ask`) and the answer applied; `reconnect` is the till's
 * Reconnect button (`store.sync()`); `close` shuts it down.
 */
import pg from 'pg';
import { createGuard, type Decision, type Reason, type Sale, type SubmitResult, type Attempt } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { postgresStore } from '../../src/postgres.js';
import {
  attemptView,
  send,
  type AttemptView,
  type CashierAnswer,
  type Command,
  type DecisionView,
  type PayResult,
  type TillConfig,
  type ToChild,
} from './protocol.js';

const config = JSON.parse(process.env.STORE_SERVER_CONFIG ?? '{}') as TillConfig;

// The app owns the pool (TLS, credentials, size). A connection that dies while
// idle in the pool is reported here; the store notices on its next call.
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 2_000 });
pool.on('error', () => {});

const store = postgresStore({
  pool,
  local: fileStore(config.localFile),
  schema: config.schema,
  // Shorter than the defaults (3s, 2s), so that the demo does not wait long.
  timeout: '2s',
  retry: '1s',
});

const guard = await createGuard({
  merchantId: config.merchantId,
  terminalId: config.terminalId,
  secret: config.secret,
  store,
});

// Found by the catch-up after a cut-off: this lane and another both charged
// one sale or order. Reported to run.ts before `reconnect` answers. The
// other lane's attempt is looked up once the catch-up is over: until then
// the store still reads from `local`, which has never seen it.
const reporting = new Set<Promise<void>>();
guard.on('conflict', ({ code, attempts: [own, other] }) => {
  const report = store
    .settled()
    .then(() => Promise.all([describe(own), describe(other)]))
    .then(([ownView, otherView]) => send({ type: 'conflict', code, own: ownView ?? own, other: otherView ?? other }));
  reporting.add(report);
  void report.finally(() => reporting.delete(report));
});

async function describe(attemptId: string): Promise<AttemptView | undefined> {
  const record = await guard.get(attemptId).catch(() => undefined);
  return record && attemptView(record);
}

async function view(decision: Decision): Promise<DecisionView> {
  const reason = async ({ code, message, attemptId }: Reason) => {
    const about = attemptId === undefined ? undefined : await describe(attemptId);
    return { code, message, ...(about ? { about } : {}) };
  };
  return { verdict: decision.verdict, reasons: await Promise.all(decision.reasons.map(reason)) };
}

/** The card gateway: the back office relays the charge to the processor, with the attempt's idempotency key. */
async function submit(attempt: Attempt, sale: Sale): Promise<SubmitResult> {
  const last4 = sale.card.last4; // what a PIN pad reports; never the card number
  const response = await fetch(`${config.gatewayUrl}/charge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ idempotencyKey: attempt.idempotencyKey, amount: attempt.amount, currency: attempt.currency, last4 }),
  });
  if (!response.ok) throw new Error(`gateway answered HTTP ${response.status}`);
  return (await response.json()) as SubmitResult;
}

// ── the cashier, on the other end of the IPC channel ──────────────────────

let asks = 0;
const waiting = new Map<number, (answer: CashierAnswer) => void>();

function askCashier(decision: DecisionView): Promise<CashierAnswer> {
  const ask = ++asks;
  send({ type: 'ask', ask, decision });
  return new Promise((resolve) => waiting.set(ask, resolve));
}

async function pay(sale: Sale): Promise<PayResult> {
  const result: Partial<PayResult> = {};
  const put = async (decision: Decision) => {
    result.asked = await view(decision);
    result.answer = await askCashier(result.asked);
    return result.answer;
  };
  const charged = await guard.charge(sale, (attempt) => submit(attempt, sale), { confirm: put, escalate: put });
  return {
    ...result,
    status: charged.status,
    decision: await view(charged.decision),
    ...(charged.attempt ? { attempt: attemptView(charged.attempt) } : {}),
  };
}

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'pay':
      return pay(command.sale);
    case 'reconnect':
      // Tries the database now; resolves once what was written while cut off was sent and what was missed was read.
      await store.sync();
      await Promise.all(reporting);
      return undefined;
    case 'close':
      await guard.close();
      await pool.end();
      return undefined; // run.ts then closes the channel, and the process ends
  }
}

process.on('message', (message: ToChild) => {
  if (message.type === 'answer') {
    waiting.get(message.ask)?.(message.answer);
    waiting.delete(message.ask);
    return;
  }
  run(message).then(
    (result) => send({ type: 'reply', id: message.id, ok: true, result }),
    (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

// The channel closed: after `close`, or run.ts is gone (Ctrl-C, a crash).
process.on('disconnect', () => process.exit());

send({ type: 'ready' });
