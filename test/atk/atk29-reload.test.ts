/**
 * atk29: a Node till (fileStore) reloaded in one process while a charge is
 * out with the processor: the processor's answer must be recorded, and a
 * reload that is refused must leave the running till as it was.
 */
import * as realFs from 'node:fs/promises';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard, type Guard } from '../../src/index.js';
import { fileStore, type FileStoreFs } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { heldAtTmp, heldSubmit, landed, reloadWhile, reloadingTill, timedOutCharge } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk29-reload-secret-0123456789ab';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 4200, currency: 'CNY', card: { token: 'tok_atk29_reload' } };
const { tempDir, tempFile, keep } = scratch('atk29-reload-');
/** Lets the store's writes and the guard's reactions land (real fs under virtual time). */

describe('atk29: a till reloaded in one process while a charge is out', () => {
  // What happens: the app (Electron) re-creates its guard with a mistyped or
  // rotated secret over the same file while a charge is out. createGuard
  // rejects with SECRET_CHANGED (as designed), but the new fileStore object
  // has already taken the file over from the running till's store on its
  // first call (getMeta), and that fence is never undone. The running guard
  // then answers every call with TAKEN_OVER (the till stops taking
  // payments), and the processor's approval of the charge that was out is
  // never recorded: charge() rejects instead of resolving `approved`, and the
  // file keeps the attempt `pending` (read as `unknown` after the restart the
  // till now needs). The cashier sees an error for a sale that was paid; the
  // supervisor override of UNKNOWN_OUTCOME that follows charges the customer
  // a second time.
  // Why: #openOnce fenced the older store (state 'fenced' for good) on the
  // first call, before src/guard/start.ts refused the secret. Fixed: the
  // refused guard gives back a store that superseded a running one
  // (supersedesRunning), and a store closed unused hands the file back.
  it('a reload refused for SECRET_CHANGED leaves the running till working and records the approval of its charge out', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running.charge(sale, processor.submit, { timeout: '60s' });
    await landed();
    const reload = await open(undefined, { secret: 'a-mistyped-secret-0123456789abcdef' }).then(
      (guard) => keep(guard),
      (error: unknown) => error,
    );
    expect(reload).toMatchObject({ code: 'SECRET_CHANGED' });
    processor.answer({ approved: true, authCode: 'A42' });
    const result = await charging.catch((error: unknown) => error);
    await landed();
    expect(result).toMatchObject({ status: 'approved' });
    // The till goes on: the next customer's sale is reserved.
    const next = await running.begin({ amount: 900, currency: 'CNY', card: { token: 'tok_atk29_next' } }).catch((error: unknown) => error);
    expect(next).toMatchObject({ verdict: 'allow' });
    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.includes('"approved"'));
    expect(lines.length).toBeGreaterThan(0);
  });

  // What happens: an ordinary hot reload (a second createGuard over a new
  // fileStore on the file, which succeeds) while a charge is out, and the
  // processor's approval arrives while the new guard is still starting (its
  // store has opened the file, fencing the old one, and is still loading: up
  // to ~150 ms over 100k attempts, docs/file-store.md). The old guard's
  // settle meets TAKEN_OVER; settleAnswer looks for a successor, finds none
  // yet (the succession is noted only once the load is done), and rethrows:
  // charge() rejects with TAKEN_OVER for a sale the processor approved, and
  // the new guard holds the attempt `unknown`. The cashier sees an error;
  // the retry is UNKNOWN_OUTCOME, and its supervisor override charges the
  // customer twice. (Here the new store's open is held at its `.tmp`
  // cleanup, after the fence, so that the answer lands in that window.)
  // Why: src/guard/charge.ts:162-173 (settleAnswer gives up when ownerOf has
  // no successor yet), src/guard/start.ts:123 (noteSuccession after load),
  // src/stores/file.ts:246-248 (the fence at open, before any of it).
  it('a hot reload that succeeds: an approval arriving while the new guard starts is recorded, and charge() resolves approved', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running.charge(sale, processor.submit, { timeout: '60s' }).catch((error: unknown) => error);
    await landed();
    const reloaded = keep(await reloadWhile(open, () => processor.answer({ approved: true, authCode: 'A42' })));
    expect(await charging).toMatchObject({ status: 'approved' });
    await landed();
    expect((await reloaded.attempts()).map((attempt) => attempt.status)).toEqual(['approved']);
  });

  // review: the same window for an answer that comes after charge() gave up on it (its timeout):
  // the late approval met TAKEN_OVER while the reload started, and was dropped with nothing said.
  it('a late approval (after the charge timed out) arriving while the reload starts is recorded by the new guard', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const { result, processor } = await timedOutCharge(keep(await open()), time, sale);
    expect(result).toMatchObject({ status: 'unknown', cause: 'timeout' });
    const reloaded = keep(await reloadWhile(open, () => processor.answer({ approved: true, authCode: 'A42' })));
    await landed();
    expect((await reloaded.get(result.attempt!.id))?.status).toBe('approved');
  });

  // A reload whose store never finishes opening (its disk hangs after the fence): the answer waits for
  // that start no longer than 30 s, then charge() says TAKEN_OVER as before, rather than hang the till.
  it('an approval waiting for a take-over that never finishes starting gives up after 30 s', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running.charge(sale, processor.submit, { timeout: '60s' }).catch((error: unknown) => error);
    await landed();
    void open(heldAtTmp(true).fs).catch(() => undefined);
    await landed();
    processor.answer({ approved: true, authCode: 'A42' });
    await landed();
    let settled = false;
    void charging.then(() => (settled = true));
    await time.advance(29_000);
    await landed();
    expect(settled).toBe(false);
    await time.advance(1_000);
    expect(await charging).toMatchObject({ code: 'TAKEN_OVER' });
  });

  // What happens: the same with a disk that is full: the reload's fileStore
  // opens the file, fences the running till's store, then cannot rewrite
  // the lock this process holds (ENOSPC): createGuard rejects LOCK_FAILED,
  // and the running till is left fenced (TAKEN_OVER on every call), its
  // charge out rejected though the processor approved it. docs/file-store.md:
  // "a store that cannot open it (too many open files, a permission) leaves
  // the older one writing".
  // Why: src/stores/file.ts:246-249 (fence, then acquireLock; the catch at
  // 268-273 releases this store's claim on the path but never un-fences the
  // previous one).
  it('a reload whose lock cannot be written (disk full) leaves the running till working and records its charge', async () => {
    const path = tempFile();
    const full = { on: false };
    const writeFile = (async (...args: Parameters<typeof realFs.writeFile>) => {
      const options = args[2];
      const creating = typeof options === 'object' && options !== null && 'flag' in options && options.flag === 'wx';
      if (full.on && String(args[0]).endsWith('.lock') && !creating) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return realFs.writeFile(...args);
    }) as FileStoreFs['writeFile'];
    const time = virtualTime(START);
    const open = () =>
      createGuard({
        merchantId: 'M1',
        secret: SECRET,
        store: fileStore(path, { fs: { ...realFs, writeFile } }),
        clock: time.clock,
        scheduler: time.scheduler,
      });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running.charge(sale, processor.submit, { timeout: '60s' });
    await landed();
    full.on = true;
    const reload = await open().then(keep, (error: unknown) => error);
    expect(reload).toMatchObject({ code: 'LOCK_FAILED' });
    full.on = false;
    processor.answer({ approved: true, authCode: 'A42' });
    expect(await charging.catch((error: unknown) => error)).toMatchObject({ status: 'approved' });
    const next = await running.begin({ amount: 900, currency: 'CNY', card: { token: 'tok_atk29_next' } }).catch((error: unknown) => error);
    expect(next).toMatchObject({ verdict: 'allow' });
  });

  // What happens: charge() times out (unknown), the app shuts its guard
  // down cleanly (close(): an Electron hot reload, a settings change) and
  // opens a new one over the same file; then the processor's late answer
  // arrives: approved. Nothing records it, not the new guard, not the
  // journal: the attempt stays `unknown` and blocks the customer's card as
  // UNKNOWN_OUTCOME until someone reconciles by hand, and the override a
  // supervisor gives meanwhile charges the customer a second time though the
  // approval had reached this process. docs/checkout.md: "if the processor
  // answers later, that answer is recorded"; a take-over without close()
  // does record it (lateAnswer follows ownerOf).
  // Why: src/guard/charge.ts:125 (`if (ctx.closed) return;` in lateAnswer) and
  // src/guard/context.ts:322 (ownerOf gives a closed guard no successor).
  it('a late approval that arrives after close() and a new createGuard over the same file is recorded', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const first = keep(await open());
    const processor = heldSubmit();
    const charging = first.charge(sale, processor.submit, { timeout: '30s' });
    await landed();
    await time.advance(30_000);
    const result = await charging;
    expect(result).toMatchObject({ status: 'unknown', cause: 'timeout' });
    await first.close();
    const second = keep(await open());
    processor.answer({ approved: true, authCode: 'A42' });
    await landed();
    const journal = await readFile(`${path}.journal`, 'utf8');
    const recorded = (await second.get(result.attempt!.id))?.status === 'approved' || journal.includes('A42');
    expect(recorded).toBe(true);
  });

  // What happens: a charge is out in guard A; the app hot-reloads (guard B
  // over a new fileStore on the file: a take-over, B inherits the charge),
  // then reloads again the careful way: B.close(), then guard C. B's close
  // does not wait for the charge it inherited (it waits only for charges it
  // submitted itself), and C's store supersedes no store (B's was closed),
  // so A's charge has no guard to record its answer through: the processor
  // approves within the timeout, and charge() rejects with TAKEN_OVER
  // instead of resolving `approved`; C holds the attempt `unknown`. The
  // cashier sees an error for a paid sale; the retry is UNKNOWN_OUTCOME, and
  // its supervisor override charges the customer twice.
  // Why: src/guard/submits.ts:48-49 (submitsOfGuard: only entry.ctx === ctx)
  // used by close() in src/guard/start.ts:286, and ownerOf in
  // src/guard/context.ts:318-322 ending at B's released store.
  it('hot reload, then close() of the reloaded guard and a third createGuard: the charge out in the first is recorded approved', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const a = keep(await open());
    const processor = heldSubmit();
    const charging = a.charge(sale, processor.submit, { timeout: '60s' });
    await landed();
    const b = keep(await open());
    await b.close();
    const c = keep(await open());
    processor.answer({ approved: true, authCode: 'A42' });
    const result = await charging.catch((error: unknown) => error);
    await landed();
    expect(result).toMatchObject({ status: 'approved' });
    expect((await c.attempts()).map((attempt) => attempt.status)).toEqual(['approved']);
  });

  // What happens: the same reload pair (take-over by B, B.close(), C) while
  // A's `recover` call (a status inquiry, or a 冲正 reversal) is out. B's
  // close waits only for tries in its own store's map, and C, whose store
  // supersedes none, neither sees A's call (tryOut walks C's lineage only)
  // nor reads its lease (a file store has no claim: "a lease in it is a
  // crashed run's"), so C calls `recover` for the same attempt while A's
  // call is still out (SPEC §10: "Never two recover calls for one attempt at
  // once: not in one guard"); and A's answer, approved, is not recorded.
  // Why: src/guard/recover.ts:315-330 (inProgress/tryOut by store lineage),
  // src/guard/start.ts:285 (close waits for stopRecovery of its own store's
  // tries), src/guard/recover.ts:140 (a lease ignored without claim).
  it('hot reload, close() of the reloaded guard, a third guard: no second recover call while the first is out, and its answer is recorded', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    const out: ((answer: unknown) => void)[] = [];
    const recover = () => new Promise((resolve) => out.push(resolve));
    const open = () =>
      createGuard({
        merchantId: 'M1',
        secret: SECRET,
        store: fileStore(path),
        clock: time.clock,
        scheduler: time.scheduler,
        pendingTimeout: '2m',
        recover: recover as never,
        recoverAfter: '5s',
      });
    const a = keep(await open());
    const charge = await a.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(5_000);
    await landed();
    expect(out).toHaveLength(1); // A's inquiry is out
    const b = keep(await open());
    await b.close();
    const c = keep(await open());
    for (let s = 0; s < 60; s += 5) {
      await time.advance(5_000);
      await landed();
    }
    const callsWhileOut = out.length;
    for (const answer of out) answer({ status: 'approved', authCode: 'A42' });
    await landed();
    expect(callsWhileOut).toBe(1);
    expect((await c.get(charge.attempt!.id))?.status).toBe('approved');
  });

  // Held: the same file opened through a symlinked directory (macOS's /tmp
  // is /private/tmp) by a second fileStore in this process is refused with
  // LOCKED, not taken over by a store the first cannot fence: never two
  // writers interleaving lines in one file.
  it('a second fileStore on the same file by another path (a symlinked directory) is LOCKED; the first keeps working', async () => {
    const dir = tempDir();
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    const time = virtualTime(START);
    const open = (path: string): Promise<Guard> =>
      createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path), clock: time.clock, scheduler: time.scheduler });
    const first = keep(await open(join(dir, 'real', 'guard.jsonl')));
    const charge = await first.begin(sale);
    const second = await open(join(dir, 'link', 'guard.jsonl')).then(keep, (error: unknown) => error);
    expect(second).toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
    await charge.attempt!.approve({ authCode: 'A1' });
    expect((await first.get(charge.attempt!.id))?.status).toBe('approved');
  });
});
