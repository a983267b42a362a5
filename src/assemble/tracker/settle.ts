/** A record's outcome from its facts (gathered here; other event families still set some directly). */
import type { GenerationRecord, Outcome } from '../../schema';
import { incomplete, type Task } from './book';

export function outcomeOf(r: GenerationRecord, validationFailed: boolean): Outcome {
  if (r.failure_analysis.failed && r.failure_analysis.error_type !== 'validation_failed') return 'generation_failed';
  if (validationFailed) return 'validation_failed';
  if (r.validator_feedback.accepted === true) return 'accepted';
  if (r.validator_feedback.accepted === false) return 'rejected';
  return 'no_feedback';
}

/**
 * The outcome of a task finished before its end was seen. A generation known to have failed stays
 * `generation_failed` (feedback would only add its score 0); anything else is `interrupted`.
 */
export function interruptedOutcome(t: Task, reason: string): void {
  if (t.phase !== 'feedback') {
    const failed = t.phase === 'ended' && t.record.failure_analysis.failed;
    t.record.outcome = failed ? 'generation_failed' : 'interrupted';
    if (!failed) incomplete(t, reason);
  }
}
