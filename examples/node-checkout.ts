/**
 * A Node / Electron terminal's checkout on `fileStore`, against the same
 * simulated processor as the web example, called in-process. It plays the
 * field failures the guard exists for and prints what happens:
 *
 *   npm run example:node        (= tsx examples/node-checkout.ts)
 *
 * The guard's history lives in a temporary JSON-lines file, deleted at the end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuard, formatMoney, type Attempt, type Decision, type Guard, type Sale, type SubmitResult } from '../src/index.js';
import { fileStore } from '../src/node.js';
import { SimulatedProcessor } from './web-pos/processor.js';

const MERCHANT_ID = 'M-0001';
// Demo only: provision a real secret per merchant, e.g. from the OS keychain.
const SECRET = process.env.GUARD_SECRET ?? 'node-checkout-demo-secret-0123456789';
const SUPERVISOR = 'SUP-01';

const processor = new SimulatedProcessor();

/**
 * The terminal's gateway call. The processor decides at once (and may move
 * money); `delivery` is what the network then does with its answer.
 */
function submit(attempt: Attempt, last4?: string): Promise<SubmitResult> {
  const { answer, delivery } = processor.charge({
    idempotencyKey: attempt.idempotencyKey,
    amount: attempt.amount,
    currency: attempt.currency,
    ...(last4 ? { last4 } : {}),
  });
  if (delivery === 'lost') return new Promise<never>(() => {}); // charged, but the answer never arrives
  return new Promise((resolve) => setTimeout(() => resolve(answer), delivery.afterMs));
}

// What a PIN pad reports about a card (BIN and last 4), or a wallet token. A
// full PAN works the same way; the guard keeps only its keyed fingerprint.
const visa = { bin: '411111', last4: '1111' };
const unionPay = { bin: '622202', last4: '3446' };
const wallet = { token: 'wallet_tok_demo_7f3a9c' };

const money = (amount: number) => formatMoney(amount, 'CNY');
const say = (text: string) => console.log(`  ${text}`);
const heading = (text: string) => console.log(`\n${text}`);
const reasons = (decision: Decision) => decision.reasons.map((reason) => `${reason.code}: ${reason.message}`).join(' | ');
const charges = () => processor.ledger().filter((entry) => entry.status === 'approved').length;

function openGuard(path: string): Promise<Guard> {
  return createGuard({
    merchantId: MERCHANT_ID,
    terminalId: 'T-07',
    secret: SECRET,
    store: fileStore(path),
    // A charge not answered within 1 s is `unknown`: short, for the demo.
    pendingTimeout: '1s',
    // A real terminal asks its back office; here, one known supervisor.
    authorize: ({ supervisor }) => supervisor === SUPERVISOR,
  });
}

const dir = await mkdtemp(join(tmpdir(), 'pos-guard-'));
const path = join(dir, 'guard.jsonl');
console.log(`Guard history: ${path}`);
let guard = await openGuard(path);

try {
  heading('1. Double tap on "Pay": two charges of one sale at once');
  const coffee: Sale = { amount: 1250, currency: 'CNY', card: visa, operator: 'cashier-1' };
  const [tap1, tap2] = await Promise.all([
    guard.charge(coffee, (a) => submit(a, visa.last4)),
    guard.charge(coffee, (a) => submit(a, visa.last4)),
  ]);
  say(`first tap  → ${tap1.status}`);
  say(`second tap → ${tap2.status} (${reasons(tap2.decision)})`);
  say(`processor charges: ${charges()} (expected 1)`);

  heading('2. Timeout: the charge went through, the answer was lost');
  processor.mode = 'timeout';
  const lunch: Sale = { amount: 3800, currency: 'CNY', card: unionPay };
  const lost = await guard.charge(lunch, (a) => submit(a, unionPay.last4), { timeout: 300 });
  say(`charge → ${lost.status}: ${lost.attempt?.message ?? ''}`);
  const retry = await guard.begin(lunch);
  say(`cashier retries → ${retry.verdict} (${reasons(retry)})`);
  processor.mode = 'approve';
  const resumed = await guard.resume(lost.attempt!.id);
  say(`resume → same idempotency key: ${resumed.idempotencyKey === lost.attempt!.idempotencyKey}`);
  const answer = await submit(resumed, unionPay.last4);
  if (answer.approved) await resumed.approve({ ...(answer.authCode ? { authCode: answer.authCode } : {}) });
  const entry = processor.find(resumed.idempotencyKey);
  say(`processor answered ${answer.approved ? 'approved' : 'declined'}; requests with that key: ${entry?.requests}, charged once`);
  say(`processor charges: ${charges()} (expected 2)`);

  heading('3. Declined (insufficient funds), then the customer tries again');
  processor.mode = 'decline';
  const shoes: Sale = { amount: 59900, currency: 'CNY', card: wallet };
  const declined = await guard.charge(shoes, (a) => submit(a));
  say(`charge → ${declined.status}: ${declined.attempt?.message ?? ''}`);
  processor.mode = 'approve';
  const again = await guard.charge(shoes, (a) => submit(a));
  say(`retry → ${again.status} (allowed: a decline moved no money)`);
  say(`processor charges: ${charges()} (expected 3)`);

  heading('4. The customer buys the same coffee again: a prompt, confirmed at the till');
  const repeat = await guard.charge(coffee, (a) => submit(a, visa.last4), {
    confirm: (decision) => {
      say(`prompt: ${reasons(decision)}`);
      say('cashier: "Charge again"');
      return true;
    },
  });
  say(`charge → ${repeat.status}`);
  say(`processor charges: ${charges()} (expected 4)`);

  heading('5. The terminal dies mid-charge; on restart the attempt is unknown');
  const tea: Sale = { amount: 1800, currency: 'CNY', card: visa };
  const started = await guard.begin(tea); // `pending` is fsynced before begin resolves
  processor.charge({ idempotencyKey: started.attempt!.idempotencyKey, amount: tea.amount, currency: tea.currency, last4: visa.last4 });
  // Power cut: the old guard is simply dropped, as in a crash, never closed.
  guard = await openGuard(path);
  const unknown = await guard.attempts({ status: 'unknown' });
  say(`after restart: ${unknown.length} attempt(s) to reconcile: ${unknown.map((r) => `${money(r.amount)} •••• ${r.last4}`).join(', ')}`);
  const rung = await guard.begin(tea);
  say(`cashier rings the tea up again → ${rung.verdict} (${rung.reasons.map((reason) => reason.code).join(', ')})`);
  for (const record of unknown) {
    const charge = processor.find(record.idempotencyKey);
    const settled = charge?.answer.approved
      ? await guard.settle(record.id, { status: 'approved', authCode: charge.answer.authCode })
      : await guard.settle(record.id, { status: 'cancelled', message: 'not at the processor' });
    say(`checked with the processor → ${settled.status}`);
  }
  say(`processor charges: ${charges()} (expected 5: the tea was charged once, while the terminal was down)`);

  // What the terminal keeps about the tea: no card number, only a keyed fingerprint, BIN and last 4.
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  const teaLine = lines.filter((line) => line.includes(started.attempt!.id)).at(-1) ?? '{}';
  const { fingerprint, bin, last4, status, idempotencyKey } = JSON.parse(teaLine) as Record<string, unknown>;
  heading(`The history file holds ${lines.length} JSON lines. The tea's latest one, in part:`);
  say(JSON.stringify({ status, idempotencyKey, fingerprint, bin, last4 }));
} finally {
  await guard.close();
  await rm(dir, { recursive: true, force: true });
}
