/**
 * Records in the spec's own schema (what its Python logger wrote: the six sections of the spec's example,
 * no `outcome`, no `provenance`) read as ours. One pure function, used by the scan (analyze, export) and
 * by `import`; data/README.md ("Records in the spec's schema") documents the mapping.
 *
 * - `outcome` is derived from validator_feedback, failure_analysis and generation.submission (specOutcome).
 * - provenance: revision 0, supersedes nothing, no sources or links (the caller adds where the line was).
 * - Every key of ours is present: our additions are null. Times are normalised to milliseconds and `Z`.
 * - A value that does not fit our field (a string where a number belongs, a nested object in an open
 *   object, a key we do not have) is not kept: `provenance.incomplete_reasons` names it
 *   (`spec_value_not_kept:<path>`, `spec_key_not_kept:<path>`), so nothing is dropped silently.
 * - image_file_path and ply_file_path are kept as written (relative to the spec's data dir); `import`
 *   replaces them with the copies it makes.
 */
import { emptyProvenance, ERROR_TYPES, NETWORKS, TASK_TYPES } from './constants';
import type { ErrorType, GenerationRecord, Outcome } from './record';

/** Why a JSON value is no generation record: the first field it lacks (a dotted path, `(root)` for a non-object). */
export interface NotARecord {
  notRecord: string;
}

export interface SpecRecordOptions {
  /** metadata.host (the spec has none; default ''). */
  host?: string;
  /** metadata.miner_app (default ''). */
  minerApp?: string;
  /** provenance.collector_version (default ''). */
  collectorVersion?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Our own shape is recognised by its additions: a line with either key is never read as the spec's. */
export function hasOwnShapeKeys(v: Obj): boolean {
  return 'outcome' in v || 'provenance' in v;
}

const CANONICAL_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** A spec time (with or without fraction digits; no zone = UTC, as the spec's times are UTC) as ours, or undefined. */
export function specTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length < 10) return undefined;
  // already ours, and an instant every month has (day <= 28): as it is, without a parse and a format
  if (CANONICAL_TIME.test(v)) return v;
  const zoned = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(v) || !v.includes(':') ? v : `${v}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Error types that mean the generation itself produced nothing (ours: see src/assemble/events.ts). */
const NOT_GENERATION_FAILURES = new Set<ErrorType>(['submit_failed', 'validation_failed', 'miner_restarted']);
const ERROR_TYPE_SET = new Set<string>(ERROR_TYPES);

/**
 * The outcome of a spec record, from the spec's own booleans (first rule that holds):
 * 1. feedback received (`validator_feedback.received` true):
 *    a. the generation failed (failure_analysis.failed with an error type that is not submit_failed /
 *       validation_failed / miner_restarted, or pre_submission_rejection true) and the feedback did not
 *       accept it -> generation_failed;
 *    b. `accepted` true, or (accepted null and score > 0) -> accepted;
 *    c. `accepted` false, or (accepted null and score a number <= 0) -> rejected;
 *    d. neither accepted nor score -> validation_failed (the feedback carried no score).
 * 2. no feedback:
 *    a. error type miner_restarted -> interrupted;
 *    b. the generation failed (as in 1a) -> generation_failed;
 *    c. submitted false, or error type submit_failed -> submit_failed;
 *    d. error type validation_failed -> validation_failed;
 *    e. otherwise -> no_feedback.
 */
export function specOutcome(r: Pick<GenerationRecord, 'validator_feedback' | 'failure_analysis' | 'generation'>): Outcome {
  const fb = r.validator_feedback;
  const fa = r.failure_analysis;
  const sub = r.generation.submission;
  const verdict = typeof fb.accepted === 'boolean' ? fb.accepted : typeof fb.score === 'number' ? fb.score > 0 : null;
  const type = fa.failed ? fa.error_type : null;
  const generationFailed = (fa.failed && (type === null || !NOT_GENERATION_FAILURES.has(type))) || sub.pre_submission_rejection === true;
  if (fb.received) {
    if (generationFailed && verdict !== true) return 'generation_failed';
    if (verdict === true) return 'accepted';
    if (verdict === false) return 'rejected';
    return 'validation_failed';
  }
  if (type === 'miner_restarted') return 'interrupted';
  if (generationFailed) return 'generation_failed';
  if (sub.submitted === false || type === 'submit_failed') return 'submit_failed';
  if (type === 'validation_failed') return 'validation_failed';
  return 'no_feedback';
}

/** Reads fields of one object, noting values it cannot keep. */
class Reader {
  readonly notKept: string[] = [];

  /** `o[key]` converted by `conv`; null when absent or null; null and noted when `conv` refuses it. */
  take<T>(o: Obj | undefined, prefix: string, key: string, conv: (v: unknown) => T | undefined): T | null {
    const v = o?.[key];
    if (v === undefined || v === null) return null;
    const out = conv(v);
    if (out === undefined) {
      this.notKept.push(`spec_value_not_kept:${prefix}${key}`);
      return null;
    }
    return out;
  }

  /** Notes the keys of `o` that are not among `known`. */
  extraKeys(o: Obj | undefined, prefix: string, known: readonly string[]): void {
    if (!o) return;
    for (const k of Object.keys(o)) if (!known.includes(k)) this.notKept.push(`spec_key_not_kept:${prefix}${k}`);
  }

  /** An open object (miner_config, timing, ...): the declared keys (typed) first, then every scalar extra. */
  open(o: Obj | undefined, prefix: string, declared: Declared): Record<string, string | number | boolean | null> {
    const out: Record<string, string | number | boolean | null> = {};
    for (const [k, conv] of declared) out[k] = this.take(o, prefix, k, conv) as string | number | boolean | null;
    if (o)
      for (const k in o) {
        const v = o[k];
        if (declared.some((d) => d[0] === k)) continue;
        if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
        else this.notKept.push(`spec_value_not_kept:${prefix}${k}`);
      }
    return out;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);
const count = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
const sha = (v: unknown): string | undefined => (typeof v === 'string' && /^sha256:[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : undefined);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): T | undefined =>
    (values as readonly unknown[]).includes(v) ? (v as T) : undefined;
const network = (v: unknown): GenerationRecord['metadata']['network'] | undefined =>
  v === 'finney' ? 'mainnet' : v === 'test' ? 'testnet' : oneOf(NETWORKS)(v);

/** The declared keys of an open object and their conversions (built once, not per record). */
type Declared = readonly (readonly [string, (v: unknown) => unknown])[];
const MINER_CONFIG_KEYS: Declared = [['trellis_sparse_steps', int], ['trellis_slat_steps', int], ['gaussian_threshold', num], ['clip_threshold', num]];
const TIMING_KEYS: Declared = [['total_time', num], ['sdxl_time', num], ['background_removal_time', num], ['trellis_time', num]];
const QUALITY_KEYS: Declared = [['clip_score', num], ['clip_threshold_pass', bool]];
const GAUSSIAN_KEYS: Declared = [['opacity_mean', num]];

const SECTIONS = ['metadata', 'task', 'miner_config', 'generation', 'validator_feedback', 'failure_analysis'] as const;

/** The first field a spec record needs that `v` lacks, or null when it has them all. */
export function specRecordMissing(v: unknown): string | null {
  if (!isObj(v)) return '(root)';
  const m = v.metadata;
  if (!isObj(m)) return 'metadata';
  if (typeof m.generation_id !== 'string' || m.generation_id === '') return 'metadata.generation_id';
  if (specTime(m.timestamp) === undefined) return 'metadata.timestamp';
  for (const s of ['generation', 'validator_feedback', 'failure_analysis'] as const) if (!isObj(v[s])) return s;
  return null;
}

/**
 * A record in the spec's schema as one of ours (outcome derived, our additions null), or the first field
 * it lacks. Needs: metadata.generation_id (a string), metadata.timestamp (a time), and the objects
 * generation, validator_feedback and failure_analysis; task and miner_config may be missing (all null).
 * A value that has our `outcome` or `provenance` key is not in the spec's schema: call this only for others.
 */
export function fromSpecRecord(v: unknown, opts: SpecRecordOptions = {}): GenerationRecord | NotARecord {
  const missing = specRecordMissing(v);
  if (missing !== null) return { notRecord: missing };
  const o = v as Obj;
  const rd = new Reader();
  rd.extraKeys(o, '', SECTIONS);
  const m = o.metadata as Obj;
  const t = isObj(o.task) ? o.task : undefined;
  const mc = isObj(o.miner_config) ? o.miner_config : undefined;
  const g = o.generation as Obj;
  const timing = isObj(g.timing) ? g.timing : undefined;
  const out = isObj(g.output) ? g.output : undefined;
  const qm = isObj(out?.quality_metrics) ? out.quality_metrics : undefined;
  const gs = isObj(out?.gaussian_stats) ? out.gaussian_stats : undefined;
  const sub = isObj(g.submission) ? g.submission : undefined;
  const fb = o.validator_feedback as Obj;
  const fa = o.failure_analysis as Obj;
  for (const [name, val] of [['task', o.task], ['miner_config', o.miner_config], ['generation.timing', g.timing], ['generation.output', g.output], ['generation.submission', g.submission]] as const)
    if (val !== undefined && val !== null && !isObj(val)) rd.notKept.push(`spec_value_not_kept:${name}`);

  rd.extraKeys(m, 'metadata.', ['generation_id', 'timestamp', 'miner_uid', 'miner_version', 'validator_uid', 'validator_hotkey', 'network']);
  rd.extraKeys(t, 'task.', ['task_type', 'prompt', 'prompt_length', 'is_base64_image', 'base64_image_hash', 'image_file_path']);
  rd.extraKeys(g, 'generation.', ['enhanced_prompt', 'negative_prompt', 'timing', 'output', 'submission']);
  rd.extraKeys(out, 'generation.output.', ['num_gaussians', 'file_size_mb', 'ply_file_path', 'ply_file_hash', 'quality_metrics', 'gaussian_stats']);
  rd.extraKeys(sub, 'generation.submission.', ['submitted', 'submission_time', 'pre_submission_rejection', 'rejection_reason']);
  rd.extraKeys(fb, 'validator_feedback.', ['received', 'feedback_time', 'score', 'accepted', 'feedback_delay_seconds']);
  rd.extraKeys(fa, 'failure_analysis.', ['failed', 'error_type', 'error_message', 'stack_trace']);

  // failure_analysis: an error type we do not know becomes `exception`, its name kept in front of the message
  const failed = fa.failed === true;
  const rawType = fa.error_type;
  let errorType: ErrorType | null = null;
  let errorMessage = rd.take(fa, 'failure_analysis.', 'error_message', str);
  if (typeof rawType === 'string' && ERROR_TYPE_SET.has(rawType)) errorType = rawType as ErrorType;
  else if (typeof rawType === 'string' && rawType !== '') {
    errorType = 'exception';
    errorMessage = errorMessage === null ? rawType : `${rawType}: ${errorMessage}`;
  } else if (rawType !== undefined && rawType !== null) rd.notKept.push('spec_value_not_kept:failure_analysis.error_type');
  if (failed && errorType === null) errorType = 'exception';

  const record: GenerationRecord = {
    metadata: {
      generation_id: m.generation_id as string,
      timestamp: specTime(m.timestamp)!,
      miner_uid: rd.take(m, 'metadata.', 'miner_uid', count),
      miner_version: rd.take(m, 'metadata.', 'miner_version', str),
      validator_uid: rd.take(m, 'metadata.', 'validator_uid', count),
      validator_hotkey: rd.take(m, 'metadata.', 'validator_hotkey', str),
      network: rd.take(m, 'metadata.', 'network', network),
      host: opts.host ?? '',
      miner_app: opts.minerApp ?? '',
    },
    task: {
      task_type: rd.take(t, 'task.', 'task_type', oneOf(TASK_TYPES)),
      prompt: rd.take(t, 'task.', 'prompt', str),
      prompt_length: rd.take(t, 'task.', 'prompt_length', count),
      is_base64_image: rd.take(t, 'task.', 'is_base64_image', bool),
      base64_image_hash: rd.take(t, 'task.', 'base64_image_hash', sha),
      image_file_path: rd.take(t, 'task.', 'image_file_path', str),
      log_id: null,
    },
    miner_config: rd.open(mc, 'miner_config.', MINER_CONFIG_KEYS) as GenerationRecord['miner_config'],
    generation: {
      enhanced_prompt: rd.take(g, 'generation.', 'enhanced_prompt', str),
      negative_prompt: rd.take(g, 'generation.', 'negative_prompt', str),
      timing: rd.open(timing, 'generation.timing.', TIMING_KEYS) as GenerationRecord['generation']['timing'],
      output: {
        num_gaussians: rd.take(out, 'generation.output.', 'num_gaussians', count),
        file_size_mb: rd.take(out, 'generation.output.', 'file_size_mb', num),
        ply_file_path: rd.take(out, 'generation.output.', 'ply_file_path', str),
        ply_file_hash: rd.take(out, 'generation.output.', 'ply_file_hash', sha),
        quality_metrics: rd.open(qm, 'generation.output.quality_metrics.', QUALITY_KEYS) as GenerationRecord['generation']['output']['quality_metrics'],
        gaussian_stats: rd.open(gs, 'generation.output.gaussian_stats.', GAUSSIAN_KEYS) as GenerationRecord['generation']['output']['gaussian_stats'],
        file_size_bytes: null,
        ply_error: null,
      },
      submission: {
        submitted: rd.take(sub, 'generation.submission.', 'submitted', bool),
        submission_time: rd.take(sub, 'generation.submission.', 'submission_time', specTime),
        pre_submission_rejection: rd.take(sub, 'generation.submission.', 'pre_submission_rejection', bool),
        rejection_reason: rd.take(sub, 'generation.submission.', 'rejection_reason', str),
      },
    },
    validator_feedback: {
      received: fb.received === true,
      feedback_time: rd.take(fb, 'validator_feedback.', 'feedback_time', specTime),
      score: rd.take(fb, 'validator_feedback.', 'score', num),
      accepted: rd.take(fb, 'validator_feedback.', 'accepted', bool),
      feedback_delay_seconds: rd.take(fb, 'validator_feedback.', 'feedback_delay_seconds', num),
      average_score: null,
      duel_rating: null,
      accepted_recent: null,
      accepted_window_hours: null,
      reward: null,
    },
    failure_analysis: {
      failed,
      error_type: errorType,
      error_message: errorMessage,
      stack_trace: rd.take(fa, 'failure_analysis.', 'stack_trace', str),
    },
    competition: null,
    outcome: 'no_feedback',
    provenance: emptyProvenance(opts.collectorVersion ?? ''),
  };
  if (fb.received !== undefined && fb.received !== null && typeof fb.received !== 'boolean') rd.notKept.push('spec_value_not_kept:validator_feedback.received');
  if (fa.failed !== undefined && fa.failed !== null && typeof fa.failed !== 'boolean') rd.notKept.push('spec_value_not_kept:failure_analysis.failed');
  record.outcome = specOutcome(record);
  record.provenance.incomplete = rd.notKept.length > 0;
  record.provenance.incomplete_reasons = rd.notKept;
  return record;
}
