import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type AttemptRecord, type Guard, type GuardStore, type Sale } from '../../../src/index.js';
import { fileStore, type FileStore } from '../../../src/node.js';
import { staysFiled } from '../../../src/claims.js';
import { MASTERCARD, ManualClock, SECRET, VISA } from '../../helpers/guard.js';

/*
 * The same stream of guard calls, with restarts and compactions, over a
 * memoryStore and over a fileStore. Every answer must be the same, and what
 * the fileStore reads by id and by order (hot lines, cold lines, the log)
 * must be what the memoryStore holds.
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pdg-diff-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const DT = [1_000, 5 * 60_000, 11 * 60_000, 2 * 3_600_000, 20 * 3_600_000, 25 * 3_600_000, 8 * 86_400_000];
const op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('begin' as const),
      amount: fc.constantFrom(100, 200),
      card: fc.constantFrom(VISA, MASTERCARD),
      order: fc.constantFrom(undefined, 'O1', 'O2'),
      total: fc.constantFrom(undefined, undefined, 300),
      refundOf: fc.option(fc.nat(4), { nil: undefined }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      n: fc.nat(4),
      status: fc.constantFrom('approved', 'approved', 'declined', 'unknown', 'cancelled', 'voided', 'refunded'),
      amount: fc.option(fc.constantFrom(50, 100), { nil: undefined }),
      message: fc.constantFrom(undefined, 'Do not honor "05"', '余额不足'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), n: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), n: fc.nat(4) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), dt: fc.constantFrom(...DT) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('attempts' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

interface Side {
  guard: Guard;
  ids: string[];
  make: () => GuardStore;
  retention: string;
  /** The file side's current store: compacted on demand, and read by id. */
  file?: FileStore;
}

let runNo = 0;

async function outcome(f: () => Promise<unknown>): Promise<unknown> {
  try {
    return await f();
  } catch (error) {
    return { error: (error as Error).name, code: (error as { code?: string }).code };
  }
}

function normal(side: Side, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  const name = (id: string | undefined) => (id !== undefined && side.ids.includes(id) ? `#${side.ids.indexOf(id)}` : id);
  if (typeof value === 'object' && 'verdict' in value) {
    const d = value as { verdict: string; reasons: { code: string; attemptId?: string }[]; attempt?: { id: string } };
    return {
      verdict: d.verdict,
      reasons: d.reasons
        .filter((r) => r.code !== 'CLOCK_ANOMALY')
        .map((r) => `${r.code}${r.attemptId ? name(r.attemptId) : ''}`)
        .sort(),
    };
  }
  if (typeof value === 'object' && 'fingerprint' in value) {
    const r = value as AttemptRecord;
    return {
      ...r,
      id: name(r.id),
      idempotencyKey: name(r.idempotencyKey),
      refundOf: name(r.refundOf),
      // A refund made outside the guard is listed under a random id of its own, drawn by each side.
      refunds: r.refunds?.map((x, k) => ({ ...x, id: x.id.startsWith('external:') ? `external:#${k}` : name(x.id) })),
      fingerprint: 'fp',
    };
  }
  return value;
}

async function step(side: Side, o: Op, clock: () => ManualClock): Promise<unknown> {
  const { guard, ids } = side;
  switch (o.kind) {
    case 'begin': {
      const sale: Sale = { amount: o.amount, currency: 'CNY', card: { pan: o.card } };
      if (o.order) sale.orderId = o.order;
      if (o.total) sale.orderTotal = o.total;
      if (o.refundOf !== undefined) {
        sale.kind = 'refund';
        sale.refundOf = ids[o.refundOf] ?? 'pdg_none';
      }
      const d = await outcome(() => guard.begin(sale));
      const attempt = (d as { attempt?: { id: string } }).attempt;
      if (attempt) ids.push(attempt.id);
      return normal(side, d);
    }
    case 'settle': {
      const id = ids[o.n];
      if (!id) return 'none';
      const outcomeArg =
        o.status === 'refunded'
          ? { status: 'refunded' as const, ...(o.amount ? { amount: o.amount } : {}) }
          : { status: o.status as 'declined', ...(o.message ? { message: o.message } : {}) };
      return normal(side, await outcome(() => guard.settle(id, outcomeArg)));
    }
    case 'resume': {
      const id = ids[o.n];
      if (!id) return 'none';
      const r = await outcome(() => guard.resume(id));
      return (r as { error?: string }).error ? r : 'resumed';
    }
    case 'get': {
      const id = ids[o.n];
      if (!id) return 'none';
      return normal(side, await guard.get(id));
    }
    case 'advance':
      return 'ok';
    case 'compact':
      await side.file?.compact();
      return 'ok';
    case 'attempts':
      return (await guard.attempts())
        .map((r) => normal(side, r))
        .sort((x, y) => String((x as AttemptRecord).id).localeCompare(String((y as AttemptRecord).id)));
    case 'restart': {
      await guard.close();
      side.guard = await createGuard({
        merchantId: 'M-0001',
        secret: SECRET,
        retention: side.retention,
        store: side.make(),
        clock: clock(),
      });
      return 'ok';
    }
  }
}

describe('a guard over a fileStore answers as one over a memoryStore', () => {
  it('same decisions, settles, gets and final attempts, across restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.constantFrom('2h', '24h'), async (ops, retention) => {
        const path = join(root, `g${runNo++}.jsonl`);
        let clock = new ManualClock();
        const mem = memoryStore();
        const a: Side = {
          guard: await createGuard({ merchantId: 'M-0001', secret: SECRET, retention, store: mem, clock }),
          ids: [],
          make: () => mem,
          retention,
        };
        const b: Side = { guard: undefined as unknown as Guard, ids: [], make: () => (b.file = fileStore(path)), retention };
        b.guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, retention, store: b.make(), clock });
        const log: string[] = [];
        try {
          for (const o of ops) {
            if (o.kind === 'advance') clock.advance(o.dt);
            if (o.kind === 'restart') clock = clock.afterRestart();
            const ra = await step(a, o, () => clock);
            const rb = await step(b, o, () => clock);
            log.push(JSON.stringify(o));
            expect(rb, log.join('\n')).toEqual(ra);
            // The store's history, read by id and by order (hot, cold or in the log), is what the memoryStore holds.
            const held = new Map((await mem.load()).map((r) => [r.id, r]));
            for (const [i, id] of b.ids.entries()) {
              expect(normal(b, await b.file?.get(id)), log.join('\n')).toStrictEqual(normal(a, held.get(a.ids[i] as string)));
            }
            for (const order of ['O1', 'O2']) {
              const live = [...held.values()]
                .filter((r) => r.orderId === order && staysFiled(r))
                .map((r) => `#${a.ids.indexOf(r.id)}`)
                .sort();
              expect(((await b.file?.byOrder('M-0001', order)) ?? []).map((r) => `#${b.ids.indexOf(r.id)}`).sort(), log.join('\n')).toEqual(
                live,
              );
            }
          }
          const all = async (s: Side) =>
            (await s.guard.attempts())
              .map((r) => normal(s, r))
              .sort((x, y) => String((x as AttemptRecord).id).localeCompare(String((y as AttemptRecord).id)));
          expect(await all(b), log.join('\n')).toEqual(await all(a));
        } finally {
          await a.guard.close();
          await b.guard.close();
        }
      }),
      { numRuns: 800 },
    );
  }, 120_000);
});
