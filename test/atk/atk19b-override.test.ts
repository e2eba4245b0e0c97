/**
 * atk19b: the supervisor override of a block tapped twice at once, twice in
 * a row, and on a decision gone stale (pins: these held).
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred } from '../helpers/guard.js';

const SECRET = 'atk19b-override-secret-0123456789abcdef';
const sale = { amount: 6_600, currency: 'CNY', card: { token: 'tok-19b-over' } };

async function blocked(authorize: () => boolean | Promise<boolean>) {
  const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
  const guard = await createGuard({
    merchantId: 'M1',
    secret: SECRET,
    store: memoryStore(),
    clock: time.clock,
    scheduler: time.scheduler,
    authorize,
  });
  const first = await guard.begin(sale);
  await guard.settle(first.attempt!.id, { status: 'unknown' });
  const block = await guard.begin(sale);
  expect(block.reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
  return { guard, first: first.attempt!.id, block };
}

const request = { operator: 'c1', reason: 'bank says not charged', supervisor: 's1' };

describe('atk19b override', () => {
  it('twice at once (two PIN entries): authorize asked once, one attempt, the second tap a GuardInputError', async () => {
    const gate = deferred<boolean>();
    let asked = 0;
    const { guard, block } = await blocked(() => {
      asked++;
      return gate.promise;
    });
    const one = guard.override(block, request);
    const two = guard.override(block, request).then(
      (d) => d.verdict,
      (e: Error) => e.name,
    );
    gate.resolve(true);
    expect((await one).verdict).toBe('allow');
    expect(await two).toBe('GuardInputError');
    expect(asked).toBe(1);
  });

  it('twice in a row: the second finds the decision used (GuardInputError), no second attempt', async () => {
    const { guard, block } = await blocked(() => true);
    expect((await guard.override(block, request)).verdict).toBe('allow');
    const again = await guard.override(block, request).then(
      (d) => d.verdict,
      (e: Error) => e.name,
    );
    expect(again).toBe('GuardInputError');
    expect((await guard.attempts({ status: 'pending' })).length).toBe(1);
  });

  it('refused, then tapped again and approved: one attempt', async () => {
    let n = 0;
    const { guard, block } = await blocked(() => ++n > 1);
    const refused = await guard.override(block, request).then(
      () => 'allowed',
      (e: Error) => e.name,
    );
    expect(refused).toBe('GuardOverrideError');
    expect((await guard.override(block, request)).verdict).toBe('allow');
  });

  it('stale: the unknown was approved meanwhile, the override of UNKNOWN_OUTCOME returns the DUPLICATE_CHARGE prompt (no attempt)', async () => {
    const { guard, first, block } = await blocked(() => true);
    await guard.settle(first, { status: 'approved' });
    const over = await guard.override(block, request);
    expect(over.verdict).toBe('prompt');
    expect(over.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
    expect(over.attempt).toBeUndefined();
  });

  it('stale: the unknown was resumed meanwhile (pending again), the override returns IN_FLIGHT (no attempt)', async () => {
    const { guard, first, block } = await blocked(() => true);
    await guard.resume(first);
    const over = await guard.override(block, request);
    expect(over.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
    expect(over.attempt).toBeUndefined();
  });
});
