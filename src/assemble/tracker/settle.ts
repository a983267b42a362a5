/**
 * The one place a record's verdict is decided: `outcome`, `failure_analysis` and
 * `validator_feedback.accepted` from the facts the task gathered (its end, the worker's rejection,
 * a submit failure, the feedback, a timeout or an interruption), when the record is written. A
 * record never says both accepted and failed.
 */
import { redactSecrets } from '../../parse';
import type { ErrorType, GenerationRecord } from '../../schema';
import { GENERATION_END_EVENTS, GENERATION_FAILURE_TYPES as GENERATION_FAILURES } from '../events';
import { incomplete, type Task } from './book';

/** The miner's failure lines (a generation end that is not a completion). */
const FAILURE_EVENTS = new Set([...GENERATION_END_EVENTS].filter((e) => e !== 'generation_completed'));

function fail(r: GenerationRecord, type: ErrorType, message: string): void {
  const fa = r.failure_analysis;
  fa.failed = true;
  fa.error_type = type;
  fa.error_message = redactSecrets(message);
}

export function settleVerdict(t: Task): void {
  const r = t.record;
  const fa = r.failure_analysis;
  const fb = r.validator_feedback;
  const sub = r.generation.submission;
  // A score above 0 says the generation completed (a failed one submits empty results, scored 0):
  // a failure saying otherwise came from a line that was not this task's.
  if (fb.accepted === true && fa.failed && GENERATION_FAILURES.has(fa.error_type)) {
    r.failure_analysis = { failed: false, error_type: null, error_message: null, stack_trace: null };
    sub.pre_submission_rejection = false;
    sub.rejection_reason = null;
    // the failure line it took is not its end: neither its link nor its source stays
    const p = r.provenance;
    p.links = p.links.filter((l) => !FAILURE_EVENTS.has(l.event));
    p.sources = p.sources.filter((x) => !FAILURE_EVENTS.has(x.event));
    r.generation.timing.total_time = null;
    incomplete(t, 'failure_contradicted_by_score');
    incomplete(t, 'generation_end_not_seen');
  }
  // the worker said it rejected its result: that is why the miner's failure line came, whichever was settled first
  if (fa.failed && GENERATION_FAILURES.has(fa.error_type) && fa.error_type !== 'pre_submission_rejection' && r.provenance.links.some((l) => l.event === 'pre_submission_rejection' && l.link !== 'inferred'))
    fa.error_type = 'pre_submission_rejection';
  // the worker said it rejected its result: the generation failed, even without the miner's line
  if (sub.pre_submission_rejection === true && !fa.failed && fb.accepted !== true && (fb.received || t.endLost))
    fail(r, 'pre_submission_rejection', `rejected before submission: ${sub.rejection_reason ?? 'no reason given'}`);
  const generationFailed = r.failure_analysis.failed && GENERATION_FAILURES.has(r.failure_analysis.error_type);
  if (fb.received) {
    if (generationFailed) r.outcome = 'generation_failed';
    else if (t.validationFailed) {
      r.outcome = 'validation_failed';
      if (!r.failure_analysis.failed) fail(r, 'validation_failed', 'the validation returned no score (Score: failed)');
    } else r.outcome = fb.accepted === true ? 'accepted' : fb.accepted === false ? 'rejected' : 'no_feedback';
  } else if (sub.submitted === false) {
    r.outcome = generationFailed ? 'generation_failed' : 'submit_failed';
  } else if (t.interrupted) {
    // a generation known to have failed stays failed (the interruption only cut off its feedback);
    // closed only because an input ended, it is incomplete: a later run that saw more outranks it
    if (generationFailed && t.endedMs !== null) {
      r.outcome = 'generation_failed';
      if (t.interrupted !== 'miner_restarted') incomplete(t, t.interrupted);
    } else if (t.interrupted === 'miner_restarted') {
      if (!r.failure_analysis.failed) fail(r, 'miner_restarted', 'the miner restarted before the task finished');
      r.outcome = 'interrupted';
    } else {
      r.outcome = 'interrupted';
      incomplete(t, t.interrupted);
    }
  } else {
    fb.received = false;
    r.outcome = generationFailed ? 'generation_failed' : 'no_feedback';
  }
}
