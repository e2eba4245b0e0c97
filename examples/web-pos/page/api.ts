/**
 * The till's client for the simulated processor (served by `../server.ts`).
 * A real integration sends the same idempotency key the same way, e.g. as
 * Stripe's `Idempotency-Key` header.
 */
import type { SubmitResult } from '../../../src/index.js';
import type { ChargeRequest, LedgerEntry, ProcessorMode, ReversalAnswer, StatusAnswer } from '../processor.js';

export interface LedgerView {
  mode: ProcessorMode;
  charges: LedgerEntry[];
}

/**
 * Submit a charge. Gives up after `timeoutMs` by aborting the request, which
 * rejects: the guard then records the attempt as `unknown`, because the
 * processor may have charged the card anyway.
 */
export function submitCharge(request: ChargeRequest, timeoutMs: number): Promise<SubmitResult> {
  return postToProcessor<SubmitResult>('/api/charge', request, timeoutMs);
}

/**
 * Status inquiry: what became of the charge sent with this idempotency key
 * (captured, found but not captured, or never received). Rejects when the
 * processor does not answer within `timeoutMs`.
 */
export function inquire(idempotencyKey: string, timeoutMs: number): Promise<StatusAnswer> {
  return postToProcessor<StatusAnswer>('/api/status', { idempotencyKey }, timeoutMs);
}

/** Reversal (冲正) of the charge sent with this idempotency key: releases a hold that was never captured. */
export function reverse(idempotencyKey: string, timeoutMs: number): Promise<ReversalAnswer> {
  return postToProcessor<ReversalAnswer>('/api/reverse', { idempotencyKey }, timeoutMs);
}

/** One request to the processor, given up after `timeoutMs` (the rejection is a `TimeoutError`). */
async function postToProcessor<T extends object>(path: string, request: object, timeoutMs: number): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as T | { error: string };
  if (!response.ok || 'error' in body) {
    throw new Error(`processor answered ${response.status}: ${'error' in body ? body.error : 'no body'}`);
  }
  return body;
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
