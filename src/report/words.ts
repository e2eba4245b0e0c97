/**
 * The report's words in each locale, shared by the text table and the HTML
 * page, and the small helpers both use to show journal values: times in the
 * store's zone, amounts, and free text made safe to show.
 */
import { formatDuration, formatMoney } from '../messages.js';
import { redact } from '../redact.js';
import type { Locale } from '../types.js';
import { localTime } from './period.js';
import type { JournalSummary, UnknownOutcome } from './summary.js';

export interface ReportWords {
  title: string;
  period(from: string | null, to: string | null, tz: string): string;
  journalLine(s: JournalSummary['journal'], tz: string): string;
  decisions: string;
  decisionsNote: string;
  prompt: string;
  block: string;
  allow: string;
  reason: string;
  count: string;
  perHour: string;
  settles: string;
  overrides: string;
  byPerson: string;
  operator: string;
  supervisor: string;
  reasons: string;
  lifted: string;
  time: string;
  attempt: string;
  unknowns: string;
  unknownTotals(t: JournalSummary['unknownTotals']): string;
  since: string;
  resolvedBy: string;
  after: string;
  outcome: string;
  tries: string;
  resolver: Record<NonNullable<UnknownOutcome['resolvedBy']> | 'open' | 'pruned', string>;
  refunds: string;
  refundsRecorded: string;
  fullyRefunded: string;
  refundsFlagged: string;
  overRefunds: string;
  clockAnomalies: string;
  storage: string;
  conflicts: string;
  reconciliation: string;
  finding: string;
  recovery(r: JournalSummary['recovery']): string;
  none: string;
  approximate: string;
  detail: string;
  amount: string;
}

const EN: ReportWords = {
  title: 'Duplicate-charge guard: journal report',
  period: (from, to, tz) => `${from === null && to === null ? 'Whole journal' : `${from ?? 'start'} to ${to ?? 'end'}`} (${tz})`,
  journalLine: (j, tz) =>
    `${j.inPeriod} of ${j.entries} journal entries in the period` +
    (j.firstAt === null || j.lastAt === null ? '' : `, ${localTime(j.firstAt, tz)} – ${localTime(j.lastAt, tz)}`) +
    `; the guard started ${j.starts} time${j.starts === 1 ? '' : 's'}`,
  decisions: 'Decisions',
  decisionsNote: 'prompts and blocks; an allowed sale is not a finding and is not journaled',
  prompt: 'Prompt',
  block: 'Block',
  allow: 'Allow',
  reason: 'Reason',
  count: 'Count',
  perHour: 'Prompts and blocks per hour',
  settles: 'Charges and settles',
  overrides: 'Overrides',
  byPerson: 'By operator and supervisor',
  operator: 'Operator',
  supervisor: 'Supervisor',
  reasons: 'Reasons',
  lifted: 'Lifted',
  time: 'Time',
  attempt: 'Attempt',
  unknowns: 'Unknown outcomes',
  unknownTotals: (t) =>
    `${t.total}: ${t.recovery} by recovery, ${t.reconciliation} by reconciliation, ${t.manual} by hand, ${t.open} still open` +
    (t.pruned > 0 ? `, ${t.pruned} dropped unsettled` : ''),
  since: 'Unknown since',
  resolvedBy: 'Resolved by',
  after: 'After',
  outcome: 'Outcome',
  tries: 'Tries',
  resolver: { recovery: 'recovery', reconciliation: 'reconciliation', manual: 'by hand', open: 'still open', pruned: 'dropped' },
  refunds: 'Refunds',
  refundsRecorded: 'Refunds recorded',
  fullyRefunded: 'Sales fully refunded',
  refundsFlagged: 'Refunds prompted or blocked',
  overRefunds: 'Over-refunds',
  clockAnomalies: 'Clock anomalies',
  storage: 'Storage errors',
  conflicts: 'Cross-terminal conflicts',
  reconciliation: 'Settled by reconciliation',
  finding: 'Finding',
  recovery: (r) => `Recovery: ${r.tries} tries, ${r.exhausted} given up (left for a person)`,
  none: 'none',
  approximate: '≈ first seen',
  detail: 'Detail',
  amount: 'Amount',
};

const ZH: ReportWords = {
  title: '重复扣款防护：日志报告',
  period: (from, to, tz) => `${from === null && to === null ? '全部日志' : `${from ?? '开始'} 至 ${to ?? '结束'}`}（${tz}）`,
  journalLine: (j, tz) =>
    `期间内日志 ${j.inPeriod} 条（共 ${j.entries} 条）` +
    (j.firstAt === null || j.lastAt === null ? '' : `，${localTime(j.firstAt, tz)} – ${localTime(j.lastAt, tz)}`) +
    `；防护启动 ${j.starts} 次`,
  decisions: '判断',
  decisionsNote: '提示与拦截；放行的交易不记入日志',
  prompt: '提示',
  block: '拦截',
  allow: '放行',
  reason: '原因',
  count: '次数',
  perHour: '每小时提示与拦截',
  settles: '扣款与结果',
  overrides: '人工放行',
  byPerson: '按操作员与主管',
  operator: '操作员',
  supervisor: '主管',
  reasons: '理由',
  lifted: '解除原因',
  time: '时间',
  attempt: '交易',
  unknowns: '结果未知的交易',
  unknownTotals: (t) =>
    `${t.total} 笔：自动查询 ${t.recovery} 笔，对账 ${t.reconciliation} 笔，人工 ${t.manual} 笔，仍未解决 ${t.open} 笔` +
    (t.pruned > 0 ? `，未结清即清除 ${t.pruned} 笔` : ''),
  since: '未知起始',
  resolvedBy: '解决方式',
  after: '用时',
  outcome: '结果',
  tries: '查询次数',
  resolver: { recovery: '自动查询', reconciliation: '对账', manual: '人工', open: '仍未解决', pruned: '已清除' },
  refunds: '退款',
  refundsRecorded: '登记退款',
  fullyRefunded: '全额退款的交易',
  refundsFlagged: '被提示或拦截的退款',
  overRefunds: '超额退款',
  clockAnomalies: '时钟异常',
  storage: '存储错误',
  conflicts: '跨终端冲突',
  reconciliation: '对账结清',
  finding: '对账结论',
  recovery: (r) => `自动查询：共 ${r.tries} 次，放弃 ${r.exhausted} 笔（待人工处理）`,
  none: '无',
  approximate: '≈ 首次发现',
  detail: '详情',
  amount: '金额',
};

export function reportWords(locale: Locale): ReportWords {
  return locale === 'zh-CN' ? ZH : EN;
}

/**
 * Journal text (an operator's name, a reason, a detail) made safe to show:
 * card data masked (numbers, expiry dates, security codes: as the guard
 * masks free text on write, for a journal an older tool wrote), control
 * characters shown as `�` (`visible`), and at most `max` characters.
 */
export function cleanText(text: string, max = 200): string {
  const clean = visible(redact(text));
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Control and format characters (a terminal escape, C1's CSI, a newline that
 * would forge a row, a bidi override that shows text backwards, zero-width
 * characters) each shown as one `�`: a character for a character, so
 * columns already aligned stay aligned.
 */
export function visible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '\uFFFD');
}

/**
 * An amount in minor units: money when the report knows the till's currency
 * (`--currency`; journal entries carry amounts, not currencies), else the
 * bare number of minor units.
 */
export function showAmount(amount: number, currency: string | undefined, locale: Locale): string {
  return currency === undefined ? String(amount) : formatMoney(amount, currency, locale);
}

/** How long an unknown stayed open, in words ("3 minutes"), or `–`. */
export function showAfter(ms: number | null, locale: Locale): string {
  return ms === null ? '–' : formatDuration(ms, locale);
}
