/**
 * Backfill: reads one finished file (a rotated PM2 log, plain or `.gz`) once from start to end, as
 * batches of the same `Line` values the follower gives. For `.gz` the offsets count uncompressed bytes.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { closeQuietly, fstat, openOrNull, pread } from './file-reader';
import { identityOf } from './identity';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter';
import { emptyStats, silentLogger, type Line, type SourceLogger, type SourceRef, type SourceStats } from './types';

export interface OneShotOptions {
  app?: string;
  stream?: string;
  maxLineBytes?: number;
  chunkBytes?: number;
  /** A last line without a newline (the file was cut there) is given out by default; `false` drops it. */
  emitUnterminated?: boolean;
  logger?: SourceLogger;
  /** Filled in as reading goes. */
  stats?: SourceStats;
  /**
   * Read into two buffers in turn, and give lines that span reads as views of the splitter's carry:
   * a batch's lines are then valid only until the next batch is asked for (a consumer keeps a copy
   * of what it holds longer). Spares the allocator one chunk per read (`ingest`).
   */
  reuseBuffers?: boolean;
}

/** Batches of lines of `path`, in order. Compressed when the name ends in `.gz`. */
export async function* readFileLines(path: string, opts: OneShotOptions = {}): AsyncGenerator<Line[]> {
  const chunkBytes = opts.chunkBytes ?? 1024 * 1024;
  const stats = opts.stats ?? emptyStats();
  const log = opts.logger ?? silentLogger;
  const reuse = opts.reuseBuffers ?? false;
  const splitter = new LineSplitter(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, !reuse);
  const fd = await openOrNull(path);
  if (fd === null) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT', path });
  let batch: Line[] = [];
  let source: SourceRef;
  const onLine = (bytes: Buffer, offset: number, end: number): void => {
    batch.push({ bytes, source, offset, end });
    stats.lines++;
    stats.bytes += end - offset;
  };
  const onSkip = (offset: number, length: number): void => {
    stats.skippedLines++;
    stats.skippedBytes += length;
    stats.skippedLineOffsets.push({ path, offset, bytes: length });
    if (stats.skippedLineOffsets.length > 100) stats.skippedLineOffsets.shift();
    log.warn({ path, offset, bytes: length }, 'line longer than maxLineBytes skipped');
  };
  let pos = 0;
  try {
    const st = await fstat(fd);
    source = { app: opts.app ?? '', stream: opts.stream ?? '', path, identity: await identityOf(fd, st) };
    if (path.endsWith('.gz')) {
      const gunzip = fs.createReadStream('', { fd, autoClose: false, highWaterMark: chunkBytes }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }));
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        splitter.push(chunk, pos, onLine, onSkip);
        pos += chunk.length;
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
      }
    } else {
      // the next chunk is read (in libuv's pool) while this one is split and its lines handled; reusing
      // buffers, read k + 1 goes into one while batch k (in the other) is handled
      const ring = reuse ? [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)] : null;
      let reads = 0;
      const readAt = (at: number): Promise<Buffer> => pread(fd, at, chunkBytes, ring?.[reads++ & 1]);
      let next: Promise<Buffer> | null = readAt(pos);
      try {
        for (;;) {
          const chunk: Buffer = await next;
          next = null;
          if (chunk.length === 0) break;
          const at = pos;
          pos += chunk.length;
          next = readAt(pos);
          splitter.push(chunk, at, onLine, onSkip);
          if (batch.length > 0) {
            yield batch;
            batch = [];
          }
        }
      } finally {
        // a reader that stops early: the read in flight ends before its fd is closed
        if (next) await next.catch(() => undefined);
      }
    }
    if (opts.emitUnterminated ?? true) splitter.finish(pos, onLine, onSkip);
    else stats.lostBytes += splitter.reset();
    if (batch.length > 0) yield batch;
  } finally {
    stats.nulBytes += splitter.nulBytes;
    closeQuietly(fd);
  }
}
