/**
 * atk30 (successorOf, lastClosed): reloads of a Node till (fileStore) racing
 * each other while a charge is out with the processor.
 */
import { describe, expect, it } from 'vitest';
import type { Guard } from '../../src/index.js';
import { heldAtTmp, heldSubmit, landed, reloadingTill } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk30-reload-race-secret-0123456789';
const sale = { amount: 5_100, currency: 'CNY', card: { token: 'tok_atk30_race' } };
const { tempFile, keep } = scratch('atk30-race-');

describe('atk30 reloads racing', () => {
  it('two reloads at once (B fenced by C while B still starts): the approval that arrives meanwhile is recorded by the guard that ends up running', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET);
    const a = keep(await open());
    const processor = heldSubmit();
    const charging = a.charge(sale, processor.submit, { timeout: '60s' }).catch((error: unknown) => error);
    await landed();
    const b = heldAtTmp();
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
