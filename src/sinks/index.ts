/** The sinks: where finished records go. One store per JSONL kind, one blob store. */
import { serializeRecord, type GenerationRecord } from '../schema';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import { JsonlStore } from './jsonl-store';
import type { AppendLockOptions } from './append-lock';

export { JsonlStore, sealedFilePattern, type AppendResult, type JsonlStoreOptions } from './jsonl-store';
export { BlobStore, type StoredBlob } from './blob-store';
export { acquireAppendLock, type AppendLockOptions, type HeldLock } from './append-lock';

export const GENERATION_HISTORY_FILE = 'generation_history.jsonl';

/** The store's key of a generation record: a generation id may appear once per revision. */
export function generationKey(generationId: string, revision: number): string {
  return `${generationId}#${revision}`;
}

function keyOfStoredGeneration(parsed: unknown): string | null {
  const r = parsed as { metadata?: { generation_id?: unknown }; provenance?: { revision?: unknown } };
  const id = r?.metadata?.generation_id;
  const rev = r?.provenance?.revision;
  return typeof id === 'string' && typeof rev === 'number' ? generationKey(id, rev) : null;
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
    keyOfRecord: (r) => generationKey(r.metadata.generation_id, r.provenance.revision),
    keyOfStored: keyOfStoredGeneration,
    serialize: serializeRecord,
  });
}
