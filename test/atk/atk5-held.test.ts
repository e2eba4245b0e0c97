/**
 * atk5, tried and held: a till killed at every step of its catch-up after a
 * cut-off, then restarted on the same `local`: everything it wrote while cut
 * off reaches the database once, and no sale is freed. (The conflict report
 * lost at one of these points: atk5-crash-catchup.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type GuardEvent, type GuardStore, type RecoverAnswer } from '../../src/index.js';
import type { Remote } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, mortal, sleepy } from '../helpers/lanes.js';

const MIN = 60_000;

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

describe('atk5: killed during the catch-up', () => {
  for (let dieAt = 1; dieAt <= 14; dieAt++) {
    it(`killed at the catch-up's remote call #${dieAt}: all lands once, sale still held`, async () => {
      const { time, db, open } = lanes();
      const g1 = await open(time.terminal(), 'T1');
      const state = { dead: false, calls: 0, dieAt: Number.POSITIVE_INFINITY };
      const durable = memoryStore();
      const local: GuardStore = mortal(durable, state, false);
      const t2 = time.terminal();
      const remote2: Remote = mortal(db.remote('T2'), state, true);
      const store2 = sharedStore(remote2, { local });
      const g2 = await open(t2, 'T2', { store: store2 });
      const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_crash' } };
      const other = { amount: 500, currency: 'CNY', card: { token: 'tok_atk5_crash_pending' } };
      db.disconnect('T2');
      const a = await g2.begin(sale);
      expect(a.verdict).toBe('allow');
      await g2.settle(a.attempt!.id, { status: 'approved', authCode: '111111' });
      const p = await g2.begin(other); // still charging when it dies
      expect(p.verdict).toBe('allow');
      await time.advance(500);
      const b = await g1.begin(sale);
      expect(b.verdict).toBe('allow');
      await g1.settle(b.attempt!.id, { status: 'approved', authCode: '222222' });
      await time.advance(500);
      db.reconnect('T2');
      state.calls = 0;
      state.dieAt = dieAt;
      await Promise.race([store2.sync().catch(() => undefined), flush()]);
      await flush();
      state.dead = true; // killed here if not before
      // Restarted on what `local` holds.
      t2.restart();
      const events: GuardEvent[] = [];
      const store3 = sharedStore(db.remote('T2'), { local: durable });
      const g3 = await open(t2, 'T2', { store: store3 });
      g3.on('conflict', (e) => events.push(e));
      await store3.settled();
      await flush();
      const rows = await db.remote('observer').load('M1', undefined);
      const ids = rows.map((r) => r.record.id).sort();
      expect(ids).toEqual([a.attempt!.id, b.attempt!.id, p.attempt!.id].sort());
      expect(rows.find((r) => r.record.id === a.attempt!.id)?.record.status).toBe('approved');
      // The pending of the dead process: unknown there, held everywhere.
      expect(codes(await g1.begin(other))).toEqual(expect.arrayContaining([expect.stringMatching(/IN_FLIGHT|UNKNOWN_OUTCOME/)]));
      expect((await g3.begin(other)).verdict).toBe('block');
      expect((await g1.begin(sale)).verdict).not.toBe('allow');
    });
  }
});

describe('atk5 held: sleep', () => {
  it('an approval on another lane made while this lane slept, 30 s before it woke: DUPLICATE_CHARGE here', async () => {
    const { time, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const tablet = sleepy(time, time.terminal());
    const g2 = await open(tablet.terminal, 'T2');
    const sale = { amount: 2_000, currency: 'CNY', card: { token: 'tok_atk5_sleep2' } };
    await g2.begin({ ...sale, amount: 5 });
    tablet.sleep();
    await time.advance(20 * MIN);
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved' });
    await time.advance(30_000);
    tablet.wake();
    const again = await g2.begin(sale);
    expect(codes(again)).toContain('DUPLICATE_CHARGE');
    await time.advance(9 * MIN);
    expect(codes(await g2.begin(sale))).toContain('DUPLICATE_CHARGE');
  });
});

/**
 * atk5: double taps across two lanes sharing one history.
 */

const tapCard = { token: 'tok_atk5_tap' };

async function twoLanes(options: Record<string, unknown> = {}) {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1', { authorize: () => true, ...options });
  const g2 = await open(time.terminal(), 'T2', { authorize: () => true, ...options });
  return { time, db, g1, g2 };
}

async function approvedSale(g: Awaited<ReturnType<typeof twoLanes>>['g1'], amount = 1_000) {
  const d = await g.begin({ amount, currency: 'CNY', card: tapCard });
  await g.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  return d.attempt!.id;
}

describe('atk5: double taps on two lanes', () => {
  it('begin of one sale on both lanes at once: one allow', async () => {
    const { g1, g2 } = await twoLanes();
    const sale = { amount: 700, currency: 'CNY', card: tapCard };
    const all = await Promise.all([g1.begin(sale), g2.begin(sale), g1.begin(sale), g2.begin(sale)]);
    expect(all.filter((d) => d.verdict === 'allow')).toHaveLength(1);
  });

  it('refund of one sale begun on both lanes at once: never more than its amount', async () => {
    const { time, g1, g2 } = await twoLanes();
    const saleId = await approvedSale(g1);
    await time.advance(100);
    await flush();
    const refund = { amount: 600, currency: 'CNY', card: tapCard, kind: 'refund' as const, refundOf: saleId };
    const [a, b] = await Promise.all([g1.begin(refund), g2.begin({ ...refund, card: { token: 'tok_other' } })]);
    expect([a.verdict, b.verdict].filter((v) => v === 'allow')).toHaveLength(1);
  });

  it('external refund (settle refunded with amount) from both lanes at once: never more than the amount', async () => {
    const { time, db, g1, g2 } = await twoLanes();
    const saleId = await approvedSale(g1);
    await time.advance(100);
    await flush();
    const results = await Promise.allSettled([
      g1.settle(saleId, { status: 'refunded', amount: 600 }),
      g2.settle(saleId, { status: 'refunded', amount: 600 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBeLessThanOrEqual(1_000);
  });

  it('an open refund on one lane and an external refund of the rest on the other: never more than the amount', async () => {
    const { time, db, g1, g2 } = await twoLanes();
    const saleId = await approvedSale(g1);
    await time.advance(100);
    await flush();
    const r = await g1.begin({ amount: 600, currency: 'CNY', card: tapCard, kind: 'refund', refundOf: saleId });
    expect(r.verdict).toBe('allow');
    const external = g2.settle(saleId, { status: 'refunded', amount: 600 });
    await expect(external).rejects.toMatchObject({ name: 'GuardStateError' });
    await g1.settle(r.attempt!.id, { status: 'approved' });
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBeLessThanOrEqual(1_000);
  });

  it('approved refund on one lane and external "the rest" on the other at once: sum is the amount', async () => {
    const { time, db, g1, g2 } = await twoLanes();
    const saleId = await approvedSale(g1);
    await time.advance(100);
    await flush();
    const r = await g1.begin({ amount: 600, currency: 'CNY', card: tapCard, kind: 'refund', refundOf: saleId });
    await Promise.allSettled([g1.settle(r.attempt!.id, { status: 'approved' }), g2.settle(saleId, { status: 'refunded' })]);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBeLessThanOrEqual(1_000);
  });

  it('supervisor override of UNKNOWN_OUTCOME tapped on both lanes at once: one fresh attempt', async () => {
    const { time, g1, g2 } = await twoLanes();
    const sale = { amount: 900, currency: 'CNY', card: tapCard };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    await time.advance(100);
    await flush();
    const b1 = await g1.begin(sale);
    const b2 = await g2.begin(sale);
    expect(codes(b1)).toContain('UNKNOWN_OUTCOME');
    expect(codes(b2)).toContain('UNKNOWN_OUTCOME');
    const who = { operator: 'op', reason: 'customer insists', supervisor: 'sup' };
    const results = await Promise.allSettled([g1.override(b1, who), g2.override(b2, who), g1.override(b1, who), g2.override(b2, who)]);
    const allowed = results.filter((r) => r.status === 'fulfilled' && r.value.verdict === 'allow');
    expect(allowed).toHaveLength(1);
  });

  it('DUPLICATE_CHARGE prompt confirmed on both lanes at once: one fresh attempt', async () => {
    const { time, g1, g2 } = await twoLanes();
    const sale = { amount: 800, currency: 'CNY', card: tapCard };
    await approvedSale(g1, 800);
    await time.advance(100);
    await flush();
    const b1 = await g1.begin(sale);
    const b2 = await g2.begin(sale);
    expect(b1.verdict).toBe('prompt');
    expect(b2.verdict).toBe('prompt');
    const who = { operator: 'op', reason: 'buys two' };
    const results = await Promise.allSettled([g1.override(b1, who), g2.override(b2, who)]);
    const allowed = results.filter((r) => r.status === 'fulfilled' && r.value.verdict === 'allow');
    expect(allowed).toHaveLength(1);
  });

  it('recoverNow tapped twice on both lanes: one recover call at a time, one count per try', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const recover = async (): Promise<RecoverAnswer> => {
      calls++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return undefined;
    };
    const { time, g1, g2 } = await twoLanes({ recover, recoverAfter: '1h' });
    const d = await g1.begin({ amount: 500, currency: 'CNY', card: tapCard });
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    await time.advance(100);
    await flush();
    const id = d.attempt!.id;
    const results = await Promise.all([g1.recoverNow(id), g2.recoverNow(id), g1.recoverNow(id), g2.recoverNow(id)]);
    await flush();
    expect(most).toBe(1);
    const a = await g1.get(id);
    expect(a?.status).toBe('unknown');
    // Each call that ran counted as a try.
    const rec = (await g2.attempts({ status: 'unknown' })).find((x) => x.id === id);
    expect(rec).toBeDefined();
    expect(results.flat().length).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(0);
  });

  it('settle approved and voided tapped on two lanes at once: a legal final state', async () => {
    const { time, db, g1, g2 } = await twoLanes();
    const d = await g1.begin({ amount: 400, currency: 'CNY', card: tapCard });
    await time.advance(100);
    await flush();
    const id = d.attempt!.id;
    const res = await Promise.allSettled([
      g1.settle(id, { status: 'approved' }),
      g2.settle(id, { status: 'declined' }),
      g1.settle(id, { status: 'approved' }),
      g2.settle(id, { status: 'declined' }),
    ]);
    const ok = res.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ status: string }>).value.status);
    expect(new Set(ok).size).toBe(1);
    const [row] = await db.remote('observer').get('M1', [id]);
    expect(ok[0]).toBe(row!.record.status);
  });
});

/**
 * atk5: hostile free text through two lanes sharing one history: nothing of
 * a card number reaches the shared rows, the journal sent to the database,
 * `local`, events or error messages.
 */

const PAN = '4111111111111111';
const variants = [
  PAN,
  '4111 1111 1111 1111',
  '4111-1111-1111-1111',
  '4111\u200b1111\u200b1111\u200b1111',
  '４１１１１１１１１１１１１１１１',
];
const leaks = (text: string) => variants.some((v) => text.includes(v)) || /4111\D{0,3}1111\D{0,3}1111\D{0,3}1111/.test(text);

describe('atk5: hostile text across lanes', () => {
  it('operator, reason, supervisor, order id, processor message, recover error: no card number anywhere', async () => {
    const { time, db, open } = lanes();
    const local2 = memoryStore();
    const seen: string[] = [];
    const recover = async (): Promise<RecoverAnswer> => {
      throw new Error(`processor said: card ${variants[1]} exp 12/29 cvv 123 \u0000\u001b[31m`);
    };
    const g1 = await open(time.terminal(), 'T1', { authorize: () => true, recover, recoverAfter: '1s' });
    const t2 = time.terminal();
    const g2 = await open(t2, 'T2', {
      authorize: () => true,
      store: sharedStore(db.remote('T2'), { local: local2 }),
      recover,
      recoverAfter: '1s',
    });
    for (const g of [g1, g2]) {
      for (const type of [
        'decision',
        'override',
        'settle',
        'resume',
        'storage-error',
        'conflict',
        'recover',
        'recovery-exhausted',
        'late-answer',
      ] as const) {
        g.on(type, (e: unknown) => seen.push(JSON.stringify(e)));
      }
    }
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_hostile' } };
    for (const [i, v] of variants.entries()) {
      const d = await g1.begin({ ...sale, amount: 1_000 + i, operator: `op ${v}` }).catch((e: Error) => {
        seen.push(e.message);
        return undefined;
      });
      if (d?.attempt) {
        await g1
          .settle(d.attempt.id, { status: 'declined', message: `Declined: card ${v} exp 12/29`, code: `${v}` })
          .catch((e: Error) => seen.push(e.message));
      }
      await g2.begin({ ...sale, amount: 2_000 + i, orderId: `order-${v}` }).catch((e: Error) => seen.push(e.message));
    }
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'unknown', message: `timeout ${PAN}` });
    await time.advance(100);
    await flush();
    const b = await g2.begin(sale);
    expect(b.verdict).toBe('block');
    for (const v of variants) {
      await g2
        .override(b, { operator: `op ${v}`, reason: `customer ${v} insists ${'x'.repeat(100_000)}`, supervisor: `sup ${v}` })
        .catch((e: Error) => seen.push(e.message));
    }
    db.disconnect('T2');
    await g2.begin({ ...sale, amount: 3_000, operator: `cut ${PAN}` }).catch((e: Error) => seen.push(e.message));
    await time.advance(10_000);
    db.reconnect('T2');
    await time.advance(10_000);
    await flush();
    const rows = await db.remote('observer').load('M1', undefined);
    const text = [
      JSON.stringify(rows),
      JSON.stringify(db.journal('M1')),
      JSON.stringify(await local2.load()),
      JSON.stringify(await g1.attempts()),
      JSON.stringify(await g2.attempts()),
      ...seen,
    ].join('\n');
    expect(text).toContain('removed]');
    expect(seen.some((s) => s.includes('"recover"'))).toBe(true);
    expect(leaks(text)).toBe(false);
  });
});
