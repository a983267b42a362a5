/**
 * Following log files: our Follower against a bare Node loop (1 MiB reads, count newlines) and the
 * `tail` package, on the same generated log (short lines and 500 KB lines), in the same run. Each
 * contender runs in its own child process so that its peak RSS is its own.
 * Run: node dist/bench/follow.js [--size-mb N] [--tail-timeout-s S] [--skip-tail]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Follower } from '../src/sources/follower';
import type { BenchRow } from './report';

interface ChildResult {
  lines: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
  gaveUp?: boolean;
  cpuMs?: number;
}

type Mode = 'bare' | 'ours' | 'tail' | 'idle';

// ---- the contenders (run in a child) ----

async function bare(file: string): Promise<Omit<ChildResult, 'seconds' | 'maxRssMb'>> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let lines = 0;
  let bytes = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    bytes += n;
    for (let i = buf.indexOf(10, 0); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
  }
  fs.closeSync(fd);
  return { lines, bytes };
}

async function ours(file: string): Promise<Omit<ChildResult, 'seconds' | 'maxRssMb'>> {
  const f = new Follower({ path: file, app: 'bench', stream: 'out' });
  let lines = 0;
  let bytes = 0;
  for (;;) {
    const b = await f.read();
    lines += b.lines.length;
    for (const l of b.lines) bytes += l.end - l.offset;
    if (b.caughtUp) break;
  }
  await f.close();
  return { lines, bytes };
}

/** `tail` from the beginning; it has no "caught up": done when it gave `expect` lines, or given up. */
async function tailPkg(file: string, expect: number, timeoutMs: number): Promise<Omit<ChildResult, 'seconds' | 'maxRssMb'>> {
  const { Tail } = require('tail') as typeof import('tail');
  return new Promise((resolve) => {
    let lines = 0;
    let bytes = 0;
    const t = new Tail(file, { fromBeginning: true, follow: false });
    const finish = (gaveUp: boolean): void => {
      clearTimeout(timer);
      t.unwatch();
      resolve({ lines, bytes, gaveUp });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    t.on('line', (line: string) => {
      lines++;
      bytes += line.length + 1;
      if (lines >= expect) finish(false);
    });
  });
}

/** CPU used by a follower waiting on an unchanging file for `ms`. */
async function idle(file: string, ms: number): Promise<Omit<ChildResult, 'seconds' | 'maxRssMb'>> {
  const f = new Follower({ path: file, app: 'bench', stream: 'out', startAt: 'end' });
  const it = f[Symbol.asyncIterator]();
  await it.next(); // caught up
  const cpu0 = process.cpuUsage();
  const pending = it.next();
  await new Promise((r) => setTimeout(r, ms));
  const cpu = process.cpuUsage(cpu0);
  await f.close();
  await pending;
  return { lines: 0, bytes: 0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function child(mode: Mode, file: string, expect: number, timeoutMs: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  const r =
    mode === 'bare' ? await bare(file) : mode === 'ours' ? await ours(file) : mode === 'tail' ? await tailPkg(file, expect, timeoutMs) : await idle(file, timeoutMs);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out: ChildResult = { ...r, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

function runChild(mode: Mode, file: string, expect = 0, timeoutMs = 60_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [__filename, '--child', mode, file, String(expect), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`${mode} exited with ${code}`))));
  });
}

// ---- the data ----

/** Writes `sizeMb` MiB of log: short lines (60–250 B) with a 500 KB line every 1,000 lines. Returns the line count. */
function generate(file: string, sizeMb: number): number {
  const target = sizeMb * 1024 * 1024;
  const fd = fs.openSync(file, 'w');
  const big = `2025-11-12 21:30:00.000 | INFO | Task received: ${'iVBORw0KGgo'.repeat(500_000 / 11)}\n`;
  const parts: string[] = [];
  let size = 0;
  let pending = 0;
  let n = 0;
  while (size < target) {
    const line =
      n % 1000 === 999 ? big : `2025-11-12 21:30:${String(n % 60).padStart(2, '0')}.${n % 1000} | INFO | generation ${n} ${'x'.repeat(40 + ((n * 37) % 190))}\n`;
    parts.push(line);
    size += line.length;
    pending += line.length;
    n++;
    if (pending > 4 * 1024 * 1024) {
      fs.writeSync(fd, parts.join(''));
      parts.length = 0;
      pending = 0;
    }
  }
  fs.writeSync(fd, parts.join(''));
  fs.closeSync(fd);
  return n;
}

// ---- the run ----

export interface FollowBenchOptions {
  sizeMb?: number;
  tailTimeoutS?: number;
  skipTail?: boolean;
}

export interface FollowBenchResult {
  rows: BenchRow[];
  table: string;
}

export async function runFollowBench(opts: FollowBenchOptions = {}): Promise<FollowBenchResult> {
  const sizeMb = opts.sizeMb ?? 1024;
  const timeoutMs = (opts.tailTimeoutS ?? 60) * 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-follow-'));
  try {
    const file = path.join(dir, 'miner-out.log');
    const lines = generate(file, sizeMb);
    const mb = fs.statSync(file).size / 1024 / 1024;
    const b = await runChild('bare', file);
    const o = await runChild('ours', file);
    if (o.lines !== b.lines) throw new Error(`the follower gave ${o.lines} lines, the bare loop counted ${b.lines}`);
    const t = opts.skipTail ? null : await runChild('tail', file, lines, timeoutMs);
    // One 50 MB line, as the `tail` issue reported.
    const one = path.join(dir, 'one-line.log');
    fs.writeFileSync(one, `${'A'.repeat(50 * 1024 * 1024)}\n`);
    const o1 = await runChild('ours', one);
    const t1 = opts.skipTail ? null : await runChild('tail', one, 1, timeoutMs);
    const idleR = await runChild('idle', file, 0, 10_000);

    const rate = (r: ChildResult, size: number): string => `${(size / r.seconds).toFixed(0)} MB/s`;
    const row = (name: string, r: ChildResult | null, size: number, expectLines: number): string =>
      r === null
        ? `| ${name} | skipped | | | |\n`
        : `| ${name} | ${r.gaveUp ? `gave up after ${r.seconds.toFixed(0)} s (${r.lines.toLocaleString('en-US')} of ${expectLines.toLocaleString('en-US')} lines)` : `${r.seconds.toFixed(2)} s`} | ${r.gaveUp ? '' : rate(r, size)} | ${r.gaveUp || expectLines < 100 ? '—' : `${(r.lines / r.seconds).toFixed(0)} lines/s`} | ${r.maxRssMb.toFixed(0)} MiB |\n`;
    let table = `| reader (${mb.toFixed(0)} MiB log, ${lines.toLocaleString('en-US')} lines, 1 in 1,000 of 500 KB) | time | MB/s | lines/s | peak RSS |\n|---|---|---|---|---|\n`;
    table += row('bare loop: 1 MiB `readSync`, count `\\n`', b, mb, lines);
    table += row('our `Follower` (Buffer lines, offsets)', o, mb, lines);
    table += row('`tail` 2.2.6, fromBeginning', t, mb, lines);
    table += `\nOur follower: ${((b.seconds / o.seconds) * 100).toFixed(0)}% of the bare loop's speed.\n\n`;
    table += `| reader (one 50 MiB line) | time | MB/s | lines/s | peak RSS |\n|---|---|---|---|---|\n`;
    table += row('our `Follower`', o1, 50, 1);
    table += row('`tail` 2.2.6', t1, 50, 1);
    table += `\nIdle follower (caught up, fs.watch + 1 s stat), 10 s after its first read: ${idleR.cpuMs!.toFixed(1)} ms CPU.\n`;

    const rows: BenchRow[] = [
      { name: 'bare loop, 1 MiB reads + count newlines', value: mb / b.seconds, unit: 'MB/s' },
      { name: 'Follower', value: mb / o.seconds, unit: 'MB/s', baseline: mb / b.seconds, ratio: b.seconds / o.seconds },
      { name: 'Follower peak RSS', value: o.maxRssMb, unit: 'MiB', baseline: b.maxRssMb, ratio: o.maxRssMb / b.maxRssMb },
    ];
    if (t && !t.gaveUp) rows.push({ name: '`tail` package', value: mb / t.seconds, unit: 'MB/s', baseline: mb / b.seconds, ratio: b.seconds / t.seconds });
    return { rows, table };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** For bench/run.ts: rows in the shared format. */
export async function benchFollow(sizeMb = 1024): Promise<BenchRow[]> {
  return (await runFollowBench({ sizeMb })).rows;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  if (process.argv[2] === '--child') {
    void child(process.argv[3] as Mode, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
  } else {
    runFollowBench({
      sizeMb: Number(arg('--size-mb') ?? 1024),
      tailTimeoutS: Number(arg('--tail-timeout-s') ?? 60),
      skipTail: process.argv.includes('--skip-tail'),
    }).then(
      (r) => process.stdout.write(`\n## Following log files\n${r.table}`),
      (err: unknown) => {
        process.stderr.write(`${(err as Error).stack}\n`);
        process.exit(1);
      },
    );
  }
}
