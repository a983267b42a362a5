/** A generation's PLY file, as linked from the output directory, and its figures in the record. */
import type { GenerationRecord } from '../schema';
import { outputFields, type PlyResult } from '../ply';

/** The output file a task was linked to; JSON-safe (it lives in the open-task snapshot). */
export interface LinkedPly {
  path: string;
  /** The watched directory and the file's name in it. */
  dir: string;
  name: string;
  size: number;
  mtimeMs: number;
  /** The file was read (figures or an error are in the record). */
  measured: boolean;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The size known from the directory listing, before the file is read. */
export function applyPlySize(record: GenerationRecord, size: number): void {
  record.generation.output.file_size_bytes = size;
  record.generation.output.file_size_mb = round6(size / 1048576);
}

/** The figures measured from the file, or why it could not be read (recorded, never thrown). */
export function applyPlyResult(record: GenerationRecord, result: PlyResult): void {
  const out = record.generation.output;
  if (result.ok) {
    const f = outputFields(result.summary);
    out.num_gaussians = f.num_gaussians;
    out.file_size_bytes = result.summary.file_size_bytes;
    out.file_size_mb = round6(result.summary.file_size_bytes / 1048576);
    out.ply_file_hash = f.ply_file_hash;
    out.gaussian_stats = f.gaussian_stats;
    out.ply_error = null;
  } else {
    out.ply_error = result.error.message;
  }
}
