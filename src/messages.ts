import type { Locale, ReasonCode } from './types.js';

/** What a message may mention. All optional: a message uses what it has. */
export interface MessageFacts {
  ageMs?: number;
  amount?: number;
  currency?: string;
  last4?: string;
  orderId?: string;
  refundOf?: string;
  /** Already-approved or refundable sums, minor units. */
  paid?: number;
  remaining?: number;
  driftMs?: number;
}

interface Words {
  ago(ageMs: number): string;
  money(amount: number, currency: string): string;
  card(last4: string | undefined): string;
}

type Template = (f: Required<MessageFacts>, w: Words) => string;

const EN: Record<ReasonCode, Template> = {
  IN_FLIGHT: (f, w) =>
    `The same sale (${w.money(f.amount, f.currency)}) is already being processed, started ${w.ago(f.ageMs)}: wait for its result.`,
  UNKNOWN_OUTCOME: (f, w) =>
    `An earlier charge of ${w.money(f.amount, f.currency)} on ${f.last4 ? `the card ending ${f.last4}` : 'this card'} (${w.ago(f.ageMs)}) has an unknown outcome and may have gone through: check with the processor before charging again. Retrying that earlier charge is safe; a new charge is not.`,
  DUPLICATE_CHARGE: (f, w) => `${w.card(f.last4)} was already charged ${w.money(f.amount, f.currency)}, ${w.ago(f.ageMs)}.`,
  ORDER_ALREADY_PAID: (f, w) => `Order ${f.orderId} is already paid: ${w.money(f.paid, f.currency)} approved.`,
  ORDER_SAME_AMOUNT: (f, w) =>
    `Order ${f.orderId} already has an approved payment of ${w.money(f.amount, f.currency)} on another card, ${w.ago(f.ageMs)}.`,
  REFUND_EXCEEDS_CHARGE: (f, w) =>
    `A refund of ${w.money(f.amount, f.currency)} exceeds what remains refundable on the original sale (${w.money(f.remaining, f.currency)}).`,
  REFUND_ORIGINAL_NOT_FOUND: (f) => `No approved sale ${f.refundOf} was found to refund.`,
  STORAGE_UNAVAILABLE: () => 'This payment could not be saved on the till: if the app crashes now, it will not remember this charge.',
  CLOCK_ANOMALY: (f) => `The device clock jumped by ${Math.round(f.driftMs / 1000)} s; time windows keep using the steady clock.`,
  SHARED_UNAVAILABLE: () => 'The store server cannot be reached: this decision saw only what this terminal knows, not the other lanes.',
};

const ZH: Record<ReasonCode, Template> = {
  IN_FLIGHT: (f, w) => `同一笔交易（${w.money(f.amount, f.currency)}）正在处理中，${w.ago(f.ageMs)}发起，请等待结果。`,
  UNKNOWN_OUTCOME: (f, w) =>
    `${w.card(f.last4)} ${w.ago(f.ageMs)}的 ${w.money(f.amount, f.currency)} 扣款结果未知，可能已扣款：请先向收单机构核实再收款。重试原交易是安全的（不会重复扣款），不要发起新的扣款。`,
  DUPLICATE_CHARGE: (f, w) => `${w.card(f.last4)} ${w.ago(f.ageMs)}已成功扣款 ${w.money(f.amount, f.currency)}`,
  ORDER_ALREADY_PAID: (f, w) => `订单 ${f.orderId} 已支付：已成功收款 ${w.money(f.paid, f.currency)}。`,
  ORDER_SAME_AMOUNT: (f, w) => `订单 ${f.orderId} 已有另一张卡 ${w.ago(f.ageMs)}成功支付 ${w.money(f.amount, f.currency)}。`,
  REFUND_EXCEEDS_CHARGE: (f, w) => `退款 ${w.money(f.amount, f.currency)} 超过原交易剩余可退金额（${w.money(f.remaining, f.currency)}）。`,
  REFUND_ORIGINAL_NOT_FOUND: (f) => `未找到可退款的原交易 ${f.refundOf}。`,
  STORAGE_UNAVAILABLE: () => '交易记录无法保存：如果此时应用崩溃，将不会记得这笔扣款。',
  CLOCK_ANOMALY: (f) => `设备时钟跳变了 ${Math.round(f.driftMs / 1000)} 秒；时间窗口仍按单调时钟计算。`,
  SHARED_UNAVAILABLE: () => '无法连接门店服务器：本次判断仅依据本终端的记录，未能参考其他收银台。',
};

// A formatter per locale and currency, with the divisor from minor units to
// major ones: minor units differ (JPY 0, CNY 2, KWD 3) and Intl knows them.
const moneyFormats = new Map<string, { format: Intl.NumberFormat; divisor: number }>();

function money(locale: Locale, amount: number, currency: string): string {
  const key = `${locale}|${currency}`;
  let entry = moneyFormats.get(key);
  if (!entry) {
    const format = new Intl.NumberFormat(locale === 'zh-CN' ? 'zh-CN' : 'en-US', { style: 'currency', currency });
    entry = { format, divisor: 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2) };
    moneyFormats.set(key, entry);
  }
  return entry.format.format(amount / entry.divisor);
}

// A length of time in words, as date-fns's formatDistanceStrict words it
// ("45 seconds", "2 minutes", "3 hours", "2 days", "1 month", "1 year"; "2 分钟" in
// zh-CN): seconds under a minute, minutes under an hour, hours under a day,
// days under 30, months under 12, rounded. Written here rather than imported:
// date-fns's locale objects carry their date parsers and month names, 15 KB of
// the core bundle for six words (SPEC §8), while reports, which do format
// dates, keep using date-fns with its zh-CN locale.
const UNITS = [
  [1_000, 60, 'second', '秒'],
  [60_000, 60, 'minute', '分钟'],
  [3_600_000, 24, 'hour', '小时'],
  [86_400_000, 30, 'day', '天'],
  [2_592_000_000, 12, 'month', '个月'],
  [31_536_000_000, Infinity, 'year', '年'],
] as const;

function distance(ms: number, locale: Locale): string {
  const age = Math.max(0, ms);
  let i = 0;
  // A month is 30 days and a year 365, as in date-fns; 345 to 364 days round
  // to "12 months", which reads as "1 year".
  while (i < UNITS.length - 1 && age >= UNITS[i]![0] * UNITS[i]![1]) i++;
  const [size, , en, zh] = UNITS[i]!;
  const count = Math.round(age / size);
  if (en === 'month' && count === 12) return locale === 'zh-CN' ? '1 年' : '1 year';
  return locale === 'zh-CN' ? `${count} ${zh}` : `${count} ${en}${count === 1 ? '' : 's'}`;
}

const WORDS: Record<Locale, Words> = {
  en: {
    ago: (ageMs) => `${distance(ageMs, 'en')} ago`,
    money: (amount, currency) => money('en', amount, currency),
    card: (last4) => (last4 ? `The card ending ${last4}` : 'The same card'),
  },
  'zh-CN': {
    ago: (ageMs) => `${distance(ageMs, 'zh-CN')}前`,
    money: (amount, currency) => money('zh-CN', amount, currency),
    card: (last4) => (last4 ? `尾号 ${last4} 的卡` : '同一张卡'),
  },
};

const DEFAULTS: Required<MessageFacts> = {
  ageMs: 0,
  amount: 0,
  currency: 'USD',
  last4: '',
  orderId: '',
  refundOf: '',
  paid: 0,
  remaining: 0,
  driftMs: 0,
};

/** The human message for a reason code in a locale. */
export function reasonMessage(locale: Locale, code: ReasonCode, facts: MessageFacts): string {
  const table = locale === 'zh-CN' ? ZH : EN;
  return table[code]({ ...DEFAULTS, ...facts }, WORDS[locale]);
}

/** "2 minutes ago" / "2 分钟前": the age of an attempt in words, for UIs. */
export function formatAge(ageMs: number, locale: Locale = 'en'): string {
  return WORDS[locale].ago(ageMs);
}

/** "3 minutes" / "3 分钟": a length of time in words, for reports (how long an unknown outcome stayed open). */
export function formatDuration(ms: number, locale: Locale = 'en'): string {
  return distance(ms, locale);
}

/** An amount in minor units as money: `formatMoney(1250, 'CNY', 'zh-CN')` → "¥12.50". */
export function formatMoney(amount: number, currency: string, locale: Locale = 'en'): string {
  return money(locale, amount, currency);
}
