/**
 * A real writer process appends numbered lines at a high rate while the test rotates by rename,
 * re-creates, copy-truncates (pm2-logrotate naming) and flushes, and restarts the reader from a
 * committed checkpoint. Built JS is needed: `npx tsc -p .` first (dist/test/sources/helpers/writer.js).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../../src/sources/checkpoint';
import { Follower } from '../../src/sources/follower';
import type { SourceStats } from '../../src/sources/types';
import { removeDir, tempDir } from './helpers/tmp';

const WRITER = path.join(__dirname, '../../dist/test/sources/helpers/writer.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let file: string;
let child: ChildProcess | null = null;
let writerDone = false;

beforeAll(() => {
  if (!fs.existsSync(WRITER)) throw new Error(`build first (npx tsc -p .): ${WRITER} is missing`);
});
beforeEach(() => {
  dir = tempDir('writer-');
  file = path.join(dir, 'miner-sn17-mainnet-out.log');
  writerDone = false;
});
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  child = null;
  removeDir(dir);
});

function startWriter(lines: number, perTick = 40, bigEvery = 0): ChildProcess {
  const c = spawn(process.execPath, [WRITER, file, String(lines), String(perTick), String(bigEvery)], { stdio: ['ignore', 'pipe', 'inherit'] });
  c.stdout!.on('data', (d: Buffer) => {
    if (d.toString().includes('done')) writerDone = true;
  });
  child = c;
  return c;
}

let stamp = 0;
function logrotateName(): string {
  stamp++;
  return path.join(dir, `miner-sn17-mainnet-out__2025-11-12_21-30-${String(stamp).padStart(2, '0')}.log`);
}

/**
 * Reads with the follower's own wake-ups until it is caught up and `stop()` says so; pushes sequence
 * numbers in order. The caller closes the follower (which ends the iterator).
 */
async function consume(f: Follower, seen: number[], stop: () => boolean, onLine?: (cp: Checkpoint) => void): Promise<void> {
  const deadline = Date.now() + 60_000;
  const it = f[Symbol.asyncIterator]();
  let next = it.next();
  while (Date.now() < deadline) {
    // An idle iterator yields nothing: look at `stop` every 100 ms too.
    const r = await Promise.race([next, sleep(100).then(() => null)]);
    if (r === null) {
      if (f.isCaughtUp() && stop()) return;
      continue;
    }
    if (r.done) return;
    next = it.next();
    for (const l of r.value.lines) {
      const m = /^seq (\d+) /.exec(l.bytes.subarray(0, 20).toString());
      if (!m) throw new Error(`not a writer line at ${l.offset}: ${l.bytes.subarray(0, 40).toString()}`);
      seen.push(Number(m[1]));
      onLine?.(f.checkpointAfter(l));
    }
    if (r.value.caughtUp && stop()) return;
  }
  throw new Error(`timed out with ${seen.length} lines`);
}

function expectInOrderNoDuplicates(seen: number[]): void {
  for (let i = 1; i < seen.length; i++) if (seen[i]! <= seen[i - 1]!) throw new Error(`line ${seen[i]} after ${seen[i - 1]}`);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

async function waitFor(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in 30 s');
    await sleep(20);
  }
}

test('rename, delete + re-create, and copy-truncate with its copy: every line exactly once, in order', async () => {
  const N = 40_000;
  const w = startWriter(N, 40, 5000);
  await waitFor(() => fs.existsSync(file));
  const f = new Follower({ path: file, app: 'miner', stream: 'out', statIntervalMs: 250 });
  const seen: number[] = [];
  const reading = consume(f, seen, () => writerDone && seen.length >= N);
  const ops: Array<() => void> = [
    () => {
      fs.renameSync(file, `${file}.1`); // logrotate: rename, then PM2 re-opens a little later
      setTimeout(() => w.kill('SIGUSR2'), 20);
    },
    () => {
      // pm2-logrotate: copy then truncate; the writer is held so that no write falls in between
      w.kill('SIGSTOP');
      fs.copyFileSync(file, logrotateName());
      fs.truncateSync(file, 0);
      w.kill('SIGCONT');
    },
    () => {
      fs.unlinkSync(file); // deleted: the reader finishes it through its open fd
      setTimeout(() => w.kill('SIGUSR2'), 20);
    },
  ];
  for (let i = 0; !writerDone; i++) {
    await sleep(120);
    if (!writerDone && fs.existsSync(file)) ops[i % ops.length]!();
  }
  await reading;
  await f.close();
  expect(seen).toEqual(range(N));
  const st = f.stats();
  expect(st.rotations).toBeGreaterThan(0);
  expect(st.copiesRead).toBeGreaterThan(0);
  expect(st.lostBytes).toBe(0);
}, 120_000);

test('copy-truncate with the writer running, and pm2 flush: no line twice, losses only at those moments and counted', async () => {
  const N = 30_000;
  startWriter(N, 40);
  await waitFor(() => fs.existsSync(file));
  const f = new Follower({ path: file, app: 'miner', stream: 'out', statIntervalMs: 250 });
  const seen: number[] = [];
  const reading = consume(f, seen, () => writerDone);
  let truncates = 0;
  for (let i = 0; !writerDone; i++) {
    await sleep(100);
    if (writerDone) break;
    if (i % 2 === 0) fs.copyFileSync(file, logrotateName());
    fs.truncateSync(file, 0);
    truncates++;
  }
  await sleep(500);
  await reading;
  await f.close();
  expectInOrderNoDuplicates(seen);
  const st: SourceStats = f.stats();
  const missing = N - seen.length;
  // Lines can only be missing in runs, one run per truncate at most (the window around it).
  const gaps = seen.filter((v, i) => i > 0 && v !== seen[i - 1]! + 1).length + (seen[0] === 0 ? 0 : 1);
  expect(gaps).toBeLessThanOrEqual(truncates);
  if (missing > 0) expect(st.truncations).toBeGreaterThan(0);
  expect(st.truncations).toBeGreaterThan(0);
}, 120_000);

test('restart from the committed checkpoint while rotations go on: nothing twice, nothing lost', async () => {
  const N = 30_000;
  const w = startWriter(N, 30);
  await waitFor(() => fs.existsSync(file));
  const committed: { cp: Checkpoint | null; count: number } = { cp: null, count: 0 };
  const all: number[] = [];
  let restarts = 0;
  // until everything is read: a last lifetime cut short by a loaded machine is not a loss (a loss never ends: the timeout)
  while (!(writerDone && restarts >= 3 && all.length >= N)) {
    // One collector lifetime: read for a while, committing every 500 lines, then crash (close) uncommitted.
    const f = new Follower({ path: file, app: 'miner', stream: 'out', checkpoint: committed.cp, statIntervalMs: 250 });
    const seen: number[] = [];
    all.length = committed.count; // what was not committed is read again
    let stopAt = Date.now() + 300;
    await consume(
      f,
      seen,
      () => Date.now() > stopAt || (writerDone && all.length + seen.length >= N),
      (cp) => {
        if (seen.length % 500 === 0) {
          committed.cp = JSON.parse(JSON.stringify(cp)) as Checkpoint;
          committed.count = all.length + seen.length;
        }
      },
    );
    all.push(...seen);
    await f.close();
    restarts++;
    // While down: rotate by rename, or copy-truncate with the writer held.
    if (!writerDone && fs.existsSync(file)) {
      if (restarts % 2) {
        fs.renameSync(file, logrotateName());
        w.kill('SIGUSR2');
      } else {
        w.kill('SIGSTOP');
        fs.copyFileSync(file, logrotateName());
        fs.truncateSync(file, 0);
        w.kill('SIGCONT');
      }
    }
    stopAt = Date.now() + 300;
    await sleep(100);
  }
  expect(all).toEqual(range(N));
}, 120_000);
