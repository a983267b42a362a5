/**
 * The scan's chunks, kept in a temporary file instead of memory: each chunk's columns are written as
 * the scan delivers them and read back, one chunk at a time, by each pass that needs them. Memory then
 * holds one chunk and what the passes gather (a distribution's values, 8 bytes a selected row), not
 * every column of every row (about 120 bytes a row: 360 MB at 3 million records). Reads come from the
 * page cache, so a pass costs a copy, not a disk read.
 *
 * The file is unlinked as soon as it is opened: nothing is left behind, whatever ends the process.
 * It lies in the system's temporary directory (TMPDIR), never in a data dir (which may be read-only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectorError, fromFsError } from '../common/errors';
import { bytesOf, chunkOver, columnRange, metaOf, type Chunk, type ChunkMeta, type ColumnRef } from './columns';

/** Closes a store's file once nothing holds the store (callers that forget `close`). */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
});

/** Where a stored chunk lies, and the unit it belongs to. */
type StoredMeta = ChunkMeta & { at: number; bytes: number; unit: number };

export class ChunkFile {
  private readonly fd: number;
  /** Each unit's chunks, in the order they were put. */
  private readonly byUnit: StoredMeta[][] = [];
  /** byUnit flattened: chunk k is the k-th in unit order (made again after a put). */
  private flat: StoredMeta[] | null = null;
  private end = 0;
  private largest = 0;
  private closed = false;

  constructor(dir = os.tmpdir()) {
    const file = path.join(dir, `data-collector-columns-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    try {
      this.fd = fs.openSync(file, 'wx+', 0o600);
      fs.unlinkSync(file);
    } catch (err) {
      throw tempFileError(err, file, 'creating');
    }
    closer.register(this, this.fd, this);
  }

  /** Chunks held. */
  get length(): number {
    return this.metas.length;
  }

  /**
   * Stores `chunk` as the next chunk of unit `unit` (the units come in any order, a unit's chunks in
   * order); its columns can then be dropped.
   */
  put(unit: number, chunk: Chunk): void {
    const bytes = bytesOf(chunk);
    try {
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, this.end + done);
    } catch (err) {
      throw tempFileError(err, os.tmpdir(), 'writing');
    }
    (this.byUnit[unit] ??= []).push({ ...metaOf(chunk), at: this.end, bytes: bytes.length, unit });
    this.flat = null;
    this.end += bytes.length;
    this.largest = Math.max(this.largest, bytes.length);
  }

  /** The unit (its index in the scan's plan) chunk `k` belongs to. */
  unitOf(k: number): number {
    return this.meta(k).unit;
  }

  /**
   * Every chunk in order, each read into one buffer the pass reuses: a chunk's columns are valid until
   * `fn` returns (values it keeps must be copied out).
   */
  forEach(fn: (c: Chunk, k: number) => void): void {
    for (const [k, c] of this.entries()) fn(c, k);
  }

  /**
   * Every chunk in order, only columns `refs` of it read (undefined: a stage the chunk lacks): a pass
   * over one column reads its 1-8 bytes a row, not the chunk's 120. Valid until `fn` returns.
   */
  forEachColumns(refs: ColumnRef[], fn: (columns: (ArrayLike<number> | undefined)[], k: number, n: number) => void): void {
    for (const [columns, k, n] of this.columns(refs)) fn(columns, k, n);
  }

  /** forEachColumns as an iterator (for a pass that awaits between chunks). */
  *columns(refs: ColumnRef[]): Generator<[(ArrayLike<number> | undefined)[], number, number]> {
    const largestRows = Math.max(0, ...this.metas.map((m) => m.n));
    const buffers = refs.map(() => new ArrayBuffer(largestRows * 8));
    for (let k = 0; k < this.metas.length; k++) {
      const m = this.meta(k);
      const columns = refs.map((ref, j) => {
        const r = columnRange(m, ref);
        if (!r) return undefined;
        this.read({ at: m.at + r.at, bytes: r.bytes }, new Uint8Array(buffers[j]!, 0, r.bytes));
        return new r.type(buffers[j]!, 0, m.n);
      });
      yield [columns, k, m.n];
    }
  }

  /** The stage names any chunk has a column for. */
  stageNames(): string[] {
    return [...new Set(this.metas.flatMap((m) => m.stageNames))];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closer.unregister(this);
    fs.closeSync(this.fd);
  }

  private get metas(): StoredMeta[] {
    return (this.flat ??= this.byUnit.flat());
  }

  private *entries(): Generator<[number, Chunk]> {
    const buffer = new ArrayBuffer(this.largest);
    const bytes = new Uint8Array(buffer);
    for (let k = 0; k < this.metas.length; k++) {
      const m = this.meta(k);
      this.read(m, bytes.subarray(0, m.bytes));
      yield [k, chunkOver(m, buffer, 0)];
    }
  }

  /** Chunk `k` but for its columns (rows, tables, superseded ids): read from no file. */
  meta(k: number): StoredMeta {
    const m = this.metas[k];
    if (!m) throw new Error(`no chunk ${k} was stored`);
    if (this.closed) throw new Error('the chunk file is closed');
    return m;
  }

  private read(m: { at: number; bytes: number }, into: Uint8Array): void {
    for (let done = 0; done < m.bytes; ) {
      const got = fs.readSync(this.fd, into, done, m.bytes - done, m.at + done);
      if (got === 0) throw new Error(`the chunk file ended at ${m.at + done}, before ${m.at + m.bytes}`);
      done += got;
    }
  }
}

/** The file system's error, with where the file goes as the way out. */
function tempFileError(err: unknown, where: string, doing: string): CollectorError {
  const e = fromFsError(err, where, `${doing} the scan's temporary column file`);
  const hint = 'point TMPDIR at a writable directory with room for about 120 bytes a record';
  return new CollectorError(e.code, e.message, where, e.hint ? `${e.hint}; or ${hint}` : hint, { cause: err });
}
