/**
 * The till page: keypad, cards, Pay, the processor switch and ledger, and the
 * guard's recent attempts. The guard-facing logic lives in `checkout.ts`;
 * this file only draws state and forwards taps.
 *
 * `?timeout=2s` shortens how long a charge waits for the processor (default 6 s).
 * `?recoverAfter=3s` is when the first automatic check with the processor of an
 * unknown outcome comes (default 3 s, then doubling delays); `?recoverTries=0`
 * leaves unknown outcomes to "Check with the processor" (default 3 checks).
 */
import { formatMoney, parseDuration, type AttemptRecord, type Locale, type Reason, type Sale } from '../../../src/index.js';
import { PROCESSOR_MODES, type LedgerEntry, type ProcessorMode } from '../processor.js';
import { fetchLedger, setProcessorMode } from './api.js';
import { TEST_CARDS, type TestCard } from './cards.js';
import {
  CURRENCY,
  Checkout,
  OPERATOR,
  DEMO_PIN,
  TERMINAL_ID,
  type CheckoutUi,
  type PayOutcome,
  type RecoveryNote,
  type TillSettings,
} from './checkout.js';
import { askSupervisorPin, chooseBlockAction, confirmRepeat, noAnswerReason, type DialogContext } from './dialogs.js';
import { h } from './dom.js';
import { STRINGS, type Strings } from './strings.js';
import { clockTime, reasonText, saleLabel, saleNumbers } from './words.js';

const LOCALE_KEY = 'web-pos.locale';
const MAX_DIGITS = 7;
const ATTEMPTS_SHOWN = 12;
const RECOVERY_LINES_SHOWN = 8;

interface Notice {
  /** For tests and styling: which outcome this is. */
  state: string;
  tone: 'ok' | 'warn' | 'error' | 'info';
  title: string;
  detail?: string;
  /** The guard's own messages, verbatim. */
  messages?: string[];
  /** The attempt this notice is about: a check's result may replace it. */
  attemptId?: string;
  /** For tests: the attempt's status a check left it in. */
  outcome?: string;
}

/** One line of "Checks with the processor": worded when drawn, so in the current language. */
interface RecoveryLine {
  /** The attempt after the try. */
  record: AttemptRecord;
  /** `approved`, `cancelled`, … (the status after the try), or `exhausted`. */
  result: string;
  try?: number;
  /** Why a try found nothing. */
  error?: unknown;
  /** `recovery-exhausted`: after how many tries. */
  tries?: number;
  at: number;
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
  /** Attempts with a check with the processor in progress (scheduled or a button). */
  checking: new Set<string>(),
  /** What the checks found, newest first. */
  recoveryLog: [] as RecoveryLine[],
};

let checkout: Checkout | undefined;
const settings = readSettings();
const t = (): Strings => STRINGS[state.locale];
const dialogContext = (): DialogContext => ({ t: t(), locale: state.locale, now: Date.now() });

const ui: CheckoutUi = {
  confirmRepeat: (decision, earlier) => confirmRepeat(decision, earlier, dialogContext()),
  chooseBlockAction: (decision, earlier, actions) => chooseBlockAction(decision, earlier, dialogContext(), actions),
  askSupervisorPin: (supervisor, verify) => askSupervisorPin(supervisor, DEMO_PIN, verify, dialogContext()),
  submitting(attempt) {
    state.charging.add(attempt.id);
    // "Already processing" says more to the cashier than "Processing…": keep it.
    if (state.notice?.state !== 'in-flight') state.notice = { state: 'processing', tone: 'info', title: t().processing };
    update();
  },
  checking(attemptId, busy) {
    if (busy) state.checking.add(attemptId);
    else state.checking.delete(attemptId);
    renderAttempts();
  },
  recovery(note) {
    onRecovery(note);
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
  const recoveryLog = h('ol', { class: 'recovery-log', 'data-testid': 'recovery-log' });
  const recoverySection = h('div', { class: 'recovery', hidden: true }, h('h3', {}, s.recoveryLog), recoveryLog);
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
        // Cards beside the keypad, as tall as it: Pay and the result below both stay on a 768 px screen.
        h('div', { class: 'till__pads' }, keypad, h('div', { class: 'cards', role: 'group', 'aria-label': s.card }, ...cards)),
        pay,
        notice,
      ),
      h(
        'div',
        { class: 'side' },
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, s.attempts, ' ', reconcileBanner),
          attempts,
          recoverySection,
          h(
            'button',
            { class: 'btn btn--ghost btn--small', 'data-testid': 'download-journal', onclick: () => void onDownloadJournal() },
            s.downloadJournal,
          ),
        ),
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
  return { amount, pay, notice, cards, modes, modeHint, ledger, attempts, reconcileBanner, recoveryLog, recoverySection, languages };
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
    if (notice.outcome) view.notice.dataset.outcome = notice.outcome;
    else delete view.notice.dataset.outcome;
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
  const numbers = saleNumbers(state.attempts);
  if (recent.length === 0) return view.attempts.replaceChildren(h('li', { class: 'empty' }, s.attemptsEmpty));
  view.attempts.replaceChildren(
    ...recent.map((record) => {
      const checking = state.checking.has(record.id);
      const exhausted = record.status === 'unknown' && record.recovery?.exhausted === true;
      return h(
        'li',
        {
          class: `attempt attempt--${record.status}`,
          'data-testid': 'attempt-row',
          'data-status': record.status,
          'data-attempt-id': record.id,
          'data-key': record.idempotencyKey,
          'data-tries': record.recovery?.tries ?? 0,
          'data-exhausted': String(exhausted),
        },
        h(
          'div',
          { class: 'attempt__main' },
          h('span', { class: 'attempt__amount' }, formatMoney(record.amount, record.currency, state.locale)),
          h('span', { class: 'attempt__card' }, record.last4 ? `•••• ${record.last4}` : s.wallet),
          h('span', { class: `chip chip--${record.status}` }, exhausted ? s.needsPerson : s.status[record.status]),
          record.override
            ? h(
                'span',
                { class: 'chip chip--override', 'data-testid': 'attempt-override', title: s.overriddenBecause(record.override.reason) },
                s.overridden,
              )
            : '',
        ),
        // The sale number and time a person can say and find; the request ID only for support, in the tooltip.
        h(
          'div',
          { class: 'attempt__meta', title: s.requestId(record.idempotencyKey) },
          h('span', { 'data-testid': 'attempt-sale' }, saleLabel(numbers.get(record.id), record.idempotencyKey, s)),
          ' · ',
          h('time', { class: 'nowrap', datetime: new Date(record.createdAt).toISOString() }, clockTime(record.createdAt)),
        ),
        record.status === 'unknown'
          ? h(
              'button',
              {
                class: 'btn btn--warn btn--small',
                'data-testid': 'reconcile',
                ...(checking ? { disabled: true, 'data-state': 'checking' } : {}),
                onclick: (event: Event) => onCheck(record.id, event.currentTarget as HTMLButtonElement),
              },
              checking ? s.checking : s.reconcile,
            )
          : '',
      );
    }),
  );
}

function renderRecoveryLog(): void {
  const s = t();
  view.recoverySection.hidden = state.recoveryLog.length === 0;
  view.recoveryLog.replaceChildren(
    ...state.recoveryLog.map((line) => {
      const money = formatMoney(line.record.amount, line.record.currency, state.locale);
      const text =
        line.result === 'exhausted'
          ? s.exhausted(money, line.tries ?? 0)
          : `${money} · ${line.result === 'unknown' ? s.stillUnknown(noAnswerReason(line.error, s)) : settledText(line.record)}`;
      return h(
        'li',
        {
          class: `recovery-log__line recovery-log__line--${line.result}`,
          'data-testid': 'recovery-entry',
          'data-attempt-id': line.record.id,
          'data-result': line.result,
          ...(line.try === undefined ? {} : { 'data-try': line.try }),
        },
        h('span', { class: 'recovery-log__time nowrap' }, clockTime(line.at)),
        line.try === undefined ? '' : h('span', { class: 'recovery-log__try' }, s.checkTry(line.try)),
        h('span', {}, text),
      );
    }),
  );
}

function renderLedger(): void {
  const s = t();
  if (state.ledger.length === 0) return view.ledger.replaceChildren(h('li', { class: 'empty' }, s.ledgerEmpty));
  const numbers = saleNumbers(state.attempts);
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
        // The processor knows the sale by its request ID; the till's sale number says which one it is.
        h(
          'span',
          { class: 'ledger__sale', title: s.requestId(entry.idempotencyKey) },
          saleLabel(numbers.get(entry.idempotencyKey), entry.idempotencyKey, s),
        ),
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
  const about = (id: string | undefined) => state.attempts.find((record) => record.id === id);
  const guardSays = (reasons: Reason[]) => reasons.map((reason) => reasonText(reason, about(reason.attemptId), s, state.locale));
  switch (outcome.kind) {
    case 'approved':
      state.notice = {
        state: 'approved',
        tone: 'ok',
        title: s.approved(money(outcome.record), outcome.record.authCode ?? '—'),
        ...(outcome.resumed ? { detail: s.resumed } : {}),
        attemptId: outcome.record.id,
      };
      break;
    case 'declined':
      state.notice = {
        state: 'declined',
        tone: 'warn',
        title: s.declined(outcome.record.message ?? outcome.record.code ?? ''),
        detail: s.declinedDetail,
        attemptId: outcome.record.id,
      };
      break;
    case 'unknown':
      state.notice = {
        state: 'unknown',
        tone: 'error',
        title: s.unknown,
        // The guard's `recover` asks the processor by itself, unless this till leaves it to the button.
        detail: settings.recoverTries > 0 ? s.unknownDetailAuto(seconds(settings.recoverAfterMs)) : s.unknownDetail,
        attemptId: outcome.record.id,
      };
      break;
    case 'reconciled': {
      const { record } = outcome;
      state.notice =
        record.status === 'pending'
          ? { state: 'still-unknown', tone: 'warn', title: s.maybeInFlight, attemptId: record.id, outcome: record.status }
          : record.status === 'unknown'
            ? {
                state: 'still-unknown',
                tone: 'error',
                title: s.stillUnknown(noAnswerReason(outcome.error, s)),
                detail: outcome.triesLeft > 0 ? s.asksAgain : s.noMoreChecks,
                attemptId: record.id,
                outcome: record.status,
              }
            : { state: 'reconciled', tone: toneOf(record), title: settledText(record), attemptId: record.id, outcome: record.status };
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

/** A check with the processor left the attempt in this status: what that means, in plain words. */
function settledText(record: AttemptRecord): string {
  const s = t();
  switch (record.status) {
    case 'approved':
      return s.settled.approved(record.authCode ?? '—');
    case 'declined':
    case 'cancelled':
    case 'voided':
      return s.settled[record.status];
    default:
      return s.status[record.status];
  }
}

function toneOf(record: AttemptRecord): Notice['tone'] {
  return record.status === 'approved' ? 'ok' : record.status === 'unknown' ? 'error' : 'info';
}

/** "Reconcile" on an unknown attempt: `guard.recoverNow`, its button disabled until the answer. */
function onCheck(attemptId: string, button: HTMLButtonElement): void {
  if (!checkout || state.checking.has(attemptId)) return;
  // Disabled at once (the list is redrawn too): a second tap in this turn finds it so.
  button.disabled = true;
  const current = checkout;
  void run(() => {
    state.notice = { state: 'checking', tone: 'info', title: t().checking, attemptId };
    update();
    return current.check(attemptId);
  });
}

/**
 * Each `recover` try and `recovery-exhausted`, in plain words: a line in
 * "Checks with the processor" for every one, and the notice for a scheduled
 * one unless the till is busy with another sale (a button's own result is
 * shown by its caller).
 */
function onRecovery(note: RecoveryNote): void {
  const s = t();
  const { record } = note;
  const money = formatMoney(record.amount, record.currency, state.locale);
  let notice: Notice;
  let line: RecoveryLine;
  if (note.kind === 'exhausted') {
    notice = {
      state: 'recovery-exhausted',
      tone: 'error',
      title: s.exhausted(money, note.tries),
      detail: s.exhaustedDetail,
      attemptId: record.id,
      outcome: record.status,
    };
    line = { record, result: 'exhausted', tries: note.tries, at: Date.now() };
  } else if (record.status === 'unknown') {
    const title = s.stillUnknown(noAnswerReason(note.error, s));
    const detail = note.triesLeft > 0 ? s.asksAgain : s.noMoreChecks;
    notice = { state: 'still-unknown', tone: 'error', title, detail, attemptId: record.id, outcome: record.status };
    line = { record, result: 'unknown', try: note.try, error: note.error, at: Date.now() };
  } else {
    const title = settledText(record);
    notice = {
      state: 'recovered',
      tone: toneOf(record),
      title,
      detail: s.autoCheck(note.try),
      attemptId: record.id,
      outcome: record.status,
    };
    line = { record, result: record.status, try: note.try, at: Date.now() };
  }
  state.recoveryLog = [line, ...state.recoveryLog].slice(0, RECOVERY_LINES_SHOWN);
  const manual = note.kind === 'try' && note.manual;
  const busy = state.charging.size > 0 || state.holdFor !== undefined || document.querySelector('dialog[open]') !== null;
  const about = state.notice?.attemptId;
  if (!manual && !busy && (about === undefined || about === record.id)) state.notice = notice;
  renderRecoveryLog();
  void refresh();
}

/** Saves the guard's journal (JSON lines) as a file, for `pos-duplicate-guard journal report --journal <file>`. */
async function onDownloadJournal(): Promise<void> {
  if (!checkout) return;
  const url = URL.createObjectURL(new Blob([await checkout.journalLines()], { type: 'application/x-ndjson' }));
  const link = h('a', { href: url, download: `till-${TERMINAL_ID}.journal` });
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has handed the file to the browser.
  setTimeout(() => URL.revokeObjectURL(url), 0);
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
    checkout = await Checkout.open(locale, ui, settings);
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
    renderRecoveryLog();
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

function readLocale(): Locale {
  return localStorage.getItem(LOCALE_KEY) === 'zh-CN' ? 'zh-CN' : 'en';
}

function readSettings(): TillSettings {
  const query = new URLSearchParams(location.search);
  const duration = (name: string, fallback: string) => {
    const text = query.get(name) ?? fallback;
    try {
      // A bare number is milliseconds (`?timeout=1500`), as a Duration number is.
      return parseDuration(/^\d+$/.test(text) ? Number(text) : text, { field: name });
    } catch {
      return parseDuration(fallback, { field: name });
    }
  };
  const tries = Number(query.get('recoverTries') ?? '3');
  return {
    timeoutMs: duration('timeout', '6s'),
    // Short for a demo: a real till waits a little longer (the guard's default is 5 s).
    recoverAfterMs: duration('recoverAfter', '3s'),
    recoverTries: Number.isSafeInteger(tries) && tries >= 0 ? tries : 3,
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
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
    checkout = await Checkout.open(state.locale, ui, settings);
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
  if (unknown.length > 0) {
    const s = t();
    // Those with checks left are asked about `recoverAfter` after this start-up.
    const auto = unknown.some((record) => (record.recovery?.tries ?? 0) < settings.recoverTries);
    state.notice = {
      state: 'interrupted',
      tone: 'error',
      title: s.startUnknown(unknown.length),
      ...(auto ? { detail: s.startUnknownAuto(seconds(settings.recoverAfterMs)) } : {}),
    };
  }
  await refresh();
  document.addEventListener('keydown', onKey);
  setInterval(() => void refresh(), 1000);
  document.body.dataset.ready = 'true';
}

void start();
