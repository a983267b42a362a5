/**
 * Which record keys (generation id + revision) are already in the data files, so an append never
 * writes one twice. A cache derived from the data files: per data file, `state/index/<tag>.idx`
 * (names.ts: `generation_history_2025-10.jsonl` -> `generation-history-2025-10.idx`) lists `<start> <end> <key>` for each line, after a header naming the file's first line (sha256),
 * so a replaced file is noticed. A start rescans only what lies past the cached coverage.
 *
 * The cache speeds a start up but never decides alone: before an append trusts what a cache said of an
 * id (its latest revision: the record is a duplicate, or the next revision), `confirm` reads that line
 * in the data file; a cache that does not match the data (edited, forged, stale) is thrown away and the
 * index rebuilt from the data files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { scanLines } from '../common/lines';
import { ensureDir, atomicWriteFile, FILE_MODE } from '../common/fsx';
import { fromFsError } from '../common/errors';
import { tagOf } from './names';

/**
 * A stored record's key: `<id>#<revision>` for the duplicate check, optionally followed by `#<tag>`,
 * a short text the store's owner keeps per id (for generation records: how complete the record is).
 * Keys contain no spaces.
 */
export type KeyOf = (parsed: unknown) => string | null;

/** The newest revision stored for an id, and its tag. */
export interface Latest {
  revision: number;
  tag: string;
}

/** Splits `<id>#<rev>[#<tag>]` into the duplicate-check part and the per-id summary. */
export function splitKey(key: string): { dedup: string; id: string; revision: number; tag: string } {
  const first = key.indexOf('#');
  const second = first === -1 ? -1 : key.indexOf('#', first + 1);
  const dedup = second === -1 ? key : key.slice(0, second);
  const id = first === -1 ? key : key.slice(0, first);
  const revision = first === -1 ? 0 : Number(key.slice(first + 1, second === -1 ? undefined : second)) || 0;
  return { dedup, id, revision, tag: second === -1 ? '' : key.slice(second + 1) };
}

export interface IndexEntry {
  start: number;
  end: number;
  key: string;
}

const HEADER_PREFIX = '#idx1 ';
const NO_KEY = '-';

export function keyOfLine(line: Buffer, keyOf: KeyOf): string | null {
  try {
    return keyOf(JSON.parse(line.toString('utf8')));
  } catch {
    return null;
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The sha256 of a data file's first line, or null while it has no complete line. */
export async function firstLineHash(file: string): Promise<string | null> {
  let hash: string | null = null;
  if (!file.endsWith('.gz')) {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl !== -1) return sha256(buf.subarray(0, nl));
      if (n < buf.length) return null;
    } finally {
      fs.closeSync(fd);
    }
  }
  // long first line, or gzip: stream until the first line
  try {
    await scanLines(file, 0, (line) => {
      hash = sha256(line);
      throw new StopScan();
    });
  } catch (err) {
    if (!(err instanceof StopScan)) throw err;
  }
  return hash;
}
/** Thrown from a `scanLines` visitor: what was wanted is read. */
class StopScan extends Error {}

/** The lines (without their newline) that start at `starts` of a data file; null where none does. */
async function linesAt(file: string, starts: number[]): Promise<(Buffer | null)[]> {
  const out = new Map<number, Buffer>();
  if (file.endsWith('.gz')) {
    // no seeking in gzip: read up to the last one (rare: revisions of records in an archive)
    const last = Math.max(...starts);
    const wanted = new Set(starts);
    try {
      await scanLines(file, 0, (line, s) => {
        if (wanted.has(s)) out.set(s, Buffer.from(line));
        if (s >= last) throw new StopScan();
      });
    } catch (err) {
      if (!(err instanceof StopScan)) throw err;
    }
    return starts.map((s) => out.get(s) ?? null);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return starts.map(() => null);
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    return starts.map((start) => {
      // a line starts at 0 or after a newline
      if (start > 0 && (fs.readSync(fd, buf, 0, 1, start - 1) !== 1 || buf[0] !== 10)) return null;
      const parts: Buffer[] = [];
      for (let pos = start; ; ) {
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) return null;
        const nl = buf.subarray(0, n).indexOf(10);
        if (nl !== -1) return Buffer.concat([...parts, buf.subarray(0, nl)]);
        parts.push(Buffer.from(buf.subarray(0, n)));
        pos += n;
      }
    });
  } finally {
    fs.closeSync(fd);
  }
}

function indexFileFor(indexDir: string, dataDir: string, file: string): string {
  return path.join(indexDir, `${tagOf(dataDir, file)}.idx`);
}

interface CachedIndex {
  head: string | null;
  entries: IndexEntry[];
  /** Offset just past the last entry (0 when none). */
  end: number;
}

/** Reads an index cache file; entries after a torn or non-contiguous line are ignored. */
export function readIndexFile(idxFile: string): CachedIndex | null {
  let text: string;
  try {
    text = fs.readFileSync(idxFile, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const header = lines[0];
  if (!header || !header.startsWith(HEADER_PREFIX)) return null;
  const head = header.slice(HEADER_PREFIX.length) || null;
  const entries: IndexEntry[] = [];
  let end = 0;
  // the last element is '' after a final '\n', or a torn line: never used
  for (let i = 1; i < lines.length - 1; i++) {
    const [s, e, key] = lines[i]!.split(' ');
    const start = Number(s);
    const stop = Number(e);
    if (!key || start !== end || !(stop > start)) break;
    entries.push({ start, end: stop, key });
    end = stop;
  }
  return { head, entries, end };
}

function formatEntries(entries: IndexEntry[]): string {
  let out = '';
  for (const e of entries) out += `${e.start} ${e.end} ${e.key}\n`;
  return out;
}

/** What this process knows of the live file and its cache; refreshed under the append lock. */
interface LiveFile {
  ino: number;
  /** sha256 of the data file's first line; null while it has none. */
  head: string | null;
  /** Bytes of the cache file made of complete lines that we have read or written. */
  idxBytes: number;
  /** Data offset just past the last cache entry; keys up to here are in `keys`. */
  cacheEnd: number;
}

/** Where a cache says an id's latest line is: file number * 2^40 + the line's start; -1 once confirmed (or read from the data). */
type Located = Latest & { at: number };
const FILE_STRIDE = 2 ** 40;

export class IdIndex {
  private readonly keys = new Set<string>();
  private readonly latestById = new Map<string, Located>();
  /** Data files by number (for `Located.at`). */
  private readonly files: string[] = [];
  private readonly sealed = new Map<string, number>(); // file -> ino taken in
  private readonly live = new Map<string, LiveFile>();

  constructor(
    private readonly dataDir: string,
    private readonly indexDir: string,
    private readonly keyOf: KeyOf,
  ) {
    ensureDir(indexDir);
  }

  /** Whether a record with this `<id>#<revision>` is stored. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  latest(id: string): Latest | undefined {
    const l = this.latestById.get(id);
    return l && { revision: l.revision, tag: l.tag };
  }

  /** Adds a key read from the data (`at` -1) or from a cache (`at`: where its line should be). */
  private add(key: string, at = -1): void {
    if (key === NO_KEY) return;
    const k = splitKey(key);
    this.keys.add(k.dedup);
    const prev = this.latestById.get(k.id);
    if (!prev || k.revision >= prev.revision) this.latestById.set(k.id, { revision: k.revision, tag: k.tag, at });
  }

  /** Where `file`'s lines are located: add a line's start. */
  private fileBase(file: string): number {
    let n = this.files.indexOf(file);
    if (n === -1) n = this.files.push(file) - 1;
    return n * FILE_STRIDE;
  }

  /**
   * Reads, in the data files, the line a cache gave as each id's latest: true when every one carries
   * that key. False: a cache does not match the data (the caller rebuilds, `rebuild`).
   */
  async confirm(ids: Iterable<string>): Promise<boolean> {
    const byFile = new Map<number, { id: string; l: Located }[]>();
    for (const id of ids) {
      const l = this.latestById.get(id);
      if (!l || l.at < 0) continue;
      const n = Math.floor(l.at / FILE_STRIDE);
      const list = byFile.get(n);
      if (list) list.push({ id, l });
      else byFile.set(n, [{ id, l }]);
    }
    for (const [n, wanted] of byFile) {
      const lines = await linesAt(this.files[n]!, wanted.map((w) => w.l.at % FILE_STRIDE));
      for (const [i, { id, l }] of wanted.entries()) {
        const line = lines[i];
        const key = line ? keyOfLine(line, this.keyOf) : null;
        const k = key === null ? null : splitKey(key);
        if (!k || k.id !== id || k.revision !== l.revision || k.tag !== l.tag) return false;
        l.at = -1;
      }
    }
    return true;
  }

  /** Forgets everything and removes the caches of the data files it knew: the next loads scan the data. */
  rebuild(): string[] {
    const caches = [...new Set([...this.sealed.keys(), ...this.live.keys(), ...this.files])].map((f) => indexFileFor(this.indexDir, this.dataDir, f));
    for (const c of caches) fs.rmSync(c, { force: true });
    this.keys.clear();
    this.latestById.clear();
    this.sealed.clear();
    this.live.clear();
    this.files.length = 0;
    return caches;
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * Takes in a file that no one appends to any more (monthly, gzip, archive): from its cache when
   * that still matches the file, else by scanning it once and writing the cache atomically.
   */
  async loadSealed(file: string): Promise<void> {
    const st = fs.statSync(file);
    if (this.sealed.get(file) === st.ino) return;
    const idxFile = indexFileFor(this.indexDir, this.dataDir, file);
    const head = await firstLineHash(file);
    const cached = readIndexFile(idxFile);
    let entries: IndexEntry[];
    const fromCache = !!cached && cached.head === head && (file.endsWith('.gz') || cached.end === st.size);
    if (fromCache) {
      entries = cached.entries;
    } else {
      entries = [];
      await scanLines(file, 0, (line, start, end) => {
        entries.push({ start, end, key: keyOfLine(line, this.keyOf) ?? NO_KEY });
      });
      atomicWriteFile(idxFile, `${HEADER_PREFIX}${head ?? ''}\n${formatEntries(entries)}`);
    }
    const base = fromCache ? this.fileBase(file) : -1;
    for (const e of entries) this.add(e.key, fromCache ? base + e.start : -1);
    this.sealed.set(file, st.ino);
  }

  /**
   * Brings the index up to date with the live file (the caller holds the append lock, so nobody
   * appends meanwhile, and `size` ends on a line boundary). Reads what other writers added to the
   * cache, then scans the data past the cache and adds those entries too (a writer killed between
   * its append and its cache update leaves such a gap). After this, the cache covers `size`.
   */
  async catchUpLive(file: string, ino: number, size: number): Promise<void> {
    const idxFile = indexFileFor(this.indexDir, this.dataDir, file);
    let lf = this.live.get(file);
    if (!lf || lf.ino !== ino || lf.cacheEnd > size || (lf.head === null && size > 0)) {
      lf = await this.openLive(file, idxFile, ino, size);
    } else {
      lf = this.readCacheGrowth(file, idxFile, lf) ?? (await this.openLive(file, idxFile, ino, size));
    }
    if (lf.cacheEnd < size) {
      const missing: IndexEntry[] = [];
      await scanLines(file, lf.cacheEnd, (line, start, end) => {
        missing.push({ start, end, key: keyOfLine(line, this.keyOf) ?? NO_KEY });
      });
      this.appendEntries(idxFile, lf, missing);
    }
  }

  /** Records lines this process just appended at the end of the live file (under the append lock). */
  async noteAppended(file: string, entries: IndexEntry[]): Promise<void> {
    const lf = this.live.get(file);
    if (!lf || entries.length === 0) return;
    if (lf.head === null) {
      // the file's first line was just written: the cache gets its header now
      lf.head = await firstLineHash(file);
      const idxFile = indexFileFor(this.indexDir, this.dataDir, file);
      atomicWriteFile(idxFile, `${HEADER_PREFIX}${lf.head ?? ''}\n`);
      lf.idxBytes = Buffer.byteLength(`${HEADER_PREFIX}${lf.head ?? ''}\n`);
      lf.cacheEnd = 0;
    }
    this.appendEntries(indexFileFor(this.indexDir, this.dataDir, file), lf, entries);
  }

  private async openLive(file: string, idxFile: string, ino: number, size: number): Promise<LiveFile> {
    const head = size > 0 ? await firstLineHash(file) : null;
    let cached = readIndexFile(idxFile);
    if (cached && (cached.head !== head || cached.end > size)) cached = null; // the file was replaced
    let idxBytes: number;
    if (cached) {
      const base = this.fileBase(file);
      for (const e of cached.entries) this.add(e.key, base + e.start);
      idxBytes = Buffer.byteLength(`${HEADER_PREFIX}${head ?? ''}\n${formatEntries(cached.entries)}`);
    } else {
      const header = `${HEADER_PREFIX}${head ?? ''}\n`;
      atomicWriteFile(idxFile, header);
      idxBytes = Buffer.byteLength(header);
    }
    const lf: LiveFile = { ino, head, idxBytes, cacheEnd: cached ? cached.end : 0 };
    this.live.set(file, lf);
    return lf;
  }

  /** Reads cache entries other writers appended since we last looked; null when the cache was replaced. */
  private readCacheGrowth(file: string, idxFile: string, lf: LiveFile): LiveFile | null {
    let st: fs.Stats;
    try {
      st = fs.statSync(idxFile);
    } catch {
      return null;
    }
    if (st.size < lf.idxBytes) return null;
    if (st.size === lf.idxBytes) return lf;
    const fd = fs.openSync(idxFile, 'r');
    const base = this.fileBase(file);
    try {
      const buf = Buffer.alloc(st.size - lf.idxBytes);
      const n = fs.readSync(fd, buf, 0, buf.length, lf.idxBytes);
      let pos = 0;
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl === -1 || nl >= n) break;
        const [s, e, key] = buf.toString('utf8', pos, nl).split(' ');
        const start = Number(s);
        const end = Number(e);
        if (!key || start !== lf.cacheEnd || !(end > start)) break;
        this.add(key, base + start);
        lf.cacheEnd = end;
        pos = nl + 1;
      }
      lf.idxBytes += pos;
    } finally {
      fs.closeSync(fd);
    }
    return lf;
  }

  /** Appends entries that continue the cache exactly, after cutting any torn or foreign bytes. */
  private appendEntries(idxFile: string, lf: LiveFile, entries: IndexEntry[]): void {
    for (const e of entries) this.add(e.key);
    const from = entries.findIndex((e) => e.start === lf.cacheEnd);
    if (from === -1) return;
    const text = formatEntries(entries.slice(from));
    try {
      fs.truncateSync(idxFile, lf.idxBytes);
      fs.appendFileSync(idxFile, text, { mode: FILE_MODE });
      lf.idxBytes += Buffer.byteLength(text);
      lf.cacheEnd = entries[entries.length - 1]!.end;
    } catch (err) {
      // Only a cache: a failure here costs a rescan at the next start, never a duplicate.
      void fromFsError(err, idxFile, 'updating the id index cache');
    }
  }
}
