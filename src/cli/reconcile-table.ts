/**
 * The reconcile report as a store manager reads it: one line per finding
 * (what, how sure, how much, which attempts and transactions, what to do),
 * then the money at stake per finding and currency. English or Chinese.
 */
import { redactProcessorRef } from '../redact.js';
import { formatMoney } from '../messages.js';
import type { AppliedFinding, Finding, FindingAction, FindingCode, ReconcileReport } from '../reconcile/types.js';
import type { Locale } from '../types.js';
import { printableLine } from './printable.js';

interface Words {
  title: (attempts: number, transactions: number, file: string) => string;
  columns: [finding: string, match: string, amount: string, attempts: string, transactions: string, action: string];
  codes: Record<FindingCode, string>;
  actions: Record<FindingAction, string>;
  match: Record<Finding['match'], string>;
  totals: string;
  count: (n: number) => string;
  nothing: string;
  toDo: (n: number) => string;
  applied: (n: number) => string;
  none: string;
}

const EN: Words = {
  title: (a, t, file) => `Reconciliation: ${a} attempts against ${t} transactions (${file})`,
  columns: ['Finding', 'Match', 'At stake', 'Attempts', 'Transactions', 'What to do'],
  codes: {
    UNKNOWN_WAS_CHARGED: 'Unknown, but charged',
    UNKNOWN_NOT_CHARGED: 'Unknown, not charged',
    UNKNOWN_WAS_REVERSED: 'Unknown, charge reversed',
    CHARGED_TWICE: 'Charged twice',
    APPROVED_NOT_CHARGED: 'Approved, no charge',
    AMOUNT_MISMATCH: 'Amounts differ',
    UNMATCHED_CHARGE: 'Charge the till never saw',
    REFUNDED_TWICE: 'Refunded more than charged',
  },
  actions: {
    'settle-approved': 'settle approved',
    'settle-cancelled': 'settle cancelled',
    'settle-voided': 'settle voided',
    'refund-one': 'refund one charge',
    'look-into-it': 'look into it',
    'recover-excess': 'recover the excess',
  },
  match: { exact: 'exact', probable: 'probable' },
  totals: 'Money at stake',
  count: (n) => `${n} finding${n === 1 ? '' : 's'}`,
  nothing: 'Nothing to do: every attempt matches the processor’s records.',
  toDo: (n) => `${n} finding${n === 1 ? '' : 's'} need${n === 1 ? 's' : ''} action.`,
  applied: (n) => `Settled ${n} unknown attempt${n === 1 ? '' : 's'} from the processor’s records (journaled as reconciliation).`,
  none: '-',
};

const ZH: Words = {
  title: (a, t, file) => `对账：${a} 笔交易尝试，${t} 条收单记录（${file}）`,
  columns: ['问题', '匹配', '涉及金额', '交易尝试', '收单流水', '处理'],
  codes: {
    UNKNOWN_WAS_CHARGED: '结果未知，实已扣款',
    UNKNOWN_NOT_CHARGED: '结果未知，未扣款',
    UNKNOWN_WAS_REVERSED: '结果未知，已冲正',
    CHARGED_TWICE: '重复扣款',
    APPROVED_NOT_CHARGED: '显示成功，未见扣款',
    AMOUNT_MISMATCH: '金额不符',
    UNMATCHED_CHARGE: '收银台无记录的扣款',
    REFUNDED_TWICE: '退款超过原交易',
  },
  actions: {
    'settle-approved': '记为成功',
    'settle-cancelled': '记为取消',
    'settle-voided': '记为已撤销',
    'refund-one': '退还其中一笔',
    'look-into-it': '人工核查',
    'recover-excess': '追回多退金额',
  },
  match: { exact: '精确', probable: '疑似' },
  totals: '涉及金额合计',
  count: (n) => `${n} 项`,
  nothing: '无需处理：所有交易尝试均与收单记录一致。',
  toDo: (n) => `${n} 项需要处理。`,
  applied: (n) => `已根据收单记录更新 ${n} 笔结果未知的交易（日志记为对账）。`,
  none: '-',
};

/** Columns of Chinese (and other wide) characters take two cells in a terminal. */
function width(text: string): number {
  let n = 0;
  for (const char of text) {
    n += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(char) ? 2 : 1;
  }
  return n;
}

const pad = (text: string, to: number): string => text + ' '.repeat(Math.max(0, to - width(text)));

/** Columns padded to line up; every cell printable (ids and file names come from outside: see printable.ts). */
function table(raw: string[][]): string {
  const rows = raw.map((row) => row.map(printableLine));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => width(row[c] ?? ''))));
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : pad(cell, widths[c]!))).join('  ')).join('\n');
}

export interface TableFacts {
  report: ReconcileReport;
  attempts: number;
  transactions: number;
  file: string;
  locale: Locale;
  applied?: AppliedFinding[];
}

/** The report as text, ending with a line saying whether anything needs action. */
export function formatReport({ report, attempts, transactions, file, locale, applied }: TableFacts): string {
  const w = locale === 'zh-CN' ? ZH : EN;
  const money = (amount: number, currency: string) => formatMoney(amount, currency, locale);
  const lines = [printableLine(w.title(attempts, transactions, file)), ''];
  if (report.findings.length > 0) {
    const rows = report.findings.map((f) => [
      w.codes[f.code],
      w.match[f.match],
      money(f.amount, f.currency),
      f.attempts.join(', ') || w.none,
      f.transactions.map(shownTransactionId).join(', ') || w.none,
      w.actions[f.action],
    ]);
    lines.push(table([[...w.columns], ...rows]), '', w.totals);
    lines.push(table(report.totals.map((t) => [w.codes[t.code], w.count(t.count), money(t.amount, t.currency)])), '');
  }
  if (applied) lines.push(w.applied(applied.length));
  const open = report.findings.length - (applied?.length ?? 0);
  lines.push(open > 0 ? w.toDo(open) : w.nothing);
  return `${lines.join('\n')}\n`;
}

/**
 * A transaction id as the command prints it (table and `--json`): as the
 * processor gave it, unless it holds a card number (a shifted column), then
 * masked with its last 4 digits kept, so that two such ids in one finding
 * (CHARGED_TWICE) can still be told apart. The report `reconcile()` returns
 * keeps the processor's ids whole: a 16-digit PSP reference can pass Luhn.
 */
export function shownTransactionId(id: string): string {
  const masked = redactProcessorRef(id);
  return masked === id ? id : `${masked} …${id.replace(/\D/g, '').slice(-4)}`;
}
