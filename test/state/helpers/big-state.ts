/** A deterministic, large state numbered `seq` (open tasks with long prompts: the write, not the validation, is most of a save): the crash test recognises exactly what was written. */
import { STATE_VERSION, emptyHealth, type CollectorState } from '../../../src/pipeline/state-shape';
import type { GenerationRecord } from '../../../src/schema';

export const BIG_STATE_EPOCH_MS = Date.UTC(2026, 0, 1);

export function makeBigState(seq: number, tasks = 300): CollectorState {
  const sha = (n: number): string => (n.toString(16).padStart(8, '0') + 'ab').repeat(7).slice(0, 64);
  return {
    version: STATE_VERSION,
    updated_at: new Date(BIG_STATE_EPOCH_MS + seq).toISOString(),
    sources: Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `miner-${i}:out`,
        { path: `/root/.pm2/logs/miner-${i}-out.log`, identity: { dev: 2049, ino: 1000 + i, fingerprint: sha(i), fingerprintBytes: 1024 }, offset: seq * 1000 + i },
      ]),
    ),
    // the tracker's snapshot, as valid as the schema asks, with `tasks` open tasks of long prompts
    open_tasks: [
      {
        version: 1,
        tasks: Array.from({ length: tasks }, (_, i) => ({
          id: `task-${seq}-${i}`,
          key: `key-${i}`,
          logId: `a wooden chair number ${i} `.repeat(100),
          phase: 'generating' as const,
          group: `g${i % 4}`,
          receivedMs: BIG_STATE_EPOCH_MS + i,
          generatingMs: BIG_STATE_EPOCH_MS + i + 1,
          endedMs: null,
          feedbackMs: null,
          orphanId: null,
          // the draft record is the tracker's business (the schema checks it is an object)
          record: { task: { prompt: `a wooden chair number ${i} `.repeat(100) }, events: [seq, i, seq + i] } as unknown as GenerationRecord,
        })),
        identity: { minerUid: 42, network: 'mainnet' as const },
        occurrences: [],
        pendingQueries: [],
        lostReceived: [],
        lastMs: BIG_STATE_EPOCH_MS + seq,
      },
    ],
    pending_blobs: [{ generation_id: `g-${seq}`, kind: 'ply', source_path: `/out/${seq}.ply`, sha256: sha(seq), size: seq, mtime_ms: seq }],
    output_dirs: { '/out': { high_water_mtime_ms: seq, recent: { [`${seq}.ply`]: seq + 1 } } },
    identity: { miner_uid: 42, network: 'mainnet' },
    counters: { seq, lines_unmatched: seq * 7 },
    quarantine: [],
    health: emptyHealth(),
  };
}
