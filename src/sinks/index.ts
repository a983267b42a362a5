/** The sinks: where finished records go. One store per JSONL kind, one blob store. */
import { createHash } from 'node:crypto';
import { competitionStage, competitionWrittenSeconds, serializeMinerConfigHistoryEntry, serializeMinerEvent, serializeRecord, type GenerationRecord, type MinerConfigHistoryEntry, type MinerEvent } from '../schema';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import { JsonlStore } from './jsonl-store';
import type { AppendLockOptions } from './append-lock';
import type { Latest } from './id-index';
import { monthOfGeneration, monthOfTimeField } from './rotation';

export { JsonlStore, type AppendResult, type JsonlStoreOptions } from './jsonl-store';
export { sealedFilePattern } from './names';
export { BlobStore, type StoredBlob } from './blob-store';
export { acquireAppendLock, type AppendLockOptions, type HeldLock } from './append-lock';
export { runRotation, planRotation, sealLiveFile, ROTATING_FILES, type RotationOptions, type RotationStep } from './rotation';

export const GENERATION_HISTORY_FILE = 'generation_history.jsonl';
export const MINER_EVENTS_FILE = 'miner_events.jsonl';
export const MINER_CONFIG_HISTORY_FILE = 'miner_config_history.jsonl';

/**
 * How complete a record is: a later version of a generation is written as a new revision only
 * when it is more complete than the stored one (an ingest that ended before the feedback came,
 * then the feedback; a feedback that came after the record was written), so a replay that rebuilds
 * the same record never adds a revision.
 */
export function completeness(r: Pick<GenerationRecord, 'outcome' | 'provenance' | 'validator_feedback'> & { competition?: GenerationRecord['competition'] }): number {
  // a competition record's verdict lands in steps over days (the download, the duel, the round's end),
  // and a file rewritten (a re-judged duel) is newer: each is worth a revision; the same commit read again is not
  const base = (r.validator_feedback?.received ? 4 : 0) + (r.outcome === 'interrupted' ? 0 : 2) + (r.provenance.incomplete ? 0 : 1);
  return base + 8 * competitionStage(r.competition) + 64 * competitionWrittenSeconds(r.competition);
}

/** The store's key of a generation record: one line per (id, revision), tagged with its completeness. */
export function generationKey(r: Pick<GenerationRecord, 'metadata' | 'outcome' | 'provenance' | 'validator_feedback'> & { competition?: GenerationRecord['competition'] }): string {
  return `${r.metadata.generation_id}#${r.provenance.revision}#${completeness(r)}`;
}

function keyOfStoredGeneration(parsed: unknown): string | null {
  const r = parsed as Partial<GenerationRecord>;
  const id = r?.metadata?.generation_id;
  const rev = r?.provenance?.revision;
  if (typeof id !== 'string' || typeof rev !== 'number' || typeof r.outcome !== 'string') return null;
  return generationKey(r as GenerationRecord);
}

/**
 * Revision 0 for a new id; the next revision when this record is more complete than the stored
 * one; null (skip) otherwise. `supersedes` keeps only the ids that really were written.
 */
function reviseGeneration(r: GenerationRecord, latest: (id: string) => Latest | undefined): GenerationRecord | null {
  const stored = latest(r.metadata.generation_id);
  if (stored && completeness(r) <= Number(stored.tag)) return null;
  return {
    ...r,
    provenance: {
      ...r.provenance,
      revision: stored ? stored.revision + 1 : 0,
      supersedes: r.provenance.supersedes.filter((id) => latest(id) !== undefined),
    },
  };
}

export interface StoreOptions {
  dataDir: string;
  lock?: AppendLockOptions;
  clock?: Clock;
  logger?: Logger;
}

/** `generation_history.jsonl`: validated, in schema key order, never twice the same (id, revision). */
export function openGenerationStore(opts: StoreOptions): Promise<JsonlStore<GenerationRecord>> {
  return JsonlStore.open<GenerationRecord>({
    ...opts,
    fileName: GENERATION_HISTORY_FILE,
    keyOfRecord: generationKey,
    keyOfStored: keyOfStoredGeneration,
    revise: reviseGeneration,
    serialize: serializeRecord,
    monthOf: monthOfGeneration,
  });
}

/**
 * A miner event has no id of its own: its key is a hash of its content without the source, so the
 * same line read again (a replay, a pm2-logrotate copy) is not written twice.
 */
function minerEventKey(e: MinerEvent): string {
  const { source: _source, collector_version: _v, ...content } = e;
  return `${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)}#0`;
}

/** `miner_events.jsonl`: what the miner logged that belongs to no task. */
export function openMinerEventStore(opts: StoreOptions): Promise<JsonlStore<MinerEvent>> {
  return JsonlStore.open<MinerEvent>({
    ...opts,
    fileName: MINER_EVENTS_FILE,
    keyOfRecord: minerEventKey,
    keyOfStored: (parsed) => {
      const e = parsed as Partial<MinerEvent>;
      return typeof e?.event === 'string' && typeof e.time === 'string' ? minerEventKey(e as MinerEvent) : null;
    },
    serialize: serializeMinerEvent,
    monthOf: monthOfTimeField,
  });
}

/** A config change is the same change when seen again (a restart): its key is a hash of its content. */
function configEntryKey(e: MinerConfigHistoryEntry): string {
  const { collector_version: _v, ...content } = e;
  return `${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)}#0`;
}

/** `miner_config_history.jsonl`: every change of the miner's settings. */
export function openMinerConfigHistoryStore(opts: StoreOptions): Promise<JsonlStore<MinerConfigHistoryEntry>> {
  return JsonlStore.open<MinerConfigHistoryEntry>({
    ...opts,
    fileName: MINER_CONFIG_HISTORY_FILE,
    keyOfRecord: configEntryKey,
    keyOfStored: (parsed) => {
      const e = parsed as Partial<MinerConfigHistoryEntry>;
      return typeof e?.time === 'string' && Array.isArray(e.changes) ? configEntryKey(e as MinerConfigHistoryEntry) : null;
    },
    serialize: serializeMinerConfigHistoryEntry,
    monthOf: monthOfTimeField,
  });
}
