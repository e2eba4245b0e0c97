/**
 * `npm run test:e2e`: the web POS example in Debian's Chromium.
 *
 *   npm run test:e2e                 # every test
 *   npm run test:e2e -- timeout      # tests whose name contains "timeout"
 *
 * Screenshots of the main states go to test-results/e2e/, and so do the ones
 * the docs show (the till at three screen sizes, the journal report), unless
 * `npm run docs:images` runs it: then those go to docs/images/. Not part of
 * `npm test`: it needs a browser (`apt-get install chromium`).
 */
import { tests as cjkFont } from './cjk-font.e2e.js';
import { runTests } from './harness.js';
import { tests as journalReport } from './journal-report.e2e.js';
import { tests as tillScreens } from './till-screens.e2e.js';
import { tests as webPos } from './web-pos.e2e.js';

const tests = [...webPos, ...tillScreens, ...cjkFont, ...journalReport];

const filter = process.argv.slice(2).join(' ').toLowerCase();
const selected = filter ? tests.filter((test) => test.name.toLowerCase().includes(filter)) : tests;
if (selected.length === 0) {
  console.error(`no e2e test name contains "${filter}"`);
  process.exit(2);
}
const failed = await runTests(selected);
process.exitCode = failed === 0 ? 0 : 1;
