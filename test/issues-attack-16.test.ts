/* eslint-disable no-control-regex -- control characters in messages are what these tests look for */
import { describe, expect, it } from 'vitest';
import { GuardConfigError, GuardInputError } from '../src/errors.js';
import { createGuard, memoryStore } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import type { GuardOptions } from '../src/types.js';
import { SECRET, VISA } from './helpers/guard.js';

/**
 * Attacks on "report every problem" (issue 16): an input with thousands of
 * bad keys, and keys holding line breaks and terminal escapes. A message is
 * read on a till screen and written to a log line: it must stay bounded and
 * on one line, while `error.issues` keeps every problem for a form.
 */

const guard = await createGuard({ merchantId: 'M-1', terminalId: 'T-1', secret: SECRET, store: memoryStore() });

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

async function rejected(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('did not reject');
}

describe('attack: thousands of problems', () => {
  it('a Sale with 5,000 unknown keys: a bounded message that says how many more, every issue in error.issues', async () => {
    const sale: Record<string, unknown> = { amount: 12.5, currency: 'CNY', card: { pan: VISA } };
    for (let i = 0; i < 5_000; i++) sale[`extra${i}`] = i;
    const error = (await rejected(() => guard.begin(sale as never))) as GuardInputError;
    expect(error).toBeInstanceOf(GuardInputError);
    expect(error.issues).toHaveLength(5_001);
    expect(error.message.length).toBeLessThan(2_000);
    // The first problems by name, then the count of the rest.
    expect(error.message).toMatch(/^`amount` must be a safe integer/);
    expect(error.message).toContain('`extra0` is not a field of a Sale');
    expect(error.message).toMatch(/; and 4991 more \(see error\.issues\)$/);
  });

  it('createGuard options with 5,000 unknown keys: bounded too', () => {
    const options: Record<string, unknown> = { merchantId: 'M-1', terminalId: 'T-1', secret: SECRET, store: memoryStore() };
    for (let i = 0; i < 5_000; i++) options[`option${i}`] = i;
    const error = thrown(() => resolveOptions(options as unknown as GuardOptions)) as GuardConfigError;
    expect(error).toBeInstanceOf(GuardConfigError);
    expect(error.message.length).toBeLessThan(2_000);
    expect(error.issues.length).toBeGreaterThanOrEqual(5_000);
  });
});

describe('attack: a key that is a line break or an escape', () => {
  it('an unknown key is named on one line, its controls written out, in the message and in the issue', async () => {
    const key = 'x\n2026-12-06 ERROR forged log line\u001b[2J\u009b31m\u202e';
    const error = (await rejected(() =>
      guard.begin({ amount: 100, currency: 'CNY', card: { pan: VISA }, [key]: 1 } as never),
    )) as GuardInputError;
    expect(error).toBeInstanceOf(GuardInputError);
    const unprintable = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    expect(error.message).not.toMatch(unprintable);
    expect(error.issues[0]?.message).not.toMatch(unprintable);
    expect(error.message).toContain('\\u000a2026-12-06 ERROR forged log line\\u001b[2J\\u009b31m\\u202e');
  });
});
