/**
 * One line of generation_history.jsonl: every key of the spec's example, in the spec's order, then our
 * additions (after the spec's keys in each object; `outcome` and `provenance` last at top level).
 * Unknown values are null, never missing keys, so jq/grep users always see the same shape.
 * The `.describe()` texts are the field documentation: they go into schema/generation-record.schema.json.
 */
import { z } from 'zod';
import {
  Scalar,
  SourceRef,
  collectorVersionField,
  hostField,
  isoTime,
  minerAppField,
  nullableBool,
  nullableCount,
  nullableInt,
  nullableUid,
  nullableNumber,
  nullableString,
  schemaVersionField,
  sha256Ref,
} from './common';
import { CompetitionSectionSchema } from './competition';
import { BLOB_KINDS, BLOB_SKIP_REASONS, emptyProvenance, ERROR_TYPES, LINK_KINDS, NETWORKS, OUTCOMES, TASK_TYPES } from './constants';

export { BLOB_KINDS, BLOB_SKIP_REASONS, emptyProvenance, ERROR_TYPES, LINK_KINDS, NETWORKS, OUTCOMES, TASK_TYPES };

export const OutcomeSchema = z.enum(OUTCOMES).describe(
  'accepted: feedback score > 0. rejected: feedback score 0 after a normal submission. ' +
    'validation_failed: the feedback said "Score: failed". generation_failed: the generation produced no result ' +
    '(endpoint error, timeout, HTTP error, pre-submission rejection, exception); any score 0 for the empty ' +
    'submission is still in validator_feedback. submit_failed: the miner logged a failed submission. ' +
    'no_feedback: no feedback within the timeout after the generation ended. interrupted: the task was cut ' +
    'short (the miner restarted, or the input of an ingest ended first); a later revision may complete it.',
);
export type Outcome = z.infer<typeof OutcomeSchema>;

export const ErrorTypeSchema = z.enum(ERROR_TYPES);
export type ErrorType = z.infer<typeof ErrorTypeSchema>;

const MetadataSchema = z.strictObject({
  generation_id: z
    .uuid()
    .describe('UUID v5 derived from the task (src/schema/ids.ts): the same task read again gets the same id.'),
  timestamp: isoTime().describe(
    'When the miner received the task (its "Task received" line). If that line was lost, the earliest time ' +
      'known for the task, and provenance.incomplete_reasons says so.',
  ),
  miner_uid: nullableUid().describe("The miner's uid on the subnet, learnt from its startup and stats lines."),
  miner_version: nullableString().describe(
    "The miner's version label: as configured for the collector, or as logged by old miners in the task line.",
  ),
  validator_uid: nullableUid().describe('Uid of the validator that gave the task (from the feedback line).'),
  validator_hotkey: nullableString().describe(
    "SS58 hotkey of that validator; the miner logs it only in failure lines, so it is often null.",
  ),
  network: z
    .enum(NETWORKS)
    .nullable()
    .describe('finney -> mainnet, test -> testnet, any other chain endpoint -> local.'),
  // additions
  host: hostField(),
  miner_app: minerAppField(),
});

const TaskSchema = z.strictObject({
  task_type: z.enum(TASK_TYPES).nullable().describe('IMAGE-TO-3D when the prompt is a base64 image, else TEXT-TO-3D.'),
  prompt: nullableString().describe(
    'The text prompt, or [BASE64_IMAGE_HASH:sha256:<hex>] for an image task (the image itself is never inlined).',
  ),
  prompt_length: nullableCount().describe(
    'Length of the prompt as the miner received it, in characters (for an image: of the base64 text).',
  ),
  is_base64_image: nullableBool().describe('True for an image task (the prompt was a base64-encoded image).'),
  base64_image_hash: sha256Ref()
    .nullable()
    .describe('sha256:<hex> of the decoded image bytes (not of the base64 text); names the image file.'),
  image_file_path: z
    .string()
    .regex(/^images\/[0-9a-f]{64}\.[a-z0-9]+$/, { error: 'expected images/<64 hex>.<ext>' })
    .nullable()
    .describe(
      'images/<hex>.<ext>, relative to the data dir; <hex> is that of base64_image_hash, <ext> from the image ' +
        'bytes (png, jpg, webp). Null when not stored (see provenance.blobs_skipped).',
    ),
  // addition
  log_id: nullableString().describe(
    "The miner's log id of the task (links the feedback line): the text prompt cut to 97 characters + '...' " +
      'when longer than 100, or image:<blake3 hex of the base64 text>.',
  ),
});

const MinerConfigSchema = z
  .object({
    trellis_sparse_steps: nullableInt().describe('TRELLIS sparse-structure sampling steps.'),
    trellis_slat_steps: nullableInt().describe('TRELLIS structured-latent sampling steps.'),
    gaussian_threshold: nullableNumber().describe("The operator's Gaussian-count threshold."),
    clip_threshold: nullableNumber().describe('CLIP score below which the worker rejects its result before submission.'),
  })
  .catchall(Scalar)
  .describe(
    'The miner/worker settings in force for this generation (seen in the worker log or the config file); ' +
      'other settings may appear as extra keys.',
  );

const TimingSchema = z
  .object({
    total_time: nullableNumber().describe(
      'Seconds for the whole generation: the worker\'s own total when it logs one, else from the miner\'s ' +
        '"Generating for prompt" line to its "Generation completed/failed" line.',
    ),
    sdxl_time: nullableNumber().describe('Seconds in SDXL-Turbo text-to-image (text tasks).'),
    background_removal_time: nullableNumber().describe('Seconds in background removal.'),
    trellis_time: nullableNumber().describe('Seconds in TRELLIS image-to-3D.'),
  })
  .catchall(Scalar)
  .describe('Stage timings in seconds; other stages appear as extra keys ending in _time.');

const QualityMetricsSchema = z
  .object({
    clip_score: nullableNumber().describe("The worker's CLIP score of the result."),
    clip_threshold_pass: nullableBool().describe('Whether clip_score reached miner_config.clip_threshold.'),
  })
  .catchall(Scalar)
  .describe("The worker's own quality checks; other metrics appear as extra keys.");

const GaussianStatsSchema = z
  .object({
    opacity_mean: nullableNumber().describe("Mean of the PLY's opacity property as stored (TRELLIS stores logits)."),
  })
  .catchall(Scalar)
  .describe('Statistics of the Gaussians read from the PLY body; other statistics appear as extra keys.');

const OutputSchema = z.strictObject({
  num_gaussians: nullableCount().describe('Number of Gaussians (vertex count of the PLY).'),
  file_size_mb: nullableNumber().describe('PLY size in MiB (bytes / 1048576).'),
  ply_file_path: z
    .string()
    .regex(/^ply_files\/[^/]+\.ply$/, { error: 'expected ply_files/<name>.ply' })
    .nullable()
    .describe(
      'ply_files/<generation_id>_<hex of ply_file_hash>.ply, relative to the data dir; null when not stored ' +
        '(only accepted PLYs are kept; see provenance.blobs_skipped for other reasons).',
    ),
  ply_file_hash: sha256Ref().nullable().describe('sha256:<hex> of the PLY file bytes.'),
  quality_metrics: QualityMetricsSchema,
  gaussian_stats: GaussianStatsSchema,
  // addition
  file_size_bytes: nullableCount().describe(
    'PLY size in bytes: of the file in the worker\'s output directory when one was linked, else the miner\'s ' +
      '"Generation completed. Size:" figure.',
  ),
  ply_error: nullableString().describe(
    'Why the linked PLY file could not be measured (not a PLY, truncated, a header that lies, 0 Gaussians, NaNs); ' +
      'null when it was, or when no file was linked.',
  ),
});

const SubmissionSchema = z.strictObject({
  submitted: nullableBool().describe(
    'True once feedback arrives, false when the miner logged a failed submission, null while unknown.',
  ),
  submission_time: isoTime()
    .nullable()
    .describe(
      'When the generation ended ("Generation completed/failed" line): the miner submits at once and no line ' +
        'logs the submission itself.',
    ),
  pre_submission_rejection: nullableBool().describe(
    'True when the worker rejected its own result before submission (the miner then submits empty results), ' +
      'false when the generation completed, null when unknown.',
  ),
  rejection_reason: nullableString().describe("The worker's reason for a pre-submission rejection, e.g. clip_below_threshold."),
});

const GenerationSchema = z.strictObject({
  enhanced_prompt: nullableString().describe('The prompt after the LLM enhancer, as the worker logged it.'),
  negative_prompt: nullableString().describe('The negative prompt the worker used, if any.'),
  timing: TimingSchema,
  output: OutputSchema,
  submission: SubmissionSchema,
});

const ValidatorFeedbackSchema = z.strictObject({
  received: z.boolean().describe('True when a feedback line for this task was seen.'),
  feedback_time: isoTime().nullable().describe('Time of the feedback line.'),
  score: nullableNumber().describe('The validator\'s score; null when none came or it was "failed".'),
  accepted: nullableBool().describe('score > 0 (the validator scores every rejection 0); null without a score.'),
  feedback_delay_seconds: nullableNumber().describe('feedback_time minus submission_time, in seconds.'),
  // additions: the miner's detail line after the feedback
  average_score: nullableNumber().describe('"Average score" of the miner as reported with the feedback.'),
  duel_rating: nullableNumber().describe('"Current duel rating" reported with the feedback (newer miners only).'),
  accepted_recent: nullableCount().describe('"Accepted results (last Nh)": the count.'),
  accepted_window_hours: nullableInt().describe('The N of "last Nh" for accepted_recent: 4 today, 8 in 2024 lines.'),
  reward: nullableNumber().describe('"Reward" reported with the feedback.'),
});

const FailureAnalysisSchema = z.strictObject({
  failed: z.boolean().describe('True when error_type is set.'),
  error_type: ErrorTypeSchema.nullable().describe(
    'generation_http_error: "Generation failed with code". endpoint_unreachable: "Failed to connect to the ' +
      'endpoint". endpoint_timeout: "request to the endpoint timed out". client_error: "unexpected (client) ' +
      'error". submit_failed: "Failed to submit results". validation_failed: "Score: failed". ' +
      'miner_restarted: the miner started again during the task. exception: a logged Python traceback. ' +
      'pre_submission_rejection: the worker rejected its result before submission.',
  ),
  error_message: nullableString().describe('The message of the failure line (e.g. the HTTP code or the reason).'),
  stack_trace: nullableString().describe('The traceback joined to the failure line, if any.'),
});

const ProvenanceSchema = z.strictObject({
  schema_version: schemaVersionField(),
  collector_version: collectorVersionField(),
  revision: z
    .number()
    .int()
    .nonnegative()
    .describe('0 for the first record of a generation_id, +1 for each later, better version; keep the highest.'),
  supersedes: z
    .array(z.uuid())
    .describe('generation_ids of earlier records (with other ids) that this record replaces; drop those.'),
  sources: z
    .array(
      z.strictObject({
        event: z.string().min(1).describe('The parsed event the line gave, e.g. task_received.'),
        ...SourceRef.shape,
      }),
    )
    .describe('Every log line used for this record: which event, from which file, at which byte offset.'),
  links: z
    .array(
      z.strictObject({
        event: z.string().min(1).describe('The event linked to the task.'),
        link: z
          .enum(LINK_KINDS)
          .describe(
            'named: the line names the task (log id, prompt, its worker\'s endpoint); determined: the line names no task, ' +
              'but every assignment consistent with what the logs guarantee gives it to this one; inferred: several ' +
              'assignments remain, this is the best time fit (see alternatives); exact: written by collectors before 0.2 ' +
              'for named and determined links.',
          ),
        candidates: z.number().int().nonnegative().describe('Open tasks the event could have belonged to (1 when named or determined).'),
        alternatives: z
          .array(z.uuid())
          .optional()
          .describe('Inferred links only: the generation_ids of the other tasks the event could have belonged to.'),
      }),
    )
    .describe('How each event was tied to the task.'),
  incomplete: z.boolean().describe('True when some part of the task could not be read (see incomplete_reasons).'),
  incomplete_reasons: z.array(z.string().min(1)).describe('Why the record is incomplete, e.g. generating_line_lost (data/README.md lists them).'),
  blobs_skipped: z
    .array(
      z.strictObject({
        kind: z.enum(BLOB_KINDS),
        reason: z
          .enum(BLOB_SKIP_REASONS)
          .describe(
            'disabled: storage turned off; disk_low: too little free space; error: the write failed; missing: the file was ' +
              'not found; changed: the worker rewrote the file before it could be kept.',
          ),
        hash: sha256Ref().nullable().describe('sha256:<hex> of the blob, when known.'),
      }),
    )
    .describe('Images and PLYs that should have been stored but were not, and why.'),
});

export const GenerationRecordSchema = z
  .strictObject({
    metadata: MetadataSchema,
    task: TaskSchema,
    miner_config: MinerConfigSchema,
    generation: GenerationSchema,
    validator_feedback: ValidatorFeedbackSchema,
    failure_analysis: FailureAnalysisSchema,
    // additions
    competition: CompetitionSectionSchema.nullable(),
    outcome: OutcomeSchema,
    provenance: ProvenanceSchema,
  })
  .describe('One generation of a 404-GEN subnet-17 miner: one line of generation_history.jsonl.');

export type GenerationRecord = z.infer<typeof GenerationRecordSchema>;
export type Network = GenerationRecord['metadata']['network'];
export type TaskType = NonNullable<GenerationRecord['task']['task_type']>;
export type Provenance = GenerationRecord['provenance'];
export type BlobSkip = Provenance['blobs_skipped'][number];
export type EventLink = Provenance['links'][number];
export type EventSource = Provenance['sources'][number];
export type Competition = NonNullable<GenerationRecord['competition']>;

export interface EmptyRecordInit {
  generation_id: string;
  /** When the task was received (ISO-8601 UTC with milliseconds). */
  timestamp: string;
  host: string;
  miner_app: string;
  collector_version: string;
  /** Until the assembler knows better, a record that never got further than its start is `interrupted`. */
  outcome?: Outcome;
}

/** A record with every key present: unknown values null, flags false, lists empty. The assembler fills it. */
export function emptyRecord(init: EmptyRecordInit): GenerationRecord {
  return {
    metadata: {
      generation_id: init.generation_id,
      timestamp: init.timestamp,
      miner_uid: null,
      miner_version: null,
      validator_uid: null,
      validator_hotkey: null,
      network: null,
      host: init.host,
      miner_app: init.miner_app,
    },
    task: {
      task_type: null,
      prompt: null,
      prompt_length: null,
      is_base64_image: null,
      base64_image_hash: null,
      image_file_path: null,
      log_id: null,
    },
    miner_config: { trellis_sparse_steps: null, trellis_slat_steps: null, gaussian_threshold: null, clip_threshold: null },
    generation: {
      enhanced_prompt: null,
      negative_prompt: null,
      timing: { total_time: null, sdxl_time: null, background_removal_time: null, trellis_time: null },
      output: {
        num_gaussians: null,
        file_size_mb: null,
        ply_file_path: null,
        ply_file_hash: null,
        quality_metrics: { clip_score: null, clip_threshold_pass: null },
        gaussian_stats: { opacity_mean: null },
        file_size_bytes: null,
        ply_error: null,
      },
      submission: { submitted: null, submission_time: null, pre_submission_rejection: null, rejection_reason: null },
    },
    validator_feedback: {
      received: false,
      feedback_time: null,
      score: null,
      accepted: null,
      feedback_delay_seconds: null,
      average_score: null,
      duel_rating: null,
      accepted_recent: null,
      accepted_window_hours: null,
      reward: null,
    },
    failure_analysis: { failed: false, error_type: null, error_message: null, stack_trace: null },
    competition: null,
    outcome: init.outcome ?? 'interrupted',
    provenance: emptyProvenance(init.collector_version),
  };
}

