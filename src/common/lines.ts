/** Streams the complete lines of a data file (plain or .gz) from a byte offset, without strings. */
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
