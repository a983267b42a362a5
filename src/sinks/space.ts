/**
 * Disk space: whether blobs may be stored now (the switches and the free-space guard), what the data
 * dir holds and how fast it grows (`data-collector storage`, doctor), and pruning old blobs and archives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemClock, type Clock } from '../common/clock';
import { silentLogger, type Logger } from '../common/logger';
import { scanLines } from '../common/lines';
import { fsyncDir } from '../common/fsx';
import { indexCacheFor, monthOfMs, monthsBetween, parseMonthlyName, ROTATING_FILES } from './rotation';

const DAY_MS = 86400000;

/** Free bytes for an unprivileged user on the disk of `dir` (its nearest existing ancestor). */
export function freeBytes(dir: string): number | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = fs.statfsSync(d);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(d) === d) return null;
    }
  }
}

/** The config keys that decide whether a blob is stored; they may change while the daemon runs. */
export interface BlobSettings {
  store_images: boolean;
  store_ply_files: boolean;
  minFreeBytes: number;
  retention: { keepRejectedPly: boolean };
}

export type BlobDecision = 'store' | 'disabled' | 'disk_low';

export interface BlobPolicyOptions {
  logger?: Logger;
  clock?: Clock;
  /** Injected in tests. */
  freeBytes?: (dir: string) => number | null;
  /** statfs at most this often (default 10 s). */
  checkEveryMs?: number;
}

/**
 * Whether to store an image or a PLY now. Below `minFreeBytes` free, blobs are skipped (records say
 * `disk_low`) so the JSONL records, which need far less, keep their room; one warning when space runs
 * low, one line when it returns.
 */
export class BlobPolicy {
  private low = false;
  private checkedAtMs = Number.NEGATIVE_INFINITY;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    private readonly dataDir: string,
    private settings: BlobSettings,
    private readonly opts: BlobPolicyOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  update(settings: BlobSettings): void {
    this.settings = settings;
    this.checkedAtMs = Number.NEGATIVE_INFINITY; // a new threshold applies at once
  }

  get current(): Readonly<BlobSettings> {
    return this.settings;
  }

  image(): BlobDecision {
    if (!this.settings.store_images) return 'disabled';
    return this.diskLow() ? 'disk_low' : 'store';
  }

  /** PLYs: accepted ones, and rejected ones only with `retention.keepRejectedPly`; null = not kept by design. */
  ply(accepted: boolean): BlobDecision | null {
    if (!accepted && !this.settings.retention.keepRejectedPly) return null;
    if (!this.settings.store_ply_files) return 'disabled';
    return this.diskLow() ? 'disk_low' : 'store';
  }

  /** A blob write failed with ENOSPC: treat the disk as low until the next check says otherwise. */
  noteNoSpace(): void {
    this.setLow(true, freeBytes(this.dataDir));
    this.checkedAtMs = this.clock.now();
  }

  diskLow(): boolean {
    const now = this.clock.now();
    if (now - this.checkedAtMs >= (this.opts.checkEveryMs ?? 10000)) {
      this.checkedAtMs = now;
      const free = (this.opts.freeBytes ?? freeBytes)(this.dataDir);
      if (free !== null) this.setLow(free < this.settings.minFreeBytes, free);
    }
    return this.low;
  }

  private setLow(low: boolean, free: number | null): void {
    if (low === this.low) return;
    this.low = low;
    const fields = { dataDir: this.dataDir, freeBytes: free, minFreeBytes: this.settings.minFreeBytes };
    if (low) this.logger.warn(fields, 'disk space low: images and PLY files are not stored (records keep their hashes) until space returns');
    else this.logger.info(fields, 'disk space back above minFreeBytes: storing images and PLY files again');
  }
}

// ---- measuring ----

export interface StorageReport {
  dataDir: string;
  /** Bytes on disk by kind. */
  bytes: { jsonl: number; images: number; ply: number; archives: number; state: number; other: number; total: number };
  /** Growth per day over the window (JSONL by record time, blobs by mtime). */
  perDay: { jsonl: number; images: number; ply: number; total: number };
  windowDays: number;
  freeBytes: number | null;
  daysUntilFull: number | null;
}

function walk(dir: string, visit: (file: string, st: fs.Stats) => void): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, visit);
    else if (e.isFile()) visit(p, fs.statSync(p));
  }
}

const TIME_FIELD = /"(?:timestamp|time)":"(\d{4}-\d\d-\d\dT[^"]{1,40})"/;

/** The time of a JSONL line (a generation's `metadata.timestamp`, an event's `time`), from its first bytes. */
function lineTimeMs(line: Buffer): number | null {
  const m = TIME_FIELD.exec(line.toString('utf8', 0, Math.min(line.length, 400)));
  const t = m ? Date.parse(m[1]!) : NaN;
  return Number.isFinite(t) ? t : null;
}

/** What the data dir holds, by kind, and how fast it grew over the last `windowDays` days. */
export async function measureStorage(dataDir: string, nowMs: number, windowDays = 7): Promise<StorageReport> {
  const bytes = { jsonl: 0, images: 0, ply: 0, archives: 0, state: 0, other: 0, total: 0 };
  const grown = { jsonl: 0, images: 0, ply: 0 };
  const from = nowMs - windowDays * DAY_MS;
  let earliest = nowMs;
  const recent: string[] = [];
  const nowMonth = monthOfMs(nowMs);
  walk(dataDir, (file, st) => {
    const rel = path.relative(dataDir, file);
    const top = rel.split(path.sep)[0]!;
    const name = path.basename(file);
    bytes.total += st.size;
    if (top === 'images' || top === 'ply_files') {
      const kind = top === 'images' ? 'images' : 'ply';
      bytes[kind] += st.size;
      if (st.mtimeMs >= from) grown[kind] += st.size;
      earliest = Math.min(earliest, st.mtimeMs);
    } else if (top === 'state') bytes.state += st.size;
    else if (top === 'archive' || name.endsWith('.jsonl.gz')) bytes.archives += st.size;
    else if (name.endsWith('.jsonl')) {
      bytes.jsonl += st.size;
      const monthly = parseMonthlyName(name);
      if (monthly) earliest = Math.min(earliest, Date.parse(`${monthly.month}-01T00:00:00Z`));
      // only files that may hold records of the window: the live ones and last month's
      if (!monthly || monthsBetween(monthly.month, nowMonth) <= 1) recent.push(file);
    } else bytes.other += st.size;
  });
  for (const file of recent)
    await scanLines(file, 0, (line, start, end) => {
      const t = lineTimeMs(line);
      if (t === null) return;
      earliest = Math.min(earliest, t);
      if (t >= from && t <= nowMs) grown.jsonl += end - start;
    });
  // a data dir younger than the window grew over its own age (at least a day, so a first hour does not extrapolate wildly)
  const days = Math.max(1, Math.min(windowDays, (nowMs - earliest) / DAY_MS));
  const perDay = { jsonl: grown.jsonl / days, images: grown.images / days, ply: grown.ply / days, total: 0 };
  perDay.total = perDay.jsonl + perDay.images + perDay.ply;
  const free = freeBytes(dataDir);
  return {
    dataDir,
    bytes,
    perDay,
    windowDays: Math.round(days * 10) / 10,
    freeBytes: free,
    daysUntilFull: free !== null && perDay.total > 0 ? free / perDay.total : null,
  };
}

// ---- pruning ----

export interface PruneItem {
  file: string;
  bytes: number;
  kind: 'image' | 'ply' | 'archive';
}

/** The same day `months` calendar months before `nowMs`. */
function monthsBefore(nowMs: number, months: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes());
}

const BLOB_PATH = /"(?:image_file_path|ply_file_path)":"((?:images|ply_files)\/[^"]+)"/g;

/**
 * What `rotate --prune-older-than MONTHS` deletes: files in archive/ whose month ended before the
 * cutoff, and images / PLYs older than the cutoff that no record from the cutoff on names (an image
 * given again is not rewritten, so its mtime alone would be wrong).
 */
export async function planPrune(dataDir: string, nowMs: number, months: number): Promise<PruneItem[]> {
  const cutoff = monthsBefore(nowMs, months);
  const cutoffMonth = monthOfMs(cutoff);
  const items: PruneItem[] = [];
  const keep = new Set<string>();
  const bases = new Set<string>(ROTATING_FILES.map((r) => r.base));
  for (const dir of [dataDir, path.join(dataDir, 'archive')]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = parseMonthlyName(n);
      const isLive = dir === dataDir && /^[a-z_]+\.jsonl$/.test(n) && bases.has(n.slice(0, -6));
      if (!isLive && (!p || !bases.has(p.base))) continue;
      const file = path.join(dir, n);
      if (p && dir !== dataDir && p.month < cutoffMonth) {
        items.push({ file, bytes: fs.statSync(file).size, kind: 'archive' });
        continue;
      }
      // a file named by a month before the cutoff's holds no record from the cutoff on
      if ((p && p.month < cutoffMonth) || (p?.base ?? n.slice(0, -6)) !== 'generation_history') continue;
      await scanLines(file, 0, (line) => {
        for (const m of line.toString('utf8').matchAll(BLOB_PATH)) keep.add(m[1]!);
      });
    }
  }
  for (const [sub, kind] of [
    ['images', 'image'],
    ['ply_files', 'ply'],
  ] as const) {
    walk(path.join(dataDir, sub), (file, st) => {
      const rel = path.relative(dataDir, file).split(path.sep).join('/');
      if (st.mtimeMs < cutoff && !keep.has(rel)) items.push({ file, bytes: st.size, kind });
    });
  }
  return items;
}

/** Deletes what planPrune listed (and the index caches of deleted archives). */
export function runPrune(dataDir: string, items: PruneItem[]): void {
  const dirs = new Set<string>();
  for (const it of items) {
    fs.rmSync(it.file, { force: true });
    if (it.kind === 'archive') fs.rmSync(indexCacheFor(dataDir, it.file), { force: true });
    dirs.add(path.dirname(it.file));
  }
  for (const d of dirs) fsyncDir(d);
}
