/** The lines of one scan unit, as byte slices; a last line without `\n` is passed too, flagged. */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { ScanUnit } from './files';

/** `line` excludes the `\n`; `offset` is its start (uncompressed for .gz); `terminated` false for a tail without `\n`. */
export type UnitLineVisitor = (line: Buffer, offset: number, terminated: boolean) => void;

const NL = 10;

/** Bytes per read of a plain file; two such buffers, reused, so the read-ahead allocates nothing per read. */
const READ_BYTES = 1 << 20;

/**
 * A .gz is read 16 KB at a time and inflated 32 KB at a time. Each compressed read is inflated whole
 * into the stream's queue at once (about 120 KB from 16 KB here): read 64 KB at a time, eight outputs
 * waited there while the scan parsed, long enough to be promoted, and 60 MB of dead ones were held
 * until V8's next full collection. Scanning a 470 MB month: 124 -> 71 MB peak RSS, 3.3 -> 3.5 s.
 */
const GZ_READ_BYTES = 1 << 14;
const GUNZIP_BYTES = 1 << 15;

/**
 * Read buffers a finished read gave back, for the next (per thread). A pair per unit, dropped after
 * it, was garbage V8 was slow to collect: at 3 million records the scan held 70 MB of them.
 */
const spare: Buffer[] = [];

/**
 * A line given to `visit` is valid only during the call (it may be a view of a read buffer that the next
 * read overwrites): copy what you keep. Plain files are read with `pread` into two buffers in turn (the
 * next read runs while this one is split), so a scan allocates nothing per read that V8 would have to
 * collect; a .gz goes through a gunzip stream. `afterRead`, when given, runs once the lines of each read
 * are visited, and the next read's lines wait for the promise it may return (the scan hands its rows on there).
 */
export async function readUnitLines(unit: ScanUnit, visit: UnitLineVisitor, afterRead?: () => Promise<void> | void): Promise<void> {
  // Start one byte early: if that byte is `\n`, the unit's first line starts exactly at `start`.
  const from = unit.gz ? 0 : Math.max(0, unit.start - 1);
  let skipFirst = !unit.gz && unit.start > 0;
  if (!unit.gz && unit.size === 0) return;
  let pos = from; // offset of chunk[0]
  const carry = new Carry();
  let lineStart = from;
  /** Splits one chunk; false once past the unit's end. */
  const split = (chunk: Buffer): boolean => {
    let i = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, i);
      if (nl === -1) break;
      if (skipFirst) {
        skipFirst = false;
        carry.clear();
      } else {
        if (lineStart >= unit.end) return false; // the next unit's line
        visit(carry.length > 0 ? carry.append(chunk.subarray(i, nl)).take() : chunk.subarray(i, nl), lineStart, true);
      }
      lineStart = pos + nl + 1;
      i = nl + 1;
    }
    if (i < chunk.length) carry.append(chunk.subarray(i));
    pos += chunk.length;
    return true;
  };
  if (unit.gz) {
    const raw = fs.createReadStream(unit.file, { highWaterMark: GZ_READ_BYTES });
    // pipe() does not pass the source's errors on: a file rotated away (ENOENT) would be an uncaught
    // error instead of a rejection the reader answers by planning again
    const gunzip = zlib.createGunzip({ chunkSize: GUNZIP_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    try {
      for await (const chunk of raw.pipe(gunzip) as AsyncIterable<Buffer>) {
        if (!split(chunk)) return;
        await afterRead?.();
      }
    } finally {
      raw.destroy();
    }
  } else {
    const fh = await fs.promises.open(unit.file, 'r');
    const bufs = [spare.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES), spare.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES)];
    const readAt = (k: number, at: number) => (at < unit.size ? fh.read(bufs[k % 2]!, 0, Math.min(READ_BYTES, unit.size - at), at) : null);
    let next = readAt(0, from);
    try {
      for (let k = 0, at = from; next !== null; k++) {
        const { bytesRead } = await next;
        if (bytesRead === 0) break; // the file shrank under us: the plan check will see it
        at += bytesRead;
        next = readAt(k + 1, at);
        if (!split(bufs[k % 2]!.subarray(0, bytesRead))) break;
        await afterRead?.();
      }
    } finally {
      // the read ahead still in flight (the unit ended first, or the visitor threw) ends before the file closes
      await next?.catch(() => undefined);
      await fh.close();
      // no line of them is in use any more (a visitor copies what it keeps)
      spare.push(...bufs);
    }
  }
  if (carry.length > 0 && !skipFirst && lineStart < unit.end) visit(carry.take(), lineStart, false);
}

/**
 * The start of a line a read ended in, kept until the read that ends it: one buffer, grown by doubling
 * and reused. A copy per read (and a concatenation per line) were garbage that outlived the young
 * generation: a gzipped unit, read 16 KB at a time, held 30 MB of them between full collections.
 */
class Carry {
  private buf = Buffer.alloc(0);
  length = 0;

  append(bytes: Buffer): this {
    if (this.length + bytes.length > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.length + bytes.length, 1 << 16));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
    return this;
  }

  /** The bytes carried (valid until the next append), and the carry empty again. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.length = 0;
    return out;
  }

  clear(): void {
    this.length = 0;
  }
}
