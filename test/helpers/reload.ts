/**
 * A Node till (fileStore) reloaded in one process, for the tests of answers
 * in hand across a take-over: a guard over a new fileStore on the same file
 * each time, on one virtual clock; a store whose open can be held after it
 * fenced the older one; a submit the test answers by hand.
 */
import * as realFs from 'node:fs/promises';
import { createGuard, type GuardOptions, type SubmitResult } from '../../src/index.js';
import { fileStore, type FileStoreFs } from '../../src/node.js';
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
