/**
 * atk19a: verifyJournal (root export) given what app code can pass it by
 * mistake. SPEC §4: every error the library throws is one of the five
 * GuardError classes; a bad `head` or `from` must not silently weaken the
 * check (a head whose seq is not a number turns the truncation check off).
 */
import { describe, expect, it } from 'vitest';
import { GuardError, memoryStore, createGuard, parseJournalHead, verifyJournal, type JournalEntry } from '../../src/index.js';
import { thrown } from '../helpers/guard.js';

const SECRET = 'atk19a-verify-secret-0123456789abcdef';

async function journal(): Promise<{ entries: JournalEntry[]; head: { seq: number; hash: string } }> {
  const store = memoryStore();
  const g = await createGuard({ merchantId: 'M1', secret: SECRET, store });
  for (let i = 0; i < 4; i++) await (await g.begin({ amount: 100 + i, currency: 'CNY', card: { token: `t${i}` } })).attempt!.approve();
  await g.close();
  const entries = [...store.journal()];
  return { entries, head: parseJournalHead(await store.getMeta('journal-head'))! };
}

describe('atk19a: verifyJournal misuse', () => {
  it('entries that are not iterable (null): a GuardError (GuardInputError), not a TypeError', async () => {
    const error = await thrown(() => verifyJournal(null as unknown as JournalEntry[], { secret: SECRET }));
    expect(error).toBeInstanceOf(GuardError);
  });

  it('no options at all: a GuardError (GuardConfigError, secret required), not a TypeError', async () => {
    const error = await thrown(() => verifyJournal([], undefined as unknown as { secret: string }));
    expect(error).toBeInstanceOf(GuardError);
  });

  it('an entry that cannot be serialised (a cycle, as an app building entries by hand may make): reported `edited`, not a RangeError', () => {
    const entry = { seq: 1, hash: 'x', type: 'start' } as unknown as JournalEntry & { self?: unknown };
    entry.self = entry;
    const result = verifyJournal([entry], { secret: SECRET });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain('edited');
  });

  it("the head passed as the stored text (getMeta('journal-head') without parseJournalHead): refused (GuardError), not taken as no head, which lets a cut tail pass", async () => {
    const { entries, head } = await journal();
    const cut = entries.slice(0, -3);
    const stored = JSON.stringify(head) as unknown as { seq: number; hash: string };
    const error = await thrown(() => verifyJournal(cut, { secret: SECRET, head: stored }));
    expect(error).toBeInstanceOf(GuardError);
  });

  it('from: -5 is refused (GuardError), not reported as seq -5 missing', async () => {
    const error = await thrown(() => verifyJournal([], { secret: SECRET, from: -5 }));
    expect(error).toBeInstanceOf(GuardError);
  });
});
