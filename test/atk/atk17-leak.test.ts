/**
 * atk17: does keeping `ctx.fenced` (src/guard/start.ts) keep old guards reachable in a long-running app that
 * re-creates its guard over one store again and again (a restart button, a watchdog), some of the take-overs
 * failing?
 *
 * P1 (pin, passes) after 40 take-overs (every fourth one failing its load), only the guard running is kept: every
 *    replaced or failed guard can be collected (WeakRef, forced GC), and the running one begins and settles.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type GuardStore } from '../../src/index.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const SECRET = 'atk17-leak-secret-0123456789abcdef';

describe('atk17: guards re-created in a loop (pin)', () => {
  it('P1: only the running guard stays reachable after 40 take-overs, a quarter of them failed', async () => {
    const inner = memoryStore();
    let fail = false;
    const store: GuardStore = {
      ...inner,
      load: async (scope) => {
        if (fail) throw new Error('disk hiccup');
        return inner.load(scope);
      },
      subscribe: () => () => undefined,
    };
    const options = { merchantId: 'M1', secret: SECRET, store };
    const refs: WeakRef<Guard>[] = [];
    let current = await createGuard(options);
    for (let i = 0; i < 40; i++) {
      fail = i % 4 === 3;
      const next = await createGuard(options).catch(() => undefined);
      if (next) {
        refs.push(new WeakRef(current));
        current = next;
        const d = await current.begin({ amount: 100 + i, currency: 'CNY', card: { token: `tok_${i}` } });
        await d.attempt!.approve();
      }
    }
    fail = false;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      gc();
    }
    const alive = refs.filter((ref) => ref.deref() !== undefined).length;
    expect(refs.length).toBeGreaterThan(25);
    expect(alive).toBe(0);
    expect((await current.begin({ amount: 9_999, currency: 'CNY', card: { token: 'tok_last' } })).verdict).toBe('allow');
    await current.close();
  });
});
