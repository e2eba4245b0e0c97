import { describe, expect, it } from 'vitest';
import type { GuardEvent } from '../../src/index.js';
import { flush, sale, testGuard } from '../helpers/guard.js';

describe('events', () => {
  it('emits decision (with peek), settle (with from), resume and override, in order', async () => {
    const { guard, events } = await testGuard();
    const peeked = await guard.peek(sale());
    const begun = await guard.begin(sale());
    const id = begun.attempt?.id ?? '';
    await guard.settle(id, { status: 'unknown' });
    await guard.resume(id);
    await guard.settle(id, { status: 'approved' });
    const prompt = await guard.begin(sale());
    const overridden = await guard.override(prompt, { operator: 'o', reason: 'r' });

    const summary = events.map((e) => {
      switch (e.type) {
        case 'decision':
          return ['decision', e.decision.verdict, e.peek];
        case 'settle':
          return ['settle', e.from, e.record.status];
        case 'resume':
          return ['resume', e.record.status];
        case 'override':
          return ['override', e.decision.verdict, e.lifted];
        default:
          return [e.type];
      }
    });
    expect(summary).toEqual([
      ['decision', 'allow', true],
      ['decision', 'allow', false],
      ['settle', 'pending', 'unknown'],
      ['resume', 'pending'],
      ['settle', 'pending', 'approved'],
      ['decision', 'prompt', false],
      ['decision', 'allow', false],
      ['override', 'allow', ['DUPLICATE_CHARGE']],
    ]);
    const decisions = events.filter((e): e is Extract<GuardEvent, { type: 'decision' }> => e.type === 'decision');
    expect(decisions.map((e) => e.decision)).toEqual([peeked, begun, prompt, overridden]);
  });

  it('journals decisions that are not allows, settles, resumes and overrides, but not peeks', async () => {
    const { guard, store } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await guard.peek(sale());
    await attempt?.approve();
    const prompt = await guard.begin(sale());
    await guard.override(prompt, { operator: 'o', reason: 'r' });
    await flush();
    expect(store.journal().map((e) => [e.type, e.verdict ?? e.to ?? null])).toEqual([
      ['start', null],
      ['settle', 'approved'],
      ['decision', 'prompt'],
      ['override', null],
    ]);
  });

  it('stops delivering to an unsubscribed listener', async () => {
    const { guard } = await testGuard();
    const seen: string[] = [];
    const off = guard.on('decision', (e) => seen.push(e.decision.verdict));
    await guard.peek(sale());
    off();
    await guard.peek(sale());
    expect(seen).toEqual(['allow']);
  });
});
