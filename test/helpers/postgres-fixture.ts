import { afterAll, beforeAll } from 'vitest';
import { freshDatabase, tcpProxy, type FreshDatabase, type TcpProxy } from './postgres.js';

/**
 * A fresh database for one test file, and a TCP proxy in front of it that a
 * test can cut (a terminal cut off from the others): made before the file's
 * tests, dropped after them. Read `db` and `proxy` inside tests and hooks.
 */
export function databaseBehindProxy(name: string): { readonly db: FreshDatabase; readonly proxy: TcpProxy } {
  let db: FreshDatabase | undefined;
  let proxy: TcpProxy | undefined;
  beforeAll(async () => {
    db = await freshDatabase(name);
    proxy = await tcpProxy(Number(db.config.port));
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`databaseBehindProxy: ${what} is read before beforeAll made it`);
    return value;
  };
  return {
    get db() {
      return ready(db, 'db');
    },
    get proxy() {
      return ready(proxy, 'proxy');
    },
  };
}
