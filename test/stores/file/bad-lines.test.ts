import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuardError, createGuard, type Guard } from '../../../src/index.js';
import { fileStore } from '../../../src/node.js';
import { DAY, HOUR, ManualClock, SECRET, START, sale } from '../../helpers/guard.js';

/*
 * A record line with an empty id is no record. The column reader once took
 * it, and the record check refused it only when it was built: an open one
 * stopped createGuard with an error outside the guard's classes, a settled
 * one made every decision throw once it expired. It goes the parser's way
 * now, and is reported and skipped like any bad line.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pdg-badline-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const HEADER = JSON.stringify({ op: 'header', format: 'pos-duplicate-guard/file', version: 2 });
/** A record line exactly as recordLine writes one, but with an empty id. */
const emptyId = (status: string, at: number) => `[1,"","fp_x","${status}","sale",100,"CNY","M-0001",${at},${at},${at},0]`;

function writeFile(...lines: string[]): string {
  const path = join(dir, 'guard.jsonl');
  writeFileSync(path, `${[HEADER, ...lines].join('\n')}\n`);
  return path;
}

const open = (path: string, clock: ManualClock): Promise<Guard> =>
  createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(path), clock });

describe('a record line with an empty id', () => {
  it('an open one: the guard still starts, and reports the line as skipped', async () => {
    const path = writeFile(emptyId('pending', START - HOUR));
    const guard = await open(path, new ManualClock());
    expect((await guard.begin(sale())).verdict).toBe('allow');
    await guard.close();
  });

  it('an open one: whatever createGuard throws is a GuardError (SPEC §4: every error is one of the five classes)', async () => {
    const path = writeFile(emptyId('pending', START - HOUR));
    try {
      const guard = await open(path, new ManualClock());
      await guard.close();
    } catch (error) {
      expect(error).toBeInstanceOf(GuardError);
    }
  });

  it('a settled one: the till keeps taking payments once its retention has passed', async () => {
    const path = writeFile(emptyId('declined', START - 2 * HOUR));
    const clock = new ManualClock();
    const guard = await open(path, clock);
    expect((await guard.begin(sale({ amount: 100 }))).verdict).toBe('allow');
    clock.advance(DAY);
    // Past the bad line's deadline: the prune inside begin() reaches it.
    expect((await guard.begin(sale({ amount: 200 }))).verdict).toBe('allow');
    expect((await guard.begin(sale({ amount: 300 }))).verdict).toBe('allow');
    await guard.close();
  });

  it('a settled one: attempts() lists the records instead of throwing', async () => {
    const path = writeFile(emptyId('declined', START - 2 * HOUR));
    const guard = await open(path, new ManualClock());
    expect(await guard.attempts()).toEqual([]);
    await guard.close();
  });
});
