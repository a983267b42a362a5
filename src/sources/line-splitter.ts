/**
 * Bytes in, complete lines out. A line that spans reads is kept as a list of chunk slices and joined
 * once at its newline (linear, never quadratic). A line longer than `maxLineBytes` is dropped as soon
 * as it is known to be too long, and the bytes up to its newline are discarded as they come: memory
 * stays bounded by one chunk. Leading NULs of a line (the hole a writer with a stale offset leaves
 * after a truncate) are skipped and counted.
 */

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Called for each complete line: content (no `\n`, no trailing `\r`), its start and its end offsets. */
export type LineSink = (bytes: Buffer, offset: number, end: number) => void;
/** Called when a too-long line ends: where it started, its length without the newline, its end. */
export type SkipSink = (offset: number, length: number, end: number) => void;

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private lineStart = 0;
  private atLineStart = true;
  private discarding = false;
  /** Discarding silently (starting in the middle of a line) rather than skipping a long line. */
  private silent = false;
  private discarded = 0;
  nulBytes = 0;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Bytes held for a line whose newline has not come yet. */
  pendingBytes(): number {
    return this.discarding ? 0 : this.partBytes;
  }

  /** True when the last byte pushed ended a line (nothing is held). */
  atBoundary(): boolean {
    return this.atLineStart;
  }

  /** Forgets a partial line (its file was truncated away). Returns the bytes dropped. */
  reset(): number {
    const dropped = this.pendingBytes();
    this.parts = [];
    this.partBytes = 0;
    this.atLineStart = true;
    this.discarding = false;
    this.silent = false;
    this.discarded = 0;
    return dropped;
  }

  /** The pending line continues in another file: its start offset no longer means anything. */
  rebase(): void {
    this.lineStart = 0;
  }

  /** Drops everything up to the next newline without counting it (reading starts mid-line). */
  skipToNextLine(): void {
    this.reset();
    this.atLineStart = false;
    this.discarding = true;
    this.silent = true;
  }

  /** Feeds `chunk`, whose first byte is at offset `at`. `chunk` must not be modified afterwards. */
  push(chunk: Buffer, at: number, onLine: LineSink, onSkip: SkipSink): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.atLineStart) {
        let j = i;
        while (j < n && chunk[j] === 0) j++;
        this.nulBytes += j - i;
        i = j;
        if (i === n) return;
        this.atLineStart = false;
        this.lineStart = at + i;
      }
      const nl = chunk.indexOf(LF, i);
      if (nl < 0) {
        this.hold(chunk, i, n);
        return;
      }
      const end = at + nl + 1;
      if (this.discarding) {
        const length = this.discarded + (nl - i);
        if (!this.silent) onSkip(this.lineStart, length, end);
      } else {
        const length = this.partBytes + (nl - i);
        if (length > this.maxLineBytes) {
          onSkip(this.lineStart, length, end);
        } else {
          let bytes =
            this.parts.length === 0 ? chunk.subarray(i, nl) : Buffer.concat([...this.parts, chunk.subarray(i, nl)], length);
          if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
          onLine(bytes, this.lineStart, end);
        }
      }
      this.parts = [];
      this.partBytes = 0;
      this.discarding = false;
      this.silent = false;
      this.discarded = 0;
      this.atLineStart = true;
      i = nl + 1;
    }
  }

  /** The input ended: a held line without its newline is given out as it is (`end` = `at`). */
  finish(at: number, onLine: LineSink, onSkip: SkipSink): void {
    if (this.atLineStart) return;
    if (this.discarding) {
      if (!this.silent) onSkip(this.lineStart, this.discarded, at);
    } else {
      const bytes = Buffer.concat(this.parts, this.partBytes);
      onLine(bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes, this.lineStart, at);
    }
    this.reset();
  }

  private hold(chunk: Buffer, from: number, to: number): void {
    if (this.discarding) {
      this.discarded += to - from;
      return;
    }
    if (this.partBytes + (to - from) > this.maxLineBytes) {
      // Too long already: stop holding it; only its length is kept.
      this.discarding = true;
      this.discarded = this.partBytes + (to - from);
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    this.parts.push(chunk.subarray(from, to));
    this.partBytes += to - from;
  }
}
