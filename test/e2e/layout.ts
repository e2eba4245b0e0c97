/**
 * Measures what a cashier sees of the till page in the browser's viewport:
 * the result message, the buttons, and any sideways scroll. Each check
 * returns the problems as sentences (empty when none), so one assertion
 * reports every misplaced element at once.
 */
import type { Locator, Page } from 'playwright-core';

export interface Viewport {
  width: number;
  height: number;
}

/** Common till and tablet screens (issue 16). */
export const TILL_SCREENS: readonly Viewport[] = [
  { width: 1024, height: 768 },
  { width: 1280, height: 800 },
  { width: 1366, height: 768 },
];

/** Sideways scroll of the document: nothing may be wider than the window. */
export async function sidewaysScroll(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const { scrollWidth } = document.documentElement;
    return scrollWidth > innerWidth ? [`the page is ${scrollWidth} px wide in a ${innerWidth} px window (sideways scroll)`] : [];
  });
}

/** Where an element is not wholly inside the viewport, as it is scrolled now. */
export async function outsideViewport(locator: Locator, what: string, axes: 'both' | 'horizontal' = 'both'): Promise<string[]> {
  return locator.evaluate(
    (element, { what, axes }) => {
      const box = element.getBoundingClientRect();
      const problems: string[] = [];
      const at = `[${Math.round(box.left)}, ${Math.round(box.top)}] to [${Math.round(box.right)}, ${Math.round(box.bottom)}]`;
      if (box.width === 0 || box.height === 0) problems.push(`${what} has no size`);
      if (box.left < 0 || box.right > innerWidth) problems.push(`${what} spans x ${at}, outside 0..${innerWidth}`);
      if (axes === 'both' && (box.top < 0 || box.bottom > innerHeight)) problems.push(`${what} spans y ${at}, outside 0..${innerHeight}`);
      return problems;
    },
    { what, axes },
  );
}

/**
 * Every rendered button under `scope` that sticks out of the viewport
 * sideways (or, with `axes: 'both'`, up or down too), named by its
 * `data-testid` or its text. Hidden buttons (`display: none`, or inside a
 * closed `<details>`/`hidden` parent) are not on screen and are skipped.
 */
export async function buttonsOutside(page: Page, scope: string, axes: 'both' | 'horizontal'): Promise<string[]> {
  return page.evaluate(
    ({ scope, axes }) => {
      const problems: string[] = [];
      for (const button of document.querySelectorAll<HTMLElement>(`${scope} button`)) {
        const box = button.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        const name = button.dataset.testid ?? (button.textContent ?? '').trim().slice(0, 40);
        const at = `[${Math.round(box.left)}, ${Math.round(box.top)}] to [${Math.round(box.right)}, ${Math.round(box.bottom)}]`;
        if (box.left < 0 || box.right > innerWidth) problems.push(`button "${name}" spans x ${at}, outside 0..${innerWidth}`);
        if (axes === 'both' && (box.top < 0 || box.bottom > innerHeight)) {
          problems.push(`button "${name}" spans y ${at}, outside 0..${innerHeight}`);
        }
      }
      return problems;
    },
    { scope, axes },
  );
}

/** Where the element at the middle of `locator` is something else: a sticky panel or an overlay covers it. */
export async function covered(locator: Locator, what: string): Promise<string[]> {
  return locator.evaluate((element, what) => {
    const box = element.getBoundingClientRect();
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return top && (top === element || element.contains(top))
      ? []
      : [`${what} is covered by ${top ? top.outerHTML.slice(0, 80) : 'nothing'}`];
  }, what);
}

/**
 * Scrolls the `index`th match of `selector` into view, as a cashier would to
 * tap it, and says where it or the element `keepInView` is then not wholly
 * on screen, or it is covered. In one turn of the page: the till redraws its
 * lists every second, and a handle from before a redraw points at nothing.
 */
export async function scrolledTo(page: Page, selector: string, index: number, keepInView: string): Promise<string[]> {
  return page.evaluate(
    ({ selector, index, keepInView }) => {
      const target = document.querySelectorAll(selector)[index];
      const kept = document.querySelector(keepInView);
      if (!target || !kept) return [`no ${target ? keepInView : `${selector} #${index + 1}`}`];
      target.scrollIntoView({ block: 'nearest' });
      const problems: string[] = [];
      for (const [element, what] of [
        [target, `${selector} #${index + 1}`],
        [kept, `${keepInView} (with ${selector} #${index + 1} scrolled to)`],
      ] as const) {
        const box = element.getBoundingClientRect();
        if (box.left < 0 || box.right > innerWidth || box.top < 0 || box.bottom > innerHeight) {
          problems.push(
            `${what} spans [${Math.round(box.left)}, ${Math.round(box.top)}] to [${Math.round(box.right)}, ${Math.round(box.bottom)}]`,
          );
        }
      }
      const box = target.getBoundingClientRect();
      const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      if (!top || !(top === target || target.contains(top))) problems.push(`${selector} #${index + 1} is covered`);
      return problems;
    },
    { selector, index, keepInView },
  );
}

/** Times and other one-line text (`time`, `.nowrap`, inline) that wrapped: an inline box has one client rect per line. */
export async function wrappedLines(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('time, .nowrap')]
      .filter((element) => element.getClientRects().length > 1)
      .map((element) => `"${element.textContent ?? ''}" wraps onto ${element.getClientRects().length} lines`),
  );
}

export async function scrollTo(page: Page, where: 'top' | 'bottom'): Promise<void> {
  await page.evaluate((where) => window.scrollTo(0, where === 'top' ? 0 : document.documentElement.scrollHeight), where);
}
