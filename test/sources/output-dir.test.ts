/**
 * The output directory source on real files in a temp dir: names and times, the scan, and the live
 * watcher (chokidar with awaitWriteFinish). Timing: assertions are on order and eventual delivery with
 * deadlines of seconds, never on speed (the machine is shared).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { matchOutputName, OutputDirWatcher, OutputMark, scanOutputDir, type OutputFile, type OutputReadOptions } from '../../src/sources/output-dir';
import type { OutputDirMark } from '../../src/sources/checkpoint';
import { removeDir, tempDir } from './helpers/tmp';

const STABLE_MS = 300;
/** settledMs() lags the clock by this when idle (stableMs + 2 polls + 1 s). */
const SETTLE_LAG_MS = STABLE_MS + 1200;
const DEADLINE_MS = 5_000;
const POLL_EVERY_MS = 50;
const GROUP = 'workers';

let dir: string;
const watchers: OutputDirWatcher[] = [];

beforeEach(() => {
  dir = tempDir('output-dir-');
});
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.close();
  removeDir(dir);
});

function opts(over: Partial<OutputReadOptions> = {}): OutputReadOptions {
  return { namePattern: '\\.ply$', stableMs: STABLE_MS, depth: 0, ...over };
}

function watcher(mark: OutputMark = OutputMark.fresh('beginning', Date.now()), onReady?: () => void): OutputDirWatcher {
  const w = new OutputDirWatcher({ dir, group: GROUP }, mark, { ...opts(), onReady });
  watchers.push(w);
  return w;
}

/** Writes a file; with `mtimeMs`, sets its mtime (and atime) to it. Returns its mtime as stat reads it. */
function put(name: string, content: string, mtimeMs?: number): number {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  if (mtimeMs !== undefined) fs.utimesSync(p, mtimeMs / 1000, mtimeMs / 1000);
  return fs.statSync(p).mtimeMs;
}

/** Polls take() every 50 ms into `got` until `done(got)` or `ms` passed; then whether it is done. */
async function takeUntil(w: OutputDirWatcher, got: OutputFile[], done: (got: OutputFile[]) => boolean, ms = DEADLINE_MS): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    got.push(...w.take());
    if (done(got)) return true;
    if (Date.now() >= end) return false;
    await sleep(POLL_EVERY_MS);
  }
}

/** Polls take() every 50 ms for `ms` (to see that nothing more comes). */
async function takeFor(w: OutputDirWatcher, got: OutputFile[], ms: number): Promise<OutputFile[]> {
  await takeUntil(w, got, () => false, ms);
  return got;
}

const names = (files: OutputFile[]): string[] => files.map((f) => f.name);
const has = (...want: string[]) => (got: OutputFile[]): boolean => want.every((n) => got.some((f) => f.name === n));

/** Every entry under `root`: relative name, kind, size, mtime (directories too: an entry made and removed shows in theirs). */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(root, p)} ${e.isDirectory() ? 'dir' : 'file'} ${e.isDirectory() ? '-' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  out.push(`. dir - ${fs.statSync(root).mtimeMs}`);
  walk(root);
  return out.sort();
}

describe('matchOutputName', () => {
  test("the default pattern '\\.ply$' takes x.ply with its mtime as time, refuses x.ply.tmp", () => {
    const re = new RegExp('\\.ply$');
    expect(matchOutputName(re, 'x.ply', 1_700_000_000_123.5)).toEqual({ timeMs: 1_700_000_000_123.5 });
    expect(matchOutputName(re, 'sub/x.ply', 42)).toEqual({ timeMs: 42 });
    expect(matchOutputName(re, 'x.ply.tmp', 42)).toBeNull();
    expect(matchOutputName(re, 'x.txt', 42)).toBeNull();
  });

  test('a unix_s group gives the time in the name, in ms', () => {
    const re = new RegExp('^gen_(?<unix_s>\\d+)\\.ply$');
    expect(matchOutputName(re, 'gen_1700000000.ply', 5)).toEqual({ timeMs: 1_700_000_000_000 });
    expect(matchOutputName(re, 'gen_x.ply', 5)).toBeNull();
  });

  test('a unix_ms group gives the time in the name as is', () => {
    const re = new RegExp('^gen_(?<unix_ms>\\d+)\\.ply$');
    expect(matchOutputName(re, 'gen_1700000000123.ply', 5)).toEqual({ timeMs: 1_700_000_000_123 });
  });

  test('an optional time group that did not match falls back to the mtime', () => {
    const re = new RegExp('^(?:gen_(?<unix_s>\\d+)_)?\\w+\\.ply$');
    expect(matchOutputName(re, 'gen_1700000000_a.ply', 5)).toEqual({ timeMs: 1_700_000_000_000 });
    expect(matchOutputName(re, 'b.ply', 5)).toEqual({ timeMs: 5 });
  });
});

describe('scanOutputDir', () => {
  const t0 = Date.UTC(2025, 10, 12, 21, 0, 0);

  test('only matching files, in time order, with their sizes and times', async () => {
    put('late.ply', 'cc', t0 + 3_000);
    put('early.ply', 'a', t0 + 1_000);
    put('mid.ply', 'bbbb', t0 + 2_000);
    put('mid.ply.tmp', 'x', t0 + 1_500);
    put('notes.txt', 'x', t0);
    fs.mkdirSync(path.join(dir, 'dir.ply')); // a directory with a matching name is no file
    const got = await scanOutputDir({ dir, group: GROUP }, opts());
    expect(got).toEqual([
      { dir, group: GROUP, name: 'early.ply', path: path.join(dir, 'early.ply'), size: 1, mtimeMs: t0 + 1_000, timeMs: t0 + 1_000 },
      { dir, group: GROUP, name: 'mid.ply', path: path.join(dir, 'mid.ply'), size: 4, mtimeMs: t0 + 2_000, timeMs: t0 + 2_000 },
      { dir, group: GROUP, name: 'late.ply', path: path.join(dir, 'late.ply'), size: 2, mtimeMs: t0 + 3_000, timeMs: t0 + 3_000 },
    ]);
  });

  test('a time in the name orders the files, not their mtimes', async () => {
    put('gen_1700000002.ply', 'x', t0 + 1_000);
    put('gen_1700000001.ply', 'x', t0 + 2_000);
    const got = await scanOutputDir({ dir, group: GROUP }, opts({ namePattern: '^gen_(?<unix_s>\\d+)\\.ply$' }));
    expect(got.map((f) => [f.name, f.timeMs, f.mtimeMs])).toEqual([
      ['gen_1700000001.ply', 1_700_000_001_000, t0 + 2_000],
      ['gen_1700000002.ply', 1_700_000_002_000, t0 + 1_000],
    ]);
  });

  test('descends depth levels only, names are relative with /', async () => {
    put('top.ply', 'x', t0 + 1_000);
    put('sub/x.ply', 'x', t0 + 2_000);
    put('sub/deeper/y.ply', 'x', t0 + 3_000);
    expect(names(await scanOutputDir({ dir, group: GROUP }, opts({ depth: 0 })))).toEqual(['top.ply']);
    const one = await scanOutputDir({ dir, group: GROUP }, opts({ depth: 1 }));
    expect(names(one)).toEqual(['top.ply', 'sub/x.ply']);
    expect(one[1]!.path).toBe(path.join(dir, 'sub', 'x.ply'));
    expect(names(await scanOutputDir({ dir, group: GROUP }, opts({ depth: 2 })))).toEqual(['top.ply', 'sub/x.ply', 'sub/deeper/y.ply']);
  });

  test('the pattern sees the relative path', async () => {
    put('keep/a.ply', 'x', t0 + 1_000);
    put('skip/b.ply', 'x', t0 + 2_000);
    expect(names(await scanOutputDir({ dir, group: GROUP }, opts({ depth: 1, namePattern: '^keep/.*\\.ply$' })))).toEqual(['keep/a.ply']);
  });

  test('a missing directory is empty, no throw', async () => {
    await expect(scanOutputDir({ dir: path.join(dir, 'not-there'), group: GROUP }, opts())).resolves.toEqual([]);
  });
});

describe('OutputDirWatcher', () => {
  test('a file written slowly (6 chunks, 100 ms apart) is reported once, complete', async () => {
    const w = watcher();
    await w.start();
    expect(w.take()).toEqual([]);
    const chunk = 'x'.repeat(1000) + '\n';
    const p = path.join(dir, 'slow.ply');
    for (let i = 0; i < 6; i++) {
      fs.appendFileSync(p, chunk);
      if (i < 5) await sleep(100);
    }
    const finalSize = fs.statSync(p).size;
    expect(finalSize).toBe(6 * chunk.length);
    const got: OutputFile[] = [];
    expect(await takeUntil(w, got, has('slow.ply'))).toBe(true);
    await takeFor(w, got, 1_000); // nothing more comes
    expect(got.map((f) => [f.name, f.size])).toEqual([['slow.ply', finalSize]]);
    expect(got[0]!.mtimeMs).toBe(fs.statSync(p).mtimeMs);
    expect(got[0]!.group).toBe(GROUP);
  });

  test('the start scan reports the files already there; the mark holds back the ones handed on', async () => {
    const t0 = Date.now() - 60_000;
    const mA = put('a.ply', 'a', t0);
    const mB = put('b.ply', 'bb', t0 + 10_000);
    const mC = put('c.ply', 'ccc', t0 + 20_000);
    put('d.txt', 'x', t0 + 5_000);
    // a fresh mark: all of them, at once (old enough to be stable), in time order
    const w1 = watcher();
    await w1.start();
    expect(w1.take().map((f) => [f.name, f.size, f.mtimeMs])).toEqual([
      ['a.ply', 1, mA],
      ['b.ply', 2, mB],
      ['c.ply', 3, mC],
    ]);
    await w1.close();
    // a saved mark: a.ply is at or below the high-water mark, c.ply is in recent with its exact mtime
    const w2 = watcher(new OutputMark({ high_water_mtime_ms: mA + 1, recent: { 'c.ply': mC } }));
    await w2.start();
    const got = await takeFor(w2, w2.take(), 800);
    expect(names(got)).toEqual(['b.ply']);
    // c.ply in recent with another mtime (rewritten since): reported
    const w3 = watcher(new OutputMark({ high_water_mtime_ms: mA + 1, recent: { 'c.ply': mC - 1 } }));
    await w3.start();
    expect(names(w3.take())).toEqual(['b.ply', 'c.ply']);
  });

  test('a file written just before start waits until it has been stable, then comes once', async () => {
    const p = path.join(dir, 'fresh.ply');
    fs.writeFileSync(p, 'just finished');
    const mtime = fs.statSync(p).mtimeMs;
    const w = watcher();
    await w.start();
    const first = w.take();
    const firstAt = Date.now();
    // the start scan found it younger than stableMs: not handed out yet (unless starting took that long)
    if (firstAt - mtime < STABLE_MS) expect(first).toEqual([]);
    const got = [...first];
    expect(await takeUntil(w, got, has('fresh.ply'))).toBe(true);
    // whenever it came, it had been unchanged for stableMs by then
    expect(Date.now() - mtime).toBeGreaterThanOrEqual(STABLE_MS);
    await takeFor(w, got, 800);
    expect(got.map((f) => [f.name, f.mtimeMs, f.size])).toEqual([['fresh.ply', mtime, 'just finished'.length]]);
  });

  test('a file that goes on growing after start is reported only once complete', async () => {
    const p = path.join(dir, 'growing.ply');
    fs.writeFileSync(p, 'part 1\n');
    const w = watcher();
    await w.start(); // the start scan sees it young (or chokidar sees it change)
    for (let i = 2; i <= 6; i++) {
      await sleep(100);
      fs.appendFileSync(p, `part ${i}\n`);
    }
    const size = fs.statSync(p).size;
    const got = w.take();
    expect(await takeUntil(w, got, has('growing.ply'))).toBe(true);
    await takeFor(w, got, 800);
    expect(got.map((f) => [f.name, f.size])).toEqual([['growing.ply', size]]);
  });

  test('a file rewritten in place after it was handed on is reported again, with its new mtime', async () => {
    const w = watcher();
    await w.start();
    const m1 = put('x.ply', 'first version');
    const got: OutputFile[] = [];
    expect(await takeUntil(w, got, has('x.ply'))).toBe(true);
    expect(got.map((f) => [f.name, f.mtimeMs])).toEqual([['x.ply', m1]]);
    w.handedOn(got[0]!);
    await sleep(50); // a later write, a later mtime
    const m2 = put('x.ply', 'second, longer version');
    expect(m2).toBeGreaterThan(m1);
    expect(await takeUntil(w, got, (g) => g.length >= 2)).toBe(true);
    await takeFor(w, got, 800);
    expect(got.map((f) => [f.name, f.mtimeMs, f.size])).toEqual([
      ['x.ply', m1, 'first version'.length],
      ['x.ply', m2, 'second, longer version'.length],
    ]);
  });

  test('after a restart from the saved mark: files written while down come, the ones handed on do not, taken-not-handed-on ones come again', async () => {
    const old = Date.now() - 30_000;
    put('before.ply', 'b', old);
    const w1 = watcher();
    await w1.start();
    const live = put('live.ply', 'l');
    const got1 = w1.take();
    expect(await takeUntil(w1, got1, has('before.ply', 'live.ply'))).toBe(true);
    put('taken.ply', 't', Date.now() - 20_000); // found by the scan of the next start only if not handed on
    expect(await takeUntil(w1, got1, has('taken.ply'))).toBe(true);
    for (const f of got1) if (f.name !== 'taken.ply') w1.handedOn(f); // taken.ply: still in flight at the commit
    const saved = JSON.parse(JSON.stringify(w1.markState())) as OutputDirMark;
    expect(saved.recent).toHaveProperty(['live.ply'], live);
    await w1.close();

    // while no watcher runs
    const down1 = put('down-1.ply', 'd1', Date.now() - 2_000);
    const down2 = put('down-2.ply', 'd2');
    fs.mkdirSync(path.join(dir, 'sub'));
    put('sub/deep.ply', 'deep'); // depth 0: never

    const w2 = watcher(new OutputMark(saved));
    await w2.start();
    const got2 = w2.take();
    expect(await takeUntil(w2, got2, has('down-1.ply', 'down-2.ply', 'taken.ply'))).toBe(true);
    await takeFor(w2, got2, 1_000);
    expect(names(got2).sort()).toEqual(['down-1.ply', 'down-2.ply', 'taken.ply']);
    expect(got2.find((f) => f.name === 'down-1.ply')!.mtimeMs).toBe(down1);
    expect(got2.find((f) => f.name === 'down-2.ply')!.mtimeMs).toBe(down2);
  });

  test('settledMs: -Infinity before start, then about now - (stableMs + 1200) when idle, never going back', async () => {
    const w = watcher();
    expect(w.settledMs()).toBe(Number.NEGATIVE_INFINITY);
    await w.start();
    const t0 = Date.now();
    const s1 = w.settledMs();
    const t1 = Date.now();
    expect(s1).toBeGreaterThanOrEqual(t0 - SETTLE_LAG_MS);
    expect(s1).toBeLessThanOrEqual(t1 - SETTLE_LAG_MS);
    await sleep(200);
    const s2 = w.settledMs();
    expect(s2).toBeGreaterThanOrEqual(s1 + 150);
    expect(s2).toBeLessThanOrEqual(Date.now() - SETTLE_LAG_MS);
  });

  test('settledMs does not advance while a file waits to be taken', async () => {
    const old = put('old.ply', 'o', Date.now() - 10_000);
    const w = watcher();
    await w.start();
    // old.ply is queued and not taken: settled must not pass it (it was last written 10 s ago)
    expect(w.settledMs()).toBeLessThan(old);
    await sleep(200);
    expect(w.settledMs()).toBeLessThan(old);
    expect(names(w.take())).toEqual(['old.ply']);
    expect(w.settledMs()).toBeGreaterThan(old);
  });

  test('settledMs does not pass a young file found by the start scan before it is taken, and passes it after', async () => {
    const p = path.join(dir, 'young.ply');
    fs.writeFileSync(p, 'young');
    const mtime = fs.statSync(p).mtimeMs;
    const w = watcher();
    await w.start();
    const got: OutputFile[] = [];
    const taken = await takeUntil(w, got, (g) => {
      if (g.length === 0) expect(w.settledMs()).toBeLessThan(mtime);
      return has('young.ply')(g);
    });
    expect(taken).toBe(true);
    expect(await takeUntil(w, got, () => w.settledMs() > mtime)).toBe(true);
    expect(names(got)).toEqual(['young.ply']);
  });

  test('the watcher never changes the directory', async () => {
    const old = Date.now() - 120_000;
    put('a.ply', 'aaaa', old);
    put('b.ply.tmp', 'b', old + 1_000);
    put('notes.txt', 'n', old + 2_000);
    put('sub/c.ply', 'c', old + 3_000);
    const young = path.join(dir, 'young.ply');
    fs.writeFileSync(young, 'y');
    fs.utimesSync(path.join(dir, 'sub'), old / 1000, old / 1000);
    await sleep(20);
    const before = listing(dir);

    const w1 = watcher(OutputMark.fresh('beginning', Date.now()), () => undefined);
    await w1.start();
    const got = w1.take();
    expect(await takeUntil(w1, got, has('a.ply', 'young.ply'))).toBe(true);
    for (const f of got) w1.handedOn(f);
    const saved = w1.markState();
    w1.settledMs();
    await w1.close();
    const w2 = watcher(new OutputMark(saved));
    await w2.start();
    await takeFor(w2, got, 600);
    await w2.close();

    expect(names(got).sort()).toEqual(['a.ply', 'young.ply']);
    expect(listing(dir)).toEqual(before);
  });

  test('close stops it: no report after close, no timers or watches left', async () => {
    const left = (): string[] => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort();
    await sleep(100); // the handles of the watchers closed before this test are released a turn later
    const baseline = left();
    expect(baseline).not.toContain('FSEventWrap');
    let ready = 0;
    // a young file in the start scan's wait when close comes
    fs.writeFileSync(path.join(dir, 'young.ply'), 'y');
    const w = watcher(OutputMark.fresh('beginning', Date.now()), () => ready++);
    await w.start();
    // and one that chokidar waits on (awaitWriteFinish) when close comes
    put('pending.ply', 'p');
    await sleep(50);
    // young.ply may have come already if starting took longer than stableMs; pending.ply cannot have
    expect(names(w.take()).filter((n) => n !== 'young.ply')).toEqual([]);
    await w.close();
    const readyAtClose = ready;
    put('after.ply', 'a');
    await sleep(1_000);
    expect(ready).toBe(readyAtClose);
    expect(w.take()).toEqual([]);
    // everything it started is gone (chokidar's last awaitWriteFinish poll ends once the file is stable)
    const end = Date.now() + DEADLINE_MS;
    while (left().length > baseline.length && Date.now() < end) await sleep(50);
    expect(left()).toEqual(baseline);
  });
});

describe('a directory that does not exist yet', () => {
  test('is watched once it appears: a file written live after that is reported', async () => {
    fs.rmSync(dir, { recursive: true });
    const w = watcher();
    await w.start();
    expect(w.idle).toBe(true); // nothing there: nothing holds the other sources back
    fs.mkdirSync(dir);
    put('first.ply', 'first');
    const got: OutputFile[] = [];
    expect(await takeUntil(w, got, has('first.ply'))).toBe(true);
    // the watch on the new directory reports a later file without waiting for a rescan (30 s)
    put('second.ply', 'second');
    expect(await takeUntil(w, got, has('second.ply'), 4000)).toBe(true);
    expect(names(got)).toEqual(['first.ply', 'second.ply']);
  });
});

test('a directory removed and made again is watched again', async () => {
  const w = watcher();
  await w.start();
  fs.rmSync(dir, { recursive: true });
  await sleep(2500); // a 2 s check sees it gone
  fs.mkdirSync(dir);
  put('again.ply', 'again');
  const got: OutputFile[] = [];
  expect(await takeUntil(w, got, has('again.ply'), 6000)).toBe(true);
  put('later.ply', 'later');
  expect(await takeUntil(w, got, has('later.ply'), 4000)).toBe(true);
});

describe('OutputDirWatcher and links (issue 15, item 2)', () => {
  test('a symlink in the directory is never reported, live or at start, whatever it points at; the regular file next to it is', async () => {
    const outside = fs.mkdtempSync(path.join(path.dirname(dir), 'outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'secret.ply'), 'not the worker output\n');
      fs.symlinkSync(path.join(outside, 'secret.ply'), path.join(dir, 'at-start.ply'));
      const w = watcher();
      await w.start();
      fs.symlinkSync(path.join(outside, 'secret.ply'), path.join(dir, 'live.ply'));
      put('real.ply', 'worker output\n');
      const got: OutputFile[] = [];
      expect(await takeUntil(w, got, has('real.ply'))).toBe(true);
      await takeFor(w, got, 1_500);
      expect(names(got)).toEqual(['real.ply']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
