/**
 * One pass over a PLY file: sha256 of the bytes, header, and Gaussian statistics, read in chunks so
 * memory stays at one chunk whatever the file size.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { CollectorError, fromFsError } from '../common/errors';
import type { GenerationRecord } from '../schema/record';
import { PlyBodyParser } from './body';
import { badPly, parsePlyHeader, type PlyFormat, type PlyHeader } from './header';
import type { GaussianStats } from './stats';

/** The figures for `generation.output`, plus what the header said. */
export interface PlySummary {
  num_gaussians: number;
  file_size_bytes: number;
  /** bytes / 1048576, unrounded. */
  file_size_mb: number;
  /** `sha256:<hex>` of the file bytes. */
  ply_file_hash: string;
  gaussian_stats: GaussianStats;
  format: PlyFormat;
  /** The vertex element's property names in file order. */
  vertex_properties: string[];
}

/** A summary or the reason there is none, as a value the record and the log can carry. */
export type PlyResult = { ok: true; summary: PlySummary } | { ok: false; error: CollectorError };

export const DEFAULT_CHUNK_BYTES = 4 << 20;

/** Header then body, fed chunk by chunk. */
class PlyScanner {
  private header: PlyHeader | null = null;
  private body: PlyBodyParser | null = null;
  readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly path: string | null) {}

  /** Hashes buf[from, end), the bytes new since the last call. */
  take(buf: Buffer, from: number, end: number): void {
    this.hash.update(buf.subarray(from, end));
    this.bytes += end - from;
  }

  /** Parses what it can of buf[pos, end); returns the offset to keep from (the rest is unparsed). */
  push(buf: Buffer, pos: number, end: number, eof: boolean): number {
    if (!this.header) {
      // The header is parsed from the buffer's start: the driver keeps everything until it is whole.
      this.header = parsePlyHeader(buf.subarray(pos), end - pos, eof, this.path);
      if (!this.header) return pos;
      const vertex = this.header.elements.find((e) => e.name === 'vertex')!;
      if (vertex.count === 0) throw badPly('the vertex element is empty (0 Gaussians)', this.path);
      this.body = new PlyBodyParser(this.header, this.path);
      pos += this.header.headerBytes;
    }
    return this.body!.consume(buf, pos, end, eof);
  }

  result(): PlySummary {
    if (!this.body || !this.header) throw badPly("missing 'end_header' line", this.path);
    this.body.finish();
    const vertex = this.header.elements.find((e) => e.name === 'vertex')!;
    return {
      num_gaussians: vertex.count,
      file_size_bytes: this.bytes,
      file_size_mb: this.bytes / 1048576,
      ply_file_hash: `sha256:${this.hash.digest('hex')}`,
      gaussian_stats: this.body.acc.result(),
      format: this.header.format,
      vertex_properties: vertex.properties.map((p) => p.name),
    };
  }
}

export type PlyOutputFields = Pick<
  GenerationRecord['generation']['output'],
  'num_gaussians' | 'file_size_mb' | 'file_size_bytes' | 'ply_file_hash' | 'gaussian_stats'
>;

/** The summary as `generation.output` fields; opacity_mean is null (the schema needs the key) when the file has no opacity. */
export function outputFields(s: PlySummary): PlyOutputFields {
  return {
    num_gaussians: s.num_gaussians,
    file_size_mb: s.file_size_mb,
    file_size_bytes: s.file_size_bytes,
    ply_file_hash: s.ply_file_hash,
    gaussian_stats: { opacity_mean: null, ...s.gaussian_stats },
  };
}

/** Summarises a PLY already in memory (e.g. a blob about to be stored). Throws BAD_PLY. */
export function summarizePlyBuffer(bytes: Buffer, path: string | null = null): PlySummary {
  const s = new PlyScanner(path);
  s.take(bytes, 0, bytes.length);
  s.push(bytes, 0, bytes.length, true);
  return s.result();
}

/** Summarises a PLY file in one streaming pass. Throws CollectorError (BAD_PLY, or an fs code). */
export async function summarizePly(path: string, options: { chunkBytes?: number } = {}): Promise<PlySummary> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, 'r');
  } catch (err) {
    throw fromFsError(err, path, 'opening the PLY');
  }
  try {
    const s = new PlyScanner(path);
    let buf = Buffer.allocUnsafeSlow(Math.max(16, options.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    let start = 0;
    let end = 0;
    for (let eof = false; !eof; ) {
      // Keep the unparsed tail (a partial record, or the header so far) and read after it.
      if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      if (end === buf.length) {
        // A single record (or the header) larger than the buffer: grow it.
        const bigger = Buffer.allocUnsafeSlow(buf.length * 2);
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
      let n: number;
      try {
        n = (await fh.read(buf, end, buf.length - end, null)).bytesRead;
      } catch (err) {
        throw fromFsError(err, path, 'reading the PLY');
      }
      eof = n === 0;
      s.take(buf, end, end + n);
      end += n;
      start = s.push(buf, start, end, eof);
    }
    return s.result();
  } finally {
    await fh.close();
  }
}

/** summarizePly that never throws: errors come back as a value (never a crash of the collector). */
export async function tryReadPlySummary(path: string, options: { chunkBytes?: number } = {}): Promise<PlyResult> {
  try {
    return { ok: true, summary: await summarizePly(path, options) };
  } catch (err) {
    if (err instanceof CollectorError) return { ok: false, error: err };
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: new CollectorError('UNKNOWN', `reading the PLY failed: ${message}`, path, null, { cause: err }) };
  }
}
