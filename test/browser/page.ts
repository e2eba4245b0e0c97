/**
 * The test page's script, bundled by run.ts with esbuild: a guard on
 * indexedDbStore, driven from Playwright through `window.harness`. Results are
 * plain data so they cross `page.evaluate`.
 */
import { createGuard, type Decision, type Guard, type Sale } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';

export interface PageFacts {
  secure: boolean;
  subtle: boolean;
  persistent: boolean | undefined;
}

export interface DecisionSummary {
  verdict: Decision['verdict'];
  codes: string[];
  attemptId: string | undefined;
}

export interface Harness {
  /** Opens a guard over `indexedDbStore({ name })`, as a POS shell does at load. */
  open(name: string): Promise<PageFacts>;
  /** Waits until the wall clock reaches `at` (so two pages start together), then runs `count` concurrent begins. */
  raceAt(sale: Sale, at: number, count: number): Promise<DecisionSummary[]>;
  begin(sale: Sale): Promise<DecisionSummary>;
  status(attemptId: string): Promise<string | undefined>;
}

declare global {
  interface Window {
    harness: Harness;
  }
}

const SECRET = 'browser-test-secret-0123456789abcdef';
let guard: Guard | undefined;

function current(): Guard {
  if (!guard) throw new Error('harness.open() first');
  return guard;
}

function summary(decision: Decision): DecisionSummary {
  return { verdict: decision.verdict, codes: decision.reasons.map((r) => r.code), attemptId: decision.attempt?.id };
}

window.harness = {
  async open(name) {
    const store = indexedDbStore({ name });
    guard = await createGuard({ merchantId: 'M-BROWSER', secret: SECRET, store });
    return { secure: window.isSecureContext, subtle: globalThis.crypto?.subtle !== undefined, persistent: await store.persistent() };
  },
  async raceAt(sale, at, count) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    const decisions = await Promise.all(Array.from({ length: count }, () => current().begin(sale)));
    return decisions.map(summary);
  },
  async begin(sale) {
    return summary(await current().begin(sale));
  },
  async status(attemptId) {
    return (await current().get(attemptId))?.status;
  },
};
