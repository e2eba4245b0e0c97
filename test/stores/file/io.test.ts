import { describe, expect, it } from 'vitest';
import { storageError } from '../../../src/stores/file/io.js';

describe('storageError (issue 16: no stray "failed")', () => {
  it('says "failed" only after an operation that failed with a cause', () => {
    const error = storageError(
      'OPEN_FAILED',
      '/data/guard.jsonl',
      'opening',
      Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }),
    );
    expect(error.message).toBe('file store /data/guard.jsonl: opening failed: EACCES: permission denied');
  });

  it.each([
    [
      'LOCK_FAILED',
      'cannot take the lock /data/guard.jsonl.lock: other processes kept taking it; close the other guards on this file and try again',
    ],
    ['CLOSED', 'put: the store is closed'],
  ] as const)('keeps a %s statement whole, without a "failed" tacked on', (code, statement) => {
    const error = storageError(code, '/data/guard.jsonl', statement);
    expect(error.message).toBe(`file store /data/guard.jsonl: ${statement}`);
    expect(error.message).not.toMatch(/failed$/);
  });
});
