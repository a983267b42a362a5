/** The values that leave this folder: lines with where they came from, batches, counters. */
import type { FileIdentity } from './checkpoint';

/** Which file a line came from. `identity` is the file's identity when the line was read. */
export interface SourceRef {
  app: string;
  /** 'out' | 'error' for PM2 files; free text otherwise. */
  stream: string;
  /** The name the file had when it was opened (a rotated file keeps its old name here). */
  path: string;
  identity: FileIdentity;
}

/**
 * One complete line. `bytes` is a slice of a read buffer (no newline, no trailing `\r`, leading NUL
 * padding skipped); nothing is decoded: invalid UTF-8 passes through. `end` is the offset just past
 * the `\n` in `source`'s file. `offset` is where the line starts in that file; a line whose start was
 * in the previous file (a rotation in the middle of a line) has offset 0.
 */
export interface Line {
  bytes: Buffer;
  source: SourceRef;
  offset: number;
  end: number;
}

/** What one read gives: the complete lines found, and whether the source is now at its end. */
export interface Batch {
  lines: Line[];
  caughtUp: boolean;
}

/** A pino logger fits. */
export interface SourceLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export const silentLogger: SourceLogger = { warn: () => {}, info: () => {} };

export interface SkippedLine {
  path: string;
  offset: number;
  /** Bytes of the skipped line, without its newline. */
  bytes: number;
}

export interface SourceStats {
  lines: number;
  /** Bytes of the lines yielded, newlines included. */
  bytes: number;
  skippedLines: number;
  skippedBytes: number;
  /** The latest skipped lines (at most 100). */
  skippedLineOffsets: SkippedLine[];
  /** NUL padding skipped at line starts (a writer with a stale offset after a truncate). */
  nulBytes: number;
  /** Bytes known to have existed and never read: the copy-truncate window, a truncate or delete before reading. */
  lostBytes: number;
  rotations: number;
  truncations: number;
  /** Copy-truncates whose copy was found and read to its end. */
  copiesRead: number;
}

export function emptyStats(): SourceStats {
  return {
    lines: 0,
    bytes: 0,
    skippedLines: 0,
    skippedBytes: 0,
    skippedLineOffsets: [],
    nulBytes: 0,
    lostBytes: 0,
    rotations: 0,
    truncations: 0,
    copiesRead: 0,
  };
}
