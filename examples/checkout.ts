/**
 * A till in 60 lines: the field failures the guard exists for, played against
 * a simulated processor. Run with `npx tsx examples/checkout.ts`.
 */
import { createGuard, type Attempt, type SubmitResult } from '../src/index.js';

// A processor that deduplicates by idempotency key, as Stripe, Adyen and Square do.
const charged = new Map<string, number>();
let network: 'ok' | 'timeout' = 'ok';
async function processor(attempt: Attempt): Promise<SubmitResult> {
  if (!charged.has(attempt.idempotencyKey)) charged.set(attempt.idempotencyKey, attempt.amount);
  if (network === 'timeout') return new Promise(() => {}); // the money moved, the answer is lost
  return { approved: true, authCode: `A${charged.size}` };
}

const guard = await createGuard({ merchantId: 'M-0001', secret: 'example-secret-0123456789abcdef', pendingTimeout: '1s' });
const sale = { amount: 1250, currency: 'CNY', card: { token: 'wallet-token-abc' } };
const log = (what: string, value: unknown) => console.log(what.padEnd(40), value);

// 1. Double tap: two charges of one sale at once; one goes through.
const [a, b] = await Promise.all([guard.charge(sale, processor), guard.charge(sale, processor)]);
log('double tap →', [a.status, b.status, b.decision.reasons[0]?.code]);

// 2. The customer buys the same thing again: a prompt, not a block.
const again = await guard.charge(sale, processor, { confirm: () => false });
log('same sale again, cashier says no →', [again.status, again.decision.reasons[0]?.message]);

// 3. A timeout whose charge went through, then a retry.
network = 'timeout';
const other = { ...sale, amount: 990 };
const lost = await guard.charge(other, processor, { timeout: 200 });
log('timeout →', lost.status);
const retry = await guard.begin(other);
log('retry →', [retry.verdict, retry.reasons[0]?.code]);

// 4. The safe retry: same idempotency key, deduplicated by the processor.
network = 'ok';
const resumed = await guard.resume(lost.attempt!.id);
const answer = await processor(resumed);
if (answer.approved) await resumed.approve({ authCode: answer.authCode });
log('resumed with the same key →', [resumed.idempotencyKey === lost.attempt!.idempotencyKey, resumed.status]);
log('processor charges (should be 2) →', charged.size);

// 5. zh-CN messages for the cashier.
const zh = await createGuard({ merchantId: 'M-0002', secret: 'example-secret-0123456789abcdef', locale: 'zh-CN' });
const card = { last4: '3446', bin: '622202' }; // what a PIN pad reports; a full PAN works the same
const first = await zh.begin({ ...sale, card });
await first.attempt!.approve();
log('zh-CN →', (await zh.begin({ ...sale, card })).reasons[0]?.message);
await Promise.all([guard.close(), zh.close()]);
