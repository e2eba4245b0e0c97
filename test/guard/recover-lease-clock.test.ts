/**
 * A recover try whose lane clock is corrected (NTP) while `recover` is out:
 * the shared store reads the lane's rows onto its corrected clock, the lease
 * included, while the guard holds the lease it wrote on the old clock.
 */
import { describe, expect, test } from 'vitest';
import { createGuard, memoryStore, type RecoverAnswer } from '../../src/index.js';
import { sharedVirtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';

const START = Date.parse('2026-04-02T01:30:00Z');
const secret = 'atk-lease-clock-secret-0123456789';
const sale = { amount: 3800, currency: 'CNY', card: { token: 'tok_lane' } };

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

async function setup(answer: () => Promise<RecoverAnswer>) {
  const time = sharedVirtualTime(START);
  const db = sharedMemoryDatabase(() => time.now());
  const t1 = time.terminal();
  const calls: number[] = [];
  const store = sharedStore(db.remote('T1'), { local: memoryStore() });
  const guard = await createGuard({
    merchantId: 'M1',
    terminalId: 'T1',
    secret,
    store,
    clock: t1.clock,
    scheduler: t1.scheduler,
    recoverAfter: '5s',
    recoverTries: 5,
    recover: () => {
      calls.push(time.now());
      return answer();
    },
  });
  const reader = db.remote('READER');
  const stored = async (id: string) => (await reader.get('M1', [id]))[0]?.record;
  return { time, t1, guard, calls, stored };
}

/** An unknown attempt whose recover call is out, then the lane's clock corrected by `jump`: the answer is `answer` in the returned context. */
async function correctedWhileOut(jump: number) {
  let answer: (a: RecoverAnswer) => void = () => undefined;
  const lane = await setup(() => new Promise<RecoverAnswer>((resolve) => (answer = resolve)));
  const id = (await lane.guard.begin(sale)).attempt!.id;
  await lane.time.advance(1_000);
  await lane.guard.settle(id, { status: 'unknown' });
  await lane.time.advance(5_000);
  expect(lane.calls).toHaveLength(1);
  lane.t1.jump(jump);
  await lane.time.advance(1_000);
  return { ...lane, id, answer: async (a: RecoverAnswer) => (answer(a), await flush()) };
}

describe('a lane clock corrected while recover is out', () => {
  test("an answer that may not settle ('refunded') ends the scheduled tries, even when the lane's clock was set right meanwhile", async () => {
    const { time, guard, calls, stored, id, answer } = await correctedWhileOut(40_000);
    await answer({ status: 'refunded' } as unknown as RecoverAnswer);
    const record = await stored(id);
    expect(record?.recovery?.leaseUntil).toBeUndefined();
    expect(record?.recovery?.ended).toBe(true);
    // No more scheduled tries: the answer ended them.
    await time.advance(10 * 60_000);
    expect(calls).toHaveLength(1);
    await guard.close();
  });

  test('a still-unknown answer gives its lease back, and the next try runs on schedule', async () => {
    const { time, guard, calls, stored, id, answer } = await correctedWhileOut(-40_000);
    await answer(undefined);
    expect((await stored(id))?.recovery?.leaseUntil).toBeUndefined();
    await time.advance(60_000);
    expect(calls).toHaveLength(2);
    await answer(undefined); // the second try's call, or close() waits for it
    await guard.close();
  });

  for (const how of ['settled unknown', 'a stale pending'] as const) {
    test(`restarted over the same store after the correction (${how}): the old call's answer still ends the tries`, async () => {
      const time = sharedVirtualTime(START);
      const db = sharedMemoryDatabase(() => time.now());
      const t1 = time.terminal();
      const store = sharedStore(db.remote('T1'), { local: memoryStore() });
      const calls: number[] = [];
      let answerNow: (a: RecoverAnswer) => void = () => undefined;
      const open = () =>
        createGuard({
          merchantId: 'M1',
          terminalId: 'T1',
          secret,
          store,
          clock: t1.clock,
          scheduler: t1.scheduler,
          pendingTimeout: '60s',
          recoverAfter: '5s',
          recoverTries: 5,
          recover: () => {
            calls.push(time.now());
            return new Promise<RecoverAnswer>((resolve) => (answerNow = resolve));
          },
        });
      const first = await open();
      const id = (await first.begin(sale)).attempt!.id;
      await time.advance(1_000);
      if (how === 'settled unknown') await first.settle(id, { status: 'unknown' });
      await time.advance(how === 'settled unknown' ? 5_000 : 65_000);
      expect(calls).toHaveLength(1);
      t1.jump(-3_600_000); // the lane's clock ran an hour fast: set right
      await time.advance(1_000);
      // The app restarts in the same process: a new guard over the same store, the old one never closed.
      const second = await open();
      answerNow({ status: 'refunded' } as unknown as RecoverAnswer);
      await flush();
      const record = (await db.remote('READER').get('M1', [id]))[0]?.record;
      expect(record?.recovery?.leaseUntil).toBeUndefined();
      expect(record?.recovery?.ended).toBe(true);
      await time.advance(10 * 60_000);
      expect(calls).toHaveLength(1);
      await second.close();
    });
  }
});
