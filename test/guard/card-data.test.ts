import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuardInputError, createGuard, isGuardError, type Guard, type GuardEvent, type Sale } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { cardNumberLeaks, panVariants } from '../helpers/cards.js';
import {
  MASTERCARD,
  MINUTE,
  ManualClock,
  SECRET,
  UNIONPAY,
  VISA,
  flush,
  recordEvents,
  spyStore,
  testGuard,
  thrown,
} from '../helpers/guard.js';

/** Appends the Luhn check digit to `body`. */
function withLuhn(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Deterministic pseudo-random test PANs of 13-19 digits on common test prefixes. */
function testPans(count: number): string[] {
  const prefixes = ['4', '51', '37', '6011', '35', '622202'];
  let seed = 0x2545f491;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    return seed;
  };
  const pans: string[] = [];
  for (let i = 0; i < count; i++) {
    const prefix = prefixes[i % prefixes.length] as string;
    const length = 13 + (next() % 7);
    let body = prefix;
    while (body.length < length - 1) body += String(next() % 10);
    const pan = withLuhn(body);
    // Typed the way tills print them: groups of 4, sometimes with dashes.
    pans.push(i % 3 === 0 ? pan.replace(/(\d{4})(?=\d)/g, '$1 ') : i % 3 === 1 ? pan.replace(/(\d{4})(?=\d)/g, '$1-') : pan);
  }
  return pans;
}

const digitsOf = (pan: string) => pan.replace(/\D/g, '');

/** Every 12-digit window of the PAN: a leak of any of them is a leak. */
function panFragments(pan: string): string[] {
  const digits = digitsOf(pan);
  const out = new Set<string>([pan, digits]);
  for (let i = 0; i + 12 <= digits.length; i++) out.add(digits.slice(i, i + 12));
  return [...out];
}

function stringValues(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => stringValues(v, out));
  else if (typeof value === 'object' && value !== null) Object.values(value).forEach((v) => stringValues(v, out));
  return out;
}

describe('card data never leaves the call', () => {
  it('persists, journals and emits no PAN, no 12-digit run of one, and no expiry', async () => {
    const meta = new Map<string, string>();
    const base = spyStore();
    const store = {
      ...base,
      setMeta: async (key: string, value: string) => {
        meta.set(key, value);
        await base.setMeta(key, value);
      },
    };
    const { guard, clock, events } = await testGuard({ store, authorize: () => true });
    const pans = [VISA, MASTERCARD, UNIONPAY, ...testPans(60)];
    const expiries = ['09/31', '0731', '12/29', '0430'];
    const errors: unknown[] = [];
    const returned: unknown[] = [];

    const cardSales: Sale[] = [];
    pans.forEach((pan, i) => {
      cardSales.push({ amount: 1000 + (i % 5), currency: 'CNY', card: { pan }, orderId: `ORD-${i % 7}`, operator: 'op-1' });
    });
    expiries.forEach((expiry, i) => {
      const digits = digitsOf(pans[i] as string);
      cardSales.push({ amount: 2000, currency: 'USD', card: { last4: digits.slice(-4), bin: digits.slice(0, 8), expiry } });
    });

    for (const [i, s] of cardSales.entries()) {
      clock.advance(5_000);
      const decision = await guard.begin(s);
      returned.push(decision);
      if (decision.attempt) {
        const status = (['approved', 'declined', 'unknown', 'cancelled'] as const)[i % 4] ?? 'approved';
        await guard.settle(decision.attempt.id, { status });
        if (status === 'approved' && i % 8 === 0) await guard.settle(decision.attempt.id, { status: 'refunded', amount: 1 });
        if (status === 'unknown') returned.push(await guard.resume(decision.attempt.id));
      } else if (decision.verdict !== 'allow' && !decision.reasons.some((r) => r.code === 'IN_FLIGHT')) {
        const over = await guard.override(decision, { operator: 'op-1', reason: 'customer asked', supervisor: 'sup-1' });
        returned.push(over);
        await over.attempt?.approve();
      }
      // Repeat it: duplicates, prompts and blocks carry the most card context of all.
      returned.push(await guard.peek(s));
      returned.push(
        await guard.charge(s, async () => ({ approved: true }), {
          confirm: () => true,
          escalate: () => ({ operator: 'o', reason: 'r', supervisor: 's' }),
        }),
      );
    }
    // Bad card input: the errors must not echo the number either.
    for (const pan of pans.slice(0, 10)) {
      const digits = digitsOf(pan);
      const broken = digits.slice(0, -1) + String((Number(digits.at(-1)) + 1) % 10);
      if (broken.startsWith('62')) continue; // UnionPay: not Luhn-checked, so not an error.
      errors.push(await thrown(() => guard.begin({ amount: 1, currency: 'CNY', card: { pan: broken } })));
      pans.push(broken);
    }
    errors.push(await thrown(() => guard.begin({ amount: 1, currency: 'CNY', card: { last4: '1111', expiry: '13/40' } })));
    clock.advance(20 * MINUTE);
    await flush();

    for (const error of errors) expect(error).toBeInstanceOf(GuardInputError);
    const persisted = { records: await store.load(), meta: [...meta], journal: store.journal() };
    const blob = JSON.stringify({
      persisted,
      events: events.map((e: GuardEvent) => (e.type === 'storage-error' ? { ...e, error: String(e.error) } : e)),
      returned,
      errors: errors.map((e) => ({ message: (e as Error).message, field: (e as GuardInputError).field })),
    });

    expect(persisted.records.length).toBeGreaterThan(60);
    expect(persisted.journal.length).toBeGreaterThan(60);
    const leaks = pans.flatMap(panFragments).filter((fragment) => blob.includes(fragment));
    expect(leaks).toEqual([]);
    // MM/YY can be searched as text; a bare MMYY could occur by chance inside a hash, so look for it as a value.
    expect([...expiries, '13/40'].filter((e) => e.includes('/') && blob.includes(e))).toEqual([]);
    expect(stringValues(JSON.parse(blob)).filter((value) => expiries.some((e) => value === e || value === e.replace('/', '')))).toEqual([]);
    expect(blob).not.toMatch(/"expiry"|"pan"|"cvv"/i);

    // Display digits only: a 6-digit BIN (even when 8 were given) and the last 4.
    for (const record of persisted.records) {
      expect(Object.keys(record)).not.toContain('card');
      if (record.bin !== undefined) expect(record.bin).toMatch(/^\d{6}$/);
      expect(record.last4).toMatch(/^\d{4}$/);
    }
    const withBin = persisted.records.filter((r) => r.currency === 'USD');
    expect(withBin.map((r) => r.bin)).toEqual(expect.arrayContaining([digitsOf(VISA).slice(0, 6)]));
  });
});

/**
 * Issue 10, item 6: card numbers typed into identifiers and free text, in
 * every separator style. Identifiers are refused; free text is masked before
 * it is stored, journaled, emitted or thrown.
 */
async function exercise(guard: Guard, clock: ManualClock, variants: readonly string[]) {
  const errors: unknown[] = [];
  const returned: unknown[] = [];
  const attempt = async (action: () => Promise<unknown>) => {
    try {
      returned.push(await action());
    } catch (error) {
      errors.push(error);
    }
  };
  for (const [i, pan] of variants.entries()) {
    clock.advance(1_000);
    const card = { pan: VISA };
    const base = { amount: 10_000 + i, currency: 'CNY', card };
    // Identifiers: refused, nothing recorded.
    for (const patch of [
      { orderId: pan },
      { orderId: `ORD-${pan}` },
      { operator: pan },
      { terminalId: `T-${pan}` },
      { merchantId: pan },
      { kind: 'refund' as const, refundOf: pan },
    ]) {
      const error = await thrown(() => guard.begin({ ...base, ...patch }));
      expect(error).toBeInstanceOf(GuardInputError);
      errors.push(error);
    }
    for (const call of [
      () => guard.settle(pan, { status: 'approved' }),
      () => guard.resume(pan),
      () => guard.settle(`pdg_${pan}`, { status: 'voided' }),
    ]) {
      const error = await thrown(call);
      expect(error).toSatisfy(isGuardError);
      errors.push(error);
    }
    // Free text in overrides: a prompt (operator + reason), then a block (supervisor).
    const first = await guard.begin(base);
    await first.attempt?.approve({ authCode: pan, processorRef: pan });
    const prompt = await guard.begin(base);
    expect(prompt.verdict).toBe('prompt');
    await attempt(async () =>
      (await guard.override(prompt, { operator: `cashier ${pan}`, reason: `customer card ${pan} asked twice` })).attempt?.markUnknown({
        message: `timeout for ${pan}`,
        code: pan,
      }),
    );
    const block = await guard.begin(base);
    expect(block.verdict).toBe('block');
    await attempt(() => guard.override(block, { operator: pan, reason: `card ${pan}`, supervisor: `sup ${pan}` }));
    // Processor text through charge: a throw, a decline, an approval.
    const other = { ...base, amount: 50_000 + i };
    await attempt(() =>
      guard.charge(other, async () => {
        throw new Error(`gateway: card ${pan} exp 12/29 rejected`);
      }),
    );
    await attempt(() =>
      guard.charge({ ...other, amount: 60_000 + i }, async () => ({ approved: false, code: pan, message: `declined ${pan}` })),
    );
    await attempt(() => guard.charge({ ...other, amount: 70_000 + i }, async () => ({ approved: true, authCode: pan, processorRef: pan })));
    // A bad value quoted back: a PAN where a Duration or a status belongs.
    await attempt(() => guard.charge({ ...other, amount: 80_000 + i }, async () => ({ approved: true }), { timeout: pan }));
    await attempt(() => guard.settle(first.attempt?.id ?? '', { status: pan as 'approved' }));
  }
  await flush();
  return { errors, returned };
}

describe('card numbers in identifiers and free text never leave the call (issue 10, item 6)', () => {
  it('memoryStore: nothing stored, journaled, emitted, returned or thrown holds a PAN, however it was typed', async () => {
    const { guard, store, clock, events } = await testGuard({ authorize: () => true });
    const { errors, returned } = await exercise(guard, clock, panVariants());
    const records = await store.load();
    const journal = store.journal();
    expect(records.length).toBeGreaterThan(100);
    expect(journal.some((e) => e.type === 'override' && e.supervisor !== undefined)).toBe(true);
    expect(errors.length).toBeGreaterThan(500);
    for (const error of errors) expect(error).toSatisfy(isGuardError);
    expect(cardNumberLeaks(records)).toEqual([]);
    expect(cardNumberLeaks(journal)).toEqual([]);
    expect(cardNumberLeaks(events)).toEqual([]);
    expect(cardNumberLeaks(returned)).toEqual([]);
    expect(cardNumberLeaks(errors)).toEqual([]);
    // Masked, not lost: the rest of the text is kept.
    expect(records.some((r) => r.override?.reason.startsWith('customer card [card number removed]'))).toBe(true);
  });

  it('fileStore: the data file and the journal on disk hold no PAN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-cards-'));
    try {
      const path = join(dir, 'guard.jsonl');
      const clock = new ManualClock();
      const store = fileStore(path);
      const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock, authorize: () => true });
      const events = recordEvents(guard);
      const { errors } = await exercise(guard, clock, panVariants(['4111111111111111', '6222020200112233446']));
      await guard.close();
      const files = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8'));
      expect(files.join('')).toContain('[card number removed]');
      // Raw text, and every string of every JSON line (a newline-separated PAN is escaped on disk).
      const lines = files.flatMap((text) =>
        text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown),
      );
      expect(cardNumberLeaks(files)).toEqual([]);
      expect(cardNumberLeaks(lines)).toEqual([]);
      expect(cardNumberLeaks([events, errors])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
