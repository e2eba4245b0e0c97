import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent } from '../../src/index.js';
import { SECRET, flush, sale } from '../helpers/guard.js';

/**
 * Card numbers written with separators or digits the masking does not know
 * reach the store, the journal and events as they are. The test looks for
 * the 16 digits of the PAN once every non-digit is dropped and every Unicode
 * decimal digit is read as its value.
 */
const PAN = '4111111111111111';
const groups = (sep: string) => PAN.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
const arabicIndic = PAN.replace(/\d/g, (d) => String.fromCharCode(0x0660 + Number(d)));

const WRITTEN: Record<string, string> = {
  'form-encoded (+)': groups('+'),
  'URL-encoded space (%20)': groups('%20'),
  'soft hyphen (U+00AD)': groups('\u00ad'),
  'left-to-right mark (U+200E, RTL UIs)': groups('\u200e'),
  'Arabic-Indic digits': arabicIndic,
};

/** The digits of `text`, Unicode decimal digits read as 0-9, everything else dropped. */
function digitsOf(text: string): string {
  let out = '';
  for (const ch of text) {
    if (/\p{Nd}/u.test(ch)) {
      const cp = ch.codePointAt(0)!;
      // Every Unicode Nd block is 10 consecutive code points starting at a multiple-of-16 offset ending in 0 or 6; this covers ASCII, Arabic-Indic, Extended Arabic-Indic, full-width.
      const zero = [0x30, 0x660, 0x6f0, 0x966, 0xff10].find((z) => cp >= z && cp < z + 10);
      if (zero !== undefined) out += String(cp - zero);
    }
  }
  return out;
}
// Percent-escapes are dropped first, so a URL-encoded separator reads as none.
const leaks = (value: unknown): boolean => digitsOf((JSON.stringify(value) ?? '').replace(/%[0-9a-f]{2}/gi, '')).includes(PAN);

async function setup() {
  const store = memoryStore();
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, authorize: () => true });
  const events: GuardEvent[] = [];
  for (const type of ['decision', 'override', 'settle'] as const) guard.on(type, (e) => events.push(e));
  return { store, guard, events };
}

describe('card numbers in free text, however written, are masked', () => {
  for (const [how, written] of Object.entries(WRITTEN)) {
    it(`processor message with a PAN written ${how}`, async () => {
      const { store, guard, events } = await setup();
      const result = await guard.charge(sale(), async () => ({
        approved: false,
        code: '05',
        message: `Declined: pan=${written} do not honour`,
      }));
      await flush();
      const stored = await store.load();
      expect(leaks(result)).toBe(false);
      expect(leaks(stored)).toBe(false);
      expect(leaks(store.journal())).toBe(false);
      expect(leaks(events.map((e) => (e.type === 'settle' ? e.record : e)))).toBe(false);
      await guard.close();
    });

    it(`override reason with a PAN written ${how}`, async () => {
      const { store, guard } = await setup();
      const first = await guard.begin(sale());
      await first.attempt!.approve();
      const prompt = await guard.begin(sale());
      expect(prompt.verdict).toBe('prompt');
      const allowed = await guard.override(prompt, { operator: 'ana', reason: `customer asked, card ${written}` });
      expect(allowed.verdict).toBe('allow');
      await flush();
      expect(leaks(await store.load())).toBe(false);
      expect(leaks(store.journal())).toBe(false);
      await guard.close();
    });
  }

  it('an orderId holding a form-encoded PAN is refused like a plain one', async () => {
    const { guard } = await setup();
    await expect(guard.begin(sale({ orderId: '4111111111111111' }))).rejects.toMatchObject({ name: 'GuardInputError' });
    await expect(guard.begin(sale({ orderId: groups('+') }))).rejects.toMatchObject({ name: 'GuardInputError' });
    await guard.close();
  });

  it('an operator typed with Arabic-Indic digits holding a PAN is refused like a plain one', async () => {
    const { guard } = await setup();
    await expect(guard.begin(sale({ operator: `op ${PAN}` }))).rejects.toMatchObject({ name: 'GuardInputError' });
    await expect(guard.begin(sale({ operator: `op ${arabicIndic}` }))).rejects.toMatchObject({ name: 'GuardInputError' });
    await guard.close();
  });
});
