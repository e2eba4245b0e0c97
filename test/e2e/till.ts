/**
 * Drives the till page the way a cashier would: keypad taps, card tiles, Pay,
 * dialog buttons. Every selector is a `data-testid` the page promises.
 */
import type { BrowserContext, Locator, Page } from 'playwright-core';
import type { ProcessorMode } from '../../examples/web-pos/processor.js';

export type NoticeState =
  | 'processing'
  | 'approved'
  | 'declined'
  | 'unknown'
  | 'reconciled'
  | 'in-flight'
  | 'not-confirmed'
  | 'blocked'
  | 'override-refused'
  | 'interrupted'
  /** "Reconcile" pressed: a check with the processor is running. */
  | 'checking'
  /** A check (scheduled or pressed) left the outcome unknown. */
  | 'still-unknown'
  /** A scheduled check settled the attempt, without a click. */
  | 'recovered'
  | 'recovery-exhausted';

export class Till {
  readonly page: Page;

  constructor(page: Page) {
    this.page = page;
  }

  /** Opens the till in a new tab of `context` and waits until its guard is up. */
  static async open(context: BrowserContext, query = ''): Promise<Till> {
    const till = new Till(await context.newPage());
    await till.page.goto(`/${query}`);
    await till.ready();
    return till;
  }

  async ready(): Promise<void> {
    await this.page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  testId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  get pay(): Locator {
    return this.testId('pay');
  }

  get notice(): Locator {
    return this.testId('notice');
  }

  /** Types an amount in minor units on the keypad, e.g. `1250` for 12.50. */
  async ringUp(amount: number, card = 'visa'): Promise<void> {
    // A background tab gets throttled animation frames, which every click waits on.
    await this.page.bringToFront();
    await this.testId('clear').click();
    for (const digit of String(amount)) await this.testId(`key-${digit}`).click();
    await this.testId(`card-${card}`).click();
  }

  /**
   * Taps Pay `times` times in one event-loop turn of the page, skipping the
   * pointer simulation and actionability waits of `click()`: for races.
   */
  async tapPay(times = 1): Promise<void> {
    await this.page.evaluate((n) => {
      const pay = document.querySelector<HTMLButtonElement>('[data-testid="pay"]');
      if (!pay) throw new Error('no Pay button');
      for (let i = 0; i < n; i++) pay.click();
    }, times);
  }

  async setMode(mode: ProcessorMode): Promise<void> {
    await this.testId(`mode-${mode}`).click();
    await this.page.waitForSelector(`[data-testid="mode-${mode}"][aria-pressed="true"]`);
  }

  /** Waits for the notice to show an outcome. */
  async waitForNotice(state: NoticeState, timeout = 15_000): Promise<void> {
    await this.page.waitForSelector(`[data-testid="notice"][data-state="${state}"]`, { timeout });
  }

  async noticeState(): Promise<string | null> {
    return this.notice.getAttribute('data-state');
  }

  async noticeText(): Promise<string> {
    return (await this.notice.textContent()) ?? '';
  }

  /** Lines of "Checks with the processor", newest first. */
  async recoveryLog(): Promise<{ attemptId: string; result: string; try: number | undefined; text: string }[]> {
    return this.page.$$eval('[data-testid="recovery-entry"]', (lines) =>
      lines.map((line) => {
        const tried = line.getAttribute('data-try');
        return {
          attemptId: line.getAttribute('data-attempt-id') ?? '',
          result: line.getAttribute('data-result') ?? '',
          try: tried === null ? undefined : Number(tried),
          text: line.textContent ?? '',
        };
      }),
    );
  }

  /** The guard's attempts as the list shows them, newest first. */
  async attempts(): Promise<{ id: string; status: string; key: string }[]> {
    return this.page.$$eval('[data-testid="attempt-row"]', (rows) =>
      rows.map((row) => ({
        id: row.getAttribute('data-attempt-id') ?? '',
        status: row.getAttribute('data-status') ?? '',
        key: row.getAttribute('data-key') ?? '',
      })),
    );
  }

  /** Waits until the attempts list shows exactly these statuses, newest first. */
  async waitForAttempts(statuses: string[], timeout = 15_000): Promise<void> {
    await this.page.waitForFunction(
      (expected) => {
        const rows = [...document.querySelectorAll('[data-testid="attempt-row"]')].map((row) => row.getAttribute('data-status'));
        return JSON.stringify(rows) === JSON.stringify(expected);
      },
      statuses,
      { timeout },
    );
  }
}
