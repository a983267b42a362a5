/** The record schemas: the one source of truth for field names. Types come from zod (z.infer). */
export { SCHEMA_VERSION, Scalar, SourceRef } from './common';
export {
  GenerationRecordSchema,
  OutcomeSchema,
  ErrorTypeSchema,
  OUTCOMES,
  ERROR_TYPES,
  NETWORKS,
  TASK_TYPES,
  BLOB_KINDS,
  BLOB_SKIP_REASONS,
  LINK_KINDS,
  emptyRecord,
  type GenerationRecord,
  type Outcome,
  type ErrorType,
  type Network,
  type TaskType,
  type Provenance,
  type BlobSkip,
  type EventLink,
  type EventSource,
  type Competition,
  type EmptyRecordInit,
} from './record';
export { CompetitionSectionSchema, competitionStage, competitionWrittenSeconds, ROUND_CHOICES, DUEL_WINNERS, type CompetitionSection } from './competition';
export {
  MinerConfigHistoryEntrySchema,
  CONFIG_SOURCE_KINDS,
  type MinerConfigHistoryEntry,
  type ConfigChange,
} from './miner-config-history';
export {
  MinerEventSchema,
  MinerEventTypeSchema,
  MINER_EVENT_TYPES,
  emptyMinerEvent,
  type MinerEvent,
  type MinerEventType,
  type MinerStats,
  type MinerEventInit,
} from './miner-event';
export {
  serializeRecord,
  parseRecordLine,
  serializeMinerConfigHistoryEntry,
  parseMinerConfigHistoryLine,
  serializeMinerEvent,
  parseMinerEventLine,
  formatIssues,
  type ParseResult,
} from './serialize';
export { generationId, uuidV5, GENERATION_ID_NAMESPACE, type GenerationKey } from './ids';
export { fromSpecRecord, specOutcome, specRecordMissing, specTime, hasOwnShapeKeys, type NotARecord, type SpecRecordOptions } from './spec-record';
