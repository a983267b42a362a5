/** Pass 1 over one unit: every line parsed once, kept as a row of numbers, bad lines counted. */
import { ChunkBuilder, type Chunk } from './columns';
import type { ScanUnit } from './files';
import { readUnitLines } from './lines';

export interface UnitResult {
  chunk: Chunk;
  /** Lines visited (blank ones included), so line numbers can be given across units of a file. */
  lines: number;
  corrupt: number;
  /** 0-based index within the unit of its first corrupt line. */
  firstCorrupt: number | null;
  bytes: number;
}

export async function scanUnit(unit: ScanUnit): Promise<UnitResult> {
  const b = new ChunkBuilder();
  let lines = 0;
  let corrupt = 0;
  let firstCorrupt: number | null = null;
  let bytes = 0;
  await readUnitLines(unit, (buf) => {
    const idx = lines++;
    bytes += buf.length + 1;
    const text = buf.toString('utf8');
    if (text.trim() === '') return;
    try {
      b.add(JSON.parse(text), idx);
    } catch {
      corrupt++;
      if (firstCorrupt === null) firstCorrupt = idx;
    }
  });
  return { chunk: b.finish(), lines, corrupt, firstCorrupt, bytes };
}
