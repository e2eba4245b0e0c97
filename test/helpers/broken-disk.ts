/**
 * node:fs/promises for a `fileStore` whose data-file writes fail with EIO
 * while `disk.broken` (a USB or SD card that resets, a disk that fills):
 * pass `fs` in the store's options and flip `disk.broken`.
 */
import * as realFs from 'node:fs/promises';
import type { FileStoreFs } from '../../src/node.js';

export function brokenDisk(): { disk: { broken: boolean }; fs: FileStoreFs } {
  const disk = { broken: false };
  const open = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    if (!String(args[0]).endsWith('.jsonl')) return handle;
    return new Proxy(handle, {
      get(target, property, receiver) {
        if (property === 'write') {
          return async (...a: unknown[]) => {
            if (disk.broken) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
            return (target.write as (...x: unknown[]) => unknown)(...a);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
      },
    });
  }) as FileStoreFs['open'];
  return { disk, fs: { ...realFs, open } };
}
