/**
 * The I/O around a linked output file: measuring it (as soon as it is linked, while the worker has
 * not rewritten it), and keeping it in `ply_files/` once its feedback says accepted (BlobPolicy).
 * The worker's directory is only read, never changed.
 */
import * as fs from 'node:fs';
import { applyPlyResult, type FinishedRecord, type LinkedPly, type OutputMeasure } from '../assemble';
import { CollectorError, fromFsError } from '../common/errors';
import { sha256OfFile } from '../common/fsx';
import type { Logger } from '../common/logger';
import { tryReadPlySummary, type PlyResult } from '../ply';
import type { GenerationRecord } from '../schema';
import type { BlobStore } from '../sinks';
import type { BlobPolicy } from '../sinks/space';

/** Reads a linked file, unless it is no longer the file that was linked (then the figures are unknown). */
export async function measureLinkedPly(ply: LinkedPly): Promise<PlyResult> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(ply.path);
  } catch (err) {
    return { ok: false, error: fromFsError(err, ply.path, 'reading the PLY') };
  }
  if (st.size !== ply.size || st.mtimeMs !== ply.mtimeMs)
    return {
      ok: false,
      error: new CollectorError(
        'FILE_CHANGED',
        `the PLY was rewritten after it was linked (${ply.size} -> ${st.size} bytes)`,
        ply.path,
        'the worker reuses its file name; the figures of this generation are unknown',
      ),
    };
  return tryReadPlySummary(ply.path);
}

/**
 * A competition output (PLY, GLB or JS), read while it is the file that was linked: its hash, and its
 * Gaussian figures when it is a PLY. A file rewritten or gone since is unknown, never someone else's figures.
 */
export async function measureOutputFile(f: LinkedPly): Promise<OutputMeasure> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(f.path);
  } catch (err) {
    return { sha256: null, ply: null, error: fromFsError(err, f.path, 'reading the output').message };
  }
  if (st.size !== f.size || st.mtimeMs !== f.mtimeMs)
    return { sha256: null, ply: null, error: `the output was rewritten before it could be read (${f.size} -> ${st.size} bytes)` };
  try {
    if (!/\.ply$/i.test(f.name)) return { sha256: await sha256OfFile(f.path), ply: null, error: null };
    const ply = await tryReadPlySummary(f.path);
    const sha256 = ply.ok ? ply.summary.ply_file_hash.slice('sha256:'.length) : await sha256OfFile(f.path);
    return { sha256, ply, error: null };
  } catch (err) {
    return { sha256: null, ply: null, error: fromFsError(err, f.path, 'reading the output').message };
  }
}

type PlySkipReason = GenerationRecord['provenance']['blobs_skipped'][number]['reason'];

export class PlyKeeper {
  constructor(
    private readonly blobs: BlobStore,
    private readonly policy: BlobPolicy,
    private readonly logger: Logger,
  ) {}

  /** Measures what was not measured yet, and keeps the PLYs the policy keeps (accepted ones by default). */
  async complete(finished: FinishedRecord[]): Promise<void> {
    for (const f of finished) {
      if (!f.ply) continue;
      const r = f.record;
      if (!f.ply.measured) {
        applyPlyResult(r, await measureLinkedPly(f.ply));
        f.ply.measured = true;
      }
      const out = r.generation.output;
      // a retry of a failed append: already decided
      if (out.ply_file_path || r.provenance.blobs_skipped.some((b) => b.kind === 'ply')) continue;
      if (!out.ply_file_hash) continue; // not a readable PLY: nothing worth keeping
      const decision = this.policy.ply(r.validator_feedback.accepted === true);
      if (decision === null) continue;
      if (decision !== 'store') {
        this.skip(r, decision);
        continue;
      }
      try {
        out.ply_file_path = (await this.blobs.putPly(r.metadata.generation_id, f.ply.path, out.ply_file_hash.slice('sha256:'.length))).relativePath;
      } catch (err) {
        const code = (err as CollectorError).code;
        const reason: PlySkipReason = code === 'FILE_CHANGED' ? 'changed' : code === 'NOT_FOUND' ? 'missing' : code === 'ENOSPC' ? 'disk_low' : 'error';
        if (reason === 'disk_low') this.policy.noteNoSpace();
        this.logger.warn({ id: r.metadata.generation_id, file: f.ply.path, reason, error: (err as Error).message }, 'PLY not kept');
        this.skip(r, reason);
      }
    }
  }

  private skip(r: GenerationRecord, reason: PlySkipReason): void {
    r.provenance.blobs_skipped.push({ kind: 'ply', reason, hash: r.generation.output.ply_file_hash });
  }
}
