/**
 * The one file the collector remembers across a restart (ARCHITECTURE.md, "State"):
 * `<dataDir>/state/collector-state.json`, versioned, validated by one zod schema, written atomically.
 *
 * Adding to the state: add the field to `CollectorStateSchema`, bump `STATE_VERSION` and register a
 * migration from the previous version that fills the field in. An older build then refuses the newer
 * file (STATE_VERSION) instead of silently dropping a field it does not know.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { type Clock, systemClock } from '../common/clock';
import { CollectorError, fromFsError } from '../common/errors';
import { atomicWriteFile, ensureDir, removeDeadWritersTmp } from '../common/fsx';
import { CheckpointSchema } from '../sources/checkpoint';

export const STATE_VERSION = 3;
export const STATE_DIR_NAME = 'state';
export const STATE_FILE_NAME = 'collector-state.json';

export function stateDirPath(dataDir: string): string {
  return path.join(dataDir, STATE_DIR_NAME);
}

export function stateFilePath(dataDir: string): string {
  return path.join(stateDirPath(dataDir), STATE_FILE_NAME);
}

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

/**
 * An output directory's high-water mark: every file with an mtime at or below it was handed on;
 * `recent` names the files above it that were (name relative to the directory -> mtime), since
 * files finish out of mtime order. A file is new when it is above the mark and not in `recent`
 * with that mtime (a file rewritten in place is new again).
 */
export const OutputDirMarkSchema = z.strictObject({
  high_water_mtime_ms: z.number(),
  recent: z.record(z.string(), z.number()),
});
export type OutputDirMark = z.infer<typeof OutputDirMarkSchema>;

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
 * What the daemon last saw of the miner and its sources, for `status` and `doctor`: when the miner's
 * last line was read (wall clock) and the time it carried; the clock offset measured for each source
 * whose clock disagrees with the miner's (source key -> ms its times run ahead); the warnings in force.
 */
export const HealthSchema = z.strictObject({
  miner_last_line_read_ms: z.number().nullable(),
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
  /** The tracker's snapshot of unfinished tasks; the tracker owns its shape. */
  open_tasks: z.array(z.unknown()),
  pending_blobs: z.array(PendingBlobSchema),
  /** Output directory path -> its high-water mark. */
  output_dirs: z.record(z.string(), OutputDirMarkSchema),
  identity: IdentitySchema,
  counters: z.record(z.string(), z.number()),
  quarantine: z.array(QuarantineEntrySchema),
  health: HealthSchema,
});
export type CollectorState = z.infer<typeof CollectorStateSchema>;

/** Turns a state document of version N into one of version N + 1. */
export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;

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

export interface StateOptions {
  clock?: Clock;
  /** Tests inject their own chain; the daemon uses `MIGRATIONS`. */
  migrations?: Readonly<Record<number, Migration>>;
}

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

const MOVE_ASIDE_HINT =
  'move the file aside (mv it to *.bad) and start again: the collector then re-reads the logs from ' +
  'the beginning, which is safe because the store drops records it already has; keep the moved file ' +
  'for a bug report';

function invalid(file: string, what: string, cause?: unknown): CollectorError {
  return new CollectorError('STATE_INVALID', `state file is not valid: ${what}`, file, MOVE_ASIDE_HINT, { cause });
}

/** Reads the state; a missing file is a fresh start. Read-only: never writes or resets anything. */
export function loadState(dataDir: string, options: StateOptions = {}): CollectorState {
  const file = stateFilePath(dataDir);
  const migrations = options.migrations ?? MIGRATIONS;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(options.clock);
    throw fromFsError(err, file, 'reading the state file');
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `not JSON (${(err as Error).message})`, err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(file, 'not a JSON object');
  const found = (doc as Record<string, unknown>).version;
  if (typeof found !== 'number' || !Number.isInteger(found)) throw invalid(file, '"version" is missing or not an integer');
  let version: number = found;

  // Walk the chain one version at a time; each step must land on the next version.
  while (version < STATE_VERSION) {
    const migrate = migrations[version];
    if (!migrate) throw unknownVersion(file, version, migrations);
    let next: Record<string, unknown>;
    try {
      next = migrate(doc as Record<string, unknown>);
    } catch (err) {
      throw invalid(file, `migration from version ${version} failed (${(err as Error).message})`, err);
    }
    if (next.version !== version + 1) {
      throw invalid(file, `migration from version ${version} produced version ${String(next.version)}`);
    }
    doc = next;
    version = version + 1;
  }
  if (version !== STATE_VERSION) throw unknownVersion(file, version, migrations);

  const parsed = CollectorStateSchema.safeParse(doc);
  if (!parsed.success) throw invalid(file, z.prettifyError(parsed.error).replace(/\n/g, '; '), parsed.error);
  return parsed.data;
}

function unknownVersion(file: string, version: number, migrations: Readonly<Record<number, Migration>>): CollectorError {
  const known = [...Object.keys(migrations).map(Number), STATE_VERSION].sort((a, b) => a - b);
  const newer = version > STATE_VERSION;
  return new CollectorError(
    'STATE_VERSION',
    `state file has version ${version}, ${newer ? 'newer than' : 'not one of'} the versions this build of data-collector knows (${known.join(', ')})`,
    file,
    newer
      ? 'a newer data-collector wrote it: upgrade the collector to that version or later (do not delete the file: it holds where each log was read up to)'
      : 'no migration exists from that version: use the data-collector release that wrote it, or move the file aside to re-read the logs from the beginning (safe: the store drops duplicates)',
  );
}

const strayTmpSwept = new Set<string>();

/**
 * Validates and atomically replaces the state file; returns the state as written (`updated_at` set
 * to now). Only the instance-lock holder calls this.
 */
export function saveState(dataDir: string, state: CollectorState, options: { clock?: Clock } = {}): CollectorState {
  const file = stateFilePath(dataDir);
  const stamped = { ...state, updated_at: new Date((options.clock ?? systemClock).now()).toISOString() };
  const parsed = CollectorStateSchema.safeParse(stamped);
  if (!parsed.success) {
    throw new CollectorError(
      'STATE_INVALID',
      `refusing to write an invalid state: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      file,
      'this is a bug in data-collector; please report it with the message above',
      { cause: parsed.error },
    );
  }
  ensureDir(path.dirname(file));
  atomicWriteFile(file, JSON.stringify(parsed.data, null, 1) + '\n');
  if (!strayTmpSwept.has(file)) {
    strayTmpSwept.add(file);
    removeDeadWritersTmp(path.dirname(file), `${path.basename(file)}.`);
  }
  return parsed.data;
}

