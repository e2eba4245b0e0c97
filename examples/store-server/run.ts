/**
 * Two tills and a back office sharing one history on PostgreSQL (SPEC §9),
 * each a process of its own, with one command:
 *
 *   npm run example:store-server                                   (= tsx examples/store-server/run.ts)
 *   GUARD_DATABASE_URL=postgres://user:pw@host:5432/db npm run example:store-server
 *   npm run example:store-server -- --keep                         (keep the demo's schema for a look)
 *
 * Without GUARD_DATABASE_URL it starts a throwaway PostgreSQL 15 server of its
 * own (initdb in a temp dir, a free port on 127.0.0.1) and removes it at the
 * end. Either way the tables go into a schema of the run's own
 * (`store_demo_<random>`), dropped at the end unless `--keep`.
 *
 * This file plays the cashiers: it rings sales up on the tills, answers
 * their prompts, pulls lane 2's network cable, and prints what the guard on
 * each till decided. Nothing here decides a verdict.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { formatMoney, type Sale } from '../../src/index.js';
// The test suite's throwaway server (initdb, pg_ctl as the `postgres` user when root): demo scaffolding, not part of the library.
import { LocalPostgres } from '../../test/helpers/postgres-server.js';
import { startCable } from './cable.js';
import type {
  AttemptView,
  BackOfficeConfig,
  CashierAnswer,
  Command,
  DecisionView,
  FromChild,
  PayResult,
  TillConfig,
  ToChild,
} from './protocol.js';

const MERCHANT_ID = 'M-0001';
// Demo only: provision a real secret per merchant, the same on every till of the store.
const SECRET = process.env.GUARD_SECRET ?? 'store-server-demo-secret-0123456789';
/**
 * The customer walking to the other lane. 0: the other lane's decision must
 * not depend on a notice having arrived (SPEC §9), and this demo proves it:
 * the repeat is begun on lane 2 the moment lane 1's approval committed.
 */
const WALK_OVER_MS = 0;
const walkOver = () => new Promise((resolve) => setTimeout(resolve, WALK_OVER_MS));
/** Keep the demo's schema at the end (for a database of your own: a throwaway server goes anyway). */
const keep = process.argv.includes('--keep') && Boolean(process.env.GUARD_DATABASE_URL);

// What PIN pads report about a card (BIN and last 4): the guard keeps only a keyed fingerprint.
const visa = { bin: '411111', last4: '1111' };
const mastercard = { bin: '555555', last4: '4444' };
const unionPay = { bin: '622202', last4: '3446' };

// ── output ─────────────────────────────────────────────────────────────────

const heading = (text: string) => console.log(`\n${text}`);
const note = (text: string) => console.log(`  ${text}`);
const money = (amount: number, currency: string) => formatMoney(amount, currency);
const LANES: Record<string, string> = { T1: 'lane 1', T2: 'lane 2', 'BACK-OFFICE': 'the back office' };

function describeAttempt(attempt: AttemptView): string {
  const where = attempt.terminalId ? `${LANES[attempt.terminalId] ?? attempt.terminalId}'s` : 'an';
  const card = attempt.last4 ? ` •••• ${attempt.last4}` : '';
  const order = attempt.orderId ? `, order ${attempt.orderId}` : '';
  return `${where} attempt ${attempt.id} (${attempt.status}, ${money(attempt.amount, attempt.currency)}${card}${order})`;
}

function withoutPassword(url: string): string {
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  return shown.href;
}

// ── the processes ──────────────────────────────────────────────────────────

/** A process run.ts started with fork(), spoken to over its IPC channel. */
class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<{ url?: string }>;
  /** Set by pay(): what the cashier does when the till asks. */
  onAsk: ((decision: DecisionView) => CashierAnswer) | undefined;
  readonly conflicts: FromChild[] = [];
  #next = 0;
  readonly #replies = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #exited: Error | undefined;

  constructor(
    readonly label: string,
    file: string,
    config: TillConfig | BackOfficeConfig,
  ) {
    this.process = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      env: { ...process.env, STORE_SERVER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.process.on('message', (message: FromChild) => {
        if (message.type === 'ready') resolve(message);
        else this.#receive(message);
      });
      this.process.once('exit', (code, signal) => {
        this.#exited = new Error(`${label} exited (${signal ?? `code ${code}`})`);
        reject(this.#exited);
        for (const { reject: fail } of this.#replies.values()) fail(this.#exited);
        this.#replies.clear();
      });
    });
  }

  request(command: Command, timeoutMs = 15_000): Promise<unknown> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#replies.delete(id);
        reject(new Error(`${this.label}: no answer to ${command.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done =
        <T>(settle: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          settle(value);
        };
      this.#replies.set(id, { resolve: done(resolve), reject: done(reject) });
      this.#send({ type: 'request', id, ...command });
    });
  }

  /** Ends the process: `close` (the guard and its pool), then the channel. Killed if it does not end within 5 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    await this.request({ op: 'close' }, 5_000).catch(() => undefined);
    if (this.process.connected) this.process.disconnect();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  #send(message: ToChild): void {
    this.process.send(message);
  }

  #receive(message: FromChild): void {
    if (message.type === 'reply') {
      const waiting = this.#replies.get(message.id);
      this.#replies.delete(message.id);
      if (message.ok) waiting?.resolve(message.result);
      else waiting?.reject(new Error(`${this.label}: ${message.error}`));
    } else if (message.type === 'ask') {
      printDecision(this, message.decision);
      const answer = this.onAsk?.(message.decision) ?? false;
      this.#send({ type: 'answer', ask: message.ask, answer });
    } else if (message.type === 'conflict') {
      this.conflicts.push(message);
      const own = typeof message.own === 'string' ? message.own : describeAttempt(message.own);
      const other = typeof message.other === 'string' ? message.other : describeAttempt(message.other);
      say(this, `⚠ conflict event ${message.code}: ${own}`);
      say(this, `  and ${other} were both charged while ${this.label} was cut off: refund one`);
    }
  }
}

const say = (lane: Child, text: string) => console.log(`  ${lane.label} │ ${text}`);

function printDecision(lane: Child, decision: DecisionView): void {
  const warnings = decision.verdict === 'allow' && decision.reasons.length > 0 ? ' (with a warning)' : '';
  say(lane, `guard: ${decision.verdict}${warnings}`);
  for (const reason of decision.reasons) {
    say(lane, `  ${reason.code}: ${reason.message}`);
    if (reason.about) say(lane, `    → ${describeAttempt(reason.about)}`);
  }
}

/** Rings a sale up on a till; `cashier` answers a prompt or a block (no answer: the cashier stops). */
async function pay(lane: Child, sale: Sale, cashier?: (decision: DecisionView) => CashierAnswer): Promise<PayResult> {
  lane.onAsk = cashier;
  const result = (await lane.request({ op: 'pay', sale })) as PayResult;
  lane.onAsk = undefined;
  if (!result.asked) printDecision(lane, result.decision);
  const attempt = result.attempt;
  if (result.status === 'approved' && attempt) {
    const override = attempt.override ? `; override by ${attempt.override.operator}, lifted ${attempt.override.lifted.join(', ')}` : '';
    say(lane, `→ charged: approved, auth ${attempt.authCode ?? '?'} (attempt ${attempt.id}${override})`);
  } else {
    say(lane, `→ ${result.status}${result.status === 'blocked' || result.status === 'not-confirmed' ? ': nothing charged' : ''}`);
  }
  return result;
}

/** The cashier's part, printed as it happens. */
function cashier(name: string, says: string, answer: CashierAnswer): () => CashierAnswer {
  return () => {
    note(`${name}: ${says}`);
    return answer;
  };
}

// ── the store ──────────────────────────────────────────────────────────────

const dir = await mkdtemp(join(tmpdir(), 'pos-guard-store-'));
const children: Child[] = [];
let throwaway: LocalPostgres | undefined;
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
// Ctrl-C: the tills and the back office end with the channel; the throwaway server goes with the exit hook of LocalPostgres.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

console.log('Store server demo: two tills and a back office, one history on PostgreSQL');
let databaseUrl = process.env.GUARD_DATABASE_URL;
if (databaseUrl) {
  note(`database: ${withoutPassword(databaseUrl)} (GUARD_DATABASE_URL)`);
} else {
  throwaway = await LocalPostgres.create().catch((error: unknown) => {
    console.error(`Could not start a throwaway PostgreSQL: ${error instanceof Error ? error.message : String(error)}`);
    console.error('Set GUARD_DATABASE_URL=postgres://user:password@host:port/database to use a server of yours.');
    return process.exit(1);
  });
  databaseUrl = throwaway.url;
  note(`database: no GUARD_DATABASE_URL, so this run started a throwaway PostgreSQL server at ${databaseUrl}`);
  note(`          (data in ${throwaway.info.dataDir}; stopped and removed at the end)`);
}
const schema = `store_demo_${randomBytes(4).toString('hex')}`;
const fate = throwaway ? 'goes with the server' : keep ? 'kept at the end (--keep)' : 'dropped at the end, --keep to keep it';
note(`schema:   ${schema} (created by the first till to start; ${fate})`);

const target = new URL(databaseUrl);
const cable = await startCable({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) });
const lane2Url = new URL(databaseUrl);
lane2Url.hostname = '127.0.0.1';
lane2Url.port = String(cable.port);

try {
  const backOffice = new Child('back office', './back-office.ts', { merchantId: MERCHANT_ID, secret: SECRET, databaseUrl, schema });
  children.push(backOffice);
  const { url: backOfficeUrl } = await backOffice.ready;
  if (!backOfficeUrl) throw new Error('the back office did not say where it listens');
  const till = (terminalId: string, label: string, url: string) =>
    new Child(label, './till.ts', {
      merchantId: MERCHANT_ID,
      terminalId,
      secret: SECRET,
      databaseUrl: url,
      schema,
      localFile: join(dir, `till-${terminalId}.jsonl`),
      gatewayUrl: backOfficeUrl,
    });
  const lane1 = till('T1', 'lane 1', databaseUrl);
  const lane2 = till('T2', 'lane 2', lane2Url.href);
  children.push(lane1, lane2);
  await Promise.all([lane1.ready, lane2.ready]);
  note(`lane 1:   till T1, process ${lane1.process.pid}, local fallback ${join(dir, 'till-T1.jsonl')}`);
  note(`lane 2:   till T2, process ${lane2.process.pid}, local fallback ${join(dir, 'till-T2.jsonl')},`);
  note(`          reaching the database through its "cable", a TCP proxy on 127.0.0.1:${cable.port}`);
  note(`back office: process ${backOffice.process.pid}, ${backOfficeUrl}/ (attempts of every lane; card gateway)`);

  heading('1. Lane 1: a customer pays 128.00 CNY with a Visa card');
  const coffeeBeans: Sale = { amount: 12800, currency: 'CNY', card: visa, operator: 'cashier-1' };
  await pay(lane1, coffeeBeans);

  heading('2. "20 seconds later", lane 2: the same card, the same 128.00 CNY (1 s later, in the demo)');
  await walkOver();
  await pay(
    lane2,
    { ...coffeeBeans, operator: 'cashier-2' },
    cashier('cashier 2', 'asks; the customer is buying a second bag → "Charge again"', {
      operator: 'cashier-2',
      reason: 'customer confirmed a second purchase',
    }),
  );

  heading('3. Table 12 pays its 346.00 CNY bill on the handheld (lane 2), then a friend offers a card at the counter (lane 1)');
  const table12 = { amount: 34600, currency: 'CNY', orderId: 'TABLE-12', orderTotal: 34600 };
  await pay(lane2, { ...table12, card: mastercard, operator: 'waiter-5' });
  await walkOver();
  await pay(
    lane1,
    { ...table12, card: unionPay, operator: 'cashier-1' },
    cashier('cashier 1', 'does not call a supervisor: the table has paid', false),
  );

  heading("4. Lane 2's cable is pulled: it cannot reach the database");
  cable.unplug();
  const tea: Sale = { amount: 5600, currency: 'CNY', card: unionPay, operator: 'cashier-2' };
  note('A customer pays 56.00 CNY on lane 2; the receipt printer jams, so they pay again on lane 1.');
  await pay(lane2, tea);
  await pay(lane1, { ...tea, operator: 'cashier-1' });
  note('The cable is plugged back in; cashier 2 presses Reconnect (store.sync()).');
  cable.plugIn();
  await lane2.request({ op: 'reconnect' });
  say(
    lane2,
    lane2.conflicts.length === 0 ? 'caught up: no conflict reported' : `caught up: ${lane2.conflicts.length} conflict(s) reported`,
  );

  heading(`5. The back office (${backOfficeUrl}/): one history, every lane`);
  const response = await fetch(`${backOfficeUrl}/`);
  for (const line of (await response.text()).trimEnd().split('\n')) console.log(line && `  ${line}`);
} finally {
  await Promise.all(children.map((child) => child.stop()));
  await cable.close();
  if (!keep && !throwaway) {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
  await throwaway?.close();
}
console.log(`\nDone.${keep ? ` The schema ${schema} is kept in ${withoutPassword(databaseUrl)}.` : ''}`);
