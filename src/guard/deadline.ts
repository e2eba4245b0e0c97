/** Waiting with a deadline on the guard's scheduler: a processor that does not answer, a store that hangs. */
import type { Scheduler } from '../types.js';

/**
 * Settles as `work` does, or with what `late()` gives once `ms` pass on
 * `scheduler` without an answer. A scheduler that throws is replaced by
 * `setTimeout`: what waits here (a charge submitted, a till at Pay) must
 * never be left without a deadline.
 */
export function within<T>(scheduler: Scheduler, ms: number, work: Promise<T>, late: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const expire = (): void => void Promise.resolve().then(late).then(resolve, reject);
    let cancel: () => void;
    try {
      cancel = scheduler.after(ms, expire);
    } catch {
      // setTimeout takes at most 2^31 - 1 ms (24.8 days) and fires at once beyond it.
      const timer = setTimeout(expire, Math.min(ms, 2 ** 31 - 1));
      cancel = () => clearTimeout(timer);
    }
    work.then(
      (value) => (cancel(), resolve(value)),
      (error: unknown) => (cancel(), reject(error)),
    );
  });
}
