/**
 * `journal report` over journals a store manager is unlucky with: damaged,
 * carried through other tools, or fed through a pipe. The report still comes
 * out, with a warning for what it had to leave out, never an internal error.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdtempSync, readFileSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalReportCommand } from '../../src/cli/journal-report.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import type { JournalSummary } from '../../src/report/summary.js';
import { readJournal, readJournalFiles } from '../../src/stores/file/journal-read.js';
import { SECRET } from '../helpers/guard.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function report(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await journalReportCommand(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
  return { code, stdout, stderr };
}

/** A till's store after a double tap the cashier confirmed: a start, two settles, a prompt and an override in its journal. */
async function till(): Promise<string> {
  const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'till.jsonl');
  let now = Date.parse('2026-03-01T01:00:00Z');
  const guard = await createGuard({
    merchantId: 'M-0001',
    secret: SECRET,
    store: fileStore(storePath),
    clock: { now: () => now, monotonic: () => now },
  });
  const sale = { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } };
  await (await guard.begin(sale)).attempt?.approve();
  now += 5_000;
  const prompt = await guard.begin(sale);
  await (await guard.override(prompt, { operator: 'alice', reason: 'two coffees' })).attempt?.approve();
  await guard.close();
  return storePath;
}

describe('journal report over a damaged journal', () => {
  it('skips an entry whose time no calendar can show, with a warning, and reports the rest', async () => {
    const storePath = await till();
    appendFileSync(`${storePath}.journal`, `${JSON.stringify({ at: 8.64e15 + 1, type: 'decision', verdict: 'block', codes: ['X'] })}\n`);
    appendFileSync(`${storePath}.journal`, `${JSON.stringify({ at: -1e300, type: 'storage', detail: 'x' })}\n`);
    for (const format of [[], ['--csv'], ['--html', join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'r.html')]]) {
      const run = await report(['--store', storePath, '--tz', 'UTC', ...format]);
      expect(run).toMatchObject({ code: 0, stderr: expect.stringMatching(/warning: .*skipped/) });
      expect(run.stderr).not.toContain('internal error');
    }
    const json = JSON.parse((await report(['--store', storePath, '--tz', 'UTC', '--json'])).stdout) as JournalSummary;
    expect(json.decisions.byVerdict).toEqual({ allow: 0, prompt: 1, block: 0 });
    expect(json.storage).toEqual([]);
  });

  it('reads a journal carried through Windows: CRLF line ends and a byte order mark', async () => {
    const storePath = await till();
    const lines = readFileSync(`${storePath}.journal`, 'utf8');
    const expected = await report(['--journal', `${storePath}.journal`, '--tz', 'UTC', '--json']);
    const copy = join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'till.journal');
    writeFileSync(copy, `\uFEFF${lines.replace(/\n/g, '\r\n')}`);
    const run = await report(['--journal', copy, '--tz', 'UTC', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(expected.stdout);
    expect((JSON.parse(run.stdout) as JournalSummary).journal).toMatchObject({ entries: 5, starts: 1 });
  });

  it('reads a journal from a pipe: --journal <(zcat till.journal.gz)', async () => {
    const storePath = await till();
    const expected = await report(['--journal', `${storePath}.journal`, '--tz', 'UTC', '--json']);
    const fifo = join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const writing = writeFile(fifo, readFileSync(`${storePath}.journal`));
    const run = await report(['--journal', fifo, '--tz', 'UTC', '--json']);
    await writing;
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(expected.stdout);
  });

  it('skips a line longer than any entry, holding no more of it than that (a power loss left a hole of NUL bytes)', async () => {
    const storePath = await till();
    const file = `${storePath}.journal`;
    const before = readFileSync(file).length;
    truncateSync(file, before + 40 * 1024 * 1024); // 40 MiB of NUL bytes, no newline: a file extended but never written
    appendFileSync(file, `\n${JSON.stringify({ at: Date.parse('2026-03-01T02:00:00Z'), type: 'storage', detail: 'after the hole' })}\n`);
    const bad: number[] = [];
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const types: string[] = [];
    const options = {
      maxLineBytes: 1024 * 1024,
      onBadLine: (_file: string, line: number) => bad.push(line),
      onProgress: () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)),
    };
    for await (const entry of readJournalFiles([file], options)) types.push(entry.type);
    expect(types).toEqual(['start', 'settle', 'decision', 'override', 'settle', 'storage']);
    expect(bad).toEqual([6]);
    // The reader holds a chunk and at most maxLineBytes of a line, not the 40 MiB.
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });

  it('never writes the page over the journal or the store it reads (a slip of --html for --store)', async () => {
    const storePath = await till();
    const journal = readFileSync(`${storePath}.journal`);
    const data = readFileSync(storePath);
    for (const [args, target] of [
      [['--store', storePath, '--html', storePath], storePath],
      [['--store', storePath, '--html', `${storePath}.journal`], `${storePath}.journal`],
      [['--journal', `${storePath}.journal`, '--html', `${storePath}.journal`], `${storePath}.journal`],
      [['--store', storePath, '--html', join(storePath, '..', '.', 'till.jsonl')], storePath],
    ] as const) {
      const run = await report([...args, '--tz', 'UTC']);
      expect(run).toMatchObject({ code: 2, stderr: expect.stringContaining(`will not write the page over ${target}`) });
    }
    expect(readFileSync(`${storePath}.journal`)).toEqual(journal);
    expect(readFileSync(storePath)).toEqual(data);
  });

  it('reads every entry of a journal the till rotates while it is read', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'till.jsonl');
    let now = Date.parse('2026-03-01T01:00:00Z');
    const guard = await createGuard({
      merchantId: 'M-0001',
      secret: SECRET,
      store: fileStore(storePath, { journalMaxBytes: 600 }),
      clock: { now: () => now, monotonic: () => now },
    });
    const sale = (i: number) => ({ amount: 100 + i, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } });
    for (let i = 0; i < 8; i++, now += 60_000) {
      await (await guard.begin(sale(i))).attempt?.approve();
    }
    await guard.close();
    const before: number[] = [];
    for await (const entry of readJournal(storePath)) before.push(entry.seq ?? -1);
    const seen: number[] = [];
    let rotated = false;
    const rotate = () => {
      if (rotated) return;
      rotated = true;
      // What the till does past journalMaxBytes, between the reader's two files: .journal becomes .journal.1.
      renameSync(`${storePath}.journal`, `${storePath}.journal.1`);
      writeFileSync(`${storePath}.journal`, '');
    };
    for await (const entry of readJournal(storePath, { onProgress: rotate })) seen.push(entry.seq ?? -1);
    expect(seen).toEqual(before);
  });

  it('names a file whose name holds terminal escapes without obeying them (a journal from a USB stick, by glob)', async () => {
    const storePath = await till();
    const hostile = join(mkdtempSync(join(tmpdir(), 'pdg-damaged-')), 'till\u001b]0;pwned\u0007\u001b[2J.journal');
    writeFileSync(hostile, `${readFileSync(`${storePath}.journal`, 'utf8')}{"at":1,"ty`);
    const torn = await report(['--journal', hostile, '--tz', 'UTC', '--json']);
    expect(torn).toMatchObject({ code: 0, stderr: expect.stringContaining('torn last line skipped') });
    const missing = await report(['--journal', `${hostile}.gone`, '--tz', 'UTC']);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('no journal file at') });
    for (const { stderr } of [torn, missing]) {
      expect([stderr.includes('\u001b'), stderr.includes('\u0007')]).toEqual([false, false]);
      expect(stderr).toContain('till\\u001b]0;pwned\\u0007\\u001b[2J.journal');
    }
  });

  it('replaces a symlink at the page path instead of writing through it (another user planted /tmp/report.html)', async () => {
    const storePath = await till();
    const dir = mkdtempSync(join(tmpdir(), 'pdg-damaged-'));
    const victim = join(dir, 'bashrc');
    writeFileSync(victim, 'export PATH=/usr/bin\n');
    const page = join(dir, 'report.html');
    symlinkSync(victim, page);
    const run = await report(['--store', storePath, '--tz', 'UTC', '--html', page]);
    expect(run.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('export PATH=/usr/bin\n');
    expect(lstatSync(page).isSymbolicLink()).toBe(false);
    expect(readFileSync(page, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('warns about the first few damaged lines, then counts the rest, instead of a warning per line', async () => {
    const storePath = await till();
    // A stretch of a file overwritten with another file's text: thousands of lines, none an entry.
    appendFileSync(`${storePath}.journal`, 'not a journal line\n'.repeat(5_000));
    const run = await report(['--store', storePath, '--tz', 'UTC', '--json']);
    expect(run.code).toBe(0);
    const warnings = run.stderr.split('\n').filter(Boolean);
    expect(warnings.length).toBeLessThanOrEqual(11);
    expect(warnings.at(-1)).toMatch(/5,000 lines in all were not journal entries and were skipped/);
  });

  it('says when entries are missing from the chain: a line deleted to hide an override (no secret needed to see the gap)', async () => {
    const storePath = await till();
    const file = `${storePath}.journal`;
    const lines = readFileSync(file, 'utf8').split('\n');
    const override = lines.findIndex((line) => line.includes('"type":"override"'));
    expect(override).toBeGreaterThan(0);
    writeFileSync(file, lines.filter((_, i) => i !== override).join('\n'));
    const run = await report(['--store', storePath, '--tz', 'UTC', '--json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as JournalSummary).overrides.total).toBe(0);
    expect(run.stderr).toMatch(
      /warning: .*journal: seq \d+ is followed by \d+: 1 entry missing \(deleted, or edited out\): run journal verify/,
    );
    // An honest journal, rotated or not, has no gap to report.
    expect((await report(['--store', await till(), '--tz', 'UTC', '--json'])).stderr).toBe('');
  });
});
