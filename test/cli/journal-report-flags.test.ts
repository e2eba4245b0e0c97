/**
 * `journal report --currency`: amounts in the journal are minor units, and
 * the currency says how many of them make one. A code the runtime does not
 * know (a typo, or RMB for CNY) would be shown with a guessed 2 decimals:
 * JYP for JPY prints ¥1,250 as 12.50, money off by a factor of 100.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalReportCommand } from '../../src/cli/journal-report.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { SECRET } from '../helpers/guard.js';

async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await journalReportCommand(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
  return { code, stdout, stderr };
}

/** A till that sold for 1250 minor units and refunded all of it. */
async function refundedSale(currency: string): Promise<string> {
  const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-currency-')), 'till.jsonl');
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(storePath) });
  const attempt = (await guard.begin({ amount: 1250, currency, card: { pan: '4111 1111 1111 1111' } })).attempt;
  await attempt?.approve();
  if (attempt) await guard.settle(attempt.id, { status: 'refunded' });
  await guard.close();
  return storePath;
}

describe('journal report --currency', () => {
  it.each([
    ['JPY', '¥1,250'],
    ['BHD', 'BHD 1.250'],
    ['CNY', 'CN¥12.50'],
  ])('shows %s amounts exactly', async (currency, shown) => {
    const { code, stdout } = await report(['--store', await refundedSale(currency), '--tz', 'UTC', '--currency', currency]);
    expect(code).toBe(0);
    // Intl puts a no-break space between a code and the number.
    expect(stdout.replace(/\u00a0/g, ' ')).toMatch(new RegExp(`Refunds recorded +1 \\(${shown.replace(/[.$]/g, '\\$&')}\\)`));
  });

  it.each(['JYP', 'RMB', 'ABC'])('refuses %s, a code whose decimals it would only guess', async (currency) => {
    const { code, stderr } = await report(['--store', await refundedSale('JPY'), '--tz', 'UTC', '--currency', currency]);
    expect(code).toBe(2);
    expect(stderr).toContain(`--currency must be an ISO 4217 code such as CNY or USD, got "${currency}"`);
  });
});
