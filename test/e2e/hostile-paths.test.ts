/**
 * A real collector process (`data-collector run`, no PM2 needed) against hostile log paths (issue 15,
 * items 1 and 3): a symlink that appears at a log's name is never followed, so its target never reaches
 * the data; a configured symlink is resolved once, at start; a FIFO at a log path is refused with a
 * warning, never read, and SIGTERM still stops the daemon at once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const line = (s: number, msg: string) => `2025-11-12 21:30:${String(s).padStart(2, '0')}.000 |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;
const task = (prompt: string, s: number) =>
  line(s, 'Querying task from [57]. Stake: 1.0') +
  line(s, `Task received. Prompt: ${prompt}.`) +
  line(s + 1, `Generating for prompt: ${prompt} with timeout None seconds`) +
  line(s + 3, 'Generation completed. Size: 1234') +
  line(s + 5, `Feedback received from [57]. Score: 0.8. (${prompt})`) +
  line(s + 5, 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.');

let dir: string;
let child: ChildProcess | null = null;
let stderr = '';
let stdout = '';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-hostile-'));
  stderr = '';
  stdout = '';
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  child = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): ChildProcess {
  child = spawn(process.execPath, [CLI, 'run', '--data-dir', path.join(dir, 'data'), '--time-zone', 'UTC', ...args], {
    env: { ...process.env, DC_STATUS_EVERY_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return child;
}

async function until(what: string, cond: () => boolean, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const records = () => {
  const f = path.join(dir, 'data', 'generation_history.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
};

/** Every byte under the data dir, as text. */
function dataText(d: string): string {
  let out = '';
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    out += e.isDirectory() ? dataText(p) : fs.readFileSync(p, 'latin1');
  }
  return out;
}

async function stopWithin(ms: number): Promise<number | null> {
  const t0 = Date.now();
  child!.kill('SIGTERM');
  await new Promise((r) => child!.once('exit', r));
  expect(Date.now() - t0).toBeLessThan(ms);
  return child!.exitCode;
}

test('a symlink put at a log name later is not followed: its target never reaches the data or the log', async () => {
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  const secret = path.join(dir, 'root-only.txt');
  // what the link points at: lines that would make a record of a secret prompt if they were read
  fs.writeFileSync(secret, task('the secret in root-only', 40));
  fs.writeFileSync(log, task('a red chair', 0));
  run(['--miner-log', log]);
  await until('the first record', () => records().length === 1);
  // the log is renamed away and its name now points at the secret file
  fs.renameSync(log, `${log}.1`);
  fs.symlinkSync(secret, log);
  await until('the warning', () => /is a symlink now: it is not followed/.test(stderr));
  await new Promise((r) => setTimeout(r, 1500));
  expect(records()).toHaveLength(1);
  expect(dataText(path.join(dir, 'data'))).not.toContain('the secret in root-only');
  expect(stdout + stderr).not.toContain('the secret in root-only');
  // said once, not at every wake-up
  expect(stderr.match(/is a symlink now/g)).toHaveLength(1);
  expect(await stopWithin(5000)).toBe(0);
});

test('a log configured as a symlink is resolved at start and read', async () => {
  const real = path.join(dir, 'real', 'miner-sn17-mainnet-out.log');
  fs.mkdirSync(path.dirname(real));
  fs.writeFileSync(real, task('a red chair', 0));
  const link = path.join(dir, 'miner-sn17-mainnet-out.log');
  fs.symlinkSync(real, link);
  run(['--miner-log', link]);
  await until('the record', () => records().length === 1);
  fs.appendFileSync(real, task('a blue chair', 20));
  await until('the second record', () => records().length === 2);
  expect(await stopWithin(5000)).toBe(0);
});

test('a FIFO at a log path: refused with a warning, never read, and SIGTERM stops the daemon at once', async () => {
  const fifo = path.join(dir, 'miner-sn17-mainnet-out.log');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  run(['--miner-log', fifo]);
  await until('the warning', () => /is a FIFO: only regular files are read/.test(stderr));
  expect(await stopWithin(5000)).toBe(0);
  expect(stdout).toMatch(/collector stopped/);
});
