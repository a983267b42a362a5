/** The lines of one scan unit, as byte slices; a last line without `\n` is passed too, flagged. */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { ScanUnit } from './files';

/** `line` excludes the `\n`; `offset` is its start (uncompressed for .gz); `terminated` false for a tail without `\n`. */
export type UnitLineVisitor = (line: Buffer, offset: number, terminated: boolean) => void;

const NL = 10;

export async function readUnitLines(unit: ScanUnit, visit: UnitLineVisitor): Promise<void> {
  // Start one byte early: if that byte is `\n`, the unit's first line starts exactly at `start`.
  const from = unit.gz ? 0 : Math.max(0, unit.start - 1);
  let skipFirst = !unit.gz && unit.start > 0;
  if (!unit.gz && unit.size === 0) return;
  const raw = fs.createReadStream(unit.file, unit.gz ? { highWaterMark: 1 << 20 } : { start: from, end: unit.size - 1, highWaterMark: 1 << 20 });
  let stream: AsyncIterable<Buffer> = raw;
  if (unit.gz) {
    // pipe() does not pass the source's errors on: a file rotated away (ENOENT) would be an uncaught
    // error instead of a rejection the reader answers by planning again
    const gunzip = zlib.createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    stream = raw.pipe(gunzip);
  }
  let pos = from; // offset of chunk[0]
  let carry: Buffer | null = null;
  let lineStart = from;
  try {
    for await (const chunk of stream) {
      let i = 0;
      for (;;) {
        const nl = chunk.indexOf(NL, i);
        if (nl === -1) break;
        if (skipFirst) {
          skipFirst = false;
          carry = null;
        } else {
          if (lineStart >= unit.end) return; // the next unit's line
          const line: Buffer = carry ? Buffer.concat([carry, chunk.subarray(i, nl)]) : chunk.subarray(i, nl);
          carry = null;
          visit(line, lineStart, true);
        }
        lineStart = pos + nl + 1;
        i = nl + 1;
      }
      if (i < chunk.length) carry = carry ? Buffer.concat([carry, chunk.subarray(i)]) : Buffer.from(chunk.subarray(i));
      pos += chunk.length;
    }
  } finally {
    raw.destroy();
  }
  if (carry && carry.length > 0 && !skipFirst && lineStart < unit.end) visit(carry, lineStart, false);
}
