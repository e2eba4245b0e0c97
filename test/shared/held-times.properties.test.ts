/**
 * Two lanes on one shared database, random interleavings of begin, settle,
 * resume, refund, recover, restarts and clock corrections on either lane: an
 * attempt's createdAt, and its approvedAt once set, never move on the
 * database's clock, whichever lane rewrites it and under whatever skew.
 * HELD_RUNS, HELD_SEED, HELD_STEPS.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Guard, RecoverAnswer } from '../../src/index.js';
import type { TerminalTime } from '../../src/scenarios/virtual-time.js';
import { lanes as sharedLanes } from '../helpers/lanes.js';

const RUNS = Number(process.env.HELD_RUNS ?? 60);
const STEPS = Number(process.env.HELD_STEPS ?? 40);
const SEED = process.env.HELD_SEED === undefined ? undefined : Number(process.env.HELD_SEED);
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

type Op =
  | { a: 'begin'; lane: number; sale: number }
  | { a: 'settle'; lane: number; pick: number; status: 'approved' | 'declined' | 'unknown' }
  | { a: 'resume'; lane: number; pick: number }
  | { a: 'refund'; lane: number; pick: number }
  | { a: 'advance'; ms: number }
  | { a: 'jump'; lane: number; ms: number }
  | { a: 'answer'; approved: boolean }
  | { a: 'restart'; lane: number };

const lane = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ a: fc.constant('begin' as const), lane, sale: fc.integer({ min: 0, max: 2 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      a: fc.constant('settle' as const),
      lane,
      pick: fc.nat(),
      status: fc.constantFrom('approved' as const, 'declined' as const, 'unknown' as const),
    }),
  },
  fc.record({ a: fc.constant('resume' as const), lane, pick: fc.nat() }),
  fc.record({ a: fc.constant('refund' as const), lane, pick: fc.nat() }),
  fc.record({ a: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 30_000 }) }),
  fc.record({
    a: fc.constant('jump' as const),
    lane,
    ms: fc.oneof(fc.integer({ min: -600_000, max: -2_000 }), fc.integer({ min: 2_000, max: 600_000 })),
  }),
  fc.record({ a: fc.constant('answer' as const), approved: fc.boolean() }),
  fc.record({ a: fc.constant('restart' as const), lane }),
);

async function run(ops: readonly Op[]): Promise<void> {
  const { time, db, open: openLane } = sharedLanes();
  const answers: ((a: RecoverAnswer) => void)[] = [];
  const open = (t: TerminalTime, id: string): Promise<Guard> =>
    openLane(t, id, { recoverAfter: '5s', recover: () => new Promise<RecoverAnswer>((resolve) => answers.push(resolve)) });
  const terminals = [time.terminal(), time.terminal()];
  const guards = [await open(terminals[0]!, 'T1'), await open(terminals[1]!, 'T2')];
  const ids: string[] = [];
  // Any lane settles, resumes and refunds any attempt, whether or not it has read it yet.
  const created = new Map<string, number>();
  const approved = new Map<string, number>();
  const sales = [0, 1, 2].map((i) => ({ amount: 1_000 + i, currency: 'CNY', card: { token: `tok_${i}` } }));
  for (const op of ops) {
    const pick = 'pick' in op && ids.length > 0 ? ids[op.pick % ids.length]! : undefined;
    const g = 'lane' in op ? guards[op.lane]! : guards[0]!;
    try {
      if (op.a === 'begin') {
        const d = await g.begin(sales[op.sale]!);
        if (d.attempt) ids.push(d.attempt.id);
      } else if (op.a === 'settle' && pick && !approved.has(pick)) {
        // An approval settled again (a lane that had not heard of it) is a new approval: not what is checked here.
        await g.settle(pick, op.status === 'declined' ? { status: 'declined' } : { status: op.status, authCode: '123456' });
      } else if (op.a === 'resume' && pick) {
        await g.resume(pick);
      } else if (op.a === 'refund' && pick) {
        const d = await g.begin({ amount: 1, currency: 'CNY', card: { token: 'tok_r' }, kind: 'refund', refundOf: pick });
        if (d.attempt) ids.push(d.attempt.id);
      } else if (op.a === 'advance') {
        await time.advance(op.ms);
      } else if (op.a === 'jump') {
        terminals[op.lane]!.jump(op.ms);
      } else if (op.a === 'restart') {
        for (const resolve of answers.splice(0)) resolve(undefined);
        await g.close();
        terminals[op.lane]!.restart();
        guards[op.lane] = await open(terminals[op.lane]!, op.lane === 0 ? 'T1' : 'T2');
      } else if (op.a === 'answer') {
        answers.shift()?.(op.approved ? { status: 'approved', authCode: '654321' } : undefined);
      }
    } catch (error) {
      if (!(error instanceof Error) || !('code' in error)) throw error;
    }
    // A millisecond at least between two steps: two stamps of one attempt on two clocks (a jump
    // between them) at one database millisecond would share a database time (HeldTimes pairs by value).
    await time.advance(1);
    await flush();
    for (const row of await db.remote('observer').load('M1', undefined)) {
      const { id } = row.record;
      const createdAt = row.record.createdAt + row.skew;
      expect(created.get(id) ?? createdAt, `${id} createdAt`).toBe(createdAt);
      created.set(id, createdAt);
      if (row.record.approvedAt !== undefined) {
        const approvedAt = row.record.approvedAt + row.skew;
        expect(approved.get(id) ?? approvedAt, `${id} approvedAt`).toBe(approvedAt);
        approved.set(id, approvedAt);
      }
    }
  }
  for (const resolve of answers) resolve(undefined);
  await Promise.all(guards.map((x) => x.close()));
}

describe('HeldTimes over random interleavings on two lanes', () => {
  it("an attempt's createdAt and approvedAt never move on the database's clock", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: STEPS }), (ops) => run(ops)),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  }, 120_000);
});
