/**
 * A worker's output directory as a source (ARCHITECTURE.md, "Time"): complete new files out, each
 * with its event time (its mtime, or a time in its name). Never writes to the directory.
 *
 * - Live: chokidar with `awaitWriteFinish` reports a file once its size has been stable for
 *   `stableMs` (never half-written); a rescan every 30 s catches what events missed (another file
 *   system, the inotify limit reached); a directory created late is watched once it appears.
 * - Start: a scan hands on the files written while the collector was down: those above the state's
 *   high-water mark (`OutputMark`). A young file found by a scan is re-checked until it is stable.
 * - `settledMs()` tells the tracker how far the directory is known: every file last written before it
 *   has been handed on, so a generation that ended before it has all its files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { systemClock, type Clock } from '../common/clock';
import { silentLogger, type Logger } from '../common/logger';
import type { OutputDirMark } from './checkpoint';
import type { OutputFile } from '../assemble/events';

/** A complete file of an output directory: the shape the assemble stage takes in. */
export type { OutputFile };

export interface OutputDirSpec {
  dir: string;
  group: string;
  /** This directory's own file pattern (competition mode's outputs), instead of the config's. */
  namePattern?: string;
}

export interface OutputReadOptions {
  /** Regular expression on the relative path; optional named groups `unix_s` or `unix_ms`. */
  namePattern: string;
  stableMs: number;
  depth: number;
}

/** Files drained out of mtime order are still found after a restart when within this of the newest. */
export const ORDER_SLACK_MS = 60_000;
const MAX_RECENT = 10_000;
const RESCAN_MS = 30_000;
/** How often a missing directory is looked for (a worker that has not written its first file yet). */
const DIR_CHECK_MS = 2_000;
const POLL_MS = 100;
/** chokidar reports a file within stableMs + a poll or two of its last write; the rest is for a busy event loop. */
const SETTLE_MARGIN_MS = 2 * POLL_MS + 1000;

/**
 * Which files of a directory were handed on: all at or below `high`, and the `recent` ones above it
 * (name -> mtime). Pure; the daemon commits `toState()` with the tracker's snapshot.
 */
export class OutputMark {
  private high: number;
  private readonly recent: Map<string, number>;

  constructor(state: OutputDirMark) {
    this.high = state.high_water_mtime_ms;
    this.recent = new Map(Object.entries(state.recent));
  }

  /** A fresh directory: everything in it (`beginning`) or only what comes from now on (`end`). */
  static fresh(startAt: 'beginning' | 'end', nowMs: number): OutputMark {
    return new OutputMark({ high_water_mtime_ms: startAt === 'end' ? nowMs : -1, recent: {} });
  }

  isNew(name: string, mtimeMs: number): boolean {
    return mtimeMs > this.high && this.recent.get(name) !== mtimeMs;
  }

  /** The file was handed on to the tracker. */
  note(name: string, mtimeMs: number): void {
    if (mtimeMs > this.high) this.recent.set(name, mtimeMs);
  }

  /**
   * The mark as the state stores it. It moves up to `ORDER_SLACK_MS` below the newest file handed
   * on, never above `floorMs` (the oldest file reported but not handed on yet) nor `confirmedMs`
   * (the newest mtime a listing of the directory has seen: every file at or below it was then handed
   * on, in flight or waited for), and forgets the names it now covers.
   */
  toState(floorMs = Number.POSITIVE_INFINITY, confirmedMs = Number.POSITIVE_INFINITY): OutputDirMark {
    let newest = Number.NEGATIVE_INFINITY;
    for (const m of this.recent.values()) newest = Math.max(newest, m);
    let high = Math.max(this.high, Math.min(newest - ORDER_SLACK_MS, floorMs - 1, confirmedMs));
    if (this.recent.size > MAX_RECENT) {
      // bounded: keep the newest names (a burst of files within the slack), never covering a file in flight
      const sorted = [...this.recent.values()].sort((a, b) => b - a);
      high = Math.max(high, Math.min(sorted[MAX_RECENT]!, floorMs - 1));
    }
    this.high = high;
    for (const [name, m] of this.recent) if (m <= high) this.recent.delete(name);
    return { high_water_mtime_ms: high, recent: Object.fromEntries(this.recent) };
  }
}

/** The file's name matched against the pattern: whether to take it, and its event time. */
export function matchOutputName(pattern: RegExp, name: string, mtimeMs: number): { timeMs: number } | null {
  const m = pattern.exec(name);
  if (!m) return null;
  const g = m.groups ?? {};
  if (g.unix_ms !== undefined && Number.isFinite(Number(g.unix_ms))) return { timeMs: Number(g.unix_ms) };
  if (g.unix_s !== undefined && Number.isFinite(Number(g.unix_s))) return { timeMs: Number(g.unix_s) * 1000 };
  return { timeMs: mtimeMs };
}

function toOutputFile(spec: OutputDirSpec, pattern: RegExp, name: string, st: { size: number; mtimeMs: number }): OutputFile | null {
  const match = matchOutputName(pattern, name, st.mtimeMs);
  if (!match) return null;
  return { dir: spec.dir, group: spec.group, name, path: path.join(spec.dir, name), size: st.size, mtimeMs: st.mtimeMs, timeMs: match.timeMs };
}

function relativeName(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}

/**
 * How long a scan stats files in one go before it lets the event loop turn. A stat on the thread pool
 * cost about 60 us of CPU (a promise and a hop each way), 30 ms for a directory of 500 files, every
 * 30 s: most of a collector's idle CPU with two such directories. Synchronous, 500 cost 2-4 ms; in
 * slices of time, no other work waits long behind a large directory or a slow file system (a network
 * mount, where a stat may take a millisecond).
 */
const STAT_SLICE_MS = 2;

/** Every matching file of the directory now (to `depth` levels), in event-time order. A missing directory is empty. */
export async function scanOutputDir(spec: OutputDirSpec, opts: OutputReadOptions): Promise<OutputFile[]> {
  const pattern = new RegExp(spec.namePattern ?? opts.namePattern);
  const out: OutputFile[] = [];
  let sliceFrom = performance.now();
  // `rel`: the directory's path below spec.dir ('' at the top), as the pattern sees it
  const walk = async (dir: string, rel: string, level: number): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable: nothing to take now (a later scan looks again)
    }
    for (const d of entries) {
      const full = path.join(dir, d.name);
      const name = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (level < opts.depth) await walk(full, name, level + 1);
        continue;
      }
      if (!d.isFile()) continue;
      if (performance.now() - sliceFrom > STAT_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceFrom = performance.now();
      }
      let st: fs.Stats;
      try {
        st = fs.statSync(full);
      } catch {
        continue; // removed between the listing and the stat
      }
      const f = toOutputFile(spec, pattern, name, st);
      if (f) out.push(f);
    }
  };
  await walk(spec.dir, '', 0);
  return out.sort((a, b) => a.timeMs - b.timeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface OutputDirWatcherOptions extends OutputReadOptions {
  logger?: Logger;
  clock?: Clock;
  /** Called when files are ready to take (the daemon's loop wakes up). */
  onReady?: () => void;
}

/** Live files of one output directory; see the module comment. */
export class OutputDirWatcher {
  private watcher: FSWatcher | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private readonly pattern: RegExp;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Complete files not taken yet. */
  private queue: OutputFile[] = [];
  /** Reported (queued or taken) but not handed on to the tracker yet: name -> mtime. */
  private readonly inFlight = new Map<string, number>();
  /** Young files a scan found, re-checked until stable: name -> last size/mtime seen. */
  private readonly young = new Map<string, { size: number; mtimeMs: number; timer: NodeJS.Timeout }>();
  private started = false;
  private closed = false;
  private dirPresent = false;
  private ticking = false;
  private lastScanMs = 0;
  /** The newest mtime the last listing saw: the mark never passes what a listing has not confirmed. */
  private confirmedMtimeMs = Number.NEGATIVE_INFINITY;
  private settled = Number.NEGATIVE_INFINITY;
  readonly stats = { files: 0, rescued: 0, errors: 0 };

  constructor(
    readonly spec: OutputDirSpec,
    private readonly mark: OutputMark,
    private readonly opts: OutputDirWatcherOptions,
  ) {
    this.pattern = new RegExp(spec.namePattern ?? opts.namePattern);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    await this.watchDir();
    await this.scan();
    this.started = true;
    // a rescan now and then for what events missed; sooner while the directory is missing
    this.rescanTimer = setInterval(() => void this.tick(), DIR_CHECK_MS);
    this.rescanTimer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return; // a long scan is still running
    this.ticking = true;
    try {
      const present = fs.existsSync(this.spec.dir);
      const appeared = present && !this.dirPresent;
      if (!present) this.dirPresent = false; // removed: watched again when it comes back
      if (appeared) {
        // chokidar does not see a directory created after it started: watch it again
        this.logger.info({ dir: this.spec.dir }, 'output directory appeared');
        await this.watcher?.close();
        await this.watchDir();
      }
      if (appeared || this.clock.now() - this.lastScanMs >= RESCAN_MS) await this.scan();
    } catch (err) {
      this.stats.errors++;
      this.logger.warn({ dir: this.spec.dir, error: (err as Error).message }, 'output directory check failed; trying again in 2 s');
    } finally {
      this.ticking = false;
    }
  }

  private async watchDir(): Promise<void> {
    this.dirPresent = fs.existsSync(this.spec.dir);
    if (!this.dirPresent) this.logger.warn({ dir: this.spec.dir }, 'output directory does not exist (yet): looking for it every 2 s');
    const w = watch(this.spec.dir, {
      ignoreInitial: true,
      // a link is not the worker's output: its target may be anything anywhere (the scan skips links too)
      followSymlinks: false,
      depth: this.opts.depth,
      awaitWriteFinish: { stabilityThreshold: Math.max(this.opts.stableMs, 1), pollInterval: POLL_MS },
      ignored: (p, st) => st?.isFile() === true && !this.pattern.test(relativeName(this.spec.dir, p)),
    });
    w.on('add', (p, st) => this.reported(p, st));
    w.on('change', (p, st) => this.reported(p, st));
    w.on('error', (err) => {
      this.stats.errors++;
      this.logger.warn({ dir: this.spec.dir, error: (err as Error).message }, 'output directory watch error; the periodic scan goes on');
    });
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    if (this.closed) await w.close();
    else this.watcher = w;
  }

  /** Files ready to hand on, in event-time order; they stay in flight until `handedOn`. */
  take(): OutputFile[] {
    const out = this.queue.sort((a, b) => a.timeMs - b.timeMs);
    this.queue = [];
    return out;
  }

  /** The tracker has the file: the mark may cover it. */
  handedOn(f: OutputFile): void {
    if (this.inFlight.get(f.name) === f.mtimeMs) this.inFlight.delete(f.name);
    this.mark.note(f.name, f.mtimeMs);
  }

  /** Nothing waits to be taken: a file reported later is newer than anything handed on (or is out of order, which the tracker's window covers). */
  get idle(): boolean {
    return this.started && this.queue.length === 0;
  }

  /** Wall time up to which every file last written then has been taken; -Infinity before the first scan. */
  settledMs(): number {
    if (this.started && this.young.size === 0 && this.queue.length === 0)
      this.settled = Math.max(this.settled, this.clock.now() - (this.opts.stableMs + SETTLE_MARGIN_MS));
    return this.settled;
  }

  markState(): OutputDirMark {
    let floor = Number.POSITIVE_INFINITY;
    for (const m of this.inFlight.values()) floor = Math.min(floor, m);
    for (const y of this.young.values()) floor = Math.min(floor, y.mtimeMs);
    // a file chokidar has not reported yet (its write still settling, a loaded event loop) is either
    // newer than the last listing or was found by it (offered, or waited for as young)
    return this.mark.toState(floor, this.confirmedMtimeMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    for (const y of this.young.values()) clearTimeout(y.timer);
    this.young.clear();
    await this.watcher?.close();
    this.watcher = null;
  }

  /** chokidar says the file is complete (its size was stable for `stableMs`). */
  private reported(p: string, st: fs.Stats | undefined): void {
    if (this.closed) return;
    // the entry itself, never what a link points at
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (!st.isFile()) return;
    const f = toOutputFile(this.spec, this.pattern, relativeName(this.spec.dir, p), st);
    if (f) this.offer(f);
  }

  private offer(f: OutputFile): void {
    if (!this.mark.isNew(f.name, f.mtimeMs) || this.inFlight.get(f.name) === f.mtimeMs) return;
    const y = this.young.get(f.name);
    if (y) {
      clearTimeout(y.timer);
      this.young.delete(f.name);
    }
    this.inFlight.set(f.name, f.mtimeMs);
    this.queue.push(f);
    this.stats.files++;
    this.opts.onReady?.();
  }

  /** Files above the mark that no event reported (down time, missed events); young ones wait until stable. */
  private async scan(): Promise<void> {
    this.lastScanMs = this.clock.now();
    const files = await scanOutputDir(this.spec, this.opts);
    if (this.closed) return;
    for (const f of files) this.confirmedMtimeMs = Math.max(this.confirmedMtimeMs, f.mtimeMs);
    for (const f of files) {
      if (!this.mark.isNew(f.name, f.mtimeMs) || this.inFlight.get(f.name) === f.mtimeMs || this.young.has(f.name)) continue;
      if (this.started) this.stats.rescued++;
      if (this.clock.now() - f.mtimeMs >= this.opts.stableMs) this.offer(f);
      else this.waitStable(f);
    }
  }

  private waitStable(f: OutputFile): void {
    const timer = setTimeout(() => {
      const seen = this.young.get(f.name);
      if (!seen || this.closed) return;
      this.young.delete(f.name);
      let st: fs.Stats;
      try {
        st = fs.statSync(f.path);
      } catch {
        return; // removed while young
      }
      const now = toOutputFile(this.spec, this.pattern, f.name, st);
      if (!now) return;
      if (now.size === seen.size && now.mtimeMs === seen.mtimeMs) this.offer(now);
      else this.waitStable(now);
    }, Math.max(this.opts.stableMs, POLL_MS));
    this.young.set(f.name, { size: f.size, mtimeMs: f.mtimeMs, timer });
  }
}
