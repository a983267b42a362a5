/** The conventions every command keeps (as ripgrep, jq, gh): exit 0 ok / 1 error / 2 usage, one-line errors, a quiet EPIPE. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { COMMANDS } from '../../src/cli/commands';
import { configFromFlags } from '../../src/cli/flags';
import { UsageError } from '../../src/cli/command';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const MINER_LOG = path.resolve(__dirname, '../fixtures/pm2-samples/pm2-plain/miner-sn17-mainnet-out.log');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-cli-conv-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, DC_LOG_LEVEL: 'warn' };
  delete env.DC_CONFIG;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('exit status is documented', () => {
  test.each(COMMANDS.map((c) => [c.name, c.load().help]))('%s --help says its exit status: 0, 1 and 2', (_name, help) => {
    const text = help.slice(help.indexOf('Exit status'));
    expect(help).toContain('Exit status');
    for (const code of ['0', '1', '2']) expect(text).toMatch(new RegExp(`\\b${code}\\b`));
  });

  test("README's command table gives each command's exit status", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const missing = COMMANDS.filter((c) => {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`data-collector ${c.name}`));
      return !row || !/exit/i.test(row);
    }).map((c) => c.name);
    expect(missing).toEqual([]);
  });
});

describe('errors', () => {
  test('a bad --time-zone is a usage error naming the flag and an example zone', () => {
    expect(() => configFromFlags({ 'data-dir': dir, 'time-zone': 'Mars/Olympus' })).toThrow(UsageError);
    expect(() => configFromFlags({ 'data-dir': dir, 'time-zone': 'Mars/Olympus' })).toThrow(/--time-zone: 'Mars\/Olympus' is not a time zone.*Europe\/Berlin/);
    expect(configFromFlags({ 'data-dir': dir, 'time-zone': 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');

    const r = run(['ingest', '--miner-log', MINER_LOG, '--data-dir', path.join(dir, 'data'), '--time-zone', 'Mars/Olympus']);
    expect(r.code).toBe(2);
    expect(r.err).toBe("data-collector: --time-zone: 'Mars/Olympus' is not a time zone; give an IANA zone, e.g. --time-zone Europe/Berlin (or UTC)\n");
  });

  test.each([['storage'], ['rotate']])('%s on a missing data dir exits 1 with one line naming the dir', (command) => {
    const missing = path.join(dir, 'no-such-data');
    const r = run([command, '--data-dir', missing]);
    expect(r.code).toBe(1);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(missing);
    expect(r.err).toContain('--data-dir');
    expect(fs.existsSync(missing)).toBe(false);
  });

  test('status on a missing data dir exits 3 and names the dir', () => {
    const missing = path.join(dir, 'no-such-data');
    const r = run(['status', '--data-dir', missing]);
    expect(r.code).toBe(3);
    expect(r.out).toContain(missing);
  });

  test('rotate with nothing to do names the dir it looked in', () => {
    const r = run(['rotate', '--data-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`nothing to rotate in ${dir}\n`);
  });
});

test('a reader that goes away (| head -1) ends the command quietly: no stack trace, exit 0', async () => {
  const env = { ...process.env };
  delete env.DC_CONFIG;
  const child = spawn(process.execPath, [CLI, 'analyze', '--summary', '--data-dir', dir], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // closed before the command writes: its first write meets EPIPE
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  expect(err).toBe('');
  expect(code).toBe(0);
});
