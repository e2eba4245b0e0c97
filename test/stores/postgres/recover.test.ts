/**
 * SPEC §10 on postgresStore: two terminals sharing one database never call
 * `recover` for one attempt at once. The lease is written with the attempt
 * through the store's claim (one transaction, advisory locks), so the
 * terminal that did not take it waits, and learns the outcome the other one
 * settled.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGuard, type Guard, type RecoverAnswer } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

let db: FreshDatabase;
beforeAll(async () => {
  db = await freshDatabase('recover');
}, 30_000);
afterAll(() => db.drop());

const secret = 'postgres-recover-secret-0123456789';
const sale = { amount: 6600, currency: 'CNY', card: { token: 'tok_pg_recover' } };
const waitFor = async (done: () => boolean | Promise<boolean>, ms = 5_000) => {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('two terminals due at once: one call, the other waits on the lease and learns the outcome', async () => {
  const calls: string[] = [];
  let answer: (value: RecoverAnswer) => void = () => undefined;
  const lane = (terminalId: string): Promise<Guard> =>
    createGuard({
      merchantId: 'M-REC',
      terminalId,
      secret,
      store: postgresStore({ pool: db.pool({ max: 3 }) }),
      recoverAfter: '300ms',
      recover: () => {
        calls.push(terminalId);
        return new Promise<RecoverAnswer>((resolve) => (answer = resolve));
      },
    });
  const [t1, t2] = await Promise.all([lane('T1'), lane('T2')]);
  try {
    const decision = await t1.begin(sale);
    await decision.attempt?.markUnknown();
    const id = decision.attempt?.id as string;
    // T2 hears of the unknown attempt (a settle is announced) and puts it on its own schedule.
    await waitFor(async () => (await t2.get(id))?.status === 'unknown');
    await waitFor(() => calls.length > 0);
    // Both were due 300 ms after it became unknown; well past that, still one call.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(calls).toHaveLength(1);
    answer({ status: 'approved', authCode: 'PG-OK' });
    await waitFor(async () => (await t2.get(id))?.status === 'approved');
    expect(calls).toHaveLength(1);
    expect((await t2.begin(sale)).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  } finally {
    await Promise.all([t1.close(), t2.close()]);
  }
});
