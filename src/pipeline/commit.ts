/**
 * The state document a commit writes, from what each part of the daemon holds now: a pure function,
 * so what a commit keeps is read on one page. The daemon calls it only when every record the
 * checkpoints cover is durable.
 */
import type { TrackerSnapshot, LinkedPly } from '../assemble';
import type { Checkpoint, OutputDirMark } from '../sources';
import type { CollectorState, Health, QuarantineEntry } from './state-shape';

export interface CommitParts {
  /** Source key -> where it may resume (sources that have none yet keep their previous checkpoint). */
  checkpoints: Record<string, Checkpoint>;
  snapshot: TrackerSnapshot;
  outputMarks: Record<string, OutputDirMark>;
  pendingPlys: { generationId: string; ply: LinkedPly; sha256: string }[];
  quarantined: QuarantineEntry[];
  miner: { readMs: number | null; handedMs: number | null } | null;
  clockOffsets: Record<string, number>;
  warnings: Health['warnings'];
  /** Records written by this process so far. */
  sessionRecords: number;
  nowMs: number;
}

export function nextState(prev: CollectorState, p: CommitParts): CollectorState {
  return {
    ...prev,
    sources: { ...prev.sources, ...p.checkpoints },
    open_tasks: [p.snapshot],
    output_dirs: { ...prev.output_dirs, ...p.outputMarks },
    pending_blobs: p.pendingPlys.map((x) => ({
      generation_id: x.generationId,
      kind: 'ply' as const,
      source_path: x.ply.path,
      sha256: x.sha256,
      size: x.ply.size,
      mtime_ms: x.ply.mtimeMs,
    })),
    identity: { miner_uid: p.snapshot.identity.minerUid, network: p.snapshot.identity.network },
    quarantine: [...prev.quarantine, ...p.quarantined].slice(-100),
    health: {
      miner_last_line_read_ms: p.miner?.readMs ?? prev.health.miner_last_line_read_ms,
      // the task clock's time, consistent with the checkpoints (a restart goes on from it)
      miner_last_line_time_ms: p.miner?.handedMs ?? prev.health.miner_last_line_time_ms,
      // an offset back to 0 drops out
      clock_offsets_ms: Object.fromEntries(Object.entries({ ...prev.health.clock_offsets_ms, ...p.clockOffsets }).filter(([, ms]) => ms !== 0)),
      warnings: p.warnings,
    },
    counters: {
      ...prev.counters,
      records_written: (prev.counters.records_written ?? 0) + p.sessionRecords - (prev.counters.session_records ?? 0),
      session_records: p.sessionRecords,
      last_commit_ms: p.nowMs,
    },
  };
}
