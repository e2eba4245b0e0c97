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
  /** The button that saves the guard's journal as a file. */
  downloadJournal: string;
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
  /** Resume the unknown attempt: the processor recognises the request, so it cannot charge twice. */
  retrySafely: string;
  retrySafelyHint: string;
  /** UNKNOWN_OUTCOME in the cashier's words (the guard's own message names the idempotency key). */
  unknownOutcome: (money: string, card: string, ago: string) => string;
  cardEnding: (last4: string) => string;
  thisCard: string;
  supervisorOverride: string;
  supervisorOverrideHint: string;
  overrideReason: string;
  /** Under the empty reason field: why it must be typed, and that Confirm waits for it. */
  overrideReasonHint: string;
  overrideConfirm: string;
  overrideBack: string;
  /** The attempts list's mark for a sale a supervisor overrode. */
  overridden: string;
  overriddenBecause: (reason: string) => string;
  pinTitle: string;
  pinPrompt: (supervisor: string) => string;
  pinDemo: (pin: string) => string;
  pinWrong: (left: number) => string;
  pinSubmit: string;
  /** What a check with the processor found, in plain words (the attempt's status after it). */
  settled: {
    approved: (authCode: string) => string;
    declined: string;
    cancelled: string;
    voided: string;
  };
  checking: string;
  stillUnknown: (reason: string) => string;
  checkAgainHint: string;
  maybeInFlight: string;
  noAnswer: string;
  networkError: string;
  autoCheck: (n: number) => string;
  asksAgain: string;
  noMoreChecks: string;
  exhausted: (amount: string, tries: number) => string;
  exhaustedDetail: string;
  recoveryLog: string;
  checkTry: (n: number) => string;
  needsPerson: string;
  unknownDetailAuto: (seconds: number) => string;
  resumed: string;
  startUnknown: (count: number) => string;
  startUnknownAuto: (seconds: number) => string;
  storageFailed: string;
  /** The till's number for a sale, in the order this till rang them up. */
  saleNumber: (n: number) => string;
  /** Tooltip with the attempt's request ID, for support staff and the processor's records. */
  requestId: (id: string) => string;
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
  downloadJournal: 'Download journal',
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
  checkProcessorHint: 'Ask the processor now: a status inquiry, then a reversal if it holds the amount uncaptured.',
  retrySafely: 'Retry safely',
  retrySafelyHint: 'Sends the first request again: the processor recognises it and cannot charge twice.',
  unknownOutcome: (money, card, ago) =>
    `An earlier charge of ${money} on ${card} (${ago}) has an unknown outcome and may have gone through: check with the processor, or retry safely.`,
  cardEnding: (last4) => `the card ending ${last4}`,
  thisCard: 'this card',
  supervisorOverride: 'Supervisor override',
  supervisorOverrideHint: 'Charge as a new sale. Needs a reason and the supervisor PIN.',
  overrideReason: 'Why is a new charge safe?',
  overrideReasonHint: 'The supervisor types the reason: it goes into the audit journal. Confirm waits for it.',
  overrideConfirm: 'Confirm, then PIN',
  overrideBack: 'Back',
  overridden: 'Supervisor override',
  overriddenBecause: (reason) => `Supervisor override: ${reason}`,
  pinTitle: 'Supervisor PIN',
  pinPrompt: (supervisor) => `Supervisor ${supervisor}, enter your PIN to authorise this override.`,
  pinDemo: (pin) => `Demo PIN: ${pin}`,
  pinWrong: (left) => `Wrong PIN. ${left} ${left === 1 ? 'try' : 'tries'} left.`,
  pinSubmit: 'Authorise',
  settled: {
    approved: (authCode) => `The processor approved it (auth ${authCode}): recorded as approved. Do not charge it again.`,
    declined: 'The processor declined it: recorded as declined. Nothing was charged; the sale can be charged again.',
    cancelled: 'The processor never received it: recorded as cancelled. Nothing was charged; the sale can be charged again.',
    voided:
      'The processor held the amount without capturing it: reversed (冲正) and recorded as voided. Nothing was charged; the sale can be charged again.',
  },
  checking: 'Checking with the processor…',
  stillUnknown: (reason) => `No answer from the processor (${reason}): the outcome is still unknown.`,
  checkAgainHint: 'Check again in a moment, or retry safely.',
  maybeInFlight:
    'This charge may still be on its way (the page reloaded during it, or another tab is charging it): the sale is held as in flight, and checked with the processor once it cannot be.',
  noAnswer: 'timed out',
  networkError: 'network error',
  autoCheck: (n) => `Checked with the processor by itself (check ${n}).`,
  asksAgain: 'The till asks again by itself; until then this sale stays blocked.',
  noMoreChecks: 'No more automatic checks: check again, or settle it by hand.',
  exhausted: (amount, n) => `Still unknown after ${n} checks with the processor: the ${amount} charge needs a person.`,
  exhaustedDetail:
    'Look it up in the processor’s records, then settle it: “Reconcile” asks once more; a supervisor can override a new charge.',
  recoveryLog: 'Checks with the processor',
  checkTry: (n) => `check ${n}`,
  needsPerson: 'Unknown · for a person',
  unknownDetailAuto: (seconds) =>
    `The charge may have gone through. The till asks the processor in ${seconds} s; until then this sale is blocked.`,
  resumed: 'Retried safely: the processor answered the first request, so the card was charged at most once.',
  startUnknown: (n) =>
    `${n} ${n === 1 ? 'charge has' : 'charges have'} an unknown outcome (no answer, or the page went away mid-charge): reconcile before charging again.`,
  startUnknownAuto: (seconds) => `The till asks the processor in ${seconds} s.`,
  storageFailed: 'The guard could not open its storage.',
  saleNumber: (n) => `Sale ${n}`,
  requestId: (id) => `Request ID (for support): ${id}`,
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
  downloadJournal: '下载日志',
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
  checkProcessorHint: '立即向收单机构查询；如金额被冻结但未扣款，则冲正。',
  retrySafely: '安全重试',
  retrySafelyHint: '重新发送第一次的请求：收单机构能识别出来，不会重复扣款。',
  unknownOutcome: (money, card, ago) => `${card} ${ago}的 ${money} 扣款结果未知，可能已扣款：请向收单机构核实，或安全重试。`,
  cardEnding: (last4) => `尾号 ${last4} 的卡`,
  thisCard: '这张卡',
  supervisorOverride: '主管授权',
  supervisorOverrideHint: '作为新交易扣款，需要填写原因并输入主管 PIN。',
  overrideReason: '为什么可以重新扣款？',
  overrideReasonHint: '原因由主管填写，记入审计日志；填写后才能确认。',
  overrideConfirm: '确认，输入 PIN',
  overrideBack: '返回',
  overridden: '主管授权',
  overriddenBecause: (reason) => `主管授权：${reason}`,
  pinTitle: '主管 PIN',
  pinPrompt: (supervisor) => `主管 ${supervisor}，请输入 PIN 以授权。`,
  pinDemo: (pin) => `演示 PIN：${pin}`,
  pinWrong: (left) => `PIN 错误，还可尝试 ${left} 次。`,
  pinSubmit: '授权',
  settled: {
    approved: (authCode) => `收单机构已批准（授权码 ${authCode}），已记为批准。请勿再次扣款。`,
    declined: '收单机构已拒绝，已记为拒绝。未扣款，可以重新扣款。',
    cancelled: '收单机构没有收到这笔扣款，已记为取消。未扣款，可以重新扣款。',
    voided: '收单机构冻结了金额但未扣款：已冲正，记为撤销。未扣款，可以重新扣款。',
  },
  checking: '正在向收单机构查询…',
  stillUnknown: (reason) => `收单机构无应答（${reason}）：结果仍未知。`,
  checkAgainHint: '请稍后再查询，或安全重试。',
  maybeInFlight:
    '这笔扣款可能仍在进行中（扣款时页面重新加载，或另一个标签页正在扣款）：该交易暂按“正在处理”拦截，确定不再进行后自动向收单机构查询。',
  noAnswer: '超时',
  networkError: '网络错误',
  autoCheck: (n) => `已自动向收单机构查询（第 ${n} 次）。`,
  asksAgain: '收银台会自动再次查询；在此之前该交易仍被拦截。',
  noMoreChecks: '不再自动查询：请再次查询，或人工处理。',
  exhausted: (amount, n) => `向收单机构查询 ${n} 次后结果仍未知：这笔 ${amount} 的扣款需要人工处理（差错处理）。`,
  exhaustedDetail: '请在收单机构的记录中查找这笔扣款后再处理：“核对”会再查询一次；主管可以授权重新扣款。',
  recoveryLog: '向收单机构的查询',
  checkTry: (n) => `第 ${n} 次查询`,
  needsPerson: '未知 · 需人工处理',
  unknownDetailAuto: (seconds) => `这笔扣款可能已成功。收银台将在 ${seconds} 秒后向收单机构查询；在此之前该交易被拦截。`,
  resumed: '已安全重试：收单机构按第一次的请求作答，最多扣款一次。',
  startUnknown: (n) => `${n} 笔扣款结果未知（无应答，或扣款中页面被关闭）：再次扣款前请先核对。`,
  startUnknownAuto: (seconds) => `收银台将在 ${seconds} 秒后向收单机构查询。`,
  storageFailed: '无法打开本地存储。',
  saleNumber: (n) => `第 ${n} 笔`,
  requestId: (id) => `请求编号（供技术支持查询）：${id}`,
};

export const STRINGS: Record<Locale, Strings> = { en, 'zh-CN': zh };
