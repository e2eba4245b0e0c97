import { tz } from '@date-fns/tz';
import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';
import { enUS } from 'date-fns/locale/en-US';
import { zhCN } from 'date-fns/locale/zh-CN';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAge, formatDuration, formatMoney, reasonMessage, type MessageFacts } from '../src/messages.js';
import type { Locale, ReasonCode } from '../src/types.js';

const CODES: readonly ReasonCode[] = [
  'IN_FLIGHT',
  'UNKNOWN_OUTCOME',
  'DUPLICATE_CHARGE',
  'ORDER_ALREADY_PAID',
  'ORDER_SAME_AMOUNT',
  'REFUND_EXCEEDS_CHARGE',
  'REFUND_ORIGINAL_NOT_FOUND',
  'STORAGE_UNAVAILABLE',
  'CLOCK_ANOMALY',
];
const LOCALES: readonly Locale[] = ['en', 'zh-CN'];
const MINUTE = 60_000;
const CJK = /[\u4e00-\u9fff]/;

const facts: MessageFacts = {
  ageMs: 2 * MINUTE,
  amount: 1250,
  currency: 'CNY',
  last4: '3446',
  orderId: 'O-778',
  refundOf: 'att_9f2',
  paid: 5000,
  remaining: 300,
  driftMs: 3_600_000,
};

describe('reasonMessage', () => {
  it.each(CODES.flatMap((code) => LOCALES.map((locale) => [code, locale] as const)))('has a %s message in %s', (code, locale) => {
    const message = reasonMessage(locale, code, facts);
    expect(message.trim().length).toBeGreaterThan(10);
    expect(message).not.toMatch(/undefined|NaN|\[object/);
    expect(CJK.test(message)).toBe(locale === 'zh-CN');
  });

  it('gives each code its own message', () => {
    for (const locale of LOCALES) {
      const messages = new Set(CODES.map((code) => reasonMessage(locale, code, facts)));
      expect(messages.size).toBe(CODES.length);
    }
  });

  it('reads well without facts: nothing undefined, nothing NaN', () => {
    for (const locale of LOCALES) {
      for (const code of CODES) expect(reasonMessage(locale, code, {})).not.toMatch(/undefined|NaN/);
    }
  });

  it('writes a zh-CN DUPLICATE_CHARGE like a Chinese till would', () => {
    const message = reasonMessage('zh-CN', 'DUPLICATE_CHARGE', { ageMs: 2 * MINUTE, amount: 1250, currency: 'CNY', last4: '3446' });
    expect(message).toContain('尾号 3446 的卡');
    expect(message).toContain('2 分钟前');
    expect(message).toContain('¥12.50');
    expect(message).toContain('已成功扣款');
  });

  it('writes an en DUPLICATE_CHARGE with the age in words and the money with its currency', () => {
    const message = reasonMessage('en', 'DUPLICATE_CHARGE', { ageMs: 2 * MINUTE, amount: 1250, currency: 'CNY', last4: '3446' });
    expect(message).toContain('2 minutes ago');
    expect(message).toMatch(/CN¥\s?12\.50/);
    expect(message).toContain('3446');
  });

  it('says "the same card" when it knows no last 4', () => {
    expect(reasonMessage('en', 'DUPLICATE_CHARGE', { ageMs: MINUTE, amount: 100, currency: 'USD' })).toMatch(/same card/i);
    expect(reasonMessage('zh-CN', 'DUPLICATE_CHARGE', { ageMs: MINUTE, amount: 100, currency: 'USD' })).toContain('同一张卡');
  });

  it('mentions the facts each code is about', () => {
    for (const locale of LOCALES) {
      expect(reasonMessage(locale, 'ORDER_ALREADY_PAID', facts)).toContain('O-778');
      expect(reasonMessage(locale, 'ORDER_ALREADY_PAID', facts)).toContain('50.00');
      expect(reasonMessage(locale, 'ORDER_SAME_AMOUNT', facts)).toContain('O-778');
      expect(reasonMessage(locale, 'REFUND_ORIGINAL_NOT_FOUND', facts)).toContain('att_9f2');
      expect(reasonMessage(locale, 'REFUND_EXCEEDS_CHARGE', facts)).toContain('3.00');
      expect(reasonMessage(locale, 'REFUND_EXCEEDS_CHARGE', facts)).toContain('12.50');
      expect(reasonMessage(locale, 'CLOCK_ANOMALY', facts)).toContain('3600');
      expect(reasonMessage(locale, 'UNKNOWN_OUTCOME', facts)).toContain('3446');
    }
  });
});

describe('formatMoney', () => {
  it('turns minor units into money with the right number of minor digits per currency', () => {
    expect(formatMoney(1250, 'CNY', 'zh-CN')).toBe('¥12.50');
    expect(formatMoney(1250, 'CNY')).toMatch(/^CN¥\s?12\.50$/);
    expect(formatMoney(1250, 'USD')).toBe('$12.50');
    // JPY has no minor unit: 1250 is ¥1,250, not ¥12.50.
    expect(formatMoney(1250, 'JPY')).toContain('1,250');
    expect(formatMoney(1250, 'JPY', 'zh-CN')).toContain('1,250');
    // KWD has three.
    expect(formatMoney(1250, 'KWD')).toContain('1.250');
  });

  it('defaults to en', () => {
    expect(formatMoney(99, 'USD')).toBe(formatMoney(99, 'USD', 'en'));
  });
});

describe('formatAge', () => {
  it.each([
    [2 * MINUTE, 'en', '2 minutes ago'],
    [2 * MINUTE, 'zh-CN', '2 分钟前'],
    [45_000, 'en', '45 seconds ago'],
    [3 * 3_600_000, 'en', '3 hours ago'],
    [3 * 3_600_000, 'zh-CN', '3 小时前'],
    [2 * 86_400_000, 'en', '2 days ago'],
  ] as const)('reads %d ms as %s in %s', (ms, locale, text) => {
    expect(formatAge(ms, locale)).toBe(text);
  });

  // The core words durations itself (date-fns's locales would be 15 KB of its
  // bundle); the words must stay the ones date-fns gave and reports still use.
  it.each([
    ['en', enUS],
    ['zh-CN', zhCN],
  ] as const)('words every duration as date-fns formatDistanceStrict does (%s)', (locale, dateFnsLocale) => {
    const edges = [0, 499, 500, 59_499, 59_500, 60_000, 3_570_000, 3_600_000, 86_400_000, 2_592_000_000, 345 * 86_400_000];
    const ages = fc.oneof(fc.constantFrom(...edges.flatMap((ms) => [ms - 1, ms, ms + 1])), fc.integer({ min: 0, max: 4e12 }));
    fc.assert(
      fc.property(ages, (ms) => {
        const words = formatDistanceStrict(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + Math.max(0, ms), {
          locale: dateFnsLocale,
          in: tz('UTC'), // a duration: no daylight-saving hour in it, whatever this machine's zone
        });
        expect(formatDuration(ms, locale)).toBe(words);
        expect(formatAge(ms, locale)).toBe(locale === 'en' ? `${words} ago` : `${words}前`);
      }),
      { numRuns: 2000 },
    );
  });

  it('defaults to en and never reads a negative age as the future', () => {
    expect(formatAge(2 * MINUTE)).toBe('2 minutes ago');
    expect(formatAge(-5000)).toBe(formatAge(0));
    expect(formatAge(-5000)).toMatch(/ago$/);
  });
});

describe('reasonMessage: words a cashier can act on (issue 16)', () => {
  it.each(LOCALES)('never says "idempotency key" (幂等键) in %s, and says what to do about an unknown outcome', (locale) => {
    for (const code of CODES) expect(reasonMessage(locale, code, facts)).not.toMatch(/idempotency|幂等/i);
    const unknown = reasonMessage(locale, 'UNKNOWN_OUTCOME', facts);
    expect(unknown).toMatch(locale === 'en' ? /check with the processor before charging again/ : /核实再收款/);
  });

  it('does not call the till "the guard" when it could not save a payment', () => {
    expect(reasonMessage('en', 'STORAGE_UNAVAILABLE', facts)).not.toMatch(/guard/i);
  });
});
