/**
 * The till page: keypad, cards, Pay, the processor switch and ledger, and the
 * guard's recent attempts. The guard-facing logic lives in `checkout.ts`;
 * this file only draws state and forwards taps.
 *
 * `?timeout=2s` shortens how long a charge waits for the processor (default 6 s).
 */
import { formatMoney, parseDuration, type AttemptRecord, type Locale, type Sale } from '../../../src/index.js';
import { PROCESSOR_MODES, type LedgerEntry, type ProcessorMode } from '../processor.js';
import { fetchLedger, setProcessorMode } from './api.js';
import { TEST_CARDS, type TestCard } from './cards.js';
import { CURRENCY, Checkout, OPERATOR, DEMO_PIN, type CheckoutUi, type PayOutcome } from './checkout.js';
import { askSupervisorPin, chooseBlockAction, confirmRepeat, type DialogContext } from './dialogs.js';
import { h } from './dom.js';
import { STRINGS, type Strings } from './strings.js';

const LOCALE_KEY = 'web-pos.locale';
const MAX_DIGITS = 7;
const ATTEMPTS_SHOWN = 12;

interface Notice {
  /** For tests and styling: which outcome this is. */
  state: string;
  tone: 'ok' | 'warn' | 'error' | 'info';
  title: string;
  detail?: string;
  /** The guard's own messages, verbatim. */
  messages?: string[];
}

const state = {
  locale: readLocale(),
  digits: '',
  card: TEST_CARDS[0] as TestCard,
  mode: 'approve' as ProcessorMode,
  /** This tab's attempts on their way to the processor. */
  charging: new Set<string>(),
  /** Another charge of this sale is in flight (IN_FLIGHT): Pay waits for it. */
  holdFor: undefined as string | undefined,
  notice: undefined as Notice | undefined,
  switching: false,
  attempts: [] as AttemptRecord[],
  ledger: [] as LedgerEntry[],
};

let checkout: Checkout | undefined;
const timeoutMs = readTimeout();
const t = (): Strings => STRINGS[state.locale];
const dialogContext = (): DialogContext => ({ t: t(), locale: state.locale, now: Date.now() });

const ui: CheckoutUi = {
  confirmRepeat: (decision, earlier) => confirmRepeat(decision, earlier, dialogContext()),
  chooseBlockAction: (decision, earlier) => chooseBlockAction(decision, earlier, dialogContext()),
  askSupervisorPin: (supervisor, verify) => askSupervisorPin(supervisor, DEMO_PIN, verify, dialogContext()),
  submitting(attempt) {
    state.charging.add(attempt.id);
    // "Already processing" says more to the cashier than "Processing…": keep it.
    if (state.notice?.state !== 'in-flight') state.notice = { state: 'processing', tone: 'info', title: t().processing };
    update();
  },
};

// ── layout ──────────────────────────────────────────────────────────────

const root = document.getElementById('app') as HTMLElement;
let view: ReturnType<typeof layout>;

/** Builds the page for the current locale; `update` and the renderers fill it in. */
function layout() {
  const s = t();
  const amount = h('output', { class: 'amount', 'data-testid': 'amount' });
  const pay = h('button', { class: 'btn btn--pay', 'data-testid': 'pay', onclick: onPay });
  const notice = h('div', { class: 'notice', 'data-testid': 'notice', role: 'status', 'aria-live': 'polite' });
  const cards = TEST_CARDS.map((card) =>
    h(
      'button',
      {
        class: 'card',
        'data-testid': `card-${card.id}`,
        onclick: () => {
          state.card = card;
          update();
        },
      },
      h('span', { class: `card__brand card__brand--${card.id}` }, card.id === 'wallet' ? s.wallet : card.brand),
      h('span', { class: 'card__number' }, card.last4 ? `•••• ${card.last4}` : 'token'),
    ),
  );
  const modes = PROCESSOR_MODES.map((mode) =>
    h('button', { class: 'segment', 'data-testid': `mode-${mode}`, 'data-mode': mode, onclick: () => void onMode(mode) }, s.modes[mode]),
  );
  const modeHint = h('p', { class: 'hint', 'data-testid': 'mode-hint' });
  const ledger = h('ol', { class: 'ledger', 'data-testid': 'ledger' });
  const attempts = h('ol', { class: 'attempts', 'data-testid': 'attempts' });
  const reconcileBanner = h('span', { class: 'badge badge--unknown', 'data-testid': 'reconcile-banner', hidden: true });
  const languages = (['en', 'zh-CN'] as const).map((locale) =>
    h(
      'button',
      {
        class: 'segment',
        'data-testid': `lang-${locale === 'en' ? 'en' : 'zh'}`,
        'data-locale': locale,
        onclick: () => void onLocale(locale),
      },
      locale === 'en' ? 'EN' : '中文',
    ),
  );

  const key = (label: string, testId: string, press: () => void, extra = '') =>
    h('button', { class: `key ${extra}`, 'data-testid': testId, onclick: press }, label);
  const keypad = h(
    'div',
    { class: 'keypad' },
    ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => key(d, `key-${d}`, () => typeDigits(d))),
    key('00', 'key-00', () => typeDigits('00')),
    key('0', 'key-0', () => typeDigits('0')),
    key('⌫', 'key-back', backspace, 'key--muted'),
  );

  root.replaceChildren(
    h(
      'header',
      { class: 'topbar' },
      h('div', {}, h('h1', {}, s.title), h('p', { class: 'topbar__sub' }, s.subtitle)),
      h('div', { class: 'segments segments--dark', role: 'group', 'aria-label': 'Language' }, ...languages),
    ),
    h(
      'main',
      { class: 'layout' },
      h(
        'section',
        { class: 'panel till' },
        h(
          'div',
          { class: 'till__display' },
          h('span', { class: 'label' }, s.amount),
          amount,
          h('button', { class: 'btn btn--ghost btn--small', 'data-testid': 'clear', onclick: clear }, s.clear),
        ),
        keypad,
        h('div', { class: 'label' }, s.card),
        h('div', { class: 'cards' }, ...cards),
        pay,
        notice,
      ),
      h(
        'div',
        { class: 'side' },
        h('section', { class: 'panel' }, h('h2', {}, s.attempts, ' ', reconcileBanner), attempts),
        h(
          'section',
          { class: 'panel panel--processor' },
          h('h2', {}, s.processor),
          h('div', { class: 'segments', role: 'group', 'aria-label': s.processor }, ...modes),
          modeHint,
          h('h3', {}, s.ledger),
          ledger,
        ),
      ),
    ),
  );
  document.documentElement.lang = state.locale;
  document.title = `${s.title} · pos-duplicate-guard`;
  return { amount, pay, notice, cards, modes, modeHint, ledger, attempts, reconcileBanner, languages };
}

/** Reflects `state` in the till column and the switches. */
function update(): void {
  const s = t();
  const amount = Number(state.digits || '0');
  view.amount.textContent = formatMoney(amount, CURRENCY, state.locale);
  view.cards.forEach((button, i) => button.setAttribute('aria-pressed', String(TEST_CARDS[i] === state.card)));
  view.modes.forEach((button) => button.setAttribute('aria-pressed', String(button.dataset.mode === state.mode)));
  view.languages.forEach((button) => button.setAttribute('aria-pressed', String(button.dataset.locale === state.locale)));
  view.modeHint.textContent = s.modeHint[state.mode];

  const payState = state.holdFor ? 'in-flight' : state.charging.size > 0 ? 'processing' : amount === 0 ? 'empty' : 'ready';
  view.pay.dataset.state = payState;
  view.pay.disabled = payState !== 'ready' || state.switching;
  view.pay.textContent =
    payState === 'in-flight'
      ? s.alreadyProcessing
      : payState === 'processing'
        ? s.processing
        : amount === 0
          ? s.pay
          : `${s.pay} ${formatMoney(amount, CURRENCY, state.locale)}`;

  const notice = state.notice;
  view.notice.hidden = notice === undefined;
  if (notice) {
    view.notice.className = `notice notice--${notice.tone}`;
    view.notice.dataset.state = notice.state;
    view.notice.replaceChildren(
      h('strong', { class: 'notice__title' }, notice.title),
      ...(notice.messages ?? []).map((message) => h('p', { class: 'notice__guard' }, message)),
      notice.detail ? h('p', {}, notice.detail) : '',
    );
  }
}

function renderAttempts(): void {
  const s = t();
  const unknown = state.attempts.filter((record) => record.status === 'unknown').length;
  view.reconcileBanner.hidden = unknown === 0;
  view.reconcileBanner.textContent = s.needsReconciling(unknown);
  const recent = state.attempts.slice(-ATTEMPTS_SHOWN).reverse();
  if (recent.length === 0) return view.attempts.replaceChildren(h('li', { class: 'empty' }, s.attemptsEmpty));
  view.attempts.replaceChildren(
    ...recent.map((record) =>
      h(
        'li',
        {
          class: `attempt attempt--${record.status}`,
          'data-testid': 'attempt-row',
          'data-status': record.status,
          'data-attempt-id': record.id,
          'data-key': record.idempotencyKey,
        },
        h('span', { class: 'attempt__time' }, new Date(record.createdAt).toLocaleTimeString(state.locale)),
        h('span', { class: 'attempt__amount' }, formatMoney(record.amount, record.currency, state.locale)),
        h('span', { class: 'attempt__card' }, record.last4 ? `•••• ${record.last4}` : s.wallet),
        h('span', { class: `chip chip--${record.status}` }, s.status[record.status]),
        h('code', { class: 'attempt__key', title: record.idempotencyKey }, `${s.key} ${record.idempotencyKey.slice(0, 12)}…`),
        record.override ? h('span', { class: 'attempt__override', title: record.override.reason }, '★') : '',
        record.status === 'unknown'
          ? h(
              'button',
              {
                class: 'btn btn--warn btn--small',
                'data-testid': 'reconcile',
                onclick: () => void run(() => requireCheckout().reconcile(record.id)),
              },
              s.reconcile,
            )
          : '',
      ),
    ),
  );
}

function renderLedger(): void {
  const s = t();
  if (state.ledger.length === 0) return view.ledger.replaceChildren(h('li', { class: 'empty' }, s.ledgerEmpty));
  view.ledger.replaceChildren(
    ...[...state.ledger].reverse().map((entry) =>
      h(
        'li',
        {
          class: `ledger__row ledger__row--${entry.status}`,
          'data-testid': 'ledger-row',
          'data-key': entry.idempotencyKey,
          'data-status': entry.status,
          'data-requests': entry.requests,
        },
        h('span', {}, formatMoney(entry.amount, entry.currency, state.locale)),
        h('span', {}, entry.last4 ? `•••• ${entry.last4}` : s.wallet),
        h('span', { class: `chip chip--${entry.status}` }, s.ledgerStatus[entry.status]),
        h('code', { title: entry.idempotencyKey }, `${entry.idempotencyKey.slice(0, 12)}…`),
        entry.requests > 1 ? h('span', { class: 'ledger__dedup' }, s.deduplicated(entry.requests)) : '',
      ),
    ),
  );
}

// ── actions ─────────────────────────────────────────────────────────────

function onPay(): void {
  const amount = Number(state.digits || '0');
  if (!checkout || amount === 0 || state.switching) return;
  const sale: Sale = { amount, currency: CURRENCY, card: state.card.card, operator: OPERATOR };
  // No await before `pay`: the guard reserves the sale inside this click.
  const paying = checkout.pay(sale, state.card.last4);
  void run(() => paying);
}

/** Runs a checkout action and shows what came of it. */
async function run(action: () => Promise<PayOutcome>): Promise<void> {
  try {
    show(await action());
  } catch (error) {
    state.notice = { state: 'error', tone: 'error', title: error instanceof Error ? error.message : String(error) };
  }
  await refresh();
}

function show(outcome: PayOutcome): void {
  const s = t();
  const money = (record: AttemptRecord) => formatMoney(record.amount, record.currency, state.locale);
  const guardSays = (messages: { message: string }[]) => messages.map((reason) => reason.message);
  switch (outcome.kind) {
    case 'approved':
      state.notice = {
        state: 'approved',
        tone: 'ok',
        title: s.approved(money(outcome.record), outcome.record.authCode ?? '—'),
        ...(outcome.resumed ? { detail: s.resumed } : {}),
      };
      break;
    case 'declined':
      state.notice = {
        state: 'declined',
        tone: 'warn',
        title: s.declined(outcome.record.message ?? outcome.record.code ?? ''),
        detail: s.declinedDetail,
      };
      break;
    case 'unknown':
      state.notice = { state: 'unknown', tone: 'error', title: s.unknown, detail: s.unknownDetail };
      break;
    case 'reconciled': {
      const { record } = outcome;
      const title =
        record.status === 'approved'
          ? s.reconciledApproved(record.authCode ?? '—')
          : record.status === 'declined'
            ? s.reconciledDeclined
            : s.reconciledNotFound;
      state.notice = { state: 'reconciled', tone: record.status === 'approved' ? 'ok' : 'info', title };
      break;
    }
    case 'in-flight':
      state.holdFor = outcome.attemptId;
      state.notice = {
        state: 'in-flight',
        tone: 'warn',
        title: s.alreadyProcessing,
        messages: guardSays(outcome.decision.reasons),
        detail: s.inFlightDetail,
      };
      break;
    case 'not-confirmed':
      state.notice = { state: 'not-confirmed', tone: 'info', title: s.notConfirmed };
      break;
    case 'blocked':
      state.notice = { state: 'blocked', tone: 'error', title: s.blocked, messages: guardSays(outcome.decision.reasons) };
      break;
    case 'override-refused':
      state.notice = { state: 'override-refused', tone: 'error', title: s.overrideRefused };
      break;
  }
}

async function onMode(mode: ProcessorMode): Promise<void> {
  try {
    await setProcessorMode(mode);
    state.mode = mode;
  } catch (error) {
    state.notice = { state: 'error', tone: 'error', title: error instanceof Error ? error.message : String(error) };
  }
  update();
}

/** The guard's messages come in its locale: switching language means a new guard over the same store. */
async function onLocale(locale: Locale): Promise<void> {
  if (locale === state.locale || state.switching || state.charging.size > 0 || !checkout) return;
  state.switching = true;
  update();
  try {
    await checkout.close();
    checkout = undefined;
    checkout = await Checkout.open(locale, ui, timeoutMs);
    state.locale = locale;
    localStorage.setItem(LOCALE_KEY, locale);
    state.notice = undefined;
  } catch (error) {
    state.notice = {
      state: 'fatal',
      tone: 'error',
      title: t().storageFailed,
      detail: error instanceof Error ? error.message : String(error),
    };
  } finally {
    state.switching = false;
    view = layout();
    update();
    await refresh();
  }
}

function typeDigits(digits: string): void {
  const next = (state.digits + digits).replace(/^0+/, '');
  if (next.length > MAX_DIGITS) return;
  state.digits = next;
  update();
}

function backspace(): void {
  state.digits = state.digits.slice(0, -1);
  update();
}

function clear(): void {
  state.digits = '';
  state.notice = undefined;
  update();
}

// ── refresh: the guard's attempts (other tabs write too) and the processor's ledger ──

async function refresh(): Promise<void> {
  const current = checkout;
  if (!current) return;
  try {
    state.attempts = await current.guard.attempts();
    const statusOf = (id: string) => state.attempts.find((record) => record.id === id)?.status;
    for (const id of state.charging) if (statusOf(id) !== 'pending') state.charging.delete(id);
    if (state.holdFor !== undefined && statusOf(state.holdFor) !== 'pending') state.holdFor = undefined;
  } catch {
    // The guard was closed by a language switch meanwhile: the next tick reads the new one.
    return;
  }
  try {
    const ledger = await fetchLedger();
    state.ledger = ledger.charges;
    state.mode = ledger.mode;
  } catch {
    // The server is gone (stopped, or restarting); keep the last ledger on screen.
  }
  renderAttempts();
  renderLedger();
  update();
}

function requireCheckout(): Checkout {
  if (!checkout) throw new Error('the till is still starting');
  return checkout;
}

function readLocale(): Locale {
  return localStorage.getItem(LOCALE_KEY) === 'zh-CN' ? 'zh-CN' : 'en';
}

function readTimeout(): number {
  try {
    return parseDuration(new URLSearchParams(location.search).get('timeout') ?? '6s', { field: 'timeout' });
  } catch {
    return 6000;
  }
}

function onKey(event: KeyboardEvent): void {
  if (document.querySelector('dialog[open]') || event.target instanceof HTMLInputElement) return;
  if (/^\d$/.test(event.key)) typeDigits(event.key);
  else if (event.key === 'Backspace') backspace();
  else if (event.key === 'Enter' && !view.pay.disabled) onPay();
}

async function start(): Promise<void> {
  view = layout();
  update();
  try {
    checkout = await Checkout.open(state.locale, ui, timeoutMs);
  } catch (error) {
    state.notice = {
      state: 'fatal',
      tone: 'error',
      title: t().storageFailed,
      detail: error instanceof Error ? error.message : String(error),
    };
    update();
    return;
  }
  const unknown = await checkout.guard.attempts({ status: 'unknown' });
  if (unknown.length > 0) state.notice = { state: 'interrupted', tone: 'error', title: t().startUnknown(unknown.length) };
  await refresh();
  document.addEventListener('keydown', onKey);
  setInterval(() => void refresh(), 1000);
  document.body.dataset.ready = 'true';
}

void start();
