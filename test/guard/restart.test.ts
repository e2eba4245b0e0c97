import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileStore } from '../../src/node.js';
import {
  GuardConfigError,
  GuardStateError,
  createGuard,
  memoryStore,
  type AttemptRecord,
  type Decision,
  type GuardOptions,
  type GuardStore,
  type MemoryStore,
} from '../../src/index.js';
import { DAY, HOUR, MINUTE, ManualClock, SECRET, flush, recordEvents, sale, testGuard, thrown } from '../helpers/guard.js';

/** A new process over the same store: the old guard is dropped without close(), as after a crash. */
async function restart(store: MemoryStore, clock: ManualClock, options: Partial<GuardOptions> = {}) {
  const next = clock.afterRestart();
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: next, ...options });
  return { guard, clock: next };
}

describe('start-up hydration', () => {
  it('reports a pending record left by a crashed process as unknown, and blocks its sale with UNKNOWN_OUTCOME', async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt } = await guard.begin(sale());
    clock.advance(5 * 1000);

    const after = await restart(store, clock);
    expect(await after.guard.get(attempt?.id ?? '')).toMatchObject({ status: 'unknown', idempotencyKey: attempt?.idempotencyKey });
    expect((await after.guard.attempts({ status: 'unknown' })).map((r) => r.id)).toEqual([attempt?.id]);
    const d = await after.guard.begin(sale());
    expect(d.verdict).toBe('block');
    expect(d.reasons.map((r) => [r.code, r.attemptId])).toEqual([['UNKNOWN_OUTCOME', attempt?.id]]);

    // It can be reconciled, or resumed with its idempotency key, by id, after the restart.
    const resumed = await after.guard.resume(attempt?.id ?? '');
    expect(resumed.idempotencyKey).toBe(attempt?.idempotencyKey);
    expect((await resumed.approve()).status).toBe('approved');
  });

  it('keeps approved history: the same sale after a restart is a DUPLICATE_CHARGE', async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt } = await guard.begin(sale({ orderId: 'ORD-1' }));
    await attempt?.approve({ authCode: 'A1' });
    clock.advance(MINUTE);

    const after = await restart(store, clock);
    expect(await after.guard.get(attempt?.id ?? '')).toMatchObject({ status: 'approved', authCode: 'A1' });
    const d = await after.guard.peek(sale({ orderId: 'ORD-1' }));
    expect(d.reasons.map((r) => r.code).sort()).toEqual(['DUPLICATE_CHARGE', 'ORDER_ALREADY_PAID']);
  });

  it('settles by id after a restart', async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    const after = await restart(store, clock);
    expect((await after.guard.settle(attempt?.id ?? '', { status: 'voided' })).status).toBe('voided');
    expect((await store.load()).find((r) => r.id === attempt?.id)?.status).toBe('voided');
  });

  it('prunes settled records past retention at start-up and deletes them from the store', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    const old = (await guard.begin(sale({ amount: 1 }))).attempt;
    await old?.approve();
    const declined = (await guard.begin(sale({ amount: 2 }))).attempt;
    await declined?.decline();
    clock.advance(12 * HOUR);
    const recent = (await guard.begin(sale({ amount: 3 }))).attempt;
    await recent?.approve();

    clock.advance(12 * HOUR + 1);
    const after = await restart(store, clock, { retention: '24h' });
    expect((await after.guard.attempts()).map((r) => r.id)).toEqual([recent?.id]);
    await flush();
    expect((await store.load()).map((r) => r.id)).toEqual([recent?.id]);
    expect(
      store
        .journal()
        .filter((e) => e.type === 'start')
        .at(-1)?.detail,
    ).toContain('pruned 2');
    // The pruned approved sale no longer makes its sale a duplicate.
    expect(await after.guard.peek(sale({ amount: 1 }))).toMatchObject({ verdict: 'allow', reasons: [] });
  });

  // Start-up files records straight into the expiry queues when the store
  // returns them in deadline order, and sorts them first when it does not.
  it.each([
    ['in write order', (records: AttemptRecord[]) => records],
    ['in reverse order', (records: AttemptRecord[]) => [...records].reverse()],
  ])('prunes each settled record at its own deadline, whatever order the store returns them %s', async (_, order) => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    const ids: string[] = [];
    for (const amount of [1, 2, 3]) {
      const { attempt } = await guard.begin(sale({ amount }));
      await attempt?.approve();
      ids.push(attempt?.id ?? '');
      clock.advance(HOUR);
    }
    const reordered: MemoryStore = { ...store, load: async () => order(await store.load()) };
    // Settled at 0h, 1h and 2h: past retention at 24h, 25h and 26h. Now: 23h30.
    clock.advance(20 * HOUR + 30 * MINUTE);
    const after = await restart(reordered, clock, { retention: '24h' });
    expect((await after.guard.attempts()).map((r) => r.id).sort()).toEqual([...ids].sort());

    after.clock.advance(HOUR);
    await after.guard.peek(sale({ amount: 9 }));
    expect((await after.guard.attempts()).map((r) => r.id).sort()).toEqual(ids.slice(1).sort());
    after.clock.advance(HOUR);
    await after.guard.peek(sale({ amount: 9 }));
    expect((await after.guard.attempts()).map((r) => r.id)).toEqual(ids.slice(2));
  });
  it('keeps unknown records past retention, up to 7 days, then prunes them and says so', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    const { attempt } = await guard.begin(sale());
    await attempt?.markUnknown();

    clock.advance(7 * DAY - 1);
    const first = await restart(store, clock, { retention: '24h' });
    expect((await first.guard.attempts({ status: 'unknown' })).map((r) => r.id)).toEqual([attempt?.id]);
    expect((await first.guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);

    // Within the running process: the 7 days run out, the next operation prunes it with a 'prune' event.
    const events = recordEvents(first.guard);
    first.clock.advance(1);
    expect(await first.guard.attempts()).toEqual([]);
    expect(events.filter((e) => e.type === 'prune')).toEqual([{ type: 'prune', attemptId: attempt?.id, status: 'unknown' }]);
    await flush();
    expect(await store.load()).toEqual([]);
    expect(
      store
        .journal()
        .filter((e) => e.type === 'prune')
        .map((e) => e.attemptId),
    ).toEqual([attempt?.id]);
  });

  it('prunes a 7-day-old unknown at start-up and journals the prune', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    const { attempt } = await guard.begin(sale());
    clock.advance(7 * DAY);
    const after = await restart(store, clock, { retention: '24h' });
    expect(await after.guard.attempts()).toEqual([]);
    expect(await after.guard.peek(sale())).toMatchObject({ verdict: 'allow', reasons: [] });
    await flush();
    expect(await store.load()).toEqual([]);
    expect(store.journal().filter((e) => e.type === 'prune')).toEqual([expect.objectContaining({ attemptId: attempt?.id })]);
  });

  it('reports what start-up pruned to a listener attached right after createGuard resolves (SPEC §4), once, and to no listener attached later', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    const { attempt } = await guard.begin(sale());
    clock.advance(7 * DAY);
    const after = await restart(store, clock, { retention: '24h' });
    const heard: unknown[] = [];
    after.guard.on('prune', (event) => heard.push(event));
    await flush();
    expect(heard).toEqual([{ type: 'prune', attemptId: attempt?.id, status: 'unknown' }]);
    // Once the app's next turn has come, start-up's events are gone: a listener attached later hears only what happens next.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late: unknown[] = [];
    after.guard.on('prune', (event) => late.push(event));
    await flush();
    expect(late).toEqual([]);
    expect(heard).toHaveLength(1);
  });
});

describe('open refunds across a restart', () => {
  it('a refund in flight at a crash holds back a retry of the refund on another card after the restart', async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt: original } = await guard.begin(sale({ amount: 10000 }));
    await original?.approve();
    const { attempt: refund } = await guard.begin(sale({ amount: 10000, kind: 'refund', refundOf: original?.id }));
    clock.advance(5 * 1000);

    const after = await restart(store, clock);
    expect(await after.guard.get(refund?.id ?? '')).toMatchObject({ status: 'unknown' });
    const retry = await after.guard.begin(sale({ amount: 5000, kind: 'refund', refundOf: original?.id, card: { token: 'tok_tapped' } }));
    expect(retry.verdict).toBe('block');
    expect(retry.reasons.map((r) => [r.code, r.attemptId]).sort()).toEqual([
      ['REFUND_EXCEEDS_CHARGE', original?.id],
      ['UNKNOWN_OUTCOME', refund?.id],
    ]);
  });
});

describe('retention in a running process', () => {
  it('drops settled records once retention has passed, from the index and the store', async () => {
    const { guard, store, clock, events } = await testGuard({ retention: '24h', window: '10m' });
    const approved = (await guard.begin(sale({ orderId: 'ORD-1' }))).attempt;
    await approved?.approve();
    const declined = (await guard.begin(sale({ amount: 7 }))).attempt;
    await declined?.decline();

    clock.advance(24 * HOUR - 1);
    expect((await guard.peek(sale({ orderId: 'ORD-1' }))).reasons.map((r) => r.code)).toEqual(['ORDER_ALREADY_PAID']);
    expect(await guard.attempts()).toHaveLength(2);

    clock.advance(1);
    expect(await guard.peek(sale({ orderId: 'ORD-1' }))).toMatchObject({ verdict: 'allow', reasons: [] });
    expect(await guard.attempts()).toEqual([]);
    expect(await guard.get(approved?.id ?? '')).toBeUndefined();
    await flush();
    expect(await store.load()).toEqual([]);
    // Settled records leave quietly; only unreconciled ones are reported.
    expect(events.filter((e) => e.type === 'prune')).toEqual([]);
  });
});

describe('secret changes', () => {
  it('over a fileStore, after close and a compaction: SECRET_CHANGED, and the history is still on disk (SPEC §5)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-secret-'));
    const path = join(dir, 'attempts.jsonl');
    const clock = new ManualClock();
    const first = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(path), clock });
    const { attempt } = await first.begin(sale());
    await attempt?.approve();
    await first.close();
    const compacting = fileStore(path);
    const owner = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: compacting, clock: clock.afterRestart() });
    await compacting.compact();
    await owner.close();
    const error = await thrown(() =>
      createGuard({ merchantId: 'M-0001', secret: 'another-secret-0123456789abcdef', store: fileStore(path), clock: clock.afterRestart() }),
    );
    expect(error).toBeInstanceOf(GuardConfigError);
    expect(error).toHaveProperty('code', 'SECRET_CHANGED');
    const again = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(path), clock: clock.afterRestart() });
    expect(await again.get(attempt?.id ?? '')).toMatchObject({ status: 'approved' });
    await again.close();
  });

  it('rejects SECRET_CHANGED instead of silently starting without history', async () => {
    const { guard, store, clock } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    const error = await thrown(() => restart(store, clock, { secret: 'another-secret-0123456789abcdef' }));
    expect(error).toBeInstanceOf(GuardConfigError);
    expect(error).toHaveProperty('code', 'SECRET_CHANGED');
    // The store is untouched, and the running guard still owns it.
    expect(await store.load()).toHaveLength(1);
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });

  it('accepts the same secret given as bytes', async () => {
    const { guard, store, clock } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    const after = await restart(store, clock, { secret: new TextEncoder().encode(SECRET) });
    expect((await after.guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });

  it('with resetOnSecretChange: true, starts an empty history under the new secret', async () => {
    const { guard, store, clock } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    const newSecret = 'another-secret-0123456789abcdef';
    const after = await restart(store, clock, { secret: newSecret, resetOnSecretChange: true });
    expect(await after.guard.attempts()).toEqual([]);
    expect(await store.load()).toEqual([]);
    expect(await after.guard.peek(sale())).toMatchObject({ verdict: 'allow', reasons: [] });
    // The new secret is now the store's: a later restart with it has no complaint.
    await (await after.guard.begin(sale())).attempt?.approve();
    const again = await restart(store, after.clock, { secret: newSecret });
    expect((await again.guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });
});

describe('ownership and close', () => {
  it("a second guard over the same store takes over; the first one's calls throw TAKEN_OVER", async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt } = await guard.begin(sale());
    const held = await guard.begin(sale({ kind: 'refund', refundOf: 'att_unknown' }));
    const second = await restart(store, clock);

    const calls: [string, () => Promise<unknown>][] = [
      ['begin', () => guard.begin(sale({ amount: 5 }))],
      ['peek', () => guard.peek(sale())],
      ['settle', () => guard.settle(attempt?.id ?? '', { status: 'approved' })],
      ['resume', () => guard.resume(attempt?.id ?? '')],
      ['get', () => guard.get(attempt?.id ?? '')],
      ['attempts', () => guard.attempts()],
      ['charge', () => guard.charge(sale({ amount: 6 }), async () => ({ approved: true }))],
      ['override', () => guard.override(held, { operator: 'o', reason: 'r' })],
    ];
    for (const [name, call] of calls) {
      const error = await thrown(call);
      expect(error, name).toBeInstanceOf(GuardStateError);
      expect(error, name).toHaveProperty('code', 'TAKEN_OVER');
    }
    // Nothing the fenced guard tried reached the store.
    expect(held.verdict).toBe('prompt');
    expect((await store.load()).map((r) => [r.id, r.status])).toEqual([[attempt?.id, 'pending']]);
    expect(await second.guard.get(attempt?.id ?? '')).toMatchObject({ status: 'unknown' });
  });

  it('a takeover fences before it loads: a sale begun on the old guard meanwhile is refused or seen, never allowed twice', async () => {
    // Try every point of the new guard's start-up: the old guard begins the
    // same sale after `ticks` microtask turns.
    const stores: [string, () => GuardStore][] = [
      ['memoryStore', () => memoryStore()],
      ['fileStore', () => fileStore(join(mkdtempSync(join(tmpdir(), 'pdg-takeover-')), 'guard.jsonl'))],
    ];
    for (const [kind, makeStore] of stores) {
      for (let ticks = 0; ticks < 40; ticks++) {
        const { guard, store, clock } = await testGuard({ store: makeStore() });
        const starting = createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart() });
        for (let i = 0; i < ticks; i++) await Promise.resolve();
        const old = await guard.begin(sale()).catch((error: unknown) => error);
        const fresh = await starting;
        const again = await fresh.begin(sale());
        if (old instanceof GuardStateError) expect(old.code).toBe('TAKEN_OVER');
        else {
          expect({ kind, ticks, old: (old as Decision).verdict, again: again.verdict }).toEqual({
            kind,
            ticks,
            old: 'allow',
            again: 'block',
          });
        }
        await fresh.close();
      }
    }
  });

  it('after close(), every call throws GuardStateError CLOSED', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    const held = await guard.begin(sale());
    await guard.close();
    await guard.close(); // idempotent
    for (const call of [
      () => guard.begin(sale({ amount: 5 })),
      () => guard.peek(sale({ amount: 5 })),
      () => guard.charge(sale({ amount: 5 }), async () => ({ approved: true })),
      () => guard.override(held, { operator: 'o', reason: 'r' }),
      () => guard.settle(attempt?.id ?? '', { status: 'approved' }),
      () => guard.resume(attempt?.id ?? ''),
      () => guard.get(attempt?.id ?? ''),
      () => guard.attempts(),
    ]) {
      const error = await thrown(call);
      expect(error).toBeInstanceOf(GuardStateError);
      expect(error).toHaveProperty('code', 'CLOSED');
    }
  });

  it('close() waits for writes, and a guard can be created over the store again', async () => {
    const { guard, store, clock } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    await guard.close();
    const after = await restart(store, clock);
    expect(await after.guard.get(attempt?.id ?? '')).toMatchObject({ status: 'approved' });
  });
});

describe('records a store hands back are checked, not trusted', () => {
  it('skips a malformed record at start-up and reports it in the start journal line', async () => {
    const store = memoryStore();
    const first = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    await (await first.begin(sale())).attempt?.approve();
    await store.put({ v: 1, id: 'broken', status: 'approved' } as unknown as AttemptRecord);
    const again = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    expect(await again.get('broken')).toBeUndefined();
    expect((await again.attempts()).length).toBe(1);
    await flush();
    const start = store
      .journal()
      .filter((e) => e.type === 'start')
      .at(-1);
    expect(start?.detail).toMatch(/skipped record broken: no fingerprint/);
  });
});
