/**
 * An append-only JSONL file that cannot lose or corrupt a record:
 * - one `write` of whole lines per batch, under the append lock, then `fsync`;
 * - a torn tail left by a killed writer is moved aside to `set-aside/<kind>.torn-tail-<time>.txt`
 *   before anything is appended after it, and a failed write is cut back, so no partial line survives;
 * - a record whose key (generation id + revision) is in any data file is not written again;
 * - the live file exists from the store's open on (empty until the first record).
 * Nothing but record files has a name the record globs match (names.ts); open renames what older
 * versions left under such names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CollectorError, fromFsError } from '../common/errors';
import { ensureDir, fsyncDir, writeFully, FILE_MODE } from '../common/fsx';
import { systemClock, type Clock } from '../common/clock';
import { silentLogger, type Logger } from '../common/logger';
import { IdIndex, splitKey, type IndexEntry, type KeyOf, type Latest } from './id-index';
import { acquireAppendLock, type AppendLockOptions } from './append-lock';
import { liveFileMonth, monthOfMs, sealLiveFile, splitByMonth, type MonthOf } from './rotation';
import { migrateLegacyNames, sealedFilesOf, tornTailFile } from './names';

export interface JsonlStoreOptions<T> {
  dataDir: string;
  /** The live file's name, e.g. `generation_history.jsonl`. */
  fileName: string;
  /** The key of a record (`<id>#<revision>[#<tag>]`); records whose `<id>#<revision>` is stored are skipped. */
  keyOfRecord: (record: T) => string;
  /** The same key from a parsed stored line (null for a line that is not a record). */
  keyOfStored: KeyOf;
  /**
   * Called under the append lock with what is stored for any id: returns the record to write
   * (e.g. with its revision set), or null to skip it.
   */
  revise?: (record: T, latest: (id: string) => Latest | undefined) => T | null;
  /** One line of compact JSON, without the newline; throws for an invalid record. */
  serialize: (record: T) => string;
  /** A record's (or stored line's) month `YYYY-MM`: set, the live file is sealed monthly (rotation.ts). */
  monthOf?: MonthOf;
  lock?: AppendLockOptions;
  clock?: Clock;
  logger?: Logger;
}

export interface AppendResult {
  written: number;
  duplicates: number;
  /** Records the schema refused (a collector bug): reported, not written, never blocking the rest. */
  invalid: { error: string }[];
  /** Offsets of the new lines in the live file, in input order of the written records. */
  entries: IndexEntry[];
  /** Files the torn tails found at this append were moved to. */
  tornTailsMovedTo: string[];
}

export class JsonlStore<T> {
  readonly file: string;
  private readonly base: string;
  private readonly index: IdIndex;
  private readonly clock: Clock;
  private readonly logger: Logger;

  private constructor(private readonly opts: JsonlStoreOptions<T>) {
    this.file = path.join(opts.dataDir, opts.fileName);
    this.base = opts.fileName.replace(/\.jsonl$/, '');
    this.index = new IdIndex(opts.dataDir, path.join(opts.dataDir, 'state', 'index'), opts.keyOfStored);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Opens the store: creates the data dir if needed, renames caches and set-aside tails left under old
   * names (names.ts), creates the live file if missing, and takes in the keys of every data file.
   */
  static async open<T>(opts: JsonlStoreOptions<T>): Promise<JsonlStore<T>> {
    ensureDir(opts.dataDir);
    const store = new JsonlStore(opts);
    await store.withLock(async () => {
      store.migrate();
      store.createLive();
      await store.loadSealedFiles();
      await store.catchUpLive();
    });
    return store;
  }

  private migrate(): void {
    let moved;
    try {
      moved = migrateLegacyNames(this.opts.dataDir, this.opts.fileName);
    } catch (err) {
      throw fromFsError(err, this.opts.dataDir, 'renaming files left under old names');
    }
    if (moved.length) this.logger.info({ file: this.file, moved }, 'files left under old names renamed (issue 16)');
  }

  /** An empty live file, so readers (globs, `head -1`) always find one. */
  private createLive(): void {
    if (fs.existsSync(this.file)) return;
    try {
      fs.closeSync(fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, FILE_MODE));
      fsyncDir(this.opts.dataDir);
    } catch (err) {
      throw fromFsError(err, this.file, 'creating the data file');
    }
  }

  /** Whether `<id>#<revision>` is stored (as far as this process has read). */
  has(key: string): boolean {
    return this.index.has(key);
  }

  latest(id: string): Latest | undefined {
    return this.index.latest(id);
  }

  /** Monthly, gzip and archived files of this store, which only rotation changes. */
  sealedFiles(): string[] {
    return sealedFilesOf(this.opts.dataDir, this.base);
  }

  async loadSealedFiles(): Promise<void> {
    for (const f of this.sealedFiles()) await this.index.loadSealed(f);
  }

  /**
   * Appends the records not stored yet, durably, as whole lines. Resolves once they are fsynced.
   * Throws a CollectorError (ENOSPC, EIO, EFBIG, EACCES, LOCK_HELD ...) with nothing partial left.
   */
  async append(records: readonly T[]): Promise<AppendResult> {
    return this.withLock(async (compromised) => {
      // Rotation may have sealed files since we last looked.
      await this.loadSealedFiles();
      const monthOf = this.opts.monthOf;
      if (!monthOf) return this.appendLocked(records, compromised);
      // A record of a newer month than the live file's seals it first (rotation.ts), under this lock.
      const now = monthOfMs(this.clock.now());
      const groups = splitByMonth(records, liveFileMonth(this.file, monthOf, now), monthOf, now);
      let result = await this.appendLocked(groups[0]!, compromised); // also moves a torn tail aside
      for (const group of groups.slice(1)) {
        const month = liveFileMonth(this.file, monthOf, now);
        const sealed = month === null ? null : await sealLiveFile(this.opts.dataDir, this.file, month);
        if (sealed) await this.index.loadSealed(sealed);
        const next = await this.appendLocked(group, compromised);
        result = {
          written: result.written + next.written,
          duplicates: result.duplicates + next.duplicates,
          invalid: [...result.invalid, ...next.invalid],
          entries: next.entries, // offsets in the live file: only the last group's are still there
          tornTailsMovedTo: [...result.tornTailsMovedTo, ...next.tornTailsMovedTo],
        };
      }
      return result;
    });
  }

  /** Runs `fn` holding the append lock (shared with rotation and other writers). */
  async withLock<R>(fn: (compromised: () => boolean) => Promise<R>): Promise<R> {
    let lock;
    try {
      lock = await acquireAppendLock(this.opts.dataDir, this.file, this.opts.lock);
    } catch (err) {
      throw err instanceof CollectorError ? err : fromFsError(err, this.file, 'taking the append lock');
    }
    try {
      return await fn(() => lock.compromised);
    } finally {
      await lock.release();
    }
  }

  /** Takes in what other writers appended to the live file (call under the lock). */
  private async catchUpLive(): Promise<void> {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      return; // not created yet
    }
    // a torn tail is left to the next append, which moves it aside; stop at the last whole line
    const fd = fs.openSync(this.file, 'r');
    try {
      const end = this.tornTailStart(fd, st.size) ?? st.size;
      await this.index.catchUpLive(this.file, st.ino, end);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * What the caches say of the ids these records touch is read back from the data files before it
   * decides anything (a duplicate, a revision number); a cache that does not match the data is
   * thrown away and the index rebuilt from the data (under the append lock).
   */
  private async confirmCaches(records: readonly T[], ino: number, size: number): Promise<void> {
    const ids = new Set<string>();
    const probe = (id: string) => {
      ids.add(id);
      return this.index.latest(id);
    };
    for (const r of records) {
      const revised = this.opts.revise ? this.opts.revise(r, probe) : r;
      if (revised) ids.add(splitKey(this.opts.keyOfRecord(revised)).id);
    }
    if (await this.index.confirm(ids)) return;
    const caches = this.index.rebuild();
    this.logger.warn({ dataDir: this.opts.dataDir, caches: caches.length }, 'the id index cache did not match the data files: it is rebuilt from them');
    await this.loadSealedFiles();
    await this.index.catchUpLive(this.file, ino, size);
  }

  private async appendLocked(records: readonly T[], compromised: () => boolean): Promise<AppendResult> {
    let fd: number;
    try {
      fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT, FILE_MODE);
    } catch (err) {
      throw fromFsError(err, this.file, 'opening the data file');
    }
    try {
      const st = fs.fstatSync(fd);
      const tornTailsMovedTo: string[] = [];
      let size = st.size;
      const cut = this.tornTailStart(fd, size);
      if (cut !== null) {
        tornTailsMovedTo.push(this.moveTornTail(fd, cut, size));
        size = cut;
      }
      await this.index.catchUpLive(this.file, st.ino, size);
      await this.confirmCaches(records, st.ino, size);

      const fresh: { key: string; text: string }[] = [];
      const invalid: { error: string }[] = [];
      const batchLatest = new Map<string, Latest>();
      const lookup = (id: string) => batchLatest.get(id) ?? this.index.latest(id);
      let duplicates = 0;
      for (const r of records) {
        const revised = this.opts.revise ? this.opts.revise(r, lookup) : r;
        if (!revised) {
          duplicates++;
          continue;
        }
        const key = this.opts.keyOfRecord(revised);
        const k = splitKey(key);
        if (this.index.has(k.dedup) || batchLatest.get(k.id)?.revision === k.revision) {
          duplicates++;
          continue;
        }
        let text: string;
        try {
          text = this.opts.serialize(revised);
        } catch (err) {
          invalid.push({ error: (err as Error).message });
          this.logger.error({ file: this.file, key: k.dedup, error: (err as Error).message }, 'record refused by the schema');
          continue;
        }
        batchLatest.set(k.id, { revision: k.revision, tag: k.tag });
        fresh.push({ key, text });
      }
      const result: AppendResult = {
        written: fresh.length,
        duplicates,
        invalid,
        entries: [],
        tornTailsMovedTo,
      };
      if (fresh.length === 0) return result;

      const buf = Buffer.from(fresh.map((l) => `${l.text}\n`).join(''));
      if (compromised())
        throw new CollectorError('LOCK_LOST', 'the append lock was taken over before writing', this.file, 'retry');
      try {
        writeFully(fd, buf);
        fs.fsyncSync(fd);
      } catch (err) {
        // Cut back whatever part of the batch reached the file: no partial line may stay.
        try {
          fs.ftruncateSync(fd, size);
          fs.fsyncSync(fd);
        } catch {
          // The next writer finds the torn tail and moves it aside.
        }
        throw fromFsError(err, this.file, 'appending records');
      }
      if (size === 0) fsyncDir(path.dirname(this.file)); // the file may be new
      let pos = size;
      for (const l of fresh) {
        const end = pos + Buffer.byteLength(l.text) + 1;
        result.entries.push({ start: pos, end, key: l.key });
        pos = end;
      }
      await this.index.noteAppended(this.file, result.entries);
      return result;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Offset just past the last `\n` when the file does not end with one (a torn tail), else null. */
  private tornTailStart(fd: number, size: number): number | null {
    if (size === 0) return null;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 10) return null;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, n).lastIndexOf(10);
      if (nl !== -1) return start + nl + 1;
      end = start;
    }
    return 0;
  }

  /** Copies bytes [from, size) to `set-aside/<kind>.torn-tail-<time>.txt` (fsynced), then truncates them off. */
  private moveTornTail(fd: number, from: number, size: number): string {
    const stamp = new Date(this.clock.now()).toISOString().replace(/[-:]/g, '').replace('.', '');
    let target = tornTailFile(this.opts.dataDir, this.opts.fileName, stamp);
    for (let n = 1; fs.existsSync(target); n++) target = tornTailFile(this.opts.dataDir, this.opts.fileName, stamp, n);
    const setAside = path.dirname(target);
    if (!fs.existsSync(setAside)) {
      ensureDir(setAside);
      fsyncDir(this.opts.dataDir);
    }
    const out = fs.openSync(target, 'wx', FILE_MODE);
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let pos = from; pos < size; ) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
        if (n === 0) break;
        writeFully(out, chunk.subarray(0, n));
        pos += n;
      }
      fs.fsyncSync(out);
    } catch (err) {
      throw fromFsError(err, target, 'saving a torn tail aside');
    } finally {
      fs.closeSync(out);
    }
    fsyncDir(setAside);
    fs.ftruncateSync(fd, from);
    fs.fsyncSync(fd);
    this.logger.warn(
      { file: this.file, offset: from, bytes: size - from, movedTo: target },
      'torn tail from an interrupted write moved aside',
    );
    return target;
  }
}
