/** A guard on virtual time over one store, for the clock watch's tests (watchClock, src/guard/clock-steps.ts). */
import { createGuard, memoryStore, type Decision, type Guard, type GuardStore, type Scheduler } from '../../src/index.js';
import { virtualTime, type VirtualTime } from '../../src/testing.js';
import { SECRET } from './guard.js';

export const DAY = 86_400_000;
export const START = Date.parse('2026-02-20T09:00:00Z');
export const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_atk25_watch' } };
/** One turn of the event loop: a write a tick started lands. */
export const turn = (): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** `open()` creates a guard over `store` (or another) on one virtual time, with its scheduler unless one is given. */
export function setup(store: GuardStore = memoryStore(), scheduler?: Scheduler) {
  const time = virtualTime(START);
  const open = (s: GuardStore = store) =>
    createGuard({ merchantId: 'M1', secret: SECRET, store: s, clock: time.clock, scheduler: scheduler ?? time.scheduler });
  return { time, open, store };
}

/** A scheduler on `time` whose after() hands back a timer handle, not a cancel function (a common mistake). */
export function handleScheduler(time: VirtualTime): Scheduler {
  return {
    after(ms: number, task: () => void) {
      time.scheduler.after(ms, task);
      return 42 as unknown as () => void;
    },
  };
}

/**
 * 1 s on, NTP sets the clock 9 days right; 30 s later the till dies (no
 * call between) and restarts: the retry of `retried` there.
 */
export async function ntpThenCrash(time: VirtualTime, open: () => Promise<Guard>, retried = sale): Promise<Decision> {
  await time.advance(1_000);
  time.jump(9 * DAY);
  await time.advance(30_000);
  await turn();
  time.restart();
  const after = await open();
  const retry = await after.begin(retried);
  await after.close();
  return retry;
}
