import { describe, expect, it } from 'vitest';
import { GuardStateError } from '../../src/index.js';
import { DAY, MINUTE, SECOND, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

describe('resume', () => {
  it('puts an unknown attempt back to pending with the same id and idempotency key, persisted', async () => {
    const store = spyStore();
    const { guard, clock, events } = await testGuard({ store });
    const { attempt } = await guard.begin(sale());
    if (!attempt) throw new Error('expected an allow');
    await attempt.markUnknown({ message: 'network error' });
    clock.advance(40 * SECOND);

    const resumed = await guard.resume(attempt.id);
    expect(resumed).toMatchObject({ id: attempt.id, idempotencyKey: attempt.idempotencyKey, status: 'pending' });
    expect(await guard.get(attempt.id)).toMatchObject({ status: 'pending', pendingSince: clock.wall, createdAt: clock.wall - 40 * SECOND });
    expect(store.puts.at(-1)).toMatchObject({ id: attempt.id, status: 'pending', idempotencyKey: attempt.idempotencyKey });
    expect(events.at(-1)).toMatchObject({ type: 'resume', record: { id: attempt.id, status: 'pending' } });
    await flush();
    expect(store.journal().at(-1)).toMatchObject({ type: 'resume', attemptId: attempt.id, from: 'unknown', to: 'pending' });
  });

  it('makes the attempt IN_FLIGHT-blocking again, and it settles like any pending', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.markUnknown();
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
    const resumed = await guard.resume(attempt?.id ?? '');
    const d = await guard.peek(sale());
    expect(d.verdict).toBe('block');
    expect(d.reasons.map((r) => [r.code, r.attemptId])).toEqual([['IN_FLIGHT', attempt?.id]]);
    await resumed.approve();
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });

  it.each(['pending', 'approved', 'declined', 'cancelled', 'voided', 'refunded'] as const)(
    'refuses a %s attempt with GuardStateError',
    async (status) => {
      const store = spyStore();
      const { guard } = await testGuard({ store });
      const { attempt } = await guard.begin(sale());
      if (!attempt) throw new Error('expected an allow');
      const path = {
        pending: [],
        approved: ['approved'],
        declined: ['declined'],
        cancelled: ['cancelled'],
        voided: ['approved', 'voided'],
        refunded: ['approved', 'refunded'],
      } as const;
      for (const step of path[status]) await guard.settle(attempt.id, { status: step });
      const before = { record: await guard.get(attempt.id), puts: store.puts.length };

      expect(await thrown(() => guard.resume(attempt.id))).toBeInstanceOf(GuardStateError);
      expect({ record: await guard.get(attempt.id), puts: store.puts.length }).toEqual(before);
    },
  );

  it('refuses an unknown attempt id with GuardStateError', async () => {
    const { guard } = await testGuard();
    expect(await thrown(() => guard.resume('att_missing'))).toBeInstanceOf(GuardStateError);
  });

  it('a resume near the 7-day limit is not pruned while its charge is in flight', async () => {
    const { guard, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.markUnknown();
    clock.advance(7 * DAY - MINUTE);
    const resumed = await guard.resume(attempt?.id ?? '');
    expect(resumed.status).toBe('pending');
    clock.advance(MINUTE);
    expect((await guard.begin(sale())).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    expect((await resumed.approve()).status).toBe('approved');
  });

  it('refuses to resume a refund while another refund of the same sale, on another card, is pending', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const { attempt: original } = await guard.begin(sale({ amount: 10000 }));
    await original?.approve();
    const first = (await guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: original?.id }))).attempt;
    await first?.markUnknown({ message: 'system error' });
    // A supervisor let a second refund of the sale through, on a tapped card.
    const held = await guard.begin(sale({ amount: 2000, kind: 'refund', refundOf: original?.id, card: { token: 'tok_tap' } }));
    const second = await guard.override(held, { operator: 'o', reason: 'another item returned', supervisor: 'sup-1' });
    expect(second.verdict).toBe('allow');
    // Resuming the first would put two refunds of one sale in flight at once.
    await expect(guard.resume(first?.id as string)).rejects.toMatchObject({ name: 'GuardStateError', code: 'IN_FLIGHT' });
    expect((await guard.get(first?.id as string))?.status).toBe('unknown');
    await second.attempt?.approve();
    await expect(guard.resume(first?.id as string)).resolves.toMatchObject({ status: 'pending' });
  });
});

describe('resume is judged by the rules, as a new begin of the sale would be', () => {
  const SUPERVISOR = { operator: 'amy', reason: 'processor shows no charge', supervisor: 'sup-1' };

  it("is refused once the supervisor's overriding attempt was approved: resuming would charge twice", async () => {
    const { guard, store } = await testGuard({ authorize: () => true });
    const x = (await guard.begin(sale({ orderId: 'ORD-9' }))).attempt;
    await x?.markUnknown();
    const y = await guard.override(await guard.begin(sale({ orderId: 'ORD-9' })), SUPERVISOR);
    expect(y.verdict).toBe('allow');
    await expect(guard.resume(x?.id ?? '')).rejects.toMatchObject({ name: 'GuardStateError', code: 'IN_FLIGHT' });
    await y.attempt?.approve();
    const refused = await thrown(() => guard.resume(x?.id ?? ''));
    expect(refused).toBeInstanceOf(GuardStateError);
    expect(refused).toMatchObject({ code: 'ORDER_ALREADY_PAID', field: 'attemptId' });
    expect((refused as Error).message).toContain(y.attempt?.id);
    expect(await guard.get(x?.id ?? '')).toMatchObject({ status: 'unknown' });
    await flush();
    expect(store.journal().filter((e) => e.type === 'resume')).toEqual([]);
  });

  it('is refused with DUPLICATE_CHARGE when an earlier attempt of the sale was found approved since', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const w = (await guard.begin(sale())).attempt;
    await w?.markUnknown();
    const x = await guard.override(await guard.begin(sale()), SUPERVISOR);
    await x.attempt?.markUnknown();
    await w?.approve(); // the processor's records show the first one went through
    await expect(guard.resume(x.attempt?.id ?? '')).rejects.toMatchObject({ code: 'DUPLICATE_CHARGE' });
  });

  it('is allowed for a confirmed repeat purchase: what its override lifted before it began still stands lifted', async () => {
    const { guard } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    const x = await guard.override(await guard.begin(sale()), { operator: 'amy', reason: 'second ticket' });
    await x.attempt?.markUnknown();
    expect((await guard.resume(x.attempt?.id ?? '')).status).toBe('pending');
  });
});
