/**
 * A Node till (fileStore) reloaded in one process, for the tests of answers
 * in hand across a take-over: a guard over a new fileStore on the same file
 * each time, on one virtual clock; a store whose open can be held after it
 * fenced the older one; a submit the test answers by hand.
 */
import * as realFs from 'node:fs/promises';
import { expect } from 'vitest';
import { createGuard, type Guard, type GuardOptions, type JournalEntry, type Sale, type SubmitResult } from '../../src/index.js';
import { fileStore, readJournal, type FileStoreFs } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';

/** Opens guards over `path` on one virtual clock: `open(fs?, options?)`. */
export function reloadingTill(path: string, secret: string, base: Partial<GuardOptions> = {}) {
  const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
  const open = (fs?: FileStoreFs, options: Partial<GuardOptions> = {}) =>
    createGuard({
      merchantId: 'M1',
      secret,
      store: fileStore(path, fs ? { fs } : {}),
      clock: time.clock,
      scheduler: time.scheduler,
      ...base,
      ...options,
    });
  return { time, open };
}

/**
 * An fs whose removal of `<path>.tmp` (a store's open does it after fencing
 * the older store, before its load) waits until `release()`, or for good
 * with `never`. `held` says the open has got there.
 */
export function heldAtTmp(never = false) {
  const gate = { held: false, release: () => undefined as void };
  const released = never ? new Promise<void>(() => undefined) : new Promise<void>((resolve) => (gate.release = resolve));
  const unlink = (async (file: Parameters<typeof realFs.unlink>[0]) => {
    if (String(file).endsWith('.tmp')) {
      gate.held = true;
      await released;
    }
    return realFs.unlink(file);
  }) as FileStoreFs['unlink'];
  const reached = async (): Promise<void> => {
    while (!gate.held) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  return { fs: { ...realFs, unlink }, gate, reached };
}

/** A submit the test answers by hand, as a processor that is slow to. */
export function heldSubmit() {
  let answer: (result: SubmitResult) => void = () => undefined;
  const submit = () => new Promise<SubmitResult>((resolve) => (answer = resolve));
  return { submit, answer: (result: SubmitResult) => answer(result) };
}

/** Lets the store's writes and the guard's reactions land (real fs under virtual time). */
export const landed = () => new Promise((resolve) => setTimeout(resolve, 30));

/**
 * A hot reload that `answer` lands in: a new guard from `open`, its store's
 * open held after it fenced the older store, `answer()` run (the processor
 * answers) and let land, then the open let go. Resolves the reloaded guard.
 */
export async function reloadWhile(open: (fs?: FileStoreFs) => Promise<Guard>, answer: () => void): Promise<Guard> {
  const reload = heldAtTmp();
  const starting = open(reload.fs);
  await reload.reached();
  answer();
  await landed();
  reload.gate.release();
  return starting;
}

/** A charge that times out (30 s on `time`): the result, `unknown`, and the processor still holding its answer. */
export async function timedOutCharge(guard: Guard, time: { advance(ms: number): Promise<void> }, sale: Sale) {
  const processor = heldSubmit();
  const charging = guard.charge(sale, processor.submit, { timeout: '30s' });
  await landed();
  await time.advance(30_000);
  return { result: await charging, processor };
}

/** Every entry of the journal of the file store at `path`, oldest first. */
export async function journalOf(path: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(path)) entries.push(entry);
  return entries;
}

/** A charge `guard` has out with the processor (60 s timeout), not answered yet. */
export async function chargeOut(guard: Guard, sale: Sale) {
  const processor = heldSubmit();
  const charging = guard.charge(sale, processor.submit, { timeout: '60s' }).catch((error: unknown) => error);
  await landed();
  return { processor, charging };
}

/** The processor approves the charge `out`: it resolves approved, and the till still takes the `next` sale. */
export async function tillGoesOn(guard: Guard, out: Awaited<ReturnType<typeof chargeOut>>, next: Sale): Promise<void> {
  out.processor.answer({ approved: true, authCode: 'A42' });
  expect(await out.charging).toMatchObject({ status: 'approved' });
  await landed();
  expect(await guard.begin(next).catch((error: unknown) => error)).toMatchObject({ verdict: 'allow' });
}
