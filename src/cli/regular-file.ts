import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** What {@link readRegularFile} found at a path. */
export type RegularFile =
  | { kind: 'text'; text: string }
  | { kind: 'too-large'; size: number }
  /** A folder, a named pipe, a socket or a device, in words: "a named pipe". */
  | { kind: 'special'; what: string };

/**
 * A file's UTF-8 text, if it is a regular file of at most `maxBytes`.
 * Opened without blocking and checked on the open handle (no window for a
 * swap): a FIFO given by mistake would otherwise be read until some process
 * writes to it, which may be never, and a device (/dev/zero) has no size to
 * check and never ends. A failure to open rejects with the system's error.
 */
export async function readRegularFile(path: string, maxBytes = Number.POSITIVE_INFINITY): Promise<RegularFile> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      return { kind: 'special', what: stats.isDirectory() ? 'a folder' : stats.isFIFO() ? 'a named pipe' : 'a socket or a device' };
    }
    if (stats.size > maxBytes) return { kind: 'too-large', size: stats.size };
    return { kind: 'text', text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}
