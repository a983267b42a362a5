/**
 * Monthly rotation of the JSONL files (docs/storage.md):
 * - seal: the live `<base>.jsonl` becomes `<base>_YYYY-MM.jsonl` when a record of a newer month comes
 *   (inside JsonlStore.append) or when its month is over (`rotate`);
 * - gzip: a monthly file older than `gzipAfterMonths` becomes `<name>.gz` (verified before the original goes);
 * - archive: a monthly file older than `archiveAfterMonths` moves to `archive/`.
 *
 * Every step runs under the store's append lock, and every step keeps each record under at least one
 * name at every instant: the new name appears (link, or rename of a verified `*.tmp`) and is fsynced
 * before the old name goes. A kill between the two leaves a record under two names (readers drop the
 * repeated (id, revision); so does the store's index), and the next run finishes the step. When the
 * target name is taken by other content, the step merges into it (target + source, through a `*.tmp`),
 * and a target that already ends with the source's content counts as merged, so a rerun never adds
 * a record twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { ensureDir, fsyncDir, FILE_MODE } from '../common/fsx';
import { edgeLines } from '../common/lines';
import { CollectorError, fromFsError } from '../common/errors';
import { acquireAppendLock, type AppendLockOptions } from './append-lock';
import { readIndexFile } from './id-index';
import { indexCacheFor, rotationTmpFor } from './names';

export { indexCacheFor };

/** The JSONL kinds that rotate, and where each keeps its record time. */
export const ROTATING_FILES = [
  { base: 'generation_history', monthOf: monthOfGeneration },
  { base: 'miner_events', monthOf: monthOfTimeField },
  { base: 'miner_config_history', monthOf: monthOfTimeField },
] as const;

export type MonthOf = (value: unknown) => string | null;

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function monthOfIso(t: unknown): string | null {
  if (typeof t !== 'string') return null;
  const m = t.slice(0, 7);
  return MONTH.test(m) ? m : null;
}

/** A generation record's month: `metadata.timestamp`. */
export function monthOfGeneration(v: unknown): string | null {
  return monthOfIso((v as { metadata?: { timestamp?: unknown } } | null)?.metadata?.timestamp);
}

/** A miner event's or config change's month: `time`. */
export function monthOfTimeField(v: unknown): string | null {
  return monthOfIso((v as { time?: unknown } | null)?.time);
}

export function monthOfMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Whole months from `a` to `b` ('2025-08' -> '2025-11' is 3). */
export function monthsBetween(a: string, b: string): number {
  const idx = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
  return idx(b) - idx(a);
}

/** A month after the current one is a clock error in a record: it must not hold the live file open for years. */
function clampMonth(m: string | null, now: string): string | null {
  return m !== null && m > now ? now : m;
}

/** `<base>_YYYY-MM.jsonl[.gz]` -> its base, month and compression; null for other names. */
export function parseMonthlyName(name: string): { base: string; month: string; gz: boolean } | null {
  const m = /^(.+)_(\d{4}-\d{2})\.jsonl(\.gz)?$/.exec(name);
  if (!m || !MONTH.test(m[2]!)) return null;
  return { base: m[1]!, month: m[2]!, gz: m[3] !== undefined };
}


function parseLine(buf: Buffer, monthOf: MonthOf): string | null {
  try {
    return monthOf(JSON.parse(buf.toString('utf8')));
  } catch {
    return null;
  }
}

/**
 * The live file's month: the later of its first and last complete lines' months (records come
 * roughly in time order; a late record of an older month at either end does not decide). Null when
 * the file is missing or holds no dated record.
 */
export function liveFileMonth(file: string, monthOf: MonthOf, nowMonth: string): string | null {
  const edges = edgeLines(file);
  if (!edges?.first) return null;
  const months = [edges.first, edges.last].map((b) => (b ? clampMonth(parseLine(b, monthOf), nowMonth) : null)).filter((m): m is string => m !== null);
  return months.length ? months.sort()[months.length - 1]! : null;
}

/**
 * Cuts a batch where a record of a month newer than the live file's appears: the first group goes to
 * the live file as it is, each later group after sealing it. Records of older months never cut (a late
 * record joins the live file; readers do not care which file holds it).
 */
export function splitByMonth<T>(records: readonly T[], liveMonth: string | null, monthOf: MonthOf, nowMonth: string): T[][] {
  const groups: T[][] = [[]];
  let cur = liveMonth;
  for (const r of records) {
    const m = clampMonth(monthOf(r), nowMonth);
    if (m !== null && cur !== null && m > cur) groups.push([]);
    if (m !== null && (cur === null || m > cur)) cur = m;
    groups[groups.length - 1]!.push(r);
  }
  return groups;
}

// ---- durable primitives ----

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  return fs.existsSync(p);
}

/** The uncompressed content of a data file (rotation handles monthly files: tens of MB). */
function contentOf(file: string, gz = file.endsWith('.gz')): Buffer {
  const raw = fs.readFileSync(file);
  return gz ? zlib.gunzipSync(raw) : raw;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function endsWith(whole: Buffer, part: Buffer): boolean {
  return part.length <= whole.length && whole.subarray(whole.length - part.length).equals(part);
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `content` to `target` (gzip when its name ends with .gz) through a `*.tmp` beside it
 * (names.ts: no record glob matches it): written,
 * fsynced, read back and compared by sha256, renamed, dir fsynced. The id index's cache of the target
 * is removed first, since it no longer describes the file (the next reader rescans it once).
 */
async function replaceVerified(dataDir: string, target: string, content: Buffer, point: Point): Promise<void> {
  const tmp = rotationTmpFor(target);
  fs.rmSync(tmp, { force: true }); // a leftover of a killed run: incomplete by definition
  try {
    if (target.endsWith('.gz')) {
      await pipeline(
        (async function* () {
          // in slices, so the lock's refresh timer runs during a long compression
          for (let i = 0; i < content.length; i += 1 << 20) yield content.subarray(i, i + (1 << 20));
        })(),
        zlib.createGzip({ level: 6 }),
        fs.createWriteStream(tmp, { mode: FILE_MODE, flags: 'wx' }),
      );
    } else {
      fs.writeFileSync(tmp, content, { mode: FILE_MODE, flag: 'wx' });
    }
    fsyncFile(tmp);
    point('tmp written');
    if (sha256(contentOf(tmp, target.endsWith('.gz'))) !== sha256(content))
      throw new CollectorError('EIO', 'verification failed: the new file does not read back as written', tmp, 'check the disk (dmesg); the original is kept');
    fs.rmSync(indexCacheFor(dataDir, target), { force: true });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw fromFsError(err, target, 'rotating a data file');
  }
  fsyncDir(path.dirname(target));
  point('renamed');
}

/** Removes `file` (whose records are all under another name now) and its index cache. */
function removeSource(dataDir: string, file: string, point: Point): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(indexCacheFor(dataDir, file), { force: true });
  fsyncDir(path.dirname(file));
  point('source removed');
}

/**
 * Puts the records of `source` under `target`, then removes `source`:
 * - no target: a hard link (same bytes, same inode; the index cache is renamed along);
 * - target and source the same file: only the removal was left to do;
 * - target holds other records: target + source, unless target already ends with source's content.
 */
async function moveInto(dataDir: string, source: string, target: string, point: Point): Promise<void> {
  await copyInto(dataDir, source, target, point);
  removeSource(dataDir, source, point);
}

/** The first half of moveInto: afterwards every record of `source` is under `target` too. */
async function copyInto(dataDir: string, source: string, target: string, point: Point): Promise<void> {
  ensureDir(path.dirname(target));
  if (!exists(target)) {
    if (source.endsWith('.gz') !== target.endsWith('.gz')) throw new Error(`cannot move ${source} to ${target}`);
    try {
      fs.linkSync(source, target);
    } catch (err) {
      throw fromFsError(err, target, 'linking a data file');
    }
    fsyncDir(path.dirname(target));
    point('linked');
    try {
      fs.renameSync(indexCacheFor(dataDir, source), indexCacheFor(dataDir, target));
    } catch {
      // no cache yet: the next reader builds one
    }
  } else if (!sameFile(source, target)) {
    const src = contentOf(source);
    const dst = contentOf(target);
    if (!endsWith(dst, src)) await replaceVerified(dataDir, target, Buffer.concat([dst, src]), point);
  }
}

/** Called after each durable action; tests kill the process there. */
export type Point = (what: string) => void;
const noPoint: Point = () => {};

/**
 * Seals the live file (call under its append lock): `<base>.jsonl` -> `<base>_<month>.jsonl`, and an
 * empty `<base>.jsonl` takes its place, so the live name never goes missing. Returns the monthly file,
 * or null when there is nothing to seal (an empty live file) or the file ends in a torn line (the next
 * append moves that aside first).
 *
 * Steps: link (or merge into) the monthly file, fsync; rename the index cache along; rename an empty,
 * fsynced `*.tmp` over the live name (atomic: readers see the old live file or the new empty one); fsync.
 * A kill before the last rename leaves the live file and the monthly file as one inode (or the monthly
 * file ending with the live file's content): the next run sees that and only replaces the live file.
 */
export async function sealLiveFile(dataDir: string, liveFile: string, month: string, point: Point = noPoint): Promise<string | null> {
  let st: fs.Stats;
  try {
    st = fs.statSync(liveFile);
  } catch {
    return null;
  }
  if (st.size === 0) return null;
  const last = Buffer.alloc(1);
  const fd = fs.openSync(liveFile, 'r');
  try {
    fs.readSync(fd, last, 0, 1, st.size - 1);
  } finally {
    fs.closeSync(fd);
  }
  if (last[0] !== 10) return null;
  const target = path.join(dataDir, `${path.basename(liveFile, '.jsonl')}_${month}.jsonl`);
  await copyInto(dataDir, liveFile, target, point);
  replaceWithEmpty(dataDir, liveFile, point);
  return target;
}

/** Renames an empty, fsynced file over `file` (whose records are all under another name now); drops its index cache. */
function replaceWithEmpty(dataDir: string, file: string, point: Point): void {
  const tmp = rotationTmpFor(file);
  try {
    fs.rmSync(tmp, { force: true });
    const fd = fs.openSync(tmp, 'wx', FILE_MODE);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw fromFsError(err, file, 'starting a new live file');
  }
  fs.rmSync(indexCacheFor(dataDir, file), { force: true });
  fsyncDir(path.dirname(file));
  point('source replaced by an empty file');
}

// ---- the rotate command ----

export interface RotationOptions {
  dataDir: string;
  /** The current time (the injectable clock's). */
  nowMs: number;
  gzipAfterMonths: number;
  archiveAfterMonths: number;
  dryRun?: boolean;
  lock?: AppendLockOptions;
  point?: Point;
}

export interface RotationStep {
  action: 'seal' | 'gzip' | 'archive' | 'finish';
  file: string;
  target: string;
}

interface Planned extends RotationStep {
  base: string;
}

/** What `rotate` would do now, in order (a file gzipped then archived shows both steps). */
export function planRotation(opts: Omit<RotationOptions, 'dryRun' | 'point' | 'lock'>): Planned[] {
  const { dataDir } = opts;
  const now = monthOfMs(opts.nowMs);
  const archive = path.join(dataDir, 'archive');
  const steps: Planned[] = [];
  for (const { base, monthOf } of ROTATING_FILES) {
    const live = path.join(dataDir, `${base}.jsonl`);
    const lm = liveFileMonth(live, monthOf, now);
    const monthly: { file: string; month: string; gz: boolean }[] = [];
    for (const dir of [dataDir, archive]) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir).sort();
      } catch {
        /* no archive/ yet */
      }
      for (const n of names) {
        const p = parseMonthlyName(n);
        if (p && p.base === base) monthly.push({ file: path.join(dir, n), month: p.month, gz: p.gz });
      }
    }
    if (lm !== null && lm < now) {
      const target = path.join(dataDir, `${base}_${lm}.jsonl`);
      steps.push({ base, action: 'seal', file: live, target });
      if (!monthly.some((m) => m.file === target)) monthly.push({ file: target, month: lm, gz: false });
    }
    for (const m of monthly) {
      let file = m.file;
      const age = monthsBetween(m.month, now);
      const gzName = `${file}.gz`;
      if (!m.gz && (age > opts.gzipAfterMonths || exists(gzName))) {
        // a .gz beside its .jsonl: a gzip step was cut short; finishing it is the same step
        steps.push({ base, action: exists(gzName) && age <= opts.gzipAfterMonths ? 'finish' : 'gzip', file, target: gzName });
        file = gzName;
      }
      if (path.dirname(file) === dataDir && age > opts.archiveAfterMonths)
        steps.push({ base, action: 'archive', file, target: path.join(archive, path.basename(file)) });
    }
  }
  // the same target planned twice (a .gz and its .jsonl both present) is done once
  const seen = new Set<string>();
  return steps.filter((s) => {
    const k = `${s.action}:${s.file}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Runs the plan, one step per lock hold. Each step checks the files again under the lock and is
 * idempotent, so a run killed anywhere is finished by the next one.
 */
export async function runRotation(opts: RotationOptions): Promise<RotationStep[]> {
  const steps = planRotation(opts);
  if (opts.dryRun) return steps.map(({ base: _b, ...s }) => s);
  const point = opts.point ?? noPoint;
  const done: RotationStep[] = [];
  for (const s of steps) {
    const live = path.join(opts.dataDir, `${s.base}.jsonl`);
    const lock = await acquireAppendLock(opts.dataDir, live, opts.lock);
    try {
      if (s.action === 'seal') {
        const { monthOf } = ROTATING_FILES.find((r) => r.base === s.base)!;
        const month = liveFileMonth(live, monthOf, monthOfMs(opts.nowMs));
        // a writer may have sealed it meanwhile
        if (month === null || month >= monthOfMs(opts.nowMs) || (await sealLiveFile(opts.dataDir, live, month, point)) === null) continue;
      } else {
        if (!exists(s.file)) continue; // done by an earlier (killed) run
        if (s.action === 'archive') await moveInto(opts.dataDir, s.file, s.target, point);
        else await gzipInto(opts.dataDir, s.file, s.target, point);
      }
      done.push({ action: s.action, file: s.file, target: s.target });
    } finally {
      await lock.release();
    }
  }
  return done;
}

/** `X.jsonl` -> `X.jsonl.gz`: a verified gzip (merged with an existing .gz), then the original goes. */
async function gzipInto(dataDir: string, file: string, gz: string, point: Point): Promise<void> {
  const plain = contentOf(file);
  if (exists(gz)) {
    const old = contentOf(gz);
    if (!endsWith(old, plain)) await replaceVerified(dataDir, gz, Buffer.concat([old, plain]), point);
  } else {
    await replaceVerified(dataDir, gz, plain, point);
    // The .gz holds the same lines at the same (uncompressed) offsets: its index is the original's,
    // when that covers the whole file (a .gz cache is trusted without a size check).
    const cache = indexCacheFor(dataDir, file);
    if (readIndexFile(cache)?.end === plain.length) {
      const gzCache = indexCacheFor(dataDir, gz);
      fs.copyFileSync(cache, `${gzCache}.tmp`);
      fs.renameSync(`${gzCache}.tmp`, gzCache);
    }
  }
  removeSource(dataDir, file, point);
}
