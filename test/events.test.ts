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

  // Issue 10: a listener's error used to be rethrown in a microtask, an
  // uncaught exception that ends a Node till. It is reported instead.
  it('keeps calling the other listeners when one throws, and reports the error as a listener-error event', () => {
    const emitter = new Emitter();
    const boom = new Error('listener bug');
    const after = vi.fn();
    const reported: GuardEvent[] = [];
    emitter.on('prune', () => {
      throw boom;
    });
    emitter.on('prune', after);
    emitter.on('listener-error', (event) => reported.push(event));
    expect(() => emitter.emit(prune)).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([{ type: 'listener-error', error: boom, event: 'prune' }]);
  });

  it('never throws past emit, now or later: no uncaught exception', async () => {
    const emitter = new Emitter();
    const seen: unknown[] = [];
    // vitest reports uncaught errors as failures: take them over for this test.
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const catcher = (error: unknown) => seen.push(error);
    process.on('uncaughtException', catcher);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      emitter.on('decision', () => {
        throw new Error('listener bug, uncaught');
      });
      emitter.emit({ type: 'decision', decision: { verdict: 'allow', reasons: [], fingerprint: 'fp' }, peek: true });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen).toEqual([]);
    } finally {
      process.off('uncaughtException', catcher);
      for (const listener of previous) process.on('uncaughtException', listener);
    }
  });

  it('with no listener-error listener, writes each listener error to console.error once', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const emitter = new Emitter();
    const boom = new Error('listener bug');
    emitter.on('prune', () => {
      throw boom;
    });
    emitter.emit(prune);
    emitter.emit(prune);
    expect(log).toHaveBeenCalledTimes(2);
    expect(log.mock.calls[0]).toEqual([expect.stringContaining('"prune" listener threw'), boom]);
  });

  it('swallows a throw from a listener-error listener itself: no recursion, no console noise for it', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const emitter = new Emitter();
    const reporter = vi.fn(() => {
      throw new Error('the reporter is broken too');
    });
    emitter.on('prune', () => {
      throw new Error('listener bug');
    });
    emitter.on('listener-error', reporter);
    expect(() => emitter.emit(prune)).not.toThrow();
    expect(reporter).toHaveBeenCalledTimes(1);
    expect(log).not.toHaveBeenCalled();
  });

  it('survives a console.error that throws', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {
      throw new Error('no console');
    });
    const emitter = new Emitter();
    emitter.on('prune', () => {
      throw new Error('listener bug');
    });
    expect(() => emitter.emit(prune)).not.toThrow();
  });
});

describe('Emitter.on refuses what can never be heard', () => {
  it('an event type the guard never emits, and a listener that is not a function, are GuardInputError naming the field', () => {
    const emitter = new Emitter();
    const typo = (() => {
      try {
        emitter.on('settled' as never, () => undefined);
      } catch (error) {
        return error;
      }
    })();
    expect(typo).toMatchObject({ name: 'GuardInputError', code: 'INVALID_LISTENER', field: 'type' });
    expect((typo as Error).message).toMatch(/^`type` must be one of decision, override, settle, .*got "settled" \(string\)$/);
    expect(() => emitter.on('settle', 'log it' as never)).toThrow(expect.objectContaining({ code: 'INVALID_LISTENER', field: 'listener' }));
    // A card number put where the type goes is not echoed.
    expect(() => emitter.on('4111111111111111' as never, () => undefined)).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('4111111111111111') }),
    );
  });
});

describe('Emitter: what start-up emitted', () => {
  it('keeps it until opened, then replays it to each listener attached in the grace, in a microtask, never inside on()', async () => {
    const emitter = new Emitter(true);
    emitter.emit(prune);
    emitter.emit(anomaly);
    let end: () => void = () => undefined;
    emitter.opened((ends) => (end = ends));
    const first: GuardEvent[] = [];
    emitter.on('prune', (event) => first.push(event));
    expect(first).toEqual([]); // not inside on()
    const second: GuardEvent[] = [];
    const off = emitter.on('prune', (event) => second.push(event));
    off(); // gone before the replay: hears nothing
    await Promise.resolve();
    expect(first).toEqual([prune]);
    expect(second).toEqual([]);
    emitter.emit(prune); // after opening: delivered as it happens
    expect(first).toEqual([prune, prune]);
    end();
    const late: GuardEvent[] = [];
    emitter.on('clock-anomaly', (event) => late.push(event));
    await Promise.resolve();
    expect(late).toEqual([]);
  });

  it('reports a replayed listener that throws like any other', async () => {
    const emitter = new Emitter(true);
    emitter.emit(prune);
    emitter.opened(() => undefined);
    const errors: unknown[] = [];
    emitter.on('listener-error', (event) => errors.push(event.event));
    emitter.on('prune', () => {
      throw new Error('the app');
    });
    await Promise.resolve();
    expect(errors).toEqual(['prune']);
  });
});
