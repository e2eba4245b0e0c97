/**
 * The web POS example's server: bundles the till page with esbuild at start-up
 * and hosts the simulated processor as an HTTP API. Keeping the processor
 * server-side is what makes "reload mid-charge" real: the charge completes
 * while the page is gone.
 *
 *   npm run example:web          # http://127.0.0.1:5173 (PORT=8080 to change)
 *
 * API (JSON):
 *   POST /api/charge  { idempotencyKey, amount, currency, last4? } → { approved, ... }
 *   POST /api/status  { idempotencyKey }  status inquiry            → { found, captured?, authCode?, state? }
 *   POST /api/reverse { idempotencyKey }  reversal (冲正)           → { acknowledged, ... }
 *   GET  /api/charges[?idempotencyKey=…]                          → { mode, charges }
 *   POST /api/mode    { mode: 'approve' | 'decline' | 'timeout' | 'slow' | 'hold' | 'unreachable' }
 *   POST /api/reset   (tests: empty ledger, mode 'approve')
 *
 * In mode `unreachable` the first three, the till's requests to the
 * processor, get no answer at all (the socket is held, as for a lost answer);
 * the others are the demo's own controls and always answer.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { IdempotencyMismatchError, PROCESSOR_MODES, SimulatedProcessor, type ChargeRequest, type ProcessorMode } from './processor.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** A request nobody answers (modes `timeout`, `hold`, `unreachable`) is dropped after this, so sockets do not pile up. */
const LOST_ANSWER_HOLD_MS = 120_000;
const MAX_BODY_BYTES = 4096;

export interface WebPosServer {
  /** e.g. `http://127.0.0.1:5173/` */
  readonly url: string;
  readonly processor: SimulatedProcessor;
  close(): Promise<void>;
}

export interface WebPosServerOptions {
  /** `0` picks a free port. @default 5173 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** Bundles the page and starts listening. Resolves once the URL is reachable. */
export async function startServer(options: WebPosServerOptions = {}): Promise<WebPosServer> {
  const assets = await bundlePage();
  const processor = new SimulatedProcessor();
  const held = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    route(req, res, { assets, processor, held }).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5173, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}/`,
    processor,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const res of held) res.destroy();
        held.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface Asset {
  type: string;
  body: string | Uint8Array;
}

/** The page: static HTML and CSS, plus its TypeScript bundled with the library's sources. */
async function bundlePage(): Promise<Map<string, Asset>> {
  const result = await build({
    entryPoints: [`${HERE}page/main.ts`],
    bundle: true,
    format: 'esm',
    // Chromium kiosks and Android WebViews of the last few years.
    target: ['chrome100', 'safari15'],
    write: false,
    outdir: `${HERE}.bundle`,
    entryNames: 'app',
    sourcemap: 'linked',
    minify: false,
    logLevel: 'warning',
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    assets.set(`/${name}`, { type: name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8', body: file.contents });
  }
  assets.set('/', { type: 'text/html; charset=utf-8', body: await readFile(`${HERE}index.html`, 'utf8') });
  assets.set('/styles.css', { type: 'text/css; charset=utf-8', body: await readFile(`${HERE}styles.css`, 'utf8') });
  return assets;
}

interface Context {
  assets: Map<string, Asset>;
  processor: SimulatedProcessor;
  held: Set<ServerResponse>;
}

async function route(req: IncomingMessage, res: ServerResponse, { assets, processor, held }: Context): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const key = `${req.method} ${url.pathname}`;

  if (key === 'POST /api/charge' || key === 'POST /api/status' || key === 'POST /api/reverse') {
    const body = await readJson(req);
    // The network is down: the request never reaches the processor, and the till hears nothing.
    if (!processor.reachable) return holdUnanswered(res, held);
    if (key !== 'POST /api/charge') {
      const idempotencyKey = parseKey(body);
      if (idempotencyKey === undefined) return sendJson(res, 400, { error: KEY_RULE });
      return sendJson(res, 200, key === 'POST /api/status' ? processor.status(idempotencyKey) : processor.reverse(idempotencyKey));
    }
    const request = parseChargeRequest(body);
    if (typeof request === 'string') return sendJson(res, 400, { error: request });
    let handled;
    try {
      handled = processor.charge(request);
    } catch (error) {
      if (error instanceof IdempotencyMismatchError) return sendJson(res, 422, { error: error.message });
      throw error;
    }
    // The processor decided (and may have moved money); the answer is lost
    // on the way back. Hold the socket open until the till gives up.
    if (handled.delivery === 'lost') return holdUnanswered(res, held);
    const { answer } = handled;
    if (handled.delivery.afterMs === 0) return sendJson(res, 200, answer);
    const timer = setTimeout(() => sendJson(res, 200, answer), handled.delivery.afterMs);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (key === 'GET /api/charges') {
    const wanted = url.searchParams.get('idempotencyKey');
    const charges = wanted === null ? processor.ledger() : [processor.find(wanted)].filter((entry) => entry !== undefined);
    return sendJson(res, 200, { mode: processor.mode, charges });
  }
  if (key === 'POST /api/mode') {
    const body = await readJson(req);
    const mode = (body as { mode?: unknown } | undefined)?.mode;
    if (!PROCESSOR_MODES.includes(mode as ProcessorMode)) {
      return sendJson(res, 400, { error: `mode must be one of ${PROCESSOR_MODES.join(', ')}` });
    }
    processor.mode = mode as ProcessorMode;
    return sendJson(res, 200, { mode: processor.mode });
  }
  if (key === 'POST /api/reset') {
    processor.reset();
    return sendJson(res, 200, { mode: processor.mode, charges: [] });
  }
  const asset = req.method === 'GET' ? assets.get(url.pathname) : undefined;
  if (asset) {
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' });
    res.end(asset.body);
    return;
  }
  sendJson(res, 404, { error: `no route ${key}` });
}

/** Keeps the socket open without an answer until the till gives up (or the hold runs out). */
function holdUnanswered(res: ServerResponse, held: Set<ServerResponse>): void {
  held.add(res);
  const drop = setTimeout(() => res.destroy(), LOST_ANSWER_HOLD_MS);
  res.on('close', () => {
    clearTimeout(drop);
    held.delete(res);
  });
}

const KEY_RULE = '`idempotencyKey` must be 16-255 URL-safe characters';

function isKey(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{16,255}$/.test(value);
}

/** A status inquiry or a reversal names the charge by its idempotency key, and nothing else. */
function parseKey(body: unknown): string | undefined {
  const idempotencyKey = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).idempotencyKey : undefined;
  return isKey(idempotencyKey) ? idempotencyKey : undefined;
}

/** Picks only the fields a gateway request from this till carries: nothing else reaches the ledger. */
function parseChargeRequest(body: unknown): ChargeRequest | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object';
  const { idempotencyKey, amount, currency, last4 } = body as Record<string, unknown>;
  if (!isKey(idempotencyKey)) return KEY_RULE;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) {
    return '`amount` must be a positive integer of minor units';
  }
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return '`currency` must be an ISO 4217 code';
  if (last4 !== undefined && (typeof last4 !== 'string' || !/^\d{4}$/.test(last4))) return '`last4` must be 4 digits';
  return { idempotencyKey, amount, currency, ...(last4 === undefined ? {} : { last4 }) };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

// `npm run example:web`: start on PORT (default 5173) and print the URL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = process.env.PORT === undefined ? 5173 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  const server = await startServer({ port });
  console.log(`Web POS example: ${server.url}`);
  console.log('Simulated processor API under /api (charge, status, reverse, charges, mode, reset). Ctrl+C to stop.');
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
