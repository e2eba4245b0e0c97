/**
 * atk20: verifyJournal's new argument checks (src/journal/verify.ts
 * checkOptions, the iterable check). A string is iterable: the journal
 * passed as the file's text (readFile without splitting and parsing the
 * lines) is walked character by character and reported as tampered with
 * ("edited" at seq 1): a false tamper alarm instead of INVALID_JOURNAL.
 * And the new messages say "must be must be".
 */
import { describe, expect, it } from 'vitest';
import { GuardError, createGuard, memoryStore, parseJournalHead, verifyJournal, type JournalEntry } from '../../src/index.js';
import { thrown } from '../helpers/guard.js';

const SECRET = 'atk20-verify-secret-0123456789abcdef';

async function journal() {
  const store = memoryStore();
  const g = await createGuard({ merchantId: 'M1', secret: SECRET, store });
  for (let i = 0; i < 3; i++) await (await g.begin({ amount: 100 + i, currency: 'CNY', card: { token: `t${i}` } })).attempt!.approve();
  await g.close();
  return { entries: [...store.journal()], head: parseJournalHead(await store.getMeta('journal-head'))! };
}

describe('atk20: verifyJournal misuse', () => {
  it('the journal passed as its file text (a string, not parsed entries) is refused as INVALID_JOURNAL, not reported as edited', async () => {
    const { entries, head } = await journal();
    const text = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const error = await thrown(() => verifyJournal(text as unknown as JournalEntry[], { secret: SECRET, head }));
    expect(error).toBeInstanceOf(GuardError);
    expect((error as GuardError).code).toBe('INVALID_JOURNAL');
  });

  it('the message for a bad head or rotated says "must be" once', async () => {
    const a = (await thrown(() => verifyJournal([], { secret: SECRET, head: { seq: 1.5, hash: 'x' } }))) as Error;
    const b = (await thrown(() => verifyJournal([], { secret: SECRET, rotated: 'yes' as unknown as boolean }))) as Error;
    expect(a.message).not.toContain('must be must be');
    expect(b.message).not.toContain('must be must be');
  });
});
