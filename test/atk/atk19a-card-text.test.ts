/**
 * atk19a: card data other than the PAN (a security code, an expiry) typed
 * into the free text the guard keeps (an override's reason, a processor's
 * message) as tills and processors actually write it. SPEC §5: "Never persist
 * or log a PAN, expiry, CVV or track data." redact() (src/redact.ts) masks
 * "CVV: 123" and "exp 12/29", but only when the code follows an English
 * keyword within 3 non-word characters, and an expiry only as MM/YY or after
 * "exp…": "CVV is 123", "安全码 123" (the Chinese till's word for it),
 * "expiry date 1229" go to the file, the journal and the events as typed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { VISA } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk19a-cardtext-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep } = scratch('atk19a-card-text-');

async function tillWith(text: string) {
  const path = tempFile();
  const time = virtualTime(START);
  const g = await createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path), clock: time.clock, scheduler: time.scheduler });
  keep(g);
  const events: unknown[] = [];
  g.on('override', (e) => void events.push(e));
  g.on('settle', (e) => void events.push(e));
  const sale = { amount: 1000, currency: 'CNY', card: { pan: VISA } };
  const first = await g.begin(sale);
  await first.attempt!.approve();
  const prompt = await g.begin(sale);
  const over = await g.override(prompt, { operator: 'ann', reason: text });
  await g.settle(over.attempt!.id, { status: 'declined', code: '54', message: text });
  await g.close();
  return { kept: [readFileSync(path, 'utf8'), readFileSync(`${path}.journal`, 'utf8')].join('\n'), events: JSON.stringify(events) };
}

const CASES: [string, string, RegExp][] = [
  ['a CVV after "is" (an English sentence)', 'customer read the CVV is 737 aloud', /CVV is 737/],
  ['a security code after 安全码 (zh-CN till)', '顾客报安全码 737 请核对', /安全码 737/],
  ['an expiry as MMYY after "expiry date" (a processor message)', 'Invalid expiry date 1229 for card', /expiry date 1229/],
  ['an expiry as MMYY after 有效期 (zh-CN processor message)', '卡片有效期 1229 无效', /有效期 1229/],
];

describe('atk19a: a CVV or an expiry in free text is never kept', () => {
  for (const [name, text, raw] of CASES) {
    it(`${name}: masked before the file, the journal and the events get it`, async () => {
      const { kept, events } = await tillWith(text);
      expect(kept).not.toMatch(raw);
      expect(events).not.toMatch(raw);
    });
  }
  it('holds: "CVV: 737" and "exp 12/29" are masked (the forms redact() knows)', async () => {
    const { kept, events } = await tillWith('CVV: 737, exp 12/29');
    expect(kept).not.toMatch(/737|12\/29/);
    expect(events).not.toMatch(/737|12\/29/);
  });
});
