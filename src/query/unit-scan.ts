/**
 * Pass 1 over one unit: every line parsed once, kept as a row of numbers, bad lines counted.
 * A line is one of: blank (skipped), corrupt (not JSON), a record of ours (the fast path, unchanged),
 * a record in the spec's own schema (tried only when ours refused it: outcome derived by
 * fromSpecRecord), or JSON that is no record (counted with the first field it lacks).
 */
import { fromSpecRecord, hasOwnShapeKeys } from '../schema/spec-record'; // without the zod schemas: see columns.ts
import type { GenerationRecord } from '../schema';
import { ChunkBuilder, ownShapeMissing, type Chunk } from './columns';
import type { ScanUnit } from './files';
import { readUnitLines } from './lines';

/** What a unit's scan found, its rows aside (they went to the sink). */
export interface UnitStats {
  /** Lines visited (blank ones included), so line numbers can be given across units of a file. */
  lines: number;
  /** Lines that are not JSON. */
  corrupt: number;
  /** 0-based index within the unit of its first corrupt line. */
  firstCorrupt: number | null;
  /** Lines that are JSON but neither a record of ours nor one in the spec's schema. */
  notRecord: number;
  /** 0-based index within the unit of the first such line, and the first field it lacks. */
  firstNotRecord: { line: number; missing: string } | null;
  /** Records read in the spec's schema (their outcome derived). */
  spec: number;
  bytes: number;
}

/**
 * A parsed line our shape refused: a spec record (converted), or the field it lacks. A value with our
 * `outcome` or `provenance` key is ours, broken: it is never read as the spec's.
 */
export function readOtherShape(v: unknown): GenerationRecord | { notRecord: string } {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && hasOwnShapeKeys(v as Record<string, unknown>))
    return { notRecord: ownShapeMissing(v) ?? '(unreadable)' };
  return fromSpecRecord(v);
}

/**
 * Rows a chunk holds at most, give or take one read's: a gzipped month is one unit of any size (240,000
 * rows at 3 million records), and its rows in one chunk were 29 MB built, 29 MB copied and 29 MB read back
 * by every pass. The builder's 32,768 rows (about 4 MB) leave room for the rows of the read that crosses it.
 */
export const CHUNK_ROWS = 28_000;

/** Where a unit's rows go, a chunk at a time, in order. */
export interface ChunkSink {
  /** The thread's builder, kept for all its units. */
  builder: ChunkBuilder;
  /** The buffer a chunk is copied into (a worker asks the main thread for it; see ChunkBuilder). */
  alloc(bytes: number): Promise<ArrayBuffer> | ArrayBuffer;
  put(chunk: Chunk): void;
  /** A chunk is handed on at the end of the read that brings the builder to this many rows (default CHUNK_ROWS). */
  rows?: number;
}

/** Scans one unit: its rows go to `sink` as chunks of about `sink.rows` (none for a unit without records). */
export async function scanUnit(unit: ScanUnit, sink: ChunkSink): Promise<UnitStats> {
  const b = sink.builder;
  const rows = sink.rows ?? CHUNK_ROWS;
  const handOn = async (): Promise<void> => sink.put(b.finish(await sink.alloc(b.bytesNeeded())));
  let lines = 0;
  let corrupt = 0;
  let firstCorrupt: number | null = null;
  let notRecord = 0;
  let firstNotRecord: UnitStats['firstNotRecord'] = null;
  let spec = 0;
  let bytes = 0;
  try {
    await readUnitLines(unit, visit, () => (b.rows >= rows ? handOn() : undefined));
  } catch (err) {
    b.clear(); // a file gone half-way: the builder is the worker's, for its next unit
    throw err;
  }
  if (b.rows > 0) await handOn();
  return { lines, corrupt, firstCorrupt, notRecord, firstNotRecord, spec, bytes };

  function visit(buf: Buffer): void {
    const idx = lines++;
    bytes += buf.length + 1;
    const text = buf.toString('utf8');
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      corrupt++;
      if (firstCorrupt === null) firstCorrupt = idx;
      return;
    }
    // a line with our own keys is ours (broken if add refuses it); any other is tried as the spec's,
    // without a throw per line (an Error's stack costs more than the whole spec conversion)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && hasOwnShapeKeys(parsed as Record<string, unknown>))
      try {
        b.add(parsed as GenerationRecord, idx);
        return;
      } catch {
        // our keys, but not the fields every count needs: readOtherShape names the first missing
      }
    const other = readOtherShape(parsed);
    if ('notRecord' in other) {
      notRecord++;
      if (firstNotRecord === null) firstNotRecord = { line: idx, missing: other.notRecord };
      return;
    }
    b.addSpec(other, idx);
    spec++;
  }
}
