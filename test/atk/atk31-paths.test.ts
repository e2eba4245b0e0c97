/**
 * atk31: one data file reached by two paths in one process (a symlinked data
 * file), and a relative path.
 */
import { readFile, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard, type Guard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk31-paths-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 4200, currency: 'CNY', card: { token: 'tok_atk31_paths' }, orderId: 'O-1' };
const { tempDir, keep } = scratch('atk31-paths-');

describe('atk31: one file by two paths', () => {
  // What happens: the data file itself is a symlink (guard.jsonl -> the SD
  // card's copy; the directory-symlink case is held, atk29-reload). A second
  // fileStore in this process on the other name is not refused: the lock
  // file is named after the path given (link.jsonl.lock, real.jsonl.lock), so
  // both take "their" lock, and the process-wide owner registry is keyed by
  // that path string too, so neither fences the other. Two guards then run
  // over one file: each allows the same sale (neither sees the other's
  // record), and both append at their own idea of the file's end, writing
  // over each other's lines.
  // Why: src/stores/file/lock.ts:57 `${dataPath}.lock` and
  // src/stores/file.ts:63/:267 (owners keyed by resolve(path)) never resolve
  // the file's real path (realpath or dev:ino).
  // Cost at a till: a hot reload or a second window of the app configured
  // with the other name charges a customer twice, and the file's records are
  // overwritten (a restart then misses approvals).
  // Fixed: the lock is named after the file's real path (lock.ts), so the second name meets it: LOCKED.
  it('a second guard on a symlink to the data file is refused LOCKED; the same sale is never allowed twice', async () => {
    const dir = tempDir();
    const [real, link] = [join(dir, 'real.jsonl'), join(dir, 'link.jsonl')];
    const time = virtualTime(START);
    const open = (path: string): Promise<Guard> =>
      createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path), clock: time.clock, scheduler: time.scheduler });
    const first = keep(await open(real));
    await symlink(real, link);
    const second = await open(link).then(keep, (error: unknown) => error);
    const firstCharge = await first.begin(sale);
    expect(firstCharge.verdict).toBe('allow');
    await firstCharge.attempt!.approve({ authCode: 'A1' });
    if (!(second instanceof Error)) {
      // Both running: the second tap of the same card on the same order.
      const again = await (second as Guard).begin(sale);
      expect(again.verdict).not.toBe('allow');
    }
    expect(second).toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
  });

  // Held: a relative path and its absolute form are one owner (fileStore
  // resolves it): the second store fences the first, never two writers.
  it('a relative path and the absolute one are one file: the newer store takes it over', async () => {
    const dir = tempDir();
    const absolute = join(dir, 'guard.jsonl');
    const first = fileStore(absolute);
    await first.put({ ...(await import('../helpers/records.js')).sampleRecord('a') });
    const second = fileStore(relative(process.cwd(), absolute));
    expect(second.path).toBe(absolute);
    expect(await second.getMeta('x')).toBeUndefined();
    await second.put((await import('../helpers/records.js')).sampleRecord('b'));
    await expect(first.put((await import('../helpers/records.js')).sampleRecord('c'))).rejects.toMatchObject({ code: 'TAKEN_OVER' });
    await second.close();
    await first.close();
    expect((await readFile(absolute, 'utf8')).split('\n').filter((line) => line.includes('"id":"c"'))).toEqual([]);
  });
});
