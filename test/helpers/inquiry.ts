/**
 * A till on virtual time over one memoryStore, whose `recover` notes every
 * attempt it is asked about and answers "not found" (`cancelled`): what a
 * status inquiry says of a charge still on its way. The tests that a charge
 * still out is never asked about create guards (and take-overs) from
 * `options`, and check `asked`.
 */
import { memoryStore, type GuardOptions } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from './guard.js';

export const INQUIRY_START = Date.parse('2026-03-01T09:00:00Z');

export function notFoundTill(extra: Partial<GuardOptions> = {}) {
  const time = virtualTime(INQUIRY_START);
  const store = memoryStore();
  const asked: string[] = [];
  const options = {
    merchantId: 'M1',
    secret: SECRET,
    store,
    clock: time.clock,
    scheduler: time.scheduler,
    recover: async (attempt: { id: string }) => (asked.push(attempt.id), { status: 'cancelled' as const }),
    ...extra,
  };
  return { time, store, asked, options };
}
