/**
 * The collector's state file, on one page: what each stage keeps across a restart, composed from the
 * schemas those stages own (sources: checkpoints and output-directory marks; the tracker: its
 * snapshot of the open work) plus what the daemon keeps itself (PLYs waiting for feedback, the miner's
 * identity, counters, quarantined lines, health). `state/` keeps it as a versioned atomic document.
 *
 * Adding to the state: add the field here, bump `STATE_VERSION` and register a migration from the
 * previous version that fills the field in. An older build then refuses the newer file instead of
 * silently dropping a field it does not know.
 */
import { z } from 'zod';
import { TrackerSnapshotSchema } from '../assemble';
import { CheckpointSchema, OutputDirMarkSchema } from '../sources/checkpoint';
import { type Clock, systemClock } from '../common/clock';
import { loadDocument, saveDocument, stateFilePath, type DocumentSpec, type Migration } from '../state';

export const STATE_VERSION = 3;

const count = z.number().int().nonnegative();

/** A PLY waiting for its feedback: it is stored only once the feedback says accepted. */
export const PendingBlobSchema = z.strictObject({
  generation_id: z.string(),
  kind: z.literal('ply'),
  source_path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: count,
  mtime_ms: z.number().nonnegative(),
});
export type PendingBlob = z.infer<typeof PendingBlobSchema>;

/** What the logs told us about the miner. */
export const IdentitySchema = z.strictObject({
  miner_uid: z.number().int().nonnegative().nullable(),
  network: z.enum(['mainnet', 'testnet', 'local']).nullable(),
});
export type Identity = z.infer<typeof IdentitySchema>;

/** A line that made the code throw: where it is and its hash, never its text (it may hold secrets). */
export const QuarantineEntrySchema = z.strictObject({
  file: z.string(),
  offset: count,
  length: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  reason: z.string(),
  /** When it was quarantined (ISO time). */
  at: z.iso.datetime(),
});
export type QuarantineEntry = z.infer<typeof QuarantineEntrySchema>;

/**
 * What the daemon last saw of the miner and its sources, for `status` and `doctor`; the clock offset
 * measured for each source whose clock disagrees with the miner's (source key -> ms its times run
 * ahead); the warnings in force.
 */
export const HealthSchema = z.strictObject({
  /** When a miner line was last read as it was written (wall clock; a backlog line does not count). */
  miner_last_line_read_ms: z.number().nullable(),
  /** The time of the miner's newest line handed to the tracker: where the task clock stands (a restart goes on from it). */
  miner_last_line_time_ms: z.number().nullable(),
  clock_offsets_ms: z.record(z.string(), z.number()),
  warnings: z.array(z.strictObject({ key: z.string(), message: z.string(), since: z.iso.datetime() })),
});
export type Health = z.infer<typeof HealthSchema>;

export const emptyHealth = (): Health => ({ miner_last_line_read_ms: null, miner_last_line_time_ms: null, clock_offsets_ms: {}, warnings: [] });

/** The one source of truth for the state file's shape; the type comes from it. */
export const CollectorStateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  updated_at: z.iso.datetime(),
  /** Source key (e.g. `<app>:out`) -> where that source stands. */
  sources: z.record(z.string(), CheckpointSchema),
  /** The tracker's snapshot of unfinished tasks (one, or none before the first commit); the tracker owns its shape. */
  open_tasks: z.array(TrackerSnapshotSchema).max(1),
  pending_blobs: z.array(PendingBlobSchema),
  /** Output directory path -> its high-water mark. */
  output_dirs: z.record(z.string(), OutputDirMarkSchema),
  identity: IdentitySchema,
  counters: z.record(z.string(), z.number()),
  quarantine: z.array(QuarantineEntrySchema),
  health: HealthSchema,
});
export type CollectorState = z.infer<typeof CollectorStateSchema>;

/** Key: the version a migration reads. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // 1 -> 2: an output dir's `names_at_mark` (files at the mark) became `recent` (files above it, with mtimes).
  1: (old) => {
    const dirs = (old.output_dirs ?? {}) as Record<string, { high_water_mtime_ms: number; names_at_mark?: string[] }>;
    const output_dirs: Record<string, unknown> = {};
    for (const [dir, m] of Object.entries(dirs))
      output_dirs[dir] = { high_water_mtime_ms: m.high_water_mtime_ms, recent: {} };
    return { ...old, version: 2, output_dirs };
  },
  // 2 -> 3: the health section; quarantine entries carry their time (none were ever written before 3).
  2: (old) => ({ ...old, version: 3, quarantine: [], health: emptyHealth() }),
};

export function emptyState(clock: Clock = systemClock): CollectorState {
  return {
    version: STATE_VERSION,
    updated_at: new Date(clock.now()).toISOString(),
    sources: {},
    open_tasks: [],
    pending_blobs: [],
    output_dirs: {},
    identity: { miner_uid: null, network: null },
    counters: {},
    quarantine: [],
    health: emptyHealth(),
  };
}

export interface StateOptions {
  clock?: Clock;
  /** Tests inject their own chain; the daemon uses `MIGRATIONS`. */
  migrations?: Readonly<Record<number, Migration>>;
}

const spec = (migrations: Readonly<Record<number, Migration>> = MIGRATIONS): DocumentSpec<CollectorState> => ({
  schema: CollectorStateSchema,
  version: STATE_VERSION,
  migrations,
});

/** Reads the state; a missing file is a fresh start. Read-only: never writes or resets anything. */
export function loadState(dataDir: string, options: StateOptions = {}): CollectorState {
  return loadDocument(stateFilePath(dataDir), spec(options.migrations)) ?? emptyState(options.clock ?? systemClock);
}

/** Validates and atomically replaces the state file; returns it as written (`updated_at` now). Only the lock holder calls this. */
export function saveState(dataDir: string, state: CollectorState, options: { clock?: Clock } = {}): CollectorState {
  return saveDocument(stateFilePath(dataDir), spec(), state, options);
}
