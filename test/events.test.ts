import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../src/events.js';
import type { GuardEvent } from '../src/types.js';

const prune: GuardEvent = { type: 'prune', attemptId: 'att_1', status: 'unknown' };
const anomaly: GuardEvent = { type: 'clock-anomaly', driftMs: 3_600_000 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Emitter', () => {
  it('delivers an event to the listeners of its type only', () => {
    const emitter = new Emitter();
    const prunes: GuardEvent[] = [];
    const anomalies: number[] = [];
    emitter.on('prune', (event) => prunes.push(event));
    emitter.on('clock-anomaly', (event) => anomalies.push(event.driftMs));
    emitter.emit(prune);
    emitter.emit(anomaly);
    emitter.emit(prune);
    expect(prunes).toEqual([prune, prune]);
    expect(anomalies).toEqual([3_600_000]);
  });

  it('calls listeners in the order they subscribed', () => {
    const emitter = new Emitter();
    const calls: string[] = [];
    emitter.on('prune', () => calls.push('first'));
    emitter.on('prune', () => calls.push('second'));
    emitter.emit(prune);
    expect(calls).toEqual(['first', 'second']);
  });

  it('stops calling a listener once unsubscribed, leaving the others', () => {
    const emitter = new Emitter();
    const a = vi.fn();
    const b = vi.fn();
    const offA = emitter.on('prune', a);
    emitter.on('prune', b);
    offA();
    offA();
    emitter.emit(prune);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('reports whether a type has listeners', () => {
    const emitter = new Emitter();
    expect(emitter.has('prune')).toBe(false);
    const off = emitter.on('prune', () => {});
    expect(emitter.has('prune')).toBe(true);
    expect(emitter.has('decision')).toBe(false);
    off();
    expect(emitter.has('prune')).toBe(false);
  });

  it('drops every listener on clear()', () => {
    const emitter = new Emitter();
    const listener = vi.fn();
    emitter.on('prune', listener);
    emitter.clear();
    emitter.emit(prune);
    expect(listener).not.toHaveBeenCalled();
    expect(emitter.has('prune')).toBe(false);
  });

  it('emits with no listeners without throwing', () => {
    expect(() => new Emitter().emit(prune)).not.toThrow();
  });

  it('keeps calling the other listeners when one throws, and rethrows its error on its own', () => {
    const deferred: (() => void)[] = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
      deferred.push(task);
    });
    const emitter = new Emitter();
    const boom = new Error('listener bug');
    const after = vi.fn();
    emitter.on('prune', () => {
      throw boom;
    });
    emitter.on('prune', after);
    expect(() => emitter.emit(prune)).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    // The error is not swallowed: it surfaces from a task of its own.
    expect(deferred).toHaveLength(1);
    expect(() => deferred[0]?.()).toThrow(boom);
  });

  it('surfaces a listener error as an uncaught exception, not inside emit()', async () => {
    const emitter = new Emitter();
    const boom = new Error('listener bug, uncaught');
    const seen: unknown[] = [];
    // vitest reports uncaught errors as failures: take them over for this test.
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const catcher = (error: unknown) => seen.push(error);
    process.on('uncaughtException', catcher);
    try {
      emitter.on('decision', () => {
        throw boom;
      });
      emitter.emit({ type: 'decision', decision: { verdict: 'allow', reasons: [], fingerprint: 'fp' }, peek: true });
      expect(seen).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen).toEqual([boom]);
    } finally {
      process.off('uncaughtException', catcher);
      for (const listener of previous) process.on('uncaughtException', listener);
    }
  });
});
