/**
 * The schema's constants that need no zod: its version, the vocabularies, a first provenance. The
 * scan of analyze and export (its worker threads above all) and the spec reader load this module
 * alone; the zod schemas that re-export these cost about 11 MB of RSS in each thread that loads them.
 */

/** Version of the record layouts in this folder; bump it when a field is added, renamed or changes meaning. */
export const SCHEMA_VERSION = 2;

export const NETWORKS = ['mainnet', 'testnet', 'local'] as const;
export const TASK_TYPES = ['TEXT-TO-3D', 'IMAGE-TO-3D'] as const;

/** What happened to the generation, in one word; every analysis counts by this. */
export const OUTCOMES = [
  'accepted',
  'rejected',
  'validation_failed',
  'generation_failed',
  'submit_failed',
  'no_feedback',
  'interrupted',
] as const;

/** failure_analysis.error_type vocabulary (null when nothing failed). */
export const ERROR_TYPES = [
  'generation_http_error',
  'endpoint_unreachable',
  'endpoint_timeout',
  'client_error',
  'submit_failed',
  'validation_failed',
  'miner_restarted',
  'exception',
  'pre_submission_rejection',
] as const;

export const BLOB_KINDS = ['image', 'ply'] as const;
export const BLOB_SKIP_REASONS = ['disabled', 'disk_low', 'error', 'missing', 'changed'] as const;
/** How an event was tied to its task; `exact` is what collectors before 0.2 wrote for named and determined links. */
export const LINK_KINDS = ['named', 'determined', 'inferred', 'exact'] as const;

export const ROUND_CHOICES = ['generation_stage', 'published_before'] as const;
export const DUEL_WINNERS = ['miner', 'opponent', 'draw'] as const;

/**
 * A first revision's provenance: nothing linked, superseded or skipped yet. Its type is checked where it
 * is used, against the record's: importing record.ts here would make a cycle.
 */
export function emptyProvenance(collectorVersion: string) {
  return {
    schema_version: SCHEMA_VERSION,
    collector_version: collectorVersion,
    revision: 0,
    supersedes: [],
    sources: [],
    links: [],
    incomplete: false,
    incomplete_reasons: [],
    blobs_skipped: [],
  };
}
