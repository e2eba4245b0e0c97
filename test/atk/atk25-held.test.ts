/**
 * atk25: the clock watch (watchClock, src/guard/clock-steps.ts) attacked:
 * attacks that held: resume, override, overlapping charges, fileStore, a failing setMeta.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS } from '../../src/clock-steps.js';
import { memoryStore } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { codes } from '../helpers/tabs.js';
import { DAY, ntpThenCrash, sale, setup, turn } from '../helpers/watch.js';

describe('atk25: the clock watch, attacks that held', () => {
  it('resume: the step 5 s into a resumed charge is kept before a crash', async () => {
    const { time, open } = setup();
    const g = await open();
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    const again = await g.resume(charge.attempt!.id);
    expect(again).toBeDefined();
    const retry = await ntpThenCrash(time, open);
    expect(retry.verdict).toBe('block');
  });

  it('override: an allow got by overriding a prompt is watched too', async () => {
    const { time, open } = setup();
    const g = await open();
    const first = await g.begin(sale);
    await first.attempt!.approve();
    await time.advance(60_000);
    const prompt = await g.begin(sale);
    expect(prompt.verdict).toBe('prompt');
    const allowed = await g.override(prompt, { operator: 'cashier-7', reason: 'customer wants two' });
    expect(allowed.verdict).toBe('allow');
    const retry = await ntpThenCrash(time, open);
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
  });

  it('two charges overlap, the first settles: the second is still watched', async () => {
    const { time, open } = setup();
    const g = await open();
    const a = await g.begin(sale);
    await time.advance(60_000);
    const b = await g.begin({ ...sale, card: { token: 'tok_atk25_b' } });
    await time.advance(3_000);
    await a.attempt!.approve();
    await time.advance(90_000); // past a's pendingTimeout, within b's
    time.jump(9 * DAY);
    await time.advance(20_000);
    await turn();
    time.restart();
    const after = await open();
    const retry = await after.begin({ ...sale, card: { token: 'tok_atk25_b' } });
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await after.close();
    void b;
  });

  it('fileStore: the step is on disk before the crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atk25-'));
    try {
      const path = join(dir, 'guard.json');
      const { time, open } = setup(fileStore(path));
      const g = await open();
      await g.begin(sale);
      await time.advance(1_000);
      time.jump(9 * DAY);
      await time.advance(30_000);
      for (let i = 0; i < 20; i++) await turn();
      time.restart();
      const store2 = fileStore(path);
      const after = await open(store2);
      const retry = await after.begin(sale);
      expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
      await after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a store whose setMeta fails: the tick writes nothing and no rejection escapes', async () => {
    const store = memoryStore();
    const { time, open } = setup(store);
    const g = await open();
    await g.begin(sale);
    const original = store.setMeta.bind(store);
    store.setMeta = () => Promise.reject(new Error('disk full'));
    const unhandled: unknown[] = [];
    const on = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', on);
    try {
      await time.advance(1_000);
      time.jump(9 * DAY);
      await time.advance(10_000);
      for (let i = 0; i < 10; i++) await turn();
      expect(unhandled).toEqual([]);
      expect(await store.getMeta(CLOCK_STEPS)).toBeUndefined();
    } finally {
      process.off('unhandledRejection', on);
      store.setMeta = original;
    }
    await g.close();
  });
});
