/**
 * The till's client for the simulated processor (served by `../server.ts`).
 * A real integration sends the same idempotency key the same way, e.g. as
 * Stripe's `Idempotency-Key` header.
 */
import type { SubmitResult } from '../../../src/index.js';
import type { ChargeRequest, LedgerEntry, ProcessorMode } from '../processor.js';

export interface LedgerView {
  mode: ProcessorMode;
  charges: LedgerEntry[];
}

/**
 * Submit a charge. Gives up after `timeoutMs` by aborting the request, which
 * rejects: the guard then records the attempt as `unknown`, because the
 * processor may have charged the card anyway.
 */
export async function submitCharge(request: ChargeRequest, timeoutMs: number): Promise<SubmitResult> {
  const response = await fetch('/api/charge', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as SubmitResult | { error: string };
  if (!response.ok || 'error' in body) {
    throw new Error(`processor answered ${response.status}: ${'error' in body ? body.error : 'no body'}`);
  }
  return body;
}

/** The processor's record of one idempotency key: what "check with the processor" reads. */
export async function findCharge(idempotencyKey: string): Promise<LedgerEntry | undefined> {
  const view = await getJson<LedgerView>(`/api/charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}`);
  return view.charges[0];
}

export function fetchLedger(): Promise<LedgerView> {
  return getJson<LedgerView>('/api/charges');
}

export async function setProcessorMode(mode: ProcessorMode): Promise<void> {
  const response = await fetch('/api/mode', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  if (!response.ok) throw new Error(`could not set the processor mode: ${response.status}`);
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return (await response.json()) as T;
}
