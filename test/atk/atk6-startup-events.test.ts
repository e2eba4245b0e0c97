/**
 * atk6: Emitter start-up replay (src/events.ts on(), d0724ba). Live events go
 * to a Set of listeners, so one function attached twice hears a live event
 * once; but each on() call queues its own replay microtask of #startUp, and
 * both pass `listening.has(wrapped)`: the start-up prune (or a start-up
 * conflict) is delivered twice. Duplicate report (cosmetic / double alert).
 *
 * Fixed: `on()` replays start-up's events only to a listener it adds, not to
 * one already attached.
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

describe('atk6: start-up events replayed', () => {
  it('a listener attached twice hears a start-up prune once, as it would hear a live one', async () => {
    const { guard, store, clock } = await testGuard({ retention: '24h' });
    await guard.begin(sale());
    clock.advance(7 * DAY);
    const after = await restart(store, clock, { retention: '24h' });
    const heard: unknown[] = [];
    const listener = (event: unknown) => heard.push(event);
    after.guard.on('prune', listener);
    after.guard.on('prune', listener);
    await flush();
    expect(heard).toHaveLength(1);
  });
});
