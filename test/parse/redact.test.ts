/** Wallet names, paths and keys never reach an event, whole or in PM2-split pieces. */
import { redactSecrets, StreamParser, type LogEvent } from '../../src/parse';
import { bt, DEFAULTS, lineAt, MINER, parseBytes, parseLines, pm2DateMode, pm2JsonMode } from './helpers';
import fc from 'fast-check';

// the sample's lines (shared/samples/pm2-plain/miner-sn17-mainnet-out.log)
const CONFIG = "Starting with config: Config(wallet=Config(name='sn17-cold', hotkey='sn17-hot-01', path='~/.bittensor/wallets/'), netuid=17, subtensor=Config(network='finney', chain_endpoint='wss://entrypoint-finney.opentensor.ai:443'), generation=Config(endpoints=['http://127.0.0.1:8093', 'http://127.0.0.1:8094']))";
const WALLET = "Wallet: Wallet (Name: 'sn17-cold', Hotkey: 'sn17-hot-01', Path: '~/.bittensor/wallets/')";
// bittensor 9 prints its config as YAML after the first line
const YAML = ['', 'wallet:', '  name: sn17-cold', '  hotkey: sn17-hot-01', '  path: /srv/keys/', 'netuid: 17'];
const SECRETS = /sn17-cold|sn17-hot|\/srv\/keys|bittensor\/wallets|op-secret/;

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/srv/miner/neurons/miner/__init__.py", line 40, in __init__',
  "    self.wallet = bt.wallet(name='sn17-cold', hotkey='sn17-hot-01', path='/srv/keys/')",
  '  File "/usr/lib/python3/site-packages/bittensor_wallet/keyfile.py", line 88, in _read',
  "bittensor_wallet.errors.KeyFileError: Keyfile at: /srv/keys/sn17-cold/hotkeys/sn17-hot-01 does not exist",
  "FileNotFoundError: [Errno 2] No such file or directory: '/srv/keys/sn17-cold/coldkeypub.txt'",
  'Error: run with --wallet.name sn17-cold --wallet.hotkey sn17-hot-01 --wallet.path /srv/keys',
];

const visible = (events: LogEvent[]) => JSON.stringify(events.map((e) => ({ ...e, long: e.long?.toString('latin1') ?? null })));

test('the config and wallet lines give events with nothing of them', () => {
  const { events } = parseLines([bt(CONFIG, { level: 'INFO' }), ...YAML, bt(WALLET, { level: 'INFO' })]);
  expect(events.map((e) => e.type)).toEqual(['miner_started', 'wallet']);
  expect(visible(events)).not.toMatch(SECRETS);
});

test('a traceback with invented wallet paths is redacted', () => {
  const { events } = parseLines([bt('Failed to start', { level: 'ERROR' }), ...TRACEBACK]);
  expect(events[0]!.type).toBe('exception');
  expect(events[0]!.stackTrace).toContain('KeyFileError');
  expect(visible(events)).not.toMatch(SECRETS);
});

test('captured free-text fields are redacted, log ids are not', () => {
  const e = parseLines([bt("An unexpected error occurred: [Errno 2] No such file: '/srv/keys/sn17-cold/hotkeys/sn17-hot-01' (http://127.0.0.1:8093/generate/)", { level: 'ERROR' })]).events[0]!;
  expect(e.fields.error).toBe("[Errno 2] No such file: '[REDACTED_PATH]'");
  const f = parseLines([bt('Feedback received from [1]. Score: 0.7. (a toy wallet(name=x))')]).events[0]!;
  expect(f.fields.log_id).toBe('a toy wallet(name=x)');
});

test('wallet names and path learnt from the config line, or configured, go even from cut pieces', () => {
  const cfg = CONFIG.replace("path='~/.bittensor/wallets/'", "path='/srv/keys/'");
  const cut = "eNotFoundError: [Errno 2] No such file or directory: '/srv/keys";
  const learnt = parseLines([bt(cfg, { level: 'INFO' }), bt('Failed', { level: 'ERROR' }), 'Traceback (most recent call last):', cut]);
  expect(learnt.events[1]!.stackTrace).toBe("Traceback (most recent call last):\neNotFoundError: [Errno 2] No such file or directory: '[REDACTED]");
  // after a restart the config line is behind the checkpoint: the operator's list does it
  const events: LogEvent[] = [];
  const p = new StreamParser(MINER, { rules: DEFAULTS, timeZone: 'UTC', secrets: ['/srv/keys', 'sn17-cold'] }, (e) => events.push(e));
  for (const l of [bt('An unexpected error occurred: sn17-cold broke (http://h/)', { level: 'ERROR' }), 'Traceback (most recent call last):', cut]) p.push(lineAt(MINER, Buffer.from(l), 0, 0));
  p.flush();
  expect(events[0]!.fields.error).toBe('[REDACTED] broke');
  expect(visible(events)).not.toMatch(SECRETS);
});

test('in PM2-split pieces (date and JSON mode, any chunking), nothing leaks', () => {
  const stream = Buffer.from([bt(CONFIG.replace("path='~/.bittensor/wallets/'", "path='/srv/keys/'"), { level: 'INFO' }), ...YAML, bt(WALLET, { level: 'INFO' }), bt('Failed', { level: 'ERROR' }), ...TRACEBACK, bt('Generation completed. Size: 1')].join('\n') + '\n');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }), (sizes) => {
      for (const file of [pm2DateMode(stream, sizes), pm2JsonMode(stream, sizes)]) {
        const { events } = parseBytes(file);
        expect(visible(events)).not.toMatch(SECRETS);
      }
    }),
    { numRuns: 300 },
  );
});

test('redactSecrets on the usual shapes', () => {
  expect(redactSecrets("wallet=Config(name='a', hotkey='b', path='c')")).toBe('wallet=Config([REDACTED])');
  expect(redactSecrets("Wallet (Name: 'a', Hotkey: 'b', Path: 'c')")).toBe('Wallet([REDACTED])');
  expect(redactSecrets('see ~/.bittensor/wallets/a/hotkeys/b')).toBe('see [REDACTED_PATH]');
  expect(redactSecrets('hotkey: op-secret')).toBe('hotkey: [REDACTED]');
  expect(redactSecrets('"mnemonic": "word word word"')).toBe('"mnemonic": [REDACTED]');
  expect(redactSecrets('HTTP 500 from http://127.0.0.1:8093/generate/')).toBe('HTTP 500 from http://127.0.0.1:8093/generate/');
});

test('a key file path gives its wallet away: a piece of the folder cut off elsewhere goes too (fast-check counterexample)', () => {
  const stream = Buffer.from(
    [bt(CONFIG.replace("path='~/.bittensor/wallets/'", "path='/srv/keys/'"), { level: 'INFO' }), ...YAML, bt(WALLET, { level: 'INFO' }), bt('Failed', { level: 'ERROR' }), ...TRACEBACK, bt('Generation completed. Size: 1')].join('\n') + '\n',
  );
  const { events } = parseBytes(pm2DateMode(stream, [48, 171, 1, 288]));
  expect(visible(events)).not.toMatch(SECRETS);
  expect(redactSecrets("No such file: '/opt/w/alpha/coldkeypub.txt'\n  --wallet.path\n /opt/w")).not.toMatch(/\/opt\/w|alpha/);
});
