/**
 * A journal is read from a file, and a file can say anything: one an older
 * version or another tool wrote (card numbers, expiry dates and security
 * codes unmasked), or one edited on purpose (terminal escapes in a reason
 * code or a status). Whatever the format, the report shows no card data and
 * writes nothing a terminal would obey.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalReportCommand } from '../../src/cli/journal-report.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { SECRET } from '../helpers/guard.js';

const T = Date.parse('2026-03-01T01:00:00Z');

/** Lines as an older tool wrote them: before free text was masked on write. */
const OLD_TOOL = [
  { at: T, type: 'decision', verdict: 'prompt', codes: ['DUPLICATE_CHARGE 4111111111111111'], amount: 1250 },
  {
    at: T + 1,
    type: 'override',
    attemptId: 'pdg_a',
    operator: 'alice 4111 1111 1111 1111',
    reason: 'card 5555555555554444 exp 12/29 cvv 123',
    supervisor: 'bob',
    codes: ['DUPLICATE_CHARGE'],
  },
  { at: T + 2, type: 'settle', attemptId: 'pdg_b', from: 'pending', to: 'unknown' },
  { at: T + 3, type: 'settle', attemptId: 'pdg_b', from: 'unknown', to: 'declined', detail: 'Declined: card 4111111111111111' },
  { at: T + 4, type: 'conflict', codes: ['CONFLICT'], attempts: ['pdg_c', 'pdg_d'], detail: 'card 4111-1111-1111-1111 charged twice' },
  { at: T + 5, type: 'storage', detail: 'record for 5555 5555 5555 4444 exp 01/30 skipped' },
  { at: T + 6, type: 'settle', attemptId: 'pdg_e', from: 'approved', to: 'refunded', amount: 100, detail: 'over-refund 4111111111111111' },
];

/** Lines edited to drive the manager's terminal: escapes where the guard writes only codes and statuses. */
const ESCAPES = [
  { at: T, type: 'decision', verdict: 'block', codes: ['DUPLICATE_CHARGE\u001b[2J\u001b[H'] },
  { at: T + 1, type: 'override', attemptId: 'pdg_a', operator: 'eve', reason: 'ok', codes: ['X\u001b]0;pwned\u0007'] },
  { at: T + 2, type: 'settle', attemptId: 'pdg_b', from: 'pending\u001b[8m', to: 'approved\u009b31m' },
  { at: T + 3, type: 'conflict', codes: ['C\u202e\u001b[1A'], attempts: ['pdg_c'], detail: 'x' },
];

/** ESC, BEL and C1's CSI drive a terminal; a bidi override shows a line backwards. CR and LF end CSV rows. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const OBEYED = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The cells of one RFC 4180 row, quotes kept. */
function cellsOf(row: string): string[] {
  return [...row.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1] ?? '').slice(0, -1);
}

function journalOf(entries: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pdg-hostile-')), 'till.journal');
  writeFileSync(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  return file;
}

/** Every output of the report over `file`: the table, JSON, CSV and the HTML page. */
async function everyFormat(file: string): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const format of ['text', '--json', '--csv', '--html']) {
    let stdout = '';
    const page = join(mkdtempSync(join(tmpdir(), 'pdg-hostile-')), 'report.html');
    const args = ['--journal', file, '--tz', 'UTC', ...(format === 'text' ? [] : format === '--html' ? ['--html', page] : [format])];
    const code = await journalReportCommand(args, { stdout: (t) => (stdout += t), stderr: () => undefined, stderrIsTTY: false });
    expect(code).toBe(0);
    outputs[format] = format === '--html' ? readFileSync(page, 'utf8') : stdout;
  }
  return outputs;
}

describe('journal report over a hostile journal', () => {
  it('masks card numbers, expiry dates and security codes an older tool left in the journal, in every format', async () => {
    const outputs = await everyFormat(journalOf(OLD_TOOL));
    for (const [format, output] of Object.entries(outputs)) {
      const digits = output.replace(/[\s-]/g, '');
      expect({ format, pan: /4111111111111111|5555555555554444/.test(digits) }).toEqual({ format, pan: false });
      expect({ format, expiry: /12\/29|01\/30/.test(output) }).toEqual({ format, expiry: false });
      expect({ format, cvv: /cvv 123/.test(output) }).toEqual({ format, cvv: false });
    }
    expect(outputs.text).toContain('alice [card number removed]');
  });

  it('writes no control character a terminal would obey, whatever field of the journal holds it', async () => {
    const outputs = await everyFormat(journalOf(ESCAPES));
    for (const format of ['text', '--json', '--csv']) {
      expect({ format, controls: OBEYED.test(outputs[format] ?? '') }).toEqual({ format, controls: false });
    }
    // The JSON document still says what the journal says: the characters are escaped, not lost.
    const json = JSON.parse(outputs['--json'] ?? '') as { settles: { from: string; to: string }[] };
    expect(json.settles[0]).toMatchObject({ from: 'pending\u001b[8m', to: 'approved\u009b31m' });
  });

  it('defuses a formula behind leading blanks in a CSV cell (a scanner that types a newline first)', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-hostile-')), 'till.jsonl');
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(storePath), authorize: async () => true });
    const sale = { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } };
    await (await guard.begin(sale)).attempt?.approve();
    for (const text of ['\n=HYPERLINK("http://evil.example","x")', ' +SUM(1,1)', '\r\n@SUM(1)', ' \t-2+3']) {
      const allowed = await guard.override(await guard.begin(sale), { operator: text, reason: text, supervisor: text });
      await allowed.attempt?.approve();
    }
    await guard.close();
    const csv = (await everyFormat(`${storePath}.journal`))['--csv'] ?? '';
    const cells = csv
      .split('\r\n')
      .filter((row) => row.startsWith('override,'))
      .flatMap((row) => cellsOf(row).slice(7, 10));
    expect(cells).toHaveLength(12);
    expect(cells[0]).toMatch(/HYPERLINK/);
    // A spreadsheet that trims a cell before reading it (Google Sheets' import) would see a formula.
    for (const cell of cells) expect(cell.replace(/^"/, '')).not.toMatch(/^[\s\uFFFD]*[=+\-@]/);
  });

  it('--json keeps text as typed: an astral format character (the tag letters of a flag) escaped whole, not cut in half', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-hostile-')), 'till.jsonl');
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(storePath), authorize: async () => true });
    const sale = { amount: 1250, currency: 'GBP', card: { pan: '4111 1111 1111 1111' } };
    await (await guard.begin(sale)).attempt?.approve();
    const england = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
    await (await guard.override(await guard.begin(sale), { operator: `Ann ${england}`, reason: 'ok' })).attempt?.approve();
    await guard.close();
    const json = (await everyFormat(`${storePath}.journal`))['--json'] ?? '';
    const summary = JSON.parse(json) as { overrides: { list: { operator: string }[] } };
    expect(summary.overrides.list[0]?.operator).toBe(`Ann ${england}`);
    expect(json).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/);
  });
});
