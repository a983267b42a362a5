/** The complete lines of a data file (plain or .gz): streamed from a byte offset, or its first and last. */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Called with each complete line (without its `\n`) and the byte offsets of its start and end (past `\n`). */
export type LineVisitor = (line: Buffer, start: number, end: number) => void;

/**
 * Visits every `\n`-terminated line at or after `from` (uncompressed offset). A last line without `\n`
 * is not visited (a torn tail, or a write in progress). Returns the offset just past the last visited line.
 */
export async function scanLines(file: string, from: number, visit: LineVisitor): Promise<number> {
  const gz = file.endsWith('.gz');
  const raw = fs.createReadStream(file, { start: gz ? 0 : from, highWaterMark: 1 << 20 });
  const stream: NodeJS.ReadableStream = gz ? raw.pipe(zlib.createGunzip()) : raw;
  let pos = gz ? 0 : from; // offset of the first byte of `carry` / the next chunk
  let carry: Buffer[] = [];
  let carryLen = 0;
  let lineStart = pos;
  for await (const chunkAny of stream) {
    let chunk = chunkAny as Buffer;
    if (gz && pos < from) {
      // skip uncompressed bytes before `from`
      const skip = Math.min(chunk.length, from - pos);
      chunk = chunk.subarray(skip);
      pos += skip;
      lineStart = pos;
      if (chunk.length === 0) continue;
    }
    let i = 0;
    for (;;) {
      const nl = chunk.indexOf(10, i);
      if (nl === -1) break;
      let line: Buffer;
      if (carryLen > 0) {
        carry.push(chunk.subarray(i, nl));
        line = Buffer.concat(carry, carryLen + nl - i);
        carry = [];
        carryLen = 0;
      } else {
        line = chunk.subarray(i, nl);
      }
      const end = pos + nl + 1;
      visit(line, lineStart, end);
      lineStart = end;
      i = nl + 1;
    }
    if (i < chunk.length) {
      carry.push(chunk.subarray(i));
      carryLen += chunk.length - i;
    }
    pos += chunk.length;
  }
  return lineStart;
}

/**
 * The first and the last complete (`\n`-terminated) lines of a plain file, each looked for within
 * `span` bytes of its end of the file; a torn tail is not a line. Null when the file cannot be opened.
 */
export function edgeLines(file: string, span = 1 << 20): { first: Buffer | null; last: Buffer | null } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const n = Math.min(size, span);
    const head = Buffer.alloc(n);
    fs.readSync(fd, head, 0, n, 0);
    const nl = head.indexOf(10);
    if (nl === -1) return { first: null, last: null };
    const tail = Buffer.alloc(n);
    fs.readSync(fd, tail, 0, n, size - n);
    const end = tail.lastIndexOf(10);
    const start = tail.lastIndexOf(10, end - 1) + 1;
    // the last line starts inside the span, or the span is the whole file
    const last = start > 0 || n === size ? tail.subarray(start, end) : null;
    return { first: head.subarray(0, nl), last };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Every line of a file (plain or .gz) with the (uncompressed) offset of its start, as an async
 * iterator, so the caller may await between lines. A last line without `\n` is given too.
 */
export async function* linesWithOffsets(file: string): AsyncGenerator<{ line: Buffer; offset: number }> {
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let stream: AsyncIterable<Buffer> = raw;
  if (file.endsWith('.gz')) {
    const gunzip = zlib.createGunzip();
    raw.on('error', (err) => gunzip.destroy(err)); // pipe() does not pass the source's errors on
    stream = raw.pipe(gunzip);
  }
  let pos = 0; // offset of the next chunk's first byte
  let lineStart = 0;
  let carry: Buffer[] = [];
  try {
    for await (const chunk of stream) {
      let i = 0;
      for (;;) {
        const nl = chunk.indexOf(10, i);
        if (nl === -1) break;
        const line = carry.length > 0 ? Buffer.concat([...carry, chunk.subarray(i, nl)]) : chunk.subarray(i, nl);
        carry = [];
        yield { line, offset: lineStart };
        lineStart = pos + nl + 1;
        i = nl + 1;
      }
      if (i < chunk.length) carry.push(Buffer.from(chunk.subarray(i)));
      pos += chunk.length;
    }
  } finally {
    raw.destroy();
  }
  if (carry.length > 0) yield { line: Buffer.concat(carry), offset: lineStart };
}
