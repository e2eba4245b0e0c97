/**
 * The column layouts of the common settlement exports, one preset each. A
 * preset names the columns its header row must have and turns one row into
 * the transactions it records (none for a fee or payout line; two for a
 * WeChat Pay order that was charged and then revoked).
 */
import type { ProcessorTransaction } from './types.js';

export type TransactionFormat = 'generic' | 'stripe' | 'adyen' | 'wechat' | 'alipay' | 'unionpay';

export const TRANSACTION_FORMATS: readonly TransactionFormat[] = ['generic', 'stripe', 'adyen', 'wechat', 'alipay', 'unionpay'];

/** One row's cells by column name; each reader throws an error naming the file, line and column. */
export interface Cells {
  readonly line: number;
  has(column: string): boolean;
  /** The cleaned value, `undefined` when the column is absent or the cell empty. */
  text(column: string): string | undefined;
  /** As `text`, but an empty cell is an error. */
  need(column: string): string;
  /** Major units (`12.50`, `1,234.00`) to minor units of `currency`; negative allowed. */
  amount(column: string, currency: string): number;
  /** Epoch ms of a date-time cell; one without an offset is read in `zone` (the preset's, or the caller's `timeZone`). */
  time(column: string, zone?: string): number;
  /** The last 4 digits of a (masked) card number cell: nothing else of it is kept. */
  last4(column: string): string | undefined;
  /** A currency cell as ISO 4217 (`usd` → `USD`, `156` → `CNY`). */
  currency(column: string): string;
  fail(column: string, rule: string): never;
}

export interface ReadContext {
  /** The caller's `currency`, for exports without a currency column. */
  currency: string | undefined;
  /**
   * An id made from a row's content, told apart from the rows before it in this download that made the same one:
   * the first keeps it, the n-th listed alike gets `#n` (see `refundIdOf`).
   */
  occurrence(id: string): string;
}

export interface Preset {
  /** Columns the header row has: the first row holding all of them is the header. */
  header: readonly string[];
  /** Wall-clock times without an offset are in this zone (IANA name or `+08:00`). */
  zone: string;
  /** Lines starting with `#` are comments. */
  comments?: boolean;
  /** A row (its first cell) where the transactions end: a totals block follows. */
  end?: (first: string) => boolean;
  rows(cells: Cells, context: ReadContext): ProcessorTransaction[];
}

type Tx = ProcessorTransaction;

/** Leaves out the optional fields that are `undefined` (exactOptionalPropertyTypes-friendly plain data). */
function tx(fields: { [K in keyof Tx]: Tx[K] | undefined }): Tx {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as unknown as Tx;
}

/**
 * The id of a refund whose export leaves its own id blank, made from what the row says of it: the charge it
 * returns, its amount, its time, and the merchant's refund number where there is one. Never from the row's line:
 * `reconcile` counts a transaction listed twice under one id once (a day downloaded twice and joined), and the same
 * refund sits at another line in a later download, or in a second download pasted under the first; an id from
 * the line made it two refunds, and a charge refunded once read as REFUNDED_TWICE. Two refunds of one charge that
 * agree in all of these (two partial refunds of one amount in one second: the files have second resolution) are
 * still two: a download lists each refund once, so the second listed alike is `#2`, the third `#3` (by
 * `context.occurrence`, counted per download: the same file read again, or pasted under itself header and all,
 * gives the same ids, and those count once).
 */
function refundIdOf(context: ReadContext, original: string, amount: number, at: number, merchantRefund?: string): string {
  const when = new Date(at).toISOString();
  return context.occurrence(`${original}:refund:${amount}@${when}${merchantRefund === undefined ? '' : `:${merchantRefund}`}`);
}

/** A WeChat Pay id cell: `0` is how the bill writes "none" (a sale row's 微信退款单号, 商户退款单号). */
function wechatId(c: Cells, column: string): string | undefined {
  const value = c.text(column);
  return value === '0' ? undefined : value;
}

const GENERIC_TYPES: Record<string, Tx['type']> = {
  charge: 'charge',
  sale: 'charge',
  payment: 'charge',
  purchase: 'charge',
  消费: 'charge',
  支付: 'charge',
  refund: 'refund',
  退款: 'refund',
  退货: 'refund',
  reversal: 'reversal',
  void: 'reversal',
  cancel: 'reversal',
  撤销: 'reversal',
  冲正: 'reversal',
};
const GENERIC_STATUSES: Record<string, Tx['status']> = {
  succeeded: 'succeeded',
  success: 'succeeded',
  paid: 'succeeded',
  approved: 'succeeded',
  成功: 'succeeded',
  failed: 'failed',
  fail: 'failed',
  declined: 'failed',
  失败: 'failed',
};

/** The generic layout: columns named as the `ProcessorTransaction` fields (renamed by `columns`), amounts in major units. */
export function genericPreset(names: Readonly<Record<keyof Tx, string>>): Preset {
  return {
    header: [names.id, names.type, names.status, names.amount, names.currency, names.at],
    zone: 'UTC',
    rows(c) {
      const word = (column: string, table: Record<string, string>): string => {
        const value = c.need(column);
        return table[value.toLowerCase()] ?? c.fail(column, `must be one of ${Object.keys(table).join(', ')}`);
      };
      const currency = c.currency(names.currency);
      const amount = c.amount(names.amount, currency);
      return [
        tx({
          id: c.need(names.id),
          type: word(names.type, GENERIC_TYPES) as Tx['type'],
          status: word(names.status, GENERIC_STATUSES) as Tx['status'],
          amount: Math.abs(amount),
          currency,
          at: c.time(names.at),
          reference: c.text(names.reference),
          authCode: c.text(names.authCode),
          last4: c.last4(names.last4),
          terminalId: c.text(names.terminalId),
          original: c.text(names.original),
        }),
      ];
    },
  };
}

/**
 * Stripe: the itemised balance change report (`balance_change_from_activity.itemized`,
 * one row per balance transaction: `reporting_category` charge / refund) or
 * the Dashboard's payments export (`id`, `Created date (UTC)`, `Amount`,
 * `Amount Refunded`, `Status`, `Card Last4`…), told apart by their header.
 * The till's reference is read from the metadata column `reference`
 * (`payment_metadata[reference]`, `reference (metadata)`): set it to the
 * attempt's idempotency key when creating the PaymentIntent.
 */
const stripeBalance: Preset = {
  header: ['balance_transaction_id', 'created_utc', 'currency', 'gross', 'reporting_category'],
  zone: 'UTC',
  rows(c) {
    const category = c.need('reporting_category');
    if (category !== 'charge' && category !== 'refund') return []; // fees, payouts, disputes, failures of transfers…
    const currency = c.currency('currency');
    const payment = c.text('payment_intent_id') ?? c.text('charge_id');
    const base = { currency, at: c.time('created_utc'), status: 'succeeded', amount: Math.abs(c.amount('gross', currency)) } as const;
    if (category === 'refund') {
      return [tx({ ...base, id: c.text('source_id') ?? c.need('balance_transaction_id'), type: 'refund', original: payment })];
    }
    return [
      tx({
        ...base,
        id: payment ?? c.need('source_id'),
        type: 'charge',
        reference: c.text('payment_metadata[reference]'),
      }),
    ];
  },
};

const STRIPE_PAID = new Set(['paid', 'refunded', 'partially refunded', 'disputed', 'succeeded']);

const stripePayments: Preset = {
  header: ['id', 'amount', 'currency', 'status'],
  zone: 'UTC',
  rows(c) {
    const id = c.need('id');
    const currency = c.currency('currency');
    const at = c.time(c.has('created date (utc)') ? 'created date (utc)' : 'created (utc)');
    const captured = c.text('captured');
    const succeeded = STRIPE_PAID.has(c.need('status').toLowerCase()) && captured?.toLowerCase() !== 'false';
    const charge = tx({
      id: c.text('paymentintent id') ?? id,
      type: 'charge',
      status: succeeded ? 'succeeded' : 'failed',
      amount: c.amount('amount', currency),
      currency,
      at,
      reference: c.text('reference (metadata)'),
      last4: c.last4('card last4'),
    });
    const refunded = c.has('amount refunded') && c.text('amount refunded') ? c.amount('amount refunded', currency) : 0;
    if (refunded === 0) return [charge];
    // The export folds refunds into the charge's row: one refund, for the sum.
    return [charge, tx({ id: `${id}:refunded`, type: 'refund', status: 'succeeded', amount: refunded, currency, at, original: charge.id })];
  },
};

/**
 * Adyen's Settlement details report: `Settled` rows are charges (Gross
 * Credit), `Refunded` rows refunds (Gross Debit) whose own reference is
 * `Modification Reference` and whose `Psp Reference` is the payment's.
 * Fees, payouts and chargebacks are not charges: skipped. `Creation Date` is
 * in the row's `TimeZone`.
 */
const adyen: Preset = {
  header: ['psp reference', 'merchant reference', 'creation date', 'type', 'gross currency'],
  zone: 'UTC',
  rows(c, context) {
    const type = c.need('type');
    const settled = type === 'Settled' || type === 'SettledBulk';
    const refunded = type === 'Refunded' || type === 'RefundedBulk';
    if (!settled && !refunded) return [];
    const psp = c.need('psp reference');
    const currency = c.currency('gross currency');
    const at = c.time('creation date', c.text('timezone'));
    if (settled) {
      return [
        tx({
          id: psp,
          type: 'charge',
          status: 'succeeded',
          amount: c.amount('gross credit (gc)', currency),
          currency,
          at,
          reference: c.text('merchant reference'),
        }),
      ];
    }
    const amount = c.amount('gross debit (gc)', currency);
    const id = c.text('modification reference') ?? refundIdOf(context, psp, amount, at, c.text('modification merchant reference'));
    return [tx({ id, type: 'refund', status: 'succeeded', amount, currency, at, original: psp })];
  },
};

/**
 * WeChat Pay's 对账单 (交易账单, bill type ALL): every value prefixed with a
 * backquote, then a totals block from `总交易单数`. 交易状态 SUCCESS is a
 * charge, REFUND a refund of 微信订单号 (退款状态 FAIL or CHANGE: failed),
 * REVOKED (撤销) a charge and its reversal. 商户订单号 is the till's
 * reference (out_trade_no: the idempotency key), 设备号 the terminal.
 */
const wechat: Preset = {
  header: ['交易时间', '设备号', '微信订单号', '商户订单号', '交易状态', '应结订单金额'],
  zone: 'Asia/Shanghai',
  end: (first) => first.startsWith('总交易单数'),
  rows(c, context) {
    const state = c.need('交易状态').toUpperCase();
    const order = c.need('微信订单号');
    const currency = c.has('货币种类') ? c.currency('货币种类') : 'CNY';
    const at = c.time('交易时间');
    const charge = () =>
      tx({
        id: order,
        type: 'charge',
        status: 'succeeded',
        amount: c.amount(c.text('订单金额') ? '订单金额' : '应结订单金额', currency),
        currency,
        at,
        reference: c.text('商户订单号'),
        terminalId: c.text('设备号'),
      });
    if (state === 'SUCCESS') return [charge()];
    if (state === 'REVOKED') {
      return [
        charge(),
        tx({ id: `${order}:revoked`, type: 'reversal', status: 'succeeded', amount: charge().amount, currency, at, original: order }),
      ];
    }
    if (state !== 'REFUND') return []; // NOTPAY, CLOSED, USERPAYING: no money moved
    const refundState = c.text('退款状态')?.toUpperCase();
    const column = c.text('申请退款金额') ? '申请退款金额' : '退款金额';
    const amount = c.amount(column, currency);
    const merchantRefund = wechatId(c, '商户退款单号');
    return [
      tx({
        id: wechatId(c, '微信退款单号') ?? refundIdOf(context, order, amount, at, merchantRefund),
        type: 'refund',
        status: refundState === 'FAIL' || refundState === 'CHANGE' ? 'failed' : 'succeeded',
        amount,
        currency,
        at,
        reference: merchantRefund,
        original: order,
      }),
    ];
  },
};

/**
 * Alipay's 业务明细 (trade details) export: `#` comment lines before and
 * after the table, amounts in yuan (`订单金额（元）`), 业务类型 交易 (a charge)
 * or 退款 (a refund of 支付宝交易号, its amount written negative). UTF-8 with
 * a BOM: convert a GBK download first (`iconv -f GBK -t UTF-8`).
 */
const alipay: Preset = {
  header: ['支付宝交易号', '商户订单号', '业务类型', '创建时间', '订单金额(元)'],
  zone: 'Asia/Shanghai',
  comments: true,
  rows(c, context) {
    const kind = c.need('业务类型');
    if (kind !== '交易' && kind !== '退款') return [];
    const trade = c.need('支付宝交易号');
    const currency = context.currency ?? 'CNY';
    const amount = Math.abs(c.amount('订单金额(元)', currency));
    const at = c.time(c.text('完成时间') ? '完成时间' : '创建时间');
    const common = { status: 'succeeded', amount, currency, at, terminalId: c.text('终端号') } as const;
    if (kind === '交易') return [tx({ ...common, id: trade, type: 'charge', reference: c.text('商户订单号') })];
    const id = c.text('退款批次号/请求号') ?? refundIdOf(context, trade, amount, at);
    return [tx({ ...common, id, type: 'refund', original: trade })];
  },
};

// 交易类型 (txnType) of UnionPay's 全渠道 interface: 01 消费, 04 退货, 31 消费撤销; 冲正 reverses a charge too.
const UNIONPAY_TYPES: Record<string, Tx['type']> = {
  '01': 'charge',
  '04': 'refund',
  '31': 'reversal',
  消费: 'charge',
  退货: 'refund',
  消费撤销: 'reversal',
  冲正: 'reversal',
};

/**
 * UnionPay's 全渠道 对账文件 (the general transaction file, ACOMN), as CSV
 * with its field names as the header (how merchant portals and acquirers
 * deliver it). 交易类型 01 消费 is a charge, 04 退货 a refund, 31 消费撤销 a
 * reversal of 原交易查询流水号. 查询流水号 (queryId) is the processor id,
 * 商户订单号 the till's reference, 主账号 a masked card number of which only
 * the last 4 digits are kept. 交易金额 in yuan, or 12 zero-padded digits in
 * fen as the fixed-width file writes it. 交易传输时间 is MMDDhhmmss (the
 * year is the latest that is not in the future) or a full date-time.
 */
const unionpay: Preset = {
  header: ['交易代码', '交易传输时间', '主账号', '交易金额', '查询流水号', '商户订单号', '交易类型'],
  zone: 'Asia/Shanghai',
  rows(c, context) {
    const type = UNIONPAY_TYPES[c.need('交易类型')];
    if (!type) return []; // queries, pre-authorisations: no money moved
    const currency = context.currency ?? 'CNY';
    const raw = c.need('交易金额');
    const amount = /^\d{12}$/.test(raw) ? Number(raw) : Math.abs(c.amount('交易金额', currency));
    return [
      tx({
        id: c.need('查询流水号'),
        type,
        status: 'succeeded',
        amount,
        currency,
        at: c.time('交易传输时间'),
        reference: c.text('商户订单号'),
        last4: c.last4('主账号'),
        terminalId: c.text('终端号'),
        original: type === 'charge' ? undefined : c.text('原交易查询流水号'),
      }),
    ];
  },
};

/** The fixed presets (generic is built from its column names: see `genericPreset`); Stripe has two layouts. */
export const PRESETS: Readonly<Record<Exclude<TransactionFormat, 'generic'>, readonly Preset[]>> = {
  stripe: [stripeBalance, stripePayments],
  adyen: [adyen],
  wechat: [wechat],
  alipay: [alipay],
  unionpay: [unionpay],
};
