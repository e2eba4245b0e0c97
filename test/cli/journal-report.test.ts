import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { journalReportCommand, type ReportIo } from '../../src/cli/journal-report.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import type { JournalSummary } from '../../src/report/summary.js';
import { SECRET } from '../helpers/guard.js';
import { playJournalDay, type JournalDay } from '../helpers/journal-day.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function report(args: string[], stderrIsTTY = false): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: ReportIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY };
  const code = await journalReportCommand(args, io);
  return { code, stdout, stderr };
}

/** The real bin through tsx, as `npx pos-duplicate-guard` runs it. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('pos-duplicate-guard journal report', () => {
  let day: JournalDay;
  beforeAll(async () => {
    day = await playJournalDay();
  }, 30_000);

  it("without --tz, dates are in the machine's zone (TZ), and the header names it", async () => {
    const run = (tz: string) =>
      new Promise<Run>((resolve) => {
        const env = { ...process.env, TZ: tz };
        execFile(
          'npx',
          ['tsx', 'src/cli.ts', 'journal', 'report', '--store', day.storePath],
          { encoding: 'utf8', timeout: 60_000, env },
          (error, stdout, stderr) => resolve({ code: error ? -1 : 0, stdout, stderr }),
        );
      });
    const [shanghai, newYork] = await Promise.all([run('Asia/Shanghai'), run('America/New_York')]);
    expect(shanghai.code).toBe(0);
    expect(shanghai.stdout).toContain('Whole journal (Asia/Shanghai)');
    expect(newYork.stdout).toContain('Whole journal (America/New_York)');
  }, 60_000);

  it('prints the table and exits 0', async () => {
    const { code, stdout, stderr } = await report(['--store', day.storePath, '--tz', 'Asia/Shanghai']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Duplicate-charge guard: journal report\nWhole journal \(Asia\/Shanghai\)\n/);
    expect(stdout).toContain('Unknown outcomes (4: 1 by recovery, 1 by reconciliation, 1 by hand, 1 still open)');
  });

  it('--json prints one document with unknowns: { attemptId, resolvedBy, resolvedAfterMs }', async () => {
    const { code, stdout } = await report([
      '--store',
      day.storePath,
      '--tz',
      'Asia/Shanghai',
      '--json',
      '--from',
      '2026-03-01',
      '--to',
      '2026-03-01',
    ]);
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as JournalSummary;
    expect(json.unknowns.map(({ attemptId, resolvedBy, resolvedAfterMs }) => ({ attemptId, resolvedBy, resolvedAfterMs }))).toEqual([
      { attemptId: day.ids.timedOut, resolvedBy: 'recovery', resolvedAfterMs: 5_000 },
      { attemptId: day.ids.leftForPerson, resolvedBy: 'manual', resolvedAfterMs: 3_600_000 },
      { attemptId: day.ids.crashed, resolvedBy: 'reconciliation', resolvedAfterMs: 60_000 },
      { attemptId: day.ids.stillOpen, resolvedBy: null, resolvedAfterMs: null },
    ]);
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['period', 'decisions', 'overrides', 'unknowns', 'refunds', 'clockAnomalies', 'storage', 'conflicts']),
    );
    expect(json.period).toEqual({
      from: '2026-03-01',
      to: '2026-03-01',
      tz: 'Asia/Shanghai',
      start: Date.parse('2026-02-28T16:00:00Z'),
      end: Date.parse('2026-03-01T16:00:00Z'),
    });
  });

  it('--csv prints the CSV table, --html writes the page', async () => {
    const csv = await report(['--store', day.storePath, '--csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^section,time,attemptId,/);
    const out = join(mkdtempSync(join(tmpdir(), 'pdg-html-')), 'report.html');
    const html = await report(['--store', day.storePath, '--html', out, '--locale', 'zh-CN']);
    expect(html).toMatchObject({ code: 0, stdout: `Report written to ${out}\n` });
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
  });

  it("--journal reads one exported journal file (a browser till's)", async () => {
    const { code, stdout } = await report(['--journal', `${day.storePath}.journal`, '--json', '--tz', 'Asia/Shanghai']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JournalSummary).unknownTotals.total).toBe(4);
    expect(await report(['--journal', join(tmpdir(), 'no-such.journal')])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no journal file at'),
    });
  });

  it('reads the journal of a store a live till holds open (no lock taken)', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-live-')), 'till.jsonl');
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(storePath) });
    const sale = { amount: 700, currency: 'USD', card: { pan: '4111 1111 1111 1111' } };
    await (await guard.begin(sale)).attempt?.approve();
    const prompt = await guard.begin(sale);
    expect(prompt.verdict).toBe('prompt');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the journal is appended in batches
    const { code, stdout } = await report(['--store', storePath, '--json', '--tz', 'UTC']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JournalSummary).decisions.byVerdict.prompt).toBe(1);
    await guard.close();
  });

  it('shows progress on stderr only when stderr is a terminal', async () => {
    const onTerminal = await report(['--store', day.storePath, '--json'], true);
    expect(onTerminal.stderr).toMatch(/^\rReading journal… \d+% \(\d[\d,]* lines\)/);
    expect(onTerminal.stderr.endsWith('\r\u001b[K')).toBe(true);
    const piped = await report(['--store', day.storePath, '--json'], false);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe(onTerminal.stdout);
  });

  it('warns about a torn last line on stderr and still reports', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-torn-')), 'till.jsonl');
    appendFileSync(`${storePath}.journal`, `${JSON.stringify({ at: 1, type: 'start' })}\n{"at":2,"ty`);
    const { code, stderr } = await report(['--store', storePath, '--json', '--tz', 'UTC']);
    expect(code).toBe(0);
    expect(stderr).toBe(`warning: ${storePath}.journal:2: torn last line skipped (the till stopped mid-write)\n`);
  });

  it.each([
    [[], /--store <path> is required/],
    [['--store'], /--store needs a value/],
    [['--store', 'x', '--jsn'], /unknown option --jsn/],
    [['--store', 'x', '--json=yes'], /--json takes no value/],
    [['--store', 'x', '--json', '--csv'], /choose one of --json, --csv and --html, not --json and --csv/],
    [['--store', 'x', '--locale', 'fr'], /--locale must be en or zh-CN, got "fr"/],
    [['--store', 'x', '--tz', 'Mars/Base'], /--tz must be an IANA time zone/],
    [['--store', 'x', '--currency', 'yuan'], /--currency must be an ISO 4217 code/],
    [['--store', 'x', 'extra'], /unexpected argument "extra"/],
    [['--store', 'x', '--journal', 'y'], /choose one of --store and --journal, not both/],
  ])('exits 2 with our own words for bad arguments: %j', async (args, message) => {
    const { code, stdout, stderr } = await report(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Run "pos-duplicate-guard journal report --help" for usage.');
  });

  it('exits 2 for a bad date, a period backwards or a missing journal; a bad line is skipped with a warning naming file and line', async () => {
    expect(await report(['--store', day.storePath, '--from', '2026-02-30'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--from: Expected `from` to be a date YYYY-MM-DD, got "2026-02-30"'),
    });
    expect(await report(['--store', day.storePath, '--from', '2026-03-02', '--to', '2026-03-01'])).toMatchObject({ code: 2 });
    expect(await report(['--store', join(tmpdir(), 'no-such-till.jsonl')])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no journal at'),
    });
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-bad-')), 'till.jsonl');
    appendFileSync(
      `${storePath}.journal`,
      `${JSON.stringify({ at: 1, type: 'start' })}\n<<garbage>>\n${JSON.stringify({ at: 2, type: 'start' })}\n`,
    );
    // The report still reads what it can (journal verify says whether it was tampered with).
    expect(await report(['--store', storePath])).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(`${storePath}.journal:2: not a journal entry, skipped`),
    });
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await report(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: pos-duplicate-guard journal report --store <path>/);
    for (const flag of ['--from', '--to', '--tz', '--locale', '--currency', '--json', '--csv', '--html']) expect(stdout).toContain(flag);
  });

  it('is reached from the bin as "journal report", and "journal" alone lists it and exits 2', { timeout: 120_000 }, async () => {
    const json = await cli('journal', 'report', '--store', day.storePath, '--json', '--tz', 'Asia/Shanghai');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as JournalSummary).unknownTotals.total).toBe(4);
    const bare = await cli('journal');
    expect(bare.code).toBe(2);
    expect(bare.stdout).toMatch(/^\s+report\s+Summarise it/m);
  });
});
