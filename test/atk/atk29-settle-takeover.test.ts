/**
 * atk29: settles in flight when a hot reload takes the file over. What the
 * guard wrote must not be reported as failed: the app retries what failed,
 * and a refund recorded with an amount adds up on each retry.
 */
import * as realFs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createGuard, type Outcome } from '../../src/index.js';
import { fileStore, type FileStoreFs } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk29-settle-secret-0123456789abc';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep } = scratch('atk29-settle-');
const landed = () => new Promise((resolve) => setTimeout(resolve, 30));

/** fs for the running store whose fsyncs, once armed, wait until the reloading store has opened the path and fenced it: its writes land during its release. */
function ordered(path: string) {
  let opened: () => void = () => undefined;
  const reloadOpened = new Promise<void>((resolve) => (opened = resolve));
  let syncing: () => void = () => undefined;
  const gate = { armed: false, syncCalled: new Promise<void>((resolve) => (syncing = resolve)) };
  const running = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    if (args[0] !== path) return handle;
    return new Proxy(handle, {
      get(target, property, receiver) {
        if (property === 'datasync') {
          return async () => {
            if (gate.armed) {
              syncing();
              await reloadOpened;
            }
            return target.datasync();
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
      },
    });
  }) as FileStoreFs['open'];
  const reloading = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    // Once the microtasks after this open have run, the reloading store has fenced the running one.
    if (args[0] === path) setTimeout(opened, 0);
    return handle;
  }) as FileStoreFs['open'];
  return { gate, runningFs: { ...realFs, open: running }, reloadingFs: { ...realFs, open: reloading } };
}

/**
 * A sale approved, then, while a decline's write is being synced, `refund`
 * settled on it and the file taken over by a reload: the reloaded guard,
 * the sale's id, and what the refund's settle resolved or rejected with.
 */
async function refundDuringReload(refund: Outcome) {
  const path = tempFile();
  const time = virtualTime(START);
  const { gate, runningFs, reloadingFs } = ordered(path);
  const open = (fs: FileStoreFs) =>
    createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path, { fs }), clock: time.clock, scheduler: time.scheduler });
  const running = keep(await open(runningFs));
  const sale = await running.begin({ amount: 1000, currency: 'CNY', card: { token: 'tok_atk29_sale' } });
  await sale.attempt!.approve({ authCode: 'A1' });
  const other = await running.begin({ amount: 77, currency: 'CNY', card: { token: 'tok_atk29_other' } });
  await landed(); // the journal's writes done: the decline's line goes out alone
  gate.armed = true;
  const declining = other.attempt!.decline({ code: '51' }).catch((error: unknown) => error);
  await gate.syncCalled; // the decline's write is being synced: the refund's line waits for the next one
  const refunding = running.settle(sale.attempt!.id, refund).catch((error: unknown) => error);
  const reloaded = keep(await open(reloadingFs));
  await declining;
  return { reloaded, saleId: sale.attempt!.id, result: await refunding };
}

describe('atk29: a settle out when a hot reload takes the file over', () => {
  // What happens: the till records two outcomes at the moment the app
  // hot-reloads (a second createGuard over a new fileStore on the file): a
  // declined card, and a partial refund made at the processor
  // (settle(sale, { status: 'refunded', amount: 500 })). The fenced store
  // writes both lines first (its release drains the queue), but the first
  // settle's journal entry meets the fence, which marks the guard fenced,
  // and the refund's settle then rejects TAKEN_OVER although its line is on
  // disk. The app does what the error says ("use that guard") and records
  // the refund again on the new guard: the sale now reads refunded 1000 of
  // 1000 (status `refunded`, released) for 500 refunded. The rest (500) can
  // no longer be refunded without a supervisor (REFUND_EXCEEDS_CHARGE), and
  // a repeat of the sale is no longer held as a duplicate of a live charge.
  // This is field failure 5 (SPEC §1: "a refund retried after a 'system
  // error' and issued twice"), made by the guard's own error.
  // Why: src/guard/writes.ts:74 (`if (ctx.storeFenced) assertOpen(ctx)` after
  // the record's own write succeeded), set by another call's journal append
  // (writes.ts:27-29 fencedByStore).
  it('a refund settle whose line was written before the take-over resolves; its retry on the new guard adds nothing', async () => {
    const refund = { status: 'refunded', amount: 500 } as const;
    const { reloaded, saleId, result } = await refundDuringReload(refund);
    // What the app does after an error: records the refund on the guard now in charge.
    const retried = result instanceof Error ? await reloaded.settle(saleId, refund) : undefined;
    expect(retried?.refunded ?? 500).toBe(500);
    expect(result).not.toBeInstanceOf(Error);
  });

  // Held: the same refund with its processor reference is recorded once, however often it is retried.
  it('with a processorRef, the retried refund on the new guard is recognised and counted once', async () => {
    const refund = { status: 'refunded', amount: 500, processorRef: 're_atk29_1' } as const;
    const { reloaded, saleId } = await refundDuringReload(refund);
    expect((await reloaded.settle(saleId, refund)).refunded).toBe(500);
  });
});
