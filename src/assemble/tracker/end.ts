/**
 * A generation ends (the miner's completed / failed / endpoint-error lines). They name no task: each
 * goes into the attribution window (an endpoint error with the endpoint it names), and is applied to
 * its task once settled.
 */
import type { ErrorType } from '../../schema';
import { isoUtc, redactSecrets } from '../../parse';
import type { LogEvent } from '../events';
import { link, num, round3, str, type LinkKind, type Task, type TrackerContext } from './book';
import { endpointBinding } from './endpoint-binding';
import { settleOutputSize } from './output-link';

const FAILURE_TYPES: Record<string, ErrorType> = {
  generation_failed: 'generation_http_error',
  endpoint_unreachable: 'endpoint_unreachable',
  endpoint_timeout: 'endpoint_timeout',
  client_error: 'client_error',
  exception: 'exception',
};

/** Ends where the miner stopped waiting while the worker may go on (its later lines are still this task's). */
const GIVEN_UP = new Set(['endpoint_timeout', 'client_error', 'exception']);

/** The window item of an end line. */
export function endItem(cx: TrackerContext, e: LogEvent) {
  const endpoint = str(e.fields.endpoint);
  return {
    kind: 'end' as const,
    key: `${e.file}#${e.offset}`,
    timeMs: e.timeMs,
    completed: e.type === 'generation_completed',
    late: GIVEN_UP.has(e.type),
    binding: endpoint ? endpointBinding(cx, endpoint) : null,
    bytes: e.type === 'generation_completed' ? num(e.fields.bytes) : null,
  };
}

/** The settled end of `t`'s generation. */
export function applyEnd(cx: TrackerContext, t: Task, e: LogEvent, how: LinkKind): void {
  const r = t.record;
  link(t, e, how);
  if (t.phase === 'received' || t.phase === 'generating') t.phase = 'ended';
  t.endedMs = e.timeMs;
  t.endCompleted = e.type === 'generation_completed';
  t.endGivenUp = GIVEN_UP.has(e.type);
  t.endSeenWallMs = cx.book.output?.wallMs ?? null;
  const endpoint = str(e.fields.endpoint);
  if (endpoint) {
    const b = endpointBinding(cx, endpoint);
    if (b.ns === 'g') t.group ??= b.value;
    else t.url ??= b.value;
  }
  const sub = r.generation.submission;
  sub.submission_time = isoUtc(e.timeMs);
  if (r.generation.timing.total_time === null && t.generatingMs !== null)
    r.generation.timing.total_time = round3((e.timeMs - t.generatingMs) / 1000);
  if (r.validator_feedback.feedback_time)
    r.validator_feedback.feedback_delay_seconds = round3((Date.parse(r.validator_feedback.feedback_time) - e.timeMs) / 1000);
  if (e.type === 'generation_completed') {
    const bytes = num(e.fields.bytes);
    t.endBytes = bytes;
    settleOutputSize(t);
    // the file itself, when linked, is the better figure
    if (!t.ply) {
      r.generation.output.file_size_bytes = bytes;
      if (bytes !== null && r.generation.output.file_size_mb === null)
        r.generation.output.file_size_mb = Math.round((bytes / 1048576) * 1e6) / 1e6;
    }
    if (sub.pre_submission_rejection === null) sub.pre_submission_rejection = false;
    return;
  }
  // The miner still submits, with empty results: a pre-submission rejection.
  const fa = r.failure_analysis;
  fa.failed = true;
  sub.pre_submission_rejection = true;
  if (sub.rejection_reason !== null) {
    fa.error_type = 'pre_submission_rejection';
  } else {
    // a failure line followed by a Python traceback is an exception, whatever the line says
    fa.error_type = e.stackTrace ? 'exception' : (FAILURE_TYPES[e.type] ?? 'exception');
    sub.rejection_reason = fa.error_type;
  }
  fa.error_message = redactSecrets(failureMessage(e));
  if (e.stackTrace) fa.stack_trace = e.stackTrace;
}

function failureMessage(e: LogEvent): string {
  switch (e.type) {
    case 'generation_failed':
      return `Generation failed with code: ${e.fields.status}`;
    case 'endpoint_unreachable':
      return `Failed to connect to the endpoint: ${e.fields.endpoint}`;
    case 'endpoint_timeout':
      return `The request to the endpoint timed out: ${e.fields.endpoint}`;
    case 'client_error':
      return `${e.fields.error} (${e.fields.endpoint})`;
    default:
      return String(e.fields.message ?? e.type);
  }
}
