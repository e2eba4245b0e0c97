/**
 * atk8: the start-up emitter (src/events.ts Emitter) during its grace period.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions } from '../../src/index.js';
import type { MemoryStore } from '../../src/index.js';
import { DAY, ManualClock, SECRET, flush, sale, testGuard } from '../helpers/guard.js';

async function restart(store: MemoryStore, clock: ManualClock, options: Partial<GuardOptions> = {}) {
  const next = clock.afterRestart();
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: next, ...options });
  return { guard, clock: next };
}

async function prunedAtStart() {
  const { guard, store, clock } = await testGuard({ retention: '24h' });
  await guard.begin(sale());
  await guard.close();
  clock.advance(7 * DAY);
  return restart(store, clock, { retention: '24h' });
}

describe('atk8: start-up events and listeners', () => {
  it('a listener attached, removed and attached again (one net listener) hears the start-up prune once', async () => {
    const after = await prunedAtStart();
    const heard: unknown[] = [];
    const listener = (event: unknown) => heard.push(event);
    const off = after.guard.on('prune', listener);
    off();
    after.guard.on('prune', listener);
    await flush();
    expect(heard).toHaveLength(1);
  });

  it('a listener removed during the replay of another hears nothing', async () => {
    const after = await prunedAtStart();
    const heard: unknown[] = [];
    let off: () => void = () => undefined;
    after.guard.on('prune', () => off());
    off = after.guard.on('prune', (event) => heard.push(event));
    await flush();
    expect(heard).toHaveLength(0);
  });

  it('a listener attached twice, then removed once, hears no later event', async () => {
    const after = await prunedAtStart();
    const heard: unknown[] = [];
    const listener = (event: unknown) => heard.push(event);
    const off1 = after.guard.on('decision', listener);
    after.guard.on('decision', listener);
    off1();
    await after.guard.peek(sale());
    await flush();
    expect(heard).toHaveLength(0);
  });

  it('a guard taken over inside the grace period: the new guard still replays its own start-up prune to a listener attached right after', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    await guard.begin(sale());
    clock.advance(7 * DAY);
    const a = await restart(store, clock, { retention: '24h' });
    // Another process takes the store before the first guard's grace ends.
    const b = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: a.clock, retention: '24h' });
    const heardA: unknown[] = [];
    const heardB: unknown[] = [];
    a.guard.on('prune', (e) => heardA.push(e));
    b.on('prune', (e) => heardB.push(e));
    await flush();
    // Exactly one of the two start-ups pruned the old record: the event is heard once in all.
    expect(heardA.length + heardB.length).toBe(1);
  });
});
