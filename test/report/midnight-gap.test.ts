/**
 * Days in zones whose clocks spring forward at midnight (Chile, Cuba,
 * Egypt): the day of the change begins at 01:00, and the next day still at
 * 00:00. A sale just after the next midnight belongs to the next day only.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { periodBounds } from '../../src/report/period.js';
import { summarizeJournal } from '../../src/report/summary.js';
import { readJournal } from '../../src/stores/file/journal-read.js';
import type { JournalEntry } from '../../src/types.js';
import { SECRET } from '../helpers/guard.js';

describe('a day whose midnight does not exist', () => {
  it.each([
    // 2026-09-06 00:00 in Santiago is 01:00 (-04 → -03); the 7th begins at 00:00 -03.
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00Z', '2026-09-07T03:00:00Z'],
    // 2026-03-08 00:00 in Havana is 01:00 (-05 → -04).
    ['America/Havana', '2026-03-08', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'],
  ])('%s %s has 23 hours, ending at the next local midnight', (tz, day, start, end) => {
    expect(periodBounds(day, day, tz)).toEqual({ start: Date.parse(start), end: Date.parse(end) });
  });

  it('a double tap at 00:30 the day after is in that day only, not also in the day of the change', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-gap-')), 'till.jsonl');
    let now = Date.parse('2026-09-07T03:30:00Z'); // 00:30 on 2026-09-07 in Santiago
    const guard = await createGuard({
      merchantId: 'M-0001',
      secret: SECRET,
      store: fileStore(storePath),
      clock: { now: () => now, monotonic: () => now },
    });
    const sale = { amount: 1990, currency: 'CLP', card: { pan: '4111 1111 1111 1111' } };
    await (await guard.begin(sale)).attempt?.approve();
    now += 10_000;
    expect((await guard.begin(sale)).verdict).toBe('prompt');
    await guard.close();
    const entries: JournalEntry[] = [];
    for await (const entry of readJournal(storePath)) entries.push(entry);
    const prompts = (day: string) => summarizeJournal(entries, { tz: 'America/Santiago', from: day, to: day }).decisions.byVerdict.prompt;
    expect([prompts('2026-09-06'), prompts('2026-09-07')]).toEqual([0, 1]);
  });
});
