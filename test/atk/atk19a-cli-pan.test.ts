/**
 * atk19a: card data typed into scenario files reaches no output of the scenario CLI.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scenariosCommand, type CommandIo } from '../../src/scenarios/cli.js';
import { cardNumberLeaks } from '../helpers/cards.js';

const root = mkdtempSync(join(tmpdir(), 'atk19a-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PAN = '4111 1111 1111 1111';
const sale = { amount: 1250, currency: 'CNY', card: { pan: PAN } };
let n = 0;
function write(content: unknown, raw?: string): string {
  const dir = join(root, `s${n++}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'scenario.json');
  writeFileSync(file, raw ?? JSON.stringify(content, null, 2));
  return file;
}
async function run(args: string[], extra: Partial<CommandIo> = {}) {
  let out = '';
  let err = '';
  const code = await scenariosCommand(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), ...extra });
  return { code, out, err };
}

const HOSTILE: Record<string, unknown> = {
  asName: { name: 'n', steps: [{ begin: sale, as: `a ${PAN}`, expect: { verdict: 'block' } }] },
  decisionRef: { name: 'n', steps: [{ begin: sale, as: 'a' }, { override: { decision: PAN, operator: 'x', reason: 'y' } }] },
  attemptRef: { name: 'n', steps: [{ settle: { attempt: PAN, status: 'approved' } }] },
  expectError: { name: 'n', steps: [{ begin: sale, expect: { error: `Guard${PAN}` } }] },
  expectStatus: { name: 'n', steps: [{ begin: sale, as: 'a' }, { expectAttempt: { attempt: 'a', status: PAN } }] },
  verdictPan: { name: 'n', steps: [{ begin: sale, expect: { verdict: PAN } }] },
  reasonPan: { name: 'n', steps: [{ begin: sale, expect: { verdict: 'allow', reasons: [PAN] } }] },
  unknownStep: { name: 'n', steps: [{ [PAN]: true }] },
  unknownKey: { name: 'n', steps: [{ begin: sale, [PAN]: 1 }] },
  configMerchant: { name: 'n', config: { merchantId: PAN }, steps: [{ begin: sale }] },
  configSecret: { name: 'n', config: { secret: `${PAN}${PAN}` }, steps: [{ begin: sale, expect: { verdict: 'block' } }] },
  configUnknown: { name: 'n', config: { [PAN]: 1 }, steps: [{ begin: sale }] },
  start: { name: 'n', start: PAN, steps: [{ begin: sale }] },
  advance: { name: 'n', steps: [{ advance: PAN }] },
  clockJump: { name: 'n', steps: [{ clockJump: `-${PAN.replace(/ /g, '')}ms` }] },
  restart: { name: 'n', steps: [{ restart: { secret: PAN } }] },
  overrideText: {
    name: 'n',
    steps: [
      { begin: sale, as: 'a' },
      { settle: { attempt: 'a', status: 'approved' } },
      { begin: sale, as: 'b', expect: { verdict: 'prompt' } },
      { override: { decision: 'b', operator: PAN, reason: `exp 12/29 ${PAN}` }, as: 'c', expect: { verdict: 'block' } },
    ],
  },
  operatorSale: { name: 'n', steps: [{ begin: { ...sale, operator: PAN }, expect: { verdict: 'allow' } }] },
  orderSale: { name: 'n', steps: [{ begin: { ...sale, orderId: PAN.replace(/ /g, '') }, expect: { verdict: 'allow' } }] },
  terminalStep: { name: 'n', steps: [{ begin: sale, terminal: PAN, expect: { verdict: 'block' } }] },
  disconnect: { name: 'n', steps: [{ disconnect: PAN }] },
  processor: {
    name: 'n',
    steps: [
      { begin: sale, as: 'a' },
      { processor: { attempt: 'a', answers: [{ status: PAN }] } },
      { settle: { attempt: 'a', status: 'unknown' } },
      { advance: '1m' },
    ],
  },
  processorAnswerMessage: {
    name: 'n',
    config: { recoverAfter: '1s' },
    steps: [
      { begin: sale, as: 'a' },
      { processor: { attempt: 'a', answers: [{ status: 'declined', message: `card ${PAN}`, code: PAN, authCode: PAN }] } },
      { settle: { attempt: 'a', status: 'unknown' } },
      { advance: '1m' },
      { expectAttempt: { attempt: 'a', status: 'approved' } },
    ],
  },
  settleMessage: {
    name: 'n',
    steps: [
      { begin: sale, as: 'a' },
      { settle: { attempt: 'a', status: 'declined', message: PAN, processorRef: PAN, authCode: PAN } as unknown },
      { expectAttempt: { attempt: 'a', status: 'approved' } },
    ],
  },
  recoverNow: { name: 'n', steps: [{ recoverNow: { attempt: PAN } }] },
  tags: { name: 'n', tags: [PAN], steps: [{ begin: sale, expect: { verdict: 'block' } }] },
  description: { name: 'n', description: PAN, steps: [{ begin: sale, expect: { verdict: 'block' } }] },
  amountPan: { name: 'n', steps: [{ begin: { ...sale, amount: Number(PAN.replace(/ /g, '')) * 1000 }, expect: { verdict: 'allow' } }] },
  amountPanStr: { name: 'n', steps: [{ begin: { ...sale, amount: PAN }, expect: { verdict: 'allow' } }] },
  cardLast4: { name: 'n', steps: [{ begin: { ...sale, card: { last4: PAN } }, expect: { verdict: 'allow' } }] },
  cardToken: { name: 'n', steps: [{ begin: { ...sale, card: { token: PAN } }, expect: { verdict: 'block' } }] },
  cardBin: { name: 'n', steps: [{ begin: { ...sale, card: { last4: '1111', bin: PAN } }, expect: { verdict: 'allow' } }] },
  cardExpiry: { name: 'n', steps: [{ begin: { ...sale, card: { last4: '1111', expiry: PAN } }, expect: { verdict: 'allow' } }] },
  cardTrack: {
    name: 'n',
    steps: [{ begin: { ...sale, card: { track2: `;${PAN.replace(/ /g, '')}=29121010000000000000?` } }, expect: { verdict: 'allow' } }],
  },
  currencyPan: { name: 'n', steps: [{ begin: { ...sale, currency: PAN }, expect: { verdict: 'allow' } }] },
  refundOf: { name: 'n', steps: [{ begin: { ...sale, kind: 'refund', refundOf: PAN }, expect: { verdict: 'block' } }] },
  refundAmount: {
    name: 'n',
    steps: [
      { begin: sale, as: 'a' },
      { settle: { attempt: 'a', status: 'approved' } },
      { settle: { attempt: 'a', status: 'refunded', amount: PAN } },
    ],
  },
  nameOnly: { name: PAN, steps: [{ begin: sale, expect: { verdict: 'block' } }] },
  expectExtra: { name: 'n', steps: [{ begin: sale, expect: { verdict: 'block', [PAN]: 1 } }] },
  conflicts: { name: 'n', steps: [{ reconnect: 'T1', expect: { conflicts: [PAN] } }] },
  numberSteps: { name: 'n', steps: [Number(PAN.replace(/ /g, ''))] },
  stringSteps: { name: 'n', steps: PAN },
};

describe('atk19a: no card number in any scenario CLI output (holds)', () => {
  it('a card number in every field of a scenario file (names, refs, expectations, config, ids, details): none in stdout/stderr of the default, --json, junit, tap, github reporters or --list', async () => {
    const leaks: string[] = [];
    for (const [label, content] of Object.entries(HOSTILE)) {
      const file = write(content);
      for (const args of [
        [file],
        [file, '--json'],
        [file, '--reporter', 'junit'],
        [file, '--reporter', 'tap'],
        [file, '--list'],
        [file, '--reporter', 'github'],
      ]) {
        const { out, err } = await run(args, { env: {} });
        leaks.push(...cardNumberLeaks([out, err]).map((l) => `${label} ${args.slice(1).join(' ')}: ${l.slice(0, 120)}`));
      }
    }
    const broken = write(undefined, `{"name":"n","steps":[{"begin":{"amount":1,"card":{"pan":"${PAN}"},,}}]}`);
    for (const args of [[broken], [broken, '--json']]) {
      const { out, err } = await run(args);
      leaks.push(...cardNumberLeaks([out, err]));
    }
    expect(leaks).toEqual([]);
  });
});
