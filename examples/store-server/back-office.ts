/**
 * The store server's back office, as a process of its own: a small HTTP
 * server on 127.0.0.1 with a guard of its own over the same `postgresStore`,
 * so it sees every lane's attempts. It also relays the tills' card charges to
 * a simulated processor (the web example's), as many store servers do.
 *
 *   GET  /          the attempts of every lane and the processor's charges, as a table
 *   GET  /attempts  the same attempts as JSON (`guard.attempts()`)
 *   POST /charge    { idempotencyKey, amount, currency, last4? } → the processor's answer
 *
 * run.ts starts it with fork(); it reports its URL once listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createGuard, formatMoney, type AttemptRecord } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { SimulatedProcessor, type ChargeRequest } from '../web-pos/processor.js';
import { send, type BackOfficeConfig, type ToChild } from './protocol.js';

const config = JSON.parse(process.env.STORE_SERVER_CONFIG ?? '{}') as BackOfficeConfig;

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
pool.on('error', () => {});
// On the server next to the database: no `local` fallback.
const guard = await createGuard({
  merchantId: config.merchantId,
  terminalId: 'BACK-OFFICE',
  secret: config.secret,
  store: postgresStore({ pool, schema: config.schema }),
});
const processor = new SimulatedProcessor();

function table(attempts: readonly AttemptRecord[]): string {
  const rows = attempts.map((r) => [
    r.terminalId ?? '?',
    formatMoney(r.amount, r.currency),
    r.last4 ? `•••• ${r.last4}` : '',
    r.orderId ?? '',
    r.status,
    r.authCode ?? '',
    r.override ? `override by ${r.override.operator} (lifted ${r.override.lifted.join(', ')}): "${r.override.reason}"` : '',
  ]);
  const header = ['lane', 'amount', 'card', 'order', 'status', 'auth', 'note'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const approved = processor.ledger().filter((entry) => entry.status === 'approved');
  return [
    `Attempts of ${config.merchantId}, every lane, oldest first:`,
    line(header),
    ...rows.map(line),
    '',
    `Processor: ${approved.length} charges approved, ${approved.map((e) => formatMoney(e.amount, e.currency)).join(' + ')}`,
  ].join('\n');
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const key = `${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`;
  if (key === 'GET /attempts') return json(res, 200, { attempts: await guard.attempts() });
  if (key === 'GET /') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${table(await guard.attempts())}\n`);
    return;
  }
  if (key === 'POST /charge') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChargeRequest;
    // Approve mode throughout: the processor answers at once, and a repeated key gets its first answer back.
    return json(res, 200, processor.charge(request).answer);
  }
  json(res, 404, { error: `no route ${key}` });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  route(req, res).catch((error: unknown) => json(res, 500, { error: error instanceof Error ? error.message : String(error) }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

process.on('message', (message: ToChild) => {
  if (message.type !== 'request' || message.op !== 'close') return;
  server.closeAllConnections();
  server.close();
  void guard
    .close()
    .then(() => pool.end())
    .then(() => send({ type: 'reply', id: message.id, ok: true }));
});
// The channel closed: after `close`, or run.ts is gone (Ctrl-C, a crash).
process.on('disconnect', () => process.exit());

send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
