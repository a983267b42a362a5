/**
 * Bytes in, complete lines out. A line that spans reads is copied into a carry buffer of the
 * splitter's own as it comes (linear, never quadratic), so no chunk is needed once it is pushed: a
 * reader may read the next chunk into it. A line longer than `maxLineBytes` is dropped as soon as it
 * is known to be too long, and the bytes up to its newline are discarded as they come: memory stays
 * bounded by the longest line kept. Leading NULs of a line (the hole a writer with a stale offset
 * leaves after a truncate) are skipped and counted.
 *
 * A line is given as a view: of the chunk it lies in, or (one that spanned chunks) of a carry
 * buffer. With `ownSpanningLines` false, a carry is reused by the next push: a consumer that keeps
 * lines past it copies them (`readFileLines`). With it true, a spanning line gets a buffer of its
 * own (the follower's lines wait in a queue).
 */

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Called for each complete line: content (no `\n`, no trailing `\r`), its start and its end offsets. */
export type LineSink = (bytes: Buffer, offset: number, end: number) => void;
/** Called when a too-long line ends: where it started, its length without the newline, its end. */
export type SkipSink = (offset: number, length: number, end: number) => void;

const LF = 0x0a;
const CR = 0x0d;

/** A carry grown past this is let go once its line is given: one huge line must not pin its size. */
const KEEP_CARRY_BYTES = 4 * 1024 * 1024;
const SMALL_CARRY_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class LineSplitter {
  /** Two carries, used in turn: the line given from one stays intact while the next line is held in the other. */
  private readonly carries: Buffer[] = [EMPTY, EMPTY];
  private side = 0;
  private partBytes = 0;
  private lineStart = 0;
  private atLineStart = true;
  private discarding = false;
  /** Discarding silently (starting in the middle of a line) rather than skipping a long line. */
  private silent = false;
  private discarded = 0;
  nulBytes = 0;

  constructor(
    private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
    private readonly ownSpanningLines = true,
  ) {}

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

  /** Feeds `chunk`, whose first byte is at offset `at`. The lines given are views (see above): `chunk` stays as it is while they are used. */
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
          if (this.partBytes === 0) onLine(withoutCr(chunk.subarray(i, nl)), this.lineStart, end);
          else {
            this.hold(chunk, i, nl);
            onLine(withoutCr(this.takeHeld()), this.lineStart, end);
          }
        }
      }
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
      onLine(withoutCr(this.takeHeld()), this.lineStart, at);
    }
    this.reset();
  }

  /**
   * The held line. With `ownSpanningLines`, a buffer of its own: a short one is copied out of the
   * carry (kept for the next), a long one takes the carry itself (the next line starts a new one:
   * an idle follower keeps none). Else a view of its carry: the next line is held in the other (one
   * past KEEP_CARRY_BYTES is let go after its line).
   */
  private takeHeld(): Buffer {
    const carry = this.carries[this.side]!;
    const held = carry.subarray(0, this.partBytes);
    if (this.ownSpanningLines) {
      if (carry.length <= SMALL_CARRY_BYTES) return Buffer.from(held);
      this.carries[this.side] = EMPTY;
      return held;
    }
    if (carry.length > KEEP_CARRY_BYTES) this.carries[this.side] = EMPTY;
    this.side ^= 1;
    return held;
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
      this.partBytes = 0;
      return;
    }
    const need = this.partBytes + (to - from);
    let carry = this.carries[this.side]!;
    if (carry.length < need) {
      const grown = Buffer.allocUnsafeSlow(Math.min(Math.max(need, 2 * carry.length, SMALL_CARRY_BYTES), this.maxLineBytes + 1));
      carry.copy(grown, 0, 0, this.partBytes);
      this.carries[this.side] = carry = grown;
    }
    chunk.copy(carry, this.partBytes, from, to);
    this.partBytes = need;
  }
}

function withoutCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
}
