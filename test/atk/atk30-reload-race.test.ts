/**
 * atk30 (successorOf, lastClosed): reloads of a Node till (fileStore) racing
 * each other while a charge is out with the processor.
 */
import * as realFs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createGuard, type Guard, type SubmitResult } from '../../src/index.js';
import { fileStore, type FileStoreFs } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk30-reload-race-secret-0123456789';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 5_100, currency: 'CNY', card: { token: 'tok_atk30_race' } };
const { tempFile, keep } = scratch('atk30-race-');
const landed = () => new Promise((resolve) => setTimeout(resolve, 30));

function heldSubmit() {
  let answer: (result: SubmitResult) => void = () => undefined;
  const submit = () => new Promise<SubmitResult>((resolve) => (answer = resolve));
  return { submit, answer: (result: SubmitResult) => answer(result) };
}

/** An fs whose unlink of `.tmp` (after the fence, before the load) waits for `release`. */
function gatedFs() {
  const gate = { held: false, release: () => undefined as void };
  const released = new Promise<void>((resolve) => (gate.release = resolve));
  const unlink = (async (file: Parameters<typeof realFs.unlink>[0]) => {
    if (String(file).endsWith('.tmp')) {
      gate.held = true;
      await released;
    }
    return realFs.unlink(file);
  }) as FileStoreFs['unlink'];
  return { fs: { ...realFs, unlink }, gate };
}

describe('atk30 reloads racing', () => {
  it('two reloads at once (B fenced by C while B still starts): the approval that arrives meanwhile is recorded by the guard that ends up running', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    const open = (fs?: FileStoreFs) =>
      createGuard({
        merchantId: 'M1',
        secret: SECRET,
        store: fileStore(path, fs ? { fs } : {}),
        clock: time.clock,
        scheduler: time.scheduler,
      });
    const a = keep(await open());
    const processor = heldSubmit();
    const charging = a.charge(sale, processor.submit, { timeout: '60s' }).catch((error: unknown) => error);
    await landed();
    const b = gatedFs();
    const startingB = open(b.fs).then(keep, (error: unknown) => error);
    while (!b.gate.held) await new Promise((resolve) => setTimeout(resolve, 1));
    // C fences B, whose open is still held: C's open waits for B's store to let go.
    const startingC = open().then(keep, (error: unknown) => error);
    await landed();
    processor.answer({ approved: true, authCode: 'A42' });
    await landed();
    b.gate.release();
    const [gb, gc] = await Promise.all([startingB, startingC]);
    const result = await charging;
    await landed();
    const running = [gb, gc].filter((g): g is Guard => typeof (g as Guard).attempts === 'function');
    const last = running[running.length - 1]!;
    expect(result).toMatchObject({ status: 'approved' });
    expect((await last.attempts()).map((attempt) => attempt.status)).toEqual(['approved']);
  });
});
