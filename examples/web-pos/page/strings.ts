/**
 * The till's own labels in both languages. The guard's reasons are not here:
 * the page shows the guard's messages as they come (`reason.message`), in the
 * locale the guard was created with.
 */
import type { AttemptStatus, Locale } from '../../../src/index.js';
import type { LedgerStatus, ProcessorMode } from '../processor.js';

export interface Strings {
  title: string;
  subtitle: string;
  amount: string;
  card: string;
  wallet: string;
  pay: string;
  processing: string;
  alreadyProcessing: string;
  clear: string;
  processor: string;
  modes: Record<ProcessorMode, string>;
  modeHint: Record<ProcessorMode, string>;
  ledger: string;
  ledgerEmpty: string;
  ledgerStatus: Record<LedgerStatus, string>;
  deduplicated: (requests: number) => string;
  attempts: string;
  attemptsEmpty: string;
  needsReconciling: (count: number) => string;
  status: Record<AttemptStatus, string>;
  reconcile: string;
  approved: (amount: string, authCode: string) => string;
  declined: (message: string) => string;
  declinedDetail: string;
  unknown: string;
  unknownDetail: string;
  notConfirmed: string;
  blocked: string;
  inFlightDetail: string;
  overrideRefused: string;
  promptTitle: string;
  earlierSale: string;
  chargeAgain: string;
  cancel: string;
  blockTitle: string;
  checkProcessor: string;
  checkProcessorHint: string;
  retrySameKey: string;
  retrySameKeyHint: string;
  supervisorOverride: string;
  supervisorOverrideHint: string;
  overrideReason: string;
  overrideReasonDefault: string;
  pinTitle: string;
  pinPrompt: (supervisor: string) => string;
  pinDemo: (pin: string) => string;
  pinWrong: (left: number) => string;
  pinSubmit: string;
  reconciledApproved: (authCode: string) => string;
  reconciledDeclined: string;
  reconciledNotFound: string;
  resumed: string;
  startUnknown: (count: number) => string;
  storageFailed: string;
  key: string;
}

const en: Strings = {
  title: 'Till T-01',
  subtitle: 'pos-duplicate-guard demo',
  amount: 'Amount',
  card: 'Card',
  wallet: 'Wallet',
  pay: 'Pay',
  processing: 'Processing…',
  alreadyProcessing: 'Already processing',
  clear: 'Clear',
  processor: 'Simulated processor',
  modes: {
    approve: 'Approve',
    decline: 'Decline',
    timeout: 'Time out',
    slow: 'Slow (3 s)',
    hold: 'Hold, no answer',
    unreachable: 'Unreachable',
  },
  modeHint: {
    approve: 'Charges are approved at once.',
    decline: 'Charges are declined: insufficient funds.',
    timeout: 'Charges go through, but the answer never reaches the till.',
    slow: 'Charges are approved after 3 seconds.',
    hold: 'The processor holds the amount but never captures it, and the answer never reaches the till: a reversal (冲正) releases the hold.',
    unreachable: 'The network is down: no charge, status inquiry or reversal reaches the processor. Nothing is charged.',
  },
  ledger: 'Processor ledger',
  ledgerEmpty: 'No charges yet.',
  ledgerStatus: { approved: 'Approved', declined: 'Declined', authorized: 'Held, not captured', reversed: 'Reversed' },
  deduplicated: (n) => `${n} requests, charged once`,
  attempts: 'Recent attempts',
  attemptsEmpty: 'Ring up an amount and press Pay.',
  needsReconciling: (n) => `${n} ${n === 1 ? 'attempt needs' : 'attempts need'} reconciling`,
  status: {
    pending: 'Processing',
    unknown: 'Unknown',
    approved: 'Approved',
    declined: 'Declined',
    cancelled: 'Cancelled',
    voided: 'Voided',
    refunded: 'Refunded',
  },
  reconcile: 'Reconcile',
  approved: (amount, authCode) => `Approved ${amount} · auth ${authCode}`,
  declined: (message) => `Declined: ${message}`,
  declinedDetail: 'No money moved. The customer may try again or use another card.',
  unknown: 'No answer from the processor',
  unknownDetail: 'The charge may have gone through. Check with the processor before charging again.',
  notConfirmed: 'Not charged: the cashier cancelled.',
  blocked: 'Not charged: blocked by the guard.',
  inFlightDetail: 'Pay is disabled until that charge has an answer.',
  overrideRefused: 'Supervisor override refused. Nothing was charged.',
  promptTitle: 'Charge this card again?',
  earlierSale: 'Earlier sale',
  chargeAgain: 'Charge again',
  cancel: 'Cancel',
  blockTitle: 'Outcome of an earlier charge is unknown',
  checkProcessor: 'Check with the processor',
  checkProcessorHint: 'Settle the earlier attempt from the processor’s record.',
  retrySameKey: 'Retry with the same key',
  retrySameKeyHint: 'The processor recognises the key: it cannot charge twice.',
  supervisorOverride: 'Supervisor override',
  supervisorOverrideHint: 'Charge as a new sale. Needs the supervisor PIN.',
  overrideReason: 'Reason',
  overrideReasonDefault: 'Customer confirmed the earlier charge failed',
  pinTitle: 'Supervisor PIN',
  pinPrompt: (supervisor) => `Supervisor ${supervisor}, enter your PIN to authorise this override.`,
  pinDemo: (pin) => `Demo PIN: ${pin}`,
  pinWrong: (left) => `Wrong PIN. ${left} ${left === 1 ? 'try' : 'tries'} left.`,
  pinSubmit: 'Authorise',
  reconciledApproved: (authCode) => `The processor approved it (auth ${authCode}). Recorded as approved.`,
  reconciledDeclined: 'The processor declined it. Recorded as declined: the sale can be charged again.',
  reconciledNotFound: 'The processor has no charge with this key: recorded as cancelled, nothing was charged.',
  resumed: 'Retried with the same idempotency key.',
  startUnknown: (n) =>
    `${n} ${n === 1 ? 'charge has' : 'charges have'} an unknown outcome (no answer, or the page went away mid-charge): reconcile before charging again.`,
  storageFailed: 'The guard could not open its storage.',
  key: 'key',
};

const zh: Strings = {
  title: '收银台 T-01',
  subtitle: 'pos-duplicate-guard 演示',
  amount: '金额',
  card: '卡',
  wallet: '钱包',
  pay: '支付',
  processing: '处理中…',
  alreadyProcessing: '正在处理',
  clear: '清除',
  processor: '模拟收单机构',
  modes: { approve: '批准', decline: '拒绝', timeout: '超时', slow: '慢速（3 秒）', hold: '冻结无应答', unreachable: '网络中断' },
  modeHint: {
    approve: '扣款立即批准。',
    decline: '扣款被拒绝：余额不足。',
    timeout: '扣款成功，但应答始终没有回到收银台。',
    slow: '扣款在 3 秒后批准。',
    hold: '收单机构冻结了金额但没有完成扣款，应答也没有回到收银台：冲正即可解冻。',
    unreachable: '网络中断：扣款、查询和冲正都到不了收单机构，不扣款。',
  },
  ledger: '收单机构账本',
  ledgerEmpty: '暂无扣款。',
  ledgerStatus: { approved: '已批准', declined: '已拒绝', authorized: '已冻结，未扣款', reversed: '已冲正' },
  deduplicated: (n) => `${n} 次请求，仅扣款一次`,
  attempts: '最近交易',
  attemptsEmpty: '输入金额后按“支付”。',
  needsReconciling: (n) => `${n} 笔交易待核对`,
  status: {
    pending: '处理中',
    unknown: '结果未知',
    approved: '已批准',
    declined: '已拒绝',
    cancelled: '已取消',
    voided: '已撤销',
    refunded: '已退款',
  },
  reconcile: '核对',
  approved: (amount, authCode) => `已批准 ${amount} · 授权码 ${authCode}`,
  declined: (message) => `已拒绝：${message}`,
  declinedDetail: '未扣款。顾客可以重试或换卡。',
  unknown: '收单机构无应答',
  unknownDetail: '这笔扣款可能已成功。再次扣款前请先向收单机构核实。',
  notConfirmed: '未扣款：收银员已取消。',
  blocked: '未扣款：已被拦截。',
  inFlightDetail: '在该笔扣款有结果之前，“支付”不可用。',
  overrideRefused: '主管授权被拒绝，未扣款。',
  promptTitle: '再次向这张卡扣款？',
  earlierSale: '之前的交易',
  chargeAgain: '再次扣款',
  cancel: '取消',
  blockTitle: '之前一笔扣款结果未知',
  checkProcessor: '向收单机构核实',
  checkProcessorHint: '按收单机构的记录结算之前的交易。',
  retrySameKey: '使用同一幂等键重试',
  retrySameKeyHint: '收单机构识别该键，不会重复扣款。',
  supervisorOverride: '主管授权',
  supervisorOverrideHint: '作为新交易扣款，需要主管 PIN。',
  overrideReason: '原因',
  overrideReasonDefault: '顾客确认之前的扣款失败',
  pinTitle: '主管 PIN',
  pinPrompt: (supervisor) => `主管 ${supervisor}，请输入 PIN 以授权。`,
  pinDemo: (pin) => `演示 PIN：${pin}`,
  pinWrong: (left) => `PIN 错误，还可尝试 ${left} 次。`,
  pinSubmit: '授权',
  reconciledApproved: (authCode) => `收单机构已批准（授权码 ${authCode}），已记为批准。`,
  reconciledDeclined: '收单机构已拒绝，已记为拒绝：可以重新扣款。',
  reconciledNotFound: '收单机构没有这个键的扣款：已记为取消，未扣款。',
  resumed: '已使用同一幂等键重试。',
  startUnknown: (n) => `${n} 笔扣款结果未知（无应答，或扣款中页面被关闭）：再次扣款前请先核对。`,
  storageFailed: '无法打开本地存储。',
  key: '键',
};

export const STRINGS: Record<Locale, Strings> = { en, 'zh-CN': zh };
