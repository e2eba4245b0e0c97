/**
 * atk31: a hot reload of a till whose shared store keeps a local fileStore,
 * while it is cut off from the database: what the new shared store reads of
 * the local file through the running store (getMeta through the holder,
 * 9e3c328) and what the running till writes after that.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import type { Remote } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { virtualTime } from '../../src/testing.js';
import { landed } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk31-shared-reload-secret-0123456789';
const { tempFile, keep } = scratch('atk31-shared-reload-');

/** `remote`, whose calls wait while `gate.held` (a connection that hangs until its timeout, then fails as the database's does). */
function hanging(remote: Remote) {
  let release: () => void = () => undefined;
  const gate = { held: true, released: new Promise<void>((resolve) => (release = resolve)), waiting: false };
  const proxy = new Proxy(remote, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (gate.held) {
          gate.waiting = true;
          await gate.released;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { remote: proxy, gate, open: () => ((gate.held = false), release()) };
}

describe('atk31: a cut-off till reloaded over its local fileStore', () => {
  // What happens: a till with a shared store (postgresStore / sharedStore,
  // `local: fileStore(path)`) is cut off from the database and keeps selling
  // (onSharedUnavailable 'allow'): each sale goes to the local file and to
  // its outbox (the ids to send once the database is back, kept in the local
  // file's metadata). The app hot-reloads its guard (a new sharedStore over a
  // new fileStore on the same path). The new shared store's attach reads the
  // outbox with local.getMeta, which is now answered through the running
  // fileStore without taking the file over; the reload then waits on its
  // database connection (a connect timeout), and meanwhile the running till
  // sells on, adding to the outbox it writes. When the reload's local store
  // does open (its load), it takes the file over with the outbox it read
  // before: the sale made in between is in the local file, but in no outbox,
  // and is never sent to the database. Another lane then charges the same
  // card for the same order: allowed.
  // Why: src/stores/file.ts:187-190 (getMeta answered from the holder's
  // memory while the holder keeps writing) and src/shared/store.ts:262-266
  // (attach reads the outbox, overs due and unchecked metadata once, before
  // its local store has taken the file over). Before 9e3c328 that first
  // getMeta fenced the running store, so nothing could be added after it.
  // Cost at a till: a sale taken while the database was down never reaches
  // it: every other lane (and the reconciliation) misses an approved charge,
  // and lets the customer's retry on another lane through: charged twice.
  // Fixed: getMeta takes the file over again, as before 9e3c328; a reload refused for its secret hands
  // the file back when its guard gives the store back (start.ts, supersedesRunning), not by reading around it.
  it('a sale the running till makes while the reload waits on the database reaches the database; another lane blocks it', async () => {
    const path = tempFile();
    const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
    const db = sharedMemoryDatabase(() => time.clock.now());
    const options = {
      merchantId: 'M1',
      secret: SECRET,
      clock: time.clock,
      scheduler: time.scheduler,
      onSharedUnavailable: 'allow' as const,
    };
    const till = (remote: Remote) =>
      createGuard({ ...options, terminalId: 'T1', store: sharedStore(remote, { local: fileStore(path), retryMs: 1_000 }) });
    const running = keep(await till(db.remote('T1')));
    db.disconnect('T1');
    const first = await running.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_atk31_first' }, orderId: 'O-1' });
    await first.attempt!.approve({ authCode: 'A1' });
    // The reload: its connection hangs (cut off) after its attach read the local outbox.
    const hung = hanging(db.remote('T1'));
    const starting = till(hung.remote).then(keep, (error: unknown) => error);
    while (!hung.gate.waiting) await landed();
    // The running till sells on meanwhile (or, as before 9e3c328, is refused TAKEN_OVER: then nothing is lost).
    const second = await running
      .begin({ amount: 2_500, currency: 'CNY', card: { token: 'tok_atk31_second' }, orderId: 'O-2' })
      .catch(() => undefined);
    if (second?.verdict === 'allow') await second.attempt!.approve({ authCode: 'A2' });
    hung.open();
    const reloaded = await starting;
    expect(reloaded).not.toBeInstanceOf(Error);
    // The database is back; the reloaded till catches up.
    db.reconnect('T1');
    for (let i = 0; i < 10; i++) {
      await time.advance(1_000);
      await landed();
    }
    if (second?.verdict !== 'allow') return;
    expect((await (reloaded as Guard).get(second.attempt!.id))?.status).toBe('approved');
    const lane2 = keep(await createGuard({ ...options, terminalId: 'T2', store: sharedStore(db.remote('T2'), { local: memoryStore() }) }));
    // Control: the sale made before the reload reached the database, and is blocked there.
    const before = await lane2.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_atk31_first' }, orderId: 'O-1' });
    expect(before.verdict).not.toBe('allow');
    const retry = await lane2.begin({ amount: 2_500, currency: 'CNY', card: { token: 'tok_atk31_second' }, orderId: 'O-2' });
    expect(retry.verdict).not.toBe('allow');
  });
});
